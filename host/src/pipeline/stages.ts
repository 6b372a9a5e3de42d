import type { Clock } from '../core/clock.js';
import { FrameValueError } from '../core/errors.js';
import type { FrameSlot } from '../core/frame.js';
import { STAMP, STAMP_INGEST } from '../core/frame.js';
import type { Backend } from '../backends/backend.js';
import type { Preprocessor } from '../preprocess/image.js';
import type { TriggerRing } from '../sinks/trigger-ring.js';
import type { TriggerPolicy } from '../trigger/policy.js';
import type { FrameStage } from './stage.js';

/** Preprocess stage: raw pixels -> model input tensor in the slot. */
export function preprocessStage(pre: Preprocessor<unknown>): FrameStage {
  return {
    name: 'preprocess',
    run(slot) {
      pre.run(slot.raw, slot.rawOffset, slot.input);
      return true;
    },
  };
}

/** Inference stage: the backend writes logits into the slot; non-finite logits are a fault of the frame. */
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

/** Policy stage: softmax, lateness, threshold, hold-off, rate limit. */
export function policyStage(policy: TriggerPolicy): FrameStage {
  return {
    name: 'policy',
    run(slot) {
      policy.decide(slot);
      return true;
    },
  };
}

/** Something the emit stage writes a trigger to synchronously (a serial line, a GPIO, a ring). */
export interface TriggerWriter {
  write(slot: FrameSlot, e2eUs: number): void;
}

/**
 * Emit stage: the trigger write. The end-to-end latency is measured at the moment of the
 * write, so what the metrics call e2e is arrival-to-trigger.
 */
export function emitStage(ring: TriggerRing, clock: Clock, writers: readonly TriggerWriter[] = []): FrameStage {
  return {
    name: 'emit',
    run(slot: FrameSlot) {
      if (!slot.triggered) return true;
      // The trigger-write instant; the stage skeleton stamps the stage end again after it.
      clock.stamp(slot.stampsNs, STAMP.emit);
      const ingest = slot.stampsNs[STAMP_INGEST];
      const e2eUs = (slot.stampsNs[STAMP.emit] - ingest) / 1000;
      for (let i = 0; i < writers.length; i++) writers[i].write(slot, e2eUs);
      ring.push(slot, e2eUs);
      return true;
    },
  };
}
