/**
 * The settings in force, as the dashboard's overview shows them (snapshot `settings`): built
 * off the hot path at each snapshot from the config and the policy's params (which a reload
 * replaces), so a SIGHUP's new threshold shows in the next snapshot.
 */
import type { PolicyParams } from '../trigger/policy.js';
import type { PipelineSettings } from '../server/api-types.js';
import { pacingSpeed, type Pacing } from '../sources/source.js';

/** A component's config as the schema keeps it: a `kind` and its own fields. */
type Component = { kind: string } & Record<string, unknown>;

/** Fields that say where a source reads, in the order they are looked for. */
const WHERE = ['path', 'subject', 'url', 'device', 'listen', 'port', 'host'] as const;

/** What does not change while the daemon runs (start-up config). */
export interface FixedSettings {
  source: Component | undefined;
  decoder: string;
  backend: string;
  model: string;
  autonomous: boolean;
  budgetUs: number;
  route: Component | undefined;
}

/** The snapshot's `settings` for `params` in force now. Pure. */
export function pipelineSettings(fixed: FixedSettings, params: PolicyParams): PipelineSettings {
  return {
    source: describeSource(fixed.source, fixed.autonomous),
    decoder: fixed.decoder,
    backend: fixed.backend,
    model: fixed.model,
    models: [fixed.model],
    mode: fixed.autonomous ? 'autonomous' : 'host',
    targets: [...params.targets],
    threshold: params.threshold,
    holdoffUs: params.holdoffNs / 1000,
    maxRatePerS: params.ratePerNs * 1e9,
    burst: params.burst,
    budgetUs: fixed.budgetUs,
    filters: describeRoute(fixed.route),
    paused: false,
    replaySpeed: replaySpeed(fixed.source),
  };
}

/** "replay sim/recordings/cells.arrows (realtime)", "nats alerts.ztf", "fpga events". */
export function describeSource(source: Component | undefined, autonomous: boolean): string {
  if (source === undefined) return autonomous ? 'fpga events (autonomous)' : 'none';
  const where = WHERE.map((k) => source[k]).find((v) => typeof v === 'string' || typeof v === 'number');
  const pacing = typeof source.pacing === 'string' ? ` (${source.pacing})` : '';
  return `${source.kind}${where === undefined ? '' : ` ${String(where)}`}${pacing}`;
}

/** A replay's pace multiplier: 1 = real time; null for `max` or a source that is not a replay. */
export function replaySpeed(source: Component | undefined): number | null {
  if (source?.kind !== 'replay') return null;
  const speed = pacingSpeed((source.pacing as Pacing | undefined) ?? 'realtime');
  return Number.isFinite(speed) ? speed : null;
}

/** The router's settings, one `kind.key: value` line each; [] without a router. */
export function describeRoute(route: Component | undefined): string[] {
  if (route === undefined) return [];
  return Object.entries(route)
    .filter(([k, v]) => k !== 'kind' && v !== undefined)
    .map(([k, v]) => `${route.kind}.${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
}
