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

  it('a paced batch behind schedule yields once it took replayBatchMsMax; at max pace the batch halves until one takes at most replayMaxPaceBatchMsMax', () => {
    // A slow backend: each frame takes 1 ms of the (manual) clock, and every frame is due at
    // once (the stream is far behind).
    const slowPacer = (speed: number) => {
      const clock = manualClock(1e9);
      const t = manualTimers(clock);
      const batches: number[] = [];
      let delivered = 0;
      let inBatch = 0;
      const p = new Pacer({ dueOffsetNs: () => 0, deliver: () => (clock.advanceNs(1e6), inBatch++, ++delivered < 100_000) }, speed, clock, t.timers, { spinWindowUs: 0 });
      const batch = () => {
        inBatch = 0;
        if (batches.length === 0) p.start();
        else t.step();
        batches.push(inBatch);
      };
      return { p, batch, batches };
    };
    const paced = slowPacer(1);
    for (let i = 0; i < 3; i++) paced.batch();
    expect(paced.batches).toEqual([limits.replayBatchMsMax, limits.replayBatchMsMax, limits.replayBatchMsMax]);
    paced.p.stop();
    const max = slowPacer(Number.POSITIVE_INFINITY);
    for (let i = 0; i < 10; i++) max.batch();
    // 256 frames took 256 ms: halve until a batch takes at most 10 ms (8 frames), then stay.
    expect([limits.replayBatchFramesMax, limits.replayMaxPaceBatchMsMax]).toEqual([256, 10]);
    expect(max.batches).toEqual([256, 128, 64, 32, 16, 8, 8, 8, 8, 8]);
    max.p.stop();
  });

  it('at max pace a batch that took under half of replayMaxPaceBatchMsMax doubles the next, up to replayBatchFramesMax', () => {
    const clock = manualClock(1e9);
    const t = manualTimers(clock);
    let frameNs = 1e6;
    let inBatch = 0;
    const p = new Pacer({ dueOffsetNs: () => 0, deliver: () => (clock.advanceNs(frameNs), inBatch++, true) }, Number.POSITIVE_INFINITY, clock, t.timers, { spinWindowUs: 0 });
    p.start();
    for (let i = 0; i < 8; i++) t.step(); // down to 8 frames a batch (8 ms)
    frameNs = 1e3; // the backend got fast
    const sizes: number[] = [];
    for (let i = 0; i < 9; i++) {
      inBatch = 0;
      t.step();
      sizes.push(inBatch);
    }
    expect(sizes).toEqual([8, 16, 32, 64, 128, 256, 256, 256, 256]);
    p.stop();
  });
});

