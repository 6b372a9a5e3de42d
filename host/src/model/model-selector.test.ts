import { describe, expect, it } from 'vitest';
import { ModelSelector, selectionLimitsProblem, SELECTION_DEFAULTS, TAIL_SLOW_MIN, type LoadSample, type SelectionLimits } from './model-selector.js';

// Three students of one task: accuracy from their cards, priors (us a frame) from a probe.
const MODELS = [
  { name: 'big', accuracy: 0.99, priorUs: 100 },
  { name: 'mid', accuracy: 0.97, priorUs: 40 },
  { name: 'small', accuracy: 0.9, priorUs: 10 },
];
const LIMITS: SelectionLimits = { intervalMs: 100, utilizationDown: 0.9, utilizationTarget: 0.7, utilizationUp: 0.5, lateFractionDown: 0.02, lateFractionUp: 0.001, holdUpMs: 1000, dwellMinMs: 500, framesMin: 10, tailBudgetFraction: 0.5, tailFractionMax: 0.01, tailRetryMs: 10_000, downGainMin: 0.1 };
const BUDGET_US = 1000;

/** Drives a selector with synthetic counters: each tick of `LIMITS.intervalMs` at `rateHz`,
 * the model in force serving each frame in `serviceUs` (default: its prior), `late` of them late. */
function harness(models = MODELS, limits = LIMITS, budgetUs = BUDGET_US) {
  const sel = new ModelSelector(models, limits, budgetUs);
  let current = sel.preferred;
  const s: Required<LoadSample> = { nowMs: 0, frames: 0, serviceNs: 0, inferNs: 0, late: 0, lastDueNs: 0, slowInfer: 0, backToBack: 0, backToBackNs: 0 };
  sel.observe({ ...s }, current);
  return {
    sel,
    get current() {
      return models[current]!.name;
    },
    /** One tick; returns "down:<to>", "up:<to>" or null, and applies the switch. `inferUs`: the
     * model's inference time a frame (default its prior), `overheadUs`: the other stages'.
     * `offPathUs`: the thread's work a frame off the hot path, seen only when the frames come
     * back to back (every frame of the tick then). `slowFraction`: inferences past the tail limit. */
    tick(rateHz: number, o: { lateFraction?: number; inferUs?: number; overheadUs?: number; offPathUs?: number; slowFraction?: number } = {}): string | null {
      const frames = Math.round((rateHz * limits.intervalMs) / 1000);
      s.nowMs += limits.intervalMs;
      s.frames += frames;
      const inferUs = o.inferUs ?? models[current]!.priorUs;
      s.inferNs += frames * inferUs * 1000;
      s.serviceNs += frames * (inferUs + (o.overheadUs ?? 0)) * 1000;
      s.late += Math.round(frames * (o.lateFraction ?? 0));
      s.slowInfer += Math.round(frames * (o.slowFraction ?? 0));
      if (o.offPathUs !== undefined) {
        s.backToBack += frames;
        s.backToBackNs += frames * (inferUs + (o.overheadUs ?? 0) + o.offPathUs) * 1000;
      }
      s.lastDueNs += limits.intervalMs * 1e6;
      const d = sel.observe({ ...s }, current);
      if (d === null) return null;
      expect(d.from).toBe(current);
      current = d.to;
      return `${d.direction}:${models[d.to]!.name}`;
    },
  };
}

describe('ModelSelector: the decision table (hand-computed utilizations)', () => {
  it('steps down when the rate rises past what a model serves, and back up after the hold', () => {
    const h = harness();
    expect(h.current).toBe('big'); // the most accurate first
    // [rate Hz, expected]; utilization = rate x service: big 100 us, mid 40 us, small 10 us.
    const table: Array<[number, string | null, string]> = [
      [5000, null, 'big 0.50 <= 0.9'],
      [9000, null, 'big 0.90: not above 0.9'],
      [9500, 'down:mid', 'big 0.95 > 0.9; mid 0.38 <= 0.7 target'],
      [9500, null, 'mid 0.38; big 0.95 > 0.5: no step up'],
      [20000, null, 'mid 0.80: between target and down, stays (dwell too)'],
      [20000, null, 'mid 0.80'],
      [20000, null, 'mid 0.80'],
      [20000, null, 'mid 0.80, dwell over'],
      [25000, 'down:small', 'mid 1.00 > 0.9; small 0.25'],
      [12000, null, 'small: mid 0.48 <= 0.5, hold starts (t=0)'],
      ...Array.from({ length: 9 }, (): [number, null, string] => [12000, null, 'holding']),
      [12000, 'up:mid', 'held 1000 ms'],
      [4000, null, 'mid: big 0.40 <= 0.5, hold starts'],
      ...Array.from({ length: 9 }, (): [number, null, string] => [4000, null, 'holding']),
      [4000, 'up:big', 'held 1000 ms'],
      [4000, null, 'big at the top'],
    ];
    for (const [i, [rate, want, why]] of table.entries()) expect(h.tick(rate), `row ${i} (${rate}/s: ${why})`).toBe(want);
  });

  it('a step down lands on the most accurate cheaper model that fits the target, skipping ones that do not', () => {
    const h = harness();
    // big 2.0, mid 0.8 (> 0.7 target), small 0.2: straight to small.
    expect(h.tick(20000)).toBe('down:small');
  });

  it("late frames step down when the model is busy enough to be their cause; at a low load they are the machine's", () => {
    const h = harness();
    // big at 0.3 busy, 30% late: not its doing (a smaller model would not help).
    expect(h.tick(3000, { lateFraction: 0.3 })).toBe(null);
    // big at 0.6 (> utilizationUp 0.5), 5% late > 2%: down, though 0.6 is below utilizationDown.
    expect(h.tick(6000, { lateFraction: 0.05 })).toBe('down:mid');
    // At 3000/s mid is 0.12 busy and big would be 0.3: the hold starts at the first tick and a
    // tick with late frames does not break it (mid is not their cause); up after 1000 ms.
    const seen: Array<string | null> = [];
    for (let i = 0; i < 11; i++) seen.push(h.tick(3000, { lateFraction: i === 4 ? 0.2 : 0 }));
    expect(seen).toEqual([...Array(10).fill(null), 'up:big']);
  });

  it('no flapping at a constant rate at either boundary', () => {
    // Exactly at the up threshold for big (0.5) from mid: one step up, then it stays.
    const a = harness();
    expect(a.tick(9500)).toBe('down:mid');
    const seen = Array.from({ length: 200 }, () => a.tick(5000)).filter((x) => x !== null);
    expect(seen).toEqual(['up:big']);
    // Exactly at the down threshold of big (0.9): never leaves it.
    const b = harness();
    expect(Array.from({ length: 200 }, () => b.tick(9000)).filter((x) => x !== null)).toEqual([]);
    // Between up and down for big (0.7) from mid: stays on mid for ever.
    const c = harness();
    expect(c.tick(9500)).toBe('down:mid');
    expect(Array.from({ length: 200 }, () => c.tick(7000)).filter((x) => x !== null)).toEqual([]);
  });

  it('measures the model in force and scales the others priors by its slowdown', () => {
    const h = harness();
    // big measures 200 us (a loaded machine): at 4000/s its utilization is 0.8, no step down.
    expect(h.tick(4000, { inferUs: 200 })).toBe(null);
    expect(h.sel.estimateUs(0, 0)).toBe(200);
    expect(h.sel.estimateUs(1, 0)).toBe(80); // mid's prior x 2
    // 5000/s: big 1.0 > 0.9; mid 0.4 at 80 us.
    expect(h.tick(5000, { inferUs: 200 })).toBe('down:mid');
    const st = h.sel.state(1);
    expect(st.estimates.map((e) => [e.name, e.measured])).toEqual([['big', true], ['mid', false], ['small', false]]);
  });

  it("the stages every model shares count in each one's service time, but only inference ranks them by cost", () => {
    // Two models of about one cost under a large shared overhead (an alert's decode): 500 us.
    const models = [
      { name: 'a', accuracy: 0.91, priorUs: 10 },
      { name: 'b', accuracy: 0.9, priorUs: 5 },
    ];
    // a: 510 us at 1900/s = 0.969 > 0.9; b would be 505 us, 0.9595: 1% less, under downGainMin
    // (10%): a step that relieves nothing is not made, a stays.
    const keep = harness(models);
    expect(Array.from({ length: 50 }, () => keep.tick(1900, { overheadUs: 500 })).filter((x) => x !== null)).toEqual([]);
    expect(keep.current).toBe('a');
    // Every step down made (downGainMin 0): b, the cheapest, though 0.96 > the target.
    const h = harness(models, { ...LIMITS, downGainMin: 0 });
    expect(h.tick(1900, { overheadUs: 500 })).toBe('down:b');
    expect(h.sel.estimateUs(0, 1)).toBe(510);
    // b measures 12 us of inference under load (above a's measured 10): it stays, overloaded as it
    // is, and never steps "down" to a, dearer by the probe; nor up (a at 0.97 > 0.5).
    expect(Array.from({ length: 50 }, () => h.tick(1900, { overheadUs: 500, inferUs: 12 })).filter((x) => x !== null)).toEqual([]);
    expect(h.sel.estimateUs(1, 1)).toBeCloseTo(512, 6);
    // The rate falls to 800/s: a at 510 us is 0.41 <= 0.5: up after the hold.
    const seen = Array.from({ length: 20 }, () => h.tick(800, { overheadUs: 500, inferUs: 12 })).filter((x) => x !== null);
    expect(seen).toEqual(['up:a']);
  });

  it('a model whose service time exceeds the budget is never chosen, whatever the rate', () => {
    const h = harness(MODELS, LIMITS, 50); // budget 50 us: big (100 us) never fits
    expect(h.current).toBe('mid'); // starts on the most accurate whose prior fits
    expect(h.tick(10)).toBe(null); // too few frames (1 < framesMin)
    expect(Array.from({ length: 50 }, () => h.tick(1000)).filter((x) => x !== null)).toEqual([]);
    // Started on big anyway (the control API's choice), it leaves at the first tick with frames.
    const sel = new ModelSelector(MODELS, LIMITS, 50);
    sel.observe({ nowMs: 0, frames: 0, serviceNs: 0, inferNs: 0, late: 0, lastDueNs: 0 }, 0);
    expect(sel.observe({ nowMs: 100, frames: 100, serviceNs: 100e5, inferNs: 100e5, late: 0, lastDueNs: 1e8 }, 0)).toMatchObject({ to: 1, direction: 'down', reason: 'service 100.0 us exceeds the budget 50 us' });
  });

  it('decides nothing without a rate (max pace: no due times) or with too few frames', () => {
    const sel = new ModelSelector(MODELS, LIMITS, BUDGET_US);
    sel.observe({ nowMs: 0, frames: 0, serviceNs: 0, inferNs: 0, late: 0, lastDueNs: Number.NaN }, 0);
    expect(sel.observe({ nowMs: 100, frames: 10_000, serviceNs: 10_000 * 100e3, inferNs: 10_000 * 100e3, late: 0, lastDueNs: Number.NaN }, 0)).toBe(null);
    expect(sel.observe({ nowMs: 200, frames: 10_005, serviceNs: 10_005 * 100e3, inferNs: 10_005 * 100e3, late: 0, lastDueNs: 1e9 }, 0)).toBe(null);
  });

  it('refuses limits without hysteresis', () => {
    expect(selectionLimitsProblem(SELECTION_DEFAULTS)).toBe(null);
    expect(selectionLimitsProblem({ ...SELECTION_DEFAULTS, utilizationUp: 0.8 })).toMatch(/utilizationUp/);
    expect(selectionLimitsProblem({ ...SELECTION_DEFAULTS, lateFractionUp: 0.5 })).toMatch(/lateFractionUp/);
  });
});

/**
 * The rule against an independent calculation. Queueing: a model costing c us of the thread a
 * frame at r frames/s keeps it busy u = r x c / 1e6 of the time; it is chosen only at u <= the
 * named limit (utilizationTarget stepping down, utilizationUp stepping up), its service within
 * the budget, and its tail (one inference within tailBudgetFraction x budgetUs) held.
 */
describe('ModelSelector: meets the budget with margin (utilization from the whole cost a frame, tail, gain)', () => {
  const OVERHEAD_US = 20; // the shared stages: decode, preprocess, policy, emit
  const OFF_PATH_US = 30; // pacer, timers, GC: seen only in the gaps of back-to-back frames
  /** The cost a frame of each model, us: as the thread pays it, written out by hand. */
  const COST_US: Record<string, number> = { big: 100 + OVERHEAD_US + OFF_PATH_US, mid: 40 + OVERHEAD_US + OFF_PATH_US, small: 10 + OVERHEAD_US + OFF_PATH_US };
  const u = (name: string, rateHz: number) => (rateHz * COST_US[name]!) / 1e6;
  /** The reference: from big at `rateHz`, down when u > utilizationDown, to the most accurate
   * cheaper model at u <= utilizationTarget (else the cheapest), made only if it cuts u by
   * downGainMin of it. */
  function reference(rateHz: number): string | null {
    if (u('big', rateHz) <= LIMITS.utilizationDown) return null;
    const to = ['mid', 'small'].find((m) => u(m, rateHz) <= LIMITS.utilizationTarget) ?? 'small';
    return u(to, rateHz) <= u('big', rateHz) * (1 - LIMITS.downGainMin) ? `down:${to}` : null;
  }
  /** A selector on big that has seen the off-path cost (60 ticks: the EWMA has converged). */
  function warmed() {
    const h = harness();
    for (let i = 0; i < 60; i++) expect(h.tick(1000, { overheadUs: OVERHEAD_US, offPathUs: OFF_PATH_US })).toBe(null);
    return h;
  }

  it('the utilization it reports and the step down it makes match r x c over a grid of rates', () => {
    for (let rateHz = 1000; rateHz <= 20_000; rateHz += 250) {
      const h = warmed();
      const got = h.tick(rateHz, { overheadUs: OVERHEAD_US });
      const st = h.sel.state(MODELS.findIndex((m) => m.name === h.current));
      for (const e of st.estimates) expect(e.utilization, `${e.name} at ${rateHz}/s`).toBeCloseTo(u(e.name, rateHz), 4);
      expect(got, `${rateHz}/s`).toBe(reference(rateHz));
    }
  });

  it('counts the work off the hot path: 7,000/s reads 0.84 on the hot path alone, 1.05 in all', () => {
    expect(u('big', 7000)).toBeCloseTo(1.05, 10);
    expect((7000 * (100 + OVERHEAD_US)) / 1e6).toBeCloseTo(0.84, 10); // under 0.9: the old rule stayed
    expect(warmed().tick(7000, { overheadUs: OVERHEAD_US })).toBe('down:mid'); // mid 0.63 <= 0.7
    // One saturated tick (every frame back to back) is the whole cost at once: 0.84 -> 1.05.
    const once = harness();
    expect(once.tick(1000, { overheadUs: OVERHEAD_US })).toBe(null);
    expect(once.tick(1000, { overheadUs: OVERHEAD_US, offPathUs: OFF_PATH_US })).toBe(null);
    expect(once.sel.state(0).offPathUs).toBeCloseTo(OFF_PATH_US, 10);
    expect(once.tick(7000, { overheadUs: OVERHEAD_US })).toBe('down:mid');
    // Without a backlog ever seen, the off-path work is unknown (0): big stays at 0.84.
    const cold = harness();
    expect(cold.tick(1000, { overheadUs: OVERHEAD_US })).toBe(null);
    expect(cold.tick(7000, { overheadUs: OVERHEAD_US })).toBe(null);
  });

  it("each model's work off the hot path is its own: the teacher's worker thread does not follow the student", () => {
    const h = harness();
    // big in force, saturated: 200 us off the path a frame (an onnx worker beside the thread).
    expect(h.tick(1000, { offPathUs: 200 })).toBe(null);
    expect(h.sel.state(0).estimates.map((e) => e.offPathUs)).toEqual([200, 200, 200]); // the others: big's, until measured
    expect(h.tick(4000, { offPathUs: 200 })).toBe('down:small'); // big (100 + 200) x 4000 = 1.2; mid 0.96, small 0.84 > 0.7: the cheapest
    h.tick(4000);
    // small measured at 5 us off the path in one saturated tick; big keeps its 200.
    expect(h.tick(4000, { offPathUs: 5 })).toBe(null);
    const st = h.sel.state(2);
    expect(st.offPathUs).toBe(5);
    expect(st.estimates.map((e) => [e.name, e.offPathUs])).toEqual([['big', 200], ['mid', 5], ['small', 5]]);
    expect(st.estimates[0]!.utilization).toBeCloseTo((4000 * (100 + 200)) / 1e6, 10);
    expect(st.estimates[2]!.utilization).toBeCloseTo((4000 * (10 + 5)) / 1e6, 10);
  });

  it('a model whose inferences pass the tail limit steps down and is not chosen again for tailRetryMs', () => {
    const sel = new ModelSelector(MODELS, LIMITS, BUDGET_US);
    expect(sel.tailLimitUs).toBe(LIMITS.tailBudgetFraction * BUDGET_US); // 500 us
    const h = harness();
    // 1000/s: big at 0.1 busy. One slow inference in 100 (1%, not more than tailFractionMax): stays.
    expect(h.tick(1000, { slowFraction: 0.01 })).toBe(null);
    // Then 5 in 100: 6 of 200 = 3% > 1%.
    expect(h.tick(1000, { slowFraction: 0.05 })).toBe('down:mid');
    expect(h.sel.state(1).estimates[0]!.tailFailed).toBe(true);
    // big would be 0.1 busy: fits utilizationUp, but barred until 10,000 ms after its failure.
    const seen: Array<[number, string]> = [];
    for (let k = 1; k <= 120; k++) {
      const d = h.tick(1000);
      if (d !== null) seen.push([k * LIMITS.intervalMs, d]);
    }
    // Barred until 10,000 ms, the hold (1,000 ms) counted from there.
    expect(seen).toEqual([[LIMITS.tailRetryMs + LIMITS.holdUpMs, 'up:big']]);
  });

  it('one slow inference among the first frames fails nothing (TAIL_SLOW_MIN)', () => {
    expect(TAIL_SLOW_MIN).toBe(2);
    const h = harness();
    expect(h.tick(100, { slowFraction: 0.1 })).toBe(null); // 1 of 10
    expect(h.tick(100)).toBe(null);
    expect(h.tick(100, { slowFraction: 0.1 })).toBe('down:mid'); // 2 of 30
  });

  it('a step up must fit the highest rate of its hold, not only the last tick', () => {
    const h = harness();
    expect(h.tick(50_000)).toBe('down:small'); // big 5.0, mid 2.0, small 0.5
    // 6000/s: mid 0.24 fits utilizationUp, big 0.6 does not: the hold starts with mid in view.
    expect(h.tick(6000)).toBe(null);
    // Then 3000/s, where big (0.3) would fit: but the hold saw 6000/s, where only mid does.
    const seen = Array.from({ length: 20 }, () => h.tick(3000)).filter((x) => x !== null);
    expect(seen[0]).toBe('up:mid');
  });
});
