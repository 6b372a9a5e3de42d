import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { FrameRing, STAMP, STAMP_INGEST } from '../core/frame.js';
import { softmax, TriggerPolicy, triggerConfigSchema, type PolicyCounters } from './policy.js';

const LABELS = ['RBC', 'WBC', 'Platelets'];

/** A frame: due time (gap after the previous one), how long after it the source ingested
 * it, time spent before the policy, and logits. */
const frameArb = fc.record({
  gapNs: fc.integer({ min: 0, max: 2_000_000 }),
  ingestLagNs: fc.integer({ min: 0, max: 1_500_000 }),
  delayNs: fc.integer({ min: 0, max: 3_000_000 }),
  logits: fc.tuple(fc.float({ min: -8, max: 8, noNaN: true }), fc.float({ min: -8, max: 8, noNaN: true }), fc.float({ min: -8, max: 8, noNaN: true })),
});

const cfgArb = fc.record({
  threshold: fc.double({ min: 0, max: 1, noNaN: true }),
  holdoffUs: fc.integer({ min: 0, max: 500 }),
  maxRatePerS: fc.integer({ min: 1, max: 100_000 }),
  burst: fc.integer({ min: 1, max: 5 }),
  budgetUs: fc.integer({ min: 1, max: 2000 }),
});

interface Decided {
  atNs: number;
  /** From the frame's due time to the policy. */
  waitedNs: number;
  late: boolean;
  missed: boolean;
  triggered: boolean;
  pTarget: number;
  /** Argmax of the probabilities (first on ties), computed here: logits a denormal apart
   * give equal float32 probabilities. */
  argmax: number;
}

type Cfg = { threshold: number; holdoffUs: number; maxRatePerS: number; burst: number; budgetUs: number };
type Frame = { gapNs: number; ingestLagNs?: number; delayNs: number; logits: [number, number, number] };

function replay(cfg: Cfg, frames: Frame[]): Decided[] {
  return replayCounted(cfg, frames).decided;
}

function replayCounted(cfg: Cfg, frames: Frame[]): { decided: Decided[]; counters: PolicyCounters } {
  const { budgetUs, ...trigger } = cfg;
  const policy = new TriggerPolicy(triggerConfigSchema.parse({ targets: ['WBC'], ...trigger }), LABELS, budgetUs);
  const ring = new FrameRing(1, 3, 4);
  let t = 1e9;
  let policyNs = 0;
  const decided = frames.map((f) => {
    t += f.gapNs;
    const ingestNs = t + (f.ingestLagNs ?? 0);
    // Frames reach the policy one after another: its clock never goes back.
    policyNs = Math.max(policyNs, ingestNs + f.delayNs);
    const slot = ring.acquire();
    slot.dueNs = t;
    slot.stampsNs[STAMP_INGEST] = ingestNs;
    slot.stampsNs[STAMP.infer] = policyNs;
    slot.logits.set(f.logits);
    policy.decide(slot);
    const p = Array.from(slot.probs);
    const argmax = p.reduce((b, x, k) => (x > p[b] ? k : b), 0);
    return { atNs: policyNs, waitedNs: policyNs - t, late: slot.late, missed: slot.missed, triggered: slot.triggered, pTarget: slot.probs[1], argmax };
  });
  return { decided, counters: { ...policy.counters } };
}

describe('trigger policy', () => {
  it('never triggers a frame past its deadline (counted from its due time, not its ingest), and marks exactly those late', () => {
    fc.assert(
      fc.property(cfgArb, fc.array(frameArb, { maxLength: 200 }), (cfg, frames) => {
        const out = replay(cfg, frames);
        out.forEach((d) => {
          expect(d.late).toBe(d.waitedNs > cfg.budgetUs * 1000);
          if (d.late) expect(d.triggered).toBe(false);
        });
      }),
    );
  });

  it('marks missed exactly the late frames whose target passed the threshold', () => {
    fc.assert(
      fc.property(cfgArb, fc.array(frameArb, { maxLength: 200 }), (cfg, frames) => {
        for (const d of replay(cfg, frames)) expect(d.missed).toBe(d.late && d.pTarget >= cfg.threshold);
      }),
    );
  });

  it('accounts for every frame once: triggers + each suppression reason + non-target = frames', () => {
    fc.assert(
      fc.property(cfgArb, fc.array(frameArb, { maxLength: 200 }), (cfg, frames) => {
        const { decided, counters } = replayCounted(cfg, frames);
        // An independent count of each reason from what the policy saw and did.
        const want = { suppressedBelowThreshold: 0, suppressedHoldoff: 0, suppressedRate: 0, suppressedLate: 0, nonTarget: 0 };
        let lastTriggerNs = Number.NEGATIVE_INFINITY;
        let triggers = 0;
        for (const d of decided) {
          if (d.pTarget < cfg.threshold) want[d.argmax === 1 ? 'suppressedBelowThreshold' : 'nonTarget']++;
          else if (d.late) want.suppressedLate++;
          else if (d.triggered) (triggers++, (lastTriggerNs = d.atNs));
          else if (cfg.holdoffUs > 0 && d.atNs - lastTriggerNs < cfg.holdoffUs * 1000) want.suppressedHoldoff++;
          else want.suppressedRate++;
        }
        expect(counters).toEqual(want);
        const sum = triggers + Object.values(counters).reduce((a, b) => a + b, 0);
        expect(sum).toBe(frames.length);
      }),
    );
  });

  it('fires only at or above the threshold on a target class', () => {
    fc.assert(
      fc.property(cfgArb, fc.array(frameArb, { maxLength: 200 }), (cfg, frames) => {
        for (const d of replay(cfg, frames)) if (d.triggered) expect(d.pTarget).toBeGreaterThanOrEqual(cfg.threshold);
      }),
    );
  });

  it('keeps the hold-off between any two triggers', () => {
    fc.assert(
      fc.property(cfgArb, fc.array(frameArb, { maxLength: 200 }), (cfg, frames) => {
        const times = replay(cfg, frames).filter((d) => d.triggered).map((d) => d.atNs);
        for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(cfg.holdoffUs * 1000);
      }),
    );
  });

  it('fires at most burst + rate * T triggers in any interval of length T', () => {
    fc.assert(
      fc.property(cfgArb, fc.array(frameArb, { maxLength: 200 }), (cfg, frames) => {
        const times = replay({ ...cfg, holdoffUs: 0 }, frames).filter((d) => d.triggered).map((d) => d.atNs);
        for (let i = 0; i < times.length; i++)
          for (let j = i; j < times.length; j++) {
            const T = (times[j] - times[i]) / 1e9;
            expect(j - i + 1).toBeLessThanOrEqual(cfg.burst + cfg.maxRatePerS * T + 1e-6);
          }
      }),
    );
  });

  it('with no hold-off and no rate limit, triggers exactly the timely frames over the threshold', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.array(frameArb, { maxLength: 100 }), (threshold, frames) => {
        const out = replay({ threshold, holdoffUs: 0, maxRatePerS: 1e7, burst: 1_000_000, budgetUs: 1e6 }, frames);
        for (const d of out) expect(d.triggered).toBe(!d.late && d.pTarget >= threshold);
      }),
    );
  });

  it('refuses a target that is not a label, naming it and the labels', () => {
    expect(() => new TriggerPolicy(triggerConfigSchema.parse({ targets: ['Neutrophil'] }), LABELS, 100)).toThrow(ConfigError);
    expect(() => new TriggerPolicy(triggerConfigSchema.parse({ targets: ['Neutrophil'] }), LABELS, 100)).toThrow(/Neutrophil.*RBC, WBC, Platelets/);
  });

  it('softmax sums to one and is stable for large logits', () => {
    fc.assert(
      fc.property(fc.array(fc.float({ min: -1e4, max: 1e4, noNaN: true }), { minLength: 1, maxLength: 16 }), (xs) => {
        const out = new Float32Array(xs.length);
        softmax(Float32Array.from(xs), out);
        const sum = out.reduce((a, b) => a + b, 0);
        expect(sum).toBeCloseTo(1, 4);
        for (const p of out) expect(Number.isFinite(p)).toBe(true);
      }),
    );
  });
});

describe('trigger policy on a backend that writes probabilities', () => {
  // softmax(log p) = p: a policy fed a model's own probabilities must decide as one fed their
  // logarithms as logits (and never apply a second softmax, which squashes every class
  // towards 1/n so that nothing reaches a 0.5 threshold).
  it('decides as the logits policy does on their logarithms', () => {
    const cfg = triggerConfigSchema.parse({ targets: ['WBC'], threshold: 0.5, maxRatePerS: 1e7, burst: 1_000_000 });
    const weights = fc.tuple(fc.double({ min: 1e-3, max: 1, noNaN: true }), fc.double({ min: 1e-3, max: 1, noNaN: true }), fc.double({ min: 1e-3, max: 1, noNaN: true }));
    fc.assert(
      fc.property(fc.array(weights, { minLength: 1, maxLength: 50 }), (ws) => {
        const onProbs = new TriggerPolicy(cfg, LABELS, 1e6, { outputKind: 'probabilities' });
        const onLogits = new TriggerPolicy(cfg, LABELS, 1e6, { outputKind: 'logits' });
        const ring = new FrameRing(2, 3, 4);
        ws.forEach((w, i) => {
          const sum = w[0] + w[1] + w[2];
          const p = Float32Array.from(w, (v) => v / sum);
          const [a, b] = [ring.acquire(), ring.acquire()];
          for (const s of [a, b]) [s.stampsNs[STAMP_INGEST], s.dueNs, s.stampsNs[STAMP.infer]] = [1e9 + i * 1e3, 1e9 + i * 1e3, 1e9 + i * 1e3 + 10];
          a.logits.set(p);
          b.logits.set(Array.from(p, Math.log));
          onProbs.decide(a);
          onLogits.decide(b);
          for (let k = 0; k < 3; k++) expect(a.probs[k]).toBeCloseTo(b.probs[k]!, 5);
          if (Math.abs(p[1]! - 0.5) > 1e-5) expect(a.triggered).toBe(b.triggered);
          expect(a.triggered).toBe(p[1]! >= 0.5);
        });
      }),
    );
  });
});

describe('trigger policy reload (SIGHUP)', () => {
  const thresholdHoldoff = fc.record({ threshold: fc.double({ min: 0, max: 1, noNaN: true }), holdoffUs: fc.integer({ min: 0, max: 500 }) });

  it('decides the frames after a reload by the new threshold and hold-off, the hold-off counting from the last trigger before it', () => {
    fc.assert(
      fc.property(thresholdHoldoff, thresholdHoldoff, fc.array(frameArb, { maxLength: 150 }), fc.nat(150), (a, b, frames, at) => {
        const cfgOf = (c: { threshold: number; holdoffUs: number }) => triggerConfigSchema.parse({ targets: ['WBC'], ...c, maxRatePerS: 1e7, burst: 1_000_000 });
        const policy = new TriggerPolicy(cfgOf(a), LABELS, 1e6);
        const next = policy.prepare(cfgOf(b));
        expect(policy.threshold).toBe(a.threshold); // prepared, not yet in force
        const ring = new FrameRing(1, 3, 4);
        // An independent reading: frame i obeys a's settings before `at`, b's from then on.
        let lastTriggerNs = Number.NEGATIVE_INFINITY;
        let t = 1e9;
        frames.forEach((f, i) => {
          if (i === at) policy.apply(next);
          t += f.gapNs;
          const slot = ring.acquire();
          slot.dueNs = t;
          slot.stampsNs[STAMP_INGEST] = t;
          slot.stampsNs[STAMP.infer] = t + 1000;
          slot.logits.set(f.logits);
          policy.decide(slot);
          const c = i < at ? a : b;
          const want = slot.probs[1]! >= c.threshold && t + 1000 - lastTriggerNs >= c.holdoffUs * 1000;
          expect(slot.triggered).toBe(want);
          if (want) lastTriggerNs = t + 1000;
        });
      }),
    );
  });

  it('refuses a reload naming a target that is not a label, and keeps the settings in force', () => {
    const policy = new TriggerPolicy(triggerConfigSchema.parse({ targets: ['WBC'], threshold: 0.7 }), LABELS, 100);
    const before = policy.params;
    expect(() => policy.prepare(triggerConfigSchema.parse({ targets: ['Neutrophil'], threshold: 0.1 }))).toThrow(/E_CONFIG at trigger\.targets: "Neutrophil" is not a label/);
    expect(policy.params).toBe(before);
    expect(policy.threshold).toBe(0.7);
  });

  it('caps the token bucket at a lower burst from the reload on', () => {
    const cfg = (burst: number) => triggerConfigSchema.parse({ targets: ['WBC'], threshold: 0, maxRatePerS: 1, burst });
    const policy = new TriggerPolicy(cfg(5), LABELS, 1e6);
    policy.apply(policy.prepare(cfg(2)));
    const ring = new FrameRing(1, 3, 4);
    // Ten frames within a microsecond, every one a target: a bucket of 2 lets 2 through, not 5.
    let fired = 0;
    for (let i = 0; i < 10; i++) {
      const slot = ring.acquire();
      [slot.dueNs, slot.stampsNs[STAMP_INGEST], slot.stampsNs[STAMP.infer]] = [1e9 + i, 1e9 + i, 1e9 + i + 1];
      slot.logits.set([0, 5, 0]);
      policy.decide(slot);
      if (slot.triggered) fired++;
    }
    expect(fired).toBe(2);
  });
});

describe('per-class thresholds (trigger.thresholds, what calibrate writes)', () => {
  it('fires when any target reaches its own threshold, the global one elsewhere; decides on the most probable passing target', () => {
    const logitsArb = fc.tuple(fc.float({ min: -8, max: 8, noNaN: true }), fc.float({ min: -8, max: 8, noNaN: true }), fc.float({ min: -8, max: 8, noNaN: true }));
    const t = fc.double({ min: 0, max: 1, noNaN: true });
    fc.assert(
      fc.property(t, t, t, fc.array(logitsArb, { minLength: 1, maxLength: 50 }), (global, tWbc, tPlt, frames) => {
        const policy = new TriggerPolicy(triggerConfigSchema.parse({ targets: ['WBC', 'Platelets'], threshold: global, thresholds: { WBC: tWbc, Platelets: tPlt }, maxRatePerS: 1e7, burst: 1e6 }), LABELS, 1e6);
        const ring = new FrameRing(1, 3, 4);
        for (const l of frames) {
          const slot = ring.acquire();
          slot.dueNs = 0;
          slot.stampsNs[STAMP.infer] = 1;
          slot.logits.set(l);
          policy.decide(slot);
          const p = slot.probs;
          const passing = [[1, tWbc], [2, tPlt]].filter(([k, th]) => p[k!]! >= th!).map(([k]) => k!);
          expect(slot.triggered).toBe(passing.length > 0);
          if (passing.length > 0) expect(p[slot.predicted]).toBe(Math.max(...passing.map((k) => p[k]!)));
        }
      }),
    );
  });

  it('refuses a threshold for a class that is not a label; keeps one for a non-target class', () => {
    const mk = (thresholds: Record<string, number>) => new TriggerPolicy(triggerConfigSchema.parse({ targets: ['WBC'], thresholds }), LABELS, 100);
    expect(() => mk({ Neutrophil: 0.9 })).toThrow(/trigger\.thresholds\.Neutrophil.*not a label/);
    const p = mk({ WBC: 0.9, Platelets: 0.2 });
    expect(Array.from(p.params.thresholdOf)).toEqual([0.5, 0.9, 0.2]);
    expect(p.params.thresholds).toEqual({ WBC: 0.9, Platelets: 0.2 });
  });
});
