import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHARED } from './fixtures.js';

/** The folders of real ZTF alert files (gzip'd FITS cutouts) in ../shared/data/alerts. */
export const ZTF_ALERT_DIRS = ['ztf-3.2-2018-12', 'ztf-3.3-2020-01', 'ztf-4.02-2023-10', 'fink-client-ztf', 'ztf-avro-alert/data'];

/** Every .avro file of the ZTF folders. */
export function ztfAlertFiles(): string[] {
  return ZTF_ALERT_DIRS.flatMap((d) => {
    const dir = join(SHARED, 'alerts', d);
    return readdirSync(dir).filter((f) => f.endsWith('.avro')).sort().map((f) => join(dir, f));
  });
}

/**
 * The gzip members stored as Avro `bytes` values in `file`, found without an Avro decoder (so
 * the gunzip tests do not depend on one): a 1f 8b 08 magic right after a zigzag varint (the
 * value's length) is taken when that length lies inside the file and the member's last 4
 * bytes (ISIZE, the inflated size) are whole 2880-byte FITS blocks. Uncompressed (codec null)
 * files only.
 */
export function gzipValuesIn(file: string): Uint8Array[] {
  const b = new Uint8Array(readFileSync(file));
  const out: Uint8Array[] = [];
  for (let i = 3; i + 18 <= b.length; i++) {
    if (b[i] !== 0x1f || b[i + 1] !== 0x8b || b[i + 2] !== 8) continue;
    for (let k = 1; k <= 3; k++) {
      const len = varintEndingAt(b, i, k);
      if (len === null || i + len > b.length || len < 18) continue;
      const isize = b[i + len - 4]! | (b[i + len - 3]! << 8) | (b[i + len - 2]! << 16) | (b[i + len - 1]! << 24);
      if (isize >= 2880 && isize <= 1 << 22 && isize % 2880 === 0) {
        out.push(b.subarray(i, i + len));
        i += len - 1;
        break;
      }
    }
  }
  return out;
}

/** The zigzag varint of exactly `k` bytes that ends just before `at`, or null. */
function varintEndingAt(b: Uint8Array, at: number, k: number): number | null {
  if (at - k < 0) return null;
  let v = 0;
  for (let j = 0; j < k; j++) {
    const byte = b[at - k + j]!;
    const last = j === k - 1;
    if (last === ((byte & 0x80) !== 0)) return null;
    v += (byte & 0x7f) * 2 ** (7 * j);
  }
  return v % 2 === 0 ? v / 2 : null;
}
