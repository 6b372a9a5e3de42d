/**
 * The peer a user would otherwise run: every zoo student's generated firmware built on the
 * vendor's `ap_fixed` (hls/compiler/vendor-lib.ts: what hls4ml's C simulation runs) beside the
 * `sim` library (the same sources on ht_fixed), both loaded by the sim backend and called per
 * inference through the same path (`Backend.predict`), on the same seeded N(0,1) inputs:
 *   node build/bench/vendor-csim.js [--rounds N]      (after `make build` and `make firmware`)
 * First checks that both give the same output bits on every input, then times rounds of each
 * alternately (so load on the machine falls on both alike). Each figure is the mean per call
 * in a round, in microseconds: the median over rounds and the fastest round. The vendor
 * libraries are built once and cached in hls/build/vendor-csim (minutes for the cell students).
 * Results: bench/results/vendor-csim.{json,md}; runs carry "backend": "sim" | "vendor-csim".
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
import { buildVendorLibrary, VENDOR_CXXFLAGS } from '../hls/compiler/vendor-lib.js';
import { timed, type Timing } from './timing.js';

const REPO = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const TASKS = ['jets-hls4ml', 'cells-bccd', 'cells-lymphocyte', 'alerts-realbogus', 'alerts-transient', 'keywords'];
const INPUTS = 64;
const SEED = 14;
/** Calls per round: about 20 ms of the slower library per round. */
const ROUND_US = 20_000;

interface Run {
  pipeline: string;
  backend: 'sim' | 'vendor-csim';
  library: string;
  callsPerRound: number;
  rounds: number;
  predictUs: Timing;
}

interface Pair {
  pipeline: string;
  inputs: number;
  bitIdentical: boolean;
  vendorBuildS: number;
  vendorOverSim: { median: number; min: number };
  runs: [Run, Run];
}

function load(task: string) {
  const card = readModelCard(join(REPO, 'models', 'zoo', task));
  const name = firmwareName(task, 'student');
  const dir = join(REPO, FIRMWARE_DIR, name);
  const simPath = join(dir, `lib${name}.so`);
  const probe = loadSimModel(simPath);
  const info = probe.info();
  probe.close();
  const t0 = process.hrtime.bigint();
  const vendorPath = buildVendorLibrary(dir, info, join(REPO, FIRMWARE_DIR, 'vendor-csim'));
  const vendorBuildS = Number(process.hrtime.bigint() - t0) / 1e9;
  const ref = { inputShape: card.inputShape, classes: card.labels.length, sourceSha256: info.modelSha256 };
  return { info, vendorBuildS, sim: loadSimBackend({ ...ref, path: simPath }), vendor: loadSimBackend({ ...ref, path: vendorPath }), simPath, vendorPath };
}

/** Output bits of every input on both backends, compared word for word. */
function sameBits(a: Backend, b: Backend, xs: readonly Float32Array[], nOut: number): boolean {
  const ya = new Float32Array(nOut), yb = new Float32Array(nOut);
  const ua = new Uint32Array(ya.buffer), ub = new Uint32Array(yb.buffer);
  for (const x of xs) {
    a.predict(x, ya);
    b.predict(x, yb);
    for (let i = 0; i < nOut; i++) if (ua[i] !== ub[i]) return false;
  }
  return true;
}

function callsFor(b: Backend, xs: readonly Float32Array[], y: Float32Array): number {
  const t0 = process.hrtime.bigint();
  for (const x of xs) b.predict(x, y);
  const us = Number(process.hrtime.bigint() - t0) / 1000 / xs.length;
  return Math.max(INPUTS, Math.ceil(ROUND_US / us / INPUTS) * INPUTS);
}

function benchTask(task: string, rounds: number): Pair {
  const m = load(task);
  const xs = randomInputs(INPUTS, m.info.nIn, SEED);
  const y = new Float32Array(m.info.nOut);
  const bitIdentical = sameBits(m.sim, m.vendor, xs, m.info.nOut); // also the untimed warm-up pass
  const calls = callsFor(m.vendor, xs, y);
  const loop = (b: Backend) => () => { for (let k = 0; k < calls; k++) b.predict(xs[k & (INPUTS - 1)]!, y); };
  const simT: number[] = [], venT: number[] = [];
  for (let r = 0; r < rounds; r++) {
    // One round each, alternately, so the machine's load falls on both alike.
    simT.push(timed(1, calls, loop(m.sim)).min);
    venT.push(timed(1, calls, loop(m.vendor)).min);
  }
  void m.sim.close();
  void m.vendor.close();
  const summary = (xs: number[]): Timing => { const s = [...xs].sort((a, b) => a - b); return { median: s[s.length >> 1]!, min: s[0]! }; };
  const sim = summary(simT), ven = summary(venT);
  const run = (backend: Run['backend'], library: string, t: Timing): Run => ({ pipeline: task, backend, library: library.slice(REPO.length + 1), callsPerRound: calls, rounds, predictUs: t });
  return {
    pipeline: task, inputs: INPUTS, bitIdentical, vendorBuildS: Math.round(m.vendorBuildS * 10) / 10,
    vendorOverSim: { median: ven.median / sim.median, min: ven.min / sim.min },
    runs: [run('sim', m.simPath, sim), run('vendor-csim', m.vendorPath, ven)],
  };
}

function markdown(pairs: Pair[], date: string): string {
  const f = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
  return [
    `# sim against vendor-csim, per predict call (${date}, ${process.version})`,
    '',
    `sim: ht_fixed, \`g++ ${SIM_CXXFLAGS}\`; vendor-csim: the vendor's ap_fixed, \`g++ ${VENDOR_CXXFLAGS.join(' ')} -DHT_USE_VENDOR_AP\`. ` +
      `${INPUTS} seeded N(0,1) inputs (seed ${SEED}), the same for both; us per call, median over rounds | fastest round.`,
    '',
    '| student | bit-identical | sim us | vendor-csim us | vendor / sim (median) | (fastest) |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
    ...pairs.map((p) => `| ${p.pipeline} | ${p.bitIdentical ? 'yes' : '**NO**'} | ${f(p.runs[0].predictUs.median)} / ${f(p.runs[0].predictUs.min)} | ${f(p.runs[1].predictUs.median)} / ${f(p.runs[1].predictUs.min)} | ${p.vendorOverSim.median.toFixed(1)}x | ${p.vendorOverSim.min.toFixed(1)}x |`),
    '',
  ].join('\n');
}

function main(): void {
  const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 11;
  const pairs = TASKS.map((t) => {
    const p = benchTask(t, rounds);
    console.error(`${t}: sim ${p.runs[0].predictUs.median.toFixed(2)} us, vendor-csim ${p.runs[1].predictUs.median.toFixed(2)} us (x${p.vendorOverSim.median.toFixed(1)}), bit-identical ${p.bitIdentical}`);
    return p;
  });
  const date = new Date().toISOString();
  const dir = join(REPO, 'bench', 'results');
  const result = { date, node: process.version, seed: SEED, cxxflags: { sim: SIM_CXXFLAGS, vendor: `${VENDOR_CXXFLAGS.join(' ')} -DHT_USE_VENDOR_AP` }, pairs, runs: pairs.flatMap((p) => p.runs) };
  writeFileSync(join(dir, 'vendor-csim.json'), `${JSON.stringify(result, null, 2)}\n`);
  const md = markdown(pairs, date);
  writeFileSync(join(dir, 'vendor-csim.md'), md);
  console.log(md);
  if (pairs.some((p) => !p.bitIdentical)) process.exitCode = 1;
}

main();
