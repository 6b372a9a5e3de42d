import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRng } from '../../sim/src/rng.js';
import { readCapture } from '../../host/src/capture/arrow-capture.js';
import { decodeNpy, encodeNpy } from '../../host/src/datasets/npy.js';
import { readModelCard } from '../../host/src/model/card.js';
import { createPreprocessor, type PreprocessSpec } from '../../host/src/preprocess/image.js';
import { REPO, tempDir, ZOO } from '../support/fixtures.js';

/**
 * Train/serve skew against an implementation that is not ours: the TypeScript preprocessing
 * (image.ts, which writes the training tensors and runs online) and models/train/
 * preprocess_ref.py (PyTorch's F.interpolate, bilinear, align_corners=False, then scale,
 * mean and std) turn the same real frames into model inputs, and the two must agree.
 *
 * Tolerance: max |ts - ref| <= 1e-6 * (max(ref) - min(ref)), the span of the standardised
 * input. Both sides compute in float64 and round once to float32, so they may differ by
 * float32 rounding only (one ulp is 1.2e-7 of the value, and no value exceeds the span);
 * a wrong pixel convention or channel order moves values by a good fraction of the span.
 */
const PY = '/usr/bin/python3';
const REF = join(REPO, 'models', 'train', 'preprocess_ref.py');
const RECORDINGS = join(REPO, 'sim', 'recordings');
const REL_TOL = 1e-6;
const dir = tempDir('preref');

/** Raw frames [count, H, W, C] of a spec's frame dtype (bytes as the capture holds them). */
interface Frames {
  count: number;
  bytes: Uint8Array;
}

function captureFrames(file: string): Frames {
  const cap = readCapture(join(RECORDINGS, file));
  return { count: cap.count, bytes: cap.frames.subarray(cap.offsets[0], cap.offsets[cap.count]) };
}

function tsInputs(spec: PreprocessSpec, f: Frames): Float32Array {
  const pre = createPreprocessor(spec);
  const out = new Float32Array(f.count * pre.inputElements);
  for (let i = 0; i < f.count; i++) pre.run(f.bytes, i * pre.frameBytes, out.subarray(i * pre.inputElements, (i + 1) * pre.inputElements));
  return out;
}

/** Runs preprocess_ref.py on the frames; returns its float32 [count, C, h, w] output. */
function refInputs(name: string, spec: PreprocessSpec, f: Frames): Float32Array {
  const shape = [f.count, ...spec.frame.shape];
  const npy = spec.frame.dtype === 'uint8'
    ? encodeNpy({ dtype: 'uint8', shape, data: f.bytes })
    : encodeNpy({ dtype: 'float32', shape, data: new Float32Array(f.bytes.slice().buffer) });
  const [frames, specPath, out] = ['frames.npy', 'spec.json', 'x.npy'].map((s) => join(dir, `${name}-${s}`));
  writeFileSync(frames, npy);
  writeFileSync(specPath, JSON.stringify(spec));
  const r = spawnSync(PY, [REF, '--frames', frames, '--spec', specPath, '--out', out], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${PY} ${REF} exited ${r.status ?? r.signal}: ${r.error?.message ?? ''}${r.stderr}`);
  const x = decodeNpy(readFileSync(out), out);
  expect(x.dtype).toBe('float32');
  expect(x.shape).toEqual([f.count, ...spec.input.shape]);
  return x.data as Float32Array;
}

/** Largest |ts - ref|, and the span of ref. */
function compare(ts: Float32Array, ref: Float32Array): { maxAbs: number; span: number } {
  expect(ts.length).toBe(ref.length);
  let maxAbs = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < ref.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(ts[i] - ref[i]));
    lo = Math.min(lo, ref[i]);
    hi = Math.max(hi, ref[i]);
  }
  return { maxAbs, span: hi - lo };
}

function expectAgreement(name: string, spec: PreprocessSpec, f: Frames): void {
  const { maxAbs, span } = compare(tsInputs(spec, f), refInputs(name, spec, f));
  expect(span).toBeGreaterThan(1); // real images, standardised: a span of several units
  expect(maxAbs, `${name}: max |ts - ref| ${maxAbs} over a span of ${span}`).toBeLessThanOrEqual(REL_TOL * span);
}

function withInput(spec: PreprocessSpec, h: number, w: number): PreprocessSpec {
  return { ...spec, input: { shape: [spec.input.shape[0], h, w] } };
}

const CASES = [
  { task: 'cells-bccd', capture: 'cells-bccd-test.arrows', sizes: [[20, 20], [45, 45], [32, 24]] },
  { task: 'cells-lymphocyte', capture: 'cells-lymphocyte-1k.arrows', sizes: [[32, 32], [61, 61]] },
] as const;

for (const { task, capture, sizes } of CASES) {
  describe(`${task}: image.ts against the PyTorch reference on ${capture}`, () => {
    const card = readModelCard(join(ZOO, task)).preprocessing as PreprocessSpec;
    const frames = captureFrames(capture);

    it("the card's preprocessing of every frame agrees", () => {
      expect(frames.count).toBeGreaterThan(900);
      expectAgreement(`${task}-card`, card, frames);
    });

    it.each(sizes.map(([h, w]) => ({ h, w })))('the bilinear resize of every frame to $h x $w agrees', ({ h, w }) => {
      expectAgreement(`${task}-${h}x${w}`, withInput(card, h, w), frames);
    });

    it('float32 frames (the real frames plus seeded sub-level noise) resized agree', () => {
      const rng = createRng(11);
      const values = Float32Array.from(frames.bytes, (v) => v + rng.uniform());
      const f = { count: frames.count, bytes: new Uint8Array(values.buffer) };
      const [h, w] = sizes[0];
      expectAgreement(`${task}-f32`, withInput({ ...card, frame: { ...card.frame, dtype: 'float32' } }, h, w), f);
    });
  });
}
