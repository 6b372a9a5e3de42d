/**
 * The control API over a real fastify server with a recording `DaemonControl`: the token
 * check (constant time, 401 and counted, rate-limited log), body validation, the bind rule,
 * and the OpenAPI document (every route documented, valid 3.1, real answers match it).
 */
import * as crypto from 'node:crypto';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { PrometheusExporter } from '../metrics/prometheus.js';
import type { AuditEntry, ControlsState } from './api-types.js';
import { bearerToken, checkBind, resolveToken, TokenCheck } from './auth.js';
import { startHttpServer, type HttpServer } from './http.js';
import { componentSchema, OPERATIONS, PENDING_PATHS } from './openapi.js';
import { createFakeView, recordingControl } from './testing.js';

vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  return { ...real, timingSafeEqual: vi.fn(real.timingSafeEqual) };
});

const TOKEN = 'test-token-0123456789abcdef';

describe('control API', () => {
  const view = createFakeView();
  const control = recordingControl();
  const logged: string[] = [];
  let nowMs = 0;
  const auth = new TokenCheck({ source: 'config', value: TOKEN }, () => control.countUnauthorized(), (l) => logged.push(l), () => nowMs);
  let server: HttpServer;
  beforeAll(async () => {
    server = await startHttpServer({ view, port: 0, metrics: new PrometheusExporter(() => view.snapshot()), logger: false, control: { control, auth }, config: () => ({ path: null, config: { pipeline: 'p' } }), uiDir: '/nonexistent-ui' });
  });
  afterAll(async () => server.close());

  const post = (path: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) =>
    fetch(`${server.url}${path}`, body === undefined ? { method: 'POST', headers } : { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  it('no token: 401 with a typed body, counted, nothing applied; logged at most once a second', async () => {
    const before = control.calls.length;
    const res = await post('/api/control/trigger', { threshold: 0.9 }, {});
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'E_REQUEST', message: expect.stringMatching(/no Authorization header/) });
    await post('/api/control/pause', {}, {});
    expect(control.calls.length).toBe(before);
    expect(control.refusedCount()).toBe(2);
    expect(logged.filter((l) => l.startsWith('unauthorized'))).toHaveLength(1);
    nowMs += 1500;
    await post('/api/control/pause', {}, {});
    expect(logged.filter((l) => l.startsWith('unauthorized'))).toHaveLength(2);
    expect(logged.at(-1)).toMatch(/1 more refused since the last line/);
  });

  it('wrong token (same length, one character off, or another scheme): 401, compared with timingSafeEqual on SHA-256 digests', async () => {
    const spy = vi.mocked(crypto.timingSafeEqual);
    spy.mockClear();
    const wrong = TOKEN.slice(0, -1) + (TOKEN.endsWith('f') ? 'e' : 'f');
    expect((await post('/api/control/trigger', { threshold: 0.9 }, { authorization: `Bearer ${wrong}` })).status).toBe(401);
    expect((await post('/api/control/trigger', { threshold: 0.9 }, { authorization: `Basic ${TOKEN}` })).status).toBe(401);
    expect((await post('/api/control/trigger', { threshold: 0.9 }, { authorization: `Bearer ${TOKEN}x` })).status).toBe(401);
    // Two bearer tokens were compared (Basic is not a bearer token), both as 32-byte digests.
    expect(spy).toHaveBeenCalledTimes(2);
    for (const [a, b] of spy.mock.calls) expect([(a as Buffer).length, (b as Buffer).length]).toEqual([32, 32]);
    expect(control.calls).toHaveLength(0);
  });

  it('right token: the change is applied, the answer is its audit entry naming the token source and client; /api/controls shows it', async () => {
    const res = await post('/api/control/trigger', { threshold: 0.9 });
    expect(res.status).toBe(200);
    const entry = (await res.json()) as AuditEntry;
    expect(entry).toMatchObject({ outcome: 'applied', changes: ['trigger.threshold: 0.5 -> 0.9'], who: 'config token from 127.0.0.1' });
    expect(control.calls.at(-1)).toEqual(['trigger', { threshold: 0.9 }, 'config token from 127.0.0.1']);
    expect(((await (await fetch(`${server.url}/api/controls`)).json()) as ControlsState).audit.at(-1)).toEqual(entry);
    expect((await post('/api/control/pause', undefined)).status).toBe(200);
  });

  it('bad bodies: 400 naming the field; a refused change keeps its typed error', async () => {
    const bad = async (path: string, body: unknown) => ((await (await post(path, body)).json()) as { error: { message: string } }).error.message;
    expect(await bad('/api/control/trigger', { threshold: 2 })).toMatch(/body threshold: /);
    expect(await bad('/api/control/trigger', {})).toMatch(/at least one of threshold/);
    expect(await bad('/api/control/trigger', { threshold: 0.4, colour: 'red' })).toMatch(/colour/);
    expect(await bad('/api/control/replay', { speed: 1000 })).toMatch(/body speed: /);
    const refused = await post('/api/control/model', { model: 'zzz' });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({ error: { code: 'E_REQUEST', message: expect.stringContaining('model "zzz" is not loaded') } });
  });

  it('Prometheus-style counting is the control\'s: unauthorized requests reach state()', async () => {
    const before = control.state().unauthorized;
    await post('/api/control/resume', {}, { authorization: 'Bearer nope' });
    expect(control.state().unauthorized).toBe(before + 1);
  });

  it('token sources and the bind rule', () => {
    expect(resolveToken('from-config-0123456', 'from-env')).toEqual({ source: 'config', value: 'from-config-0123456' });
    expect(resolveToken(undefined, 'from-env-0123456789')).toEqual({ source: 'env', value: 'from-env-0123456789' });
    const generated = resolveToken(undefined, '');
    expect(generated.source).toBe('generated');
    expect(Buffer.from(generated.value, 'base64url')).toHaveLength(32);
    expect(resolveToken(undefined, undefined).value).not.toBe(generated.value);
    expect(() => checkBind('0.0.0.0', generated)).toThrow(ConfigError);
    expect(() => checkBind('0.0.0.0', generated)).toThrow(/server\.host.*server\.token/s);
    expect(() => checkBind('192.168.1.5', { source: 'env', value: 'x'.repeat(20) })).not.toThrow();
    expect(() => checkBind('127.0.0.1', generated)).not.toThrow();
    expect(() => checkBind('::1', generated)).not.toThrow();
    expect(bearerToken('bearer abc')).toBe('abc');
    expect(bearerToken('Bearer')).toBeNull();
  });

  describe('OpenAPI', () => {
    let doc: Record<string, any>;
    beforeAll(async () => {
      doc = (await (await fetch(`${server.url}/api/openapi.json`)).json()) as Record<string, any>;
    });

    it('is valid OpenAPI 3.1 (@seriousme/openapi-schema-validator)', async () => {
      const validator = new Validator();
      const result = await validator.validate(doc);
      expect(result.errors ?? []).toEqual([]);
      expect(result.valid).toBe(true);
      expect(validator.version).toBe('3.1');
      expect(doc.components.securitySchemes.bearer).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
    });

    it('documents every route fastify registered, and nothing it did not (bar the routes other parts add)', async () => {
      const registered = registeredRoutes(server);
      const documented = OPERATIONS.map((o) => `${o.method.toUpperCase()} ${o.path}`);
      expect(registered.filter((r) => !documented.includes(r))).toEqual([]);
      const pending = new Set(PENDING_PATHS);
      expect(documented.filter((d) => !registered.includes(d) && !pending.has(d.split(' ')[1]!))).toEqual([]);
      for (const op of OPERATIONS) expect(doc.paths[op.path][op.method]).toBeDefined();
      for (const op of OPERATIONS.filter((o) => o.method === 'post')) expect(doc.paths[op.path].post.security).toEqual([{ bearer: [] }]);
    });

    it('real answers validate against their response schemas (ajv, JSON Schema 2020-12)', async () => {
      const ajv = new Ajv2020({ strict: false });
      const check = async (path: string, component: Parameters<typeof componentSchema>[0], init?: RequestInit) => {
        const body = await (await fetch(`${server.url}${path}`, init)).json();
        const validate = ajv.compile(componentSchema(component));
        expect(validate(body) ? [] : validate.errors, `${path} against ${component}`).toEqual([]);
      };
      await check('/api/controls', 'ControlsState');
      await check('/api/snapshot', 'Snapshot');
      await check('/api/errors', 'ErrorList');
      await check('/healthz', 'Health');
      await check('/api/config', 'Config');
      await check('/api/pipelines', 'PipelineList');
      await check('/api/snapshot?pipeline=nope', 'ErrorBody');
      await check('/api/control/pause', 'AuditEntry', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
      await check('/api/control/pause', 'ErrorBody', { method: 'POST' });
      // A schema that would accept anything is no check: a broken answer must fail it.
      expect(ajv.compile(componentSchema('AuditEntry'))({ atMs: 1, who: 'x', action: 'y', changes: [], outcome: 'maybe', error: null })).toBe(false);
    });
  });
});

/** `METHOD /path` of every route the server registered, in OpenAPI path syntax (the HEAD
 * routes fastify adds beside each GET left out). */
function registeredRoutes(server: HttpServer): string[] {
  const out = new Set<string>();
  for (const r of server.routes()) {
    const [method, url] = r.split(' ') as [string, string];
    if (method !== 'HEAD') out.add(`${method} ${url.replace(/:(\w+)/g, '{$1}').replace(/\*$/, '{file}')}`);
  }
  return [...out].sort();
}
