import { assert } from '../../core/assert.js';

/** A detection box in pixel coordinates of the source image (inclusive min, exclusive max). */
export interface Box {
  xmin: number;
  ymin: number;
  xmax: number;
  ymax: number;
}

/**
 * Cuts the square window centred on `box` (side = longer box side * `pad`) out of an HWC
 * uint8 image and resamples it bilinearly (half-pixel centres) into an `size` x `size` x C
 * frame at `out[offset..]`. Pixels outside the image repeat the nearest edge, as a sorter's
 * camera crop at the channel wall would. This is the "camera crop" that turns a detection
 * into a frame; what the model sees is then `createPreprocessor` applied to the frame.
 */
export function cropSquare(
  img: Uint8Array, imgW: number, imgH: number, channels: number,
  box: Box, pad: number, size: number, out: Uint8Array, offset = 0,
): void {
  assert(box.xmax > box.xmin && box.ymax > box.ymin, 'crop box has positive area');
  assert(out.length >= offset + size * size * channels, 'crop output fits');
  const side = Math.max(box.xmax - box.xmin, box.ymax - box.ymin) * pad;
  const cx = (box.xmin + box.xmax) / 2;
  const cy = (box.ymin + box.ymax) / 2;
  const step = side / size;
  const x0 = cx - side / 2;
  const y0 = cy - side / 2;
  for (let y = 0; y < size; y++) {
    const sy = clamp(y0 + (y + 0.5) * step - 0.5, 0, imgH - 1);
    const ly = Math.floor(sy);
    const hy = Math.min(ly + 1, imgH - 1);
    const fy = sy - ly;
    for (let x = 0; x < size; x++) {
      const sx = clamp(x0 + (x + 0.5) * step - 0.5, 0, imgW - 1);
      const lx = Math.floor(sx);
      const hx = Math.min(lx + 1, imgW - 1);
      const fx = sx - lx;
      for (let c = 0; c < channels; c++) {
        const p00 = img[(ly * imgW + lx) * channels + c];
        const p01 = img[(ly * imgW + hx) * channels + c];
        const p10 = img[(hy * imgW + lx) * channels + c];
        const p11 = img[(hy * imgW + hx) * channels + c];
        const v = (p00 + (p01 - p00) * fx) * (1 - fy) + (p10 + (p11 - p10) * fx) * fy;
        out[offset + (y * size + x) * channels + c] = Math.round(v);
      }
    }
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
