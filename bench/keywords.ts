/**
 * Keyword spotting performance (issue 11): the shipped microphone pipeline
 * (host/configs/keywords-mic.yaml: MFCC front end, DS-CNN student, detector) fed by a `wav`
 * source of MLPerf Tiny's 10 s wake-word stream, looped, through `createDaemon` as a config
 * builds it. Every measurement runs in a child process pinned to one core (`taskset -c 1`, or
 * KW_BENCH_CORE; all its threads: V8's, onnxruntime's worker), so "per core" means one core.
 *
 * * one stream in real time, on `sim` and on `onnx` side by side: per-hop latency from each
 *   model frame's due time (when the last sample of its newest window was played), end to end
 *   and the front end (`preprocess` stage: window + MFCC + model frame) and inference apart,
 *   p50/p99/p99.9/max; and the real-time factor at `max` pace (wall time over audio time);
 * * N concurrent streams on `sim`, one daemon each in one process, started at phases spread
 *   over a hop (independent microphones), paced on timers only (`spinWindowUs: 0`), N stepped up (doubling, then halving the gap): the
 *   largest N at which no hop of any stream missed its 20 ms budget (from due to trigger
 *   write) over `KW_BENCH_SECONDS` (default 5) in the steady state (metrics reset once the
 *   49-hop fill and the start-up are `SETTLE_S` behind: `FILL_S + SETTLE_S` after the start), with
 *   inference every hop and every 2nd hop (the card's `preprocessing.stride`).
 *
 * Standalone: `node build/bench/keywords.js` after `make build` and `make firmware` (writes
 * bench/results/keywords.{json,md}); `make bench` runs it through `bench/run.ts`.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigFile, type PipelineConfig } from '../host/src/config/schema.js';
import { createDaemon, type Daemon } from '../host/src/daemon.js';
import type { LatencySummaryUs, Snapshot } from '../host/src/metrics/snapshot.js';
import { systemClock } from '../host/src/native/addon.js';
import { limits } from '../host/src/core/limits.js';
import { realTimers, type TimerScheduler } from '../host/src/sources/source.js';
import { CHUNK_SAMPLES_DEFAULT } from '../host/src/modalities/audio/sources/pcm.js';
import { measureNoise, type NoiseFloor } from './noise.js';
import { loadSimBackend } from '../host/src/backends/sim.js';
import { readModelCard } from '../host/src/model/card.js';
import { mfccSpecSchema } from '../host/src/modalities/audio/mfcc.js';
import { feed } from '../host/src/modalities/audio/testing.js';
import { readWav } from '../host/src/modalities/audio/wav.js';

const REPO = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const STREAM = join(REPO, '..', 'shared', 'data', 'audio', 'mlperf-tiny-wakeword', 'short_wav_easy10s.wav');
const CONFIG = join(REPO, 'host', 'configs', 'keywords-mic.yaml');
/** The core every measurement is pinned to (KW_BENCH_CORE: another when this one is busy). */
const CORE = String(Number(process.env.KW_BENCH_CORE ?? 1));
/** KW_BENCH_NICE=N (e.g. -10; below 0 needs root): every child at that nice level, so on a
 * shared machine other work at the default level takes a small share of the bench's core
 * (SCHED_FIFO is no use here: a child that spins starves node's own threads on its core).
 * Unset: the default level, a quiet core assumed. */
const NICE = process.env.KW_BENCH_NICE === undefined ? null : Number(process.env.KW_BENCH_NICE);
const HOP_US = 20_000;
/** Audio microseconds in one delivered chunk (a source counts chunks, not hops: two a hop by default). */
const CHUNK_US = (CHUNK_SAMPLES_DEFAULT / 16_000) * 1e6;
const SECONDS = Number(process.env.KW_BENCH_SECONDS ?? 5);
/** The front end's 49-hop fill: no model frame before it. */
const FILL_S = 1;
/** N streams: seconds after the fill before the measurement (metrics reset), for the start-up
 * to clear: each daemon builds its first snapshot as it starts (a few ms), so starting a few
 * hundred at once backs the first ones up by up to a second, which is not the steady state. */
const SETTLE_S = 2;
/** Seconds of the noise-floor spin on the bench's core, long enough to meet the host's rarer long stalls. */
const NOISE_S = 10;
const STREAMS_START = 50;
const STREAMS_MAX = Number(process.env.KW_BENCH_STREAMS_MAX ?? 400); // each daemon holds ~10 MiB: 400 are 4 GiB on a shared 23 GiB VM
/** Child processes' extra bytes of resident memory beyond which N stops growing (each daemon holds its rings). */
const RSS_BYTES_MAX = 8 * 2 ** 30;

type Backend = 'sim' | 'onnx';
type Percentiles = { p50: number; p99: number; p999: number; max: number };

/** One stream in real time, and its real-time factor at max pace. */
/** One keyword student's inference alone on sim, whole windows against sliding ones, back to back. */
export interface KeywordInferenceRun {
  model: string;
  cadenceHops: number;
  windows: number;
  /** Median over rounds of the mean us an inference (each round: every window of the stream once). */
  wholeUs: number;
  slidingUs: number;
  /** Windows the sliding stream computed from an earlier one (of `windows`, per round). */
  reused: number;
  /** When (ISO time): KW_BENCH_ONLY=inference reruns this part alone, into an earlier run's file. */
  measuredAt?: string;
}

export interface KeywordSingleRun {
  pipeline: string;
  backend: Backend;
  streams: 1;
  hopUs: number;
  cadenceHops: number;
  seconds: number;
  hops: number;
  e2eUs: Percentiles;
  /** The two parts of end to end: due to ingest (the arrival of the chunk that completes the
   * window: chunks of 160 samples, the default, end where windows end) and ingest to trigger write. */
  queueUs: Percentiles;
  serviceUs: Percentiles;
  frontEndUs: Percentiles;
  inferUs: Percentiles;
  late: number;
  budgetViolations: number;
  triggers: number;
  /** Wall seconds per second of audio at `max` pace (one stream, one core). */
  realTimeFactor: number;
  /** CPU seconds (all the process's threads) per second of audio at `max` pace: what a loaded
   * machine disturbs least. 1 / it bounds the streams one core could carry at this cadence. */
  cpuRealTimeFactor: number;
  streamsPerCoreByCpu: number;
}

/** N streams at once on one core. */
export interface KeywordStreamsRun {
  pipeline: string;
  backend: Backend;
  streams: number;
  hopUs: number;
  cadenceHops: number;
  /** Each daemon published its snapshot (twice a second) as a daemon does; false: never. */
  snapshots: boolean;
  /** The sim backend's sliding windows (config `sim.slidingWindows`): a window recomputes only
   * the rows of the network a new frame changes; false: every window whole, as before them. */
  slidingWindows: boolean;
  seconds: number;
  /** Model frames of all streams. */
  hops: number;
  /** Every hop of every stream finished within `hopUs` of its due time (and none late or dropped). */
  ok: boolean;
  budgetViolations: number;
  late: number;
  dropped: number;
  /** Over streams: the median of each stream's p50, the largest p99, p99.9 and max. */
  e2eUs: Percentiles;
  queueUs: Percentiles;
  serviceUs: Percentiles;
  frontEndUs: Percentiles;
  inferUs: Percentiles;
  /** CPU seconds of the process per wall second (1 = the whole core). */
  coreLoad: number;
  /** Resident memory the N daemons added (their frame and trigger rings, histograms). */
  rssMiB: number;
  /** CPU microseconds of the process per hop (20 ms of one stream: two 10 ms chunks; its share of the
   * timers and snapshots included), and the streams one core could carry at that cost. */
  cpuUsPerHop: number;
  streamsPerCoreByCpu: number;
}

export interface KeywordResults {
  meta: Record<string, unknown>;
  /** Per student and cadence, us an inference alone, whole windows against sliding (absent in older results). */
  inference?: KeywordInferenceRun[];
  single: KeywordSingleRun[];
  streams: KeywordStreamsRun[];
  /** Per cadence, with and without each daemon's snapshots, the largest N that passed. */
  streamsPerCore: { model: string; cadenceHops: number; snapshots: boolean; slidingWindows: boolean; streams: number }[];
}

/** The shipped microphone config on a looped `wav` source of the wake-word stream. */
function config(backend: Backend, model: string, pacing: 'realtime' | 'max', stream: string, spin = true, sliding = true): PipelineConfig {
  const cfg = loadConfigFile(CONFIG);
  cfg.pipeline = `keywords-${backend}`;
  cfg.model = model;
  cfg.backend = backend;
  cfg.source = { kind: 'wav', path: STREAM, pacing, loop: true, chunkSamples: CHUNK_SAMPLES_DEFAULT, rateHz: 16_000, stream, ...(spin ? {} : { spinWindowUs: 0 }) };
  cfg.server.enabled = false;
  cfg.sinks = {};
  if (backend === 'sim') cfg.sim = { slidingWindows: sliding };
  return cfg;
}

/** The zoo's keyword students the N-stream runs step: the shipped one and the smallest size
 * (models/zoo/keywords-w24, host/configs/keywords-sizes.yaml): accuracy against streams a core. */
const STREAM_MODELS = ['keywords', 'keywords-w24'] as const;

/** A zoo keyword model with inference every `cadence` hops: a copy of its card (stride changed) beside links to its files. */
function modelAt(cadence: number, dir: string, name = 'keywords'): string {
  const zoo = join(REPO, 'models', 'zoo', name);
  if (cadence === 1) return zoo;
  const card = JSON.parse(readFileSync(join(zoo, 'card.json'), 'utf8')) as { preprocessing: { stride: number } };
  card.preprocessing.stride = cadence;
  const out = join(dir, `${name}-stride${cadence}`);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'card.json'), JSON.stringify(card));
  for (const f of ['student.onnx', 'teacher.onnx']) symlinkSync(join(zoo, f), join(out, f));
  return out;
}

function daemon(cfg: PipelineConfig, runId: string, timers: TimerScheduler = realTimers): Promise<Daemon> {
  return createDaemon(cfg, { clock: systemClock(), timers, log: () => {}, runId, baseDir: REPO, firmwareDir: join(REPO, 'hls', 'build'), onBug: (e) => { throw e; } });
}

/** The daemon's first snapshot timer: one interval plus its phase (metrics/snapshot-cache.ts);
 * no other timer of a keyword daemon is that long (the pacer's are a chunk, flushes 100 ms). */
const isFirstSnapshotTimer = (ms: number): boolean => ms >= limits.snapshotIntervalMs && ms < 2 * limits.snapshotIntervalMs;

/**
 * The real timers but for the daemon's snapshot timer (the only one of `snapshotIntervalMs`),
 * which never fires: N streams measured without each daemon's published snapshot (twice a
 * second, 1.5-2 ms of CPU with ~10 ms latencies in its histograms), to show the pipeline's own
 * cost apart from that per-daemon one. The figures are read from a final snapshot all the same.
 */
const timersWithoutSnapshots: TimerScheduler = {
  ...realTimers,
  setTimeout: (fn, ms) => (isFirstSnapshotTimer(ms) ? null : realTimers.setTimeout(fn, ms)),
  clearTimeout: (h) => (h === null ? undefined : realTimers.clearTimeout(h)),
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Rounds of the per-inference comparison (each: every window of the 10 s stream, both ways). */
const INFER_ROUNDS = 15;

/**
 * The wake-word stream's model windows (the serving front end, one a hop; every `cadence`-th)
 * through the student's library on sim, whole and sliding (two backends, alternating rounds so
 * both see the same machine), us an inference: the sliding windows' gain without the pipeline.
 */
function inferenceSideBySide(name: string, cadence: number): KeywordInferenceRun {
  const card = readModelCard(join(REPO, 'models', 'zoo', name));
  const frames = feed(mfccSpecSchema.parse(card.preprocessing), readWav(STREAM).samples, [CHUNK_SAMPLES_DEFAULT]).map((f) => f.x).filter((_, i) => i % cadence === 0);
  const lib = join(REPO, 'hls', 'build', `${name.replace(/-/g, '_')}_student`, `lib${name.replace(/-/g, '_')}_student.so`);
  const ref = { path: lib, inputShape: card.inputShape, classes: card.labels.length };
  const whole = loadSimBackend({ ...ref, slidingWindows: false });
  const sliding = loadSimBackend({ ...ref, slidingWindows: true }) as ReturnType<typeof loadSimBackend> & { reusedPredictions(): number };
  const y = new Float32Array(card.labels.length);
  const round = (b: typeof whole): number => {
    const t0 = process.hrtime.bigint();
    for (const x of frames) b.predict(x, y);
    return Number(process.hrtime.bigint() - t0) / 1e3 / frames.length;
  };
  round(whole);
  round(sliding); // warm-up
  const before = sliding.reusedPredictions();
  const w: number[] = [];
  const sl: number[] = [];
  for (let r = 0; r < INFER_ROUNDS; r++) {
    w.push(round(whole));
    sl.push(round(sliding));
  }
  const reused = (sliding.reusedPredictions() - before) / INFER_ROUNDS;
  void whole.close();
  void sliding.close();
  const median = (v: number[]) => v.sort((a, b) => a - b)[v.length >> 1]!;
  return { model: name, cadenceHops: cadence, windows: frames.length, wholeUs: r1(median(w)), slidingUs: r1(median(sl)), reused: Math.round(reused), measuredAt: new Date().toISOString() };
}
const r1 = (v: number) => Math.round(v * 10) / 10;
const pct = (s: LatencySummaryUs): Percentiles => ({ p50: r1(s.p50), p99: r1(s.p99), p999: r1(s.p999), max: r1(s.max) });

/** Wall and CPU seconds per second of audio at max pace: chunks delivered over a measured stretch after a warm-up. */
async function realTimeFactor(backend: Backend, model: string): Promise<{ wall: number; cpu: number }> {
  const d = await daemon(config(backend, model, 'max', 'rtf'), 'rtf');
  d.start();
  await sleep(1000); // JIT and the front end's fill
  const k0 = d.source.delivered;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  await sleep(3000);
  const c = process.cpuUsage(c0);
  const audioS = ((d.source.delivered - k0) * CHUNK_US) / 1e6;
  const wallS = (performance.now() - t0) / 1000;
  await d.stop();
  const r5 = (v: number) => Math.round(v * 1e5) / 1e5;
  return { wall: r5(wallS / audioS), cpu: r5((c.user + c.system) / 1e6 / audioS) };
}

/** One stream in real time for FILL_S + SECONDS, then the real-time factor. */
async function single(backend: Backend, cadence: number): Promise<KeywordSingleRun> {
  const dir = mkdtempSync(join(tmpdir(), 'ht-kwbench-'));
  try {
    const model = modelAt(cadence, dir);
    const rtf = await realTimeFactor(backend, model); // warms the JIT up too
    const d = await daemon(config(backend, model, 'realtime', 'audio'), 'single');
    d.start();
    await sleep((FILL_S + SECONDS) * 1000);
    await d.stop();
    return singleRun(backend, cadence, d.metrics.snapshot(), rtf);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function singleRun(backend: Backend, cadence: number, s: Snapshot, rtf: { wall: number; cpu: number }): KeywordSingleRun {
  return {
    pipeline: `keywords-${backend}`, backend, streams: 1, hopUs: HOP_US, cadenceHops: cadence, seconds: SECONDS, hops: s.frames,
    e2eUs: pct(s.e2eUs), queueUs: pct(s.queueUs), serviceUs: pct(s.serviceUs), frontEndUs: pct(s.stagesUs.preprocess), inferUs: pct(s.stagesUs.infer),
    late: s.late, budgetViolations: s.budgetViolations, triggers: s.triggers,
    realTimeFactor: rtf.wall, cpuRealTimeFactor: rtf.cpu, streamsPerCoreByCpu: Math.floor(1 / rtf.cpu),
  };
}

/** Spins until the monotonic clock reaches `ns` (stream phases finer than a timer's millisecond). */
function spinUntil(ns: number): void {
  while (Number(process.hrtime.bigint()) < ns);
}

/** Over streams: median of the p50s, largest p99, p99.9 and max. */
function across(snaps: Snapshot[], get: (s: Snapshot) => LatencySummaryUs): Percentiles {
  const p50 = snaps.map((s) => get(s).p50).sort((a, b) => a - b);
  const most = (f: (x: LatencySummaryUs) => number) => r1(Math.max(...snaps.map((s) => f(get(s)))));
  return { p50: r1(p50[p50.length >> 1]!), p99: most((x) => x.p99), p999: most((x) => x.p999), max: most((x) => x.max) };
}

/** N streams of the student on sim in one process, started at phases spread over a hop. */
async function streams(n: number, cadence: number, snapshots: boolean, name = 'keywords', sliding = true): Promise<KeywordStreamsRun> {
  const dir = mkdtempSync(join(tmpdir(), 'ht-kwbench-'));
  try {
    const model = modelAt(cadence, dir, name);
    await realTimeFactor('sim', model); // warm-up: the JIT compiles the stages once for all streams
    const rss0 = process.memoryUsage().rss;
    const ds: Daemon[] = [];
    // Timers only: a spinning pacer per stream would spend the core on waiting, where live
    // microphones cost nothing between chunks; a chunk comes up to a timer's lateness late.
    for (let i = 0; i < n; i++) ds.push(await daemon(config('sim', model, 'realtime', `s${i}`, false, sliding), `s${i}`, snapshots ? realTimers : timersWithoutSnapshots));
    const t0 = Number(process.hrtime.bigint());
    for (let i = 0; i < n; i++) {
      spinUntil(t0 + (i * HOP_US * 1000) / n);
      ds[i]!.start();
      await null; // the wav source starts its pacer once its (resolved) samples promise runs
    }
    await sleep((FILL_S + SETTLE_S) * 1000);
    // One daemon's metrics at a time, the event loop turned between them: all at once would
    // stall the streams for the length of N resets.
    for (const d of ds) {
      d.metrics.reset();
      await new Promise((r) => setImmediate(r));
    }
    const cpu0 = process.cpuUsage();
    const w0 = performance.now();
    const delivered = () => ds.reduce((a, d) => a + d.source.delivered, 0);
    const chunks0 = delivered();
    await sleep(SECONDS * 1000);
    const cpu = process.cpuUsage(cpu0);
    const chunks = delivered() - chunks0;
    const wallUs = (performance.now() - w0) * 1000;
    // All at once: each stop stops its source first, synchronously; one stop after another
    // would let the others run on, backed up behind the closing work, into the figures.
    await Promise.all(ds.map((d) => d.stop()));
    const snaps = ds.map((d) => d.metrics.snapshot());
    const sum = (f: (s: Snapshot) => number) => snaps.reduce((a, s) => a + f(s), 0);
    const budgetViolations = sum((s) => s.budgetViolations);
    const late = sum((s) => s.late);
    const dropped = sum((s) => s.dropped);
    return {
      pipeline: name === 'keywords' ? 'keywords-sim' : `${name}-sim`, backend: 'sim', streams: n, hopUs: HOP_US, cadenceHops: cadence, snapshots, slidingWindows: sliding, seconds: SECONDS, hops: sum((s) => s.frames),
      ok: budgetViolations === 0 && late === 0 && dropped === 0, budgetViolations, late, dropped,
      e2eUs: across(snaps, (s) => s.e2eUs), queueUs: across(snaps, (s) => s.queueUs), serviceUs: across(snaps, (s) => s.serviceUs), frontEndUs: across(snaps, (s) => s.stagesUs.preprocess), inferUs: across(snaps, (s) => s.stagesUs.infer),
      coreLoad: Math.round(((cpu.user + cpu.system) / wallUs) * 1000) / 1000,
      cpuUsPerHop: r1((cpu.user + cpu.system) / ((chunks * CHUNK_US) / HOP_US)),
      streamsPerCoreByCpu: Math.floor((CHUNK_US * chunks) / (cpu.user + cpu.system)),
      rssMiB: Math.round((process.memoryUsage().rss - rss0) / 2 ** 20),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const CHILD_RESULT = 'keywords-child-result ';

/** Runs one measurement in a fresh node pinned to CORE (all its threads), returning what it printed. */
function pinned<T>(args: string[]): T {
  const command = ['taskset', '-c', CORE, process.execPath, fileURLToPath(import.meta.url), '--child', ...args];
  const nice = NICE === null ? [] : ['nice', '-n', String(NICE)];
  const [exe, ...rest] = [...nice, ...command];
  const r = spawnSync(exe!, rest, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  const line = r.stdout.split('\n').find((l) => l.startsWith(CHILD_RESULT));
  if (r.status !== 0 || line === undefined) throw new Error(`keywords bench child ${args.join(' ')} failed (status ${r.status}): ${r.stdout.slice(-2000)}`);
  return JSON.parse(line.slice(CHILD_RESULT.length)) as T;
}

/** Steps N up (doubling) until a run fails, then halves the gap twice: the largest N that passed. */
function stepStreams(name: string, cadence: number, snapshots: boolean, sliding: boolean, log: (s: string) => void): { runs: KeywordStreamsRun[]; best: number } {
  const runs: KeywordStreamsRun[] = [];
  // A run that missed is run once more, and N passes if either run did: this VM's host takes
  // the core away now and then for tens of milliseconds up to ~0.1 s (a whole hop's budget; see
  // the noise floor this bench measures on its core first), which one run in a few meets at any N, at a
  // core load of 0.2 as at 0.8. Both runs are in the table.
  const once = (n: number): boolean => {
    const r = pinned<KeywordStreamsRun>(['streams', String(n), String(cadence), String(snapshots), name, String(sliding)]);
    log(`  ${name}: ${n} streams, inference every ${cadence} hop(s), snapshots ${snapshots ? 'on' : 'off'}, ${sliding ? 'sliding windows' : 'whole windows'}: ${r.ok ? 'ok' : 'MISSED'} (over budget ${r.budgetViolations}, late ${r.late}), e2e p50 ${r.e2eUs.p50} p99 ${r.e2eUs.p99} max ${r.e2eUs.max} us, core ${r.coreLoad} (${r.cpuUsPerHop} us CPU a hop), ${r.rssMiB} MiB`);
    runs.push(r);
    return r.ok && r.rssMiB * 2 ** 20 < RSS_BYTES_MAX;
  };
  const trial = (n: number): boolean => once(n) || once(n);
  let good = 0;
  let bad = 0;
  for (let n = STREAMS_START; n <= STREAMS_MAX; n *= 2) {
    if (!trial(n)) {
      bad = n;
      break;
    }
    good = n;
  }
  for (let step = 0; step < 2 && bad > 0 && bad - good > STREAMS_START / 2; step++) {
    const mid = Math.round((good + bad) / 2 / 10) * 10;
    if (trial(mid)) good = mid;
    else bad = mid;
  }
  return { runs, best: good };
}

/** Per student and cadence, inference alone on sim, whole windows against sliding ones (pinned children). */
function benchInference(log: (s: string) => void): KeywordInferenceRun[] {
  return STREAM_MODELS.flatMap((m) => [1, 2].map((cadence) => {
    log(`bench: ${m} on sim alone, inference every ${cadence} hop(s), whole windows against sliding ones...`);
    const r = pinned<KeywordInferenceRun>(['infer', m, String(cadence)]);
    log(`  ${r.wholeUs} us whole, ${r.slidingUs} us sliding (${r.reused} of ${r.windows} windows from an earlier one)`);
    return r;
  }));
}

/** Every keyword measurement, each in a pinned child; progress on `log`. */
export function benchKeywords(log: (s: string) => void = (s) => process.stderr.write(s + '\n')): KeywordResults {
  log(`bench: keywords, the noise floor of core ${CORE} (${NOISE_S} s)...`);
  const noise = pinned<NoiseFloor>(['noise']);
  const meta = { date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model ?? 'unknown', pinnedCore: Number(CORE), nice: NICE, settleAfterStartS: FILL_S + SETTLE_S, loadAverage1m: loadavg()[0], seconds: SECONDS, noise };
  const inference = benchInference(log);
  const cases: [Backend, number][] = [['sim', 1], ['onnx', 1], ['sim', 2]];
  const single = cases.map(([b, cadence]) => {
    log(`bench: keywords, one stream in real time on ${b}, inference every ${cadence} hop(s), ${FILL_S + SECONDS} s...`);
    const r = pinned<KeywordSingleRun>(['single', b, String(cadence)]);
    log(`  e2e p50 ${r.e2eUs.p50} p99 ${r.e2eUs.p99} p99.9 ${r.e2eUs.p999} max ${r.e2eUs.max} us; front end p50 ${r.frontEndUs.p50}, infer p50 ${r.inferUs.p50} us; real-time factor ${r.realTimeFactor} (CPU ${r.cpuRealTimeFactor}: ${r.streamsPerCoreByCpu} streams a core)`);
    return r;
  });
  const all: KeywordStreamsRun[] = [];
  // The smaller student without snapshots only: the pipeline's own cost against the shipped one's.
  // The shipped one also with whole windows (sim.slidingWindows false): the sliding windows' gain, side by side.
  const steps = [
    ...([[1, true], [2, true], [1, false], [2, false]] as const).map(([c, snap]) => [STREAM_MODELS[0], c, snap, true] as const),
    ...([1, 2] as const).map((c) => [STREAM_MODELS[0], c, false, false] as const),
    ...([1, 2] as const).map((c) => [STREAM_MODELS[1], c, false, true] as const),
  ];
  const perCore = steps.map(([model, cadence, snapshots, sliding]) => {
    log(`bench: ${model}, concurrent streams on sim, inference every ${cadence} hop(s), each daemon's snapshots ${snapshots ? 'on' : 'off'}, ${sliding ? 'sliding' : 'whole'} windows...`);
    const { runs, best } = stepStreams(model, cadence, snapshots, sliding, log);
    all.push(...runs);
    return { model, cadenceHops: cadence, snapshots, slidingWindows: sliding, streams: best };
  });
  return { meta: { ...meta, loadAverage1mAfter: loadavg()[0] }, inference, single, streams: all, streamsPerCore: perCore };
}

function noiseLine(n: NoiseFloor): string {
  return `Noise floor of the core (a tight loop, ${n.seconds} s): ${Math.round(n.gapsPerS)} gaps/s of at least ${n.gapThresholdUs} us, gap p50 ${n.gapUsP50} us, p99 ${n.gapUsP99} us, max ${n.gapUsMax} us: a stall past the 20 ms budget fails a run at any N, so a run that missed is run once more (both are listed).`;
}

/** The keyword section of a bench report. */
export function keywordsMarkdown(k: KeywordResults): string {
  const p = (x: Percentiles) => `${x.p50} / ${x.p99} / ${x.p999} / ${x.max}`;
  return [
    `## keywords (wake-word stream, host/configs/keywords-mic.yaml, one core: taskset -c ${k.meta.pinnedCore})`,
    '',
    `Load average ${k.meta.loadAverage1m} before, ${k.meta.loadAverage1mAfter} after (2 cores, shared)${typeof k.meta.nice === 'number' ? `; every measurement at nice ${k.meta.nice} (KW_BENCH_NICE), other work on the machine at 0` : ''}. Latency in us from each model frame's due time, p50 / p99 / p99.9 / max.`,
    ...(k.meta.noise === undefined ? [] : ['', noiseLine(k.meta.noise as NoiseFloor)]),
    ...(k.inference === undefined ? [] : [
      '',
      `Inference alone on sim (the wake-word stream's model windows through the student's library, ${INFER_ROUNDS} rounds alternating, median of the round means, us an inference), every window whole against the sliding-window stream (same bits)${k.inference[0]?.measuredAt === undefined ? '' : `, measured ${k.inference[0].measuredAt} with the models and load of that time`}:`,
      '',
      '| student | cadence hops | windows | whole | sliding | ratio | reused windows |',
      '|---|---|---|---|---|---|---|',
      ...k.inference.map((r) => `| ${r.model} | ${r.cadenceHops} | ${r.windows} | ${r.wholeUs} | ${r.slidingUs} | ${r1(r.wholeUs / r.slidingUs)} | ${r.reused} |`),
    ]),
    '',
    '| pipeline | streams | cadence hops | hops | e2e | due to ingest | ingest to trigger | front end | inference | late | over budget | real-time factor (wall / CPU) | streams a core by CPU |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...k.single.map((r) => `| ${r.pipeline} | 1 | ${r.cadenceHops} | ${r.hops} | ${p(r.e2eUs)} | ${p(r.queueUs)} | ${p(r.serviceUs)} | ${p(r.frontEndUs)} | ${p(r.inferUs)} | ${r.late} | ${r.budgetViolations} | ${r.realTimeFactor} / ${r.cpuRealTimeFactor} | ${r.streamsPerCoreByCpu} |`),
    '',
    `Chunks of ${CHUNK_SAMPLES_DEFAULT} samples (the audio sources' default): a window (480 samples, hop 320) ends where a chunk ends, so due to ingest is the chunk's delivery, not a wait for samples after the window.`,
    '',
    `Concurrent streams on sim (one daemon each, phases spread over the ${HOP_US / 1000} ms hop, ${k.meta.seconds} s of steady state: metrics reset ${k.meta.settleAfterStartS ?? FILL_S} s after the start, once the 1 s fill and the start-up of N daemons are behind): largest N with every hop within budget: ${k.streamsPerCore.map((s) => `${s.streams} (${s.model ?? 'keywords'}, inference every ${s.cadenceHops} hop${s.cadenceHops > 1 ? 's' : ''}, snapshots ${s.snapshots ? 'on' : 'off'}${s.slidingWindows === undefined ? '' : s.slidingWindows ? ', sliding windows' : ', whole windows'})`).join(', ')}. Across streams: median p50, largest p99 / p99.9 / max. Sliding windows (config \`sim.slidingWindows\`, the default): a new window recomputes only the rows of the network its new frame changes (hls/nnet/nnet_shift_reuse.h, the same bits); whole: every window computed in full, as before them.`,
    '',
    '| pipeline | streams | cadence hops | snapshots | windows | ok | over budget | late | e2e | ingest to trigger | front end | inference | core load | CPU us a hop | streams a core by CPU | RSS MiB |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...k.streams.map((r) => `| ${r.pipeline} | ${r.streams} | ${r.cadenceHops} | ${r.snapshots} | ${r.slidingWindows === undefined ? '-' : r.slidingWindows ? 'sliding' : 'whole'} | ${r.ok} | ${r.budgetViolations} | ${r.late} | ${p(r.e2eUs)} | ${p(r.serviceUs)} | ${p(r.frontEndUs)} | ${p(r.inferUs)} | ${r.coreLoad} | ${r.cpuUsPerHop} | ${r.streamsPerCoreByCpu} | ${r.rssMiB} |`),
    '',
  ].join('\n');
}

async function child(args: string[]): Promise<void> {
  const r = args[0] === 'noise' ? measureNoise(NOISE_S) : args[0] === 'infer' ? inferenceSideBySide(args[1]!, Number(args[2])) : args[0] === 'single' ? await single(args[1] as Backend, Number(args[2])) : await streams(Number(args[1]), Number(args[2]), args[3] === 'true', args[4] ?? 'keywords', args[5] !== 'false');
  process.stdout.write(CHILD_RESULT + JSON.stringify(r) + '\n');
}

async function main(): Promise<void> {
  const at = process.argv.indexOf('--child');
  if (at >= 0) return child(process.argv.slice(at + 1));
  const out = join(REPO, 'bench', 'results');
  // KW_BENCH_ONLY=inference: only the per-inference comparison, into the existing results.
  const only = process.env.KW_BENCH_ONLY;
  const k: KeywordResults = only === 'inference'
    ? { ...(JSON.parse(readFileSync(join(out, 'keywords.json'), 'utf8')) as KeywordResults), inference: benchInference((s) => process.stderr.write(s + '\n')) }
    : benchKeywords();
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'keywords.json'), JSON.stringify(k, null, 2) + '\n');
  const md = `# hairtrigger keyword bench — ${k.meta.date}\n\n${keywordsMarkdown(k)}`;
  writeFileSync(join(out, 'keywords.md'), md);
  process.stdout.write(md);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
