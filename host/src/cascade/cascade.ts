import * as hdr from 'hdr-histogram-js';
import { assert } from '../core/assert.js';
import type { Clock } from '../core/clock.js';
import { FrameRing, STAMP, copyFrameHeader, frameIdString, type FrameSlot } from '../core/frame.js';
import { limits } from '../core/limits.js';
import { copyInto } from '../backends/firmware.js';
import { summariseUs } from '../metrics/latency-summary.js';
import type { CascadeSnapshot } from '../server/api-types.js';
import { HELD_STUDENT, HELD_TEACHER, type TriggerRing } from '../sinks/trigger-ring.js';
import { softmax, type PolicyParams } from '../trigger/policy.js';
import type { CascadeAnswerRow } from '../sinks/sink.js';
import type { AnswersLog } from './answers-log.js';
import type { Cut } from './cut.js';
import type { TeacherAnswer, TeacherQueue } from './teacher-queue.js';
import type { StreamPreprocessor } from '../preprocess/stream-preprocessor.js';
import { argmax, margin, normalisedEntropy } from './uncertainty.js';

/** What a cascade is built with besides its queue (the daemon's composition root gives it). */
export interface CascadeParts {
  /** `<task>/<variant>` of the teacher. */
  teacher: string;
  cut: Cut;
  replace: boolean;
  labels: readonly string[];
  /** The teacher writes probabilities (a Softmax output) rather than logits. */
  teacherTakesProbabilities: boolean;
  /** Inputs of the student's own a frame carries first in `slot.inputs` (the teacher takes the same). */
  inputs: number;
  budgetUs: number;
  clock: Clock;
  /** The recent window of `sentPerS` and `agreementRecent`. */
  windowS: number;
  /** The policy's targets and threshold in force (a held trigger is decided with them). */
  policy: () => PolicyParams;
  /** Where released held triggers go (replace). */
  ring: TriggerRing;
  /** The frame ring's size: `offer` keys its mark by `slot.index`. */
  frameSlots: number;
  /** Whether the frame in flight went to the student as the camera's bytes (firmware that
   * preprocesses: `pipeline/pixel-path.ts`), its float inputs never written; then `offer`
   * writes them for a frame it sends, straight into the queue slot, with `pre`. Null: the
   * slot's inputs are always written. */
  pixels?: { route: () => boolean; pre: StreamPreprocessor } | null;
}

/** Indices of `Cascade.counts` (a typed array: no double is boxed on the hot path). */
const UNSURE = 0;
const DROPPED = 1;
const DEPTH_MAX = 2;
const ANSWERED = 3;
const FAILED = 4;
const AGREED = 5;
const BY_TEACHER = 6;
const BY_STUDENT = 7;
/** Scratch: the uncertainty of the frame in hand. */
const U = 8;
/** replace: held triggers waiting for their answer or their budget. */
const HELD = 9;

const HELD_EMPTY = 0;
const HELD_WAITING = 1;

/** Snapshots of the cumulative counts kept for the recent window (4 Hz over 5 s is 20). */
const SAMPLES = 64;

/**
 * The cascade to the teacher. On the hot path (`offer`, after the policy; `holds`, in the emit
 * stage) it measures the student's uncertainty, copies an unsure frame's inputs into the
 * teacher's bounded queue (or counts it dropped when the queue is full) and, with `replace`,
 * keeps a copy of the frame's decision instead of writing its trigger: nothing there allocates
 * or waits. Off the hot path (`join`, on the worker's nudge and the flush timer) it joins each
 * answer with its frame by send position: agreement, teacher latency (from the frame's due
 * time to the join), the answers file, and a held trigger released with the teacher's
 * decision when the answer came within the budget, else with the student's (`expire` releases
 * those whose budget ran out before any answer). A trigger record is written once, never
 * rewritten; a frame that was not sent is never held, so cells and keywords (no `replace`)
 * never wait.
 */
export class Cascade {
  readonly counts = new Float64Array(10);
  private readonly n: number;
  private readonly budgetNs: number;
  /** Per frame slot: the send position of the frame in it, -1 when it was not sent. */
  private readonly sentAt: Float64Array;
  /** Per queue slot (send position % n): what the frame was when sent. */
  private readonly seq: Float64Array;
  private readonly dueNs: Float64Array;
  private readonly uncertainty: Float64Array;
  private readonly studentClass: Int16Array;
  private readonly studentProbs: Float32Array;
  private readonly ids: Uint32Array;
  private readonly idKnown: Uint8Array;
  /** Per queue slot: 1 when the frame's trigger record (a trigger or a missed detection) was
   * decided at the policy, so its answer can follow it (`onAnswerRow`). */
  private readonly recorded: Uint8Array;
  /** replace: per queue slot, the held copy of the frame's decision and whether it waits. */
  private readonly held: readonly FrameSlot[];
  private readonly heldState: Uint8Array;
  private readonly teacherProbs: Float32Array;
  private readonly latency = histogram();
  private readonly infer = histogram();
  private latencySumNs = 0;
  private inferSumNs = 0;
  private readonly samples = new Float64Array(SAMPLES * 4);
  private sampleNext = 0;
  private sampleHeld = 0;
  private readonly onAnswer = (a: TeacherAnswer): void => this.answered(a);
  /** The answers file (config `cascade.answers`), opened with the sinks; null without one. */
  answers: AnswersLog | null = null;

  constructor(readonly queue: TeacherQueue, private readonly p: CascadeParts) {
    const n = queue.queueFrames;
    const classes = p.labels.length;
    assert(p.cut.value >= 0 && p.cut.value <= 1 && p.budgetUs > 0, 'a cut in [0, 1] and a budget');
    assert(p.pixels == null || (p.pixels.pre.write !== undefined && p.inputs === 1), 'the pixel route is of a stateless one-input preprocessor');
    this.n = n;
    this.budgetNs = p.budgetUs * 1000;
    this.sentAt = new Float64Array(p.frameSlots).fill(-1);
    this.seq = new Float64Array(n);
    this.dueNs = new Float64Array(n);
    this.uncertainty = new Float64Array(n);
    this.studentClass = new Int16Array(n);
    this.studentProbs = new Float32Array(n * classes);
    this.ids = new Uint32Array(2 * n);
    this.idKnown = new Uint8Array(n);
    this.recorded = new Uint8Array(n);
    this.held = p.replace ? new FrameRing(1, classes, n).slots : [];
    this.heldState = new Uint8Array(p.replace ? n : 0);
    this.teacherProbs = new Float32Array(classes);
  }

  /**
   * Sends `slot` to the teacher when the student is unsure of it (its `probs`, written by the
   * policy, past the cut) and the queue has room; counts it dropped when it has none. Hot
   * path: no allocation, no wait.
   */
  offer(slot: FrameSlot): void {
    this.sentAt[slot.index] = -1;
    const c = this.counts;
    const probs = slot.probs;
    if (this.p.cut.kind === 'margin') {
      c[U] = margin(probs);
      if (!(c[U] < this.p.cut.value)) return;
    } else {
      c[U] = normalisedEntropy(probs);
      if (!(c[U] > this.p.cut.value)) return;
    }
    c[UNSURE]++;
    const xs = this.queue.nextInputs();
    if (xs === null) {
      c[DROPPED]++;
      return;
    }
    // A frame the firmware took as pixels has no float inputs: only a frame sent pays for them.
    const px = this.p.pixels;
    if (px != null && px.route()) px.pre.write!(slot, xs, 0);
    else for (let k = 0; k < this.p.inputs; k++) copyInto(xs[k], slot.inputs[k]);
    const sent = this.queue.sent;
    const j = sent % this.n;
    this.seq[j] = slot.seq;
    this.dueNs[j] = slot.dueNs;
    this.uncertainty[j] = c[U];
    this.studentClass[j] = argmax(probs);
    const classes = probs.length;
    for (let k = 0; k < classes; k++) this.studentProbs[j * classes + k] = probs[k];
    this.ids[2 * j] = slot.idHi;
    this.ids[2 * j + 1] = slot.idLo;
    this.idKnown[j] = slot.idKnown ? 1 : 0;
    this.recorded[j] = slot.triggered || slot.missed ? 1 : 0;
    this.sentAt[slot.index] = sent;
    this.queue.submit();
    if (this.queue.outstanding > c[DEPTH_MAX]) c[DEPTH_MAX] = this.queue.outstanding;
  }

  /**
   * The emit stage's question for each frame: with `replace`, a frame sent to the teacher (and
   * on time) has its decision copied and held here instead of written now (true: the emit
   * stage writes nothing for it). Hot path: a copy into a preallocated slot.
   */
  holds(slot: FrameSlot): boolean {
    if (!this.p.replace || slot.late) return false;
    const s = this.sentAt[slot.index];
    if (s < 0) return false;
    const j = s % this.n;
    const h = this.held[j];
    copyFrameHeader(slot, h);
    h.predicted = slot.predicted;
    h.score = slot.score;
    h.probs.set(slot.probs);
    h.late = false;
    h.triggered = slot.triggered;
    h.missed = false;
    this.heldState[j] = HELD_WAITING;
    this.counts[HELD]++;
    return true;
  }

  /** replace: held triggers waiting now (for their answer or the end of their budget). */
  get heldWaiting(): number {
    return this.counts[HELD];
  }

  /** replace: the monotonic ns at which the oldest held trigger's budget runs out (Infinity
   * when none waits): when `expire` must run next. Off the hot path. */
  heldDeadlineNs(): number {
    let at = Number.POSITIVE_INFINITY;
    for (let s = this.queue.joined; s < this.queue.sent; s++) {
      const j = s % this.n;
      if (this.heldState.length > 0 && this.heldState[j] === HELD_WAITING) at = Math.min(at, this.dueNs[j] + this.budgetNs);
    }
    return at;
  }

  /** Joins every answer the teacher has written since the last call. Off the hot path. */
  join(): number {
    const n = this.queue.join(this.onAnswer);
    for (const message of this.queue.failures.splice(0)) this.onFailure?.(message);
    return n;
  }

  /** Called with the message of each failed teacher run (the daemon counts it as an error). */
  onFailure: ((message: string) => void) | null = null;

  /** Called, off the hot path, with the teacher's answer on each frame sent whose trigger
   * record was written without it (not held): the Arrow trigger log's follow-up row. A failed
   * teacher run has none (it is counted `failed`). */
  onAnswerRow: ((row: CascadeAnswerRow) => void) | null = null;

  /** Releases, with the student's decision, every held trigger whose budget ran out before its
   * answer came (`nowNs` monotonic). Off the hot path (the flush timer). */
  expire(nowNs: number): void {
    for (let s = this.queue.joined; s < this.queue.sent; s++) {
      const j = s % this.n;
      if (this.heldState.length > 0 && this.heldState[j] === HELD_WAITING && nowNs - this.dueNs[j] > this.budgetNs) this.release(j, false, -1);
    }
  }

  /** Releases every held trigger with the student's decision (the daemon stops; answers that
   * come later are not joined). */
  releaseAll(): void {
    for (let s = this.queue.joined; s < this.queue.sent; s++) {
      const j = s % this.n;
      if (this.heldState.length > 0 && this.heldState[j] === HELD_WAITING) this.release(j, false, -1);
    }
  }

  private answered(a: TeacherAnswer): void {
    const j = a.sent % this.n;
    const c = this.counts;
    const nowNs = this.p.clock.nowNs();
    const latencyNs = nowNs - this.dueNs[j];
    const within = latencyNs <= this.budgetNs;
    c[ANSWERED]++;
    let teacherClass = -1;
    if (a.ok) {
      if (this.p.teacherTakesProbabilities) this.teacherProbs.set(a.output);
      else softmax(a.output, this.teacherProbs);
      teacherClass = argmax(this.teacherProbs);
      if (teacherClass === this.studentClass[j]) c[AGREED]++;
      record(this.latency, latencyNs);
      record(this.infer, a.inferNs);
      this.latencySumNs += Math.max(0, latencyNs);
      this.inferSumNs += a.inferNs;
    } else c[FAILED]++;
    let decidedBy: 'teacher' | 'student' | null = null;
    if (this.heldState.length > 0 && this.heldState[j] === HELD_WAITING) {
      const byTeacher = a.ok && within;
      this.release(j, byTeacher, teacherClass);
      decidedBy = byTeacher ? 'teacher' : 'student';
    } else if (a.ok && this.recorded[j] === 1 && this.onAnswerRow !== null) {
      this.onAnswerRow({
        seq: this.seq[j], id: frameIdString({ idHi: this.ids[2 * j], idLo: this.ids[2 * j + 1], idKnown: this.idKnown[j] === 1 }),
        dueNs: this.dueNs[j], joinNs: nowNs, latencyUs: Math.round(latencyNs) / 1000, teacherIndex: teacherClass, teacher: this.p.labels[teacherClass]!,
        teacherScore: this.teacherProbs[teacherClass]!, teacherProbs: Array.from(this.teacherProbs), inTime: within,
      });
    }
    this.answers?.add(this.answerLine(j, a.ok, teacherClass, latencyNs, a.inferNs, decidedBy));
  }

  /** Writes the held trigger of queue slot `j` (if its final decision fires): the teacher's
   * decision (its probabilities in `teacherProbs`) or the student's as held; `teacherClass` -1
   * when the teacher had not answered. The teacher decides exactly when it answered within the
   * budget, so `byTeacher` is also the record's `inTime`. */
  private release(j: number, byTeacher: boolean, teacherClass: number): void {
    const h = this.held[j];
    this.heldState[j] = HELD_EMPTY;
    this.counts[HELD]--;
    if (byTeacher) {
      this.counts[BY_TEACHER]++;
      this.decideWithTeacher(h);
    } else this.counts[BY_STUDENT]++;
    if (!h.triggered) return;
    this.p.clock.stamp(h.stampsNs, STAMP.emit);
    this.p.ring.pushHeld(h, byTeacher ? HELD_TEACHER : HELD_STUDENT, this.studentClass[j], teacherClass, teacherClass < 0 ? Number.NaN : this.teacherProbs[teacherClass]!, byTeacher);
  }

  /** The policy's threshold test (per-class thresholds included) on the teacher's
   * probabilities; hold-off and rate limit were the student's to apply and are not applied again. */
  private decideWithTeacher(h: FrameSlot): void {
    const params = this.p.policy();
    const p = this.teacherProbs;
    h.probs.set(p);
    // As the policy decides: the most probable target class among those past their own threshold.
    let best = 0;
    let bestTarget = -1;
    for (let k = 0; k < p.length; k++) {
      if (p[k] > p[best]) best = k;
      if (params.isTarget[k] === 1 && p[k] >= params.thresholdOf[k] && (bestTarget < 0 || p[k] > p[bestTarget])) bestTarget = k;
    }
    h.triggered = bestTarget >= 0;
    h.predicted = h.triggered ? bestTarget : best;
    h.score = p[h.predicted];
  }

  private answerLine(j: number, ok: boolean, teacherClass: number, latencyNs: number, inferNs: number, decidedBy: 'teacher' | 'student' | null): Record<string, unknown> {
    const labels = this.p.labels;
    const classes = labels.length;
    const line: Record<string, unknown> = {
      seq: this.seq[j],
      id: frameIdString({ idHi: this.ids[2 * j], idLo: this.ids[2 * j + 1], idKnown: this.idKnown[j] === 1 }),
      [this.p.cut.kind]: round(this.uncertainty[j]),
      student: labels[this.studentClass[j]],
      studentProbs: Array.from(this.studentProbs.subarray(j * classes, (j + 1) * classes), round),
      teacher: ok ? labels[teacherClass] : null,
      teacherProbs: ok ? Array.from(this.teacherProbs, round) : null,
      agree: ok ? teacherClass === this.studentClass[j] : null,
      latencyUs: Math.round(latencyNs) / 1000,
      inferUs: Math.round(inferNs) / 1000,
    };
    if (decidedBy !== null) line.decidedBy = decidedBy;
    return line;
  }

  /** The snapshot's `cascade` at monotonic `nowNs` (one sample kept per call, as the
   * agreement's): `sentPerS` and `agreementRecent` over the last `windowS` (since the first
   * call until a window has passed). */
  read(nowNs: number): CascadeSnapshot {
    const c = this.counts;
    const sent = this.queue.sent;
    // The newest sample at least a window old; before there is one, the oldest (since the
    // first snapshot), so sent/s is not 0 for the first window.
    let base = -1;
    for (let k = 0; k < this.sampleHeld; k++) {
      const i = ((this.sampleNext - 1 - k + SAMPLES) % SAMPLES) * 4;
      base = i;
      if (nowNs - this.samples[i] >= this.p.windowS * 1e9) break;
    }
    const dtS = base < 0 ? 0 : (nowNs - this.samples[base]) / 1e9;
    const dSent = base < 0 ? 0 : sent - this.samples[base + 1];
    const dAnswered = base < 0 ? c[ANSWERED] - c[FAILED] : c[ANSWERED] - c[FAILED] - this.samples[base + 2];
    const dAgreed = base < 0 ? c[AGREED] : c[AGREED] - this.samples[base + 3];
    const i = this.sampleNext * 4;
    this.samples.set([nowNs, sent, c[ANSWERED] - c[FAILED], c[AGREED]], i);
    this.sampleNext = (this.sampleNext + 1) % SAMPLES;
    this.sampleHeld = Math.min(this.sampleHeld + 1, SAMPLES);
    const decided = c[ANSWERED] - c[FAILED];
    return {
      teacher: this.p.teacher,
      cutKind: this.p.cut.kind,
      cut: this.p.cut.value,
      queueFrames: this.n,
      replace: this.p.replace,
      unsure: c[UNSURE],
      sent,
      dropped: c[DROPPED],
      sentPerS: dtS > 0 ? dSent / dtS : 0,
      answered: c[ANSWERED],
      failed: c[FAILED],
      agreed: c[AGREED],
      agreement: decided > 0 ? c[AGREED] / decided : 0,
      agreementRecent: dAnswered > 0 ? dAgreed / dAnswered : 0,
      windowS: this.p.windowS,
      queueDepth: this.queue.outstanding,
      queueDepthMax: c[DEPTH_MAX],
      decidedByTeacher: c[BY_TEACHER],
      decidedByStudent: c[BY_STUDENT],
      teacherLatencyUs: summariseUs([this.latency], this.latencySumNs),
      teacherInferUs: summariseUs([this.infer], this.inferSumNs),
    };
  }

  /** Stops the teacher. */
  async close(): Promise<void> {
    await this.queue.close();
  }
}

const HIST_MAX_NS = limits.histogramMaxUs * 1000;

function histogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HIST_MAX_NS, numberOfSignificantValueDigits: 3, autoResize: false, useWebAssembly: false });
}

/** Records integer ns, clamped into the histogram's range. */
function record(h: hdr.Histogram, ns: number): void {
  h.recordValue(Math.min(HIST_MAX_NS, Math.max(1, Math.round(ns))));
}

/** Probabilities to 6 significant digits, as the decisions file has them. */
function round(x: number): number {
  return Number(x.toPrecision(6));
}
