import { z } from 'zod';
import { isOperatingError, SinkError } from '../core/errors.js';
import { createArrowSink } from './arrow-sink.js';
import { fileSinkSchema } from './file-sink.js';
import { createJsonlSink } from './jsonl-sink.js';
import { createNatsSink, natsSinkSchema } from './nats-sink.js';
import { createSerialSink, serialSinkSchema } from './serial-sink.js';
import type { Sink, SinkContext } from './sink.js';

/** One registered sink kind: its options schema (zod) and its factory. */
export interface SinkEntry<S extends z.ZodTypeAny = z.ZodTypeAny> {
  schema: S;
  /** Opens the sink; throws `SinkError` when it cannot (a file exists, a folder is not writable). */
  create(opts: z.output<S>, ctx: SinkContext): Sink;
  /** The configured base path (locked against a second daemon), for sinks that write files. */
  basePath?(opts: z.output<S>): string;
}

function entry<S extends z.ZodTypeAny>(e: SinkEntry<S>): SinkEntry<S> {
  return e;
}

/**
 * Sinks a config can name under `sinks:`, by kind. The websocket sink is not here: it belongs
 * to the HTTP server (one per server, `server/ws-hub.ts`), which is configured under `server:`.
 */
export const sinkRegistry = {
  jsonl: entry({ schema: fileSinkSchema, create: createJsonlSink, basePath: (o) => o.path }),
  arrow: entry({ schema: fileSinkSchema, create: createArrowSink, basePath: (o) => o.path }),
  nats: entry({ schema: natsSinkSchema, create: createNatsSink }),
  serial: entry({ schema: serialSinkSchema, create: createSerialSink }),
} as const;

export type SinkKind = keyof typeof sinkRegistry;

/** The config's `sinks:` block: a map from kind to that kind's options (a file sink's may be just its path). */
export const sinksConfigSchema = z
  .object(Object.fromEntries(Object.entries(sinkRegistry).map(([kind, e]) => [kind, e.schema.optional()])) as { [K in SinkKind]: z.ZodOptional<(typeof sinkRegistry)[K]['schema']> })
  .strict()
  .default({});
export type SinksConfig = z.output<typeof sinksConfigSchema>;

function configured(cfg: SinksConfig): Array<[SinkKind, unknown]> {
  return (Object.keys(sinkRegistry) as SinkKind[]).filter((k) => cfg[k] !== undefined).map((k) => [k, cfg[k]]);
}

/** The base paths the configured sinks write beside (resolved), for the output lock. */
export function sinkBasePaths(cfg: SinksConfig, resolvePath: (p: string) => string): string[] {
  return configured(cfg).flatMap(([kind, opts]) => {
    const e = sinkRegistry[kind] as SinkEntry;
    return e.basePath === undefined ? [] : [resolvePath(e.basePath(opts))];
  });
}

/**
 * Opens every configured sink. If one fails, the ones already open are closed (their empty
 * files stay: nothing is ever deleted) and the error is rethrown as a `SinkError`.
 */
export async function createSinks(cfg: SinksConfig, ctx: SinkContext): Promise<Sink[]> {
  const open: Sink[] = [];
  try {
    for (const [kind, opts] of configured(cfg)) open.push((sinkRegistry[kind] as SinkEntry).create(opts, ctx));
  } catch (err) {
    await Promise.allSettled(open.map((s) => s.close()));
    if (isOperatingError(err)) throw err;
    throw new SinkError('sinks', `opening a sink failed: ${(err as Error).message}`, { cause: err });
  }
  return open;
}
