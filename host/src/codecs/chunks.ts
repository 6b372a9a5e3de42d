import { z } from 'zod';
import { FrameShapeError } from '../core/errors.js';
import { DTYPE_BYTES, type FrameSpec, type FrameSlot } from '../core/frame.js';
import { limits } from '../core/limits.js';
import type { FrameStage } from '../pipeline/stage.js';
import { decoders } from './registry.js';

decoders.register({
  kind: 'chunks',
  summary: 'variable-length chunks of whole samples (PCM): checked for bounds and sample alignment; the preprocessor windows them',
  schema: z.object({ kind: z.literal('chunks') }).strict(),
  create: (_cfg, ctx) => createChunkDecoder(ctx.spec),
});

/** Where a bad chunk is. Built only on error: building it for every chunk cost 56 bytes a chunk
 * on the hot path (bench/alloc-probe.ts on the keyword pipeline). */
function where(spec: FrameSpec, slot: FrameSlot): string {
  return `stream ${spec.stream} frame seq ${slot.seq}`;
}

/**
 * Decoder of a stream of variable-length chunks (16-bit PCM, float samples): checks that the
 * bytes lie inside the source's buffer, are a whole number of samples and at most
 * `frameBytesMax`. The bytes stay where the source put them.
 */
export function createChunkDecoder(spec: FrameSpec): FrameStage {
  const sample = DTYPE_BYTES[spec.dtype];
  return {
    name: 'decode',
    run(slot: FrameSlot): boolean {
      if (slot.rawLength % sample !== 0) throw new FrameShapeError(where(spec, slot), `chunk of ${slot.rawLength} bytes is not a whole number of ${spec.dtype} samples`);
      if (slot.rawLength > limits.frameBytesMax) throw new FrameShapeError(where(spec, slot), `chunk of ${slot.rawLength} bytes exceeds frameBytesMax ${limits.frameBytesMax}`);
      if (slot.rawOffset < 0 || slot.rawOffset + slot.rawLength > slot.raw.length) {
        throw new FrameShapeError(where(spec, slot), `chunk bytes ${slot.rawOffset}..${slot.rawOffset + slot.rawLength} lie outside the source buffer of ${slot.raw.length}`);
      }
      return true;
    },
  };
}
