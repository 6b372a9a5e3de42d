import { frameDetails, type FrameDetail } from '../../codecs/frame-detail.js';
import { frameBytes, type FrameSpec } from '../../core/frame.js';
import { FrameShapeError } from '../../core/errors.js';
import type { TriggerView } from '../../server/api-types.js';

/**
 * The cells' trigger view: the crop as the camera delivered it (uint8 pixels, row-major HWC,
 * before any preprocessing), so the operator sees the cell the sorter fired on. Applies to
 * any stream of fixed-size uint8 images ([height, width] or [height, width, channels]).
 */
export function cropDetail(spec: Pick<FrameSpec, 'shape' | 'dtype' | 'stream'>): FrameDetail {
  const [height, width, channels = 1] = spec.shape;
  const bytes = frameBytes(spec);
  return {
    keeps: 'raw',
    sizeMax: bytes,
    view(kept): TriggerView {
      if (kept.length !== bytes) throw new FrameShapeError(`stream ${spec.stream}`, `kept ${kept.length} bytes of a crop of ${bytes}`);
      return { kind: 'image', width: width!, height: height!, channels, pixels: Array.from(kept) };
    },
  };
}

/** Whether frames of `spec` are images: uint8, two or three axes. */
export function isImageFrame(spec: Pick<FrameSpec, 'shape' | 'dtype'>): boolean {
  return spec.dtype === 'uint8' && (spec.shape.length === 2 || spec.shape.length === 3) && spec.shape.every((d) => d > 0);
}

frameDetails.register({
  name: 'cells crop',
  applies: (ctx) => ctx.decoder.kind === 'fixed' && isImageFrame(ctx.spec),
  create: (ctx) => cropDetail(ctx.spec),
});
