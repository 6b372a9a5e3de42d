import { createHash } from 'node:crypto';
import { deflateRaw, deflateRawSync } from 'node:zlib';
import avro from 'avsc';
import { assert } from '../../../core/assert.js';

/**
 * The Avro object container format (Avro 1.11 spec, "Object Container Files"), written from
 * records that are already encoded. avsc's BlockEncoder takes *values* and encodes them; a
 * topic writer has each record's bytes (the packet's own, plus the appended fields) and must
 * not decode and re-encode a 100 kB alert to copy it. So the framing is done here, with avsc
 * encoding its parts: the header is avsc's encoding of the spec's header record, block
 * counts and sizes are avsc longs. A block is `count, size, data, sync`; `deflate` is raw
 * RFC 1951 deflate of the concatenated records, as the spec says.
 */

/** The codecs a topic file may be written with (readers must know them all; snappy is read-only here). */
export type TopicCodec = 'null' | 'deflate';

const HEADER = avro.Type.forSchema({
  type: 'record',
  name: 'org.apache.avro.file.Header',
  fields: [
    { name: 'magic', type: { type: 'fixed', name: 'Magic', size: 4 } },
    { name: 'meta', type: { type: 'map', values: 'bytes' } },
    { name: 'sync', type: { type: 'fixed', name: 'Sync', size: 16 } },
  ],
});
const LONG = avro.Type.forSchema('long');
const MAGIC = Buffer.from([0x4f, 0x62, 0x6a, 0x01]);

/**
 * A file's sync marker: 16 bytes that must not occur by chance inside its blocks. Derived from
 * a hash of `seed` (run, topic, schema) rather than drawn at random, so a run is reproducible.
 */
export function syncMarker(seed: string): Buffer {
  return createHash('sha256').update(seed).digest().subarray(0, 16);
}

/** The header of a container file of `schema` (JSON), with `codec` and `sync`. */
export function containerHeader(schema: unknown, codec: TopicCodec, sync: Buffer): Buffer {
  assert(sync.length === 16, 'a sync marker is 16 bytes');
  return HEADER.toBuffer({
    magic: MAGIC,
    meta: { 'avro.schema': Buffer.from(JSON.stringify(schema)), 'avro.codec': Buffer.from(codec) },
    sync,
  });
}

/** One block, framed: `records` records whose encodings, concatenated and compressed, are `data`. */
export function containerBlock(records: number, data: Buffer, sync: Buffer): Buffer {
  assert(records > 0, 'a block holds at least one record');
  return Buffer.concat([LONG.toBuffer(records), LONG.toBuffer(data.length), data, sync]);
}

/** Compresses a block's records off the main thread (zlib's pool) at zlib `level`; `null` passes them through. */
export function compressBlock(codec: TopicCodec, level: number, raw: Buffer, done: (err: Error | null, data: Buffer) => void): void {
  if (codec === 'null') return done(null, raw);
  deflateRaw(raw, { level }, done);
}

/** The same, synchronously (the fatal-exit path). */
export function compressBlockSync(codec: TopicCodec, level: number, raw: Buffer): Buffer {
  return codec === 'null' ? raw : deflateRawSync(raw, { level });
}
