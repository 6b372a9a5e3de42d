// Where the tests find the real alert packets: ../shared/data/alerts beside the repository
// (never copied into it; the Rubin schemas there are GPL-3.0).
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** `../shared/data/alerts`, relative to the repository root. */
export const ALERTS_DIR = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'alerts');

/** Every `.avro` file under `dir`, recursively, sorted. */
export function avroFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...avroFiles(path));
    else if (e.name.endsWith('.avro')) out.push(path);
  }
  return out.sort();
}

/** An Avro long (zigzag varint) at `pos`, decoded with BigInt: an independent reading for tests. */
export function zigzagAt(bytes: Uint8Array, pos: number): { value: bigint; next: number } {
  let n = 0n;
  let shift = 0n;
  let b: number;
  do {
    b = bytes[pos++];
    n |= BigInt(b & 0x7f) << shift;
    shift += 7n;
  } while (b & 0x80);
  return { value: (n >> 1n) ^ -(n & 1n), next: pos };
}

/** Skips an Avro string or bytes value at `pos`; returns the position after it. */
export function skipBytesAt(bytes: Uint8Array, pos: number): number {
  const len = zigzagAt(bytes, pos);
  return len.next + Number(len.value);
}
