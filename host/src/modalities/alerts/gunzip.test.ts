import { gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FitsError } from '../../core/errors.js';
import { limits } from '../../core/limits.js';
import { nativeAddon } from '../../native/addon.js';
import { gzipValuesIn, ztfAlertFiles } from '../../../../test/support/gzip-stamps.js';
import { gunzipBackend, gunzipInto, gunzipIntoZlib, isGzip } from './gunzip.js';

const dst = new Uint8Array(limits.fitsStampBytesMax);

/** The error an inflate throws, or null. */
function thrown(f: () => unknown): unknown {
  try {
    f();
    return null;
  } catch (e) {
    return e;
  }
}

describe('gunzipInto (libdeflate in the addon) against node:zlib', () => {
  it('the built addon has gunzipInto, so the libdeflate path is the one tested', () => {
    expect(typeof nativeAddon()?.gunzipInto).toBe('function');
    expect(gunzipBackend).toBe('libdeflate');
  });

  const stamps = ztfAlertFiles().flatMap((f) => gzipValuesIn(f).map((g, k) => ({ file: f, k, g })));

  it('every real ZTF cutout (three per alert) inflates to the bytes zlib gives', () => {
    expect(stamps.length).toBeGreaterThanOrEqual(3 * 600);
    for (const { file, k, g } of stamps) {
      const want = gunzipSync(g);
      const n = gunzipInto(g, dst, `${file} stamp ${k}`);
      expect(n, `${file} stamp ${k}`).toBe(want.length);
      expect(Buffer.compare(Buffer.from(dst.buffer, 0, n), want), `${file} stamp ${k}`).toBe(0);
    }
  });

  it('random payloads at every gzip level, single and concatenated members (fast-check)', () => {
    const payload = fc.oneof(fc.uint8Array({ maxLength: 40_000 }), fc.string({ maxLength: 5000 }).map((s) => new TextEncoder().encode(s.repeat(3))));
    fc.assert(
      fc.property(fc.array(payload, { minLength: 1, maxLength: 3 }), fc.integer({ min: 0, max: 9 }), (parts, level) => {
        const gz = Buffer.concat(parts.map((p) => gzipSync(p, { level })));
        const want = gunzipSync(gz);
        const n = gunzipInto(gz, dst, 'random');
        return n === want.length && Buffer.compare(Buffer.from(dst.buffer, 0, n), want) === 0;
      }),
      { numRuns: 150 },
    );
  });

  it('refuses what zlib refuses: not gzip, truncated, corrupt, each as a FitsError naming the stamp', () => {
    const gz = gzipSync(new TextEncoder().encode('SIMPLE  = T'.repeat(500)));
    const bad = gz.slice();
    bad[gz.length >> 1] ^= 0xff;
    const tail = gz.slice();
    tail[gz.length - 5] ^= 0x01; // CRC32
    for (const [what, src, message] of [
      ['not gzip', new TextEncoder().encode('SIMPLE  =                    T'), /not gzip data/],
      ['truncated', gz.subarray(0, gz.length - 3), /corrupt or truncated/],
      ['corrupt', bad, /corrupt or truncated/],
      ['CRC mismatch', tail, /corrupt or truncated/],
      ['trailing garbage', Buffer.concat([gz, Buffer.from('xyzxyz')]), /corrupt or truncated/],
    ] as const) {
      expect(thrown(() => gunzipSync(src)), `${what}: zlib refuses it too`).toBeInstanceOf(Error);
      for (const f of [gunzipInto, gunzipIntoZlib]) {
        const e = thrown(() => f(src, dst, 'cutoutScience'));
        expect(e, `${f.name} ${what}`).toBeInstanceOf(FitsError);
        expect((e as FitsError).where).toBe('cutoutScience');
        expect((e as FitsError).message).toMatch(message);
      }
    }
  });

  it('a destination too small is a FitsError, and one of exactly the inflated size is enough', () => {
    const data = new Uint8Array(20_000).map((_, i) => (i * 7) & 0xff);
    const gz = gzipSync(data);
    for (const f of [gunzipInto, gunzipIntoZlib]) {
      expect(() => f(gz, new Uint8Array(19_999), 'stamp')).toThrow(/inflates to more than the 19999-byte buffer/);
      const exact = new Uint8Array(20_000);
      expect(f(gz, exact, 'stamp')).toBe(20_000);
      expect(exact).toEqual(data);
    }
  });

  it('trailing zero padding after the last member is ignored, as zlib ignores it', () => {
    const gz = Buffer.concat([gzipSync(Buffer.from('stamp')), Buffer.alloc(8)]);
    expect(gunzipSync(gz).toString()).toBe('stamp');
    expect(gunzipInto(gz, dst, 's')).toBe(5);
  });

  it('isGzip looks at the magic and the method byte', () => {
    expect(isGzip(gzipSync(Buffer.from('x')))).toBe(true);
    expect(isGzip(Uint8Array.of(0x1f, 0x8b, 7))).toBe(false);
    expect(isGzip(Uint8Array.of(0x1f, 0x8b))).toBe(false);
  });
});
