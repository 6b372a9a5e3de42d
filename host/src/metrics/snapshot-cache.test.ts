import { describe, expect, it } from 'vitest';
import { manualClock } from '../core/clock.js';
import { FrameRing, STAMPS_COUNT } from '../core/frame.js';
import { PipelineMetrics } from './pipeline-metrics.js';
import { SnapshotCache, snapshotPhaseMs } from './snapshot-cache.js';
import { manualTimers } from '../core/manual-timers.js';
import { limits } from '../core/limits.js';

const INTERVAL_MS = 500;

/** `stepBudgetNs` 0 (one step per macrotask) unless given; `stepNs` of the clock per step. */
function setup(stepBudgetNs = 0, stepNs = 0) {
  const clock = manualClock(1e9);
  const t = manualTimers();
  const metrics = new PipelineMetrics({ pipeline: 'p', backend: 'sim', model: 'm', labels: ['a', 'b'], budgetUs: 1000 }, clock, () => 0);
  let begun = 0;
  const bugs: unknown[] = [];
  const begin = () => {
    begun++;
    const build = metrics.beginSnapshot();
    return { step: () => (clock.advanceNs(stepNs), build.step()), result: () => build.result() };
  };
  const cache = new SnapshotCache(begin, clock, t.timers, INTERVAL_MS, (e) => bugs.push(e), stepBudgetNs);
  const ring = new FrameRing(1, 2, 4);
  /** `n` frames of 10 us each, spread evenly over `ms` of the manual clock. */
  const frames = (n: number, ms: number) => {
    if (n === 0) clock.advanceNs(ms * 1e6);
    for (let i = 0; i < n; i++) {
      clock.advanceNs((ms * 1e6) / n);
      const slot = ring.acquire();
      const at = clock.nowNs();
      for (let k = 0; k < STAMPS_COUNT; k++) slot.stampsNs[k] = at + k * 2000;
      slot.predicted = 0;
      metrics.recordFrame(slot);
    }
  };
  /** Fires the interval timer and runs the build's steps to publication; returns the steps. */
  const tick = () => {
    expect(t.pending()).toMatchObject({ kind: 'timeout', ms: INTERVAL_MS });
    t.run();
    let steps = 1;
    while (t.pending()?.kind === 'immediate') {
      t.run();
      steps++;
    }
    return steps;
  };
  return { clock, t, metrics, cache, frames, tick, begun: () => begun, bugs };
}

describe('SnapshotCache', () => {
  it('serves every reader the published snapshot: reads never build one', () => {
    const { cache, frames, tick, begun } = setup();
    cache.start();
    expect(begun()).toBe(1);
    frames(100, 100);
    const first = cache.current();
    for (let i = 0; i < 1000; i++) expect(cache.current()).toBe(first);
    expect(begun()).toBe(1);
    expect(first.json).toBe(JSON.stringify(first.snapshot));
    tick();
    expect(begun()).toBe(2);
    expect(cache.current().seq).toBe(first.seq + 1);
    expect(cache.current().snapshot.frames).toBe(100);
  });

  it('builds in steps, one per macrotask, and publishes only after the last', () => {
    const { cache, t, frames, tick } = setup();
    cache.start();
    frames(50, 400);
    const before = cache.current();
    t.run(); // the interval timer: the build's first step
    expect(t.pending()?.kind).toBe('immediate');
    expect(cache.current()).toBe(before);
    let steps = 1;
    while (t.pending()?.kind === 'immediate') {
      t.run();
      steps++;
    }
    // Counters, then one step per latency histogram folded, the window, and per summary.
    expect(steps).toBeGreaterThan(12);
    expect(cache.current().seq).toBe(before.seq + 1);
    expect(tick()).toBe(steps);
  });

  it('runs steps in one macrotask while they have taken less than the step budget', () => {
    // Each step takes 30 us of the clock; a 100 us budget runs 4 a turn (0, 30, 60 and 90 us in).
    const oneByOne = setup();
    oneByOne.cache.start();
    oneByOne.frames(50, 400);
    const steps = oneByOne.tick();
    const { cache, frames, tick, t } = setup(100_000, 30_000);
    cache.start();
    frames(50, 400);
    expect(tick()).toBe(Math.ceil(steps / 4));
    expect(cache.current().snapshot.frames).toBe(50);
    // The next build is due an interval after this one began, not after it ended.
    const pending = t.pending() as { kind: string; ms: number };
    expect(pending.kind).toBe('timeout');
    expect(pending.ms).toBeCloseTo(INTERVAL_MS - steps * 0.03, 9);
  });

  it('publishes a snapshot at most one interval old, whenever it is read', () => {
    const { cache, clock, frames, tick } = setup();
    cache.start();
    for (let i = 0; i < 20; i++) {
      frames(10, INTERVAL_MS);
      const c = cache.current();
      expect(clock.nowNs() - c.builtAtNs).toBeLessThanOrEqual(INTERVAL_MS * 1e6);
      tick();
      expect(cache.current().builtAtNs).toBe(clock.nowNs());
    }
  });

  it('gives frames/s over the interval between builds, however often it is read', () => {
    const { cache, frames, tick } = setup();
    cache.start();
    for (const perInterval of [100, 300, 0, 50]) {
      // Readers at odd moments inside the interval change nothing.
      for (let r = 0; r < 5; r++) {
        frames(perInterval / 5, INTERVAL_MS / 5);
        cache.current();
      }
      tick();
      expect(cache.current().snapshot.fps).toBeCloseTo(perInterval / (INTERVAL_MS / 1000), 6);
    }
  });

  it('builds only every idle interval while no one reads, closing one history row each, and is back at the interval on the next read', () => {
    const { cache, t, clock, frames, metrics, begun } = setup();
    const idle = { afterMs: limits.snapshotIdleAfterMs, intervalMs: limits.snapshotIdleIntervalMs };
    /** Advances the clock to the pending timer, runs the build to publication; returns its delay. */
    const timed = (perMs = 0.1) => {
      const p = t.pending() as { kind: string; ms: number };
      expect(p.kind).toBe('timeout');
      frames(Math.round(p.ms * perMs), p.ms);
      t.run();
      while (t.pending()?.kind === 'immediate') t.run();
      return p.ms;
    };
    cache.start();
    // start() counts as a read: the interval until afterMs has passed without another.
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) delays.push(timed());
    const busy = Math.floor(idle.afterMs / INTERVAL_MS);
    expect(delays).toEqual([...new Array<number>(busy).fill(INTERVAL_MS), ...new Array<number>(8 - busy).fill(idle.intervalMs)]);
    expect(cache.demanded()).toBe(false);
    // Idle builds still publish, and each closes one history row: its rate is the frames fed
    // over the row's own length (round(0.1 a ms x the idle interval) frames in it).
    const rows = metrics.historyColumns().fps.length;
    const perRow = Math.round(idle.intervalMs * 0.1) / (idle.intervalMs / 1000);
    clock.advanceNs(200e6);
    const published = cache.current().seq; // a read 200 ms after the last build began: no longer idle
    expect(cache.demanded()).toBe(true);
    expect(rows).toBeGreaterThanOrEqual(8 - busy);
    expect(metrics.historyColumns().fps.slice(-(8 - busy))).toEqual(new Array<number>(8 - busy).fill(perRow).map((x) => expect.closeTo(x, 6)));
    // The read brought the next build forward: due one interval after the last began, then
    // the interval again while reads go on.
    expect(t.pending()).toMatchObject({ kind: 'timeout', ms: INTERVAL_MS - 200 });
    clock.advanceNs((INTERVAL_MS - 200) * 1e6);
    t.run();
    while (t.pending()?.kind === 'immediate') t.run();
    expect(cache.current().seq).toBe(published + 1);
    for (let i = 0; i < 3; i++) {
      expect(timed()).toBe(INTERVAL_MS);
      cache.current();
    }
    expect(begun()).toBe(1 + 8 + 1 + 3);
    // A read after the interval has passed since the last build began: a build at once.
    clock.advanceNs(idle.afterMs * 1e6 + 1);
    expect(cache.demanded()).toBe(false);
    cache.current();
    expect(t.pending()).toMatchObject({ kind: 'timeout', ms: 0 });
    // A read while a build is in progress leaves its scheduling to the build.
    clock.advanceNs(idle.afterMs * 1e6 * 2);
    t.run();
    expect(t.pending()?.kind).toBe('immediate');
    cache.current();
    expect(t.pending()?.kind).toBe('immediate');
  });

  it('builds at the interval whatever the reads when idle builds are off', () => {
    const clock = manualClock(0);
    const t = manualTimers();
    const metrics = new PipelineMetrics({ pipeline: 'p', backend: 'sim', model: 'm', labels: ['a'], budgetUs: 1000 }, clock, () => 0);
    const cache = new SnapshotCache(() => metrics.beginSnapshot(), clock, t.timers, INTERVAL_MS, (e) => { throw e; }, 0, 0, null);
    cache.start();
    for (let i = 0; i < 10; i++) {
      expect(t.pending()).toMatchObject({ kind: 'timeout', ms: INTERVAL_MS });
      clock.advanceNs(INTERVAL_MS * 1e6);
      t.run();
      while (t.pending()?.kind === 'immediate') t.run();
    }
    expect(cache.demanded()).toBe(true);
    expect(() => new SnapshotCache(() => metrics.beginSnapshot(), clock, t.timers, INTERVAL_MS, () => {}, 0, 0, { afterMs: 1000, intervalMs: INTERVAL_MS - 1 })).toThrow();
  });

  it('stops publishing on stop(); refresh() publishes a final snapshot at once', () => {
    const { cache, t, frames } = setup();
    cache.start();
    cache.stop();
    expect(t.pending()).toBeNull();
    frames(7, 10);
    expect(cache.current().snapshot.frames).toBe(0);
    expect(cache.refresh().snapshot.frames).toBe(7);
  });

  it('reports a throwing build as a bug and stops publishing', () => {
    const clock = manualClock(0);
    const t = manualTimers();
    const bugs: unknown[] = [];
    let calls = 0;
    const cache = new SnapshotCache(
      () => {
        if (++calls > 1) throw new Error('broken');
        return { step: () => true, result: () => ({ frames: 1 }) as never };
      },
      clock,
      t.timers,
      INTERVAL_MS,
      (e) => bugs.push(e),
    );
    cache.start();
    t.run();
    expect(bugs).toHaveLength(1);
    expect(t.pending()).toBeNull();
  });

  it('starts its timed builds one interval plus its phase after the first', () => {
    const clock = manualClock(0);
    const t = manualTimers();
    const metrics = new PipelineMetrics({ pipeline: 'p', backend: 'sim', model: 'm', labels: ['a'], budgetUs: 1000 }, clock, () => 0);
    const cache = new SnapshotCache(() => metrics.beginSnapshot(), clock, t.timers, INTERVAL_MS, (e) => { throw e; }, 0, 123);
    cache.start();
    expect(t.pending()).toMatchObject({ kind: 'timeout', ms: INTERVAL_MS + 123 });
    expect(() => new SnapshotCache(() => metrics.beginSnapshot(), clock, t.timers, INTERVAL_MS, () => {}, 0, INTERVAL_MS)).toThrow();
  });

  it('gives daemons phases by run id: FNV-1a (the published test value of "a"), spread over the interval', () => {
    // FNV-1a 32 of "a" is 0xe40c292c (the FNV reference test vectors).
    expect(snapshotPhaseMs('a', 250)).toBe(Math.floor((0xe40c292c / 2 ** 32) * 250));
    expect(snapshotPhaseMs('a', 250)).toBe(snapshotPhaseMs('a', 250));
    // 200 daemons of one process (the keyword bench's run ids): no tenth of the interval holds
    // more than twice its share.
    const bins = new Array<number>(10).fill(0);
    for (let i = 0; i < 200; i++) bins[Math.floor(snapshotPhaseMs(`s${i}/s${i}`, 250) / 25)]!++;
    expect(Math.max(...bins)).toBeLessThanOrEqual(40);
    expect(Math.min(...bins)).toBeGreaterThan(0);
  });
});
