import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import jpeg from 'jpeg-js';
import { CaptureFormatError } from '../../core/errors.js';
import { cropSquare, type Box } from './crop.js';

/** Classes of BCCD, in label-index order. */
export const BCCD_LABELS = ['RBC', 'WBC', 'Platelets'] as const;
export type Split = 'train' | 'val' | 'test';

/** How a detection box becomes a frame. */
export interface BccdCropOptions {
  /** Side of the frame in pixels. */
  frameSize: number;
  /**
   * Side of the square field of view cut around each box centre, in source pixels. Fixed,
   * not fitted to the box: a cytometer images every cell at one magnification, so size
   * (platelet 30 px, red cell 100 px, white cell 200 px here) stays a cue for the model.
   */
  windowPx: number;
}

export const BCCD_DEFAULT_CROP: BccdCropOptions = { frameSize: 32, windowPx: 128 };

/** Frames of one split: `frames` holds `count` HWC uint8 RGB crops back to back. */
export interface BccdSplit {
  split: Split;
  count: number;
  frames: Uint8Array;
  labels: Int8Array;
  /** Source image of each frame (so a test can check no image spans two splits). */
  images: string[];
  /** Boxes skipped, by reason (unknown class name, degenerate box). */
  skipped: Record<string, number>;
}

/** Image ids of a split from BCCD's official `ImageSets/Main/<split>.txt`. */
export function bccdSplitIds(root: string, split: Split): string[] {
  const path = join(root, 'BCCD', 'ImageSets', 'Main', `${split}.txt`);
  return readFileSync(path, 'utf8').split(/\r?\n/).map((s) => s.trim()).filter((s) => s.length > 0);
}

interface VocObject {
  name: string;
  box: Box;
}

/** Reads the Pascal VOC annotation of one image. */
export function readVocObjects(root: string, id: string): VocObject[] {
  const path = join(root, 'BCCD', 'Annotations', `${id}.xml`);
  const doc = new XMLParser({ isArray: (name) => name === 'object' }).parse(readFileSync(path, 'utf8'));
  const objects: unknown[] = doc?.annotation?.object ?? [];
  return objects.map((o, i) => {
    const obj = o as { name?: unknown; bndbox?: Record<string, unknown> };
    const b = obj.bndbox;
    if (b === undefined) throw new CaptureFormatError(`${path} object ${i}`, 'bndbox missing');
    return {
      name: String(obj.name ?? '').trim(),
      box: { xmin: Number(b.xmin), ymin: Number(b.ymin), xmax: Number(b.xmax), ymax: Number(b.ymax) },
    };
  });
}

/** Decodes a JPEG into HWC RGB bytes. */
export function readRgbJpeg(path: string): { width: number; height: number; rgb: Uint8Array } {
  const img = jpeg.decode(readFileSync(path), { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 256 });
  const rgb = new Uint8Array(img.width * img.height * 3);
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
    rgb[i] = img.data[j];
    rgb[i + 1] = img.data[j + 1];
    rgb[i + 2] = img.data[j + 2];
  }
  return { width: img.width, height: img.height, rgb };
}

/**
 * Crops every annotated box of the images of one official split. Boxes with an unknown class
 * name or no area are skipped and counted (BCCD has a few); nothing else is filtered.
 */
export function loadBccdSplit(root: string, split: Split, crop: BccdCropOptions = BCCD_DEFAULT_CROP): BccdSplit {
  const ids = bccdSplitIds(root, split);
  const frameBytes = crop.frameSize * crop.frameSize * 3;
  const chunks: Uint8Array[] = [];
  const labels: number[] = [];
  const images: string[] = [];
  const skipped: Record<string, number> = {};
  for (const id of ids) {
    const img = readRgbJpeg(join(root, 'BCCD', 'JPEGImages', `${id}.jpg`));
    for (const obj of readVocObjects(root, id)) {
      const label = (BCCD_LABELS as readonly string[]).indexOf(obj.name);
      const { xmin, ymin, xmax, ymax } = obj.box;
      if (label < 0) {
        skipped[`class ${obj.name || '(empty)'}`] = (skipped[`class ${obj.name || '(empty)'}`] ?? 0) + 1;
        continue;
      }
      if (!(xmax > xmin && ymax > ymin)) {
        skipped['degenerate box'] = (skipped['degenerate box'] ?? 0) + 1;
        continue;
      }
      const cx = (xmin + xmax) / 2;
      const cy = (ymin + ymax) / 2;
      const half = crop.windowPx / 2;
      const out = new Uint8Array(frameBytes);
      cropSquare(img.rgb, img.width, img.height, 3, { xmin: cx - half, ymin: cy - half, xmax: cx + half, ymax: cy + half }, 1, crop.frameSize, out);
      chunks.push(out);
      labels.push(label);
      images.push(id);
    }
  }
  const frames = new Uint8Array(chunks.length * frameBytes);
  chunks.forEach((c, i) => frames.set(c, i * frameBytes));
  return { split, count: chunks.length, frames, labels: Int8Array.from(labels), images, skipped };
}
