import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { compileModel } from '../../../hls/compiler/compile.js';
import { createRng } from '../core/rng.js';
import { DeviceError, isOperatingError, ModelError } from '../core/errors.js';
import { limits } from '../core/limits.js';
import { FIRMWARE_DIR } from '../daemon.js';
import { createEmulator, FPGA_EVENT_FIELDS, loadSimModel, openFpgaDevice, type EmulatorOptions, type NativeEmulator } from '../native/addon.js';
import { backendContract } from './contract.js';
import { loadFpgaBackend } from './fpga.js';
import { loadSimBackend } from './sim.js';
import { firmwareLib, JET_ONNX, REPO } from './sim.fixture.js';

const JET = 'jets_hls4ml_student';
const JET_REGMAP = join(REPO, FIRMWARE_DIR, JET, 'regmap.json');

interface Regmap {
  magic: number; layout: number; nIn: number; nOut: number; inType: number; outType: number; clockKhz: number;
  latencyCycles: number; ii: number; modelSha256: string; modelHashWords: number[]; fifoCapacity: number;
  inOffset: number; outOffset: number; threshOffset: number; fifoOffset: number; regionBytes: number; inPack: number; outPack: number;
  registers: Record<string, number>;
}
const regmap = (): Regmap => JSON.parse(readFileSync(JET_REGMAP, 'utf8')) as Regmap;
const REG_MODE = regmap().registers.MODE!;

/** Identification block words of a device that runs `m` (docs/fpga-protocol.md). */
function identification(m: Regmap): Map<number, number> {
  const r = m.registers;
  const w = new Map<number, number>([
    [r.MAGIC!, m.magic], [r.LAYOUT!, m.layout], [r.N_IN!, m.nIn], [r.N_OUT!, m.nOut], [r.IN_TYPE!, m.inType], [r.OUT_TYPE!, m.outType],
    [r.CLOCK_KHZ!, m.clockKhz], [r.LATENCY_CYCLES!, m.latencyCycles], [r.II!, m.ii], [r.FIFO_CAPACITY!, m.fifoCapacity],
    [r.IN_OFFSET!, m.inOffset], [r.OUT_OFFSET!, m.outOffset], [r.THRESH_OFFSET!, m.threshOffset], [r.FIFO_OFFSET!, m.fifoOffset],
    [r.REGION_BYTES!, m.regionBytes], [r.IN_PACK!, m.inPack], [r.OUT_PACK!, m.outPack],
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

// A spin budget of seconds: on a loaded 2-core machine the emulator's thread can be
// descheduled past the default; the timeout tests pass their own.
const ref = (device: string) => ({ path: JET_REGMAP, device, inputShape: [16], classes: 5, spinsMax: 2 ** 30 });

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

  it('a layout 2 device (unpacked windows), or a layout 2 regmap.json: layout', () => {
    const m = regmap();
    expect(m.layout).toBe(3);
    const words = identification(m);
    words.set(m.registers.LAYOUT!, 2);
    const e = deviceError(() => loadFpgaBackend(ref(prepareRegion('layout', m.regionBytes, words))));
    expect(e.reason).toBe('layout');
    expect(e.message).toMatch(/LAYOUT is 2, this driver speaks layout 3/);
    // An old firmware project: refused before the device is even opened.
    const dir = mkdtempSync(join(tmpdir(), 'ht-fpga-layout2-'));
    try {
      writeFileSync(join(dir, 'regmap.json'), JSON.stringify({ ...JSON.parse(readFileSync(JET_REGMAP, 'utf8')), layout: 2 }));
      const old = deviceError(() => loadFpgaBackend({ ...ref(prepareRegion('layout-map', m.regionBytes, identification({ ...m, layout: 2 }))), path: join(dir, 'regmap.json') }));
      expect(old.reason).toBe('layout');
      expect(old.message).toMatch(/regmap\.json is layout 2, this driver speaks layout 3 .*recompile the firmware/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
      // A device that packs other than the type says (layout 3: two 16-bit values a word).
      ['IN_PACK', 1, 'IN_PACK differs: the device has 1, the model needs 2'],
      ['OUT_PACK', 4, 'OUT_PACK differs: the device has 4, the model needs 2'],
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

// ---------------------------------------------------------------------------------------
// Against the device emulator (sim/emulator): the same firmware's simulator library behind
// the register protocol, so every result must be bit-exact with the sim backend.

/** A running emulator of the jet tagger on its own /dev/shm file; stopped (and the file removed) by the caller. */
function startEmulator(name: string, extra: Partial<EmulatorOptions> = {}): { device: string; emu: NativeEmulator } {
  const device = `/dev/shm/ht-fpga-test-${process.pid}-emu-${name}`;
  emulatorFiles.push(device);
  const emu = createEmulator({ devicePath: device, libraryPath: firmwareLib(JET), regmap: regmap(), ...extra });
  emu.start();
  return { device, emu };
}

// Emulators outlive single tests; stop() removes their files, and this checks it did.
const emulatorFiles: string[] = [];
afterAll(() => {
  const left = emulatorFiles.filter((f) => existsSync(f));
  for (const f of left) unlinkSync(f);
  expect(left).toEqual([]);
});

/** Seeded N(0,1) jet features, then inputs at the edges of ap_fixed<16,6,AP_TRN,AP_SAT>. */
function jetInputs(n: number, seed: number): Float32Array[] {
  const rng = createRng(seed);
  const xs = Array.from({ length: n }, () => Float32Array.from({ length: 16 }, () => rng.normal() * 2));
  const lsb = 2 ** -10;
  const edges = [0, lsb, -lsb, lsb / 2, -lsb / 2, 3 * lsb - 1e-7, 511.999, 512, 600, -512, -512.001, -1e6, 1e6, 1e30, -1e30, 31.7];
  for (let i = 0; i < Math.min(8, n); i++) xs[i] = Float32Array.from({ length: 16 }, (_, k) => edges[(k + i) % edges.length]!);
  return xs;
}

describe('fpga backend against the device emulator (jet tagger)', () => {
  const sha = createHash('sha256').update(readFileSync(JET_ONNX)).digest('hex');
  const simRef = { path: firmwareLib(JET), inputShape: [16], classes: 5, sourceSha256: sha };
  let emu: NativeEmulator | null = null;
  let device = '';
  beforeAll(() => ({ device, emu } = startEmulator('contract')));
  afterAll(() => emu?.stop());

  const fpgaRef = () => ({ ...ref(device), sourceSha256: sha });
  const sim = loadSimBackend(simRef);
  afterAll(() => sim.close());
  const simLogits = async (x: Float32Array) => {
    const y = new Float32Array(5);
    sim.predict(x, y);
    return y;
  };
  // The jet firmware stops at the logits: the compiler stripped the model's Softmax (postprocess).
  backendContract('fpga over the emulator', async () => loadFpgaBackend(fpgaRef()), { ...ref(''), get path() { return JET_REGMAP; } }, () => jetInputs(8, 11), simLogits, 0, 'logits');

  it('is bit-exact with the sim backend on 200 inputs (float path), and on raw values', async () => {
    const b = loadFpgaBackend(fpgaRef());
    const y = new Float32Array(5);
    const want = new Float32Array(5);
    for (const x of jetInputs(200, 7)) {
      b.predict(x, y);
      sim.predict(x, want);
      expect(Array.from(y)).toEqual(Array.from(want));
    }
    expect(b.deviceStats()).toMatchObject({ jobs: 200, timeouts: 0, resets: 0 });
    await b.close();
    const dev = openFpgaDevice(device, regmap());
    const lib = loadSimModel(simRef.path);
    const rng = createRng(3);
    const xr = new Int32Array(16), yr = new Int32Array(5), wr = new Int32Array(5);
    for (let i = 0; i < 50; i++) {
      for (let k = 0; k < 16; k++) xr[k] = Math.floor(rng.normal() * 4000) | 0;
      if (i === 0) xr.fill(-32768);
      if (i === 1) xr.fill(32767);
      dev.predictRaw(xr, yr, i);
      lib.predictRaw(xr, wr);
      expect(Array.from(yr)).toEqual(Array.from(wr));
    }
    dev.close();
    lib.close();
  });

  it('a device reset mid-stream fails that frame with reason reset; the next frames are right again', async () => {
    const r = startEmulator('reset', { fault: { kind: 'reset-after', value: 3 } });
    try {
      const b = loadFpgaBackend({ ...ref(r.device), sourceSha256: sha });
      const y = new Float32Array(5), want = new Float32Array(5);
      const xs = jetInputs(8, 21);
      const outcomes: string[] = [];
      const messages: string[] = [];
      for (const x of xs) {
        let err: unknown = null;
        try {
          b.predict(x, y);
        } catch (e) {
          err = e;
        }
        if (err === null) {
          sim.predict(x, want);
          expect(Array.from(y)).toEqual(Array.from(want));
          outcomes.push('ok');
        } else {
          expect(isOperatingError(err)).toBe(true);
          expect(err).toBeInstanceOf(DeviceError);
          outcomes.push((err as DeviceError).reason);
          messages.push((err as Error).message);
        }
      }
      expect(outcomes).toEqual(['ok', 'ok', 'ok', 'reset', 'ok', 'ok', 'ok', 'reset']);
      // Which check sees the reset first depends on the order the device clears its counters.
      expect(messages[0]).toMatch(/the device reset during job seq 3 \(RESET_COUNT 0 -> 1\)|DONE_COUNT went from 3 to 0 during job seq 3, not by one/);
      expect(messages[1]).toMatch(/job seq 7\b/);
      expect(b.deviceStats()).toMatchObject({ jobs: 6, resets: 2 });
      await b.close();
    } finally {
      r.emu.stop();
    }
  });

  it('a device that never completes: reason timeout naming the spins, then faulted: every later job fails at once without spinning', async () => {
    const r = startEmulator('hang', { fault: { kind: 'never-done' } });
    try {
      const b = loadFpgaBackend({ ...ref(r.device), sourceSha256: sha, spinsMax: 20_000 });
      const y = new Float32Array(5);
      const e1 = deviceError(() => b.predict(jetInputs(1, 1)[0]!, y));
      expect(e1.reason).toBe('timeout');
      expect(isOperatingError(e1)).toBe(true);
      expect(e1.message).toMatch(/job seq 0 not done after 20000 spins \(\d+ us\); DONE_COUNT stayed 0/);
      for (let i = 1; i <= 100; i++) {
        const e = deviceError(() => b.predict(jetInputs(1, 1)[0]!, y));
        expect(e.reason).toBe('faulted');
        expect(e.message).toMatch(new RegExp(`job seq ${i} not started: the device is faulted since job seq 0 timed out`));
      }
      // One spin budget in all (the first job's), whatever the machine's load.
      expect(b.deviceStats()).toMatchObject({ jobs: 0, timeouts: 1, faulted: true, faultedFast: 100 });
      // The device never answers: a re-probe leaves it faulted and writes nothing to it.
      expect(b.reprobe()).toBe(false);
      expect(b.deviceStats()).toMatchObject({ faulted: true, reprobes: 1, recoveries: 0 });
      expect(r.emu.stats()).toMatchObject({ jobs: 0, faults: 1 });
      await b.close();
    } finally {
      r.emu.stop();
    }
  });

  it('a stopped emulator: frames fail fast after the first timeout, re-probes back off on the injected timers; a restarted emulator is found again and bit-exact', async () => {
    const name = 'stopped';
    let r = startEmulator(name);
    const pending: { fn: () => void; ms: number }[] = [];
    const timers = {
      setTimeout: (fn: () => void, ms: number) => pending.push({ fn, ms }),
      clearTimeout: () => {},
      setImmediate: (fn: () => void) => fn(),
      clearImmediate: () => {},
    };
    // A budget of ~0.1 s: the healthy jobs must not time out on a loaded machine; the stopped device costs it once.
    const b = loadFpgaBackend({ ...ref(r.device), sourceSha256: sha, spinsMax: 1 << 22, timers });
    try {
      const xs = jetInputs(40, 51);
      expect(outcomesOf(b, xs.slice(0, 5)).outcomes).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
      r.emu.stop();
      const stopped = outcomesOf(b, xs.slice(5, 25)).outcomes;
      expect(stopped).toEqual(['timeout', ...Array<string>(19).fill('faulted')]);
      expect(b.deviceStats()).toMatchObject({ jobs: 5, timeouts: 1, faulted: true, faultedFast: 19 });
      // One re-probe scheduled by the timeout (not one per frame), each failed one doubling the wait.
      expect(pending.map((t) => t.ms)).toEqual([limits.fpgaReprobeDelayMinMs]);
      for (let i = 0; i < 8; i++) pending.shift()!.fn();
      expect(pending.map((t) => t.ms)).toEqual([limits.fpgaReprobeDelayMaxMs]);
      expect(b.deviceStats()).toMatchObject({ faulted: true, reprobes: 8 });
      // Another model's device at the path is not taken: still faulted, and the frames say why.
      const wrong = startEmulator(name, { fault: { kind: 'wrong-hash' } });
      expect(b.reprobe()).toBe(false);
      wrong.emu.stop();
      expect(outcomesOf(b, xs.slice(24, 25)).messages[0]).toMatch(/the device is faulted since job seq 5 timed out; .*\(last probe: mismatch: .*MODEL_HASH differs/);
      r = startEmulator(name);
      pending.shift()!.fn();
      expect(pending).toEqual([]);
      expect(b.deviceStats()).toMatchObject({ faulted: false, reprobes: 10, recoveries: 1 });
      expect(outcomesOf(b, xs.slice(25)).outcomes).toEqual(Array<string>(15).fill('ok'));
      expect(b.deviceStats()).toMatchObject({ jobs: 20, timeouts: 1, faultedFast: 20 });
    } finally {
      await b.close();
      r.emu.stop();
    }
  });

  /** Runs `xs` through `b`: 'ok' (bit-exact with sim, checked) or the DeviceError's reason, with the messages of the failures. */
  const outcomesOf = (b: ReturnType<typeof loadFpgaBackend>, xs: Float32Array[]): { outcomes: string[]; messages: string[] } => {
    const y = new Float32Array(5), want = new Float32Array(5);
    const outcomes: string[] = [], messages: string[] = [];
    for (const [i, x] of xs.entries()) {
      try {
        b.predict(x, y);
      } catch (err) {
        expect(err).toBeInstanceOf(DeviceError);
        expect((err as DeviceError).code).toBe('E_DEVICE');
        outcomes.push((err as DeviceError).reason);
        messages.push((err as Error).message);
        continue;
      }
      sim.predict(x, want);
      expect(Array.from(y), `frame ${i}`).toEqual(Array.from(want));
      outcomes.push('ok');
    }
    return { outcomes, messages };
  };

  it('corrupt-output:3: exactly every third job fails with reason corrupt (OUT_CHECK mismatch), the others are bit-exact with sim', async () => {
    const r = startEmulator('corrupt', { fault: { kind: 'corrupt-output', value: 3 } });
    try {
      const b = loadFpgaBackend({ ...ref(r.device), sourceSha256: sha });
      const { outcomes, messages } = outcomesOf(b, jetInputs(12, 31));
      expect(outcomes).toEqual(Array.from({ length: 12 }, (_, i) => ((i + 1) % 3 === 0 ? 'corrupt' : 'ok')));
      // Bit 0 flipped keeps every word a valid 16-bit value: only the check can see it.
      expect(messages[0]).toMatch(/job seq 2: OUT_CHECK is 0x[0-9a-f]{8}, the outputs read give 0x[0-9a-f]{8} \(FNV-1a over SEQ_LO, DONE_COUNT 3 and 3 output words\)/);
      expect(messages[3]).toMatch(/job seq 11: OUT_CHECK .* DONE_COUNT 12 /);
      expect(b.deviceStats()).toMatchObject({ jobs: 8, corrupt: 4, timeouts: 0, resets: 0 });
      expect(r.emu.stats()).toMatchObject({ jobs: 12, faults: 4 });
      await b.close();
    } finally {
      r.emu.stop();
    }
  });

  it('late-once: the late job times out, the device is faulted until the re-probe sees it complete, then bit-exact again', async () => {
    // Wide margins: on a loaded 2-core machine the emulator thread may wait milliseconds for a core,
    // so the budget (~25 ms here) must cover that, and the lateness must dwarf two budgets.
    const lateUs = 800_000;
    const r = startEmulator('late', { fault: { kind: 'late-once', value: lateUs, at: 3 } });
    try {
      const b = loadFpgaBackend({ ...ref(r.device), sourceSha256: sha, spinsMax: 1_000_000 });
      const xs = jetInputs(8, 41);
      // Jobs 1 and 2 on time; job 3 (seq 2) is 800 ms late; seq 3 comes while it still runs.
      const first = outcomesOf(b, xs.slice(0, 4));
      expect(first.outcomes).toEqual(['ok', 'ok', 'timeout', 'faulted']);
      // (The outcomes above show the spin budget ran out before the late job finished.)
      expect(first.messages[0]).toMatch(/job seq 2 not done after 1000000 spins \(\d+ us\); DONE_COUNT stayed 2/);
      expect(first.messages[1]).toMatch(/job seq 3 not started: the device is faulted since job seq 2 timed out/);
      // The late job completes (the emulator counts it); the re-probe sees its DONE_COUNT change.
      const deadline = Date.now() + 5000;
      while (r.emu.stats().jobs < 3 && Date.now() < deadline) await new Promise((done) => setTimeout(done, 5));
      expect(r.emu.stats()).toMatchObject({ jobs: 3, faults: 1 });
      expect(b.reprobe()).toBe(true);
      // Bit-exact with sim: the late job's DONE_COUNT change and outputs are not taken for these jobs'.
      expect(outcomesOf(b, xs.slice(4)).outcomes).toEqual(['ok', 'ok', 'ok', 'ok']);
      expect(b.deviceStats()).toMatchObject({ jobs: 6, timeouts: 1, faultedFast: 1, recoveries: 1, corrupt: 0, resets: 0 });
      expect(r.emu.stats()).toMatchObject({ jobs: 7, faults: 1 });
      await b.close();
    } finally {
      r.emu.stop();
    }
  });

  it('opening with a host-mode config reads the device only: an autonomous sorter keeps MODE 1 and keeps producing', async () => {
    const rng = createRng(5);
    const raw = Int32Array.from({ length: 64 * 16 }, () => Math.floor(rng.normal() * 3000));
    const r = startEmulator('keep-auto', { autonomous: true, source: { raw, rateHz: 2000, loop: true } });
    try {
      const framesAt = async (n: number) => {
        const deadline = Date.now() + 10_000;
        while (r.emu.stats().frames < n && Date.now() < deadline) await new Promise((done) => setTimeout(done, 5));
        return r.emu.stats().frames;
      };
      await framesAt(1);
      const modeWord = () => readFileSync(r.device).readUInt32LE(REG_MODE);
      expect(modeWord()).toBe(1);
      const b = loadFpgaBackend({ ...ref(r.device), sourceSha256: sha });
      expect(modeWord()).toBe(1);
      const before = r.emu.stats().frames;
      expect(await framesAt(before + 5)).toBeGreaterThanOrEqual(before + 5);
      expect(modeWord()).toBe(1);
      await b.close();
    } finally {
      r.emu.stop();
    }
  });

  it('autonomous: every frame over threshold drained exactly once, in order, across FIFO wrap-around', async () => {
    const frames = 3000; // about three times FIFO_CAPACITY (1024); at 20 kHz the FIFO holds 50 ms of events
    const rng = createRng(99);
    const raw = Int32Array.from({ length: frames * 16 }, () => Math.floor(rng.normal() * 3000));
    const r = startEmulator('auto', { source: { raw, rateHz: 20_000 } });
    const dev = openFpgaDevice(r.device, regmap());
    const lib = loadSimModel(simRef.path);
    try {
      for (let k = 0; k < 5; k++) dev.setThreshold(k, -32768); // every frame fires
      dev.setMode(1);
      // 7 records a call: drains straddle the wrap boundary (1024 is not a multiple of 7).
      const out = new Float64Array(7 * FPGA_EVENT_FIELDS);
      const seen: number[][] = [];
      const deadline = Date.now() + 20_000;
      while (seen.length < frames && Date.now() < deadline) {
        const n = dev.drainEvents(out);
        for (let i = 0; i < n; i++) seen.push(Array.from(out.subarray(i * FPGA_EVENT_FIELDS, (i + 1) * FPGA_EVENT_FIELDS)));
      }
      expect(dev.stats().fifoOverflows).toBe(0);
      expect(seen.map((e) => e[0])).toEqual(Array.from({ length: frames }, (_, i) => i));
      const y = new Int32Array(5);
      for (const [seq, cls, scoreRaw, score, start, done] of seen) {
        lib.predictRaw(raw.subarray(seq! * 16, seq! * 16 + 16), y);
        const max = Math.max(...y);
        expect(y.indexOf(max)).toBe(cls);
        expect(scoreRaw).toBe(max);
        expect(score).toBe(max / 1024);
        expect(done).toBeGreaterThan(start!);
      }
      expect(dev.drainEvents(out)).toBe(0);
    } finally {
      dev.close();
      lib.close();
      r.emu.stop();
    }
  });
});

describe('fpga backend against the emulator: faults at open and in the FIFO', () => {
  it('an emulator serving another model hash, or no HTFW magic, is refused at open', () => {
    for (const [kind, reason, text] of [
      ['wrong-hash', 'mismatch', /MODEL_HASH differs: the device runs [0-9a-f]{64}, the model is 0f9e0ce651a9af27/],
      ['wrong-magic', 'magic', /MAGIC is 0x[0-9a-f]{8}, a hairtrigger firmware has 0x48544657/],
    ] as const) {
      const r = startEmulator(kind, { fault: { kind } });
      try {
        const e = deviceError(() => loadFpgaBackend(ref(r.device)));
        expect(e.reason).toBe(reason);
        expect(e.message).toMatch(text);
      } finally {
        r.emu.stop();
      }
    }
  });

  it('a FIFO that fills: the device counts the dropped events, the host drains each kept record once', () => {
    const frames = 200;
    const raw = Int32Array.from({ length: frames * 16 }, (_, i) => (i * 7919) % 20000 - 10000);
    const r = startEmulator('overflow', { source: { raw }, fault: { kind: 'fifo-overflow' } });
    const dev = openFpgaDevice(r.device, regmap());
    try {
      for (let k = 0; k < 5; k++) dev.setThreshold(k, -32768);
      dev.setMode(1);
      const out = new Float64Array(64 * FPGA_EVENT_FIELDS);
      const seqs: number[] = [];
      const deadline = Date.now() + 10_000;
      // Drain only once the replay is over: the 4-record FIFO keeps the first 4 events.
      while (dev.stats().fifoOverflows + dev.stats().fifoPending < frames && Date.now() < deadline);
      const n = dev.drainEvents(out);
      for (let i = 0; i < n; i++) seqs.push(out[i * FPGA_EVENT_FIELDS]!);
      expect(seqs).toEqual([0, 1, 2, 3]);
      expect(dev.stats()).toMatchObject({ fifoOverflows: frames - 4, fifoPending: 0 });
      expect(dev.drainEvents(out)).toBe(0);
    } finally {
      dev.close();
      r.emu.stop();
    }
  });
});

describe('fpga backend on an AP_WRAP firmware (ap_fixed<16,6> throughout): float inputs wrap as the bridge wraps them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ht-fpga-wrap-'));
  let map: Regmap;
  let lib = '';
  beforeAll(async () => {
    const r = await compileModel({ model: JET_ONNX, out: join(dir, 'jets_wrap'), name: 'jets_wrap', precision: 'ap_fixed<16,6>',
      strategy: 'latency', reuse: 1, clockMhz: 200, check: 0, seed: 1, lib: true });
    lib = r.library!;
    map = JSON.parse(readFileSync(join(r.dir, 'regmap.json'), 'utf8')) as Regmap;
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is bit-exact with the sim backend on inputs far outside the range', async () => {
    expect((map as unknown as { inTypeText: string }).inTypeText).toBe('ap_fixed<16,6>');
    const device = `/dev/shm/ht-fpga-test-${process.pid}-emu-wrap`;
    emulatorFiles.push(device);
    const emu = createEmulator({ devicePath: device, libraryPath: lib, regmap: map });
    emu.start();
    try {
      const b = loadFpgaBackend({ path: join(dir, 'jets_wrap', 'regmap.json'), device, inputShape: [16], classes: 5 });
      const sim = loadSimBackend({ path: lib, inputShape: [16], classes: 5 });
      const y = new Float32Array(5), want = new Float32Array(5);
      const rng = createRng(17);
      const xs = [...jetInputs(50, 4), ...Array.from({ length: 150 }, () => Float32Array.from({ length: 16 }, () => rng.normal() * 3000))];
      xs.push(Float32Array.from({ length: 16 }, (_, k) => [NaN, Infinity, -Infinity, 3.4e38][k % 4]!));
      let wrapped = 0;
      for (const x of xs) {
        b.predict(x, y);
        sim.predict(x, want);
        expect(Array.from(y)).toEqual(Array.from(want));
        // Inputs beyond [-32, 32) wrap: most of these frames exercise the wrap.
        if (x.some((v) => !(Math.abs(v) < 32))) wrapped++;
      }
      expect(wrapped).toBeGreaterThan(100);
      await b.close();
      await sim.close();
    } finally {
      emu.stop();
    }
  });
});

describe('the driver writes the register window one 32-bit store at a time (AXI-Lite takes nothing wider)', () => {
  it('fpga_driver.cc has no memcpy, memmove or memset: block copies may issue wider stores into the mapped window', () => {
    const src = readFileSync(join(REPO, 'host/native/src/fpga_driver.cc'), 'utf8').replace(/\/\/.*$/gm, '');
    expect(src.match(/\b(?:std::)?(?:memcpy|memmove|memset|copy_n|copy)\s*\(/g)).toBeNull();
    // Every store into the window is window_store's: one 32-bit store through a volatile
    // uint32_t pointer, which the compiler may not merge (no non-temporal movnti: the device's
    // read then came from DRAM, bench/window-store.cc); the fence orders them before the doorbell.
    expect(src).toMatch(/inline void window_store\(uint32_t\* dst, uint32_t word\) \{\s*\*static_cast<volatile uint32_t\*>\(dst\) = word;\s*\}/);
    expect(src).not.toMatch(/_mm_stream/);
    for (const fn of ['store_window', 'store_bytes_window']) {
      const body = src.slice(src.indexOf(`void ${fn}(`), src.indexOf('\n}\n', src.indexOf(`void ${fn}(`)));
      expect(body).toMatch(/window_store\(dst \+/);
      expect(body).not.toMatch(/\bd\[|\*dst\s*=/);
    }
    expect(src).toMatch(/window_fence\(\);\s*const uint64_t t0 = now_ns\(\);\s*store_release\(word\(kCtrl\), kCtrlApStart\);/);
  });
});
