// The daemon on the fpga backend, talking to the device emulator through the register
// protocol: the same triggers as on the sim backend, frame for frame, and a device that resets
// mid-stream or corrupts outputs on the way (caught by OUT_CHECK) costs exactly the frames
// whose jobs failed (counted as E_DEVICE); one that completes a job late is faulted and costs
// the frames until a re-probe sees it answer. The daemon goes on and the frames after are
// right again.
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

  it('one job 3 s late: it times out, the device is faulted and the frames meanwhile fail fast (E_DEVICE), a re-probe recovers and the frames after fire as on sim', async () => {
    const want = await wantTriggers();
    const log = join(dir, 'fpga-late.jsonl');
    // The capture's 10k frames span 10 ms: at x0.002 they come over 5 s. Job 1000 (frame seq
    // 999, at ~0.5 s) is 3 s late, far beyond the spin budget (2^22 spins, 10 ms to 0.5 s
    // depending on the CPU's pause, and a margin for a descheduled emulator in the healthy
    // jobs): it times out and the device is faulted; every frame until a re-probe (on
    // the daemon's timers, back-off up to limits.fpgaReprobeDelayMaxMs) sees the late job
    // complete fails at once; then the device serves the rest.
    const d = await runToEnd(replayConfig(model, CAPTURE, { backend: 'fpga', device: emulate('late', { kind: 'late-once', value: 3_000_000, at: 1000 }),
      source: { kind: 'replay', path: CAPTURE, pacing: 'x0.002' }, fpga: { spinsMax: 2 ** 22 }, sinks: { jsonl: log }, trigger: TRIGGER }));
    // The daemon's snapshot (with the device counters, frozen at stop).
    const snap = d.view.snapshot();
    const lost = snap.dropped;
    expect(lost).toBeGreaterThanOrEqual(2);
    expect(snap).toMatchObject({ frames: 10_000 - lost, errorsByCode: { E_DEVICE: lost } });
    expect(snap.device).toMatchObject({ timeouts: 1, faultedFast: lost - 1, faulted: false });
    // The lost frames are one run from 999 (the error log keeps the last of them): no frame
    // spun after the first, none was taken for another's job.
    const errors = d.errors.recent();
    const firstShown = 999 + lost - errors.length;
    expect(errors.map((e) => Number(/frame seq (\d+)/.exec(e.message)?.[1]))).toEqual(Array.from({ length: errors.length }, (_, k) => firstShown + k));
    errors.forEach((e, k) => expect(e.message).toMatch(firstShown + k === 999
      ? /E_DEVICE.*\(timeout\).*job seq 999 not done after 4194304 spins/
      : /E_DEVICE.*\(faulted\).*not started: the device is faulted since job seq 999 timed out/));
    expect(triggered(log)).toEqual(want.filter((s) => s < 999 || s >= 999 + lost));
    // Frames after the lost ones fired: the daemon re-probed and kept running on the recovered device.
    expect(triggered(log).some((s) => s >= 999 + lost)).toBe(true);
  }, 120_000);

  it('device is refused unless the backend is fpga, and backend fpga needs one', async () => {
    const deps = { clock: systemClock(), timers: realTimers, log: () => {}, baseDir: REPO, onBug: (e: unknown) => { throw e; } };
    const model = join(ZOO, 'jets-hls4ml');
    await expect(createDaemon(replayConfig(model, CAPTURE, { backend: 'sim', device: '/dev/xdma0_user', trigger: TRIGGER }), deps)).rejects.toThrow(ConfigError);
    await expect(createDaemon(replayConfig(model, CAPTURE, { backend: 'sim', device: '/dev/xdma0_user', trigger: TRIGGER }), deps)).rejects.toThrow(/device: "\/dev\/xdma0_user" is set but backend is sim; device is for backend fpga/);
    await expect(createDaemon(replayConfig(model, CAPTURE, { backend: 'fpga', trigger: TRIGGER }), deps)).rejects.toThrow(/device: missing: backend fpga needs device/);
  });
});
