import { z } from 'zod';
import { assert } from '../core/assert.js';
import { ConfigError, FrameValueError } from '../core/errors.js';
import { limits } from '../core/limits.js';
import { DTYPE_BYTES, type FrameDType } from '../core/frame.js';
import { preprocessors, statelessPreprocessor, withKind } from './stream-preprocessor.js';

/**
 * The one image preprocessing of hairtrigger. The dataset exporter writes training tensors
 * with it and the daemon runs it online, so training and serving cannot disagree; the spec
 * travels in each model's card.json.
 *
 * raw frame (HWC, uint8 or float32) -> bilinear resize (half-pixel centres, as
 * `align_corners=false`; the identity when sizes match) or, with `resize: 'centre-crop'`, the
 * input-sized window at the frame's centre (top-left floor((H - h) / 2), floor((W - w) / 2):
 * what firmware that preprocesses does, hls/nnet/nnet_preprocess.h) -> value * scale -> per
 * channel (x - mean) / std -> model input (CHW float32).
 */
export const preprocessSpecSchema = z
  .object({
    frame: z
      .object({
        shape: z.tuple([z.number().int().min(1), z.number().int().min(1), z.number().int().min(1).max(4)]),
        dtype: z.enum(['uint8', 'float32']),
      })
      .strict(),
    input: z.object({ shape: z.tuple([z.number().int().min(1).max(4), z.number().int().min(1), z.number().int().min(1)]) }).strict(),
    resize: z.enum(['bilinear', 'centre-crop']),
    scale: z.number().positive(),
    mean: z.array(z.number()).min(1).max(4),
    std: z.array(z.number().positive()).min(1).max(4),
  })
  .strict();

export type PreprocessSpec = z.infer<typeof preprocessSpecSchema>;

/** Runs the preprocessing of one frame into a caller-owned tensor. */
export interface Preprocessor<S = PreprocessSpec> {
  readonly spec: S;
  /** Raw bytes of one frame. */
  readonly frameBytes: number;
  /** Elements of the model input tensor (C*h*w). */
  readonly inputElements: number;
  /**
   * Reads one frame from `raw[offset .. offset+frameBytes)` and writes the model input into
   * `out` (length `inputElements`). Never allocates. Throws `FrameValueError` for a NaN or
   * infinite float pixel; the caller guarantees the byte range (the decoder checks it).
   */
  run(raw: Uint8Array, offset: number, out: Float32Array): void;
}

/** Validates `spec` (a ConfigError names the field) and precomputes the resampling tables. */
export function createPreprocessor(spec: unknown, where = 'preprocessing'): Preprocessor {
  const parsed = preprocessSpecSchema.safeParse(spec);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`${where}.${issue.path.join('.')}`, issue.message);
  }
  const s = parsed.data;
  const [H, W, C] = s.frame.shape;
  const [Cin, h, w] = s.input.shape;
  if (Cin !== C) throw new ConfigError(`${where}.input.shape[0]`, `model channels ${Cin} differ from frame channels ${C}`);
  if (s.mean.length !== C || s.std.length !== C) {
    throw new ConfigError(`${where}.mean`, `mean and std need ${C} entries (one per channel), got ${s.mean.length} and ${s.std.length}`);
  }
  const frameBytes = H * W * C * DTYPE_BYTES[s.frame.dtype];
  if (frameBytes > limits.frameBytesMax) throw new ConfigError(`${where}.frame.shape`, `frame of ${frameBytes} bytes exceeds frameBytesMax ${limits.frameBytesMax}`);
  const inputElements = C * h * w;
  if (inputElements > limits.modelInputElementsMax) throw new ConfigError(`${where}.input.shape`, `input of ${inputElements} elements exceeds modelInputElementsMax`);
  const crop = s.resize === 'centre-crop';
  if (crop && (h > H || w > W)) throw new ConfigError(`${where}.input.shape`, `a centre crop of ${h}x${w} does not fit the ${H}x${W} frame`);

  // A centre crop is a resize whose source positions are whole pixels: the tables hold
  // them with zero weights, so the resampling loops cut it out exactly.
  const xs = crop ? cropTable(W, w) : axisTable(W, w);
  const ys = crop ? cropTable(H, h) : axisTable(H, h);
  const gain = new Float64Array(C);
  const offset = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    gain[c] = s.scale / s.std[c];
    offset[c] = -s.mean[c] / s.std[c];
  }
  const read = s.frame.dtype === 'uint8' ? undefined : floatReader();
  const dtype: FrameDType = s.frame.dtype;
  // Same size: the bilinear weights are all zero, so skip the tables (3x faster, same bits).
  const identity = H === h && W === w;
  return {
    spec: s,
    frameBytes,
    inputElements,
    run(raw, base, out) {
      assert(out.length === inputElements, 'preprocess output length matches the model input');
      if (dtype === 'uint8' && identity) scaleU8(raw, base, out, C, h * w, gain, offset);
      else if (dtype === 'uint8') resampleU8(raw, base, out, W, C, h, w, xs, ys, gain, offset);
      else resampleF32(read!(raw), raw.byteOffset + base, out, W, C, h, w, xs, ys, gain, offset);
    },
  };
}

/** Source index pairs and weights for one axis of a half-pixel-centre bilinear resize. */
interface AxisTable {
  lo: Int32Array;
  hi: Int32Array;
  frac: Float64Array;
}

function axisTable(srcLen: number, dstLen: number): AxisTable {
  const lo = new Int32Array(dstLen);
  const hi = new Int32Array(dstLen);
  const frac = new Float64Array(dstLen);
  const ratio = srcLen / dstLen;
  for (let i = 0; i < dstLen; i++) {
    const src = Math.min(Math.max((i + 0.5) * ratio - 0.5, 0), srcLen - 1);
    const l = Math.floor(src);
    lo[i] = l;
    hi[i] = Math.min(l + 1, srcLen - 1);
    frac[i] = src - l;
  }
  return { lo, hi, frac };
}

/** Source index pairs of a centre crop along one axis: dstLen whole pixels from floor((srcLen - dstLen) / 2). */
function cropTable(srcLen: number, dstLen: number): AxisTable {
  const first = Math.floor((srcLen - dstLen) / 2);
  const lo = Int32Array.from({ length: dstLen }, (_, i) => first + i);
  return { lo, hi: lo.slice(), frac: new Float64Array(dstLen) };
}

function scaleU8(raw: Uint8Array, base: number, out: Float32Array, C: number, plane: number, gain: Float64Array, off: Float64Array): void {
  for (let c = 0; c < C; c++) {
    const g = gain[c];
    const o = off[c];
    const dst = c * plane;
    for (let i = 0, src = base + c; i < plane; i++, src += C) out[dst + i] = raw[src] * g + o;
  }
}

function resampleU8(
  raw: Uint8Array, base: number, out: Float32Array, W: number, C: number, h: number, w: number,
  xs: AxisTable, ys: AxisTable, gain: Float64Array, off: Float64Array,
): void {
  const rowStride = W * C;
  for (let c = 0; c < C; c++) {
    const g = gain[c];
    const o = off[c];
    const plane = c * h * w;
    for (let y = 0; y < h; y++) {
      const r0 = base + ys.lo[y] * rowStride + c;
      const r1 = base + ys.hi[y] * rowStride + c;
      const fy = ys.frac[y];
      for (let x = 0; x < w; x++) {
        const a = xs.lo[x] * C;
        const b = xs.hi[x] * C;
        const fx = xs.frac[x];
        const top = raw[r0 + a] + (raw[r0 + b] - raw[r0 + a]) * fx;
        const bot = raw[r1 + a] + (raw[r1 + b] - raw[r1 + a]) * fx;
        out[plane + y * w + x] = (top + (bot - top) * fy) * g + o;
      }
    }
  }
}

function resampleF32(
  dv: DataView, base: number, out: Float32Array, W: number, C: number, h: number, w: number,
  xs: AxisTable, ys: AxisTable, gain: Float64Array, off: Float64Array,
): void {
  const rowStride = W * C * 4;
  for (let c = 0; c < C; c++) {
    const g = gain[c];
    const o = off[c];
    const plane = c * h * w;
    for (let y = 0; y < h; y++) {
      const r0 = base + ys.lo[y] * rowStride + c * 4;
      const r1 = base + ys.hi[y] * rowStride + c * 4;
      const fy = ys.frac[y];
      for (let x = 0; x < w; x++) {
        const a = xs.lo[x] * C * 4;
        const b = xs.hi[x] * C * 4;
        const fx = xs.frac[x];
        const p00 = dv.getFloat32(r0 + a, true);
        const p01 = dv.getFloat32(r0 + b, true);
        const p10 = dv.getFloat32(r1 + a, true);
        const p11 = dv.getFloat32(r1 + b, true);
        // NaN and infinities poison every sum they touch: one check on the result suffices
        // for the pixels that are read; unread pixels cannot change the output.
        const v = ((p00 + (p01 - p00) * fx) * (1 - fy) + (p10 + (p11 - p10) * fx) * fy) * g + o;
        if (!Number.isFinite(v)) throw new FrameValueError('preprocess', `pixel (channel ${c}, y ${y}, x ${x}) of the model input is not finite: the frame holds NaN or infinite values`);
        out[plane + y * w + x] = v;
      }
    }
  }
}

/** Caches one DataView per backing buffer so reading float frames does not allocate per frame. */
function floatReader(): (raw: Uint8Array) => DataView {
  let buf: ArrayBufferLike | undefined;
  let dv: DataView | undefined;
  return (raw) => {
    if (raw.buffer !== buf) {
      buf = raw.buffer;
      dv = new DataView(raw.buffer, 0, raw.buffer.byteLength);
    }
    // The DataView spans the whole buffer, so offsets are absolute: callers pass
    // raw.byteOffset + offset. Keep the view's origin at 0 for that reason.
    return dv!;
  };
}

preprocessors.register({
  kind: 'image',
  summary: 'camera frames (HWC uint8/float32): bilinear resize, scale, per-channel standardisation, CHW',
  schema: withKind('image', preprocessSpecSchema),
  create: (spec, ctx) => {
    const { kind: _kind, ...rest } = spec as PreprocessSpec & { kind: string };
    const pre = createPreprocessor(rest, ctx.where);
    return statelessPreprocessor(pre, pre.spec.frame);
  },
});
