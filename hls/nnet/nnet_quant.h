// nnet_quant.h: QONNX quantisers on data (hls/compiler/qonnx.ts has their semantics and
// the mapping of a Quant's bit width, scale and rounding onto res_T).
//
//   quantize       res[i] = res_T(clamp_zero && data[i] < 0 ? 0 : data[i])
//                  res_T rounds (AP_RND_CONV for ROUND, AP_TRN for FLOOR, AP_TRN_ZERO for
//                  ROUND_TO_ZERO) and saturates (AP_SAT, AP_SAT_SYM for narrow) exactly as
//                  the Quant does: round(clamp(x / s)) * s with s = res_T's LSB. An unsigned
//                  Quant sets clamp_zero (res_T has one more bit, for the sign, and the lower
//                  bound 0 is not res_T's).
//   bipolar_quant  res[i] = data[i] >= 0 ? scale : -scale   (BipolarQuant; scale = 2^k)
//
// Config: n_in, reuse_factor; quantize also clamp_zero; bipolar_quant also scale (a double,
// a power of two that res_T holds exactly, checked at compile time where the language allows).
#ifndef HT_NNET_QUANT_H
#define HT_NNET_QUANT_H

#include "nnet_common.h"

namespace nnet {

template <class data_T, class res_T, typename CONFIG_T>
void quantize(const data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in]) {
  static_assert(CONFIG_T::n_in > 0, "quantize: n_in must be positive");
  static_assert(CONFIG_T::reuse_factor >= 1, "quantize: reuse_factor must be >= 1");
#pragma HLS PIPELINE II = CONFIG_T::reuse_factor
QuantizeLoop:
  for (int i = 0; i < CONFIG_T::n_in; i++) {
#pragma HLS UNROLL
    if (CONFIG_T::clamp_zero && data[i] < 0) {
      res[i] = 0;
    } else {
      res[i] = data[i];
    }
  }
}

template <class data_T, class res_T, typename CONFIG_T>
void bipolar_quant(const data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in]) {
  static_assert(CONFIG_T::n_in > 0, "bipolar_quant: n_in must be positive");
  static_assert(CONFIG_T::reuse_factor >= 1, "bipolar_quant: reuse_factor must be >= 1");
  const res_T pos = res_T(CONFIG_T::scale);
  const res_T neg = res_T(-CONFIG_T::scale);
#pragma HLS PIPELINE II = CONFIG_T::reuse_factor
BipolarLoop:
  for (int i = 0; i < CONFIG_T::n_in; i++) {
#pragma HLS UNROLL
    res[i] = data[i] >= 0 ? pos : neg;
  }
}

}  // namespace nnet

#endif  // HT_NNET_QUANT_H
