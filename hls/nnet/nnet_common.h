// nnet_common.h: what every layer template shares: the fixed-point names, the strategy enum,
// and small compile-time helpers (fixed_bits, is_pow2, log2_exact).
//
// Layer configs are structs with static constexpr members and typedefs, read at compile
// time (see README.md for each layer's fields). Every layer checks its config with
// static_assert, so a bad config is a compile error in simulation and in synthesis alike.
#ifndef HT_NNET_COMMON_H
#define HT_NNET_COMMON_H

#include "nnet_types.h"

namespace nnet {

enum strategy { latency, resource };

// Pragmas take integer-constant expressions from the config; this macro keeps the
// `_Pragma` spelling in one place for pragmas whose operand is computed.
#define HT_NNET_PRAGMA(x) _Pragma(#x)


/// The two's complement bits of a fixed-point value as a signed integer (value * 2^F). The
/// table-based layers (sigmoid, tanh, softmax) index their tables with the raw bits of a
/// value converted to an index type; the vendor type has no raw(), so it is read via range().
template <class T>
long long fixed_bits(const T& v) {
#ifdef HT_USE_VENDOR_AP
  ap_int<T::width> r;
  r.range() = v.range();
  return r.to_int64();
#else
  return static_cast<long long>(v.raw());
#endif
}

/// Whether n is a positive power of two (table sizes and ranges must be, so an index is a bit slice).
constexpr bool is_pow2(long long n) { return n > 0 && (n & (n - 1)) == 0; }

/// log2 of a power of two.
constexpr int log2_exact(long long n) { return n <= 1 ? 0 : 1 + log2_exact(n / 2); }

/// The checks both dense strategies make on their config; instantiating it fires them.
template <typename CONFIG_T>
struct dense_config_check {
  static_assert(CONFIG_T::n_in > 0 && CONFIG_T::n_out > 0, "dense: n_in and n_out must be positive");
  static_assert(CONFIG_T::reuse_factor >= 1, "dense: reuse_factor must be >= 1");
  static_assert(CONFIG_T::reuse_factor <= CONFIG_T::n_in * CONFIG_T::n_out,
                "dense: reuse_factor must not exceed n_in * n_out");
  static_assert((CONFIG_T::n_in * CONFIG_T::n_out) % CONFIG_T::reuse_factor == 0,
                "dense: n_in * n_out must be divisible by reuse_factor");
  static constexpr bool ok = true;
};

}  // namespace nnet

#endif  // HT_NNET_COMMON_H
