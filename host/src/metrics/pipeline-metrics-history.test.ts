import { describe, expect, it } from 'vitest';
import { manualClock } from '../core/clock.js';
import { FrameRing, STAMP } from '../core/frame.js';
import { createRng } from '../core/rng.js';
import { HEATMAP_EDGES_US } from './history.js';
import { PipelineMetrics } from './pipeline-metrics.js';

/** Exact quantile as hdr-histogram ranks it (ceil(p * n)-th smallest), for an independent check. */
function quantile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(1, Math.ceil((p * sorted.length) / 100 - 1e-9)) - 1];
}

describe('pipeline metrics history', () => {
  const ring = new FrameRing(1, 2, 4);
  const clock = manualClock(1e9);
  function frame(m: PipelineMetrics, e2eNs: number): void {
    const s = ring.acquire();
    s.stampsNs[0] = clock.nowNs();
    s.dueNs = s.stampsNs[0];
    for (let k = 1; k <= STAMP.emit; k++) s.stampsNs[k] = s.stampsNs[0] + (e2eNs * k) / STAMP.emit;
    s.predicted = 0;
    s.late = false;
    m.recordFrame(s);
  }

  it('appends one row per interval with that interval\'s counts, rates, quantiles and heatmap (against the raw samples)', () => {
    let wallMs = 5_000_000;
    const m = new PipelineMetrics({ pipeline: 'p', backend: 'b', model: 'm', labels: ['a', 'b'], budgetUs: 40 }, clock, () => wallMs, 5, 3);
    m.deviceLatency({ modelledNs: 4_800 });
    const rng = createRng(11);
    const intervals: number[][] = [];
    for (let i = 0; i < 5; i++) {
      const xs: number[] = [];
      // Four snapshots a second, as the daemon builds them; frames between them.
      for (let q = 0; q < 4; q++) {
        for (let f = 0; f < 250 * (i + 1); f++) {
          const ns = Math.round(1000 * (5 + 10 * i) * Math.exp(0.4 * rng.normal()));
          xs.push(ns);
          frame(m, ns);
        }
        clock.advanceNs(250e6);
        wallMs += 250;
        m.snapshot();
      }
      intervals.push(xs);
    }
    const h = m.historyColumns();
    // Three rows kept of five: intervals 2, 3 and 4.
    expect(h.t).toEqual([5_003_000, 5_004_000, 5_005_000].map((ms) => ms / 1000));
    expect(h.deviceSource).toBe('modelled');
    intervals.slice(2).forEach((xs, j) => {
      const sorted = [...xs].sort((a, b) => a - b);
      const e2e = h.latency.e2e;
      expect(e2e.count[j]).toBe(xs.length);
      expect(h.fps[j]).toBeCloseTo(xs.length, 6);
      // 3 significant digits: within 0.1 % of the exact order statistic.
      for (const [got, p] of [[e2e.p50[j], 50], [e2e.p99[j], 99], [e2e.p999[j], 99.9]] as const) {
        expect(Math.abs(got - quantile(sorted, p) / 1000) / (quantile(sorted, p) / 1000), `${j} p${p} ${got} ${quantile(sorted, p)} ${sorted.length}`).toBeLessThan(1.1e-3);
      }
      expect(e2e.mean[j]).toBeCloseTo(xs.reduce((a, x) => a + x, 0) / xs.length / 1000, 2);
      expect(h.budgetViolations[j]).toBe(xs.filter((x) => x > 40_000).length);
      expect(h.heatmap.counts[j].reduce((a, x) => a + x, 0)).toBe(xs.length);
      const inBucket = (b: number) => xs.filter((x) => x / 1000 >= HEATMAP_EDGES_US[b] && x / 1000 < (HEATMAP_EDGES_US[b + 1] ?? Infinity)).length;
      const modal = h.heatmap.counts[j].indexOf(Math.max(...h.heatmap.counts[j]));
      expect(Math.abs(h.heatmap.counts[j][modal] - inBucket(modal))).toBeLessThanOrEqual(xs.length * 0.01);
      expect(h.latency.device.p50[j]).toBeCloseTo(4.8, 2);
      expect(h.latency.device.count[j]).toBe(xs.length);
    });
  });

  it('gives no row before an interval has passed, and the distribution of every series since start', () => {
    const m = new PipelineMetrics({ pipeline: 'p', backend: 'b', model: 'm', labels: ['a', 'b'], budgetUs: 40 }, clock, () => 0, 5, 10);
    for (let f = 0; f < 100; f++) frame(m, 10_000 + f * 100);
    clock.advanceNs(500e6);
    m.snapshot();
    expect(m.historyColumns().t).toEqual([]);
    const d = m.latencyDistribution();
    expect(d.series.e2e.summary.count).toBe(100);
    expect(d.series.e2e.points.at(-1)!.count).toBe(100);
    expect(d.series.e2e.points.at(-1)!.valueUs).toBeCloseTo(19.9, 1);
    expect(d.series.device.points).toEqual([]);
    expect(d.deviceSource).toBe('none');
  });
});
