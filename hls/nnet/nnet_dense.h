// nnet_dense.h: dense layer, dispatching on CONFIG_T::strategy (nnet::latency or
// nnet::resource) to nnet_dense_latency.h or nnet_dense_resource.h. Both compute the same
// bits, so the simulation-only fast path (nnet_fast.h) is taken here, once for both; see
// those files for the arithmetic and the config fields.
#ifndef HT_NNET_DENSE_H
#define HT_NNET_DENSE_H

#include "nnet_common.h"
#include "nnet_dense_latency.h"
#include "nnet_dense_resource.h"
#include "nnet_fast.h"

namespace nnet {

template <class data_T, class res_T, typename CONFIG_T>
void dense(const data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_out],
           const typename CONFIG_T::weight_t weights[CONFIG_T::n_in * CONFIG_T::n_out],
           const typename CONFIG_T::bias_t biases[CONFIG_T::n_out]) {
#pragma HLS INLINE
  static_assert(CONFIG_T::strategy == latency || CONFIG_T::strategy == resource, "dense: unknown strategy");
  static_assert(dense_config_check<CONFIG_T>::ok, "dense config");
#ifdef HT_NNET_FAST  // simulation only: bit-exact shortcut, see nnet_fast.h
  if constexpr (fast::mac_fast<data_T, res_T, CONFIG_T>::value) {
    fast::dense_fast<data_T, res_T, CONFIG_T>::run(data, res, weights, biases);
    return;
  }
#endif
  if constexpr (CONFIG_T::strategy == latency) {
    dense_latency<data_T, res_T, CONFIG_T>(data, res, weights, biases);
  } else {
    dense_resource<data_T, res_T, CONFIG_T>(data, res, weights, biases);
  }
}

}  // namespace nnet

#endif  // HT_NNET_DENSE_H
