/**
 * The dashboard's unit choice and labels against independent expectations: the SI prefixes
 * by hand, HdrHistogram's "nines" axis (x = 1 / (1 - p)), and fast-check properties.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDuration, formatIn, formatPercent, ninesLabel, timeUnitFor } from '../../ui/src/units.js';

describe('timeUnitFor', () => {
  it('picks the largest unit in which the largest value is at least 1', () => {
    // [largest value in µs, unit]: hand-written from the SI prefixes.
    const cases: Array<[number[], string]> = [
      [[0.4, 0.95], 'ns'],
      [[0.999], 'ns'],
      [[1], 'µs'],
      [[3, 999.9], 'µs'],
      [[2, 1000], 'ms'],
      [[2500], 'ms'],
      [[999_999], 'ms'],
      [[1_000_000], 's'],
      [[7_200_000_000], 's'],
      [[], 'µs'],
      [[0, Number.NaN, Number.POSITIVE_INFINITY], 'µs'],
    ];
    for (const [values, unit] of cases) expect(timeUnitFor(values).name, String(values)).toBe(unit);
  });

  it('shows every value of a column in one unit, the largest between 1 and 1,000 units', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 1e-3, max: 1e9, noNaN: true }), { minLength: 1, maxLength: 20 }), (values) => {
        const unit = timeUnitFor(values);
        const largest = Math.max(...values) / unit.us;
        expect(largest).toBeGreaterThanOrEqual(1);
        if (unit.name !== 's') expect(largest).toBeLessThan(1000);
      }),
    );
  });
});

describe('formatIn', () => {
  it('writes three significant digits (at most six decimals) below 100 and thousands separators above', () => {
    const ms = timeUnitFor([1000]);
    const us = timeUnitFor([1]);
    expect(formatIn(2500, ms)).toBe('2.50');
    expect(formatIn(4, ms)).toBe('0.00400');
    expect(formatIn(23.4, ms)).toBe('0.0234');
    expect(formatIn(0.0001, ms)).toBe('0.000000');
    expect(formatIn(0, ms)).toBe('0');
    expect(formatIn(24.7, us)).toBe('24.7');
    expect(formatIn(123_456, us)).toBe('123,456');
    expect(formatIn(Number.NaN, us)).toBe('–');
  });
});

describe('ninesLabel', () => {
  it('labels 1 / (1 - p) with the percentile, every nine shown', () => {
    expect([2, 10, 100, 1000, 10_000, 1e6].map(ninesLabel)).toEqual(['50%', '90%', '99%', '99.9%', '99.99%', '99.9999%']);
  });
});

describe('formatPercent and formatDuration', () => {
  it('write probabilities as percentages and uptimes in h, min and s', () => {
    expect(formatPercent(0.225)).toBe('22.5%');
    expect(formatPercent(1)).toBe('100.0%');
    expect(formatDuration(12.7)).toBe('12 s');
    expect(formatDuration(245)).toBe('4 min 05 s');
    expect(formatDuration(7380)).toBe('2 h 03 min');
  });
});
