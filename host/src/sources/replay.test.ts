import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Capture } from '../capture/arrow-capture.js';
import { manualClock } from '../core/clock.js';
import { FrameRing } from '../core/frame.js';
import { createReplaySource } from './replay.js';
import { manualTimers } from './manual-timers.fixture.js';
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

function record(times: number[], pacing: 'max' | 'realtime' | `x${number}`, loop: boolean, frames: number) {
  const clock = manualClock(1_000_000);
  const { timers, step } = manualTimers(clock);
  const src = createReplaySource(capture(times), { pacing, loop, frames, nominalRateHz: 1000, spinWindowUs: 0 }, clock, timers);
  const ring = new FrameRing(1, 1, 8);
  const got: { seq: number; byte: number; atNs: number; sensorNs: number; dueNs: number }[] = [];
  src.start({ acquire: () => ring.acquire(), push: (s) => got.push({ seq: s.seq, byte: s.raw[s.rawOffset], atNs: s.stampsNs[0], sensorNs: s.sensorNs, dueNs: s.dueNs }) });
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

  it('stamps every frame with its scheduled due time, so a stalled pacer shows as queueing (no coordinated omission)', () => {
    // Frames 5-15 ms apart, timers 0-5 ms late: every frame waits for a timer of its own.
    const spacedArb = fc.array(fc.integer({ min: 5_000_000, max: 15_000_000 }), { minLength: 1, maxLength: 30 }).map((d) => {
      let t = 0;
      return d.map((x) => (t += x));
    });
    fc.assert(
      fc.property(spacedArb, fc.integer({ min: 0, max: 5_000_000 }), (times, stallNs) => {
        const clock = manualClock(1_000_000);
        // Every timer and every turn of the event loop fires `stallNs` late: a loaded host.
        let pending: { fn: () => void; atNs: number } | null = null;
        const late = (fn: () => void, ms: number) => ((pending = { fn, atNs: clock.nowNs() + ms * 1e6 + stallNs }), 1);
        const timers: TimerScheduler = { setTimeout: late, clearTimeout: () => (pending = null), setImmediate: (fn) => late(fn, 0), clearImmediate: () => (pending = null) };
        const src = createReplaySource(capture(times), { pacing: 'realtime', loop: false, frames: times.length, nominalRateHz: 1000, spinWindowUs: 0 }, clock, timers);
        const ring = new FrameRing(1, 1, 8);
        const got: { dueNs: number; atNs: number }[] = [];
        src.start({ acquire: () => ring.acquire(), push: (sl) => got.push({ dueNs: sl.dueNs, atNs: sl.stampsNs[0] }) });
        expect(got.length).toBe(1); // the first frame is due at the start
        for (let guard = 0; guard < 100_000 && pending !== null; guard++) {
          const p: { fn: () => void; atNs: number } = pending;
          pending = null;
          if (p.atNs > clock.nowNs()) clock.setNs(p.atNs);
          p.fn();
        }
        expect(got.length).toBe(times.length);
        // Due times follow the capture's schedule from the first frame's due time, whatever the delays.
        got.forEach((g, i) => expect(g.dueNs - got[0].dueNs).toBeCloseTo(times[i] - times[0], 3));
        // Each frame waited for a timer that fired `stallNs` late: that wait is the gap
        // between its due time and its ingest, so it counts in the frame's latency.
        for (const g of got.slice(1)) expect(g.atNs - g.dueNs).toBeCloseTo(stallNs, 3);
      }),
    );
  });

  it('at max pace the due time is the ingest time (nothing is scheduled)', () => {
    const { got } = record([0, 5e6, 6e6], 'max', false, 3);
    expect(got.map((g) => g.dueNs)).toEqual(got.map((g) => g.atNs));
  });

  it('stops delivering when stopped and resolves done', async () => {
    const clock = manualClock();
    const { timers, step } = manualTimers(clock);
    const src = createReplaySource(capture([0, 1e6, 2e6, 3e6]), { pacing: 'realtime', loop: true, frames: Infinity, nominalRateHz: 1000, spinWindowUs: 0 }, clock, timers);
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
