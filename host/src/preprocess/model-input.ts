import { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { createFeaturePreprocessor, featuresSpecSchema, type FeaturesSpec } from './features.js';
import { createPreprocessor, preprocessSpecSchema, type PreprocessSpec, type Preprocessor } from './image.js';

/**
 * A preprocessing a modality registers (`lightcurve` of alerts): the card checks only what
 * every card needs (kind, frame, input shape); the daemon checks the rest against the kind's
 * own schema when it creates the preprocessor (`createStreamPreprocessor`).
 */
export const modalitySpecSchema = z
  .object({
    kind: z.string().refine((k) => k !== 'image' && k !== 'features', 'image and features specs have their own schemas'),
    frame: z.object({ shape: z.array(z.number().int().min(1)).nullable(), dtype: z.enum(['uint8', 'int16', 'float32']) }).passthrough(),
    input: z.object({ shape: z.array(z.number().int().min(1)).min(1) }).passthrough(),
  })
  .passthrough();
export type ModalitySpec = z.infer<typeof modalitySpecSchema>;

/** Every preprocessing a model card may name: images (image.ts), feature vectors (features.ts), a modality's own kind. */
export const modelInputSpecSchema = z.union([preprocessSpecSchema, featuresSpecSchema, modalitySpecSchema]);
export type ModelInputSpec = PreprocessSpec | FeaturesSpec | ModalitySpec;

/** The preprocessor of a card's spec; a ConfigError names the field when it is invalid. */
export function createModelPreprocessor(spec: unknown, where = 'preprocessing'): Preprocessor<PreprocessSpec | FeaturesSpec> {
  if (typeof spec === 'object' && spec !== null && (spec as { kind?: unknown }).kind === 'features') {
    const r = featuresSpecSchema.safeParse(spec);
    if (!r.success) throw new ConfigError(`${where}.${r.error.issues[0]!.path.join('.')}`, r.error.issues[0]!.message);
    return createFeaturePreprocessor(r.data, where);
  }
  const kind = typeof spec === 'object' && spec !== null ? (spec as { kind?: unknown }).kind : undefined;
  if (typeof kind === 'string' && kind !== 'image') {
    throw new ConfigError(`${where}.kind`, `"${kind}" reads decoded packets, not raw frames: only the daemon's stream preprocessing (createStreamPreprocessor) runs it`);
  }
  return createPreprocessor(spec, where);
}
