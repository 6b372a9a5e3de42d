// fixed_types.cc: compile-time checks of ht_fixed.h, built with -fsyntax-only by
// hls/nnet/fixed.test.ts. Compiling is the test: every check is a static_assert.
//   * result types of +, -, *, unary minus have the widths documented in ht_fixed.h;
//   * a few hand-derived conversions, through the constexpr template constructor;
//   * nnet_types.h exposes the vendor's spellings.
// Built with -DHT_EXPECT_FAIL_<name>, one of the blocks at the end must NOT compile: the
// test checks that the guard static_asserts fire.
#include <cstdint>
#include <type_traits>

#include "nnet_types.h"

namespace {

template <class T, int W, int I>
constexpr bool has_shape = T::width == W && T::iwidth == I;

using A = ap_fixed<16, 6>;
using B = ap_fixed<8, 3>;
using C = ap_fixed<12, -2>;  // F = 14
using D = ap_fixed<4, 8>;    // F = -4: LSB weighs 16

// Addition: I = max + 1, F = max.
static_assert(has_shape<decltype(A() + B()), 17, 7>, "16.6 + 8.3 -> 17.7");
static_assert(has_shape<decltype(A() - B()), 17, 7>, "16.6 - 8.3 -> 17.7");
static_assert(has_shape<decltype(A() + C()), 21, 7>, "F = 14, I = 7");
static_assert(has_shape<decltype(C() + D()), 23, 9>, "F = 14, I = 9");
// Multiplication: W = W1 + W2, I = I1 + I2.
static_assert(has_shape<decltype(A() * A()), 32, 12>, "16.6 * 16.6 -> 32.12");
static_assert(has_shape<decltype(A() * C()), 28, 4>, "16.6 * 12.-2 -> 28.4");
static_assert(has_shape<decltype(C() * D()), 16, 6>, "12.-2 * 4.8 -> 16.6");
static_assert(has_shape<decltype(-B()), 9, 4>, "-8.3 -> 9.4");
// A dense accumulator: a sum of 16.6 products grows one integer bit per addition level.
static_assert(has_shape<decltype(A() * A() + A() * A()), 33, 13>, "sum of two products");
// Results use the default modes.
static_assert(decltype(A() * B())::qmode == AP_TRN && decltype(A() * B())::omode == AP_WRAP, "defaults");
static_assert(std::is_same<ap_fixed<16, 6>, ht::ap_fixed<16, 6, ht::AP_TRN, ht::AP_WRAP>>::value, "alias");

// Hand-derived conversions. Source: 8.3 with F = 5 (raw r means r / 32).
template <ap_q_mode Q, ap_o_mode O = AP_WRAP>
constexpr long long to_8_3(long long raw_num, int frac_in) {
  return ap_fixed<8, 3, Q, O>::from_scaled(raw_num, frac_in).raw();
}
// +0.078125 = 5/64 = 2.5 LSB of 8.3: a tie.
static_assert(to_8_3<AP_TRN>(5, 6) == 2 && to_8_3<AP_TRN_ZERO>(5, 6) == 2, "trunc +2.5");
static_assert(to_8_3<AP_RND>(5, 6) == 3 && to_8_3<AP_RND_ZERO>(5, 6) == 2, "rnd +2.5");
static_assert(to_8_3<AP_RND_MIN_INF>(5, 6) == 2 && to_8_3<AP_RND_INF>(5, 6) == 3, "rnd +2.5");
static_assert(to_8_3<AP_RND_CONV>(5, 6) == 2 && to_8_3<AP_RND_CONV>(7, 6) == 4, "conv +2.5, +3.5");
// -2.5 LSB.
static_assert(to_8_3<AP_TRN>(-5, 6) == -3 && to_8_3<AP_TRN_ZERO>(-5, 6) == -2, "trunc -2.5");
static_assert(to_8_3<AP_RND>(-5, 6) == -2 && to_8_3<AP_RND_ZERO>(-5, 6) == -2, "rnd -2.5");
static_assert(to_8_3<AP_RND_MIN_INF>(-5, 6) == -3 && to_8_3<AP_RND_INF>(-5, 6) == -3, "rnd -2.5");
static_assert(to_8_3<AP_RND_CONV>(-5, 6) == -2, "conv -2.5");
// Range of 8.3 is [-4, 3.96875]. +4.0, -5.0 and -4.0 (= min) given as integers (frac 0).
static_assert(to_8_3<AP_TRN, AP_WRAP>(4, 0) == -128 && to_8_3<AP_TRN, AP_SAT>(4, 0) == 127, "+4");
static_assert(to_8_3<AP_TRN, AP_SAT_ZERO>(4, 0) == 0 && to_8_3<AP_TRN, AP_SAT_SYM>(4, 0) == 127, "+4");
static_assert(to_8_3<AP_TRN, AP_WRAP>(-5, 0) == 96 && to_8_3<AP_TRN, AP_SAT>(-5, 0) == -128, "-5");
static_assert(to_8_3<AP_TRN, AP_SAT_ZERO>(-5, 0) == 0 && to_8_3<AP_TRN, AP_SAT_SYM>(-5, 0) == -127, "-5");
static_assert(to_8_3<AP_TRN, AP_SAT>(-4, 0) == -128 && to_8_3<AP_TRN, AP_SAT_SYM>(-4, 0) == -127, "min");
// Rounding can carry into overflow: 3.984375 rounds up to 4.0.
static_assert(to_8_3<AP_RND, AP_SAT>(255, 6) == 127 && to_8_3<AP_RND, AP_WRAP>(255, 6) == -128, "carry");

// The template constructor and the int constructor go through the same rules.
constexpr ap_fixed<4, 8, AP_RND> from_int_40 = 40;  // 40 / 16 = 2.5 LSB
static_assert(from_int_40.raw() == 3 && ap_fixed<4, 8>(40).raw() == 2, "F < 0 from int");
static_assert(ap_fixed<8, 3, AP_RND_CONV>(ap_fixed<16, 6>::from_raw(80)).raw() == 2, "80/1024 = 2.5/32");
static_assert(ap_fixed<8, 3, AP_RND_CONV>(ap_fixed<16, 6>::from_raw(112)).raw() == 4, "112/1024 = 3.5/32");
static_assert(ap_fixed<16, 6>(ap_fixed<8, 3>::from_raw(-128)).raw() == -4096, "widening is exact");
// Scaling up by 64 or more bits: every bit leaves a 64-bit word (wrap gives 0).
static_assert(ap_fixed<64, 1>(ap_fixed<4, 8>::from_raw(1)).raw() == 0, "16.0 << 67 wraps to 0");
static_assert(ap_fixed<64, 1, AP_TRN, AP_SAT>(ap_fixed<4, 8>::from_raw(-1)).raw() == INT64_MIN, "saturates");
// from_raw keeps the low W bits.
static_assert(ap_fixed<8, 3>::from_raw(0x17f).raw() == 127 && ap_fixed<8, 3>::from_raw(0x80).raw() == -128, "raw");
// Comparisons and arithmetic are exact across scales.
static_assert(ap_fixed<8, 3>::from_raw(16) == ap_fixed<16, 6>::from_raw(512), "0.5 == 0.5");
static_assert(ap_fixed<8, 3>::from_raw(16) < ap_fixed<16, 6>::from_raw(513), "0.5 < 0.5 + 2^-10");
static_assert(ap_fixed<4, 8>::from_raw(1) > ap_fixed<12, -2>::from_raw(2047), "16 > 0.1249");
static_assert((ap_fixed<8, 3>::from_raw(-128) * ap_fixed<8, 3>::from_raw(-128)).raw() == 16384, "-4 * -4");
static_assert(ap_fixed<8, 3>::from_raw(1) > 0 && !(ap_fixed<8, 3>::from_raw(-1) >= 0), "relu's test, 1/32 > 0");
static_assert(ap_fixed<8, 3>::from_raw(-1) < 0 && 0 > ap_fixed<8, 3>::from_raw(-1), "-1/32 < 0");
static_assert(ap_fixed<4, 8>::from_raw(2) == 32 && -1 < ap_fixed<12, -2>::from_raw(-2048), "int on either side");
static_assert((-ap_fixed<8, 3>::from_raw(-128)).raw() == 128, "-min fits");

}  // namespace

#ifdef HT_EXPECT_FAIL_WIDTH
ap_fixed<65, 1> too_wide;
#endif
#ifdef HT_EXPECT_FAIL_FRACTION
ap_fixed<8, -60> too_small;  // F = 68
#endif
#ifdef HT_EXPECT_FAIL_PRODUCT
auto too_wide_product = ap_fixed<40, 10>() * ap_fixed<40, 10>();
#endif
#ifdef HT_EXPECT_FAIL_SUM
auto too_wide_sum = ap_fixed<64, 60>() + ap_fixed<64, 4>();
#endif
