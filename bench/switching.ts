/**
 * The model chosen by the budget, measured: `node build/bench/switching.js` (after `make build`
 * and `make firmware`; `make bench` runs it). A replay whose input rate rises step by step and
 * falls back (BENCH_SWITCH_STEP_S seconds a step, default 3), on the BCCD cell capture and the
 * real ZTF alerts, each pipeline carrying several models of its task:
 *   - cells: the float teacher (onnx) and the student at four sizes (sim: widths 2,4 / 4,8 /
 *     8,16 shipped / 10,24), 5 ms budget (so the teacher, ~0.5-3 ms a cell here, is a member);
 *   - alerts: the real/bogus student at two sizes (sim: 8,16 shipped / 4,8), 50 ms budget;
 *   - alerts-transient: the transient classifier's teacher (onnx) and its student at two sizes
 *     (sim: widths 10,12 shipped / 6,8) on the real ZTF and Rubin packets, 50 ms budget;
 *   - keywords: the keyword teacher (onnx) and the DS-CNN student at two widths (sim: 48 shipped
 *     / 24), the real "yes" clips as one WAV stream replayed from 1x (50 hops/s, one stream) to
 *     80x (4,000 hops/s: what eighty streams cost one daemon), 20 ms budget (one hop).
 * Each schedule runs with switching (`modelSelection: { mode: budget }`) and without (the most
 * accurate model fixed, and the shipped student fixed), each run in a fresh process. Per rate
 * step: frames offered (rate x step), served (of the frames the schedule offered in the step,
 * those that reached the trigger write before the run ended: a pipeline far behind never gets
 * to the later steps' frames), throughput (frames written in the step per second), late
 * fraction (as the daemon counts it), drops, e2e p50/p99 (the daemon's: due -> trigger write;
 * a speed change re-dates a backlog, so a run far behind shows less than it waited), the
 * models that served them (and the late frames of each, in brackets), the event loop's busy
 * fraction over the step (the daemon's one thread: its utilization), and accuracy: against the capture's
 * labels (cells; "on time": right and within the budget, over the frames offered), and the
 * cards' accuracy of the models that served (both; the alert packets carry no labels).
 * Results: bench/results/switching.{json,md}; runs carry "modelSwitching": true and the steps.
 */
import { spawnSync } from 'node:child_process';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateConfig } from '../host/src/config/schema.js';
import { createDaemon } from '../host/src/daemon.js';
import { STAMP, type FrameSlot } from '../host/src/core/frame.js';
import { systemClock } from '../host/src/native/addon.js';
import { realTimers } from '../host/src/sources/source.js';
import type { ModelSwitchRecord } from '../host/src/model/model-selection.js';
import { cardAccuracy, probeInferUs } from '../host/src/model/model-selection.js';

const REPO = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const STEP_S = Number(process.env.BENCH_SWITCH_STEP_S ?? 3);
const FRAMES_MAX = 4_000_000;

interface PipelineCase {
  name: 'cells' | 'alerts' | 'alerts-transient' | 'keywords';
  /** The source's rate at speed 1 (frames/s): the capture's in real time, or the alert pacing's. */
  baseRateHz: number;
  rates: number[];
  budgetUs: number;
  models: Array<{ name: string; model: string; variant?: 'student' | 'teacher'; backend?: string }>;
  /** The shipped student (primary, `<task>/student`). */
  primary: string;
  /** Where the k-th frame delivered sits in the stream at speed 1, ns from the first: the
   * capture's sensor time (cells), or k evenly spaced intervals (alerts at a fixed rate). */
  streamOffsetNs(slot: FrameSlot, k: number, firstSensorNs: number): number;
  config(selection: boolean): Record<string, unknown>;
}

const ZOO = 'models/zoo';
const present = (m: { model: string }) => existsSync(join(REPO, m.model, 'card.json'));

const CELLS: PipelineCase = {
  name: 'cells',
  baseRateHz: 1939, // sim/recordings/cells-bccd-test.arrows in real time (hairtrigger inspect)
  // Up to where the shipped student saturates too (~13 us a cell here: ~75,000/s at most).
  rates: [100, 300, 1000, 3000, 10_000, 30_000, 60_000, 90_000, 60_000, 30_000, 10_000, 3000, 1000, 300, 100],
  budgetUs: 5000,
  primary: 'cells-bccd/student',
  streamOffsetNs: (slot, _k, first) => slot.sensorNs - first,
  models: [
    { name: 'teacher', model: `${ZOO}/cells-bccd`, variant: 'teacher' as const, backend: 'onnx' },
    { name: 'w10x24', model: `${ZOO}/cells-bccd-w10x24` },
    { name: 'w4x8', model: `${ZOO}/cells-bccd-w4x8` },
    { name: 'w2x4', model: `${ZOO}/cells-bccd-w2x4` },
  ].filter(present),
  config(selection) {
    return {
      pipeline: 'cells-bccd', model: `${ZOO}/cells-bccd`, backend: 'sim', budgetUs: this.budgetUs,
      models: this.models,
      ...(selection ? { modelSelection: { mode: 'budget' } } : {}),
      source: { kind: 'replay', path: 'sim/recordings/cells-bccd-test.arrows', pacing: `x${(this.rates[0]! / this.baseRateHz).toFixed(5)}`, loop: true },
      trigger: { targets: ['WBC'], threshold: 0.5, holdoffUs: 0, maxRatePerS: 1e7, burst: 1_000_000 },
      sinks: {}, server: { enabled: false },
    };
  },
};

const ALERTS: PipelineCase = {
  name: 'alerts',
  baseRateHz: 50, // the pacing's alertsPerS: the first step's rate
  rates: [50, 200, 500, 1000, 2000, 4000, 2000, 1000, 500, 200, 50],
  budgetUs: 50_000,
  primary: 'alerts-realbogus/student',
  streamOffsetNs(_slot, k) {
    return (k * 1e9) / this.baseRateHz;
  },
  models: [{ name: 'w4x8', model: `${ZOO}/alerts-realbogus-w4x8` }].filter(present),
  config(selection) {
    return {
      pipeline: 'alerts-realbogus', model: `${ZOO}/alerts-realbogus`, backend: 'sim', budgetUs: this.budgetUs,
      models: this.models,
      ...(selection ? { modelSelection: { mode: 'budget' } } : {}),
      source: { kind: 'alerts', paths: ['../shared/data/alerts/ztf-4.02-2023-10'], pacing: { kind: 'rate', alertsPerS: this.baseRateHz }, loop: true },
      decoder: { kind: 'avro' },
      trigger: { targets: ['real'], threshold: 0.5, holdoffUs: 0, maxRatePerS: 1e7, burst: 1_000_000 },
      sinks: {}, server: { enabled: false },
    };
  },
};

const ALERTS_TRANSIENT: PipelineCase = {
  name: 'alerts-transient',
  baseRateHz: 50,
  rates: [50, 200, 500, 1000, 2000, 4000, 2000, 1000, 500, 200, 50],
  budgetUs: 50_000,
  primary: 'alerts-transient/student',
  streamOffsetNs(_slot, k) {
    return (k * 1e9) / this.baseRateHz;
  },
  models: [
    { name: 'teacher', model: `${ZOO}/alerts-transient`, variant: 'teacher' as const, backend: 'onnx' },
    { name: 'w6x8', model: `${ZOO}/alerts-transient-w6x8` },
  ].filter(present),
  config(selection) {
    return {
      pipeline: 'alerts-transient', model: `${ZOO}/alerts-transient`, backend: 'sim', budgetUs: this.budgetUs,
      models: this.models,
      ...(selection ? { modelSelection: { mode: 'budget' } } : {}),
      source: { kind: 'alerts', paths: ['../shared/data/alerts/ztf-4.02-2023-10', '../shared/data/alerts/rubin-9.0-2025-09'], pacing: { kind: 'rate', alertsPerS: this.baseRateHz }, loop: true },
      decoder: { kind: 'avro' },
      trigger: { targets: ['SN Ia', 'SN II', 'SN Ibc', 'SLSN', 'TDE', 'AGN', 'Periodic'], threshold: 0.3, holdoffUs: 0, maxRatePerS: 1e7, burst: 1_000_000 },
      sinks: {}, server: { enabled: false },
    };
  },
};

const KEYWORDS: PipelineCase = {
  name: 'keywords',
  baseRateHz: 50, // one 16 kHz stream in real time: a hop every 20 ms
  // From one stream to eighty streams' worth of hops, and back.
  rates: [50, 200, 500, 1000, 2000, 4000, 2000, 1000, 500, 200, 50],
  budgetUs: 20_000,
  primary: 'keywords/student',
  // The window's stream time (sensorNs): the hop's place in the stream at speed 1.
  streamOffsetNs: (slot, _k, first) => slot.sensorNs - first,
  models: [
    { name: 'teacher', model: `${ZOO}/keywords`, variant: 'teacher' as const, backend: 'onnx' },
    { name: 'w24', model: `${ZOO}/keywords-w24` },
  ].filter(present),
  config(selection) {
    return {
      pipeline: 'keywords', model: `${ZOO}/keywords`, backend: 'sim', budgetUs: this.budgetUs,
      models: this.models,
      ...(selection ? { modelSelection: { mode: 'budget' } } : {}),
      source: { kind: 'wav', path: '../shared/data/audio/speech-commands-pico-tinyml-benchmark/yes', pacing: 'realtime', loop: true },
      trigger: { maxRatePerS: 1e7, burst: 1_000_000 },
      sinks: {}, server: { enabled: false },
    };
  },
};

const CASES = { cells: CELLS, alerts: ALERTS, 'alerts-transient': ALERTS_TRANSIENT, keywords: KEYWORDS };
/** The runs of a case: switching, the most accurate fixed, the shipped student fixed. */
type Mode = 'switching' | `fixed:${string}`;

interface StepResult {
  rateHz: number;
  offered: number;
  served: number;
  throughputHz: number;
  lateFraction: number;
  drops: number;
  e2eUsP50: number | null;
  e2eUsP99: number | null;
  /** Frames due in the step served by each model. */
  models: Record<string, number>;
  /** Of those, the late ones by model (where the step's late frames came from). */
  lateByModel: Record<string, number>;
  /** The event loop's busy fraction over the step (node's eventLoopUtilization): the one
   * thread's utilization, everything it did (source, hot path, timers, GC) included. */
  busy: number;
  /** Of the served frames with a label, the fraction classified right (null: no labels). */
  accuracy: number | null;
  /** Frames classified right and on time, over the frames offered (null: no labels). */
  onTimeAccuracy: number | null;
  /** The cards' accuracy of the models that served, weighted by their frames. */
  cardAccuracy: number | null;
  /** Frames expected right and on time by the cards: the sum over the frames not late of the
   * card accuracy of the model that served each (the alert packets carry no labels). */
  cardOnTime: number;
}

interface RunResult {
  pipeline: string;
  mode: Mode;
  modelSwitching: boolean;
  budgetUs: number;
  stepS: number;
  rateSteps: number[];
  models: Array<{ name: string; accuracy: number; priorUs?: number }>;
  steps: StepResult[];
  switches: ModelSwitchRecord[];
  totals: { offered: number; served: number; late: number; onTimeCorrect: number | null; labelled: number; cardOnTime?: number };
}

/** One run in this process: the schedule, per-frame stamps recorded beside the metrics. */
async function runCase(c: PipelineCase, mode: Mode): Promise<RunResult> {
  const cfg = validateConfig(c.config(mode === 'switching'), `bench ${c.name}`);
  const log: string[] = [];
  const clock = systemClock();
  const d = await createDaemon(cfg, { clock, timers: realTimers, log: (l) => log.push(l), baseDir: REPO, onBug: (e) => { throw e; } });
  if (mode !== 'switching') {
    d.models.select(mode.slice('fixed:'.length));
    // Warm every backend up as the selection's probe does (onnxruntime's first runs are slow).
    for (const m of d.models.models) probeInferUs(m.backend, [d.card.inputShape.reduce((a, b) => a * b, 1)], clock);
  }
  // Per frame: due, trigger write, late, correct (-1 unlabelled), model index. Recorded by
  // wrapping the metrics' per-frame call: a few typed-array writes a frame.
  const offset = new Float64Array(FRAMES_MAX), due = new Float64Array(FRAMES_MAX), emit = new Float64Array(FRAMES_MAX);
  const flags = new Int8Array(FRAMES_MAX), correct = new Int8Array(FRAMES_MAX), model = new Uint8Array(FRAMES_MAX);
  let n = 0;
  let firstSensorNs = Number.NaN;
  const record = d.metrics.recordFrame.bind(d.metrics);
  d.metrics.recordFrame = (slot: FrameSlot) => {
    record(slot);
    if (n >= FRAMES_MAX) return;
    if (n === 0) firstSensorNs = slot.sensorNs;
    offset[n] = c.streamOffsetNs(slot, n, firstSensorNs);
    due[n] = slot.dueNs;
    emit[n] = slot.stampsNs[STAMP.emit];
    flags[n] = slot.late ? 1 : 0;
    correct[n] = slot.label < 0 ? -1 : slot.label === slot.predicted ? 1 : 0;
    model[n] = d.models.index;
    n++;
  };
  const pacing = d.source.pacing!;
  const bounds: number[] = [clock.nowNs()];
  const drops: number[] = [0];
  const elu: EventLoopUtilization[] = [performance.eventLoopUtilization()];
  d.start(); // the source starts at the first step's speed
  for (const [k, rate] of c.rates.entries()) {
    if (k > 0) {
      bounds.push(clock.nowNs());
      elu.push(performance.eventLoopUtilization());
      drops.push(d.metrics.dropped);
      pacing.setSpeed(rate / c.baseRateHz);
    }
    await new Promise((r) => setTimeout(r, STEP_S * 1000));
  }
  bounds.push(clock.nowNs());
  elu.push(performance.eventLoopUtilization());
  drops.push(d.metrics.dropped);
  await d.stop();
  const names = d.models.names;
  const accuracy = d.models.models.map((m) => cardAccuracy(m.card!, m.variant!, m.backend.info().kind, 'bench'));
  // A frame belongs to the step whose stretch of the stream it sits in (S_j: the stream time
  // the schedule had reached at step j). Not by its due time: a speed change re-dates the
  // frames a pipeline is behind on (the pacer keeps the stream time reached), so a backlog
  // would land in the wrong steps. Latency and lateness are the daemon's own (from `dueNs`).
  const starts = [0];
  for (let k = 0; k < c.rates.length; k++) starts.push(starts[k]! + (c.rates[k]! / c.baseRateHz) * (bounds[k + 1]! - bounds[k]!));
  const stepOf = new Int16Array(n);
  for (let i = 0, j = 0; i < n; i++) {
    while (j < c.rates.length - 1 && offset[i]! >= starts[j + 1]!) j++;
    stepOf[i] = offset[i]! >= starts[j]! && offset[i]! < starts[j + 1]! ? j : -1;
  }
  const steps = c.rates.map((rate, k) => ({
    ...stepStats(rate, k, bounds[k]!, bounds[k + 1]!, drops[k + 1]! - drops[k]!, { due, stepOf, emit, flags, correct, model, n }, names, accuracy),
    busy: Number(performance.eventLoopUtilization(elu[k + 1]!, elu[k]!).utilization.toFixed(3)),
  }));
  const view = d.selection?.view();
  const labelled = steps.reduce((s, x) => s + (x.accuracy === null ? 0 : x.served), 0);
  return {
    pipeline: c.name, mode, modelSwitching: mode === 'switching', budgetUs: c.budgetUs, stepS: STEP_S, rateSteps: c.rates,
    models: names.map((name, i) => ({ name, accuracy: accuracy[i]!, ...(view ? { priorUs: d.selection!.selector.models[i]!.priorUs } : {}) })),
    steps,
    switches: view?.recent ?? [],
    totals: {
      offered: steps.reduce((s, x) => s + x.offered, 0),
      served: steps.reduce((s, x) => s + x.served, 0),
      late: steps.reduce((s, x) => s + Math.round(x.lateFraction * x.served), 0),
      onTimeCorrect: labelled > 0 ? steps.reduce((s, x) => s + Math.round((x.onTimeAccuracy ?? 0) * x.offered), 0) : null,
      labelled,
      cardOnTime: Math.round(steps.reduce((s, x) => s + x.cardOnTime, 0)),
    },
  };
}

interface Frames { due: Float64Array; stepOf: Int16Array; emit: Float64Array; flags: Int8Array; correct: Int8Array; model: Uint8Array; n: number }

/** Step `step`'s figures (late: as the daemon counts it, past the budget at the policy). */
function stepStats(rateHz: number, step: number, t0: number, t1: number, drops: number, f: Frames, names: readonly string[], cardAcc: readonly number[]): Omit<StepResult, 'busy'> {
  const seconds = (t1 - t0) / 1e9;
  const e2e: number[] = [];
  const byModel = names.map(() => 0);
  const lateBy = names.map(() => 0);
  let served = 0, late = 0, written = 0, labelled = 0, right = 0, onTimeRight = 0, cardOnTime = 0;
  for (let i = 0; i < f.n; i++) {
    if (f.emit[i]! >= t0 && f.emit[i]! < t1) written++;
    if (f.stepOf[i] !== step) continue;
    served++;
    e2e.push((f.emit[i]! - f.due[i]!) / 1000);
    const isLate = f.flags[i] === 1;
    if (isLate) {
      late++;
      lateBy[f.model[i]!]!++;
    } else cardOnTime += cardAcc[f.model[i]!]!;
    byModel[f.model[i]!]!++;
    if (f.correct[i]! >= 0) {
      labelled++;
      if (f.correct[i] === 1) {
        right++;
        if (!isLate) onTimeRight++;
      }
    }
  }
  e2e.sort((a, b) => a - b);
  const q = (p: number) => (e2e.length === 0 ? null : Number(e2e[Math.min(e2e.length - 1, Math.floor(p * e2e.length))]!.toFixed(1)));
  const offered = Math.round(rateHz * seconds);
  const round = (x: number) => Number(x.toFixed(4));
  return {
    rateHz, offered, served, throughputHz: Math.round(written / seconds), lateFraction: served > 0 ? round(late / served) : 0, drops,
    e2eUsP50: q(0.5), e2eUsP99: q(0.99),
    models: Object.fromEntries(names.map((m, i) => [m, byModel[i]!]).filter(([, c]) => (c as number) > 0)),
    lateByModel: Object.fromEntries(names.map((m, i) => [m, lateBy[i]!]).filter(([, c]) => (c as number) > 0)),
    accuracy: labelled > 0 ? round(right / labelled) : null,
    onTimeAccuracy: labelled > 0 ? round(onTimeRight / Math.max(offered, served)) : null,
    cardAccuracy: served > 0 ? round(byModel.reduce((s, c, i) => s + c * cardAcc[i]!, 0) / served) : null,
    cardOnTime: Number(cardOnTime.toFixed(1)),
  };
}

/** The runs of every case, each in a fresh child process (as bench/run.ts does). */
function main(): void {
  const dir = join(REPO, 'bench', 'results');
  if (process.env.BENCH_SWITCH_MD_ONLY === '1') {
    // Rewrites switching.md from switching.json (after editing switching-notes.md), running nothing.
    writeFileSync(join(dir, 'switching.md'), markdown(JSON.parse(readFileSync(join(dir, 'switching.json'), 'utf8')) as Parameters<typeof markdown>[0]));
    return;
  }
  const only = process.env.BENCH_SWITCH_CASES?.split(',') ?? Object.keys(CASES);
  const runs: RunResult[] = [];
  for (const name of only) {
    const c = CASES[name as keyof typeof CASES];
    if (c === undefined) throw new Error(`BENCH_SWITCH_CASES: ${name} is not one of ${Object.keys(CASES).join(', ')}`);
    const modes: Mode[] = ['switching', ...(c.models.some((m) => m.name === 'teacher') ? ['fixed:teacher' as const] : []), `fixed:${c.primary}`];
    for (const mode of modes) {
      process.stderr.write(`switching bench: ${name} ${mode} (${c.rates.length} steps of ${STEP_S} s)\n`);
      const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--case', name, '--mode', mode], { cwd: REPO, encoding: 'utf8', maxBuffer: 64 << 20 });
      if (r.status !== 0) throw new Error(`${name} ${mode} failed (${r.status}): ${r.stderr.slice(-2000)}`);
      runs.push(JSON.parse(r.stdout.trim().split('\n').at(-1)!) as RunResult);
    }
  }
  // BENCH_SWITCH_CASES=cells (or alerts) reruns one pipeline and keeps the other's runs.
  const previous = existsSync(join(dir, 'switching.json')) ? (JSON.parse(readFileSync(join(dir, 'switching.json'), 'utf8')) as { runs: RunResult[] }).runs : [];
  const kept = previous.filter((r) => !only.includes(r.pipeline));
  // Cells, then alerts, then keywords; a pipeline rerun alone keeps the others' runs (their date is in `dates`).
  const order = Object.keys(CASES);
  const date = new Date().toISOString();
  const before = existsSync(join(dir, 'switching.json')) ? (JSON.parse(readFileSync(join(dir, 'switching.json'), 'utf8')) as { date: string; dates?: Record<string, string> }) : null;
  const dates: Record<string, string> = {};
  for (const r of kept) dates[r.pipeline] = before?.dates?.[r.pipeline] ?? before!.date;
  for (const name of only) dates[name] = date;
  const result = { date, dates, node: process.version, stepS: STEP_S, runs: [...kept, ...runs].sort((a, b) => order.indexOf(a.pipeline) - order.indexOf(b.pipeline)) };
  writeFileSync(join(dir, 'switching.json'), `${JSON.stringify(result, null, 2)}\n`);
  const md = markdown(result);
  writeFileSync(join(dir, 'switching.md'), md);
  process.stdout.write(md);
}

function markdown(r: { date: string; dates: Record<string, string>; node: string; stepS: number; runs: RunResult[] }): string {
  const lines = [`# Model switching under a rising and falling input rate (${r.date}, ${r.node}, ${r.stepS} s a step)`, ''];
  lines.push(`Command: \`node build/bench/switching.js\` (BENCH_SWITCH_CASES=keywords reruns one pipeline and keeps the others' runs; BENCH_SWITCH_MD_ONLY=1 rewrites this file from switching.json and switching-notes.md). Runs made: ${Object.entries(r.dates).map(([p, d]) => `${p} ${d}`).join(', ')}.`, '');
  const pct = (x: number | null) => (x === null ? '–' : `${(x * 100).toFixed(1)}%`);
  for (const run of r.runs) {
    lines.push(`## ${run.pipeline}: ${run.mode === 'switching' ? 'with switching' : `without switching (${run.mode.slice(6)} fixed)`}, budget ${run.budgetUs} us`, '');
    lines.push(`Models (card accuracy${run.models[0]?.priorUs !== undefined ? ', probed us a frame' : ''}): ${run.models.map((m) => `${m.name} ${m.accuracy}${m.priorUs !== undefined ? ` ~${m.priorUs.toFixed(1)} us` : ''}`).join(', ')}`, '');
    lines.push('| rate /s | offered | served | throughput /s | late | drops | e2e p50 us | e2e p99 us | accuracy | on-time accuracy | card accuracy | busy | models (late) |', '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
    for (const s of run.steps) {
      lines.push(`| ${s.rateHz} | ${s.offered} | ${s.served} | ${s.throughputHz} | ${pct(s.lateFraction)} | ${s.drops} | ${s.e2eUsP50 ?? '–'} | ${s.e2eUsP99 ?? '–'} | ${pct(s.accuracy)} | ${pct(s.onTimeAccuracy)} | ${pct(s.cardAccuracy)} | ${s.busy === undefined ? '–' : s.busy.toFixed(2)} | ${Object.entries(s.models).map(([m, c]) => `${m} ${c}${s.lateByModel?.[m] ? ` (${s.lateByModel[m]})` : ''}`).join(', ')} |`);
    }
    const t = run.totals;
    lines.push('', `Totals: ${t.served} of ${t.offered} offered frames served, ${t.late} late${t.onTimeCorrect === null ? '' : `, ${t.onTimeCorrect} classified right on time (${pct(t.onTimeCorrect / t.offered)} of offered)`}${t.cardOnTime === undefined ? '' : `; expected right on time by the cards: ${t.cardOnTime} (${pct(t.cardOnTime / t.offered)} of offered)`}.`);
    if (run.modelSwitching) lines.push('', `Switches (${run.switches.length}): ${run.switches.map((s) => `${s.direction} ${s.from} -> ${s.to} at ${Math.round(s.rateHz)}/s (${s.reason})`).join('; ') || 'none'}`);
    lines.push('');
  }
  lines.push('## With and without switching, side by side', '', '| pipeline | run | late | right on time (labels) | expected right on time (cards) |', '| --- | --- | ---: | ---: | ---: |');
  for (const run of r.runs) {
    const t = run.totals;
    const of = (x: number | null | undefined) => (x === null || x === undefined ? '–' : `${x} (${pct(x / t.offered)})`);
    lines.push(`| ${run.pipeline} | ${run.mode === 'switching' ? 'switching' : `${run.mode.slice(6)} fixed`} | ${t.late} | ${of(t.onTimeCorrect)} | ${of(t.cardOnTime)} |`);
  }
  lines.push('');
  // The hand-written reading of these runs (where the late frames came from), kept beside them.
  const notes = join(REPO, 'bench', 'results', 'switching-notes.md');
  if (existsSync(notes)) lines.push(readFileSync(notes, 'utf8').trimEnd(), '');
  return lines.join('\n');
}

const caseArg = process.argv.indexOf('--case');
if (caseArg >= 0) {
  const c = CASES[process.argv[caseArg + 1] as keyof typeof CASES];
  const mode = process.argv[process.argv.indexOf('--mode') + 1] as Mode;
  runCase(c, mode).then((r) => process.stdout.write(`${JSON.stringify(r)}\n`), (e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  });
} else main();
