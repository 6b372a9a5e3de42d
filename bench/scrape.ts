import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { validateConfig } from '../host/src/config/schema.js';
import { createDaemon, type Daemon } from '../host/src/daemon.js';
import { PrometheusExporter } from '../host/src/metrics/prometheus.js';
import type { DaemonView } from '../host/src/metrics/snapshot.js';
import { systemClock } from '../host/src/native/addon.js';
import { startHttpServer } from '../host/src/server/http.js';
import { realTimers } from '../host/src/sources/source.js';

/**
 * `node build/bench/scrape.js`: what scraping costs the hot path (issue 9). The recorded
 * lymphocyte stream, looped at its own rate of about 2,000 cells/s (realtime pacing, sim
 * backend, 1 ms budget), runs for
 * `SCRAPE_BENCH_S` seconds per case while a separate process scrapes the daemon's HTTP
 * server: nobody; `/healthz` twice, 10 times a second (the control); `/metrics` and
 * `/api/snapshot` 10 times a second each; 16 concurrent
 * `/api/snapshot` requests once a second. Each scraped case runs twice: against the
 * published snapshot (what the daemon serves) and against a view that builds a snapshot
 * per request (how the daemon served before). Reports late frames, e2e p99 and request
 * latencies (ms, p50/p99, measured by the scraper). Writes bench/results/scrape.{json,md}.
 */
const REPO = resolve(new URL('.', import.meta.url).pathname, '..', '..');
const SECONDS = Number(process.env.SCRAPE_BENCH_S ?? 20);
const RATE_HZ = 2000;

type Load = 'none' | 'healthz-10hz' | 'scrape-10hz' | 'concurrent-16';
interface Case {
  load: Load;
  serving: 'published' | 'per-request';
}
const CASES: Case[] = [
  { load: 'none', serving: 'published' },
  // The control: as many requests, to a route that reads no snapshot (what any request and
  // the scraper process cost on this machine).
  { load: 'healthz-10hz', serving: 'published' },
  { load: 'scrape-10hz', serving: 'published' },
  { load: 'scrape-10hz', serving: 'per-request' },
  { load: 'concurrent-16', serving: 'published' },
  { load: 'concurrent-16', serving: 'per-request' },
];

/** The scraper, in its own process so its parsing does not run on the daemon's event loop. */
const SCRAPER = `
const [url, load, seconds] = process.argv.slice(1);
const ms = [];
const get = async (path) => { const t = performance.now(); const r = await fetch(url + path); await r.arrayBuffer(); ms.push(performance.now() - t); };
const end = Date.now() + Number(seconds) * 1000;
while (Date.now() < end) {
  const t = Date.now();
  if (load === 'scrape-10hz') await Promise.all([get('/metrics'), get('/api/snapshot')]);
  else if (load === 'healthz-10hz') await Promise.all([get('/healthz'), get('/healthz')]);
  else await Promise.all(Array.from({ length: 16 }, () => get('/api/snapshot')));
  await new Promise((r) => setTimeout(r, Math.max(0, (load === 'concurrent-16' ? 1000 : 100) - (Date.now() - t))));
}
process.stdout.write(JSON.stringify(ms));
`;

interface Result extends Case {
  seconds: number;
  frames: number;
  late: number;
  budgetViolations: number;
  e2eP99Us: number;
  /** The daemon's event-loop delay (ms), p99 and max: how long anything waited for the loop. */
  loopDelayMs: { p99: number; max: number };
  requests: number;
  requestMs: { p50: number; p99: number; max: number } | null;
}

async function runCase(c: Case): Promise<Result> {
  const cfg = validateConfig({
    pipeline: 'scrape-bench', model: 'models/zoo/cells-lymphocyte', backend: 'sim', budgetUs: 1000,
    // The recorded stream (about 2,040 cells/s) rather than the synthetic generator, whose
    // image synthesis per frame would itself compete for the CPU being measured.
    source: { kind: 'replay', path: 'sim/recordings/cells-lymphocyte-1k.arrows', pacing: 'realtime', loop: true, frames: RATE_HZ * SECONDS },
    trigger: { targets: ['B'] }, server: { enabled: false },
  });
  const d = await createDaemon(cfg, { clock: systemClock(), timers: realTimers, log: () => {}, baseDir: REPO, onBug: (e) => { throw e; } });
  const view = c.serving === 'published' ? d.view : perRequestView(d);
  const server = await startHttpServer({ view, port: 0, metrics: new PrometheusExporter(() => view.snapshot()), logger: false });
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  d.start();
  const scraped = c.load === 'none' ? Promise.resolve([] as number[]) : scrape(server.url, c.load);
  await d.sourceDone;
  loop.disable();
  const ms = await scraped;
  await d.stop();
  await server.close();
  const s = d.view.snapshot();
  return { ...c, seconds: SECONDS, frames: s.frames, late: s.late, budgetViolations: s.budgetViolations, e2eP99Us: s.e2eUs.p99, loopDelayMs: { p99: round3(loop.percentile(99) / 1e6), max: round3(loop.max / 1e6) }, requests: ms.length, requestMs: ms.length === 0 ? null : quantiles(ms) };
}

/** The daemon as it served before issue 9: a whole snapshot built for every request. */
function perRequestView(d: Daemon): DaemonView {
  return { ...d.view, snapshot: () => d.metrics.snapshot(), snapshotJson: () => JSON.stringify(d.metrics.snapshot()) };
}

function scrape(url: string, load: Load): Promise<number[]> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', SCRAPER, url, load, String(SECONDS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    child.on('error', rej);
    child.on('close', (code) => (code === 0 ? res(JSON.parse(out) as number[]) : rej(new Error(`scraper exited ${code}`))));
  });
}

function quantiles(ms: number[]): { p50: number; p99: number; max: number } {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))]! * 1000) / 1000;
  return { p50: at(0.5), p99: at(0.99), max: at(1) };
}

interface ServeCost {
  /** Median ms of one request's synchronous work, and of a snapshot build and its longest step. */
  publishedJsonMs: number;
  publishedMetricsMs: number;
  perRequestJsonMs: number;
  perRequestMetricsMs: number;
  buildMs: number;
  buildStepMaxMs: number;
  buildSteps: number;
}

/**
 * What one request costs the event loop, measured in-process (less at the mercy of a loaded
 * machine than request latencies): after 100,000 frames at max pacing, the median of 200
 * calls of each way of answering, and of building a snapshot in steps.
 */
async function serveCost(): Promise<ServeCost> {
  const cfg = validateConfig({
    pipeline: 'scrape-bench', model: 'models/zoo/cells-lymphocyte', backend: 'sim', budgetUs: 1000,
    source: { kind: 'synthetic', seed: 7, rateHz: RATE_HZ, pacing: 'max', frames: 100_000 },
    trigger: { targets: ['B'] }, server: { enabled: false },
  });
  const d = await createDaemon(cfg, { clock: systemClock(), timers: realTimers, log: () => {}, baseDir: REPO, onBug: (e) => { throw e; } });
  d.start();
  await d.sourceDone;
  const published = new PrometheusExporter(() => d.view.snapshot());
  const perRequest = new PrometheusExporter(() => d.metrics.snapshot());
  await published.metricsText();
  const steps: number[] = [];
  const cost: ServeCost = {
    publishedJsonMs: await medianMs(() => d.view.snapshotJson()),
    publishedMetricsMs: await medianMs(() => published.metricsText()),
    perRequestJsonMs: await medianMs(() => JSON.stringify(d.metrics.snapshot())),
    perRequestMetricsMs: await medianMs(() => perRequest.metricsText()),
    buildMs: await medianMs(() => {
      const b = d.metrics.beginSnapshot();
      let n = 0;
      for (let done = false; !done; n++) {
        const t = performance.now();
        done = b.step();
        steps.push(performance.now() - t);
      }
      b.result();
      return n;
    }),
    buildStepMaxMs: 0,
    buildSteps: 0,
  };
  // The most expensive step, typically: per step index the median over the builds, then the
  // largest of those (a maximum over all steps would measure preemption on a busy machine).
  cost.buildSteps = steps.length / 201;
  const byIndex = Array.from({ length: cost.buildSteps }, (_, k) => steps.filter((_, i) => i % cost.buildSteps === k).sort((x, y) => x - y));
  cost.buildStepMaxMs = round3(Math.max(...byIndex.map((xs) => xs[xs.length >> 1]!)));
  await d.stop();
  return cost;
}

async function medianMs(f: () => unknown): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < 201; i++) {
    const t = performance.now();
    await f();
    ms.push(performance.now() - t);
  }
  return round3(ms.sort((a, b) => a - b)[100]!);
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

function costMarkdown(c: ServeCost): string {
  return [
    '',
    'Synchronous work per request, in process (median of 201, ms rounded to the microsecond), after 100,000 frames:',
    '',
    '| answer | published snapshot | built per request |',
    '| --- | --- | --- |',
    `| /api/snapshot body | ${c.publishedJsonMs} | ${c.perRequestJsonMs} |`,
    `| /metrics text | ${c.publishedMetricsMs} | ${c.perRequestMetricsMs} |`,
    '',
    `A snapshot build (on the daemon's timer, every snapshotIntervalMs): ${c.buildMs} ms in ${c.buildSteps} steps, the most expensive step ${c.buildStepMaxMs} ms (median over the builds).`,
    '',
  ].join('\n');
}

function markdown(rs: Result[]): string {
  const rows = rs.map((r) => `| ${r.load} | ${r.serving} | ${r.frames} | ${r.late} | ${r.budgetViolations} | ${r.e2eP99Us} | ${r.loopDelayMs.p99} / ${r.loopDelayMs.max} | ${r.requests} | ${r.requestMs?.p50 ?? '–'} | ${r.requestMs?.p99 ?? '–'} | ${r.requestMs?.max ?? '–'} |`);
  return [
    `# Scrape cost (bench/scrape.ts): recorded lymphocytes replayed at ~${RATE_HZ}/s, sim backend, 1 ms budget, ${SECONDS} s per case`,
    '',
    '| load | serving | frames | late | over budget | e2e p99 us | loop delay p99 / max ms | requests | request p50 ms | request p99 ms | request max ms |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

const cost = await serveCost();
process.stderr.write(`${JSON.stringify(cost)}\n`);
const results: Result[] = [];
for (const c of CASES) {
  const r = await runCase(c);
  process.stderr.write(`${JSON.stringify(r)}\n`);
  results.push(r);
}
const dir = join(REPO, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const md = markdown(results) + costMarkdown(cost);
writeFileSync(join(dir, 'scrape.json'), JSON.stringify({ serveCost: cost, runs: results }, null, 2) + '\n');
writeFileSync(join(dir, 'scrape.md'), md);
process.stdout.write(md);
