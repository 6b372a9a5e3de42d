/**
 * The daemon's published snapshot: built on a timer, off the hot path and in small steps,
 * and kept with its JSON, so `/api/snapshot`, `/metrics` and the websocket serve bytes that
 * already exist instead of folding histograms per request. Before this, every request built
 * its own snapshot (50-80 ms), stalled the event loop and with it the frames due meanwhile,
 * and `fps` was over the time since whoever asked last.
 */
import { assert } from '../core/assert.js';
import type { Clock } from '../core/clock.js';
import type { TimerScheduler } from '../sources/source.js';
import type { SnapshotBuild } from './pipeline-metrics.js';
import type { Snapshot } from './snapshot.js';

/** One published snapshot. Never mutated after publication. */
export interface PublishedSnapshot {
  readonly snapshot: Snapshot;
  /** `JSON.stringify(snapshot)`, serialised once. */
  readonly json: string;
  /** Publications so far, this one included (1 for the first). */
  readonly seq: number;
  /** Monotonic ns at which its build began. */
  readonly builtAtNs: number;
}

/**
 * Builds a snapshot every `intervalMs` (the next interval starts when a build ends, so
 * builds never overlap) by running `begin()`'s steps one per macrotask, and publishes it.
 * `current()` never builds once started; before `start()` and after `stop()` it returns
 * the last snapshot (building one at once if there is none). A throwing build is a bug:
 * it goes to `onBug` and publication stops.
 */
export class SnapshotCache {
  /** Builds completed (what a test counts: requests never cause one). */
  builds = 0;
  private published: PublishedSnapshot | null = null;
  private handle: unknown = null;
  private immediate: unknown = null;
  private running = false;

  constructor(
    private readonly begin: () => SnapshotBuild,
    private readonly clock: Clock,
    private readonly timers: TimerScheduler,
    private readonly intervalMs: number,
    private readonly onBug: (err: unknown) => void,
  ) {
    assert(intervalMs > 0, 'snapshot interval is positive');
  }

  /** Publishes a first snapshot now, then one every interval until `stop()`. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.refresh();
    this.handle = this.timers.setTimeout(() => this.tick(), this.intervalMs);
  }

  /** Stops the timer and any build in progress (its result is not published). Idempotent. */
  stop(): void {
    this.running = false;
    if (this.handle !== null) this.timers.clearTimeout(this.handle);
    if (this.immediate !== null) this.timers.clearImmediate(this.immediate);
    this.handle = this.immediate = null;
  }

  /** The latest published snapshot; builds one at once only if none was ever published. */
  current(): PublishedSnapshot {
    return this.published ?? this.refresh();
  }

  /** Builds and publishes a snapshot at once, all steps in one go (start, stop, final summary). */
  refresh(): PublishedSnapshot {
    const at = this.clock.nowNs();
    const build = this.begin();
    while (!build.step());
    return this.publish(build.result(), at);
  }

  private tick(): void {
    this.handle = null;
    const at = this.clock.nowNs();
    let build: SnapshotBuild;
    try {
      build = this.begin();
    } catch (err) {
      this.onBug(err);
      return;
    }
    const step = () => {
      this.immediate = null;
      if (!this.running) return;
      try {
        if (!build.step()) {
          this.immediate = this.timers.setImmediate(step);
          return;
        }
        this.publish(build.result(), at);
      } catch (err) {
        this.onBug(err);
        return;
      }
      this.handle = this.timers.setTimeout(() => this.tick(), this.intervalMs);
    };
    step();
  }

  private publish(snapshot: Snapshot, builtAtNs: number): PublishedSnapshot {
    this.builds++;
    this.published = { snapshot, json: JSON.stringify(snapshot), seq: this.builds, builtAtNs };
    return this.published;
  }
}
