import { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { createFeaturePreprocessor, featuresSpecSchema, type FeaturesSpec } from './features.js';
import { createPreprocessor, preprocessSpecSchema, type PreprocessSpec, type Preprocessor } from './image.js';

/** Every preprocessing a model card may name: images (image.ts) or feature vectors (features.ts). */
export const modelInputSpecSchema = z.union([preprocessSpecSchema, featuresSpecSchema]);
export type ModelInputSpec = PreprocessSpec | FeaturesSpec;

/** The preprocessor of a card's spec; a ConfigError names the field when it is invalid. */
export function createModelPreprocessor(spec: unknown, where = 'preprocessing'): Preprocessor<ModelInputSpec> {
  if (typeof spec === 'object' && spec !== null && (spec as { kind?: unknown }).kind === 'features') {
    const r = featuresSpecSchema.safeParse(spec);
    if (!r.success) throw new ConfigError(`${where}.${r.error.issues[0]!.path.join('.')}`, r.error.issues[0]!.message);
    return createFeaturePreprocessor(r.data, where);
  }
  return createPreprocessor(spec, where);
}
