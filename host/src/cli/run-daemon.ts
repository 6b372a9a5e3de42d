import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { systemClock } from '../native/addon.js';
import { calibrationConfigSchema, type PipelineConfig } from '../config/schema.js';
import { createDaemon, FIRMWARE_DIR, type Daemon } from '../daemon.js';
import { PrometheusExporter, type MetricsExposition, type PrometheusExporterOptions } from '../metrics/prometheus.js';
import { PipelineExpositions } from '../metrics/prometheus-pipelines.js';
import { healthReport } from '../metrics/health.js';
import { assert } from '../core/assert.js';
import type { DaemonView, LocalDaemonView, Snapshot, TriggerEvent } from '../metrics/snapshot.js';
import { RequestError } from '../core/errors.js';
import type { Awaitable, DaemonControl, HistoryColumns, LatencyDistribution, ModelView, TriggerDetail } from '../server/api-types.js';
import type { PipelineHealth } from '../metrics/health.js';
import type { PipelineExposition } from '../metrics/prometheus-pipelines.js';
import { lockOutputs, type OutputLock } from '../sinks/lock.js';
import { sinkBasePaths } from '../sinks/registry.js';
import { routeBasePaths } from '../trigger/routers.js';
import { startHttpServer, type HttpServer } from '../server/http.js';
import { realTimers } from '../sources/source.js';
import type { StreamSource } from '../sources/stream.js';
import { createProgress, formatRate, type Progress } from './progress.js';
import { ServiceState } from './service.js';
import { DaemonControls, registerControlMetrics } from './control.js';
import { checkBind, dashboardUrl, resolveToken, TOKEN_ENV, TokenCheck, type ControlToken } from '../server/auth.js';
import { WorkerRun } from './worker-run.js';

/** Repository root: bin/ and ui/dist are found from here. */
export const REPO_ROOT = resolve(new URL('.', import.meta.url).pathname, '..', '..', '..', '..');

export interface RunOptions {
  /** Print a progress line to stderr every this many ms (0: never). */
  progressMs: number;
  /** Print the final snapshot as JSON on stdout when the stream ends. */
  summary: boolean;
  /** Folder relative paths in the config resolve against. */
  baseDir: string;
  /** On a terminal, draw a progress bar (frames, rate, time left) instead of progress lines. */
  bar?: boolean;
  /** `run`: the config file SIGHUP re-reads, and what the command line overrides in it
   * (plain data, so that a pipeline's worker thread re-applies them: `applyOverrides`). */
  reload?: { path: string; overrides: ConfigOverrides };
}

/** What `hairtrigger run`'s command line overrides in every config it reads, the file a SIGHUP
 * re-reads included. */
export interface ConfigOverrides {
  /** `--port`: the server's port. */
  port?: number;
  /** `--decisions`: the decisions file (absolute). */
  decisions?: string;
  /** `--truth`: the keyword stream's truth file (absolute), as `calibration.truth`. */
  truth?: string;
}

/** `cfg` with `overrides` applied. */
export function applyOverrides(cfg: PipelineConfig, overrides: ConfigOverrides): PipelineConfig {
  return {
    ...cfg,
    ...(overrides.port === undefined ? {} : { server: { ...cfg.server, port: overrides.port } }),
    ...(overrides.decisions === undefined ? {} : { decisions: overrides.decisions }),
    ...(overrides.truth === undefined ? {} : { calibration: calibrationConfigSchema.parse({ ...cfg.calibration, truth: overrides.truth }) }),
  };
}

/**
 * Where each pipeline of `runDaemons` runs. `worker`: in a `worker_threads` Worker of its own
 * (its own event loop, daemon, backend, sinks, locks and controls; cli/worker-run.ts), the
 * server on the main thread, so one pipeline's load never delays another's hot path. `none`:
 * every pipeline on the main thread's one event loop (what one pipeline, `replay` and the
 * in-process tests use). Default: `worker` for several pipelines, `none` for one.
 */
export type Isolation = 'worker' | 'none';

/**
 * The composition root of `hairtrigger run` and `replay`: real clock and timers, the
 * daemon, the HTTP server, progress output and signal handling. SIGINT/SIGTERM stop the
 * source (an asynchronous one decides what it had accepted first), flush and close the
 * trigger logs, then exit; a finite stream ends the same way. With `opts.reload`, SIGHUP
 * re-reads the config file and applies its reloadable parts (`ServiceState`, `ConfigReloader`).
 *
 * Start-up takes what can be refused by another process before it opens anything for
 * writing: first the port (the server answers 503 until the daemon is ready), then a lock
 * beside every trigger log base path, then the daemon (backend, then sinks). A failure at
 * any step releases what the earlier steps took, so a second daemon on the same config fails
 * without touching the first one's files or port.
 */
export async function runDaemon(cfg: PipelineConfig, opts: RunOptions): Promise<Snapshot> {
  return (await runDaemons([{ cfg, opts }]))[0]!;
}

/**
 * `runDaemon` for several pipelines in one process (`hairtrigger run --config a.yaml --config
 * b.yaml`; `checkPipelineSet` has checked the configs): one server for all, on the first
 * config's `server` block, each route choosing a pipeline with `?pipeline=` (the first by
 * default), `/metrics` with every pipeline's series labelled `pipeline`. Each pipeline has its
 * own daemon, locks, sinks, controls, health and SIGHUP reload of its own file; a signal stops
 * them all, each flushing its logs; a finite stream ends its own pipeline only, and the
 * process when the last one has ended. A failure starting one releases what every pipeline
 * had taken. Returns each pipeline's final snapshot, in the order given.
 *
 * `isolation` (`Isolation`): `worker` runs each pipeline in a worker thread of its own
 * (`WorkerRun`), the server here; its start-up failures are thrown here as the same typed
 * errors, and a worker that ends on a bug leaves the others running (health shows it down;
 * the process exits 70 once they have stopped). A finite stream stops its worker's daemon;
 * the thread stays, idle, so the pipeline's history and controls still answer, until the
 * process ends.
 */
export async function runDaemons(pipelines: ReadonlyArray<{ cfg: PipelineConfig; opts: RunOptions }>, isolation: Isolation = pipelines.length > 1 ? 'worker' : 'none'): Promise<Snapshot[]> {
  assert(pipelines.length > 0, 'runDaemons runs at least one pipeline');
  let bar: Progress | null = null;
  const multi = pipelines.length > 1;
  const logAs = (name: string | null) => (line: string) => {
    bar?.end(); // the bar is redrawn below the line at its next update
    process.stderr.write(`${new Date().toISOString()} ${name === null ? '' : `[${name}] `}${line}\n`);
  };
  const log = logAs(null);
  const runId = `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`;
  const first = pipelines[0]!.cfg;
  // Refused before anything is opened: a control API off loopback on a token nobody chose.
  const token = resolveToken(first.server.token, process.env[TOKEN_ENV]);
  if (first.server.enabled) checkBind(first.server.host, token);
  const runs: PipelineHandle[] = pipelines.map(({ cfg, opts }) => {
    const logOf = logAs(multi ? cfg.pipeline : null);
    return isolation === 'worker' ? new WorkerRun(cfg, opts, logOf) : new PipelineRun(cfg, opts, logOf);
  });
  // Installed first: SIGHUP's default action would end the process while the model loads.
  runs.forEach((r) => r.listenForHup());
  const onBug = () => runs.forEach((r) => r.flushBeforeExit());
  let server: HttpServer | null = null;
  try {
    server = first.server.enabled ? await startServer(first, runs, token, log) : null;
    for (const r of runs) await r.start(runId, onBug);
  } catch (err) {
    // The pipelines started before the failing one close their backends and sinks too.
    for (const r of runs) await r.abandon();
    await server?.close();
    throw err;
  }
  // One signal stops every pipeline (a worker is told by message: signals reach the main thread only).
  const signals = untilSignal(log);
  const snaps = await Promise.all(runs.map((r) => r.run(multi ? () => {} : (b) => (bar = b), signals.stopped)));
  await Promise.all(runs.map((r) => r.release()));
  if (server !== null) await server.close();
  signals.remove();
  pipelines.forEach(({ opts }, i) => {
    if (opts.summary) process.stdout.write(JSON.stringify(snaps[i], null, 2) + '\n');
  });
  // A pipeline's worker that ended on a bug (its own log says so) marks the process's exit
  // status as the in-process BUG path does, once the others have stopped.
  if (runs.some((r) => r.crashed)) process.exitCode = 70;
  return snaps;
}

/**
 * The first SIGINT or SIGTERM, and the remover of its listeners. The listeners stay until
 * every pipeline has stopped: a repeated signal (GNU `timeout` and process managers signal
 * the process and then its group, so one stop can bring two) is logged and ignored rather
 * than ending the process by the default action before the pipelines have flushed their logs.
 */
function untilSignal(log: (line: string) => void): { stopped: Promise<string>; remove: () => void } {
  let first: string | null = null;
  let onSignal: (sig: NodeJS.Signals) => void = () => {};
  const stopped = new Promise<string>((res) => {
    onSignal = (sig) => {
      if (first === null) res((first = sig));
      else log(`${sig} while stopping (on ${first}): ignored; the pipelines are flushing their logs (SIGKILL ends the process at once)`);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  return { stopped, remove: () => ['SIGINT', 'SIGTERM'].forEach((sig) => process.off(sig, onSignal)) };
}

/**
 * What `runDaemons` needs of one pipeline, whether it runs on this thread (`PipelineRun`) or in
 * a worker thread (`WorkerRun`, cli/worker-run.ts). The server reads it through `view`,
 * `control`, `config`, `health` and `exposition`; the latter four may answer with a promise.
 */
export interface PipelineHandle {
  readonly cfg: PipelineConfig;
  readonly view: DaemonView;
  readonly control: DaemonControl & { readonly unauthorizedCount: number };
  /** Ended on a bug (a worker's BUG path or uncaught error) while the others ran on. */
  readonly crashed: boolean;
  /** `/api/config`: the config in force and the reloads (503 while starting). */
  config(): unknown;
  /** Its `/healthz` entry. */
  health(uptimeS: number): Awaitable<PipelineHealth>;
  /** Its `/metrics` series, labelled `pipeline` (several pipelines' exposition). */
  exposition(): PipelineExposition;
  listenForHup(): void;
  start(runId: string, flushAllBeforeExit: () => void): Promise<void>;
  run(setBar: (bar: Progress | null) => void, stopped: Promise<string>): Promise<Snapshot>;
  abandon(): Promise<void>;
  release(): Awaitable<void>;
  flushBeforeExit(): void;
}

/**
 * One pipeline of a `runDaemons` process on this thread: its view, service state, controls,
 * locks and daemon. A pipeline's worker thread runs one of these too (cli/pipeline-worker.ts).
 */
export class PipelineRun implements PipelineHandle {
  readonly view = new LateView();
  readonly service: ServiceState;
  readonly controls: DaemonControls;
  readonly crashed = false;
  private locks: OutputLock[] = [];
  private daemon: Daemon | null = null;
  /** SIGHUP: re-reads this pipeline's config file (`ServiceState.reload`) and audits the result. */
  readonly hup = (): void => {
    const result = this.service.reload();
    if (result !== null) this.controls.recordReload(result, () => (this.service.config() as { config: PipelineConfig }).config);
  };

  constructor(
    readonly cfg: PipelineConfig,
    private readonly opts: RunOptions,
    readonly log: (line: string) => void,
  ) {
    const overrides = opts.reload?.overrides ?? {};
    this.service = new ServiceState(cfg, opts.reload?.path ?? null, (c) => applyOverrides(c, overrides), log);
    this.controls = new DaemonControls(cfg, log);
  }

  get control(): DaemonControls {
    return this.controls;
  }

  config(): unknown {
    return this.service.config();
  }

  health(uptimeS: number): PipelineHealth {
    return this.service.health(uptimeS).pipelines[0]!;
  }

  exposition(): PipelineExposition {
    return pipelineExporter(this, { defaultMetrics: false, labels: { pipeline: this.cfg.pipeline } });
  }

  listenForHup(): void {
    if (this.opts.reload !== undefined) process.on('SIGHUP', this.hup);
  }

  /** Locks the trigger logs, then builds the daemon; on failure releases the locks and throws. */
  async start(runId: string, flushAllBeforeExit: () => void): Promise<void> {
    const { cfg, opts, log } = this;
    try {
      this.locks = lockOutputs([...sinkBasePaths(cfg.sinks, (p) => resolve(opts.baseDir, p)), ...routeBasePaths(cfg.route, (p) => resolve(opts.baseDir, p))], { pid: process.pid, alive: processAlive });
      this.daemon = await createDaemon(cfg, { clock: systemClock(), timers: realTimers, log, runId, baseDir: opts.baseDir, firmwareDir: resolve(REPO_ROOT, FIRMWARE_DIR), onBug: (err) => {
        log(`BUG (stopping): ${err instanceof Error ? err.stack : String(err)}`);
        flushAllBeforeExit();
        process.exit(70);
      } });
    } catch (err) {
      this.release();
      throw err;
    }
    const daemon = this.daemon;
    this.view.ready(daemon.view);
    this.service.ready(daemon);
    this.controls.ready(daemon, this.service);
    const asked = cfg.source?.frames as number | undefined;
    if (asked !== undefined && daemon.sourceFrames < asked) log(`source: ${asked} frames asked for, but the capture holds ${daemon.sourceFrames} and does not loop: replaying those`);
    log(`pipeline ${cfg.pipeline}: ${daemon.card.task}/${cfg.variant} on ${daemon.backend.info().kind}, budget ${cfg.budgetUs} us, triggers on ${daemon.config.trigger.targets!.join('/')} >= ${cfg.trigger.threshold}; run ${runId}`);
  }

  /** Runs the started daemon until `stopped` resolves (a signal's name) or its stream ends; its final snapshot. */
  run(setBar: (bar: Progress | null) => void, stopped: Promise<string>): Promise<Snapshot> {
    assert(this.daemon !== null, 'run after start');
    return runUntilStopped(this.daemon, this.opts, this.log, setBar, this.service, stopped);
  }

  /** Start-up failed (this pipeline's or another's): a daemon already built is stopped (its
   * backend and sinks closed) before the locks are released. */
  async abandon(): Promise<void> {
    this.service.stop();
    try {
      await this.daemon?.stop();
    } finally {
      this.release();
    }
  }

  /** Stops listening for SIGHUP and releases the locks (again: a no-op). */
  release(): void {
    process.off('SIGHUP', this.hup);
    this.locks.forEach((l) => l.release());
    this.locks = [];
  }

  /** The fatal-bug path: this pipeline's ring and sinks to disk synchronously, then its locks. */
  flushBeforeExit(): void {
    flushBeforeExit(this.daemon, this.log);
    this.release();
  }
}

async function startServer(cfg: PipelineConfig, runs: readonly PipelineHandle[], token: ControlToken, log: (line: string) => void): Promise<HttpServer> {
  // One token for all pipelines; refusals are counted by the first's controls (one count per server).
  const controls = runs[0]!.control;
  const auth = new TokenCheck(token, () => controls.countUnauthorized(), log);
  const uiDir = resolve(REPO_ROOT, 'ui', 'dist');
  if (!existsSync(resolve(uiDir, 'index.html'))) log(`dashboard not built (${uiDir}): run "make ui"; the API and /metrics are served anyway`);
  const metrics = metricsOf(runs);
  const health = async (up: number) => healthReport(up, await Promise.all(runs.map((r) => r.health(up))));
  const pipelines = runs.map((r) => ({ name: r.cfg.pipeline, view: r.view, control: r.control, config: () => r.config() }));
  const server = await startHttpServer({ view: runs[0]!.view, pipelines, host: cfg.server.host, port: cfg.server.port, allowedHosts: cfg.server.allowedHosts, uiDir, metrics, health, control: { control: controls, auth }, unauthorized: () => controls.unauthorizedCount });
  log(`dashboard on ${server.url}/  metrics on ${server.url}/metrics${runs.length > 1 ? `  pipelines ${runs.map((r) => r.cfg.pipeline).join(', ')} (?pipeline=<name>; default ${runs[0]!.cfg.pipeline}; ${runs[0] instanceof WorkerRun ? 'each in a worker thread' : 'all on one event loop'})` : ''}`);
  // The one place the token is shown: a generated one is known to nobody else.
  if (token.source === 'generated') log(`control token (generated; printed once): open ${dashboardUrl(server.url, token)}`);
  else log(`control token from ${token.source === 'env' ? TOKEN_ENV : 'server.token'}`);
  return server;
}

/**
 * `/metrics`: one pipeline's exporter as it always was; several pipelines' merged, each
 * series labelled with its pipeline (`PipelineExpositions`).
 */
function metricsOf(runs: readonly PipelineHandle[]): MetricsExposition {
  const only = runs[0]!;
  if (runs.length === 1 && only instanceof PipelineRun) return pipelineExporter(only, {});
  return new PipelineExpositions(runs.map((r) => r.exposition()));
}

/** The exporter of one pipeline's series: its snapshot's, its service's (reloads, up) and its controls'. */
export function pipelineExporter(r: PipelineRun, options: PrometheusExporterOptions): PrometheusExporter {
  const exporter = new PrometheusExporter(() => r.view.snapshot(), options);
  r.service.registerMetrics(exporter.registry);
  registerControlMetrics(exporter.registry, r.controls);
  return exporter;
}

/**
 * Runs the daemon until a signal or the end of the stream, stops it and returns the final
 * snapshot. On a terminal with `opts.bar` a progress bar replaces the progress lines
 * (`setBar` lets the log erase it before each line).
 */
async function runUntilStopped(daemon: Daemon, opts: RunOptions, log: (line: string) => void, setBar: (bar: Progress | null) => void, service: ServiceState, signalled: Promise<string>): Promise<Snapshot> {
  const bar = opts.bar === true && process.stderr.isTTY === true ? createProgress({ label: daemon.config.pipeline, total: Number.isFinite(daemon.sourceFrames) ? daemon.sourceFrames : null, unit: 'frames' }) : null;
  setBar(bar);
  const progress = bar !== null ? setInterval(() => bar.update(daemon.metrics.frames), 200) : opts.progressMs > 0 ? setInterval(() => log(progressLine(daemon)), opts.progressMs) : null;
  const stopped = Promise.race([signalled, daemon.sourceDone.then(() => 'end of stream')]);
  const t0Ms = performance.now();
  daemon.start();
  const why = await stopped;
  service.stop();
  if (progress !== null) clearInterval(progress);
  await daemon.stop();
  bar?.end();
  setBar(null);
  const snap = daemon.view.snapshot();
  const sinks = Object.entries(daemon.triggerLog.sinkCounters()).map(([name, c]) => `${name}: ${c.written} written, ${c.dropped} dropped, ${c.bytes} bytes`);
  const rate = `${formatRate(snap.frames / Math.max(1e-3, (performance.now() - t0Ms) / 1000))}/s over the run`;
  // An asynchronous source's queue: every frame it accepted was decided before the logs closed.
  const ingress = (daemon.source as Partial<StreamSource>).ingress;
  const queued = ingress === undefined ? '' : `; ingress accepted ${ingress.accepted}, delivered ${ingress.delivered}, dropped ${ingress.droppedNewest + ingress.droppedOldest + ingress.oversize}`;
  log(`stopped (${why}): ${progressLine(daemon, rate)}${queued}; trigger log flushed (${daemon.triggerLog.written} triggers written${sinks.length > 0 ? `; ${sinks.join('; ')}` : ''})`);
  return snap;
}

/** The fatal-bug path: whatever the ring and the sinks hold goes to disk synchronously, before `process.exit`. */
function flushBeforeExit(daemon: Daemon | null, log: (line: string) => void): void {
  if (daemon === null) return;
  try {
    daemon.triggerLog.flushSync();
    log(`trigger log flushed before exit (${daemon.triggerLog.written} triggers written)`);
  } catch (err) {
    log(`flushing the trigger log before exit failed: ${(err as Error).message}`);
  }
}

/** Whether process `pid` exists (signal 0 checks without sending anything; EPERM: it exists, owned by another user). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The view the server is started with before the daemon exists: until `ready`, snapshots
 * (and so `/api/snapshot`, `/metrics` and websocket hellos) fail with 503; trigger
 * subscriptions made before are attached when the daemon arrives.
 */
export class LateView implements DaemonView {
  private view: LocalDaemonView | null = null;
  private readonly early = new Map<(events: readonly TriggerEvent[]) => void, () => void>();

  ready(view: LocalDaemonView): void {
    this.view = view;
    for (const l of this.early.keys()) this.early.set(l, view.onTriggers(l));
  }

  snapshot(): Snapshot {
    return this.started().snapshot();
  }

  snapshotJson(): string {
    return this.started().snapshotJson();
  }

  private started(): LocalDaemonView {
    if (this.view === null) throw new RequestError('daemon', 'starting: the pipeline is not running yet; try again shortly', 503);
    return this.view;
  }

  onTriggers(listener: (events: readonly TriggerEvent[]) => void): () => void {
    if (this.view !== null) return this.view.onTriggers(listener);
    this.early.set(listener, () => {});
    return () => {
      this.early.get(listener)?.();
      this.early.delete(listener);
    };
  }

  recentErrors(): ReturnType<DaemonView['recentErrors']> {
    return this.view === null ? [] : this.view.recentErrors();
  }

  // The pipeline's trigger details and model view, once it runs (503 before, as snapshots).
  triggerDetail(run: string, seq: number): TriggerDetail | null {
    return this.started().triggerDetail?.(run, seq) ?? null;
  }

  model(): ModelView {
    const view = this.started();
    if (view.model === undefined) throw new RequestError('GET /api/model', 'this daemon has no model view', 404);
    return view.model();
  }

  /** The daemon's history (`/api/history`): 503 while starting, 404 if its view keeps none. */
  history(): HistoryColumns {
    const v = this.started();
    if (v.history === undefined) throw new RequestError('GET /api/history', 'this daemon keeps no history', 404);
    return v.history();
  }

  /** The daemon's distributions (`/api/latency`): 503 while starting, 404 if its view keeps none. */
  latencyDistribution(): LatencyDistribution {
    const v = this.started();
    if (v.latencyDistribution === undefined) throw new RequestError('GET /api/latency', 'this daemon keeps no latency distribution', 404);
    return v.latencyDistribution();
  }
}

/** One status line; `rate` replaces the last interval's frames/s (the final line gives the whole run's). */
function progressLine(d: Daemon, rate?: string): string {
  const s = d.metrics.snapshot();
  return `frames ${s.frames} (${rate ?? `${s.fps.toFixed(0)}/s`}) triggers ${s.triggers} late ${s.late} dropped ${s.dropped} e2e us p50 ${s.e2eUs.p50} p99 ${s.e2eUs.p99} p99.9 ${s.e2eUs.p999}`;
}
