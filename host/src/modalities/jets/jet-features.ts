import { createRng } from '../../core/rng.js';

/** hls4ml's LHC jet-tagging classes (gluon, light quark, W, Z, top). */
export const JET_LABELS = ['g', 'q', 'w', 'z', 't'] as const;
/** High-level features per jet in hls4ml's jet-tagging data set. */
export const JET_FEATURES = 16;

/**
 * A stream of 16-feature jet vectors for latency work on the jet tagger. The real data set
 * (hls4ml's LHC jet HLF) is not available offline, so the features are seeded standard
 * normals: the scale of the data set's standardised features, with no class structure
 * (frames carry no label). Good for timing and for fixed-point range checks, not accuracy.
 */
export function createJetFeatureGenerator(seed: number): { readonly frameBytes: number; next(out: Uint8Array, offset: number): void } {
  const rng = createRng(seed);
  const values = new Float32Array(JET_FEATURES);
  const bytes = new Uint8Array(values.buffer);
  return {
    frameBytes: JET_FEATURES * 4,
    next(out, offset) {
      for (let i = 0; i < JET_FEATURES; i++) values[i] = rng.normal();
      out.set(bytes, offset);
    },
  };
}
