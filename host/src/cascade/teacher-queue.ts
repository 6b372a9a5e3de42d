import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { assert } from '../core/assert.js';
import { limits } from '../core/limits.js';

/**
 * The bounded queue between the hot path and the teacher's own worker thread, in shared
 * memory. The hot path copies an unsure frame's inputs into the next free preallocated slot
 * and bumps `submitted` (no allocation, no wait; when `queueFrames` frames are out, the frame
 * is not sent). The worker waits on `submitted`, runs the teacher on each slot in order,
 * writes its output into the same slot and bumps `answered`. The main thread joins answers
 * off the hot path (`TeacherQueue.join`), and only then is the slot free again: a slot holds
 * one frame from its send until its answer has been read, so `outstanding` (sent, not yet
 * joined) never exceeds `queueFrames`, and no answer is overwritten before it is read.
 *
 *   hot path:  slot[submitted % N] <- inputs; submitted++; notify if the worker sleeps
 *   worker:    sleeping = 1; wait submitted != done; sleeping = 0; run slot[done % N];
 *              answer -> slot; answered = ++done; post one nudge unless one is pending
 *   main:      on the nudge (and on the flush timer): read slots joined..answered; joined++
 *
 * Counters in shared memory are int32 and compared for equality only, so they may wrap.
 *
 * The teacher is best effort and must not take the student's core (issue 15: on the 2-core VM
 * the BCCD sorter at `max` pace ran 36.6k frames/s without a cascade, 13.7k with one at cut 1):
 * its thread runs at the lowest CPU priority (nice 19; on Linux a thread's own), so a contended
 * core goes to the hot path first; onnxruntime runs on that thread alone (one intra-op thread,
 * no pool to spin, sequential execution); the session's first run, where onnxruntime sets up
 * its kernels and buffers, is made on zeros before the queue reports the model loaded; and the
 * hot path wakes the worker (a futex wake, a system call) only when it sleeps.
 */

/** Words of the control block. */
const SUBMITTED = 0;
const ANSWERED = 1;
/** 1 while the teacher is held (tests: a teacher slower than any input). */
const PAUSED = 2;
const STOP = 3;
/** 1 while a nudge is posted and not yet taken by `join`: one message per burst of answers. */
const NUDGE = 4;
/** 1 while the worker is (about to be) blocked in Atomics.wait on SUBMITTED: `submit` notifies only then. */
const SLEEPING = 5;
const CONTROL_WORDS = 8;

/** How a slot's answer came back. */
export const ANSWER_OK = 0;
export const ANSWER_FAILED = 1;

/** One answer, valid during the `join` callback only (its arrays are the slot's). */
export interface TeacherAnswer {
  /** Position of the frame among those sent (0, 1, ...): the caller's own per-send data is
   * kept by it, at `sent % queueFrames`. */
  readonly sent: number;
  readonly ok: boolean;
  /** The teacher's raw output (logits or probabilities, as its model writes them). */
  readonly output: Float32Array;
  /** The teacher's session.run alone, ns (the worker's clock: a duration only). */
  readonly inferNs: number;
}

export interface TeacherQueueOptions {
  /** The teacher's ONNX bytes. */
  model: Uint8Array;
  /** Each input's dimensions without the batch, in the model's input order. */
  inputDims: readonly (readonly number[])[];
  outputs: number;
  queueFrames: number;
}

/** What the worker reports once, after loading the model. */
type WorkerReport = { kind: 'loaded'; outputName: string } | { kind: 'failed'; message: string };

/** The queue, the teacher's worker, and the main side of the protocol. */
export class TeacherQueue {
  readonly queueFrames: number;
  private readonly control: Int32Array;
  /** Per slot, its views of each input. */
  private readonly xs: Float32Array[][];
  private readonly ys: Float32Array[];
  /** Per slot: [inferNs, status]. */
  private readonly meta: Float64Array;
  private readonly worker: Worker;
  /** Frames ever sent and ever joined (main thread's own, exact). */
  sent = 0;
  joined = 0;
  /** Failure messages of teacher runs, oldest first, taken by the caller (bounded by queueFrames). */
  readonly failures: string[] = [];
  private closed = false;
  private readonly answer: { sent: number; ok: boolean; output: Float32Array; inferNs: number };

  private constructor(opts: TeacherQueueOptions, shared: SharedArrayBuffer, worker: Worker, layout: Layout) {
    this.queueFrames = opts.queueFrames;
    this.control = new Int32Array(shared, 0, CONTROL_WORDS);
    this.xs = [];
    this.ys = [];
    for (let i = 0; i < opts.queueFrames; i++) {
      this.xs.push(layout.sizes.map((n, k) => new Float32Array(shared, layout.xAt(i, k), n)));
      this.ys.push(new Float32Array(shared, layout.yAt(i), opts.outputs));
    }
    this.meta = new Float64Array(shared, layout.metaAt, 2 * opts.queueFrames);
    this.worker = worker;
    this.answer = { sent: 0, ok: false, output: this.ys[0], inferNs: 0 };
  }

  /**
   * Starts the teacher's worker and resolves once it has loaded the model; `onNudge` runs on
   * the main thread (off the hot path) when answers are waiting to be joined. A model that does
   * not load rejects with its message (the worker is ended).
   */
  static async start(opts: TeacherQueueOptions, onNudge: () => void): Promise<TeacherQueue> {
    assert(opts.queueFrames > 0 && opts.queueFrames <= limits.cascadeQueueFramesMax, 'cascade queue within limits');
    const layout = planLayout(opts);
    const shared = new SharedArrayBuffer(layout.bytes);
    const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
    const data: WorkerData = { ortPath, model: opts.model, shared, inputDims: opts.inputDims, outputs: opts.outputs, queueFrames: opts.queueFrames,
      sizes: layout.sizes, xOffsets: Array.from({ length: opts.queueFrames }, (_, i) => layout.sizes.map((_n, k) => layout.xAt(i, k))),
      yOffsets: Array.from({ length: opts.queueFrames }, (_, i) => layout.yAt(i)), metaAt: layout.metaAt,
      words: { SUBMITTED, ANSWERED, PAUSED, STOP, NUDGE, SLEEPING, CONTROL_WORDS, ANSWER_OK, ANSWER_FAILED } };
    // Source text, as onnx-worker.ts does: it runs from the TypeScript sources and the build alike.
    const worker = new Worker(`(${serveTeacher.toString()})();`, { eval: true, workerData: data });
    const report = await new Promise<WorkerReport>((resolve) => {
      worker.once('message', (m: WorkerReport) => resolve(m));
      worker.once('error', (err) => resolve({ kind: 'failed', message: err.message }));
      worker.once('exit', (code) => resolve({ kind: 'failed', message: `the teacher's worker exited (code ${code}) before it loaded the model` }));
    });
    if (report.kind === 'failed') {
      await worker.terminate();
      throw new Error(report.message);
    }
    const q = new TeacherQueue(opts, shared, worker, layout);
    const failed = (message: string): void => {
      if (q.failures.length < q.queueFrames) q.failures.push(message);
    };
    worker.on('message', (m: { kind: 'nudge' } | { kind: 'error' | 'failed'; message: string }) => {
      if (m.kind !== 'nudge') failed(m.message);
      onNudge();
    });
    // A worker that dies answers nothing more: its queue fills and unsure frames are counted
    // dropped; the reason reaches the error log (never an unhandled 'error' event).
    worker.on('error', (err) => {
      failed(`the teacher's worker stopped: ${err.message}`);
      onNudge();
    });
    // The teacher runs only on frames sent: it need not keep the process alive.
    worker.unref();
    return q;
  }

  /** Sent and not yet joined: queued, running, or answered and waiting for `join`. */
  get outstanding(): number {
    return this.sent - this.joined;
  }

  /** The input views of the slot the next frame goes into, or null when the queue is full
   * (the caller counts the drop). Hot path; pair with `submit`. */
  nextInputs(): readonly Float32Array[] | null {
    if (this.sent - this.joined >= this.queueFrames || this.closed) return null;
    return this.xs[this.sent % this.queueFrames];
  }

  /** Hands the slot `nextInputs` gave (now filled) to the teacher. Hot path: no allocation. */
  submit(): void {
    assert(this.sent - this.joined < this.queueFrames, 'a frame is submitted into a free slot');
    this.sent++;
    Atomics.store(this.control, SUBMITTED, this.sent | 0);
    // Sequentially consistent store then load, against the worker's store of SLEEPING then load
    // of SUBMITTED: either it sees this frame before it waits, or this sees it sleeping.
    if (Atomics.load(this.control, SLEEPING) === 1) Atomics.notify(this.control, SUBMITTED);
  }

  /**
   * Calls `each` for every answer the worker has written since the last join, in send order,
   * then frees their slots. Off the hot path (the nudge, the flush timer); `each` must not
   * keep the answer's arrays.
   */
  join(each: (a: TeacherAnswer) => void): number {
    Atomics.store(this.control, NUDGE, 0);
    const answered = Atomics.load(this.control, ANSWERED);
    let n = 0;
    while ((this.joined | 0) !== answered) {
      const i = this.joined % this.queueFrames;
      const a = this.answer;
      a.sent = this.joined;
      a.ok = this.meta[2 * i + 1] === ANSWER_OK;
      a.output = this.ys[i];
      a.inferNs = this.meta[2 * i];
      each(a);
      this.joined++;
      n++;
    }
    return n;
  }

  /** Holds the teacher before its next frame (true) or lets it go on (false): a teacher slower
   * than any input, for tests of the bound. */
  hold(on: boolean): void {
    Atomics.store(this.control, PAUSED, on ? 1 : 0);
    Atomics.notify(this.control, PAUSED);
  }

  /** Stops the worker (which frees its session). Frames not answered are never answered. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.control, STOP, 1);
    Atomics.store(this.control, PAUSED, 0);
    // Unconditionally: the worker may be between its flag and its wait.
    Atomics.notify(this.control, PAUSED);
    Atomics.notify(this.control, SUBMITTED);
    await this.worker.terminate();
  }
}

interface Layout {
  sizes: number[];
  bytes: number;
  metaAt: number;
  xAt(slot: number, input: number): number;
  yAt(slot: number): number;
}

/** Byte offsets in the shared buffer: control words, then per slot its inputs and output, then the meta. */
function planLayout(opts: TeacherQueueOptions): Layout {
  const sizes = opts.inputDims.map((d) => d.reduce((a, b) => a * b, 1));
  const slotFloats = sizes.reduce((a, b) => a + b, 0) + opts.outputs;
  const slotsAt = CONTROL_WORDS * 4;
  const metaAt = slotsAt + opts.queueFrames * slotFloats * 4;
  const bytes = metaAt + 16 * opts.queueFrames;
  const before = sizes.map((_, k) => sizes.slice(0, k).reduce((a, b) => a + b, 0));
  return {
    sizes,
    bytes,
    metaAt,
    xAt: (i, k) => slotsAt + (i * slotFloats + before[k]) * 4,
    yAt: (i) => slotsAt + (i * slotFloats + slotFloats - opts.outputs) * 4,
  };
}

/** Shared bytes a queue of these options takes (checked against limits.cascadeQueueBytesMax). */
export function teacherQueueBytes(opts: Pick<TeacherQueueOptions, 'inputDims' | 'outputs' | 'queueFrames'>): number {
  return planLayout({ ...opts, model: new Uint8Array(0) }).bytes;
}

interface WorkerData {
  ortPath: string;
  model: Uint8Array;
  shared: SharedArrayBuffer;
  inputDims: readonly (readonly number[])[];
  outputs: number;
  queueFrames: number;
  sizes: number[];
  xOffsets: number[][];
  yOffsets: number[];
  metaAt: number;
  words: { SUBMITTED: number; ANSWERED: number; PAUSED: number; STOP: number; NUDGE: number; SLEEPING: number; CONTROL_WORDS: number; ANSWER_OK: number; ANSWER_FAILED: number };
}

/**
 * The teacher's worker body, run from its source text (only its own body, `require`, globals
 * and `workerData`). It blocks in Atomics.wait between frames: it has nothing else to do.
 */
function serveTeacher(): void {
  const { workerData, parentPort } = require('node:worker_threads') as typeof import('node:worker_threads');
  const d = workerData as WorkerData;
  const w = d.words;
  const ort = require(d.ortPath) as typeof import('onnxruntime-node');
  const control = new Int32Array(d.shared, 0, w.CONTROL_WORDS);
  const meta = new Float64Array(d.shared, d.metaAt, 2 * d.queueFrames);
  // onnxruntime refuses tensors over shared memory: the session reads worker-local copies.
  const xs = d.sizes.map((n) => new Float32Array(n));
  const serve = async (): Promise<void> => {
    // This thread's own nice value (Linux: setpriority on the calling thread): the student's
    // thread, and the rest of the process, win a contended core. Best effort: a system that
    // refuses leaves the priority as it is.
    try {
      (require('node:os') as typeof import('node:os')).setPriority(19);
    } catch {
      // not permitted: the teacher keeps the process's priority
    }
    const session = await ort.InferenceSession.create(d.model, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
    const output = session.outputNames[0]!;
    const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
    session.inputNames.forEach((name, k) => (feeds[name] = new ort.Tensor('float32', xs[k]!, [1, ...d.inputDims[k]!])));
    // The first run sets up onnxruntime's kernels and buffers (tens of ms): before the daemon
    // starts, not on the first unsure frame, beside the hot path.
    try {
      await session.run(feeds);
    } catch {
      // a model that refuses zeros fails on real frames too: each such answer reports why
    }
    parentPort!.postMessage({ kind: 'loaded', outputName: output });
    let done = 0;
    for (;;) {
      if (Atomics.load(control, w.STOP) === 1) return;
      if (Atomics.load(control, w.PAUSED) === 1) {
        Atomics.wait(control, w.PAUSED, 1);
        continue;
      }
      const submitted = Atomics.load(control, w.SUBMITTED);
      if (submitted === (done | 0)) {
        // SLEEPING before the second look at SUBMITTED (see submit): a frame sent between the
        // two either is seen here or finds the flag set and notifies.
        Atomics.store(control, w.SLEEPING, 1);
        if (Atomics.load(control, w.SUBMITTED) === submitted) Atomics.wait(control, w.SUBMITTED, submitted);
        Atomics.store(control, w.SLEEPING, 0);
        continue;
      }
      const i = done % d.queueFrames;
      for (let k = 0; k < xs.length; k++) xs[k]!.set(new Float32Array(d.shared, d.xOffsets[i]![k]!, d.sizes[k]!));
      const y = new Float32Array(d.shared, d.yOffsets[i]!, d.outputs);
      const t0 = performance.now();
      try {
        const out = await session.run(feeds);
        y.set(out[output]!.data as Float32Array);
        meta[2 * i + 1] = w.ANSWER_OK;
      } catch (err) {
        y.fill(Number.NaN);
        meta[2 * i + 1] = w.ANSWER_FAILED;
        parentPort!.postMessage({ kind: 'error', message: err instanceof Error ? err.message : String(err) });
      }
      meta[2 * i] = (performance.now() - t0) * 1e6;
      done++;
      Atomics.store(control, w.ANSWERED, done | 0);
      if (Atomics.compareExchange(control, w.NUDGE, 0, 1) === 0) parentPort!.postMessage({ kind: 'nudge' });
    }
  };
  serve().catch((err: unknown) => parentPort!.postMessage({ kind: 'failed', message: err instanceof Error ? err.message : String(err) }));
}
