import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runTimers } from '../../../../../test/support/manual-drive.js';
import { manualClock } from '../../../core/clock.js';
import { FrameRing } from '../../../core/frame.js';
import { manualTimers } from '../../../core/manual-timers.js';
import { alertPacingSchema, type AlertPacing } from './pacing.js';
import { createAlertReplaySource } from './replay-source.js';
import { buildTimeline, type LoadedAlertFile } from './timeline.js';

/** A file of one-byte records (byte = record index) observed at `jd`. */
function file(path: string, jd: number[]): LoadedAlertFile {
  const bytes = Uint8Array.from(jd, (_, i) => i & 255);
  return {
    path,
    base: jd.map(() => bytes),
    offset: Int32Array.from(jd, (_, i) => i),
    length: new Int32Array(jd.length).fill(1),
    jd: Float64Array.from(jd),
    index: Int32Array.from(jd, (_, i) => i),
    errors: [],
  };
}

/** Runs a replay under ManualTimers on a manual clock; returns each delivery's seq, due and ingest time. */
function run(jd: number[], pacing: AlertPacing, frames = jd.length, loop = false) {
  const clock = manualClock(5_000_000);
  const t = manualTimers();
  const src = createAlertReplaySource(buildTimeline([file('a.avro', jd)]), { pacing, loop, frames, stream: 'alerts', spinWindowUs: 0 }, clock, t.timers);
  const ring = new FrameRing(1, 1, 8);
  const got: { seq: number; byte: number; dueNs: number; atNs: number }[] = [];
  src.start({ acquire: () => ring.acquire(), push: (s) => got.push({ seq: s.seq, byte: s.raw[s.rawOffset], dueNs: s.dueNs, atNs: s.stampsNs[0] }) });
  runTimers(t, clock, 0);
  return { got, src, startNs: 5_000_000 };
}

const jdArb = fc.array(fc.double({ min: 2460235.5, max: 2460236.5, noNaN: true }), { minLength: 1, maxLength: 600 });

describe('alert replay pacing', () => {
  it('burst: the N alerts of each burst are all due at its start, bursts P seconds apart', () => {
    fc.assert(
      fc.property(jdArb, fc.integer({ min: 1, max: 300 }), fc.double({ min: 0.5, max: 60, noNaN: true }), (jd, alerts, periodS) => {
        const { got, startNs } = run(jd, { kind: 'burst', alerts, periodS });
        expect(got.length).toBe(jd.length);
        got.forEach((g, k) => {
          const burstStartNs = startNs + Math.floor(k / alerts) * periodS * 1e9;
          expect(g.dueNs).toBeCloseTo(burstStartNs, 0);
          // Never delivered before it is due (exact timers: not later either).
          expect(g.atNs).toBeGreaterThanOrEqual(g.dueNs);
        });
      }),
      { numRuns: 40 },
    );
  });

  it('rate: alert k is due k / rate seconds after the first', () => {
    fc.assert(
      fc.property(jdArb, fc.double({ min: 1, max: 1e5, noNaN: true }), (jd, alertsPerS) => {
        const { got, startNs } = run(jd, { kind: 'rate', alertsPerS });
        got.forEach((g, k) => expect(g.dueNs).toBeCloseTo(startNs + (k * 1e9) / alertsPerS, 0));
      }),
      { numRuns: 40 },
    );
  });

  it('realtime and xN: due times follow the observation times (seconds = jd days * 86400), in observation order', () => {
    fc.assert(
      fc.property(jdArb, fc.constantFrom('realtime' as const, 'x1000' as const, 'x3.5' as const), (jd, pacing) => {
        const speed = pacing === 'realtime' ? 1 : Number(pacing.slice(1));
        const { got, startNs } = run(jd, pacing);
        const sorted = [...jd].sort((a, b) => a - b);
        got.forEach((g, k) => {
          const relNs = (sorted[k] - sorted[0]) * 86_400 * 1e9;
          // jd holds ~40 us at 2.46e6 days: compare to within 100 us of stream time.
          expect(Math.abs(g.dueNs - (startNs + relNs / speed))).toBeLessThan(1e5);
        });
      }),
      { numRuns: 40 },
    );
  });

  it('max: every alert once, in observation order (ties in file order), due when ingested', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 255 }), (ticks) => {
        const jd = ticks.map((x) => 2460235.5 + x / 1000);
        const { got, src } = run(jd, 'max');
        const want = jd.map((t, i) => ({ t, i })).sort((a, b) => a.t - b.t || a.i - b.i).map((r) => r.i);
        expect(got.map((g) => g.byte)).toEqual(want);
        expect(got.map((g) => g.seq)).toEqual(want.map((_, k) => k));
        expect(got.every((g) => g.dueNs === g.atNs)).toBe(true);
        expect(src.delivered).toBe(jd.length);
        expect(src.expectedFrames).toBe(jd.length);
      }),
    );
  });

  it('config: a burst is a Rubin visit by default (30 s); rates and speeds must be positive', () => {
    expect(alertPacingSchema.parse({ kind: 'burst', alerts: 100 })).toEqual({ kind: 'burst', alerts: 100, periodS: 30 });
    for (const bad of [{ kind: 'rate', alertsPerS: 0 }, { kind: 'burst', alerts: 0 }, 'x0', 'fast']) expect(alertPacingSchema.safeParse(bad).success).toBe(false);
  });

  it('loops with seq continuing, up to the frame limit', () => {
    const { got } = run([2460235.6, 2460235.5, 2460235.7], { kind: 'burst', alerts: 2, periodS: 30 }, 7, true);
    expect(got.map((g) => g.byte)).toEqual([1, 0, 2, 1, 0, 2, 1]);
    expect(got.map((g) => g.seq)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });
});
