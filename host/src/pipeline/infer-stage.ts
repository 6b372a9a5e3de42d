import { assert } from '../core/assert.js';
import { FrameValueError } from '../core/errors.js';
import type { Backend } from '../backends/backend.js';
import type { FrameSlot } from '../core/frame.js';
import type { FrameStage } from './stage.js';
import type { PixelRoute } from './pixel-path.js';

/**
 * Inference stage: the backend of the model in force (`models.backend`, read per frame so a
 * switch between frames takes effect at the next one) writes its outputs into the slot; a
 * non-finite output is a fault of the frame. A model of several named inputs gets every tensor of `slot.inputs`;
 * the pipeline's extra models run after the primary one (`model/extra-models.ts`).
 */
export function inferStage(models: { readonly backend: Backend; readonly models: readonly { backend: Backend }[] }, inputs = 1, extras: { run: (slot: FrameSlot) => void; slots: readonly FrameSlot[] } | null = null, pixels: PixelRoute | null = null): FrameStage {
  assert(inputs === 1 || models.models.every((m) => m.backend.predictInputs !== undefined), 'a model of several inputs runs on a backend that takes them');
  const many = inputs > 1;
  // With extra models the slot holds their inputs too: the primary model gets its own first
  // `inputs` (views made once per ring slot, nothing per frame).
  const own = extras !== null && many ? extras.slots.map((s) => s.inputs.slice(0, inputs)) : null;
  return {
    name: 'infer',
    run(slot) {
      const backend = models.backend;
      if (pixels !== null && pixels()) backend.predictPixels!(slot.raw, slot.rawOffset, slot.logits);
      else if (many) backend.predictInputs!(own === null ? slot.inputs : own[slot.index], slot.logits);
      else backend.predict(slot.input, slot.logits);
      const y = slot.logits;
      for (let k = 0; k < y.length; k++) {
        if (!Number.isFinite(y[k])) throw new FrameValueError(`frame seq ${slot.seq}`, `backend returned a non-finite logit (${y[k]}) for class ${k}`);
      }
      // The pipeline's extra models (an alert's real/bogus beside its class) into slot.aux.
      if (extras !== null) extras.run(slot);
      return true;
    },
  };
}
