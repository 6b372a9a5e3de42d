/**
 * The shapes the daemon shows the world: `/api/snapshot` JSON, the websocket's snapshot and
 * trigger messages, and what `/metrics` is derived from. Changing a field here changes the
 * public API: keep README and the dashboard in step.
 */

import type { ModelSelectionView } from '../model/model-selection.js';
import type { Awaitable, CalibrationView, CascadeSnapshot, DetectionScoreView, HistoryColumns, LatencyDistribution, LiveAgreement, ModelView, PipelineSettings, TriggerDetail, TriggerQuality } from '../server/api-types.js';

/** Stages of the hot path, in order. `e2e` is measured from the frame's due time to the trigger write. */
export const STAGES = ['decode', 'preprocess', 'infer', 'policy', 'emit'] as const;
export type StageName = (typeof STAGES)[number];

/** A latency distribution in microseconds. Values are 0 when `count` is 0. */
export interface LatencySummaryUs {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** One JSON snapshot of a running pipeline. */
export interface Snapshot {
  /** Wall-clock milliseconds since the Unix epoch when the snapshot was taken. */
  atMs: number;
  uptimeS: number;
  pipeline: string;
  backend: string;
  model: string;
  labels: string[];
  /** Frames that completed the hot path (classified, triggered or not). */
  frames: number;
  triggers: number;
  /** Frames past their deadline at the policy: counted, never triggered. */
  late: number;
  /** Frames lost before classification: failed decode/preprocess/infer, or ring overflow. */
  dropped: number;
  /** Operating errors by stable code (E_FRAME_SHAPE, ...). */
  errorsByCode: Record<string, number>;
  budgetUs: number;
  /** Frames whose end-to-end latency exceeded `budgetUs` (late or not). */
  budgetViolations: number;
  /** Frames that reached the policy and did not fire, by reason (each frame counted once;
   * host/src/trigger/policy.ts): a target was predicted below the threshold; a target passed
   * but the hold-off since the last trigger had not; ... but the rate limit's bucket was
   * empty; it was late (these are the `missed` records). With `nonTarget`:
   * frames = triggers + belowThreshold + holdoff + rateLimit + late + nonTarget. */
  suppressed: { belowThreshold: number; holdoff: number; rateLimit: number; late: number };
  /** Frames whose predicted class is not a target and where no target reached the threshold. */
  nonTarget: number;
  /** Trigger records overwritten before the log and websocket read them (drop-oldest). */
  triggerRingOverflows: number;
  /** Latency samples outside [0, limits.histogramMaxUs], recorded at the nearer bound. */
  clampedSamples: number;
  /** Frames per second and triggers per second over the last snapshot interval. */
  fps: number;
  triggersPerS: number;
  /** Predicted-class counts, by label. */
  perClass: Record<string, number>;
  /** `confusion[label][predicted]`, present when the stream carries labels. */
  confusion: number[][] | null;
  /** Latencies since start (or the last reset). End to end runs from the frame's due time
   * (its scheduled arrival or sensor time) to the trigger write, and splits into queueing (due
   * to ingest: the source was late handing it over) and service (ingest to trigger write). */
  e2eUs: LatencySummaryUs;
  queueUs: LatencySummaryUs;
  serviceUs: LatencySummaryUs;
  stagesUs: Record<StageName, LatencySummaryUs>;
  /** Latencies of the last `windowS` to `2 * windowS` seconds: what the stream does now. */
  recent: { windowS: number; e2eUs: LatencySummaryUs; queueUs: LatencySummaryUs; serviceUs: LatencySummaryUs; stagesUs: Record<StageName, LatencySummaryUs> };
  /** The router's outcome counters (an alert broker's routed / unmatched / error and per
   * topic), present when the pipeline has a router (`route:` in the config). */
  route?: Record<string, number | Record<string, number>>;
  /** The device's driver counters, present when the backend is fpga (read at snapshot time). */
  device?: DeviceSnapshot;
  /** A source's own counters, present for sources that keep them (NATS: received, acked,
   * redelivered, and the consumer's lag: numPending, numAckPending, numRedelivered). */
  source?: Record<string, number>;
  /** Link counters of transport sources and sinks (serial, websocket; per client), by
   * component name (`serial /dev/ttyUSB0`): crcErrors, framingErrors, seqGaps, overruns,
   * reconnects, ... (host/src/link/receiver.ts `LinkCounts`). Absent without such a part. */
  transport?: Record<string, Record<string, number>>;
  /** The settings in force (source, decoder, backend, model, trigger settings, filters,
   * pause, replay speed; server/api-types.ts). Always present from the daemon. */
  settings?: PipelineSettings;
  /** Purity, yield and targets missed on a labelled stream; null on unlabelled streams. */
  quality?: TriggerQuality | null;
  /** Live agreement with a second opinion; null when none runs. */
  agreement?: LiveAgreement | null;
  /** The cascade to the teacher (config `cascade`); null or absent when none runs. */
  cascade?: CascadeSnapshot | null;
  /** Calibrated rates beside their targets, and the drift watch; null without `calibration:`. */
  calibration?: CalibrationView | null;
  /** A keyword stream scored live against its truth windows; null without `calibration.truth`. */
  detectionScore?: DetectionScoreView | null;
  /** The model chosen by the budget: input rate, service-time estimates, switches (counts and
   * the newest); absent without `modelSelection:`. */
  modelSelection?: ModelSelectionView;
  /** The newest operating errors (at most 5), newest last: what the overview lists by code. */
  errorsLatest?: Array<{ atMs: number; code: string; where: string; message: string }>;
  /** What `probs` and `score` are: always probabilities (autonomous mode's device scores are
   * turned into probabilities as the host's softmax would). */
  scores?: 'probabilities';
  /** Cumulative latency histograms since start, for `/metrics` (`hairtrigger_latency_seconds`):
   * per series (`LATENCY_SERIES`), the samples at or below each of `leUs`, all samples, and
   * their sum. */
  latencyBuckets?: { leUs: number[]; series: Record<string, { counts: number[]; count: number; sumUs: number }> };
}

/**
 * An FPGA device as the driver sees it (host/src/backends/fpga.ts `deviceStats`,
 * docs/fpga-protocol.md "The driver"). Counters are since the daemon opened the device.
 */
export interface DeviceSnapshot {
  /** The mapped register region (a BAR resource file, /dev/xdma0_user, an emulator's /dev/shm file). */
  path: string;
  /** First 12 hex digits of the SHA-256 of the ONNX file the firmware was compiled from. */
  modelHash: string;
  clockKhz: number;
  latencyCycles: number;
  /** Modelled device time of one inference: LATENCY_CYCLES at the kernel clock, microseconds. */
  modelledUs: number;
  jobs: number;
  timeouts: number;
  resets: number;
  corrupt: number;
  /** A job timed out and the device has not answered since; frames failed at once meanwhile; re-probes off the hot path. */
  faulted: boolean;
  faultedFast: number;
  reprobes: number;
  /** Device wait per job (ap_start to DONE_COUNT change), ns, over completed jobs; 0 before the first. */
  waitNsLast: number;
  waitNsMean: number;
  waitNsMin: number;
  waitNsMax: number;
  /** Autonomous-mode events the device dropped because its FIFO was full, and records not yet drained. */
  fifoOverflows: number;
  fifoPending: number;
}

/**
 * One trigger record as every sink writes it (JSON lines, Arrow, websocket, and every later
 * sink): the same field names in every format. `kind` is `trigger` for a fired trigger and
 * `missed` for a late frame whose target class passed the threshold (never fired: logged so
 * a sort's yield can be audited). Enough to forward a trigger downstream without the frame.
 */
export interface TriggerEvent {
  kind: 'trigger' | 'missed';
  /** The daemon run that wrote it (one id per start; a log never mixes runs unmarked). */
  run: string;
  /** Stream name and the frame's sequence number in it. */
  stream: string;
  seq: number;
  /** The sensor's own id as a decimal string (64-bit exact), null when the sensor gave none. */
  id: string | null;
  /** Predicted (deciding) class: index and label. */
  classIndex: number;
  class: string;
  /** Ground truth when the stream carries it: index (-1 when unknown) and label (null then). */
  truthIndex: number;
  truth: string | null;
  /** Probability of `class`, and every class's probability in label order. */
  score: number;
  probs: number[];
  /** Sensor time (ns on the sensor's clock) or null; due and ingest time (monotonic ns). */
  sensorNs: number | null;
  /** Stream time of the frame in ms from the stream's first sample (an audio window's end: when
   * a keyword fired, `sensorNs / 1e6`); null when the stream's sensor time is not stream time. */
  streamMs: number | null;
  dueNs: number;
  ingestNs: number;
  /** Microseconds from the due time to the trigger write (to the policy for `missed`). */
  e2eUs: number;
  late: boolean;
  /** The modality's small payload (an alert's objectId, a keyword's stream time); {} when none. */
  payload: Record<string, string | number>;
  /** The model that decided the frame, when the pipeline has several to switch between
   * (config `models`, `POST /api/control/model`); absent with one model. */
  model?: string;
  /** A trigger held by the cascade (`cascade.replace`) until the teacher answered or the
   * budget ran out: who decided it, both classes, the teacher's probability of its class
   * (teacher and teacherScore null when it had not answered before the record was released)
   * and whether its answer came within the budget (then it decided). */
  cascade?: { decidedBy: 'teacher' | 'student'; student: string; teacher: string | null; teacherScore: number | null; inTime: boolean };
}

/** What the HTTP server needs from a running daemon. The on-demand reads (history, latency,
 * trigger details, model) may answer with a promise: a pipeline in a worker thread
 * (cli/worker-run.ts) answers them by message; the server awaits either. */
export interface DaemonView {
  /** The latest published snapshot (at most `limits.snapshotIntervalMs` plus one build old);
   * cheap: it is built on the daemon's timer, never per call. Do not mutate it. */
  snapshot(): Snapshot;
  /** `JSON.stringify(snapshot())`, serialised once per publication. */
  snapshotJson(): string;
  /** Subscribe to triggers (delivered in batches, off the hot path). Returns unsubscribe. */
  onTriggers(listener: (events: readonly TriggerEvent[]) => void): () => void;
  /** The most recent operating errors, newest last. */
  recentErrors(): ReadonlyArray<{ atMs: number; code: string; where: string; message: string }>;
  /** The bounded per-second history (`/api/history`), built off the hot path. */
  history?(): Awaitable<HistoryColumns>;
  /** The history as `/api/history` serves it, already serialised: a view in another thread
   * sends the text (serialised there, once per row) rather than the columns; the server
   * prefers it to `history()`. */
  historyJson?(): Promise<string>;
  /** Percentile distributions since start (`/api/latency`). */
  latencyDistribution?(): Awaitable<LatencyDistribution>;
  /** A recent trigger's record and its frame's view (`/api/triggers/:run/:seq`); null once it
   * has left the bounded detail ring. */
  triggerDetail?(run: string, seq: number): Awaitable<TriggerDetail | null>;
  /** The model in force, for the model view (`/api/model`). */
  model?(): Awaitable<ModelView>;
}

/** The view of a daemon on this thread (`createDaemon`): every read answers at once. */
export interface LocalDaemonView extends DaemonView {
  history(): HistoryColumns;
  latencyDistribution(): LatencyDistribution;
  triggerDetail(run: string, seq: number): TriggerDetail | null;
  model(): ModelView;
}
