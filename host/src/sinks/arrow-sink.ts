import { AsyncByteQueue, Bool, Field, FixedSizeList, Float32, Float64, Int16, Int64, makeData, RecordBatch, RecordBatchStreamWriter, Schema, Struct, Utf8, vectorFromArray, type DataType } from 'apache-arrow';
import type { TriggerEvent } from '../metrics/snapshot.js';
import { FileSink, type FileSinkOptions } from './file-sink.js';
import type { SinkContext } from './sink.js';

/**
 * Catches the bytes apache-arrow's writer produces, synchronously: the writer's own sinks
 * are asynchronous queues or piped streams, which could neither be measured before the size
 * check nor flushed at a fatal exit.
 */
class ByteCollector extends AsyncByteQueue {
  chunks: Uint8Array[] = [];
  override write(value: ArrayBufferView | ArrayBuffer): void {
    const v = ArrayBuffer.isView(value) ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength) : new Uint8Array(value);
    if (v.byteLength > 0) this.chunks.push(v);
  }
  take(): Uint8Array {
    const out = Buffer.concat(this.chunks);
    this.chunks = [];
    return out;
  }
}

/**
 * Trigger records as Arrow IPC streams, one record batch per drain, columns named as the
 * `TriggerEvent` fields (payload as JSON text). Every part is a complete stream: it starts
 * with the schema (labels and run id in its metadata) and a part that reaches its size bound
 * ends with the end-of-stream marker before the next part starts.
 */
export class ArrowSink extends FileSink {
  private readonly schema: Schema;
  private readonly bytes = new ByteCollector();
  private writer: RecordBatchStreamWriter;

  constructor(opts: FileSinkOptions, ctx: SinkContext) {
    super('arrow', opts, ctx);
    const fields = TRIGGER_COLUMNS(ctx.labels.length).map(([name, type, nullable]) => new Field(name, type, nullable));
    this.schema = new Schema(fields, new Map([['hairtrigger.labels', JSON.stringify(ctx.labels)], ['hairtrigger.run', ctx.runId]]));
    this.writer = this.startStream();
  }

  protected encode(events: readonly TriggerEvent[]): void {
    this.writer.write(this.batch(events));
    const bytes = this.bytes.take();
    // A part that could not be started leaves the stream open in the current part (no end
    // marker in the middle of a file: it would hide the rest from stream readers).
    if (!this.files.fits(bytes.byteLength)) {
      const before = this.files.current;
      if (this.files.next(() => this.endStream()) !== before) this.writer = this.startStream();
    }
    this.files.current.append(bytes, events.length);
  }

  protected finish(): void {
    this.endStream();
  }

  /** A writer whose schema message starts the current part. */
  private startStream(): RecordBatchStreamWriter {
    const w = new RecordBatchStreamWriter();
    w.reset(this.bytes, this.schema);
    const header = this.bytes.take();
    this.files.headerBytes = header.byteLength;
    this.files.current.append(header, 0);
    return w;
  }

  /** Appends the end-of-stream marker to the current part. */
  private endStream(): void {
    this.writer.reset(this.bytes, null);
    this.files.current.append(this.bytes.take(), 0);
  }

  private batch(events: readonly TriggerEvent[]): RecordBatch {
    const children = this.schema.fields.map((f) => {
      const key = f.name as keyof TriggerEvent;
      const values = events.map((e) => (key === 'payload' ? JSON.stringify(e.payload) : key === 'seq' ? BigInt(e.seq) : e[key]));
      return vectorFromArray(values as never, f.type as DataType).data[0];
    });
    return new RecordBatch(this.schema, makeData({ type: new Struct(this.schema.fields), length: events.length, nullCount: 0, children }));
  }
}

/** Factory for the registry. */
export function createArrowSink(opts: FileSinkOptions, ctx: SinkContext): ArrowSink {
  return new ArrowSink(opts, ctx);
}

/** The Arrow trigger log's columns: the TriggerEvent fields by the same names (payload as JSON text). */
function TRIGGER_COLUMNS(classes: number): Array<[keyof TriggerEvent, DataType, boolean]> {
  return [
    ['kind', new Utf8(), false], ['run', new Utf8(), false], ['stream', new Utf8(), false], ['seq', new Int64(), false],
    ['id', new Utf8(), true], ['classIndex', new Int16(), false], ['class', new Utf8(), false], ['truthIndex', new Int16(), false],
    ['truth', new Utf8(), true], ['score', new Float32(), false], ['probs', new FixedSizeList(classes, new Field('p', new Float32(), false)), false],
    ['sensorNs', new Float64(), true], ['streamMs', new Float64(), true], ['dueNs', new Float64(), false], ['ingestNs', new Float64(), false], ['e2eUs', new Float32(), false],
    ['late', new Bool(), false], ['payload', new Utf8(), false],
  ];
}
