import { z } from 'zod';
import { limits } from '../core/limits.js';
import type { TriggerEvent } from '../metrics/snapshot.js';
import { JetStreamPublisher, jetStreamTargetSchema } from './jetstream-publisher.js';
import { countError, zeroCounters, type Sink, type SinkContext, type SinkCounters } from './sink.js';

/**
 * The `nats` sink's options: trigger records as JSON (the same fields as every sink) published
 * to JetStream on `<subject>.trigger` (and `<subject>.missed`), each with `Nats-Msg-Id`
 * `<msgIdPrefix>.<frame id>.trigger`, so the stream keeps one copy of a frame's record however
 * often the frame is decided (a redelivery after a crash) within its duplicate window.
 */
export const natsSinkSchema = jetStreamTargetSchema
  .extend({
    /** Records queued before the sink reports not ready (policy block: the trigger log waits). */
    queueEventsMax: z.number().int().min(1).max(limits.natsSinkQueueEventsMax).default(4096),
  })
  .strict();
export type NatsSinkOptions = z.infer<typeof natsSinkSchema>;

/** The Msg-Id of a record: its frame's id, or, for a frame without one, its run, stream and seq (then no de-duplication across daemons). */
export function natsMsgId(prefix: string, e: TriggerEvent): string {
  return e.id !== null ? `${prefix}.${e.id}.trigger` : `${prefix}.${e.run}.${e.stream}.${e.seq}.trigger`;
}

/**
 * Publishes trigger records to JetStream off the hot path: `write` (the trigger log's drain)
 * queues them in a `JetStreamPublisher` (acks, bounded in flight, retried until stored), so
 * `flush` resolves only when every record accepted is stored in the stream: the NATS source
 * acknowledges its messages after that.
 */
export class NatsSink implements Sink {
  readonly name: string;
  readonly policy = 'block' as const;
  private readonly counts: SinkCounters = zeroCounters();
  private readonly publisher: JetStreamPublisher;
  private readonly encoder = new TextEncoder();

  constructor(private readonly opts: NatsSinkOptions, ctx: SinkContext) {
    this.name = `nats ${opts.subject}`;
    this.publisher = new JetStreamPublisher(opts, `sink ${opts.subject} (${ctx.runId})`, (err) => countError(this.counts, err, ctx.onError));
  }

  /** Publishes JetStream answered as duplicates (a frame decided again). */
  get duplicates(): number {
    return this.publisher.duplicates;
  }

  write(events: readonly TriggerEvent[]): void {
    this.counts.accepted += events.length;
    for (const e of events) {
      const data = this.encoder.encode(JSON.stringify(e));
      this.publisher.publish(`${this.opts.subject}.${e.kind}`, data, natsMsgId(this.opts.msgIdPrefix, e), () => {
        this.counts.written++;
        this.counts.bytes += data.byteLength;
      });
    }
  }

  ready(): boolean {
    return this.publisher.pending < this.opts.queueEventsMax;
  }

  flush(): Promise<void> {
    return this.publisher.flush();
  }

  /** Nothing can be published synchronously: what is not acknowledged yet is lost here, and a durable source redelivers its frames. */
  flushSync(): void {}

  async close(): Promise<void> {
    this.counts.dropped += await this.publisher.close();
  }

  counters(): SinkCounters {
    return { ...this.counts, errors: { ...this.counts.errors } };
  }
}

/** The registry's factory for `sinks: {nats: {...}}`. */
export function createNatsSink(opts: NatsSinkOptions, ctx: SinkContext): Sink {
  return new NatsSink(opts, ctx);
}
