import { describe, expect, it } from 'vitest';
import { manualClock } from '../core/clock.js';
import { FrameRing, STAMP } from '../core/frame.js';
import { limits } from '../core/limits.js';
import { PipelineMetrics } from './pipeline-metrics.js';

describe('pipeline metrics', () => {
  const ring = new FrameRing(1, 2, 4);
  /** A frame ingested now, `queueNs` after it was due, whose stages take `e2eNs` in all. */
  function frame(m: PipelineMetrics, clock: ReturnType<typeof manualClock>, e2eNs: number, queueNs = 0): void {
    const s = ring.acquire();
    s.stampsNs[0] = clock.nowNs();
    s.dueNs = s.stampsNs[0] - queueNs;
    for (let k = 1; k <= STAMP.emit; k++) s.stampsNs[k] = s.stampsNs[0] + (e2eNs * k) / STAMP.emit;
    s.predicted = 0;
    m.recordFrame(s);
  }

  it('measures end to end from the due time and reports queueing and service apart', () => {
    const clock = manualClock(1e9);
    const m = new PipelineMetrics({ pipeline: 'p', backend: 'b', model: 'm', labels: ['a', 'b'], budgetUs: 100 }, clock, () => 0, 5);
    // A stalled source: frames handed over 300 us after they were due, served in 20 us.
    for (let i = 0; i < 50; i++) frame(m, clock, 20_000, 300_000);
    const snap = m.snapshot();
    expect(snap.queueUs.p50).toBeCloseTo(300, 0);
    expect(snap.serviceUs.p50).toBeCloseTo(20, 1);
    expect(snap.e2eUs.p50).toBeCloseTo(320, 0);
    // The 100 us budget is exceeded by every frame although its service took 20 us.
    expect(snap.budgetViolations).toBe(50);
  });

  it("counts the model selector's load samples: slow inferences past its limit, and back-to-back frames with their write gaps", () => {
    const clock = manualClock(1e9);
    const m = new PipelineMetrics({ pipeline: 'p', backend: 'b', model: 'm', labels: ['a', 'b'], budgetUs: 1e6 }, clock, () => 0, 5);
    // Each stage a fifth of e2e: infer (preprocess -> infer stamp) is e2e/5.
    m.slowInferNs = 3_000; // 3 us
    // [ingest offset from the previous frame's ingest ns, due before ingest ns, e2e ns]. Written at
    // ingest + e2e: frame 0 at t0+10 us, frame 1 (ingested 12 us later, due at +2 us: before
    // frame 0's write) at t0+12+20 us; frame 2 due at +40 us, after frame 1's write (+32): idle
    // between, not back to back; frame 3 due before frame 2's write (+40+10).
    const frames: Array<[number, number, number]> = [[0, 0, 10_000], [12_000, 10_000, 20_000], [28_000, 0, 10_000], [10_000, 5_000, 25_000]];
    for (const [advance, queued, e2e] of frames) {
      clock.advanceNs(advance);
      frame(m, clock, e2e, queued);
    }
    // Infer times 2, 4, 2, 5 us: two over 3 us.
    expect(m.slowInferTotal).toBe(2);
    // Frames 1 and 3: gaps 32 - 10 = 22 us and 75 - 50 = 25 us.
    expect(m.backToBackFrames).toBe(2);
    expect(m.backToBackNsTotal).toBe(22_000 + 25_000);
  });

  it('keeps latencies since start and a recent window that forgets what is older than two windows', () => {
    const clock = manualClock(0);
    const m = new PipelineMetrics({ pipeline: 'p', backend: 'b', model: 'm', labels: ['a', 'b'], budgetUs: 100 }, clock, () => 0, 5);
    for (let i = 0; i < 100; i++) frame(m, clock, 10_000); // 10 us
    clock.advanceNs(6e9);
    expect(m.snapshot().recent.e2eUs.p50).toBeCloseTo(10, 1); // rotated: the old window is `prev`
    for (let i = 0; i < 100; i++) frame(m, clock, 50_000); // 50 us
    clock.advanceNs(6e9);
    const s = m.snapshot(); // rotated again: the 10 us window is gone
    expect(s.recent.e2eUs.count).toBe(100);
    expect(s.recent.e2eUs.p50).toBeCloseTo(50, 0);
    expect(s.e2eUs.count).toBe(200);
    expect(s.e2eUs.p50).toBeCloseTo(10, 1);
    clock.advanceNs(11e9);
    expect(m.snapshot().recent.e2eUs.count).toBe(0);
  });

  it('never reports a percentile above the largest latency recorded', () => {
    const clock = manualClock(0);
    const m = new PipelineMetrics({ pipeline: 'p', backend: 'b', model: 'm', labels: ['a', 'b'], budgetUs: 1e6 }, clock, () => 0, 5);
    // 1,234,567 ns falls in an HDR bucket (3 significant digits) whose upper bound is above it.
    for (let i = 0; i < 1000; i++) frame(m, clock, 1_234_567);
    const e2e = m.snapshot().e2eUs;
    // HDR keeps the max to its 3 significant digits as well.
    expect(Math.abs(e2e.max - 1234.567) / 1234.567).toBeLessThan(1e-3);
    for (const p of [e2e.p50, e2e.p90, e2e.p99, e2e.p999]) expect(p).toBeLessThanOrEqual(e2e.max);
  });

    it('counts budget violations on end-to-end latency', () => {
    const clock = manualClock(0);
    const m = new PipelineMetrics({ pipeline: 'p', backend: 'b', model: 'm', labels: ['a', 'b'], budgetUs: 20 }, clock);
    for (const us of [5, 19, 21, 100]) frame(m, clock, us * 1000);
    expect(m.snapshot().budgetViolations).toBe(2);
  });

  it('counts and exports clamped latency samples: above histogramMaxUs and below zero', () => {
    const clock = manualClock(0);
    const m = new PipelineMetrics({ pipeline: 'p', backend: 'b', model: 'm', labels: ['a', 'b'], budgetUs: 20 }, clock);
    frame(m, clock, 10_000); // 10 us: nothing clamped
    // 20 s end to end: every stage gets 4 s (in range); end to end and service (ingest to
    // trigger write, the same 20 s here) are past the 10 s bound.
    frame(m, clock, 2 * limits.histogramMaxUs * 1000);
    expect(m.snapshot().clampedSamples).toBe(2);
    const s = ring.acquire();
    s.stampsNs.fill(1e9);
    s.dueNs = 1e9;
    s.stampsNs[STAMP.decode] = 1e9 - 500; // decode ends before ingest: a stamp out of order
    s.predicted = 0;
    m.recordFrame(s);
    const snap = m.snapshot();
    expect(snap.clampedSamples).toBe(3);
    expect(snap.e2eUs.max).toBeCloseTo(limits.histogramMaxUs, -4);
  });

  it('reports the counters it watches: policy reasons and trigger-ring overflows', () => {
    const m = new PipelineMetrics({ pipeline: 'p', backend: 'b', model: 'm', labels: ['a', 'b'], budgetUs: 20 }, manualClock(0));
    const policy = { suppressedBelowThreshold: 1, suppressedHoldoff: 2, suppressedRate: 3, suppressedLate: 4, nonTarget: 5 };
    const triggerRing = { overflows: 6 };
    m.watch({ policy, triggerRing });
    policy.suppressedRate = 30;
    triggerRing.overflows = 60;
    const s = m.snapshot();
    expect(s.suppressed).toEqual({ belowThreshold: 1, holdoff: 2, rateLimit: 30, late: 4 });
    expect(s.nonTarget).toBe(5);
    expect(s.triggerRingOverflows).toBe(60);
  });
});
