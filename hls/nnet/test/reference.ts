/**
 * Exact BigInt reference for ap_fixed<W, I, Q, O> conversion and arithmetic, written from
 * the mode definitions (nearest candidates and a tie rule), not from ht_fixed.h's bit
 * tricks, so the two implementations can disagree when one is wrong.
 */

/** Quantisation modes, numbered as in ht_fixed.h (and the vendor's ap_q_mode). */
export const Quant = { RND: 0, RND_ZERO: 1, RND_MIN_INF: 2, RND_INF: 3, RND_CONV: 4, TRN: 5, TRN_ZERO: 6 } as const;
/** Overflow modes, numbered as in ht_fixed.h (and the vendor's ap_o_mode). */
export const Ovf = { SAT: 0, SAT_ZERO: 1, SAT_SYM: 2, WRAP: 3 } as const;

const abs = (x: bigint): bigint => (x < 0n ? -x : x);

/** floor(num / den) for den > 0 (BigInt `/` truncates toward zero). */
function floorDiv(num: bigint, den: bigint): bigint {
  const q = num / den;
  return q * den > num ? q - 1n : q;
}

/**
 * Integer nearest to num/den under quantisation mode q (den > 0). lo <= num/den <= hi are
 * the two neighbouring integers; an exact value needs no choice.
 */
export function quantise(num: bigint, den: bigint, q: number): bigint {
  const lo = floorDiv(num, den);
  const hi = lo + 1n;
  const rest = num - lo * den; // distance to lo, in units of 1/den
  if (rest === 0n) return lo;
  const towardZero = num < 0n ? hi : lo;
  const awayFromZero = num < 0n ? lo : hi;
  if (q === Quant.TRN) return lo;
  if (q === Quant.TRN_ZERO) return towardZero;
  if (2n * rest < den) return lo; // strictly nearer lo
  if (2n * rest > den) return hi; // strictly nearer hi
  switch (q) {
    case Quant.RND:
      return hi;
    case Quant.RND_ZERO:
      return towardZero;
    case Quant.RND_MIN_INF:
      return lo;
    case Quant.RND_INF:
      return awayFromZero;
    case Quant.RND_CONV:
      return lo % 2n === 0n ? lo : hi;
    default:
      throw new Error(`unknown quantisation mode ${q}`);
  }
}

/** Fits integer x into a signed W-bit raw value under overflow mode o. */
export function overflow(x: bigint, w: number, o: number): bigint {
  const max = (1n << BigInt(w - 1)) - 1n;
  const min = -max - 1n;
  switch (o) {
    case Ovf.WRAP:
      return BigInt.asIntN(w, x);
    case Ovf.SAT:
      return x < min ? min : x > max ? max : x;
    case Ovf.SAT_ZERO:
      return x < min || x > max ? 0n : x;
    case Ovf.SAT_SYM: {
      // The vendor sets min | 1 on underflow: -max, or -1 when W = 1 (max = 0).
      const symMin = w > 1 ? -max : -1n;
      return x < symMin ? symMin : x > max ? max : x;
    }
    default:
      throw new Error(`unknown overflow mode ${o}`);
  }
}

/** Raw value of ap_fixed<w, i, q, o> converted from rawIn / 2^fracIn. */
export function convertRef(w: number, i: number, q: number, o: number, fracIn: number, rawIn: bigint): bigint {
  const f = w - i;
  // target raw = rawIn * 2^f / 2^fracIn = num / den, exactly.
  const num = rawIn << BigInt(Math.max(f, 0));
  const den = 1n << BigInt(fracIn + Math.max(-f, 0));
  return overflow(quantise(num, den, q), w, o);
}

/** A fixed-point operand type: W total bits, I integer bits. */
export interface Shape {
  w: number;
  i: number;
}

/** What the harness's arith mode prints for one pair, computed exactly. */
export interface ArithResult {
  mul: bigint;
  add: bigint;
  sub: bigint;
  negA: bigint;
  cmp: string;
  mulShape: Shape;
  addShape: Shape;
}

/** Exact full-precision +, -, *, unary minus and comparisons, with ap_fixed's result shapes. */
export function arithRef(ta: Shape, tb: Shape, rawA: bigint, rawB: bigint): ArithResult {
  const fa = ta.w - ta.i;
  const fb = tb.w - tb.i;
  const f = Math.max(fa, fb);
  const addI = Math.max(ta.i, tb.i) + 1;
  const a = rawA << BigInt(f - fa);
  const b = rawB << BigInt(f - fb);
  const bits = [a < b, a <= b, a > b, a >= b, a === b, a !== b].map((x) => (x ? '1' : '0')).join('');
  return {
    mul: rawA * rawB,
    add: a + b,
    sub: a - b,
    negA: -rawA,
    cmp: bits,
    mulShape: { w: ta.w + tb.w, i: ta.i + tb.i },
    addShape: { w: addI + f, i: addI },
  };
}

/** Range of a signed W-bit raw value. */
export function rawRange(w: number): { min: bigint; max: bigint } {
  const max = (1n << BigInt(w - 1)) - 1n;
  return { min: -max - 1n, max };
}
