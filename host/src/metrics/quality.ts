/**
 * Purity, yield and live agreement: counted per frame in typed arrays (no allocation), read
 * off the hot path into the snapshot's `quality` and `agreement`.
 */
import { assert } from '../core/assert.js';
import type { FrameSlot } from '../core/frame.js';
import type { LiveAgreement, TriggerQuality } from '../server/api-types.js';

/** Labelled frames, triggers and late frames by true class. */
export class TruthCounts {
  readonly labelled: Float64Array;
  readonly triggers: Float64Array;
  readonly late: Float64Array;

  constructor(readonly classes: number) {
    this.labelled = new Float64Array(classes);
    this.triggers = new Float64Array(classes);
    this.late = new Float64Array(classes);
  }

  /** Counts a frame that completed the hot path (its final `triggered`). Never allocates. */
  record(slot: FrameSlot): void {
    const t = slot.label;
    if (t < 0 || t >= this.classes) return;
    this.labelled[t]++;
    if (slot.triggered) this.triggers[t]++;
    if (slot.late) this.late[t]++;
  }

  /**
   * The snapshot's `quality` for the targets in force (a reload that changes them re-reads
   * every count with the new targets); `suppressedByTruth` is the policy's. Null before any
   * labelled frame (an unlabelled stream).
   */
  quality(labels: readonly string[], targets: readonly string[], suppressedByTruth: ArrayLike<number>): TriggerQuality | null {
    const labelled = sum(this.labelled);
    if (labelled === 0) return null;
    const isTarget = labels.map((l) => targets.includes(l));
    const overTargets = (a: ArrayLike<number>) => labels.reduce((n, _, k) => n + (isTarget[k] ? a[k] : 0), 0);
    const triggers = sum(this.triggers);
    const targetFrames = overTargets(this.labelled);
    const onTargets = overTargets(this.triggers);
    return {
      labelled,
      targets: targetFrames,
      triggers,
      triggersOnTargets: onTargets,
      purity: triggers > 0 ? onTargets / triggers : 0,
      yield: targetFrames > 0 ? onTargets / targetFrames : 0,
      targetsMissedLate: overTargets(this.late),
      targetsSuppressed: overTargets(suppressedByTruth),
      triggersByTruth: Object.fromEntries(labels.map((l, k) => [l, this.triggers[k]])),
    };
  }

  reset(): void {
    this.labelled.fill(0);
    this.triggers.fill(0);
    this.late.fill(0);
  }
}

function sum(a: ArrayLike<number>): number {
  let n = 0;
  for (let k = 0; k < a.length; k++) n += a[k];
  return n;
}

/** Snapshots of the cumulative counts kept for the recent window (4 Hz over 5 s is 20). */
const SAMPLES = 64;

/**
 * Top-1 agreement of the primary model (argmax of `slot.probs`) with an extra model of the
 * same labels (argmax of its probabilities in `slot.aux` at `offset`), over frames both
 * decided (the extra model writes NaN where its preprocessing could not use the frame).
 */
export class AgreementCounter {
  frames = 0;
  agreed = 0;
  /** (ns, frames, agreed) at each `read`, a ring: the recent window's start. */
  private readonly samples = new Float64Array(SAMPLES * 3);
  private next = 0;
  private held = 0;

  constructor(
    readonly other: string,
    private readonly offset: number,
    private readonly classes: number,
    private readonly windowS: number,
  ) {
    assert(classes > 0 && offset >= 0 && windowS > 0, 'agreement over a model with classes and a window');
  }

  /** Counts one frame. Never allocates. */
  record(slot: FrameSlot): void {
    const a = slot.aux;
    const o = this.offset;
    if (slot.predicted < 0 || Number.isNaN(a[o])) return;
    let mine = 0;
    let theirs = 0;
    for (let k = 1; k < this.classes; k++) {
      if (slot.probs[k] > slot.probs[mine]) mine = k;
      if (a[o + k] > a[o + theirs]) theirs = k;
    }
    this.frames++;
    if (mine === theirs) this.agreed++;
  }

  /** The snapshot's `agreement` at monotonic `nowNs` (one sample kept per call); `recent`
   * is over the frames since the newest sample at least `windowS` old (since start before
   * there is one). */
  read(nowNs: number): LiveAgreement {
    let baseFrames = 0;
    let baseAgreed = 0;
    for (let j = 0; j < this.held; j++) {
      const i = ((this.next - 1 - j + SAMPLES) % SAMPLES) * 3;
      if (nowNs - this.samples[i] >= this.windowS * 1e9 || j === SAMPLES - 1) {
        baseFrames = this.samples[i + 1];
        baseAgreed = this.samples[i + 2];
        break;
      }
    }
    const df = this.frames - baseFrames;
    const i = this.next * 3;
    this.samples[i] = nowNs;
    this.samples[i + 1] = this.frames;
    this.samples[i + 2] = this.agreed;
    this.next = (this.next + 1) % SAMPLES;
    this.held = Math.min(this.held + 1, SAMPLES);
    return { other: this.other, frames: this.frames, agreed: this.agreed, recent: df > 0 ? (this.agreed - baseAgreed) / df : 0, windowS: this.windowS };
  }
}
