import fc from 'fast-check';
import * as hdr from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import { LATENCY_SERIES } from '../server/api-types.js';
import { fakeHistory } from '../server/testing.js';
import { BlockedHistogram } from './latency-summary.js';
import { addHeatmap, cumulativeCounts, HEATMAP_EDGES_US, HistoryRing, jsonInSlices, PROMETHEUS_LE_US, type HistoryRow } from './history.js';
import type { LatencySummaryUs } from './snapshot.js';

function row(i: number): HistoryRow {
  return { tS: 1000 + i, fps: 10 * i, triggersPerS: i, late: i % 3, budgetViolations: i % 5, dropped: i % 2, errors: i % 7, suppressed: i };
}
function latency(i: number): LatencySummaryUs[] {
  return LATENCY_SERIES.map((_, k) => ({ count: i, p50: k + i, p90: 0, p99: 2 * (k + i), p999: 3 * (k + i), max: 4 * (k + i), mean: k + i + 0.5 }));
}

describe('HistoryRing', () => {
  it('keeps the newest `rows` rows, oldest first, every column aligned', () => {
    const ring = new HistoryRing(4, 1);
    const heat = new Float64Array(HEATMAP_EDGES_US.length);
    for (let i = 0; i < 6; i++) {
      heat.fill(0);
      heat[i] = i + 1;
      ring.append(row(i), latency(i), heat);
    }
    const c = ring.columns();
    expect(ring.length).toBe(4);
    expect(c.t).toEqual([1002, 1003, 1004, 1005]);
    expect(c.fps).toEqual([20, 30, 40, 50]);
    expect(c.errors).toEqual([2, 3, 4, 5]);
    expect(c.latency.e2e.p99).toEqual([4, 6, 8, 10]);
    expect(c.latency.device.max).toEqual([4 * (8 + 2), 4 * (8 + 3), 4 * (8 + 4), 4 * (8 + 5)]);
    expect(c.heatmap.counts.map((r) => r.indexOf(Math.max(...r)))).toEqual([2, 3, 4, 5]);
    expect(c.heatmap.bucketEdgesUs).toEqual([...HEATMAP_EDGES_US]);
    // Cached until the next row.
    expect(ring.columns()).toBe(c);
    ring.append(row(6), latency(6), heat);
    expect(ring.columns().t).toEqual([1003, 1004, 1005, 1006]);
  });

  it('heatmap edges: 0, then five a decade from 1 us to 10 s', () => {
    expect(HEATMAP_EDGES_US[0]).toBe(0);
    expect(HEATMAP_EDGES_US[1]).toBe(1);
    expect(HEATMAP_EDGES_US[6]).toBe(10);
    expect(HEATMAP_EDGES_US.at(-1)).toBe(1e7);
    for (let b = 2; b < HEATMAP_EDGES_US.length; b++) expect(HEATMAP_EDGES_US[b] / HEATMAP_EDGES_US[b - 1]).toBeCloseTo(10 ** 0.2, 4);
  });

  it('addHeatmap counts each recorded value in the bucket its value falls in (against binning the raw values)', () => {
    const rng = createRng(7);
    const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 1e10, numberOfSignificantValueDigits: 3, useWebAssembly: false }) as hdr.JsHistogram;
    const expected = new Array<number>(HEATMAP_EDGES_US.length).fill(0);
    let nearEdge = 0;
    for (let i = 0; i < 20_000; i++) {
      const ns = Math.round(10 ** (2 + 6 * rng.uniform()));
      h.recordValue(ns);
      let b = 0;
      while (b + 1 < HEATMAP_EDGES_US.length && ns / 1000 >= HEATMAP_EDGES_US[b + 1]) b++;
      expected[b]++;
      // HDR keeps 3 significant digits: a value within 0.1 % above an edge may land below it.
      if (HEATMAP_EDGES_US.some((e) => ns / 1000 >= e && ns / 1000 < e * 1.001)) nearEdge++;
    }
    const got = new Float64Array(HEATMAP_EDGES_US.length);
    addHeatmap(h, got);
    expect(got.reduce((a, x) => a + x, 0)).toBe(20_000);
    const moved = expected.reduce((a, x, b) => a + Math.abs(x - got[b]), 0) / 2;
    expect(moved).toBeLessThanOrEqual(nearEdge);
    expect(got[0]).toBe(expected[0]);
  });

  it('cumulativeCounts gives the samples at or below each Prometheus bound (against counting the raw values)', () => {
    const rng = createRng(9);
    const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 1e10, numberOfSignificantValueDigits: 3, useWebAssembly: false }) as hdr.JsHistogram;
    const xs: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const ns = Math.round(10 ** (2 + 7 * rng.uniform()));
      xs.push(ns);
      h.recordValue(ns);
    }
    const got = cumulativeCounts(h, PROMETHEUS_LE_US);
    PROMETHEUS_LE_US.forEach((le, b) => {
      const exact = xs.filter((x) => x / 1000 <= le).length;
      // A value within HDR's 0.1 % above a bound may be counted at or below it.
      const near = xs.filter((x) => x / 1000 > le && x / 1000 <= le * 1.001).length;
      expect(got[b], `le ${le}`).toBeGreaterThanOrEqual(exact);
      expect(got[b], `le ${le}`).toBeLessThanOrEqual(exact + near);
    });
    expect(got.at(-1)).toBe(20_000); // all below 10 s
  });

  it('cumulativeCounts with block counts (whole blocks added) gives the raw values\' counts as without them (property)', () => {
    const clustered = fc.array(fc.tuple(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 9_990_000, max: 10_010_000 }), fc.integer({ min: 0, max: 1e10 })), fc.integer({ min: 1, max: 20 })), { minLength: 1, maxLength: 200 });
    fc.assert(fc.property(clustered, (vs) => {
      const b = new BlockedHistogram(hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 1e10, numberOfSignificantValueDigits: 3, autoResize: false, useWebAssembly: false }));
      for (const [v, c] of vs) b.recordValueWithCount(v, c);
      const got = cumulativeCounts(b.h, PROMETHEUS_LE_US, b.blockCounts);
      expect(got).toEqual(cumulativeCounts(b.h, PROMETHEUS_LE_US));
      // Against the raw values: each bucket goes by its lowest value (within HDR's 0.1%).
      PROMETHEUS_LE_US.forEach((le, k) => {
        const exact = vs.filter(([v]) => v / 1000 <= le).reduce((a, [, c]) => a + c, 0);
        const near = vs.filter(([v]) => v / 1000 > le && v / 1000 <= le * 1.001).reduce((a, [, c]) => a + c, 0);
        expect(got[k]).toBeGreaterThanOrEqual(exact);
        expect(got[k]).toBeLessThanOrEqual(exact + near);
      });
    }), { numRuns: 300 });
  });

  it('jsonInSlices writes exactly what JSON.stringify writes', async () => {
    const h = fakeHistory(300);
    expect(await jsonInSlices(h)).toBe(JSON.stringify(h));
    const odd = { a: [], b: [[]], c: { d: null, e: 'x"y', f: [1.5, -0] }, g: undefined, h: [[1, 2], [3]] };
    expect(await jsonInSlices(odd)).toBe(JSON.stringify(odd));
  });
});
