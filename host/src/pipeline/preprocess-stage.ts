import { copyFrameHeader, type FrameSlot } from '../core/frame.js';
import type { FrameOutlet, StreamPreprocessor } from '../preprocess/stream-preprocessor.js';
import { assert } from '../core/assert.js';
import type { FrameStage } from './stage.js';
import type { PixelRoute } from './pixel-path.js';

/**
 * Preprocess stage: raw frame bytes -> the model inputs. A stateless preprocessor writes the
 * input slot's tensors and passes it on; a stateful one (audio windows) may keep the frame
 * and emit frames derived from it, each in a fresh slot of `frames`.
 */
export function preprocessStage(pre: StreamPreprocessor, frames: { acquire(): FrameSlot }, pixels: PixelRoute | null = null): FrameStage {
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
      // The firmware in force preprocesses: the frame's bytes go through as they are.
      if (pixels !== null && pixels()) return true;
      return pre.run(slot, outlet, emit);
    },
  };
}
