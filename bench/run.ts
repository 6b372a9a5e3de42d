import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { systemClock } from '../host/src/native/addon.js';
import { validateConfig, type PipelineConfig } from '../host/src/config/schema.js';
import { readCapture } from '../host/src/capture/arrow-capture.js';
import { createDaemon, firmwareName } from '../host/src/daemon.js';
import { createEmulator, type NativeEmulator } from '../host/src/native/addon.js';
import { isFpgaBackend } from '../host/src/backends/fpga.js';
import { breakdown, HostOverheadProbe, medianOverhead, SPARE_JOBS, type HostOverheadUs } from './host-overhead.js';
import { EMULATOR_TIMELINE_FIELDS, FPGA_TIMELINE_FIELDS } from '../host/src/native/addon.js';
import { readFirmwareMap } from '../sim/src/emulate-fpga.js';
import { createModelPreprocessor } from '../host/src/preprocess/model-input.js';
import type { LatencySummaryUs, StageName } from '../host/src/metrics/snapshot.js';
import { STAGES } from '../host/src/metrics/snapshot.js';
import { realTimers } from '../host/src/sources/source.js';
import { measureNoise, type NoiseFloor } from './noise.js';
import { ALERT_CASES, alertsMarkdown, benchAlerts, type AlertRunResult } from './alerts.js';
import { timedRun } from './timed-run.js';
import { benchNats, natsMarkdown } from './nats.js';
import { benchKeywords, keywordsMarkdown } from './keywords.js';
import { benchLinks, linksMarkdown } from './serial.js';

/**
 * `make bench`: every cell pipeline on every backend available, replayed at `max` pacing,
 * repeated; reports medians of the repeats. Results go to bench/results/latest.{json,md}.
 * Speed is measured here, never asserted in tests.
 */
const REPO = resolve(new URL('.', import.meta.url).pathname, '..', '..');
const FRAMES = Number(process.env.BENCH_FRAMES ?? 100_000);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const HEAP_WINDOW_FRAMES = 10_000;

type Backend = 'onnx' | 'sim' | 'fpga';
/**
 * BENCH_BACKENDS=fpga (or a comma list): only the frame cases on those backends, written to
 * bench/results/frames-<backends>.{json,md} beside latest (not over it): a partial run, e.g.
 * the fpga rows after a firmware change, without the alert, NATS, keyword and link sections.
 */
const ONLY_BACKENDS = process.env.BENCH_BACKENDS?.split(',').map((b) => b.trim()).filter((b) => b !== '') as Backend[] | undefined;

interface Case {
  pipeline: string;
  model: string;
  variant: 'student' | 'teacher';
  capture: string;
  targets: string[];
  frames: number;
  /** Backends run side by side: one after the other in the same bench run, each in a fresh process. */
  backends: readonly Backend[];
}

/** hls4ml's jet tagger: 10x the frames, it is ~100x cheaper per frame. */
const JET_FRAMES = Number(process.env.BENCH_JET_FRAMES ?? FRAMES * 10);
const CASES: Case[] = [
  { pipeline: 'cells-bccd', model: 'models/zoo/cells-bccd', variant: 'student', capture: 'sim/recordings/cells-bccd-test.arrows', targets: ['WBC'], frames: FRAMES, backends: ['onnx', 'sim', 'fpga'] },
  { pipeline: 'cells-lymphocyte', model: 'models/zoo/cells-lymphocyte', variant: 'student', capture: 'sim/recordings/cells-lymphocyte-1k.arrows', targets: ['B'], frames: FRAMES, backends: ['onnx', 'sim', 'fpga'] },
  { pipeline: 'jets-hls4ml', model: 'models/zoo/jets-hls4ml', variant: 'student', capture: 'sim/recordings/jets-hls4ml-10k.arrows', targets: ['t'], frames: JET_FRAMES, backends: ['onnx', 'sim', 'fpga'] },
  { pipeline: 'cells-bccd', model: 'models/zoo/cells-bccd', variant: 'teacher', capture: 'sim/recordings/cells-bccd-test.arrows', targets: ['WBC'], frames: Math.min(FRAMES, 20_000), backends: ['onnx'] },
  { pipeline: 'cells-lymphocyte', model: 'models/zoo/cells-lymphocyte', variant: 'teacher', capture: 'sim/recordings/cells-lymphocyte-1k.arrows', targets: ['B'], frames: Math.min(FRAMES, 20_000), backends: ['onnx'] },
];

interface RunResult {
  pipeline: string;
  backend: string;
  variant: string;
  frames: number;
  repeats: number;
  fps: number;
  /** End to end from each frame's due time (at `max` pacing: its ingest), and its two parts:
   * queueing (due to ingest) and service (ingest to trigger write). */
  e2eUs: { p50: number; p99: number; p999: number };
  queueUs: { p50: number; p99: number };
  serviceUs: { p50: number; p99: number };
  stagesUs: Record<StageName, { p50: number; p99: number; p999: number }>;
  /** Null when a garbage collection fell inside a measurement window (figure void). */
  heapBytesPerFrame: number | null;
  gcDuringHeapWindow: number;
  triggers: number;
  late: number;
  dropped: number;
  perRepeat: { fps: number; e2eP50: number; e2eP99: number; e2eP999: number }[];
  /** fpga: modelled device time of one inference (latency cycles at the clock), us. */
  deviceUs?: number;
  /** fpga: end-to-end latency minus the modelled device time, p50 and p99, us. */
  hostOverheadUs?: { p50: number; p99: number };
  /** fpga: as CallResult's. */
  emulatorOverrun?: EmulatorOverrun | null;
  /** fpga: the host's part measured per frame against the device's own timeline (bench/host-overhead.ts), medians of the repeats. */
  measured?: HostOverheadUs;
}

function config(c: Case, backend: string, frames: number): PipelineConfig {
  // The jet tagger's budget is 20 us (a trigger level); the cells' 1 ms keeps "late" meaningful for the teachers.
  return validateConfig({
    pipeline: c.pipeline, model: c.model, variant: c.variant, backend, budgetUs: c.pipeline === 'jets-hls4ml' ? 20 : 1000,
    source: { kind: 'replay', path: c.capture, pacing: 'max', loop: true, frames },
    // A shared machine deschedules the emulator's thread for tens of ms at times: past the
    // default spin budget that is a timeout (a dropped frame, a failed call), which this
    // latency bench does not measure.
    ...(backend === 'fpga' ? { device: devicePath(c), fpga: { spinsMax: 2 ** 30 } } : {}),
    trigger: { targets: c.targets, threshold: 0.5 },
    server: { enabled: false },
  });
}

/** The emulated device of a case: /dev/shm, served by an in-process emulator thread. */
function devicePath(c: Case): string {
  return `/dev/shm/ht-bench-${process.pid}-${c.pipeline}`;
}

/** Firmware project of a case's model (what `make firmware` built). */
function firmwareDir(c: Case): string {
  return join(REPO, 'hls', 'build', firmwareName(c.pipeline, c.variant));
}

/**
 * Runs `fn` with the case's device served by the emulator when the backend is fpga. The
 * emulator's thread and the daemon's thread each spin on their own core of the two.
 */
/** The emulator's overruns in the last withDevice: jobs whose kernel, run on this CPU, ended after the modelled hold. */
let lastOverrun: EmulatorOverrun | null = null;

/** Share of jobs whose ap_done came late because the CPU ran the kernel slower than the modelled device, and the mean lateness over all jobs. */
interface EmulatorOverrun {
  jobsFraction: number;
  meanUsPerJob: number;
}

async function withDevice<T>(c: Case, backend: Backend, fn: (emulator: NativeEmulator | null) => Promise<T>): Promise<T> {
  lastOverrun = null;
  if (backend !== 'fpga') return fn(null);
  const dir = firmwareDir(c);
  const map = readFirmwareMap(dir);
  // The device's own timeline of each host job (a diagnostic side channel): a replay's or a calls repeat's worth.
  // BENCH_EMULATOR_CPU=N pins the device thread to CPU N (run the bench under `taskset -c M`,
  // M != N, for the driver): otherwise, with another job on one core, the scheduler may leave
  // both spinning threads on the other, each waiting out the other's time slice.
  const cpu = process.env.BENCH_EMULATOR_CPU;
  const emulator = createEmulator({ devicePath: devicePath(c), libraryPath: join(dir, `lib${map.name}.so`), regmap: map, unlinkOnStop: true, timelineJobs: Math.max(c.frames, 300_000) + SPARE_JOBS,
    ...(cpu !== undefined ? { cpu: Number(cpu) } : {}) });
  emulator.start();
  try {
    return await fn(emulator);
  } finally {
    const s = emulator.stats();
    lastOverrun = s.jobs === 0 ? null : { jobsFraction: Math.round((s.overruns / s.jobs) * 1000) / 1000, meanUsPerJob: Math.round(s.overrunNs / s.jobs) / 1000 };
    emulator.stop();
  }
}

/** Modelled device time of one inference, microseconds (regmap: latency cycles at the clock). */
function deviceUs(c: Case): number {
  const map = readFirmwareMap(firmwareDir(c));
  return Math.round((map.latencyCycles / (map.clockKhz / 1000)) * 1000) / 1000;
}

function once(c: Case, backend: string, frames: number, probe: { probe: HostOverheadProbe; out: HostOverheadUs[] } | null = null) {
  if (probe === null) return timedRun(config(c, backend, frames), REPO);
  const modelledNs = deviceUs(c) * 1000;
  return timedRun(config(c, backend, frames), REPO, (d) => probe.probe.attach(d), (d) => probe.out.push(probe.probe.measure(d, modelledNs)));
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
  // Windows scale with the case (the jet tagger's frames are ~10x cheaper: 10,000 of them
  // last 15 ms, where timer and JIT noise would dominate).
  const n = Math.round(HEAP_WINDOW_FRAMES * Math.max(1, c.frames / FRAMES));
  const a = await window(n);
  const b = await window(n * 4);
  return { bytes: Math.max(0, (b.bytes - a.bytes) / (n * 3)), gcs: a.gcs + b.gcs };
}

function youngUsed(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_used_size;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function bench(c: Case, backend: Backend): Promise<RunResult> {
  const measured: HostOverheadUs[] = [];
  const { reps, heap } = await withDevice(c, backend, async (emulator) => {
    await once(c, backend, Math.min(5000, c.frames)); // warm-up: JIT, caches
    const probe = emulator === null ? null : { probe: new HostOverheadProbe(c.frames, emulator), out: measured };
    const runs: Awaited<ReturnType<typeof once>>[] = [];
    for (let r = 0; r < REPEATS; r++) runs.push(await once(c, backend, c.frames, probe));
    return { reps: runs, heap: await heapPerFrame(c, backend) };
  });
  const pick = (f: (s: LatencySummaryUs) => number, get: (x: (typeof reps)[number]) => LatencySummaryUs) => median(reps.map((x) => f(get(x))));
  const stagesUs = {} as RunResult['stagesUs'];
  for (const st of STAGES) stagesUs[st] = { p50: pick((s) => s.p50, (x) => x.snap.stagesUs[st]), p99: pick((s) => s.p99, (x) => x.snap.stagesUs[st]), p999: pick((s) => s.p999, (x) => x.snap.stagesUs[st]) };
  const last = reps[reps.length - 1].snap;
  const e2eUs = { p50: pick((s) => s.p50, (x) => x.snap.e2eUs), p99: pick((s) => s.p99, (x) => x.snap.e2eUs), p999: pick((s) => s.p999, (x) => x.snap.e2eUs) };
  // fpga: what the host adds on top of the modelled device time, arrival to trigger write.
  const device = backend === 'fpga' ? (() => {
    const dev = deviceUs(c);
    const r3 = (v: number) => Math.round(v * 1000) / 1000;
    return { deviceUs: dev, hostOverheadUs: { p50: r3(e2eUs.p50 - dev), p99: r3(e2eUs.p99 - dev) }, emulatorOverrun: lastOverrun, measured: medianOverhead(measured) };
  })() : {};
  return {
    ...device,
    pipeline: c.pipeline, backend, variant: c.variant, frames: c.frames, repeats: REPEATS,
    fps: Math.round(median(reps.map((x) => x.snap.frames / x.seconds))),
    e2eUs,
    queueUs: { p50: pick((s) => s.p50, (x) => x.snap.queueUs), p99: pick((s) => s.p99, (x) => x.snap.queueUs) },
    serviceUs: { p50: pick((s) => s.p50, (x) => x.snap.serviceUs), p99: pick((s) => s.p99, (x) => x.snap.serviceUs) },
    stagesUs,
    heapBytesPerFrame: heap.gcs === 0 ? Math.round(heap.bytes) : null,
    gcDuringHeapWindow: heap.gcs,
    triggers: last.triggers, late: last.late, dropped: last.dropped,
    perRepeat: reps.map((x) => ({ fps: Math.round(x.snap.frames / x.seconds), e2eP50: x.snap.e2eUs.p50, e2eP99: x.snap.e2eUs.p99, e2eP999: x.snap.e2eUs.p999 })),
  };
}

/** One backend's predict calls, timed one by one. */
interface CallResult {
  pipeline: string;
  backend: string;
  calls: number;
  repeats: number;
  /** Per call, microseconds (medians over repeats of each repeat's percentile). */
  us: { p50: number; p99: number };
  /** Calls per second on one core, back to back (median over repeats). */
  callsPerS: number;
  /** What a call takes: the camera's bytes (firmware that preprocesses) or the network's input values. */
  input: 'pixels' | 'values';
  /** fpga: the call is the round trip over the (emulated) device; its modelled device time, and the call minus it. */
  deviceUs?: number;
  hostOverheadUs?: { p50: number; p99: number };
  /** fpga: jobs whose kernel the emulator's CPU ran past the modelled device time (ap_done late): their share and mean lateness over all jobs. */
  emulatorOverrun?: EmulatorOverrun | null;
  /** fpga: the round trip's host part against the device's own timeline, medians of the repeats. */
  measured?: HostOverheadUs;
}

/**
 * Times `predict` alone through the Backend interface (what the infer stage calls): each call
 * between two native clock stamps, on inputs from the case's capture, preprocessed once.
 */
async function benchCalls(c: Case, backend: Backend): Promise<CallResult> {
  const r = await withDevice(c, backend, (emulator) => timeCalls(c, backend, emulator));
  return backend === 'fpga' ? { ...r, emulatorOverrun: lastOverrun } : r;
}

async function timeCalls(c: Case, backend: Backend, emulator: NativeEmulator | null): Promise<CallResult> {
  const d = await createDaemon(config(c, backend, 1), { clock: systemClock(), timers: realTimers, log: () => {}, baseDir: REPO, onBug: (e) => { throw e; } });
  const b = d.backend;
  const pre = createModelPreprocessor(d.card.preprocessing);
  const cap = readCapture(join(REPO, c.capture));
  const inputs = Array.from({ length: Math.min(64, cap.count) }, (_, i) => {
    const x = new Float32Array(pre.inputElements);
    pre.run(cap.frames, cap.offsets[i]!, x);
    return x;
  });
  const y = new Float32Array(d.card.labels.length);
  // Feature vectors (the jet tagger) are ~100x cheaper per call than cell crops.
  const calls = d.card.inputShape.length === 1 ? 300_000 : 20_000;
  const clock = systemClock();
  const stamps = new Float64Array(calls + 1);
  const reps: { p50: number; p99: number; perS: number }[] = [];
  // Firmware that preprocesses takes the camera's bytes (the pipeline's pixel route): time that call.
  const pixels = b.pixelBytes !== undefined && b.predictPixels !== undefined;
  // fpga: the driver's and the device's per-job stamps (bench/host-overhead.ts).
  const jobs = isFpgaBackend(b) && emulator !== null ? { b, e: emulator, ring: new Float64Array(calls * FPGA_TIMELINE_FIELDS), dev: new Float64Array((calls + SPARE_JOBS) * EMULATOR_TIMELINE_FIELDS), out: [] as HostOverheadUs[] } : null;
  if (jobs !== null) jobs.b.bindTimeline(jobs.ring);
  for (let r = 0; r <= REPEATS; r++) {
    const driverJobs0 = jobs?.b.deviceStats().jobs ?? 0, deviceJobs0 = jobs?.e.stats().jobs ?? 0;
    clock.stamp(stamps, 0);
    for (let i = 0; i < calls; i++) {
      if (pixels) b.predictPixels!(cap.frames, cap.offsets[i & 63]!, y);
      else b.predict(inputs[i & 63]!, y);
      clock.stamp(stamps, i + 1);
    }
    const dt = new Float64Array(calls);
    for (let i = 0; i < calls; i++) dt[i] = (stamps[i + 1]! - stamps[i]!) / 1000;
    dt.sort();
    if (r > 0) reps.push({ p50: dt[Math.floor(calls * 0.5)]!, p99: dt[Math.floor(calls * 0.99)]!, perS: calls / ((stamps[calls]! - stamps[0]!) / 1e9) }); // r = 0 warms up
    if (r > 0 && jobs !== null) jobs.out.push(callBreakdown(jobs, stamps, calls, driverJobs0, deviceJobs0, deviceUs(c) * 1000));
  }
  jobs?.b.bindTimeline(null);
  await d.stop();
  const round = (v: number) => Math.round(v * 1000) / 1000;
  const us = { p50: round(median(reps.map((x) => x.p50))), p99: round(median(reps.map((x) => x.p99))) };
  const device = backend === 'fpga' ? { deviceUs: deviceUs(c), hostOverheadUs: { p50: round(us.p50 - deviceUs(c)), p99: round(us.p99 - deviceUs(c)) } } : {};
  return { pipeline: c.pipeline, backend, calls, repeats: REPEATS, us, callsPerS: Math.round(median(reps.map((x) => x.perS))), input: pixels ? 'pixels' : 'values', ...device,
    ...(jobs === null ? {} : { measured: medianOverhead(jobs.out) }) };
}

/** One repeat of back-to-back calls against the driver's and the device's timelines: call i runs from stamps[i] to stamps[i + 1]. */
function callBreakdown(jobs: { b: { deviceStats(): { jobs: number } }; e: NativeEmulator; ring: Float64Array; dev: Float64Array }, stamps: Float64Array, calls: number, driverJobs0: number, deviceJobs0: number, modelledNs: number): HostOverheadUs {
  const ran = jobs.b.deviceStats().jobs - driverJobs0;
  if (ran !== calls) throw new Error(`bench: ${calls} calls ran ${ran} jobs`);
  const seq = new Float64Array(calls), doorbell = new Float64Array(calls), doneSeen = new Float64Array(calls);
  const cap = jobs.ring.length / FPGA_TIMELINE_FIELDS;
  for (let i = 0; i < calls; i++) {
    const j = ((driverJobs0 + i) % cap) * FPGA_TIMELINE_FIELDS;
    seq[i] = jobs.ring[j]!;
    doorbell[i] = jobs.ring[j + 1]!;
    doneSeen[i] = jobs.ring[j + 2]!;
  }
  return breakdown({ start: stamps.subarray(0, calls), end: stamps.subarray(1, calls + 1), inferStart: null, inferEnd: null, seq, doorbell, doneSeen }, jobs.e, deviceJobs0, jobs.dev, modelledNs);
}

/** sim against onnx per pipeline, from the runs and calls measured side by side above. */
function compare(runs: RunResult[], calls: CallResult[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const sim of runs.filter((r) => r.backend === 'sim')) {
    const onnx = runs.find((r) => r.backend === 'onnx' && r.pipeline === sim.pipeline && r.variant === sim.variant);
    const simCall = calls.find((c) => c.backend === 'sim' && c.pipeline === sim.pipeline);
    const onnxCall = calls.find((c) => c.backend === 'onnx' && c.pipeline === sim.pipeline);
    if (onnx === undefined) continue;
    const r3 = (v: number) => Math.round(v * 1000) / 1000;
    out.push({
      pipeline: sim.pipeline,
      e2eP50Us: { sim: sim.e2eUs.p50, onnx: onnx.e2eUs.p50, simOverOnnx: r3(sim.e2eUs.p50 / onnx.e2eUs.p50) },
      fps: { sim: sim.fps, onnx: onnx.fps },
      predictP50Us: simCall && onnxCall ? { sim: simCall.us.p50, onnx: onnxCall.us.p50, simOverOnnx: r3(simCall.us.p50 / onnxCall.us.p50) } : null,
    });
  }
  return out;
}

function callsMarkdown(calls: CallResult[], comparisons: Record<string, unknown>[], runs: RunResult[]): string {
  const fpga = runs.filter((r) => r.backend === 'fpga');
  return [
    '## fpga over the emulated device (hairtrigger emulate-fpga\'s core, in process, /dev/shm)',
    '',
    'Modelled device time: the firmware\'s latency cycles at its clock, held by the emulator before ap_done. Host overhead: end to end (arrival to trigger write) minus the device time; for calls, the round trip minus it. The emulator runs the generated device top on this CPU: where that takes longer than the modelled time (an overrun), ap_done comes late and the overhead columns include the lateness, so they overstate the host\'s part by about the mean overrun.',
    '',
    '| pipeline | input | device us | e2e p50 / p99 us | host overhead p50 / p99 us | round trip p50 / p99 us | call overhead p50 / p99 us | emulator overruns (calls): jobs, mean us/job |',
    '|---|---|---|---|---|---|---|---|',
    ...fpga.map((r) => {
      const call = calls.find((c) => c.backend === 'fpga' && c.pipeline === r.pipeline);
      return `| ${r.pipeline} | ${call?.input ?? '-'} | ${r.deviceUs} | ${r.e2eUs.p50} / ${r.e2eUs.p99} | ${r.hostOverheadUs?.p50} / ${r.hostOverheadUs?.p99} | ${call?.us.p50} / ${call?.us.p99} | ${call?.hostOverheadUs?.p50} / ${call?.hostOverheadUs?.p99} | ${call?.emulatorOverrun ? `${Math.round(call.emulatorOverrun.jobsFraction * 100)}%, ${call.emulatorOverrun.meanUsPerJob}` : '-'} |`;
    }),
    '',
    ...measuredMarkdown(runs, calls),
    '## predict calls (through the Backend interface, one core)',
    '',
    '| pipeline | backend | input | calls | p50 us | p99 us | calls/s |',
    '|---|---|---|---|---|---|---|',
    ...calls.map((c) => `| ${c.pipeline} | ${c.backend} | ${c.input} | ${c.calls} | ${c.us.p50} | ${c.us.p99} | ${c.callsPerS} |`),
    '',
    '## sim versus onnx (same replay, same run)',
    '',
    '```json',
    JSON.stringify(comparisons, null, 2),
    '```',
    '',
  ].join('\n');
}

/** The host's part measured per frame (and per call) against the device's own timeline (bench/host-overhead.ts). */
function measuredMarkdown(runs: RunResult[], calls: CallResult[]): string[] {
  const rows: string[] = [];
  const f = (p: { p50: number; p99: number } | null) => (p === null ? '-' : `${p.p50} / ${p.p99}`);
  for (const r of runs.filter((x) => x.measured !== undefined)) {
    const call = calls.find((c) => c.backend === 'fpga' && c.pipeline === r.pipeline);
    for (const [what, m, old] of [['frames', r.measured!, r.hostOverheadUs!.p50], ['calls', call?.measured, call?.hostOverheadUs?.p50]] as const) {
      if (m === undefined) continue;
      rows.push(`| ${r.pipeline} | ${what} | ${r.deviceUs} | ${f(m.deviceBusy)} | ${m.kernelCpu.p50} | ${Math.round(m.overrunShare * 100)}% | ${f(m.e2e)} | ${old} | **${f(m.host)}** | ${f(m.hostWork)} | ${f(m.beforeDoorbell)} | ${f(m.callToDoorbell)} | ${f(m.doorbellLag)} | ${f(m.doneLag)} | ${f(m.afterDone)} | ${f(m.doneToInferEnd)} |`);
    }
  }
  if (rows.length === 0) return [];
  return [
    '### The host\'s part, measured against the device\'s own timeline',
    '',
    'Per frame (replay) and per call (back-to-back predicts): the driver stamps the doorbell and the moment it sees DONE_COUNT move, the emulator stamps when it saw the start and when it raised ap_done (a diagnostic side channel no driver reads), all on CLOCK_MONOTONIC. e2e = before doorbell + doorbell lag + device busy + done lag + after done, frame by frame; **host overhead = e2e - device busy** (busy as the device saw it: the modelled hold, or longer where the emulator\'s CPU overran it). The lags are the bus: here a cache line between two cores and the emulator\'s poll and, when the VM\'s other jobs leave the driver and the emulator one core between them, the wait for it (each spins: the one not running waits for the scheduler). p50 / p99 us over every frame of a repeat, medians of the repeats; the p50s of the parts do not add up to the p50 of the whole. `old`: e2e (round trip) p50 minus the modelled device time, the column above.',
    '',
    '| pipeline | per | modelled us | device busy p50 / p99 | kernel CPU p50 | busy > modelled | e2e p50 / p99 | old host p50 | host overhead p50 / p99 | host\'s own work (before + after) | before doorbell | of it: infer start to doorbell | doorbell lag | done lag | after done | of it: done seen to infer end |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
  ];
}

function markdown(runs: RunResult[], noise: NoiseFloor, meta: Record<string, unknown>): string {
  const rows = runs.map((r) => `| ${r.pipeline} | ${r.variant} | ${r.backend} | ${r.frames} | ${r.fps} | ${r.e2eUs.p50} | ${r.e2eUs.p99} | ${r.e2eUs.p999} | ${r.queueUs.p50}/${r.queueUs.p99} | ${STAGES.map((s) => `${r.stagesUs[s].p50}/${r.stagesUs[s].p99}`).join(' | ')} | ${r.heapBytesPerFrame ?? 'void (GC in window)'} |`);
  return [
    `# hairtrigger bench — ${meta.date}`,
    '',
    `Machine: ${meta.cpus} x ${meta.cpu}, node ${meta.node}${Array.isArray(meta.loadAverageAtStart) ? `, load average ${(meta.loadAverageAtStart as number[]).map((x) => x.toFixed(2)).join(' ')} at the start (other jobs on the VM)` : ''}. Medians of ${REPEATS} repeats; \`max\` pacing; latency in microseconds, end to end from each frame's due time (at max pacing, its ingest: queue ~0).`,
    '',
    `| pipeline | model | backend | frames | frames/s | e2e p50 | e2e p99 | e2e p99.9 | queue p50/p99 | ${STAGES.map((s) => `${s} p50/p99`).join(' | ')} | heap B/frame |`,
    `|${'---|'.repeat(10 + STAGES.length)}`,
    ...rows,
    '',
    `Noise floor (tight loop, ${noise.seconds} s): ${noise.gapsPerS.toFixed(0)} gaps/s of at least ${noise.gapThresholdUs} us; gap p50 ${noise.gapUsP50} us, p99 ${noise.gapUsP99} us, max ${noise.gapUsMax} us; loop p99 ${noise.loopUsP99} us.`,
    'A pipeline p99 or p99.9 near the gap p50 is set by time the host steals, not by the pipeline.',
    '',
  ].join('\n');
}

/** Marks the JSON line a child process prints for its parent. */
const CHILD_RESULT = 'bench-child-result ';

/**
 * One case on one backend in this process: the replay runs, then (students) the predict calls.
 * Each runs in a fresh child process, as a daemon runs one pipeline: in a shared process the
 * JIT's call sites (stage runs, preprocessors, backends) would turn polymorphic across cases
 * and slow the later ones (the jet tagger on sim ran 640k frames/s after the cell cases and
 * 1.08M alone).
 */
async function child(caseIndex: number, backend: Backend): Promise<void> {
  const c = CASES[caseIndex]!;
  const run = await bench(c, backend);
  const call = c.variant === 'student' ? await benchCalls(c, backend) : null;
  process.stdout.write(CHILD_RESULT + JSON.stringify({ run, call }) + '\n');
}

/** One alert case in this process (a fresh child, as `child`). */
async function alertChild(caseIndex: number): Promise<void> {
  const run = await benchAlerts(REPO, ALERT_CASES[caseIndex]!, REPEATS);
  process.stdout.write(CHILD_RESULT + JSON.stringify(run) + '\n');
}

/** Runs `alertChild` in a fresh node and returns what it measured. */
function alertInChild(caseIndex: number): AlertRunResult {
  const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--alerts-child', String(caseIndex)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  const line = r.stdout.split('\n').find((l) => l.startsWith(CHILD_RESULT));
  if (r.status !== 0 || line === undefined) throw new Error(`bench alert child ${caseIndex} failed (status ${r.status}): ${r.stdout.slice(-2000)}`);
  return JSON.parse(line.slice(CHILD_RESULT.length)) as AlertRunResult;
}

/** Runs `child` in a fresh node with this process's flags and returns what it measured. */
function inChild(caseIndex: number, backend: Backend): { run: RunResult; call: CallResult | null } {
  const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', String(caseIndex), backend], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  const line = r.stdout.split('\n').find((l) => l.startsWith(CHILD_RESULT));
  if (r.status !== 0 || line === undefined) throw new Error(`bench child for case ${caseIndex} on ${backend} failed (status ${r.status}): ${r.stdout.slice(-2000)}`);
  return JSON.parse(line.slice(CHILD_RESULT.length)) as { run: RunResult; call: CallResult | null };
}

async function main(): Promise<void> {
  const at = process.argv.indexOf('--child');
  if (at >= 0) return child(Number(process.argv[at + 1]), process.argv[at + 2] as Backend);
  const alertAt = process.argv.indexOf('--alerts-child');
  if (alertAt >= 0) return alertChild(Number(process.argv[alertAt + 1]));
  const os = await import('node:os');
  const meta: Record<string, unknown> = { date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', frames: FRAMES, repeats: REPEATS, processPerCase: true, loadAverageAtStart: os.loadavg() };
  process.stderr.write(`bench: noise floor...\n`);
  const noise = measureNoise(2);
  const runs: RunResult[] = [];
  const calls: CallResult[] = [];
  CASES.forEach((c, i) => {
    for (const backend of c.backends.filter((b) => ONLY_BACKENDS === undefined || ONLY_BACKENDS.includes(b))) {
      process.stderr.write(`bench: ${c.pipeline} ${c.variant} on ${backend}, ${c.frames} frames x ${REPEATS}...\n`);
      const { run: r, call } = inChild(i, backend);
      process.stderr.write(`  fps ${r.fps}, e2e p50 ${r.e2eUs.p50} p99 ${r.e2eUs.p99} p99.9 ${r.e2eUs.p999} us, heap ${r.heapBytesPerFrame ?? 'void'} B/frame (${r.gcDuringHeapWindow} GCs)${call ? `; predict p50 ${call.us.p50} us` : ''}\n`);
      runs.push(r);
      if (call !== null) calls.push(call);
    }
  });
  if (ONLY_BACKENDS !== undefined) {
    const name = `frames-${ONLY_BACKENDS.join('-')}`;
    const comparisons = compare(runs, calls);
    const out = join(REPO, 'bench', 'results');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, `${name}.json`), JSON.stringify({ meta: { ...meta, backends: ONLY_BACKENDS }, runs, predictCalls: calls, simVersusOnnx: comparisons, noise }, null, 2) + '\n');
    const md = markdown(runs, noise, meta) + callsMarkdown(calls, comparisons, runs);
    writeFileSync(join(out, `${name}.md`), md);
    process.stdout.write(md);
    return;
  }
  const alerts: AlertRunResult[] = ALERT_CASES.map((c, i) => {
    process.stderr.write(`bench: ${c.pipeline} ${c.cutouts ? 'with' : 'without'} cutouts, ${c.alerts} alerts x ${REPEATS}...\n`);
    const r = alertInChild(i);
    process.stderr.write(`  ${r.alertsPerS} alerts/s, e2e p50 ${r.e2eMs.p50} p99 ${r.e2eMs.p99} ms\n`);
    return r;
  });
  process.stderr.write('bench: NATS JetStream (bare consume-and-ack, durable write, 1-3 daemons)...\n');
  const nats = await benchNats();
  // Keyword spotting: one stream in real time (sim and onnx), streams a core (bench/keywords.ts).
  const keywords = benchKeywords();
  process.stderr.write(`bench: serial and websocket links (socat pty pairs, the daemon as a child)...\n`);
  const links = await benchLinks();
  const comparisons = compare(runs, calls);
  const out = join(REPO, 'bench', 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'latest.json'), JSON.stringify({ meta, runs, predictCalls: calls, simVersusOnnx: comparisons, alerts, nats, keywords, links, noise }, null, 2) + '\n');
  const md = markdown(runs, noise, meta) + callsMarkdown(calls, comparisons, runs) + alertsMarkdown(alerts) + natsMarkdown(nats) + keywordsMarkdown(keywords) + linksMarkdown(links);
  writeFileSync(join(out, 'latest.md'), md);
  process.stdout.write(md);
}

await main();
