// fixed_cases: batch driver for the property tests in hls/nnet/fixed.test.ts.
//
//   fixed_cases conv   stdin lines "W I Q O F_in RAW_IN"  -> stdout "RAW_OUT"
//     Converts RAW_IN / 2^F_in to ap_fixed<W, I, Q, O> (Q, O as the ht enum values).
//     The run-time path (from_scaled) answers. For W in {8, 16}, where the same value also
//     reaches the type through the template conversion constructor (F_in 16 or 40) or
//     through a double (|RAW_IN| < 2^53, exact), those answers must agree or it exits 3.
//   fixed_cases arith  stdin lines "A B RAW_A RAW_B"  -> stdout
//     "MUL ADD SUB NEG_A CMP MUL_W MUL_I ADD_W ADD_I" for types kArith[A], kArith[B];
//     CMP is six 0/1 digits for <, <=, >, >=, ==, !=.
//
// Exit codes: 0 ok, 2 malformed input or a type outside the compiled grid (named on stderr),
// 3 two conversion paths disagree. Simulation-only code: never included in a kernel.
#include <array>
#include <cinttypes>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <tuple>
#include <utility>

#include "nnet_types.h"

namespace {

constexpr int kWidths[] = {4, 8, 12, 16, 18, 24, 32};
constexpr int kInts[] = {-2, 0, 1, 4, 6, 8, 16};
constexpr int kNumW = 7, kNumI = 7, kNumQ = 7, kNumO = 4;
constexpr int kConvCells = kNumW * kNumI * kNumQ * kNumO;

[[noreturn]] void fail(int code, const char* what, long long a, long long b) {
  std::fprintf(stderr, "fixed_cases: %s (%lld, %lld)\n", what, a, b);
  std::exit(code);
}

template <class T, int W2, int I2>
void check_template_path(int64_t raw_in, int64_t expected) {
  const T via_ctor = T(ap_fixed<W2, I2>::from_raw(raw_in));
  if (via_ctor.raw() != expected) fail(3, "template ctor disagrees with from_scaled", raw_in, via_ctor.raw());
}

// The cross-checks cost compile time (each path is inlined per cell), so they run on the
// cells with W in {8, 16} only; the conversion core they share is the same code.
constexpr bool cross_checked(int w) { return w == 8 || w == 16; }

template <class T>
void check_double_path(int64_t raw_in, int frac_in, int64_t expected) {
  const int64_t exact_double_max = int64_t{1} << 53;
  if (raw_in >= exact_double_max || raw_in <= -exact_double_max) return;
  const T via_double = T(std::ldexp(static_cast<double>(raw_in), -frac_in));
  if (via_double.raw() != expected) fail(3, "double ctor disagrees with from_scaled", raw_in, via_double.raw());
}

template <int W, int I, int Q, int O>
int64_t convert(int64_t raw_in, int frac_in) {
  using T = ap_fixed<W, I, static_cast<ap_q_mode>(Q), static_cast<ap_o_mode>(O)>;
  const int64_t out = T::from_scaled(raw_in, frac_in).raw();
  if constexpr (cross_checked(W)) {
    if (frac_in == 16) check_template_path<T, 64, 48>(raw_in, out);
    if (frac_in == 40) check_template_path<T, 64, 24>(raw_in, out);
    check_double_path<T>(raw_in, frac_in, out);
  }
  return out;
}

using ConvFn = int64_t (*)(int64_t, int);

template <std::size_t... K>
constexpr std::array<ConvFn, sizeof...(K)> make_conv_table(std::index_sequence<K...>) {
  return {{&convert<kWidths[K / (kNumI * kNumQ * kNumO)], kInts[(K / (kNumQ * kNumO)) % kNumI],
                    static_cast<int>((K / kNumO) % kNumQ), static_cast<int>(K % kNumO)>...}};
}
constexpr auto kConvTable = make_conv_table(std::make_index_sequence<kConvCells>{});

int index_of(const int* list, int n, int value) {
  for (int i = 0; i < n; ++i)
    if (list[i] == value) return i;
  return -1;
}

int run_conv() {
  int w, i, q, o, frac_in;
  long long raw_in;
  while (std::scanf("%d %d %d %d %d %lld", &w, &i, &q, &o, &frac_in, &raw_in) == 6) {
    const int wi = index_of(kWidths, kNumW, w), ii = index_of(kInts, kNumI, i);
    if (wi < 0 || ii < 0) fail(2, "W, I not in the compiled grid", w, i);
    if (q < 0 || q >= kNumQ || o < 0 || o >= kNumO) fail(2, "unknown Q, O", q, o);
    if (frac_in < 1 || frac_in > 40) fail(2, "F_in outside [1, 40]", frac_in, 0);
    const int cell = ((wi * kNumI + ii) * kNumQ + q) * kNumO + o;
    std::printf("%" PRId64 "\n", kConvTable[cell](raw_in, frac_in));
  }
  if (!std::feof(stdin)) fail(2, "malformed conv line", 0, 0);
  return 0;
}

// ---- arithmetic --------------------------------------------------------------------------

using A0 = ap_fixed<16, 6>;
using A1 = ap_fixed<8, 3>;
using A2 = ap_fixed<18, 8>;
using A3 = ap_fixed<12, -2>;
using A4 = ap_fixed<24, 30>;
using A5 = ap_fixed<32, 16>;
constexpr int kNumArith = 6;
template <int K>
using ArithT = std::tuple_element_t<K, std::tuple<A0, A1, A2, A3, A4, A5>>;

template <class TA, class TB>
void arith(int64_t raw_a, int64_t raw_b) {
  const TA a = TA::from_raw(raw_a);
  const TB b = TB::from_raw(raw_b);
  if (a.raw() != raw_a || b.raw() != raw_b) fail(2, "raw outside the operand's W bits", raw_a, raw_b);
  const auto prod = a * b;
  const auto sum = a + b;
  std::printf("%" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %d%d%d%d%d%d %d %d %d %d\n", prod.raw(), sum.raw(),
              (a - b).raw(), (-a).raw(), a < b, a <= b, a > b, a >= b, a == b, a != b, prod.width, prod.iwidth,
              sum.width, sum.iwidth);
}

using ArithFn = void (*)(int64_t, int64_t);
template <std::size_t... K>
constexpr std::array<ArithFn, sizeof...(K)> make_arith_table(std::index_sequence<K...>) {
  return {{&arith<ArithT<K / kNumArith>, ArithT<K % kNumArith>>...}};
}
constexpr auto kArithTable = make_arith_table(std::make_index_sequence<kNumArith * kNumArith>{});

int run_arith() {
  int ta, tb;
  long long raw_a, raw_b;
  while (std::scanf("%d %d %lld %lld", &ta, &tb, &raw_a, &raw_b) == 4) {
    if (ta < 0 || ta >= kNumArith || tb < 0 || tb >= kNumArith) fail(2, "arith type index", ta, tb);
    kArithTable[ta * kNumArith + tb](raw_a, raw_b);
  }
  if (!std::feof(stdin)) fail(2, "malformed arith line", 0, 0);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "conv") == 0) return run_conv();
  if (argc == 2 && std::strcmp(argv[1], "arith") == 0) return run_arith();
  std::fprintf(stderr, "usage: fixed_cases conv|arith < cases\n");
  return 2;
}
