/**
 * The settings in force, as the dashboard's overview shows them (snapshot `settings`): built
 * off the hot path at each snapshot from the config and the policy's params (which a reload
 * replaces), so a SIGHUP's new threshold shows in the next snapshot.
 */
import type { PolicyParams } from '../trigger/policy.js';
import type { PipelineSettings } from '../server/api-types.js';
import type { LiveSettings } from './live-settings.js';

/** A component's config as the schema keeps it: a `kind` and its own fields. */
type Component = { kind: string } & Record<string, unknown>;

/** Fields that say where a source reads, in the order they are looked for. */
const WHERE = ['path', 'subject', 'url', 'device', 'listen', 'port', 'host'] as const;

/** What does not change while the daemon runs (start-up config). */
export interface FixedSettings {
  source: Component | undefined;
  decoder: string;
  autonomous: boolean;
  budgetUs: number;
  route: Component | undefined;
}

/** The snapshot's `settings` for `params` and what the control API changed (`live`) in force now. Pure. */
export function pipelineSettings(fixed: FixedSettings, params: PolicyParams, live: LiveSettings): PipelineSettings {
  return {
    ...live,
    source: describeSource(fixed.source, fixed.autonomous),
    decoder: fixed.decoder,
    mode: fixed.autonomous ? 'autonomous' : 'host',
    targets: [...params.targets],
    threshold: params.threshold,
    ...(Object.keys(params.thresholds).length > 0 ? { thresholds: { ...params.thresholds } } : {}),
    holdoffUs: params.holdoffNs / 1000,
    maxRatePerS: params.ratePerNs * 1e9,
    burst: params.burst,
    budgetUs: fixed.budgetUs,
    filters: describeRoute(fixed.route),
  };
}

/** "replay sim/recordings/cells.arrows (realtime)", "nats alerts.ztf", "fpga events". */
export function describeSource(source: Component | undefined, autonomous: boolean): string {
  if (source === undefined) return autonomous ? 'fpga events (autonomous)' : 'none';
  const where = WHERE.map((k) => source[k]).find((v) => typeof v === 'string' || typeof v === 'number');
  const pacing = typeof source.pacing === 'string' ? ` (${source.pacing})` : '';
  return `${source.kind}${where === undefined ? '' : ` ${String(where)}`}${pacing}`;
}


/** The router's settings, one `kind.key: value` line each; [] without a router. */
export function describeRoute(route: Component | undefined): string[] {
  if (route === undefined) return [];
  return Object.entries(route)
    .filter(([k, v]) => k !== 'kind' && v !== undefined)
    .map(([k, v]) => `${route.kind}.${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
}
