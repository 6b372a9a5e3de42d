import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Capture } from '../capture/arrow-capture.js';
import { manualClock } from '../core/clock.js';
import { FrameRing } from '../core/frame.js';
import { createReplaySource } from './replay.js';
import type { TimerScheduler } from './source.js';

/** A capture of `n` one-byte frames whose byte is the frame index, at the given sensor times. */
function capture(times: number[]): Capture {
  const n = times.length;
  return {
    spec: { stream: 's', shape: [1, 1, 1], dtype: 'uint8', labels: ['a'] },
    count: n,
    seq: Float64Array.from(times, (_, i) => 10 + i),
    sensorNs: Float64Array.from(times),
    epochNs: 0n,
    frames: Uint8Array.from(times, (_, i) => i & 255),
    offsets: Int32Array.from({ length: n + 1 }, (_, i) => i),
    labels: new Int16Array(n),
    truncation: null,
  };
}

/** Timers that fire when the test moves the manual clock past their due time. */
function scheduler(clock: ReturnType<typeof manualClock>) {
  let pending: { fn: () => void; atNs: number } | null = null;
  const timers: TimerScheduler = {
    setTimeout: (fn, ms) => ((pending = { fn, atNs: clock.nowNs() + ms * 1e6 }), 1),
    clearTimeout: () => (pending = null),
    setImmediate: (fn) => ((pending = { fn, atNs: clock.nowNs() }), 1),
    clearImmediate: () => (pending = null),
  };
  return {
    timers,
    /** Runs the pending callback at its due time (advancing the clock); false when none. */
    step(): boolean {
      const p = pending;
      if (p === null) return false;
      pending = null;
      if (p.atNs > clock.nowNs()) clock.setNs(p.atNs);
      p.fn();
      return true;
    },
  };
}

function record(times: number[], pacing: 'max' | 'realtime' | `x${number}`, loop: boolean, frames: number) {
  const clock = manualClock(1_000_000);
  const { timers, step } = scheduler(clock);
  const src = createReplaySource(capture(times), { pacing, loop, frames, nominalRateHz: 1000 }, clock, timers);
  const ring = new FrameRing(1, 1, 8);
  const got: { seq: number; byte: number; atNs: number; sensorNs: number }[] = [];
  src.start({ acquire: () => ring.acquire(), push: (s) => got.push({ seq: s.seq, byte: s.raw[s.rawOffset], atNs: s.stampsNs[0], sensorNs: s.sensorNs }) });
  for (let guard = 0; guard < 100_000 && step(); guard++);
  return { got, src };
}

const timesArb = fc.array(fc.integer({ min: 0, max: 5_000_000 }), { minLength: 1, maxLength: 50 }).map((d) => {
  let t = 0;
  return d.map((x) => (t += x));
});

describe('replay source', () => {
  it('delivers every frame once, in order, and ends', () => {
    fc.assert(
      fc.property(timesArb, fc.constantFrom('max' as const, 'realtime' as const, 'x3' as const), (times, pacing) => {
        const { got, src } = record(times, pacing, false, times.length);
        expect(got.map((g) => g.byte)).toEqual(times.map((_, i) => i & 255));
        expect(got.map((g) => g.seq)).toEqual(times.map((_, i) => 10 + i));
        expect(src.delivered).toBe(times.length);
      }),
    );
  });

  it('at real-time pace delivers no frame before its sensor time, and at xN N times sooner', () => {
    fc.assert(
      fc.property(timesArb, fc.constantFrom(1, 4), (times, speed) => {
        const { got } = record(times, speed === 1 ? 'realtime' : `x${speed}`, false, times.length);
        const start = got[0].atNs;
        got.forEach((g, i) => expect(g.atNs - start).toBeGreaterThanOrEqual((times[i] - times[0]) / speed - 1e-6));
        // With exact timers nothing is late either: the last frame comes at its due time.
        expect(got[got.length - 1].atNs - start).toBeCloseTo((times[times.length - 1] - times[0]) / speed, 3);
      }),
    );
  });

  it('loops with sequence numbers and stream time continuing, up to the frame limit', () => {
    fc.assert(
      fc.property(timesArb, fc.integer({ min: 1, max: 200 }), (times, frames) => {
        const { got } = record(times, 'max', true, frames);
        expect(got.length).toBe(frames);
        for (let i = 1; i < got.length; i++) {
          expect(got[i].seq).toBeGreaterThan(got[i - 1].seq);
          expect(got[i].sensorNs).toBeGreaterThanOrEqual(got[i - 1].sensorNs);
        }
      }),
    );
  });

  it('stops delivering when stopped and resolves done', async () => {
    const clock = manualClock();
    const { timers, step } = scheduler(clock);
    const src = createReplaySource(capture([0, 1e6, 2e6, 3e6]), { pacing: 'realtime', loop: true, frames: Infinity, nominalRateHz: 1000 }, clock, timers);
    const ring = new FrameRing(1, 1, 8);
    let n = 0;
    src.start({ acquire: () => ring.acquire(), push: () => n++ });
    step();
    step();
    await src.stop();
    expect(step()).toBe(false);
    await src.done;
    expect(n).toBe(src.delivered);
  });
});
