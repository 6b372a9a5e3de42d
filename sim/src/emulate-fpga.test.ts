import { closeSync, existsSync, fstatSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REG, CTRL, outCheck, packWords, unpackWords } from '../../hls/compiler/regmap.js';
import { readModelCard } from '../../host/src/model/card.js';
import { createEmulator, loadSimModel, type EmulatorOptions, type NativeEmulator, type NativeSimModel } from '../../host/src/native/addon.js';
import { captureToRaw, findCard, parseFault, rawConverter, readFirmwareMap, startEmulator, type FirmwareMap } from './emulate-fpga.js';
import { createRng } from '../../host/src/core/rng.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const FW = join(ROOT, 'hls', 'build', 'jets_hls4ml_student');
const LIB = join(FW, 'libjets_hls4ml_student.so');
const CAPTURE = join(ROOT, 'sim', 'recordings', 'jets-hls4ml-10k.arrows');
const ZOO = join(ROOT, 'models', 'zoo');
const SEED = 20261127;
if (!existsSync(LIB)) throw new Error(`${LIB} is missing: run \`make firmware\` (make test does) before these tests`);

/** Register access through read()/write() on the region file: coherent with the emulator's mmap. */
class ShmRegisters {
  private readonly fd: number;
  private readonly word = Buffer.alloc(4);
  constructor(readonly path: string) {
    this.fd = openSync(path, 'r+');
  }
  size(): number {
    return fstatSync(this.fd).size;
  }
  read(offset: number): number {
    readSync(this.fd, this.word, 0, 4, offset);
    return this.word.readUInt32LE(0);
  }
  write(offset: number, value: number): void {
    this.word.writeUInt32LE(value >>> 0, 0);
    writeSync(this.fd, this.word, 0, 4, offset);
  }
  readWords(offset: number, out: Int32Array): void {
    readSync(this.fd, new Uint8Array(out.buffer, out.byteOffset, out.byteLength), 0, out.byteLength, offset);
  }
  writeWords(offset: number, words: Int32Array): void {
    writeSync(this.fd, new Uint8Array(words.buffer, words.byteOffset, words.byteLength), 0, words.byteLength, offset);
  }
  /** Raw values into a window packed `pack` a word (docs/fpga-protocol.md, "Packing"). */
  writeValues(offset: number, values: Int32Array, pack: number): void {
    this.writeWords(offset, packWords(values, pack));
  }
  /** A packed window back to out.length raw values. */
  readValues(offset: number, out: Int32Array, pack: number): void {
    const words = new Int32Array(Math.ceil(out.length / pack));
    this.readWords(offset, words);
    out.set(unpackWords(words, pack, out.length));
  }
  close(): void {
    closeSync(this.fd);
  }
}

const map: FirmwareMap = readFirmwareMap(FW);
const running: { emu: NativeEmulator; regs: ShmRegisters }[] = [];
let sim: NativeSimModel | null = null;

function device(): string {
  return `/dev/shm/ht-test-${randomBytes(6).toString('hex')}`;
}

function emulate(extra: Partial<EmulatorOptions> = {}, start = true): { emu: NativeEmulator; regs: ShmRegisters; path: string } {
  const path = device();
  const emu = createEmulator({ devicePath: path, libraryPath: LIB, regmap: map, ...extra });
  const regs = new ShmRegisters(path);
  running.push({ emu, regs });
  if (start) emu.start();
  return { emu, regs, path };
}

function simModel(): NativeSimModel {
  sim ??= loadSimModel(LIB);
  return sim;
}

afterEach(() => {
  for (const r of running.splice(0)) {
    r.regs.close();
    r.emu.stop();
  }
});

/** One host-in-the-loop job (docs/fpga-protocol.md): false when DONE_COUNT did not move within timeoutMs. */
function job(regs: ShmRegisters, x: Int32Array, y: Int32Array, timeoutMs = 1000): boolean {
  const d = regs.read(REG.DONE_COUNT);
  regs.writeValues(map.inOffset, x, map.inPack);
  regs.write(REG.CTRL, CTRL.AP_START);
  const deadline = performance.now() + timeoutMs;
  while (regs.read(REG.DONE_COUNT) === d) {
    if (performance.now() > deadline) return false;
  }
  regs.readValues(map.outOffset, y, map.outPack);
  return true;
}

/** OUT_CHECK of a job whose outputs are `values`: over the packed words the window holds. */
function busCheck(seqLo: number, done: number, values: Int32Array): number {
  return outCheck(seqLo, done, packWords(values, map.outPack));
}

function randomInputs(n: number, seed: number): Int32Array[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, j) => Int32Array.from({ length: map.nIn }, (_, i) => {
    if (j === 0) return i % 2 === 0 ? -32768 : 32767; // the type's ends
    return (rng.uint32() & 0xffff) - 32768;
  }));
}

function expected(x: Int32Array): Int32Array {
  const y = new Int32Array(map.nOut);
  simModel().predictRaw(x, y);
  return y;
}

function drain(regs: ShmRegisters, into: Int32Array[]): number {
  const head = regs.read(REG.FIFO_HEAD);
  let tail = regs.read(REG.FIFO_TAIL);
  while (tail !== head) {
    const rec = new Int32Array(8);
    regs.readWords(map.fifoOffset + 32 * (tail % map.fifoCapacity), rec);
    into.push(rec);
    tail = (tail + 1) >>> 0;
  }
  regs.write(REG.FIFO_TAIL, tail);
  return head;
}

describe(`FPGA device emulator (jets_hls4ml_student, seed ${SEED})`, () => {
  it('writes the identification block of regmap.json and sizes the region', () => {
    const { regs } = emulate();
    expect(regs.size()).toBe(map.regionBytes);
    const id = [
      [REG.MAGIC, map.magic], [REG.LAYOUT, map.layout], [REG.N_IN, map.nIn], [REG.N_OUT, map.nOut], [REG.IN_TYPE, map.inType],
      [REG.OUT_TYPE, map.outType], [REG.CLOCK_KHZ, map.clockKhz], [REG.LATENCY_CYCLES, map.latencyCycles], [REG.II, map.ii],
      [REG.FIFO_CAPACITY, map.fifoCapacity], [REG.IN_OFFSET, map.inOffset], [REG.OUT_OFFSET, map.outOffset],
      [REG.THRESH_OFFSET, map.threshOffset], [REG.FIFO_OFFSET, map.fifoOffset], [REG.REGION_BYTES, map.regionBytes],
      [REG.IN_PACK, 2], [REG.OUT_PACK, 2], // ap_fixed<16,6> in and out: two values a word
      ...map.modelHashWords.map((w, k) => [REG.MODEL_HASH + 4 * k, w]),
    ];
    for (const [off, want] of id) expect(regs.read(off!), `register 0x${off!.toString(16)}`).toBe(want);
    expect(regs.read(REG.CTRL) & CTRL.AP_IDLE).toBe(CTRL.AP_IDLE);
  });

  it('answers host-in-the-loop jobs bit-exactly with the sim library, DONE_COUNT once per job', () => {
    const { regs, emu } = emulate();
    const y = new Int32Array(map.nOut);
    const roundTripUs: number[] = [];
    for (const [j, x] of randomInputs(100, SEED).entries()) {
      const before = regs.read(REG.DONE_COUNT);
      regs.write(REG.SEQ_LO, 0x80000000 + 7 * j); // high bit: the check takes SEQ_LO as a 32-bit word
      const t0 = performance.now();
      expect(job(regs, x, y)).toBe(true);
      roundTripUs.push((performance.now() - t0) * 1000);
      expect([...y], `input ${j}`).toEqual([...expected(x)]);
      expect(regs.read(REG.DONE_COUNT)).toBe(before + 1);
      expect(regs.read(REG.OUT_CHECK), `OUT_CHECK of input ${j}`).toBe(busCheck(0x80000000 + 7 * j, before + 1, y));
      const ctrl = regs.read(REG.CTRL);
      expect(ctrl & (CTRL.AP_START | CTRL.AP_DONE | CTRL.AP_IDLE | CTRL.AP_READY)).toBe(CTRL.AP_DONE | CTRL.AP_IDLE | CTRL.AP_READY);
    }
    expect(regs.read(REG.DONE_COUNT)).toBe(100);
    expect(emu.stats()).toMatchObject({ jobs: 100, faults: 0 });
    roundTripUs.sort((a, b) => a - b);
    console.log(`host-in-the-loop round trip through pread/pwrite (JS): median ${roundTripUs[50]!.toFixed(1)} us`);
  });

  it('reads the input window as little-endian int16 pairs and writes the outputs so (IN_PACK = OUT_PACK = 2)', () => {
    const { regs } = emulate();
    for (const [j, x] of randomInputs(20, SEED + 5).entries()) {
      // The window's bytes written as an int16 array would be, independently of packWords.
      const bytes = Buffer.alloc(4 * map.inWords);
      x.forEach((v, i) => bytes.writeInt16LE(v, 2 * i));
      const d = regs.read(REG.DONE_COUNT);
      regs.writeWords(map.inOffset, new Int32Array(bytes.buffer, bytes.byteOffset, map.inWords));
      regs.write(REG.CTRL, CTRL.AP_START);
      const deadline = performance.now() + 5000;
      while (regs.read(REG.DONE_COUNT) === d && performance.now() < deadline);
      const words = new Int32Array(map.outWords);
      regs.readWords(map.outOffset, words);
      const out = Buffer.from(words.buffer);
      expect(Array.from({ length: map.nOut }, (_, k) => out.readInt16LE(2 * k)), `input ${j}`).toEqual([...expected(x)]);
    }
  });

  it('autonomous hold-off: with HOLDOFF_CYCLES = 2^32 - 1 only the first qualifying frame fires; trigger_out carries one word per event', () => {
    const n = 200;
    const raw = new Int32Array(n * map.nIn);
    for (let f = 0; f < n; f++) raw.set(randomInputs(2, SEED + 20 + (f % 5))[1]!, f * map.nIn);
    for (const holdoff of [0, 0xffffffff]) {
      const { regs, emu } = emulate({ source: { raw } });
      regs.writeWords(map.threshOffset, new Int32Array(map.nOut).fill(-32768)); // every frame qualifies
      regs.write(REG.HOLDOFF_CYCLES, holdoff);
      regs.write(REG.MODE, 1);
      const deadline = performance.now() + 5000;
      while (regs.read(REG.DONE_COUNT) < n && performance.now() < deadline);
      const got: Int32Array[] = [];
      drain(regs, got);
      expect(got.map((r) => r[0]), `hold-off ${holdoff}`).toEqual(holdoff === 0 ? [...Array(n).keys()] : [0]);
      expect(emu.stats()).toMatchObject({ frames: n, events: got.length, triggers: got.length });
    }
  });

  it('holds ap_done back for the modelled latency (35 cycles at 0.01 MHz = 3.5 ms), counted on its own cycle counter', async () => {
    // Only lower bounds: a loaded machine can deschedule the emulator for any time, which makes
    // ap_done later and the cycle counter staler, never earlier.
    const t00 = performance.now();
    const { regs } = emulate({ clockMhz: 0.01 });
    expect(regs.read(REG.CLOCK_KHZ)).toBe(10);
    const latencyMs = (map.latencyCycles / 0.01) / 1000;
    const x = randomInputs(3, SEED + 1)[2]!;
    const y = new Int32Array(map.nOut);
    regs.writeValues(map.inOffset, x, map.inPack);
    const cycleBefore = regs.read(REG.CYCLE_LO);
    const t0 = performance.now();
    regs.write(REG.CTRL, CTRL.AP_START);
    while ((regs.read(REG.CTRL) & CTRL.AP_DONE) === 0) {
      if (performance.now() - t0 > 30_000) throw new Error('no ap_done within 30 s');
    }
    const doneAt = performance.now() - t0;
    // The counter was stored with the outputs, before ap_done: at least the latency past the
    // last value the host saw before the start.
    const cycleAtDone = regs.read(REG.CYCLE_LO);
    expect(doneAt).toBeGreaterThanOrEqual(latencyMs);
    expect(cycleAtDone - cycleBefore).toBeGreaterThanOrEqual(map.latencyCycles);
    regs.readValues(map.outOffset, y, map.outPack);
    expect([...y]).toEqual([...expected(x)]);
    // The counter runs at the clock: never faster than 10 cycles a millisecond of wall time
    // since the emulator started (after t00).
    await new Promise((done) => setTimeout(done, 50));
    const c1 = regs.read(REG.CYCLE_LO);
    expect(c1).toBeGreaterThan(cycleAtDone);
    expect(c1).toBeLessThanOrEqual(Math.ceil((performance.now() - t00) * 10) + 1);
  });

  it('pins its device thread to the CPU asked for (cpu), and refuses one it cannot pin to', () => {
    // The kernel's own view: /proc/self/task/<tid>/status names each thread's allowed CPUs.
    const pinnedTo0 = (): number => readdirSync('/proc/self/task').filter((tid) => {
      try {
        return /^Cpus_allowed_list:\s*0\s*$/m.test(readFileSync(`/proc/self/task/${tid}/status`, 'utf8'));
      } catch {
        return false; // a thread that ended meanwhile
      }
    }).length;
    const before = pinnedTo0();
    const { emu, regs } = emulate({ cpu: 0 });
    expect(pinnedTo0()).toBe(before + 1);
    // It still serves: a job completes.
    regs.write(REG.CTRL, CTRL.AP_START);
    const t0 = Date.now();
    while ((regs.read(REG.CTRL) & CTRL.AP_DONE) === 0) if (Date.now() - t0 > 30_000) throw new Error('no ap_done within 30 s');
    emu.stop();
    expect(() => createEmulator({ devicePath: device(), libraryPath: LIB, regmap: map, cpu: -1 })).toThrow(RangeError);
    expect(() => createEmulator({ devicePath: device(), libraryPath: LIB, regmap: map, cpu: 1.5 })).toThrow(RangeError);
    // CPU 1000 fits a cpu_set_t but no machine here has it: start() says so.
    const far = emulate({ cpu: 1000 }, false);
    expect(() => far.emu.start()).toThrow(/cpu 1000: cannot pin the device thread/);
  });

  it('an idle device sleeps instead of spinning: after 0.2 ms without work, sleeps that double to 0.5 ms', async () => {
    const t0 = performance.now();
    const { emu } = emulate();
    await new Promise((done) => setTimeout(done, 100));
    const s1 = emu.stats(), t1 = performance.now();
    await new Promise((done) => setTimeout(done, 1000));
    const s2 = emu.stats(), t2 = performance.now();
    // Each sleep lasts at least what it asks for: 20, 40, 80, 160, 320 us, then 500 us each, so
    // there are at most elapsed / 0.5 ms + 5 of them (load only makes them longer, so fewer).
    // The former back-off (50 us sleeps for the first 100 ms) made ~2,000 in that time alone.
    expect(s2.sleeps).toBeLessThanOrEqual(Math.ceil((t2 - t0) / 0.5) + 5);
    // Past the spin phase every loop turn is a sleep: no spinning while idle.
    expect(s2.turns - s1.turns).toBeLessThanOrEqual(s2.sleeps - s1.sleeps + 2);
    expect(s2.sleeps - s1.sleeps).toBeGreaterThan(0);
    expect(s2.jobs).toBe(0);
  });

  it('converts floats to raw inputs as the bridge does (predict f32 == predictRaw of the converted input)', () => {
    const convert = rawConverter(map.inType);
    const rng = createRng(SEED + 2);
    const x = new Float32Array(map.nIn), xr = new Int32Array(map.nIn), yf = new Float32Array(map.nOut);
    for (let j = 0; j < 200; j++) {
      for (let i = 0; i < map.nIn; i++) x[i] = Math.fround((rng.uniform() - 0.5) * (j < 100 ? 8 : 2000)); // some saturate
      for (let i = 0; i < map.nIn; i++) xr[i] = convert(x[i]!);
      simModel().predict(x, yf);
      const yr = expected(xr);
      expect([...yf].map((v) => v * 2 ** 10), `input ${j}`).toEqual([...yr]);
    }
    const wrap = rawConverter((16 | (6 << 8) | (5 << 16) | (3 << 24)) >>> 0);
    expect(wrap(32)).toBe(-32768); // 32 * 2^10 = 2^15 wraps to the most negative value
    expect(wrap(-0.0001)).toBe(-1);
    expect(() => rawConverter((16 | (6 << 8) | (4 << 16)) >>> 0)).toThrow(/AP_TRN/);
  });

  it('autonomous: the FIFO holds exactly the frames whose arg-max logit clears its threshold', () => {
    const card = findCard(map.name, ZOO);
    expect(card?.task).toBe('jets-hls4ml');
    const { raw, seq } = captureToRaw(CAPTURE, card!, map);
    const n = 600;
    const frames = raw.subarray(0, n * map.nIn);
    // Offline: arg-max class and logit of each frame; thresholds at each class's median logit.
    const cls: number[] = [], score: number[] = [], byClass: number[][] = Array.from({ length: map.nOut }, () => []);
    for (let f = 0; f < n; f++) {
      const y = expected(frames.subarray(f * map.nIn, (f + 1) * map.nIn));
      let k = 0;
      for (let c = 1; c < map.nOut; c++) if (y[c]! > y[k]!) k = c;
      cls.push(k);
      score.push(y[k]!);
      byClass[k]!.push(y[k]!);
    }
    const thresh = Int32Array.from(byClass, (s) => (s.length === 0 ? 32767 : s.sort((a, b) => a - b)[s.length >> 1]!));
    const want = [...Array(n).keys()].filter((f) => thresh[cls[f]!] !== 32767 && score[f]! >= thresh[cls[f]!]!);
    expect(want.length).toBeGreaterThan(n / 4);
    expect(want.length).toBeLessThan(n);
    const { regs, emu } = emulate({ source: { raw: frames, seq: seq.subarray(0, n) } });
    regs.writeWords(map.threshOffset, thresh);
    regs.write(REG.MODE, 1);
    const deadline = performance.now() + 5000;
    while (regs.read(REG.DONE_COUNT) < n && performance.now() < deadline);
    const got: Int32Array[] = [];
    drain(regs, got);
    expect(got.map((r) => r[0])).toEqual(want.map((f) => seq[f]));
    expect(got.map((r) => r[2])).toEqual(want.map((f) => cls[f]));
    expect(got.map((r) => r[3])).toEqual(want.map((f) => score[f]));
    for (const r of got) expect(r[6]! - r[4]!).toBe(map.latencyCycles);
    // Autonomous frames publish OUT_CHECK too, over the frame's own sequence number.
    expect(regs.read(REG.OUT_CHECK)).toBe(busCheck(seq[n - 1]!, n, expected(frames.subarray((n - 1) * map.nIn, n * map.nIn))));
    expect(regs.read(REG.FIFO_OVERFLOWS)).toBe(0);
    expect(emu.stats()).toMatchObject({ frames: n, events: want.length, overflows: 0 });
  });

  it('autonomous: head and tail wrap around the FIFO with no record lost or read twice while the host drains', () => {
    const n = 3000; // ~3 times the capacity, paced at 10 kHz (300 ms): 100 ms of slack for the drain loop
    expect(n).toBeGreaterThan(2 * map.fifoCapacity);
    const raw = new Int32Array(n * map.nIn);
    for (let f = 0; f < n; f++) raw.set(randomInputs(2, SEED + 10 + (f % 7))[1]!, f * map.nIn);
    const { regs } = emulate({ source: { raw, rateHz: 10000 } });
    regs.writeWords(map.threshOffset, new Int32Array(map.nOut).fill(-32768)); // every frame fires
    regs.write(REG.MODE, 1);
    const got: Int32Array[] = [];
    const deadline = performance.now() + 5000;
    while (got.length < n && performance.now() < deadline) drain(regs, got);
    expect(regs.read(REG.FIFO_OVERFLOWS)).toBe(0);
    expect(got.map((r) => r[0])).toEqual([...Array(n).keys()]);
    expect(regs.read(REG.FIFO_HEAD)).toBe(n);
    expect(regs.read(REG.FIFO_TAIL)).toBe(n);
    for (let i = 1; i < n; i++) expect(got[i]![4]!).toBeGreaterThan(got[i - 1]![4]!); // start cycles advance
  });
});

describe('FPGA device emulator faults', () => {
  const x = randomInputs(12, SEED + 3);
  const y = new Int32Array(map.nOut);

  it('never-done takes the start and never completes', () => {
    const { regs, emu } = emulate({ fault: { kind: 'never-done' } });
    expect(job(regs, x[1]!, y, 100)).toBe(false);
    expect(regs.read(REG.DONE_COUNT)).toBe(0);
    expect(regs.read(REG.CTRL) & (CTRL.AP_START | CTRL.AP_IDLE | CTRL.AP_DONE)).toBe(0);
    expect(emu.stats().faults).toBe(1);
  });

  it('done-late delays every job by the given microseconds', () => {
    const { regs } = emulate({ fault: { kind: 'done-late', value: 3000 } });
    const t0 = performance.now();
    expect(job(regs, x[1]!, y)).toBe(true);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(3);
    expect([...y]).toEqual([...expected(x[1]!)]);
  });

  it('counts the jobs whose kernel, run on the CPU, ends after the modelled hold (ap_done late), and none under a long hold', () => {
    // The jet tagger is modelled at a few cycles (tens of ns at 200 MHz): no CPU runs the device
    // top and its 5-layer network that fast, so every job overruns; with 200 ms more hold, none does.
    expect(map.latencyCycles / (map.clockKhz / 1000)).toBeLessThan(0.1);
    const fast = emulate();
    for (let j = 1; j <= 5; j++) expect(job(fast.regs, x[j]!, y)).toBe(true);
    const s = fast.emu.stats();
    expect(s).toMatchObject({ jobs: 5, overruns: 5 });
    expect(s.overrunNs).toBeGreaterThan(0);
    const held = emulate({ fault: { kind: 'done-late', value: 200_000 } });
    for (let j = 1; j <= 3; j++) expect(job(held.regs, x[j]!, y, 5000)).toBe(true);
    expect(held.emu.stats()).toMatchObject({ jobs: 3, overruns: 0, overrunNs: 0 });
  });

  it('corrupt-output:3 corrupts exactly every third job after computing OUT_CHECK from the right outputs', () => {
    const { regs, emu } = emulate({ fault: { kind: 'corrupt-output', value: 3 } });
    for (let j = 1; j <= 9; j++) {
      regs.write(REG.SEQ_LO, 100 + j);
      expect(job(regs, x[j]!, y)).toBe(true);
      const want = expected(x[j]!);
      expect([...y], `job ${j}`).toEqual(j % 3 !== 0 ? [...want] : [...want].map((v) => v ^ 1));
      // The check is of what the kernel computed, so a host that recomputes it over what it read sees the difference.
      expect(regs.read(REG.OUT_CHECK), `job ${j}`).toBe(busCheck(100 + j, j, want));
      expect(busCheck(100 + j, j, y) === regs.read(REG.OUT_CHECK), `job ${j}`).toBe(j % 3 !== 0);
    }
    expect(emu.stats().faults).toBe(3);
  });

  it('late-once:50000@2 delays only the second job, by 50 ms, and its outputs and check are right', () => {
    const { regs, emu } = emulate({ fault: { kind: 'late-once', value: 50_000, at: 2 } });
    const ms: number[] = [];
    for (let j = 1; j <= 3; j++) {
      regs.write(REG.SEQ_LO, j);
      const t0 = performance.now();
      expect(job(regs, x[j]!, y)).toBe(true);
      ms.push(performance.now() - t0);
      expect([...y]).toEqual([...expected(x[j]!)]);
      expect(regs.read(REG.OUT_CHECK)).toBe(busCheck(j, j, y));
    }
    expect(ms[1]).toBeGreaterThanOrEqual(50);
    expect(ms[2]).toBeLessThan(40); // once: the job after it is on time
    expect(emu.stats()).toMatchObject({ jobs: 3, faults: 1 });
  });

  it('reset-after:2 resets on the third start: windows and counters zeroed, RESET_COUNT up, serving on', () => {
    const { regs, emu } = emulate({ fault: { kind: 'reset-after', value: 2 } });
    regs.writeWords(map.threshOffset, new Int32Array(map.nOut).fill(5));
    expect(job(regs, x[1]!, y)).toBe(true);
    expect(job(regs, x[2]!, y)).toBe(true);
    expect(regs.read(REG.DONE_COUNT)).toBe(2);
    expect(job(regs, x[3]!, y)).toBe(true); // DONE_COUNT moved: back to 0
    expect(regs.read(REG.RESET_COUNT)).toBe(1);
    expect(regs.read(REG.DONE_COUNT)).toBe(0);
    const win = new Int32Array(map.inWords);
    regs.readWords(map.inOffset, win);
    expect([...win]).toEqual(new Array(map.inWords).fill(0));
    regs.readValues(map.outOffset, y, map.outPack);
    expect([...y]).toEqual(new Array(map.nOut).fill(0));
    const th = new Int32Array(map.nOut);
    regs.readWords(map.threshOffset, th);
    expect([...th]).toEqual(new Array(map.nOut).fill(32767)); // power-up: never fires
    expect(job(regs, x[4]!, y)).toBe(true);
    expect([...y]).toEqual([...expected(x[4]!)]);
    expect(regs.read(REG.DONE_COUNT)).toBe(1);
    expect(emu.stats()).toMatchObject({ resets: 1, jobs: 3 });
  });

  it('wrong-magic and wrong-hash change the identification, nothing else', () => {
    const magic = emulate({ fault: { kind: 'wrong-magic' } }).regs;
    expect(magic.read(REG.MAGIC)).not.toBe(map.magic);
    expect(magic.read(REG.MODEL_HASH)).toBe(map.modelHashWords[0]);
    const hash = emulate({ fault: { kind: 'wrong-hash' } }).regs;
    expect(hash.read(REG.MAGIC)).toBe(map.magic);
    expect(map.modelHashWords.some((w, k) => hash.read(REG.MODEL_HASH + 4 * k) !== w)).toBe(true);
  });

  it('fifo-overflow: a tiny effective FIFO drops events and counts them', () => {
    const n = 50;
    const raw = new Int32Array(n * map.nIn);
    const { regs, emu } = emulate({ source: { raw }, fault: { kind: 'fifo-overflow' } });
    regs.writeWords(map.threshOffset, new Int32Array(map.nOut).fill(-32768));
    regs.write(REG.MODE, 1);
    const deadline = performance.now() + 2000;
    while (regs.read(REG.DONE_COUNT) < n && performance.now() < deadline);
    expect(regs.read(REG.FIFO_HEAD)).toBe(4);
    expect(regs.read(REG.FIFO_OVERFLOWS)).toBe(n - 4);
    expect(emu.stats().overflows).toBe(n - 4);
  });

  it('refuses a library that is not the map\'s model, and bad fault specs', () => {
    expect(() => createEmulator({ devicePath: device(), libraryPath: LIB, regmap: { ...map, modelSha256: '0'.repeat(64) } })).toThrow(/mismatch/);
    expect(() => createEmulator({ devicePath: device(), libraryPath: LIB, regmap: { ...map, nIn: map.nIn + 1 } })).toThrow(/mismatch|outside/);
    expect(parseFault('done-late:250')).toEqual({ kind: 'done-late', value: 250 });
    expect(parseFault('late-once:250@3')).toEqual({ kind: 'late-once', value: 250, at: 3 });
    expect(() => parseFault('late-once:250')).toThrow(/late-once needs :US@N/);
    expect(() => parseFault('late-once:250@0')).toThrow(/N >= 1/);
    expect(() => createEmulator({ devicePath: device(), libraryPath: LIB, regmap: map, fault: { kind: 'late-once', value: 250 } })).toThrow(/late-once needs the job/);
    expect(() => parseFault('corrupt-output')).toThrow(/needs :N/);
    expect(() => parseFault('explode')).toThrow(/allowed/);
  });

  it('refuses a layout 2 register map (no packing): recompile', () => {
    expect(map.layout).toBe(3);
    expect(() => createEmulator({ devicePath: device(), libraryPath: LIB, regmap: { ...map, layout: 2 } })).toThrow(/regmap layout 2, this emulator serves layout 3/);
    const dir = mkdtempSync(join(tmpdir(), 'ht-emu-layout1-'));
    try {
      writeFileSync(join(dir, 'regmap.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(FW, 'regmap.json'), 'utf8')), layout: 2 }));
      expect(() => readFirmwareMap(dir)).toThrow(/layout 2, this emulator serves layout 3 \(recompile: make firmware\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('startEmulator (the CLI path) replays a capture autonomously through the zoo card', () => {
    const path = device();
    const { emulator } = startEmulator({ model: FW, device: path, autonomous: true, replay: CAPTURE, zooDir: ZOO, card: join(ZOO, 'jets-hls4ml') });
    const regs = new ShmRegisters(path);
    running.push({ emu: emulator, regs });
    expect(regs.read(REG.MODE)).toBe(1);
    const deadline = performance.now() + 5000;
    while (emulator.stats().frames < 10000 && performance.now() < deadline);
    expect(emulator.stats().frames).toBe(10000);
    expect(readModelCard(join(ZOO, 'jets-hls4ml')).task).toBe('jets-hls4ml');
    emulator.stop();
    expect(existsSync(path)).toBe(false);
  });
});
