import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * `node build/bench/service.js`: what the systemd unit and the container's health check rely
 * on (issue 12), on the unit's example config (host/service/hairtrigger.yaml with
 * /opt/hairtrigger mapped to this checkout, its StateDirectory to a temporary folder, port
 * 18432): from process start to the server's first answer (503 while the model loads) and to
 * `/healthz` 200; a `/healthz` request's mean time over 200; SIGHUP to the reload's log line;
 * SIGTERM to exit. `SERVICE_BENCH_RUNS` runs (default 3), one JSON line each.
 */
const REPO = resolve(new URL('.', import.meta.url).pathname, '..', '..');
const PORT = 18432;
const HEALTHZ = `http://127.0.0.1:${PORT}/healthz`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function status(): Promise<number | null> {
  try {
    const r = await fetch(HEALTHZ);
    await r.text();
    return r.status;
  } catch {
    return null;
  }
}

async function once(config: string): Promise<Record<string, number>> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [join(REPO, 'bin', 'hairtrigger.js'), 'run', '-c', config, '--progress-ms', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (b) => (err += b));
  const exited = new Promise((r) => child.on('exit', r));
  let serverUpMs = Number.NaN;
  for (let s = await status(); s !== 200; s = await status()) {
    if (s !== null && Number.isNaN(serverUpMs)) serverUpMs = performance.now() - t0;
    await sleep(20);
  }
  const healthyMs = performance.now() - t0;
  const t1 = performance.now();
  for (let i = 0; i < 200; i++) await status();
  const probeMeanMs = (performance.now() - t1) / 200;
  const seen = err.length;
  const t2 = performance.now();
  child.kill('SIGHUP');
  while (!err.slice(seen).includes('reload of')) await sleep(1);
  const sighupToLogMs = performance.now() - t2;
  const t3 = performance.now();
  child.kill('SIGTERM');
  await exited;
  const round = (x: number) => Math.round(x * 10) / 10;
  return { serverUpMs: round(serverUpMs), healthyMs: round(healthyMs), probeMeanMs: round(probeMeanMs), sighupToLogMs: round(sighupToLogMs), sigtermToExitMs: round(performance.now() - t3) };
}

const dir = mkdtempSync(join(tmpdir(), 'ht-service-bench-'));
const config = join(dir, 'hairtrigger.yaml');
const example = readFileSync(join(REPO, 'host', 'service', 'hairtrigger.yaml'), 'utf8');
writeFileSync(config, example.replaceAll('/opt/hairtrigger/', `${REPO}/`).replaceAll('/var/lib/hairtrigger/', `${dir}/`).replace(/port: 8080/, `port: ${PORT}`));
for (let i = 0; i < Number(process.env.SERVICE_BENCH_RUNS ?? 3); i++) process.stdout.write(JSON.stringify(await once(config)) + '\n');
