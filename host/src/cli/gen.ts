import { LYMPHOCYTE_LABELS, createLymphocyteGenerator } from '../../../sim/src/lymphocytes.js';
import { createRng } from '../../../sim/src/rng.js';
import { writeCapture } from '../datasets/export.js';

/** `hairtrigger gen`: a seeded synthetic lymphocyte capture with Poisson arrival times. */
export async function generateCapture(o: { out: string; frames: number; seed: number; rateHz: number }): Promise<void> {
  const gen = createLymphocyteGenerator({ seed: o.seed });
  const frames = new Uint8Array(o.frames * gen.frameBytes);
  const labels = new Int8Array(o.frames);
  for (let i = 0; i < o.frames; i++) {
    labels[i] = gen.next(frames, i * gen.frameBytes);
    if (i > 0 && i % 100_000 === 0) process.stderr.write(`gen: ${i}/${o.frames} frames\n`);
  }
  const spec = { stream: 'cells-lymphocyte', shape: [gen.size, gen.size, 1], dtype: 'uint8' as const, labels: LYMPHOCYTE_LABELS };
  await writeCapture(o.out, spec, { count: o.frames, frames, labels }, createRng(o.seed + 1), o.rateHz);
  process.stderr.write(`gen: wrote ${o.frames} frames (seed ${o.seed}) to ${o.out}\n`);
}
