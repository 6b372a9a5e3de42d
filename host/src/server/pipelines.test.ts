/**
 * One server, two pipelines (fake views and recording controls): every per-pipeline route
 * answers for the first without `?pipeline=`, for the one named with it, and 404 (a typed
 * body listing the names) for an unknown name; `/api/pipelines` lists both; the live
 * websocket follows `?pipeline=`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { healthReport, type PipelineHealth } from '../metrics/health.js';
import { PrometheusExporter } from '../metrics/prometheus.js';
import type { Snapshot } from '../metrics/snapshot.js';
import type { ControlsState, PipelineSummary } from './api-types.js';
import { TokenCheck } from './auth.js';
import { startHttpServer, type HttpServer } from './http.js';
import { createFakeView, fakeTrigger, recordingControl } from './testing.js';

const TOKEN = 'test-token-0123456789abcdef';

function health(pipeline: string, up: boolean): PipelineHealth {
  return { pipeline, up, reasons: up ? [] : ['source ended'], state: 'running', source: { kind: 'replay', ended: !up, up, detail: '' }, backend: { kind: 'sim', loaded: true, faulted: false }, frames: 0, failed: 0, lastFrameAgeS: null, errorRatio: 0, windowS: 10 };
}

describe('one server, two pipelines', () => {
  const cells = createFakeView({ pipeline: 'cells', model: 'cells-bccd/student', backend: 'sim', fps: 2000, triggersPerS: 40 });
  const words = createFakeView({ pipeline: 'words', model: 'keywords/student', backend: 'onnx', fps: 50, triggersPerS: 1 });
  const cellsControl = recordingControl();
  const wordsControl = recordingControl();
  let server: HttpServer;

  beforeAll(async () => {
    const auth = new TokenCheck({ source: 'config', value: TOKEN }, () => cellsControl.countUnauthorized(), () => {});
    server = await startHttpServer({
      view: cells, port: 0, logger: false, uiDir: '/nonexistent-ui',
      metrics: new PrometheusExporter(() => cells.snapshot(), { defaultMetrics: false }),
      pipelines: [
        { name: 'cells', view: cells, control: cellsControl, config: () => ({ path: 'cells.yaml', config: { pipeline: 'cells' } }) },
        { name: 'words', view: words, control: wordsControl, config: () => ({ path: 'words.yaml', config: { pipeline: 'words' } }) },
      ],
      health: (uptimeS) => healthReport(uptimeS, [health('cells', true), health('words', false)]),
      control: { control: cellsControl, auth },
    });
  });
  afterAll(async () => server.close());

  const get = async <T>(path: string): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${server.url}${path}`);
    return { status: res.status, body: (await res.json()) as T };
  };

  it('answers for the first pipeline without ?pipeline=, for the named one with it', async () => {
    expect((await get<Snapshot>('/api/snapshot')).body.pipeline).toBe('cells');
    expect((await get<Snapshot>('/api/snapshot?pipeline=words')).body.pipeline).toBe('words');
    expect((await get<Snapshot>('/api/snapshot?pipeline=cells')).body.pipeline).toBe('cells');
    expect((await get<{ path: string }>('/api/config?pipeline=words')).body.path).toBe('words.yaml');
    expect((await get<{ path: string }>('/api/config')).body.path).toBe('cells.yaml');
    words.errors.push({ atMs: 1, code: 'E_FRAME_SHAPE', where: 'decode', message: 'short frame' });
    expect((await get<{ errors: unknown[] }>('/api/errors?pipeline=words')).body.errors).toHaveLength(1);
    expect((await get<{ errors: unknown[] }>('/api/errors')).body.errors).toHaveLength(0);
    words.modelView = { ...words.modelView, name: 'keywords' };
    expect((await get<{ name: string }>('/api/model?pipeline=words')).body.name).toBe('keywords');
    expect((await get<{ name: string }>('/api/model')).body.name).not.toBe('keywords');
  });

  it('an unknown name is a 404 whose typed body lists the pipelines, on every per-pipeline route', async () => {
    for (const path of ['/api/snapshot', '/api/errors', '/api/history', '/api/latency', '/api/triggers/r/1', '/api/model', '/api/controls', '/api/config', '/ws']) {
      const { status, body } = await get<{ error: { code: string; message: string } }>(`${path}?pipeline=nope`);
      expect(status, path).toBe(404);
      expect(body.error.code, path).toBe('E_REQUEST');
      expect(body.error.message, path).toMatch(/no pipeline "nope"; this daemon runs cells, words/);
    }
    const res = await fetch(`${server.url}/api/control/pause?pipeline=nope`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(404);
    expect(cellsControl.calls.length + wordsControl.calls.length).toBe(0);
  });

  it('a control change reaches only the pipeline named', async () => {
    const res = await fetch(`${server.url}/api/control/trigger?pipeline=words`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ threshold: 0.8 }) });
    expect(res.status).toBe(200);
    expect(wordsControl.calls.map((c) => c[0])).toEqual(['trigger']);
    expect(cellsControl.calls).toEqual([]);
    expect((await get<ControlsState>('/api/controls?pipeline=words')).body.audit).toHaveLength(1);
    expect((await get<ControlsState>('/api/controls')).body.audit).toHaveLength(0);
  });

  it('GET /api/pipelines lists both, in order, with their identity, rates and health', async () => {
    const { status, body } = await get<{ pipelines: PipelineSummary[] }>('/api/pipelines');
    expect(status).toBe(200);
    expect(body.pipelines).toEqual([
      { name: 'cells', source: cells.current.settings?.source ?? 'replay', backend: 'sim', model: 'cells-bccd/student', fps: 2000, triggersPerS: 40, health: 'up' },
      { name: 'words', source: words.current.settings?.source ?? 'replay', backend: 'onnx', model: 'keywords/student', fps: 50, triggersPerS: 1, health: 'down' },
    ]);
  });

  it('/ws?pipeline= greets with that pipeline and carries its triggers only', async () => {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws?pipeline=words`);
    const messages: Array<{ type: string; snapshot?: Snapshot; events?: Array<{ seq: number }> }> = [];
    ws.on('message', (data) => messages.push(JSON.parse(String(data))));
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    await expect.poll(() => messages.length, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(messages[0]!.type).toBe('hello');
    expect(messages[0]!.snapshot!.pipeline).toBe('words');
    cells.emitTriggers([fakeTrigger(1)]);
    words.emitTriggers([fakeTrigger(2)]);
    await expect.poll(() => messages.some((m) => m.type === 'triggers'), { timeout: 10_000 }).toBe(true);
    ws.close();
    expect(messages.filter((m) => m.type === 'triggers').flatMap((m) => m.events!.map((e) => e.seq))).toEqual([2]);
  });
});
