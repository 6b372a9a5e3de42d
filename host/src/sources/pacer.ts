import { assert } from '../core/assert.js';
import type { Clock } from '../core/clock.js';
import { limits } from '../core/limits.js';
import type { FrameSink, Source, TimerScheduler } from './source.js';
import type { FrameSpec } from '../core/frame.js';

/** What a pacer drives: the offset of frame k from the stream start, and its delivery. */
export interface Paced {
  /** Offset of the k-th delivered frame from the first, in stream nanoseconds. */
  dueOffsetNs(k: number): number;
  /**
   * Delivers the k-th frame synchronously. `dueNs` is the monotonic time the frame was due
   * (its scheduled arrival), NaN at `max` pace where nothing is scheduled. Returns false when
   * the stream has ended.
   */
  deliver(k: number, dueNs: number): boolean;
}

/** How close to a frame's due time the pacer stops sleeping on a timer and polls the event loop instead. */
export interface PacerOptions {
  /** Node timers fire a millisecond or more late; within this many microseconds of the next
   * due time the pacer turns the event loop (setImmediate) instead, so frames leave within a
   * few microseconds of their due time. 0: timers only (tests on a manual clock). */
  spinWindowUs: number;
}

/**
 * Delivers frames on schedule. At `max` speed it delivers `replayBatchFramesMax` frames per
 * macrotask (so the HTTP server and timers still run), fewer while batches take longer than
 * `replayBatchMsMax`, and a paced batch stops once it has taken that long; otherwise it delivers every frame
 * whose time has come (stream time / speed since start), then waits for the next one: on a
 * timer while it is far, by turning the event loop within `spinWindowUs` of it. Each frame
 * carries its due time, so whatever delays delivery (timer jitter, a stalled event loop, a
 * slow frame before it) counts in the frame's latency: no coordinated omission.
 */
export class Pacer {
  private speed: number;
  private readonly clock: Clock;
  private readonly timers: TimerScheduler;
  private readonly paced: Paced;
  private readonly spinWindowNs: number;
  private startNs = 0;
  /** Scratch for clock reads without allocation. */
  private readonly now = new Float64Array(1);
  private k = 0;
  /** Frames per macrotask at max pace (`adaptMaxBatch`). */
  private maxBatchFrames: number = limits.replayBatchFramesMax;
  private handle: unknown = null;
  private immediate = false;
  private stopped = false;
  /** Monotonic ns at which `pause` halted the clock; NaN while running. */
  private pausedAtNs = Number.NaN;
  private resolveDone!: () => void;
  readonly done: Promise<void>;

  constructor(paced: Paced, speed: number, clock: Clock, timers: TimerScheduler, opts: PacerOptions = { spinWindowUs: limits.pacerSpinWindowUs }) {
    assert(speed > 0, 'pacing speed is positive');
    assert(opts.spinWindowUs >= 0 && opts.spinWindowUs <= limits.pacerSpinWindowUs, 'spin window within limits');
    this.paced = paced;
    this.spinWindowNs = opts.spinWindowUs * 1000;
    this.speed = speed;
    this.clock = clock;
    this.timers = timers;
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  get delivered(): number {
    return this.k;
  }

  start(): void {
    this.startNs = this.clock.nowNs();
    this.tick();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.cancel();
    this.resolveDone();
  }

  /** The pace multiplier in force (Infinity: as fast as possible). */
  get pace(): number {
    return this.speed;
  }

  get paused(): boolean {
    return this.pausedAtNs === this.pausedAtNs;
  }

  /** Halts the stream clock: no frame is delivered until `resume`. Idempotent. */
  pause(): void {
    if (this.paused || this.stopped) return;
    this.pausedAtNs = this.clock.nowNs();
    this.cancel();
  }

  /** Restarts the stream clock where `pause` halted it: the frames after keep their spacing
   * and are due from now, so the pause is not counted as lateness. Idempotent. */
  resume(): void {
    if (!this.paused) return;
    this.startNs += this.clock.nowNs() - this.pausedAtNs;
    this.pausedAtNs = Number.NaN;
    if (!this.stopped) this.reschedule();
  }

  /**
   * Changes the pace from the next frame on, keeping the stream time reached: frame spacing
   * in due time becomes (stream spacing / `speed`). Infinity: as fast as possible; from there
   * to a finite pace, the next frame is due now. Takes effect while paused too.
   */
  setSpeed(speed: number): void {
    assert(speed > 0, 'pacing speed is positive');
    const nowNs = this.paused ? this.pausedAtNs : this.clock.nowNs();
    const streamNs = Number.isFinite(this.speed) ? (nowNs - this.startNs) * this.speed : this.paced.dueOffsetNs(this.k);
    if (Number.isFinite(speed)) this.startNs = nowNs - streamNs / speed;
    this.speed = speed;
    if (!this.paused && !this.stopped) this.reschedule();
  }

  private cancel(): void {
    if (this.handle !== null) {
      if (this.immediate) this.timers.clearImmediate(this.handle);
      else this.timers.clearTimeout(this.handle);
    }
    this.handle = null;
  }

  private reschedule(): void {
    this.cancel();
    this.immediate = true;
    this.handle = this.timers.setImmediate(this.tick);
  }

  private readonly tick = (): void => {
    this.handle = null;
    if (this.stopped || this.paused) return;
    const max = !Number.isFinite(this.speed);
    this.clock.stamp(this.now, 0);
    const startNs = this.now[0];
    const yieldAtNs = startNs + limits.replayBatchMsMax * 1e6;
    const frames = max ? this.maxBatchFrames : limits.replayBatchFramesMax;
    for (let n = 0; n < frames; n++) {
      let dueNs = Number.NaN;
      if (!max) {
        // A paced batch (frames due back to back: a stream behind schedule) also yields once
        // it has taken replayBatchMsMax, read on the clock it reads for each frame anyway.
        if (n > 0) {
          this.clock.stamp(this.now, 0);
          if (this.now[0] >= yieldAtNs) break;
        }
        dueNs = this.startNs + this.paced.dueOffsetNs(this.k) / this.speed;
        const waitNs = dueNs - this.now[0];
        if (waitNs > this.spinWindowNs) {
          this.immediate = false;
          this.handle = this.timers.setTimeout(this.tick, (waitNs - this.spinWindowNs) / 1e6);
          return;
        }
        if (waitNs > 0) {
          this.immediate = true;
          this.handle = this.timers.setImmediate(this.tick);
          return;
        }
      }
      if (!this.paced.deliver(this.k, dueNs)) {
        this.stop();
        return;
      }
      this.k++;
      if (this.stopped || this.paused) return;
    }
    if (max) this.adaptMaxBatch(startNs);
    this.immediate = true;
    this.handle = this.timers.setImmediate(this.tick);
  };

  /**
   * At max pace the clock is read once per batch, not per frame (a native clock read in code
   * the JIT has not optimised yet allocates): a batch that took longer than
   * replayMaxPaceBatchMsMax halves the next one, one that took under half of it doubles it, up to
   * replayBatchFramesMax. A slow backend (an ONNX teacher at ~1 ms a frame) then turns the
   * event loop every few milliseconds, so timers, snapshot steps and HTTP keep their turns.
   */
  private adaptMaxBatch(startNs: number): void {
    this.clock.stamp(this.now, 0);
    const tookNs = this.now[0] - startNs;
    const budgetNs = limits.replayMaxPaceBatchMsMax * 1e6;
    if (tookNs > budgetNs) this.maxBatchFrames = Math.max(1, this.maxBatchFrames >> 1);
    else if (tookNs < budgetNs / 2) this.maxBatchFrames = Math.min(limits.replayBatchFramesMax, this.maxBatchFrames * 2);
  }
}

/**
 * A `Source` whose frames a `Pacer` delivers: `paced` receives the sink once the source
 * starts. Shared by every source that replays or generates frames on a schedule.
 */
export function pacedSource(spec: FrameSpec, paced: (sink: () => FrameSink) => Paced, speed: number, clock: Clock, timers: TimerScheduler, opts?: PacerOptions & { expectedFrames?: number }): Source {
  let sink: FrameSink | null = null;
  const pacer = new Pacer(paced(() => sink!), speed, clock, timers, opts);
  return {
    spec,
    start(s) {
      assert(sink === null, 'a source starts once');
      sink = s;
      pacer.start();
    },
    async stop() {
      pacer.stop();
    },
    done: pacer.done,
    pacing: pacer,
    expectedFrames: opts?.expectedFrames,
    get delivered() {
      return pacer.delivered;
    },
  };
}
