/**
 * What the real/bogus student costs per alert on `sim` (the firmware on the CPU):
 *   node build/bench/realbogus.js [--rounds N]      (after `make build` and `make firmware`)
 * Times, on the held-out real ZTF alerts, the sim predict call alone (models/zoo/alerts-realbogus,
 * and the BCCD student in the same process as a reference of a known size), and the cutout
 * triplet plus the predict per alert (gunzip, FITS, crop, norm, firmware). Each figure is the
 * median over rounds of the mean per call, in microseconds, with the fastest round beside it
 * (on a shared VM the minimum is the better estimate of the unloaded cost).
 * Results: bench/results/realbogus.{json,md}.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSimBackend } from '../host/src/backends/sim.js';
import { firmwareName, FIRMWARE_DIR } from '../host/src/daemon.js';
import { createCutoutScratch, cutoutTriplet } from '../host/src/modalities/alerts/cutouts.js';
import { REALBOGUS_CUTOUTS, realBogusHeldOut, realBogusRows, realBogusSplits } from '../host/src/modalities/alerts/realbogus.js';
import { readModelCard } from '../host/src/model/card.js';
import { timed, type Timing } from './timing.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ALERTS = resolve(REPO, '..', 'shared', 'data', 'alerts');

function simOf(task: string) {
  const card = readModelCard(join(REPO, 'models', 'zoo', task));
  const name = firmwareName(task, 'student');
  return { card, backend: loadSimBackend({ path: join(REPO, FIRMWARE_DIR, name, `lib${name}.so`), inputShape: card.inputShape, classes: card.labels.length }) };
}

function main(): void {
  const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 21;
  const rb = simOf('alerts-realbogus');
  const bccd = simOf('cells-bccd');
  const held = realBogusHeldOut(ALERTS, 245);
  const bccdIn = Array.from({ length: 64 }, (_, i) => held.inputs[0]!.subarray(0, 3 * 32 * 32).map((v, k) => v * ((i + k) % 7)));
  const alerts = (() => {
    const s = realBogusSplits(realBogusRows(ALERTS).rows);
    return [...s.test, ...s.val].map((r) => r.alert);
  })();
  const y = new Float32Array(2), y3 = new Float32Array(3);
  const x = new Float32Array(3 * REALBOGUS_CUTOUTS.size ** 2);
  const scratch = createCutoutScratch();
  let sink = 0;
  // One untimed pass over each first: the first calls into a library page its code and data in.
  for (const v of held.inputs) rb.backend.predict(v, y);
  for (const v of bccdIn) bccd.backend.predict(v, y3);
  const result = {
    date: new Date().toISOString(),
    node: process.version,
    alerts: held.inputs.length,
    simPredictUs: {
      realbogus: timed(rounds, held.inputs.length * 4, () => { for (let k = 0; k < 4; k++) for (const v of held.inputs) { rb.backend.predict(v, y); sink += y[1]!; } }),
      cellsBccd: timed(rounds, 256, () => { for (let k = 0; k < 4; k++) for (const v of bccdIn) { bccd.backend.predict(v, y3); sink += y3[0]!; } }),
    },
    tripletAndPredictUsPerAlert: timed(rounds, alerts.length, () => {
      for (const a of alerts) {
        cutoutTriplet(a.cutouts, REALBOGUS_CUTOUTS, x, scratch);
        rb.backend.predict(x, y);
        sink += y[1]!;
      }
    }),
  };
  void rb.backend.close();
  void bccd.backend.close();
  if (sink === 0) throw new Error('nothing ran');
  const dir = join(REPO, 'bench', 'results');
  writeFileSync(join(dir, 'realbogus.json'), `${JSON.stringify(result, null, 2)}\n`);
  const f = (t: Timing) => `${t.median.toFixed(2)} | ${t.min.toFixed(2)}`;
  const md = [
    `# Real/bogus student on sim (${result.date}, ${result.node}, ${result.alerts} held-out ZTF alerts)`,
    '',
    '| what | us, median | us, fastest round |',
    '| --- | ---: | ---: |',
    `| sim predict, alerts-realbogus student ([3, 32, 32]) | ${f(result.simPredictUs.realbogus)} |`,
    `| sim predict, cells-bccd student ([3, 32, 32], reference) | ${f(result.simPredictUs.cellsBccd)} |`,
    `| cutout triplet (S = 32) + sim predict, per alert | ${f(result.tripletAndPredictUsPerAlert)} |`,
    '',
  ].join('\n');
  writeFileSync(join(dir, 'realbogus.md'), md);
  console.log(md);
}

main();
