/**
 * Preprocessing as the firmware's first stage: the camera's uint8 pixels (HWC) in, the
 * network's input_t values (CHW) out, so the host hands the frame's bytes straight through.
 *
 * The host's image preprocessing (host/src/preprocess/image.ts) computes, per channel c,
 * `float32(p * scale / std[c] - mean[c] / std[c])` in float64 and the simulator's float entry
 * then converts that float to input_t by its Q and O modes. The firmware computes the same
 * as one fixed-point multiply-add, `res_T(p * gain[c] + offset[c])`, with gain and offset
 * dyadic constants of `fracBits` fractional bits. With only 256 pixel values per channel
 * the compiler checks every one: it picks the fewest fractional bits (and, near the
 * rounded constants, the gain and offset) for which the firmware's value equals the host's
 * for all 256, so the pixel path is bit-exact with the float path, not merely close.
 * `mismatches` counts the values where no such constants were found (0 for every zoo model).
 *
 * Cropping: a frame larger than the model input is centre-cropped (top-left offset
 * floor((H - h) / 2), floor((W - w) / 2)); the host's spec must then say `resize:
 * 'centre-crop'` (a bilinear resize between different sizes is not done in firmware).
 */
import { ModelError } from '../../host/src/core/errors.js';
import type { FixedType, OMode, QMode } from './precision.js';

/** The parts of a card's `preprocessing` the firmware stage reads (image.ts's spec). */
export interface PixelSpec {
  readonly frame: { readonly shape: readonly [number, number, number]; readonly dtype: string };
  readonly input: { readonly shape: readonly [number, number, number] };
  readonly resize: string;
  readonly scale: number;
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/** The firmware preprocessing stage `writeProject` emits (nnet_preprocess.h). */
export interface FirmwarePreprocess {
  /** Camera frame [H, W, C], uint8, HWC. */
  readonly frame: readonly [number, number, number];
  /** Model input [C, h, w]. */
  readonly input: readonly [number, number, number];
  readonly cropTop: number;
  readonly cropLeft: number;
  /** Fractional bits of the gain and offset constants. */
  readonly fracBits: number;
  /** Per channel: gain and offset as integers at 2^-fracBits. */
  readonly gainRaw: readonly number[];
  readonly offsetRaw: readonly number[];
  /** Pixel values (of 256 per channel) where the firmware's input differs from the host's. */
  readonly mismatches: number;
}

/** Fractional bits tried for the constants, fewest first. */
const FRAC_BITS_MIN = 12;
const FRAC_BITS_MAX = 40;
/** How far from the rounded constants (in LSBs) the search looks. */
const GAIN_SPAN_LSB = 2;
const OFFSET_SPAN_LSB = 4;
const PIXEL_VALUES = 256;

/** Whether a card's preprocessing is a uint8 image the firmware can take (else the host keeps it). */
export function isPixelSpec(spec: unknown): spec is PixelSpec {
  const s = spec as Partial<PixelSpec> | null;
  const kind = typeof s === 'object' && s !== null ? (s as { kind?: string }).kind : undefined;
  return typeof s === 'object' && s !== null && (kind === undefined || kind === 'image') && s.frame?.dtype === 'uint8' &&
    Array.isArray(s.frame.shape) && Array.isArray(s.input?.shape) && typeof s.scale === 'number';
}

/**
 * Plans the firmware stage for `spec` with the network's input type `inType`: the crop
 * offsets and the constants (see the file comment). Throws ModelError (`where`) for a spec
 * the firmware cannot run: channels that differ, a frame smaller than the input, or a
 * bilinear resize between different sizes.
 */
export function planPreprocess(spec: PixelSpec, inType: FixedType, where: string): FirmwarePreprocess {
  const [H, W, C] = spec.frame.shape;
  const [Cin, h, w] = spec.input.shape;
  if (Cin !== C || spec.mean.length !== C || spec.std.length !== C) throw new ModelError(where, `frame has ${C} channels, input ${Cin}, mean ${spec.mean.length}, std ${spec.std.length}: they must agree`);
  if (H < h || W < w) throw new ModelError(where, `frame ${H}x${W} is smaller than the model input ${h}x${w}`);
  if ((H !== h || W !== w) && spec.resize !== 'centre-crop') {
    throw new ModelError(where, `resize "${spec.resize}" from ${H}x${W} to ${h}x${w} is not done in firmware; only a centre crop is (resize: "centre-crop")`);
  }
  const gainRaw: number[] = [];
  const offsetRaw: number[] = [];
  let fracBits = FRAC_BITS_MIN;
  let mismatches = 0;
  const chans = Array.from({ length: C }, (_, c) => ({ g: spec.scale / spec.std[c]!, o: -spec.mean[c]! / spec.std[c]! }));
  // One fracBits for every channel (one gain and one offset type): the fewest that fit all.
  for (fracBits = FRAC_BITS_MIN; fracBits <= FRAC_BITS_MAX; fracBits++) {
    const found = chans.map(({ g, o }) => searchConstants(g, o, fracBits, inType));
    if (found.every((f) => f.mismatches === 0) || fracBits === FRAC_BITS_MAX) {
      gainRaw.push(...found.map((f) => f.gain));
      offsetRaw.push(...found.map((f) => f.offset));
      mismatches = found.reduce((a, f) => a + f.mismatches, 0);
      break;
    }
  }
  return { frame: [H, W, C], input: [C, h, w], cropTop: Math.floor((H - h) / 2), cropLeft: Math.floor((W - w) / 2), fracBits, gainRaw, offsetRaw, mismatches };
}

/** The host's input_t raw value of pixel `p`: float64 multiply-add, float32 store, then T's Q and O. */
export function hostInputRaw(p: number, gain: number, offset: number, t: FixedType): number {
  return quantiseRaw(Math.fround(p * gain + offset) * 2 ** (t.width - t.integer), t);
}

/** The firmware's input_t raw value of pixel `p`: the exact p * G + O at 2^-F, then T's Q and O. */
export function firmwareInputRaw(p: number, gainRaw: number, offsetRaw: number, fracBits: number, t: FixedType): number {
  return quantiseRaw((p * gainRaw + offsetRaw) * 2 ** (t.width - t.integer - fracBits), t);
}

function searchConstants(g: number, o: number, fracBits: number, t: FixedType): { gain: number; offset: number; mismatches: number } {
  const target = Array.from({ length: PIXEL_VALUES }, (_, p) => hostInputRaw(p, g, o, t));
  const g0 = Math.round(g * 2 ** fracBits);
  const o0 = Math.round(o * 2 ** fracBits);
  let best = { gain: g0, offset: o0, mismatches: PIXEL_VALUES + 1 };
  for (let dg = 0; dg <= 2 * GAIN_SPAN_LSB; dg++) {
    // 0, +1, -1, +2, -2: the rounded constant first.
    const gain = g0 + (dg % 2 === 1 ? (dg + 1) / 2 : -dg / 2);
    for (let dof = 0; dof <= 2 * OFFSET_SPAN_LSB; dof++) {
      const offset = o0 + (dof % 2 === 1 ? (dof + 1) / 2 : -dof / 2);
      let bad = 0;
      for (let p = 0; p < PIXEL_VALUES && bad < best.mismatches; p++) if (firmwareInputRaw(p, gain, offset, fracBits, t) !== target[p]) bad++;
      if (bad < best.mismatches) best = { gain, offset, mismatches: bad };
      if (bad === 0) return best;
    }
  }
  return best;
}

/**
 * `scaled` (an exact value times 2^F of T) quantised by T's Q mode and fitted by its O mode,
 * as hls/nnet/ht_fixed.h converts (its rule table). `scaled` must be exact in a double.
 */
export function quantiseRaw(scaled: number, t: FixedType): number {
  const q = Math.floor(scaled);
  const r = scaled - q;
  const half = r === 0.5;
  const up: Record<QMode, boolean> = {
    AP_TRN: false,
    AP_TRN_ZERO: r !== 0 && scaled < 0,
    AP_RND: r >= 0.5,
    AP_RND_ZERO: r > 0.5 || (half && scaled < 0),
    AP_RND_MIN_INF: r > 0.5,
    AP_RND_INF: r > 0.5 || (half && scaled >= 0),
    AP_RND_CONV: r > 0.5 || (half && q % 2 !== 0),
  };
  return fitRaw(q + (up[t.rounding] ? 1 : 0), t.width, t.saturation);
}

function fitRaw(x: number, width: number, mode: OMode): number {
  const lo = -(2 ** (width - 1));
  const hi = 2 ** (width - 1) - 1;
  if (x >= lo && x <= hi) return x;
  switch (mode) {
    case 'AP_SAT': return x < lo ? lo : hi;
    case 'AP_SAT_ZERO': return 0;
    case 'AP_SAT_SYM': return x < lo ? (width > 1 ? lo + 1 : lo) : hi;
    default: {
      const m = 2 ** width;
      const low = ((x % m) + m) % m;
      return low > hi ? low - m : low;
    }
  }
}

/** Bits (with sign) that hold every value of `raws` (integers). */
export function signedBits(raws: readonly number[]): number {
  let bits = 1;
  for (const v of raws) while (v < -(2 ** (bits - 1)) || v > 2 ** (bits - 1) - 1) bits++;
  return bits;
}

/**
 * Cycles the pixel stage adds to the network's latency: fully unrolled, one registered
 * multiply by a constant (8-bit pixel times the gain) and one registered add and cast. The
 * initiation interval does not change (the stage is pipelined at II 1).
 */
export const PREPROCESS_LATENCY_CYCLES = 2;

/** A latency estimate with the pixel stage in front. */
export function withPreprocessLatency<E extends { latencyCycles: number; latencyUs: number }>(est: E, clockMhz: number): E {
  const latencyCycles = est.latencyCycles + PREPROCESS_LATENCY_CYCLES;
  return { ...est, latencyCycles, latencyUs: latencyCycles / clockMhz };
}
