/**
 * `DaemonControl` for `hairtrigger run` and `replay`: what the control endpoints
 * (server/control-routes.ts) change, each change applied between frames (an event-loop
 * callback, never inside a frame's synchronous push), recorded in a bounded audit ring
 * (`limits.auditEntriesMax`) and logged.
 */
import type { Registry } from 'prom-client';
import { registerCollectedCounters } from '../server/http.js';
import type { PipelineConfig } from '../config/schema.js';
import { HairtriggerError, RequestError, isOperatingError } from '../core/errors.js';
import { limits } from '../core/limits.js';
import type { Daemon } from '../daemon.js';
import type { AuditEntry, ControlsState, DaemonControl, ModelChange, PipelineSettings, ReplaySpeedChange, TriggerSettingsChange } from '../server/api-types.js';
import { triggerConfigSchema, type TriggerConfig } from '../trigger/policy.js';
import { liveSettings } from '../pipeline/live-settings.js';
import { fieldChanges, type ReloadResult } from './reload.js';

/** What a trigger change also tells: the reloader, so a later SIGHUP compares against it. */
export interface TriggerAdopter {
  adoptTrigger(trigger: TriggerConfig): void;
}

/**
 * The daemon's controls. Made before the daemon (the server answers while the model loads):
 * until `ready`, reads and changes answer 503.
 */
export class DaemonControls implements DaemonControl {
  private daemon: Daemon | null = null;
  private adopter: TriggerAdopter | null = null;
  private trigger: TriggerConfig;
  private readonly audit: AuditEntry[] = [];
  private unauthorized = 0;

  constructor(
    private readonly cfg: PipelineConfig,
    private readonly log: (line: string) => void,
    private readonly nowMs: () => number = Date.now,
  ) {
    this.trigger = cfg.trigger;
  }

  /** The daemon is built: changes reach it. `adopter` (the SIGHUP reloader) learns trigger changes. */
  ready(daemon: Daemon, adopter: TriggerAdopter | null): void {
    this.daemon = daemon;
    this.adopter = adopter;
    this.trigger = daemon.config.trigger;
    // The model chosen by the budget switches on its own: each switch is audited as a change.
    daemon.selection?.onSwitch((r) =>
      this.push({ atMs: r.atMs, who: 'model selection (budget)', action: 'model selection', changes: [`model: ${r.from} -> ${r.to} (${r.direction}: ${r.reason})`], outcome: 'applied', error: null }),
    );
  }

  state(): ControlsState {
    return { settings: this.settings(), audit: [...this.audit], unauthorized: this.unauthorized };
  }

  countUnauthorized(): void {
    this.unauthorized++;
  }

  /** Requests refused for their token since start (readable before the daemon is ready). */
  get unauthorizedCount(): number {
    return this.unauthorized;
  }

  /** Frames of a live source dropped because they arrived while paused. */
  get droppedByPause(): number {
    return this.daemon?.gate.droppedByPause ?? 0;
  }

  /** The settings in force, as `/api/controls` and the overview show them. */
  settings(): PipelineSettings {
    return this.started('GET /api/controls').settings();
  }

  setTrigger(change: TriggerSettingsChange, who: string): AuditEntry {
    return this.record('POST /api/control/trigger', who, (d) => {
      const parsed = triggerConfigSchema.safeParse({ ...this.trigger, ...change });
      if (!parsed.success) throw new RequestError('POST /api/control/trigger', `${parsed.error.issues[0]!.path.join('.')}: ${parsed.error.issues[0]!.message}`, 400);
      const next = parsed.data;
      // Built and checked whole, then one reference swap: the SIGHUP reload's path.
      const params = d.policy.prepare(next);
      d.policy.apply(params);
      const changes = fieldChanges('trigger', this.trigger, next);
      this.trigger = next;
      this.adopter?.adoptTrigger(next);
      return changes;
    });
  }

  pause(who: string): AuditEntry {
    return this.record('POST /api/control/pause', who, (d) => this.setPaused(d, true));
  }

  resume(who: string): AuditEntry {
    return this.record('POST /api/control/resume', who, (d) => this.setPaused(d, false));
  }

  setReplaySpeed(change: ReplaySpeedChange, who: string): AuditEntry {
    const action = 'POST /api/control/replay';
    return this.record(action, who, (d) => {
      const pacing = d.source.pacing;
      if (pacing === undefined) throw new RequestError(action, `source "${this.cfg.source?.kind ?? 'fpga-events'}" is live: only a replayed or generated stream has a pace to change`, 409);
      const show = (x: number) => (Number.isFinite(x) ? String(x) : 'max');
      const was = pacing.pace;
      pacing.setSpeed(change.speed ?? Number.POSITIVE_INFINITY);
      return was === pacing.pace ? [] : [`replay.speed: ${show(was)} -> ${show(pacing.pace)}`];
    });
  }

  setModel(change: ModelChange, who: string): AuditEntry {
    return this.record('POST /api/control/model', who, (d) => {
      const was = d.models.select(change.model);
      return was === d.models.name ? [] : [`model: ${was} -> ${d.models.name}`];
    });
  }

  /** A SIGHUP reload (`ConfigReloader`): audited as any other change; its trigger settings are now in force. */
  recordReload(result: ReloadResult, config: () => PipelineConfig | null): void {
    const inForce = config();
    if (result.outcome === 'ok' && inForce !== null) {
      this.trigger = inForce.trigger;
      this.daemon?.showRoute(inForce.route);
    }
    this.push({ atMs: result.atMs, who: 'SIGHUP', action: 'SIGHUP reload', changes: result.applied, outcome: result.outcome === 'ok' ? 'applied' : 'refused', error: result.error });
  }

  /** Pause or resume: a paced source halts its clock; a live one is gated (frames dropped and
   * counted); a durable one (NATS) is refused, since it would acknowledge frames never decided. */
  private setPaused(d: Daemon, paused: boolean): string[] {
    const action = `POST /api/control/${paused ? 'pause' : 'resume'}`;
    if (d.source.commit !== undefined) throw new RequestError(action, `source "${this.cfg.source?.kind}" is durable: frames dropped while paused would be acknowledged undecided; stop the daemon instead (its consumer keeps them)`, 409);
    if (this.cfg.fpga?.mode === 'autonomous') throw new RequestError(action, 'fpga.mode autonomous: the device fires on its own; the host cannot pause it', 409);
    const was = liveSettings(d.models, d.source, d.gate).paused;
    if (d.source.pacing !== undefined) {
      if (paused) d.source.pacing.pause();
      else d.source.pacing.resume();
    } else d.gate.paused = paused;
    return was === paused ? [] : [`paused: ${was} -> ${paused}`];
  }

  /** Runs `change` on the started daemon; records and logs it as applied, or as refused (and re-throws) on an operating error. */
  private record(action: string, who: string, change: (d: Daemon) => string[]): AuditEntry {
    const atMs = this.nowMs();
    try {
      const changes = change(this.started(action));
      return this.push({ atMs, who, action, changes, outcome: 'applied', error: null });
    } catch (err) {
      if (!isOperatingError(err)) throw err;
      this.push({ atMs, who, action, changes: [], outcome: 'refused', error: err.message });
      throw asRequestError(err, action);
    }
  }

  private push(entry: AuditEntry): AuditEntry {
    this.audit.push(entry);
    if (this.audit.length > limits.auditEntriesMax) this.audit.shift();
    const what = entry.outcome === 'applied' ? (entry.changes.length > 0 ? entry.changes.join('; ') : 'nothing changed') : `refused: ${entry.error}`;
    this.log(`control ${entry.action} by ${entry.who}: ${what}`);
    return entry;
  }

  private started(action: string): Daemon {
    if (this.daemon === null) throw new RequestError(action, 'starting: the pipeline is not running yet; try again shortly', 503);
    return this.daemon;
  }
}

/** A refusal as the HTTP answer: request errors keep their status; a config check is a 400. */
function asRequestError(err: HairtriggerError, action: string): HairtriggerError {
  return err instanceof RequestError ? err : new RequestError(action, err.message, 400);
}

/**
 * Adds `hairtrigger_http_unauthorized_requests_total` (control requests refused for their
 * token) and `hairtrigger_frames_dropped_by_pause_total` (frames of a live source that
 * arrived while paused) to `registry`.
 */
export function registerControlMetrics(registry: Registry, controls: DaemonControls): void {
  const counters: Array<[string, string, () => number]> = [
    ['hairtrigger_http_unauthorized_requests_total', 'HTTP requests refused for a missing or wrong bearer token.', () => controls.unauthorizedCount],
    ['hairtrigger_frames_dropped_by_pause_total', 'Frames of a live source that arrived while the pipeline was paused (never decided).', () => controls.droppedByPause],
  ];
  registerCollectedCounters(registry, counters);
}
