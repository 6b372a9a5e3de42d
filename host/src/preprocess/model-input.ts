import { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { createFeaturePreprocessor, featuresSpecSchema, type FeaturesSpec } from './features.js';
import { createPreprocessor, preprocessSpecSchema, type PreprocessSpec, type Preprocessor } from './image.js';

/**
 * A preprocessing a modality registers (`cutouts`, `lightcurve`, `window`): its kind, the
 * model input it writes, and that kind's own fields, checked by its registry entry when the
 * daemon creates it (stream-preprocessor.ts).
 */
export const registeredSpecSchema = z
  .object({ kind: z.string().min(1).refine((k) => k !== 'image' && k !== 'features', 'image and features specs have their own schema'), input: z.object({ shape: z.array(z.number().int().positive()).min(1) }).passthrough() })
  .passthrough();
export type RegisteredSpec = z.infer<typeof registeredSpecSchema>;

/** Every preprocessing a model card may name: images (image.ts), feature vectors
 * (features.ts), or a kind a modality registered. */
export const modelInputSpecSchema = z.union([preprocessSpecSchema, featuresSpecSchema, registeredSpecSchema]);
export type ModelInputSpec = PreprocessSpec | FeaturesSpec | RegisteredSpec;

/** Whether `spec` is one of the fixed-frame kinds `createModelPreprocessor` makes (image, features). */
export function isFixedFrameSpec(spec: ModelInputSpec): spec is PreprocessSpec | FeaturesSpec {
  const kind = (spec as { kind?: string }).kind;
  return kind === undefined || kind === 'image' || kind === 'features';
}

/** The preprocessor of a card's spec; a ConfigError names the field when it is invalid. */
export function createModelPreprocessor(spec: unknown, where = 'preprocessing'): Preprocessor<PreprocessSpec | FeaturesSpec> {
  if (typeof spec === 'object' && spec !== null && (spec as { kind?: unknown }).kind === 'features') {
    const r = featuresSpecSchema.safeParse(spec);
    if (!r.success) throw new ConfigError(`${where}.${r.error.issues[0]!.path.join('.')}`, r.error.issues[0]!.message);
    return createFeaturePreprocessor(r.data, where);
  }
  return createPreprocessor(spec, where);
}
