// The jet tagger ends in a Softmax: its ONNX model outputs probabilities, while its firmware
// (the sim backend) stops at the logits and leaves the softmax to the host. Replaying the
// same capture on both backends must fire the same triggers, give or take the frames that
// sit at the threshold where float and ap_fixed<16,6> disagree: within 1% in count, and
// frame for frame on all but 1% of the triggers. (A policy that applied softmax to the
// onnx probabilities would squash every class below 0.5 and fire none.)
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readJsonlLog, REPO, replayConfig, runToEnd, tempDir, ZOO } from '../support/fixtures.js';

const CAPTURE = join(REPO, 'sim/recordings/jets-hls4ml-10k.arrows');
/** Twice over the 10,000-frame capture (looping): the onnx backend runs in a worker. */
const FRAMES = 20_000;
/** A generous rate limit, so the policy's threshold alone decides. */
const TRIGGER = { targets: ['t'], threshold: 0.5, maxRatePerS: 1e7, burst: 1_000_000 };

describe('jets capture on the sim and onnx backends', () => {
  const dir = tempDir('replay-onnx-sim');
  const run = async (backend: 'sim' | 'onnx'): Promise<{ seqs: number[]; frames: number; triggers: number }> => {
    const jsonl = join(dir, `${backend}.jsonl`);
    const source = { kind: 'replay', path: CAPTURE, pacing: 'max', loop: true, frames: FRAMES };
    const d = await runToEnd(replayConfig(join(ZOO, 'jets-hls4ml'), CAPTURE, { backend, source, sinks: { jsonl }, trigger: TRIGGER }));
    const snap = d.metrics.snapshot();
    expect(snap).toMatchObject({ backend, frames: FRAMES, dropped: 0, late: 0 });
    const seqs = readJsonlLog<{ seq: number; kind: string }>(jsonl).filter((e) => e.kind === 'trigger').map((e) => e.seq);
    return { seqs, frames: snap.frames, triggers: snap.triggers };
  };

  it('fires the same triggers within 1%', async () => {
    const sim = await run('sim');
    const onnx = await run('onnx');
    // The figure: sim fires about 31.5% of the frames.
    expect(sim.triggers).toBeGreaterThan(0.25 * FRAMES);
    expect(sim.seqs.length).toBe(sim.triggers);
    expect(Math.abs(onnx.triggers - sim.triggers)).toBeLessThanOrEqual(0.01 * sim.triggers);
    const simSet = new Set(sim.seqs);
    const onnxSet = new Set(onnx.seqs);
    const differ = sim.seqs.filter((s) => !onnxSet.has(s)).length + onnx.seqs.filter((s) => !simSet.has(s)).length;
    expect(differ).toBeLessThanOrEqual(0.01 * sim.triggers);
  }, 300_000);
});
