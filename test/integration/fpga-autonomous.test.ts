// Autonomous mode: the device emulator takes the frames of a capture itself and appends an
// event for each frame whose arg-max class is the target with logit >= the threshold; the
// daemon's source is that event FIFO. Every such frame (computed independently, raw, on the
// sim library of the same firmware) is a daemon frame and a trigger, with the device's logit as
// its score, and nothing else is; a FIFO too small for the burst loses events, and the daemon
// counts exactly the device's overflows as E_FIFO_OVERFLOW.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { firmwareLib } from '../../host/src/backends/sim.fixture.js';
import { validateConfig } from '../../host/src/config/schema.js';
import { createDaemon, type Daemon } from '../../host/src/daemon.js';
import { readModelCard } from '../../host/src/model/card.js';
import { createEmulator, loadSimModel, systemClock, type NativeEmulator } from '../../host/src/native/addon.js';
import { realTimers } from '../../host/src/sources/source.js';
import { captureToRaw, readFirmwareMap } from '../../sim/src/emulate-fpga.js';
import { readJsonlLog, REPO, tempDir, ZOO } from '../support/fixtures.js';

const JET = 'jets_hls4ml_student';
const PROJECT = join(REPO, 'hls/build', JET);
const CAPTURE = join(REPO, 'sim/recordings/jets-hls4ml-10k.arrows');
const FRAMES = 3000;

/** The frames whose arg-max class (first maximum, as the firmware) is `target`, with its raw logit. */
function targetFrames(raw: Int32Array, seqs: Float64Array, nIn: number, nOut: number, target: number): Array<{ seq: number; raw: number }> {
  const model = loadSimModel(firmwareLib(JET));
  const x = new Int32Array(nIn);
  const y = new Int32Array(nOut);
  const out: Array<{ seq: number; raw: number }> = [];
  try {
    for (let f = 0; f < FRAMES; f++) {
      x.set(raw.subarray(f * nIn, (f + 1) * nIn));
      model.predictRaw(x, y);
      let cls = 0;
      for (let k = 1; k < nOut; k++) if (y[k]! > y[cls]!) cls = k;
      if (cls === target) out.push({ seq: seqs[f]!, raw: y[cls]! });
    }
  } finally {
    model.close();
  }
  return out;
}

describe('autonomous mode: the device event FIFO as the daemon source', () => {
  const dir = tempDir('fpga-auto');
  const map = readFirmwareMap(PROJECT);
  const card = readModelCard(join(ZOO, 'jets-hls4ml'));
  const target = card.labels.indexOf('t');
  const { raw: allRaw, seq: allSeq } = captureToRaw(CAPTURE, card, map);
  const raw = allRaw.slice(0, FRAMES * map.nIn);
  const seqs = allSeq.slice(0, FRAMES);
  const outFrac = 16 - 6; // ap_fixed<16,6>: checked against the device below
  const targets = targetFrames(raw, seqs, map.nIn, map.nOut, target);
  // The threshold splits the target frames near their median logit, at a raw value r such that
  // some frame has r and some r - 1 (so one LSB off either way changes the events), and sits
  // 0.3 LSB below r, so the device threshold must round up (ceil) to select exactly these.
  const sorted = targets.map((t) => t.raw).sort((a, b) => a - b);
  const present = new Set(sorted);
  const cutRaw = sorted.slice(sorted.length >> 1).find((r) => present.has(r - 1))!;
  const THRESHOLD_LOGIT = (cutRaw - 0.3) / 2 ** outFrac;
  const want = targets.filter((t) => t.raw >= cutRaw).map((t) => ({ seq: t.seq, logit: t.raw / 2 ** outFrac }));
  const emus: NativeEmulator[] = [];
  const devices: string[] = [];
  afterAll(() => {
    for (const e of emus) e.stop();
    expect(devices.filter((d) => existsSync(d))).toEqual([]);
  });

  const emulate = (name: string, rateHz: number, fifoOverflow: boolean): { device: string; emu: NativeEmulator } => {
    const device = `/dev/shm/ht-fpga-auto-${process.pid}-${name}`;
    devices.push(device);
    // Not autonomous at start: the replay begins when the daemon writes MODE = 1 after its thresholds.
    const emu = createEmulator({ devicePath: device, libraryPath: firmwareLib(JET), regmap: map, source: { raw, seq: seqs, rateHz },
      ...(fifoOverflow ? { fault: { kind: 'fifo-overflow' as const } } : {}) });
    emus.push(emu);
    emu.start();
    return { device, emu };
  };

  async function runAutonomous(name: string, rateHz: number, pollUs: number, fifoOverflow: boolean) {
    const { device, emu } = emulate(name, rateHz, fifoOverflow);
    const jsonl = join(dir, `${name}.jsonl`);
    const cfg = validateConfig({
      pipeline: 'auto', model: join(ZOO, 'jets-hls4ml'), backend: 'fpga', device, budgetUs: 10_000_000,
      fpga: { mode: 'autonomous', pollUs, thresholdLogit: THRESHOLD_LOGIT },
      trigger: { targets: ['t'], threshold: 0.5, maxRatePerS: 1e7, burst: 1_000_000 },
      sinks: { jsonl }, server: { enabled: false },
    });
    const log: string[] = [];
    const daemon: Daemon = await createDaemon(cfg, { clock: systemClock(), timers: realTimers, log: (l) => log.push(l), baseDir: REPO, onBug: (e) => { throw e; } });
    expect(daemon.backend.info().precision).toBe('ap_fixed<16,6,AP_TRN,AP_SAT>');
    daemon.start();
    const until = Date.now() + 30_000;
    // Done when the device has taken every frame and the daemon has drained every event it kept.
    while (!(emu.stats().frames === FRAMES && daemon.source.delivered === emu.stats().events)) {
      if (Date.now() > until) throw new Error(`timed out: device ${JSON.stringify(emu.stats())}, delivered ${daemon.source.delivered}; log ${log.join(' | ')}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    await daemon.stop();
    const triggers = readJsonlLog<{ seq: number; class: string; score: number; probs: number[]; payload: { deviceLogit?: number } }>(jsonl);
    return { daemon, emu: emu.stats(), snap: daemon.view.snapshot(), triggers };
  }

  it('every frame whose target logit clears the threshold is one frame and one trigger, with a probability as score and the device\'s logit in the payload', async () => {
    expect(want.length).toBeGreaterThan(100);
    // The threshold selects among the frames the device classifies as the target.
    expect(want.length).toBeLessThan(targets.length - 100);
    expect(cutRaw).toBeDefined();
    const r = await runAutonomous('clean', 20_000, 50, false);
    expect(r.emu).toMatchObject({ frames: FRAMES, events: want.length, overflows: 0 });
    expect(r.triggers.map((t) => t.seq)).toEqual(want.map((w) => w.seq));
    expect(r.triggers.map((t) => t.payload.deviceLogit)).toEqual(want.map((w) => w.logit));
    // Probabilities as in host mode (issue 13: autonomous mode showed logits).
    for (const t of r.triggers) {
      expect(t.score).toBeGreaterThanOrEqual(0);
      expect(t.score).toBeLessThanOrEqual(1);
      expect(t.score).toBe(t.probs[target]);
    }
    expect(new Set(r.triggers.map((t) => t.class))).toEqual(new Set(['t']));
    expect(r.snap).toMatchObject({ backend: 'fpga', frames: want.length, triggers: want.length, dropped: 0, late: 0, errorsByCode: {} });
    expect(r.snap.perClass.t).toBe(want.length);
    expect(r.snap.device).toMatchObject({ jobs: 0, fifoOverflows: 0, fifoPending: 0 });
  }, 60_000);

  it('a FIFO that overflows loses events on the device; the daemon counts each as E_FIFO_OVERFLOW and keeps the rest in order', async () => {
    // Four records of FIFO, frames as fast as the device goes, drains every 20 ms: most events are lost.
    const r = await runAutonomous('overflow', 0, 20_000, true);
    expect(r.emu.frames).toBe(FRAMES);
    expect(r.emu.overflows).toBeGreaterThan(0);
    expect(r.emu.events + r.emu.overflows).toBe(want.length);
    expect(r.snap.errorsByCode).toEqual({ E_FIFO_OVERFLOW: r.emu.overflows });
    expect(r.snap.frames).toBe(r.emu.events);
    expect(r.snap.device!.fifoOverflows).toBe(r.emu.overflows);
    const wanted = new Set(want.map((w) => w.seq));
    const got = r.triggers.map((t) => t.seq);
    expect(got.length).toBe(r.emu.events);
    expect(got.every((s) => wanted.has(s))).toBe(true);
    expect([...got].sort((a, b) => a - b)).toEqual(got);
    expect(r.daemon.errors.recent()[0]!.message).toMatch(/E_FIFO_OVERFLOW.*dropped \d+ event\(s\) on a full FIFO/);
  }, 60_000);

  it('refuses an autonomous config that does not fit: other backend, a source, no threshold', async () => {
    const deps = { clock: systemClock(), timers: realTimers, log: () => {}, baseDir: REPO, onBug: (e: unknown) => { throw e; } };
    const base = { pipeline: 'auto', model: join(ZOO, 'jets-hls4ml'), trigger: { targets: ['t'] }, server: { enabled: false } };
    const auto = { mode: 'autonomous', thresholdLogit: 0.5 };
    await expect(createDaemon(validateConfig({ ...base, backend: 'sim', fpga: auto }), deps)).rejects.toThrow(/fpga: is set but backend is sim/);
    await expect(createDaemon(validateConfig({ ...base, backend: 'fpga', device: '/dev/shm/none', fpga: auto, source: { kind: 'replay', path: CAPTURE } }), deps)).rejects.toThrow(/source: kind "replay" is set but fpga.mode is autonomous/);
    await expect(createDaemon(validateConfig({ ...base, backend: 'fpga', device: '/dev/shm/none', fpga: { mode: 'autonomous' } }), deps)).rejects.toThrow(/fpga.thresholdLogit: missing/);
    await expect(createDaemon(validateConfig({ ...base, backend: 'sim' }), deps)).rejects.toThrow(/source: missing/);
  });
});
