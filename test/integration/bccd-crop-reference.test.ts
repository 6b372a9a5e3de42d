import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BCCD_DEFAULT_CROP, bccdSplitIds, readRgbJpeg, readVocObjects } from '../../host/src/modalities/cells/bccd.js';
import { decodeNpy, encodeNpy } from '../../host/src/datasets/npy.js';
import { cropSquare, type Box } from '../../host/src/modalities/cells/crop.js';
import { SHARED, tempDir } from '../support/fixtures.js';
import { runPython } from '../support/python.js';

/**
 * The camera crop that makes BCCD's frames (crop.ts) against PyTorch's `F.grid_sample`
 * (bilinear, `align_corners=False`, `padding_mode='border'`: half-pixel sampling, edges
 * repeated), on the annotated boxes of real BCCD images, cells at the image border included.
 * The reference returns unrounded values and the crop rounds to uint8, so every pixel must
 * lie within 0.5 of the reference (+1e-4: it comes back as float32, one ulp at 255 is 1.5e-5).
 */
const BCCD = join(SHARED, 'cells', 'bccd');
const IMAGES = 3;
// Per job: the image [H, W, 3] and boxes [n, 4] (xmin, ymin, xmax, ymax); writes [n, s, s, 3].
const GRID_SAMPLE = `
import json, sys
import numpy as np, torch
import torch.nn.functional as F
torch.set_num_threads(1)
for job in json.load(open(sys.argv[1])):
    img = torch.from_numpy(np.load(job["image"])).double().permute(2, 0, 1)[None]
    _, _, h, w = img.shape
    s, pad, out = job["size"], job["pad"], []
    for xmin, ymin, xmax, ymax in job["boxes"]:
        side = max(xmax - xmin, ymax - ymin) * pad
        cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
        # Centres of the s output pixels in source pixel coordinates, then normalised the
        # way grid_sample reads them with align_corners=False: u = (2 * x + 1) / w - 1.
        t = (torch.arange(s, dtype=torch.float64) + 0.5) * side / s - side / 2
        gx, gy = (2 * (cx + t - 0.5) + 1) / w - 1, (2 * (cy + t - 0.5) + 1) / h - 1
        grid = torch.stack(torch.meshgrid(gy, gx, indexing="ij")[::-1], -1)[None]
        out.append(F.grid_sample(img, grid, mode="bilinear", padding_mode="border", align_corners=False)[0])
    np.save(job["out"], torch.stack(out).permute(0, 2, 3, 1).float().contiguous().numpy())
`;

interface Job {
  name: string;
  rgb: Uint8Array;
  width: number;
  height: number;
  boxes: Box[];
  size: number;
  pad: number;
}

function jobsOf(ids: string[]): Job[] {
  const half = BCCD_DEFAULT_CROP.windowPx / 2;
  return ids.flatMap((id) => {
    const img = readRgbJpeg(join(BCCD, 'BCCD', 'JPEGImages', `${id}.jpg`));
    const boxes = readVocObjects(BCCD, id).map((o) => o.box).filter((b) => b.xmax > b.xmin && b.ymax > b.ymin);
    // The dataset's crop (fixed window around the box centre) and the general one (box * pad).
    const windows = boxes.map((b) => {
      const [cx, cy] = [(b.xmin + b.xmax) / 2, (b.ymin + b.ymax) / 2];
      return { xmin: cx - half, ymin: cy - half, xmax: cx + half, ymax: cy + half };
    });
    return [
      { name: `${id}-window`, ...img, boxes: windows, size: BCCD_DEFAULT_CROP.frameSize, pad: 1 },
      { name: `${id}-box`, ...img, boxes, size: 48, pad: 1.25 },
    ];
  });
}

describe('BCCD camera crop (crop.ts) against torch grid_sample', { timeout: 180_000 }, () => {
  const dir = tempDir('cropref');
  const jobs = jobsOf(bccdSplitIds(BCCD, 'test').slice(0, IMAGES));
  const spec = jobs.map((j) => {
    const image = join(dir, `${j.name}-img.npy`);
    writeFileSync(image, encodeNpy({ dtype: 'uint8', shape: [j.height, j.width, 3], data: j.rgb }));
    const boxes = j.boxes.map((b) => [b.xmin, b.ymin, b.xmax, b.ymax]);
    return { image, boxes, size: j.size, pad: j.pad, out: join(dir, `${j.name}-ref.npy`) };
  });
  writeFileSync(join(dir, 'jobs.json'), JSON.stringify(spec));
  runPython(['-c', GRID_SAMPLE, join(dir, 'jobs.json')]);

  it.each(jobs.map((j, i) => ({ ...j, i })))('$name: every crop within rounding of the reference', ({ i, rgb, width, height, boxes, size, pad }) => {
    const ref = decodeNpy(readFileSync(spec[i].out), spec[i].out);
    expect(ref.shape).toEqual([boxes.length, size, size, 3]);
    const refData = ref.data as Float32Array;
    const frame = new Uint8Array(size * size * 3);
    let maxAbs = 0;
    boxes.forEach((box, k) => {
      cropSquare(rgb, width, height, 3, box, pad, size, frame);
      for (let p = 0; p < frame.length; p++) maxAbs = Math.max(maxAbs, Math.abs(frame[p] - refData[k * frame.length + p]));
    });
    expect(boxes.length).toBeGreaterThan(5);
    expect(maxAbs).toBeLessThanOrEqual(0.5 + 1e-4);
  });
});
