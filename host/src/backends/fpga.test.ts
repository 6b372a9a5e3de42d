import { closeSync, existsSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceError, ModelError } from '../core/errors.js';
import { FIRMWARE_DIR } from '../daemon.js';
import { loadFpgaBackend } from './fpga.js';
import { REPO } from './sim.fixture.js';

const JET = 'jets_hls4ml_student';
const JET_REGMAP = join(REPO, FIRMWARE_DIR, JET, 'regmap.json');

interface Regmap {
  magic: number; layout: number; nIn: number; nOut: number; inType: number; outType: number; clockKhz: number;
  latencyCycles: number; ii: number; modelSha256: string; modelHashWords: number[]; fifoCapacity: number;
  inOffset: number; outOffset: number; threshOffset: number; fifoOffset: number; regionBytes: number;
  registers: Record<string, number>;
}
const regmap = (): Regmap => JSON.parse(readFileSync(JET_REGMAP, 'utf8')) as Regmap;

/** Identification block words of a device that runs `m` (docs/fpga-protocol.md). */
function identification(m: Regmap): Map<number, number> {
  const r = m.registers;
  const w = new Map<number, number>([
    [r.MAGIC!, m.magic], [r.LAYOUT!, m.layout], [r.N_IN!, m.nIn], [r.N_OUT!, m.nOut], [r.IN_TYPE!, m.inType], [r.OUT_TYPE!, m.outType],
    [r.CLOCK_KHZ!, m.clockKhz], [r.LATENCY_CYCLES!, m.latencyCycles], [r.II!, m.ii], [r.FIFO_CAPACITY!, m.fifoCapacity],
    [r.IN_OFFSET!, m.inOffset], [r.OUT_OFFSET!, m.outOffset], [r.THRESH_OFFSET!, m.threshOffset], [r.FIFO_OFFSET!, m.fifoOffset],
    [r.REGION_BYTES!, m.regionBytes],
  ]);
  m.modelHashWords.forEach((h, k) => w.set(r.MODEL_HASH! + 4 * k, h));
  return w;
}

const shmFiles: string[] = [];
afterEach(() => {
  for (const f of shmFiles.splice(0)) if (existsSync(f)) unlinkSync(f);
});

/** A /dev/shm file of `bytes` holding `words` (offset -> u32), as a device would expose it. */
function prepareRegion(name: string, bytes: number, words: Map<number, number>): string {
  const path = `/dev/shm/ht-fpga-test-${process.pid}-${name}`;
  shmFiles.push(path);
  const buf = Buffer.alloc(bytes);
  for (const [off, v] of words) if (off + 4 <= bytes) buf.writeUInt32LE(v >>> 0, off);
  const fd = openSync(path, 'w');
  writeSync(fd, buf);
  closeSync(fd);
  return path;
}

const ref = (device: string) => ({ path: JET_REGMAP, device, inputShape: [16], classes: 5 });

/** The DeviceError thrown by `f`, or a failure. */
function deviceError(f: () => unknown): DeviceError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(DeviceError);
    return err as DeviceError;
  }
  throw new Error('expected a DeviceError, nothing was thrown');
}

describe('fpga backend refuses a device that does not run the model, naming the field', () => {
  it('opens a region whose identification block matches (the checks below start from this one)', async () => {
    const b = loadFpgaBackend(ref(prepareRegion('good', regmap().regionBytes, identification(regmap()))));
    expect(b.info()).toMatchObject({ kind: 'fpga', model: JET_REGMAP, outputs: 5, precision: 'ap_fixed<16,6,AP_TRN,AP_SAT>', modelledCycles: regmap().latencyCycles });
    expect(b.deviceStats()).toMatchObject({ jobs: 0, timeouts: 0, resets: 0, fifoPending: 0 });
    await b.close();
  });

  it('a missing file: open', () => {
    const e = deviceError(() => loadFpgaBackend(ref('/dev/shm/ht-fpga-test-does-not-exist')));
    expect(e.code).toBe('E_DEVICE');
    expect(e.reason).toBe('open');
    expect(e.message).toMatch(/ht-fpga-test-does-not-exist: cannot open read-write: No such file or directory/);
  });

  it('a file smaller than REGION_BYTES: size', () => {
    const m = regmap();
    const e = deviceError(() => loadFpgaBackend(ref(prepareRegion('small', 4096, identification(m)))));
    expect(e.reason).toBe('size');
    expect(e.message).toContain(`4096 bytes, the register map needs REGION_BYTES ${m.regionBytes}`);
  });

  it('a region without the HTFW magic: magic', () => {
    const m = regmap();
    const words = identification(m);
    words.set(m.registers.MAGIC!, 0xdeadbeef);
    const e = deviceError(() => loadFpgaBackend(ref(prepareRegion('magic', m.regionBytes, words))));
    expect(e.reason).toBe('magic');
    expect(e.message).toMatch(/MAGIC is 0xdeadbeef, a hairtrigger firmware has 0x48544657/);
  });

  it('another layout version: layout', () => {
    const m = regmap();
    const words = identification(m);
    words.set(m.registers.LAYOUT!, 2);
    const e = deviceError(() => loadFpgaBackend(ref(prepareRegion('layout', m.regionBytes, words))));
    expect(e.reason).toBe('layout');
    expect(e.message).toMatch(/LAYOUT is 2, this driver speaks layout 1/);
  });

  it('another model on the device: mismatch naming both hashes', () => {
    const m = regmap();
    const words = identification(m);
    const other = 'ab'.repeat(32);
    Buffer.from(other, 'hex').forEach((_, i, bytes) => i % 4 === 0 && words.set(m.registers.MODEL_HASH! + i, bytes.readUInt32LE(i)));
    const e = deviceError(() => loadFpgaBackend(ref(prepareRegion('hash', m.regionBytes, words))));
    expect(e.reason).toBe('mismatch');
    expect(e.message).toContain(`MODEL_HASH differs: the device runs ${other}, the model is ${m.modelSha256}`);
  });

  it('other sizes or offsets on the device: mismatch naming the field and both values', () => {
    const m = regmap();
    for (const [field, value, text] of [
      ['N_IN', 17, 'N_IN differs: the device has 17, the model needs 16'],
      ['IN_TYPE', m.inType + 1, 'IN_TYPE differs: the device has W=17'],
      ['OUT_OFFSET', m.outOffset + 64, `OUT_OFFSET differs: the device has ${m.outOffset + 64}, regmap.json has ${m.outOffset}`],
    ] as const) {
      const words = identification(m);
      words.set(m.registers[field]!, value);
      const e = deviceError(() => loadFpgaBackend(ref(prepareRegion(field, m.regionBytes, words))));
      expect(e.reason).toBe('mismatch');
      expect(e.message).toContain(text);
    }
  });

  it('a register map compiled from another ONNX file, or that does not fit the pipeline: ModelError before the device is opened', () => {
    const dev = '/dev/shm/ht-fpga-test-never-opened';
    expect(() => loadFpgaBackend({ ...ref(dev), sourceSha256: '0'.repeat(64) })).toThrow(ModelError);
    expect(() => loadFpgaBackend({ ...ref(dev), sourceSha256: '0'.repeat(64) })).toThrow(/compiled from ONNX 0f9e0ce651a9\.\.\., the model is 000000000000\.\.\.: rebuild it/);
    expect(() => loadFpgaBackend({ ...ref(dev), classes: 3 })).toThrow(/writes 5 outputs; the pipeline expects 3 classes/);
    expect(() => loadFpgaBackend({ ...ref(dev), path: join(REPO, 'nope', 'regmap.json') })).toThrow(/cannot read the register map/);
  });
});
