import { Counter, Gauge, type Registry } from 'prom-client';
import type { PipelineConfig } from '../config/schema.js';
import { monotonicClock } from '../core/clock.js';
import { RequestError } from '../core/errors.js';
import { limits } from '../core/limits.js';
import type { Daemon } from '../daemon.js';
import { healthReport, HealthMonitor, type HealthReport, type PipelineHealth } from '../metrics/health.js';
import { ConfigReloader, type ReloadResult } from './reload.js';

/**
 * What `hairtrigger run` adds to run as a service: the health of its pipeline for `/healthz`
 * (sampled off the hot path every `healthSampleIntervalMs`), SIGHUP reloads of the config file
 * (`ConfigReloader`) and their counters on `/metrics`. Made before the daemon, so the server
 * can answer (503, "starting") while the model loads.
 */
export class ServiceState {
  private daemon: Daemon | null = null;
  private ended = false;
  private stopping = false;
  private readonly monitor: HealthMonitor;
  private reloader: ConfigReloader | null = null;
  private sampler: NodeJS.Timeout | null = null;

  /** `configPath` null: no file to reload (`replay`); SIGHUP then only logs that. */
  constructor(
    private readonly cfg: PipelineConfig,
    private readonly configPath: string | null,
    private readonly normalise: (cfg: PipelineConfig) => PipelineConfig,
    private readonly log: (line: string) => void,
  ) {
    const h = cfg.server.health;
    this.monitor = new HealthMonitor({ frameAgeMaxS: h.frameAgeMaxS ?? null, errorRatioMax: h.errorRatioMax });
  }

  /** The daemon is built: health follows it, reloads reach it. */
  ready(daemon: Daemon): void {
    this.daemon = daemon;
    void daemon.sourceDone.then(() => (this.ended = true));
    if (this.configPath !== null) this.reloader = new ConfigReloader(this.configPath, daemon, this.normalise, this.log, Date.now());
    const sample = () => this.monitor.sample(monotonicClock.nowNs(), daemon.metrics.frames, daemon.metrics.dropped);
    sample();
    this.sampler = setInterval(sample, limits.healthSampleIntervalMs);
    this.sampler.unref();
  }

  /** SIGHUP: reload the config file (see `ConfigReloader`); null when there was none to reload. */
  reload(): ReloadResult | null {
    if (this.reloader === null) {
      this.log(this.daemon === null ? 'SIGHUP while starting: ignored (nothing to reload yet)' : 'SIGHUP: this run has no config file to reload (replay options); ignored');
      return null;
    }
    return this.reloader.reload(Date.now());
  }

  /** A control request changed the trigger settings: the next reload compares against them. */
  adoptTrigger(trigger: PipelineConfig['trigger']): void {
    this.reloader?.adoptTrigger(trigger);
  }

  /** The daemon is stopping: health says so (503) until the process exits. */
  stop(): void {
    this.stopping = true;
    if (this.sampler !== null) clearInterval(this.sampler);
  }

  /** The `/healthz` report. */
  health(uptimeS: number): HealthReport {
    return healthReport(uptimeS, [this.pipelineHealth()]);
  }

  /** The `/api/config` body: the config in force and the reloads (503 while starting). */
  config(): unknown {
    if (this.daemon === null) throw new RequestError('GET /api/config', 'starting: the pipeline is not running yet; try again shortly', 503);
    const status = this.reloader?.status() ?? { path: null, config: this.daemon.config, reloads: { ok: 0, refused: 0 }, lastReload: null };
    // The control API's token is a secret: /api/config says only whether one is set.
    const server = status.config.server;
    return server.token === undefined ? status : { ...status, config: { ...status.config, server: { ...server, token: '(set; not shown)' } } };
  }

  private pipelineHealth(): PipelineHealth {
    const d = this.daemon;
    const state = d === null ? 'starting' : this.stopping ? 'stopping' : 'running';
    const snap = d === null ? null : d.view.snapshot();
    return this.monitor.report(monotonicClock.nowNs(), {
      pipeline: this.cfg.pipeline, state,
      sourceKind: this.cfg.source?.kind ?? 'fpga-events', sourceEnded: this.ended, source: d?.source.health?.(),
      backendKind: this.cfg.backend, backendLoaded: d !== null && !this.stopping, backendFaulted: snap?.device?.faulted === true,
    });
  }

  /**
   * Adds `hairtrigger_config_reloads_total{outcome}` and `hairtrigger_pipeline_up{pipeline}`
   * (1 when `/healthz` calls it up) to `registry`.
   */
  registerMetrics(registry: Registry): void {
    const self = this;
    new Counter({
      name: 'hairtrigger_config_reloads_total',
      help: 'SIGHUP reloads of the config file, by outcome (ok: validated and its reloadable parts applied; refused: the old config stays).',
      labelNames: ['outcome'],
      registers: [registry],
      collect() {
        this.reset();
        this.inc({ outcome: 'ok' }, self.reloader?.counts.ok ?? 0);
        this.inc({ outcome: 'refused' }, self.reloader?.counts.refused ?? 0);
      },
    });
    new Gauge({
      name: 'hairtrigger_pipeline_up',
      help: 'Whether /healthz calls the pipeline up (1) or down (0).',
      labelNames: ['pipeline'],
      registers: [registry],
      collect() {
        this.set({ pipeline: self.cfg.pipeline }, self.pipelineHealth().up ? 1 : 0);
      },
    });
  }
}
