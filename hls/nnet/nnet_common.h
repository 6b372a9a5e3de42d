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

}  // namespace nnet

#endif  // HT_NNET_COMMON_H
