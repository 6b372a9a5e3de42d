import { z } from 'zod';
import { FrameShapeError } from '../core/errors.js';
import { frameBytes, type FrameSpec, type FrameSlot } from '../core/frame.js';
import type { FrameStage } from '../pipeline/stage.js';
import { decoders } from './registry.js';

/**
 * Decoder of fixed-size frames (cell crops, feature vectors, any stream whose frames all have
 * one shape and dtype): checks that the bytes a source handed over are exactly one frame of
 * the stream's shape and dtype and that the label, if any, is one of the stream's. The bytes stay where the source put them (no copy); preprocess reads them.
 */
export function createFixedFrameDecoder(spec: FrameSpec): FrameStage {
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

decoders.register({
  kind: 'fixed',
  summary: 'fixed-size frames of the stream\'s shape and dtype (camera crops, feature vectors)',
  schema: z.object({ kind: z.literal('fixed') }).strict(),
  create: (_cfg, ctx) => createFixedFrameDecoder(ctx.spec),
});
