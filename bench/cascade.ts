/**
 * The cascade to the teacher (host/src/cascade) swept over the cut, on the alert pipeline (the
 * real ZTF and Rubin packets under ../shared/data/alerts, transient student on `sim`, its
 * teacher on onnx) and the BCCD cell sorter (the recorded test split, student on `sim`, teacher
 * on onnx):
 *   node build/bench/cascade.js          (after `make build` and `make firmware`; part of `make bench`)
 * Each run is a fresh child process (one daemon, as in bench/run.ts). Two kinds per cut:
 *   - `max`: replayed as fast as the student goes (CASCADE_MAX_FRAMES frames, 10,000; the recording
 *     looped): the student's throughput and latency beside a teacher that cannot keep up, how
 *     many unsure frames it sent and dropped (queue full), agreement over what it answered;
 *   - `paced`: at a rate the teacher can mostly follow (alerts 200/s; cells at the recording's
 *     own times, x1, about 1,900/s), for
 *     CASCADE_PACED_S seconds, 3): sent/s, agreement, the teacher's latency from each frame's due
 *     time; the alerts run with `replace` and a 5 ms budget, so held triggers are decided by
 *     the teacher when it answers in time and by the student otherwise.
 * Keywords: real Speech Commands clips of every word, unknown words and silence (copied in
 * name order into build/bench/cascade-clips: the wav source plays a folder as one stream), DS-CNN
 * student on `sim`, the keyword teacher on onnx fed the same MFCC window of each 20 ms hop; never
 * `replace` (a detection is over smoothed hops). `max`: KEYWORDS_MAX_CLIPS clips (120, about
 * 5,900 hops) as fast as the student goes; paced: the first third of them at ten times real time
 * (500 hops/s, ten streams' worth) with the 20 ms budget of one hop.
 * CASCADE_PIPELINES (alerts,cells-bccd,keywords) picks the pipelines to run; the rows of the
 * others are kept from the results file as they were (their date and load are in it).
 * CASCADE_REPEATS rounds (3) over every case, interleaved; each row is the round of median
 * frames/s. Runs carry `"cascade":{"cut","sentPerS","agreement"}` (the baseline, without a cascade,
 * carries `"cascade": null`), and the CPU each thread of the child spent during the replay (the
 * main thread's per frame; the others': the teacher's worker, V8's helpers). Results:
 * bench/results/cascade.{json,md}.
 *
 * CASCADE_PIPELINES=cells-bccd (a comma list) runs those pipelines only; CASCADE_BEFORE=DIR (a
 * built checkout of another commit) runs every case there too, alternately with this one in each
 * round, and writes bench/results/cascade-before-after.{json,md} instead (rows marked before/this).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateConfig } from '../host/src/config/schema.js';
import { createDaemon } from '../host/src/daemon.js';
import { systemClock } from '../host/src/native/addon.js';
import { realTimers } from '../host/src/sources/source.js';

const REPO = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const ALERTS_DIR = resolve(REPO, '..', 'shared', 'data', 'alerts');
const SPEECH_DIR = resolve(REPO, '..', 'shared', 'data', 'audio', 'speech-commands-pico-tinyml-benchmark');
const CLIPS_DIR = join(REPO, 'build', 'bench', 'cascade-clips');
const KEYWORDS_MAX_CLIPS = Number(process.env.KEYWORDS_MAX_CLIPS ?? 120);
/** Times real time of the paced keyword runs (one stream is 50 hops/s). */
const KEYWORDS_SPEED = 10;
const PIPELINES = (process.env.CASCADE_PIPELINES ?? 'alerts,cells-bccd,keywords').split(',').map((x) => x.trim()) as Array<Case['pipeline']>;
const MAX_FRAMES = Number(process.env.CASCADE_MAX_FRAMES ?? 10_000);
const PACED_S = Number(process.env.CASCADE_PACED_S ?? 3);
/** Rounds over every case (interleaved, so the machine's load falls on all alike); each row is
 * the round of median frames/s, with the range of frames/s and e2e p99 over the rounds. */
const REPEATS = Number(process.env.CASCADE_REPEATS ?? 3);
const QUEUE_FRAMES = 64;
const BEFORE = process.env.CASCADE_BEFORE;

type Pacing = 'max' | 'paced';
interface Case {
  pipeline: 'alerts' | 'cells-bccd' | 'keywords';
  pacing: Pacing;
  /** Margin cut; null: no cascade (the baseline). */
  cut: number | null;
}

/** Cuts per pipeline: the transient student is unsure of most real packets (median margin
 * 0.06), the BCCD student of few cells (margin under 0.9 on 2% of the test split). */
const CUTS: Record<Case['pipeline'], Array<number | null>> = {
  alerts: [null, 0.02, 0.06, 0.15, 0.4, 1],
  'cells-bccd': [null, 0.5, 0.9, 0.99, 1],
  keywords: [null, 0.1, 0.3, 0.6, 1],
};
/** Alerts per second; the cells' recording is replayed at its own times (x1). */
const ALERTS_PER_S = 200;
const PACED_LABEL: Record<Case['pipeline'], string> = { alerts: `${ALERTS_PER_S}/s`, 'cells-bccd': 'x1 (recorded)', keywords: `x${KEYWORDS_SPEED} (${50 * KEYWORDS_SPEED} hops/s)` };
const ALERTS_BUDGET_US = 5000;

export interface CascadeRun {
  pipeline: string;
  pacing: Pacing | string;
  backend: string;
  teacherBackend: 'onnx';
  frames: number;
  seconds: number;
  framesPerS: number;
  e2eUs: { p50: number; p99: number; p999: number };
  late: number;
  triggers: number;
  cascade: { cut: number; sentPerS: number; agreement: number } | null;
  sent?: number;
  unsure?: number;
  dropped?: number;
  answered?: number;
  queueDepthMax?: number;
  teacherLatencyUs?: { p50: number; p99: number };
  teacherInferUs?: { p50: number };
  decidedByTeacher?: number;
  decidedByStudent?: number;
  /** Over the rounds: how many, and the least and most frames/s and e2e p99 (us). */
  rounds?: { n: number; framesPerS: [number, number]; e2eP99Us: [number, number] };
  /** CPU time during the replay: the main thread's (the hot path's) per frame, us, and all other
   * threads' (the teacher's worker, V8's compiler and GC helpers), ms. */
  cpu?: { mainUsPerFrame: number; othersMs: number };
  /** With CASCADE_BEFORE: which checkout ran it. */
  tree?: 'before' | 'this';
}

/** CPU ms of each thread of this process so far (utime + stime, /proc/self/task/<tid>/stat). */
function threadCpuMs(): Map<string, number> {
  const out = new Map<string, number>();
  const tick = 1000 / 100; // USER_HZ
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, (Number(f[11]) + Number(f[12])) * tick);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

/** The keyword clips, as one stream per folder: `max` (KEYWORDS_MAX_CLIPS, every word in turn,
 * the clips of each in name order) and `paced` (its first third). Made afresh each parent run. */
function keywordClips(): void {
  rmSync(CLIPS_DIR, { recursive: true, force: true });
  const words = readdirSync(SPEECH_DIR, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  const lists = words.map((w) => readdirSync(join(SPEECH_DIR, w)).filter((f) => f.endsWith('.wav')).sort().map((f) => join(SPEECH_DIR, w, f)));
  const picked: string[] = [];
  for (let i = 0; picked.length < KEYWORDS_MAX_CLIPS && lists.some((l) => i < l.length); i++) for (const l of lists) if (i < l.length && picked.length < KEYWORDS_MAX_CLIPS) picked.push(l[i]!);
  for (const [folder, n] of [['max', picked.length], ['paced', Math.ceil(picked.length / 3)]] as const) {
    mkdirSync(join(CLIPS_DIR, folder), { recursive: true });
    picked.slice(0, n).forEach((f, k) => copyFileSync(f, join(CLIPS_DIR, folder, `${String(k).padStart(4, '0')}.wav`)));
  }
}

function config(c: Case, dir: string) {
  const paced = c.pacing === 'paced';
  if (c.pipeline === 'keywords') {
    return validateConfig({
      server: { enabled: false }, sinks: { jsonl: join(dir, 'triggers.jsonl') }, backend: 'sim',
      ...(c.cut === null ? {} : { cascade: { model: 'models/zoo/keywords', cut: { margin: c.cut }, queueFrames: QUEUE_FRAMES } }),
      pipeline: 'keywords', model: 'models/zoo/keywords', budgetUs: paced ? 20_000 : 10_000_000,
      source: { kind: 'wav', path: join(CLIPS_DIR, c.pacing), pacing: paced ? `x${KEYWORDS_SPEED}` : 'max' },
      trigger: { maxRatePerS: 1e7, burst: 1_000_000 },
    });
  }
  // The BCCD recording's times run at about 1,900 frames/s.
  const frames = paced ? Math.round((c.pipeline === 'alerts' ? ALERTS_PER_S : 1900) * PACED_S) : MAX_FRAMES;
  const cascade = c.cut === null ? {} : { cascade: { model: c.pipeline === 'alerts' ? 'models/zoo/alerts-transient' : 'models/zoo/cells-bccd', cut: { margin: c.cut }, queueFrames: QUEUE_FRAMES, replace: c.pipeline === 'alerts' && paced } };
  const common = { server: { enabled: false }, sinks: { jsonl: join(dir, 'triggers.jsonl') }, backend: 'sim', ...cascade };
  if (c.pipeline === 'alerts') {
    return validateConfig({
      ...common, pipeline: 'alerts', model: 'models/zoo/alerts-transient', budgetUs: paced ? ALERTS_BUDGET_US : 10_000_000,
      source: { kind: 'alerts', paths: [join(ALERTS_DIR, 'ztf-4.02-2023-10'), join(ALERTS_DIR, 'rubin-9.0-2025-09')], loop: true, frames, pacing: paced ? { kind: 'rate', alertsPerS: ALERTS_PER_S } : 'max' },
      decoder: { kind: 'avro' },
      trigger: { targets: ['SN Ia', 'SN II', 'SN Ibc', 'SLSN', 'TDE', 'AGN', 'Periodic'], threshold: 0.3, maxRatePerS: 1e7, burst: 1_000_000 },
    });
  }
  return validateConfig({
    ...common, pipeline: 'cells-bccd', model: 'models/zoo/cells-bccd', budgetUs: paced ? 1000 : 10_000_000,
    source: { kind: 'replay', path: 'sim/recordings/cells-bccd-test.arrows', loop: true, frames, pacing: paced ? 'x1' : 'max' },
    trigger: { targets: ['WBC'], threshold: 0.5, maxRatePerS: 1e7, burst: 1_000_000 },
  });
}

/** One run in this (child) process. */
async function runCase(c: Case): Promise<CascadeRun> {
  const dir = join(REPO, 'build', 'bench', 'cascade-runs', `${c.pipeline}-${c.pacing}-${c.cut ?? 'none'}-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const clock = systemClock();
  const d = await createDaemon(config(c, dir), { clock, timers: realTimers, log: () => {}, baseDir: REPO, onBug: (e) => { throw e; } });
  const cpu0 = threadCpuMs();
  const t0 = clock.nowNs();
  d.start();
  await d.sourceDone;
  const seconds = (clock.nowNs() - t0) / 1e9;
  const cpu1 = threadCpuMs();
  const main = String(process.pid);
  let othersMs = 0;
  for (const [tid, ms] of cpu1) if (tid !== main) othersMs += ms - (cpu0.get(tid) ?? 0);
  await d.stop();
  const s = d.metrics.snapshot();
  const k = d.cascade?.read(clock.nowNs()) ?? null;
  const run: CascadeRun = {
    pipeline: c.pipeline, pacing: c.pacing === 'paced' ? PACED_LABEL[c.pipeline] : 'max', backend: 'sim', teacherBackend: 'onnx',
    frames: s.frames, seconds: round(seconds), framesPerS: round(s.frames / seconds),
    e2eUs: { p50: s.e2eUs.p50, p99: s.e2eUs.p99, p999: s.e2eUs.p999 }, late: s.late, triggers: s.triggers,
    cpu: { mainUsPerFrame: round(((cpu1.get(main)! - cpu0.get(main)!) * 1000) / s.frames), othersMs },
    cascade: k === null ? null : { cut: k.cut, sentPerS: round(k.sent / seconds), agreement: round(k.agreement) },
  };
  if (k !== null) {
    Object.assign(run, {
      sent: k.sent, unsure: k.unsure, dropped: k.dropped, answered: k.answered, queueDepthMax: k.queueDepthMax,
      teacherLatencyUs: { p50: k.teacherLatencyUs.p50, p99: k.teacherLatencyUs.p99 }, teacherInferUs: { p50: k.teacherInferUs.p50 },
      ...(k.replace ? { decidedByTeacher: k.decidedByTeacher, decidedByStudent: k.decidedByStudent } : {}),
    });
  }
  return run;
}

/** The round of median frames/s, with the ranges over all rounds. */
function medianRun(rs: readonly CascadeRun[]): CascadeRun {
  const sorted = [...rs].sort((a, b) => a.framesPerS - b.framesPerS);
  const fps = sorted.map((r) => r.framesPerS);
  const p99 = rs.map((r) => r.e2eUs.p99);
  return { ...sorted[(sorted.length - 1) >> 1]!, rounds: { n: rs.length, framesPerS: [Math.min(...fps), Math.max(...fps)], e2eP99Us: [Math.min(...p99), Math.max(...p99)] } };
}

function round(x: number): number {
  return Number(x.toPrecision(5));
}

/** One case in a fresh child of this checkout, or of `tree` (its build/bench/cascade.js). */
function child(c: Case, tree?: string): CascadeRun {
  const script = tree === undefined ? fileURLToPath(import.meta.url) : join(tree, 'build', 'bench', 'cascade.js');
  const r = spawnSync(process.execPath, [...process.execArgv, script, '--child', JSON.stringify(c)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`cascade bench child ${JSON.stringify(c)} in ${tree ?? 'this checkout'} failed (status ${r.status})`);
  return { ...(JSON.parse(r.stdout.trim().split('\n').at(-1)!) as CascadeRun), ...(BEFORE === undefined ? {} : { tree: tree === undefined ? 'this' : 'before' }) };
}

function markdown(runs: readonly CascadeRun[], date: string, parts: Record<string, string>): string {
  const f = (x: number | undefined, d = 1) => (x === undefined ? '–' : x.toFixed(d));
  const range = (xs: [number, number] | undefined, d = 0) => (xs === undefined ? '' : ` (${xs[0].toFixed(d)}-${xs[1].toFixed(d)})`);
  const rows = runs.map((r) => `| ${r.tree === undefined ? '' : `${r.tree} | `}${r.pipeline} | ${r.pacing} | ${r.cascade === null ? 'none' : r.cascade.cut} | ${r.frames} | ${f(r.framesPerS, 0)}${range(r.rounds?.framesPerS)} | ${f(r.e2eUs.p50)} | ${f(r.e2eUs.p99)}${range(r.rounds?.e2eP99Us)} | ${r.cascade === null ? '–' : `${r.sent} / ${r.unsure}`} | ${r.dropped ?? '–'} | ${r.queueDepthMax ?? '–'} | ${r.cascade === null ? '–' : f(r.cascade.sentPerS)} | ${r.cascade === null ? '–' : `${(r.cascade.agreement * 100).toFixed(1)}%`} | ${f(r.teacherLatencyUs?.p50, 0)} / ${f(r.teacherLatencyUs?.p99, 0)} | ${r.decidedByTeacher === undefined ? '–' : `${r.decidedByTeacher} / ${r.decidedByStudent}`} | ${r.cpu === undefined ? '–' : `${f(r.cpu.mainUsPerFrame, 2)} / ${f(r.cpu.othersMs, 0)}`} |`);
  const treeHead = BEFORE === undefined ? '' : 'tree | ';
  return [
    `# Cascade to the teacher: the cut swept (${date}, ${process.version}, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} at the end, ${cpus().length} cores)`,
    '',
    BEFORE === undefined
      ? 'Command: `node build/bench/cascade.js` (after `make build` and `make firmware`; `make bench` runs it; `CASCADE_PIPELINES=keywords` reruns one pipeline and keeps the others\' rows).'
      : `Command: \`CASCADE_BEFORE=${BEFORE} CASCADE_PIPELINES=${PIPELINES.join(',')} node build/bench/cascade.js\`: each case in both checkouts, alternately within each round (\`before\`: the checkout at CASCADE_BEFORE, built; \`this\`: this one).`,
    `Rows run at: ${Object.entries(parts).map(([p, d]) => `${p} ${d}`).join(', ')} (load average above: at the end of the latest).`,
    `Student on \`sim\` (the firmware on the CPU), teacher on onnxruntime in its own worker thread, queue of ${QUEUE_FRAMES} frames; cut on the student's margin (top-1 minus top-2 probability: a frame is sent when its margin is under the cut). Alerts: the real ZTF (2023-10) and Rubin (2025-09) packets looped; cells: the BCCD test split looped; keywords: ${KEYWORDS_MAX_CLIPS} real Speech Commands clips (every word, unknown words, silence) as one stream, a frame per 20 ms hop (frames/s are hops/s), the teacher fed the hop's MFCC window, never \`replace\`. \`max\`: ${MAX_FRAMES} frames (keywords: the whole stream) as fast as the student goes; paced: ${PACED_S} s at the rate shown (keywords: the first third of the clips, ${Math.ceil(KEYWORDS_MAX_CLIPS / 3)} s of audio in ${(Math.ceil(KEYWORDS_MAX_CLIPS / 3) / KEYWORDS_SPEED).toFixed(0)} s; alerts with \`replace\` and a ${ALERTS_BUDGET_US / 1000} ms budget: held triggers decided by the teacher / the student). ${REPEATS} rounds over every case, interleaved: each row is the round of median frames/s, with the range over the rounds in brackets (frames/s and e2e p99). On a shared machine the latencies follow its load more than the cut.`,
    '',
    `| ${treeHead}pipeline | pacing | cut | frames | frames/s | e2e p50 us | e2e p99 us | sent / unsure | dropped | queue max | sent/s | agreement | teacher after due p50 / p99 us | decided teacher / student | CPU: main us/frame / other threads ms |`,
    `| ${treeHead === '' ? '' : '--- | '}--- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`,
    ...rows,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const at = process.argv.indexOf('--child');
  if (at >= 0) {
    const run = await runCase(JSON.parse(process.argv[at + 1]!) as Case);
    process.stdout.write(`${JSON.stringify(run)}\n`);
    // The teacher's worker is unref'd and closed; nothing else should keep the child alive.
    process.exit(0);
  }
  const cases: Case[] = [];
  for (const pipeline of PIPELINES) {
    if (CUTS[pipeline] === undefined) throw new Error(`CASCADE_PIPELINES: ${pipeline} is not one of ${Object.keys(CUTS).join(', ')}`);
    for (const pacing of ['max', 'paced'] as const) for (const cut of CUTS[pipeline]) cases.push({ pipeline, pacing, cut });
  }
  if (PIPELINES.includes('keywords')) keywordClips();
  // With CASCADE_BEFORE each case runs in both checkouts, alternately (which goes first alternates too).
  const trees: Array<string | undefined> = BEFORE === undefined ? [undefined] : [BEFORE, undefined];
  const byCase: CascadeRun[][] = cases.flatMap(() => trees.map(() => []));
  for (let round = 0; round < REPEATS; round++) {
    cases.forEach((c, i) => {
      const order = round % 2 === 0 ? trees.map((_, k) => k) : trees.map((_, k) => trees.length - 1 - k);
      for (const k of order) {
        const r = child(c, trees[k]);
        console.error(`round ${round + 1}${r.tree === undefined ? '' : ` (${r.tree})`}: ${c.pipeline} ${c.pacing} cut ${c.cut ?? 'none'}: ${r.framesPerS} frames/s, e2e p99 ${r.e2eUs.p99} us, cascade ${JSON.stringify(r.cascade)}, dropped ${r.dropped ?? '-'}, cpu ${JSON.stringify(r.cpu)}`);
        byCase[i * trees.length + k]!.push(r);
      }
    });
  }
  const dir = join(REPO, 'bench', 'results');
  const date = new Date().toISOString();
  if (BEFORE !== undefined) {
    // A before/after comparison: its own files, every row from this run.
    const runs = byCase.map(medianRun);
    writeFileSync(join(dir, 'cascade-before-after.json'), `${JSON.stringify({ date, node: process.version, loadAverage: loadavg(), cores: cpus().length, queueFrames: QUEUE_FRAMES, maxFrames: MAX_FRAMES, pacedS: PACED_S, repeats: REPEATS, before: BEFORE, runs }, null, 2)}\n`);
    const md = markdown(runs, date, Object.fromEntries(PIPELINES.map((p) => [p, date])));
    writeFileSync(join(dir, 'cascade-before-after.md'), md);
    console.log(md);
    return;
  }
  // The pipelines not run this time keep their rows (and the file says when each part ran).
  const file = join(dir, 'cascade.json');
  const before = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { date: string; runs: CascadeRun[]; parts?: Record<string, string> }) : null;
  const kept = (before?.runs ?? []).filter((r) => !PIPELINES.includes(r.pipeline as Case['pipeline']));
  const parts: Record<string, string> = {};
  for (const r of kept) parts[r.pipeline] = before?.parts?.[r.pipeline] ?? before!.date;
  for (const p of PIPELINES) parts[p] = date;
  const order = Object.keys(CUTS);
  const runs = [...kept, ...byCase.map(medianRun)].sort((a, b) => order.indexOf(a.pipeline) - order.indexOf(b.pipeline));
  writeFileSync(file, `${JSON.stringify({ date, parts, node: process.version, loadAverage: loadavg(), cores: cpus().length, queueFrames: QUEUE_FRAMES, maxFrames: MAX_FRAMES, pacedS: PACED_S, keywordsMaxClips: KEYWORDS_MAX_CLIPS, repeats: REPEATS, runs }, null, 2)}\n`);
  const md = markdown(runs, date, parts);
  writeFileSync(join(dir, 'cascade.md'), md);
  console.log(md);
}

await main();
