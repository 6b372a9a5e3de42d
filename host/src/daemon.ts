import { basename, resolve } from 'node:path';
import type { Clock } from './core/clock.js';
import { ConfigError, HairtriggerError, ModelError, SinkError } from './core/errors.js';
import { FrameRing, type FrameSlot } from './core/frame.js';
import { checkLimits, limits } from './core/limits.js';
import './codecs/builtins.js';
import './preprocess/builtins.js';
import './sources/builtins.js';
import './modalities/index.js';
import './backends/builtins.js';
import type { Backend } from './backends/backend.js';
import { isFpgaBackend, type FpgaBackend } from './backends/fpga.js';
import { backends } from './backends/registry.js';
import { decoders } from './codecs/registry.js';
import type { PipelineConfig } from './config/schema.js';
import { PipelineMetrics, type SnapshotBuild } from './metrics/pipeline-metrics.js';
import { SnapshotCache, snapshotPhaseMs } from './metrics/snapshot-cache.js';
import { DeviceReader } from './metrics/device-snapshot.js';
import type { LocalDaemonView } from './metrics/snapshot.js';
import { readModelCard, type ModelCard } from './model/card.js';
import { CalibrationMonitor } from './calibration/monitor.js';
import { readCalibrationFile } from './calibration/calibration-file.js';
import { detectionMonitor, type DetectionMonitor } from './calibration/detection-monitor.js';
import { ErrorLog, type LogLine } from './pipeline/error-log.js';
import { buildPipeline } from './pipeline/pipeline.js';
import { fpgaEventPayload, fpgaEventStages } from './pipeline/fpga-event-stages.js';
import { emitStage } from './pipeline/emit-stage.js';
import { inferStage } from './pipeline/infer-stage.js';
import { policyStage } from './pipeline/policy-stage.js';
import { preprocessStage } from './pipeline/preprocess-stage.js';
import { pixelRoute } from './pipeline/pixel-path.js';
import { createStreamPreprocessor, jointPreprocessor, type StreamPreprocessor } from './preprocess/stream-preprocessor.js';
import { createSinks } from './sinks/registry.js';
import { TriggerLog } from './sinks/trigger-log.js';
import { noPayload, TriggerRing } from './sinks/trigger-ring.js';
import { createFpgaEventSource, thresholdsRaw } from './sources/fpga-events.js';
import { sources } from './sources/registry.js';
import type { Source, TimerScheduler } from './sources/source.js';
import type { TransportCounted } from './sources/serial.js';
import { TriggerPolicy } from './trigger/policy.js';
import { routers, type FrameRouter } from './trigger/routers.js';
import './trigger/detector.js';
import { auxLayout, auxOutputs, extraModelsRunner, loadExtraModels, type ExtraModel } from './model/extra-models.js';
import { DecisionLog } from './sinks/decision-log.js';
import { DurableCommit } from './pipeline/durable-commit.js';
import { frameDetails } from './codecs/frame-detail.js';
import { TriggerDetailRing } from './pipeline/trigger-details.js';
import { modelView } from './model/model-view.js';
import { loadAlternates, ModelSwitch, type SwitchableModel } from './model/model-switch.js';
import { PauseGate } from './sources/pause-gate.js';
import { createBudgetSelection, type BudgetModelSelection } from './model/model-selection.js';
import { pipelineSettings, type FixedSettings } from './pipeline/settings.js';
import { liveSettings } from './pipeline/live-settings.js';
import type { PipelineSettings } from './server/api-types.js';
import { Cascade } from './cascade/cascade.js';
import { AnswersLog } from './cascade/answers-log.js';
import { loadCascadeTeacher, type LoadedTeacher } from './cascade/load.js';

/** What the daemon is given from outside: the only place time, timers and logs enter. */
export interface DaemonDeps {
  clock: Clock;
  timers: TimerScheduler;
  log: LogLine;
  /** This run's id: written with every trigger record, so logs of different runs never mix unmarked. */
  runId?: string;
  /** Folder relative paths in the config are resolved against. */
  baseDir: string;
  /** Where the default firmware of `sim`/`fpga` is found (absolute); default `baseDir`/FIRMWARE_DIR. */
  firmwareDir?: string;
  /** A broken invariant inside the pipeline: the root logs it and stops the process. */
  onBug: (err: unknown) => void;
}

export interface Daemon {
  readonly config: PipelineConfig;
  readonly card: ModelCard;
  readonly backend: Backend;
  readonly metrics: PipelineMetrics;
  readonly policy: TriggerPolicy;
  readonly source: Source;
  /** Frames the source will deliver: a finite replay's or synthetic stream's count, else Infinity (for progress bars). */
  readonly sourceFrames: number;
  readonly errors: ErrorLog;
  readonly triggerLog: TriggerLog;
  /** The frames of the newest triggers, for `/api/triggers/:run/:seq`. */
  readonly triggerDetails: TriggerDetailRing;
  readonly view: LocalDaemonView;
  /** The router after the policy (`route:`), null without one; a reload (SIGHUP) goes through it. */
  readonly router: FrameRouter | null;
  /** The models loaded (the primary and config `models`) and the one in force (control API). */
  readonly models: ModelSwitch;
  /** The model chosen by the budget (config `modelSelection`); null without one. */
  readonly selection: BudgetModelSelection | null;
  /** Pause of a live source: frames arriving while paused are dropped and counted (control API;
   * a paced source halts its clock instead, `source.pacing`). */
  readonly gate: PauseGate;
  /** The cascade to the teacher (config `cascade`); null without one. */
  readonly cascade: Cascade | null;
  /** The settings in force (`/api/controls`, the snapshot's `settings`). */
  settings(): PipelineSettings;
  /** Shows `route` as the router's settings in force (after a reload changed them). */
  showRoute(route: PipelineConfig['route']): void;
  /** Starts the source. */
  start(): void;
  /** Resolves when the source has delivered everything (finite streams). */
  readonly sourceDone: Promise<void>;
  /** Stops the source, flushes and closes the trigger log, releases the model. Idempotent. */
  stop(): Promise<void>;
}

import { FIRMWARE_DIR } from './backends/builtins.js';
export { FIRMWARE_DIR, firmwareName, cardFirmwareName } from './backends/builtins.js';

/**
 * Builds a pipeline from a validated config: model card -> preprocessor -> backend ->
 * policy -> sinks, and a source whose frames must match what the model was trained on.
 * Fails fast with a typed error (ConfigError, ModelError, CaptureFormatError) that names the
 * file and field when the parts do not fit.
 */
export async function createDaemon(given: PipelineConfig, deps: DaemonDeps): Promise<Daemon> {
  checkLimits();
  const at = (p: string) => resolve(deps.baseDir, p);
  const card = readModelCard(at(given.model));
  const cfg = withDefaultTargets(given, card);
  const pre = createStreamPreprocessor(card.preprocessing, `${card.dir}/card.json: preprocessing`);
  checkFpgaMode(cfg);
  const firmwareDir = deps.firmwareDir ?? at(FIRMWARE_DIR);
  const backend = await loadBackend(cfg, card, at, firmwareDir, deps.timers);
  let extras: ExtraModel[] = [];
  let alternates: SwitchableModel[] = [];
  let teacher: LoadedTeacher | null = null;
  // The teacher's worker nudges the cascade (made in `assemble`) when answers wait.
  const nudge: { cascade: Cascade | null } = { cascade: null };
  try {
    // An extra model is loaded as the primary one, with its own backend kind and firmware.
    extras = await loadExtraModels(cfg.extraModels, pre.inputElements.length, at, (x, c) =>
      loadBackend({ ...cfg, backend: x.backend, variant: x.variant, firmware: x.firmware, device: undefined, fpga: undefined }, c, at, firmwareDir, deps.timers),
    );
    // Alternates (config `models`) load as the primary does, each with its backend kind.
    alternates = await loadAlternates(cfg.models, { name: primaryModelName(card, cfg), card }, at, (x, c) =>
      loadBackend({ ...cfg, backend: x.backend ?? cfg.backend, variant: x.variant, firmware: x.firmware ?? cfg.firmware }, c, at, firmwareDir, deps.timers),
    );
    const models = new ModelSwitch([{ name: primaryModelName(card, cfg), backend, card, variant: cfg.variant }, ...alternates]);
    if (cfg.cascade !== undefined) teacher = await loadCascadeTeacher(cfg.cascade, card, at, () => nudge.cascade?.join(), calibratedCut(cfg, at, card.labels));
    return await assemble(cfg, deps, at, card, models, pre, extras, teacher === null ? null : { teacher, nudge });
  } catch (err) {
    await teacher?.queue.close();
    // A failed start-up releases what it took: the backends (the sinks close themselves).
    for (const b of [backend, ...extras.map((m) => m.backend), ...alternates.map((m) => m.backend)]) {
      await b.close().catch((closeErr: Error) => deps.log(`closing a backend after a failed start-up failed too: ${closeErr.message}`));
    }
    throw err;
  }
}

/** The config with `trigger.targets` filled from the model card when the config names none,
 * and its `route` from the card's detector (`trigger.detector`) when it has no `route`. */
function withDefaultTargets(given: PipelineConfig, card: ModelCard): PipelineConfig {
  const cfg = given.route !== undefined || card.detector === null ? given : { ...given, route: routers.parse({ ...card.detector, kind: 'detector' }, `${card.dir}/card.json: trigger.detector`) };
  if (cfg.trigger.targets !== undefined) return cfg;
  if (card.targets === null) throw new ConfigError('config: trigger.targets', `missing, and ${card.dir}/card.json names no default targets; labels are ${card.labels.join(', ')}`);
  return { ...cfg, trigger: { ...cfg.trigger, targets: card.targets } };
}

/** The name the primary model goes by (snapshot `model`, `settings.models`): `<task>/<variant>`. */
function primaryModelName(card: ModelCard, cfg: PipelineConfig): string {
  return `${card.task}/${cfg.variant}`;
}

/** The rest of `createDaemon`, once the backend is open: metrics, source, pipeline, then the sinks last. */
async function assemble(cfg: PipelineConfig, deps: DaemonDeps, at: (p: string) => string, card: ModelCard, models: ModelSwitch, primaryPre: StreamPreprocessor, extras: readonly ExtraModel[], withTeacher: { teacher: LoadedTeacher; nudge: { cascade: Cascade | null } } | null = null): Promise<Daemon> {
  const autonomous = cfg.fpga?.mode === 'autonomous';
  const backend = models.backend;
  for (const m of models.models) checkModelInputs(cfg, card, m.backend, primaryPre);
  checkSameOutputs(models);
  if (autonomous && models.models.length > 1) throw new ConfigError('config: models', 'fpga.mode autonomous classifies on the device alone: the host cannot switch its model');
  if (autonomous && extras.length > 0) throw new ConfigError('config: extraModels', 'fpga.mode autonomous classifies on the device alone: extra models need the host in the loop');
  if (autonomous && withTeacher !== null) throw new ConfigError('config: cascade', 'fpga.mode autonomous classifies on the device alone: a cascade needs the host in the loop');
  // A detection is the smoothed posterior of many hops (trigger/detector.ts): one hop's second
  // opinion cannot stand in for it, so a detector's pipeline (keywords) never holds a decision.
  if (withTeacher !== null && cfg.cascade?.replace === true && cfg.route?.kind === 'detector') {
    throw new ConfigError('config: cascade.replace', `the trigger is a detector over ${String((cfg.route as Record<string, unknown>).smoothFrames)} smoothed frames (route, or ${card.dir}/card.json: trigger.detector): a teacher's answer on one frame cannot replace it; leave replace off (the answers are logged beside the detections)`);
  }
  // With extra models every frame is preprocessed for each (the primary model's inputs first).
  // A frame an extra model cannot use (an alert without cutouts) goes on without its output;
  // the fault is counted (the error log is made below, before any frame flows).
  let errorsLater: ErrorLog | null = null;
  const pre = jointPreprocessor([{ pre: primaryPre, where: `${card.dir}/card.json: preprocessing` }, ...extras.map((m) => ({ pre: m.pre, where: `${m.card.dir}/card.json: preprocessing` }))], (err) => errorsLater?.error(err));
  const metrics = new PipelineMetrics({ pipeline: cfg.pipeline, backend: backend.info().kind, model: models.name, labels: card.labels, budgetUs: cfg.budgetUs }, deps.clock);
  metrics.deviceLatency(deviceLatency(backend, autonomous));
  const errors = new ErrorLog(metrics, deps.log, Date.now, deps.timers);
  errorsLater = errors;
  const policy = new TriggerPolicy(cfg.trigger, card.labels, cfg.budgetUs, { outputKind: backend.info().outputKind });
  const source = autonomous
    ? makeFpgaEventSource(cfg, deps, backend as FpgaBackend, card.labels, errors)
    : sources.create(cfg.source, { clock: deps.clock, timers: deps.timers, at, log: deps.log, error: (e, n) => errors.error(e, n) }, 'config: source');
  if (!autonomous) checkSourceFitsModel(source, pre, card);
  const sourceFrames = source.expectedFrames ?? Number.POSITIVE_INFINITY;
  const ring = new TriggerRing(card.labels.length);
  const frames = new FrameRing(pre.inputElements, card.labels.length, limits.frameSlotsMax, auxOutputs(extras));
  const decoderConfig = cfg.decoder ?? { kind: pre.frame.shape === null ? 'chunks' : 'fixed' };
  const decode = autonomous ? null : decoders.create(decoderConfig, { spec: { ...source.spec, labels: source.spec.labels ?? [] }, at }, 'config: decoder');
  const describePayload = autonomous ? fpgaEventPayload : (decode?.describePayload?.bind(decode) ?? noPayload);
  // What the detail view keeps of a firing frame: the modality decides (codecs/frame-detail.ts).
  const details = new TriggerDetailRing(autonomous ? null : frameDetails.find({ spec: source.spec, decoder: decoderConfig, preprocessing: card.preprocessing as { kind?: string }, at }));
  const names = { run: deps.runId ?? 'run', streams: [source.spec.stream], labels: card.labels, describePayload, streamTime: source.spec.streamTime === true, models: models.names };
  const aux = auxLayout(extras);
  // Firmware that preprocesses takes the camera's bytes: no float normalisation on the host.
  const pixels = pixelRoute(models, pre, extras.length);
  // A cascade's teacher takes float inputs: on the pixel route they are written for the frames sent only.
  const cascade = withTeacher === null ? null : makeCascade(cfg, withTeacher.teacher, card, primaryPre, policy, ring, deps.clock, frames.slots.length, pixels === null ? null : { route: pixels, pre: primaryPre });
  if (withTeacher !== null) withTeacher.nudge.cascade = cascade;
  // The router and the decision log open their files last, with the sinks; the policy stage
  // reaches them through this holder.
  const after: { router: FrameRouter | null; decisions: DecisionLog | null; cascade: Cascade | null } = { router: null, decisions: null, cascade };
  const pipeline = buildPipeline(
    {
      ...(autonomous
        ? fpgaEventStages(card.labels.length, (backend as FpgaBackend).deviceIdentity().path, policy)
        : {
            decode: decode!,
            preprocess: preprocessStage(pre, frames, pixels),
            infer: inferStage(models, primaryPre.inputElements.length, extras.length === 0 ? null : { run: extraModelsRunner(extras, frames.slots), slots: frames.slots }, pixels),
            policy: policyStage(policy, after),
          }),
      emit: emitStage(ring, deps.clock, details, cascade !== null && cfg.cascade?.replace === true ? cascade : null),
    },
    deps.clock,
    metrics,
    errors,
    deps.onBug,
  );
  // Sinks open last: every check above has passed, so a failure here leaves no file half-used.
  const onSinkError = (e: SinkError) => errors.error(e);
  const sinks = await createSinks(cfg.sinks, { runId: names.run, labels: card.labels, resolvePath: at, onError: onSinkError, log: deps.log, cascade: cascade !== null, stream: names.streams[0] });
  // The teacher's answer on a frame whose record went out without it: the Arrow log's follow-up row.
  const answerSinks = sinks.filter((x) => x.cascadeAnswer !== undefined);
  if (cascade !== null && answerSinks.length > 0) cascade.onAnswerRow = (row) => { for (const x of answerSinks) x.cascadeAnswer!(row); };
  try {
    after.router = cfg.route === undefined ? null : routers.create(cfg.route, { runId: names.run, labels: card.labels, targets: cfg.trigger.targets ?? [], aux, at, log: deps.log, error: (e) => errors.error(e), framesFailed: () => metrics.dropped }, 'config: route');
    after.decisions = cfg.decisions === undefined ? null : new DecisionLog(at(cfg.decisions), { labels: card.labels, aux, describePayload }, onSinkError);
    if (cascade !== null && cfg.cascade?.answers !== undefined) cascade.answers = new AnswersLog(at(cfg.cascade.answers), onSinkError);
  } catch (err) {
    after.decisions?.close();
    await Promise.allSettled([...sinks.map((x) => x.close()), after.router?.close()]);
    throw err;
  }
  const triggerLog = new TriggerLog(ring, names, sinks, onSinkError);
  triggerLog.subscribe((events) => details.record(events));
  // A durable source (NATS) is acknowledged after each flush whose decisions are on disk and in the sinks.
  const durable = source.commit === undefined ? null : new DurableCommit(source as Source & { commit(n: number): Promise<void> }, triggerLog, () => after.decisions, () => after.router, (e) => errors.error(e instanceof HairtriggerError ? e : new SinkError('durable commit', e.message, { cause: e })));
  metrics.watch({ policy: policy.counters, triggerRing: ring });
  // A model switch (control API, between frames): the records and the snapshot name the new one.
  models.onSelect = (index) => {
    ring.modelSwitched(index);
    metrics.identity.model = models.name;
    metrics.identity.backend = models.backend.info().kind;
  };
  // The device's counters join the snapshot here, off the hot path (fpga backend only).
  const device = isFpgaBackend(backend) ? new DeviceReader(backend) : null;
  const beginCore = (): SnapshotBuild => {
    const build = withSourceCounters(metrics.beginSnapshot(), source);
    const router = after.router;
    if (router !== null) return { step: build.step, result: () => ({ ...build.result(), route: router.counters() }) };
    if (device === null) return build;
    // Read with the counters, at the start: the device's job counts and the pipeline's drops
    // then describe the same moment (a faulted device fails thousands of frames a second).
    const dev = device.read();
    return { step: build.step, result: () => ({ ...build.result(), device: dev }) };
  };
  // Link counters of transport sources and sinks (serial, websocket) join every snapshot.
  const transported = ([source, ...sinks] as object[]).filter(hasTransportCounters);
  // The model chosen by the budget (`modelSelection:`): ranked and probed now, before frames flow.
  const selection = cfg.modelSelection === undefined ? null : createBudgetSelection(cfg.modelSelection, models, models.models.map((m) => ({ card: m.card!, variant: m.variant! })), primaryPre.inputElements, cfg.budgetUs, { counters: metrics, clock: deps.clock, timers: deps.timers, wallMs: Date.now, log: deps.log });
  const agreeWith = extras.find((m) => m.card.labels.join('\n') === card.labels.join('\n'));
  if (agreeWith !== undefined) metrics.agreeWith(agreeWith.name, agreeWith.offset);
  // A calibration (`calibration:`): its rates on labelled frames and the drift watch.
  if (cfg.calibration?.file !== undefined) metrics.calibration = calibrationMonitor(cfg.calibration, at, card.labels);
  // A labelled keyword replay (`calibration.truth`): each detection scored as the stream goes.
  if (cfg.calibration?.truth !== undefined) metrics.detectionScore = truthMonitor(cfg, at, card.labels, source.spec.streamTime === true);
  const fixed: FixedSettings = { source: cfg.source, decoder: autonomous ? 'fpga-events' : decoderConfig.kind, autonomous, budgetUs: cfg.budgetUs, route: cfg.route };
  // The settings in force: the start-up parts, the policy's params, the route a reload put in
  // force, and what the control API changes (model, pause, replay speed), read off the hot path.
  const settingsInForce = (): PipelineSettings => pipelineSettings(fixed, policy.params, liveSettings(models, source, gate));
  if (cascade !== null) cascade.onFailure = (message) => errors.error(new ModelError(withTeacher!.teacher.card.files[cfg.cascade!.variant]!, `the cascade's teacher failed a frame: ${message}`));
  const withViewFields = withDashboardFields(beginCore, () => ({ settings: settingsInForce, policy, metrics, errors, clock: deps.clock, cascade }));
  const beginSnapshot = (): SnapshotBuild => {
    const build = withSelection(withViewFields(), selection);
    if (transported.length === 0) return build;
    const transport = Object.assign({}, ...transported.map((x) => x.transportCounters())) as Record<string, Record<string, number>>;
    return { step: build.step, result: () => ({ ...build.result(), transport }) };
  };
  // One snapshot every snapshotIntervalMs, built in steps on the daemon's timers; every
  // reader (HTTP, websocket, /metrics, progress) gets the published one.
  const published = new SnapshotCache(beginSnapshot, deps.clock, deps.timers, limits.snapshotIntervalMs, deps.onBug, undefined, snapshotPhaseMs(`${names.run}/${names.streams[0] ?? ''}`, limits.snapshotIntervalMs));
  let flushTimer: unknown = null;
  let stopping: Promise<void> | null = null;
  let lateLogged = 0;
  let flushes = 0;
  const lateEvery = Math.max(1, Math.round(limits.lateLogIntervalMs / limits.flushIntervalMs));
  const flushLoop = () => {
    const delivered = source.delivered;
    const drained = triggerLog.flush();
    after.router?.flush();
    after.decisions?.flush();
    if (cascade !== null) {
      cascade.join();
      cascade.expire(deps.clock.nowNs());
      cascade.answers?.flush();
    }
    durable?.afterFlush(delivered, drained);
    // Late frames are logged here, off the hot path: one summary line a second at most.
    if (metrics.late > lateLogged && flushes++ % lateEvery === 0) {
      deps.log(`${metrics.late - lateLogged} late frame(s) not triggered (budget ${cfg.budgetUs} us); latest seq ${metrics.lastLateSeq} reached the policy after ${metrics.lastLateWaitUs.toFixed(1)} us`);
      lateLogged = metrics.late;
    }
    flushTimer = deps.timers.setTimeout(flushLoop, limits.flushIntervalMs);
  };
  // An actuator sink (serial to a sorter) gets each trigger once the hot path yields (one
  // setImmediate per turn of the event loop that fired), not on the 100 ms flush tick.
  const urgent = sinks.some((x) => x.urgent === true);
  let drainPending = false;
  const drainNow = (): void => {
    drainPending = false;
    triggerLog.flush();
  };
  const pushUrgent = (slot: FrameSlot): void => {
    pipeline.push(slot);
    if (slot.triggered && !drainPending) {
      drainPending = true;
      deps.timers.setImmediate(drainNow);
    }
  };
  // A cascade that holds triggers (replace) releases each with the student's decision once its
  // budget runs out: a timer armed off the hot path for the oldest held one's deadline (once per
  // burst of holds, not per frame), re-armed while any waits.
  let expiryTimer: unknown = null;
  const armExpiry = (): void => {
    if (cascade === null || expiryTimer !== null || cascade.heldWaiting === 0) return;
    const waitMs = Math.max(1, Math.ceil((cascade.heldDeadlineNs() - deps.clock.nowNs()) / 1e6));
    expiryTimer = deps.timers.setTimeout(() => {
      expiryTimer = null;
      cascade.join();
      cascade.expire(deps.clock.nowNs());
      armExpiry();
    }, waitMs);
  };
  const push: (slot: FrameSlot) => void = urgent ? pushUrgent : (slot) => pipeline.push(slot);
  const pushHolding = (slot: FrameSlot): void => {
    push(slot);
    if (expiryTimer === null && cascade!.heldWaiting > 0) armExpiry();
  };
  const gate = new PauseGate(cascade !== null && cfg.cascade?.replace === true ? pushHolding : push);
  return {
    config: cfg, card, backend, metrics, policy, source, sourceFrames, errors, triggerLog, triggerDetails: details, models, gate, cascade, selection,
    get router() {
      return after.router;
    },
    view: {
      snapshot: () => published.current().snapshot,
      snapshotJson: () => published.current().json,
      onTriggers: (l) => triggerLog.subscribe(l),
      recentErrors: () => errors.recent(),
      triggerDetail: (run, seq) => details.find(run, seq),
      // The card of the model in force (a switch by the selector or the control API changes it).
      model: () => {
        const m = models.models[models.index]!;
        return modelView(m.card ?? card, m.variant ?? cfg.variant, { model: m.name, primary: models.models[0]!.name, inForce: true, backendKind: m.backend.info().kind });
      },
      history: () => metrics.historyColumns(),
      latencyDistribution: latestOf(() => published.current().seq, () => metrics.latencyDistribution()),
    },
    settings: settingsInForce,
    showRoute(route) {
      fixed.route = route;
    },
    start() {
      flushLoop();
      published.start();
      selection?.start();
      source.start({ acquire: () => frames.acquire(), push: gate.push });
    },
    sourceDone: source.done,
    stop() {
      stopping ??= (async () => {
        await source.stop();
        selection?.stop();
        if (flushTimer !== null) deps.timers.clearTimeout(flushTimer);
        if (expiryTimer !== null) deps.timers.clearTimeout(expiryTimer);
        pipeline.complete();
        // Every frame is decided: the truth windows still open are misses.
        metrics.detectionScore?.finish();
        errors.flush();
        // The teacher's last answers (a finite replay's), within a bound; held triggers still
        // waiting go out with the student's decision.
        if (cascade !== null) {
          await drainCascade(cascade, deps.timers);
          cascade.releaseAll();
          cascade.answers?.close();
        }
        await triggerLog.close();
        await after.router?.close();
        after.decisions?.close();
        await durable?.final(source.delivered);
        await source.close?.();
        device?.freeze();
        published.stop();
        published.refresh();
        for (const m of models.models) await m.backend.close();
        for (const m of extras) await m.backend.close();
        await cascade?.close();
      })();
      return stopping;
    },
  };
}

/** Where the metrics' `device` series comes from: the fpga driver's wait per job (host in the
 * loop), else the firmware's modelled cycles at its clock (sim; fpga autonomous, whose jobs
 * the host does not run), else none (onnx). */
function deviceLatency(backend: Backend, autonomous: boolean): Parameters<PipelineMetrics['deviceLatency']>[0] {
  if (isFpgaBackend(backend)) {
    if (!autonomous) return { measured: backend };
    const id = backend.deviceIdentity();
    return { modelledNs: id.clockKhz > 0 ? (id.latencyCycles * 1e6) / id.clockKhz : 0 };
  }
  const info = backend.info();
  return { modelledNs: info.modelledCycles !== null && (info.clockMhz ?? 0) > 0 ? (info.modelledCycles * 1000) / info.clockMhz! : 0 };
}

/** `compute()`, recomputed only when `version()` changes (once per published snapshot). */
function latestOf<T>(version: () => number, compute: () => T): () => T {
  let at = -1;
  let value: T | undefined;
  return () => {
    const v = version();
    if (v !== at || value === undefined) {
      value = compute();
      at = v;
    }
    return value;
  };
}

/** What the dashboard's fields of a snapshot are read from. */
interface DashboardParts {
  settings: () => PipelineSettings;
  policy: TriggerPolicy;
  metrics: PipelineMetrics;
  errors: ErrorLog;
  clock: Clock;
  cascade: Cascade | null;
}

/** The snapshot's `settings`, `quality`, `agreement`, `errorsLatest` and `scores`, read when
 * the build begins (as the counters are). */
function withDashboardFields(begin: () => SnapshotBuild, parts: () => DashboardParts): () => SnapshotBuild {
  return () => {
    const build = begin();
    const { settings, policy, metrics, errors, clock, cascade } = parts();
    const fields = {
      settings: settings(),
      quality: metrics.truth.quality(metrics.identity.labels, policy.params.targets, policy.suppressedByTruth),
      agreement: metrics.agreement?.read(clock.nowNs()) ?? null,
      cascade: cascade?.read(clock.nowNs()) ?? null,
      calibration: metrics.calibration?.read() ?? null,
      detectionScore: metrics.detectionScore?.read() ?? null,
      errorsLatest: errors.recent().slice(-ERRORS_LATEST),
      scores: 'probabilities' as const,
    };
    return { step: build.step, result: () => ({ ...build.result(), ...fields }) };
  };
}

/** The recent window of the cascade's sent/s and agreement, seconds (the metrics' own). */
const CASCADE_WINDOW_S = 5;

/** The cascade of a pipeline whose teacher is loaded: hot-path parts sized to its frame ring. */
function makeCascade(cfg: PipelineConfig, t: LoadedTeacher, card: ModelCard, pre: StreamPreprocessor, policy: TriggerPolicy, ring: TriggerRing, clock: Clock, frameSlots: number, pixels: { route: () => boolean; pre: StreamPreprocessor } | null): Cascade {
  return new Cascade(t.queue, {
    teacher: t.name, cut: t.cut, replace: cfg.cascade!.replace, labels: card.labels, teacherTakesProbabilities: t.takesProbabilities,
    inputs: pre.inputElements.length, budgetUs: cfg.budgetUs, clock, windowS: CASCADE_WINDOW_S, policy: () => policy.params, ring, frameSlots, pixels,
  });
}

/** Waits, polling every few ms on the daemon's timers, until the teacher has answered every
 * frame out with it or `limits.cascadeDrainWaitMsMax` passed. */
async function drainCascade(cascade: Cascade, timers: TimerScheduler): Promise<void> {
  const pollMs = 5;
  for (let waited = 0; waited < limits.cascadeDrainWaitMsMax; waited += pollMs) {
    cascade.join();
    if (cascade.queue.outstanding === 0) return;
    await new Promise<void>((resolve) => timers.setTimeout(resolve, pollMs));
  }
  cascade.join();
}

/** The snapshot's `modelSelection` (the selector's state and its recent switches), read when the build begins. */
function withSelection(build: SnapshotBuild, selection: BudgetModelSelection | null): SnapshotBuild {
  if (selection === null) return build;
  const view = selection.view();
  return { step: build.step, result: () => ({ ...build.result(), modelSelection: view }) };
}

/** The monitor of a config's calibration file (read and checked against the model's labels at start). */
function calibrationMonitor(c: NonNullable<PipelineConfig['calibration']>, at: (p: string) => string, labels: readonly string[]): CalibrationMonitor {
  const path = at(c.file!);
  return new CalibrationMonitor(readCalibrationFile(path, labels), path, labels, { windowFrames: c.windowFrames, driftAlpha: c.driftAlpha });
}

/** The cascade cut of a config's calibration file (`hairtrigger calibrate --cascade-catch`), which `cut: calibrated` takes; null without one. */
function calibratedCut(cfg: PipelineConfig, at: (p: string) => string, labels: readonly string[]): { path: string; on: 'margin' | 'entropy'; value: number } | null {
  if (cfg.calibration?.file === undefined) return null;
  const path = at(cfg.calibration.file);
  const c = readCalibrationFile(path, labels).cascade;
  return c === undefined ? null : { path, on: c.on, value: c.value };
}

/**
 * The live score of a labelled keyword replay (`calibration.truth`, a string its file): the
 * truth's entry of the wav source's file unless `stream` names one, the calibration file's
 * recall targets beside it. Refused (ConfigError naming the field) for a source without stream
 * time, a looping one (the truth describes one pass) and a cascade that replaces decisions.
 */
function truthMonitor(cfg: PipelineConfig, at: (p: string) => string, labels: readonly string[], streamTime: boolean): DetectionMonitor {
  const c = cfg.calibration!;
  const t = typeof c.truth === 'string' ? { file: c.truth, includeMissed: false } : c.truth!;
  if (!streamTime) throw new ConfigError('config: calibration.truth', `the source (${cfg.source?.kind ?? 'the device'}) has no stream time to match truth windows against: score a keyword stream (an audio source)`);
  const src = cfg.source as { kind?: string; path?: string; loop?: boolean } | undefined;
  if (src?.loop === true) throw new ConfigError('config: calibration.truth', 'the source loops: truth windows describe one pass of the stream; set source.loop: false');
  if (cfg.cascade?.replace === true) throw new ConfigError('config: calibration.truth', "cascade.replace lets the teacher change a detection after the hot path has scored the student's; score without replace");
  const calibration = c.file === undefined ? null : readCalibrationFile(at(c.file), labels);
  const wav = src?.kind === 'wav' && src.path !== undefined ? basename(src.path) : null;
  return detectionMonitor({ ...t, file: at(t.file) }, labels, calibration, wav);
}

/** Operating errors a snapshot lists (`errorsLatest`). */
const ERRORS_LATEST = 5;

/** A source with its own counters (NATS consumer lag) adds them to the snapshot as `source`. */
function withSourceCounters(build: SnapshotBuild, source: Source): SnapshotBuild {
  if (source.counters === undefined) return build;
  const counters = source.counters();
  return { step: build.step, result: () => ({ ...build.result(), source: counters }) };
}

/** Whether a source or sink exports link counters (the serial and websocket ones do). */
function hasTransportCounters(x: object): x is TransportCounted {
  return typeof (x as Partial<TransportCounted>).transportCounters === 'function';
}

/**
 * Checks the `fpga` block against the backend and the source before anything is opened;
 * returns whether the device runs autonomous (its event FIFO is the source).
 */
function checkFpgaMode(cfg: PipelineConfig): boolean {
  if (cfg.fpga !== undefined && cfg.backend !== 'fpga') throw new ConfigError('config: fpga', `is set but backend is ${cfg.backend}; fpga is for backend fpga`);
  const autonomous = cfg.fpga?.mode === 'autonomous';
  if (autonomous && cfg.source !== undefined) throw new ConfigError('config: source', `kind "${cfg.source.kind}" is set but fpga.mode is autonomous: the device takes its own frames and the daemon reads its event FIFO; remove source`);
  if (!autonomous && cfg.source === undefined) throw new ConfigError('config: source', 'missing: a replay or synthetic source is required (or fpga.mode: autonomous with backend fpga)');
  if (autonomous && cfg.fpga!.thresholdLogit === undefined) throw new ConfigError('config: fpga.thresholdLogit', 'missing: autonomous mode needs the device threshold of the target classes, in logit units');
  return autonomous;
}

/** Autonomous mode's source: the device's event FIFO, thresholds from the trigger targets. */
function makeFpgaEventSource(cfg: PipelineConfig, deps: DaemonDeps, backend: FpgaBackend, labels: readonly string[], errors: ErrorLog): Source {
  const port = backend.eventPort();
  const fpga = cfg.fpga!;
  const targets = cfg.trigger.targets ?? [];
  const thresholds = thresholdsRaw(port, labels.map((l) => targets.includes(l)), fpga.thresholdLogit!);
  deps.log(`fpga autonomous: draining ${port.path} every ${fpga.pollUs} us; the device fires on ${targets.join('/')} with logit >= ${fpga.thresholdLogit}`);
  return createFpgaEventSource(port, { pollUs: fpga.pollUs, thresholdsRaw: thresholds, onOverflow: (err, lost) => errors.error(err, lost) }, deps.clock, deps.timers);
}

/** Loads the configured backend from the registry (onnx, sim, fpga, or one a plugin added). */
async function loadBackend(cfg: PipelineConfig, card: ModelCard, at: (p: string) => string, firmwareDir: string, timers: TimerScheduler): Promise<Backend> {
  const onnx = card.files[cfg.variant];
  if (onnx === null) throw new ModelError(`${card.dir}/card.json`, `variant ${cfg.variant} is not part of this model (the card has no ${cfg.variant}); allowed: student`);
  const ref = { path: onnx, inputShape: card.inputShape, ...(card.inputShapes !== null ? { inputShapes: card.inputShapes } : {}), classes: card.labels.length, params: card.params[cfg.variant] };
  return backends.create({ kind: cfg.backend }, { card, cfg, ref, at, firmwareDir, timers }, 'config: backend');
}

function checkSourceFitsModel(source: Source, pre: StreamPreprocessor, card: ModelCard): void {
  const want = pre.frame;
  const got = source.spec;
  const shapeOk = want.shape === null || got.shape.join(',') === want.shape.join(',');
  if (got.dtype !== want.dtype || !shapeOk) {
    const wanted = want.shape === null ? `${want.dtype} chunks` : `[${want.shape.join(', ')}] ${want.dtype}`;
    throw new ConfigError('source', `stream "${got.stream}" has frames [${got.shape.join(', ')}] ${got.dtype}; model ${card.task} expects ${wanted} (see ${card.dir}/card.json preprocessing)`);
  }
  const labels = got.labels ?? [];
  if (labels.length > 0 && labels.join(',') !== card.labels.join(',')) {
    throw new ConfigError('source', `stream "${got.stream}" labels [${labels.join(', ')}] differ from the model's [${card.labels.join(', ')}]`);
  }
}

/** Every model of a switch writes the same kind of output (logits or probabilities): the policy
 * was built for the primary's. */
function checkSameOutputs(models: ModelSwitch): void {
  const kind = models.backend.info().outputKind;
  const other = models.models.find((m) => m.backend.info().outputKind !== kind);
  if (other !== undefined) throw new ConfigError('config: models', `"${other.name}" writes ${other.backend.info().outputKind ?? 'logits'} but the primary model writes ${kind ?? 'logits'}; switchable models answer alike`);
}

/** A model of several named inputs needs a preprocessor that writes them all and a backend that takes them. */
function checkModelInputs(cfg: PipelineConfig, card: ModelCard, backend: Backend, pre: StreamPreprocessor): void {
  const want = card.inputShapes?.length ?? 1;
  if (pre.inputElements.length !== want) {
    throw new ModelError(`${card.dir}/card.json`, `the model takes ${want} input(s) but its preprocessing writes ${pre.inputElements.length}`);
  }
  if (want > 1 && backend.predictInputs === undefined) {
    throw new ConfigError('config: backend', `"${cfg.backend}" runs models of one input; ${card.task} takes ${want} (${card.dir}/card.json inputs): use a backend that takes several (onnx)`);
  }
}
