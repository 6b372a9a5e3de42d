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

/** What every client of one ingest shares. */
interface ClientDeps {
  cfg: WsIngestConfig;
  ctx: SourceContext;
  queue: IngressQueue;
  matches(given: string): boolean;
}

/**
 * One connected client: authentication (header or first text message, within
 * `authTimeoutMs`), its rate (a token bucket on the injected clock), its packets through its
 * own `LinkReceiver` (its own sequence numbers), and the close code for each fault.
 */
class WsClient {
  readonly counts: ClientCounts = { messages: 0, framesOffered: 0, rateExceeded: 0, oversize: 0, badToken: 0 };
  readonly rx: LinkReceiver;
  private authed = false;
  private tokens: number;
  private lastNs: number;
  private readonly timer: unknown;

  constructor(
    readonly name: string,
    private readonly ws: WebSocket,
    authorization: string | undefined,
    private readonly d: ClientDeps,
    onClose: () => void,
  ) {
    const { cfg, ctx } = d;
    this.tokens = cfg.rateBurst;
    this.lastNs = ctx.clock.nowNs();
    const offer = dataFrameOffer(cfg.frameKind, d.queue, name, (e) => ctx.error(e));
    this.rx = new LinkReceiver(name, cfg.payloadBytesMax, (p) => {
      offer(p);
      if (p.type === PacketType.data) this.counts.framesOffered++;
    }, (e) => {
      ctx.error(e);
      if (e.reason !== 'gap') ws.close(WsClose.badFrame, e.message.slice(0, 120));
    });
    if (authorization !== undefined) this.authenticate(authorization.startsWith('Bearer ') ? authorization.slice(7) : '');
    this.timer = ctx.timers.setTimeout(() => !this.authed && this.refuse(`no token within ${cfg.authTimeoutMs} ms`), cfg.authTimeoutMs);
    ws.on('message', (data: RawData, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code !== 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return;
      this.counts.oversize++;
      ctx.error(new LinkError(name, 'oversize', `message longer than ${cfg.payloadBytesMax + PACKET_OVERHEAD_BYTES} bytes; closed (1009)`));
    });
    ws.on('close', () => {
      ctx.timers.clearTimeout(this.timer);
      onClose();
    });
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    const { ws, d } = this;
    if (ws.readyState !== ws.OPEN) return; // closing: what it still sent is not taken
    this.counts.messages++;
    if (!this.authed) return isBinary ? this.refuse('a binary message before the token') : this.authenticate(data.toString());
    if (!isBinary || !Buffer.isBuffer(data)) return void ws.close(WsClose.badFrame, 'text message: packets are binary');
    if (!this.takeToken()) {
      this.counts.rateExceeded++;
      d.ctx.error(new LinkError(this.name, 'rate', `over ${d.cfg.ratePerClientHz} frames/s (burst ${d.cfg.rateBurst}); closed (${WsClose.rateExceeded})`));
      return void ws.close(WsClose.rateExceeded, 'rate exceeded');
    }
    this.rx.packet(data);
  }

  private authenticate(given: string): void {
    if (this.d.matches(given)) this.authed = true;
    else this.refuse('bad token');
  }

  private refuse(why: string): void {
    this.counts.badToken++;
    this.d.ctx.error(new LinkError(this.name, 'token', `${why}; closed (${WsClose.badToken})`));
    this.ws.close(WsClose.badToken, why);
  }

  private takeToken(): boolean {
    const now = this.d.ctx.clock.nowNs();
    this.tokens = Math.min(this.d.cfg.rateBurst, this.tokens + ((now - this.lastNs) * this.d.cfg.ratePerClientHz) / 1e9);
    this.lastNs = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
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
  const clients = new Map<string, WsClient>(); // live and recently closed, at most wsIngestClientsTrackedMax
  const deps: ClientDeps = { cfg, ctx, queue, matches: tokenMatcher(cfg.token ?? readToken(ctx.at(cfg.tokenFile!))) };
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
    clients.set(name, new WsClient(name, ws, req.headers.authorization, deps, () => live--));
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
      for (const ws of wss?.clients ?? []) ws.terminate();
      if (wss !== null) await new Promise<void>((r) => wss!.close(() => r()));
      if (http !== null) await new Promise<void>((r) => http!.close(() => r()));
      // No client offers anything more: what the queue accepted is decided before the logs close.
      queue.flushAndStop();
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
