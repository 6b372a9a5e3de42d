import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { ConfigError } from '../../core/errors.js';
import type { FrameSlot } from '../../core/frame.js';
import { registerRouterOutputs, routers, type FrameRouter, type RouterContext } from '../../trigger/routers.js';
import { schemaFolderRegistry } from './decode.js';
import { compileFilters, emptyScores, fillScores, filtersSchema, registryCatalogues, topicBasePaths, TopicRouter, TopicWriters, topicWritersSchema } from './filters/index.js';
import { slotAlert } from './types.js';

/**
 * The `topics` router: an alert broker's filters (filters/README.md) on every decided alert,
 * each match written to its topic's files. Checked at start-up against the survey schemas it
 * is given (every field a filter names must exist with a fitting kind).
 */
export const topicsRouterSchema = z
  .object({
    kind: z.literal('topics'),
    /** Rubin's schemas (lsst/alert_packet layout `<major>/<minor>/*.avsc`) the filters are checked against. */
    rubinSchemas: z.string().min(1).optional(),
    /** ZTF's schema folder (ztf-avro-alert's `schema/`). */
    ztfSchemas: z.string().min(1).optional(),
    /** The extra model (config `extraModels`) whose probability of `realLabel` filters read as `realbogus`. */
    realbogus: z.object({ model: z.string().min(1), realLabel: z.string().min(1).default('real') }).strict().optional(),
    /**
     * `routed`: an alert fires (a trigger record, the websocket) when a filter routes it and it is
     * on time; `policy`: triggers stay the trigger policy's (targets and threshold) and routing
     * only writes topics.
     */
    trigger: z.enum(['routed', 'policy']).default('routed'),
    filters: filtersSchema,
    topics: topicWritersSchema,
  })
  .strict()
  .refine((c) => c.rubinSchemas !== undefined || c.ztfSchemas !== undefined, 'name the schemas the filters are checked against: rubinSchemas and/or ztfSchemas');
export type TopicsRouterConfig = z.infer<typeof topicsRouterSchema>;

/** Where `slot.aux` holds P(real), or -1 without a real/bogus model. */
function realIndex(cfg: TopicsRouterConfig, ctx: RouterContext): number {
  if (cfg.realbogus === undefined) return -1;
  const m = ctx.aux.find((a) => a.name === cfg.realbogus!.model);
  if (m === undefined) throw new ConfigError('config: route.realbogus.model', `"${cfg.realbogus.model}" is not an extra model of this pipeline; extraModels: ${ctx.aux.map((a) => a.name).join(', ') || '(none)'}`);
  const k = m.labels.indexOf(cfg.realbogus.realLabel);
  if (k < 0) throw new ConfigError('config: route.realbogus.realLabel', `"${cfg.realbogus.realLabel}" is not a label of ${m.name} (${m.labels.join(', ')})`);
  return m.offset + k;
}

/** What a reload replaces whole: the compiled filters' router, where P(real) is, whether routing fires. */
interface Routing {
  readonly router: TopicRouter;
  readonly real: number;
  readonly fires: boolean;
}

/** Compiles and checks the filters of `cfg` against the schemas of `registry`. */
function routingOf(cfg: TopicsRouterConfig, ctx: RouterContext, registry: ReturnType<typeof schemaFolderRegistry>): Routing {
  const filters = compileFilters(cfg.filters, { catalogues: registryCatalogues(registry), classes: ctx.labels });
  return { router: new TopicRouter(filters, (e) => ctx.error(e)), real: realIndex(cfg, ctx), fires: cfg.trigger === 'routed' };
}

/** Sums counters of the snapshot's `route` shape (numbers, and maps of numbers by name). */
function addCounters(a: Record<string, number | Record<string, number>>, b: Record<string, number | Record<string, number>>): Record<string, number | Record<string, number>> {
  const out: Record<string, number | Record<string, number>> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    if (typeof v === 'number') out[k] = (typeof prev === 'number' ? prev : 0) + v;
    else {
      const m: Record<string, number> = { ...(typeof prev === 'object' ? prev : {}) };
      for (const [name, n] of Object.entries(v)) m[name] = (m[name] ?? 0) + n;
      out[k] = m;
    }
  }
  return out;
}

/**
 * Builds the router: filters compiled and checked, topic files opened for this run. A reload
 * (SIGHUP) takes new filters (expressions, names), `realbogus` and `trigger`, compiled and
 * checked before the swap, as long as the filters name the same topics and the schemas and
 * `topics` stay (their files and locks are opened at start-up; other changes need a
 * restart). Counters carry over the reload (per filter, by name).
 */
export function createTopicsRouter(cfg: TopicsRouterConfig, ctx: RouterContext): FrameRouter {
  const registry = schemaFolderRegistry(cfg, ctx.at, 'config: route');
  let live = routingOf(cfg, ctx, registry);
  const schemas = registry.ids().map((id) => registry.get(id)!.info.json);
  const writers = new TopicWriters(cfg.topics, { runId: ctx.runId, classes: ctx.labels, resolvePath: ctx.at, onError: (e) => ctx.error(e) }, live.router.topics, schemas);
  const scores = emptyScores();
  /** Counts of the routers a reload replaced. */
  let before: Record<string, number | Record<string, number>> = {};
  let closing: Promise<void> | null = null;
  return {
    route(slot: FrameSlot) {
      const { router, real, fires } = live;
      const alert = slotAlert(slot);
      // NaN: the real/bogus model gave no output for this alert (no cutouts): null to filters.
      const rb = real < 0 ? Number.NaN : slot.aux[real];
      fillScores(scores, ctx.labels, slot.probs, rb === rb ? rb : null);
      const r = router.route(alert, scores);
      if (r.topics.length > 0) writers.writeRouted(alert, scores, router);
      if (!fires) return;
      // Routed alerts fire; a late one is written to its topics all the same (a broker loses
      // no alert) and logged as missed.
      const routed = r.topics.length > 0;
      slot.triggered = routed && !slot.late;
      slot.missed = routed && slot.late;
    },
    counters() {
      const c = addCounters(before, live.router.snapshotCounters());
      // Alerts the pipeline lost before routing (a packet that does not decode, a stamp that
      // does not parse) are errors too: routed + unmatched + error = every alert.
      const failed = ctx.framesFailed();
      return { ...c, alerts: (c.alerts as number) + failed, error: (c.error as number) + failed, failedBeforeRouting: failed };
    },
    flush() {
      writers.handOff();
    },
    flushed: () => writers.flush(),
    close() {
      closing ??= writers.close();
      return closing;
    },
    prepareReload(config) {
      const next = topicsRouterSchema.parse(config);
      if (!isDeepStrictEqual(next.topics, cfg.topics)) return { restart: 'route.topics changed: topic files are opened at start-up' };
      if (next.rubinSchemas !== cfg.rubinSchemas || next.ztfSchemas !== cfg.ztfSchemas) return { restart: 'route schemas changed: the topic files extend the schemas read at start-up' };
      const routing = routingOf(next, ctx, registry);
      const had = new Set(live.router.topics);
      const want = new Set(routing.router.topics);
      if (had.size !== want.size || [...want].some((t) => !had.has(t))) {
        return { restart: `route.filters name topics [${[...want].join(', ')}] where [${[...had].join(', ')}] are open: topic files and their locks are opened at start-up` };
      }
      return {
        apply() {
          before = addCounters(before, live.router.snapshotCounters());
          live = routing;
        },
      };
    },
  };
}

routers.register({
  kind: 'topics',
  summary: "an alert broker's filters routing alerts to topic files (Avro with the schema extended, JSON lines)",
  schema: topicsRouterSchema as unknown as z.ZodType<TopicsRouterConfig>,
  create: (cfg, ctx) => createTopicsRouter(cfg as TopicsRouterConfig, ctx),
});

registerRouterOutputs('topics', (cfg, at) => {
  const c = cfg as TopicsRouterConfig;
  return topicBasePaths(c.topics, [...new Set(c.filters.map((f) => f.topic))], at);
});
