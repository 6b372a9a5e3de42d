import { FrameShapeError } from '../core/errors.js';
import { frameBytes, type FrameSpec, type FrameSlot } from '../core/frame.js';
import type { FrameStage } from '../pipeline/stage.js';

/**
 * Decoder of raw image frames (cell crops): checks that the bytes a source handed over are
 * exactly one frame of the stream's shape and dtype and that the label, if any, is one of
 * the stream's. The pixels stay where the source put them (no copy); preprocess reads them.
 */
export function createImageFrameDecoder(spec: FrameSpec): FrameStage {
  const bytes = frameBytes(spec);
  const classes = spec.labels?.length ?? 0;
  return {
    name: 'decode',
    run(slot: FrameSlot): boolean {
      if (slot.rawLength !== bytes) {
        throw new FrameShapeError(`stream ${spec.stream} frame seq ${slot.seq}`, `frame has ${slot.rawLength} bytes; shape [${spec.shape.join(', ')}] ${spec.dtype} needs ${bytes}`);
      }
      if (slot.rawOffset < 0 || slot.rawOffset + bytes > slot.raw.length) {
        throw new FrameShapeError(`stream ${spec.stream} frame seq ${slot.seq}`, `frame bytes ${slot.rawOffset}..${slot.rawOffset + bytes} lie outside the source buffer of ${slot.raw.length}`);
      }
      if (slot.label >= classes) {
        throw new FrameShapeError(`stream ${spec.stream} frame seq ${slot.seq}`, `label index ${slot.label} is not one of the stream's ${classes} labels`);
      }
      return true;
    },
  };
}
