import { describe, expect, it } from 'vitest';
import { manualClock } from '../core/clock.js';
import { manualTimers } from './manual-timers.fixture.js';
import { limits } from '../core/limits.js';
import { Pacer } from './pacer.js';

/** Frames every 10 ms of stream time; delivery records each frame's due time. */
function pacer(speed: number) {
  const clock = manualClock(1e9);
  const t = manualTimers(clock);
  const due: number[] = [];
  const p = new Pacer({ dueOffsetNs: (k) => k * 10e6, deliver: (_k, dueNs) => (due.push(dueNs), due.length < 1000) }, speed, clock, t.timers, { spinWindowUs: 0 });
  /** Runs timers until `n` frames are delivered in all (or nothing is pending). */
  const until = (n: number) => {
    while (due.length < n && t.step());
  };
  return { clock, t, due, p, until };
}

const gaps = (xs: number[]) => xs.slice(1).map((x, i) => x - xs[i]!);

describe('Pacer controls', () => {
  it('setSpeed: due-time spacing is stream spacing / speed from the next frame on, keeping the stream time reached', () => {
    const { due, p, until } = pacer(1);
    p.start();
    until(4);
    // Frames 0..3 at real time: 10 ms apart, the first at the start (1 s on the manual clock).
    expect(due).toEqual([1e9, 1.01e9, 1.02e9, 1.03e9]);
    p.setSpeed(4);
    until(8);
    // From 1.03 s (stream 30 ms) at x4, frame k is due at 1.03 s + (10k - 30) ms / 4.
    expect(due.slice(4)).toEqual([1.0325e9, 1.035e9, 1.0375e9, 1.04e9]);
    expect(p.pace).toBe(4);
    p.setSpeed(0.5);
    until(10);
    expect(gaps(due.slice(7))).toEqual([20e6, 20e6]);
  });

  it('pause halts the clock: nothing is delivered; resume continues with the same spacing, due from the resume', () => {
    const { clock, t, due, p, until } = pacer(1);
    p.start();
    until(3);
    p.pause();
    expect(p.paused).toBe(true);
    // Nothing pending while paused, however far the clock moves.
    expect(t.step()).toBe(false);
    clock.advanceNs(5e9);
    expect(t.step()).toBe(false);
    expect(due).toHaveLength(3);
    p.resume();
    until(5);
    // Paused at 1.02 s (frame 2 just delivered), resumed at 6.02 s: frame 3 due 6.03 s.
    expect(due.slice(3)).toEqual([6.03e9, 6.04e9]);
    p.resume();
    expect(p.paused).toBe(false);
  });

  it('from max pace to a finite one: the next frame is due at once, then paced', () => {
    const { due, p, until } = pacer(Number.POSITIVE_INFINITY);
    p.pause();
    p.start();
    p.setSpeed(2);
    p.resume();
    until(3);
    expect(gaps(due)).toEqual([5e6, 5e6]);
  });

  it('a batch yields to the event loop once its frames took replayBatchMsMax, at a pace and at max pace', () => {
    // A slow backend: each frame takes 1 ms of the (manual) clock. Every frame is due at once
    // (the stream is far behind), so only the time bound ends a batch before replayBatchFramesMax.
    const frameNs = 1e6;
    for (const speed of [1, Number.POSITIVE_INFINITY]) {
      const clock = manualClock(1e9);
      const t = manualTimers(clock);
      let delivered = 0;
      const p = new Pacer({ dueOffsetNs: () => 0, deliver: () => (clock.advanceNs(frameNs), ++delivered < 10_000) }, speed, clock, t.timers, { spinWindowUs: 0 });
      p.start();
      // At a pace the clock is read before every frame; at max pace every 8th frame.
      const perBatch = Number.isFinite(speed) ? limits.replayBatchMsMax : 8 * Math.ceil(limits.replayBatchMsMax / 8);
      expect(delivered, `speed ${speed}`).toBe(perBatch);
      expect(t.step()).toBe(true);
      expect(delivered, `speed ${speed}`).toBe(2 * perBatch);
      p.stop();
    }
  });
});

