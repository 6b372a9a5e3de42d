import { FrameValueError } from '../core/errors.js';
import type { Backend } from '../backends/backend.js';
import type { FrameStage } from './stage.js';

/** Inference stage: the backend writes its outputs into the slot; a non-finite output is a fault of the frame. */
export function inferStage(backend: Backend): FrameStage {
  return {
    name: 'infer',
    run(slot) {
      backend.predict(slot.input, slot.logits);
      const y = slot.logits;
      for (let k = 0; k < y.length; k++) {
        if (!Number.isFinite(y[k])) throw new FrameValueError(`frame seq ${slot.seq}`, `backend returned a non-finite logit (${y[k]}) for class ${k}`);
      }
      return true;
    },
  };
}
