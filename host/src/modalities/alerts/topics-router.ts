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

/** Builds the router: filters compiled and checked, topic files opened for this run. */
export function createTopicsRouter(cfg: TopicsRouterConfig, ctx: RouterContext): FrameRouter {
  const registry = schemaFolderRegistry(cfg, ctx.at, 'config: route');
  const filters = compileFilters(cfg.filters, { catalogues: registryCatalogues(registry), classes: ctx.labels });
  const real = realIndex(cfg, ctx);
  const router = new TopicRouter(filters, (e) => ctx.error(e));
  const schemas = registry.ids().map((id) => registry.get(id)!.info.json);
  const writers = new TopicWriters(cfg.topics, { runId: ctx.runId, classes: ctx.labels, resolvePath: ctx.at, onError: (e) => ctx.error(e) }, router.topics, schemas);
  const scores = emptyScores();
  const fires = cfg.trigger === 'routed';
  let closing: Promise<void> | null = null;
  return {
    route(slot: FrameSlot) {
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
      const c = router.snapshotCounters();
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
