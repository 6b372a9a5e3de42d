// nnet_argmax.h: index of the largest of n_in values (the trigger's class decision).
//
//   argmax<data_T, CONFIG_T>(data, index)        index = the least i with data[i] == max
//   argmax<data_T, res_T, CONFIG_T>(data, res)   res[0] = res_T(that index), for a layer
//                                                chain that ends in a one-value output
// Ties go to the lowest index (compared exactly, strict >), as numpy.argmax and the host's
// argmax do, so the firmware and the host agree on every tie.
//
// Config: n_in, reuse_factor (the initiation interval).
#ifndef HT_NNET_ARGMAX_H
#define HT_NNET_ARGMAX_H

#include "nnet_common.h"

namespace nnet {

template <class data_T, typename CONFIG_T>
void argmax(const data_T data[CONFIG_T::n_in], int& index) {
  static_assert(CONFIG_T::n_in > 0, "argmax: n_in must be positive");
  static_assert(CONFIG_T::reuse_factor >= 1, "argmax: reuse_factor must be >= 1");
#pragma HLS PIPELINE II = CONFIG_T::reuse_factor
  data_T best = data[0];
  int best_i = 0;
ArgmaxLoop:
  for (int i = 1; i < CONFIG_T::n_in; i++) {
#pragma HLS UNROLL
    if (data[i] > best) {
      best = data[i];
      best_i = i;
    }
  }
  index = best_i;
}

template <class data_T, class res_T, typename CONFIG_T>
void argmax(const data_T data[CONFIG_T::n_in], res_T res[1]) {
  int index = 0;
  argmax<data_T, CONFIG_T>(data, index);
  res[0] = index;
}

}  // namespace nnet

#endif  // HT_NNET_ARGMAX_H
