import type { SinkError } from '../core/errors.js';
import type { TriggerEvent } from '../metrics/snapshot.js';

/**
 * What a sink does when its consumer (disk, socket) does not keep up and its buffer passes
 * its bound:
 * - `block`: the sink reports `ready() === false`; the trigger log stops draining the ring
 *   until every blocking sink is ready again, so the ring's drop-oldest policy decides what
 *   is lost and counts it (`TriggerRing.overflows`). Nothing is dropped inside the sink.
 * - `drop-newest`: the sink keeps accepting; batches that arrive while it is over the bound
 *   are dropped and counted in `dropped`.
 */
export type BackpressurePolicy = 'block' | 'drop-newest';

/** Counters every sink keeps (monotonic). */
export interface SinkCounters {
  /** Records handed to `write`. */
  accepted: number;
  /** Records handed to the consumer (the OS for files; a client's socket for the websocket). */
  written: number;
  /** Records not written because of the backpressure policy. */
  dropped: number;
  /** Bytes handed to the consumer. */
  bytes: number;
  /** Operating errors by code (E_SINK, ...). */
  errors: Record<string, number>;
}

/**
 * One destination of trigger records (JSON lines, Arrow, the websocket, and every later one).
 * `write` is called off the hot path with the batches the trigger log drains from the ring,
 * oldest first, and never throws an operating error: failures are counted in `errors` and
 * reported through the `onError` the sink was created with. The sink owns its files or
 * sockets; `close` releases them.
 */
export interface Sink {
  /** The registry kind and where it writes, for logs and errors (`jsonl build/run/t.jsonl`). */
  readonly name: string;
  readonly policy: BackpressurePolicy;
  /** An actuator (the serial sink to a sorter): the daemon drains the ring as soon as the hot
   * path yields after a trigger, not on the next flush tick (`flushIntervalMs`). */
  readonly urgent?: boolean;
  /** Takes a batch; the events are not modified and may be kept until written. */
  write(events: readonly TriggerEvent[]): void;
  /** False while a `block` sink is over its buffer bound (always true for `drop-newest`). */
  ready(): boolean;
  /** Resolves when everything accepted so far has reached the consumer. */
  flush(): Promise<void>;
  /**
   * Last resort before the process exits on a broken invariant: hands everything accepted so
   * far to the consumer synchronously (files are written with writeSync). Best effort.
   */
  flushSync(): void;
  /** Flushes, ends the stream (an Arrow end-of-stream marker) and releases the files or sockets. Idempotent. */
  close(): Promise<void>;
  counters(): SinkCounters;
  /** The cascade's answer on a frame whose record this sink already took (the Arrow log's
   * follow-up row); absent: the sink does not record answers (the answers file has them all). */
  cascadeAnswer?(row: CascadeAnswerRow): void;
}

/**
 * The teacher's answer on a frame sent whose trigger record was written without it (the record
 * went out at once: no `replace`, or a late frame; or was released by the student before the
 * answer came): what the Arrow trigger log's follow-up row
 * carries (arrow-sink.ts). Made off the hot path, in the cascade's `join` (cascade/cascade.ts).
 */
export interface CascadeAnswerRow {
  seq: number;
  /** The sensor's id as a decimal string, null without one. */
  id: string | null;
  dueNs: number;
  /** Monotonic ns of the join (the answer's arrival as the daemon saw it). */
  joinNs: number;
  latencyUs: number;
  teacherIndex: number;
  teacher: string;
  /** The teacher's probability of its class, and of every class in label order. */
  teacherScore: number;
  teacherProbs: number[];
  /** Within the pipeline's budget from the frame's due time. */
  inTime: boolean;
}

/** What every sink factory is given besides its own options. */
export interface SinkContext {
  /** This run's id: file names carry it, so no run overwrites another's. */
  runId: string;
  /** Class labels in index order (the Arrow schema's probs width and metadata). */
  labels: readonly string[];
  /** Resolves a configured path (relative to the config's folder). */
  resolvePath(path: string): string;
  /** Operating errors the sink survives (a failed write); they are also counted. */
  onError(err: SinkError): void;
  /** Status lines (a serial line gone and retrying); absent: not logged. */
  log?(line: string): void;
  /** The pipeline has a cascade to the teacher: the Arrow log gains its answer columns. */
  cascade?: boolean;
  /** The stream name records carry (the Arrow log's follow-up rows name it). */
  stream?: string;
}

/** Fresh counters. */
export function zeroCounters(): SinkCounters {
  return { accepted: 0, written: 0, dropped: 0, bytes: 0, errors: {} };
}

/** Counts `err` under its code and passes it on. */
export function countError(counters: SinkCounters, err: SinkError, onError: (err: SinkError) => void): void {
  counters.errors[err.code] = (counters.errors[err.code] ?? 0) + 1;
  onError(err);
}
