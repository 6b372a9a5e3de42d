import { nanos, type JetStreamClient, type NatsConnection } from 'nats';
import { z } from 'zod';
import { SinkError } from '../core/errors.js';
import { limits } from '../core/limits.js';
import { natsConnect, natsServersSchema } from '../core/nats.js';

/** Where and how a publisher publishes: the servers, its bound in flight, and a stream to create when missing. */
export const jetStreamTargetSchema = z
  .object({
    servers: natsServersSchema,
    /** Subject prefix: records go to `<subject>.<kind or topic>`. */
    subject: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'subject is dot-separated tokens without wildcards, e.g. triggers.alerts-ztf'),
    /** The Msg-Id's first token: the pipeline's name, the same for every daemon of a scale-out. */
    msgIdPrefix: z.string().min(1),
    /** Publishes awaiting JetStream's ack at once. */
    inFlightMax: z.number().int().min(1).max(limits.natsPublishInFlightMax).default(64),
    /** Creates this stream over `<subject>.>` when it is missing (file storage), with its duplicate window. */
    createStream: z.object({ name: z.string().min(1), duplicateWindowS: z.number().int().min(1).max(86_400).default(600) }).strict().optional(),
  })
  .strict();
export type JetStreamTarget = z.infer<typeof jetStreamTargetSchema>;

interface Pending {
  subject: string;
  data: Uint8Array;
  msgId: string;
  /** Called once JetStream stored it (`duplicate`: it had stored that Msg-Id before). */
  stored(duplicate: boolean): void;
}

/**
 * Publishes messages to JetStream with acks, in order, at most `inFlightMax` awaiting their
 * ack, each with its `Nats-Msg-Id`. A failed publish (no server, a timeout) is reported to
 * `onError` and retried with back-off (10 ms doubling to `natsRetryDelayMaxMs`) until stored;
 * the Msg-Id makes a retry harmless (retries may reorder). `flush` resolves once everything
 * published so far is stored, and rejects when something was lost (the connection closed under
 * it). What the `nats` sink and the alert topics publish through (docs/nats.md).
 */
export class JetStreamPublisher {
  private readonly queue: Pending[] = [];
  private head = 0;
  private inFlight = 0;
  private js: JetStreamClient | null = null;
  private nc: NatsConnection | null = null;
  private readonly opened: Promise<void>;
  private waiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  private closing: Promise<number> | null = null;
  /** Publishes JetStream answered as duplicates (the record was stored before: a redelivered frame). */
  duplicates = 0;

  constructor(private readonly target: JetStreamTarget, private readonly name: string, private readonly onError: (err: SinkError) => void) {
    this.opened = this.open();
  }

  /** Queues one message; `stored` runs once JetStream has it. */
  publish(subject: string, data: Uint8Array, msgId: string, stored: (duplicate: boolean) => void): void {
    this.queue.push({ subject, data, msgId, stored });
    this.pump();
  }

  /** Messages queued or awaiting their ack. */
  get pending(): number {
    return this.queue.length - this.head + this.inFlight;
  }

  flush(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Waits up to `natsCloseWaitMs` for the acks, then drains the connection; resolves with the messages given up. */
  close(): Promise<number> {
    this.closing ??= (async () => {
      await this.opened;
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = await Promise.race([this.flush().then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), limits.natsCloseWaitMs)))]);
      clearTimeout(timer);
      const lost = gaveUp ? this.pending : 0;
      if (gaveUp) this.onError(new SinkError(this.name, `closing: ${lost} messages not acknowledged within ${limits.natsCloseWaitMs} ms; dropped`));
      await this.nc?.drain().catch(() => {});
      if (gaveUp) this.settle(new SinkError(this.name, 'closed with messages not acknowledged'));
      return lost;
    })();
    return this.closing;
  }

  private async open(): Promise<void> {
    for (let delayMs = 10; this.closing === null; delayMs = Math.min(delayMs * 2, limits.natsRetryDelayMaxMs)) {
      try {
        this.nc = await natsConnect(this.target.servers, `hairtrigger ${this.name}`, () => {});
        if (this.target.createStream !== undefined) await this.ensureStream(this.nc, this.target.createStream);
        this.js = this.nc.jetstream();
        this.pump();
        return;
      } catch (err) {
        await this.nc?.close().catch(() => {});
        this.nc = null;
        this.onError(new SinkError(this.name, `cannot connect to ${this.target.servers.join(', ')} (retrying): ${(err as Error).message}`, { cause: err }));
        await new Promise((r) => setTimeout(r, delayMs));
      }
    }
  }

  private async ensureStream(nc: NatsConnection, s: { name: string; duplicateWindowS: number }): Promise<void> {
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info(s.name).catch(() => null);
    if (info === null) await jsm.streams.add({ name: s.name, subjects: [`${this.target.subject}.>`], duplicate_window: nanos(s.duplicateWindowS * 1000) });
  }

  private pump(): void {
    const js = this.js;
    if (js === null) return;
    while (this.inFlight < this.target.inFlightMax && this.head < this.queue.length) this.send(js, this.queue[this.head++], 10);
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (this.pending === 0) this.settle(null);
  }

  private send(js: JetStreamClient, p: Pending, retryDelayMs: number): void {
    this.inFlight++;
    js.publish(p.subject, p.data, { msgID: p.msgId }).then(
      (ack) => {
        if (ack.duplicate) this.duplicates++;
        p.stored(ack.duplicate);
        this.inFlight--;
        this.pump();
      },
      (err: Error) => {
        this.onError(new SinkError(this.name, `publish of ${p.msgId} failed (retrying in ${retryDelayMs} ms): ${err.message}`, { cause: err }));
        // Still in flight while it waits: flush waits for it.
        setTimeout(() => {
          this.inFlight--;
          if (this.js !== null && this.nc?.isClosed() === false) this.send(this.js, p, Math.min(retryDelayMs * 2, limits.natsRetryDelayMaxMs));
          else this.settle(new SinkError(this.name, `the connection closed before ${p.msgId} was stored`));
        }, retryDelayMs);
      },
    );
  }

  /** Resolves the waiting flushes once idle; with `err`, rejects them at once (messages were lost: nothing may be acknowledged). */
  private settle(err: Error | null): void {
    if (err === null && this.pending !== 0) return;
    const w = this.waiters;
    this.waiters = [];
    for (const x of w) err === null ? x.resolve() : x.reject(err);
  }
}
