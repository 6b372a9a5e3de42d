import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameRing, type FrameSlot } from '../core/frame.js';
import { createDetector, detectorSchema } from './detector.js';
import type { RouterContext } from './routers.js';

const LABELS = ['silence', 'unknown', 'yes', 'no'];
const ctx = (): RouterContext => ({ runId: 't', labels: LABELS, targets: ['yes', 'no'], aux: [], at: (p) => p, log: () => {}, error: () => {}, framesFailed: () => 0 });

/** Brute force: the mean of the last n probability vectors recomputed from scratch each frame
 * (summed oldest first, as the detector sums, so means on a threshold or tied between two
 * targets compare the same bit for bit), the best target over its threshold (the first of a
 * tie), and a debounce on the last detection's time. */
function reference(probs: number[][], timesMs: number[], n: number, thrOf: Record<string, number> | ((frame: number) => Record<string, number>), debounceMs: number): { frame: number; label: string }[] {
  const out: { frame: number; label: string }[] = [];
  let last = Number.NEGATIVE_INFINITY;
  probs.forEach((_, i) => {
    const win = probs.slice(Math.max(0, i - n + 1), i + 1);
    let best = '';
    let bestP = 0;
    const thr = typeof thrOf === 'function' ? thrOf(i) : thrOf;
    for (const [label, t] of Object.entries(thr)) {
      const k = LABELS.indexOf(label);
      const p = win.reduce((a, v) => a + v[k]!, 0) / win.length;
      if (p >= t && p > bestP) {
        best = label;
        bestP = p;
      }
    }
    if (best === '' || timesMs[i]! - last <= debounceMs) return;
    last = timesMs[i]!;
    out.push({ frame: i, label: best });
  });
  return out;
}

/** Runs the detector over the frames; `reload` swaps in `cfg` before frame `at` (a SIGHUP). */
function run(probs: number[][], timesMs: number[], cfg: Record<string, unknown>, late: (i: number) => boolean = () => false, reload?: { at: number; cfg: Record<string, unknown> }) {
  const d = createDetector(detectorSchema.parse({ kind: 'detector', ...cfg }), ctx(), ['yes', 'no']);
  const ring = new FrameRing(4, LABELS.length, 4);
  const fired: { frame: number; label: string }[] = [];
  probs.forEach((p, i) => {
    if (reload !== undefined && i === reload.at) {
      const r = d.prepareReload!(detectorSchema.parse({ kind: 'detector', ...reload.cfg }), ['yes', 'no']);
      if ('restart' in r) throw new Error(r.restart);
      r.apply();
    }
    const s: FrameSlot = ring.acquire();
    s.probs.set(p);
    s.sensorNs = timesMs[i]! * 1e6;
    s.dueNs = 0;
    s.late = late(i);
    d.route(s);
    if (s.triggered) fired.push({ frame: i, label: LABELS[s.predicted]! });
  });
  return { fired, counters: d.counters() };
}

const probVector = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 4, maxLength: 4 }).map((v) => {
  const s = v.reduce((a, b) => a + b, 0) || 1;
  // As the slot holds them (float32), so the reference sees the same values.
  return v.map((x) => Math.fround(x / s));
});

describe('detector router', () => {
  it('smooths, thresholds and debounces as a brute-force reading does (property)', () => {
    fc.assert(
      fc.property(fc.array(probVector, { minLength: 1, maxLength: 80 }), fc.integer({ min: 1, max: 6 }), fc.double({ min: 0.2, max: 0.9, noNaN: true }), fc.integer({ min: 0, max: 300 }), (probs, n, thr, debounceMs) => {
        const times = probs.map((_, i) => i * 20); // one frame every 20 ms hop
        const got = run(probs, times, { smoothFrames: n, threshold: thr, thresholds: { no: Math.min(1, thr + 0.05) }, debounceMs });
        const want = reference(probs, times, n, { yes: thr, no: Math.min(1, thr + 0.05) }, debounceMs);
        expect(got.fired).toEqual(want);
      }),
      { numRuns: 1000 },
    );
  });

  it('a word held over several hops fires once per debounce, in stream time; a late frame is missed', () => {
    const yes = [0.05, 0.05, 0.85, 0.05];
    const quiet = [0.9, 0.05, 0.025, 0.025];
    const probs = [quiet, yes, yes, yes, yes, quiet, quiet, yes, yes, yes];
    const times = [0, 20, 40, 60, 80, 100, 1000, 1100, 1120, 1140];
    const { fired, counters } = run(probs, times, { smoothFrames: 2, threshold: 0.8, debounceMs: 1000 });
    // Frames 2..4 are the first word (smoothed >= 0.8 from frame 2); frame 8 is the second,
    // 1,080 ms after the first detection.
    expect(fired).toEqual([{ frame: 2, label: 'yes' }, { frame: 8, label: 'yes' }]);
    expect(counters).toMatchObject({ detections: 2, debounced: 3, perClass: { yes: 2, no: 0 } });
    const lateRun = run(probs, times, { smoothFrames: 2, threshold: 0.8, debounceMs: 1000 }, (i) => i === 2);
    expect(lateRun.fired).toEqual([{ frame: 8, label: 'yes' }]);
    expect(lateRun.counters).toMatchObject({ missed: 1 });
  });

  it('debounces as MLPerf Tiny\'s streaming runner does: a detection exactly one debounce after the last is the same alarm', () => {
    // streaming_ww_utils.py calc_detection_stats drops u when t < u <= t + 1 s; a word held for
    // seconds then fires every 1,020 ms (the next hop after the second), never every 1,000.
    const yes = [0.05, 0.05, 0.85, 0.05];
    const times = [0, 500, 1000, 1020, 2000, 2040];
    const { fired } = run(times.map(() => yes), times, { smoothFrames: 1, threshold: 0.8, debounceMs: 1000 });
    expect(fired.map((f) => times[f.frame])).toEqual([0, 1020, 2040]);
  });

  it('refuses a threshold for a class that is not a target, naming it', () => {
    expect(() => createDetector(detectorSchema.parse({ kind: 'detector', thresholds: { silence: 0.5 } }), ctx(), ['yes', 'no'])).toThrow(/route\.thresholds\.silence/);
  });
});

describe('detector reload (SIGHUP)', () => {
  it('fires by the new thresholds from the reload on, keeping the smoothing window and the debounce (property)', () => {
    fc.assert(
      fc.property(fc.array(probVector, { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 5 }), fc.double({ min: 0.2, max: 0.9, noNaN: true }), fc.double({ min: 0.2, max: 0.9, noNaN: true }), fc.nat(60), (probs, n, a, b, at) => {
        const times = probs.map((_, i) => i * 20);
        const got = run(probs, times, { smoothFrames: n, threshold: a, debounceMs: 100 }, undefined, { at, cfg: { smoothFrames: n, threshold: b, debounceMs: 100 } });
        const want = reference(probs, times, n, (i) => (i < at ? { yes: a, no: a } : { yes: b, no: b }), 100);
        expect(got.fired).toEqual(want);
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses a reload with a threshold for a class that is not a target, and keeps detecting as before', () => {
    const d = createDetector(detectorSchema.parse({ kind: 'detector', threshold: 0.5 }), ctx(), ['yes', 'no']);
    expect(() => d.prepareReload!(detectorSchema.parse({ kind: 'detector', thresholds: { silence: 0.1 } }), ['yes', 'no'])).toThrow(/route\.thresholds\.silence.*not a trigger target/);
    const probs = [[0.1, 0.1, 0.7, 0.1]];
    const ring = new FrameRing(4, LABELS.length, 4);
    const s = ring.acquire();
    s.probs.set(probs[0]!);
    [s.sensorNs, s.dueNs, s.late] = [0, 0, false];
    d.route(s);
    expect(s.triggered).toBe(true);
  });
});
