import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { limits } from '../../../core/limits.js';
import { ALERT_CODECS, BlockCodecError, compressBlock, decompressBlock } from './codecs.js';

describe('block codecs', () => {
  it('decompress what they compress, for any block (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), fc.constantFrom(...ALERT_CODECS), (bytes, codec) => {
        const data = Buffer.from(bytes);
        expect(decompressBlock(codec, compressBlock(codec, data)).equals(data)).toBe(true);
      }),
    );
  });

  it('snappy blocks end with the CRC32 of the uncompressed data, big-endian (Avro spec)', () => {
    const data = Buffer.from('The quick brown fox jumps over the lazy dog, twice: the quick brown fox.');
    const block = compressBlock('snappy', data);
    expect(block.readUInt32BE(block.length - 4)).toBe(crc32(data) >>> 0);
    // CRC32 of this sentence as published (zlib): a check of node:zlib's crc32 itself.
    expect(crc32('The quick brown fox jumps over the lazy dog') >>> 0).toBe(0x414fa339);
    block[block.length - 1] ^= 1;
    expect(() => decompressBlock('snappy', block)).toThrow(BlockCodecError);
    expect(() => decompressBlock('snappy', block.subarray(0, 3))).toThrow(BlockCodecError);
  });

  it('refuse a block that decompresses past limits.alertBlockBytesMax (a corrupt or hostile size)', () => {
    const big = Buffer.alloc(limits.alertBlockBytesMax + 1);
    for (const codec of ['deflate', 'snappy'] as const) {
      const block = compressBlock(codec, big);
      expect(block.length).toBeLessThan(limits.alertBlockBytesMax / 10);
      expect(() => decompressBlock(codec, block)).toThrow(BlockCodecError);
    }
  });

  it('refuse a deflate block that is not deflate', () => {
    expect(() => decompressBlock('deflate', Buffer.from([0xff, 0xff, 0xff, 0xff]))).toThrow(BlockCodecError);
  });
});
