// The daemon on the fpga backend, talking to the device emulator through the register
// protocol: the same triggers as on the sim backend, frame for frame, and a device that resets
// mid-stream, corrupts outputs on the way (caught by OUT_CHECK) or completes one job late costs
// exactly the frames whose jobs failed (counted as E_DEVICE); the daemon goes on and the
// frames after are right again.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { firmwareLib } from '../../host/src/backends/sim.fixture.js';
import { ConfigError } from '../../host/src/core/errors.js';
import { createDaemon } from '../../host/src/daemon.js';
import { createEmulator, systemClock, type EmulatorOptions, type NativeEmulator } from '../../host/src/native/addon.js';
import { realTimers } from '../../host/src/sources/source.js';
import { readJsonlLog, replayConfig, REPO, runToEnd, tempDir, ZOO } from '../support/fixtures.js';

const JET = 'jets_hls4ml_student';
const CAPTURE = join(REPO, 'sim/recordings/jets-hls4ml-10k.arrows');
const TRIGGER = { targets: ['t'], threshold: 0.5, maxRatePerS: 1e7, burst: 1_000_000 };

// A spin budget of seconds for the runs that test other faults: on a loaded 2-core machine
// the emulator's thread can be descheduled past the default and a stray timeout would drop a
// frame. The late-job run keeps the default: its timeout is what it tests.
const SPINS_UNDER_LOAD = 2 ** 30;

describe('replay on the fpga backend (device emulator)', () => {
  const dir = tempDir('replay-fpga');
  const devices: string[] = [];
  const emus: NativeEmulator[] = [];
  afterAll(() => {
    for (const e of emus) e.stop();
    expect(devices.filter((d) => existsSync(d))).toEqual([]);
  });
  const emulate = (name: string, fault?: EmulatorOptions['fault']): string => {
    const device = `/dev/shm/ht-replay-fpga-${process.pid}-${name}`;
    devices.push(device);
    const regmap = JSON.parse(readFileSync(join(REPO, 'hls/build', JET, 'regmap.json'), 'utf8'));
    const emu = createEmulator({ devicePath: device, libraryPath: firmwareLib(JET), regmap, ...(fault ? { fault } : {}) });
    emus.push(emu);
    emu.start();
    return device;
  };
  const triggered = (path: string) => readJsonlLog<{ seq: number }>(path).map((e) => e.seq);

  it('fires the sim backend\'s triggers; a device reset every 1000 jobs drops only the lost frames, counted as E_DEVICE', async () => {
    const model = join(ZOO, 'jets-hls4ml');
    const simLog = join(dir, 'sim.jsonl');
    await runToEnd(replayConfig(model, CAPTURE, { backend: 'sim', sinks: { jsonl: simLog }, trigger: TRIGGER }));
    const want = triggered(simLog);
    expect(want.length).toBeGreaterThan(100);

    const cleanLog = join(dir, 'fpga.jsonl');
    const clean = await runToEnd(replayConfig(model, CAPTURE, { backend: 'fpga', device: emulate('clean'), fpga: { spinsMax: SPINS_UNDER_LOAD }, sinks: { jsonl: cleanLog }, trigger: TRIGGER }));
    expect(clean.metrics.snapshot()).toMatchObject({ backend: 'fpga', frames: 10_000, dropped: 0 });
    expect(triggered(cleanLog)).toEqual(want);

    const faultyLog = join(dir, 'fpga-reset.jsonl');
    const faulty = await runToEnd(replayConfig(model, CAPTURE, { backend: 'fpga', device: emulate('reset', { kind: 'reset-after', value: 1000 }), fpga: { spinsMax: SPINS_UNDER_LOAD }, sinks: { jsonl: faultyLog }, trigger: TRIGGER }));
    const snap = faulty.metrics.snapshot();
    const lost = Math.floor(10_000 / 1001); // the 1001st job after each reset resets the device instead
    expect(snap).toMatchObject({ frames: 10_000 - lost, dropped: lost, errorsByCode: { E_DEVICE: lost } });
    const lostSeqs = faulty.errors.recent().map((e) => Number(/frame seq (\d+)/.exec(e.message)?.[1]));
    expect(lostSeqs).toHaveLength(lost);
    expect(faulty.errors.recent()[0]!.message).toMatch(/E_DEVICE.*\(reset\).*(the device reset during job seq 1000 \(RESET_COUNT 0 -> 1\)|DONE_COUNT went from 1000 to 0 during job seq 1000)/);
    expect(triggered(faultyLog)).toEqual(want.filter((s) => !lostSeqs.includes(s)));
  }, 120_000);

  const model = join(ZOO, 'jets-hls4ml');
  let simTriggers: number[] | null = null;
  const wantTriggers = async (): Promise<number[]> => {
    if (simTriggers === null) {
      const simLog = join(dir, 'sim-2.jsonl');
      await runToEnd(replayConfig(model, CAPTURE, { backend: 'sim', sinks: { jsonl: simLog }, trigger: TRIGGER }));
      simTriggers = triggered(simLog);
    }
    return simTriggers;
  };

  it('corrupt-output every 97 jobs: exactly those frames are dropped (E_DEVICE, corrupt by OUT_CHECK), the rest fire as on sim', async () => {
    const want = await wantTriggers();
    const log = join(dir, 'fpga-corrupt.jsonl');
    const d = await runToEnd(replayConfig(model, CAPTURE, { backend: 'fpga', device: emulate('corrupt', { kind: 'corrupt-output', value: 97 }), fpga: { spinsMax: SPINS_UNDER_LOAD }, sinks: { jsonl: log }, trigger: TRIGGER }));
    const lost = Math.floor(10_000 / 97);
    expect(d.metrics.snapshot()).toMatchObject({ frames: 10_000 - lost, dropped: lost, errorsByCode: { E_DEVICE: lost } });
    const errors = d.errors.recent();
    for (const e of errors) expect(e.message).toMatch(/E_DEVICE.*\(corrupt\).*OUT_CHECK is 0x[0-9a-f]{8}, the outputs read give/);
    const lostSeqs = errors.map((e) => Number(/frame seq (\d+)/.exec(e.message)?.[1]));
    // Job k * 97 (from 1) is frame k * 97 - 1 of the capture (frame seq = index).
    expect(lostSeqs).toEqual(Array.from({ length: lost }, (_, k) => 97 * (k + 1) - 1));
    // Some corrupted frames were triggers on sim, so the comparison below sees the drops.
    expect(want.filter((s) => lostSeqs.includes(s)).length).toBeGreaterThan(0);
    expect(triggered(log)).toEqual(want.filter((s) => !lostSeqs.includes(s)));
  }, 120_000);

  it('one job 400 ms late: the frames that timed out are dropped (E_DEVICE), the daemon goes on and the frames after fire as on sim', async () => {
    const want = await wantTriggers();
    const log = join(dir, 'fpga-late.jsonl');
    // Job 5000 (frame seq 4999) is late by 400 ms, far beyond the driver's spin budget
    // (limits.pollSpinsMax, a few tens of ms): it times out, and the frames that follow time
    // out too ("not started") until the late job completes; the rest are served normally.
    const d = await runToEnd(replayConfig(model, CAPTURE, { backend: 'fpga', device: emulate('late', { kind: 'late-once', value: 400_000, at: 5000 }), sinks: { jsonl: log }, trigger: TRIGGER }));
    const errors = d.errors.recent();
    const lost = errors.length;
    expect(lost).toBeGreaterThanOrEqual(1);
    expect(lost).toBeLessThan(200);
    expect(d.metrics.snapshot()).toMatchObject({ frames: 10_000 - lost, dropped: lost, errorsByCode: { E_DEVICE: lost } });
    expect(errors[0]!.message).toMatch(/E_DEVICE.*\(timeout\).*job seq 4999 not done after 1048576 spins/);
    for (const e of errors.slice(1)) expect(e.message).toMatch(/E_DEVICE.*\(timeout\).*not started: the device is still busy with job seq 4999, which timed out/);
    const lostSeqs = errors.map((e) => Number(/frame seq (\d+)/.exec(e.message)?.[1]));
    expect(lostSeqs).toEqual(Array.from({ length: lost }, (_, k) => 4999 + k));
    expect(triggered(log)).toEqual(want.filter((s) => !lostSeqs.includes(s)));
    // Frames after the lost ones fired: the daemon kept running on the recovered device.
    expect(triggered(log).some((s) => s > 4999 + lost)).toBe(true);
  }, 120_000);

  it('device is refused unless the backend is fpga, and backend fpga needs one', async () => {
    const deps = { clock: systemClock(), timers: realTimers, log: () => {}, baseDir: REPO, onBug: (e: unknown) => { throw e; } };
    const model = join(ZOO, 'jets-hls4ml');
    await expect(createDaemon(replayConfig(model, CAPTURE, { backend: 'sim', device: '/dev/xdma0_user', trigger: TRIGGER }), deps)).rejects.toThrow(ConfigError);
    await expect(createDaemon(replayConfig(model, CAPTURE, { backend: 'sim', device: '/dev/xdma0_user', trigger: TRIGGER }), deps)).rejects.toThrow(/device: "\/dev\/xdma0_user" is set but backend is sim; device is for backend fpga/);
    await expect(createDaemon(replayConfig(model, CAPTURE, { backend: 'fpga', trigger: TRIGGER }), deps)).rejects.toThrow(/device: missing: backend fpga needs device/);
  });
});
