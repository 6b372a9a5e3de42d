/**
 * The dashboard's one websocket: connects, parses messages, and reconnects with capped
 * exponential backoff when the daemon goes away, is busy (close 1013) or falls silent.
 */
import type { WsMessage } from '../../host/src/server/ws-hub.js';
import { withPipeline } from './pipeline.js';

export type ConnState =
  | { kind: 'connecting' }
  | { kind: 'live' }
  | { kind: 'waiting'; retryInMs: number; reason: string };

export interface ConnectionOptions {
  url: string;
  onMessage(message: WsMessage): void;
  onState(state: ConnState): void;
  /** First retry delay; doubles per failed attempt up to `backoffMaxMs`. */
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** No message for this long means a dead link (the daemon sends a snapshot every snapshotIntervalMs, 250 ms). */
  silenceMaxMs?: number;
}

/**
 * Opens the websocket and keeps it open until `close()`. A message that is not JSON is
 * ignored (the daemon only sends JSON; anything else is a proxy's error page). The backoff
 * resets once the daemon says hello.
 */
export function connect(opts: ConnectionOptions): { close(): void } {
  const backoffMinMs = opts.backoffMinMs ?? 500;
  const backoffMaxMs = opts.backoffMaxMs ?? 10_000;
  const silenceMaxMs = opts.silenceMaxMs ?? 5_000;
  let delayMs = backoffMinMs;
  let socket: WebSocket | null = null;
  let retryTimer: number | undefined;
  let silenceTimer: number | undefined;
  let stopped = false;

  function armSilenceWatch(): void {
    window.clearTimeout(silenceTimer);
    silenceTimer = window.setTimeout(() => socket?.close(4000, 'silent'), silenceMaxMs);
  }

  function open(): void {
    opts.onState({ kind: 'connecting' });
    socket = new WebSocket(opts.url);
    socket.onopen = armSilenceWatch;
    socket.onmessage = (event) => {
      armSilenceWatch();
      const message = parse(event.data);
      if (message === null) return;
      if (message.type === 'hello') {
        delayMs = backoffMinMs;
        opts.onState({ kind: 'live' });
      }
      opts.onMessage(message);
    };
    socket.onclose = (event) => scheduleRetry(reasonOf(event));
  }

  function scheduleRetry(reason: string): void {
    window.clearTimeout(silenceTimer);
    socket = null;
    if (stopped) return;
    // Jitter spreads reconnects when one daemon restart drops many dashboards at once.
    const retryInMs = Math.round(delayMs * (0.8 + 0.4 * Math.random()));
    delayMs = Math.min(delayMs * 2, backoffMaxMs);
    opts.onState({ kind: 'waiting', retryInMs, reason });
    retryTimer = window.setTimeout(open, retryInMs);
  }

  open();
  return {
    close() {
      stopped = true;
      window.clearTimeout(retryTimer);
      window.clearTimeout(silenceTimer);
      socket?.close(1000, 'page closed');
    },
  };
}

function parse(data: unknown): WsMessage | null {
  if (typeof data !== 'string') return null;
  try {
    const message = JSON.parse(data) as WsMessage;
    return typeof message === 'object' && message !== null && 'type' in message ? message : null;
  } catch {
    return null;
  }
}

function reasonOf(event: CloseEvent): string {
  if (event.code === 1013) return 'daemon busy (too many dashboards)';
  if (event.code === 4000) return 'no data from daemon';
  if (event.code === 1006) return 'daemon unreachable';
  return event.reason || `closed (${event.code})`;
}

/** The websocket URL next to the page, so it works at any mount point and over https. */
export function websocketUrl(location: Location): string {
  const url = new URL('./ws', location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.search = '';
  url.hash = '';
  return withPipeline(url, location).toString();
}
