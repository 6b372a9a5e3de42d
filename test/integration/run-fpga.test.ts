// `hairtrigger run` with backend fpga, against `hairtrigger emulate-fpga` in another process,
// as a user would run them: the daemon classifies on the device and serves the dashboard, the
// JSON snapshot (with the device's driver counters) and /metrics (with the device series);
// SIGTERM stops both cleanly and the emulator removes its /dev/shm file. A stopped emulator
// (SIGSTOP) faults the device after one timeout: frames fail fast, the snapshot answers, a
// re-probe recovers when it runs again, and SIGTERM stops the daemon in that state too.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Snapshot } from '../../host/src/metrics/snapshot.js';
import type { LatencyDistribution } from '../../host/src/server/api-types.js';
import { sampleValue } from '../../host/src/server/testing.js';
import { REPO, tempDir } from '../support/fixtures.js';

const BIN = join(REPO, 'bin', 'hairtrigger.js');
const JET = 'jets_hls4ml_student';

interface Child {
  proc: ChildProcessWithoutNullStreams;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(args: string[]): Child {
  const proc = spawn(process.execPath, [BIN, ...args], { cwd: REPO });
  let stderr = '';
  proc.stderr.on('data', (b) => (stderr += b));
  proc.stdout.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => proc.on('exit', (code, signal) => res({ code, signal })));
  return { proc, stderr: () => stderr, exited };
}

/** Polls `probe` every 50 ms until it returns a value other than undefined; fails after `ms`,
 * or as soon as `child` has exited, with `what`. */
async function waitFor<T>(child: Child, what: () => string, ms: number, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) throw new Error(`exited (${child.proc.exitCode ?? child.proc.signalCode}): ${what()}`);
    if (Date.now() > until) throw new Error(`timed out: ${what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A host-in-the-loop config on `device`, with a spin budget of seconds: on a loaded 2-core
 * machine the emulator's thread can be descheduled for milliseconds, and a healthy device
 * must not time out (the default budget is ~45 ms). */
function writeConfig(device: string): string {
  const config = join(tempDir('run-fpga'), 'jets-fpga.yaml');
  // YAML is a superset of JSON.
  writeFileSync(config, JSON.stringify({
    pipeline: 'jets-run-fpga',
    model: join(REPO, 'models/zoo/jets-hls4ml'), // relative paths would resolve from the config's (temporary) folder
    backend: 'fpga',
    device,
    budgetUs: 100_000,
    fpga: { spinsMax: 2 ** 25 },
    source: { kind: 'replay', path: join(REPO, 'sim/recordings/jets-hls4ml-10k.arrows'), pacing: 'x10', loop: true },
    trigger: { targets: ['t'], threshold: 0.5, maxRatePerS: 1e6, burst: 64 },
    server: { enabled: true, host: '127.0.0.1', port: 0 },
  }));
  return config;
}

/** Starts the emulator on `device` and the daemon on it; resolves with the dashboard's base URL. */
async function startBoth(children: Child[], device: string): Promise<{ emu: Child; run: Child; base: string }> {
  const emu = start(['emulate-fpga', '-m', join('hls/build', JET), '--device', device]);
  children.push(emu);
  await waitFor(emu, () => `device file ${device}; emulator stderr: ${emu.stderr()}`, 20_000, () => (existsSync(device) && /emulating/.test(emu.stderr()) ? true : undefined));
  const run = start(['run', '-c', writeConfig(device), '--progress-ms', '0']);
  children.push(run);
  const base = await waitFor(run, () => `dashboard URL; run stderr: ${run.stderr()}`, 20_000, () => /dashboard on (http:\/\/[^/\s]+)\//.exec(run.stderr())?.[1]);
  return { emu, run, base };
}

/** Polls the snapshot until `ok` holds. */
function snapshotWhen(run: Child, base: string, what: string, ok: (s: Snapshot) => boolean, ms = 30_000): Promise<Snapshot> {
  let last: Snapshot | undefined;
  return waitFor(run, () => `${what} on ${base}/api/snapshot (last: ${JSON.stringify(last?.device)}, frames ${last?.frames}, dropped ${last?.dropped}); run stderr: ${run.stderr()}`, ms, async () => {
    last = (await (await fetch(`${base}/api/snapshot`)).json()) as Snapshot;
    return ok(last) ? last : undefined;
  });
}

describe('hairtrigger run on the fpga backend against hairtrigger emulate-fpga', () => {
  const children: Child[] = [];
  const device = `/dev/shm/ht-run-${process.pid}-${randomBytes(4).toString('hex')}`;
  afterAll(() => {
    // Only if a check failed midway: nothing is left running.
    for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
  });

  it('serves the dashboard, the snapshot with device counters and the device metrics; SIGTERM stops both cleanly', async () => {
    const { emu, run, base } = await startBoth(children, device);
    // Hundreds of frames, so that a device failing some or all of its jobs shows below.
    const snap = await snapshotWhen(run, base, '500 frames', (s) => s.frames + s.dropped >= 500);
    expect(snap.backend).toBe('fpga');
    expect(snap.pipeline).toBe('jets-run-fpga');
    // Every frame was classified on the device: none dropped, no job timed out (the spin
    // budget covers a descheduled emulator), so a device whose jobs all time out fails here.
    expect(snap.dropped).toBe(0);
    expect(snap.errorsByCode.E_DEVICE ?? 0).toBe(0);
    const dev = snap.device!;
    expect(dev.path).toBe(device);
    expect(dev.modelHash).toMatch(/^[0-9a-f]{12}$/);
    expect(dev.latencyCycles).toBeGreaterThan(0);
    expect(dev.modelledUs).toBeCloseTo((dev.latencyCycles * 1000) / dev.clockKhz, 9);
    // Every classified frame was one device job (the snapshot reads the device after the frame count).
    expect(dev.jobs).toBeGreaterThanOrEqual(snap.frames);
    expect(dev).toMatchObject({ resets: 0, corrupt: 0, timeouts: 0, faulted: false, faultedFast: 0 });
    expect(dev.waitNsMin).toBeGreaterThan(0);
    expect(dev.waitNsMax).toBeGreaterThanOrEqual(dev.waitNsMin);

    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('data-testid="device"');

    const metrics = await (await fetch(`${base}/metrics`)).text();
    const label = `device="${device}"`;
    expect(sampleValue(metrics, `hairtrigger_device_jobs_total{${label}}`)).toBeGreaterThanOrEqual(dev.jobs);
    expect(sampleValue(metrics, `hairtrigger_device_timeouts_total{${label}}`)).toBeGreaterThanOrEqual(dev.timeouts);
    expect(sampleValue(metrics, `hairtrigger_device_modelled_latency_seconds{${label}}`)).toBeCloseTo(dev.modelledUs / 1e6, 15);
    expect(sampleValue(metrics, `hairtrigger_device_wait_seconds{${label},stat="max"}`)).toBeGreaterThan(0);
    expect(metrics).toContain(`hairtrigger_device_info{${label},model_hash="${dev.modelHash}"`);

    // The `device` latency series is the driver's measured wait per job: every frame has one,
    // none shorter than the time the emulator holds ap_done back (LATENCY_CYCLES at the clock).
    const latency = (await (await fetch(`${base}/api/latency`)).json()) as LatencyDistribution;
    expect(latency.deviceSource).toBe('measured');
    expect(latency.series.device.summary.count).toBe(latency.series.e2e.summary.count);
    expect(latency.series.device.summary.count).toBeGreaterThan(0);
    expect(latency.series.device.points[0].valueUs).toBeGreaterThanOrEqual(dev.modelledUs * 0.999);

    run.proc.kill('SIGTERM');
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(run.stderr()).toMatch(/stopped \(SIGTERM\)/);
    emu.proc.kill('SIGTERM');
    expect(await emu.exited).toEqual({ code: 0, signal: null });
    expect(emu.stderr()).toMatch(/stopped: /);
    expect(existsSync(device)).toBe(false);
  }, 60_000);

  it('a stopped emulator: one timeout, then frames fail fast (counted, never triggered) while the snapshot answers; re-probe recovers; SIGTERM exits cleanly while faulted', async () => {
    const dev2 = `${device}-stopped`;
    const { emu, run, base } = await startBoth(children, dev2);
    const healthy = await snapshotWhen(run, base, 'frames > 0', (s) => s.frames > 0 && (s.device?.jobs ?? 0) > 0);
    expect(healthy.device).toMatchObject({ timeouts: 0, faulted: false });

    emu.proc.kill('SIGSTOP');
    const faulted = await snapshotWhen(run, base, 'faulted with 50 frames failed fast', (s) => s.device!.faulted && s.device!.faultedFast >= 50);
    // No job spins after the first timeout: one timeout, every other frame failed at once.
    expect(faulted.device!.timeouts).toBe(1);
    expect(faulted.dropped).toBe(faulted.device!.faultedFast + 1);
    expect(faulted.errorsByCode.E_DEVICE).toBe(faulted.dropped);
    // Failed frames are never classified nor triggered.
    const later = await snapshotWhen(run, base, '50 more frames failed fast', (s) => s.device!.faultedFast >= faulted.device!.faultedFast + 50);
    expect(later).toMatchObject({ frames: faulted.frames, triggers: faulted.triggers });
    expect(later.device).toMatchObject({ timeouts: 1, jobs: faulted.device!.jobs });
    expect(later.device!.reprobes).toBeGreaterThanOrEqual(1);

    // The emulator runs again: it completes the job it was given, and a re-probe sees it.
    emu.proc.kill('SIGCONT');
    const recovered = await snapshotWhen(run, base, 'recovered', (s) => !s.device!.faulted && s.frames > later.frames);
    expect(recovered.device!.timeouts).toBe(1);
    expect(recovered.device!.jobs).toBeGreaterThan(later.device!.jobs);

    // SIGTERM while faulted: the main thread does not spin, so the daemon stops cleanly.
    emu.proc.kill('SIGSTOP');
    await snapshotWhen(run, base, 'faulted again', (s) => s.device!.faulted && s.device!.timeouts === 2);
    run.proc.kill('SIGTERM');
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(run.stderr()).toMatch(/stopped \(SIGTERM\)/);
    emu.proc.kill('SIGCONT');
    emu.proc.kill('SIGTERM');
    expect(await emu.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(dev2)).toBe(false);
  }, 120_000);
});
