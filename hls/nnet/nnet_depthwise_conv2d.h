// nnet_depthwise_conv2d.h: depthwise 2-D convolution (ONNX Conv with group = channels),
// direct form, one output pixel of every channel per pipeline step.
//
// Layouts (the compiler IR's, channels first, flattened row-major):
//   data    [n_chan][in_height][in_width]
//   weights [n_chan][filt_height][filt_width]   (ONNX [C][1][kh][kw])
//   biases  [n_chan]
//   res     [n_chan][out_height][out_width]
// res[c][oy][ox] = res_T( accum_t(bias[c]) + sum over ky, kx of
//   accum_t( data[c][oy * stride_height + ky - pad_top][ox * stride_width + kx - pad_left]
//            * weights[c][ky][kx] ) )
// with positions outside the input (the zero padding) skipped: conv_2d's arithmetic
// (nnet_conv2d.h) with channel c of the input as the only input of filter c, so the bits
// are those of conv_2d with one channel and one filter, run per channel.
//
// Config: n_chan, in_height, in_width, filt_height, filt_width, stride_height, stride_width,
// pad_top, pad_bottom, pad_left, pad_right, out_height, out_width (checked: floor((in + pads
// - filt) / stride) + 1, as ONNX), reuse_factor (the II of the pixel loop), weight_t,
// bias_t, accum_t.
#ifndef HT_NNET_DEPTHWISE_CONV2D_H
#define HT_NNET_DEPTHWISE_CONV2D_H

#include "nnet_common.h"
#include "nnet_fast.h"

namespace nnet {

template <class data_T, class res_T, typename CONFIG_T>
void depthwise_conv_2d(const data_T data[CONFIG_T::n_chan * CONFIG_T::in_height * CONFIG_T::in_width],
                       res_T res[CONFIG_T::n_chan * CONFIG_T::out_height * CONFIG_T::out_width],
                       const typename CONFIG_T::weight_t
                           weights[CONFIG_T::n_chan * CONFIG_T::filt_height * CONFIG_T::filt_width],
                       const typename CONFIG_T::bias_t biases[CONFIG_T::n_chan]) {
  static_assert(CONFIG_T::n_chan > 0, "depthwise_conv_2d: n_chan must be positive");
  static_assert(CONFIG_T::in_height > 0 && CONFIG_T::in_width > 0, "depthwise_conv_2d: input size must be positive");
  static_assert(CONFIG_T::filt_height > 0 && CONFIG_T::filt_width > 0, "depthwise_conv_2d: kernel size must be positive");
  static_assert(CONFIG_T::stride_height > 0 && CONFIG_T::stride_width > 0, "depthwise_conv_2d: strides must be positive");
  static_assert(CONFIG_T::pad_top >= 0 && CONFIG_T::pad_bottom >= 0 && CONFIG_T::pad_left >= 0 &&
                    CONFIG_T::pad_right >= 0,
                "depthwise_conv_2d: pads must be non-negative");
  static_assert(CONFIG_T::pad_top < CONFIG_T::filt_height && CONFIG_T::pad_bottom < CONFIG_T::filt_height &&
                    CONFIG_T::pad_left < CONFIG_T::filt_width && CONFIG_T::pad_right < CONFIG_T::filt_width,
                "depthwise_conv_2d: a pad as large as the kernel gives all-padding outputs");
  static_assert(CONFIG_T::in_height + CONFIG_T::pad_top + CONFIG_T::pad_bottom >= CONFIG_T::filt_height &&
                    CONFIG_T::in_width + CONFIG_T::pad_left + CONFIG_T::pad_right >= CONFIG_T::filt_width,
                "depthwise_conv_2d: kernel larger than the padded input");
  static_assert(CONFIG_T::out_height ==
                    (CONFIG_T::in_height + CONFIG_T::pad_top + CONFIG_T::pad_bottom - CONFIG_T::filt_height) /
                            CONFIG_T::stride_height + 1,
                "depthwise_conv_2d: out_height disagrees with in_height, pads, filt_height and stride_height");
  static_assert(CONFIG_T::out_width ==
                    (CONFIG_T::in_width + CONFIG_T::pad_left + CONFIG_T::pad_right - CONFIG_T::filt_width) /
                            CONFIG_T::stride_width + 1,
                "depthwise_conv_2d: out_width disagrees with in_width, pads, filt_width and stride_width");
  static_assert(CONFIG_T::reuse_factor >= 1, "depthwise_conv_2d: reuse_factor must be >= 1");
#ifdef HT_NNET_FAST  // simulation only: bit-exact shortcut, see nnet_fast.h
  if constexpr (fast::mac_fast<data_T, res_T, CONFIG_T>::value) {
    fast::depthwise_fast<data_T, res_T, CONFIG_T>::run(data, res, weights, biases);
    return;
  }
#endif

  constexpr int kernel_size = CONFIG_T::filt_height * CONFIG_T::filt_width;

#pragma HLS ARRAY_PARTITION variable = biases complete

OutHeight:
  for (int oy = 0; oy < CONFIG_T::out_height; oy++) {
  OutWidth:
    for (int ox = 0; ox < CONFIG_T::out_width; ox++) {
#pragma HLS PIPELINE II = CONFIG_T::reuse_factor
    Channel:
      for (int c = 0; c < CONFIG_T::n_chan; c++) {
        typename CONFIG_T::accum_t acc = biases[c];
      KernelY:
        for (int ky = 0; ky < CONFIG_T::filt_height; ky++) {
        KernelX:
          for (int kx = 0; kx < CONFIG_T::filt_width; kx++) {
            const int iy = oy * CONFIG_T::stride_height + ky - CONFIG_T::pad_top;
            const int ix = ox * CONFIG_T::stride_width + kx - CONFIG_T::pad_left;
            if (iy >= 0 && iy < CONFIG_T::in_height && ix >= 0 && ix < CONFIG_T::in_width) {
              acc = acc + data[(c * CONFIG_T::in_height + iy) * CONFIG_T::in_width + ix] *
                              weights[c * kernel_size + ky * CONFIG_T::filt_width + kx];
            }
          }
        }
        res[(c * CONFIG_T::out_height + oy) * CONFIG_T::out_width + ox] = acc;
      }
    }
  }
}

}  // namespace nnet

#endif  // HT_NNET_DEPTHWISE_CONV2D_H
