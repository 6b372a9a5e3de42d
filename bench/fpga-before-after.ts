import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import type { HostOverheadUs } from './host-overhead.js';

/**
 * The fpga bench's host-overhead cases in two checkouts, side by side in one run (issue 14):
 * `--before DIR` is another checkout built with `make build` and `make firmware` (e.g. a git
 * worktree at the commit before a change), the after one this repository. Each round runs every
 * case in both, one fresh child each (`build/bench/run.js --child CASE fpga`, as `make bench`
 * does), the order of the two alternating from round to round so a drift of the machine's load
 * weighs on both; the table holds the medians over the rounds of each child's p50s. Writes
 * bench/results/fpga-before-after.{md,json}.
 *
 *   node --expose-gc build/bench/fpga-before-after.js --before ../wt-base [--rounds 3] [--cases 0,1,2]
 *
 * BENCH_FRAMES and BENCH_JET_FRAMES (default here 20,000 and 200,000) reach the children.
 */

const REPO = resolve(new URL('.', import.meta.url).pathname, '..', '..');

interface Side {
  readonly frames: HostOverheadUs;
  readonly calls: HostOverheadUs | null;
}

interface ChildResult {
  run: { pipeline: string; measured?: HostOverheadUs };
  call: { measured?: HostOverheadUs } | null;
}

function arg(name: string, fallback?: string): string {
  const at = process.argv.indexOf(name);
  const v = at >= 0 ? process.argv[at + 1] : fallback;
  if (v === undefined) throw new Error(`fpga-before-after: ${name} is required (usage in bench/fpga-before-after.ts)`);
  return v;
}

function runChild(tree: string, caseIndex: number): { pipeline: string; side: Side } {
  const env = { ...process.env, BENCH_FRAMES: process.env.BENCH_FRAMES ?? '20000', BENCH_JET_FRAMES: process.env.BENCH_JET_FRAMES ?? '200000', BENCH_REPEATS: '1' };
  const r = spawnSync(process.execPath, ['--expose-gc', '--min-semi-space-size=64', '--max-semi-space-size=64', join(tree, 'build', 'bench', 'run.js'), '--child', String(caseIndex), 'fpga'],
    { cwd: tree, encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('bench-child-result '));
  if (r.status !== 0 || line === undefined) throw new Error(`${tree}: case ${caseIndex} failed (status ${r.status}): ${r.stdout.slice(-2000)}`);
  const { run, call } = JSON.parse(line.slice('bench-child-result '.length)) as ChildResult;
  if (run.measured === undefined) throw new Error(`${tree}: case ${caseIndex} measured no host overhead (an fpga case with the emulator's timeline)`);
  return { pipeline: run.pipeline, side: { frames: run.measured, calls: call?.measured ?? null } };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const FIELDS = ['e2e', 'host', 'hostWork', 'beforeDoorbell', 'doorbellLag', 'deviceBusy', 'doneLag', 'afterDone'] as const;
type Field = (typeof FIELDS)[number];

function main(): void {
  const before = resolve(arg('--before'));
  const after = resolve(arg('--after', REPO));
  const rounds = Number(arg('--rounds', '3'));
  const cases = arg('--cases', '0,1,2').split(',').map(Number);
  const started = new Date().toISOString();
  const load0 = loadavg();
  // per case, per side, per kind (frames / calls), per field: the rounds' p50s
  const got = new Map<number, { pipeline: string; p50: Record<'before' | 'after', Record<'frames' | 'calls', Record<Field, number[]>>> }>();
  const empty = (): Record<Field, number[]> => Object.fromEntries(FIELDS.map((f) => [f, [] as number[]])) as Record<Field, number[]>;
  for (let round = 0; round < rounds; round++) {
    for (const c of cases) {
      const order: ('before' | 'after')[] = round % 2 === 0 ? ['before', 'after'] : ['after', 'before'];
      for (const which of order) {
        process.stderr.write(`fpga-before-after: round ${round + 1}/${rounds}, case ${c}, ${which}...\n`);
        const { pipeline, side } = runChild(which === 'before' ? before : after, c);
        const entry = got.get(c) ?? { pipeline, p50: { before: { frames: empty(), calls: empty() }, after: { frames: empty(), calls: empty() } } };
        got.set(c, entry);
        for (const f of FIELDS) {
          entry.p50[which].frames[f].push(side.frames[f].p50);
          if (side.calls !== null) entry.p50[which].calls[f].push(side.calls[f].p50);
        }
      }
    }
  }
  const rows: string[] = [];
  const json: unknown[] = [];
  const f2 = (x: number): string => x.toFixed(2);
  for (const [, e] of got) {
    for (const kind of ['frames', 'calls'] as const) {
      if (e.p50.before[kind].e2e.length === 0) continue;
      const m = (which: 'before' | 'after', f: Field): number => median(e.p50[which][kind][f]);
      const pair = (f: Field): string => `${f2(m('before', f))} / ${f2(m('after', f))}`;
      const ratio = (f: Field): string => (m('after', f) / m('before', f)).toFixed(2);
      rows.push(`| ${e.pipeline} | ${kind} | ${pair('e2e')} (${ratio('e2e')}) | ${pair('host')} (**${ratio('host')}**) | ${pair('hostWork')} | ${pair('beforeDoorbell')} | ${pair('doorbellLag')} | ${pair('deviceBusy')} | ${pair('doneLag')} | ${pair('afterDone')} |`);
      json.push({ pipeline: e.pipeline, per: kind, rounds: e.p50.before[kind].e2e.length, p50Us: Object.fromEntries(FIELDS.map((f) => [f, { before: m('before', f), after: m('after', f) }])) });
    }
  }
  const md = [
    `# fpga host overhead, before / after — ${started}`,
    '',
    `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}, load average ${load0.map((x) => x.toFixed(2)).join(' ')} at the start, ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the end. Command: \`node build/bench/fpga-before-after.js --before ${process.argv[process.argv.indexOf('--before') + 1]} --rounds ${rounds}\` (BENCH_FRAMES ${process.env.BENCH_FRAMES ?? '20000'}, BENCH_JET_FRAMES ${process.env.BENCH_JET_FRAMES ?? '200000'}). Before: ${before}; after: ${after}. Each cell: the median over ${rounds} rounds of each child's p50, us (before / after, ratio after / before); the columns as in frames-fpga.md ("The host's part"): host overhead = e2e - device busy.`,
    '',
    '| pipeline | per | e2e | host overhead | host\'s own work | before doorbell | doorbell lag | device busy | done lag | after done |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
  const dir = join(REPO, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'fpga-before-after.md'), md);
  writeFileSync(join(dir, 'fpga-before-after.json'), JSON.stringify({ started, before, after, rounds, cases: json }, null, 1) + '\n');
  process.stdout.write(md);
}

main();
