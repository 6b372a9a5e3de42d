import { assert } from '../core/assert.js';
import { FrameValueError } from '../core/errors.js';
import type { Backend } from '../backends/backend.js';
import type { FrameStage } from './stage.js';

/**
 * Inference stage: the backend writes its outputs into the slot; a non-finite output is a
 * fault of the frame. A model of several named inputs gets every tensor of `slot.inputs`.
 */
export function inferStage(backend: Backend, inputs = 1): FrameStage {
  assert(inputs === 1 || backend.predictInputs !== undefined, 'a model of several inputs runs on a backend that takes them');
  const many = inputs > 1;
  return {
    name: 'infer',
    run(slot) {
      if (many) backend.predictInputs!(slot.inputs, slot.logits);
      else backend.predict(slot.input, slot.logits);
      const y = slot.logits;
      for (let k = 0; k < y.length; k++) {
        if (!Number.isFinite(y[k])) throw new FrameValueError(`frame seq ${slot.seq}`, `backend returned a non-finite logit (${y[k]}) for class ${k}`);
      }
      return true;
    },
  };
}
