import { isDeepStrictEqual } from 'node:util';
import { loadConfigFile, type PipelineConfig } from '../config/schema.js';
import { ConfigError, isOperatingError } from '../core/errors.js';
import type { Daemon } from '../daemon.js';
import type { PolicyParams } from '../trigger/policy.js';

/** What one reload did (`/api/config` `lastReload`, and the log). */
export interface ReloadResult {
  outcome: 'ok' | 'refused';
  /** Wall-clock ms of the reload. */
  atMs: number;
  /** Frames the pipeline had taken in (decided or failed) when the reload applied: the
   * frame after them is the first decided under the new settings. Null when refused. */
  fromFrame: number | null;
  /** Changes put in force, e.g. `trigger.threshold: 0.5 -> 0.9`. */
  applied: string[];
  /** Changes found but not applied: they take effect only after a restart. */
  restartNeeded: string[];
  /** Why the new config was refused (the old one stays in force); null when it was not. */
  error: string | null;
}

/** Config keys a reload puts in force; every other changed key needs a restart. */
const RELOADABLE = new Set(['trigger', 'route']);

/** A planned reload: everything built and checked, nothing applied yet. */
interface ReloadPlan {
  next: PipelineConfig;
  applied: string[];
  restartNeeded: string[];
  policy: PolicyParams | null;
  router: { apply(): void } | null;
}

/**
 * `hairtrigger run`'s SIGHUP: re-reads the config file and puts its reloadable parts in force
 * (trigger: targets, threshold, hold-off, rate limit; route: a detector's settings, an alert
 * broker's filters), atomically. The whole new file is parsed and validated, and the new
 * policy settings and router state built, before anything changes; a bad file is refused
 * (counted, logged with the field) and the config in force stays. The swaps then happen in
 * one synchronous step between frames (a signal is handled on the event loop, never inside a
 * frame's push), each a reference assignment, so the hot path neither allocates nor sees half
 * of a config. Changed parts that need a restart (source, model, backend, sinks, server, ...)
 * are logged as such and left as they are.
 */
export class ConfigReloader {
  /** The config in force: the start-up one with every applied reload. */
  private current: PipelineConfig;
  readonly counts = { ok: 0, refused: 0 };
  private last: ReloadResult | null = null;
  private readonly loadedAtMs: number;

  /**
   * `path`: the config file; `normalise` applies what the command line overrides (`--port`)
   * to a freshly read config, so a reload compares like with like.
   */
  constructor(
    private readonly path: string,
    private readonly daemon: Daemon,
    private readonly normalise: (cfg: PipelineConfig) => PipelineConfig,
    private readonly log: (line: string) => void,
    nowMs: number,
  ) {
    this.current = daemon.config;
    this.loadedAtMs = nowMs;
  }

  /**
   * A control request (`POST /api/control/trigger`) put `trigger` in force: the next reload
   * compares the file against it, so a file that still holds the old values shows (and logs,
   * and audits) the change back instead of undoing it silently.
   */
  adoptTrigger(trigger: PipelineConfig['trigger']): void {
    this.current = { ...this.current, trigger };
  }

  /** Reloads the file (see the class); never throws an operating error. */
  reload(nowMs: number): ReloadResult {
    let result: ReloadResult;
    try {
      const plan = this.plan(this.normalise(loadConfigFile(this.path)));
      if (plan.policy !== null) this.daemon.policy.apply(plan.policy);
      plan.router?.apply();
      const fromFrame = this.daemon.metrics.frames + this.daemon.metrics.dropped;
      this.current = { ...this.current, trigger: plan.next.trigger, route: plan.next.route };
      result = { outcome: 'ok', atMs: nowMs, fromFrame, applied: plan.applied, restartNeeded: plan.restartNeeded, error: null };
      this.counts.ok++;
      const what = plan.applied.length > 0 ? `applied ${plan.applied.join('; ')} (in force from frame ${fromFrame})` : 'nothing reloadable changed';
      const later = plan.restartNeeded.length > 0 ? `; changed, restart needed (not applied): ${plan.restartNeeded.join('; ')}` : '';
      this.log(`reload of ${this.path}: ${what}${later}`);
    } catch (err) {
      if (!isOperatingError(err)) throw err;
      result = { outcome: 'refused', atMs: nowMs, fromFrame: null, applied: [], restartNeeded: [], error: err.message };
      this.counts.refused++;
      this.log(`reload of ${this.path} refused; the config in force stays: ${err.message}`);
    }
    this.last = result;
    return result;
  }

  /** The body of `/api/config`: the config in force, its file, and the reloads. */
  status(): { path: string; loadedAtMs: number; config: PipelineConfig; reloads: { ok: number; refused: number }; lastReload: ReloadResult | null } {
    return { path: this.path, loadedAtMs: this.loadedAtMs, config: this.current, reloads: { ...this.counts }, lastReload: this.last };
  }

  /** Compares `given` with the config in force and builds what a reload would apply. */
  private plan(given: PipelineConfig): ReloadPlan {
    const cur = this.current;
    const targets = given.trigger.targets ?? this.daemon.card.targets;
    if (targets === null) throw new ConfigError(`${this.path}: trigger.targets`, `missing, and ${this.daemon.card.dir}/card.json names no default targets; labels are ${this.daemon.card.labels.join(', ')}`);
    const restartNeeded = changedKeys(cur, given).filter((k) => !RELOADABLE.has(k));
    // Autonomous fpga: the device fires on the targets it was given at start-up.
    const deviceTargets = cur.fpga?.mode === 'autonomous' && !isDeepStrictEqual(cur.trigger.targets, targets);
    if (deviceTargets) restartNeeded.push('trigger.targets (fpga.mode autonomous: the device took them at start-up)');
    const next: PipelineConfig = { ...given, trigger: { ...given.trigger, targets: deviceTargets ? cur.trigger.targets : targets } };
    const triggerChanges = fieldChanges('trigger', cur.trigger, next.trigger);
    const targetsChanged = !isDeepStrictEqual(cur.trigger.targets, next.trigger.targets);
    const policy = triggerChanges.length > 0 ? this.atFile(() => this.daemon.policy.prepare(next.trigger)) : null;
    const applied = [...triggerChanges];
    const route = this.planRoute(cur.route, next.route, targetsChanged ? next.trigger.targets! : null);
    restartNeeded.push(...route.restartNeeded);
    applied.push(...route.applied);
    return { next: { ...next, route: route.inForce }, applied, restartNeeded, policy, router: route.router };
  }

  /**
   * The router's part of a reload: `wanted` is the new file's route, `targets` the new trigger
   * targets when they changed (a detector fires on them). A route added, removed or of another
   * kind needs a restart; the router in force then still takes new targets.
   */
  private planRoute(cur: PipelineConfig['route'], wanted: PipelineConfig['route'], targets: readonly string[] | null): { inForce: PipelineConfig['route']; router: { apply(): void } | null; applied: string[]; restartNeeded: string[] } {
    const restartNeeded: string[] = [];
    const sameKind = cur !== undefined && wanted !== undefined && cur.kind === wanted.kind;
    if (!isDeepStrictEqual(cur, wanted) && !sameKind) restartNeeded.push('route (added, removed or of another kind)');
    const next = sameKind ? wanted : cur;
    const live = this.daemon.router;
    const changed = !isDeepStrictEqual(cur, next);
    if ((!changed && targets === null) || live === null || next === undefined) return { inForce: cur, router: null, applied: [], restartNeeded };
    if (live.prepareReload === undefined) {
      if (changed) restartNeeded.push(`route (kind ${next.kind} takes no reload)`);
      return { inForce: cur, router: null, applied: [], restartNeeded };
    }
    const r = this.atFile(() => live.prepareReload!(next as Record<string, unknown>, targets ?? this.current.trigger.targets!));
    if ('restart' in r) return { inForce: cur, router: null, applied: [], restartNeeded: [...restartNeeded, `route: ${r.restart}`] };
    return { inForce: next, router: r, applied: fieldChanges('route', cur, next), restartNeeded };
  }

  /** Runs a check of the new config; its ConfigError is re-thrown naming this file. */
  private atFile<T>(check: () => T): T {
    try {
      return check();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      // The bare message, without the `E_CONFIG at <where>: ` the error put in front.
      const bare = err.message.slice(`${err.code} at ${err.where}: `.length);
      throw new ConfigError(`${this.path}: ${err.where.replace(/^config: /, '')}`, bare, { cause: err });
    }
  }
}

/** Top-level keys whose values differ between two configs. */
function changedKeys(a: PipelineConfig, b: PipelineConfig): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys.filter((k) => !isDeepStrictEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** `prefix.field: old -> new` for each field that differs (values as JSON, cut at 120 characters). */
export function fieldChanges(prefix: string, a: object | undefined, b: object | undefined): string[] {
  const x = (a ?? {}) as Record<string, unknown>;
  const y = (b ?? {}) as Record<string, unknown>;
  const show = (v: unknown) => (v === undefined ? '(unset)' : JSON.stringify(v).slice(0, 120));
  return [...new Set([...Object.keys(x), ...Object.keys(y)])].filter((k) => !isDeepStrictEqual(x[k], y[k])).map((k) => `${prefix}.${k}: ${show(x[k])} -> ${show(y[k])}`);
}
