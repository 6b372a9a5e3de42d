import { z } from 'zod';
import { assert } from '../core/assert.js';
import { ConfigError } from '../core/errors.js';
import { STAMP, type FrameSlot } from '../core/frame.js';

export const triggerConfigSchema = z
  .object({
    /** Class labels that fire the trigger (e.g. [WBC] for a white-cell sorter); default: the
     * model card's `targets`. */
    targets: z.array(z.string().min(1)).min(1).optional(),
    /** Fire when the probability of any target class reaches this. */
    threshold: z.number().min(0).max(1).default(0.5),
    /** Per-class thresholds that replace `threshold` for the classes named (each a target):
     * what `hairtrigger calibrate --recall CLASS=R` writes (host/src/calibration/). */
    thresholds: z.record(z.string().min(1), z.number().min(0).max(1)).optional(),
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

/**
 * Where every decided frame went: each frame lands in exactly one of these or fires, so
 * `triggers + belowThreshold + nonTarget + late + holdoff + rateLimit` = frames decided.
 */
export interface PolicyCounters {
  /** On time, the predicted class is a target, but no target class reached the threshold. */
  suppressedBelowThreshold: number;
  /** On time, a target passed the threshold, but the hold-off since the last trigger had not. */
  suppressedHoldoff: number;
  /** On time, a target passed the threshold and the hold-off, but the token bucket was empty. */
  suppressedRate: number;
  /** Late with a target class past the threshold: would have fired (`slot.missed`). */
  suppressedLate: number;
  /** No target class reached the threshold and the predicted class is not a target (late or not). */
  nonTarget: number;
}

/** Indices into `TriggerPolicy.state`. */
const TOKENS = 0;
const LAST_REFILL = 1;
const LAST_TRIGGER = 2;

/** The reloadable settings of a policy, built whole off the hot path and swapped in one
 * assignment between frames (`TriggerPolicy.prepare`/`apply`). Never mutated once built. */
export interface PolicyParams {
  readonly targets: readonly string[];
  readonly isTarget: Uint8Array;
  readonly threshold: number;
  /** The threshold of each class (the global one where `thresholds` names none). */
  readonly thresholdOf: Float64Array;
  /** The per-class thresholds as configured (empty without). */
  readonly thresholds: Readonly<Record<string, number>>;
  readonly holdoffNs: number;
  readonly ratePerNs: number;
  readonly burst: number;
}

/**
 * The decision of each frame, synchronous and allocation-free: softmax of the logits (a
 * model's own probabilities are taken as they are), the
 * predicted class, lateness against the pipeline's budget measured from the frame's due
 * time (a frame already past its deadline when it reaches the policy is late: counted, never
 * triggered, since a late gate sorts the wrong cell), then threshold, hold-off and rate
 * limit. Every frame is counted once in `counters` or fires.
 */
export class TriggerPolicy {
  readonly counters: PolicyCounters = { suppressedBelowThreshold: 0, suppressedHoldoff: 0, suppressedRate: 0, suppressedLate: 0, nonTarget: 0 };
  /** Labelled frames suppressed by hold-off or rate limit, by true class (the snapshot's
   * `quality.targetsSuppressed` sums the target classes). */
  readonly suppressedByTruth: Float64Array;
  private readonly budgetNs: number;
  /** Targets, threshold, hold-off and rate: one reference, replaced whole on a reload (SIGHUP),
   * so a frame never sees half of an old config and half of a new one. */
  private p: PolicyParams;
  /** The bucket's tokens, the last refill and the last trigger (ns), in a typed array: a
   * double written to an object field whose representation went from small integer to
   * tagged is boxed on every write (16 bytes a frame); a typed array element never is. They
   * survive a reload: a new hold-off counts from the last trigger fired under the old one. */
  private readonly state = Float64Array.of(0, Number.NaN, Number.NEGATIVE_INFINITY);

  private readonly takesProbabilities: boolean;

  /** `opts.outputKind` is what the backend writes into `slot.logits` (its `info().outputKind`):
   * softmax is applied to logits only, never to a model's own probabilities. */
  constructor(
    cfg: TriggerConfig,
    private readonly labels: readonly string[],
    budgetUs: number,
    opts: { outputKind?: 'logits' | 'probabilities' } = {},
  ) {
    assert(budgetUs > 0, 'budget is positive');
    this.takesProbabilities = opts.outputKind === 'probabilities';
    this.suppressedByTruth = new Float64Array(labels.length);
    this.p = this.prepare(cfg);
    this.budgetNs = budgetUs * 1000;
    this.state[TOKENS] = cfg.burst;
  }

  /** The settings in force (read-only). */
  get params(): PolicyParams {
    return this.p;
  }

  /** The probability threshold in force. */
  get threshold(): number {
    return this.p.threshold;
  }

  /**
   * Checks `cfg` against the model's labels and builds its settings without applying them
   * (a reload validates the whole new config before anything changes). Throws `ConfigError`
   * naming `trigger.targets` for a target that is not a label.
   */
  prepare(cfg: TriggerConfig): PolicyParams {
    const isTarget = new Uint8Array(this.labels.length);
    if (cfg.targets === undefined) throw new ConfigError('trigger.targets', `missing, and the model card names no default targets; labels are ${this.labels.join(', ')}`);
    for (const t of cfg.targets) {
      const k = this.labels.indexOf(t);
      if (k < 0) throw new ConfigError('trigger.targets', `"${t}" is not a label of the model; labels are ${this.labels.join(', ')}`);
      isTarget[k] = 1;
    }
    const thresholdOf = new Float64Array(this.labels.length).fill(cfg.threshold);
    for (const [cls, t] of Object.entries(cfg.thresholds ?? {})) {
      const k = this.labels.indexOf(cls);
      // A class that is not a target keeps its threshold for when it becomes one (a control
      // change of the targets must not fail on it); only a name that is no label is refused.
      if (k < 0) throw new ConfigError(`trigger.thresholds.${cls}`, `"${cls}" is not a label of the model; labels are ${this.labels.join(', ')}`);
      thresholdOf[k] = t;
    }
    return Object.freeze({ targets: [...cfg.targets], isTarget, threshold: cfg.threshold, thresholdOf, thresholds: Object.freeze({ ...(cfg.thresholds ?? {}) }), holdoffNs: cfg.holdoffUs * 1000, ratePerNs: cfg.maxRatePerS / 1e9, burst: cfg.burst });
  }

  /**
   * Puts settings from `prepare` in force for the next frame. Call between frames (any
   * event-loop callback other than the synchronous push is). The token bucket keeps its
   * tokens, capped at the new burst at its next refill.
   */
  apply(params: PolicyParams): void {
    this.p = params;
    if (this.state[TOKENS] > params.burst) this.state[TOKENS] = params.burst;
  }

  /**
   * Decides `slot` (whose logits the backend wrote and whose `dueNs` the source set): fills
   * probs, predicted, score, late, missed, triggered. The policy's clock is the slot's
   * inference-end stamp, the moment the frame reaches it. `slot.score` is the probability
   * of the class that decides: the best target class when one passes the threshold, else
   * the predicted class.
   */
  decide(slot: FrameSlot): void {
    if (!this.classify(slot)) return;
    const nowNs = slot.stampsNs[STAMP.infer];
    const holdoffNs = this.p.holdoffNs;
    if (holdoffNs > 0 && nowNs - this.state[LAST_TRIGGER] < holdoffNs) {
      this.counters.suppressedHoldoff++;
      this.countSuppressed(slot);
      return;
    }
    this.refill(slot);
    if (this.state[TOKENS] < 1) {
      this.counters.suppressedRate++;
      this.countSuppressed(slot);
      return;
    }
    this.state[TOKENS] -= 1;
    this.state[LAST_TRIGGER] = nowNs;
    slot.triggered = true;
  }

  /**
   * Decides a frame the device already decided and fired on (autonomous FPGA mode): as
   * `decide`, but without hold-off and rate limit, which would suppress in the log
   * triggers the hardware did fire. Lateness and the threshold still apply.
   */
  decideDeviceEvent(slot: FrameSlot): void {
    if (!this.classify(slot)) return;
    this.state[LAST_TRIGGER] = slot.stampsNs[STAMP.infer];
    slot.triggered = true;
  }

  /**
   * Softmax, prediction, lateness and threshold. True when the frame is on time and a
   * target class passed the threshold (it may fire); otherwise counts why not.
   */
  private classify(slot: FrameSlot): boolean {
    const probs = slot.probs;
    const isTarget = this.p.isTarget;
    const thresholdOf = this.p.thresholdOf;
    if (this.takesProbabilities) copyProbs(slot.logits, probs);
    else softmax(slot.logits, probs);
    let best = 0;
    // The most probable target class among those that pass their own threshold (with one
    // threshold for all: the most probable target, when it passes).
    let bestTarget = -1;
    for (let k = 0; k < probs.length; k++) {
      if (probs[k] > probs[best]) best = k;
      if (isTarget[k] === 1 && probs[k] >= thresholdOf[k] && (bestTarget < 0 || probs[k] > probs[bestTarget])) bestTarget = k;
    }
    slot.predicted = best;
    slot.score = probs[best];
    slot.triggered = false;
    assert(slot.dueNs === slot.dueNs, 'the source set the frame due time');
    slot.late = slot.stampsNs[STAMP.infer] - slot.dueNs > this.budgetNs;
    const passes = bestTarget >= 0;
    slot.missed = slot.late && passes;
    if (!passes) {
      if (isTarget[best] === 1) this.counters.suppressedBelowThreshold++;
      else this.counters.nonTarget++;
      return false;
    }
    slot.score = probs[bestTarget];
    slot.predicted = bestTarget;
    if (slot.late) {
      this.counters.suppressedLate++;
      return false;
    }
    return true;
  }

  private countSuppressed(slot: FrameSlot): void {
    const t = slot.label;
    if (t >= 0 && t < this.suppressedByTruth.length) this.suppressedByTruth[t]++;
  }

  /** Refills the token bucket up to the slot's policy time. Takes the slot, not the time: a
   * double passed to a call V8 does not inline is boxed (16 bytes a frame). */
  private refill(slot: FrameSlot): void {
    const nowNs = slot.stampsNs[STAMP.infer];
    const st = this.state;
    const p = this.p;
    if (Number.isNaN(st[LAST_REFILL])) st[LAST_REFILL] = nowNs;
    // Frames reach the policy in order, but their stamps need not be monotonic across slots
    // of different sources: a stamp earlier than the last refill adds nothing.
    if (nowNs <= st[LAST_REFILL]) return;
    const t = st[TOKENS] + (nowNs - st[LAST_REFILL]) * p.ratePerNs;
    st[TOKENS] = t > p.burst ? p.burst : t;
    st[LAST_REFILL] = nowNs;
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
