/**
 * The daemon's HTTP face: health, Prometheus metrics, JSON API, the live websocket and the
 * built dashboard. Everything here is off the hot path; it reads the pipeline only through
 * `DaemonView` and never throws into it.
 */
import { access } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import fastifyStatic from '@fastify/static';
import fastifyWebsocket from '@fastify/websocket';
import Fastify from 'fastify';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Gauge, type Registry } from 'prom-client';
import { assert } from '../core/assert.js';
import { monotonicClock, type Clock } from '../core/clock.js';
import { ConfigError, RequestError, isOperatingError } from '../core/errors.js';
import { limits } from '../core/limits.js';
import type { MetricsExposition } from '../metrics/prometheus.js';
import type { HealthReport } from '../metrics/health.js';
import type { DaemonView } from '../metrics/snapshot.js';
import type { ModelView, ServerState, TriggerDetail } from './api-types.js';
import { jsonInSlices } from '../metrics/history.js';
import type { HistoryColumns } from './api-types.js';
import { allowedHostSet, isAllowedHost, isLoopbackAddress } from './host-guard.js';
import type { DaemonControl } from './api-types.js';
import { pipelineOf, pipelineSummary, servedName, type ServedPipeline } from './pipelines.js';
import type { TokenCheck } from './auth.js';
import { registerControlRoutes } from './control-routes.js';
import { openApiDocument } from './openapi.js';
import { createWsHub, type WsHub, type WsHubStats } from './ws-hub.js';

/** Options for `startHttpServer`. */
export interface HttpServerOptions {
  view: DaemonView;
  /** Interface to bind. Default 127.0.0.1: the dashboard has no authentication. */
  host?: string;
  /** TCP port; 0 picks a free one (read it back from the result). Default 8080. */
  port?: number;
  /** Absolute path of the built dashboard (`ui/dist`). Absent or unbuilt: `/` answers 503. */
  uiDir?: string;
  metrics: MetricsExposition;
  /** `false` silences fastify's logger; by default it logs warnings and errors to stdout. */
  logger?: false;
  /** Clock for `/healthz` uptime. Default: the process's monotonic clock. */
  clock?: Clock;
  /** Host names besides loopback that requests may be addressed to (config
   * `server.allowedHosts`), matched exactly, with or without `:port`. */
  allowedHosts?: readonly string[];
  /** Each pipeline's health for `/healthz` (200 when all are up, else 503, the report as
   * body); a promise where pipelines answer from worker threads. Absent: `/healthz` says only
   * that the server answers. */
  health?: (uptimeS: number) => HealthReport | Promise<HealthReport>;
  /** The config in force and its reloads, for `/api/config`. Absent: no such route. */
  config?: () => unknown;
  /** Requests refused for a missing or wrong token since start, for `/api/server` (the
   * control API's counter). Absent: 0. */
  unauthorized?: () => number;
  /** The control API (`/api/controls`, `POST /api/control/*`) and the token its changes need;
   * off loopback the token guards every `/api/` read too. Absent: no control routes. */
  control?: { control: DaemonControl; auth: TokenCheck };
  /** Several pipelines in one daemon (`hairtrigger run` with several configs): every
   * per-pipeline route takes `?pipeline=<name>`, the first being the default, and
   * `control.control`/`config` are ignored for each entry's own. Absent: one pipeline,
   * `view` with `control.control` and `config`. */
  pipelines?: readonly ServedPipeline[];
}

/** A listening server. `close()` stops the timer, terminates websocket clients, removes the
 * server's series from the exporter and frees the port; calling it again returns the same
 * promise. */
export interface HttpServer {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  port: number;
  close(): Promise<void>;
  /** Websocket fan-out counters (also exported on `/metrics` as `hairtrigger_ws_*`). */
  wsStats(): WsHubStats;
  /** Every route registered, `METHOD url` with fastify's syntax (the OpenAPI test reads it). */
  routes(): readonly string[];
}

/** Answer for `/` while `ui/dist` has not been built. */
export const UI_NOT_BUILT_MESSAGE =
  'hairtrigger: the dashboard is not built (no index.html in the UI directory).\n' +
  'Run `make ui` (npx vite build --config ui/vite.config.ts) and reload.\n' +
  '/metrics, /api/snapshot, /api/errors and /ws work without it.\n';

/** CSP for everything served: the dashboard loads only its own files and its own websocket. */
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * Starts the HTTP server and resolves once it listens.
 *
 * Contract: the caller owns `view` and `metrics` and must keep them alive until `close()`
 * resolves; the server owns its websocket clients and the `hairtrigger_ws_*` series it adds to
 * `metrics.registry` (so one exporter serves one server at a time; a second registration
 * throws). A relative `uiDir` or a port that is taken or not allowed rejects with
 * `ConfigError`. Hostile or malformed requests get a 4xx JSON error
 * (`{"error":{"code","message"}}`) and never stop the server; a failing `view` gives 500 and
 * an error in the log.
 */
export async function startHttpServer(opts: HttpServerOptions): Promise<HttpServer> {
  if (opts.uiDir !== undefined && !isAbsolute(opts.uiDir)) {
    throw new ConfigError('http.uiDir', `"${opts.uiDir}" is relative; pass the absolute path of ui/dist`);
  }
  const host = opts.host ?? '127.0.0.1';
  const app = Fastify({ logger: opts.logger ?? { level: 'warn' }, bodyLimit: limits.httpBodyBytesMax, requestTimeout: limits.httpRequestTimeoutMs });
  const served = opts.pipelines ?? [{ name: null, view: opts.view, control: opts.control?.control, config: opts.config }];
  assert(served.length > 0, 'a server serves at least one pipeline');
  // One fan-out per pipeline (`/ws?pipeline=`); clientsMax bounds each.
  const hubs = served.map((p) => ({ ...p, hub: createWsHub(p.view, {
    clientsMax: limits.wsClientsMax,
    bufferedBytesMax: limits.wsClientBufferedBytesMax,
    snapshotIntervalMs: limits.snapshotIntervalMs,
    slowTicksMax: Math.ceil(limits.wsSlowClientDropAfterMs / limits.snapshotIntervalMs),
    onError: (err, where) => app.log.error({ err, where }, 'websocket fan-out failed'),
  }) }));
  const wsStats = () => sumStats(hubs.map((h) => h.hub.stats()));
  const removeWsMetrics = registerWsMetrics(opts.metrics.registry, wsStats);
  const routes: string[] = [];
  app.addHook('onRoute', (r) => {
    for (const m of [r.method].flat()) routes.push(`${m} ${r.url}`);
  });
  let closing: Promise<void> | null = null;
  const shutdown = (): Promise<void> => {
    closing ??= (async () => {
      hubs.forEach((h) => h.hub.close());
      removeWsMetrics();
      await app.close();
    })();
    return closing;
  };
  // `/api/server` answers the URL, which is known once the port is bound.
  const bound = { url: '' };
  try {
    await buildApp(app, hubs, opts, isLoopbackAddress(host), bound);
    await app.listen({ host, port: opts.port ?? 8080 });
  } catch (err) {
    await shutdown();
    throw listenError(err, host, opts.port ?? 8080);
  }
  const port = boundPort(app);
  bound.url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return { url: bound.url, port, close: shutdown, wsStats, routes: () => routes };
}

/** A served pipeline with its websocket fan-out. */
type Served = ServedPipeline & { hub: WsHub };

async function buildApp(app: FastifyInstance, hubs: readonly Served[], opts: HttpServerOptions, loopback: boolean, bound: { url: string }): Promise<void> {
  await app.register(fastifyWebsocket, { options: { maxPayload: limits.httpBodyBytesMax } });
  installGuards(app);
  if (loopback || (opts.allowedHosts?.length ?? 0) > 0) refuseForeignHosts(app, allowedHostSet(opts.allowedHosts));
  const startNs = (opts.clock ?? monotonicClock).nowNs();
  registerApi(app, opts, hubs, startNs);
  registerDetailApi(app, opts, hubs, () => ({ startNs, url: bound.url }));
  if (opts.control !== undefined) {
    if (!loopback) guardReads(app, opts.control.auth);
    registerControlRoutes(app, (req) => controlOf(pipelineOf(hubs, req), req), opts.control.auth);
  }
  app.route({
    method: 'GET',
    url: '/ws',
    // The pipeline is checked before the upgrade, so an unknown name is a plain 404.
    onRequest: [rejectCrossOriginUpgrade, async (req) => void pipelineOf(hubs, req)],
    handler: () => {
      throw new RequestError('GET /ws', 'this endpoint speaks websocket only; use a websocket client', 426);
    },
    wsHandler: (socket, req) => pipelineOf(hubs, req).hub.admit(socket),
  });
  await registerUi(app, opts.uiDir);
}

/**
 * A server bound to loopback answers only requests addressed to a loopback name or a
 * configured one (`isAllowedHost`, exact names only): a web page elsewhere cannot reach it
 * through DNS rebinding (its requests carry the attacker's host name). Misaddressed
 * requests get 421.
 */
function refuseForeignHosts(app: FastifyInstance, allowed: ReadonlySet<string>): void {
  const names = ['localhost', '127.0.0.1', '[::1]', ...allowed].join(', ');
  app.addHook('onRequest', async (req) => {
    const header = req.headers.host;
    if (!isAllowedHost(header, allowed)) {
      const message = `Host "${(header ?? '').slice(0, 100)}" is not a loopback name or one in server.allowedHosts; this server answers ${names}`;
      throw new RequestError(`${req.method} ${req.url.slice(0, 200)}`, message, 421);
    }
  });
}

/** Error shape, 404s, body bound and response headers shared by every route. */
function installGuards(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const status = statusOf(err);
    if (status >= 500) req.log.error({ err, url: req.url }, 'request failed');
    return reply.code(status).send(errorBody(err, status));
  });
  app.setNotFoundHandler((req, reply) => {
    const where = `${req.method} ${req.url.slice(0, 200)}`;
    return reply.code(404).send(errorBody(new RequestError(where, 'no such route', 404), 404));
  });
  // fastify's bodyLimit applies only to routes that parse a body; this also covers 404s and
  // GET routes, so a large upload is refused before anything reads it.
  app.addHook('onRequest', async (req) => {
    const declaredBytes = Number(req.headers['content-length'] ?? 0);
    if (declaredBytes > limits.httpBodyBytesMax) {
      const message = `body of ${declaredBytes} bytes exceeds httpBodyBytesMax (${limits.httpBodyBytesMax})`;
      throw new RequestError(`${req.method} ${req.url.slice(0, 200)}`, message, 413);
    }
  });
  app.addHook('onSend', async (_req, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
  });
}

function registerApi(app: FastifyInstance, opts: HttpServerOptions, served: readonly Served[], startNs: number): void {
  const clock = opts.clock ?? monotonicClock;
  const uptimeS = () => Math.round((clock.nowNs() - startNs) / 1e6) / 1e3;
  const health = opts.health;
  if (health === undefined) app.get('/healthz', async () => ({ status: 'ok', uptimeS: uptimeS() }));
  else {
    app.get('/healthz', async (_req, reply) => {
      const report = await health(uptimeS());
      return reply.code(report.status === 'up' ? 200 : 503).send(report);
    });
  }
  if (served[0]!.config !== undefined) {
    app.get('/api/config', async (req) => {
      const config = pipelineOf(served, req).config;
      if (config === undefined) throw new RequestError('GET /api/config', 'this pipeline has no config view', 404);
      return config();
    });
  }
  app.get('/api/pipelines', async () => {
    const reports = health === undefined ? undefined : (await health(uptimeS())).pipelines;
    return { pipelines: served.map((p) => pipelineSummary(p, reports?.find((r) => r.pipeline === servedName(p)))) };
  });
  app.get('/metrics', async (_req, reply) => {
    const text = await opts.metrics.metricsText();
    return reply.type(opts.metrics.contentType).send(text);
  });
  // The published snapshot's JSON as it is: no build and no serialisation per request.
  app.get('/api/snapshot', async (req, reply) => reply.type('application/json; charset=utf-8').send(pipelineOf(served, req).view.snapshotJson()));
  app.get('/api/errors', async (req) => ({ errors: pipelineOf(served, req).view.recentErrors() }));
  // Built on the first request: the URL is known only once the server listens.
  let openapi: string | null = null;
  app.get('/api/openapi.json', async (req, reply) => {
    openapi ??= JSON.stringify(openApiDocument(`http://${req.headers.host ?? 'localhost'}`));
    return reply.type('application/json; charset=utf-8').send(openapi);
  });
  registerHistoryRoutes(app, served);
}

/** Off loopback, `/api/` reads need the token as control requests do (the API description excepted). */
function guardReads(app: FastifyInstance, auth: TokenCheck): void {
  app.addHook('onRequest', async (req) => {
    const path = req.url.split('?')[0]!;
    if (req.method !== 'GET' || !path.startsWith('/api/') || path === '/api/openapi.json') return;
    auth.require(req.headers.authorization, `GET ${path.slice(0, 200)}`, req.socket.remoteAddress ?? 'unknown');
  });
}

/**
 * `/api/triggers/:run/:seq` (a recent trigger and its frame's view), `/api/model` (the card
 * of the model in force) and `/api/server` (this server's own state). A trigger that has left
 * the detail ring, or a view without details or a model, answers 404 saying so.
 */
function registerDetailApi(app: FastifyInstance, opts: HttpServerOptions, served: readonly Served[], at: () => { startNs: number; url: string }): void {
  app.get<{ Params: { run: string; seq: string } }>('/api/triggers/:run/:seq', async (req): Promise<TriggerDetail> => {
    const where = `GET /api/triggers/${req.params.run.slice(0, 100)}/${req.params.seq.slice(0, 30)}`;
    const seq = parseSeq(req.params.seq, where);
    const view = pipelineOf(served, req).view;
    if (view.triggerDetail === undefined) throw new RequestError(where, 'this daemon keeps no trigger details', 404);
    const detail = await view.triggerDetail(req.params.run, seq);
    if (detail === null) {
      const message = `no detail for run "${req.params.run.slice(0, 100)}" seq ${seq}: only the newest ${limits.triggerDetailsMax} triggers (limits.triggerDetailsMax) are kept, and it is not among them`;
      throw new RequestError(where, message, 404);
    }
    return detail;
  });
  app.get('/api/model', async (req): Promise<ModelView> => {
    const view = pipelineOf(served, req).view;
    if (view.model === undefined) throw new RequestError('GET /api/model', 'this daemon has no model view', 404);
    return view.model();
  });
  const clock = opts.clock ?? monotonicClock;
  app.get('/api/server', async (): Promise<ServerState> => {
    const { startNs, url } = at();
    const ws = sumStats(served.map((p) => p.hub.stats()));
    const uptimeS = Math.round((clock.nowNs() - startNs) / 1e6) / 1e3;
    return { uptimeS, wsClients: ws.clients, wsMessagesDropped: ws.messagesDropped, wsClientsRefused: ws.clientsRefused, unauthorized: opts.unauthorized?.() ?? 0, url };
  });
}

/** A trigger's sequence number from the URL: a non-negative safe integer, else 400. */
function parseSeq(text: string, where: string): number {
  const seq = /^[0-9]{1,16}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(seq)) throw new RequestError(where, `seq "${text.slice(0, 30)}" is not a non-negative integer`, 400);
  return seq;
}

/**
 * `/api/history` and `/api/latency`; a view without them (no pipeline) answers 404. The
 * history (an hour of columns, ~1.4 MB) is serialised once per row, in slices that yield to
 * the event loop (`jsonInSlices`), and the text served to every request until the next row.
 */
function registerHistoryRoutes(app: FastifyInstance, served: readonly ServedPipeline[]): void {
  const absent = (where: string) => new RequestError(where, 'this daemon keeps no history or latency distribution (no pipeline behind the view)', 404);
  // Each pipeline's latest columns and their text (a WeakMap: a superseded row's goes with it).
  const cached = new WeakMap<HistoryColumns, Promise<string>>();
  app.get('/api/history', async (req, reply) => {
    const view = pipelineOf(served, req).view;
    // A view in another thread serialised it there (and caches it per row there).
    if (view.historyJson !== undefined) return reply.type('application/json; charset=utf-8').send(await view.historyJson());
    if (view.history === undefined) throw absent('GET /api/history');
    const columns = await view.history();
    let json = cached.get(columns);
    if (json === undefined) cached.set(columns, (json = jsonInSlices(columns)));
    return reply.type('application/json; charset=utf-8').send(await json);
  });
  app.get('/api/latency', async (req) => {
    const view = pipelineOf(served, req).view;
    if (view.latencyDistribution === undefined) throw absent('GET /api/latency');
    return view.latencyDistribution();
  });
}

/**
 * Browsers let any page open a websocket to 127.0.0.1; refusing a foreign `Origin` stops
 * another site from reading the live stream. Clients that send no Origin (curl, scripts) pass.
 */
async function rejectCrossOriginUpgrade(req: FastifyRequest): Promise<void> {
  const origin = req.headers.origin;
  if (origin === undefined) return;
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    throw new RequestError('GET /ws', `Origin "${origin.slice(0, 200)}" is not a URL`, 403);
  }
  if (originHost !== req.headers.host) {
    const host = req.headers.host ?? '(none)';
    const message = `Origin ${originHost} differs from Host ${host}; only the dashboard may connect`;
    throw new RequestError('GET /ws', message, 403);
  }
}

/** Serves `uiDir` at `/`. Whether the UI is built is checked per request, so `make ui` while
 * the daemon runs needs no restart. */
async function registerUi(app: FastifyInstance, uiDir: string | undefined): Promise<void> {
  if (uiDir !== undefined) {
    await app.register(fastifyStatic, { root: uiDir, index: false, wildcard: true, dotfiles: 'ignore' });
  }
  app.get('/', async (_req, reply: FastifyReply) => {
    if (uiDir === undefined || !(await exists(join(uiDir, 'index.html')))) {
      return reply.code(503).type('text/plain; charset=utf-8').send(UI_NOT_BUILT_MESSAGE);
    }
    return reply.header('cache-control', 'no-cache').sendFile('index.html');
  });
}

/** Adds the websocket fan-out series to `registry`; returns their remover. */
function registerWsMetrics(registry: Registry, stats: () => WsHubStats): () => void {
  const counters: Array<[string, string, (s: WsHubStats) => number]> = [
    [
      'hairtrigger_ws_messages_dropped_total',
      'Websocket messages dropped because the client buffered over wsClientBufferedBytesMax.',
      (s) => s.messagesDropped,
    ],
    [
      'hairtrigger_ws_clients_refused_total',
      'Websocket connections closed with 1013 because wsClientsMax clients were connected.',
      (s) => s.clientsRefused,
    ],
    [
      'hairtrigger_ws_snapshot_failures_total',
      'Live snapshot ticks skipped because the daemon view threw.',
      (s) => s.snapshotFailures,
    ],
    [
      'hairtrigger_ws_slow_clients_dropped_total',
      'Websocket clients disconnected for staying over wsClientBufferedBytesMax for wsSlowClientDropAfterMs.',
      (s) => s.slowClientsDropped,
    ],
  ];
  registerCollectedCounters(registry, counters.map(([name, help, read]) => [name, help, () => read(stats())]));
  new Gauge({
    name: 'hairtrigger_ws_clients',
    help: 'Websocket clients connected.',
    registers: [registry],
    collect() {
      this.set(stats().clients);
    },
  });
  const names = [...counters.map(([name]) => name), 'hairtrigger_ws_clients'];
  return () => names.forEach((name) => registry.removeSingleMetric(name));
}

/** Adds counters read at scrape time (`read` gives the running total) to `registry`. */
export function registerCollectedCounters(registry: Registry, counters: ReadonlyArray<readonly [name: string, help: string, read: () => number]>): void {
  for (const [name, help, read] of counters) {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  }
}

/** The websocket counters of every pipeline's fan-out, added up (`/api/server`, `/metrics`). */
function sumStats(all: readonly WsHubStats[]): WsHubStats {
  const sum: WsHubStats = { clients: 0, messagesDropped: 0, clientsRefused: 0, snapshotFailures: 0, slowClientsDropped: 0 };
  for (const s of all) for (const k of Object.keys(sum) as Array<keyof WsHubStats>) sum[k] += s[k];
  return sum;
}

/** The control API of the pipeline a request chose; 404 when it has none. */
function controlOf(p: ServedPipeline, req: FastifyRequest): DaemonControl {
  if (p.control === undefined) throw new RequestError(`${req.method} ${req.url.split('?')[0]!.slice(0, 200)}`, `pipeline ${servedName(p)} has no control API`, 404);
  return p.control;
}

function statusOf(err: FastifyError): number {
  if (err instanceof RequestError) return err.status;
  const status = err.statusCode ?? 500;
  return Number.isInteger(status) && status >= 400 && status <= 599 ? status : 500;
}

/** 4xx: the message says what was wrong with the request. 5xx: details stay in the log. */
function errorBody(err: FastifyError, status: number): { error: { code: string; message: string } } {
  if (isOperatingError(err)) return { error: { code: err.code, message: err.message } };
  if (status < 500) return { error: { code: 'E_REQUEST', message: err.message } };
  return { error: { code: 'E_INTERNAL', message: 'internal error; see the daemon log' } };
}

function listenError(err: unknown, host: string, port: number): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'EADDRINUSE') {
    const message = `${host}:${port} is already in use; stop the other process or pick another port`;
    return new ConfigError('http.port', message, { cause: err });
  }
  if (code === 'EACCES' || code === 'EADDRNOTAVAIL') {
    const message = `cannot bind ${host}:${port} (${code}); use a local address and a port above 1023`;
    return new ConfigError('http.host', message, { cause: err });
  }
  return err;
}

function boundPort(app: FastifyInstance): number {
  const address = app.server.address();
  assert(address !== null && typeof address !== 'string', 'fastify listens on a TCP socket');
  return address.port;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
