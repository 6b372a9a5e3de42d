import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { z } from 'zod';
import { ConfigError, LinkError } from '../core/errors.js';
import { frameBytes, type FrameSpec } from '../core/frame.js';
import { limits } from '../core/limits.js';
import { PACKET_OVERHEAD_BYTES, PacketType } from '../link/packet.js';
import { LinkReceiver } from '../link/receiver.js';
import { ingressConfigSchema, IngressQueue, type IngressCounts } from './ingress.js';
import { sources, type SourceContext } from './registry.js';
import { dataFrameOffer, linkFramesSchema, type TransportCounted } from './serial.js';
import type { Source } from './source.js';
import { serverAddress } from './stream.js';

/** Close codes the ingest sends (README "Websocket ingest"). 1009 (too big) and 1013 (try again later) are the standard ones. */
export const WsClose = { badToken: 4001, badFrame: 4002, rateExceeded: 4003, tooBig: 1009, full: 1013 } as const;

/** A `ws` source: clients push link packets (docs/serial-protocol.md), one per binary message. */
export const wsIngestSchema = z
  .object({
    kind: z.literal('ws'),
    /** host:port to listen on (loopback unless you mean it). */
    listen: z.string().regex(/^[^:]+:\d{1,5}$/, 'listen is host:port, e.g. 127.0.0.1:9500'),
    /** The token clients present: `Authorization: Bearer <token>`, or their first (text) message. Give `token` or `tokenFile`. */
    token: z.string().min(16, 'a token of at least 16 characters').optional(),
    tokenFile: z.string().min(1).optional(),
    /** Frames a second one client may push (token bucket, burst `rateBurst`); past it the client is closed (4003). */
    ratePerClientHz: z.number().positive().max(10_000_000).default(100_000),
    rateBurst: z.number().int().min(1).max(1_000_000).default(1_000),
    clientsMax: z.number().int().min(1).max(limits.wsIngestClientsMax).default(64),
    /** A client that has not authenticated by then is closed (4001). */
    authTimeoutMs: z.number().int().min(1).max(60_000).default(5_000),
  })
  .extend(linkFramesSchema.shape)
  .strict()
  .refine((c) => (c.token === undefined) !== (c.tokenFile === undefined), 'exactly one of token and tokenFile is required');
export type WsIngestConfig = z.output<typeof wsIngestSchema>;

/** One client's counters (beside its link counters). */
interface ClientCounts {
  messages: number;
  framesOffered: number;
  rateExceeded: number;
  oversize: number;
  badToken: number;
}

interface Client {
  name: string;
  rx: LinkReceiver;
  counts: ClientCounts;
  authed: boolean;
  tokens: number;
  lastNs: number;
}

/** A `ws` source; `address()` is where it listens after start. */
export interface WsIngestSource extends Source, TransportCounted {
  readonly ingress: IngressCounts;
  address(): { host: string; port: number } | null;
}

/** The token in `path` (its first line); a missing, unreadable or short one is a ConfigError. */
function readToken(path: string): string {
  let token: string;
  try {
    token = readFileSync(path, 'utf8').split('\n')[0].trim();
  } catch (err) {
    throw new ConfigError('source.tokenFile', `cannot read ${path}: ${(err as Error).message}; write the clients' token there (one line, at least 16 characters)`, { cause: err });
  }
  if (token.length < 16) throw new ConfigError('source.tokenFile', `${path} holds a token of ${token.length} characters; at least 16`);
  return token;
}

/** Compares a presented token with the configured one in constant time (SHA-256 of both: equal lengths whatever was sent). */
function tokenMatcher(token: string): (given: string) => boolean {
  const want = createHash('sha256').update(token).digest();
  return (given) => timingSafeEqual(createHash('sha256').update(given).digest(), want);
}

/**
 * Builds a `ws` source. Each client authenticates (Bearer header, or a first text message),
 * then sends binary messages, each one packet; data frames go to the ingress queue (default
 * `drop-newest`: a live sensor). A bad packet (CRC, malformed) closes the client with 4002
 * naming the error, an oversize message with 1009, a client over its rate with 4003, a bad or
 * missing token with 4001; all counted per client (snapshot `transport`).
 */
export function createWsIngest(cfg: WsIngestConfig, ctx: SourceContext): WsIngestSource {
  const spec: FrameSpec = { stream: cfg.stream, shape: cfg.shape, dtype: cfg.dtype, labels: cfg.labels };
  const queue = new IngressQueue(ingressConfigSchema.parse({ ...cfg.queue, policy: cfg.queue?.policy ?? 'drop-newest' }), ctx.clock, ctx.timers);
  const where = `ws ${cfg.listen}`;
  const matches = tokenMatcher(cfg.token ?? readToken(ctx.at(cfg.tokenFile!)));
  const clients = new Map<string, Client>(); // live and recently closed, at most wsIngestClientsTrackedMax
  let live = 0;
  let serial = 0;
  let http: Server | null = null;
  let wss: WebSocketServer | null = null;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));

  const admit = (ws: WebSocket, req: IncomingMessage): void => {
    const name = `${where} client ${++serial} (${req.socket.remoteAddress}:${req.socket.remotePort})`;
    if (live >= cfg.clientsMax) return void ws.close(WsClose.full, `at most ${cfg.clientsMax} clients`);
    live++;
    const counts: ClientCounts = { messages: 0, framesOffered: 0, rateExceeded: 0, oversize: 0, badToken: 0 };
    const c: Client = { name, counts, authed: false, tokens: cfg.rateBurst, lastNs: ctx.clock.nowNs(), rx: null as unknown as LinkReceiver };
    const offer = dataFrameOffer(cfg.frameKind, queue, name, (e) => ctx.error(e));
    c.rx = new LinkReceiver(name, cfg.payloadBytesMax, (p) => {
      offer(p);
      if (p.type === PacketType.data) counts.framesOffered++;
    }, (e) => {
      ctx.error(e);
      if (e.reason !== 'gap') ws.close(WsClose.badFrame, e.message.slice(0, 120));
    });
    track(c);
    const auth = req.headers.authorization;
    if (auth !== undefined) authenticate(ws, c, auth.startsWith('Bearer ') ? auth.slice(7) : '');
    const timer = ctx.timers.setTimeout(() => !c.authed && refuse(ws, c, `no token within ${cfg.authTimeoutMs} ms`), cfg.authTimeoutMs);
    ws.on('message', (data: RawData, isBinary: boolean) => onMessage(ws, c, data, isBinary));
    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        counts.oversize++;
        ctx.error(new LinkError(name, 'oversize', `message longer than ${cfg.payloadBytesMax + PACKET_OVERHEAD_BYTES} bytes; closed (1009)`));
      }
    });
    ws.on('close', () => {
      live--;
      ctx.timers.clearTimeout(timer);
    });
  };

  const authenticate = (ws: WebSocket, c: Client, given: string): void => {
    if (matches(given)) c.authed = true;
    else refuse(ws, c, 'bad token');
  };
  const refuse = (ws: WebSocket, c: Client, why: string): void => {
    c.counts.badToken++;
    ctx.error(new LinkError(c.name, 'token', `${why}; closed (${WsClose.badToken})`));
    ws.close(WsClose.badToken, why);
  };

  const onMessage = (ws: WebSocket, c: Client, data: RawData, isBinary: boolean): void => {
    if (ws.readyState !== ws.OPEN) return; // closing: what it still sent is not taken
    c.counts.messages++;
    if (!c.authed) return isBinary ? refuse(ws, c, 'a binary message before the token') : authenticate(ws, c, data.toString());
    if (!isBinary || !Buffer.isBuffer(data)) return void ws.close(WsClose.badFrame, 'text message: packets are binary');
    if (!takeToken(c)) {
      c.counts.rateExceeded++;
      ctx.error(new LinkError(c.name, 'rate', `over ${cfg.ratePerClientHz} frames/s (burst ${cfg.rateBurst}); closed (${WsClose.rateExceeded})`));
      return void ws.close(WsClose.rateExceeded, 'rate exceeded');
    }
    c.rx.packet(data);
  };

  const takeToken = (c: Client): boolean => {
    const now = ctx.clock.nowNs();
    c.tokens = Math.min(cfg.rateBurst, c.tokens + ((now - c.lastNs) * cfg.ratePerClientHz) / 1e9);
    c.lastNs = now;
    if (c.tokens < 1) return false;
    c.tokens -= 1;
    return true;
  };

  const track = (c: Client): void => {
    clients.set(c.name, c);
    if (clients.size > limits.wsIngestClientsTrackedMax) clients.delete(clients.keys().next().value!); // the oldest
  };

  return {
    spec,
    ingress: queue.counts,
    done,
    get delivered() {
      return queue.counts.delivered;
    },
    address: () => serverAddress(http),
    transportCounters: () => {
      const out: Record<string, Record<string, number>> = { [where]: { clients: live, framesAccepted: queue.counts.accepted, framesDropped: queue.counts.droppedNewest + queue.counts.droppedOldest + queue.counts.oversize } };
      for (const c of clients.values()) out[c.name] = { ...c.counts, ...c.rx.counts };
      return out;
    },
    start(sink) {
      queue.attach(sink);
      const at = cfg.listen.lastIndexOf(':');
      http = createServer((_req, res) => res.writeHead(426, { 'content-type': 'text/plain' }).end('websocket ingest: upgrade required\n'));
      wss = new WebSocketServer({ server: http, maxPayload: cfg.payloadBytesMax + PACKET_OVERHEAD_BYTES });
      wss.on('connection', admit);
      http.on('error', (err) => ctx.error(new LinkError(where, 'listen', `cannot listen: ${err.message}`, { cause: err })));
      http.listen(Number(cfg.listen.slice(at + 1)), cfg.listen.slice(0, at));
    },
    async stop() {
      queue.stop();
      for (const ws of wss?.clients ?? []) ws.terminate();
      if (wss !== null) await new Promise<void>((r) => wss!.close(() => r()));
      if (http !== null) await new Promise<void>((r) => http!.close(() => r()));
      resolveDone();
    },
  };
}

sources.register({
  kind: 'ws',
  summary: 'link packets (docs/serial-protocol.md) pushed by websocket clients, one per binary message, token-authenticated, rate-limited per client',
  schema: wsIngestSchema as unknown as z.ZodType<WsIngestConfig>,
  create(config, ctx) {
    const c = config as WsIngestConfig;
    if (frameBytes(c) <= 0) throw new ConfigError('source.shape', 'frames must have at least one byte');
    return createWsIngest(c, ctx);
  },
});
