/**
 * Test helpers for the server, the exporter and the dashboard: a `DaemonView` with no
 * pipeline behind it (also handy for working on the UI without a model) and a reader for
 * Prometheus text. Everything is driven by hand: nothing here reads a clock.
 */
import { STAGES } from '../metrics/snapshot.js';
import type { DaemonView, DeviceSnapshot, LatencySummaryUs, Snapshot, StageName, TriggerEvent } from '../metrics/snapshot.js';

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
  };
  return view;
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
