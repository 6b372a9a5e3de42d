// ht_fixed.h: header-only signed fixed point with Xilinx ap_fixed<W, I, Q, O> semantics.
//
// Written here (no vendor headers) so the CPU simulator is bit-exact with the synthesised
// kernel. Layer templates should not include this file directly: include nnet_types.h,
// which picks this type or the vendor's.
//
// ---------------------------------------------------------------------------------------
// Representation
//   ht::ap_fixed<W, I, Q, O> holds a W-bit two's complement integer `raw`; its value is
//   raw * 2^-F with F = W - I fractional bits. I counts the sign bit. I may exceed W (F < 0:
//   the LSB weighs 2^-F > 1) or be <= 0 (F > W: a small-magnitude number).
//   Supported: 1 <= W <= 64 and -63 <= F <= 63, i.e. W - 63 <= I <= W + 63 (static_assert).
//   Range: min = -2^(W-1) raw, max = 2^(W-1) - 1 raw. The raw is stored as int8_t (W <= 8),
//   int16_t (W <= 16) or int64_t (so an array of ap_fixed<16, 6> is 2 bytes a value) and read
//   as int64_t.
//
// Conversion (from another ap_fixed, an int, or a double) is done on the exact value:
//   1. The source is an exact rational v / 2^Fs. If Fs <= F it is scaled up exactly.
//      Otherwise write it as q + r / 2^d with d = Fs - F, q = floor(v / 2^d), 0 <= r < 2^d,
//      half = 2^(d-1), and pick the target raw by the quantisation mode Q:
//        AP_TRN          q                                    toward minus infinity (default)
//        AP_TRN_ZERO     q + (r != 0 && v < 0)                toward zero
//        AP_RND          q + (r >= half)                      nearest, ties toward +infinity
//        AP_RND_ZERO     q + (r > half || (r == half && v < 0))   ties toward zero
//        AP_RND_MIN_INF  q + (r > half)                       ties toward minus infinity
//        AP_RND_INF      q + (r > half || (r == half && v >= 0))  ties away from zero
//        AP_RND_CONV     q + (r > half || (r == half && q odd))   ties to even
//   2. The quantised integer x (unbounded) is fitted into W bits by the overflow mode O:
//        AP_WRAP      keep the low W bits, sign-extended (default)
//        AP_SAT       x < min -> min, x > max -> max
//        AP_SAT_ZERO  x outside [min, max] -> 0
//        AP_SAT_SYM   clamp to [-max, max]: min itself also becomes -max. For W = 1 the
//                     vendor sets raw = min | 1 = -1, and so do we (lo_sym = min + (W > 1)).
//   AP_WRAP_SM and the saturation-bit count N of the vendor type are not supported.
//   Doubles: the exact binary value of the double is converted as above; +-infinity behave
//   as a value far beyond the range (so AP_WRAP and AP_SAT_ZERO give 0, AP_SAT gives max or
//   min), and so does NaN, by its sign bit (+NaN as +infinity, -NaN as -infinity), which is
//   what the vendor's ap_fixed does (checked against its headers in hls/nnet/vendor.test.ts).
//
// Arithmetic is exact and returns a full-precision type, as ap_fixed does (modes of the
// result are the defaults; they never act because nothing is lost):
//   a + b, a - b : I = max(I1, I2) + 1, F = max(F1, F2), W = I + F
//   a * b        : I = I1 + I2,         W = W1 + W2
//   -a           : I = I1 + 1,          W = W1 + 1
//   A result wider than 64 bits is a compile error (static_assert): cast to a narrower type
//   first. Comparisons are exact across any two types, and with an int (as ap_fixed<32, 32>:
//   layer code writes `x > 0`). Mixed arithmetic with int or double is not provided yet.
//
// Portability: relies on GCC/Clang's __int128, arithmetic >> on negative values, and
// modular unsigned-to-signed conversion (all guaranteed by GCC and Clang).
// ---------------------------------------------------------------------------------------
#ifndef HT_FIXED_H
#define HT_FIXED_H

#include <cmath>
#include <cstdint>
#include <cstring>

namespace ht {

// Numeric values follow the vendor's enums so a mode survives a cast to int either way.
enum ap_q_mode { AP_RND = 0, AP_RND_ZERO, AP_RND_MIN_INF, AP_RND_INF, AP_RND_CONV, AP_TRN, AP_TRN_ZERO };
enum ap_o_mode { AP_SAT = 0, AP_SAT_ZERO, AP_SAT_SYM, AP_WRAP };

namespace detail {

using i128 = __int128;
using u128 = unsigned __int128;

// Left shift without the undefined behaviour of shifting a negative signed value.
constexpr i128 shl(i128 v, int s) { return static_cast<i128>(static_cast<u128>(v) << s); }

constexpr i128 round_bit(ap_q_mode q, bool neg, bool odd, i128 r, i128 half) {
  return q == AP_TRN           ? 0
         : q == AP_TRN_ZERO    ? (neg && r != 0)
         : q == AP_RND         ? (r >= half)
         : q == AP_RND_ZERO    ? (r > half || (r == half && neg))
         : q == AP_RND_MIN_INF ? (r > half)
         : q == AP_RND_INF     ? (r > half || (r == half && !neg))
                               : (r > half || (r == half && odd));  // AP_RND_CONV
}

// v / 2^s quantised by q (s < 0 scales up exactly). Needs |v| <= 2^63; s may be any int.
// Shifts are clamped to keep the i128 in range without changing the final W-bit result
// (W <= 64): a left shift of 64 or more leaves zero low bits and overflows for any v != 0,
// and a right shift of 65 or more leaves floor in {0, -1} with the rest never exactly half.
constexpr i128 quantise(i128 v, int s, ap_q_mode q) {
  if (s <= 0) return shl(v, -s < 64 ? -s : 64);
  const int d = s < 65 ? s : 65;
  const i128 fl = v >> d;
  const i128 r = v - shl(fl, d);
  return fl + round_bit(q, v < 0, (fl & 1) != 0, r, shl(1, d - 1));
}

// Fits the exact integer x into W bits by the overflow mode o.
template <int W>
constexpr int64_t fit(i128 x, ap_o_mode o) {
  constexpr i128 lo = -shl(1, W - 1), hi = shl(1, W - 1) - 1, lo_sym = lo + (W > 1);
  const int64_t wrapped = static_cast<int64_t>(static_cast<uint64_t>(x) << (64 - W)) >> (64 - W);
  return o == AP_WRAP       ? wrapped
         : o == AP_SAT      ? static_cast<int64_t>(x < lo ? lo : x > hi ? hi : x)
         : o == AP_SAT_ZERO ? (x < lo || x > hi ? 0 : wrapped)
                            : static_cast<int64_t>(x < lo_sym ? lo_sym : x > hi ? hi : x);
}

// A finite double is exactly mant * 2^-frac with |mant| < 2^53. frac is clamped to
// [-200, 200], which quantise() maps to the same W-bit result as the true exponent.
// +-infinity give +-2^62 * 2^200, far beyond every range; NaN the same by its sign bit (the
// vendor's ap_fixed saturates a NaN that way: a saturating type gives max for +NaN, min for
// -NaN).
inline void decompose(double v, int64_t& mant, int& frac) {
  if (std::isnan(v) || std::isinf(v)) {
    mant = std::signbit(v) ? -(int64_t{1} << 62) : (int64_t{1} << 62), frac = -200;
  } else {
    int exp = 0;
    mant = static_cast<int64_t>(std::ldexp(std::frexp(v, &exp), 53));
    frac = 53 - exp;
    frac = frac > 200 ? 200 : frac < -200 ? -200 : frac;
  }
}

// Storage of the raw: int8_t for W <= 8, int16_t for W <= 16, else int64_t. Values are
// always used as int64_t (raw() widens); storing narrow types narrow makes arrays of 16-bit
// data 2 bytes a value instead of 8, which was most of the simulator's memory traffic
// between layers. Wider types (accumulators) stay int64_t: an int32_t there made the generic
// layer code about 50 % slower (g++ 12 mixes widths badly in the unrolled sums).
template <int W>
struct raw_storage {
  typedef int64_t type;
};
template <>
struct raw_storage<8> {
  typedef int8_t type;
};
template <>
struct raw_storage<16> {
  typedef int16_t type;
};
template <int W>
using raw_storage_t = typename raw_storage<(W <= 8 ? 8 : W <= 16 ? 16 : 64)>::type;

}  // namespace detail

template <int W, int I, ap_q_mode Q = AP_TRN, ap_o_mode O = AP_WRAP>
class ap_fixed {
  static_assert(W >= 1 && W <= 64, "ht::ap_fixed: width W must be in [1, 64]");
  static_assert(W - I >= -63 && W - I <= 63, "ht::ap_fixed: W - I (fractional bits) must be in [-63, 63]");
  static_assert(Q >= AP_RND && Q <= AP_TRN_ZERO, "ht::ap_fixed: unknown quantisation mode");
  static_assert(O >= AP_SAT && O <= AP_WRAP, "ht::ap_fixed: unknown overflow mode (AP_WRAP_SM is unsupported)");

 public:
  static constexpr int width = W;
  static constexpr int iwidth = I;
  static constexpr int fwidth = W - I;
  static constexpr ap_q_mode qmode = Q;
  static constexpr ap_o_mode omode = O;

  constexpr ap_fixed() : raw_(0) {}

  // Exact value raw_in * 2^-frac_in converted by this type's Q and O. Every conversion goes
  // through here; frac_in is a run-time value so test harnesses can reach it directly.
  static constexpr ap_fixed from_scaled(int64_t raw_in, int frac_in) {
    return from_raw_unchecked(detail::fit<W>(detail::quantise(raw_in, frac_in - fwidth, Q), O));
  }
  // Bits as they are: the low W bits of bits, sign-extended (no quantisation, no saturation).
  static constexpr ap_fixed from_raw(int64_t bits) {
    if constexpr (W == 8 * sizeof(storage)) {
      return from_raw_unchecked(static_cast<storage>(static_cast<uint64_t>(bits)));  // the low W bits, modular
    } else {
      return from_raw_unchecked(detail::fit<W>(bits, AP_WRAP));
    }
  }

  template <int W2, int I2, ap_q_mode Q2, ap_o_mode O2>
  constexpr ap_fixed(const ap_fixed<W2, I2, Q2, O2>& other) : raw_(from_scaled(other.raw(), W2 - I2).raw_) {}
  constexpr ap_fixed(int v) : raw_(from_scaled(v, 0).raw_) {}
  constexpr ap_fixed(long v) : raw_(from_scaled(v, 0).raw_) {}
  constexpr ap_fixed(long long v) : raw_(from_scaled(v, 0).raw_) {}
  ap_fixed(double v) : raw_(static_cast<storage>(from_double(v))) {}

  constexpr int64_t raw() const { return raw_; }
  double to_double() const { return std::ldexp(static_cast<double>(raw_), -fwidth); }

  // Full-precision unary minus (one more integer bit, so -min is representable).
  constexpr ap_fixed<W + 1, I + 1> operator-() const {
    static_assert(W + 1 <= 64, "ht::ap_fixed: -a needs W + 1 <= 64 bits; cast first");
    return ap_fixed<W + 1, I + 1>::from_raw(-raw_);
  }

 private:
  static constexpr ap_fixed from_raw_unchecked(int64_t bits) {
    ap_fixed out;
    out.raw_ = static_cast<storage>(bits);  // exact (or, from from_raw, modular: the low W bits)
    return out;
  }
  static int64_t from_double(double v) {
    int64_t mant = 0;
    int frac_in = 0;
    detail::decompose(v, mant, frac_in);
    return from_scaled(mant, frac_in).raw_;
  }

  typedef detail::raw_storage_t<W> storage;
  storage raw_;  // invariant: sign-extended W-bit value
};

// ---- full-precision arithmetic ------------------------------------------------------------

namespace detail {
constexpr int max_int(int a, int b) { return a > b ? a : b; }

template <int W1, int I1, int W2, int I2>
struct result {
  static constexpr int f1 = W1 - I1, f2 = W2 - I2;
  static constexpr int add_i = max_int(I1, I2) + 1, add_f = max_int(f1, f2);
  using add = ap_fixed<add_i + add_f, add_i>;
  using mul = ap_fixed<W1 + W2, I1 + I2>;
  static_assert(add_i + add_f <= 64, "ht::ap_fixed: a + b / a - b would exceed 64 bits; cast first");
};

// Both raws on the common fractional scale f (f >= each operand's), exact in i128.
template <int W, int I>
constexpr i128 aligned(int64_t raw, int f) { return shl(raw, f - (W - I)); }
}  // namespace detail

template <int W1, int I1, ap_q_mode Q1, ap_o_mode O1, int W2, int I2, ap_q_mode Q2, ap_o_mode O2>
constexpr typename detail::result<W1, I1, W2, I2>::add operator+(const ap_fixed<W1, I1, Q1, O1>& a,
                                                                  const ap_fixed<W2, I2, Q2, O2>& b) {
  using R = typename detail::result<W1, I1, W2, I2>::add;
  return R::from_raw(static_cast<int64_t>(detail::aligned<W1, I1>(a.raw(), R::fwidth) +
                                          detail::aligned<W2, I2>(b.raw(), R::fwidth)));
}

template <int W1, int I1, ap_q_mode Q1, ap_o_mode O1, int W2, int I2, ap_q_mode Q2, ap_o_mode O2>
constexpr typename detail::result<W1, I1, W2, I2>::add operator-(const ap_fixed<W1, I1, Q1, O1>& a,
                                                                  const ap_fixed<W2, I2, Q2, O2>& b) {
  using R = typename detail::result<W1, I1, W2, I2>::add;
  return R::from_raw(static_cast<int64_t>(detail::aligned<W1, I1>(a.raw(), R::fwidth) -
                                          detail::aligned<W2, I2>(b.raw(), R::fwidth)));
}

template <int W1, int I1, ap_q_mode Q1, ap_o_mode O1, int W2, int I2, ap_q_mode Q2, ap_o_mode O2>
constexpr ap_fixed<W1 + W2, I1 + I2> operator*(const ap_fixed<W1, I1, Q1, O1>& a, const ap_fixed<W2, I2, Q2, O2>& b) {
  static_assert(W1 + W2 <= 64, "ht::ap_fixed: a * b would exceed 64 bits; cast first");
  return ap_fixed<W1 + W2, I1 + I2>::from_raw(static_cast<int64_t>(static_cast<detail::i128>(a.raw()) * b.raw()));
}

namespace detail {
// Sign of a - b for exact values, without overflow: compare b against floor(a / 2^d) first.
template <int W1, int I1, int W2, int I2>
constexpr int compare(int64_t a, int64_t b) {
  constexpr int d = (W1 - I1) - (W2 - I2);  // a has d more fractional bits than b
  if constexpr (d < 0) {
    return -compare<W2, I2, W1, I1>(b, a);
  } else {
    const i128 fl = static_cast<i128>(a) >> d;
    const bool has_rest = (static_cast<i128>(a) - shl(fl, d)) != 0;
    return fl < b ? -1 : fl > b ? 1 : has_rest ? 1 : 0;
  }
}
}  // namespace detail

#define HT_FIXED_COMPARE(OP)                                                                             \
  template <int W1, int I1, ap_q_mode Q1, ap_o_mode O1, int W2, int I2, ap_q_mode Q2, ap_o_mode O2>     \
  constexpr bool operator OP(const ap_fixed<W1, I1, Q1, O1>& a, const ap_fixed<W2, I2, Q2, O2>& b) { \
    return detail::compare<W1, I1, W2, I2>(a.raw(), b.raw()) OP 0;                                      \
  }                                                                                                      \
  template <int W1, int I1, ap_q_mode Q1, ap_o_mode O1>                                                  \
  constexpr bool operator OP(const ap_fixed<W1, I1, Q1, O1>& a, int b) {                                 \
    return detail::compare<W1, I1, 32, 32>(a.raw(), b) OP 0;                                             \
  }                                                                                                      \
  template <int W2, int I2, ap_q_mode Q2, ap_o_mode O2>                                                  \
  constexpr bool operator OP(int a, const ap_fixed<W2, I2, Q2, O2>& b) {                                 \
    return detail::compare<32, 32, W2, I2>(a, b.raw()) OP 0;                                             \
  }
HT_FIXED_COMPARE(<)
HT_FIXED_COMPARE(<=)
HT_FIXED_COMPARE(>)
HT_FIXED_COMPARE(>=)
HT_FIXED_COMPARE(==)
HT_FIXED_COMPARE(!=)
#undef HT_FIXED_COMPARE

}  // namespace ht

#endif  // HT_FIXED_H
