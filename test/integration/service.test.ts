/**
 * Running as a service (issue 12): real `hairtrigger run` processes (bin/hairtrigger.js, the
 * compiled CLI: `make build`). `/healthz` up and down as the source delivers, stalls or fails,
 * with the shipped health check script; SIGHUP reloads (applied, refused, restart needed);
 * SIGTERM with a live TCP source decides and logs every frame the daemon accepted.
 */
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCapture } from '../../host/src/capture/arrow-capture.js';
import type { HealthReport } from '../../host/src/metrics/health.js';
import { startRun, until } from '../support/cli-process.js';
import { lymphocyteCapture, readJsonlLog, REPO, tempDir, ZOO } from '../support/fixtures.js';

const HEALTHCHECK = join(REPO, 'host', 'service', 'healthcheck.mjs');

/** The server URL the daemon logged (it was started with --port 0). */
async function serverUrl(stderr: () => string): Promise<string> {
  await until('the dashboard URL in the log', () => /dashboard on (http:\/\/\S+)\//.test(stderr()));
  return /dashboard on (http:\/\/\S+)\//.exec(stderr())![1]!;
}

async function health(url: string): Promise<{ status: number; body: HealthReport }> {
  const res = await fetch(`${url}/healthz`);
  return { status: res.status, body: (await res.json()) as HealthReport };
}

/** The shipped health check script's exit status against `url`. */
function healthcheck(url: string): number | null {
  return spawnSync(process.execPath, [HEALTHCHECK, '--url', `${url}/healthz`], { encoding: 'utf8', timeout: 30_000 }).status;
}

/** Sends the capture file's bytes (an Arrow stream of frames) over a new connection; resolves once written. */
async function sendCapture(port: number, capture: string): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  // The daemon resets the connection when it stops (SIGTERM): expected, not a failure.
  socket.on('error', () => {});
  await new Promise<void>((res, rej) => socket.write(readFileSync(capture), (err) => (err ? rej(err) : res())));
  return socket;
}

/** A `run` config: the lymphocyte student on sim (or `engine`), triggers on B, one JSON-lines log. */
function writeConfig(path: string, source: string, jsonl: string, trigger = '{ targets: [B], threshold: 0.5, maxRatePerS: 1000000, burst: 1000000 }', health = '', engine = 'backend: sim'): void {
  writeFileSync(path, [
    `model: ${join(ZOO, 'cells-lymphocyte')}`, engine, 'budgetUs: 60000000',
    `source: ${source}`, `trigger: ${trigger}`, `sinks: { jsonl: ${jsonl} }`,
    `server: { host: 127.0.0.1, port: 0${health} }`, '',
  ].join('\n'));
}

/** A capture of `frames` lymphocyte frames and a `run` config reading such frames from TCP (`listen` on a free port, policy block). */
async function tcpSetup(prefix: string, frames: number, health: string, engine?: string): Promise<{ capture: string; jsonl: string; config: string }> {
  const dir = tempDir(prefix);
  const capture = await lymphocyteCapture(dir, frames);
  const spec = readCapture(capture).spec;
  const jsonl = join(dir, 't.jsonl');
  const config = join(dir, 'run.yaml');
  const source = `{ kind: stream, listen: '127.0.0.1:0', stream: ${spec.stream}, shape: [${spec.shape.join(', ')}], dtype: ${spec.dtype}, labels: [${spec.labels!.join(', ')}], queue: { policy: block } }`;
  writeConfig(config, source, jsonl, undefined, health, engine);
  return { capture, jsonl, config };
}

describe('hairtrigger run as a service', () => {
  it('/healthz: 503 before frames, 200 while they flow, 503 once the source is quiet past frameAgeMaxS; the health check script agrees', async () => {
    const { capture, config } = await tcpSetup('svc-health', 2000, ', health: { frameAgeMaxS: 1 }');
    const d = startRun(['-c', config, '--progress-ms', '0']);
    try {
      const url = await serverUrl(d.stderr);
      await until('the pipeline to run', async () => (await health(url)).body.pipelines[0]!.state === 'running');
      const first = await health(url);
      expect(first.status).toBe(503);
      expect(first.body.pipelines[0]!.reasons).toEqual(['no frame yet (server.health.frameAgeMaxS 1 s)']);
      const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(first.body.pipelines[0]!.source.detail)![1]);
      expect(healthcheck(url)).toBe(1);

      const socket = await sendCapture(port, capture);
      await until('/healthz 200 while frames flow', async () => (await health(url)).status === 200);
      expect(healthcheck(url)).toBe(0);
      // The capture is done and the connection stays open but quiet: down after a second.
      await until('/healthz 503 on a quiet source', async () => (await health(url)).status === 503, 30_000);
      const quiet = await health(url);
      expect(quiet.body.status).toBe('down');
      expect(quiet.body.pipelines[0]!.frames).toBe(2000);
      expect(quiet.body.pipelines[0]!.reasons[0]).toMatch(/^last frame [\d.]+ s ago, more than server\.health\.frameAgeMaxS 1 s$/);
      socket.destroy();
      d.child.kill('SIGTERM');
      expect(await d.exited).toBe(0);
    } finally {
      d.child.kill('SIGKILL');
    }
  }, 120_000);

  it('SIGTERM with frames queued behind a slow model: every frame the daemon accepted is decided and logged', async () => {
    // The float teacher (1.1 M parameters) on onnx takes milliseconds a frame: the frames sent
    // arrive far faster than they are decided, so the ingress queue holds hundreds at SIGTERM.
    const { capture, jsonl, config } = await tcpSetup('svc-term', 1000, '', 'variant: teacher\nbackend: onnx');
    const d = startRun(['-c', config, '--progress-ms', '0']);
    try {
      const url = await serverUrl(d.stderr);
      await until('the pipeline to run', async () => (await health(url)).body.pipelines[0]!.state === 'running');
      const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec((await health(url)).body.pipelines[0]!.source.detail)![1]);
      await sendCapture(port, capture);
      await until('the first frames decided', async () => (await health(url)).body.pipelines[0]!.frames > 0);
      d.child.kill('SIGTERM');
      expect(await d.exited).toBe(0);
      const stop = /stopped \(SIGTERM\): frames (\d+) .*triggers (\d+) .*dropped (\d+) .*; ingress accepted (\d+), delivered (\d+), dropped (\d+); trigger log flushed \((\d+) triggers written/.exec(d.stderr());
      expect(stop, d.stderr()).not.toBeNull();
      const [frames, triggers, failed, accepted, delivered, refused, written] = stop!.slice(1).map(Number);
      expect(refused).toBe(0);
      expect(delivered).toBe(accepted);
      expect(frames! + failed!).toBe(delivered);
      expect(accepted).toBeGreaterThan(0);
      expect(written).toBe(triggers);
      expect(readJsonlLog<{ kind: string }>(jsonl).filter((r) => r.kind === 'trigger')).toHaveLength(triggers!);
    } finally {
      d.child.kill('SIGKILL');
    }
  }, 120_000);

  it('/healthz: 503 naming the failed source when it cannot listen', async () => {
    const dir = tempDir('svc-fail');
    const taken = createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const port = (taken.address() as { port: number }).port;
    const spec = readCapture(await lymphocyteCapture(dir, 10)).spec;
    const config = join(dir, 'run.yaml');
    writeConfig(config, `{ kind: stream, listen: '127.0.0.1:${port}', stream: ${spec.stream}, shape: [${spec.shape.join(', ')}], dtype: ${spec.dtype} }`, join(dir, 't.jsonl'));
    const d = startRun(['-c', config, '--progress-ms', '0']);
    try {
      const url = await serverUrl(d.stderr);
      await until('the source to fail', async () => (await health(url)).body.pipelines[0]!.source.up === false);
      const h = await health(url);
      expect(h.status).toBe(503);
      expect(h.body.pipelines[0]!.reasons).toEqual([`source stream: cannot listen on 127.0.0.1:${port}: listen EADDRINUSE: address already in use 127.0.0.1:${port}`]);
      d.child.kill('SIGTERM');
      expect(await d.exited).toBe(0);
    } finally {
      d.child.kill('SIGKILL');
      taken.close();
    }
  }, 60_000);

  it('SIGHUP applies a new threshold to the triggers after it, refuses a broken config keeping the old one, and reports restart-only changes', async () => {
    const dir = tempDir('svc-hup');
    const capture = await lymphocyteCapture(dir, 500);
    const jsonl = join(dir, 't.jsonl');
    const config = join(dir, 'run.yaml');
    const source = (pacing: string) => `{ kind: replay, path: ${capture}, pacing: ${pacing}, loop: true }`;
    const trigger = (threshold: number | string) => `{ targets: [B], threshold: ${threshold}, maxRatePerS: 1000000, burst: 1000000 }`;
    writeConfig(config, source('x4'), jsonl, trigger(0.5));
    const d = startRun(['-c', config, '--progress-ms', '0']);
    const records = () => readJsonlLog<{ kind: string; score: number; seq: number }>(jsonl).filter((r) => r.kind === 'trigger');
    try {
      const url = await serverUrl(d.stderr);
      const inForce = async () => ((await (await fetch(`${url}/api/config`)).json()) as { config: { trigger: { threshold: number } }; reloads: { ok: number; refused: number } });
      await until('/api/config', async () => (await fetch(`${url}/api/config`)).status === 200);
      expect((await inForce()).config.trigger.threshold).toBe(0.5);
      await until('50 triggers', () => records().length >= 50);

      writeConfig(config, source('x4'), jsonl, trigger(0.9));
      d.child.kill('SIGHUP');
      await until('the reload', () => /reload of .*run\.yaml: applied trigger\.threshold: 0\.5 -> 0\.9 \(in force from frame \d+\)/.test(d.stderr()));
      // The replay numbers frames from 0 on, across loops: frame `from` is the first the new threshold decided.
      const from = Number(/in force from frame (\d+)/.exec(d.stderr())![1]);
      expect(await inForce()).toMatchObject({ config: { trigger: { threshold: 0.9 } }, reloads: { ok: 1, refused: 0 } });
      expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/^hairtrigger_config_reloads_total\{outcome="ok"\} 1$/m);
      await until('50 triggers after the reload', () => records().filter((r) => r.seq >= from).length >= 50);

      writeConfig(config, source('x4'), jsonl, trigger(2));
      d.child.kill('SIGHUP');
      await until('the refusal', () => /reload of .*run\.yaml refused; the config in force stays: E_CONFIG at .*run\.yaml: trigger\.threshold: value 2/.test(d.stderr()));
      expect(await inForce()).toMatchObject({ config: { trigger: { threshold: 0.9 } }, reloads: { ok: 1, refused: 1 } });
      expect((await health(url)).status).toBe(200);

      writeConfig(config, source('x2'), jsonl, trigger(0.9));
      d.child.kill('SIGHUP');
      await until('the restart notice', () => /reload of .*run\.yaml: nothing reloadable changed; changed, restart needed \(not applied\): source/.test(d.stderr()));
      const after = records().length;
      await until('more triggers after the refused and the restart-only reloads', () => records().length >= after + 20);
      d.child.kill('SIGTERM');
      expect(await d.exited).toBe(0);
      const all = records();
      // The old threshold let through triggers the new one would not have; after the reload none.
      expect(all.filter((r) => r.seq < from).some((r) => r.score < 0.9)).toBe(true);
      expect(all.filter((r) => r.seq >= from).every((r) => r.score >= 0.9)).toBe(true);
      expect(all.filter((r) => r.seq >= from).length).toBeGreaterThan(70);
    } finally {
      d.child.kill('SIGKILL');
    }
  }, 120_000);
});
