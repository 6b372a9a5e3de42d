/**
 * Which pipeline a request is about. A daemon runs one pipeline or several (`hairtrigger run`
 * with one `--config` per pipeline); every per-pipeline route takes `?pipeline=<name>`, and
 * without it answers for the first pipeline, so a one-pipeline client never names it.
 */
import type { FastifyRequest } from 'fastify';
import { RequestError } from '../core/errors.js';
import type { PipelineHealth } from '../metrics/health.js';
import type { DaemonView } from '../metrics/snapshot.js';
import type { DaemonControl, PipelineSummary } from './api-types.js';

/** One pipeline the server serves. */
export interface ServedPipeline {
  /** Its config's `pipeline`. Null: the view's own (`snapshot().pipeline`), for a server
   * started on a single view without a name (tests, `replay`). */
  name: string | null;
  view: DaemonView;
  /** Its control API; absent: no control routes for it. */
  control?: DaemonControl;
  /** Its config in force and reloads (`/api/config`); absent: no such route. */
  config?: () => unknown;
}

/** The name `p` answers to (its view's while it has none of its own; 503 while that starts). */
export function servedName(p: ServedPipeline): string {
  return p.name ?? p.view.snapshot().pipeline;
}

/**
 * The pipeline `req` names with `?pipeline=` (the first when it names none). An unknown name
 * is a 404 listing the names served; a repeated parameter a 400.
 */
export function pipelineOf<P extends ServedPipeline>(served: readonly P[], req: FastifyRequest): P {
  const asked = (req.query as { pipeline?: unknown } | undefined)?.pipeline;
  if (asked === undefined) return served[0]!;
  const where = `${req.method} ${req.url.split('?')[0]!.slice(0, 200)}`;
  if (typeof asked !== 'string') throw new RequestError(where, 'give ?pipeline= once, with one name', 400);
  const found = served.find((p) => servedName(p) === asked);
  if (found !== undefined) return found;
  const names = served.map((p) => p.name ?? '(the only one)').join(', ');
  throw new RequestError(where, `no pipeline "${asked.slice(0, 100)}"; this daemon runs ${names}`, 404);
}

/**
 * The `/api/pipelines` line of `p`: identity and rates from its snapshot, health from its
 * `/healthz` entry (`health` absent: null). A pipeline still starting has no snapshot yet: its
 * source and backend come from the health entry and its rates are 0.
 */
export function pipelineSummary(p: ServedPipeline, health: PipelineHealth | undefined): PipelineSummary {
  const word = health === undefined ? null : health.state === 'running' ? (health.up ? 'up' : 'down') : health.state;
  let snap: ReturnType<DaemonView['snapshot']> | null = null;
  try {
    snap = p.view.snapshot();
  } catch (err) {
    // Only a starting pipeline has no snapshot; anything else is the view's fault and surfaces.
    if (!(err instanceof RequestError && err.status === 503)) throw err;
  }
  const name = p.name ?? snap?.pipeline ?? '';
  if (snap === null) return { name, source: health?.source.kind ?? '', backend: health?.backend.kind ?? '', model: '', fps: 0, triggersPerS: 0, health: word };
  return { name, source: snap.settings?.source ?? health?.source.kind ?? '', backend: snap.backend, model: snap.model, fps: snap.fps, triggersPerS: snap.triggersPerS, health: word };
}
