// nnet_common.h: what every layer template shares: the fixed-point names and the strategy enum.
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
