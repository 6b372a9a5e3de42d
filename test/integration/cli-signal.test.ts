import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCapture } from '../../host/src/capture/arrow-capture.js';
import { lymphocyteCapture, readArrowLog, readJsonlLog, REPO, tempDir, ZOO } from '../support/fixtures.js';

const BIN = join(REPO, 'bin', 'hairtrigger.js');

/** Runs the CLI until its stderr matches `ready`, then sends `signal`; resolves on exit. */
function runUntil(args: string[], ready: RegExp, signal: NodeJS.Signals): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO });
    let stdout = '';
    let stderr = '';
    let sent = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => {
      stderr += b;
      if (!sent && ready.test(stderr)) {
        sent = true;
        child.kill(signal);
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('the CLI', () => {
  it('prints help', async () => {
    const r = await runUntil(['--help'], /$^/, 'SIGINT');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/run.*replay.*record.*gen/s);
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`flushes every trigger to both logs on ${signal} during a looping real-time replay`, async () => {
      const dir = tempDir('sig');
      const capture = await lymphocyteCapture(dir, 500);
      const jsonl = join(dir, 't.jsonl');
      const arrow = join(dir, 't.arrows');
      const r = await runUntil(
        // A budget of a minute: latency counts from each frame's due time, and on a loaded
        // machine an x4 replay falls behind and every frame would be late (never triggered).
        ['replay', capture, '--model', join(ZOO, 'cells-lymphocyte'), '--pacing', 'x4', '--loop', '--targets', 'B', '--budget-us', '60000000', '--jsonl', jsonl, '--arrow', arrow],
        /frames [1-9]\d{3,} .*triggers [1-9]/,
        signal,
      );
      expect(r.stderr).toMatch(new RegExp(`stopped \\(${signal}\\)`));
      expect(r.code).toBe(0);
      const snap = JSON.parse(r.stdout) as { triggers: number; frames: number; suppressed: { late: number } };
      expect(snap.triggers).toBeGreaterThan(0);
      // Every trigger, and every late frame that would have fired (a `missed` record), is on disk.
      const lines = readJsonlLog<{ kind: string }>(jsonl);
      expect(lines.filter((l) => l.kind === 'trigger').length).toBe(snap.triggers);
      expect(lines.filter((l) => l.kind === 'missed').length).toBe(snap.suppressed.late);
      const kinds = readArrowLog(arrow).getChild('kind')!.toArray() as string[];
      expect(kinds.filter((k) => k === 'trigger').length).toBe(snap.triggers);
      expect(kinds.length).toBe(lines.length);
    });
  }

  it('record closes the capture on SIGINT with every frame it received', async () => {
    const dir = tempDir('rec');
    const out = join(dir, 'live.arrows');
    const r = await runUntil(['record', '--out', out, '--source', 'synthetic', '--rate-hz', '5000', '--seed', '3'], /record: [1-9]\d* frames/, 'SIGINT');
    expect(r.code).toBe(0);
    const written = Number(/record: wrote (\d+) frames/.exec(r.stderr)?.[1]);
    expect(written).toBeGreaterThan(1000);
    const cap = readCapture(out);
    expect(cap.truncation).toBeNull();
    expect(cap.count).toBe(written);
    expect(cap.spec.labels).toEqual(['B', 'T4', 'T8']);
    // Arrival times were stamped on this machine's clock and never go back.
    for (let i = 1; i < cap.count; i++) expect(cap.sensorNs[i]).toBeGreaterThanOrEqual(cap.sensorNs[i - 1]);
  });

  it('exits 2 with the typed error for a bad config', async () => {
    const r = await runUntil(['run', '--config', join(REPO, 'package.json')], /$^/, 'SIGINT');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/E_CONFIG at .*package\.json/);
  });
});
