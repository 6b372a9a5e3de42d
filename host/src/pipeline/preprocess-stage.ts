import { copyFrameHeader, type FrameSlot } from '../core/frame.js';
import type { FrameOutlet, StreamPreprocessor } from '../preprocess/stream-preprocessor.js';
import { assert } from '../core/assert.js';
import type { FrameStage } from './stage.js';

/**
 * Preprocess stage: raw frame bytes -> the model inputs. A stateless preprocessor writes the
 * input slot's tensors and passes it on; a stateful one (audio windows) may keep the frame
 * and emit frames derived from it, each in a fresh slot of `frames`.
 */
export function preprocessStage(pre: StreamPreprocessor, frames: { acquire(): FrameSlot }): FrameStage {
  const outlet: FrameOutlet = {
    derive(from) {
      const s = frames.acquire();
      copyFrameHeader(from, s);
      return s;
    },
  };
  return {
    name: 'preprocess',
    run(slot, emit) {
      assert(emit !== undefined, 'the stage skeleton passes emit');
      return pre.run(slot, outlet, emit);
    },
  };
}
