import * as hdr from 'hdr-histogram-js';
import { assert } from '../core/assert.js';
import { HotCounts } from './hot-counts.js';
import type { Clock } from '../core/clock.js';
import { limits } from '../core/limits.js';
import { STAMP, STAMP_INGEST, type FrameSlot } from '../core/frame.js';
import type { PolicyCounters } from '../trigger/policy.js';
import { BlockedHistogram, summariseBlocked } from './latency-summary.js';
import { STAGES, type LatencySummaryUs, type Snapshot, type StageName } from './snapshot.js';
import { LATENCY_SERIES, type DeviceLatencySource, type HistoryColumns, type LatencyDistribution } from '../server/api-types.js';
import { addHeatmap, cumulativeCounts, HEATMAP_EDGES_US, HistoryRing, PROMETHEUS_LE_US } from './history.js';
import { percentileDistribution } from './latency-distribution.js';
import { AgreementCounter, TruthCounts } from './quality.js';
import type { CalibrationMonitor } from '../calibration/monitor.js';
import type { DetectionMonitor } from '../calibration/detection-monitor.js';

/** Latencies are recorded in integer nanoseconds: sub-microsecond stages stay visible. */
const HIST_MAX_NS = limits.histogramMaxUs * 1000;
assert(HIST_MAX_NS <= HotCounts.maxValue, "the hot-path counts cover the histogram range");

function histogram(): hdr.Histogram {
  // The pure-JS build: its recordValue writes into a typed array and does not allocate;
  // the WebAssembly build needs an async init the hot path cannot wait for.
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HIST_MAX_NS, numberOfSignificantValueDigits: 3, autoResize: false, useWebAssembly: false });
}

/** Every latency series: the stages, then end to end (due -> trigger write), queueing (due ->
 * ingest: how late the source handed the frame over), service (ingest -> trigger write) and
 * the device's time per job (`deviceNs`). */
const SERIES = [...STAGES, 'e2e', 'queue', 'service', 'device'] as const;
const E2E = STAGES.length;
const QUEUE = STAGES.length + 1;
const SERVICE = STAGES.length + 2;
const DEVICE = STAGES.length + 3;
/** Index into SERIES of each of the contract's `LATENCY_SERIES`. */
const PUBLIC_SERIES = LATENCY_SERIES.map((name) => SERIES.indexOf(name));
assert(PUBLIC_SERIES.every((k) => k >= 0), 'every public latency series is kept');

/** A histogram of integer ns with its block counts and the exact sum of what it holds. */
type Latencies = BlockedHistogram;

function latencies(): Latencies {
  return new BlockedHistogram(histogram());
}

function clearAll(xs: readonly Latencies[]): void {
  for (const x of xs) x.reset();
}

/** Counters kept elsewhere on the hot path that the snapshot reports (read off it). */
export interface WatchedCounters {
  policy: Readonly<PolicyCounters>;
  triggerRing: { readonly overflows: number };
}

/** A snapshot being built step by step (`PipelineMetrics.beginSnapshot`). */
export interface SnapshotBuild {
  /** Runs the next step; true once the last has run. */
  step(): boolean;
  /** The snapshot; only after the last step. */
  result(): Snapshot;
}

/** Identity of the pipeline shown in snapshots. */
export interface PipelineIdentity {
  pipeline: string;
  backend: string;
  model: string;
  labels: readonly string[];
  budgetUs: number;
}

/**
 * Counters and HDR histograms of one pipeline. `recordFrame` runs on the hot path (typed
 * arrays and preallocated histograms only); `snapshot` runs off it and allocates freely.
 */
export class PipelineMetrics {
  readonly identity: PipelineIdentity;
  private readonly clock: Clock;
  private readonly wallMs: () => number;
  private readonly startNs: number;
  /** Index 0..4: stages, 5: end to end, for every array of histograms below. The hot path
   * records into `live` only (one histogram per latency); `fold`, off the hot path, adds
   * `live` into the since-start `total` and the recent window's `cur`, then clears it. */
  private readonly live: HotCounts[];
  private readonly total: Latencies[];
  /** Recent window: every `windowNs` the pair rotates and the snapshot merges `prev` and
   * `cur` (so it covers one to two windows). */
  private cur: Latencies[];
  private prev: Latencies[];
  /** What was folded since the history's last row (its per-interval latencies). */
  private readonly interval: Latencies[];
  /** One row per `historyResolutionS`, appended by the snapshot build (`/api/history`). */
  readonly history: HistoryRing;
  private intervalStartNs: number;
  /** Cumulative counts at the last history row: frames, triggers, late, budget violations,
   * dropped, errors, suppressed. */
  private readonly atRow = new Float64Array(7);
  /** Labelled frames, triggers and late frames by true class (the snapshot's `quality`). */
  readonly truth: TruthCounts;
  /** Agreement with an extra model of the same labels (`agreeWith`); null without one. */
  agreement: AgreementCounter | null = null;
  /** A calibration's rates and drift window (`config.calibration`); null without one. */
  calibration: CalibrationMonitor | null = null;
  /** A labelled keyword replay's live score (`config.calibration.truth`); null without one. Not
   * forgotten by `reset`: it scores the stream from its start, as its truth does. */
  detectionScore: DetectionMonitor | null = null;
  /** Where the `device` series comes from (set with `deviceLatency`). */
  deviceSource: DeviceLatencySource = 'none';
  private deviceNs = 0;
  private measured: { readonly lastWaitNs: number } | null = null;
  private watched: WatchedCounters | null = null;
  private curStartNs: number;
  private readonly windowNs: number;
  private readonly classes: number;
  private readonly perClass: Float64Array;
  private readonly confusion: Float64Array;
  private hasLabels = false;
  frames = 0;
  triggers = 0;
  late = 0;
  dropped = 0;
  budgetViolations = 0;
  /** Sum of every frame's service time (ingest -> trigger write) since start, ns, and the due
   * time of the newest frame (NaN when nothing is scheduled): the model selector's load
   * samples (model/model-selector.ts), read off the hot path. */
  serviceNsTotal = 0;
  /** Of that, the infer stage's (the part that differs between a pipeline's models), ns. */
  inferNsTotal = 0;
  lastDueNs = Number.NaN;
  /** Frames whose infer stage took longer than `slowInferNs` (the model selector's tail
   * limit; never while it is +Infinity, without a selector). */
  slowInferTotal = 0;
  slowInferNs = Number.POSITIVE_INFINITY;
  /** Frames that were already due when the frame before them was written (a backlog: the
   * thread went from one straight to the next), and the sum of their trigger-write gaps, ns:
   * all the thread spent on each such frame (source, pacer, hot path, timers, GC), where the
   * service time covers the hot path only. The model selector's true cost per frame. */
  backToBackFrames = 0;
  backToBackNsTotal = 0;
  private lastEmitNs = Number.NaN;
  /** Latency samples outside the histograms' range [0, histogramMaxUs], recorded at the
   * nearer bound: above it (a stalled frame) or below 0 (stamps out of order). */
  clampedSamples = 0;
  /** The most recent late frame: its sequence number and how long it had waited at the policy. */
  lastLateSeq = -1;
  lastLateWaitUs = 0;
  readonly errorsByCode = new Map<string, number>();
  private rateFrames = 0;
  private rateTriggers = 0;
  private rateAtNs: number;
  private fps = 0;
  private triggersPerS = 0;

  constructor(identity: PipelineIdentity, clock: Clock, wallMs: () => number = Date.now, windowS = 5, historyRows: number = limits.historyRows) {
    assert(identity.labels.length > 0, 'a pipeline has labels');
    this.identity = identity;
    this.clock = clock;
    this.wallMs = wallMs;
    this.startNs = clock.nowNs();
    this.rateAtNs = this.startNs;
    this.live = SERIES.map(() => new HotCounts());
    this.total = SERIES.map(latencies);
    this.cur = SERIES.map(latencies);
    this.prev = SERIES.map(latencies);
    this.interval = SERIES.map(latencies);
    this.history = new HistoryRing(historyRows);
    this.intervalStartNs = this.startNs;
    this.curStartNs = this.startNs;
    this.windowNs = windowS * 1e9;
    this.classes = identity.labels.length;
    this.perClass = new Float64Array(this.classes);
    this.truth = new TruthCounts(this.classes);
    this.confusion = new Float64Array(this.classes * this.classes);
  }

  /**
   * Records the device's time per job with every frame as the `device` series: `measured`'s
   * last job wait (the fpga driver's, read after the frame's job), else a modelled constant
   * (firmware cycles / clock, ns; the simulator's), else nothing (onnx).
   */
  deviceLatency(d: { measured: { readonly lastWaitNs: number } } | { modelledNs: number }): void {
    if ('measured' in d) {
      this.measured = d.measured;
      this.deviceSource = 'measured';
    } else if (d.modelledNs > 0) {
      this.deviceNs = d.modelledNs;
      this.deviceSource = 'modelled';
    }
    this.history.deviceSource = this.deviceSource;
  }

  /** Counts top-1 agreement with the extra model `name`, whose probabilities of the same
   * labels are at `offset` in each slot's `aux`; `recent` over the recent latency window. */
  agreeWith(name: string, offset: number): void {
    this.agreement = new AgreementCounter(name, offset, this.classes, this.windowNs / 1e9);
  }

  /** Reports the policy's and the trigger ring's counters in every snapshot from now on. */
  watch(counters: WatchedCounters): void {
    this.watched = counters;
  }

  /** Records a frame that completed the hot path. Never allocates. */
  /** Diagnostic (the bench's per-frame breakdowns): called with every recorded frame, after
   * its counts; it must not allocate or keep the slot. Null (the default) in a daemon. */
  frameTap: ((slot: FrameSlot) => void) | null = null;

  recordFrame(slot: FrameSlot): void {
    const st = slot.stampsNs;
    let prev = st[STAMP_INGEST];
    const live = this.live;
    for (let k = 0; k < STAGES.length; k++) {
      const t = st[k + 1];
      this.recordNs(live[k], t - prev);
      prev = t;
    }
    // End to end from the due time: a source that handed the frame over late (a stalled
    // pacer, a backed-up queue) cannot hide that delay (no coordinated omission).
    const e2eNs = st[STAMP.emit] - slot.dueNs;
    this.recordNs(live[E2E], e2eNs);
    this.recordNs(live[QUEUE], st[STAMP_INGEST] - slot.dueNs);
    this.recordNs(live[SERVICE], st[STAMP.emit] - st[STAMP_INGEST]);
    this.serviceNsTotal += st[STAMP.emit] - st[STAMP_INGEST];
    const inferNs = st[STAMP.infer] - st[STAMP.preprocess];
    this.inferNsTotal += inferNs;
    if (inferNs > this.slowInferNs) this.slowInferTotal++;
    this.lastDueNs = slot.dueNs;
    // NaN compares false: the first frame, and frames of a source without a schedule, count in nothing.
    if (slot.dueNs <= this.lastEmitNs) {
      this.backToBackFrames++;
      this.backToBackNsTotal += st[STAMP.emit] - this.lastEmitNs;
    }
    this.lastEmitNs = st[STAMP.emit];
    if (this.measured !== null) this.recordNs(live[DEVICE], this.measured.lastWaitNs);
    else if (this.deviceNs > 0) this.recordNs(live[DEVICE], this.deviceNs);
    if (e2eNs > this.identity.budgetUs * 1000) this.budgetViolations++;
    this.frames++;
    if (slot.triggered) this.triggers++;
    if (slot.late) {
      this.late++;
      this.lastLateSeq = slot.seq;
      this.lastLateWaitUs = (st[STAMP.infer] - slot.dueNs) / 1000;
    }
    if (slot.predicted >= 0) this.perClass[slot.predicted]++;
    this.truth.record(slot);
    if (this.agreement !== null) this.agreement.record(slot);
    if (this.calibration !== null) this.calibration.record(slot);
    if (this.detectionScore !== null) this.detectionScore.record(slot);
    if (slot.label >= 0 && slot.label < this.classes && slot.predicted >= 0) {
      this.hasLabels = true;
      this.confusion[slot.label * this.classes + slot.predicted]++;
    }
    if (this.frameTap !== null) this.frameTap(slot);
  }

  /** Counts a frame lost before classification under an operating error's code. */
  recordDrop(code: string): void {
    this.dropped++;
    this.errorsByCode.set(code, (this.errorsByCode.get(code) ?? 0) + 1);
  }

  /** Counts `count` operating errors that did not cost a frame here (e.g. a truncated capture). */
  recordError(code: string, count = 1): void {
    this.errorsByCode.set(code, (this.errorsByCode.get(code) ?? 0) + count);
  }

  private recordNs(h: HotCounts, ns: number): void {
    let v = Math.round(ns);
    if (v > HIST_MAX_NS || v < 0) {
      v = v < 0 ? 0 : HIST_MAX_NS;
      this.clampedSamples++;
    }
    h.record(v);
  }

  /** Builds the public snapshot at once (all of `beginSnapshot`'s steps); updates frames/s
   * over the time since the previous snapshot. */
  snapshot(): Snapshot {
    const build = this.beginSnapshot();
    while (!build.step());
    return build.result();
  }

  /**
   * Starts a snapshot built in small steps (one histogram folded or summarised per step, a
   * fraction of a millisecond each), so whoever drives it can yield to the event loop, and
   * with it the hot path, between steps. Counters are read at the start; each latency
   * histogram when its step runs. Frames/s and triggers/s are over the time since the
   * previous snapshot began. Off the hot path; allocates.
   */
  beginSnapshot(): SnapshotBuild {
    const now = this.clock.nowNs();
    const head = this.counters(now);
    const steps: Array<() => void> = [];
    const n = this.live.length;
    const intoWindow = now - this.curStartNs < 2 * this.windowNs;
    for (let k = 0; k < n; k++) steps.push(() => this.fold(k, intoWindow));
    steps.push(() => this.rotate(now));
    if (now - this.intervalStartNs >= this.history.resolutionS * 1e9) this.historySteps(steps, now);
    const total: LatencySummaryUs[] = [];
    const recent: LatencySummaryUs[] = [];
    for (let k = 0; k < n; k++) steps.push(() => void (total[k] = summarise([this.total[k]])));
    for (let k = 0; k < n; k++) steps.push(() => void (recent[k] = summarise([this.prev[k], this.cur[k]])));
    const buckets: Record<string, { counts: number[]; count: number; sumUs: number }> = {};
    LATENCY_SERIES.forEach((name, j) => steps.push(() => void (buckets[name] = this.buckets(PUBLIC_SERIES[j]))));
    let next = 0;
    return {
      step: () => {
        if (next < steps.length) steps[next++]();
        return next === steps.length;
      },
      result: () => {
        assert(next === steps.length, 'a snapshot is read after its last step');
        const windowS = this.windowNs / 1e9;
        return {
          ...head, e2eUs: total[E2E], queueUs: total[QUEUE], serviceUs: total[SERVICE], stagesUs: byStage(total),
          recent: { windowS, e2eUs: recent[E2E], queueUs: recent[QUEUE], serviceUs: recent[SERVICE], stagesUs: byStage(recent) },
          latencyBuckets: { leUs: [...PROMETHEUS_LE_US], series: buckets },
        };
      },
    };
  }

  /** Everything in a snapshot but the latencies, read now; advances the frames/s window. */
  private counters(now: number): Omit<Snapshot, 'e2eUs' | 'queueUs' | 'serviceUs' | 'stagesUs' | 'recent'> {
    const dt = (now - this.rateAtNs) / 1e9;
    if (dt >= 0.2) {
      this.fps = (this.frames - this.rateFrames) / dt;
      this.triggersPerS = (this.triggers - this.rateTriggers) / dt;
      this.rateFrames = this.frames;
      this.rateTriggers = this.triggers;
      this.rateAtNs = now;
    }
    const labels = this.identity.labels;
    const w = this.watched;
    return {
      atMs: this.wallMs(),
      uptimeS: (now - this.startNs) / 1e9,
      pipeline: this.identity.pipeline,
      backend: this.identity.backend,
      model: this.identity.model,
      labels: [...labels],
      frames: this.frames,
      triggers: this.triggers,
      late: this.late,
      dropped: this.dropped,
      errorsByCode: Object.fromEntries(this.errorsByCode),
      budgetUs: this.identity.budgetUs,
      budgetViolations: this.budgetViolations,
      suppressed: {
        belowThreshold: w?.policy.suppressedBelowThreshold ?? 0,
        holdoff: w?.policy.suppressedHoldoff ?? 0,
        rateLimit: w?.policy.suppressedRate ?? 0,
        late: w?.policy.suppressedLate ?? 0,
      },
      nonTarget: w?.policy.nonTarget ?? 0,
      triggerRingOverflows: w?.triggerRing.overflows ?? 0,
      clampedSamples: this.clampedSamples,
      fps: this.fps,
      triggersPerS: this.triggersPerS,
      perClass: Object.fromEntries(labels.map((l, k) => [l, this.perClass[k]])),
      confusion: this.hasLabels ? labels.map((_, t) => Array.from(this.confusion.subarray(t * this.classes, (t + 1) * this.classes))) : null,
    };
  }

  /**
   * Moves what the hot path recorded into latency `k` since the last fold into `total`, and
   * into the recent window `cur` unless it is already stale (two windows or more without a
   * snapshot).
   */
  private fold(k: number, intoWindow: boolean): void {
    const live = this.live[k];
    if (live.total === 0) return;
    const sumNs = live.sum;
    // Each counted slot straight into the three (off the hot path: the array may allocate).
    live.drainIntoAll(intoWindow ? [this.total[k], this.interval[k], this.cur[k]] : [this.total[k], this.interval[k]]);
    this.total[k].sumNs += sumNs;
    this.interval[k].sumNs += sumNs;
    if (intoWindow) this.cur[k].sumNs += sumNs;
  }

  /**
   * Adds the steps that close the history's interval to a snapshot build (after the folds, so
   * the interval holds every frame recorded until `now`): one summary per series, then the
   * row. Rates and counts are over the interval's real length (`historyResolutionS` plus up
   * to a snapshot interval, as the snapshot timer runs); the latencies hold what the folds
   * found, a few frames past `now`.
   */
  private historySteps(steps: Array<() => void>, now: number): void {
    // Counters and wall time at `now`, as the snapshot's head reads them: t and the rates then
    // describe the same instants as the monotonic interval.
    const counts = this.cumulative();
    const tS = this.wallMs() / 1000;
    const summaries: LatencySummaryUs[] = [];
    PUBLIC_SERIES.forEach((k, j) => steps.push(() => void (summaries[j] = summarise([this.interval[k]]))));
    steps.push(() => {
      const heat = new Float64Array(HEATMAP_EDGES_US.length);
      addHeatmap(this.interval[E2E].h as hdr.JsHistogram, heat);
      const dt = (now - this.intervalStartNs) / 1e9;
      const d = (i: number) => counts[i] - this.atRow[i];
      this.history.append({ tS, fps: d(0) / dt, triggersPerS: d(1) / dt, late: d(2), budgetViolations: d(3), dropped: d(4), errors: d(5), suppressed: d(6) }, summaries, heat);
      this.atRow.set(counts);
      this.intervalStartNs = now;
      clearAll(this.interval);
    });
  }

  /** The counters a history row differences, in `atRow`'s order. */
  private cumulative(): number[] {
    const p = this.watched?.policy;
    const suppressed = p === undefined ? 0 : p.suppressedBelowThreshold + p.suppressedHoldoff + p.suppressedRate + p.suppressedLate;
    let errors = 0;
    for (const c of this.errorsByCode.values()) errors += c;
    return [this.frames, this.triggers, this.late, this.budgetViolations, this.dropped, errors, suppressed];
  }

  /** Series `k` since start as Prometheus buckets (the snapshot's `latencyBuckets`). */
  private buckets(k: number): { counts: number[]; count: number; sumUs: number } {
    const t = this.total[k];
    return { counts: cumulativeCounts(t.h, PROMETHEUS_LE_US, t.blockCounts), count: t.h.totalCount, sumUs: t.sumNs / 1000 };
  }

  /** The history's rows as columns (`/api/history`); as of the last snapshot build, the same
   * object until the next row (so a server can cache its JSON per row). */
  historyColumns(): HistoryColumns {
    return this.history.columns();
  }

  /**
   * Percentile distributions of every series since start (`/api/latency`), up to now. Off the
   * hot path; walks each histogram once.
   */
  latencyDistribution(): LatencyDistribution {
    // Every series folded at this one instant: read between the steps of a snapshot build,
    // some series would hold frames the others do not yet.
    const intoWindow = this.clock.nowNs() - this.curStartNs < 2 * this.windowNs;
    for (let k = 0; k < this.live.length; k++) this.fold(k, intoWindow);
    const series = Object.fromEntries(
      LATENCY_SERIES.map((name, j) => {
        const t = this.total[PUBLIC_SERIES[j]];
        return [name, { summary: summarise([t]), points: percentileDistribution(t.h as hdr.JsHistogram) }];
      }),
    ) as LatencyDistribution['series'];
    return { budgetUs: this.identity.budgetUs, deviceSource: this.deviceSource, series };
  }

  /** Rotates the recent window pair when `cur` is a window old. */
  private rotate(now: number): void {
    if (now - this.curStartNs < this.windowNs) return;
    const old = this.prev;
    clearAll(old);
    // Two windows or more without a snapshot: what `cur` holds is already old.
    if (now - this.curStartNs >= 2 * this.windowNs) clearAll(this.cur);
    this.prev = this.cur;
    this.cur = old;
    this.curStartNs = now;
  }

  /** Forgets latencies and counters (bench warm-up). */
  reset(): void {
    clearAll([...this.total, ...this.cur, ...this.prev, ...this.interval]);
    for (const c of this.live) c.clear();
    this.frames = this.triggers = this.late = this.dropped = this.budgetViolations = this.clampedSamples = 0;
    this.rateFrames = this.rateTriggers = 0;
    this.perClass.fill(0);
    this.confusion.fill(0);
    this.truth.reset();
    this.calibration?.reset();
    this.errorsByCode.clear();
    this.atRow.fill(0);
    this.intervalStartNs = this.clock.nowNs();
  }
}

/** One summary over several histograms of the same layout (the recent window's pair). */
function summarise(xs: readonly Latencies[]): LatencySummaryUs {
  return summariseBlocked(xs);
}

function byStage(summaries: readonly LatencySummaryUs[]): Record<StageName, LatencySummaryUs> {
  return Object.fromEntries(STAGES.map((name, k) => [name, summaries[k]])) as Record<StageName, LatencySummaryUs>;
}
