// nnet_conv1d.h: 1-D convolution, direct form; the 2-D layer (nnet_conv2d.h) with height 1.
//
// Layouts: data [n_chan][in_width], weights [n_filt][n_chan][filt_width] (ONNX
// [cOut][cIn][k]), biases [n_filt], res [n_filt][out_width].
// res[f][ox] = res_T( accum_t(bias[f]) + sum over c, kx of
//   accum_t( data[c][ox * stride_width + kx - pad_left] * weights[f][c][kx] ) ), padding skipped.
//
// Config: n_chan, in_width, n_filt, filt_width, stride_width, pad_left, pad_right,
// out_width (checked: floor((in_width + pads - filt_width) / stride_width) + 1),
// reuse_factor (the II of the position loop), weight_t, bias_t, accum_t.
#ifndef HT_NNET_CONV1D_H
#define HT_NNET_CONV1D_H

#include "nnet_common.h"
#include "nnet_fast.h"

namespace nnet {

template <class data_T, class res_T, typename CONFIG_T>
void conv_1d(const data_T data[CONFIG_T::n_chan * CONFIG_T::in_width],
             res_T res[CONFIG_T::n_filt * CONFIG_T::out_width],
             const typename CONFIG_T::weight_t weights[CONFIG_T::n_filt * CONFIG_T::n_chan * CONFIG_T::filt_width],
             const typename CONFIG_T::bias_t biases[CONFIG_T::n_filt]) {
  static_assert(CONFIG_T::n_chan > 0 && CONFIG_T::n_filt > 0, "conv_1d: channel counts must be positive");
  static_assert(CONFIG_T::in_width > 0 && CONFIG_T::filt_width > 0, "conv_1d: sizes must be positive");
  static_assert(CONFIG_T::stride_width > 0, "conv_1d: stride must be positive");
  static_assert(CONFIG_T::pad_left >= 0 && CONFIG_T::pad_right >= 0, "conv_1d: pads must be non-negative");
  static_assert(CONFIG_T::pad_left < CONFIG_T::filt_width && CONFIG_T::pad_right < CONFIG_T::filt_width,
                "conv_1d: a pad as large as the kernel gives all-padding outputs");
  static_assert(CONFIG_T::in_width + CONFIG_T::pad_left + CONFIG_T::pad_right >= CONFIG_T::filt_width,
                "conv_1d: kernel larger than the padded input");
  static_assert(CONFIG_T::out_width ==
                    (CONFIG_T::in_width + CONFIG_T::pad_left + CONFIG_T::pad_right - CONFIG_T::filt_width) /
                            CONFIG_T::stride_width + 1,
                "conv_1d: out_width disagrees with in_width, pads, filt_width and stride_width");
  static_assert(CONFIG_T::reuse_factor >= 1, "conv_1d: reuse_factor must be >= 1");
#ifdef HT_NNET_FAST  // simulation only: bit-exact shortcut, see nnet_fast.h
  if constexpr (fast::mac_fast<data_T, res_T, CONFIG_T>::value) {
    fast::conv_fast<data_T, res_T, fast::conv1d_as_2d<CONFIG_T>>::run(data, res, weights, biases);
    return;
  }
#endif

#pragma HLS ARRAY_PARTITION variable = biases complete

OutWidth:
  for (int ox = 0; ox < CONFIG_T::out_width; ox++) {
#pragma HLS PIPELINE II = CONFIG_T::reuse_factor
  Filter:
    for (int f = 0; f < CONFIG_T::n_filt; f++) {
      typename CONFIG_T::accum_t acc = biases[f];
    Channel:
      for (int c = 0; c < CONFIG_T::n_chan; c++) {
      KernelX:
        for (int kx = 0; kx < CONFIG_T::filt_width; kx++) {
          const int ix = ox * CONFIG_T::stride_width + kx - CONFIG_T::pad_left;
          if (ix >= 0 && ix < CONFIG_T::in_width) {
            acc = acc + data[c * CONFIG_T::in_width + ix] *
                            weights[(f * CONFIG_T::n_chan + c) * CONFIG_T::filt_width + kx];
          }
        }
      }
      res[f * CONFIG_T::out_width + ox] = acc;
    }
  }
}

}  // namespace nnet

#endif  // HT_NNET_CONV1D_H
