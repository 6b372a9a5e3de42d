/**
 * Fan-out of live snapshots and trigger batches to websocket clients. One timer and one
 * trigger subscription serve every client; each message is serialised once and the same
 * string goes to all. Both run only while at least one client is connected.
 */
import { WebSocket } from 'ws';
import type { DaemonView, Snapshot, TriggerEvent } from '../metrics/snapshot.js';
import { WebSocketSink } from '../sinks/ws-sink.js';

/** Messages the server sends on `/ws`. Clients send nothing; anything they send is ignored. */
export type WsMessage =
  | { type: 'hello'; snapshot: Snapshot }
  | { type: 'snapshot'; snapshot: Snapshot }
  | { type: 'triggers'; events: readonly TriggerEvent[] };

/** Close code for a client refused because `clientsMax` are already connected (RFC 6455
 * "Try Again Later"). */
export const WS_CLOSE_TRY_AGAIN_LATER = 1013;
/** Close code when the daemon cannot produce the hello snapshot. */
export const WS_CLOSE_INTERNAL_ERROR = 1011;

/** Bounds and the sink for failures the hub survives. */
export interface WsHubOptions {
  clientsMax: number;
  /** A client with more than this many bytes queued has new messages dropped (drop-newest). */
  bufferedBytesMax: number;
  snapshotIntervalMs: number;
  /** A client still over `bufferedBytesMax` at this many consecutive snapshot ticks is
   * disconnected (terminated: it is not reading, so a close frame would queue too); the page
   * reconnects and reloads the history when it reads again. */
  slowTicksMax: number;
  /** Called when `view.snapshot()` throws inside the timer; the tick is skipped. */
  onError(err: unknown, where: string): void;
}

/** Counters for `/metrics`. All monotonic except `clients`. */
export interface WsHubStats {
  clients: number;
  /** Messages not sent because the client's buffer was over `bufferedBytesMax`. */
  messagesDropped: number;
  /** Connections closed at once with 1013 because `clientsMax` were connected. */
  clientsRefused: number;
  /** Timer ticks skipped because `view.snapshot()` threw. */
  snapshotFailures: number;
  /** Clients disconnected for staying over the buffer bound `slowTicksMax` ticks in a row. */
  slowClientsDropped: number;
}

/** The hub a server owns. `close()` is idempotent and terminates every client. */
export interface WsHub {
  /** Takes ownership of a freshly opened socket: admits it (hello) or refuses it (1013). */
  admit(socket: WebSocket): void;
  /** The trigger side as a `Sink` (sinks/ws-sink.ts): fed from `view.onTriggers` while clients are connected. */
  readonly triggers: WebSocketSink;
  stats(): WsHubStats;
  close(): void;
}

/**
 * Creates a hub over `view`. The hub owns the sockets it admits (it closes them) and the
 * subscription to `view.onTriggers` (it unsubscribes when the last client leaves or on
 * `close()`). It never throws out of a timer or a listener: failures go to `opts.onError`.
 */
export function createWsHub(view: DaemonView, opts: WsHubOptions): WsHub {
  return new Hub(view, opts);
}

class Hub implements WsHub {
  private readonly clients = new Set<WebSocket>();
  private readonly counts: WsHubStats = { clients: 0, messagesDropped: 0, clientsRefused: 0, snapshotFailures: 0, slowClientsDropped: 0 };
  /** Consecutive snapshot ticks each client has been over the buffer bound. */
  private readonly slowTicks = new Map<WebSocket, number>();
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private closed = false;
  private readonly view: DaemonView;
  private readonly opts: WsHubOptions;
  readonly triggers: WebSocketSink;

  constructor(view: DaemonView, opts: WsHubOptions) {
    this.view = view;
    this.opts = opts;
    this.triggers = new WebSocketSink(() => this.clients, opts.bufferedBytesMax);
  }

  admit(socket: WebSocket): void {
    if (this.closed || this.clients.size >= this.opts.clientsMax) {
      this.counts.clientsRefused++;
      socket.close(WS_CLOSE_TRY_AGAIN_LATER, `at most ${this.opts.clientsMax} live clients; try again later`);
      return;
    }
    const hello = this.snapshotMessage('hello', 'ws hello');
    if (hello === null) {
      socket.close(WS_CLOSE_INTERNAL_ERROR, 'snapshot unavailable');
      return;
    }
    this.clients.add(socket);
    this.counts.clients = this.clients.size;
    // Client messages are ignored; a failed socket ends in 'close', which cleans up.
    socket.on('close', () => this.remove(socket));
    socket.on('error', () => socket.terminate());
    socket.send(hello);
    if (this.clients.size === 1) this.start();
  }

  stats(): WsHubStats {
    return { ...this.counts };
  }

  close(): void {
    this.closed = true;
    this.stop();
    for (const socket of this.clients) socket.terminate();
    this.clients.clear();
    this.counts.clients = 0;
  }

  private start(): void {
    this.timer = setInterval(() => this.tick(), this.opts.snapshotIntervalMs);
    this.unsubscribe = this.view.onTriggers((events) => {
      this.counts.messagesDropped += this.triggers.write(events);
    });
  }

  private stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  private remove(socket: WebSocket): void {
    this.slowTicks.delete(socket);
    if (!this.clients.delete(socket)) return;
    this.counts.clients = this.clients.size;
    if (this.clients.size === 0) this.stop();
  }

  private tick(): void {
    const text = this.snapshotMessage('snapshot', 'ws snapshot timer');
    if (text === null) {
      this.counts.snapshotFailures++;
      return;
    }
    this.send(text);
    this.dropSlowClients();
  }

  /** A client over the buffer bound at `slowTicksMax` ticks in a row is not keeping up: it
   * is disconnected, so it never holds the daemon's memory or slows the others. */
  private dropSlowClients(): void {
    for (const socket of this.clients) {
      if (socket.bufferedAmount <= this.opts.bufferedBytesMax) {
        this.slowTicks.delete(socket);
        continue;
      }
      const ticks = (this.slowTicks.get(socket) ?? 0) + 1;
      this.slowTicks.set(socket, ticks);
      if (ticks < this.opts.slowTicksMax) continue;
      this.counts.slowClientsDropped++;
      socket.terminate();
    }
  }

  /** A hello or snapshot message around the published snapshot's JSON (serialised once by
   * the daemon, not again here); null when the view throws. */
  private snapshotMessage(type: 'hello' | 'snapshot', where: string): string | null {
    try {
      return `{"type":"${type}","snapshot":${this.view.snapshotJson()}}`;
    } catch (err) {
      this.opts.onError(err, where);
      return null;
    }
  }

  /** Serialises once, sends the same string to every open client under its buffer bound. */
  private broadcast(message: WsMessage, where: string): void {
    let text: string;
    try {
      text = JSON.stringify(message);
    } catch (err) {
      this.opts.onError(err, where);
      return;
    }
    this.send(text);
  }

  private send(text: string): void {
    for (const socket of this.clients) {
      if (socket.readyState !== WebSocket.OPEN) continue;
      if (socket.bufferedAmount > this.opts.bufferedBytesMax) {
        this.counts.messagesDropped++;
        continue;
      }
      socket.send(text);
    }
  }
}
