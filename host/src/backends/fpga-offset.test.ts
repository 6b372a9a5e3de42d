// A card's kernel sits at an offset in its BAR (hls/compiler/block-design.ts writes it to
// vivado/address_map.json): the fpga backend maps the register region from
// `regionOffsetBytes` of the device file. Here the device emulator serves the jet tagger's
// region at the offset the block design gives it, inside a larger file whose first bytes are
// zero, and the backend must run it bit for bit as the sim backend does.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressMap, CARD_BOARDS } from '../../../hls/compiler/block-design.js';
import type { RegisterMap } from '../../../hls/compiler/regmap.js';
import { createRng } from '../core/rng.js';
import { ConfigError, DeviceError } from '../core/errors.js';
import { replayConfig, runToEnd, ZOO } from '../../../test/support/fixtures.js';
import { FIRMWARE_DIR } from '../daemon.js';
import { createEmulator, openFpgaDevice, type NativeEmulator } from '../native/addon.js';
import { loadFpgaBackend } from './fpga.js';
import { loadSimBackend } from './sim.js';
import { firmwareLib, JET_ONNX, REPO } from './sim.fixture.js';

const JET = 'jets_hls4ml_student';
const JET_REGMAP = join(REPO, FIRMWARE_DIR, JET, 'regmap.json');
const SEED = 21;

/** A DeviceError with `reason`, as the driver reports each refusal. */
const deviceError = (reason: string) => expect.objectContaining({ name: DeviceError.name, reason });

describe('fpga backend with the register region at the block design kernel offset', () => {
  const map = JSON.parse(readFileSync(JET_REGMAP, 'utf8')) as RegisterMap;
  const part = (JSON.parse(readFileSync(join(REPO, FIRMWARE_DIR, JET, 'model.json'), 'utf8')) as { part: string }).part;
  const offset = addressMap(map, CARD_BOARDS[part]!).kernelOffset;
  const sha = createHash('sha256').update(readFileSync(JET_ONNX)).digest('hex');
  const device = `/dev/shm/ht-fpga-offset-test-${process.pid}`;
  const ref = { path: JET_REGMAP, device, inputShape: [16], classes: 5, sourceSha256: sha, spinsMax: 2 ** 30 };
  let emu: NativeEmulator | null = null;
  beforeAll(() => {
    emu = createEmulator({ devicePath: device, libraryPath: firmwareLib(JET), regmap: map, regionOffsetBytes: offset });
    emu.start();
  });
  afterAll(() => {
    emu?.stop();
    expect(existsSync(device)).toBe(false);
    if (existsSync(device)) unlinkSync(device);
  });

  it('the offset is past the first page, and the file holds the region after it', () => {
    expect(offset).toBeGreaterThanOrEqual(4096);
    expect(readFileSync(device).length).toBe(offset + map.regionBytes);
  });

  it('runs 200 inputs at the offset bit for bit as the sim backend', async () => {
    const b = loadFpgaBackend({ ...ref, regionOffsetBytes: offset });
    const sim = loadSimBackend({ path: firmwareLib(JET), inputShape: [16], classes: 5, sourceSha256: sha });
    const rng = createRng(SEED);
    const y = new Float32Array(5), want = new Float32Array(5);
    try {
      for (let i = 0; i < 200; i++) {
        const x = Float32Array.from({ length: 16 }, () => rng.normal() * 4);
        b.predict(x, y);
        sim.predict(x, want);
        expect(new Uint32Array(y.buffer), `input ${i} (seed ${SEED})`).toEqual(new Uint32Array(want.buffer));
      }
      expect(b.deviceStats().jobs).toBe(200);
    } finally {
      await b.close();
      await sim.close();
    }
  });

  it('a pipeline config takes the offset as fpga.regionOffsetBytes (a replay of 2,000 jets, none dropped), and refuses one off a page', async () => {
    const over = (regionOffsetBytes: number) => ({
      backend: 'fpga', device, firmware: join(REPO, FIRMWARE_DIR, JET), fpga: { spinsMax: 2 ** 30, regionOffsetBytes },
      source: { kind: 'replay', path: join(REPO, 'sim/recordings/jets-hls4ml-10k.arrows'), pacing: 'max', frames: 2_000 }, trigger: { targets: ['t'] },
    });
    const d = await runToEnd(replayConfig(join(ZOO, 'jets-hls4ml'), '', over(offset)));
    expect(d.metrics.snapshot()).toMatchObject({ backend: 'fpga', frames: 2_000, dropped: 0 });
    expect(() => replayConfig(join(ZOO, 'jets-hls4ml'), '', over(offset + 64))).toThrow(ConfigError);
  });

  it('without the offset finds no device at the start of the file (magic), and refuses an offset off a page', () => {
    expect(() => loadFpgaBackend(ref)).toThrow(deviceError('magic'));
    expect(() => loadFpgaBackend({ ...ref, regionOffsetBytes: offset + 64 })).toThrow(deviceError('offset'));
    expect(() => openFpgaDevice(device, map, { offsetBytes: offset + 4096 * 64 })).toThrow(deviceError('size'));
  });
});
