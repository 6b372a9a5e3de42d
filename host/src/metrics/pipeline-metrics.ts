import * as hdr from 'hdr-histogram-js';
import { assert } from '../core/assert.js';
import { HotCounts } from './hot-counts.js';
import type { Clock } from '../core/clock.js';
import { limits } from '../core/limits.js';
import { STAMP, STAMP_INGEST, type FrameSlot } from '../core/frame.js';
import { STAGES, type LatencySummaryUs, type Snapshot, type StageName } from './snapshot.js';

/** Latencies are recorded in integer nanoseconds: sub-microsecond stages stay visible. */
const HIST_MAX_NS = limits.histogramMaxUs * 1000;
assert(HIST_MAX_NS <= HotCounts.maxValue, "the hot-path counts cover the histogram range");

function histogram(): hdr.Histogram {
  // The pure-JS build: its recordValue writes into a typed array and does not allocate;
  // the WebAssembly build needs an async init the hot path cannot wait for.
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HIST_MAX_NS, numberOfSignificantValueDigits: 3, autoResize: false, useWebAssembly: false });
}

/** Every latency series: the stages, then end to end (due -> trigger write), queueing (due ->
 * ingest: how late the source handed the frame over) and service (ingest -> trigger write). */
const SERIES = [...STAGES, 'e2e', 'queue', 'service'] as const;
const E2E = STAGES.length;
const QUEUE = STAGES.length + 1;
const SERVICE = STAGES.length + 2;

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
  /** Where `fold` drains `live` before adding it to `total` and `cur`. */
  private readonly scratch: hdr.Histogram[];
  private readonly total: hdr.Histogram[];
  /** Recent window: every `windowNs` the pair rotates and the snapshot merges `prev` and
   * `cur` (so it covers one to two windows). */
  private cur: hdr.Histogram[];
  private prev: hdr.Histogram[];
  private readonly merged: hdr.Histogram[];
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

  constructor(identity: PipelineIdentity, clock: Clock, wallMs: () => number = Date.now, windowS = 5) {
    assert(identity.labels.length > 0, 'a pipeline has labels');
    this.identity = identity;
    this.clock = clock;
    this.wallMs = wallMs;
    this.startNs = clock.nowNs();
    this.rateAtNs = this.startNs;
    this.live = SERIES.map(() => new HotCounts());
    this.scratch = SERIES.map(() => histogram());
    this.total = SERIES.map(() => histogram());
    this.cur = SERIES.map(() => histogram());
    this.prev = SERIES.map(() => histogram());
    this.merged = SERIES.map(() => histogram());
    this.curStartNs = this.startNs;
    this.windowNs = windowS * 1e9;
    this.classes = identity.labels.length;
    this.perClass = new Float64Array(this.classes);
    this.confusion = new Float64Array(this.classes * this.classes);
  }

  /** Records a frame that completed the hot path. Never allocates. */
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
    if (e2eNs > this.identity.budgetUs * 1000) this.budgetViolations++;
    this.frames++;
    if (slot.triggered) this.triggers++;
    if (slot.late) {
      this.late++;
      this.lastLateSeq = slot.seq;
      this.lastLateWaitUs = (st[STAMP.infer] - slot.dueNs) / 1000;
    }
    if (slot.predicted >= 0) this.perClass[slot.predicted]++;
    if (slot.label >= 0 && slot.label < this.classes && slot.predicted >= 0) {
      this.hasLabels = true;
      this.confusion[slot.label * this.classes + slot.predicted]++;
    }
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
    let v = ns < 0 ? 0 : Math.round(ns);
    if (v > HIST_MAX_NS) {
      v = HIST_MAX_NS;
      this.clampedSamples++;
    }
    h.record(v);
  }

  /** Builds the public snapshot; updates frames/s over the time since the previous call. */
  snapshot(): Snapshot {
    const now = this.clock.nowNs();
    const dt = (now - this.rateAtNs) / 1e9;
    if (dt >= 0.2) {
      this.fps = (this.frames - this.rateFrames) / dt;
      this.triggersPerS = (this.triggers - this.rateTriggers) / dt;
      this.rateFrames = this.frames;
      this.rateTriggers = this.triggers;
      this.rateAtNs = now;
    }
    const labels = this.identity.labels;
    const recent = this.recent(now);
    const stagesUs = {} as Record<StageName, LatencySummaryUs>;
    STAGES.forEach((name, k) => (stagesUs[name] = summarise(this.total[k])));
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
      fps: this.fps,
      triggersPerS: this.triggersPerS,
      perClass: Object.fromEntries(labels.map((l, k) => [l, this.perClass[k]])),
      confusion: this.hasLabels ? labels.map((_, t) => Array.from(this.confusion.subarray(t * this.classes, (t + 1) * this.classes))) : null,
      e2eUs: summarise(this.total[E2E]),
      queueUs: summarise(this.total[QUEUE]),
      serviceUs: summarise(this.total[SERVICE]),
      stagesUs,
      recent,
    };
  }

  /**
   * Moves what the hot path recorded since the last fold into `total`, and into the recent
   * window `cur` unless it is already stale (two windows or more without a snapshot).
   */
  private fold(intoWindow: boolean): void {
    for (let k = 0; k < this.live.length; k++) {
      if (this.live[k].total === 0) continue;
      const s = this.scratch[k];
      s.reset();
      this.live[k].drainInto(s);
      this.total[k].add(s);
      if (intoWindow) this.cur[k].add(s);
    }
  }

  /** Rotates the window pair when due and summarises prev + cur. Off the hot path. */
  private recent(now: number): Snapshot['recent'] {
    this.fold(now - this.curStartNs < 2 * this.windowNs);
    if (now - this.curStartNs >= this.windowNs) {
      const old = this.prev;
      for (const h of old) h.reset();
      // Two windows or more without a snapshot: what `cur` holds is already old.
      if (now - this.curStartNs >= 2 * this.windowNs) for (const h of this.cur) h.reset();
      this.prev = this.cur;
      this.cur = old;
      this.curStartNs = now;
    }
    const out = this.merged.map((m, k) => {
      m.reset();
      m.add(this.prev[k]);
      m.add(this.cur[k]);
      return summarise(m);
    });
    const stagesUs = {} as Record<StageName, LatencySummaryUs>;
    STAGES.forEach((name, k) => (stagesUs[name] = out[k]));
    return { windowS: this.windowNs / 1e9, e2eUs: out[E2E], queueUs: out[QUEUE], serviceUs: out[SERVICE], stagesUs };
  }

  /** Forgets latencies and counters (bench warm-up). */
  reset(): void {
    for (const h of [...this.total, ...this.cur, ...this.prev]) h.reset();
    for (const c of this.live) c.clear();
    this.frames = this.triggers = this.late = this.dropped = this.budgetViolations = this.clampedSamples = 0;
    this.rateFrames = this.rateTriggers = 0;
    this.perClass.fill(0);
    this.confusion.fill(0);
    this.errorsByCode.clear();
  }
}

function summarise(h: hdr.Histogram): LatencySummaryUs {
  const n = h.totalCount;
  const us = (ns: number) => (n === 0 ? 0 : Math.round(ns) / 1000);
  // HDR reports a percentile as the upper bound of its bucket, which can lie above the
  // largest value recorded; no sample exceeds the max, so neither does a percentile.
  const at = (p: number) => us(Math.min(h.getValueAtPercentile(p), h.maxValue));
  return {
    count: n,
    p50: at(50),
    p90: at(90),
    p99: at(99),
    p999: at(99.9),
    max: us(h.maxValue),
    mean: us(h.mean),
  };
}
