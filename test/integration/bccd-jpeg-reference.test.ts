import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bccdSplitIds, readRgbJpeg } from '../../host/src/modalities/cells/bccd.js';
import { decodeNpy } from '../../host/src/datasets/npy.js';
import { SHARED, tempDir } from '../support/fixtures.js';
import { runPython } from '../support/python.js';

/**
 * BCCD's JPEG decoding (jpeg-js, in `readRgbJpeg`) against an independent decoder: PIL, which
 * uses libjpeg(-turbo). The two are not meant to agree pixel for pixel on RGB, and do not:
 *
 * - jpeg-js replicates the 4:2:0 chroma (nearest), libjpeg interpolates it ("fancy
 *   upsampling"), so RGB differs by up to about 20 levels at colour edges;
 * - jpeg-js truncates the YCbCr->RGB result where libjpeg rounds, so jpeg-js's RGB is
 *   about 0.3-0.45 levels darker on average.
 *
 * What must agree is what both decoders compute the same way: luma. Y recomputed from our RGB
 * (BT.601 weights, the JFIF transform's inverse row) lies in (-2, +1] of libjpeg's own Y
 * plane: +-1 for the two IDCTs' rounding, and up to -1 more for the truncation. Pixels with a
 * channel at 0 or 255 may have been clamped, which breaks that identity; they are left out.
 * Each channel's mean also agrees within 1 level. A channel swap, a wrong stride or a wrong
 * alpha skip in `readRgbJpeg` breaks both by many levels.
 */
const BCCD = join(SHARED, 'cells', 'bccd');
const IMAGES = 4;
// Writes, per image, uint8 [H, W, 4]: PIL's RGB, then libjpeg's Y plane (draft('YCbCr')
// keeps the decoder's own YCbCr: no colour conversion).
const PIL_DECODE = `
import sys, numpy as np
from PIL import Image
for src, dst in zip(sys.argv[1::2], sys.argv[2::2]):
    ycc = Image.open(src)
    ycc.draft("YCbCr", ycc.size)
    assert ycc.mode == "YCbCr", ycc.mode
    rgb = np.asarray(Image.open(src).convert("RGB"))
    np.save(dst, np.concatenate([rgb, np.asarray(ycc)[..., :1]], axis=2))
`;

function pilDecode(paths: string[], dir: string): Uint8Array[] {
  const outs = paths.map((_, i) => join(dir, `pil-${i}.npy`));
  runPython(['-c', PIL_DECODE, ...paths.flatMap((p, i) => [p, outs[i]])]);
  return outs.map((o) => decodeNpy(readFileSync(o), o).data as Uint8Array);
}

describe('BCCD JPEG decoding: jpeg-js (readRgbJpeg) against PIL/libjpeg', { timeout: 180_000 }, () => {
  const ids = bccdSplitIds(BCCD, 'test').slice(0, IMAGES);
  const paths = ids.map((id) => join(BCCD, 'BCCD', 'JPEGImages', `${id}.jpg`));
  const pil = pilDecode(paths, tempDir('jpegref'));

  it.each(ids.map((id, i) => ({ id, i })))('luma and channel means agree on $id', ({ i }) => {
    const ours = readRgbJpeg(paths[i]);
    const ref = pil[i];
    expect(ref.length).toBe(ours.width * ours.height * 4);
    let yLo = Infinity;
    let yHi = -Infinity;
    let compared = 0;
    const meanDiff = [0, 0, 0];
    for (let px = 0; px < ours.width * ours.height; px++) {
      const [r, g, b] = [ours.rgb[px * 3], ours.rgb[px * 3 + 1], ours.rgb[px * 3 + 2]];
      for (let c = 0; c < 3; c++) meanDiff[c] += (ours.rgb[px * 3 + c] - ref[px * 4 + c]) / (ours.width * ours.height);
      if (Math.min(r, g, b) === 0 || Math.max(r, g, b) === 255) continue;
      const d = 0.299 * r + 0.587 * g + 0.114 * b - ref[px * 4 + 3];
      yLo = Math.min(yLo, d);
      yHi = Math.max(yHi, d);
      compared++;
    }
    expect(compared).toBeGreaterThan(0.99 * ours.width * ours.height);
    expect(yLo, `Y(ours) - Y(libjpeg) spans [${yLo}, ${yHi}]`).toBeGreaterThan(-2);
    expect(yHi, `Y(ours) - Y(libjpeg) spans [${yLo}, ${yHi}]`).toBeLessThanOrEqual(1 + 1e-9);
    for (const m of meanDiff) expect(Math.abs(m), `channel mean differences ${meanDiff}`).toBeLessThanOrEqual(1);
  });
});
