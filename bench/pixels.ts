/**
 * Host cost per frame of the cell students with the host preprocessing (float normalisation,
 * then input_t values) against the firmware preprocessing (the camera's bytes straight
 * through), in one process on the same frames:
 *
 *   sim:  pre.run + Backend.predict     against  Backend.predictPixels
 *   fpga: the driver's runPixels (bytes packed four a word, over the device emulator running
 *         the generated pixel device top); minus the modelled device time, the host overhead
 *         per frame. The device takes pixels (regmap inKind 'pixels'), so it refuses input_t
 *         values: there is no fpga host-preprocessing row for firmware that preprocesses.
 *
 * Each call between two native clock stamps, the two paths alternating frame by frame (so
 * both meet the same load on a shared machine); medians over repeats of each repeat's p50
 * and p99. On fpga the timing is what the host does for a frame: pack the bytes, one
 * doorbell, wait, read the outputs once (host/src/backends/fpga-pixels.test.ts checks the
 * outputs bit for bit against the sim library's u8 entry). Run:
 * `node build/bench/pixels.js` (results in bench/results/pixels.{json,md}).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCapture } from '../host/src/capture/arrow-capture.js';
import { FIRMWARE_DIR } from '../host/src/daemon.js';
import { loadSimBackend } from '../host/src/backends/sim.js';
import { readModelCard } from '../host/src/model/card.js';
import { createEmulator, openFpgaDevice, systemClock, type EmulatorRegisterMap, type FpgaRegisterMap } from '../host/src/native/addon.js';
import { createModelPreprocessor } from '../host/src/preprocess/model-input.js';

const REPO = join(import.meta.dirname, '..', '..');
const CALLS = Number(process.env.BENCH_PIXEL_CALLS ?? 20_000);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const CASES = [
  { task: 'cells-bccd', firmware: 'cells_bccd_student', capture: 'sim/recordings/cells-bccd-test.arrows' },
  { task: 'cells-lymphocyte', firmware: 'cells_lymphocyte_student', capture: 'sim/recordings/cells-lymphocyte-1k.arrows' },
];

interface Row { task: string; backend: string; path: 'host' | 'pixels'; us: { p50: number; p99: number }; deviceUs: number | null; hostOverheadUs: { p50: number; p99: number } | null }

const round = (v: number) => Math.round(v * 1000) / 1000;
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

type Us = { p50: number; p99: number };

/** p50 and p99 of the gaps stamps[2i+1] - stamps[2i] (`first`) or stamps[2i+2] - stamps[2i+1], microseconds. */
function percentiles(stamps: Float64Array, first: boolean): Us {
  const dt = new Float64Array(CALLS);
  for (let i = 0; i < CALLS; i++) dt[i] = (stamps[2 * i + (first ? 1 : 2)]! - stamps[2 * i + (first ? 0 : 1)]!) / 1000;
  dt.sort();
  return { p50: dt[Math.floor(CALLS * 0.5)]!, p99: dt[Math.floor(CALLS * 0.99)]! };
}

/** Times `a(i)` and `b(i)` alternately, CALLS each per repeat (repeat 0 warms up). */
function timePair(a: (i: number) => void, b: (i: number) => void): [Us, Us] {
  const clock = systemClock();
  const stamps = new Float64Array(2 * CALLS + 1);
  const reps: [Us, Us][] = [];
  for (let r = 0; r <= REPEATS; r++) {
    clock.stamp(stamps, 0);
    for (let i = 0; i < CALLS; i++) {
      a(i);
      clock.stamp(stamps, 2 * i + 1);
      b(i);
      clock.stamp(stamps, 2 * i + 2);
    }
    if (r > 0) reps.push([percentiles(stamps, true), percentiles(stamps, false)]);
  }
  const med = (k: 0 | 1): Us => ({ p50: round(median(reps.map((x) => x[k].p50))), p99: round(median(reps.map((x) => x[k].p99))) });
  return [med(0), med(1)];
}

function row(task: string, backend: string, path: Row['path'], us: { p50: number; p99: number }, deviceUs: number | null): Row {
  return { task, backend, path, us, deviceUs, hostOverheadUs: deviceUs === null ? null : { p50: round(us.p50 - deviceUs), p99: round(us.p99 - deviceUs) } };
}

async function benchCase(c: (typeof CASES)[number]): Promise<Row[]> {
  const card = readModelCard(join(REPO, 'models', 'zoo', c.task));
  const pre = createModelPreprocessor(card.preprocessing);
  const cap = readCapture(join(REPO, c.capture));
  const frames = Math.min(64, cap.count);
  const x = new Float32Array(pre.inputElements);
  const y = new Float32Array(card.labels.length);
  const project = join(REPO, FIRMWARE_DIR, c.firmware);
  const ref = { inputShape: card.inputShape, classes: card.labels.length };
  const rows: Row[] = [];
  const sim = loadSimBackend({ ...ref, path: join(project, `lib${c.firmware}.so`) });
  const [simHost, simPixels] = timePair((i) => { pre.run(cap.frames, cap.offsets[i % frames]!, x); sim.predict(x, y); }, (i) => sim.predictPixels!(cap.frames, cap.offsets[i % frames]!, y));
  rows.push(row(c.task, 'sim', 'host', simHost, null), row(c.task, 'sim', 'pixels', simPixels, null));
  await sim.close();

  const map = JSON.parse(readFileSync(join(project, 'regmap.json'), 'utf8')) as EmulatorRegisterMap & FpgaRegisterMap & { name: string; latencyCycles: number; clockKhz: number };
  const deviceUs = round(map.latencyCycles / (map.clockKhz / 1000));
  const devicePath = `/dev/shm/ht-bench-pixels-${process.pid}-${c.task}`;
  const emulator = createEmulator({ devicePath, libraryPath: join(project, `lib${c.firmware}.so`), regmap: map, unlinkOnStop: true });
  emulator.start();
  try {
    const dev = openFpgaDevice(devicePath, map, { spinsMax: 2 ** 30 });
    dev.bindPixels(cap.frames, pre.frameBytes, y);
    let seq = 1 << 20;
    // The pair's other side only preprocesses on the host (the pixel device takes no values),
    // so both sides still meet the same load; its timing is not reported.
    const [, fpgaPixels] = timePair((i) => pre.run(cap.frames, cap.offsets[i % frames]!, x), (i) => dev.runPixels(cap.offsets[i % frames]!, seq++));
    rows.push(row(c.task, 'fpga', 'pixels', fpgaPixels, deviceUs));
    dev.close();
  } finally {
    emulator.stop();
  }
  return rows;
}

const rows: Row[] = [];
// BENCH_PIXEL_TASKS=cells-bccd runs one case (the file then holds that case alone).
const only = process.env.BENCH_PIXEL_TASKS?.split(',');
for (const c of CASES) if (only === undefined || only.includes(c.task)) rows.push(...(await benchCase(c)));
const md = [
  `# Host cost per frame: host preprocessing against firmware preprocessing (${new Date().toISOString()})`,
  '',
  `${CALLS} calls x ${REPEATS} repeats (medians of each repeat's p50 / p99), microseconds; fpga over the device emulator (its thread spins on the other core).`,
  '',
  '| pipeline | backend | path | per frame p50 / p99 us | device us | host overhead p50 / p99 us |',
  '|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.task} | ${r.backend} | ${r.path} | ${r.us.p50} / ${r.us.p99} | ${r.deviceUs ?? '-'} | ${r.hostOverheadUs === null ? '-' : `${r.hostOverheadUs.p50} / ${r.hostOverheadUs.p99}`} |`),
  '',
].join('\n');
const out = join(REPO, 'bench', 'results');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'pixels.json'), JSON.stringify({ calls: CALLS, repeats: REPEATS, rows }, null, 2) + '\n');
writeFileSync(join(out, 'pixels.md'), md);
process.stdout.write(md);
