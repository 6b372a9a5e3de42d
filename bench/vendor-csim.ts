/**
 * The peer a user would otherwise run: every zoo student's generated firmware built on the
 * vendor's `ap_fixed` (hls/compiler/vendor-lib.ts: what hls4ml's C simulation runs) beside the
 * `sim` library (the same sources on ht_fixed), all loaded by the sim backend and called per
 * inference through the same path (`Backend.predict`), on the same seeded N(0,1) inputs:
 *   node build/bench/vendor-csim.js [--rounds N]      (after `make build` and `make firmware`)
 * Two more builds say where the difference comes from: the vendor type with the sim library's
 * g++ flags (`vendor-csim-native`), and ht_fixed with the layers' CPU fast paths off
 * (`sim-generic`). First checks that every build gives the sim library's output bits on every
 * input, then times one round of each in turn (so load on the machine falls on all alike).
 * Each figure is the mean per call in a round, in microseconds: the median over rounds and the
 * fastest round. Peer libraries are built once and cached in hls/build/vendor-csim (minutes
 * for the cell students). Results: bench/results/vendor-csim.{json,md}; runs carry "backend".
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSimBackend } from '../host/src/backends/sim.js';
import type { Backend } from '../host/src/backends/backend.js';
import { firmwareName, FIRMWARE_DIR } from '../host/src/daemon.js';
import { readModelCard } from '../host/src/model/card.js';
import { loadSimModel } from '../host/src/native/addon.js';
import { SIM_CXXFLAGS } from '../hls/compiler/bridge.js';
import { randomInputs } from '../hls/compiler/compile.js';
import { buildPeerLibrary, peerCommand, type PeerVariant } from '../hls/compiler/vendor-lib.js';
import type { Timing } from './timing.js';

const REPO = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const TASKS = ['jets-hls4ml', 'cells-bccd', 'cells-lymphocyte', 'alerts-realbogus', 'alerts-transient', 'keywords'];
const INPUTS = 64;
const SEED = 14;
/** Calls per round: about this long on each backend, and at least CALLS_MIN. */
const ROUND_US = 20_000;
const CALLS_MIN = 16;
/** The builds timed, by the `backend` their runs carry. */
const BUILDS: readonly { backend: string; variant: PeerVariant | null }[] = [
  { backend: 'sim', variant: null },
  { backend: 'vendor-csim', variant: 'vendor' },
  { backend: 'vendor-csim-native', variant: 'vendor-native' },
  { backend: 'sim-generic', variant: 'sim-generic' },
];

interface Run {
  pipeline: string;
  backend: string;
  library: string;
  build: string;
  buildS: number;
  bitIdentical: boolean;
  callsPerRound: number;
  rounds: number;
  predictUs: Timing;
  /** This backend's time over sim's (median over rounds; fastest round over fastest round). */
  overSim: { median: number; min: number };
}

function seconds(t0: bigint): number {
  return Math.round(Number(process.hrtime.bigint() - t0) / 1e8) / 10;
}

/** The sim library and every peer of a zoo student, loaded by the sim backend. */
function load(task: string) {
  const card = readModelCard(join(REPO, 'models', 'zoo', task));
  const name = firmwareName(task, 'student');
  const dir = join(REPO, FIRMWARE_DIR, name);
  const simPath = join(dir, `lib${name}.so`);
  const probe = loadSimModel(simPath);
  const info = probe.info();
  probe.close();
  const ref = { inputShape: card.inputShape, classes: card.labels.length, sourceSha256: info.modelSha256 };
  return {
    info,
    builds: BUILDS.map(({ backend, variant }) => {
      const t0 = process.hrtime.bigint();
      const path = variant === null ? simPath : buildPeerLibrary(dir, info, join(REPO, FIRMWARE_DIR, 'vendor-csim'), variant);
      return { backend, path, build: variant === null ? `g++ ${SIM_CXXFLAGS} (make firmware)` : peerCommand(variant), buildS: variant === null ? 0 : seconds(t0), b: loadSimBackend({ ...ref, path }) };
    }),
  };
}

/** Whether `b` gives `want`'s output bits on every input. */
function sameBits(b: Backend, want: readonly Uint32Array[], xs: readonly Float32Array[], nOut: number): boolean {
  const y = new Float32Array(nOut), u = new Uint32Array(y.buffer);
  return xs.every((x, k) => {
    b.predict(x, y);
    return u.every((v, i) => v === want[k]![i]);
  });
}

function timeRound(b: Backend, xs: readonly Float32Array[], y: Float32Array, calls: number): number {
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < calls; k++) b.predict(xs[k & (INPUTS - 1)]!, y);
  return Number(process.hrtime.bigint() - t0) / 1000 / calls;
}

function summary(us: number[]): Timing {
  const s = [...us].sort((a, b) => a - b);
  return { median: s[s.length >> 1]!, min: s[0]! };
}

function benchTask(task: string, rounds: number): Run[] {
  const m = load(task);
  const xs = randomInputs(INPUTS, m.info.nIn, SEED);
  const y = new Float32Array(m.info.nOut);
  const want = xs.map((x) => { m.builds[0]!.b.predict(x, y); return new Uint32Array(y.buffer.slice(0)); });
  // Also the untimed warm-up pass of each library.
  const same = m.builds.map((e) => sameBits(e.b, want, xs, m.info.nOut));
  const calls = m.builds.map((e) => Math.max(CALLS_MIN, Math.round(ROUND_US / timeRound(e.b, xs, y, CALLS_MIN))));
  const us: number[][] = m.builds.map(() => []);
  for (let r = 0; r < rounds; r++) m.builds.forEach((e, i) => us[i]!.push(timeRound(e.b, xs, y, calls[i]!)));
  for (const e of m.builds) void e.b.close();
  const t = us.map(summary);
  return m.builds.map((e, i) => ({
    pipeline: task, backend: e.backend, library: e.path.slice(REPO.length + 1), build: e.build, buildS: e.buildS, bitIdentical: same[i]!,
    callsPerRound: calls[i]!, rounds, predictUs: t[i]!, overSim: { median: t[i]!.median / t[0]!.median, min: t[i]!.min / t[0]!.min },
  }));
}

function markdown(runs: Run[], date: string): string {
  const f = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
  const builds = [...new Map(runs.map((r) => [r.backend, r.build])).entries()].map(([b, cmd]) => `* \`${b}\`: \`${cmd}\``);
  return [
    `# sim against the vendor-csim peer, per predict call (${date}, ${process.version})`,
    '',
    `The same generated firmware of each zoo student, ${INPUTS} seeded N(0,1) inputs (seed ${SEED}), the same for every build, each called through the sim backend (\`Backend.predict\`). ` +
      'us per call: median over rounds / fastest round; x sim: that over sim\'s.',
    '',
    ...builds,
    '',
    '| student | backend | bit-identical to sim | us per call | x sim (median) | x sim (fastest) |',
    '| --- | --- | --- | ---: | ---: | ---: |',
    ...runs.map((r) => `| ${r.pipeline} | ${r.backend} | ${r.bitIdentical ? 'yes' : '**NO**'} | ${f(r.predictUs.median)} / ${f(r.predictUs.min)} | ${r.overSim.median.toFixed(1)} | ${r.overSim.min.toFixed(1)} |`),
    '',
  ].join('\n');
}

function main(): void {
  const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 11;
  const runs = TASKS.flatMap((t) => {
    const rs = benchTask(t, rounds);
    console.error(rs.map((r) => `${t} ${r.backend}: ${r.predictUs.median.toFixed(2)} us (x${r.overSim.median.toFixed(1)})${r.bitIdentical ? '' : ' NOT bit-identical'}`).join('\n'));
    return rs;
  });
  const date = new Date().toISOString();
  const dir = join(REPO, 'bench', 'results');
  writeFileSync(join(dir, 'vendor-csim.json'), `${JSON.stringify({ date, node: process.version, seed: SEED, inputs: INPUTS, runs }, null, 2)}\n`);
  const md = markdown(runs, date);
  writeFileSync(join(dir, 'vendor-csim.md'), md);
  console.log(md);
  if (runs.some((r) => !r.bitIdentical)) process.exitCode = 1;
}

main();
