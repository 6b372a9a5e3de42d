/**
 * The model chosen by the budget (config `modelSelection: { mode: budget }`): of the models a
 * pipeline has loaded (the primary and config `models`, students of one task at several sizes),
 * the most accurate one whose service time fits the latency budget at the current input rate.
 * It steps down to a cheaper model when the rate or late frames say the one in force cannot
 * keep up, and back up once the load has stayed low for a hold time.
 *
 * Decided off the hot path: `observe` reads cumulative counters on a timer tick and returns a
 * decision, which the daemon applies as one index write (`ModelSwitch.selectIndex`), so the
 * hot path only ever reads which backend is in force. No clock is read here: every sample
 * carries its time (injected clock), so a decision table can be replayed in a test.
 *
 * A model meets the budget at input rate r (frames/s) when, with margin:
 * - utilization: r x cost <= the limit (queueing: a server busy a fraction u of the time keeps
 *   up only while u < 1, and its queue, hence its latency, grows as 1/(1-u)), where cost is
 *   all the daemon's one thread spends a frame, us: the hot path's service time (the model's
 *   inference plus the shared stages) plus the work off it (pacer, timers, GC), measured as the
 *   gap between trigger writes of back-to-back frames while a backlog lasts. The hot path's
 *   mean alone misses the latter (it read 0.52 busy at 4,000 alerts/s while the pipeline fell
 *   behind);
 * - tail: a single inference stays within `tailBudgetFraction` of the budget, for all but
 *   `tailFractionMax` of the model's frames in force (the onnx teacher's thread pool waits for a
 *   core on a loaded machine: ~1.6 ms mean but runs past 5 ms, late at 100 cells/s). A model
 *   that fails it steps down and is not chosen again for `tailRetryMs`;
 * - its service time alone within the budget.
 *
 * Hysteresis, so a constant rate at a boundary never flaps:
 * - down when the model in force's utilization exceeds `utilizationDown`, or more than
 *   `lateFractionDown` of the tick's frames were late while it was busy more than
 *   `utilizationUp` (below that, late frames are the machine's), or it fails its tail, or its
 *   service time alone exceeds the budget;
 * - a step down lands on the most accurate cheaper model whose utilization would be at most
 *   `utilizationTarget` (else the cheapest), and is made only when it cuts the utilization by
 *   `downGainMin` of it at least (a model no cheaper in effect costs accuracy and relieves
 *   nothing: two alert students 0.2 us apart under ~250 us of decoding);
 * - up only to a model whose utilization would be at most `utilizationUp` (below the target)
 *   at the highest rate seen while holding, with no more than `lateFractionUp` late (counted as
 *   for down), held for `holdUpMs` without a break;
 * - never two switches within `dwellMinMs`.
 */
import { assert } from '../core/assert.js';

/** The named limits of the selector (config `modelSelection`). */
export interface SelectionLimits {
  /** How often the daemon samples the counters and decides, ms. */
  intervalMs: number;
  /** Step down when the model in force would be busy more than this fraction of the time. */
  utilizationDown: number;
  /** A step down lands on the most accurate cheaper model whose utilization is at most this. */
  utilizationTarget: number;
  /** Step up only to a model whose utilization would be at most this. */
  utilizationUp: number;
  /** Step down when more than this fraction of a tick's frames reached the policy late. */
  lateFractionDown: number;
  /** Step up only while at most this fraction of the frames are late. */
  lateFractionUp: number;
  /** The load must stay low this long, without a break, before a step up, ms. */
  holdUpMs: number;
  /** No switch sooner than this after the previous one (the backlog of the slower model
   * drains meanwhile, and its late frames do not count against the new one), ms. */
  dwellMinMs: number;
  /** A tick with fewer frames than this measures nothing (rates and service times keep their
   * previous estimates) and decides nothing. */
  framesMin: number;
  /** A model's tail limit, as a fraction of the latency budget: one inference must take at
   * most `tailBudgetFraction x budgetUs` (the rest of the budget is the queue's and the other
   * stages'). */
  tailBudgetFraction: number;
  /** A model in force fails its tail when more than this fraction of its inferences (and at
   * least `TAIL_SLOW_MIN`) took longer than its tail limit. */
  tailFractionMax: number;
  /** A model that failed its tail is not chosen again for this long, ms. */
  tailRetryMs: number;
  /** A step down must cut the utilization by at least this fraction of it. */
  downGainMin: number;
}

/** Defaults of the named limits (config `modelSelection`'s). */
export const SELECTION_DEFAULTS: SelectionLimits = {
  intervalMs: 200,
  utilizationDown: 0.9,
  utilizationTarget: 0.7,
  utilizationUp: 0.5,
  // Late fractions are the second signal (utilization is the first): a shared VM makes a few
  // percent of frames late at any rate (stolen time), which must not hold every step up back.
  lateFractionDown: 0.1,
  lateFractionUp: 0.02,
  holdUpMs: 2000,
  dwellMinMs: 500,
  framesMin: 10,
  tailBudgetFraction: 0.5,
  tailFractionMax: 0.01,
  tailRetryMs: 60_000,
  downGainMin: 0.1,
};

/** Inferences over the tail limit a model in force must have had before its slow fraction
 * fails it (one slow run among the first ten frames is not 10% of anything yet). */
export const TAIL_SLOW_MIN = 2;

/** Checks the limits relate as the hysteresis needs; returns the first problem, or null. */
export function selectionLimitsProblem(l: SelectionLimits): string | null {
  if (!(l.utilizationUp <= l.utilizationTarget && l.utilizationTarget < l.utilizationDown)) {
    return `want utilizationUp (${l.utilizationUp}) <= utilizationTarget (${l.utilizationTarget}) < utilizationDown (${l.utilizationDown}): the gap between up and down is the hysteresis`;
  }
  if (!(l.lateFractionUp < l.lateFractionDown)) return `want lateFractionUp (${l.lateFractionUp}) < lateFractionDown (${l.lateFractionDown})`;
  if (!(l.tailBudgetFraction > 0 && l.tailBudgetFraction <= 1)) return `want 0 < tailBudgetFraction (${l.tailBudgetFraction}) <= 1: a fraction of the budget`;
  if (!(l.tailFractionMax >= 0 && l.tailFractionMax < 1)) return `want 0 <= tailFractionMax (${l.tailFractionMax}) < 1`;
  if (!(l.downGainMin >= 0 && l.downGainMin < 1)) return `want 0 <= downGainMin (${l.downGainMin}) < 1`;
  return null;
}

/** One model the selector chooses among, in the `ModelSwitch`'s order. */
export interface SelectableModel {
  name: string;
  /** Accuracy on the task's test split (from its card); the higher, the more preferred. */
  accuracy: number;
  /** Prior inference time per frame, us, until the model has been measured in force (the
   * daemon's start-up probe of each backend): it also ranks the models by cost. Positive. */
  priorUs: number;
}

/** Cumulative counters of the pipeline, read off the hot path at `nowMs`. */
export interface LoadSample {
  nowMs: number;
  /** Frames that completed the hot path since start. */
  frames: number;
  /** Sum of their service times (ingest -> trigger write), ns. */
  serviceNs: number;
  /** Of that, the infer stage's, ns: the part that differs between models (decode,
   * preprocess, policy and emit are the pipeline's, whichever model runs). */
  inferNs: number;
  /** Those that reached the policy late. */
  late: number;
  /** The due time of the newest frame, ns on the pipeline's clock (NaN: nothing scheduled,
   * a replay at max pace). The due times' spread gives the input rate even while the
   * pipeline is behind. */
  lastDueNs: number;
  /** Frames whose inference took longer than `ModelSelector.tailLimitUs` (absent: not counted,
   * no tail test). */
  slowInfer?: number;
  /** Frames that were due before the previous frame's trigger write (a backlog), and the sum
   * of their gaps between trigger writes, ns: the thread's whole cost of each (absent: only
   * the hot path's service time is known). */
  backToBack?: number;
  backToBackNs?: number;
}

/** A switch the selector asks for (indices into the models, as the `ModelSwitch` has them). */
export interface SwitchDecision {
  atMs: number;
  from: number;
  to: number;
  direction: 'down' | 'up';
  /** Why, in words, with the numbers that decided it. */
  reason: string;
  rateHz: number;
  /** Utilization of the model switched from, at `rateHz`. */
  utilization: number;
  lateFraction: number;
  /** Utilization the model switched to is expected to have at `rateHz`. */
  utilizationTo: number;
}

/** What the snapshot shows of the selector (read off the hot path). */
export interface SelectorState {
  rateHz: number;
  lateFraction: number;
  /** Service-time estimate per model, us, and whether it was measured in force (else the
   * prior); utilization at the input rate (with the work off the hot path); whether the model
   * failed its tail within `tailRetryMs` (not chosen meanwhile). */
  estimates: Array<{ name: string; accuracy: number; serviceUs: number; measured: boolean; utilization: number; tailFailed: boolean; offPathUs: number }>;
  /** The thread's cost a frame off the hot path with the model in force, us (measured while a
   * backlog lasted; 0 before). */
  offPathUs: number;
  /** Since when the load has been low enough to step up (ms), null when it is not. */
  lowSinceMs: number | null;
}

/** Weight of a new tick's measurement in a service-time estimate (EWMA). */
const SERVICE_EWMA = 0.3;

/**
 * Decides which model should be in force from samples of the pipeline's counters. Owns no
 * timer and reads no clock; `observe` is called once per tick with the index in force.
 */
export class ModelSelector {
  /** Model indices, most accurate first (ties: the cheaper prior first). */
  private readonly order: number[];
  /** Inference time per frame of each model measured in force, us (EWMA; NaN: not yet). */
  private readonly measuredUs: number[];
  /** The rest of the service time per frame (every stage but infer), us, shared by the models. */
  private overheadUs = 0;
  private prev: LoadSample | null = null;
  /** The index in force at the previous sample (a tick that saw a switch measures no model). */
  private prevIndex = -1;
  private lastSwitchMs = Number.NEGATIVE_INFINITY;
  private lowSinceMs: number | null = null;
  /** The highest input rate seen since `lowSinceMs` (a step up must fit it). */
  private holdRateMaxHz = 0;
  private rateHz = Number.NaN;
  private lateFraction = 0;
  /** The thread's cost a frame outside the hot path with each model in force, us (EWMA over
   * ticks with a backlog, weighted by the tick's share of back-to-back frames; NaN: not yet).
   * Per model: the onnx teacher's worker thread takes ~240 us a keyword hop off the core beside
   * its inference, a student on sim a few. */
  private readonly offPathUs: number[];
  /** Frames and slow inferences of each model since it last came into force. */
  private readonly inForceFrames: number[];
  private readonly inForceSlow: number[];
  /** When each model last failed its tail, ms (NaN: never). */
  private readonly tailFailedAtMs: number[];
  private nowMs = 0;

  constructor(
    readonly models: readonly SelectableModel[],
    readonly limits: SelectionLimits,
    /** The pipeline's latency budget: a model whose service time alone exceeds it never fits. */
    readonly budgetUs: number,
  ) {
    assert(models.length > 0, 'a selector chooses among at least one model');
    assert(models.every((m) => m.priorUs > 0 && Number.isFinite(m.accuracy)), 'every model has a positive prior and an accuracy');
    assert(selectionLimitsProblem(limits) === null, `selection limits relate: ${selectionLimitsProblem(limits)}`);
    this.order = models.map((_, i) => i).sort((a, b) => models[b]!.accuracy - models[a]!.accuracy || models[a]!.priorUs - models[b]!.priorUs);
    this.measuredUs = models.map(() => Number.NaN);
    this.offPathUs = models.map(() => Number.NaN);
    this.inForceFrames = models.map(() => 0);
    this.inForceSlow = models.map(() => 0);
    this.tailFailedAtMs = models.map(() => Number.NaN);
  }

  /** The tail limit of one inference, us: `tailBudgetFraction x budgetUs`. The daemon counts
   * the frames whose infer stage takes longer (`LoadSample.slowInfer`). */
  get tailLimitUs(): number {
    return this.limits.tailBudgetFraction * this.budgetUs;
  }

  /** The model the selector starts with, before any load is seen: the most accurate one whose
   * prior fits the budget, else the cheapest. */
  get preferred(): number {
    const fits = this.order.find((i) => this.models[i]!.priorUs <= this.budgetUs);
    return fits ?? this.order.reduce((a, b) => (this.models[b]!.priorUs < this.models[a]!.priorUs ? b : a));
  }

  /**
   * Service time per frame of model `i`, us: the pipeline's measured overhead (every stage but
   * infer) plus the model's inference time, measured in force when it has been, else its prior
   * scaled by how the model in force measured against its own prior (the machine's load slows
   * every model alike; never scaled below the prior).
   */
  estimateUs(i: number, current: number): number {
    return this.overheadUs + this.inferUs(i, current);
  }

  /** The thread's cost per frame of model `i`, us: its service time plus the work off the
   * hot path (what utilization is made of). */
  costUs(i: number, current: number): number {
    return this.estimateUs(i, current) + this.offPathOf(i, current);
  }

  /** Model `i`'s work off the hot path, us: measured in force, else the model in force's, else
   * the latest measured of any (the machine's share, as far as is known), else 0. */
  private offPathOf(i: number, current: number): number {
    const m = this.offPathUs[i]!;
    if (m === m) return m;
    const cur = this.offPathUs[current]!;
    return cur === cur ? cur : this.offPathLatestUs;
  }

  /** The latest off-path measurement of any model, us (0 before the first). */
  private offPathLatestUs = 0;

  /** Inference time per frame of model `i`, us (see `estimateUs`). */
  private inferUs(i: number, current: number): number {
    const m = this.measuredUs[i]!;
    if (m === m) return m;
    const cur = this.measuredUs[current]!;
    const scale = cur === cur ? cur / this.models[current]!.priorUs : 1;
    return this.models[i]!.priorUs * Math.max(1, scale);
  }

  /**
   * Takes one sample of the counters with the index in force and returns the switch to make,
   * or null. The caller applies it (or not) before the next sample.
   */
  observe(s: LoadSample, current: number): SwitchDecision | null {
    assert(current >= 0 && current < this.models.length, 'the index in force is a model');
    const prev = this.prev;
    const stable = this.prevIndex === current;
    this.prev = s;
    this.prevIndex = current;
    this.nowMs = s.nowMs;
    if (!stable) {
      // A model (re)entering force is judged on its own frames from here.
      this.inForceFrames[current] = 0;
      this.inForceSlow[current] = 0;
    }
    if (prev === null) return null;
    const frames = s.frames - prev.frames;
    if (frames < this.limits.framesMin) {
      this.lowSinceMs = null;
      return null;
    }
    if (stable) {
      this.measure(current, (s.inferNs - prev.inferNs) / frames / 1000, (s.serviceNs - s.inferNs - prev.serviceNs + prev.inferNs) / frames / 1000);
      if (s.slowInfer !== undefined && prev.slowInfer !== undefined) {
        this.inForceFrames[current]! += frames;
        this.inForceSlow[current]! += s.slowInfer - prev.slowInfer;
      }
      const b2b = (s.backToBack ?? 0) - (prev.backToBack ?? 0);
      if (b2b >= this.limits.framesMin) {
        // The gaps of back-to-back frames are all the thread spent on them; what the hot path's
        // service time does not cover is the work off it.
        const offPathUs = Math.max(0, ((s.backToBackNs ?? 0) - (prev.backToBackNs ?? 0)) / b2b / 1000 - (s.serviceNs - prev.serviceNs) / frames / 1000);
        // Weighted by the share of the tick's frames that came back to back: a saturated tick
        // (all of them) is the whole cost as it is now and counts at once; a few frames after
        // a hiccup only nudge it.
        // (A first measurement starts from 0, the hot path's own view, and moves by as much.)
        const was = this.offPathUs[current]! === this.offPathUs[current]! ? this.offPathUs[current]! : 0;
        this.offPathUs[current] = was + Math.max(SERVICE_EWMA, Math.min(1, b2b / frames)) * (offPathUs - was);
        this.offPathLatestUs = this.offPathUs[current]!;
      }
    }
    const dueSpanNs = s.lastDueNs - prev.lastDueNs;
    // The due times of the frames served this tick span the time they arrived over: the input
    // rate, even when the pipeline is behind (then more frames than the tick's length).
    if (!(dueSpanNs > 0)) return null;
    this.rateHz = (frames * 1e9) / dueSpanNs;
    this.lateFraction = (s.late - prev.late) / frames;
    return this.decide(s.nowMs, current);
  }

  private measure(i: number, inferUs: number, overheadUs: number): void {
    const m = this.measuredUs[i]!;
    this.measuredUs[i] = m === m ? m + SERVICE_EWMA * (inferUs - m) : inferUs;
    this.overheadUs = this.measured ? this.overheadUs + SERVICE_EWMA * (overheadUs - this.overheadUs) : overheadUs;
    this.measured = true;
  }

  /** Whether any tick has measured the overhead yet. */
  private measured = false;

  /** Utilization of model `i` at `rateHz` (default: the input rate): rate x cost. */
  private utilization(i: number, current: number, rateHz = this.rateHz): number {
    return (rateHz * this.costUs(i, current)) / 1e6;
  }

  /** Whether model `i` failed its tail within `tailRetryMs`. */
  private tailBarred(i: number): boolean {
    return this.nowMs - this.tailFailedAtMs[i]! < this.limits.tailRetryMs;
  }

  /** Whether the model in force has had more than `tailFractionMax` of its inferences (and
   * `TAIL_SLOW_MIN` at least) over the tail limit since it came into force. */
  private tailFailing(i: number): boolean {
    const slow = this.inForceSlow[i]!;
    return slow >= TAIL_SLOW_MIN && slow > this.limits.tailFractionMax * this.inForceFrames[i]!;
  }

  private decide(nowMs: number, current: number): SwitchDecision | null {
    const l = this.limits;
    const u = this.utilization(current, current);
    const serviceUs = this.estimateUs(current, current);
    const overBudget = serviceUs > this.budgetUs;
    const tailFails = this.tailFailing(current);
    if (tailFails && !this.tailBarred(current)) this.tailFailedAtMs[current] = nowMs;
    // Late frames are the model's doing only when it is busy enough for a queue to build (above
    // utilizationUp); below, they are the machine's (a stalled VM, a neighbour's burst), and a
    // smaller model would not help: on the shared 2-core box a tenth of the frames went late at
    // 100 cells/s whichever model ran.
    const lateIsOurs = u > l.utilizationUp;
    const down = u > l.utilizationDown || (lateIsOurs && this.lateFraction > l.lateFractionDown) || overBudget || tailFails;
    const dwelling = nowMs - this.lastSwitchMs < l.dwellMinMs;
    if (down) {
      this.lowSinceMs = null;
      if (dwelling) return null;
      const to = this.downTarget(current);
      if (to === current) return null;
      const uTo = this.utilization(to, current);
      // For the load alone, a step must relieve it: a model about as dear costs accuracy for nothing.
      if (!overBudget && !tailFails && uTo > u * (1 - l.downGainMin)) return null;
      const why = overBudget
        ? `service ${serviceUs.toFixed(1)} us exceeds the budget ${this.budgetUs} us`
        : tailFails
          ? `tail: ${this.inForceSlow[current]} of ${this.inForceFrames[current]} inferences over ${this.tailLimitUs.toFixed(0)} us (> ${(l.tailFractionMax * 100).toFixed(1)}%)`
          : u > l.utilizationDown
            ? `utilization ${u.toFixed(2)} > ${l.utilizationDown} at ${this.rateHz.toFixed(0)} frames/s`
            : `${(this.lateFraction * 100).toFixed(1)}% late > ${(l.lateFractionDown * 100).toFixed(1)}%`;
      return this.switchTo(nowMs, current, to, 'down', why, u, uTo);
    }
    if (lateIsOurs && this.lateFraction > l.lateFractionUp) {
      this.lowSinceMs = null;
      return null;
    }
    // The hold's highest rate so far, this tick's included: a step up must fit all of it.
    const rateMaxHz = Math.max(this.lowSinceMs === null ? 0 : this.holdRateMaxHz, this.rateHz);
    const up = this.upTarget(current, rateMaxHz);
    if (up === current) {
      this.lowSinceMs = null;
      return null;
    }
    this.lowSinceMs ??= nowMs;
    this.holdRateMaxHz = rateMaxHz;
    if (nowMs - this.lowSinceMs < l.holdUpMs || dwelling) return null;
    const uTo = this.utilization(up, current, rateMaxHz);
    return this.switchTo(nowMs, current, up, 'up', `load low for ${(nowMs - this.lowSinceMs).toFixed(0)} ms: ${this.models[up]!.name} at utilization ${uTo.toFixed(2)} <= ${l.utilizationUp} (at ${rateMaxHz.toFixed(0)} frames/s, the hold's highest)`, u, uTo);
  }

  /**
   * The most accurate model cheaper than `current` at utilization <= target; else the cheapest.
   * Cheaper by the priors: probed back to back on one input at start, they order the models'
   * costs reliably, where two live measurements taken at different loads may not (two students
   * a few microseconds apart under an alert's millisecond of decoding swapped places in the
   * bench, and a step "down" went to the dearer one).
   */
  private downTarget(current: number): number {
    const prior = (i: number) => this.models[i]!.priorUs;
    const cheaper = this.order.filter((i) => prior(i) < prior(current));
    if (cheaper.length === 0) return current;
    const fits = cheaper.find((i) => this.fits(i, current, this.limits.utilizationTarget));
    if (fits !== undefined) return fits;
    return cheaper.reduce((a, b) => (prior(b) < prior(a) ? b : a));
  }

  /** The most accurate model more accurate than `current` that fits at utilization <= up at
   * `rateHz`; else `current`. */
  private upTarget(current: number, rateHz: number): number {
    for (const i of this.order) {
      if (i === current) return current;
      if (this.fits(i, current, this.limits.utilizationUp, rateHz)) return i;
    }
    return current;
  }

  /** Whether model `i` meets the budget: service within it, utilization at most
   * `utilizationMax` at `rateHz`, and no tail failure within `tailRetryMs`. */
  private fits(i: number, current: number, utilizationMax: number, rateHz = this.rateHz): boolean {
    return this.estimateUs(i, current) <= this.budgetUs && this.utilization(i, current, rateHz) <= utilizationMax && !this.tailBarred(i);
  }

  private switchTo(atMs: number, from: number, to: number, direction: 'down' | 'up', reason: string, utilization: number, utilizationTo: number): SwitchDecision {
    this.lastSwitchMs = atMs;
    this.lowSinceMs = null;
    return { atMs, from, to, direction, reason, rateHz: this.rateHz, utilization, lateFraction: this.lateFraction, utilizationTo };
  }

  /** What the snapshot shows: rate, late fraction, the estimates and the hold. */
  state(current: number): SelectorState {
    return {
      rateHz: this.rateHz,
      lateFraction: this.lateFraction,
      estimates: this.models.map((m, i) => ({
        name: m.name,
        accuracy: m.accuracy,
        serviceUs: this.estimateUs(i, current),
        measured: this.measuredUs[i] === this.measuredUs[i],
        utilization: this.utilization(i, current),
        tailFailed: this.tailBarred(i),
        offPathUs: this.offPathOf(i, current),
      })),
      offPathUs: this.offPathOf(current, current),
      lowSinceMs: this.lowSinceMs,
    };
  }
}
