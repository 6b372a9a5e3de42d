import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfigFile, type PipelineConfig } from '../host/src/config/schema.js';
import { createDaemon, type Daemon } from '../host/src/daemon.js';
import { cumulativeCounts, PROMETHEUS_LE_US } from '../host/src/metrics/history.js';
import { summariseBlocked, summariseUs, type BlockedHistogram } from '../host/src/metrics/latency-summary.js';
import { systemClock } from '../host/src/native/addon.js';
import { realTimers } from '../host/src/sources/source.js';

/**
 * `node build/bench/snapshot-build.js`: what a daemon's snapshot build costs, on the latencies
 * of a real run. A keyword daemon (the wake-word stream in real time, one stream, the student
 * on sim) and a cell daemon (the lymphocyte recording at ~2,000 cells/s on sim) each run
 * `SNAPSHOT_BENCH_S` seconds; then, their sources stopped so the histograms hold still:
 *  - the latency summaries of a snapshot (every series since start and over the recent
 *    window) and the Prometheus counts, walked bucket by bucket (how they were computed before
 *    2026-12-08) against the same with whole blocks added (`BlockedHistogram`), alternating
 *    rounds, median us of a round; the two give the same values (checked here too);
 *  - a whole `metrics.snapshot()`, median us.
 * Writes bench/results/snapshot-build.{json,md}.
 */
const REPO = resolve(new URL('.', import.meta.url).pathname, '..', '..');
const SECONDS = Number(process.env.SNAPSHOT_BENCH_S ?? 5);
const ROUNDS = 31;
/** Repetitions inside a round, so a round takes milliseconds rather than microseconds. */
const REPS = 20;

interface Row {
  pipeline: string;
  frames: number;
  summaries: number;
  walkUs: number;
  blockedUs: number;
  countsWalkUs: number;
  countsBlockedUs: number;
  snapshotUs: number;
}

/** The metrics' histograms: private fields read by name (a bench, not an API). */
interface Inside {
  total: BlockedHistogram[];
  cur: BlockedHistogram[];
  prev: BlockedHistogram[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const r1 = (x: number) => Math.round(x * 10) / 10;

function timeUs(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < REPS; i++) fn();
  return Number(process.hrtime.bigint() - t0) / 1000 / REPS;
}

async function measure(name: string, cfg: PipelineConfig): Promise<Row> {
  cfg.server.enabled = false;
  cfg.sinks = {};
  const d: Daemon = await createDaemon(cfg, { clock: systemClock(), timers: realTimers, log: () => {}, baseDir: REPO, firmwareDir: join(REPO, 'hls', 'build'), onBug: (e) => { throw e; } });
  d.start();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  await d.source.stop();
  d.metrics.snapshot(); // folds what the hot path counted into the histograms
  const m = d.metrics as unknown as Inside;
  const groups = [...m.total.map((x) => [x]), ...m.total.map((_, k) => [m.prev[k]!, m.cur[k]!])];
  const walk = () => groups.map((g) => summariseUs(g.map((x) => x.h), g.reduce((a, x) => a + x.sumNs, 0)));
  const blocked = () => groups.map((g) => summariseBlocked(g));
  if (JSON.stringify(walk()) !== JSON.stringify(blocked())) throw new Error(`${name}: the blocked summaries differ from the walked ones`);
  const countsWalk = () => m.total.map((x) => cumulativeCounts(x.h, PROMETHEUS_LE_US));
  const countsBlocked = () => m.total.map((x) => cumulativeCounts(x.h, PROMETHEUS_LE_US, x.blockCounts));
  if (JSON.stringify(countsWalk()) !== JSON.stringify(countsBlocked())) throw new Error(`${name}: the blocked counts differ from the walked ones`);
  const t = { walk: [] as number[], blocked: [] as number[], cw: [] as number[], cb: [] as number[], snap: [] as number[] };
  for (let r = 0; r < ROUNDS; r++) {
    // Alternating which goes first, so neither always runs on a warmer cache.
    if (r % 2 === 0) {
      t.walk.push(timeUs(walk));
      t.blocked.push(timeUs(blocked));
    } else {
      t.blocked.push(timeUs(blocked));
      t.walk.push(timeUs(walk));
    }
    t.cw.push(timeUs(countsWalk));
    t.cb.push(timeUs(countsBlocked));
    t.snap.push(timeUs(() => d.metrics.snapshot()));
  }
  const frames = d.metrics.frames;
  await d.stop();
  return { pipeline: name, frames, summaries: groups.length, walkUs: r1(median(t.walk)), blockedUs: r1(median(t.blocked)), countsWalkUs: r1(median(t.cw)), countsBlockedUs: r1(median(t.cb)), snapshotUs: r1(median(t.snap)) };
}

async function main(): Promise<void> {
  const kw = loadConfigFile(join(REPO, 'host', 'configs', 'keywords-mic.yaml'));
  kw.pipeline = 'keywords-sim';
  kw.model = join(REPO, 'models', 'zoo', 'keywords');
  kw.backend = 'sim';
  kw.source = { kind: 'wav', path: join(REPO, '..', 'shared', 'data', 'audio', 'mlperf-tiny-wakeword', 'short_wav_easy10s.wav'), pacing: 'realtime', loop: true, chunkSamples: 160, rateHz: 16_000, stream: 'wakeword' };
  const cells = loadConfigFile(join(REPO, 'host', 'configs', 'cells-lymphocyte.yaml'));
  cells.pipeline = 'cells-lymphocyte-sim';
  cells.model = join(REPO, 'models', 'zoo', 'cells-lymphocyte');
  cells.backend = 'sim';
  cells.source = { kind: 'replay', path: join(REPO, 'sim', 'recordings', 'cells-lymphocyte-1k.arrows'), pacing: 'realtime', loop: true };
  const rows = [await measure('keywords-sim', kw), await measure('cells-lymphocyte-sim', cells)];
  const out = join(REPO, 'bench', 'results');
  mkdirSync(out, { recursive: true });
  const meta = { date: new Date().toISOString(), seconds: SECONDS, rounds: ROUNDS, reps: REPS, node: process.version };
  writeFileSync(join(out, 'snapshot-build.json'), JSON.stringify({ meta, rows }, null, 2) + '\n');
  const md = [
    `# hairtrigger snapshot-build bench — ${meta.date}`,
    '',
    `Each daemon ran ${SECONDS} s in real time, then its source stopped. Median of ${ROUNDS} rounds (each ${REPS} repetitions), us: the snapshot's latency summaries (every series since start and over the recent window) and its Prometheus counts, walked bucket by bucket (before 2026-12-08) and with whole blocks of 128 buckets added (\`BlockedHistogram\`; the same values, checked), then a whole \`metrics.snapshot()\` (with the blocks). Command: \`node build/bench/snapshot-build.js\`.`,
    '',
    '| pipeline | frames | summaries | summaries walked | summaries by block | ratio | Prometheus counts walked | by block | ratio | whole metrics snapshot |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.pipeline} | ${r.frames} | ${r.summaries} | ${r.walkUs} | ${r.blockedUs} | ${r1(r.walkUs / r.blockedUs)} | ${r.countsWalkUs} | ${r.countsBlockedUs} | ${r1(r.countsWalkUs / r.countsBlockedUs)} | ${r.snapshotUs} |`),
    '',
  ].join('\n');
  writeFileSync(join(out, 'snapshot-build.md'), md);
  process.stdout.write(md);
  process.exit(0);
}

await main();
