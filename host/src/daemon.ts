import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Clock } from './core/clock.js';
import { ConfigError, ModelError } from './core/errors.js';
import { FrameRing } from './core/frame.js';
import { checkLimits, limits } from './core/limits.js';
import { readCapture } from './capture/arrow-capture.js';
import { createImageFrameDecoder } from './codecs/cell-frame.js';
import type { Backend } from './backends/backend.js';
import { loadOnnxBackend } from './backends/onnx.js';
import { isFpgaBackend, loadFpgaBackend, type FpgaBackend } from './backends/fpga.js';
import { loadSimBackend } from './backends/sim.js';
import type { PipelineConfig } from './config/schema.js';
import { PipelineMetrics, type SnapshotBuild } from './metrics/pipeline-metrics.js';
import { SnapshotCache } from './metrics/snapshot-cache.js';
import { DeviceReader } from './metrics/device-snapshot.js';
import type { DaemonView } from './metrics/snapshot.js';
import { readModelCard, type ModelCard } from './model/card.js';
import { ErrorLog, type LogLine } from './pipeline/faults.js';
import { buildPipeline } from './pipeline/pipeline.js';
import { fpgaEventStages } from './pipeline/fpga-event-stages.js';
import { emitStage, inferStage, policyStage, preprocessStage } from './pipeline/stages.js';
import { createModelPreprocessor } from './preprocess/model-input.js';
import { TriggerLog } from './sinks/trigger-log.js';
import { noPayload, TriggerRing } from './sinks/trigger-ring.js';
import { createFpgaEventSource, thresholdsRaw } from './sources/fpga-events.js';
import { createReplaySource } from './sources/replay.js';
import type { Source, TimerScheduler } from './sources/source.js';
import { createSyntheticSource } from './sources/synthetic.js';
import { TriggerPolicy } from './trigger/policy.js';

/** What the daemon is given from outside: the only place time, timers and logs enter. */
export interface DaemonDeps {
  clock: Clock;
  timers: TimerScheduler;
  log: LogLine;
  /** This run's id: written with every trigger record, so logs of different runs never mix unmarked. */
  runId?: string;
  /** Folder relative paths in the config are resolved against. */
  baseDir: string;
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
  readonly errors: ErrorLog;
  readonly triggerLog: TriggerLog;
  readonly view: DaemonView;
  /** Starts the source. */
  start(): void;
  /** Resolves when the source has delivered everything (finite streams). */
  readonly sourceDone: Promise<void>;
  /** Stops the source, flushes and closes the trigger log, releases the model. Idempotent. */
  stop(): Promise<void>;
}

/**
 * The configured backend. `sim` loads the model library `firmware` names (a .so, or a project
 * folder holding one); `fpga` opens `device` and checks it against the register map of the
 * project `firmware` names (regmap.json, or a folder holding it). Both default to `make
 * firmware`'s build of the variant, which must have been compiled from the card's ONNX file
 * (checked by hash; the fpga driver also checks the device's MODEL_HASH against the map).
 */
async function loadBackend(cfg: PipelineConfig, card: ModelCard, at: (p: string) => string): Promise<Backend> {
  const onnx = card.files[cfg.variant];
  if (onnx === null) throw new ModelError(`${card.dir}/card.json`, `variant ${cfg.variant} is not part of this model (the card has no ${cfg.variant}); allowed: student`);
  const ref = { inputShape: card.inputShape, classes: card.labels.length, params: card.params[cfg.variant] };
  if (cfg.device !== undefined && cfg.backend !== 'fpga') throw new ConfigError('config: device', `"${cfg.device}" is set but backend is ${cfg.backend}; device is for backend fpga`);
  if (cfg.backend === 'onnx') {
    if (cfg.firmware !== undefined) throw new ConfigError('config: firmware', `"${cfg.firmware}" is set but backend is onnx; firmware is for backends sim and fpga`);
    return loadOnnxBackend({ path: onnx, ...ref });
  }
  if (cfg.backend === 'fpga' && cfg.device === undefined) throw new ConfigError('config: device', 'missing: backend fpga needs device (the register region, e.g. /dev/xdma0_user)');
  const project = at(cfg.firmware ?? join(FIRMWARE_DIR, firmwareName(card.task, cfg.variant)));
  let sha: string;
  try {
    sha = createHash('sha256').update(readFileSync(onnx)).digest('hex');
  } catch (err) {
    throw new ModelError(onnx, `cannot read model: ${(err as Error).message}`, { cause: err });
  }
  if (cfg.backend === 'fpga') {
    const regmap = project.endsWith('.json') ? project : join(project, 'regmap.json');
    return loadFpgaBackend({ path: regmap, device: at(cfg.device!), sourceSha256: sha, spinsMax: cfg.fpga?.spinsMax, ...ref });
  }
  const lib = project.endsWith('.so') ? project : join(project, `lib${basename(project)}.so`);
  return loadSimBackend({ path: lib, sourceSha256: sha, ...ref });
}

/** Where `make firmware` puts the projects of the zoo's models (relative to the repository). */
export const FIRMWARE_DIR = 'hls/build';

/** C identifier of a zoo model's firmware: `cells-bccd` + `student` -> `cells_bccd_student`. */
export function firmwareName(task: string, variant: string): string {
  return `${task}_${variant}`.replace(/[^A-Za-z0-9_]/g, '_');
}

/**
 * Builds a pipeline from a validated config: model card -> preprocessor -> backend ->
 * policy -> sinks, and a source whose frames must match what the model was trained on.
 * Fails fast with a typed error (ConfigError, ModelError, CaptureFormatError) that names the
 * file and field when the parts do not fit.
 */
export async function createDaemon(cfg: PipelineConfig, deps: DaemonDeps): Promise<Daemon> {
  checkLimits();
  const at = (p: string) => resolve(deps.baseDir, p);
  const card = readModelCard(at(cfg.model));
  const pre = createModelPreprocessor(card.preprocessing, `${card.dir}/card.json: preprocessing`);
  const autonomous = checkFpgaMode(cfg);
  const backend = await loadBackend(cfg, card, at);
  const metrics = new PipelineMetrics({ pipeline: cfg.pipeline, backend: backend.info().kind, model: `${card.task}/${cfg.variant}`, labels: card.labels, budgetUs: cfg.budgetUs }, deps.clock);
  const errors = new ErrorLog(metrics, deps.log);
  const policy = new TriggerPolicy(cfg.trigger, card.labels, cfg.budgetUs);
  const source = autonomous ? makeFpgaEventSource(cfg, deps, backend as FpgaBackend, card.labels, errors) : makeSource(cfg, deps, at, errors);
  if (!autonomous) checkSourceFitsModel(source, card);
  const ring = new TriggerRing(card.labels.length);
  const names = { run: deps.runId ?? 'run', streams: [source.spec.stream], labels: card.labels, describePayload: noPayload };
  const triggerLog = new TriggerLog(ring, names, { jsonlPath: cfg.sinks.jsonl && at(cfg.sinks.jsonl), arrowPath: cfg.sinks.arrow && at(cfg.sinks.arrow) }, (e) => errors.error(e));
  const frames = new FrameRing(pre.inputElements, card.labels.length, limits.frameSlotsMax);
  const pipeline = buildPipeline(
    {
      ...(autonomous
        ? fpgaEventStages(card.labels.length, (backend as FpgaBackend).deviceIdentity().path, policy)
        : {
            decode: createImageFrameDecoder({ ...source.spec, labels: source.spec.labels ?? [] }),
            preprocess: preprocessStage(pre),
            infer: inferStage(backend),
            policy: policyStage(policy),
          }),
      emit: emitStage(ring, deps.clock),
    },
    deps.clock,
    metrics,
    errors,
    deps.onBug,
  );
  metrics.watch({ policy: policy.counters, triggerRing: ring });
  // The device's counters join the snapshot here, off the hot path (fpga backend only).
  const device = isFpgaBackend(backend) ? new DeviceReader(backend) : null;
  const beginSnapshot = (): SnapshotBuild => {
    const build = metrics.beginSnapshot();
    return device === null ? build : { step: build.step, result: () => ({ ...build.result(), device: device.read() }) };
  };
  // One snapshot every snapshotIntervalMs, built in steps on the daemon's timers; every
  // reader (HTTP, websocket, /metrics, progress) gets the published one.
  const published = new SnapshotCache(beginSnapshot, deps.clock, deps.timers, limits.snapshotIntervalMs, deps.onBug);
  let flushTimer: unknown = null;
  let stopping: Promise<void> | null = null;
  let lateLogged = 0;
  let flushes = 0;
  const lateEvery = Math.max(1, Math.round(limits.lateLogIntervalMs / limits.flushIntervalMs));
  const flushLoop = () => {
    triggerLog.flush();
    // Late frames are logged here, off the hot path: one summary line a second at most.
    if (metrics.late > lateLogged && flushes++ % lateEvery === 0) {
      deps.log(`${metrics.late - lateLogged} late frame(s) not triggered (budget ${cfg.budgetUs} us); latest seq ${metrics.lastLateSeq} reached the policy after ${metrics.lastLateWaitUs.toFixed(1)} us`);
      lateLogged = metrics.late;
    }
    flushTimer = deps.timers.setTimeout(flushLoop, limits.flushIntervalMs);
  };
  return {
    config: cfg, card, backend, metrics, policy, source, errors, triggerLog,
    view: {
      snapshot: () => published.current().snapshot,
      snapshotJson: () => published.current().json,
      onTriggers: (l) => triggerLog.subscribe(l),
      recentErrors: () => errors.recent(),
    },
    start() {
      flushLoop();
      published.start();
      source.start({ acquire: () => frames.acquire(), push: (slot) => pipeline.push(slot) });
    },
    sourceDone: source.done,
    stop() {
      stopping ??= (async () => {
        await source.stop();
        if (flushTimer !== null) deps.timers.clearTimeout(flushTimer);
        pipeline.complete();
        await triggerLog.close();
        device?.freeze();
        published.stop();
        published.refresh();
        await backend.close();
      })();
      return stopping;
    },
  };
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
  const thresholds = thresholdsRaw(port, labels.map((l) => cfg.trigger.targets.includes(l)), fpga.thresholdLogit!);
  deps.log(`fpga autonomous: draining ${port.path} every ${fpga.pollUs} us; the device fires on ${cfg.trigger.targets.join('/')} with logit >= ${fpga.thresholdLogit}`);
  return createFpgaEventSource(port, { pollUs: fpga.pollUs, thresholdsRaw: thresholds, onOverflow: (err, lost) => errors.error(err, lost) }, deps.clock, deps.timers);
}

function makeSource(cfg: PipelineConfig, deps: DaemonDeps, at: (p: string) => string, errors: ErrorLog): Source {
  const s = cfg.source!;
  if (s.kind === 'synthetic') {
    deps.log(`synthetic source: seed ${s.seed}, ${s.rateHz} cells/s`);
    return createSyntheticSource({ seed: s.seed, rateHz: s.rateHz, pacing: s.pacing, frames: s.frames ?? Number.POSITIVE_INFINITY }, deps.clock, deps.timers);
  }
  const capture = readCapture(at(s.path));
  if (capture.truncation !== null) errors.error(capture.truncation);
  const frames = s.frames ?? (s.loop ? Number.POSITIVE_INFINITY : capture.count);
  return createReplaySource(capture, { pacing: s.pacing, loop: s.loop, frames, nominalRateHz: s.nominalRateHz }, deps.clock, deps.timers);
}

function checkSourceFitsModel(source: Source, card: ModelCard): void {
  const want = card.preprocessing.frame;
  const got = source.spec;
  if (got.dtype !== want.dtype || got.shape.join(',') !== want.shape.join(',')) {
    throw new ConfigError('source', `stream "${got.stream}" has frames [${got.shape.join(', ')}] ${got.dtype}; model ${card.task} expects [${want.shape.join(', ')}] ${want.dtype} (see ${card.dir}/card.json preprocessing.frame)`);
  }
  const labels = got.labels ?? [];
  if (labels.length > 0 && labels.join(',') !== card.labels.join(',')) {
    throw new ConfigError('source', `stream "${got.stream}" labels [${labels.join(', ')}] differ from the model's [${card.labels.join(', ')}]`);
  }
}
