import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { systemClock } from '../host/src/native/addon.js';
import { validateConfig, type PipelineConfig } from '../host/src/config/schema.js';
import { createDaemon } from '../host/src/daemon.js';
import type { LatencySummaryUs, StageName } from '../host/src/metrics/snapshot.js';
import { STAGES } from '../host/src/metrics/snapshot.js';
import { realTimers } from '../host/src/sources/source.js';
import { measureNoise, type NoiseFloor } from './noise.js';

/**
 * `make bench`: every cell pipeline on every backend available, replayed at `max` pacing,
 * repeated; reports medians of the repeats. Results go to bench/results/latest.{json,md}.
 * Speed is measured here, never asserted in tests.
 */
const REPO = resolve(new URL('.', import.meta.url).pathname, '..', '..');
const FRAMES = Number(process.env.BENCH_FRAMES ?? 100_000);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const HEAP_WINDOW_FRAMES = 10_000;

interface Case {
  pipeline: string;
  model: string;
  variant: 'student' | 'teacher';
  capture: string;
  targets: string[];
  frames: number;
}

const CASES: Case[] = [
  { pipeline: 'cells-bccd', model: 'models/zoo/cells-bccd', variant: 'student', capture: 'sim/recordings/cells-bccd-test.arrows', targets: ['WBC'], frames: FRAMES },
  { pipeline: 'cells-lymphocyte', model: 'models/zoo/cells-lymphocyte', variant: 'student', capture: 'sim/recordings/cells-lymphocyte-1k.arrows', targets: ['B'], frames: FRAMES },
  { pipeline: 'cells-bccd', model: 'models/zoo/cells-bccd', variant: 'teacher', capture: 'sim/recordings/cells-bccd-test.arrows', targets: ['WBC'], frames: Math.min(FRAMES, 20_000) },
  { pipeline: 'cells-lymphocyte', model: 'models/zoo/cells-lymphocyte', variant: 'teacher', capture: 'sim/recordings/cells-lymphocyte-1k.arrows', targets: ['B'], frames: Math.min(FRAMES, 20_000) },
];
const BACKENDS = ['onnx'] as const;

interface RunResult {
  pipeline: string;
  backend: string;
  variant: string;
  frames: number;
  repeats: number;
  fps: number;
  e2eUs: { p50: number; p99: number; p999: number };
  stagesUs: Record<StageName, { p50: number; p99: number; p999: number }>;
  /** Null when a garbage collection fell inside a measurement window (figure void). */
  heapBytesPerFrame: number | null;
  gcDuringHeapWindow: number;
  triggers: number;
  late: number;
  dropped: number;
  perRepeat: { fps: number; e2eP50: number; e2eP99: number; e2eP999: number }[];
}

function config(c: Case, backend: string, frames: number): PipelineConfig {
  return validateConfig({
    pipeline: c.pipeline, model: c.model, variant: c.variant, backend, budgetUs: 1000,
    source: { kind: 'replay', path: c.capture, pacing: 'max', loop: true, frames },
    trigger: { targets: c.targets, threshold: 0.5 },
    server: { enabled: false },
  });
}

async function once(c: Case, backend: string, frames: number) {
  const d = await createDaemon(config(c, backend, frames), { clock: systemClock(), timers: realTimers, log: () => {}, baseDir: REPO, onBug: (e) => { throw e; } });
  const t0 = performance.now();
  d.start();
  await d.sourceDone;
  const seconds = (performance.now() - t0) / 1000;
  await d.stop();
  return { snap: d.metrics.snapshot(), seconds };
}

/**
 * Heap bytes allocated per frame: young-generation growth over two replays of different
 * length with no garbage collection inside either; their difference cancels fixed costs
 * (daemon set-up, JIT). `make bench` runs node with a large semi-space so no scavenge falls
 * inside a window; `gcs` counts any that did (then the figure is void).
 */
async function heapPerFrame(c: Case, backend: string): Promise<{ bytes: number; gcs: number }> {
  const window = async (frames: number) => {
    let gcs = 0;
    const obs = new PerformanceObserver((list) => (gcs += list.getEntries().length));
    const d = await createDaemon(config(c, backend, frames), { clock: systemClock(), timers: realTimers, log: () => {}, baseDir: REPO, onBug: (e) => { throw e; } });
    (globalThis as { gc?: () => void }).gc?.();
    obs.observe({ entryTypes: ['gc'] });
    const h0 = youngUsed();
    d.start();
    await d.sourceDone;
    const h1 = youngUsed();
    await new Promise((r) => setImmediate(r)); // let the observer report
    obs.disconnect();
    await d.stop();
    return { bytes: h1 - h0, gcs };
  };
  const a = await window(HEAP_WINDOW_FRAMES);
  const b = await window(HEAP_WINDOW_FRAMES * 4);
  return { bytes: Math.max(0, (b.bytes - a.bytes) / (HEAP_WINDOW_FRAMES * 3)), gcs: a.gcs + b.gcs };
}

function youngUsed(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_used_size;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function bench(c: Case, backend: string): Promise<RunResult> {
  await once(c, backend, Math.min(5000, c.frames)); // warm-up: JIT, caches
  const reps: Awaited<ReturnType<typeof once>>[] = [];
  for (let r = 0; r < REPEATS; r++) reps.push(await once(c, backend, c.frames));
  const heap = await heapPerFrame(c, backend);
  const pick = (f: (s: LatencySummaryUs) => number, get: (x: (typeof reps)[number]) => LatencySummaryUs) => median(reps.map((x) => f(get(x))));
  const stagesUs = {} as RunResult['stagesUs'];
  for (const st of STAGES) stagesUs[st] = { p50: pick((s) => s.p50, (x) => x.snap.stagesUs[st]), p99: pick((s) => s.p99, (x) => x.snap.stagesUs[st]), p999: pick((s) => s.p999, (x) => x.snap.stagesUs[st]) };
  const last = reps[reps.length - 1].snap;
  return {
    pipeline: c.pipeline, backend, variant: c.variant, frames: c.frames, repeats: REPEATS,
    fps: Math.round(median(reps.map((x) => x.snap.frames / x.seconds))),
    e2eUs: { p50: pick((s) => s.p50, (x) => x.snap.e2eUs), p99: pick((s) => s.p99, (x) => x.snap.e2eUs), p999: pick((s) => s.p999, (x) => x.snap.e2eUs) },
    stagesUs,
    heapBytesPerFrame: heap.gcs === 0 ? Math.round(heap.bytes) : null,
    gcDuringHeapWindow: heap.gcs,
    triggers: last.triggers, late: last.late, dropped: last.dropped,
    perRepeat: reps.map((x) => ({ fps: Math.round(x.snap.frames / x.seconds), e2eP50: x.snap.e2eUs.p50, e2eP99: x.snap.e2eUs.p99, e2eP999: x.snap.e2eUs.p999 })),
  };
}

function markdown(runs: RunResult[], noise: NoiseFloor, meta: Record<string, unknown>): string {
  const rows = runs.map((r) => `| ${r.pipeline} | ${r.variant} | ${r.backend} | ${r.frames} | ${r.fps} | ${r.e2eUs.p50} | ${r.e2eUs.p99} | ${r.e2eUs.p999} | ${STAGES.map((s) => `${r.stagesUs[s].p50}/${r.stagesUs[s].p99}`).join(' | ')} | ${r.heapBytesPerFrame ?? 'void (GC in window)'} |`);
  return [
    `# hairtrigger bench — ${meta.date}`,
    '',
    `Machine: ${meta.cpus} x ${meta.cpu}, node ${meta.node}. Medians of ${REPEATS} repeats; \`max\` pacing; latency in microseconds.`,
    '',
    `| pipeline | model | backend | frames | frames/s | e2e p50 | e2e p99 | e2e p99.9 | ${STAGES.map((s) => `${s} p50/p99`).join(' | ')} | heap B/frame |`,
    `|${'---|'.repeat(9 + STAGES.length)}`,
    ...rows,
    '',
    `Noise floor (tight loop, ${noise.seconds} s): ${noise.gapsPerS.toFixed(0)} gaps/s of at least ${noise.gapThresholdUs} us; gap p50 ${noise.gapUsP50} us, p99 ${noise.gapUsP99} us, max ${noise.gapUsMax} us; loop p99 ${noise.loopUsP99} us.`,
    'A pipeline p99 or p99.9 near the gap p50 is set by time the host steals, not by the pipeline.',
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const os = await import('node:os');
  const meta = { date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', frames: FRAMES, repeats: REPEATS };
  process.stderr.write(`bench: noise floor...\n`);
  const noise = measureNoise(2);
  const runs: RunResult[] = [];
  for (const backend of BACKENDS)
    for (const c of CASES) {
      process.stderr.write(`bench: ${c.pipeline} ${c.variant} on ${backend}, ${c.frames} frames x ${REPEATS}...\n`);
      const r = await bench(c, backend);
      process.stderr.write(`  fps ${r.fps}, e2e p50 ${r.e2eUs.p50} p99 ${r.e2eUs.p99} p99.9 ${r.e2eUs.p999} us, heap ${r.heapBytesPerFrame ?? 'void'} B/frame (${r.gcDuringHeapWindow} GCs)\n`);
      runs.push(r);
    }
  const out = join(REPO, 'bench', 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'latest.json'), JSON.stringify({ meta, runs, noise }, null, 2) + '\n');
  writeFileSync(join(out, 'latest.md'), markdown(runs, noise, meta));
  process.stdout.write(markdown(runs, noise, meta));
}

await main();
