import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { manualClock } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';
import { limits } from '../core/limits.js';
import { PrometheusExporter } from '../metrics/prometheus.js';
import type { WsMessage } from './ws-hub.js';
import { startHttpServer, UI_NOT_BUILT_MESSAGE, type HttpServer } from './http.js';
import type { ServerState, TriggerDetail } from './api-types.js';
import { createFakeView, detailKey, fakeTrigger, sampleValue, type FakeView } from './testing.js';

/** A websocket client that queues what it receives, so a test can await a message by type. */
function openClient(url: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(url, { headers });
  const inbox: WsMessage[] = [];
  let wake: (() => void) | null = null;
  ws.on('message', (data) => {
    inbox.push(JSON.parse(data.toString()) as WsMessage);
    wake?.();
  });
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  ws.on('error', () => {});
  async function next<T extends WsMessage['type']>(type: T, timeoutMs = 3000): Promise<Extract<WsMessage, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = inbox.findIndex((m) => m.type === type);
      if (i >= 0) return inbox.splice(i, 1)[0] as Extract<WsMessage, { type: T }>;
      if (Date.now() > deadline) throw new Error(`no ${type} message within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50);
      });
    }
  }
  return { ws, next, closed };
}

/** Raw request, so tests can send what fetch would normalise away. */
function rawRequest(port: number, method: string, path: string, headers: Record<string, string | number> = {}, body?: string) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('startHttpServer', () => {
  let view: FakeView;
  let server: HttpServer;
  let uiDir: string;
  const clock = manualClock(1e9);

  beforeAll(async () => {
    uiDir = await mkdtemp(join(tmpdir(), 'hairtrigger-ui-'));
    view = createFakeView();
    server = await startHttpServer({ view, port: 0, uiDir, metrics: new PrometheusExporter(() => view.snapshot()), logger: false, clock });
  });
  afterAll(async () => {
    await server.close();
    await rm(uiDir, { recursive: true, force: true });
  });

  it('binds 127.0.0.1 by default and reports the chosen port', () => {
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
  });

  it('GET /healthz answers ok with uptime from the injected clock', async () => {
    clock.advanceNs(5e9);
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', uptimeS: 5 });
  });

  it('GET /api/snapshot returns the current snapshot', async () => {
    view.current.frames = 4242;
    const res = await fetch(`${server.url}/api/snapshot`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual(view.current);
  });

  it('GET /api/errors returns the recent operating errors', async () => {
    view.errors.push({ atMs: 1, code: 'E_FRAME_SHAPE', where: 'frame 7', message: 'expected 1024 bytes' });
    expect(await (await fetch(`${server.url}/api/errors`)).json()).toEqual({ errors: view.errors });
  });

  it('GET /api/history and /api/latency return the view\'s history and distributions, and 404 when it has none', async () => {
    const history = await (await fetch(`${server.url}/api/history`)).json();
    expect(history).toEqual(view.history!());
    expect(history.t.length).toBe(history.latency.e2e.p99.length);
    expect(await (await fetch(`${server.url}/api/latency`)).json()).toEqual(view.latencyDistribution!());
    const { history: h, latencyDistribution: d } = view;
    delete view.history;
    delete view.latencyDistribution;
    try {
      for (const path of ['/api/history', '/api/latency']) {
        const res = await fetch(`${server.url}${path}`);
        expect(res.status, path).toBe(404);
        expect((await res.json()).error.message, path).toMatch(/no history or latency distribution/);
      }
    } finally {
      view.history = h;
      view.latencyDistribution = d;
    }
  });

  it('GET /metrics serves Prometheus text with the live values', async () => {
    view.current.frames = 5000;
    view.current.latencyBuckets!.series.e2e.counts[3] = 247;
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(sampleValue(text, 'hairtrigger_frames_total')).toBe(5000);
    expect(sampleValue(text, 'hairtrigger_latency_seconds_bucket{stage="e2e",le="0.00001"}')).toBe(247);
    expect(sampleValue(text, 'hairtrigger_ws_clients')).toBe(0);
    expect(text).toContain('process_resident_memory_bytes');
  });

  it('websocket: hello, then periodic snapshots and trigger batches; unsubscribes on close', async () => {
    view.current.frames = 100;
    const client = openClient(`${server.url.replace('http', 'ws')}/ws`);
    expect((await client.next('hello')).snapshot.frames).toBe(100);
    expect(view.listenerCount()).toBe(1);
    view.current.frames = 200;
    expect((await client.next('snapshot')).snapshot.frames).toBe(200);
    view.emitTriggers([fakeTrigger(1), fakeTrigger(2, { class: 'dead', classIndex: 2 })]);
    const batch = await client.next('triggers');
    expect(batch.events.map((e) => [e.seq, e.class])).toEqual([[1, 'live'], [2, 'dead']]);
    client.ws.close();
    await client.closed;
    await expect.poll(() => view.listenerCount()).toBe(0);
  });

  it(`refuses client number ${limits.wsClientsMax + 1} with close code 1013`, async () => {
    const url = `${server.url.replace('http', 'ws')}/ws`;
    const admitted = Array.from({ length: limits.wsClientsMax }, () => openClient(url));
    await Promise.all(admitted.map((c) => c.next('hello')));
    const extra = openClient(url);
    expect(await extra.closed).toBe(1013);
    expect(server.wsStats()).toMatchObject({ clients: limits.wsClientsMax, clientsRefused: 1 });
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(sampleValue(text, 'hairtrigger_ws_clients_refused_total')).toBe(1);
    admitted.forEach((c) => c.ws.close());
    await Promise.all(admitted.map((c) => c.closed));
    await expect.poll(() => server.wsStats().clients).toBe(0);
  });

  it('refuses a websocket from another origin (403) and accepts the same origin', async () => {
    const url = `${server.url.replace('http', 'ws')}/ws`;
    const foreign = new WebSocket(url, { headers: { origin: 'http://evil.example' } });
    const status = await new Promise<number>((resolve) => foreign.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    foreign.on('error', () => {});
    foreign.terminate();
    expect(status).toBe(403);
    const same = openClient(url, { origin: server.url });
    await same.next('hello');
    same.ws.close();
    await same.closed;
  });

  it('answers a plain GET /ws with 426', async () => {
    const res = await fetch(`${server.url}/ws`);
    expect(res.status).toBe(426);
    expect((await res.json()).error.code).toBe('E_REQUEST');
  });

  it('answers unknown routes with a 404 JSON error', async () => {
    for (const [method, path] of [['GET', '/nope'], ['GET', '/api/nope'], ['POST', '/api/snapshot'], ['DELETE', '/metrics']]) {
      const res = await rawRequest(server.port, method, path);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(JSON.parse(res.body)).toEqual({ error: { code: 'E_REQUEST', message: expect.stringContaining('no such route') } });
    }
  });

  it('never serves files outside uiDir', async () => {
    for (const path of ['/../package.json', '/..%2f..%2fpackage.json', '/%2e%2e/%2e%2e/etc/passwd']) {
      const res = await rawRequest(server.port, 'GET', path);
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(res.body).not.toContain('"name"');
    }
  });

  it('answers only loopback Host names (DNS rebinding): 421 for any other', async () => {
    const hostile = ['evil.example', 'evil.example:8080', '10.0.0.1', 'localhost.evil.example', '127.attacker.example', `127.attacker.example:${server.port}`, '127.0.0.1.nip.io', '[::1].x'];
    for (const host of hostile) {
      const res = await rawRequest(server.port, 'GET', '/api/snapshot', { host });
      expect(res.status, host).toBe(421);
      expect(JSON.parse(res.body).error.message).toMatch(/not a loopback name/);
    }
    for (const host of [`127.0.0.1:${server.port}`, `localhost:${server.port}`, 'localhost', '127.3.2.1', `[::1]:${server.port}`]) {
      expect((await rawRequest(server.port, 'GET', '/healthz', { host })).status, host).toBe(200);
    }
  });

  it(`rejects bodies over httpBodyBytesMax (${limits.httpBodyBytesMax} bytes) with 413`, async () => {
    const body = 'x'.repeat(limits.httpBodyBytesMax + 1);
    const res = await rawRequest(server.port, 'POST', '/api/snapshot', { 'content-type': 'text/plain', 'content-length': body.length }, body);
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error.code).toBe('E_REQUEST');
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('survives a view that throws: 500 JSON without details, and keeps serving', async () => {
    const snapshot = view.snapshot;
    view.snapshot = () => {
      throw new Error('secret internals');
    };
    try {
      const res = await fetch(`${server.url}/api/snapshot`);
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ error: { code: 'E_INTERNAL', message: 'internal error; see the daemon log' } });
      expect((await fetch(`${server.url}/metrics`)).status).toBe(500);
    } finally {
      view.snapshot = snapshot;
    }
    expect((await fetch(`${server.url}/api/snapshot`)).status).toBe(200);
  });

  it('answers / with 503 and how to build the UI until index.html exists, then serves it', async () => {
    const before = await fetch(`${server.url}/`);
    expect(before.status).toBe(503);
    expect(await before.text()).toBe(UI_NOT_BUILT_MESSAGE);
    expect(UI_NOT_BUILT_MESSAGE).toContain('make ui');
    await writeFile(join(uiDir, 'index.html'), '<!doctype html><title>hairtrigger</title>');
    await writeFile(join(uiDir, 'app.js'), 'export {};');
    const after = await fetch(`${server.url}/`);
    expect(after.status).toBe(200);
    expect(await after.text()).toContain('<title>hairtrigger</title>');
    expect(after.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect((await fetch(`${server.url}/app.js`)).headers.get('content-type')).toMatch(/javascript/);
  });
});

describe('startHttpServer lifecycle', () => {
  const servers: HttpServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  function start(port: number, view = createFakeView()) {
    return startHttpServer({ view, port, metrics: new PrometheusExporter(() => view.snapshot(), { defaultMetrics: false }), logger: false });
  }

  it('answers names in allowedHosts exactly, with or without the port, and nothing built on them', async () => {
    const view = createFakeView();
    const server = await startHttpServer({ view, port: 0, allowedHosts: ['sorter.lab'], metrics: new PrometheusExporter(() => view.snapshot(), { defaultMetrics: false }), logger: false });
    servers.push(server);
    for (const host of ['sorter.lab', `sorter.lab:${server.port}`, 'SORTER.LAB', 'localhost']) {
      expect((await rawRequest(server.port, 'GET', '/api/snapshot', { host })).status, host).toBe(200);
    }
    for (const host of ['sorter.lab.evil.example', 'x.sorter.lab', `sorter.lab:${server.port}0000`]) {
      expect((await rawRequest(server.port, 'GET', '/api/snapshot', { host })).status, host).toBe(421);
    }
  });

  it('answers / with 503 when no uiDir is given', async () => {
    const server = await start(0);
    servers.push(server);
    expect((await fetch(`${server.url}/`)).status).toBe(503);
  });

  it('close() terminates websocket clients, stops the timer and releases the port', async () => {
    const view = createFakeView();
    const server = await start(0, view);
    const client = openClient(`${server.url.replace('http', 'ws')}/ws`);
    await client.next('hello');
    await server.close();
    await server.close(); // idempotent
    expect(await client.closed).toBeGreaterThan(0);
    expect(view.listenerCount()).toBe(0);
    const probe = createServer();
    await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(server.port, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const again = await start(server.port);
    servers.push(again);
    expect(again.port).toBe(server.port);
  });

  it('rejects a taken port with ConfigError and leaves nothing running', async () => {
    const first = await start(0);
    servers.push(first);
    await expect(start(first.port)).rejects.toThrow(ConfigError);
    await expect(start(first.port)).rejects.toThrow(/already in use/);
  });

  it('rejects a relative uiDir with ConfigError', async () => {
    const view = createFakeView();
    const metrics = new PrometheusExporter(() => view.snapshot(), { defaultMetrics: false });
    const starting = startHttpServer({ view, port: 0, uiDir: 'ui/dist', metrics, logger: false });
    await expect(starting).rejects.toThrow(ConfigError);
  });
});

describe('startHttpServer with a health report and a config view', () => {
  it('GET /healthz answers 200 with the report while every pipeline is up, 503 with the reasons when one is not; /api/config serves the config view', async () => {
    const view = createFakeView();
    let up = true;
    const pipeline = () => ({ pipeline: 'p', up, reasons: up ? [] : ['source stream ended'], state: 'running' as const, source: { kind: 'stream', ended: !up, up, detail: up ? 'running' : 'ended' }, backend: { kind: 'sim', loaded: true, faulted: false }, frames: 7, failed: 0, lastFrameAgeS: 0.5, errorRatio: 0, windowS: 10 });
    const server = await startHttpServer({
      view, port: 0, metrics: new PrometheusExporter(() => view.snapshot()), logger: false, clock: manualClock(0),
      health: (uptimeS) => ({ status: up ? 'up' : 'down', uptimeS, pipelines: [pipeline()] }),
      config: () => ({ config: { trigger: { threshold: 0.9 } } }),
    });
    try {
      const ok = await fetch(`${server.url}/healthz`);
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ status: 'up', uptimeS: 0, pipelines: [pipeline()] });
      up = false;
      const down = await fetch(`${server.url}/healthz`);
      expect(down.status).toBe(503);
      expect(await down.json()).toMatchObject({ status: 'down', pipelines: [{ up: false, reasons: ['source stream ended'] }] });
      expect(await (await fetch(`${server.url}/api/config`)).json()).toEqual({ config: { trigger: { threshold: 0.9 } } });
    } finally {
      await server.close();
    }
  });
});

describe('startHttpServer: trigger details, model and server state', () => {
  let view: FakeView;
  let server: HttpServer;
  const clock = manualClock(0);
  let unauthorized = 0;

  beforeAll(async () => {
    view = createFakeView();
    server = await startHttpServer({ view, port: 0, metrics: new PrometheusExporter(() => view.snapshot()), logger: false, clock, unauthorized: () => unauthorized });
  });
  afterAll(() => server.close());

  it('GET /api/triggers/:run/:seq answers the view\'s detail of each kind', async () => {
    for (const [seq, kind] of [[1, 'image'], [2, 'alert'], [3, 'spectrogram'], [4, 'none']] as const) {
      const res = await fetch(`${server.url}/api/triggers/test/${seq}`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as TriggerDetail;
      expect(body).toEqual(view.details.get(detailKey('test', seq)));
      expect(body.view.kind).toBe(kind);
    }
  });

  it('answers 404 naming the ring bound for a seq no longer kept, 400 for a seq that is not an integer', async () => {
    const gone = await fetch(`${server.url}/api/triggers/test/99`);
    expect(gone.status).toBe(404);
    const error = ((await gone.json()) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('E_REQUEST');
    expect(error.message).toContain('seq 99');
    expect(error.message).toContain(`newest ${limits.triggerDetailsMax} triggers`);
    for (const bad of ['-1', '1.5', 'x', '1e3', '99999999999999999']) {
      const res = await fetch(`${server.url}/api/triggers/test/${bad}`);
      expect(res.status, bad).toBe(400);
    }
  });

  it('GET /api/model answers the view\'s model', async () => {
    const res = await fetch(`${server.url}/api/model`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(view.modelView);
  });

  it('GET /api/server answers uptime, websocket counts, the unauthorized counter and the URL', async () => {
    clock.advanceNs(2.5e9);
    unauthorized = 3;
    const client = new WebSocket(`${server.url.replace('http', 'ws')}/ws`);
    await new Promise((resolve) => client.on('open', resolve));
    try {
      const state = (await (await fetch(`${server.url}/api/server`)).json()) as ServerState;
      expect(state).toEqual({ uptimeS: 2.5, wsClients: 1, wsMessagesDropped: 0, wsClientsRefused: 0, unauthorized: 3, url: server.url });
    } finally {
      client.close();
    }
  });

  it('answers 404 for details and the model when the view has neither', async () => {
    const bare = createFakeView();
    delete bare.triggerDetail;
    delete bare.model;
    const other = await startHttpServer({ view: bare, port: 0, metrics: new PrometheusExporter(() => bare.snapshot()), logger: false });
    try {
      expect((await fetch(`${other.url}/api/triggers/test/1`)).status).toBe(404);
      expect((await fetch(`${other.url}/api/model`)).status).toBe(404);
      expect(((await (await fetch(`${other.url}/api/server`)).json()) as ServerState).unauthorized).toBe(0);
    } finally {
      await other.close();
    }
  });
});
