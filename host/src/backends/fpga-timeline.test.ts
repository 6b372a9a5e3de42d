// The diagnostic timelines behind the bench's host-overhead breakdown (bench/host-overhead.ts):
// the driver's (doorbell and done-seen stamps per job, NativeFpgaDevice.bindTimeline) and the
// emulator's (start seen, kernel run, ap_done per host job, NativeEmulator.timeline), on the
// generated device top of hls4ml's jet tagger. Checked against causality, which holds however
// the two threads are scheduled: the device sees a start only after the host's doorbell stamp,
// holds ap_done for at least the modelled latency, and the host sees DONE_COUNT move only after
// the device stamped it; and against the register traffic itself (each record's SEQ_LO is the
// seq the driver ran). The native clock and process.hrtime are one clock (CLOCK_MONOTONIC).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIRMWARE_DIR } from '../daemon.js';
import { createEmulator, EMULATOR_TIMELINE_FIELDS, FPGA_TIMELINE_FIELDS, monotonicOriginNs, nativeAddon, openFpgaDevice, type EmulatorRegisterMap, type FpgaRegisterMap, type NativeEmulator } from '../native/addon.js';
import { REPO } from './sim.fixture.js';

type Map = EmulatorRegisterMap & FpgaRegisterMap & { name: string };
const PROJECT = join(REPO, FIRMWARE_DIR, 'jets_hls4ml_student');
const map = JSON.parse(readFileSync(join(PROJECT, 'regmap.json'), 'utf8')) as Map;

describe('diagnostic job timelines (driver and emulator)', () => {
  const emulators: NativeEmulator[] = [];
  afterAll(() => {
    for (const e of emulators) e.stop();
  });
  const start = (tag: string, timelineJobs?: number): { devicePath: string; emu: NativeEmulator } => {
    const devicePath = `/dev/shm/ht-fpga-timeline-${tag}-${process.pid}`;
    const emu = createEmulator({ devicePath, libraryPath: join(PROJECT, `lib${map.name}.so`), regmap: map, unlinkOnStop: true, ...(timelineJobs === undefined ? {} : { timelineJobs }) });
    emulators.push(emu);
    emu.start();
    return { devicePath, emu };
  };

  it('the native clock plus its origin is process.hrtime\'s clock', () => {
    const a = nativeAddon()!;
    const origin = monotonicOriginNs()!;
    expect(origin).toBeGreaterThan(0);
    for (let i = 0; i < 1000; i++) {
      const before = a.nowNs() + origin;
      const h = Number(process.hrtime.bigint());
      const after = a.nowNs() + origin;
      // Doubles near 1e13-1e16 ns keep the nanosecond; allow it for the conversions.
      expect(h).toBeGreaterThanOrEqual(before - 1);
      expect(h).toBeLessThanOrEqual(after + 1);
    }
  });

  it('pairs every job: seq, doorbell <= seen <= ran <= done <= done seen, and a hold of at least the modelled latency', () => {
    const { devicePath, emu } = start('pairs', 256);
    const dev = openFpgaDevice(devicePath, map, { spinsMax: 2 ** 30 });
    const jobs = 200, ringJobs = 64;
    const ring = new Float64Array(ringJobs * FPGA_TIMELINE_FIELDS);
    const x = new Int32Array(map.nIn), y = new Int32Array(map.nOut);
    dev.predictRaw(x, y, 7); // before the bind: not recorded
    const device0 = emu.stats().jobs;
    dev.bindTimeline(ring);
    const seqs: number[] = [];
    for (let i = 0; i < jobs; i++) {
      const seq = 1000 + 3 * i;
      seqs.push(seq);
      x[i % map.nIn] = i;
      dev.predictRaw(x, y, seq);
    }
    dev.bindTimeline(null);
    dev.predictRaw(x, y, 99); // after the unbind: not recorded
    const device = new Float64Array(jobs * EMULATOR_TIMELINE_FIELDS);
    expect(emu.timeline(device, device0)).toBe(jobs); // as many as fit: the unbound last job is the 201st
    const holdNs = (map.latencyCycles * 1e6) / map.clockKhz;
    // The ring holds the last 64 of the 200 jobs bound (job 1 + i at slot (1 + i) % 64: the
    // driver counts the unrecorded first job too).
    for (let i = jobs - ringJobs; i < jobs; i++) {
      const r = ((1 + i) % ringJobs) * FPGA_TIMELINE_FIELDS;
      const e = i * EMULATOR_TIMELINE_FIELDS;
      const [seq, doorbell, doneSeen] = [ring[r]!, ring[r + 1]!, ring[r + 2]!];
      const [job, seqLo, seen, ran, done] = [device[e]!, device[e + 1]!, device[e + 2]!, device[e + 3]!, device[e + 4]!];
      expect(seq).toBe(seqs[i]);
      expect(seqLo).toBe(seqs[i]);
      expect(job).toBe(device0 + i);
      expect(seen).toBeGreaterThanOrEqual(doorbell);
      expect(ran).toBeGreaterThanOrEqual(seen);
      expect(done).toBeGreaterThanOrEqual(ran);
      expect(done - seen).toBeGreaterThanOrEqual(Math.floor(holdNs));
      expect(doneSeen).toBeGreaterThanOrEqual(done);
    }
    expect(device[jobs * EMULATOR_TIMELINE_FIELDS - 4]).toBe(seqs[jobs - 1]);
    dev.close();
  });

  it('answers 0 for jobs it no longer holds, not yet run, or without timelineJobs; refuses bad arguments', () => {
    const { devicePath, emu } = start('ring', 8);
    const dev = openFpgaDevice(devicePath, map, { spinsMax: 2 ** 30 });
    const x = new Int32Array(map.nIn), y = new Int32Array(map.nOut);
    for (let i = 0; i < 20; i++) dev.predictRaw(x, y, i);
    const out = new Float64Array(100 * EMULATOR_TIMELINE_FIELDS);
    expect(emu.timeline(out, 0)).toBe(0); // overwritten
    expect(emu.timeline(out, 12)).toBe(8);
    expect(out.subarray(0, 5 * 8).filter((_, k) => k % 5 === 1)).toEqual(Float64Array.from({ length: 8 }, (_, i) => 12 + i));
    expect(emu.timeline(out, 20)).toBe(0);
    expect(emu.timeline(new Float64Array(3 * EMULATOR_TIMELINE_FIELDS), 12)).toBe(3);
    expect(() => emu.timeline(new Float32Array(5) as unknown as Float64Array, 0)).toThrow(TypeError);
    expect(() => dev.bindTimeline(new Float64Array(2))).toThrow(RangeError);
    expect(() => dev.bindTimeline(new Int32Array(3) as unknown as Float64Array)).toThrow(TypeError);
    dev.close();
    const plain = start('none');
    const dev2 = openFpgaDevice(plain.devicePath, map, { spinsMax: 2 ** 30 });
    dev2.predictRaw(x, y, 1);
    expect(plain.emu.timeline(out, 0)).toBe(0);
    dev2.close();
    expect(() => createEmulator({ devicePath: `/dev/shm/ht-fpga-timeline-big-${process.pid}`, libraryPath: join(PROJECT, `lib${map.name}.so`), regmap: map, timelineJobs: 2 ** 25 })).toThrow(RangeError);
  });
});
