import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../core/clock.js';
import { FrameRing } from '../core/frame.js';
import { IngressQueue, whenDrained, type IngressPolicy } from './ingress.js';
import { realTimers, type TimerScheduler } from './source.js';

/** Timers whose immediates run when the test says. */
function immediates(): TimerScheduler & { run(): void } {
  const q: (() => void)[] = [];
  return {
    setTimeout: () => 0,
    clearTimeout: () => {},
    setImmediate: (fn) => (q.push(fn), fn),
    clearImmediate: (h) => {
      const i = q.indexOf(h as () => void);
      if (i >= 0) q.splice(i, 1);
    },
    run() {
      while (q.length > 0) q.shift()!();
    },
  };
}

/** A frame of `n` bytes whose every byte is `tag`. */
const frame = (tag: number, n: number) => new Uint8Array(n).fill(tag & 255);

function setup(policy: IngressPolicy, framesMax: number, bytesMax: number) {
  const clock = manualClock(1_000);
  const timers = immediates();
  const q = new IngressQueue({ policy, framesMax, bytesMax }, clock, timers);
  const ring = new FrameRing(1, 1, 64);
  const got: { seq: number; bytes: number[]; dueNs: number; ingestNs: number }[] = [];
  q.attach({ acquire: () => ring.acquire(), push: (s) => got.push({ seq: s.seq, bytes: Array.from(s.raw.subarray(s.rawOffset, s.rawOffset + s.rawLength)), dueNs: s.dueNs, ingestNs: s.stampsNs[0] }) });
  return { q, clock, timers, got };
}

describe('ingress queue', () => {
  it('hands frames over in order with their bytes intact, across arena wrap-around, whatever the policy', () => {
    fc.assert(
      fc.property(fc.constantFrom<IngressPolicy>('block', 'drop-newest', 'drop-oldest'), fc.array(fc.tuple(fc.integer({ min: 1, max: 700 }), fc.boolean()), { maxLength: 120 }), (policy, plan) => {
        const { q, timers, got } = setup(policy, 8, 2048);
        const kept: number[] = [];
        plan.forEach(([n, drain], seq) => {
          if (q.offer(frame(seq, n), seq, Number.NaN, -1)) kept.push(seq);
          if (drain) timers.run();
        });
        timers.run();
        const c = q.counts;
        // Every accepted frame is delivered or (drop-oldest only) evicted, counted.
        expect(c.accepted).toBe(kept.length);
        expect(c.delivered + c.droppedOldest).toBe(c.accepted);
        if (policy !== 'drop-oldest') expect(got.map((g) => g.seq)).toEqual(kept);
        else expect(kept.filter((s) => got.some((g) => g.seq === s)).length).toBe(got.length);
        for (const g of got) expect(g.bytes).toEqual(Array.from(frame(g.seq, plan[g.seq][0])));
        // Refusals are counted under the policy that made them.
        const refused = plan.length - kept.length;
        if (policy === 'block') expect(c.blocked).toBe(refused);
        if (policy === 'drop-newest') expect(c.droppedNewest).toBe(refused);
        if (policy === 'drop-oldest') expect(refused).toBe(0);
      }),
    );
  });

  it('block: refuses when full, then calls the source back once there is room; nothing is lost', () => {
    const { q, timers, got } = setup('block', 4, 4096);
    for (let i = 0; i < 4; i++) expect(q.offer(frame(i, 10), i, Number.NaN, -1)).toBe(true);
    expect(q.offer(frame(4, 10), 4, Number.NaN, -1)).toBe(false);
    let woken = 0;
    q.onWritable(() => woken++);
    timers.run();
    expect(woken).toBe(1);
    expect(q.offer(frame(4, 10), 4, Number.NaN, -1)).toBe(true);
    timers.run();
    expect(got.map((g) => g.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(q.counts).toMatchObject({ blocked: 1, droppedNewest: 0, droppedOldest: 0, delivered: 5, depthMax: 4 });
  });

  it('drop-newest keeps the queued frames; drop-oldest keeps the newest', () => {
    for (const [policy, want] of [['drop-newest', [0, 1, 2]], ['drop-oldest', [3, 4, 5]]] as const) {
      const { q, timers, got } = setup(policy, 3, 4096);
      for (let i = 0; i < 6; i++) q.offer(frame(i, 10), i, Number.NaN, -1);
      timers.run();
      expect(got.map((g) => g.seq)).toEqual(want);
      expect(policy === 'drop-newest' ? q.counts.droppedNewest : q.counts.droppedOldest).toBe(3);
    }
  });

  it('a frame is due when it was offered: the wait in the queue counts in its latency', () => {
    const { q, clock, timers, got } = setup('block', 8, 4096);
    q.offer(frame(1, 4), 1, Number.NaN, -1);
    clock.advanceNs(250_000);
    q.offer(frame(2, 4), 2, Number.NaN, -1);
    clock.advanceNs(750_000); // the event loop was busy for 0.75 ms
    timers.run();
    expect(got.map((g) => g.ingestNs - g.dueNs)).toEqual([1_000_000, 750_000]);
  });

  it('refuses a frame larger than its arena under every policy, counted', () => {
    const { q } = setup('drop-oldest', 4, 1024);
    expect(q.offer(frame(0, 1025), 0, Number.NaN, -1)).toBe(false);
    expect(q.counts.oversize).toBe(1);
  });
});

describe('whenDrained', () => {
  it('resolves once the queue has handed everything over, or once its source stopped (a stopped queue never drains)', async () => {
    const clock = manualClock();
    const q = new IngressQueue({ policy: 'block', framesMax: 4, bytesMax: 1024 }, clock, realTimers);
    q.offer(new Uint8Array(2), 0, 0, -1);
    let stopped = false;
    let polls = 0;
    const counting: TimerScheduler = { ...realTimers, setTimeout: (fn, ms) => (polls++, realTimers.setTimeout(fn, ms)) };
    const done = whenDrained(q, counting, () => stopped);
    await new Promise((r) => setTimeout(r, 20));
    expect(polls).toBeGreaterThan(0); // still waiting: nothing drains the queue
    stopped = true;
    await done;
    const after = polls;
    await new Promise((r) => setTimeout(r, 20));
    expect(polls).toBe(after); // and no longer polls
    const ring = new FrameRing(1, 1, 4);
    q.attach({ acquire: () => ring.acquire(), push: () => {} });
    await whenDrained(q, realTimers);
    expect(q.depth).toBe(0);
  });
});
