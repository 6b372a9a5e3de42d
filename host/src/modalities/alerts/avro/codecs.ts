import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';
import snappy from 'snappyjs';
import { limits } from '../../../core/limits.js';

/**
 * The Avro container codecs real alert streams use (Avro 1.11 spec, "Required Codecs" and
 * "snappy"): `null`, `deflate` (raw RFC 1951, no zlib header) and `snappy` (the block
 * compressed, then the CRC32 of the uncompressed data, 4 bytes big-endian). Deflate is
 * node:zlib; snappy is snappyjs (pure JS, no native build).
 */

export const ALERT_CODECS = ['null', 'deflate', 'snappy'] as const;
export type AlertCodec = (typeof ALERT_CODECS)[number];

/** Whether `name` is a codec this reader knows. */
export function isAlertCodec(name: string): name is AlertCodec {
  return (ALERT_CODECS as readonly string[]).includes(name);
}

/** A block that does not decompress: a message for `AlertDecodeError` (reason `corrupt`). */
export class BlockCodecError extends Error {}

/**
 * The uncompressed bytes of one block. `null` returns `data` itself (a view); the others a
 * fresh buffer of at most `limits.alertBlockBytesMax` bytes. Throws BlockCodecError when the
 * data does not decompress, is larger than the bound, or (snappy) fails its CRC.
 */
export function decompressBlock(codec: AlertCodec, data: Buffer): Buffer {
  if (codec === 'null') return data;
  if (codec === 'deflate') return inflate(data);
  return unsnappy(data);
}

function inflate(data: Buffer): Buffer {
  try {
    return inflateRawSync(data, { maxOutputLength: limits.alertBlockBytesMax });
  } catch (err) {
    throw new BlockCodecError(`deflate: ${(err as Error).message}`);
  }
}

function unsnappy(data: Buffer): Buffer {
  if (data.length < 4) throw new BlockCodecError(`snappy: block of ${data.length} bytes has no CRC`);
  const body = data.subarray(0, data.length - 4);
  let out: Buffer;
  try {
    out = snappy.uncompress(body, limits.alertBlockBytesMax);
  } catch (err) {
    throw new BlockCodecError(`snappy: ${(err as Error).message}`);
  }
  const want = data.readUInt32BE(data.length - 4);
  const got = crc32(out) >>> 0;
  if (got !== want) throw new BlockCodecError(`snappy: CRC32 ${hex(got)} of the uncompressed block, header says ${hex(want)}`);
  return out;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/** The compressed form of one block's data (for writers and tests): the inverse of `decompressBlock`. */
export function compressBlock(codec: AlertCodec, data: Buffer): Buffer {
  if (codec === 'null') return data;
  if (codec === 'deflate') return deflateRawSync(data);
  const crc = Buffer.allocUnsafe(4);
  crc.writeUInt32BE(crc32(data) >>> 0);
  return Buffer.concat([snappy.compress(data), crc]);
}
