/**
 * Prometheus exposition of a running daemon. Every series is derived from one `Snapshot`
 * (prom-client `collect()` callbacks), so nothing here sits on the hot path and the numbers
 * on `/metrics` agree with `/api/snapshot` of the same publication. The text is rendered
 * once per published snapshot and served as is to every scrape until the next one.
 */
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import { assert } from '../core/assert.js';
import type { DeviceSnapshot, Snapshot } from './snapshot.js';
import type { CascadeSnapshot } from '../server/api-types.js';

/** Options for `PrometheusExporter`. */
export interface PrometheusExporterOptions {
  /** Register prom-client's process metrics (CPU, memory, event loop, GC). Default true. */
  defaultMetrics?: boolean;
  /** Labels on every series of this exporter (prom-client default labels), e.g. `{ pipeline:
   * 'cells' }` for one pipeline of several (`PipelineExpositions`). Default none. */
  labels?: Record<string, string>;
}

/** What the HTTP server serves on `/metrics`: one exporter, or several pipelines' merged. */
export interface MetricsExposition {
  /** Where the server adds its own series (websocket clients, ...); whoever adds removes. */
  readonly registry: Registry;
  readonly contentType: string;
  metricsText(): Promise<string>;
}

/**
 * Serves the daemon's metrics in Prometheus text format from its own `Registry` (never
 * prom-client's global one, so two daemons or two tests in one process do not collide).
 *
 * Contract: `snapshotOf` is called once per `metricsText()` call, on the caller's tick, must
 * be cheap (the daemon's published snapshot) and must not throw for a healthy daemon; if
 * it throws, `metricsText()` rejects with that error and the next scrape tries again. The
 * registry is rendered only when `snapshotOf` returns a different object than at the last
 * render (so the process series, and the server's, are as of that render); concurrent
 * scrapes share one render, and renders never overlap. Counter values must be finite and never
 * negative (prom-client rejects anything else). The exporter holds no reference to the
 * snapshot after a scrape. `registry` is exposed so the HTTP server can add its own series
 * (websocket clients, dropped messages); whoever registers a metric there removes it.
 */
export class PrometheusExporter implements MetricsExposition {
  readonly registry: Registry;
  /** The `Content-Type` to answer a scrape with. */
  readonly contentType: string;
  private readonly snapshotOf: () => Snapshot;
  /** The snapshot shared by every collect() of the render in progress; null between renders. */
  private scrapeSnapshot: Snapshot | null = null;
  /** The snapshot of the last render started, and its text. */
  private renderedFrom: Snapshot | null = null;
  private rendered: Promise<string> = Promise.resolve('');
  /** Renders of the registry so far (scrapes served from the cache do not count). */
  renders = 0;

  constructor(snapshotOf: () => Snapshot, options: PrometheusExporterOptions = {}) {
    this.snapshotOf = snapshotOf;
    this.registry = new Registry();
    this.contentType = this.registry.contentType;
    if (options.labels !== undefined) this.registry.setDefaultLabels(options.labels);
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.registerCounters();
    this.registerGauges();
    this.registerDevice();
    this.registerRoute();
    this.registerTransport();
    this.registerCascade();
    this.registerCalibration();
    this.registerDetectionScore();
    this.registerModelSelection();
  }

  /**
   * The model chosen by the budget (snapshot `modelSelection`): switches by direction, the
   * input rate it sees, and its service-time estimate and utilization per model. Empty (HELP and
   * TYPE only) without `modelSelection:` in the config.
   */
  private registerModelSelection(): void {
    const exporter = this;
    const registers = [this.registry];
    new Counter({
      name: 'hairtrigger_model_switches_total',
      help: 'Model switches the budget selector made, by direction (down: to a cheaper model as the input rate rose; up: back to a more accurate one).',
      labelNames: ['direction'],
      registers,
      collect() {
        this.reset();
        const m = exporter.snap().modelSelection;
        if (m === undefined) return;
        this.inc({ direction: 'down' }, m.switches.down);
        this.inc({ direction: 'up' }, m.switches.up);
      },
    });
    new Gauge({
      name: 'hairtrigger_model_selection_input_rate_hz',
      help: 'Input rate the budget selector measured over its last tick (frames per second of due time).',
      registers,
      collect() {
        this.reset();
        const r = exporter.snap().modelSelection?.rateHz;
        if (r !== undefined && Number.isFinite(r)) this.set(r);
      },
    });
    const perModel = (name: string, help: string, read: (e: NonNullable<Snapshot['modelSelection']>['estimates'][number]) => number) =>
      new Gauge({
        name, help, labelNames: ['model', 'in_force'], registers,
        collect() {
          this.reset();
          const m = exporter.snap().modelSelection;
          for (const e of m?.estimates ?? []) if (Number.isFinite(read(e))) this.set({ model: e.name, in_force: String(e.name === m!.current) }, read(e));
        },
      });
    perModel('hairtrigger_model_service_seconds', "The budget selector's service-time estimate per frame of each model (measured in force, else its start-up probe scaled).", (e) => e.serviceUs / 1e6);
    perModel('hairtrigger_model_utilization_ratio', 'Input rate x service time of each model: the fraction of the time it would be busy.', (e) => e.utilization);
  }

  /** The whole exposition of the current snapshot: cached text, or one render of every
   * registered series when the snapshot is new. */
  async metricsText(): Promise<string> {
    const snapshot = this.snapshotOf();
    if (snapshot !== this.renderedFrom) {
      this.renderedFrom = snapshot;
      this.renders++;
      // After the previous render (settled either way), so two renders never interleave
      // their collect() calls over scrapeSnapshot.
      this.rendered = this.rendered.then(noop, noop).then(() => this.render(snapshot));
      // A failed render is not cached: the next scrape renders again.
      this.rendered.catch(() => {
        if (this.renderedFrom === snapshot) this.renderedFrom = null;
      });
    }
    return this.rendered;
  }

  private async render(snapshot: Snapshot): Promise<string> {
    this.scrapeSnapshot = snapshot;
    try {
      return await renderRegistry(this.registry);
    } finally {
      this.scrapeSnapshot = null;
    }
  }

  /** The snapshot of the scrape in progress, or a fresh one when the registry is read
   * directly (without `metricsText`). */
  private snap(): Snapshot {
    return this.scrapeSnapshot ?? this.snapshotOf();
  }

  private registerCounters(): void {
    const exporter = this;
    const plain: Array<[string, string, (s: Snapshot) => number]> = [
      ['hairtrigger_frames_total', 'Frames that completed the hot path.', (s) => s.frames],
      ['hairtrigger_triggers_total', 'Triggers fired.', (s) => s.triggers],
      ['hairtrigger_late_frames_total', 'Frames past their deadline at the policy, never triggered.', (s) => s.late],
      ['hairtrigger_dropped_frames_total', 'Frames lost before classification.', (s) => s.dropped],
      [
        'hairtrigger_budget_violations_total',
        'Frames whose end-to-end latency exceeded the budget.',
        (s) => s.budgetViolations,
      ],
      [
        'hairtrigger_non_target_frames_total',
        'Frames predicted as a non-target class with no target class at the threshold.',
        (s) => s.nonTarget,
      ],
      [
        'hairtrigger_trigger_ring_overflows_total',
        'Trigger records overwritten before the log and websocket read them (drop-oldest).',
        (s) => s.triggerRingOverflows,
      ],
      [
        'hairtrigger_clamped_samples_total',
        'Latency samples outside [0, histogramMaxUs], recorded at the nearer bound.',
        (s) => s.clampedSamples,
      ],
    ];
    for (const [name, help, read] of plain) {
      new Counter({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.reset();
          this.inc(read(exporter.snap()));
        },
      });
    }
    const errorsByCode = (s: Snapshot) => s.errorsByCode;
    const perClass = (s: Snapshot) => s.perClass;
    this.registerLabelledCounter('hairtrigger_errors_total', 'Operating errors by stable code.', 'code', errorsByCode);
    this.registerLabelledCounter('hairtrigger_class_frames_total', 'Frames by predicted class.', 'class', perClass);
    this.registerLabelledCounter(
      'hairtrigger_suppressed_total',
      'Frames that reached the policy and did not fire, by reason (frames = triggers + suppressed + non-target).',
      'reason',
      suppressedByReason,
    );
  }

  private registerLabelledCounter(
    name: string,
    help: string,
    label: string,
    read: (s: Snapshot) => Record<string, number>,
  ): void {
    const exporter = this;
    new Counter({
      name,
      help,
      labelNames: [label],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [key, value] of Object.entries(read(exporter.snap()))) {
          this.inc({ [label]: key }, value);
        }
      },
    });
  }

  private registerGauges(): void {
    const exporter = this;
    new Gauge({
      name: 'hairtrigger_frames_per_second',
      help: 'Frames per second over the last snapshot interval.',
      registers: [this.registry],
      collect() {
        this.set(exporter.snap().fps);
      },
    });
    new Gauge({
      name: 'hairtrigger_budget_seconds',
      help: 'End-to-end latency budget, seconds.',
      registers: [this.registry],
      collect() {
        this.set(exporter.snap().budgetUs / 1e6);
      },
    });
    new Gauge({
      name: 'hairtrigger_info',
      help: 'Always 1; labels name the running pipeline, backend and model.',
      labelNames: ['pipeline', 'backend', 'model'],
      registers: [this.registry],
      collect() {
        const s = exporter.snap();
        this.reset();
        this.set({ pipeline: s.pipeline, backend: s.backend, model: s.model }, 1);
      },
    });
    this.registerLatencyHistogram();
    new Gauge({
      name: 'hairtrigger_source',
      help: "A source's own counters by stat (NATS: received, acked, nakked, redelivered, reconnects; the durable consumer's lag numPending, numAckPending, numRedelivered).",
      labelNames: ['stat'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [stat, n] of Object.entries(exporter.snap().source ?? {})) this.set({ stat }, n);
      },
    });
  }

  /**
   * The fpga backend's device (snapshot `device`), labelled by its path. A snapshot without a
   * device (any other backend) leaves these series empty: only their HELP and TYPE lines show.
   */
  private registerDevice(): void {
    const exporter = this;
    const device = () => exporter.snap().device;
    const registers = [this.registry];
    for (const [name, help, field] of DEVICE_COUNTERS) {
      new Counter({ name, help, labelNames: ['device'], registers, collect: fromDevice<Counter>(device, (m, d) => m.inc({ device: d.path }, d[field])) });
    }
    const gauges: Array<[string, string, (d: DeviceSnapshot) => number]> = [
      ['hairtrigger_device_fifo_pending', 'Event records the FPGA device wrote that the host has not drained.', (d) => d.fifoPending],
      ['hairtrigger_device_modelled_latency_seconds', 'Modelled device time of one inference: LATENCY_CYCLES at the kernel clock, seconds.', (d) => d.modelledUs / 1e6],
    ];
    for (const [name, help, read] of gauges) {
      new Gauge({ name, help, labelNames: ['device'], registers, collect: fromDevice<Gauge>(device, (m, d) => m.set({ device: d.path }, read(d))) });
    }
    new Gauge({
      name: 'hairtrigger_device_wait_seconds',
      help: 'FPGA device wait per job (ap_start to DONE_COUNT change), seconds, over completed jobs: last, mean, min, max.',
      labelNames: ['device', 'stat'],
      registers,
      collect: fromDevice<Gauge>(device, (m, d) => {
        for (const [stat, field] of WAIT_STATS) m.set({ device: d.path, stat }, d[field] / 1e9);
      }),
    });
    new Gauge({
      name: 'hairtrigger_device_info',
      help: 'Always 1 while an FPGA device is open; labels name it, its model hash prefix and its kernel clock.',
      labelNames: ['device', 'model_hash', 'clock_khz', 'latency_cycles'],
      registers,
      collect: fromDevice<Gauge>(device, (m, d) => m.set({ device: d.path, model_hash: d.modelHash, clock_khz: String(d.clockKhz), latency_cycles: String(d.latencyCycles) }, 1)),
    });
  }


  /**
   * A router's outcomes (snapshot `route`: an alert broker's routed / unmatched / error) and
   * alerts per topic. Empty (HELP and TYPE only) for a pipeline without a router.
   */
  private registerRoute(): void {
    const exporter = this;
    const registers = [this.registry];
    new Counter({
      name: 'hairtrigger_route_total',
      help: 'Frames the router decided, by outcome (alerts: routed, unmatched, error; they add up to every alert).',
      labelNames: ['outcome'],
      registers,
      collect() {
        this.reset();
        const r = exporter.snap().route;
        if (r === undefined) return;
        for (const outcome of ['routed', 'unmatched', 'error']) if (typeof r[outcome] === 'number') this.inc({ outcome }, r[outcome]);
      },
    });
    new Counter({
      name: 'hairtrigger_route_topic_total',
      help: 'Alerts the router sent to each topic (an alert may go to several).',
      labelNames: ['topic'],
      registers,
      collect() {
        this.reset();
        const topics = exporter.snap().route?.topics;
        if (typeof topics !== 'object') return;
        for (const [topic, n] of Object.entries(topics)) this.inc({ topic }, n);
      },
    });
  }

  /**
   * A calibration's rates beside their targets and the drift watch (snapshot `calibration`),
   * labelled by `kind` (recall, falseRate) and `class` (the recall class, or the targets joined
   * by commas). Empty (HELP and TYPE only) without `calibration:` in the config.
   */
  private registerCalibration(): void {
    const exporter = this;
    const registers = [this.registry];
    const rowsMetric = (name: string, help: string, labelNames: string[], rows: () => Array<[Record<string, string>, number | null]>, counter: boolean) => registerRows(this.registry, name, help, labelNames, rows, counter);
    type Row = NonNullable<Snapshot['calibration']>['targets'][number];
    const perTarget = (name: string, help: string, read: (t: Row) => number | null, counter = false) =>
      rowsMetric(name, help, ['kind', 'class'], () => (exporter.snap().calibration?.targets ?? []).map((t) => [{ kind: t.kind, class: t.classes.join(',') }, read(t)]), counter);
    perTarget('hairtrigger_calibration_target_ratio', 'What a calibration was asked for: a recall (kind recall) or a false-trigger rate over non-target frames (kind falseRate).', (t) => t.target);
    perTarget('hairtrigger_calibration_bound_ratio', "The calibrated threshold's finite-sample split-conformal bound (recall at least, false-trigger rate at most), marginal over calibration sets.", (t) => t.bound);
    perTarget('hairtrigger_calibration_threshold', 'The calibrated probability threshold.', (t) => t.threshold);
    perTarget('hairtrigger_calibration_achieved_ratio', 'The rate measured on the labelled frames seen so far at the calibrated threshold (before hold-off, rate limit and lateness).', (t) => t.achieved);
    perTarget('hairtrigger_calibration_labelled_frames_total', 'Labelled frames a calibrated rate counted: of the recall class, or not of the targets.', (t) => t.labelled, true);
    perTarget('hairtrigger_calibration_passed_frames_total', 'Of those, the frames that passed the calibrated threshold.', (t) => t.passed, true);
    // A calibrated cascade cut (snapshot `calibration.cascade`), labelled by its promise and what it cuts on.
    type Cut = NonNullable<NonNullable<Snapshot['calibration']>['cascade']>;
    const perCut = (name: string, help: string, read: (c: Cut) => number | null, counter = false) =>
      rowsMetric(name, help, ['promise', 'on'], () => {
        const c = exporter.snap().calibration?.cascade ?? null;
        return c === null ? [] : [[{ promise: c.promise, on: c.on }, read(c)]];
      }, counter);
    perCut('hairtrigger_calibration_cascade_target_ratio', "What the cascade's cut was calibrated for: the share of the student's wrong frames sent to the teacher at least (promise catch), or of all frames at most (promise send).", (c) => c.target);
    perCut('hairtrigger_calibration_cascade_bound_ratio', "The calibrated cut's finite-sample split-conformal bound, marginal over calibration sets.", (c) => c.bound);
    perCut('hairtrigger_calibration_cascade_cut', 'The calibrated cut: a margin below it, or an entropy over ln(classes) above it, goes to the teacher.', (c) => c.cut);
    perCut('hairtrigger_calibration_cascade_achieved_ratio', 'The share measured so far at the cut: of the labelled frames the student got wrong (catch), or of all frames (send).', (c) => c.achieved);
    perCut('hairtrigger_calibration_cascade_counted_frames_total', 'Frames the cut\'s promise counted: the labelled frames the student got wrong (catch), or every frame (send).', (c) => c.frames, true);
    perCut('hairtrigger_calibration_cascade_sent_frames_total', 'Of those, the frames under the cut.', (c) => c.sent, true);
    const drift = () => exporter.snap().calibration?.drift ?? null;
    const driftGauge = (name: string, help: string, read: (d: NonNullable<ReturnType<typeof drift>>) => number | null) =>
      // Labelled by the score tested (the top class probability), so that a pipeline without a
      // calibration shows no sample at all rather than an unlabelled 0.
      new Gauge({
        name, help, labelNames: ['score'], registers,
        collect() {
          this.reset();
          const d = drift();
          const v = d === null ? null : read(d);
          if (v !== null) this.set({ score: d!.score }, v);
        },
      });
    driftGauge('hairtrigger_score_drift', "1 when the last drift check's p-value was below its level (the live top scores differ from the calibration set's), else 0.", (d) => (d.pValue === null ? null : d.drift ? 1 : 0));
    driftGauge('hairtrigger_score_drift_p_value', 'p-value of the last two-sample Kolmogorov-Smirnov test of the window of live top scores against the calibration set.', (d) => d.pValue);
    driftGauge('hairtrigger_score_drift_statistic', 'The KS distance of that test.', (d) => d.statistic);
    new Counter({
      name: 'hairtrigger_score_drift_checks_total',
      help: 'Drift checks run, by outcome (drift: p-value below the level).',
      labelNames: ['outcome'],
      registers,
      collect() {
        this.reset();
        const d = drift();
        if (d === null) return;
        this.inc({ outcome: 'drift' }, d.flaggedChecks);
        this.inc({ outcome: 'ok' }, d.checks - d.flaggedChecks);
      },
    });
  }

  /**
   * A labelled keyword replay's live score (snapshot `detectionScore`), labelled by the truth's
   * stream; each calibrated recall target's per-detection recall beside its per-clip promise,
   * by class. Empty (HELP and TYPE only) without `calibration.truth`.
   */
  private registerDetectionScore(): void {
    type View = NonNullable<Snapshot['detectionScore']>;
    const score = () => this.snap().detectionScore ?? null;
    const perStream = (name: string, help: string, read: (v: View) => number | null, counter = false) =>
      registerRows(this.registry, name, help, ['stream'], () => {
        const v = score();
        return v === null ? [] : [[{ stream: v.stream }, read(v)]];
      }, counter);
    perStream('hairtrigger_keyword_true_positives_total', 'Truth windows (utterances) detected: a detection of their word within [start, end + 1 s] (MLPerf Tiny streaming wake-word rules).', (v) => v.truePositives, true);
    perStream('hairtrigger_keyword_misses_total', 'Truth windows the stream passed (end + 1 s) without a detection of their word.', (v) => v.misses, true);
    perStream('hairtrigger_keyword_false_alarms_total', 'Detections no truth window took, debounced (1 s after each counted one).', (v) => v.falseAlarms, true);
    perStream('hairtrigger_keyword_pending_windows', 'Truth windows still open (neither detected nor passed).', (v) => v.pending);
    perStream('hairtrigger_keyword_false_alarms_per_hour', 'False alarms per hour of stream (the stream seen; the truth\'s length once ended).', (v) => v.falseAlarmsPerHour);
    perStream('hairtrigger_keyword_recall_ratio', 'Detected over settled truth windows.', (v) => v.recall);
    registerRows(this.registry, 'hairtrigger_keyword_delay_seconds', "From an utterance's end to its first detection (negative before the end), nearest-rank quantiles over the detected windows.", ['stream', 'quantile'], () => {
      const v = score();
      const d = v?.delayMs ?? null;
      return d === null ? [] : ([['0.5', d.p50], ['0.9', d.p90], ['0.99', d.p99], ['1', d.max]] as const).map(([quantile, x]) => [{ stream: v!.stream, quantile }, x / 1000]);
    }, false);
    type Target = View['targets'][number];
    const perTarget = (name: string, help: string, read: (t: Target) => number | null, counter = false) =>
      registerRows(this.registry, name, help, ['class'], () => (score()?.targets ?? []).map((t) => [{ class: t.classes.join(',') }, read(t)]), counter);
    perTarget('hairtrigger_keyword_target_recall_ratio', "A calibrated recall target's words: their truth windows detected over those settled, per detection (what the detector reports).", (t) => t.recall);
    perTarget('hairtrigger_keyword_target_promise_ratio', 'The recall that target was calibrated for, promised per clip (a keyword\'s peak reaches its threshold), not per detection.', (t) => t.target);
    perTarget('hairtrigger_keyword_target_windows_total', "Settled truth windows of the target's words.", (t) => t.windows, true);
    perTarget('hairtrigger_keyword_target_detected_total', 'Of those, the windows detected.', (t) => t.detected, true);
  }

  /** Link counters of serial and websocket parts (snapshot `transport`), by component and counter. */
  private registerTransport(): void {
    const exporter = this;
    new Counter({
      name: 'hairtrigger_transport_total',
      help: 'Link counters of transport sources and sinks (serial line, websocket client): crcErrors, framingErrors, seqGaps, overruns, reconnects, ...',
      labelNames: ['component', 'counter'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [component, counts] of Object.entries(exporter.snap().transport ?? {})) {
          for (const [counter, n] of Object.entries(counts)) this.inc({ component, counter }, n);
        }
      },
    });
  }

  /**
   * The cascade to the teacher (snapshot `cascade`): counters of frames unsure, sent, dropped
   * (queue full) and answered, agreement, the queue's depth, teacher latency quantiles. Empty
   * (HELP and TYPE only) for a pipeline without a cascade.
   */
  private registerCascade(): void {
    const exporter = this;
    const registers = [this.registry];
    const cascade = () => exporter.snap().cascade ?? null;
    // One series per field, labelled by the teacher: a counter (`_total`) or a gauge.
    const fields: Array<[string, string, (c: CascadeSnapshot) => number]> = [
      ['hairtrigger_cascade_unsure_frames_total', 'Frames the student was unsure of (past the cascade cut): sent + dropped.', (c) => c.unsure],
      ['hairtrigger_cascade_sent_frames_total', 'Frames sent to the teacher.', (c) => c.sent],
      ['hairtrigger_cascade_dropped_frames_total', 'Unsure frames not sent because the teacher queue was full (drop-newest).', (c) => c.dropped],
      ['hairtrigger_cascade_answers_total', 'Teacher answers joined with their frames (failed runs included).', (c) => c.answered],
      ['hairtrigger_cascade_teacher_failures_total', 'Teacher runs that failed.', (c) => c.failed],
      ['hairtrigger_cascade_agreed_total', 'Teacher answers whose top-1 class is the student\'s.', (c) => c.agreed],
      ['hairtrigger_cascade_queue_depth', 'Frames out with the teacher now (queued, running, or answered and not yet joined).', (c) => c.queueDepth],
      ['hairtrigger_cascade_queue_depth_max', 'Most frames ever out with the teacher at once.', (c) => c.queueDepthMax],
      ['hairtrigger_cascade_queue_frames', 'The teacher queue bound (config cascade.queueFrames).', (c) => c.queueFrames],
      ['hairtrigger_cascade_sent_frames_per_second', 'Frames sent to the teacher per second over the recent window.', (c) => c.sentPerS],
      ['hairtrigger_cascade_agreement_ratio', 'Top-1 student/teacher agreement over the frames answered since start.', (c) => c.agreement],
      ['hairtrigger_cascade_recent_agreement_ratio', 'Top-1 student/teacher agreement over the recent window.', (c) => c.agreementRecent],
    ];
    for (const [name, help, read] of fields) {
      const collect = function (this: Counter | Gauge): void {
        this.reset();
        const c = cascade();
        if (c === null) return;
        if (this instanceof Counter) this.inc({ teacher: c.teacher }, read(c));
        else this.set({ teacher: c.teacher }, read(c));
      };
      const opts = { name, help, labelNames: ['teacher'], registers, collect };
      if (name.endsWith('_total')) new Counter(opts);
      else new Gauge(opts);
    }
    new Counter({ name: 'hairtrigger_cascade_decided_total', help: 'Held triggers (cascade replace) by who decided them: the teacher (its answer came within the budget) or the student.', labelNames: ['teacher', 'by'], registers, collect() {
      this.reset();
      const c = cascade();
      if (c === null || !c.replace) return;
      this.inc({ teacher: c.teacher, by: 'teacher' }, c.decidedByTeacher);
      this.inc({ teacher: c.teacher, by: 'student' }, c.decidedByStudent);
    } });
    new Gauge({ name: 'hairtrigger_cascade_cut', help: 'The cascade cut in force, by what it is on (margin: sent below it; entropy: sent above it).', labelNames: ['teacher', 'kind'], registers, collect() {
      this.reset();
      const c = cascade();
      if (c !== null) this.set({ teacher: c.teacher, kind: c.cutKind }, c.cut);
    } });
    new Gauge({ name: 'hairtrigger_cascade_teacher_latency_seconds', help: 'From a sent frame\'s due time to its teacher answer joined, seconds, since start, by quantile.', labelNames: ['teacher', 'quantile'], registers, collect() {
      this.reset();
      const c = cascade();
      if (c === null || c.teacherLatencyUs.count === 0) return;
      const l = c.teacherLatencyUs;
      for (const [q, us] of [['0.5', l.p50], ['0.9', l.p90], ['0.99', l.p99], ['0.999', l.p999], ['1', l.max]] as const) this.set({ teacher: c.teacher, quantile: q }, us / 1e6);
    } });
  }

  /**
   * Latency as a Prometheus histogram (`_bucket{le}`, `_sum`, `_count`, seconds) by `stage`
   * (e2e, queue, service, each stage, device), read from the snapshot's `latencyBuckets`: the
   * daemon's own HDR histograms since start, cumulated at the bucket bounds. Why not a
   * prom-client Histogram: it counts by `observe()`, one sample at a time, so it would either
   * sit on the hot path or re-observe every sample per scrape; this exposes the counts the
   * daemon already has (`histogram_quantile()` works on them as on any histogram).
   */
  private registerLatencyHistogram(): void {
    const exporter = this;
    const name = 'hairtrigger_latency_seconds';
    const help = 'Latency since start from the daemon HDR histograms, seconds, by stage (e2e: due time to trigger write; queue; service; decode, preprocess, infer, policy, emit; device).';
    const metric = {
      name,
      help,
      type: 'histogram',
      aggregator: 'sum',
      collect: undefined,
      async get() {
        return { name, help, type: 'histogram', aggregator: 'sum', values: latencyValues(name, exporter.snap()) };
      },
    };
    this.registry.registerMetric(metric as unknown as Metric);
  }
}

/** The sample lines of `hairtrigger_latency_seconds` for a snapshot (none without `latencyBuckets`). */
function latencyValues(name: string, s: Snapshot): Array<{ metricName: string; labels: Record<string, string | number>; value: number }> {
  const b = s.latencyBuckets;
  if (b === undefined) return [];
  const out: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
  for (const [stage, x] of Object.entries(b.series)) {
    b.leUs.forEach((le, i) => out.push({ metricName: `${name}_bucket`, labels: { stage, le: le / 1e6 }, value: x.counts[i] }));
    out.push({ metricName: `${name}_bucket`, labels: { stage, le: '+Inf' }, value: x.count });
    out.push({ metricName: `${name}_sum`, labels: { stage }, value: x.sumUs / 1e6 });
    out.push({ metricName: `${name}_count`, labels: { stage }, value: x.count });
  }
  return out;
}

/**
 * `registry.metrics()` one metric per macrotask, joined as it joins them: the process
 * series read /proc synchronously, and the whole render in one go held the event loop
 * (and the frames due meanwhile) for a millisecond or more.
 */
export async function renderRegistry(registry: Registry): Promise<string> {
  assert(registry.contentType === Registry.PROMETHEUS_CONTENT_TYPE, 'rendered as Prometheus text, not OpenMetrics');
  const parts: string[] = [];
  for (const metric of registry.getMetricsAsArray()) {
    parts.push(await registry.getSingleMetricAsString(metric.name));
    await nextMacrotask();
  }
  return `${parts.join('\n\n')}\n`;
}

function noop(): void {}

/** `reason` label values of hairtrigger_suppressed_total. */
function suppressedByReason(s: Snapshot): Record<string, number> {
  const x = s.suppressed;
  return { below_threshold: x.belowThreshold, holdoff: x.holdoff, rate_limit: x.rateLimit, late: x.late };
}

/** Device counters, each read off `DeviceSnapshot`. */
const DEVICE_COUNTERS = [
  ['hairtrigger_device_jobs_total', 'Jobs the FPGA device completed for this daemon.', 'jobs'],
  ['hairtrigger_device_timeouts_total', 'FPGA jobs that timed out (no DONE_COUNT change within the spin bound).', 'timeouts'],
  ['hairtrigger_device_resets_total', 'FPGA device resets seen during a job.', 'resets'],
  ['hairtrigger_device_corrupt_total', 'FPGA jobs whose output words were not valid result values.', 'corrupt'],
  ['hairtrigger_device_fifo_overflows_total', 'Autonomous events the FPGA device dropped because its event FIFO was full.', 'fifoOverflows'],
] as const satisfies ReadonlyArray<readonly [string, string, keyof DeviceSnapshot]>;

/** `stat` label values of hairtrigger_device_wait_ns and the field each one reads. */
const WAIT_STATS = [
  ['last', 'waitNsLast'],
  ['mean', 'waitNsMean'],
  ['min', 'waitNsMin'],
  ['max', 'waitNsMax'],
] as const satisfies ReadonlyArray<readonly [string, keyof DeviceSnapshot]>;

/** A device series' collect: cleared, then written from the snapshot's device when there is one. */
function fromDevice<M extends { reset(): void }>(device: () => DeviceSnapshot | undefined, write: (m: M, d: DeviceSnapshot) => void): (this: M) => void {
  return function collect(this: M) {
    this.reset();
    const d = device();
    if (d !== undefined) write(this, d);
  };
}

/** A gauge or counter on `registry` whose samples are read afresh at each scrape: (labels, value) pairs, a null value left out. */
function registerRows(registry: Registry, name: string, help: string, labelNames: string[], rows: () => ReadonlyArray<readonly [Record<string, string>, number | null]>, counter: boolean): void {
  const registers = [registry];
  const collect = function (this: Gauge | Counter) {
    this.reset();
    for (const [labels, v] of rows()) {
      if (v === null) continue;
      if (this instanceof Counter) this.inc(labels, v);
      else (this as Gauge).set(labels, v);
    }
  };
  if (counter) new Counter({ name, help, labelNames, registers, collect });
  else new Gauge({ name, help, labelNames, registers, collect });
}
