// nnet_merge.h: element-wise merges of two inputs of the same shape.
//
//   add  res[i] = res_T( data1[i] + data2[i] )   (the sum in full precision, one cast)
//
// Config: n_elem, reuse_factor (the initiation interval).
#ifndef HT_NNET_MERGE_H
#define HT_NNET_MERGE_H

#include "nnet_common.h"

namespace nnet {

template <class input1_T, class input2_T, class res_T, typename CONFIG_T>
void add(const input1_T data1[CONFIG_T::n_elem], const input2_T data2[CONFIG_T::n_elem], res_T res[CONFIG_T::n_elem]) {
  static_assert(CONFIG_T::n_elem > 0, "add: n_elem must be positive");
  static_assert(CONFIG_T::reuse_factor >= 1, "add: reuse_factor must be >= 1");
#pragma HLS PIPELINE II = CONFIG_T::reuse_factor
AddLoop:
  for (int i = 0; i < CONFIG_T::n_elem; i++) {
#pragma HLS UNROLL
    res[i] = data1[i] + data2[i];
  }
}

}  // namespace nnet

#endif  // HT_NNET_MERGE_H
