// `hairtrigger calibrate` end to end from the CLI on the real BCCD recording, the daemon reading
// its output (per-class threshold in force, calibrated rates beside their targets), and the
// drift watch: a replay of held-out frames of the same recording does not raise the flag at the
// stated level (0.001), the same frames darkened to 60% do.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { calibratePipeline } from '../../host/src/calibration/calibrate-pipeline.js';
import { CaptureWriter, readCapture } from '../../host/src/capture/arrow-capture.js';
import { loadConfigFile } from '../../host/src/config/schema.js';
import { createDaemon, type Daemon } from '../../host/src/daemon.js';
import { systemClock } from '../../host/src/native/addon.js';
import { realTimers } from '../../host/src/sources/source.js';
import { REPO, tempDir, ZOO } from '../support/fixtures.js';
import { runCli } from '../support/cli-process.js';

const BCCD = join(REPO, 'sim', 'recordings', 'cells-bccd-test.arrows');
const FIRMWARE = join(REPO, 'hls', 'build');


/** A pipeline config for `capture` (absolute paths), at max pace, once, no server. */
function writeConfig(dir: string, name: string, capture: string, extra = ''): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, `# a test pipeline\npipeline: ${name}\nmodel: ${join(ZOO, 'cells-bccd')}\nbackend: sim\nbudgetUs: 1000000\nsource: {kind: replay, path: ${capture}, pacing: max}\ntrigger:\n  targets: [WBC]\n  threshold: 0.5\n  maxRatePerS: 10000000\n  burst: 1000000\nsinks: {}\nserver: {enabled: false}\n${extra}`);
  return path;
}

async function runConfig(path: string, dir: string): Promise<Daemon> {
  const d = await createDaemon(loadConfigFile(path), { clock: systemClock(), timers: realTimers, log: () => {}, baseDir: dir, firmwareDir: FIRMWARE, onBug: (e) => { throw e; } });
  d.start();
  await d.sourceDone;
  await d.stop();
  return d;
}

/** The frames of `cap` with index parity `odd`, pixels scaled by `gain`, as a new capture. */
async function writeHalf(path: string, odd: boolean, gain: number): Promise<string> {
  const cap = readCapture(BCCD);
  const w = new CaptureWriter(path, cap.spec);
  const buf = Uint8Array.from(cap.frames, (v) => Math.round(v * gain));
  for (let i = odd ? 1 : 0; i < cap.count; i += 2) w.append(i, cap.sensorNs[i]!, buf, cap.offsets[i]!, cap.offsets[i + 1]! - cap.offsets[i]!, cap.labels[i]!);
  await w.close();
  return path;
}

describe('calibrate and the daemon', { timeout: 120_000 }, () => {
  const dir = tempDir('calibrate');

  it('calibrate --recall WBC=0.95 on the BCCD recording writes a new config and file the daemon runs with', async () => {
    const config = writeConfig(dir, 'cells', BCCD);
    const before = readFileSync(config, 'utf8');
    const r = await runCli(['calibrate', '-c', config, '--data', BCCD, '--recall', 'WBC=0.95', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { config: string; calibration: string; targets: Array<{ threshold: number; n: number; k: number; bound: number; inSample: number }> };
    expect(readFileSync(config, 'utf8')).toBe(before); // the user's file is never written
    expect(out.config).toBe(join(dir, 'cells.calibrated.yaml'));
    // Independently: the daemon's own probabilities of the 71 white cells (a replay's decisions),
    // the floor(0.05 * 72) = 3rd smallest.
    const decisions = join(dir, 'decisions.jsonl');
    await runConfig(writeConfig(dir, 'plain', BCCD, `decisions: ${decisions}\n`), dir);
    const cap = readCapture(BCCD);
    const wbc = readFileSync(decisions, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { probs: number[] }).filter((_, i) => cap.labels[i] === 1).map((d) => d.probs[1]!).sort((a, b) => a - b);
    expect(wbc.length).toBe(71);
    const t = out.targets[0]!;
    expect([t.n, t.k]).toEqual([71, 3]);
    expect(t.bound).toBeCloseTo(1 - 3 / 72, 12);
    expect(t.threshold).toBeCloseTo(wbc[2]!, 5); // decisions carry 6 significant digits
    // Refused, never overwritten, when run again.
    const again = await runCli(['calibrate', '-c', config, '--data', BCCD, '--recall', 'WBC=0.95']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/E_CALIBRATION at .*cells\.calibrated\.(yaml|calibration\.json): exists/);
    // Too few white cells for 0.99 (needs 99): a typed error, nothing written.
    const few = await runCli(['calibrate', '-c', config, '--data', BCCD, '--recall', 'WBC=0.99', '--out', join(dir, 'cells-99.yaml')]);
    expect(few.code).toBe(2);
    expect(few.stderr).toMatch(/recall 0.99 needs at least 99 calibration examples of the class .* the data hold 71/);
    expect(existsSync(join(dir, 'cells-99.yaml'))).toBe(false);
    // The daemon runs the new config: WBC's own threshold in force, recall counted beside its target.
    const d = await runConfig(out.config, dir);
    const snap = d.view.snapshot();
    expect(snap.settings?.thresholds).toEqual({ WBC: t.threshold });
    const cal = snap.calibration!;
    expect(cal.targets[0]).toMatchObject({ kind: 'recall', classes: ['WBC'], target: 0.95, labelled: 71 });
    expect(cal.targets[0]!.achieved).toBeCloseTo(t.inSample, 12);
    // Every passing white cell fired (no hold-off, no rate limit, no late frame at this budget).
    expect(snap.quality!.triggersByTruth.WBC).toBe(cal.targets[0]!.passed);
  });

  it('the drift watch stays quiet on held-out frames and flags the same frames darkened', async () => {
    const odd = await writeHalf(join(dir, 'odd.arrows'), true, 1);
    const config = writeConfig(dir, 'half', odd);
    const r = await calibratePipeline({ config, data: { path: odd, split: 'val' }, requests: [{ kind: 'falseRate', rate: 0.05 }], out: join(dir, 'half.calibrated.yaml'), firmwareDir: FIRMWARE, nowIso: '2026-12-07T00:00:00Z' });
    const watch = 'calibration: {file: half.calibrated.calibration.json, windowFrames: 300, driftAlpha: 0.001}\n';
    const even = await writeHalf(join(dir, 'even.arrows'), false, 1);
    const dark = await writeHalf(join(dir, 'dark.arrows'), false, 0.6);
    expect(r.calibration).toBe(join(dir, 'half.calibrated.calibration.json'));
    const quiet = (await runConfig(writeConfig(dir, 'even', even, watch), dir)).view.snapshot().calibration!;
    const loud = (await runConfig(writeConfig(dir, 'dark', dark, watch), dir)).view.snapshot().calibration!;
    // The final snapshot tests the last 300 frames of each replay: the same frames whatever the timing.
    expect(quiet.drift).toMatchObject({ frames: 300, referenceN: 472, alpha: 0.001, drift: false });
    expect(quiet.drift.pValue!).toBeGreaterThan(0.01);
    expect(loud.drift).toMatchObject({ frames: 300, drift: true });
    expect(loud.drift.pValue!).toBeLessThan(1e-6);
    expect(loud.drift.flaggedChecks).toBeGreaterThanOrEqual(1);
  });
});
