// nnet_activation.h: element-wise activations.
//
//   relu        res[i] = data[i] > 0 ? res_T(data[i]) : 0
//   leaky_relu  res[i] = data[i] > 0 ? res_T(data[i]) : res_T(data[i] * alpha_t(alpha))
//               (the product in full precision, then one cast to res_T)
//
// Config: n_in, reuse_factor (the initiation interval); leaky_relu also alpha (a double,
// converted once to alpha_t by alpha_t's Q and O modes) and alpha_t.
// Sigmoid and tanh (lookup tables) are not written yet.
#ifndef HT_NNET_ACTIVATION_H
#define HT_NNET_ACTIVATION_H

#include "nnet_common.h"

namespace nnet {

template <class data_T, class res_T, typename CONFIG_T>
void relu(const data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in]) {
  static_assert(CONFIG_T::n_in > 0, "relu: n_in must be positive");
  static_assert(CONFIG_T::reuse_factor >= 1, "relu: reuse_factor must be >= 1");
#pragma HLS PIPELINE II = CONFIG_T::reuse_factor
ReluLoop:
  for (int i = 0; i < CONFIG_T::n_in; i++) {
#pragma HLS UNROLL
    if (data[i] > 0) {
      res[i] = data[i];
    } else {
      res[i] = 0;
    }
  }
}

template <class data_T, class res_T, typename CONFIG_T>
void leaky_relu(const data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in]) {
  static_assert(CONFIG_T::n_in > 0, "leaky_relu: n_in must be positive");
  static_assert(CONFIG_T::reuse_factor >= 1, "leaky_relu: reuse_factor must be >= 1");
  static_assert(CONFIG_T::alpha >= 0.0 && CONFIG_T::alpha < 1.0, "leaky_relu: alpha must be in [0, 1)");
#pragma HLS PIPELINE II = CONFIG_T::reuse_factor
  const typename CONFIG_T::alpha_t alpha = CONFIG_T::alpha;
LeakyReluLoop:
  for (int i = 0; i < CONFIG_T::n_in; i++) {
#pragma HLS UNROLL
    if (data[i] > 0) {
      res[i] = data[i];
    } else {
      res[i] = data[i] * alpha;
    }
  }
}

}  // namespace nnet

#endif  // HT_NNET_ACTIVATION_H
