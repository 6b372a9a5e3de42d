/**
 * Test helpers for the server, the exporter and the dashboard: a `DaemonView` with no
 * pipeline behind it (also handy for working on the UI without a model) and a reader for
 * Prometheus text. Everything is driven by hand: nothing here reads a clock.
 */
import * as hdr from 'hdr-histogram-js';
import { createRng, type Rng } from '../core/rng.js';
import { addHeatmap, HEATMAP_EDGES_US, HistoryRing } from '../metrics/history.js';
import { percentileDistribution } from '../metrics/latency-distribution.js';
import { summariseUs } from '../metrics/latency-summary.js';
import { STAGES } from '../metrics/snapshot.js';
import type { DaemonView, DeviceSnapshot, LatencySummaryUs, Snapshot, StageName, TriggerEvent } from '../metrics/snapshot.js';
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
    ...over,
  };
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
  return { ...ring.columns(), deviceSource: 'modelled' };
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

/**
 * The value of one sample in Prometheus text format, e.g.
 * `sampleValue(text, 'hairtrigger_latency_us{stage="e2e",quantile="0.99"}')`; `undefined` when
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
