/**
 * Precision config of a compiled model: the `ap_fixed` type of every layer's weights, biases,
 * accumulator and result, as a model default plus per-layer overrides by IR layer name.
 *
 * Accumulators are held to AP_TRN / AP_WRAP: the layer templates (hls/nnet/README.md) rely on
 * that for sums that do not depend on the order of the additions, so the two dense strategies
 * and every reuse factor give the same bits. Any other mode on an accumulator is refused.
 */
import { ConfigError } from '../../host/src/core/errors.js';
import type { ValueRange } from './interpret.js';
import { IR_INPUT, isMacLayer } from './ir.js';
import type { Ir, Layer } from './ir.js';

export const Q_MODES = ['AP_TRN', 'AP_TRN_ZERO', 'AP_RND', 'AP_RND_ZERO', 'AP_RND_MIN_INF', 'AP_RND_INF', 'AP_RND_CONV'] as const;
export const O_MODES = ['AP_WRAP', 'AP_SAT', 'AP_SAT_ZERO', 'AP_SAT_SYM'] as const;
export type QMode = (typeof Q_MODES)[number];
export type OMode = (typeof O_MODES)[number];

/** `ap_fixed<width, integer, rounding, saturation>`; fractional bits = width - integer. */
export interface FixedType {
  readonly width: number;
  readonly integer: number;
  readonly rounding: QMode;
  readonly saturation: OMode;
}

/** Limits of hls/nnet/ht_fixed.h (the simulator's type), which the writer must not exceed. */
export const fixedWidthMin = 1;
export const fixedWidthMax = 64;
export const fixedFracBitsMax = 63;

const TYPE_RE = /^\s*ap_fixed\s*<\s*(-?\d+)\s*,\s*(-?\d+)\s*(?:,\s*(\w+)\s*(?:,\s*(\w+)\s*)?)?>\s*$/;
const ALLOWED = `ap_fixed<W,I[,Q[,O]]> with ${fixedWidthMin} <= W <= ${fixedWidthMax}, |W - I| <= ${fixedFracBitsMax}, ` +
  `Q one of ${Q_MODES.join('/')}, O one of ${O_MODES.join('/')}`;

/**
 * Parses `ap_fixed<16,6>` or `ap_fixed<16,6,AP_RND_CONV,AP_SAT>`. Anything else (other
 * spellings, `ap_ufixed`, widths the simulator type refuses, unknown modes) throws
 * `ConfigError` whose `where` is `field` and whose message lists what is allowed.
 */
export function parseFixedType(text: string, field: string): FixedType {
  const m = TYPE_RE.exec(text);
  if (m === null) throw new ConfigError(field, `'${text}' is not a fixed-point type; allowed: ${ALLOWED}`);
  const width = Number(m[1]);
  const integer = Number(m[2]);
  const rounding = (m[3] ?? 'AP_TRN') as QMode;
  const saturation = (m[4] ?? 'AP_WRAP') as OMode;
  if (width < fixedWidthMin || width > fixedWidthMax || Math.abs(width - integer) > fixedFracBitsMax) {
    throw new ConfigError(field, `'${text}' has W=${width}, I=${integer} out of range; allowed: ${ALLOWED}`);
  }
  if (!Q_MODES.includes(rounding)) throw new ConfigError(field, `'${text}' has unknown rounding mode ${rounding}; allowed: ${Q_MODES.join(', ')}`);
  if (!O_MODES.includes(saturation)) throw new ConfigError(field, `'${text}' has unknown overflow mode ${saturation}; allowed: ${O_MODES.join(', ')}`);
  return { width, integer, rounding, saturation };
}

/** Prints the C++ spelling; default modes (AP_TRN, AP_WRAP) are left out, as `parseFixedType` reads them. */
export function printFixedType(t: FixedType): string {
  if (t.saturation !== 'AP_WRAP') return `ap_fixed<${t.width},${t.integer},${t.rounding},${t.saturation}>`;
  if (t.rounding !== 'AP_TRN') return `ap_fixed<${t.width},${t.integer},${t.rounding}>`;
  return `ap_fixed<${t.width},${t.integer}>`;
}

/** Fractional bits of `t` (the LSB is 2^-frac). */
export function fracBits(t: FixedType): number {
  return t.width - t.integer;
}

/** Types of one layer. Layers without weights use only `accum` (average pools) and `result`. */
export interface LayerPrecision {
  readonly weight: FixedType;
  readonly bias: FixedType;
  readonly accum: FixedType;
  readonly result: FixedType;
}

/** Per-layer override as written in a config file: type strings, plus result modes on their own. */
export interface LayerPrecisionSpec {
  readonly weight?: string;
  readonly bias?: string;
  readonly accum?: string;
  readonly result?: string;
  /** Replaces the rounding mode of the result type (default or overridden). */
  readonly resultRounding?: string;
  /** Replaces the overflow mode of the result type. */
  readonly resultSaturation?: string;
}

export interface PrecisionSpec {
  /** Model default for all four; each default field falls back to the built-in one. */
  readonly default?: LayerPrecisionSpec;
  /** Type of the model input; default: the default result type. */
  readonly input?: string;
  /** Overrides keyed by IR layer name (`conv2d_0`, `dense_1`). */
  readonly layers?: Readonly<Record<string, LayerPrecisionSpec>>;
}

export interface PrecisionConfig {
  readonly input: FixedType;
  readonly default: LayerPrecision;
  readonly layers: ReadonlyMap<string, LayerPrecision>;
}

export const DEFAULT_DATA_TYPE = 'ap_fixed<16,6>';
/**
 * Layer outputs (and the input) saturate by default: the zoo's students were trained with
 * saturating quantisation (QAT, see their cards), and in a trigger an activation that wraps
 * round flips sign and can fire on anything. Weights and biases keep AP_WRAP (they are known
 * at compile time; --profile shows any that do not fit) and accumulators must (sums that do
 * not depend on their order).
 */
export const DEFAULT_RESULT_TYPE = 'ap_fixed<16,6,AP_TRN,AP_SAT>';
export const DEFAULT_ACCUM_TYPE = 'ap_fixed<32,12>';

function resolveLayer(spec: LayerPrecisionSpec, base: LayerPrecision, where: string): LayerPrecision {
  const known = new Set(['weight', 'bias', 'accum', 'result', 'resultRounding', 'resultSaturation']);
  for (const k of Object.keys(spec)) {
    if (!known.has(k)) throw new ConfigError(`${where}.${k}`, `unknown field; allowed: ${[...known].join(', ')}`);
  }
  const pick = (k: 'weight' | 'bias' | 'accum' | 'result'): FixedType =>
    spec[k] === undefined ? base[k] : parseFixedType(spec[k], `${where}.${k}`);
  const accum = pick('accum');
  if (accum.rounding !== 'AP_TRN' || accum.saturation !== 'AP_WRAP') {
    throw new ConfigError(`${where}.accum`, `'${printFixedType(accum)}': accumulators must use AP_TRN and AP_WRAP ` +
      '(the templates rely on order-independent sums); allowed: ap_fixed<W,I>');
  }
  let result = pick('result');
  if (spec.resultRounding !== undefined) {
    if (!Q_MODES.includes(spec.resultRounding as QMode)) {
      throw new ConfigError(`${where}.resultRounding`, `'${spec.resultRounding}' is not a rounding mode; allowed: ${Q_MODES.join(', ')}`);
    }
    result = { ...result, rounding: spec.resultRounding as QMode };
  }
  if (spec.resultSaturation !== undefined) {
    if (!O_MODES.includes(spec.resultSaturation as OMode)) {
      throw new ConfigError(`${where}.resultSaturation`, `'${spec.resultSaturation}' is not an overflow mode; allowed: ${O_MODES.join(', ')}`);
    }
    result = { ...result, saturation: spec.resultSaturation as OMode };
  }
  return { weight: pick('weight'), bias: pick('bias'), accum, result };
}

/**
 * Resolves a precision spec (from a config file or code) against the built-in defaults
 * (`ap_fixed<16,6>` weights and biases, `ap_fixed<16,6,AP_TRN,AP_SAT>` layer outputs and input,
 * `ap_fixed<32,12>` accumulators). Layer names are not checked
 * here (the IR is not known); `writeProject` refuses overrides for layers the IR lacks.
 * Bad type strings and modes throw `ConfigError` naming the field.
 */
export function resolvePrecision(spec: PrecisionSpec = {}): PrecisionConfig {
  const builtIn: LayerPrecision = {
    weight: parseFixedType(DEFAULT_DATA_TYPE, 'builtin'),
    bias: parseFixedType(DEFAULT_DATA_TYPE, 'builtin'),
    accum: parseFixedType(DEFAULT_ACCUM_TYPE, 'builtin'),
    result: parseFixedType(DEFAULT_RESULT_TYPE, 'builtin'),
  };
  const def = resolveLayer(spec.default ?? {}, builtIn, 'precision.default');
  const layers = new Map<string, LayerPrecision>();
  for (const [name, ls] of Object.entries(spec.layers ?? {})) {
    layers.set(name, resolveLayer(ls, def, `precision.layers.${name}`));
  }
  const input = spec.input === undefined ? def.result : parseFixedType(spec.input, 'precision.input');
  return { input, default: def, layers };
}

/** The types of layer `name`: its override, else the model default. */
export function layerPrecision(config: PrecisionConfig, name: string): LayerPrecision {
  return config.layers.get(name) ?? config.default;
}

/** Default headroom of `precisionFromRanges`, in integer bits above the observed range. */
export const AUTO_HEADROOM_BITS = 2;

export interface CalibrationOptions {
  /** Width of data (input and result) types; default 16. */
  readonly widthBits?: number;
  /** Integer bits added above the observed range, against inputs wider than the calibration
   * set; default 2 (a range 4x the calibration's still fits). */
  readonly headroomBits?: number;
  /** Fractional bits of accumulators (kept at the templates' default of 20 so products are exact). */
  readonly accumFracBits?: number;
  /** Quantisation of the input and result types; default AP_TRN (floor). AP_RND removes
   * floor's bias of -LSB/2 per layer, which a deep network averaged by a pool accumulates
   * (test/integration/dscnn.test.ts: top-1 98.3 % with AP_TRN, 99.6 % with AP_RND). */
  readonly rounding?: 'AP_TRN' | 'AP_RND';
  /** When set (the CPU fast path's 32), multiply-accumulate layers get accumulators of at most
   * this many bits that hold every product exactly: F(accum) = F(data) + F(weight), I(accum)
   * = the result's I + 2, and the weights give up fractional bits where that would not fit.
   * Exact products let the simulator use its paired int16 kernels (nnet_fast.h) instead of
   * flooring each product; AP_WRAP sums need only the final sum to fit. */
  readonly exactAccumBits?: number;
}

function maxAbs(v: Float32Array): number {
  let m = 0;
  for (const x of v) m = Math.max(m, Math.abs(x));
  return m;
}

/** Integer bits (sign included) so that `maxAbs` times 2^headroom fits: at least 1. */
function integerBitsFor(maxAbs: number, headroomBits: number): number {
  if (!(maxAbs > 0)) return 1;
  return Math.max(1, Math.floor(Math.log2(maxAbs)) + 2 + headroomBits);
}

/** The integer bits precisionFromRanges gives the output of `name` (a layer, through
 * reshapes, or IR_INPUT); null without a range. */
function resultIntegerBits(ir: Ir, ranges: ReadonlyMap<string, ValueRange>, name: string, headroom: number): number | null {
  let n = name;
  for (let l = ir.layers.find((x) => x.name === n); l !== undefined && l.kind === 'reshape'; l = ir.layers.find((x) => x.name === n)) n = l.inputs[0]!;
  const r = ranges.get(n);
  return r === undefined ? null : integerBitsFor(Math.max(Math.abs(r.min), Math.abs(r.max)), headroom);
}

/** exactAccumBits' accumulator and weight integer bits for `l` (null without the ranges). */
function exactAccum(ir: Ir, ranges: ReadonlyMap<string, ValueRange>, l: Layer, width: number, headroom: number,
  weightI: number, bitsMax: number): { accum: string; weightI: number } | null {
  const dataI = resultIntegerBits(ir, ranges, l.inputs[0]!, headroom);
  const resI = resultIntegerBits(ir, ranges, l.name, headroom);
  if (dataI === null || resI === null) return null;
  const accI = resI + 2;
  const weightF = Math.min(width - weightI, bitsMax - accI - (width - dataI));
  const accF = width - dataI + weightF;
  return { accum: `ap_fixed<${accI + accF},${accI}>`, weightI: width - weightF };
}

/**
 * A precision spec from observed ranges (`calibrateRanges` over representative inputs): each
 * layer's result and the model input get `ap_fixed<widthBits, I, AP_TRN, AP_SAT>` (or `rounding`) with I the
 * integer bits of the largest magnitude seen plus `headroomBits`; accumulators keep 20 fractional bits and grow
 * their integer part to at least the result's + 2 (12 minimum). Weights and biases of each
 * layer (an unfolded batchnorm's scale and shift) get `ap_fixed<widthBits, I>` with I the integer bits of their largest magnitude (no
 * headroom: they are known exactly). Layers without a range (not run) keep the default. The result is a plain spec,
 * to be printed, edited and passed to `resolvePrecision`.
 */
export function precisionFromRanges(ir: Ir, ranges: ReadonlyMap<string, ValueRange>, options: CalibrationOptions = {}): PrecisionSpec {
  const width = options.widthBits ?? 16;
  const headroom = options.headroomBits ?? AUTO_HEADROOM_BITS;
  const accF = options.accumFracBits ?? 20;
  const typeFor = (name: string): { result: string; accum: string } | null => {
    const r = ranges.get(name);
    if (r === undefined) return null;
    const i = integerBitsFor(Math.max(Math.abs(r.min), Math.abs(r.max)), headroom);
    const accI = Math.max(12, i + 2);
    // Results saturate, as the default's do: beyond the headroom a value clips to the range
    // instead of wrapping round to the other sign.
    return { result: `ap_fixed<${width},${i},${options.rounding ?? 'AP_TRN'},AP_SAT>`, accum: `ap_fixed<${accI + accF},${accI}>` };
  };
  const layers: Record<string, LayerPrecisionSpec> = {};
  for (const l of ir.layers) {
    const t = typeFor(l.name);
    if (t === null || l.kind === 'reshape') continue;
    if (isMacLayer(l) || l.kind === 'batchnorm') {
      // An unfolded batchnorm's scale and shift are its weights and biases.
      const wI = integerBitsFor(maxAbs(l.kind === 'batchnorm' ? l.scale : l.weights), 0);
      const bI = integerBitsFor(maxAbs(l.kind === 'batchnorm' ? l.shift : l.bias), 0);
      const exact = options.exactAccumBits === undefined || !isMacLayer(l) ? null
        : exactAccum(ir, ranges, l, width, headroom, wI, options.exactAccumBits);
      layers[l.name] = { ...t, weight: `ap_fixed<${width},${exact?.weightI ?? wI}>`, bias: `ap_fixed<${width},${bI}>`,
        ...(exact === null ? {} : { accum: exact.accum }) };
    } else {
      layers[l.name] = t;
    }
  }
  const input = typeFor(IR_INPUT);
  return { ...(input === null ? {} : { input: input.result }), layers };
}
