/**
 * The configs of one `hairtrigger run` with several pipelines (`--config a.yaml --config
 * b.yaml`): each names its own pipeline, and the one server they share takes its settings
 * from the first; the others leave `server` out (its defaults) or repeat the first's.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../core/errors.js';
import { limits } from '../core/limits.js';
import { pipelineConfigSchema, type PipelineConfig } from './schema.js';

/**
 * The pipeline config files a `--config` names: the file itself, or, when its top level is a
 * list of pipelines (`pipelines: [cells.yaml, alerts.yaml, ...]`, paths relative to the list's
 * folder; `host/configs/run-all.yaml` is `make run`'s), the files it lists, in order. One
 * daemon's pipelines are then one file a user edits and starts; each pipeline keeps its own
 * file (its relative paths resolve from there, and SIGHUP re-reads it). A list is refused with
 * a ConfigError naming the list and the entry: an entry that is not a path, a list inside a
 * list, another key beside `pipelines`, an empty list or one past `limits.pipelinesMax`. A
 * file that cannot be read or parsed is left to `loadConfigFile`, which names it.
 */
export function expandPipelineList(file: string): string[] {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch {
    return [file];
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || !('pipelines' in raw)) return [file];
  const keys = Object.keys(raw);
  if (keys.length !== 1) throw new ConfigError(file, `a list of pipelines holds only "pipelines"; found also ${keys.filter((k) => k !== 'pipelines').map((k) => `"${k}"`).join(', ')} (settings belong in each pipeline's own file)`);
  const list = (raw as { pipelines: unknown }).pipelines;
  if (!Array.isArray(list) || list.length === 0) throw new ConfigError(`${file}: pipelines`, 'want a non-empty list of pipeline config files');
  if (list.length > limits.pipelinesMax) throw new ConfigError(`${file}: pipelines`, `${list.length} pipelines; at most ${limits.pipelinesMax} in one daemon`);
  return list.map((entry, i) => {
    if (typeof entry !== 'string' || entry === '') throw new ConfigError(`${file}: pipelines.${i}`, `value ${JSON.stringify(entry)?.slice(0, 80)}: want the path of a pipeline config file`);
    const path = resolve(dirname(file), entry);
    if (expandPipelineList(path).length !== 1 || expandPipelineList(path)[0] !== path) throw new ConfigError(`${file}: pipelines.${i}`, `${entry} is itself a list of pipelines; list pipeline configs only`);
    return path;
  });
}

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
