// Calibrating the alert pipeline (alerts-transient: the light-curve classifier) on the labelled
// light curves its dataset export holds (sim/src/lightcurves, the generator `make models` runs;
// real packets carry no class), against an independent calculation: onnxruntime's outputs on
// the same rows, softmax here, sorted, and the order statistic computed in the test:
// - "catch 95% of the transients": one threshold over the card's transient targets, and the
//   rate it reaches on the held-out test split;
// - the cascade's cut, `--cascade-catch` (the student's wrong frames that reach the teacher) on
//   the margin and `--cascade-send` (the share of frames sent) on the entropy, written as
//   `cut: calibrated` into the new config and its calibration file; the daemon runs the new
//   config on real ZTF packets with that cut, though the model card carries none.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { calibratePipeline } from '../../host/src/calibration/calibrate-pipeline.js';
import { readCalibrationFile } from '../../host/src/calibration/calibration-file.js';
import { nextUp } from '../../host/src/calibration/conformal.js';
import { loadConfigFile } from '../../host/src/config/schema.js';
import { createDaemon } from '../../host/src/daemon.js';
import { decodeNpy } from '../../host/src/datasets/npy.js';
import { readModelCard } from '../../host/src/model/card.js';
import { systemClock } from '../../host/src/native/addon.js';
import { realTimers } from '../../host/src/sources/source.js';
import { writeLightCurveDataset } from '../../sim/src/lightcurves/dataset.js';
import { REPO, SHARED, tempDir, ZOO } from '../support/fixtures.js';

const MODEL = join(ZOO, 'alerts-transient');
const FIRMWARE = join(REPO, 'hls', 'build');
const card = readModelCard(MODEL);
const transients = card.targets!;
const dir = tempDir('alerts-cal');
const data = join(dir, 'data');
const packets = join(SHARED, 'alerts', 'ztf-3.3-2020-01');

/** Per row of a split: onnxruntime's student probabilities (softmax of its logits, float32 as the policy keeps them) and the truth. */
const rows: Record<string, { probs: Float32Array[]; truth: number[] }> = {};

beforeAll(async () => {
  // The export's val and test splits (seeded: the first rows of `make models`' splits).
  writeLightCurveDataset(data, 1, { train: 1, val: 1400, test: 1400 });
  const session = await ort.InferenceSession.create(card.files.student!);
  for (const split of ['val', 'test']) {
    const x = decodeNpy(readFileSync(join(data, `${split}_x.npy`)), split);
    const y = decodeNpy(readFileSync(join(data, `${split}_y.npy`)), split);
    const n = x.shape[0]!;
    const size = card.inputShape.reduce((a, b) => a * b, 1);
    const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x.data as Float32Array, [n, ...card.inputShape]) });
    const logits = out[session.outputNames[0]!]!.data as Float32Array;
    const c = card.labels.length;
    rows[split] = { probs: [], truth: [] };
    for (let i = 0; i < n; i++) {
      const l = Array.from(logits.subarray(i * c, (i + 1) * c));
      const m = Math.max(...l);
      const e = l.map((v) => Math.exp(v - m));
      const sum = e.reduce((a, b) => a + b, 0);
      rows[split]!.probs.push(Float32Array.from(e.map((v) => v / sum)));
      rows[split]!.truth.push(Number(y.data[i]));
    }
    expect(size * n).toBe(x.data.length);
  }
  await session.release();
}, 120_000);

/** A config of the alert pipeline on real ZTF packets, run once to its end; `extra` YAML appended. */
function writeConfig(name: string, extra: string): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, `# ${name}\nmodel: ${MODEL}\nbackend: onnx\nbudgetUs: 10000000\nsource: {kind: alerts, paths: [${packets}], pacing: max}\ndecoder: {kind: avro}\ntrigger: {}\nsinks: {}\nserver: {enabled: false}\n${extra}`);
  return path;
}

const margin = (p: Float32Array) => {
  const s = [...p].sort((a, b) => b - a);
  return s[0]! - s[1]!;
};
const entropy = (p: Float32Array) => p.reduce((h, v) => (v > 0 ? h - v * Math.log(v) : h), 0) / Math.log(p.length);
const argmax = (p: Float32Array) => p.indexOf(Math.max(...p));

describe('calibrating the transient classifier on its labelled light curves', () => {
  it('"catch 95% of the transients": the 5% order statistic of the own-class probabilities, as onnxruntime gives them; measured on the test split', async () => {
    const r = await calibratePipeline({ config: writeConfig('plain', ''), data: { path: data, split: 'val' }, requests: [{ kind: 'recallTargets', recall: 0.95 }], holdoutSplit: 'test', out: join(dir, 'transients95.yaml'), firmwareDir: FIRMWARE, nowIso: 'now' });
    const own = (split: string) => rows[split]!.truth.flatMap((t, i) => (transients.includes(card.labels[t]!) ? [rows[split]!.probs[i]![t]!] : []));
    const val = own('val').sort((a, b) => a - b);
    const k = Math.floor(0.05 * (val.length + 1));
    const t = r.result.targets[0]!;
    expect(t).toMatchObject({ kind: 'recall', classes: transients, n: val.length, k });
    expect(t.threshold).toBeCloseTo(val[k - 1]!, 6);
    expect(parse(readFileSync(r.config, 'utf8')).trigger).toMatchObject({ threshold: t.threshold, targets: transients });
    const test = own('test');
    const held = test.filter((p) => p >= t.threshold).length / test.length;
    expect(r.holdout!.rates[0]).toBeCloseTo(held, 2);
    // One held-out split: its rate is Beta-distributed about the bound; four of its sds below is a fault.
    expect(held).toBeGreaterThan(t.bound - 4 * Math.sqrt((t.bound * (1 - t.bound)) / test.length + (t.bound * (1 - t.bound)) / (t.n + 2)));
  }, 120_000);
});

describe("calibrating the cascade's cut", () => {
  it('--cascade-catch 0.9 on the margin: just above the 90% order statistic of the wrong frames\' margins; the daemon runs the new config with that cut', async () => {
    const config = writeConfig('cascade', `cascade: {model: ${MODEL}, cut: {margin: 0.1}, queueFrames: 64}\n`);
    const r = await calibratePipeline({ config, data: { path: data, split: 'val' }, requests: [], cascadeCut: { kind: 'catch', rate: 0.9 }, holdoutSplit: 'test', out: join(dir, 'cascade-catch90.yaml'), firmwareDir: FIRMWARE, nowIso: 'now' });
    const wrong = (split: string) => rows[split]!.probs.filter((p, i) => argmax(p) !== rows[split]!.truth[i]).map(margin);
    const m = wrong('val').sort((a, b) => a - b);
    const k = Math.ceil(0.9 * (m.length + 1));
    const cut = r.cut!.calibration;
    expect(cut).toMatchObject({ on: 'margin', promise: 'catch', target: 0.9, n: m.length, k });
    expect(cut.value).toBeCloseTo(nextUp(m[k - 1]!), 6);
    const test = wrong('test');
    expect(r.holdout!.cut).toBeCloseTo(test.filter((v) => v < cut.value).length / test.length, 2);
    const written = parse(readFileSync(r.config, 'utf8')) as { cascade: { cut: Record<string, unknown> }; calibration: { file: string } };
    expect(written.cascade.cut).toEqual({ margin: 'calibrated' });
    const file = readCalibrationFile(r.calibration, card.labels);
    expect(file.targets).toEqual([]);
    expect(file.cascade).toEqual(cut);
    // The card carries no cut: the daemon takes the calibration file's.
    expect((card.raw.calibration as unknown) ?? null).toBeNull();
    const d = await createDaemon(loadConfigFile(r.config), { clock: systemClock(), timers: realTimers, log: () => {}, baseDir: dir, firmwareDir: FIRMWARE, onBug: (e) => { throw e; } });
    d.start();
    await d.sourceDone;
    await d.stop();
    const snap = d.view.snapshot();
    expect(snap.cascade).toMatchObject({ cutKind: 'margin', cut: cut.value });
    expect(snap.calibration!.targets).toEqual([]);
    // Real packets carry no class: the catch rate has no labelled wrong frame to count.
    expect(snap.calibration!.cascade).toMatchObject({ on: 'margin', cut: cut.value, promise: 'catch', frames: 0, achieved: null });
  }, 120_000);

  it('--cascade-send 0.2 on the entropy: the 80% order statistic of every frame\'s entropy; a file cut on the other quantity is refused', async () => {
    const config = writeConfig('cascade-entropy', `cascade: {model: ${MODEL}, cut: {entropy: calibrated}, queueFrames: 64}\n`);
    const r = await calibratePipeline({ config, data: { path: data, split: 'val' }, requests: [], cascadeCut: { kind: 'send', rate: 0.2 }, out: join(dir, 'cascade-send20.yaml'), firmwareDir: FIRMWARE, nowIso: 'now' });
    const h = rows.val!.probs.map(entropy).sort((a, b) => a - b);
    const k = Math.ceil(0.8 * (h.length + 1));
    expect(r.cut!.calibration).toMatchObject({ on: 'entropy', promise: 'send', n: h.length, k });
    expect(r.cut!.calibration.value).toBeCloseTo(h[k - 1]!, 6);
    expect(r.cut!.inSample).toBeLessThanOrEqual(0.2);
    // The same file under a margin cut: refused, naming both.
    const onMargin = writeConfig('cascade-margin', `cascade: {model: ${MODEL}, cut: {margin: calibrated}}\ncalibration: {file: ${r.calibration}}\n`);
    await expect(createDaemon(loadConfigFile(onMargin), { clock: systemClock(), timers: realTimers, log: () => {}, baseDir: dir, firmwareDir: FIRMWARE, onBug: (e) => { throw e; } })).rejects.toThrow(/cascade\.cut\.margin.*holds a cut on the entropy/);
    // No cascade, or nothing asked: refused before anything is written.
    await expect(calibratePipeline({ config: writeConfig('none', ''), data: { path: data, split: 'val' }, requests: [], cascadeCut: { kind: 'send', rate: 0.2 }, out: join(dir, 'x.yaml'), firmwareDir: FIRMWARE, nowIso: 'now' })).rejects.toThrow(/E_CALIBRATION at --cascade-send.*has no cascade/);
    await expect(calibratePipeline({ config, data: { path: data, split: 'val' }, requests: [], out: join(dir, 'y.yaml'), firmwareDir: FIRMWARE, nowIso: 'now' })).rejects.toThrow(/nothing asked/);
  }, 120_000);
});
