import { assert } from '../core/assert.js';
import type { Clock } from '../core/clock.js';
import { limits } from '../core/limits.js';
import type { FrameSink, Source, TimerScheduler } from './source.js';
import type { FrameSpec } from '../core/frame.js';

/** What a pacer drives: the offset of frame k from the stream start, and its delivery. */
export interface Paced {
  /** Offset of the k-th delivered frame from the first, in stream nanoseconds. */
  dueOffsetNs(k: number): number;
  /** Delivers the k-th frame synchronously. Returns false when the stream has ended. */
  deliver(k: number): boolean;
}

/**
 * Delivers frames on schedule. At `max` speed it delivers `replayBatchFramesMax` frames per
 * macrotask (so the HTTP server and timers still run); otherwise it delivers every frame
 * whose time has come (stream time / speed since start), then sleeps until the next one.
 * Timer jitter delays frames; they are then delivered in a burst, as a sensor's FIFO would.
 */
export class Pacer {
  private readonly speed: number;
  private readonly clock: Clock;
  private readonly timers: TimerScheduler;
  private readonly paced: Paced;
  private startNs = 0;
  /** Scratch for clock reads without allocation. */
  private readonly now = new Float64Array(1);
  private k = 0;
  private handle: unknown = null;
  private immediate = false;
  private stopped = false;
  private resolveDone!: () => void;
  readonly done: Promise<void>;

  constructor(paced: Paced, speed: number, clock: Clock, timers: TimerScheduler) {
    assert(speed > 0, 'pacing speed is positive');
    this.paced = paced;
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
    if (this.handle !== null) {
      if (this.immediate) this.timers.clearImmediate(this.handle);
      else this.timers.clearTimeout(this.handle);
    }
    this.handle = null;
    this.resolveDone();
  }

  private readonly tick = (): void => {
    this.handle = null;
    if (this.stopped) return;
    const max = !Number.isFinite(this.speed);
    for (let n = 0; n < limits.replayBatchFramesMax; n++) {
      if (!max) {
        const dueNs = this.startNs + this.paced.dueOffsetNs(this.k) / this.speed;
        this.clock.stamp(this.now, 0);
        const waitNs = dueNs - this.now[0];
        if (waitNs > 0) {
          this.immediate = false;
          this.handle = this.timers.setTimeout(this.tick, waitNs / 1e6);
          return;
        }
      }
      if (!this.paced.deliver(this.k)) {
        this.stop();
        return;
      }
      this.k++;
      if (this.stopped) return;
    }
    this.immediate = true;
    this.handle = this.timers.setImmediate(this.tick);
  };
}

/**
 * A `Source` whose frames a `Pacer` delivers: `paced` receives the sink once the source
 * starts. Shared by every source that replays or generates frames on a schedule.
 */
export function pacedSource(spec: FrameSpec, paced: (sink: () => FrameSink) => Paced, speed: number, clock: Clock, timers: TimerScheduler): Source {
  let sink: FrameSink | null = null;
  const pacer = new Pacer(paced(() => sink!), speed, clock, timers);
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
    get delivered() {
      return pacer.delivered;
    },
  };
}
