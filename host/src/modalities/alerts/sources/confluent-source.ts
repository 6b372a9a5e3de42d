import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { AlertDecodeError, isOperatingError, SourceError } from '../../../core/errors.js';
import { limits } from '../../../core/limits.js';
import { ingressConfigSchema, IngressQueue, type IngressCounts } from '../../../sources/ingress.js';
import { sources, type SourceContext } from '../../../sources/registry.js';
import type { Source } from '../../../sources/source.js';
import { alertFrameSpec } from './replay-source.js';

/**
 * Bare alert messages in the Confluent wire format (`0x00 | schema id u32 BE | record`), as a
 * file or FIFO of length-prefixed messages: each message preceded by its byte length as a
 * 4-byte big-endian unsigned integer (what `kafka-console-consumer`-style dumps and our own
 * tests write; the NATS and Kafka transports of the next issue hand messages over whole).
 * Messages arrive in stream order (a broker's order: no sorting, no pacing) through a
 * bounded ingress queue (policy `block`: a file loses nothing). The `confluent` decoder
 * decodes them with the schema their id names.
 */
export const alertsConfluentSourceSchema = z
  .object({
    kind: z.literal('alerts-confluent'),
    path: z.string().min(1),
    stream: z.string().min(1).default('alerts'),
    queue: ingressConfigSchema.partial({ policy: true }).optional(),
  })
  .strict();
export type AlertsConfluentSourceConfig = z.infer<typeof alertsConfluentSourceSchema>;

/** An `alerts-confluent` source; its queue's counters are the ingress counters of the snapshot. */
export interface AlertsConfluentSource extends Source {
  readonly ingress: IngressCounts;
}

/** Builds an `alerts-confluent` source reading `path` (a file, or a FIFO a producer writes). */
export function createAlertsConfluentSource(cfg: AlertsConfluentSourceConfig, path: string, ctx: SourceContext): AlertsConfluentSource {
  const queue = new IngressQueue(ingressConfigSchema.parse({ ...cfg.queue, policy: cfg.queue?.policy ?? 'block' }), ctx.clock, ctx.timers);
  let stopped = false;
  let input: Readable | null = null;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const drained = (): void => {
    if (queue.depth === 0 || stopped) resolveDone();
    else ctx.timers.setTimeout(drained, 1);
  };
  return {
    spec: alertFrameSpec(cfg.stream),
    ingress: queue.counts,
    done,
    get delivered() {
      return queue.counts.delivered;
    },
    start(sink) {
      queue.attach(sink);
      input = createReadStream(path);
      void readMessages(input, path, queue, () => stopped)
        .catch((err: unknown) => {
          if (stopped) return;
          if (!isOperatingError(err)) throw err;
          ctx.error(err);
        })
        .then(drained);
    },
    async stop() {
      stopped = true;
      queue.stop();
      input?.destroy();
      resolveDone();
    },
  };
}

/**
 * Splits `input` into length-prefixed messages and offers each to `queue`, waiting for room
 * under `block`. A length over `alertMessageBytesMax` or a stream that ends inside a message
 * is an AlertDecodeError (the stream cannot be re-synchronised after it: reading stops there,
 * every message before it was delivered).
 */
export async function readMessages(input: Readable, where: string, queue: IngressQueue, stopped: () => boolean): Promise<number> {
  let pending: Buffer = Buffer.alloc(0);
  let index = 0;
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let at = 0;
      while (pending.length - at >= 4) {
        const len = pending.readUInt32BE(at);
        if (len > limits.alertMessageBytesMax) throw new AlertDecodeError({ file: where, index, schema: null }, 'oversize', `message length ${len} exceeds alertMessageBytesMax ${limits.alertMessageBytesMax} (not a stream of 4-byte big-endian length-prefixed messages?)`);
        if (pending.length - at - 4 < len) break;
        const msg = pending.subarray(at + 4, at + 4 + len);
        while (!queue.offer(msg, index, Number.NaN, -1)) {
          if (queue.counts.policy !== 'block' || stopped()) break;
          await new Promise<void>((r) => queue.onWritable(r));
        }
        if (stopped()) return index;
        index++;
        at += 4 + len;
      }
      pending = pending.subarray(at);
    }
  } catch (err) {
    if (isOperatingError(err)) throw err;
    throw new SourceError(where, `cannot read alert messages: ${(err as Error).message}`, { cause: err });
  }
  if (pending.length > 0) throw new AlertDecodeError({ file: where, index, schema: null }, 'truncated', `the stream ends ${pending.length} bytes into a message (a length prefix and part of its record)`);
  return index;
}

sources.register({
  kind: 'alerts-confluent',
  summary: 'bare alert messages in the Confluent wire format from a file or FIFO of 4-byte length-prefixed messages, in stream order',
  schema: alertsConfluentSourceSchema,
  create(config, ctx) {
    const c = config as AlertsConfluentSourceConfig;
    return createAlertsConfluentSource(c, ctx.at(c.path), ctx);
  },
});
