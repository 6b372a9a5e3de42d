import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { manualClock } from '../host/src/core/clock.js';
import { FrameRing, STAMP } from '../host/src/core/frame.js';
import { limits } from '../host/src/core/limits.js';
import { createRng } from '../host/src/core/rng.js';
import { jsonInSlices } from '../host/src/metrics/history.js';
import { PipelineMetrics } from '../host/src/metrics/pipeline-metrics.js';

/**
 * `node build/bench/history.js` (after `make build`): what the dashboard's history costs off
 * the hot path (issue 13). A `PipelineMetrics` is filled with `limits.historyRows` (3600) one
 * second rows of 2,000 frames each (log-normal latencies, manual clock), then timed:
 * building `/api/history`'s columns from the typed-array ring (once per row, then cached),
 * serialising them (`JSON.stringify`, what each request costs), a snapshot build that closes
 * an interval (the history's extra steps) against one that does not, `/api/latency`'s
 * distributions, and the sliced serialisation the server uses (`jsonInSlices`): its total
 * time and the longest gap it leaves between two turns of the event loop. Medians of `HISTORY_BENCH_RUNS` (default 21). Writes
 * bench/results/history.{json,md}.
 */
const REPO = resolve(new URL('.', import.meta.url).pathname, '..', '..');
const RUNS = Number(process.env.HISTORY_BENCH_RUNS ?? 21);
const FRAMES_PER_S = 2000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function timeMs(f: () => unknown): number {
  const t0 = performance.now();
  f();
  return performance.now() - t0;
}

/** Total ms of `jsonInSlices(value)` and the longest gap between two turns of a setImmediate
 * ticker running beside it (how long the event loop was held at once). */
async function slicedCost(value: unknown): Promise<[number, number]> {
  let longest = 0;
  let last = performance.now();
  let running = true;
  const tick = () => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  const t0 = performance.now();
  await jsonInSlices(value);
  const total = performance.now() - t0;
  running = false;
  return [total, longest];
}

async function main(): Promise<void> {
  const clock = manualClock(1e9);
  const m = new PipelineMetrics({ pipeline: 'bench', backend: 'sim', model: 'm', labels: ['a', 'b'], budgetUs: 100 }, clock, () => clock.nowNs() / 1e6);
  m.deviceLatency({ modelledNs: 4800 });
  const ring = new FrameRing(1, 2, 64);
  const rng = createRng(1);
  const frame = () => {
    const s = ring.acquire();
    const e2e = Math.round(12_000 * Math.exp(0.4 * rng.normal()));
    s.stampsNs[0] = clock.nowNs();
    s.dueNs = s.stampsNs[0];
    for (let k = 1; k <= STAMP.emit; k++) s.stampsNs[k] = s.stampsNs[0] + (e2e * k) / STAMP.emit;
    s.predicted = 0;
    m.recordFrame(s);
  };
  const second = () => {
    for (let q = 0; q < 4; q++) {
      for (let f = 0; f < FRAMES_PER_S / 4; f++) frame();
      clock.advanceNs(250e6);
      m.snapshot();
    }
  };
  for (let r = 0; r < limits.historyRows; r++) second();
  const rows = m.historyColumns().t.length;
  // A snapshot that closes the interval (row appended) against three that do not.
  const withRow: number[] = [];
  const withoutRow: number[] = [];
  const build: number[] = [];
  const serialise: number[] = [];
  const distribution: number[] = [];
  const sliced: number[] = [];
  const slicedGap: number[] = [];
  let bytes = 0;
  for (let i = 0; i < RUNS; i++) {
    for (let q = 0; q < 4; q++) {
      for (let f = 0; f < FRAMES_PER_S / 4; f++) frame();
      clock.advanceNs(250e6);
      (q === 3 ? withRow : withoutRow).push(timeMs(() => m.snapshot()));
    }
    // The first read after a row builds the columns (later reads get the cached object).
    let cols: unknown = null;
    build.push(timeMs(() => (cols = m.historyColumns())));
    serialise.push(timeMs(() => (bytes = JSON.stringify(cols).length)));
    distribution.push(timeMs(() => m.latencyDistribution()));
    const [total, gap] = await slicedCost(cols);
    sliced.push(total);
    slicedGap.push(gap);
  }
  const result = {
    date: new Date().toISOString(), node: process.version, rows, framesPerS: FRAMES_PER_S, runs: RUNS,
    columnsBuildMs: median(build), serialiseMs: median(serialise), jsonBytes: bytes,
    slicedMs: median(sliced), slicedLongestGapMs: median(slicedGap),
    snapshotWithRowMs: median(withRow), snapshotWithoutRowMs: median(withoutRow), latencyDistributionMs: median(distribution),
    heapUsedMB: Math.round(process.memoryUsage().heapUsed / 1e5) / 10,
  };
  const md = [
    '| rows | columns build ms | JSON.stringify ms | jsonInSlices ms (longest loop gap) | JSON bytes | snapshot with row ms | snapshot without ms | /api/latency ms |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${rows} | ${result.columnsBuildMs.toFixed(2)} | ${result.serialiseMs.toFixed(2)} | ${result.slicedMs.toFixed(2)} (${result.slicedLongestGapMs.toFixed(2)}) | ${bytes} | ${result.snapshotWithRowMs.toFixed(2)} | ${result.snapshotWithoutRowMs.toFixed(2)} | ${result.latencyDistributionMs.toFixed(2)} |`,
    '',
  ].join('\n');
  const out = join(REPO, 'bench', 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'history.json'), JSON.stringify(result, null, 2) + '\n');
  writeFileSync(join(out, 'history.md'), md);
  process.stdout.write(md);
}

await main();
