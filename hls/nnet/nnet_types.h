// nnet_types.h: the names every layer template uses for fixed point.
//
// The same layer source builds two ways:
//   * with Vitis HLS (define HT_USE_VENDOR_AP): the vendor's <ap_fixed.h>, for synthesis
//     and for the vendor's C simulation;
//   * everywhere else: ht::ap_fixed from ht_fixed.h, bit-exact with the vendor type for
//     the modes it supports (see the rule table at the top of ht_fixed.h).
// Layer code writes `ap_fixed<16, 6>` or `ap_fixed<16, 6, AP_RND_CONV, AP_SAT>` at global
// or namespace scope and never names `ht::` directly.
#ifndef HT_NNET_TYPES_H
#define HT_NNET_TYPES_H

#ifdef HT_USE_VENDOR_AP

#include <ap_fixed.h>

#else  // !HT_USE_VENDOR_AP

#include "ht_fixed.h"

using ht::ap_o_mode;
using ht::ap_q_mode;

using ht::AP_RND;
using ht::AP_RND_CONV;
using ht::AP_RND_INF;
using ht::AP_RND_MIN_INF;
using ht::AP_RND_ZERO;
using ht::AP_TRN;
using ht::AP_TRN_ZERO;

using ht::AP_SAT;
using ht::AP_SAT_SYM;
using ht::AP_SAT_ZERO;
using ht::AP_WRAP;

template <int W, int I, ap_q_mode Q = AP_TRN, ap_o_mode O = AP_WRAP>
using ap_fixed = ht::ap_fixed<W, I, Q, O>;

#endif  // HT_USE_VENDOR_AP

#endif  // HT_NNET_TYPES_H
