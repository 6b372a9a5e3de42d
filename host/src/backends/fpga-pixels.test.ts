// The driver's pixel entry (FpgaDevice::RunU8 through bindPixels / runPixels) over the device
// emulator running the cells-bccd student. The emulator speaks layout 2 (one input value a
// word), so what its network computes from packed bytes is not checked here; what is: the
// frame's bytes land in the input window packed four a word, little-endian (value i in word
// floor(i / 4), lane i % 4: docs/fpga-protocol.md's packing, computed here from the bytes),
// the job completes with its SEQ, and a layout-2 device keeps the fpga backend on the float
// path (no `pixelBytes`), so the pipeline sends input_t values it can read.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCapture } from '../capture/arrow-capture.js';
import { FIRMWARE_DIR } from '../daemon.js';
import { createEmulator, openFpgaDevice, type EmulatorRegisterMap, type FpgaRegisterMap, type NativeEmulator } from '../native/addon.js';
import { REG } from '../../../hls/compiler/regmap.js';
import { loadFpgaBackend } from './fpga.js';
import { RECORDINGS, REPO } from './sim.fixture.js';

const PROJECT = join(REPO, FIRMWARE_DIR, 'cells_bccd_student');
const N_PX = 32 * 32 * 3;

describe('fpga driver: a camera frame into the input window, packed', () => {
  const map = JSON.parse(readFileSync(join(PROJECT, 'regmap.json'), 'utf8')) as EmulatorRegisterMap & FpgaRegisterMap & { name: string };
  const devicePath = `/dev/shm/ht-fpga-pixels-${process.pid}`;
  let emulator: NativeEmulator | null = null;
  afterAll(() => emulator?.stop());

  it('writes the bytes four a word, runs the job with its SEQ, and reads the outputs once', () => {
    emulator = createEmulator({ devicePath, libraryPath: join(PROJECT, `lib${map.name}.so`), regmap: map, unlinkOnStop: true });
    emulator.start();
    const dev = openFpgaDevice(devicePath, map, { spinsMax: 2 ** 30 });
    const cap = readCapture(join(REPO, RECORDINGS['cells-bccd']!));
    const y = new Float32Array(map.nOut);
    dev.bindPixels(cap.frames, N_PX, y);
    const seq = 2 ** 32 + 7;  // SEQ_HI 1: written on the first job
    for (const frame of [3, 4]) {
      const offset = cap.offsets[frame]!;
      dev.runPixels(offset, seq + frame);
      const region = readFileSync(devicePath);
      const words = Array.from({ length: N_PX / 4 }, (_, i) => region.readUInt32LE(map.inOffset + 4 * i));
      const bytes = cap.frames.subarray(offset, offset + N_PX);
      const packed = Array.from({ length: N_PX / 4 }, (_, i) => (bytes[4 * i]! | (bytes[4 * i + 1]! << 8) | (bytes[4 * i + 2]! << 16) | (bytes[4 * i + 3]! << 24)) >>> 0);
      expect(words).toEqual(packed);
      expect(region.readUInt32LE(REG.SEQ_LO)).toBe(7 + frame);
      expect(region.readUInt32LE(REG.SEQ_HI)).toBe(1);
      expect(y.every((v) => Number.isFinite(v))).toBe(true);
    }
    expect(dev.stats()).toMatchObject({ jobs: 2, corrupt: 0, resets: 0, timeouts: 0 });
    expect(() => dev.bindPixels(cap.frames, 4 * map.nIn + 1, y)).toThrow(RangeError);
    expect(() => dev.runPixels(cap.frames.length - N_PX + 1, 0)).toThrow(RangeError);
    dev.close();
  });

  it('keeps the backend on the float path while the device is layout 2', async () => {
    expect(map.layout).toBe(2);
    const b = loadFpgaBackend({ path: join(PROJECT, 'regmap.json'), device: devicePath, inputShape: [3, 32, 32], classes: 3, spinsMax: 2 ** 30 });
    expect(b.pixelBytes).toBeUndefined();
    await b.close();
  });
});
