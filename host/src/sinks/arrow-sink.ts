import { AsyncByteQueue, Bool, Field, FixedSizeList, Float32, Float64, Int16, Int64, makeData, RecordBatch, RecordBatchStreamWriter, Schema, Struct, Utf8, vectorFromArray, type DataType } from 'apache-arrow';
import type { TriggerEvent } from '../metrics/snapshot.js';
import { FileSink, type FileSinkOptions } from './file-sink.js';
import type { CascadeAnswerRow, SinkContext } from './sink.js';

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
 *
 * With a cascade to the teacher (SinkContext `cascade`) four more columns carry its answer,
 * and nothing written is ever rewritten (as in the JSON lines log):
 * - a record the cascade held (`replace`) is written after the answer, so its own row has
 *   `decidedBy`, `teacherClass`, `teacherScore` (the teacher's probability of its class) and
 *   `teacherInTime` (within the budget: then it decided), as the JSON record's `cascade`;
 * - a record written without the answer (no `replace`: cells, keywords; a late alert; a held
 *   record released by the student when the budget ran out first) gets a follow-up row
 *   of kind `answer` in a later batch, keyed by run, stream and seq: the teacher's class,
 *   score and probabilities in `classIndex`/`class`/`score`/`probs` and in the teacher
 *   columns, `dueNs` the frame's, `ingestNs` the join, `e2eUs` the teacher's latency from
 *   the due time, `late` when that passed the budget; truth, sensor and stream time are on
 *   the trigger row (null here). Only frames whose record exists get one; every answer is in
 *   the answers file (`cascade.answers`). Trigger rows leave the teacher columns null.
 */
export class ArrowSink extends FileSink {
  private readonly schema: Schema;
  private readonly bytes = new ByteCollector();
  private writer: RecordBatchStreamWriter;
  /** Answer rows waiting for the next batch (written after that drain's records, or at close). */
  private answers: CascadeAnswerRow[] = [];
  private readonly run: string;
  private readonly stream: string;

  constructor(opts: FileSinkOptions, ctx: SinkContext) {
    super('arrow', opts, ctx);
    const columns = [...TRIGGER_COLUMNS(ctx.labels.length), ...(ctx.cascade === true ? CASCADE_COLUMNS : [])];
    const fields = columns.map(([name, type, nullable]) => new Field(name, type, nullable));
    this.schema = new Schema(fields, new Map([['hairtrigger.labels', JSON.stringify(ctx.labels)], ['hairtrigger.run', ctx.runId]]));
    this.run = ctx.runId;
    this.stream = ctx.stream ?? '';
    this.writer = this.startStream();
    if (ctx.cascade === true) this.cascadeAnswer = (row) => void this.answers.push(row);
  }

  /** Set when the pipeline has a cascade: queues the follow-up row of an answer. Off the hot path. */
  cascadeAnswer?: (row: CascadeAnswerRow) => void;

  protected encode(events: readonly TriggerEvent[]): void {
    this.writer.write(this.batch(events.map(rowOfEvent)));
    if (this.answers.length > 0) this.writeAnswers();
    this.append(events.length);
  }

  /** The answers queued since the last batch, as their own batch (not trigger records: counted none). */
  private writeAnswers(): void {
    const rows = this.answers.map((a) => rowOfAnswer(a, this.run, this.stream));
    this.answers = [];
    this.writer.write(this.batch(rows));
  }

  /** Appends what the writer produced to the current part, `records` trigger records among it. */
  private append(records: number): void {
    const bytes = this.bytes.take();
    // A part that could not be started leaves the stream open in the current part (no end
    // marker in the middle of a file: it would hide the rest from stream readers).
    if (!this.files.fits(bytes.byteLength)) {
      const before = this.files.current;
      if (this.files.next(() => this.endStream()) !== before) this.writer = this.startStream();
    }
    this.files.current.append(bytes, records);
  }

  protected finish(): void {
    if (this.answers.length > 0) {
      this.writeAnswers();
      this.append(0);
    }
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

  private batch(rows: readonly Record<string, unknown>[]): RecordBatch {
    const children = this.schema.fields.map((f) => vectorFromArray(rows.map((r) => r[f.name] ?? null) as never, f.type as DataType).data[0]);
    return new RecordBatch(this.schema, makeData({ type: new Struct(this.schema.fields), length: rows.length, nullCount: 0, children }));
  }
}

/** Factory for the registry. */
export function createArrowSink(opts: FileSinkOptions, ctx: SinkContext): ArrowSink {
  return new ArrowSink(opts, ctx);
}

/** A trigger record's column values (payload as JSON text, seq as int64; the cascade's of a held record). */
function rowOfEvent(e: TriggerEvent): Record<string, unknown> {
  const row: Record<string, unknown> = { ...e, seq: BigInt(e.seq), payload: JSON.stringify(e.payload) };
  if (e.cascade !== undefined) Object.assign(row, { decidedBy: e.cascade.decidedBy, teacherClass: e.cascade.teacher, teacherScore: e.cascade.teacherScore, teacherInTime: e.cascade.inTime });
  return row;
}

/** The follow-up row of an answer (class docs). */
function rowOfAnswer(a: CascadeAnswerRow, run: string, stream: string): Record<string, unknown> {
  return {
    kind: 'answer', run, stream, seq: BigInt(a.seq), id: a.id, classIndex: a.teacherIndex, class: a.teacher, truthIndex: -1, truth: null,
    score: a.teacherScore, probs: a.teacherProbs, sensorNs: null, streamMs: null, dueNs: a.dueNs, ingestNs: a.joinNs, e2eUs: a.latencyUs,
    late: !a.inTime, payload: '{}', decidedBy: null, teacherClass: a.teacher, teacherScore: a.teacherScore, teacherInTime: a.inTime,
  };
}

/** The cascade's columns (class docs); null on a trigger record the cascade did not hold. */
const CASCADE_COLUMNS: Array<[string, DataType, boolean]> = [
  ['decidedBy', new Utf8(), true], ['teacherClass', new Utf8(), true], ['teacherScore', new Float32(), true], ['teacherInTime', new Bool(), true],
];

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
