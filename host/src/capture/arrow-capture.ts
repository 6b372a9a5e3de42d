import { createWriteStream, readFileSync, statSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import {
  Binary, Field, Int16, Int64, makeData, RecordBatch, RecordBatchReader, RecordBatchStreamWriter,
  Schema, Struct, Table, TimestampNanosecond, tableFromIPC,
} from 'apache-arrow';
import { assert } from '../core/assert.js';
import { CaptureFormatError } from '../core/errors.js';
import { limits } from '../core/limits.js';
import { frameBytes, type FrameDType, type FrameSpec } from '../core/frame.js';

/**
 * Captures are Apache Arrow IPC streams (`.arrows`, media type vnd.apache.arrow.stream): one row per frame with columns
 * `seq` (int64), `sensor_time` (timestamp[ns], null when the sensor gave none), `frame`
 * (binary: the raw frame bytes, row-major HWC) and `label` (int16 index into the labels,
 * null when unknown). Schema metadata carries the stream name, frame shape, dtype and labels
 * under `hairtrigger.*`, so `pyarrow.ipc.open_stream(path).read_all().to_pandas()` (or
 * polars' `read_ipc_stream`) reads them without our code, and our reader refuses files that
 * are not captures. The stream format, not the file format, because a capture is written
 * while the sensor runs: every record batch on disk is readable even if the recorder dies
 * before its end, whereas the file format needs its footer. Arrow IPC *files* (Feather v2,
 * e.g. converted with pyarrow) are read too.
 */
export const CAPTURE_VERSION = '1';
export const META = {
  version: 'hairtrigger.capture',
  stream: 'hairtrigger.stream',
  shape: 'hairtrigger.shape',
  dtype: 'hairtrigger.dtype',
  labels: 'hairtrigger.labels',
} as const;

/** A capture held in memory, columns as typed arrays so a replay reads it without allocating. */
export interface Capture {
  spec: FrameSpec;
  count: number;
  seq: Float64Array;
  /** Sensor time in ns relative to `epochNs` (the first non-null sensor time), NaN when null. */
  sensorNs: Float64Array;
  epochNs: bigint | null;
  /** All frame bytes back to back; frame i is `frames[offsets[i] .. offsets[i+1])`. */
  frames: Uint8Array;
  offsets: Int32Array;
  /** Label index per frame, -1 when unknown. */
  labels: Int16Array;
  /** Set when the file was truncated and only its complete record batches were recovered. */
  truncation: CaptureFormatError | null;
}

function captureSchema(spec: FrameSpec): Schema {
  const metadata = new Map<string, string>([
    [META.version, CAPTURE_VERSION],
    [META.stream, spec.stream],
    [META.shape, JSON.stringify(spec.shape)],
    [META.dtype, spec.dtype],
    [META.labels, JSON.stringify(spec.labels ?? [])],
  ]);
  return new Schema(
    [
      new Field('seq', new Int64(), false),
      new Field('sensor_time', new TimestampNanosecond(), true),
      new Field('frame', new Binary(), false),
      new Field('label', new Int16(), true),
    ],
    metadata,
  );
}

/**
 * Appends frames to a capture file. `append` copies the frame into a preallocated staging
 * batch (no allocation); a full batch is encoded and handed to the file stream. `close`
 * flushes the partial batch and writes the Arrow footer: a capture is complete only after
 * `close` resolves (SIGINT/SIGTERM handlers call it).
 */
export class CaptureWriter {
  readonly spec: FrameSpec;
  readonly path: string;
  private readonly schema: Schema;
  private readonly writer: RecordBatchStreamWriter;
  private readonly file: WriteStream;
  private readonly done: Promise<unknown>;
  private readonly frameBytes: number;
  private readonly batchRows: number;
  // Staged as float64 (exact to 2^53) so `append` creates no BigInt; converted per batch.
  private readonly seq: Float64Array;
  private readonly time: Float64Array;
  private readonly timeValid: Uint8Array;
  private readonly bytes: Uint8Array;
  private readonly lens: Int32Array;
  private readonly label: Int16Array;
  private readonly labelValid: Uint8Array;
  private rows = 0;
  private closed = false;
  /** Frames written so far (including the staged batch). */
  written = 0;

  /** Absolute sensor time (ns since the Unix epoch) that `append`'s relative times count from. */
  readonly epochNs: bigint;

  constructor(path: string, spec: FrameSpec, opts: { batchRows?: number; epochNs?: bigint } = {}) {
    const batchRows = opts.batchRows ?? 1024;
    this.epochNs = opts.epochNs ?? 0n;
    assert(batchRows > 0 && batchRows <= 65_536, 'capture batch rows within bounds');
    this.spec = spec;
    this.path = path;
    this.schema = captureSchema(spec);
    this.frameBytes = frameBytes(spec);
    this.batchRows = batchRows;
    this.seq = new Float64Array(batchRows);
    this.time = new Float64Array(batchRows);
    this.timeValid = new Uint8Array(batchRows);
    this.bytes = new Uint8Array(batchRows * this.frameBytes);
    this.lens = new Int32Array(batchRows);
    this.label = new Int16Array(batchRows);
    this.labelValid = new Uint8Array(batchRows);
    this.writer = new RecordBatchStreamWriter();
    this.file = createWriteStream(path);
    const stream = this.writer.toNodeStream();
    stream.pipe(this.file);
    this.done = Promise.race([once(this.file, 'close'), once(this.file, 'error').then(([e]) => { throw e; })]);
  }

  /**
   * Stages one frame. `sensorNs` is ns after `epochNs` (null when unknown: float64 holds it
   * exactly for 104 days); `label` -1 for unknown.
   * Frames longer than the spec are cut to it; shorter ones are stored as they are (a
   * capture may record malformed frames, the decoder reports them on replay).
   */
  append(seq: number, sensorNs: number | null, src: Uint8Array, offset: number, length: number, label: number): void {
    assert(!this.closed, 'append after close');
    const r = this.rows;
    const n = Math.min(length, this.frameBytes);
    const base = r * this.frameBytes;
    for (let i = 0; i < n; i++) this.bytes[base + i] = src[offset + i];
    this.lens[r] = n;
    this.seq[r] = seq;
    const hasTime = sensorNs !== null && Number.isFinite(sensorNs);
    this.timeValid[r] = hasTime ? 1 : 0;
    this.time[r] = hasTime ? Math.round(sensorNs) : 0;
    this.labelValid[r] = label >= 0 ? 1 : 0;
    this.label[r] = label >= 0 ? label : 0;
    this.rows = r + 1;
    this.written++;
    if (this.rows === this.batchRows) this.flushBatch();
  }

  /** Encodes the staged rows as one record batch. */
  flushBatch(): void {
    if (this.rows === 0) return;
    this.writer.write(this.buildBatch());
    this.rows = 0;
  }

  /** Flushes, writes the end-of-stream marker and waits until the file is closed. Idempotent. */
  async close(): Promise<void> {
    if (!this.closed) {
      // An empty capture still carries its schema (stream, shape, labels): write a 0-row batch.
      if (this.written === 0) this.writer.write(this.buildBatch());
      this.flushBatch();
      this.closed = true;
      this.writer.finish();
      this.writer.close();
    }
    await this.done;
  }

  private buildBatch(): RecordBatch {
    const n = this.rows;
    const offsets = new Int32Array(n + 1);
    let total = 0;
    for (let i = 0; i < n; i++) total += this.lens[i];
    const data = new Uint8Array(total);
    for (let i = 0, at = 0; i < n; i++) {
      offsets[i] = at;
      data.set(this.bytes.subarray(i * this.frameBytes, i * this.frameBytes + this.lens[i]), at);
      at += this.lens[i];
      offsets[i + 1] = at;
    }
    const [timeBits, timeNulls] = bitmap(this.timeValid, n);
    const [labelBits, labelNulls] = bitmap(this.labelValid, n);
    const fields = this.schema.fields;
    const children = [
      makeData({ type: fields[0].type as Int64, length: n, nullCount: 0, data: toBigInt64(this.seq, n) }),
      makeData({ type: fields[1].type as TimestampNanosecond, length: n, nullCount: timeNulls, nullBitmap: timeBits, data: toBigInt64(this.time, n, this.epochNs) }),
      makeData({ type: fields[2].type as Binary, length: n, nullCount: 0, valueOffsets: offsets, data }),
      makeData({ type: fields[3].type as Int16, length: n, nullCount: labelNulls, nullBitmap: labelBits, data: this.label.slice(0, n) }),
    ];
    const struct = makeData({ type: new Struct(fields), length: n, nullCount: 0, children });
    return new RecordBatch(this.schema, struct);
  }
}

function toBigInt64(src: Float64Array, n: number, base = 0n): BigInt64Array {
  const out = new BigInt64Array(n);
  for (let i = 0; i < n; i++) out[i] = base + BigInt(src[i]);
  return out;
}

function bitmap(valid: Uint8Array, n: number): [Uint8Array, number] {
  const bits = new Uint8Array(Math.ceil(n / 8));
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    if (valid[i]) bits[i >> 3] |= 1 << (i & 7);
    else nulls++;
  }
  return [bits, nulls];
}

const FILE_MAGIC = Buffer.from('ARROW1');
const EOS = Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);

/**
 * Reads a capture into memory. Bytes that are not Arrow, lack the hairtrigger metadata or a
 * column, or exceed `captureBytesMax` are refused with a CaptureFormatError naming the file.
 * A stream cut short (the recorder was killed) yields its complete record batches and sets
 * `truncation`, so no frame already on disk is lost.
 */
export function readCapture(path: string): Capture {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (err) {
    throw new CaptureFormatError(path, `cannot open capture: ${(err as Error).message}`, { cause: err });
  }
  if (size > limits.captureBytesMax) throw new CaptureFormatError(path, `capture of ${size} bytes exceeds captureBytesMax ${limits.captureBytesMax}`);
  return parseCapture(readFileSync(path), path);
}

/** As `readCapture`, from bytes already in memory. */
export function parseCapture(bytes: Uint8Array, where: string): Capture {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length >= 6 && buf.subarray(0, 6).equals(FILE_MAGIC)) {
    if (!buf.subarray(buf.length - 6).equals(FILE_MAGIC)) throw new CaptureFormatError(where, 'truncated Arrow IPC file (footer missing); captures written by hairtrigger are streams and survive truncation');
    try {
      return columnsOf(tableFromIPC(buf), where, null);
    } catch (err) {
      if (err instanceof CaptureFormatError) throw err;
      throw new CaptureFormatError(where, `Arrow file does not parse: ${(err as Error).message}`, { cause: err });
    }
  }
  if (buf.length < 8 || buf.readUInt32LE(0) !== 0xffffffff) throw new CaptureFormatError(where, 'not an Arrow IPC stream or file (no continuation marker or "ARROW1" magic at the start)');
  const batches: RecordBatch[] = [];
  let schema: Schema | null = null;
  let failure = '';
  try {
    const reader = RecordBatchReader.from(buf);
    reader.open();
    schema = reader.schema ?? null;
    for (const b of reader) batches.push(b);
  } catch (err) {
    failure = (err as Error).message;
  }
  if (schema === null) throw new CaptureFormatError(where, `Arrow stream has no readable schema${failure ? `: ${failure}` : ''}`);
  let truncation: CaptureFormatError | null = null;
  if (failure !== '' || !buf.subarray(buf.length - 8).equals(EOS)) {
    const rows = batches.reduce((a, b) => a + b.numRows, 0);
    truncation = new CaptureFormatError(where, `truncated Arrow stream (no end-of-stream marker): recovered ${batches.length} complete record batches, ${rows} frames${failure ? `; stopped at: ${failure}` : ''}`);
  }
  return columnsOf(new Table(schema, batches), where, truncation);
}

function columnsOf(table: Table, where: string, truncation: CaptureFormatError | null): Capture {
  const md = table.schema.metadata;
  if (md.get(META.version) !== CAPTURE_VERSION) {
    throw new CaptureFormatError(where, `not a hairtrigger capture (schema metadata ${META.version}=${md.get(META.version) ?? 'missing'}, expected ${CAPTURE_VERSION})`);
  }
  const spec = specOf(md, where);
  for (const name of ['seq', 'sensor_time', 'frame', 'label']) {
    if (table.getChild(name) === null) throw new CaptureFormatError(where, `column "${name}" is missing`);
  }
  const count = table.numRows;
  const seq = new Float64Array(count);
  const sensorNs = new Float64Array(count);
  const labels = new Int16Array(count);
  const offsets = new Int32Array(count + 1);
  const times = rawTimes(table);
  const seqCol = table.getChild('seq')!;
  const labelCol = table.getChild('label')!;
  const frameCol = table.getChild('frame')!;
  let epochNs: bigint | null = null;
  let total = 0;
  for (let i = 0; i < count; i++) {
    const f = frameCol.get(i) as Uint8Array | null;
    total += f === null ? 0 : f.length;
  }
  if (total > limits.captureBytesMax) throw new CaptureFormatError(where, `frames total ${total} bytes, over captureBytesMax`);
  const frames = new Uint8Array(total);
  let at = 0;
  for (let i = 0; i < count; i++) {
    seq[i] = Number(seqCol.get(i) as bigint);
    const t = times[i];
    if (t !== null && epochNs === null) epochNs = t;
    sensorNs[i] = t === null || epochNs === null ? Number.NaN : Number(t - epochNs);
    const l = labelCol.get(i) as number | null;
    labels[i] = l === null ? -1 : l;
    const f = frameCol.get(i) as Uint8Array | null;
    offsets[i] = at;
    if (f !== null) {
      frames.set(f, at);
      at += f.length;
    }
    offsets[i + 1] = at;
  }
  return { spec, count, seq, sensorNs, epochNs, frames, offsets, labels, truncation };
}

/** Sensor times as raw int64 ns (arrow-js `get` would round them to float milliseconds). */
function rawTimes(table: Table): (bigint | null)[] {
  const col = table.getChild('sensor_time')!;
  const out: (bigint | null)[] = [];
  for (const chunk of col.data) {
    const values = chunk.values as unknown as BigInt64Array;
    for (let i = 0; i < chunk.length; i++) out.push(chunk.getValid(i) ? values[i] : null);
  }
  return out;
}


export function specOf(md: Map<string, string>, where: string): FrameSpec {
  const parse = (key: string): unknown => {
    const text = md.get(key);
    if (text === undefined) throw new CaptureFormatError(where, `schema metadata ${key} is missing`);
    try {
      return JSON.parse(text);
    } catch {
      throw new CaptureFormatError(where, `schema metadata ${key} is not JSON: ${text.slice(0, 80)}`);
    }
  };
  const shape = parse(META.shape);
  if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new CaptureFormatError(where, `${META.shape} must be a list of positive integers, got ${JSON.stringify(shape)}`);
  }
  const dtype = md.get(META.dtype);
  if (dtype !== 'uint8' && dtype !== 'int16' && dtype !== 'float32') throw new CaptureFormatError(where, `${META.dtype} must be uint8, int16 or float32, got ${dtype}`);
  const labels = parse(META.labels);
  if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string')) throw new CaptureFormatError(where, `${META.labels} must be a list of strings`);
  return { stream: md.get(META.stream) ?? 'unnamed', shape, dtype: dtype as FrameDType, labels };
}
