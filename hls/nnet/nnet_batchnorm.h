// nnet_batchnorm.h: a BatchNormalization the compiler could not fold into a preceding layer.
//
// Layouts (channels first): data and res [n_chan][n_in / n_chan], scale and bias [n_chan].
//   res[c][k] = res_T( accum_t( accum_t(bias[c]) + data[c][k] * scale[c] ) )
// the multiply-accumulate of the other layers with one term: the product in full precision,
// the sum converted to accum_t, then one cast to res_T (scale = gamma / sqrt(var + eps) and
// bias = beta - mean * scale, folded by the compiler in float64).
//
// Config: n_in, n_chan (divides n_in), reuse_factor (the II of the channel loop),
// scale_t, bias_t, accum_t.
#ifndef HT_NNET_BATCHNORM_H
#define HT_NNET_BATCHNORM_H

#include "nnet_common.h"

namespace nnet {

template <class data_T, class res_T, typename CONFIG_T>
void batchnorm(const data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in],
               const typename CONFIG_T::scale_t scale[CONFIG_T::n_chan],
               const typename CONFIG_T::bias_t bias[CONFIG_T::n_chan]) {
  static_assert(CONFIG_T::n_in > 0 && CONFIG_T::n_chan > 0, "batchnorm: n_in and n_chan must be positive");
  static_assert(CONFIG_T::n_in % CONFIG_T::n_chan == 0, "batchnorm: n_chan must divide n_in");
  static_assert(CONFIG_T::reuse_factor >= 1, "batchnorm: reuse_factor must be >= 1");
  constexpr int per_chan = CONFIG_T::n_in / CONFIG_T::n_chan;
#pragma HLS ARRAY_PARTITION variable = scale complete
#pragma HLS ARRAY_PARTITION variable = bias complete
Channel:
  for (int c = 0; c < CONFIG_T::n_chan; c++) {
#pragma HLS PIPELINE II = CONFIG_T::reuse_factor
  Element:
    for (int k = 0; k < per_chan; k++) {
      typename CONFIG_T::accum_t acc = bias[c];
      acc = acc + data[c * per_chan + k] * scale[c];
      res[c * per_chan + k] = acc;
    }
  }
}

}  // namespace nnet

#endif  // HT_NNET_BATCHNORM_H
