/**
 * Two pipelines in one real daemon (`hairtrigger run -c cells.yaml -c keywords.yaml`,
 * bin/hairtrigger.js: `make build`): the BCCD cell replay and a looped WAV stream of real
 * "yes" clips, each in its own worker thread with its own trigger log, one server on the
 * first config's port; the on-demand reads (history, latency, model, controls, config) and
 * a refused token cross to the right worker. Both
 * decide frames; `/api/pipelines`, `/healthz` and `/metrics` (a `pipeline` label, each family
 * once) show both; a control change on one, and a SIGHUP reload of its file, leave the other
 * as it was; SIGTERM stops both,
 * each flushing its log. Refused at start: two configs with one name, a second config's
 * server block that differs; a second pipeline that cannot start releases the first's locks.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ControlsState, PipelineSummary } from '../../host/src/server/api-types.js';
import type { HealthReport } from '../../host/src/metrics/health.js';
import type { Snapshot } from '../../host/src/metrics/snapshot.js';
import { sampleValue } from '../../host/src/server/testing.js';
import { startRun, until } from '../support/cli-process.js';
import { readJsonlLog, REPO, SHARED, tempDir, ZOO } from '../support/fixtures.js';

function writeConfig(path: string, lines: string[]): string {
  writeFileSync(path, [...lines, ''].join('\n'));
  return path;
}

/** The BCCD replay of `make run`, looped in real time, its trigger log at `jsonl`. */
function cellsConfig(dir: string, name = 'cells-bccd'): string {
  return writeConfig(join(dir, `${name}.yaml`), [
    `pipeline: ${name}`, `model: ${join(ZOO, 'cells-bccd')}`, 'backend: sim', 'budgetUs: 200',
    `source: { kind: replay, path: ${join(REPO, 'sim', 'recordings', 'cells-bccd-test.arrows')}, pacing: realtime, loop: true }`,
    'trigger: { targets: [WBC], threshold: 0.5, holdoffUs: 20, maxRatePerS: 2000, burst: 4 }',
    `sinks: { jsonl: ${join(dir, `${name}-triggers`)} }`, 'server: { host: 127.0.0.1, port: 0 }',
  ]);
}

/** Real "yes" clips as one WAV stream, looped; no server block (the first config's serves). */
function keywordsConfig(dir: string, model = join(ZOO, 'keywords')): string {
  return writeConfig(join(dir, 'keywords.yaml'), [
    'pipeline: keywords', `model: ${model}`, 'backend: sim', 'budgetUs: 60000000',
    `source: { kind: wav, path: ${join(SHARED, 'audio', 'speech-commands-pico-tinyml-benchmark', 'yes')}, pacing: realtime, loop: true }`,
    'trigger: {}', `sinks: { jsonl: ${join(dir, 'keyword-triggers')} }`,
  ]);
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  expect(res.status, url).toBe(200);
  return (await res.json()) as T;
}

describe('two pipelines in one daemon', () => {
  it('both decide frames; pipelines, health and metrics list both; a control change and a SIGHUP reload stay on their pipeline; SIGTERM flushes both', async () => {
    const dir = tempDir('multi');
    const words = keywordsConfig(dir);
    const d = startRun(['-c', cellsConfig(dir), '-c', words, '--progress-ms', '0']);
    try {
      await until('the token URL in the log', () => /open (http:\/\/\S+)\/#token=(\S+)/.test(d.stderr()), 90_000).catch((err: Error) => {
        throw new Error(`${err.message}\n${d.stderr()}`);
      });
      const [, url, token] = /open (http:\/\/\S+)\/#token=(\S+)/.exec(d.stderr())!;
      expect(d.stderr()).toMatch(/pipelines cells-bccd, keywords .*each in a worker thread/);
      const snap = (p: string) => getJson<Snapshot>(`${url}/api/snapshot?pipeline=${p}`);
      await until('both pipelines to decide frames', async () => {
        const answers = await Promise.all(['cells-bccd', 'keywords'].map((p) => fetch(`${url}/api/snapshot?pipeline=${p}`)));
        if (answers.some((r) => r.status !== 200)) return false;
        const snaps = (await Promise.all(answers.map((r) => r.json()))) as Snapshot[];
        return snaps.every((s) => s.frames > 0);
      }, 90_000);
      expect((await snap('cells-bccd')).model).toMatch(/cells-bccd/);
      expect((await snap('keywords')).model).toMatch(/keywords/);
      // The on-demand reads are requests to that pipeline's worker.
      expect((await getJson<{ name: string }>(`${url}/api/model?pipeline=keywords`)).name).toMatch(/keywords/);
      expect((await getJson<{ name: string }>(`${url}/api/model`)).name).toMatch(/cells-bccd/);
      expect((await getJson<{ t: number[] }>(`${url}/api/history?pipeline=keywords`)).t.length).toBeGreaterThan(0);
      expect((await getJson<{ series: { e2e: { summary: { count: number } } } }>(`${url}/api/latency?pipeline=keywords`)).series.e2e.summary.count).toBeGreaterThan(0);
      // A refused token is counted once per server, by the first pipeline's controls.
      const refused = await fetch(`${url}/api/control/pause?pipeline=keywords`, { method: 'POST', headers: { authorization: 'Bearer wrong' } });
      expect(refused.status).toBe(401);
      expect((await getJson<{ unauthorized: number }>(`${url}/api/server`)).unauthorized).toBe(1);
      expect((await getJson<ControlsState>(`${url}/api/controls`)).unauthorized).toBe(1);
      expect(sampleValue(await (await fetch(`${url}/metrics`)).text(), 'hairtrigger_http_unauthorized_requests_total{pipeline="cells-bccd"}')).toBe(1);
      expect((await getJson<Snapshot>(`${url}/api/snapshot`)).pipeline).toBe('cells-bccd');

      const { pipelines } = await getJson<{ pipelines: PipelineSummary[] }>(`${url}/api/pipelines`);
      expect(pipelines.map((p) => [p.name, p.backend, p.health])).toEqual([['cells-bccd', 'sim', 'up'], ['keywords', 'sim', 'up']]);
      expect(pipelines[0]!.source).toContain('replay');
      expect(pipelines[1]!.source).toContain('wav');
      const health = await getJson<HealthReport>(`${url}/healthz`);
      expect(health.pipelines.map((p) => p.pipeline)).toEqual(['cells-bccd', 'keywords']);

      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(sampleValue(metrics, 'hairtrigger_frames_total{pipeline="cells-bccd"}')).toBeGreaterThan(0);
      expect(sampleValue(metrics, 'hairtrigger_frames_total{pipeline="keywords"}')).toBeGreaterThan(0);
      expect(metrics.split('\n').filter((l) => l === '# TYPE hairtrigger_frames_total counter')).toHaveLength(1);
      expect(metrics.split('\n').filter((l) => l.startsWith('# TYPE process_cpu_user_seconds_total'))).toHaveLength(1);

      const before = await getJson<ControlsState>(`${url}/api/controls?pipeline=cells-bccd`);
      const res = await fetch(`${url}/api/control/trigger?pipeline=keywords`, { method: 'POST', headers: { authorization: `Bearer ${decodeURIComponent(token!)}`, 'content-type': 'application/json' }, body: JSON.stringify({ threshold: 0.93 }) });
      expect(res.status).toBe(200);
      expect((await getJson<ControlsState>(`${url}/api/controls?pipeline=keywords`)).settings.threshold).toBe(0.93);
      const after = await getJson<ControlsState>(`${url}/api/controls?pipeline=cells-bccd`);
      expect(after.settings).toEqual(before.settings);
      expect(after.audit).toEqual(before.audit);
      expect((await fetch(`${url}/api/snapshot?pipeline=jets`)).status).toBe(404);

      // SIGHUP: each pipeline re-reads its own file; only the keyword file changed.
      writeFileSync(words, readFileSync(words, 'utf8').replace('trigger: {}', 'trigger: { threshold: 0.7 }'));
      d.child.kill('SIGHUP');
      await until('the keyword pipeline to reload', async () => (await getJson<ControlsState>(`${url}/api/controls?pipeline=keywords`)).settings.threshold === 0.7, 30_000);
      const reloads = (p: string) => getJson<{ lastReload: { outcome: string; applied: string[] } | null }>(`${url}/api/config?pipeline=${p}`);
      expect((await reloads('keywords')).lastReload).toMatchObject({ outcome: 'ok', applied: ['trigger.threshold: 0.93 -> 0.7'] });
      expect((await reloads('cells-bccd')).lastReload).toMatchObject({ outcome: 'ok', applied: [] });
      expect((await getJson<ControlsState>(`${url}/api/controls?pipeline=cells-bccd`)).settings.threshold).toBe(0.5);

      // Let the cell replay trigger a few times, then stop both.
      await until('cell triggers', async () => (await snap('cells-bccd')).triggers >= 3, 60_000);
      d.child.kill('SIGTERM');
      expect(await d.exited).toBe(0);
      const stops = d.stderr().split('\n').filter((l) => l.includes('stopped (SIGTERM)'));
      expect(stops.map((l) => /\[([\w-]+)\]/.exec(l)?.[1]).sort()).toEqual(['cells-bccd', 'keywords']);
      expect(readJsonlLog(join(dir, 'cells-bccd-triggers')).length).toBeGreaterThanOrEqual(3);
      expect(existsSync(join(dir, 'cells-bccd-triggers.lock'))).toBe(false);
      expect(existsSync(join(dir, 'keyword-triggers.lock'))).toBe(false);
    } finally {
      if (d.child.exitCode === null) d.child.kill('SIGKILL');
    }
  }, 240_000);

  it('refuses two configs with one pipeline name, and a second server block that differs', async () => {
    const dir = tempDir('multi-refused');
    mkdirSync(join(dir, 'other'));
    const same = startRun(['-c', cellsConfig(dir), '-c', cellsConfig(join(dir, 'other'))]);
    expect(await same.exited).toBe(2);
    expect(same.stderr()).toMatch(/other\/cells-bccd\.yaml: pipeline: "cells-bccd" is also the pipeline of \S+\/cells-bccd\.yaml/);
    const words = keywordsConfig(dir);
    writeFileSync(words, `${readFileSync(words, 'utf8')}server: { port: 9999 }\n`);
    const differs = startRun(['-c', cellsConfig(dir), '-c', words]);
    expect(await differs.exited).toBe(2);
    expect(differs.stderr()).toMatch(/keywords\.yaml: server\.port: 9999 differs from \S+cells-bccd\.yaml's 0/);
  }, 60_000);

  it('a second pipeline that cannot start releases what the first took', async () => {
    const dir = tempDir('multi-release');
    const d = startRun(['-c', cellsConfig(dir), '-c', keywordsConfig(dir, join(dir, 'no-such-model'))]);
    expect(await d.exited).toBe(2);
    expect(d.stderr()).toMatch(/no-such-model/);
    expect(existsSync(join(dir, 'cells-bccd-triggers.lock'))).toBe(false);
  }, 90_000);
});
