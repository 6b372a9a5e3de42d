import { argmax, margin, normalisedEntropy } from '../cascade/uncertainty.js';
import { assert } from '../core/assert.js';
import type { FrameSlot } from '../core/frame.js';
import type { CalibrationView } from '../server/api-types.js';
import type { CalibrationFile } from './calibration-file.js';
import { ksPValue, ksStatistic } from './ks.js';

/** How the drift watch runs (config `calibration`). */
export interface DriftSettings {
  /** Live top scores in the sliding window the test reads. */
  windowFrames: number;
  /** Significance level of each check: drift when the p-value is below it. */
  driftAlpha: number;
}

/**
 * A calibration at work in the daemon. On the hot path (`record`, from the metrics' per-frame
 * count) it writes each frame's top score into a preallocated ring and, for a labelled frame,
 * counts each calibrated rate at the calibration's thresholds: a recall class's frames that
 * pass its threshold, or the non-target frames on which any target passes. (A streaming
 * detector's calibration speaks of clips, not hops: its rates are measured by replaying
 * labelled streams and scoring the triggers, `hairtrigger score-keywords`; a keyword stream's
 * hops carry no labels, so only the drift watch runs on them.) Nothing there
 * allocates. Off the hot path (`read`, at snapshot time) it sorts a copy of the window into a
 * preallocated array and runs the two-sample Kolmogorov-Smirnov test against the
 * calibration's top scores.
 *
 * The rates are measured at the calibrated thresholds, before hold-off, rate limit and
 * lateness, which only remove triggers: that is what the conformal guarantee speaks of. A
 * calibrated cascade cut is counted the same way, at the cut, before the queue (a frame the full
 * queue drops was still under the cut): every frame for a `send` promise, the labelled frames
 * the student gets wrong (its top-1 is not the label) for a `catch` promise.
 */
export class CalibrationMonitor {
  private readonly classes: number;
  private readonly kinds: Uint8Array; // 0 recall, 1 false rate
  private readonly mask: Uint8Array; // the target's classes, `classes` entries per target
  private readonly thr: Float64Array;
  private readonly labelled: Float64Array;
  private readonly passed: Float64Array;
  private readonly ring: Float64Array;
  private readonly scratch: Float64Array;
  private readonly reference: Float64Array;
  /** The cascade cut's promise (`file.cascade`): 0 margin / 1 entropy, its value, 0 catch / 1
   * send; the frames it counts (every frame, or the labelled frames the student gets wrong) and
   * those the cut sends. */
  private readonly cutOn: number;
  private readonly cutValue: number;
  private readonly cutSend: boolean;
  private cutFrames = 0;
  private cutSent = 0;
  private next = 0;
  private filled = 0;
  private checks = 0;
  private flagged = 0;

  constructor(private readonly file: CalibrationFile, private readonly path: string, labels: readonly string[], private readonly drift: DriftSettings) {
    assert(drift.windowFrames > 0 && drift.driftAlpha > 0 && drift.driftAlpha < 1, 'drift watch over a window at a level in (0, 1)');
    this.classes = labels.length;
    const n = file.targets.length;
    this.kinds = new Uint8Array(n);
    this.mask = new Uint8Array(n * this.classes);
    this.thr = new Float64Array(n);
    this.labelled = new Float64Array(n);
    this.passed = new Float64Array(n);
    for (const [j, t] of file.targets.entries()) {
      this.thr[j] = t.threshold;
      this.kinds[j] = t.kind === 'recall' ? 0 : 1;
      for (const c of t.classes) {
        const k = labels.indexOf(c);
        assert(k >= 0, 'a calibration file read against these labels names only labels');
        this.mask[j * this.classes + k] = 1;
      }
    }
    this.ring = new Float64Array(drift.windowFrames);
    this.scratch = new Float64Array(drift.windowFrames);
    this.reference = Float64Array.from(file.reference.sorted);
    const cut = file.cascade;
    this.cutOn = cut === undefined ? -1 : cut.on === 'margin' ? 0 : 1;
    this.cutValue = cut?.value ?? 0;
    this.cutSend = cut?.promise === 'send';
  }

  /** Counts one decided frame (its `probs` and `label`). Never allocates. */
  record(slot: FrameSlot): void {
    if (slot.predicted < 0) return;
    const probs = slot.probs;
    let top = 0;
    for (let k = 0; k < probs.length; k++) if (probs[k] > top) top = probs[k];
    this.ring[this.next] = top;
    this.next = this.next + 1 === this.ring.length ? 0 : this.next + 1;
    if (this.filled < this.ring.length) this.filled++;
    const t = slot.label;
    if (this.cutOn >= 0 && (this.cutSend || (t >= 0 && t < this.classes && argmax(probs) !== t))) {
      this.cutFrames++;
      if (this.cutOn === 0 ? margin(probs) < this.cutValue : normalisedEntropy(probs) > this.cutValue) this.cutSent++;
    }
    if (t < 0 || t >= this.classes) return;
    for (let j = 0; j < this.thr.length; j++) {
      const base = j * this.classes;
      if (this.kinds[j] === 0) {
        // Recall: a frame of one of the classes passes on its own class's score.
        if (this.mask[base + t] !== 1) continue;
        this.labelled[j]++;
        if (probs[t] >= this.thr[j]) this.passed[j]++;
      } else {
        if (this.mask[base + t] === 1) continue;
        this.labelled[j]++;
        for (let k = 0; k < this.classes; k++) {
          if (this.mask[base + k] === 1 && probs[k] >= this.thr[j]) {
            this.passed[j]++;
            break;
          }
        }
      }
    }
  }

  /** The snapshot's `calibration`: every rate beside its target, and one drift check of the
   * window as it is now (none before the window is full). */
  read(): CalibrationView {
    const targets = this.file.targets.map((t, j) => ({
      kind: t.kind, classes: [...t.classes], target: t.target, threshold: t.threshold, bound: t.bound, n: t.n,
      labelled: this.labelled[j]!, passed: this.passed[j]!, achieved: this.labelled[j]! > 0 ? this.passed[j]! / this.labelled[j]! : null,
    }));
    let statistic: number | null = null;
    let pValue: number | null = null;
    if (this.filled === this.ring.length) {
      this.scratch.set(this.ring);
      this.scratch.sort();
      statistic = ksStatistic(this.scratch, this.filled, this.reference, this.reference.length);
      pValue = ksPValue(statistic, this.filled, this.reference.length);
      this.checks++;
      if (pValue < this.drift.driftAlpha) this.flagged++;
    }
    const c = this.file.cascade;
    const cascade = c === undefined ? null : { on: c.on, cut: c.value, promise: c.promise, target: c.target, bound: c.bound, n: c.n, frames: this.cutFrames, sent: this.cutSent, achieved: this.cutFrames > 0 ? this.cutSent / this.cutFrames : null };
    return {
      file: this.path, method: this.file.method, createdAt: this.file.createdAt, data: this.file.data.source, targets, cascade,
      drift: {
        score: 'top', per: this.file.reference.per ?? 'frame', test: 'ks', windowFrames: this.ring.length, frames: this.filled, referenceN: this.reference.length,
        statistic, pValue, alpha: this.drift.driftAlpha, drift: pValue !== null && pValue < this.drift.driftAlpha, checks: this.checks, flaggedChecks: this.flagged,
      },
    };
  }

  /** Forgets the counts and the window (a metrics reset). */
  reset(): void {
    this.labelled.fill(0);
    this.passed.fill(0);
    this.cutFrames = 0;
    this.cutSent = 0;
    this.filled = 0;
    this.next = 0;
  }
}
