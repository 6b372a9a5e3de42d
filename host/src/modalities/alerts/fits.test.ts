import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FitsError } from '../../core/errors.js';
import { limits } from '../../core/limits.js';
import { tempDir } from '../../../../test/support/fixtures.js';
import { astropyReference, fitsBytes, readF64, type AstropyRow } from '../../../../test/support/fits.js';
import { createFitsImage, decodeFits } from './fits.js';

const U32 = 2 ** -24; // float32 unit roundoff

/** Compares the reader's pixels with astropy's, value for value (NaN where astropy has NaN). */
function expectSameAsAstropy(got: Float32Array, want: Float64Array, row: AstropyRow): void {
  // astropy scales 8/16-bit and float32 data in float32 (two roundings); the reader rounds the
  // exact double once. Everything else (unscaled, or scaled in float64) must match exactly.
  const twoRoundings = row.scaled && (row.dtype === 'float32' || row.dtype === '>f4');
  let bad = 0;
  let first = '';
  for (let i = 0; i < want.length; i++) {
    const w = Math.fround(want[i]!), g = got[i]!;
    const ok = Number.isNaN(w) ? Number.isNaN(g) : Object.is(g, w) || (twoRoundings && Math.abs(g - w) <= 4 * U32 * (Math.abs(w) + Math.abs(row.bzero)));
    if (!ok && bad++ === 0) first = `pixel ${i}: reader ${g}, astropy ${want[i]}`;
  }
  expect(bad, `${row.name}: ${bad} pixels differ; first ${first}`).toBe(0);
}

describe('decodeFits against astropy (files astropy wrote, values astropy read)', () => {
  const dir = tempDir('fits-astropy');
  const rows = astropyReference(['write', dir]);
  const img = createFitsImage();

  it('covers every BITPIX, BSCALE/BZERO, BLANK, NaN and sizes other than 63x63', () => {
    expect(new Set(rows.map((r) => r.bitpix))).toEqual(new Set([8, 16, 32, 64, -32, -64]));
    expect(rows.some((r) => r.scaled)).toBe(true);
    expect(rows.some((r) => r.width !== 63 || r.height !== 63)).toBe(true);
    expect(rows.length).toBeGreaterThanOrEqual(30);
  });

  for (const row of rows) {
    it(`${row.name}: BITPIX ${row.bitpix}, ${row.width}x${row.height}${row.scaled ? ', scaled' : ''}`, () => {
      const bytes = new Uint8Array(readFileSync(row.file));
      decodeFits(bytes, img, row.name);
      expect([img.width, img.height, img.bitpix]).toEqual([row.width, row.height, row.bitpix]);
      const want = readF64(join(dir, `${row.name}.f64`));
      expect(want.length).toBe(row.width * row.height);
      expectSameAsAstropy(img.pixels.subarray(0, want.length), want, row);
    });
  }

  it('reads a stamp at an odd byte offset of a larger buffer, and only `length` bytes of it', () => {
    const row = rows.find((r) => r.name === 'bitpixm32-nan')!;
    const file = readFileSync(row.file);
    const big = new Uint8Array(file.length + 7);
    big.set(file, 3);
    decodeFits(big.subarray(3), img, row.name, file.length);
    expectSameAsAstropy(img.pixels.subarray(0, 63 * 63), readF64(join(dir, `${row.name}.f64`)), row);
  });
});

describe('decodeFits: malformed stamps are FitsErrors naming the stamp and the card', () => {
  const img = createFitsImage();
  const ok = { BITPIX: '-32', NAXIS: '2', NAXIS1: '4', NAXIS2: '3' };
  const cases: [string, Uint8Array, RegExp][] = [
    ['not FITS', new TextEncoder().encode('GIF89a'.padEnd(3000)), /not a FITS file/],
    ['SIMPLE = F', fitsBytes({ SIMPLE: 'F', ...ok }), /SIMPLE/],
    ['no END', fitsBytes(ok, { end: false }), /no END card/],
    ['END beyond fitsHeaderBytesMax', fitsBytes({ ...ok, ...Object.fromEntries(Array.from({ length: 1300 }, (_, i) => [`K${i}`, '1'])) }), /fitsHeaderBytesMax/],
    ['BITPIX 24', fitsBytes({ ...ok, BITPIX: '24' }), /BITPIX += +24.*one of 8, 16, 32, 64, -32, -64/],
    ['BITPIX not an integer', fitsBytes({ ...ok, BITPIX: "'-32'" }), /BITPIX.*not an integer/],
    ['NAXIS 3', fitsBytes({ ...ok, NAXIS: '3', NAXIS3: '1' }), /NAXIS += +3".*NAXIS = 2/],
    ['NAXIS2 missing', fitsBytes({ BITPIX: '8', NAXIS: '2', NAXIS1: '4' }), /no NAXIS2 card/],
    ['absurd NAXIS1', fitsBytes({ ...ok, NAXIS1: '100000' }), /NAXIS1.*fitsStampSidePixelsMax/],
    ['NAXIS1 0', fitsBytes({ ...ok, NAXIS1: '0' }), /NAXIS1.*1 to/],
    ['short data', fitsBytes(ok, { dataBytes: 4 * 4 * 3 - 1 }), /data truncated: .* needs 48 bytes .* has 47/],
    ['BSCALE not a number', fitsBytes({ ...ok, BSCALE: "'x'" }), /BSCALE.*not a finite real/],
    ['BLANK out of range', fitsBytes({ ...ok, BITPIX: '16', BLANK: '40000' }, { dataBytes: 24 }), /BLANK.*BITPIX 16/],
    ['keyword without a value', fitsBytes({ BITPIX: '8', NAXIS: '2', NAXIS1: '4', NAXIS2: '' }), /NAXIS2.*no value/],
  ];
  for (const [what, bytes, message] of cases) {
    it(what, () => {
      const err = (() => { try { decodeFits(bytes, img, 'stamp-under-test'); } catch (e) { return e; } return null; })();
      expect(err).toBeInstanceOf(FitsError);
      expect((err as FitsError).where).toBe('stamp-under-test');
      expect((err as FitsError).message).toMatch(message);
    });
  }

  it('a stamp larger than the caller buffer is refused, not written past its end', () => {
    const small = createFitsImage(11);
    expect(() => decodeFits(fitsBytes(ok), small, 's')).toThrow(/4x3 stamp does not fit the caller's 11-pixel buffer/);
  });
});

describe('decodeFits properties (fast-check): malformed input is a FitsError, never a crash', () => {
  const img = createFitsImage();
  const isFitsErrorOrOk = (bytes: Uint8Array, length?: number) => {
    try {
      decodeFits(bytes, img, 'prop', length);
      return img.width >= 1 && img.height >= 1 && img.width * img.height <= img.pixels.length;
    } catch (e) {
      if (!(e instanceof FitsError)) throw e;
      return true;
    }
  };

  it('random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 6000 }), (b) => isFitsErrorOrOk(b)), { numRuns: 300 });
  });

  it('a valid stamp cut short anywhere before its data end is always a FitsError', () => {
    const bitpix = fc.constantFrom('8', '16', '32', '64', '-32', '-64');
    fc.assert(
      fc.property(bitpix, fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 70 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (bp, w, h, cut) => {
        const full = fitsBytes({ BITPIX: bp, NAXIS: '2', NAXIS1: String(w), NAXIS2: String(h) });
        const need = 2880 + w * h * (Math.abs(Number(bp)) / 8);
        const length = Math.floor(cut * need);
        expect(() => decodeFits(full, img, 'prop', length)).toThrow(FitsError);
        decodeFits(full, img, 'prop', need); // and the whole stamp reads
        return img.width === w && img.height === h;
      }),
      { numRuns: 300 },
    );
  });

  it('header bytes overwritten at random keep it a FitsError or a readable stamp', () => {
    const base = fitsBytes({ BITPIX: '16', NAXIS: '2', NAXIS1: '63', NAXIS2: '63', BSCALE: '0.5', BZERO: '1.0D2', BLANK: '-1' });
    const edits = fc.array(fc.tuple(fc.integer({ min: 0, max: 2879 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 12 });
    fc.assert(
      fc.property(edits, (es) => {
        const b = base.slice();
        for (const [at, v] of es) b[at] = v;
        return isFitsErrorOrOk(b);
      }),
      { numRuns: 500 },
    );
  });

  it('random card values for the keywords the reader uses', () => {
    const value = fc.oneof(fc.integer({ min: -100, max: 2000 }).map(String), fc.constantFrom("'x'", 'T', '1.5', '-0', '+3', '1E400', '99999999999999999999', ''), fc.string({ maxLength: 20 }));
    fc.assert(
      fc.property(value, value, value, value, value, (bp, n, n1, n2, blank) => isFitsErrorOrOk(fitsBytes({ BITPIX: bp, NAXIS: n, NAXIS1: n1, NAXIS2: n2, BLANK: blank }))),
      { numRuns: 500 },
    );
  });

  it('fitsStampSidePixelsMax is the largest side read', () => {
    const side = limits.fitsStampSidePixelsMax;
    decodeFits(fitsBytes({ BITPIX: '8', NAXIS: '2', NAXIS1: String(side), NAXIS2: '1' }), img, 's');
    expect(img.width).toBe(side);
    expect(() => decodeFits(fitsBytes({ BITPIX: '8', NAXIS: '2', NAXIS1: String(side + 1), NAXIS2: '1' }), img, 's')).toThrow(FitsError);
  });
});
