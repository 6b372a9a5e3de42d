/**
 * One pipeline of a several-pipeline daemon, run in a `worker_threads` Worker of its own
 * (cli/pipeline-worker.ts) and seen from the main thread, which keeps the HTTP server, the
 * token check, `/healthz`, `/metrics` and the websocket hub. A pipeline's load (an alert's
 * cutouts, a device that stops answering) then costs its own event loop only: the others'
 * frames are decided on theirs.
 *
 * What crosses (cli/worker-protocol.ts):
 * - the worker sends each snapshot publication (its JSON, serialised there) and the recent
 *   errors; the main thread keeps the latest, so `snapshot()`/`snapshotJson()` stay synchronous
 *   and cheap here (the JSON is parsed once per publication, when first asked for);
 * - trigger batches, while this side has listeners (the websocket's);
 * - everything on demand (history, latency, trigger details, model, control changes, config,
 *   health, `/metrics`) is a request with an id, answered by the worker or failed here with a
 *   503 `RequestError` after `limits.workerRequestTimeoutMs`. Health and `/metrics` do not fail:
 *   they show that pipeline down (a stuck pipeline must not hide the others' health);
 * - log lines, which this side's logger prefixes `[pipeline]`.
 *
 * A worker that ends on a bug (its BUG path exits 70, after flushing its logs and releasing
 * its locks) or on an uncaught error is logged with its pipeline's name; the daemon keeps
 * serving the others, health shows this one down, and the process exits 70 once the others
 * have stopped. A worker whose stream ended stays (idle) until the process ends, so its
 * history and controls answer as an in-process pipeline's do.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { PipelineConfig } from '../config/schema.js';
import { ConfigError, RequestError } from '../core/errors.js';
import { limits } from '../core/limits.js';
import type { PipelineHealth } from '../metrics/health.js';
import type { PipelineExposition } from '../metrics/prometheus-pipelines.js';
import type { DaemonView, Snapshot, TriggerEvent } from '../metrics/snapshot.js';
import type { AuditEntry, ControlsState, DaemonControl, LatencyDistribution, ModelChange, ModelView, ReplaySpeedChange, TriggerDetail, TriggerSettingsChange } from '../server/api-types.js';
import type { Progress } from './progress.js';
import type { PipelineHandle, RunOptions } from './run-daemon.js';
import { fromWire, type ControlMethod, type FromWorker, type Publication, type Requests, type RequestOp, type ToWorker, type WorkerStart } from './worker-protocol.js';

/** The worker's entry: the compiled file beside this one (`make build`). */
const WORKER_ENTRY = new URL('./pipeline-worker.js', import.meta.url);

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | null;
}

/** A pipeline in its worker thread, as `runDaemons` drives it and the server reads it. */
export class WorkerRun implements PipelineHandle {
  readonly view: WorkerView;
  readonly control: WorkerControl;
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Why the worker has gone (null while it runs): requests fail with it at once. */
  private gone: string | null = null;
  private closing = false;
  private exitedAs: number | null = null;
  private readonly exited: Promise<number>;
  /** The worker's last health answer: what a health request that fails starts from. */
  private lastHealth: PipelineHealth | null = null;
  private running: { resolve: (snap: Snapshot) => void } | null = null;
  private readonly onHup = () => this.send({ kind: 'hup' });
  crashed = false;

  constructor(
    readonly cfg: PipelineConfig,
    private readonly opts: RunOptions,
    readonly log: (line: string) => void,
  ) {
    if (!existsSync(fileURLToPath(WORKER_ENTRY))) {
      throw new ConfigError('--isolation', `worker threads run the compiled pipeline (${fileURLToPath(WORKER_ENTRY)} is missing): run "make build", or run with --isolation none`);
    }
    const { bar: _bar, ...plain } = opts;
    const data: WorkerStart = { cfg, opts: plain };
    this.worker = new Worker(WORKER_ENTRY, { workerData: data, stdout: false, stderr: false });
    this.view = new WorkerView((on) => this.send({ kind: 'triggers', on }), this.request.bind(this));
    this.control = new WorkerControl(this.request.bind(this), () => this.send({ kind: 'unauthorized' }));
    this.worker.on('message', (m: FromWorker) => this.receive(m));
    this.worker.on('error', (err) => {
      this.crashed = true;
      this.log(`pipeline worker failed: ${err.stack ?? err.message}`);
    });
    this.exited = new Promise((res) => this.worker.once('exit', (code) => {
      this.exitedAs = code;
      res(code);
      this.ended(code);
    }));
  }

  /** A request to the worker; `timeoutMs` null: none (start, run, abandon). */
  request<K extends RequestOp>(op: K, args: Requests[K]['args'], timeoutMs: number | null = limits.workerRequestTimeoutMs): Promise<Requests[K]['answer']> {
    const where = `pipeline ${this.cfg.pipeline}`;
    if (this.gone !== null) return Promise.reject(new RequestError(where, this.gone, 503));
    if (this.pending.size >= limits.workerRequestsInFlightMax) {
      return Promise.reject(new RequestError(where, `${this.pending.size} requests already await its answer (limits.workerRequestsInFlightMax); try again shortly`, 503));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = timeoutMs === null ? null : setTimeout(() => {
        this.pending.delete(id);
        reject(new RequestError(where, `no answer within ${timeoutMs} ms (limits.workerRequestTimeoutMs): its event loop is busy or stuck; try again shortly`, 503));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.send({ kind: 'request', id, op, args, deadlineMs: timeoutMs === null ? null : Date.now() + timeoutMs });
    });
  }

  private send(m: ToWorker): void {
    if (this.gone === null) this.worker.postMessage(m);
  }

  private receive(m: FromWorker): void {
    switch (m.kind) {
      case 'answer': {
        const p = this.pending.get(m.id);
        if (p === undefined) return; // answered after its timeout: the client has its 503
        this.pending.delete(m.id);
        if (p.timer !== null) clearTimeout(p.timer);
        if (m.ok) p.resolve(m.value);
        else p.reject(fromWire(m.error));
        return;
      }
      case 'log':
        this.log(m.line);
        return;
      case 'snapshot':
        this.view.publish(m);
        return;
      case 'triggers':
        this.view.deliver(m.events);
    }
  }

  /** The thread has ended: pending requests fail, health says so, a run in progress ends. */
  private ended(code: number): void {
    this.gone = `its worker thread has ended (exit ${code})`;
    for (const p of this.pending.values()) {
      if (p.timer !== null) clearTimeout(p.timer);
      p.reject(new RequestError(`pipeline ${this.cfg.pipeline}`, this.gone, 503));
    }
    this.pending.clear();
    if (this.closing) return;
    this.crashed = true;
    this.log(`pipeline worker ended unexpectedly (exit ${code}${code === 70 ? ': the BUG above' : ''}); this pipeline is down, the others keep running`);
    this.running?.resolve(this.view.lastSnapshot());
  }

  listenForHup(): void {
    if (this.opts.reload !== undefined) process.on('SIGHUP', this.onHup);
  }

  async start(runId: string): Promise<void> {
    this.view.publish(await this.request('start', { runId }, null));
  }

  run(_setBar: (bar: Progress | null) => void, stopped: Promise<string>): Promise<Snapshot> {
    void stopped.then((signal) => this.send({ kind: 'stop', signal }));
    return new Promise((resolve, reject) => {
      this.running = { resolve };
      this.request('run', {}, null).then((final) => {
        this.view.publish(final);
        resolve(this.view.lastSnapshot());
      }, (err: Error) => (this.gone === null ? reject(err) : resolve(this.view.lastSnapshot())));
    });
  }

  /** Start-up failed: the worker stops what it built and releases its locks, then ends. */
  async abandon(): Promise<void> {
    try {
      if (this.gone === null) await this.request('abandon', {}, null);
    } finally {
      await this.release();
    }
  }

  /** Stops listening for SIGHUP; the worker releases its locks and ends (terminated if it does not in time). */
  async release(): Promise<void> {
    process.off('SIGHUP', this.onHup);
    if (this.exitedAs !== null) return;
    this.closing = true;
    this.send({ kind: 'close' });
    const late = setTimeout(() => void this.worker.terminate(), limits.workerCloseWaitMs);
    await this.exited;
    clearTimeout(late);
  }

  /** The main thread's BUG path: a worker flushes its own logs on its own BUG path. */
  flushBeforeExit(): void {}

  config(): Promise<unknown> {
    return this.request('config', {});
  }

  /** Its `/healthz` entry: the worker's, or down with the reason it did not answer. */
  async health(uptimeS: number): Promise<PipelineHealth> {
    try {
      this.lastHealth = (await this.request('health', { uptimeS })) as PipelineHealth;
      return this.lastHealth;
    } catch (err) {
      const reason = `worker thread: ${(err as Error).message.replace(/^E_REQUEST at pipeline \S+: /, '').replace(/; try again shortly$/, '')}`;
      return downHealth(this.cfg, this.lastHealth, reason);
    }
  }

  /** Its `/metrics` series; a worker that does not answer shows as `hairtrigger_pipeline_up 0`. */
  exposition(): PipelineExposition {
    return { metricsText: () => this.request('metrics', {}).catch(() => pipelineDownText(this.cfg.pipeline)) };
  }
}

/** `last` (or what the config says, before any answer) marked down for `reason`. */
function downHealth(cfg: PipelineConfig, last: PipelineHealth | null, reason: string): PipelineHealth {
  const base: PipelineHealth = last ?? {
    pipeline: cfg.pipeline, up: false, reasons: [], state: 'running',
    source: { kind: cfg.source?.kind ?? 'fpga-events', ended: false, up: false, detail: 'unknown' },
    backend: { kind: cfg.backend, loaded: false, faulted: false },
    frames: 0, failed: 0, lastFrameAgeS: null, errorRatio: 0, windowS: limits.healthWindowS,
  };
  return { ...base, up: false, reasons: [reason] };
}

/** The exposition of a pipeline whose worker did not answer: its `up` series at 0 (HELP and
 * TYPE as `ServiceState.registerMetrics` writes them, so the merge keeps one family). */
function pipelineDownText(pipeline: string): string {
  return [
    '# HELP hairtrigger_pipeline_up Whether /healthz calls the pipeline up (1) or down (0).',
    '# TYPE hairtrigger_pipeline_up gauge',
    `hairtrigger_pipeline_up{pipeline="${pipeline}"} 0`,
    '',
  ].join('\n');
}

type Request = WorkerRun['request'];

/**
 * The main thread's `DaemonView` of a worker's pipeline: the latest publication, parsed once
 * when first read (the websocket sends the JSON as it came); trigger listeners here, one
 * forwarding subscription in the worker while there is any.
 */
class WorkerView implements DaemonView {
  private published: Publication | null = null;
  private parsed: Snapshot | null = null;
  private readonly listeners = new Set<(events: readonly TriggerEvent[]) => void>();

  constructor(
    private readonly forward: (on: boolean) => void,
    private readonly request: Request,
  ) {}

  publish(p: Publication): void {
    this.published = p;
    this.parsed = null;
  }

  deliver(events: readonly TriggerEvent[]): void {
    for (const l of this.listeners) l(events);
  }

  snapshot(): Snapshot {
    this.parsed ??= JSON.parse(this.started().json) as Snapshot;
    return this.parsed;
  }

  snapshotJson(): string {
    return this.started().json;
  }

  /** The last snapshot (the run's result when the worker has gone); one is published at start. */
  lastSnapshot(): Snapshot {
    return this.snapshot();
  }

  private started(): Publication {
    if (this.published === null) throw new RequestError('daemon', 'starting: the pipeline is not running yet; try again shortly', 503);
    return this.published;
  }

  onTriggers(listener: (events: readonly TriggerEvent[]) => void): () => void {
    this.listeners.add(listener);
    if (this.listeners.size === 1) this.forward(true);
    return () => {
      if (this.listeners.delete(listener) && this.listeners.size === 0) this.forward(false);
    };
  }

  recentErrors(): Publication['errors'] {
    return this.published?.errors ?? [];
  }

  historyJson(): Promise<string> {
    return this.request('historyJson', {});
  }

  latencyDistribution(): Promise<LatencyDistribution> {
    return this.request('latency', {}) as Promise<LatencyDistribution>;
  }

  triggerDetail(run: string, seq: number): Promise<TriggerDetail | null> {
    return this.request('detail', { run, seq }) as Promise<TriggerDetail | null>;
  }

  model(): Promise<ModelView> {
    return this.request('model', {}) as Promise<ModelView>;
  }
}

/**
 * The main thread's `DaemonControl` of a worker's pipeline: reads and changes are requests
 * (the worker's `DaemonControls` applies each between its frames and keeps the audit log);
 * refusals come back as the same typed errors. A refused token is counted here (for
 * `/api/server`, at once) and in the worker (its `state()` and `/metrics`).
 */
class WorkerControl implements DaemonControl {
  private unauthorized = 0;

  constructor(
    private readonly request: Request,
    private readonly sendUnauthorized: () => void,
  ) {}

  get unauthorizedCount(): number {
    return this.unauthorized;
  }

  countUnauthorized(): void {
    this.unauthorized++;
    this.sendUnauthorized();
  }

  state(): Promise<ControlsState> {
    return this.request('controls', {}) as Promise<ControlsState>;
  }

  private change(method: ControlMethod, ...args: unknown[]): Promise<AuditEntry> {
    return this.request('control', { method, args }) as Promise<AuditEntry>;
  }

  setTrigger(change: TriggerSettingsChange, who: string): Promise<AuditEntry> {
    return this.change('setTrigger', change, who);
  }

  pause(who: string): Promise<AuditEntry> {
    return this.change('pause', who);
  }

  resume(who: string): Promise<AuditEntry> {
    return this.change('resume', who);
  }

  setReplaySpeed(change: ReplaySpeedChange, who: string): Promise<AuditEntry> {
    return this.change('setReplaySpeed', change, who);
  }

  setModel(change: ModelChange, who: string): Promise<AuditEntry> {
    return this.change('setModel', change, who);
  }
}
