/**
 * Test helpers for the server, the exporter and the dashboard: a `DaemonView` with no
 * pipeline behind it (also handy for working on the UI without a model) and a reader for
 * Prometheus text. Everything is driven by hand: nothing here reads a clock.
 */
import * as hdr from 'hdr-histogram-js';
import { createRng, type Rng } from '../core/rng.js';
import { addHeatmap, cumulativeCounts, HEATMAP_EDGES_US, HistoryRing, PROMETHEUS_LE_US } from '../metrics/history.js';
import { percentileDistribution } from '../metrics/latency-distribution.js';
import { summariseUs } from '../metrics/latency-summary.js';
import { STAGES } from '../metrics/snapshot.js';
import type { DaemonView, DeviceSnapshot, LatencySummaryUs, Snapshot, StageName, TriggerEvent } from '../metrics/snapshot.js';
import type { AuditEntry, ControlsState, DaemonControl, ModelView, TriggerDetail, TriggerView } from './api-types.js';
import { RequestError } from '../core/errors.js';
import { LATENCY_SERIES, type HistoryColumns, type LatencyDistribution, type LatencySeries } from './api-types.js';

/** A latency summary whose quantiles are `base` scaled (p50 = base, p99 = 2 base, ...). */
export function fakeLatency(base: number): LatencySummaryUs {
  return { count: 1000, p50: base, p90: base * 1.5, p99: base * 2, p999: base * 3, max: base * 4, mean: base };
}

/** A plausible snapshot; `over` replaces any field. */
export function fakeSnapshot(over: Partial<Snapshot> = {}): Snapshot {
  const stages = STAGES.map((stage, i) => [stage, fakeLatency(i + 1)]);
  const stagesUs = Object.fromEntries(stages) as Record<StageName, LatencySummaryUs>;
  return {
    atMs: 1_700_000_000_000,
    uptimeS: 12,
    pipeline: 'cells-demo',
    backend: 'sim',
    model: 'cells-student-v1',
    labels: ['debris', 'live', 'dead'],
    frames: 1000,
    triggers: 50,
    late: 3,
    dropped: 2,
    errorsByCode: { E_FRAME_SHAPE: 2 },
    budgetUs: 25,
    budgetViolations: 4,
    // frames = triggers + suppressed + nonTarget: 1000 = 50 + (30 + 20 + 10 + 2) + 888.
    suppressed: { belowThreshold: 30, holdoff: 20, rateLimit: 10, late: 2 },
    nonTarget: 888,
    triggerRingOverflows: 6,
    clampedSamples: 7,
    fps: 2000,
    triggersPerS: 100,
    perClass: { debris: 700, live: 250, dead: 50 },
    confusion: null,
    e2eUs: fakeLatency(10),
    queueUs: fakeLatency(1),
    serviceUs: fakeLatency(9),
    stagesUs,
    recent: { windowS: 5, e2eUs: fakeLatency(10), queueUs: fakeLatency(1), serviceUs: fakeLatency(9), stagesUs },
    latencyBuckets: fakeLatencyBuckets(),
    settings: {
      source: 'replay sim/recordings/cells-bccd-test.arrows (realtime)', decoder: 'fixed', backend: 'sim', model: 'cells-student-v1', models: ['cells-student-v1'], mode: 'host',
      targets: ['live'], threshold: 0.5, holdoffUs: 0, maxRatePerS: 1e6, burst: 1, budgetUs: 25, filters: [], paused: false, replaySpeed: 1,
    },
    // 50 triggers, 45 on live cells; 250 live cells seen, 2 late, 20 suppressed.
    quality: { labelled: 1000, targets: 250, triggers: 50, triggersOnTargets: 45, purity: 0.9, yield: 0.18, targetsMissedLate: 2, targetsSuppressed: 20, triggersByTruth: { debris: 3, live: 45, dead: 2 } },
    agreement: { other: 'teacher', frames: 1000, agreed: 962, recent: 0.95, windowS: 5 },
    errorsLatest: [{ atMs: 1_699_999_999_000, code: 'E_FRAME_SHAPE', where: 'frame 7', message: 'expected 1024 bytes, got 1000' }],
    scores: 'probabilities',
    ...over,
  };
}

let bucketsOnce: NonNullable<Snapshot['latencyBuckets']> | undefined;

/** Cumulative Prometheus buckets of 1,000 log-normal samples per series (seeded); a fresh copy
 * each call (built once: fakeSnapshot is called by many tests). */
export function fakeLatencyBuckets(): NonNullable<Snapshot['latencyBuckets']> {
  bucketsOnce ??= buildFakeLatencyBuckets(3);
  return structuredClone(bucketsOnce);
}

function buildFakeLatencyBuckets(seed: number): NonNullable<Snapshot['latencyBuckets']> {
  const rng = createRng(seed);
  const h = fakeHistogram();
  const series = Object.fromEntries(
    LATENCY_SERIES.map((name) => {
      h.reset();
      const sumNs = fillLatencies(h, rng, 1000, FAKE_MEDIAN_US[name]);
      return [name, { counts: cumulativeCounts(h, PROMETHEUS_LE_US), count: 1000, sumUs: sumNs / 1000 }];
    }),
  );
  return { leUs: [...PROMETHEUS_LE_US], series };
}

/** A plausible fpga device (the jet tagger on the emulator); `over` replaces any field. */
export function fakeDevice(over: Partial<DeviceSnapshot> = {}): DeviceSnapshot {
  return {
    path: '/dev/shm/ht-jets',
    modelHash: '0123456789ab',
    clockKhz: 200_000,
    latencyCycles: 35,
    modelledUs: 0.175,
    jobs: 12_345,
    timeouts: 1,
    resets: 2,
    corrupt: 3,
    faulted: false,
    faultedFast: 0,
    reprobes: 0,
    waitNsLast: 900,
    waitNsMean: 1100.5,
    waitNsMin: 700,
    waitNsMax: 85_000,
    fifoOverflows: 4,
    fifoPending: 5,
    ...over,
  };
}

/** A fake view plus the handles a test moves it with. */
export interface FakeView extends DaemonView {
  /** The snapshot `snapshot()` returns next; tests mutate it freely. */
  current: Snapshot;
  /** Delivers a batch to every subscriber, synchronously, as the daemon's flusher would. */
  emitTriggers(events: readonly TriggerEvent[]): void;
  /** Subscribers right now (to check that the server unsubscribes). */
  listenerCount(): number;
  errors: Array<{ atMs: number; code: string; where: string; message: string }>;
  /** What `triggerDetail(run, seq)` answers, keyed by `detailKey(run, seq)`; a missing key
   * answers null (a seq that left the ring). Seeded with `fakeTriggerDetails()`. */
  details: Map<string, TriggerDetail>;
  /** What `model()` answers; tests mutate it freely. */
  modelView: ModelView;
}

/** The key of a trigger in `FakeView.details`. */
export function detailKey(run: string, seq: number): string {
  return `${run}/${seq}`;
}

/** Builds a `FakeView` starting from `fakeSnapshot(over)`. `snapshot()` returns a copy, so a
 * caller that keeps it sees no later mutation. */
export function createFakeView(over: Partial<Snapshot> = {}): FakeView {
  const listeners = new Set<(events: readonly TriggerEvent[]) => void>();
  let history: HistoryColumns | undefined;
  let distribution: LatencyDistribution | undefined;
  const view: FakeView = {
    current: fakeSnapshot(over),
    errors: [],
    snapshot: () => structuredClone(view.current),
    snapshotJson: () => JSON.stringify(view.snapshot()),
    onTriggers(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    recentErrors: () => view.errors,
    emitTriggers(events) {
      for (const l of listeners) l(events);
    },
    listenerCount: () => listeners.size,
    details: new Map(fakeTriggerDetails().map((d) => [detailKey(d.event.run, d.event.seq), d])),
    triggerDetail: (run, seq) => structuredClone(view.details.get(detailKey(run, seq)) ?? null),
    modelView: fakeModelView(),
    model: () => structuredClone(view.modelView),
    // Built once, on first use (a fake history takes a few hundred ms).
    history: () => (history ??= fakeHistory()),
    latencyDistribution: () => (distribution ??= fakeLatencyDistribution()),
  };
  return view;
}

/** Median latency of each series in the fake data, microseconds (the sim on cells, roughly). */
const FAKE_MEDIAN_US: Record<LatencySeries, number> = { e2e: 12, queue: 1.5, service: 10, decode: 0.4, preprocess: 2, infer: 6, policy: 0.3, emit: 0.5, device: 4.8 };

function fakeHistogram(): hdr.JsHistogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 1e8, numberOfSignificantValueDigits: 3, useWebAssembly: false }) as hdr.JsHistogram;
}

/** `n` log-normal latencies around `medianUs` (with a rare 20x tail) into `h`, in ns; returns their sum. */
function fillLatencies(h: hdr.JsHistogram, rng: Rng, n: number, medianUs: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const tail = rng.uniform() < 0.002 ? 20 : 1;
    const ns = Math.round(medianUs * 1000 * tail * Math.exp(0.35 * rng.normal()));
    h.recordValue(ns);
    sum += ns;
  }
  return sum;
}

/**
 * A plausible history of `rows` one-second intervals ending at `endS` (seconds since the
 * epoch): ~2,000 frames/s with a slow swell, a burst of late frames and errors in the middle,
 * log-normal latencies. Built through the daemon's own ring, so it has the daemon's shape.
 * Same seed, same data.
 */
export function fakeHistory(rows = 600, endS = 1_700_000_000, seed = 1): HistoryColumns {
  const rng = createRng(seed);
  const ring = new HistoryRing(rows, 1);
  ring.deviceSource = 'modelled';
  const h = fakeHistogram();
  for (let i = 0; i < rows; i++) {
    const fps = Math.round(2000 + 300 * Math.sin(i / 60) + 40 * rng.normal());
    const burst = Math.abs(i - rows / 2) < 10;
    const sample = Math.max(1, Math.round(fps / 20)); // a twentieth of the frames: fast enough for a UI
    const latency = LATENCY_SERIES.map((name) => {
      h.reset();
      const sum = fillLatencies(h, rng, sample, FAKE_MEDIAN_US[name] * (burst ? 3 : 1));
      return { ...summariseUs([h], sum), count: fps };
    });
    h.reset();
    fillLatencies(h, rng, sample, FAKE_MEDIAN_US.e2e * (burst ? 3 : 1));
    const heat = new Float64Array(HEATMAP_EDGES_US.length);
    addHeatmap(h, heat);
    for (let b = 0; b < heat.length; b++) heat[b] *= fps / sample;
    const late = burst ? Math.round(20 * rng.uniform()) : 0;
    ring.append({ tS: endS - rows + 1 + i, fps, triggersPerS: fps * 0.05, late, budgetViolations: late * 2, dropped: burst ? 3 : 0, errors: burst ? 3 : 0, suppressed: Math.round(fps * 0.03) }, latency, heat);
  }
  return ring.columns();
}

/** A plausible `/api/latency`: every series' distribution over 20,000 log-normal samples. */
export function fakeLatencyDistribution(budgetUs = 25, seed = 2): LatencyDistribution {
  const rng = createRng(seed);
  const series = Object.fromEntries(
    LATENCY_SERIES.map((name) => {
      const h = fakeHistogram();
      const sum = fillLatencies(h, rng, 20_000, FAKE_MEDIAN_US[name]);
      return [name, { summary: summariseUs([h], sum), points: percentileDistribution(h) }];
    }),
  ) as LatencyDistribution['series'];
  return { budgetUs, deviceSource: 'modelled', series };
}

/** A trigger event with sequence number `seq`. */
export function fakeTrigger(seq: number, over: Partial<TriggerEvent> = {}): TriggerEvent {
  return { kind: 'trigger', run: 'test', stream: 'cells', seq, id: null, classIndex: 1, class: 'live', truthIndex: -1, truth: null, score: 0.93, probs: [0.07, 0.93], sensorNs: null, streamMs: null, dueNs: seq * 1000, ingestNs: seq * 1000, e2eUs: 21.5, late: false, payload: {}, ...over };
}

/** A 32x32 RGB crop: a dark disc (a cell) on a light background. */
export function fakeImageView(): Extract<TriggerView, { kind: 'image' }> {
  const width = 32;
  const height = 32;
  const pixels: number[] = [];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = (x - 15.5) ** 2 + (y - 15.5) ** 2 < 10 ** 2;
      pixels.push(inside ? 120 : 220, inside ? 60 : 200, inside ? 160 : 210);
    }
  }
  return { kind: 'image', width, height, channels: 3, pixels };
}

/** An alert: three 63x63 stamps with a point source (the difference with one NaN pixel, as
 * real stamps have at chip edges) and a light curve in two bands. */
export function fakeAlertView(): Extract<TriggerView, { kind: 'alert' }> {
  const size = 63;
  const stamp = (peak: number, sky: number): Array<number | null> => {
    const pixels: Array<number | null> = [];
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) pixels.push(sky + peak * Math.exp(-((x - 31) ** 2 + (y - 31) ** 2) / (2 * 2.5 ** 2)));
    }
    return pixels;
  };
  const difference = stamp(400, 0);
  difference[0] = null;
  const mjd = [58_850.2, 58_852.3, 58_855.1, 58_858.4, 58_861.2];
  return {
    kind: 'alert',
    objectId: 'ZTF20aaelulu',
    cutouts: [
      { name: 'science', width: size, height: size, pixels: stamp(900, 150) },
      { name: 'template', width: size, height: size, pixels: stamp(500, 150) },
      { name: 'difference', width: size, height: size, pixels: difference },
    ],
    lightcurve: [
      { band: 'g', mjd, mag: [19.8, 19.2, 18.9, 19.0, 19.4], magErr: [0.12, 0.08, 0.06, 0.07, 0.1] },
      { band: 'r', mjd: mjd.map((t) => t + 0.04), mag: [19.6, 19.0, 18.7, 18.7, 19.0], magErr: [0.1, 0.07, 0.05, 0.05, 0.08] },
    ],
  };
}

/** A keyword window: 49 frames x 10 MFCC, a burst of energy in the middle frames. */
export function fakeSpectrogramView(): Extract<TriggerView, { kind: 'spectrogram' }> {
  const frames = 49;
  const bins = 10;
  const values: number[] = [];
  for (let f = 0; f < frames; f++) {
    const loud = Math.exp(-((f - 24) ** 2) / 60);
    for (let b = 0; b < bins; b++) values.push(b === 0 ? -250 + 200 * loud : (loud * 40 * Math.cos(b * 0.9 + f / 5)) / (b + 1));
  }
  return { kind: 'spectrogram', streamMs: 4_240, frames, bins, values, feature: 'MFCC' };
}

/** One detail of each view kind, run `test`, seq 1 (image), 2 (alert), 3 (spectrogram), 4
 * (none: a modality without a view). */
export function fakeTriggerDetails(): TriggerDetail[] {
  return [
    { event: fakeTrigger(1, { stream: 'cells', class: 'WBC' }), view: fakeImageView() },
    { event: fakeTrigger(2, { stream: 'alerts', class: 'real', id: '1105427315115010007', payload: { objectId: 'ZTF20aaelulu' } }), view: fakeAlertView() },
    { event: fakeTrigger(3, { stream: 'keywords', class: 'yes', sensorNs: 4.24e9, streamMs: 4_240 }), view: fakeSpectrogramView() },
    { event: fakeTrigger(4, { stream: 'jets', class: 't' }), view: { kind: 'none', reason: 'jets frames are 16 features; no view' } },
  ];
}

/** A model view as the daemon builds it (model/model-view.ts) from the cells-bccd card
 * (models/zoo/cells-bccd/card.json); `card` holds an excerpt of the card. */
export function fakeModelView(): ModelView {
  const card = {
    task: 'cells-bccd',
    labels: ['RBC', 'WBC', 'Platelets'],
    teacher: { params: 537_763, accuracy: 0.9968, balancedAccuracy: 0.9901 },
    student: { params: 3123, accuracy: 0.9958, balancedAccuracy: 0.9851, fixedAccuracyEmulated: 0.9958, fixedBalancedAccuracyEmulated: 0.9851 },
    agreement: 0.9968,
    agreementFixed: 0.9968,
    ratio: { studentToTeacherParams: 0.0058, accuracyGapPoints: 0.11 },
    fixed: { precision: 'ap_fixed<16,6,AP_TRN,AP_SAT>', agreementTop1: 1, maxAbsLogitError: 0.0109 },
    fpga: { latencyCycles: 3486, ii: 1800, clockMhz: 200, dsp: 3096, latencyUs: 17.43, weightStorageBits: 49_968, strategy: 'latency', reuse: 1 },
  };
  return {
    name: 'cells-bccd/student',
    model: 'cells-bccd/student',
    primary: 'cells-bccd/student',
    inForce: true,
    variant: 'student',
    size: null,
    modelParams: 3123,
    modelAccuracy: 0.9958,
    task: 'cells-bccd',
    labels: card.labels,
    params: { teacher: 537_763, student: 3123 },
    precision: card.fixed.precision,
    modelled: { cycles: 3486, clockMhz: 200, us: 17.43 },
    resources: { dsp: 3096, weightStorageBits: 49_968, iiCycles: 1800, reuse: 1 },
    accuracy: {
      teacher: 0.9968, teacherBalanced: 0.9901, student: 0.9958, studentBalanced: 0.9851, studentFixed: 0.9958, studentFixedBalanced: 0.9851,
      agreement: 0.9968, agreementFixed: 0.9968, accuracyGapPoints: 0.11, fixedAgreementTop1: 1, fixedMaxAbsLogitError: 0.0109,
    },
    card,
  };
}

/**
 * The value of one sample in Prometheus text format, e.g.
 * `sampleValue(text, 'hairtrigger_latency_seconds_bucket{stage="e2e",le="0.00001"}')`; `undefined` when
 * the series is absent. Labels must be written in the order the exporter emits them.
 */
export function sampleValue(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    if (space > 0 && line.slice(0, space) === series) return Number(line.slice(space + 1));
  }
  return undefined;
}

/** A `DaemonControl` that records calls and answers as the daemon's would. */
export function recordingControl(): { state(): ControlsState } & DaemonControl & { calls: Array<[string, unknown, string]>; refusedCount: () => number } {
  const calls: Array<[string, unknown, string]> = [];
  let unauthorized = 0;
  const audit: AuditEntry[] = [];
  const entry = (action: string, who: string, changes: string[]): AuditEntry => {
    const e: AuditEntry = { atMs: 1, who, action, changes, outcome: 'applied', error: null };
    audit.push(e);
    return e;
  };
  const state = (): ControlsState => ({
    settings: { source: 'replay x.ht (realtime)', decoder: 'fixed', backend: 'sim', model: 'a/student', models: ['a/student', 'b'], mode: 'host', targets: ['B'], threshold: 0.5, holdoffUs: 0, maxRatePerS: 1e6, burst: 1, budgetUs: 1000, filters: [], paused: false, replaySpeed: 1 },
    audit: [...audit],
    unauthorized,
  });
  return {
    calls,
    refusedCount: () => unauthorized,
    state,
    setTrigger: (c, who) => (calls.push(['trigger', c, who]), entry('POST /api/control/trigger', who, [`trigger.threshold: 0.5 -> ${c.threshold}`])),
    pause: (who) => (calls.push(['pause', null, who]), entry('POST /api/control/pause', who, ['paused: false -> true'])),
    resume: (who) => (calls.push(['resume', null, who]), entry('POST /api/control/resume', who, ['paused: true -> false'])),
    setReplaySpeed: (c, who) => (calls.push(['replay', c, who]), entry('POST /api/control/replay', who, [])),
    setModel: (c, who) => {
      if (c.model !== 'b') throw new RequestError('POST /api/control/model', `model "${c.model}" is not loaded`, 400);
      calls.push(['model', c, who]);
      return entry('POST /api/control/model', who, ['model: a/student -> b']);
    },
    countUnauthorized: () => void unauthorized++,
  };
}
