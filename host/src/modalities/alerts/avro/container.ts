import { readFileSync } from 'node:fs';
import { AlertDecodeError } from '../../../core/errors.js';
import { limits } from '../../../core/limits.js';
import { alertView } from '../alert-view.js';
import type { AlertSchemaInfo, AlertView } from '../types.js';
import { BlockCodecError, decompressBlock, isAlertCodec, type AlertCodec } from './codecs.js';
import type { SchemaRegistry } from './registry.js';
import { writerSchemaFromBytes, type WriterSchema } from './schema.js';

/**
 * Avro object container files (Avro 1.11 spec, "Object Container Files"): header `Obj\x01`,
 * a metadata map (`avro.schema`, `avro.codec`), a 16-byte sync marker, then blocks of
 * `count, size, data, sync`.
 *
 * The container is framed here rather than with avsc's BlockDecoder: that is a Node stream
 * (asynchronous, no record boundaries, no per-record index) that stops at the first bad
 * block, copies each block, and parses the header schema without our options (bigint longs,
 * byte views, the union-default fix). Framing it ourselves keeps each record's bytes as a view
 * into the file (codec null) or the decompressed block, gives every fault an index, and lets
 * a bad block be skipped at the next sync marker while the records before it are kept.
 */

/** What a reader got from one container file. */
export interface AlertFile {
  /** The path or stream name given, for messages. */
  name: string;
  format: 'container';
  /** `avro.codec` from the header (null when the header could not be read). */
  codec: string | null;
  /** The writer schema from the header, with its registry id (null when the header could not be read). */
  schema: AlertSchemaInfo | null;
  /** Records the file's blocks declare, as far as they could be read (decoded or not). */
  records: number;
  /** Every record decoded, in file order. Indexes count the records each block header declares
   * (a block dropped for a bad sync marker counts none), so a fault's index says where it was. */
  alerts: AlertView[];
  /** Every fault, in file order: reason `bad-header`, `unknown-codec`, `truncated`, `bad-sync`, `corrupt`. */
  errors: AlertDecodeError[];
}

const MAGIC = Buffer.from('Obj\x01', 'latin1');
const SYNC_BYTES = 16;

/** A zigzag varint cursor over the container's framing (never over records: avsc reads those). */
class Cursor {
  constructor(
    readonly buf: Buffer,
    public pos: number,
  ) {}

  /** The next long as a number (exact below 2^53; framing values are far smaller), or null past the end. */
  long(): number | null {
    let n = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) return null;
      const b = this.buf[this.pos++];
      n += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
      scale *= 128;
    }
    return Number.NaN; // more than 10 bytes: not a long
  }

  /** The next `len` bytes as a view, or null when they run past the end. */
  bytes(len: number): Buffer | null {
    if (!Number.isSafeInteger(len) || len < 0 || this.pos + len > this.buf.length) return null;
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
}

interface Header {
  schema: WriterSchema;
  /** The schema's info, with the registry's id when one matches. */
  info: AlertSchemaInfo;
  codec: AlertCodec;
  sync: Buffer;
}

type Fault = (index: number, reason: string, message: string, cause?: unknown) => void;

/** One string or bytes value of the metadata map (a view), or a message naming what is wrong. */
function metaValue(c: Cursor): Buffer | string {
  const len = c.long();
  if (len === null) return 'the metadata map is truncated';
  if (!Number.isSafeInteger(len) || len < 0) return `the metadata map has a malformed length before byte ${c.pos}`;
  return c.bytes(len) ?? 'the metadata map is truncated';
}

/** The header's metadata map (values as views), or a message naming what is wrong. */
function readMeta(c: Cursor): Map<string, Buffer> | string {
  const meta = new Map<string, Buffer>();
  for (;;) {
    let count = c.long();
    if (count === null) return 'the metadata map is truncated';
    if (count === 0) return meta;
    if (!Number.isSafeInteger(count)) return 'the metadata map has a malformed count';
    if (count < 0) {
      count = -count;
      if (c.long() === null) return 'the metadata map is truncated';
    }
    for (let i = 0; i < count; i++) {
      const key = metaValue(c);
      if (typeof key === 'string') return key;
      const value = metaValue(c);
      if (typeof value === 'string') return value;
      meta.set(key.toString('utf8'), value);
    }
  }
}

/** Reads the header; a fault (reason `bad-header`, `truncated`, `unknown-codec`) returns null. */
function readHeader(c: Cursor, fault: Fault, registry: SchemaRegistry | undefined): Header | null {
  if (c.buf.length < MAGIC.length || !c.buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    fault(0, 'bad-header', `not an Avro container file (magic ${c.buf.subarray(0, 4).toString('hex')}, want 4f626a01)`);
    return null;
  }
  c.pos = MAGIC.length;
  const meta = readMeta(c);
  if (typeof meta === 'string') {
    fault(0, meta.includes('truncated') ? 'truncated' : 'bad-header', meta);
    return null;
  }
  const codec = meta.get('avro.codec')?.toString('utf8') ?? 'null';
  if (!isAlertCodec(codec)) {
    fault(0, 'unknown-codec', `codec "${codec}" (known: null, deflate, snappy)`);
    return null;
  }
  const sync = c.bytes(SYNC_BYTES);
  if (sync === null) {
    fault(0, 'truncated', 'the header ends before its sync marker');
    return null;
  }
  const text = meta.get('avro.schema');
  if (text === undefined) {
    fault(0, 'bad-header', 'the metadata has no avro.schema');
    return null;
  }
  try {
    const schema = writerSchemaFromBytes(text);
    return { schema, info: registry?.identify(schema) ?? schema.info, codec, sync };
  } catch (err) {
    fault(0, 'bad-header', `avro.schema does not parse: ${(err as Error).message}`, err);
    return null;
  }
}

/** The records of one block: those that decoded, and why decoding stopped early (null: it did not). */
interface BlockRecords {
  alerts: AlertView[];
  /** The first record that did not decode: its index, and whether the bytes ran out or are wrong. */
  fault: { index: number; short: boolean; message: string; cause?: unknown } | null;
  /** Bytes left after the last record (0 when the block was consumed exactly). */
  trailing: number;
}

/** Decodes up to `count` records from `data` (one block, uncompressed), each with a view of its bytes. */
function decodeRecords(data: Buffer, count: number, first: number, h: Header, name: string): BlockRecords {
  const alerts: AlertView[] = [];
  let pos = 0;
  for (let i = 0; i < count; i++) {
    let decoded: { value: unknown; offset: number };
    try {
      decoded = h.schema.type.decode(data, pos);
    } catch (err) {
      return { alerts, fault: { index: first + i, short: false, message: `record does not decode: ${(err as Error).message}`, cause: err }, trailing: 0 };
    }
    if (decoded.offset < 0) return { alerts, fault: { index: first + i, short: true, message: `record runs past the end of its block (${data.length} bytes)` }, trailing: 0 };
    alerts.push(alertView(decoded.value, data.subarray(pos, decoded.offset), h.info, h.schema.survey, name, first + i));
    pos = decoded.offset;
  }
  return { alerts, fault: null, trailing: data.length - pos };
}

/** Decompresses and decodes one whole block; a fault in either is reported as `corrupt`. */
function decodeBlock(raw: Buffer, count: number, first: number, h: Header, name: string): BlockRecords {
  let data: Buffer;
  try {
    data = decompressBlock(h.codec, raw);
  } catch (err) {
    if (!(err instanceof BlockCodecError)) throw err;
    return { alerts: [], fault: { index: first, short: false, message: err.message, cause: err }, trailing: 0 };
  }
  return decodeRecords(data, count, first, h, name);
}

/** Reads one block at `c.pos`; returns false when reading must stop (end of file or truncation). */
function readBlock(c: Cursor, h: Header, out: AlertFile, next: { index: number }, fault: Fault): boolean {
  const start = c.pos;
  const count = c.long();
  const size = count === null ? null : c.long();
  if (count === null || size === null) {
    fault(next.index, 'truncated', `the file ends inside a block header at byte ${start}`);
    return false;
  }
  if (!Number.isSafeInteger(count) || !Number.isSafeInteger(size) || count < 0 || size < 0 || size > limits.alertBlockBytesMax) {
    fault(next.index, 'corrupt', `block at byte ${start} claims ${count} records in ${size} bytes`);
    return resync(c, h, start + 1, fault, next.index);
  }
  const end = c.pos + size + SYNC_BYTES;
  if (end > c.buf.length) {
    // Past the end of the file: truncated, unless a marker follows (then the size is wrong).
    const marker = c.buf.indexOf(h.sync, c.pos);
    if (marker < 0) return truncatedBlock(c, h, out, next, count, size, fault);
    const block = decodeBlock(c.buf.subarray(c.pos, marker), count, next.index, h, out.name);
    out.alerts.push(...block.alerts);
    return badSync(c, h, start, -1, next, count, block, fault);
  }
  const block = decodeBlock(c.buf.subarray(c.pos, c.pos + size), count, next.index, h, out.name);
  out.alerts.push(...block.alerts);
  if (!c.buf.subarray(end - SYNC_BYTES, end).equals(h.sync)) return badSync(c, h, start, end, next, count, block, fault);
  if (block.fault !== null) fault(block.fault.index, 'corrupt', `block at byte ${start}: ${block.fault.message}`, block.fault.cause);
  else if (block.trailing !== 0) fault(next.index + count - 1, 'corrupt', `block at byte ${start} has ${block.trailing} bytes after its ${count} records`);
  c.pos = end;
  next.index += count;
  return true;
}

/**
 * A block not followed by the sync marker where its size says (`end`, -1 when past the end of
 * the file). The records that decoded from its start are kept (the block starts where it
 * should; only its end is in doubt). When the whole block decoded exactly, only the marker is
 * damaged and reading goes on after it; otherwise the count or size is wrong too, and reading
 * goes on after the next marker found.
 */
function badSync(c: Cursor, h: Header, start: number, end: number, next: { index: number }, count: number, block: BlockRecords, fault: Fault): boolean {
  const clean = end >= 0 && block.fault === null && block.trailing === 0;
  const kept = clean ? count : block.alerts.length;
  fault(next.index + kept, 'bad-sync', `block at byte ${start} is not followed by the file's sync marker (${kept} of its ${count} records kept)`);
  next.index += kept;
  if (!clean) return resync(c, h, start + 1, fault, next.index);
  c.pos = end;
  return true;
}

/** A block cut short by the end of the file: codec null keeps the records that are whole. */
function truncatedBlock(c: Cursor, h: Header, out: AlertFile, next: { index: number }, count: number, size: number, fault: Fault): false {
  const have = c.buf.subarray(c.pos, Math.min(c.buf.length, c.pos + size));
  const first = next.index;
  next.index += count;
  if (h.codec !== 'null') {
    fault(first, 'truncated', `the file ends inside a ${h.codec} block of ${count} records (${have.length} of ${size} bytes)`);
    return false;
  }
  const block = decodeRecords(have, count, first, h, out.name);
  out.alerts.push(...block.alerts);
  if (block.fault === null) fault(first + count, 'truncated', `the file ends before the sync marker of a block of ${count} records`);
  else fault(block.fault.index, block.fault.short ? 'truncated' : 'corrupt', `the file ends inside a block of ${count} records: ${block.fault.message}`, block.fault.cause);
  return false;
}

/** Moves past the next sync marker at or after `from`; false (and a fault) when there is none. */
function resync(c: Cursor, h: Header, from: number, fault: Fault, index: number): boolean {
  const at = c.buf.indexOf(h.sync, from);
  if (at < 0) {
    fault(index, 'bad-sync', `no sync marker after byte ${from}: the rest of the file is skipped`);
    return false;
  }
  c.pos = at + SYNC_BYTES;
  return true;
}

/**
 * Reads every record of an Avro container file held in `buf`. Never throws for bad input:
 * each fault becomes an AlertDecodeError in `errors` and reading goes on at the next block
 * it can find, so every record before a fault is kept. Record bytes and bytes fields are views
 * into `buf` (codec null) or into the block's decompressed copy; the caller keeps `buf` alive
 * as long as it uses them. `name` names the file in messages. With a `registry`, the schema
 * info of each alert carries the id of the registered schema its header's matches (else null).
 */
export function readAlertBuffer(buf: Uint8Array, name: string, registry?: SchemaRegistry): AlertFile {
  const data = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: AlertFile = { name, format: 'container', codec: null, schema: null, records: 0, alerts: [], errors: [] };
  const fault: Fault = (index, reason, message, cause) => {
    out.errors.push(new AlertDecodeError({ file: name, index, schema: out.schema?.name ?? null }, reason, message, { cause }));
  };
  const c = new Cursor(data, 0);
  const header = readHeader(c, fault, registry);
  if (header === null) return out;
  out.codec = header.codec;
  out.schema = header.info;
  const next = { index: 0 };
  while (c.pos < data.length && readBlock(c, header, out, next, fault));
  out.records = Math.max(next.index, out.alerts.length);
  return out;
}

/** Reads the container file at `path` (see `readAlertBuffer`); an unreadable path throws the fs error. */
export function readAlertFile(path: string, registry?: SchemaRegistry): AlertFile {
  return readAlertBuffer(readFileSync(path), path, registry);
}
