// The pixel device end to end: the emulator runs the generated device top of the cells-bccd
// student (firmware that preprocesses: regmap.json inKind 'pixels', IN_KIND 1, the input
// window holding a camera frame's bytes four a word, the kernel calling <name>_pixels), and
// the driver's pixel entry (RunU8 through bindPixels / runPixels) feeds it real frames from
// the bundled recording. Checked against independent references:
//  * the sim library's ht_model_predict_u8 (sim backend predictPixels, a separate build of the
//    same firmware) on the same bytes: bit for bit;
//  * float ONNX on the host-preprocessed frame (image.ts): the same class on at least the
//    card's fixed.agreementTop1 of the frames;
//  * autonomous mode: every frame's FIFO record names the class the u8 entry's logits give.
// And the refusals: input_t values to a pixel device (code pixels), a frame to a device that
// takes values (code values), IN_KIND against regmap.json (mismatch naming both), a pixel
// regmap whose model.json lacks pixels (ModelError naming model.json).
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { readCapture } from '../capture/arrow-capture.js';
import { ModelError } from '../core/errors.js';
import { FIRMWARE_DIR } from '../daemon.js';
import { createEmulator, FPGA_EVENT_FIELDS, openFpgaDevice, type EmulatorRegisterMap, type FpgaRegisterMap, type NativeEmulator } from '../native/addon.js';
import { createModelPreprocessor } from '../preprocess/model-input.js';
import { IN_KIND, REG } from '../../../hls/compiler/regmap.js';
import { loadFpgaBackend } from './fpga.js';
import { loadSimBackend } from './sim.js';
import { RECORDINGS, REPO, zooStudent } from './sim.fixture.js';

type Map = EmulatorRegisterMap & FpgaRegisterMap & { name: string; inKind?: 'values' | 'pixels' };

const PROJECT = join(REPO, FIRMWARE_DIR, 'cells_bccd_student');
const VALUES_PROJECT = join(REPO, FIRMWARE_DIR, 'jets_hls4ml_student');
const readMap = (dir: string): Map => JSON.parse(readFileSync(join(dir, 'regmap.json'), 'utf8')) as Map;
const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < v.length; k++) if (v[k]! > v[best]!) best = k;
  return best;
}

describe('pixel device (cells-bccd student): the generated top takes the camera bytes', () => {
  const map = readMap(PROJECT);
  const lib = join(PROJECT, `lib${map.name}.so`);
  const emulators: NativeEmulator[] = [];
  afterAll(() => {
    for (const e of emulators) e.stop();
  });
  const start = (tag: string, m: Map, library: string, source?: { raw: Int32Array }): string => {
    const devicePath = `/dev/shm/ht-fpga-pixels-${tag}-${process.pid}`;
    const emu = createEmulator({ devicePath, libraryPath: library, regmap: m, unlinkOnStop: true, ...(source === undefined ? {} : { source }) });
    emulators.push(emu);
    emu.start();
    return devicePath;
  };

  it('says so in regmap.json and the identification block', () => {
    expect(map).toMatchObject({ layout: 3, inKind: 'pixels', nIn: 32 * 32 * 3, inPack: 4, inWords: 32 * 32 * 3 / 4, inType: 0, inTypeText: 'ap_uint<8>' });
    const devicePath = start('id', map, lib);
    const region = readFileSync(devicePath);
    expect(region.readUInt32LE(REG.IN_KIND)).toBe(IN_KIND.pixels);
    expect([region.readUInt32LE(REG.N_IN), region.readUInt32LE(REG.IN_PACK), region.readUInt32LE(REG.IN_TYPE)]).toEqual([map.nIn, 4, 0]);
    const dev = openFpgaDevice(devicePath, map);
    expect(dev.info()).toMatchObject({ inKind: 'pixels', nIn: map.nIn });
    dev.close();
  });

  it('gives the sim library u8 entry\'s logits bit for bit on recorded frames, and float ONNX\'s class', async () => {
    const { card, onnx } = zooStudent('cells-bccd');
    const devicePath = start('run', map, lib);
    const fpga = loadFpgaBackend({ path: join(PROJECT, 'regmap.json'), device: devicePath, inputShape: card.inputShape, classes: card.labels.length, spinsMax: 2 ** 30, sourceSha256: sha256(onnx) });
    const sim = loadSimBackend({ path: lib, inputShape: card.inputShape, classes: card.labels.length });
    expect(fpga.pixelBytes).toBe(map.nIn);
    const cap = readCapture(join(REPO, RECORDINGS['cells-bccd']!));
    const pre = createModelPreprocessor(card.preprocessing);
    const session = await ort.InferenceSession.create(onnx, { logSeverityLevel: 3 });
    const x = new Float32Array(pre.inputElements);
    const yDev = new Float32Array(card.labels.length), ySim = new Float32Array(card.labels.length);
    let identical = 0, agree = 0;
    for (let i = 0; i < cap.count; i++) {
      fpga.predictPixels!(cap.frames, cap.offsets[i]!, yDev);
      sim.predictPixels!(cap.frames, cap.offsets[i]!, ySim);
      if (yDev.every((v, k) => v === ySim[k])) identical++;
      pre.run(cap.frames, cap.offsets[i]!, x);
      const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x, [1, ...card.inputShape]) });
      if (argmax(out[session.outputNames[0]!]!.data as Float32Array) === argmax(yDev)) agree++;
    }
    await session.release();
    expect(fpga.deviceStats()).toMatchObject({ jobs: cap.count, corrupt: 0, resets: 0, timeouts: 0 });
    expect(identical).toBe(cap.count);
    const agreementCard = (card.raw.fixed as { agreementTop1: number }).agreementTop1;
    console.log(`cells-bccd pixel device: ${identical}/${cap.count} bit-identical to ht_model_predict_u8, top-1 agreement with float ONNX ${agree}/${cap.count} (card ${agreementCard})`);
    expect(agree / cap.count).toBeGreaterThanOrEqual(agreementCard);
    // input_t values to a pixel device: refused by the driver, nothing started.
    expect(() => fpga.predict(x, yDev)).toThrow(expect.objectContaining({ reason: 'pixels' }));
    expect(fpga.deviceStats().jobs).toBe(cap.count);
    await fpga.close();
    await sim.close();
  }, 120_000);

  it('autonomous: the frames\' bytes on sensor_in, each FIFO record naming the u8 entry\'s class', async () => {
    const { card } = zooStudent('cells-bccd');
    const cap = readCapture(join(REPO, RECORDINGS['cells-bccd']!));
    const frames = Math.min(cap.count, 40);
    const raw = Int32Array.from(cap.frames.subarray(cap.offsets[0]!, cap.offsets[frames]!));
    const devicePath = start('auto', map, lib, { raw });
    const sim = loadSimBackend({ path: lib, inputShape: card.inputShape, classes: card.labels.length });
    const dev = openFpgaDevice(devicePath, map);
    const outWidth = dev.info().outWidth;
    for (let k = 0; k < map.nOut; k++) dev.setThreshold(k, -(2 ** (outWidth - 1)));  // every frame fires
    dev.setMode(1);
    const out = new Float64Array(8 * FPGA_EVENT_FIELDS);
    const seen: number[][] = [];
    const deadline = Date.now() + 20_000;
    while (seen.length < frames && Date.now() < deadline) {
      const n = dev.drainEvents(out);
      for (let i = 0; i < n; i++) seen.push(Array.from(out.subarray(i * FPGA_EVENT_FIELDS, (i + 1) * FPGA_EVENT_FIELDS)));
    }
    expect(seen.map((e) => e[0])).toEqual(Array.from({ length: frames }, (_, i) => i));
    const y = new Float32Array(map.nOut);
    for (const [seq, cls] of seen) {
      sim.predictPixels!(cap.frames, cap.offsets[seq!]!, y);
      expect(cls).toBe(argmax(y));
    }
    dev.close();
    await sim.close();
  }, 60_000);

  it('refuses the pixel route on a device that takes input_t values, and a mismatched IN_KIND', async () => {
    const values = readMap(VALUES_PROJECT);
    expect(values.inKind).toBe('values');
    const valuesPath = start('values', values, join(VALUES_PROJECT, `lib${values.name}.so`));
    const backend = loadFpgaBackend({ path: join(VALUES_PROJECT, 'regmap.json'), device: valuesPath, inputShape: [values.nIn], classes: values.nOut });
    expect(backend.pixelBytes).toBeUndefined();
    await backend.close();
    const dev = openFpgaDevice(valuesPath, values);
    const frame = new Uint8Array(values.nIn);
    dev.bindPixels(frame, values.nIn, new Float32Array(values.nOut));
    expect(() => dev.runPixels(0, 1)).toThrow(expect.objectContaining({ code: 'values' }));
    expect(dev.stats().jobs).toBe(0);
    dev.close();
    // regmap.json and the device disagree on IN_KIND: the open names both.
    expect(() => openFpgaDevice(valuesPath, { ...values, inKind: 'pixels' })).toThrow(expect.objectContaining({ reason: 'map' }));  // a pixel map's IN_TYPE is 0
    expect(() => openFpgaDevice(valuesPath, { ...values, inKind: 'pixels', inType: 0 })).toThrow(/IN_KIND differs: the device has 0 \(input_t values\), regmap.json has 1 \(uint8 pixels\)/);
    const pixelPath = start('kind', map, lib);
    const { inKind: _k, ...noKind } = map;
    expect(() => openFpgaDevice(pixelPath, { ...noKind, inType: values.inType })).toThrow(expect.objectContaining({ reason: 'mismatch', message: expect.stringMatching(/IN_KIND differs: the device has 1 \(uint8 pixels\), regmap.json has 0/) }));
    // A pixel device's frame is exactly N_IN bytes.
    const pdev = openFpgaDevice(pixelPath, map);
    expect(() => pdev.bindPixels(new Uint8Array(map.nIn), map.nIn - 1, new Float32Array(map.nOut))).toThrow(RangeError);
    pdev.close();
  });

  it('a pixel regmap without model.json pixels is a ModelError naming model.json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ht-pixdev-'));
    try {
      copyFileSync(join(PROJECT, 'regmap.json'), join(dir, 'regmap.json'));
      const model = JSON.parse(readFileSync(join(PROJECT, 'model.json'), 'utf8')) as Record<string, unknown>;
      delete model.pixels;
      writeFileSync(join(dir, 'model.json'), JSON.stringify(model));
      const ref = { path: join(dir, 'regmap.json'), device: '/dev/shm/none', inputShape: [3, 32, 32], classes: map.nOut };
      expect(() => loadFpgaBackend(ref)).toThrow(ModelError);
      expect(() => loadFpgaBackend(ref)).toThrow(join(dir, 'model.json'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
