import { gunzipSync } from 'node:zlib';
import { FitsError } from '../../core/errors.js';
import { nativeAddon } from '../../native/addon.js';

/**
 * Gzip inflate of ZTF cutout stamps into a caller's buffer. The addon's `gunzipInto`
 * (libdeflate, host/native/src/gunzip.h) inflates a whole buffer without allocating and is
 * several times faster than node:zlib (bench/gunzip.ts). node:zlib serves only when the
 * loaded addon lacks the function (an addon built before it, or none built): it allocates
 * its output and copies it into `dst`.
 */

/** True when `src` starts with a gzip member header (magic 1f 8b, method 8 = deflate). */
export function isGzip(src: Uint8Array): boolean {
  return src.length >= 3 && src[0] === 0x1f && src[1] === 0x8b && src[2] === 8;
}

const native = nativeAddon()?.gunzipInto ?? null;

/** Which inflate `gunzipInto` uses in this process. */
export const gunzipBackend: 'libdeflate' | 'zlib' = native === null ? 'zlib' : 'libdeflate';

/** The message of each inflate failure (the addon's codes; the zlib path maps onto them). */
function failure(code: string, src: Uint8Array, dst: Uint8Array): string {
  switch (code) {
    case 'not-gzip': return `not gzip data (the ${src.length} bytes do not start with 1f 8b 08)`;
    case 'dst-too-small': return `inflates to more than the ${dst.length}-byte buffer (fitsStampBytesMax)`;
    case 'bad-data': return `corrupt or truncated gzip data (${src.length} bytes)`;
    default: return `gzip inflate failed (${code})`;
  }
}

/**
 * Inflates every gzip member of `src` into `dst` and returns the bytes written. Synchronous;
 * with the addon it allocates nothing. Throws FitsError at `where` (the stamp) when `src`
 * is not gzip, is corrupt or truncated, or inflates to more than `dst.length` bytes.
 */
export function gunzipInto(src: Uint8Array, dst: Uint8Array, where: string): number {
  if (native === null) return gunzipIntoZlib(src, dst, where);
  try {
    return native(src, dst);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new FitsError(where, failure(typeof code === 'string' ? code : 'error', src, dst), { cause: err });
  }
}

/** gunzipInto with node:zlib (allocates the inflated buffer, then copies it): the fallback, exported for its tests. */
export function gunzipIntoZlib(src: Uint8Array, dst: Uint8Array, where: string): number {
  if (!isGzip(src)) throw new FitsError(where, failure('not-gzip', src, dst));
  let out: Buffer;
  try {
    out = gunzipSync(src, { maxOutputLength: Math.max(1, dst.length) });
  } catch (err) {
    const tooBig = (err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE';
    throw new FitsError(where, failure(tooBig ? 'dst-too-small' : 'bad-data', src, dst), { cause: err });
  }
  if (out.length > dst.length) throw new FitsError(where, failure('dst-too-small', src, dst));
  dst.set(out);
  return out.length;
}
