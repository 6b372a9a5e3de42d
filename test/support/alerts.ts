// Where the tests find the real alert packets: ../shared/data/alerts beside the repository
// (never copied into it; the Rubin schemas there are GPL-3.0).
import { once } from 'node:events';
import { resolve } from 'node:path';
import { crc32, deflateRaw } from 'node:zlib';
import avro from 'avsc';
import snappy from 'snappyjs';

/** `../shared/data/alerts`, relative to the repository root. */
export const ALERTS_DIR = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'alerts');

/** Every `.avro` file under `dir`, recursively, sorted. */
export { avroFilesUnder as avroFiles } from '../../host/src/modalities/alerts/realbogus.js';

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

/** The sync marker `writeContainer` gives every file, so tests can find block boundaries. */
export const TEST_SYNC = Buffer.from('hairtrigger-sync', 'latin1');

/** avsc codecs for writing: deflate from node:zlib; snappy written out here per the Avro spec
 * (snappyjs block, then the CRC32 of the uncompressed data, 4 bytes big-endian). */
const writeCodecs = {
  null: (buf: Buffer, cb: (err: Error | null, out?: Buffer) => void) => cb(null, buf),
  deflate: deflateRaw,
  snappy: (buf: Buffer, cb: (err: Error | null, out?: Buffer) => void) => {
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(buf) >>> 0);
    cb(null, Buffer.concat([Buffer.from(snappy.compress(buf)), crc]));
  },
};

/**
 * An Avro container file of `values` written by avsc's own BlockEncoder (an independent
 * writer) with `codec`; `blockBytes` sets how many records share a block.
 */
export async function writeContainer(type: avro.Type, values: unknown[], codec: 'null' | 'deflate' | 'snappy', blockBytes: number): Promise<Buffer> {
  const enc = new avro.streams.BlockEncoder(type as never, { codec, codecs: writeCodecs as never, blockSize: blockBytes, syncMarker: TEST_SYNC });
  const chunks: Buffer[] = [];
  enc.on('data', (c: Buffer) => chunks.push(c));
  const done = once(enc, 'end');
  for (const v of values) enc.write(v);
  enc.end();
  await done;
  return Buffer.concat(chunks);
}

/** The blocks of a file written by `writeContainer`: byte range (sync included) and the records each holds. */
export function blockLayout(file: Buffer): { start: number; end: number; count: number; first: number }[] {
  const out: { start: number; end: number; count: number; first: number }[] = [];
  let start = file.indexOf(TEST_SYNC) + TEST_SYNC.length;
  let first = 0;
  while (start < file.length) {
    const end = file.indexOf(TEST_SYNC, start) + TEST_SYNC.length;
    const count = Number(zigzagAt(file, start).value);
    out.push({ start, end, count, first });
    first += count;
    start = end;
  }
  return out;
}
