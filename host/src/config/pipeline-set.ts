/**
 * The configs of one `hairtrigger run` with several pipelines (`--config a.yaml --config
 * b.yaml`): each names its own pipeline, and the one server they share takes its settings
 * from the first; the others leave `server` out (its defaults) or repeat the first's.
 */
import { isDeepStrictEqual } from 'node:util';
import { ConfigError } from '../core/errors.js';
import { pipelineConfigSchema, type PipelineConfig } from './schema.js';

/** One config of the set and the file it came from (for the messages). */
export interface ConfigFile {
  file: string;
  cfg: PipelineConfig;
}

/**
 * Refuses a set of configs one daemon cannot run together: two with one pipeline name (a
 * ConfigError naming both files), or a `server` block after the first that is neither the
 * default nor the first's (a ConfigError naming the file and the first differing field).
 * Check the configs as read, before the command line's overrides.
 */
export function checkPipelineSet(configs: readonly ConfigFile[]): void {
  const byName = new Map<string, string>();
  for (const { file, cfg } of configs) {
    const other = byName.get(cfg.pipeline);
    if (other !== undefined) throw new ConfigError(`${file}: pipeline`, `"${cfg.pipeline}" is also the pipeline of ${other}; give each config its own pipeline name`);
    byName.set(cfg.pipeline, file);
  }
  const first = configs[0];
  if (first === undefined) return;
  const defaults = pipelineConfigSchema.shape.server.parse(undefined);
  for (const { file, cfg } of configs.slice(1)) {
    if (isDeepStrictEqual(cfg.server, first.cfg.server) || isDeepStrictEqual(cfg.server, defaults)) continue;
    const field = firstDifference(cfg.server, first.cfg.server);
    const message = `${JSON.stringify(valueAt(cfg.server, field))} differs from ${first.file}'s ${JSON.stringify(valueAt(first.cfg.server, field)) ?? '(unset)'}: the one server takes its settings from the first config; leave server out of the others or repeat the first's`;
    throw new ConfigError(`${file}: server.${field}`, message);
  }
}

/** The dotted path of the first field where `a` and `b` differ (both plain JSON values). */
function firstDifference(a: unknown, b: unknown, path = ''): string {
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && !Array.isArray(a)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const va = (a as Record<string, unknown>)[key];
      const vb = (b as Record<string, unknown>)[key];
      if (!isDeepStrictEqual(va, vb)) return firstDifference(va, vb, path === '' ? key : `${path}.${key}`);
    }
  }
  return path;
}

function valueAt(v: unknown, path: string): unknown {
  return path === '' ? v : path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], v);
}
