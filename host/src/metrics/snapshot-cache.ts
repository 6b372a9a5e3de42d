/**
 * The daemon's published snapshot: built on a timer, off the hot path and in small steps,
 * and kept with its JSON, so `/api/snapshot`, `/metrics` and the websocket serve bytes that
 * already exist instead of folding histograms per request. Before this, every request built
 * its own snapshot (50-80 ms), stalled the event loop and with it the frames due meanwhile,
 * and `fps` was over the time since whoever asked last.
 */
import { assert } from '../core/assert.js';
import { limits } from '../core/limits.js';
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

/** How often a cache builds while nobody reads what it publishes (`SnapshotCache`'s `idle`). */
export interface IdleBuilds {
  /** No `current()` for this long (ms) makes the cache idle; `start()` counts as a read. */
  readonly afterMs: number;
  /** The build interval while idle (ms), >= `intervalMs`. */
  readonly intervalMs: number;
}

/**
 * Builds a snapshot every `intervalMs` (the next build is due an interval after this one
 * began, at least a quarter interval after it ended, so builds never overlap) by running
 * `begin()`'s steps in macrotasks of at most `stepBudgetNs`, and publishes it.
 * `current()` never builds once started; before `start()` and after `stop()` it returns
 * the last snapshot (building one at once if there is none). A throwing build is a bug:
 * it goes to `onBug` and publication stops.
 *
 * Demand: while nobody has called `current()` for `idle.afterMs`, builds come only every
 * `idle.intervalMs` (they still advance the rates and close the history's rows); the first
 * read after that gets the latest published snapshot (at most an idle interval old) and
 * brings the next build forward to one `intervalMs` after the last began. Many daemons in one
 * process (one per microphone) no one is watching then stop spending their core on 4 Hz
 * summaries: measured in bench/keywords.ts.
 */
export class SnapshotCache {
  /** Builds completed (what a test counts: requests never cause one). */
  builds = 0;
  private published: PublishedSnapshot | null = null;
  private handle: unknown = null;
  private immediate: unknown = null;
  private running = false;
  /** Monotonic ns of the latest `current()` (or `start()`); -Infinity before. */
  private lastReadNs = -Infinity;
  /** Monotonic ns at which the latest build began. */
  private lastBuildAtNs = Number.NaN;

  constructor(
    private readonly begin: () => SnapshotBuild,
    private readonly clock: Clock,
    private readonly timers: TimerScheduler,
    private readonly intervalMs: number,
    private readonly onBug: (err: unknown) => void,
    /** A macrotask runs further steps while it has taken less than this (0: one step per
     * macrotask). Steps are tens of microseconds; a budget keeps a frame that arrives during
     * a build from waiting long, and keeps the build to a few turns of an event loop whose
     * turns are long (a slow backend's frames): 4 Hz needs the build done within an interval. */
    private readonly stepBudgetNs = limits.snapshotStepBudgetUs * 1000,
    /** Delay of the first timed build beyond one interval, in [0, intervalMs): daemons of one
     * process started together (a daemon per microphone) get different phases (`snapshotPhaseMs`),
     * so their builds do not all queue in the same turns of the event loop and hold up every
     * stream's frames at once, 4 times a second. */
    private readonly phaseMs = 0,
    /** Builds while no one reads (see the class); null: always every `intervalMs`. */
    private readonly idle: IdleBuilds | null = { afterMs: limits.snapshotIdleAfterMs, intervalMs: limits.snapshotIdleIntervalMs },
  ) {
    assert(intervalMs > 0, 'snapshot interval is positive');
    assert(idle === null || (idle.intervalMs >= intervalMs && idle.afterMs > 0), 'an idle interval is no shorter than the interval');
    assert(stepBudgetNs >= 0, 'snapshot step budget is not negative');
    assert(phaseMs >= 0 && phaseMs < intervalMs, 'snapshot phase within one interval');
  }

  /** Publishes a first snapshot now, then one every interval until `stop()`. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.lastReadNs = this.clock.nowNs();
    this.refresh();
    this.handle = this.timers.setTimeout(() => this.tick(), this.intervalMs + this.phaseMs);
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
    this.noteRead();
    return this.published ?? this.refresh();
  }

  /** Whether someone read within `idle.afterMs` of `nowNs` (always, without `idle`). */
  demanded(nowNs = this.clock.nowNs()): boolean {
    return this.idle === null || nowNs - this.lastReadNs < this.idle.afterMs * 1e6;
  }

  private noteRead(): void {
    if (this.idle === null) return;
    const now = this.clock.nowNs();
    const wasIdle = !this.demanded(now);
    this.lastReadNs = now;
    // Back from idle with a timed build pending (not one in progress): the next build comes
    // one interval after the last began (at once if that is past), not up to an idle interval on.
    if (wasIdle && this.running && this.handle !== null && this.immediate === null) {
      this.timers.clearTimeout(this.handle);
      const sinceMs = (now - this.lastBuildAtNs) / 1e6;
      this.handle = this.timers.setTimeout(() => this.tick(), Math.max(0, this.intervalMs - sinceMs));
    }
  }

  /** Builds and publishes a snapshot at once, all steps in one go (start, stop, final summary). */
  refresh(): PublishedSnapshot {
    const at = this.clock.nowNs();
    this.lastBuildAtNs = at;
    const build = this.begin();
    while (!build.step());
    return this.publish(build.result(), at);
  }

  private tick(): void {
    this.handle = null;
    const at = this.clock.nowNs();
    this.lastBuildAtNs = at;
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
        const turnNs = this.clock.nowNs();
        let done = build.step();
        while (!done && this.clock.nowNs() - turnNs < this.stepBudgetNs) done = build.step();
        if (!done) {
          this.immediate = this.timers.setImmediate(step);
          return;
        }
        this.publish(build.result(), at);
      } catch (err) {
        this.onBug(err);
        return;
      }
      // The next build is due one interval after this one began (4 Hz stays 4 Hz however
      // many turns a build took), but never sooner than a quarter interval after it ended;
      // an idle interval while no one reads.
      const end = this.clock.nowNs();
      const every = this.demanded(end) ? this.intervalMs : this.idle!.intervalMs;
      this.handle = this.timers.setTimeout(() => this.tick(), Math.max(this.intervalMs / 4, every - (end - at) / 1e6));
    };
    step();
  }

  private publish(snapshot: Snapshot, builtAtNs: number): PublishedSnapshot {
    this.builds++;
    this.published = { snapshot, json: JSON.stringify(snapshot), seq: this.builds, builtAtNs };
    return this.published;
  }
}

/**
 * A phase in [0, intervalMs) from a daemon's run id (FNV-1a of its UTF-16 code units): the
 * same id always gets the same phase (nothing random to seed), different ids spread over the
 * interval.
 */
export function snapshotPhaseMs(runId: string, intervalMs: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < runId.length; i++) {
    h ^= runId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return Math.floor((h / 2 ** 32) * intervalMs);
}
