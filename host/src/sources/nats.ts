import { AckPolicy, nanos, type Consumer, type ConsumerMessages, type JsMsg, type NatsConnection } from 'nats';
import { z } from 'zod';
import { SourceError } from '../core/errors.js';
import { limits } from '../core/limits.js';
import { natsConnect, natsServersSchema } from '../core/nats.js';
import type { FrameSpec } from '../core/frame.js';
import { ingressConfigSchema, IngressQueue, type IngressCounts } from './ingress.js';
import { sources, type SourceContext } from './registry.js';
import type { Source } from './source.js';

/**
 * The config of a `nats` source: messages of a JetStream stream (`jetStream`), each one frame
 * (an alert packet in the Confluent wire format for the `confluent` decoder, or bytes any other
 * decoder takes), read through the durable pull consumer `durable`. Every daemon that names the
 * same stream and durable shares the consumer: each message goes to one of them. A message is
 * acknowledged only after its decision is durably written (docs/nats.md).
 */
export const natsSourceSchema = z
  .object({
    kind: z.literal('nats'),
    servers: natsServersSchema,
    /** The JetStream stream the messages are in (it must exist). */
    jetStream: z.string().min(1),
    /** The durable consumer's name, shared by the daemons; created when missing. */
    durable: z.string().regex(/^[A-Za-z0-9_-]+$/, 'durable is letters, digits, _ and -'),
    /** Only messages of this subject (wildcards allowed); default every subject of the stream. */
    filterSubject: z.string().min(1).optional(),
    /** Unacknowledged messages the consumer lets out at once, over all daemons (its max_ack_pending). */
    maxAckPending: z.number().int().min(1).max(limits.natsAckPendingMax).default(1000),
    /** How long a message may stay unacknowledged before the server redelivers it (to any daemon). */
    ackWaitMs: z.number().int().min(500).max(3_600_000).default(30_000),
    /** The frame stream's name in the daemon (trigger records, metrics). */
    stream: z.string().min(1).default('alerts'),
    /** Frames as the decoder sees them; [1] uint8 for variable-length messages (alerts). */
    shape: z.array(z.number().int().min(1)).min(1).default([1]),
    dtype: z.enum(['uint8', 'int16', 'float32']).default('uint8'),
    /** The ingress queue: policy is always `block` (a durable stream loses nothing). */
    queue: ingressConfigSchema.omit({ policy: true }).partial().strict().optional(),
  })
  .strict();
export type NatsSourceConfig = z.infer<typeof natsSourceSchema>;

/** Consumer lag and the source's own counts, for the snapshot and /metrics. */
export interface NatsSourceCounts {
  /** Messages received, acknowledged (decision written), handed back (nak at stop). */
  received: number;
  acked: number;
  nakked: number;
  /** Messages received that the server had delivered before (to this or another daemon). */
  redelivered: number;
  /** From the consumer's info, read every `natsLagPollMs`: messages not yet delivered to any
   * daemon, delivered but not acknowledged, and redelivered (all daemons together). */
  numPending: number;
  numAckPending: number;
  numRedelivered: number;
  reconnects: number;
}

/** A `nats` source: a durable source, acknowledged by the daemon through `commit`. */
export interface NatsSource extends Source {
  readonly ingress: IngressCounts;
  readonly nats: NatsSourceCounts;
  commit(delivered: number): Promise<void>;
  close(): Promise<void>;
  counters(): Record<string, number>;
}

/**
 * Builds a `nats` source. Messages are copied into the ingress queue (policy `block`: while it
 * is full the source stops taking messages from nats.js, and the consumer's max_ack_pending
 * stops the server) and kept, in order, until `commit` says how many frames have their decision
 * written; those are acknowledged then. `stop` stops consuming; `close` (after the last commit)
 * hands the messages that never reached the pipeline back (nak: redelivered at once to another
 * daemon) and drains the connection.
 */
export function createNatsSource(cfg: NatsSourceConfig, ctx: SourceContext): NatsSource {
  const spec: FrameSpec = { stream: cfg.stream, shape: cfg.shape, dtype: cfg.dtype };
  const queue = new IngressQueue(ingressConfigSchema.parse({ ...cfg.queue, policy: 'block' }), ctx.clock, ctx.timers);
  const where = `nats ${cfg.jetStream}/${cfg.durable}`;
  const counts: NatsSourceCounts = { received: 0, acked: 0, nakked: 0, redelivered: 0, numPending: 0, numAckPending: 0, numRedelivered: 0, reconnects: 0 };
  // Received messages in queue order, from `head` on not yet acknowledged: the k-th accepted
  // message is the k-th frame the pipeline decides (the queue is FIFO and never drops).
  const pending: JsMsg[] = [];
  let head = 0;
  let accepted = 0;
  let ackedUpTo = 0;
  let stopped = false;
  let nc: NatsConnection | null = null;
  let messages: ConsumerMessages | null = null;
  let lagTimer: unknown = null;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));

  const arenaBytes = queue.arenaBytes;
  const offer = async (m: JsMsg): Promise<void> => {
    counts.received++;
    if (m.redelivered) counts.redelivered++;
    if (m.data.length > arenaBytes) {
      // Never fits: terminated (no redelivery) and counted; the stream goes on.
      m.term();
      ctx.error(new SourceError(where, `message ${m.seq} of ${m.data.length} bytes exceeds the ingress arena (${arenaBytes} bytes, source.queue.bytesMax); terminated`));
      return;
    }
    while (!queue.offer(m.data, m.seq, Number.NaN, -1)) {
      if (stopped) return;
      await new Promise<void>((r) => queue.onWritable(r));
    }
    pending.push(m);
    accepted++;
  };
  const consume = async (consumer: Consumer): Promise<void> => {
    while (!stopped) {
      try {
        // nats.js keeps up to max_messages pulled ahead of us; the server stops at max_ack_pending.
        messages = await consumer.consume({ max_messages: Math.min(cfg.maxAckPending, limits.replayBatchFramesMax * 4) });
        for await (const m of messages) {
          if (stopped) break;
          await offer(m);
        }
      } catch (err) {
        if (!stopped) ctx.error(new SourceError(where, `consuming failed (retrying in 1 s): ${(err as Error).message}`, { cause: err }));
      }
      if (!stopped) await new Promise<void>((r) => ctx.timers.setTimeout(r, 1000));
    }
  };
  const pollLag = (consumer: Consumer): void => {
    lagTimer = ctx.timers.setTimeout(() => {
      consumer
        .info(false)
        .then((i) => Object.assign(counts, { numPending: i.num_pending, numAckPending: i.num_ack_pending, numRedelivered: i.num_redelivered }))
        .catch(() => {}) // lag is read again next time; a lost connection is logged by natsConnect
        .finally(() => !stopped && pollLag(consumer));
    }, limits.natsLagPollMs);
  };

  return {
    spec,
    ingress: queue.counts,
    nats: counts,
    done,
    get delivered() {
      return queue.counts.delivered;
    },
    start(sink) {
      queue.attach(sink);
      void openConsumer(cfg, ctx, where, (t) => t === 'reconnect' && counts.reconnects++)
        .then(({ conn, consumer }) => {
          nc = conn;
          if (stopped) return;
          pollLag(consumer);
          return consume(consumer);
        })
        .catch((err: unknown) => {
          ctx.error(err instanceof SourceError ? err : new SourceError(where, (err as Error).message, { cause: err }));
          resolveDone();
        });
    },
    async commit(delivered) {
      // Acks are fire-and-forget publishes: a lost one (connection gone) means a redelivery
      // after ackWaitMs, never a lost message.
      const upTo = Math.min(delivered, accepted);
      for (; ackedUpTo < upTo; ackedUpTo++, head++) {
        pending[head].ack();
        counts.acked++;
      }
      if (head > 4096) {
        pending.splice(0, head);
        head = 0;
      }
      await Promise.resolve();
    },
    async stop() {
      stopped = true;
      queue.stop();
      if (lagTimer !== null) ctx.timers.clearTimeout(lagTimer);
      // stop(), not close(): close() does not settle once the reading loop has left the iterator.
      messages?.stop();
      resolveDone();
    },
    async close() {
      for (let i = head; i < pending.length; i++) {
        pending[i].nak();
        counts.nakked++;
      }
      pending.length = 0;
      head = 0;
      await nc?.drain().catch(() => {});
    },
    counters: () => ({ ...counts }),
  };
}

/** Connects and makes sure the durable pull consumer exists with this config's bounds. */
async function openConsumer(cfg: NatsSourceConfig, ctx: SourceContext, where: string, onStatus: (type: string) => void): Promise<{ conn: NatsConnection; consumer: Consumer }> {
  const conn = await natsConnect(cfg.servers, `hairtrigger source ${where}`, ctx.log, onStatus);
  try {
    const jsm = await conn.jetstreamManager();
    const want = { durable_name: cfg.durable, ack_policy: AckPolicy.Explicit, ack_wait: nanos(cfg.ackWaitMs), max_ack_pending: cfg.maxAckPending, ...(cfg.filterSubject ? { filter_subject: cfg.filterSubject } : {}) };
    // Every daemon adds the same consumer: the server takes an identical config as a no-op, and a
    // changed bound (maxAckPending, ackWaitMs) updates the shared consumer.
    const info = await jsm.consumers.info(cfg.jetStream, cfg.durable).catch(() => null);
    if (info === null) await jsm.consumers.add(cfg.jetStream, want).catch((err: Error) => (/already (exists|in use)/i.test(err.message) ? null : Promise.reject(err)));
    else if (info.config.max_ack_pending !== want.max_ack_pending || info.config.ack_wait !== want.ack_wait) await jsm.consumers.update(cfg.jetStream, cfg.durable, { max_ack_pending: want.max_ack_pending, ack_wait: want.ack_wait });
    const consumer = await conn.jetstream().consumers.get(cfg.jetStream, cfg.durable);
    ctx.log(`${where}: consuming (max_ack_pending ${cfg.maxAckPending}, ack_wait ${cfg.ackWaitMs} ms)`);
    return { conn, consumer };
  } catch (err) {
    await conn.close().catch(() => {});
    throw new SourceError(where, `cannot open the durable consumer: ${(err as Error).message} (does stream ${cfg.jetStream} exist on ${cfg.servers.join(', ')}?)`, { cause: err });
  }
}

sources.register({
  kind: 'nats',
  summary: 'messages of a JetStream stream through a durable pull consumer shared by several daemons, acknowledged once their decisions are written',
  schema: natsSourceSchema as unknown as z.ZodType<NatsSourceConfig>,
  create: (config, ctx) => createNatsSource(config as NatsSourceConfig, ctx),
});
