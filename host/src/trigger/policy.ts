import { z } from 'zod';
import { assert } from '../core/assert.js';
import { ConfigError } from '../core/errors.js';
import { STAMP, STAMP_INGEST, type FrameSlot } from '../core/frame.js';

export const triggerConfigSchema = z
  .object({
    /** Class labels that fire the trigger (e.g. [WBC] for a white-cell sorter). */
    targets: z.array(z.string().min(1)).min(1),
    /** Fire when the probability of any target class reaches this. */
    threshold: z.number().min(0).max(1).default(0.5),
    /** After a trigger, no other fires for this long (the actuator's dead time). */
    holdoffUs: z.number().min(0).max(60e6).default(0),
    /** Token bucket refill rate: the long-run maximum triggers per second. */
    maxRatePerS: z.number().positive().max(1e7).default(1e6),
    /** Token bucket capacity: triggers allowed back to back. In any interval of T seconds at
     * most `burst + maxRatePerS * T` triggers fire. */
    burst: z.number().int().min(1).max(1e6).default(1),
  })
  .strict();
export type TriggerConfig = z.infer<typeof triggerConfigSchema>;

/** Why frames did not fire although a target class passed the threshold. */
export interface PolicyCounters {
  suppressedHoldoff: number;
  suppressedRate: number;
}

/**
 * The decision of each frame, synchronous and allocation-free: softmax of the logits (a
 * model's own probabilities are taken as they are), the
 * predicted class, lateness against the pipeline's budget (a frame already past its
 * deadline when it reaches the policy is late: counted, never triggered, since a late gate
 * sorts the wrong cell), then threshold, hold-off and rate limit.
 */
export class TriggerPolicy {
  readonly counters: PolicyCounters = { suppressedHoldoff: 0, suppressedRate: 0 };
  private readonly isTarget: Uint8Array;
  private readonly budgetNs: number;
  private readonly holdoffNs: number;
  private readonly ratePerNs: number;
  private readonly burst: number;
  private tokens: number;
  private lastRefillNs = Number.NaN;
  private lastTriggerNs = Number.NEGATIVE_INFINITY;
  threshold: number;

  private readonly takesProbabilities: boolean;

  /** `opts.outputKind` is what the backend writes into `slot.logits` (its `info().outputKind`):
   * softmax is applied to logits only, never to a model's own probabilities. */
  constructor(cfg: TriggerConfig, labels: readonly string[], budgetUs: number, opts: { outputKind?: 'logits' | 'probabilities' } = {}) {
    assert(budgetUs > 0, 'budget is positive');
    this.takesProbabilities = opts.outputKind === 'probabilities';
    this.isTarget = new Uint8Array(labels.length);
    for (const t of cfg.targets) {
      const k = labels.indexOf(t);
      if (k < 0) throw new ConfigError('trigger.targets', `"${t}" is not a label of the model; labels are ${labels.join(', ')}`);
      this.isTarget[k] = 1;
    }
    this.threshold = cfg.threshold;
    this.budgetNs = budgetUs * 1000;
    this.holdoffNs = cfg.holdoffUs * 1000;
    this.ratePerNs = cfg.maxRatePerS / 1e9;
    this.burst = cfg.burst;
    this.tokens = cfg.burst;
  }

  /**
   * Decides `slot` (whose logits the backend wrote): fills probs, predicted, score, late,
   * triggered. The policy's clock is the slot's inference-end stamp, the moment the frame
   * reaches it. `slot.score` is the probability of the class that decides: the best target
   * class when one passes the threshold, else the predicted class.
   */
  decide(slot: FrameSlot): void {
    const nowNs = slot.stampsNs[STAMP.infer];
    const probs = slot.probs;
    if (this.takesProbabilities) copyProbs(slot.logits, probs);
    else softmax(slot.logits, probs);
    let best = 0;
    let bestTarget = -1;
    for (let k = 0; k < probs.length; k++) {
      if (probs[k] > probs[best]) best = k;
      if (this.isTarget[k] === 1 && (bestTarget < 0 || probs[k] > probs[bestTarget])) bestTarget = k;
    }
    slot.predicted = best;
    slot.score = probs[best];
    slot.triggered = false;
    slot.late = nowNs - slot.stampsNs[STAMP_INGEST] > this.budgetNs;
    if (slot.late) return;
    if (bestTarget < 0 || probs[bestTarget] < this.threshold) return;
    slot.score = probs[bestTarget];
    slot.predicted = bestTarget;
    if (this.holdoffNs > 0 && nowNs - this.lastTriggerNs < this.holdoffNs) {
      this.counters.suppressedHoldoff++;
      return;
    }
    this.refill(nowNs);
    if (this.tokens < 1) {
      this.counters.suppressedRate++;
      return;
    }
    this.tokens -= 1;
    this.lastTriggerNs = nowNs;
    slot.triggered = true;
  }

  private refill(nowNs: number): void {
    if (Number.isNaN(this.lastRefillNs)) this.lastRefillNs = nowNs;
    // Frames reach the policy in order, but their stamps need not be monotonic across slots
    // of different sources: a stamp earlier than the last refill adds nothing.
    if (nowNs <= this.lastRefillNs) return;
    const t = this.tokens + (nowNs - this.lastRefillNs) * this.ratePerNs;
    this.tokens = t > this.burst ? this.burst : t;
    this.lastRefillNs = nowNs;
  }
}

/** A model's own probabilities, taken as they are. Never allocates. */
function copyProbs(from: Float32Array, out: Float32Array): void {
  for (let k = 0; k < from.length; k++) out[k] = from[k];
}

/** Numerically stable softmax of `logits` into `out`. Never allocates. */
export function softmax(logits: Float32Array, out: Float32Array): void {
  let max = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < logits.length; k++) if (logits[k] > max) max = logits[k];
  let sum = 0;
  for (let k = 0; k < logits.length; k++) {
    const e = Math.exp(logits[k] - max);
    out[k] = e;
    sum += e;
  }
  for (let k = 0; k < logits.length; k++) out[k] /= sum;
}
