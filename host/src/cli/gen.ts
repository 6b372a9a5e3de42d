import { createJetFeatureGenerator, JET_FEATURES } from '../modalities/jets/jet-features.js';
import { LYMPHOCYTE_LABELS, createLymphocyteGenerator } from '../modalities/cells/lymphocytes.js';
import { createRng } from '../core/rng.js';
import type { FrameSpec } from '../core/frame.js';
import { writeCapture } from '../datasets/export.js';

/** What `hairtrigger gen` can synthesise. */
export const GEN_KINDS = ['lymphocytes', 'jet-features'] as const;
export type GenKind = (typeof GEN_KINDS)[number];

/**
 * `hairtrigger gen`: a seeded synthetic capture with Poisson arrival times: lymphocyte crops
 * (labelled B/T4/T8) or 16-feature jet vectors (unlabelled, see host/src/modalities/jets/jet-features.ts).
 */
export async function generateCapture(o: { out: string; frames: number; seed: number; rateHz: number; kind?: GenKind }): Promise<void> {
  let frameBytes: number;
  let spec: FrameSpec;
  let fill: (frames: Uint8Array, labels: Int8Array, i: number) => void;
  if (o.kind === 'jet-features') {
    const gen = createJetFeatureGenerator(o.seed);
    frameBytes = gen.frameBytes;
    spec = { stream: 'jets-hls4ml', shape: [JET_FEATURES], dtype: 'float32' };
    fill = (frames, labels, i) => {
      gen.next(frames, i * frameBytes);
      labels[i] = -1;
    };
  } else {
    const gen = createLymphocyteGenerator({ seed: o.seed });
    frameBytes = gen.frameBytes;
    spec = { stream: 'cells-lymphocyte', shape: [gen.size, gen.size, 1], dtype: 'uint8', labels: LYMPHOCYTE_LABELS };
    fill = (frames, labels, i) => {
      labels[i] = gen.next(frames, i * frameBytes);
    };
  }
  const frames = new Uint8Array(o.frames * frameBytes);
  const labels = new Int8Array(o.frames);
  for (let i = 0; i < o.frames; i++) {
    fill(frames, labels, i);
    if (i > 0 && i % 100_000 === 0) process.stderr.write(`gen: ${i}/${o.frames} frames\n`);
  }
  await writeCapture(o.out, spec, { count: o.frames, frames, labels }, createRng(o.seed + 1), o.rateHz);
  process.stderr.write(`gen: wrote ${o.frames} ${o.kind ?? 'lymphocytes'} frames (seed ${o.seed}) to ${o.out}\n`);
}
