import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../host/src/core/rng.js';
import { readCapture } from '../../host/src/capture/arrow-capture.js';
import { decodeNpy, encodeNpy } from '../../host/src/datasets/npy.js';
import { readModelCard } from '../../host/src/model/card.js';
import { createPreprocessor, type PreprocessSpec } from '../../host/src/preprocess/image.js';
import { REPO, tempDir, ZOO } from '../support/fixtures.js';
import { runPython, TRAIN } from '../support/python.js';

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
const REF = join(TRAIN, 'preprocess_ref.py');
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

/** One comparison: a spec and the raw frames it applies to. */
interface Case {
  name: string;
  spec: PreprocessSpec;
  frames: Frames;
}

/**
 * Runs preprocess_ref.py once on every case (torch loads once) and returns each case's
 * float32 [count, C, h, w] output, by name.
 */
function refInputs(cases: Case[]): Map<string, Float32Array> {
  const jobs = cases.map(({ name, spec, frames: f }) => {
    const shape = [f.count, ...spec.frame.shape];
    const npy = spec.frame.dtype === 'uint8'
      ? encodeNpy({ dtype: 'uint8', shape, data: f.bytes })
      : encodeNpy({ dtype: 'float32', shape, data: new Float32Array(f.bytes.slice().buffer) });
    const frames = join(dir, `${name}-frames.npy`);
    writeFileSync(frames, npy);
    return { frames, spec, out: join(dir, `${name}-x.npy`) };
  });
  const jobsPath = join(dir, `jobs-${cases[0].name}.json`);
  writeFileSync(jobsPath, JSON.stringify(jobs));
  runPython([REF, '--jobs', jobsPath]);
  return new Map(cases.map((c, i) => {
    const x = decodeNpy(readFileSync(jobs[i].out), jobs[i].out);
    expect(x.dtype).toBe('float32');
    expect(x.shape).toEqual([c.frames.count, ...c.spec.input.shape]);
    return [c.name, x.data as Float32Array];
  }));
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

function expectAgreement(c: Case, ref: Map<string, Float32Array>): void {
  const { maxAbs, span } = compare(tsInputs(c.spec, c.frames), ref.get(c.name)!);
  expect(span).toBeGreaterThan(1); // real images, standardised: a span of several units
  expect(maxAbs, `${c.name}: max |ts - ref| ${maxAbs} over a span of ${span}`).toBeLessThanOrEqual(REL_TOL * span);
}

function withInput(spec: PreprocessSpec, h: number, w: number): PreprocessSpec {
  return { ...spec, input: { shape: [spec.input.shape[0], h, w] } };
}

const CASES = [
  { task: 'cells-bccd', capture: 'cells-bccd-test.arrows', sizes: [[20, 20], [45, 45], [32, 24]] },
  { task: 'cells-lymphocyte', capture: 'cells-lymphocyte-1k.arrows', sizes: [[32, 32], [61, 61]] },
] as const;

/** The card's spec, its spec resized to each size, and float32 frames resized. */
function casesOf(task: string, card: PreprocessSpec, frames: Frames, sizes: readonly (readonly [number, number])[]): Case[] {
  const rng = createRng(11);
  // The real frames plus seeded sub-level noise, as float32 frames.
  const values = Float32Array.from(frames.bytes, (v) => v + rng.uniform());
  const f32 = { count: frames.count, bytes: new Uint8Array(values.buffer) };
  const [h, w] = sizes[0];
  return [
    { name: `${task}-card`, spec: card, frames },
    ...sizes.map(([h, w]) => ({ name: `${task}-${h}x${w}`, spec: withInput(card, h, w), frames })),
    { name: `${task}-f32-${h}x${w}`, spec: withInput({ ...card, frame: { ...card.frame, dtype: 'float32' } }, h, w), frames: f32 },
  ];
}

for (const { task, capture, sizes } of CASES) {
  // Python and torch start once per capture (seconds on a loaded box): a generous timeout.
  describe(`${task}: image.ts against the PyTorch reference on ${capture}`, { timeout: 180_000 }, () => {
    const card = readModelCard(join(ZOO, task)).preprocessing as PreprocessSpec;
    const frames = captureFrames(capture);
    const cases = casesOf(task, card, frames, sizes);
    let ref = new Map<string, Float32Array>();
    beforeAll(() => {
      ref = refInputs(cases);
    }, 180_000);

    it.each(cases)('$name: every frame agrees', (c) => {
      expect(c.frames.count).toBeGreaterThan(900);
      expectAgreement(c, ref);
    });
  });
}
