/**
 * The cascade's hot-path half allocates nothing per frame sent: `bench/cascade-alloc-probe.ts`
 * in its own process (`--single-threaded`, a young generation no window fills) offers windows
 * of unsure cells to the BCCD teacher's queue (margin, the copy of the inputs, submit, and
 * with `replace` the held copy of the decision), joining the answers outside the windows. The
 * measure is of bytes, not time: the same under two CPU hogs.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../support/fixtures.js';

const PROBE = join(REPO, 'build', 'bench', 'cascade-alloc-probe.js');
const FLAGS = ['--single-threaded', '--expose-gc', '--max-semi-space-size=128', '--min-semi-space-size=128'];

interface ProbeResult {
  perFrameBytes: number;
  windows: { frames: number; sent: number; bytes: number }[];
}

function probe(extra: string[] = []): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...FLAGS, PROBE, ...extra], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (err += b));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as ProbeResult) : reject(new Error(`cascade alloc probe exited ${code}: ${err}`))));
  });
}

describe("the cascade's hot path", () => {
  it('sends unsure frames to the teacher and holds their decisions without allocating', async () => {
    const r = await probe();
    // Every frame of every window was sent (none dropped at a full queue).
    expect(r.windows.every((w) => w.sent === w.frames)).toBe(true);
    // One 16-byte object a frame would read 16; measured 0.
    expect(r.perFrameBytes).toBeLessThan(2);
  }, 300_000);

  it('normalises a frame the student took as pixels straight into the queue slot without allocating', async () => {
    const r = await probe(['--pixels']);
    expect(r.windows.every((w) => w.sent === w.frames)).toBe(true);
    expect(r.perFrameBytes).toBeLessThan(2);
  }, 300_000);

  it('sees allocation when there is some: one small object per offer', async () => {
    const r = await probe(['--control']);
    expect(r.perFrameBytes).toBeGreaterThan(16);
  }, 300_000);
});
