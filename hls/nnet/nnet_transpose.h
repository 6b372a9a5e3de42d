// nnet_transpose.h: permutation of the dimensions of an array of up to 4 dims.
//
// data has dims [in_dim0][in_dim1][in_dim2][in_dim3] (row-major; dims from n_dims on are 1),
// res has dims out_dim[d] = in_dim[perm_d], and
//   res[o0][o1][o2][o3] = res_T( data[i] ) with i_{perm_d} = o_d
// as numpy.transpose / ONNX Transpose (output dim d is input dim perm_d). No arithmetic:
// with res_T = data_T it is wiring (the loops are unrolled and every index is a constant),
// otherwise one conversion per value.
//
// Config: n_dims (1 to 4), in_dim0..in_dim3 (positive; 1 from n_dims on), perm0..perm3 (a
// permutation of 0..n_dims-1 in the first n_dims, perm_d = d after), reuse_factor.
#ifndef HT_NNET_TRANSPOSE_H
#define HT_NNET_TRANSPOSE_H

#include "nnet_common.h"

namespace nnet {

template <typename CONFIG_T>
constexpr int transpose_in_dim(int d) {
  return d == 0 ? CONFIG_T::in_dim0 : d == 1 ? CONFIG_T::in_dim1 : d == 2 ? CONFIG_T::in_dim2 : CONFIG_T::in_dim3;
}

template <typename CONFIG_T>
constexpr int transpose_perm(int d) {
  return d == 0 ? CONFIG_T::perm0 : d == 1 ? CONFIG_T::perm1 : d == 2 ? CONFIG_T::perm2 : CONFIG_T::perm3;
}

/// Row-major stride of input dim d: the product of the input dims after it.
template <typename CONFIG_T>
constexpr int transpose_in_stride(int d) {
  return d >= 3 ? 1 : transpose_in_dim<CONFIG_T>(d + 1) * transpose_in_stride<CONFIG_T>(d + 1);
}

template <typename CONFIG_T>
constexpr int transpose_size() {
  return CONFIG_T::in_dim0 * CONFIG_T::in_dim1 * CONFIG_T::in_dim2 * CONFIG_T::in_dim3;
}

/// perm0..perm3 name each of 0..3 once, and dims from n_dims on are 1 and stay in place.
template <typename CONFIG_T>
constexpr bool transpose_perm_ok() {
  return ((1 << CONFIG_T::perm0) | (1 << CONFIG_T::perm1) | (1 << CONFIG_T::perm2) | (1 << CONFIG_T::perm3)) == 15 &&
         (CONFIG_T::n_dims > 3 || (CONFIG_T::perm3 == 3 && CONFIG_T::in_dim3 == 1)) &&
         (CONFIG_T::n_dims > 2 || (CONFIG_T::perm2 == 2 && CONFIG_T::in_dim2 == 1)) &&
         (CONFIG_T::n_dims > 1 || (CONFIG_T::perm1 == 1 && CONFIG_T::in_dim1 == 1));
}

template <class data_T, class res_T, typename CONFIG_T>
void transpose(const data_T data[transpose_size<CONFIG_T>()], res_T res[transpose_size<CONFIG_T>()]) {
  static_assert(CONFIG_T::n_dims >= 1 && CONFIG_T::n_dims <= 4, "transpose: n_dims must be 1 to 4");
  static_assert(CONFIG_T::in_dim0 > 0 && CONFIG_T::in_dim1 > 0 && CONFIG_T::in_dim2 > 0 && CONFIG_T::in_dim3 > 0,
                "transpose: dims must be positive");
  static_assert(CONFIG_T::perm0 >= 0 && CONFIG_T::perm0 < 4 && CONFIG_T::perm1 >= 0 && CONFIG_T::perm1 < 4 &&
                    CONFIG_T::perm2 >= 0 && CONFIG_T::perm2 < 4 && CONFIG_T::perm3 >= 0 && CONFIG_T::perm3 < 4,
                "transpose: perm entries must be in [0, 4)");
  static_assert(transpose_perm_ok<CONFIG_T>(),
                "transpose: perm must be a permutation of 0..n_dims-1, with unused dims 1 and in place");
  static_assert(CONFIG_T::reuse_factor >= 1, "transpose: reuse_factor must be >= 1");
  constexpr int od0 = transpose_in_dim<CONFIG_T>(CONFIG_T::perm0), od1 = transpose_in_dim<CONFIG_T>(CONFIG_T::perm1);
  constexpr int od2 = transpose_in_dim<CONFIG_T>(CONFIG_T::perm2), od3 = transpose_in_dim<CONFIG_T>(CONFIG_T::perm3);
  constexpr int s0 = transpose_in_stride<CONFIG_T>(CONFIG_T::perm0), s1 = transpose_in_stride<CONFIG_T>(CONFIG_T::perm1);
  constexpr int s2 = transpose_in_stride<CONFIG_T>(CONFIG_T::perm2), s3 = transpose_in_stride<CONFIG_T>(CONFIG_T::perm3);
#pragma HLS PIPELINE II = CONFIG_T::reuse_factor
OutDim0:
  for (int o0 = 0; o0 < od0; o0++) {
  OutDim1:
    for (int o1 = 0; o1 < od1; o1++) {
    OutDim2:
      for (int o2 = 0; o2 < od2; o2++) {
      OutDim3:
        for (int o3 = 0; o3 < od3; o3++) {
          res[((o0 * od1 + o1) * od2 + o2) * od3 + o3] = data[o0 * s0 + o1 * s1 + o2 * s2 + o3 * s3];
        }
      }
    }
  }
}

}  // namespace nnet

#endif  // HT_NNET_TRANSPOSE_H
