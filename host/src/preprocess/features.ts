import { z } from 'zod';
import { assert } from '../core/assert.js';
import { ConfigError, FrameValueError } from '../core/errors.js';
import { limits } from '../core/limits.js';
import type { Preprocessor } from './image.js';
import { preprocessors, statelessPreprocessor } from './stream-preprocessor.js';

/**
 * Preprocessing of feature-vector streams (jet-tagging features, alert features): a frame is
 * N little-endian float32 values; each is standardised, (x - mean[i]) / std[i], into the
 * model input [N]. The spec travels in the model card, as the image one does.
 */
export const featuresSpecSchema = z
  .object({
    kind: z.literal('features'),
    frame: z.object({ shape: z.tuple([z.number().int().min(1)]), dtype: z.literal('float32') }).strict(),
    input: z.object({ shape: z.tuple([z.number().int().min(1)]) }).strict(),
    mean: z.array(z.number()).min(1),
    std: z.array(z.number().positive()).min(1),
  })
  .strict();

export type FeaturesSpec = z.infer<typeof featuresSpecSchema>;

/** Validates a features spec (ConfigError names the field) and returns its preprocessor. */
export function createFeaturePreprocessor(spec: FeaturesSpec, where = 'preprocessing'): Preprocessor<FeaturesSpec> {
  const [n] = spec.frame.shape;
  if (spec.input.shape[0] !== n) throw new ConfigError(`${where}.input.shape`, `[${spec.input.shape[0]}] differs from frame.shape [${n}]`);
  if (spec.mean.length !== n || spec.std.length !== n) {
    throw new ConfigError(`${where}.mean`, `mean and std need ${n} entries (one per feature), got ${spec.mean.length} and ${spec.std.length}`);
  }
  if (n > limits.modelInputElementsMax) throw new ConfigError(`${where}.frame.shape`, `${n} features exceed modelInputElementsMax ${limits.modelInputElementsMax}`);
  const gain = Float64Array.from(spec.std, (s) => 1 / s);
  const offset = Float64Array.from(spec.mean, (m, i) => -m / spec.std[i]!);
  let buf: ArrayBufferLike | undefined;
  let dv: DataView | undefined;
  return {
    spec,
    frameBytes: n * 4,
    inputElements: n,
    run(raw, base, out) {
      assert(out.length === n, 'preprocess output length matches the model input');
      // One DataView per backing buffer (frames may sit at any byte offset): no allocation per frame.
      if (raw.buffer !== buf) {
        buf = raw.buffer;
        dv = new DataView(raw.buffer, 0, raw.buffer.byteLength);
      }
      const at = raw.byteOffset + base;
      for (let i = 0; i < n; i++) {
        const v = dv!.getFloat32(at + 4 * i, true) * gain[i]! + offset[i]!;
        if (!Number.isFinite(v)) throw new FrameValueError('preprocess', `feature ${i} is not finite: the frame holds NaN or infinite values`);
        out[i] = v;
      }
    },
  };
}

preprocessors.register({
  kind: 'features',
  summary: 'feature vectors (float32): per-feature standardisation',
  schema: featuresSpecSchema,
  create: (spec, ctx) => {
    const pre = createFeaturePreprocessor(spec as FeaturesSpec, ctx.where);
    return statelessPreprocessor(pre, pre.spec.frame);
  },
});
