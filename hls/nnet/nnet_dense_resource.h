// nnet_dense_resource.h: dense layer, resource strategy (reuse factor R).
//
// Same arithmetic as nnet_dense_latency.h (products in full precision, accumulated in accum_t
// starting from the bias, cast to res_T), with n_in * n_out / R multipliers each used R times:
// the ReuseLoop is pipelined at II = 1 and runs R iterations; iteration r multiplies the
// weights with flat index k = r + b * R for b in [0, n_in * n_out / R). Weights are
// [n_in][n_out] row-major, so k names input k / n_out and output k % n_out. The order of the
// additions differs from the latency strategy; with AP_TRN / AP_WRAP on accum_t the results
// are bit-identical (tested in layers.test.ts).
//
// Config: n_in, n_out, reuse_factor, weight_t, bias_t, accum_t.
#ifndef HT_NNET_DENSE_RESOURCE_H
#define HT_NNET_DENSE_RESOURCE_H

#include "nnet_common.h"

namespace nnet {

template <class data_T, class res_T, typename CONFIG_T>
void dense_resource(const data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_out],
                    const typename CONFIG_T::weight_t weights[CONFIG_T::n_in * CONFIG_T::n_out],
                    const typename CONFIG_T::bias_t biases[CONFIG_T::n_out]) {
  static_assert(dense_config_check<CONFIG_T>::ok, "dense config");
  constexpr int n_weights = CONFIG_T::n_in * CONFIG_T::n_out;
  constexpr int block_factor = n_weights / CONFIG_T::reuse_factor;

  typename CONFIG_T::accum_t acc[CONFIG_T::n_out];

#pragma HLS ARRAY_PARTITION variable = data complete
#pragma HLS ARRAY_PARTITION variable = res complete
#pragma HLS ARRAY_PARTITION variable = biases complete
#pragma HLS ARRAY_PARTITION variable = acc complete
  HT_NNET_PRAGMA(HLS ARRAY_RESHAPE variable = weights block factor = block_factor)

ResetAccum:
  for (int j = 0; j < CONFIG_T::n_out; j++) {
#pragma HLS UNROLL
    acc[j] = biases[j];
  }

ReuseLoop:
  for (int r = 0; r < CONFIG_T::reuse_factor; r++) {
#pragma HLS PIPELINE II = 1 rewind
  MultLoop:
    for (int b = 0; b < block_factor; b++) {
#pragma HLS UNROLL
      const int k = r + b * CONFIG_T::reuse_factor;
      const int i = k / CONFIG_T::n_out;
      const int j = k % CONFIG_T::n_out;
      acc[j] = acc[j] + data[i] * weights[k];
    }
  }

Result:
  for (int j = 0; j < CONFIG_T::n_out; j++) {
#pragma HLS UNROLL
    res[j] = acc[j];
  }
}

}  // namespace nnet

#endif  // HT_NNET_DENSE_RESOURCE_H
