import type { TriggerEvent } from '../metrics/snapshot.js';
import { zeroCounters, type BackpressurePolicy, type Sink, type SinkCounters } from './sink.js';

/** What the websocket sink needs of a client socket (`ws`'s WebSocket has it). */
export interface WsClient {
  readonly readyState: number;
  /** Bytes queued for this client and not yet sent. */
  readonly bufferedAmount: number;
  send(text: string): void;
}

/** `WebSocket.OPEN`. */
const OPEN = 1;

/**
 * Trigger batches to the dashboard's websocket clients as `{"type":"triggers","events":[...]}`
 * messages, serialised once per batch. Policy `drop-newest`, per client: a client with more
 * than `bufferedBytesMax` bytes queued does not get the batch. Counters are per delivery:
 * with k clients a batch of n records adds n to `accepted` and n per client to `written` or
 * `dropped`. The sockets belong to the hub that lists them in `clients`; `close` releases
 * nothing.
 */
export class WebSocketSink implements Sink {
  readonly name = 'websocket';
  readonly policy: BackpressurePolicy = 'drop-newest';
  private readonly c: SinkCounters = zeroCounters();
  private readonly clients: () => Iterable<WsClient>;
  private readonly bufferedBytesMax: number;

  constructor(clients: () => Iterable<WsClient>, bufferedBytesMax: number) {
    this.clients = clients;
    this.bufferedBytesMax = bufferedBytesMax;
  }

  /** Sends the batch to every open client under the bound; returns how many clients missed it. */
  write(events: readonly TriggerEvent[]): number {
    this.c.accepted += events.length;
    if (events.length === 0) return 0;
    const text = JSON.stringify({ type: 'triggers', events });
    const bytes = Buffer.byteLength(text);
    let missed = 0;
    for (const client of this.clients()) {
      if (client.readyState !== OPEN) continue;
      if (client.bufferedAmount > this.bufferedBytesMax) {
        this.c.dropped += events.length;
        missed++;
        continue;
      }
      client.send(text);
      this.c.written += events.length;
      this.c.bytes += bytes;
    }
    return missed;
  }

  ready(): boolean {
    return true;
  }

  /** `send` hands each message to its socket at once: nothing is held here. */
  flush(): Promise<void> {
    return Promise.resolve();
  }

  flushSync(): void {}

  close(): Promise<void> {
    return Promise.resolve();
  }

  counters(): SinkCounters {
    return { ...this.c, errors: { ...this.c.errors } };
  }
}
