import { z } from 'zod';
import { assert } from '../../core/assert.js';
import { FitsError, FrameValueError } from '../../core/errors.js';
import type { FrameSlot } from '../../core/frame.js';
import { limits } from '../../core/limits.js';
import { preprocessors, type StreamPreprocessor } from '../../preprocess/stream-preprocessor.js';
import { createFitsImage, decodeFits, type FitsImage } from './fits.js';
import { gunzipInto, isGzip } from './gunzip.js';
import { slotAlert, type AlertView, type Cutouts } from './types.js';

/**
 * The cutout triplet of an alert as a model input: CHW float32 [3, S, S] (science, template,
 * difference). Each stamp: gunzip when it starts with the gzip magic (ZTF), else plain FITS
 * (Rubin); NaN, BLANK and infinite pixels -> 0; centre crop or zero-pad to `stamp` (63, ZTF's
 * side), then centre crop to `size` (S); divided by its own L2 (Frobenius) norm, as ZTF's
 * braai does (an all-zero stamp stays zero). The norm is that of the S x S crop, so every
 * channel the model sees has unit norm (with S = 63, exactly braai's). Python twin for
 * training: models/train/alerts_cutouts.py.
 */
export const cutoutsSpecSchema = z
  .object({
    kind: z.literal('cutouts'),
    /** The side every stamp is centre-cropped or zero-padded to first. */
    stamp: z.number().int().min(1).max(limits.fitsStampSidePixelsMax).default(63),
    /** S: the model's input side, a centre crop of the stamp (chosen with the real/bogus model). */
    size: z.number().int().min(1).max(limits.fitsStampSidePixelsMax).default(63),
    /** What a model card states beside them (every card's preprocessing names its frames and input). */
    frame: z.object({ shape: z.null(), dtype: z.literal('uint8') }).strict().optional(),
    input: z.object({ shape: z.array(z.number().int()) }).strict().optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.size > s.stamp) ctx.addIssue({ code: 'custom', path: ['size'], message: `must be at most stamp (${s.stamp}): the input is a centre crop of the stamp` });
    if (s.input !== undefined && s.input.shape.join(',') !== `3,${s.size},${s.size}`) ctx.addIssue({ code: 'custom', path: ['input', 'shape'], message: `must be [3, ${s.size}, ${s.size}] (the triplet at size ${s.size})` });
  });

export type CutoutsSpec = Pick<z.infer<typeof cutoutsSpecSchema>, 'stamp' | 'size'>;

/** The stamps in channel order, with their Avro field names (for messages). */
export const CUTOUT_CHANNELS = [
  ['science', 'cutoutScience'],
  ['template', 'cutoutTemplate'],
  ['difference', 'cutoutDifference'],
] as const satisfies readonly (readonly [keyof Cutouts, string])[];

/** Buffers `cutoutTriplet` works in: the inflated stamp and its decoded pixels. */
export interface CutoutScratch {
  readonly inflated: Uint8Array;
  readonly image: FitsImage;
}

/** Scratch for stamps up to limits.fitsStampBytesMax inflated and fitsStampSidePixelsMax a side. */
export function createCutoutScratch(): CutoutScratch {
  return { inflated: new Uint8Array(limits.fitsStampBytesMax), image: createFitsImage() };
}

/** Names a stamp in error messages; called only when a stamp fails. */
export type StampWhere = (stamp: string) => string;
const stampOnly: StampWhere = (stamp) => stamp;

/** `err` (a FitsError about `stamp`) again, at `whereOf(stamp)`. */
function placed(err: unknown, stamp: string, whereOf: StampWhere): unknown {
  if (!(err instanceof FitsError) || whereOf === stampOnly) return err;
  return new FitsError(whereOf(stamp), err.message.slice(`${err.code} at ${err.where}: `.length), { cause: err });
}

/**
 * Decodes one stamp into scratch.image, from scratch.inflated: a gzip stamp (ZTF) is inflated
 * there, a plain one (Rubin) copied there (under a microsecond), so the reader's DataView is
 * always the one over that buffer and nothing is allocated per alert.
 */
export function decodeStamp(bytes: Uint8Array, scratch: CutoutScratch, stamp: string): FitsImage {
  if (isGzip(bytes)) return decodeFits(scratch.inflated, scratch.image, stamp, gunzipInto(bytes, scratch.inflated, stamp));
  if (bytes.length > scratch.inflated.length) throw new FitsError(stamp, `a plain stamp of ${bytes.length} bytes exceeds fitsStampBytesMax ${limits.fitsStampBytesMax}`);
  scratch.inflated.set(bytes);
  return decodeFits(scratch.inflated, scratch.image, stamp, bytes.length);
}

/** Where index 0 of the `stamp`-sided frame lies in an axis of `n` pixels (centre crop: >= 0; centre pad: < 0). */
function frameStart(n: number, stamp: number): number {
  return n >= stamp ? (n - stamp) >> 1 : -((stamp - n) >> 1);
}

/**
 * Centre crop/pad of `img` into out[at .. at + S*S), non-finite -> 0, divided by its L2 norm.
 * Output (y, x) reads pixel (y0 + y, x0 + x); the columns inside the image are [xa, xb), the
 * rest of the plane stays zero (the pad).
 */
function cropNormalise(img: FitsImage, S: number, stamp: number, out: Float32Array, at: number): void {
  const w = img.width, h = img.height, px = img.pixels, off = (stamp - S) >> 1;
  const y0 = off + frameStart(h, stamp), x0 = off + frameStart(w, stamp);
  const xa = Math.max(0, -x0), xb = Math.min(S, w - x0);
  out.fill(0, at, at + S * S);
  let sumSq = 0;
  for (let y = Math.max(0, -y0), yb = Math.min(S, h - y0); y < yb; y++) {
    const src = (y0 + y) * w + x0, row = at + y * S;
    for (let x = xa; x < xb; x++) {
      let v = px[src + x]!;
      if (v - v !== 0) v = 0; // NaN and infinities (v - v is NaN only for those)
      out[row + x] = v;
      sumSq += v * v;
    }
  }
  if (sumSq === 0) return;
  const inv = 1 / Math.sqrt(sumSq);
  for (let i = at, end = at + S * S; i < end; i++) out[i] = out[i]! * inv;
}

/**
 * Writes the triplet of `cutouts` into out[0 .. 3*S*S) as CHW (science, template,
 * difference). Pure: reads only its arguments; works in `scratch` (allocates nothing with the
 * native gunzip). Throws FrameValueError when a stamp is missing and FitsError when one
 * cannot be inflated or read, each at `whereOf(stamp)` (default: the stamp's field name).
 */
export function cutoutTriplet(cutouts: Cutouts, spec: CutoutsSpec, out: Float32Array, scratch: CutoutScratch, whereOf: StampWhere = stampOnly): void {
  const plane = spec.size * spec.size;
  assert(out.length >= 3 * plane && spec.size <= spec.stamp, 'cutout triplet output holds [3, size, size] and size <= stamp');
  for (let c = 0; c < 3; c++) {
    const [key, stamp] = CUTOUT_CHANNELS[c]!;
    const bytes = cutouts[key];
    if (bytes === null) throw new FrameValueError(whereOf(stamp), `the alert has no ${stamp} stamp: the cutout triplet needs all three`);
    let img: FitsImage;
    try {
      img = decodeStamp(bytes, scratch, stamp);
    } catch (err) {
      throw placed(err, stamp, whereOf);
    }
    cropNormalise(img, spec.size, spec.stamp, out, c * plane);
  }
}

/** The `cutouts` preprocessor: the triplet of the alert each frame carries (slotAlert) into its first model input. */
export function createCutoutsPreprocessor(spec: CutoutsSpec): StreamPreprocessor {
  const scratch = createCutoutScratch();
  let alert: AlertView | null = null;
  // One closure for the preprocessor's life: the stamp's place is built only when one fails.
  const whereOf: StampWhere = (stamp) => `${alert?.source ?? 'alert'} record ${alert?.index ?? '?'} ${stamp}`;
  return {
    frame: { shape: null, dtype: 'uint8' },
    inputElements: [3 * spec.size * spec.size],
    framesPerInputMax: 1,
    run(slot: FrameSlot) {
      alert = slotAlert(slot);
      cutoutTriplet(alert.cutouts, spec, slot.inputs[0]!, scratch, whereOf);
      return true;
    },
    reset() {},
    write(slot: FrameSlot, inputs: readonly Float32Array[], first: number) {
      alert = slotAlert(slot);
      cutoutTriplet(alert.cutouts, spec, inputs[first]!, scratch, whereOf);
    },
  };
}

preprocessors.register({
  kind: 'cutouts',
  summary: 'alert cutout triplet (science, template, difference): gunzip, FITS, centre crop, L2 norm -> [3, size, size]',
  schema: cutoutsSpecSchema,
  create: (spec) => createCutoutsPreprocessor(spec as CutoutsSpec),
});
