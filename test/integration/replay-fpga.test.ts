// The daemon on the fpga backend, talking to the device emulator through the register
// protocol: the same triggers as on the sim backend, frame for frame, and a device that resets
// mid-stream costs exactly the frames whose jobs it lost (counted as E_DEVICE); the daemon
// goes on and the frames after a reset are right again.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { firmwareLib } from '../../host/src/backends/sim.fixture.js';
import { ConfigError } from '../../host/src/core/errors.js';
import { createDaemon } from '../../host/src/daemon.js';
import { createEmulator, systemClock, type NativeEmulator } from '../../host/src/native/addon.js';
import { realTimers } from '../../host/src/sources/source.js';
import { REPO, replayConfig, runToEnd, tempDir, ZOO } from '../support/fixtures.js';

const JET = 'jets_hls4ml_student';
const CAPTURE = join(REPO, 'sim/recordings/jets-hls4ml-10k.arrows');
const TRIGGER = { targets: ['t'], threshold: 0.5, maxRatePerS: 1e7, burst: 1_000_000 };

describe('replay on the fpga backend (device emulator)', () => {
  const dir = tempDir('replay-fpga');
  const devices: string[] = [];
  const emus: NativeEmulator[] = [];
  afterAll(() => {
    for (const e of emus) e.stop();
    expect(devices.filter((d) => existsSync(d))).toEqual([]);
  });
  const emulate = (name: string, resetAfterJobs?: number): string => {
    const device = `/dev/shm/ht-replay-fpga-${process.pid}-${name}`;
    devices.push(device);
    const regmap = JSON.parse(readFileSync(join(REPO, 'hls/build', JET, 'regmap.json'), 'utf8'));
    const emu = createEmulator({ devicePath: device, libraryPath: firmwareLib(JET), regmap, ...(resetAfterJobs ? { fault: { kind: 'reset-after' as const, value: resetAfterJobs } } : {}) });
    emus.push(emu);
    emu.start();
    return device;
  };
  const triggered = (path: string) => readFileSync(path, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { seq: number }).seq);

  it('fires the sim backend\'s triggers; a device reset every 1000 jobs drops only the lost frames, counted as E_DEVICE', async () => {
    const model = join(ZOO, 'jets-hls4ml');
    const simLog = join(dir, 'sim.jsonl');
    await runToEnd(replayConfig(model, CAPTURE, { backend: 'sim', sinks: { jsonl: simLog }, trigger: TRIGGER }));
    const want = triggered(simLog);
    expect(want.length).toBeGreaterThan(100);

    const cleanLog = join(dir, 'fpga.jsonl');
    const clean = await runToEnd(replayConfig(model, CAPTURE, { backend: 'fpga', device: emulate('clean'), sinks: { jsonl: cleanLog }, trigger: TRIGGER }));
    expect(clean.metrics.snapshot()).toMatchObject({ backend: 'fpga', frames: 10_000, dropped: 0 });
    expect(triggered(cleanLog)).toEqual(want);

    const faultyLog = join(dir, 'fpga-reset.jsonl');
    const faulty = await runToEnd(replayConfig(model, CAPTURE, { backend: 'fpga', device: emulate('reset', 1000), sinks: { jsonl: faultyLog }, trigger: TRIGGER }));
    const snap = faulty.metrics.snapshot();
    const lost = Math.floor(10_000 / 1001); // the 1001st job after each reset resets the device instead
    expect(snap).toMatchObject({ frames: 10_000 - lost, dropped: lost, errorsByCode: { E_DEVICE: lost } });
    const lostSeqs = faulty.errors.recent().map((e) => Number(/frame seq (\d+)/.exec(e.message)?.[1]));
    expect(lostSeqs).toHaveLength(lost);
    expect(faulty.errors.recent()[0]!.message).toMatch(/E_DEVICE.*\(reset\).*(the device reset during job seq 1000 \(RESET_COUNT 0 -> 1\)|DONE_COUNT went from 1000 to 0 during job seq 1000)/);
    expect(triggered(faultyLog)).toEqual(want.filter((s) => !lostSeqs.includes(s)));
  }, 120_000);

  it('device is refused unless the backend is fpga, and backend fpga needs one', async () => {
    const deps = { clock: systemClock(), timers: realTimers, log: () => {}, baseDir: REPO, onBug: (e: unknown) => { throw e; } };
    const model = join(ZOO, 'jets-hls4ml');
    await expect(createDaemon(replayConfig(model, CAPTURE, { backend: 'sim', device: '/dev/xdma0_user', trigger: TRIGGER }), deps)).rejects.toThrow(ConfigError);
    await expect(createDaemon(replayConfig(model, CAPTURE, { backend: 'sim', device: '/dev/xdma0_user', trigger: TRIGGER }), deps)).rejects.toThrow(/device: "\/dev\/xdma0_user" is set but backend is sim; device is for backend fpga/);
    await expect(createDaemon(replayConfig(model, CAPTURE, { backend: 'fpga', trigger: TRIGGER }), deps)).rejects.toThrow(/device: missing: backend fpga needs device/);
  });
});
