/**
 * The dashboard's and the control API's data contract (issue 13): what `/api/history`,
 * `/api/latency`, `/api/triggers/:run/:seq`, `/api/model`, `/api/controls` and the control
 * endpoints answer. The server, the daemon and the page (ui/src) all import these types;
 * changing one changes the public API (docs/api.md, the OpenAPI file served at
 * `/api/openapi.json`).
 */
import type { LatencySummaryUs, StageName, TriggerEvent } from '../metrics/snapshot.js';

/** Latency series the daemon keeps per interval and as distributions. `device` is the
 * modelled or measured FPGA time per job, apart from the host's stages. */
export const LATENCY_SERIES = ['e2e', 'queue', 'service', 'decode', 'preprocess', 'infer', 'policy', 'emit', 'device'] as const;
export type LatencySeries = (typeof LATENCY_SERIES)[number];
export const STAGE_SERIES: readonly StageName[] = ['decode', 'preprocess', 'infer', 'policy', 'emit'];
/** What the `device` series holds: the fpga driver's measured wait per job, the firmware's
 * modelled time (cycles / clock, on the simulator), or nothing (onnx). */
export type DeviceLatencySource = 'measured' | 'modelled' | 'none';

/** Per-interval statistics of one latency series, microseconds (0 where the interval had no
 * sample: read `count`). */
export interface IntervalLatencyColumns {
  count: number[];
  p50: number[];
  p99: number[];
  p999: number[];
  max: number[];
  mean: number[];
}

/**
 * The daemon's bounded history, one column per quantity, one row per interval (oldest first),
 * so a reload or a second browser shows the past. At least `limits.historySecondsMin`
 * (3600) intervals of `resolutionS` (1 s) are kept.
 */
export interface HistoryColumns {
  resolutionS: number;
  /** Wall-clock end of each interval, seconds since the Unix epoch. */
  t: number[];
  /** Rates over each interval, per second. */
  fps: number[];
  triggersPerS: number[];
  /** Counts within each interval (not cumulative). */
  late: number[];
  budgetViolations: number[];
  dropped: number[];
  errors: number[];
  suppressed: number[];
  /** Per-interval latency of each series. */
  latency: Record<LatencySeries, IntervalLatencyColumns>;
  /** End-to-end latency heatmap: `heatmap[i][b]` frames of interval i whose e2e latency fell
   * in [bucketEdgesUs[b], bucketEdgesUs[b + 1]) (log-spaced edges; the last bucket is open). */
  heatmap: { bucketEdgesUs: number[]; counts: number[][] };
  /** What the `device` series holds (absent: not said). */
  deviceSource?: DeviceLatencySource;
}

/** One point of a percentile distribution (HdrHistogram's `outputPercentileDistribution`):
 * the value at `percentile`, and `1 / (1 - percentile / 100)` for the log "nines" axis. */
export interface PercentilePoint {
  percentile: number;
  valueUs: number;
  inverted: number;
  count: number;
}

/** `/api/latency`: the percentile distribution of every series since start. */
export interface LatencyDistribution {
  budgetUs: number;
  /** What the `device` series holds (absent: not said). */
  deviceSource?: DeviceLatencySource;
  series: Record<LatencySeries, { summary: LatencySummaryUs; points: PercentilePoint[] }>;
}

/** The settings in force, as the overview shows them (snapshot `settings`). */
export interface PipelineSettings {
  /** `kind` and where it reads: "replay cells.ht (realtime x1)", "nats alerts.ztf", "pcm stdin". */
  source: string;
  decoder: string;
  backend: string;
  /** Name of the model in force (one of `models`). */
  model: string;
  /** The models the pipeline has loaded and may switch between (`POST /api/control/model`). */
  models: string[];
  /** 'host': the host runs the policy; 'autonomous': the device fires (fpga autonomous mode). */
  mode: 'host' | 'autonomous';
  targets: string[];
  threshold: number;
  /** Per-class thresholds replacing `threshold` for the classes named (a calibration's); absent without. */
  thresholds?: Record<string, number>;
  holdoffUs: number;
  maxRatePerS: number;
  burst: number;
  budgetUs: number;
  /** The router's filters or detector settings, one line each; [] without a router. */
  filters: string[];
  paused: boolean;
  /** A replay's pace multiplier (1 = real time, null = as fast as possible or not a replay). */
  replaySpeed: number | null;
}

/** Purity and yield on a labelled stream (snapshot `quality`, null on unlabelled streams). */
export interface TriggerQuality {
  /** Frames decided that carried a label. */
  labelled: number;
  /** Labelled frames whose true class is a target. */
  targets: number;
  /** Triggers on labelled frames, and those whose true class is a target. */
  triggers: number;
  triggersOnTargets: number;
  /** triggersOnTargets / triggers (NaN-free: 0 when there were no triggers). */
  purity: number;
  /** triggersOnTargets / targets (0 without targets). */
  yield: number;
  /** True targets that were late (`missed`), and true targets suppressed by hold-off or rate limit. */
  targetsMissedLate: number;
  targetsSuppressed: number;
  /** Triggers per true class, by label. */
  triggersByTruth: Record<string, number>;
}

/** Live agreement of the model in force with a second opinion (an extra model of the same
 * labels, or the teacher in a cascade): top-1 agreement over frames both decided. */
export interface LiveAgreement {
  other: string;
  frames: number;
  agreed: number;
  /** agreed / frames over the last `windowS` seconds. */
  recent: number;
  windowS: number;
}

/** The cascade to the teacher (config `cascade`), in the snapshot and `/metrics`. Counts are
 * since start; `recent` fields are over the last `windowS` seconds. */
export interface CascadeSnapshot {
  /** The teacher: `<task>/<variant>`. */
  teacher: string;
  /** What the cut is on and its value: a frame is sent when its margin is below it, or its
   * normalised entropy above it. */
  cutKind: 'margin' | 'entropy';
  cut: number;
  queueFrames: number;
  replace: boolean;
  /** Frames the student was unsure of (past the cut), sent, and not sent because the queue
   * was full (`unsure = sent + dropped`). */
  unsure: number;
  sent: number;
  dropped: number;
  /** Frames sent per second over the recent window. */
  sentPerS: number;
  /** Answers joined with their frames, and failed teacher runs among them. */
  answered: number;
  failed: number;
  /** Answers whose top-1 class is the student's, and that fraction (0 before any answer). */
  agreed: number;
  agreement: number;
  agreementRecent: number;
  windowS: number;
  /** Frames out with the teacher now (queued, running, or answered and not yet joined), and
   * the most there ever were (never above `queueFrames`). */
  queueDepth: number;
  queueDepthMax: number;
  /** replace: held triggers decided by the teacher's answer (it came within the budget), and
   * by the student's (it did not). */
  decidedByTeacher: number;
  decidedByStudent: number;
  /** From each sent frame's due time to its answer joined on the main thread. */
  teacherLatencyUs: LatencySummaryUs;
  /** The teacher's inference alone (its worker's session.run). */
  teacherInferUs: LatencySummaryUs;
}

/**
 * A calibration at work (snapshot `calibration`, null without one; host/src/calibration/):
 * each calibrated rate measured on the labelled frames seen so far at the calibration's
 * thresholds (before hold-off, rate limit and lateness), and the drift check of the live top
 * scores against the calibration set's.
 */
export interface CalibrationView {
  /** The calibration file, its method, when it was made and from which data. */
  file: string;
  method: string;
  createdAt: string;
  data: string;
  targets: Array<{
    /** `recall`: frames of one of `classes` that passed on their own class; `falseRate`: frames of no class in `classes` on which one of them passed. */
    kind: 'recall' | 'falseRate';
    classes: string[];
    /** What was asked (a recall or a false-trigger rate), and the finite-sample bound the threshold gives. */
    target: number;
    bound: number;
    threshold: number;
    /** Calibration frames the threshold came from. */
    n: number;
    /** Labelled frames counted here (of the class, or non-target), those that passed, and their ratio (null before any). */
    labelled: number;
    passed: number;
    achieved: number | null;
  }>;
  /** A calibrated cascade cut (`--cascade-catch`/`--cascade-send`), counted at the cut: `frames`
   * are every frame (`send`) or the labelled frames the student gets wrong (`catch`), `sent`
   * those under the cut, `achieved` their ratio (null before any). Null without one. */
  cascade: { on: 'margin' | 'entropy'; cut: number; promise: 'catch' | 'send'; target: number; bound: number; n: number; frames: number; sent: number; achieved: number | null } | null;
  drift: {
    /** The frame's largest class probability, tested with the two-sample Kolmogorov-Smirnov test. */
    score: 'top';
    /** Of every frame, or (a streaming detector: keywords) of every hop, unsmoothed. */
    per: 'frame' | 'hop';
    test: 'ks';
    windowFrames: number;
    /** Frames in the window now (the test runs once it is full). */
    frames: number;
    referenceN: number;
    /** KS distance and its asymptotic p-value of this check; null until the window is full. */
    statistic: number | null;
    pValue: number | null;
    /** The level of each check; `drift` when pValue < alpha. */
    alpha: number;
    drift: boolean;
    /** Checks run (one per snapshot once the window is full) and those that flagged drift. */
    checks: number;
    flaggedChecks: number;
  };
}

/**
 * A keyword stream scored live against its truth windows (snapshot `detectionScore`, null
 * without `calibration.truth`; host/src/calibration/detection-monitor.ts): each detection
 * matched as it happens by MLPerf Tiny's streaming wake-word rules, the same as `hairtrigger
 * score-keywords` on the trigger log at the end of the stream.
 */
export interface DetectionScoreView {
  /** The truth file, the stream in it, the one word scored (others' detections left out) or null, and whether missed (late) detections count. */
  truth: string;
  stream: string;
  word: string | null;
  includeMissed: boolean;
  rules: { acceptAfterEndS: number; debounceS: number };
  /** Utterances in the truth; detected, missed (the stream passed their end + acceptAfterEndS), and still open. */
  windows: number;
  truePositives: number;
  misses: number;
  pending: number;
  /** Debounced detections no window took. */
  falseAlarms: number;
  /** Detections scored, those a detected window took again, and those of other words left out by `word`. */
  detections: number;
  repeats: number;
  otherWords: number;
  /** Stream time seen (s); the truth's length (s); whether the stream has ended (every window settled). */
  streamS: number;
  lengthS: number;
  ended: boolean;
  /** False alarms per hour of stream: over the stream seen, over the truth's length once ended; null before any stream. */
  falseAlarmsPerHour: number | null;
  /** Detected over settled windows (null before any). */
  recall: number | null;
  /** From each detected utterance's end to its first detection (ms; negative: before the end), nearest-rank percentiles; null before any. */
  delayMs: { count: number; p50: number; p90: number; p99: number; max: number; mean: number } | null;
  /** Each calibrated recall target (the calibration file's, promised per clip) measured per detection: its words' windows settled, detected, and their ratio. */
  targets: Array<{ classes: string[]; target: number; bound: number; threshold: number; per: 'clip'; windows: number; detected: number; recall: number | null }>;
}

/** A control change, as the audit log keeps it and the page shows it. */
export interface AuditEntry {
  atMs: number;
  /** Who: the token's name ("config", "env", "generated") and the client's address. */
  who: string;
  /** The endpoint, e.g. "POST /api/control/trigger". */
  action: string;
  /** What changed, e.g. ["trigger.threshold: 0.5 -> 0.9"]; [] when refused. */
  changes: string[];
  outcome: 'applied' | 'refused';
  /** Why it was refused (a typed error's message); null when applied. */
  error: string | null;
}

/** `GET /api/controls` (no token needed to read). */
export interface ControlsState {
  settings: PipelineSettings;
  /** Newest last, bounded (`limits.auditEntriesMax`). */
  audit: AuditEntry[];
  /** Requests refused for a missing or wrong token since start. */
  unauthorized: number;
}

/** Bodies of the control endpoints (all need `Authorization: Bearer <token>`). */
export interface TriggerSettingsChange {
  threshold?: number;
  holdoffUs?: number;
  maxRatePerS?: number;
  burst?: number;
}
export interface ReplaySpeedChange {
  /** Pace multiplier: 0.1 to 100 (1 = real time); null: as fast as possible. */
  speed: number | null;
}
export interface ModelChange {
  model: string;
}

/** What a trigger's detail view shows, beside its record (`GET /api/triggers/:run/:seq`). */
export type TriggerView =
  | {
      /** A cell's crop (or any image frame): row-major pixels, `channels` per pixel, 0-255. */
      kind: 'image';
      width: number;
      height: number;
      channels: number;
      pixels: number[];
    }
  | {
      /** An alert: its cutouts (row-major float pixels, NaN as null) and its light curve per band. */
      kind: 'alert';
      objectId: string;
      cutouts: Array<{ name: 'science' | 'template' | 'difference'; width: number; height: number; pixels: Array<number | null> }>;
      lightcurve: Array<{ band: string; mjd: number[]; mag: number[]; magErr: number[] }>;
    }
  | {
      /** A keyword: the window's features (frames x coefficients, as the model saw them). */
      kind: 'spectrogram';
      streamMs: number | null;
      frames: number;
      bins: number;
      values: number[];
      /** What the bins are: "MFCC" or "log-mel". */
      feature: string;
    }
  | { kind: 'none'; reason: string };

export interface TriggerDetail {
  event: TriggerEvent;
  view: TriggerView;
}

/** `GET /api/model`: the card of the model in force, as the model view shows it. */
export interface ModelView {
  /** `<task>/<variant>` of the card. */
  name: string;
  /** The model's name in the pipeline (the snapshot's `model`: `<task>/<variant>` for the
   * primary, the config's `models[].name` for an alternate), the primary's, and whether this
   * is the model in force (the daemon's `/api/model` always answers with that one). */
  model: string;
  primary: string;
  inForce: boolean;
  variant: 'student' | 'teacher';
  /** The card's `size` (another student size of the task: models/zoo/<task>-<size>), null for the task's shipped one. */
  size: string | null;
  /** This model's own parameters (the variant's) and the accuracy it is ranked by (model
   * selection's: the fixed-point emulated accuracy for firmware, the float one on onnx); null when the card has none. */
  modelParams: number | null;
  modelAccuracy: number | null;
  task: string;
  labels: string[];
  params: { teacher: number | null; student: number };
  precision: string;
  /** Modelled device cycles and time at the card's clock; null without firmware. */
  modelled: { cycles: number; clockMhz: number; us: number } | null;
  resources: Record<string, number> | null;
  /** Accuracy figures from the card: fixed point against float, student against teacher. */
  accuracy: Record<string, number>;
  /** The card's JSON as is, for anything the view does not lift out. */
  card: Record<string, unknown>;
}

/** `GET /api/server`: the server's own state for the devices-and-links view. */
export interface ServerState {
  uptimeS: number;
  wsClients: number;
  wsMessagesDropped: number;
  wsClientsRefused: number;
  /** Requests refused for a missing or wrong token. */
  unauthorized: number;
  /** Where the server listens and whether control requests need a token (always true). */
  url: string;
}

/** A value, or a promise of one: what a pipeline in a worker thread answers (cli/worker-run.ts)
 * where an in-process one answers at once. Route handlers await it either way. */
export type Awaitable<T> = T | Promise<T>;

/**
 * What the control endpoints drive: implemented by the daemon's composition root
 * (cli/run-daemon.ts), which applies each change between frames (as a SIGHUP reload does:
 * built and validated whole, then one reference swap) and records it in the audit log.
 * Every method returns the audit entry it made; a refused change (a typed error: bad value,
 * unknown model, not a replay) is recorded as refused and thrown to the caller as that error
 * (rejected with it, for a pipeline in a worker thread: the answer is a message away).
 */
export interface DaemonControl {
  state(): Awaitable<ControlsState>;
  setTrigger(change: TriggerSettingsChange, who: string): Awaitable<AuditEntry>;
  pause(who: string): Awaitable<AuditEntry>;
  resume(who: string): Awaitable<AuditEntry>;
  setReplaySpeed(change: ReplaySpeedChange, who: string): Awaitable<AuditEntry>;
  setModel(change: ModelChange, who: string): Awaitable<AuditEntry>;
  /** Counts one request refused for its token (shown in `state().unauthorized`). */
  countUnauthorized(): void;
}

/** One line of `GET /api/pipelines`: a pipeline this daemon runs (`hairtrigger run` with one
 * `--config` per pipeline), in the order given; the first is every route's default. */
export interface PipelineSummary {
  name: string;
  /** The settings' source line once it runs (`PipelineSettings.source`); the source kind before. */
  source: string;
  backend: string;
  /** The model in force; '' while starting. */
  model: string;
  fps: number;
  triggersPerS: number;
  /** `/healthz`'s word: 'up' or 'down' while running, else 'starting' / 'stopping'; null
   * when the server was given no health report. */
  health: 'up' | 'down' | 'starting' | 'stopping' | null;
}
