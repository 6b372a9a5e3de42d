import { nanos, type JetStreamClient, type NatsConnection } from 'nats';
import { z } from 'zod';
import { SinkError } from '../core/errors.js';
import { limits } from '../core/limits.js';
import { natsConnect, natsServersSchema } from '../core/nats.js';
import type { TriggerEvent } from '../metrics/snapshot.js';
import { countError, zeroCounters, type Sink, type SinkContext, type SinkCounters } from './sink.js';

/**
 * The `nats` sink's options: trigger records as JSON (the same fields as every sink) published
 * to JetStream on `<subject>.trigger` (and `<subject>.missed`), each with `Nats-Msg-Id`
 * `<msgIdPrefix>.<frame id>.trigger`, so the stream keeps one copy of a frame's record however
 * often the frame is decided (a redelivery after a crash) within its duplicate window.
 */
export const natsSinkSchema = z
  .object({
    servers: natsServersSchema,
    /** Subject prefix: records go to `<subject>.trigger` / `<subject>.missed`. */
    subject: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'subject is dot-separated tokens without wildcards, e.g. triggers.alerts-ztf'),
    /** The Msg-Id's first token: the pipeline's name, the same for every daemon of a scale-out. */
    msgIdPrefix: z.string().min(1),
    /** Publishes awaiting JetStream's ack at once. */
    inFlightMax: z.number().int().min(1).max(limits.natsPublishInFlightMax).default(64),
    /** Records queued before the sink reports not ready (policy block: the trigger log waits). */
    queueEventsMax: z.number().int().min(1).max(limits.natsSinkQueueEventsMax).default(4096),
    /** Creates this stream over `<subject>.>` when it is missing (file storage), with its duplicate window. */
    createStream: z.object({ name: z.string().min(1), duplicateWindowS: z.number().int().min(1).max(86_400).default(600) }).strict().optional(),
  })
  .strict();
export type NatsSinkOptions = z.infer<typeof natsSinkSchema>;

/** The Msg-Id of a record: its frame's id, or, for a frame without one, its run, stream and seq (then no de-duplication across daemons). */
export function natsMsgId(prefix: string, e: TriggerEvent): string {
  return e.id !== null ? `${prefix}.${e.id}.trigger` : `${prefix}.${e.run}.${e.stream}.${e.seq}.trigger`;
}

/**
 * Publishes trigger records to JetStream off the hot path: `write` (the trigger log's drain)
 * queues them; a pump publishes with acks, at most `inFlightMax` at once, in order. A failed
 * publish (no server, a timeout) is counted and retried with back-off until it is acknowledged
 * (the Msg-Id makes a retry harmless), so `flush` resolves only when every record accepted is
 * stored in the stream: the NATS source acknowledges its messages after that.
 */
export class NatsSink implements Sink {
  readonly name: string;
  readonly policy = 'block' as const;
  private readonly counts: SinkCounters = zeroCounters();
  private readonly queue: TriggerEvent[] = [];
  private head = 0;
  private inFlight = 0;
  private js: JetStreamClient | null = null;
  private nc: NatsConnection | null = null;
  private readonly opened: Promise<void>;
  private waiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  private closing: Promise<void> | null = null;
  private readonly encoder = new TextEncoder();
  /** Publishes JetStream answered as duplicates (the record was stored before: a redelivered frame). */
  duplicates = 0;

  constructor(private readonly opts: NatsSinkOptions, private readonly ctx: SinkContext) {
    this.name = `nats ${opts.subject}`;
    this.opened = this.open();
  }

  write(events: readonly TriggerEvent[]): void {
    this.counts.accepted += events.length;
    for (const e of events) this.queue.push(e);
    this.pump();
  }

  ready(): boolean {
    return this.queue.length - this.head + this.inFlight < this.opts.queueEventsMax;
  }

  flush(): Promise<void> {
    if (this.idle()) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Nothing can be published synchronously: what is not acknowledged yet is lost here, and a durable source redelivers its frames. */
  flushSync(): void {}

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.opened;
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = await Promise.race([this.flush().then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), limits.natsCloseWaitMs)))]);
      clearTimeout(timer);
      if (gaveUp) {
        const lost = this.queue.length - this.head + this.inFlight;
        this.counts.dropped += lost;
        countError(this.counts, new SinkError(this.name, `closing: ${lost} records not acknowledged within ${limits.natsCloseWaitMs} ms; dropped`), this.ctx.onError);
      }
      await this.nc?.drain().catch(() => {});
      if (gaveUp) this.settleWaiters(new SinkError(this.name, 'closed with records not acknowledged'));
    })();
    return this.closing;
  }

  counters(): SinkCounters {
    return { ...this.counts, errors: { ...this.counts.errors } };
  }

  private async open(): Promise<void> {
    for (let delayMs = 10; this.closing === null; delayMs = Math.min(delayMs * 2, limits.natsRetryDelayMaxMs)) {
      try {
        this.nc = await natsConnect(this.opts.servers, `hairtrigger sink ${this.opts.subject} (${this.ctx.runId})`, () => {});
        if (this.opts.createStream !== undefined) await this.ensureStream(this.nc, this.opts.createStream);
        this.js = this.nc.jetstream();
        this.pump();
        return;
      } catch (err) {
        await this.nc?.close().catch(() => {});
        this.nc = null;
        countError(this.counts, new SinkError(this.name, `cannot connect to ${this.opts.servers.join(', ')} (retrying): ${(err as Error).message}`, { cause: err }), this.ctx.onError);
        await new Promise((r) => setTimeout(r, delayMs));
      }
    }
  }

  private async ensureStream(nc: NatsConnection, s: { name: string; duplicateWindowS: number }): Promise<void> {
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info(s.name).catch(() => null);
    if (info === null) await jsm.streams.add({ name: s.name, subjects: [`${this.opts.subject}.>`], duplicate_window: nanos(s.duplicateWindowS * 1000) });
  }

  private pump(): void {
    const js = this.js;
    if (js === null) return;
    while (this.inFlight < this.opts.inFlightMax && this.head < this.queue.length) this.publish(js, this.queue[this.head++], 10);
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (this.idle()) this.settleWaiters(null);
  }

  private publish(js: JetStreamClient, e: TriggerEvent, retryDelayMs: number): void {
    this.inFlight++;
    const data = this.encoder.encode(JSON.stringify(e));
    js.publish(`${this.opts.subject}.${e.kind}`, data, { msgID: natsMsgId(this.opts.msgIdPrefix, e) }).then(
      (ack) => {
        this.counts.written++;
        this.counts.bytes += data.byteLength;
        if (ack.duplicate) this.duplicates++;
        this.inFlight--;
        this.pump();
      },
      (err: Error) => {
        countError(this.counts, new SinkError(this.name, `publish of seq ${e.seq} failed (retrying in ${retryDelayMs} ms): ${err.message}`, { cause: err }), this.ctx.onError);
        // Still in flight while it waits: flush waits for it, and the Msg-Id makes the retry harmless.
        setTimeout(() => {
          this.inFlight--;
          if (this.js !== null && this.nc?.isClosed() === false) this.publish(this.js, e, Math.min(retryDelayMs * 2, limits.natsRetryDelayMaxMs));
          else {
            this.counts.dropped++;
            this.settleWaiters(new SinkError(this.name, `the connection closed before seq ${e.seq} was stored`));
          }
        }, retryDelayMs);
      },
    );
  }

  private idle(): boolean {
    return this.head === this.queue.length && this.inFlight === 0;
  }

  /** Resolves the flushes waiting once idle; with `err`, rejects them at once (records were lost: nothing may be acknowledged). */
  private settleWaiters(err: Error | null): void {
    if (err === null && !this.idle()) return;
    const w = this.waiters;
    this.waiters = [];
    for (const x of w) err === null ? x.resolve() : x.reject(err);
  }
}

/** The registry's factory for `sinks: {nats: {...}}`. */
export function createNatsSink(opts: NatsSinkOptions, ctx: SinkContext): Sink {
  return new NatsSink(opts, ctx);
}
