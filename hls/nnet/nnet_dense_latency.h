// nnet_dense_latency.h: dense layer, latency strategy (every multiply unrolled).
//
//   res[j] = result_t( accum_t( bias[j] ) + sum_i accum_t( data[i] * weights[i * n_out + j] ) )
//
// Weights are [n_in][n_out] row-major (the compiler IR's dense layout). Each product is
// formed in full precision (data_T * weight_t) and added to an accum_t accumulator: every
// addition is converted to accum_t by its Q and O modes. With AP_TRN and AP_WRAP on accum_t
// (the defaults) that sum does not depend on the order of the additions, so this strategy and
// nnet_dense_resource.h give bit-identical results (tested in layers.test.ts).
//
// Config: n_in, n_out, reuse_factor (the function-level initiation interval; with the
// multiplier count the tool divides the n_in * n_out products over that many cycles),
// weight_t, bias_t, accum_t.
#ifndef HT_NNET_DENSE_LATENCY_H
#define HT_NNET_DENSE_LATENCY_H

#include "nnet_common.h"

namespace nnet {

template <class data_T, class res_T, typename CONFIG_T>
void dense_latency(const data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_out],
                   const typename CONFIG_T::weight_t weights[CONFIG_T::n_in * CONFIG_T::n_out],
                   const typename CONFIG_T::bias_t biases[CONFIG_T::n_out]) {
  static_assert(dense_config_check<CONFIG_T>::ok, "dense config");

  typename CONFIG_T::accum_t acc[CONFIG_T::n_out];

#pragma HLS PIPELINE II = CONFIG_T::reuse_factor
#pragma HLS ARRAY_PARTITION variable = data complete
#pragma HLS ARRAY_PARTITION variable = res complete
#pragma HLS ARRAY_PARTITION variable = biases complete
#pragma HLS ARRAY_PARTITION variable = weights complete
#pragma HLS ARRAY_PARTITION variable = acc complete

ResetAccum:
  for (int j = 0; j < CONFIG_T::n_out; j++) {
#pragma HLS UNROLL
    acc[j] = biases[j];
  }

InputLoop:
  for (int i = 0; i < CONFIG_T::n_in; i++) {
#pragma HLS UNROLL
  OutputLoop:
    for (int j = 0; j < CONFIG_T::n_out; j++) {
#pragma HLS UNROLL
      acc[j] = acc[j] + data[i] * weights[i * CONFIG_T::n_out + j];
    }
  }

Result:
  for (int j = 0; j < CONFIG_T::n_out; j++) {
#pragma HLS UNROLL
    res[j] = acc[j];
  }
}

}  // namespace nnet

#endif  // HT_NNET_DENSE_LATENCY_H
