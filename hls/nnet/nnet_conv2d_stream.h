// nnet_conv2d_stream.h: 2-D convolution in io_stream form: a line buffer of (K_h - 1) rows and
// a K_h x K_w window (nnet_stream.h's window_stream), one output pixel's n_filt filters
// computed per window position, pixels_in input pixels per initiation.
//
// Arithmetic: conv_2d's (nnet_conv2d.h), term for term in the same order (c, ky, kx), so the
// two forms give the same bits in every quantisation and overflow mode; padded taps multiply
// a zero (conv_2d skips them: acc + 0 is acc exactly). hls/nnet/stream.test.ts checks the
// bits against conv_2d on random shapes, strides, pads, channel counts and parallelism.
//
// Streams: in  = words of pixels_in pixels x n_chan (raster order, nnet_stream.h),
//          out = words of pixels_out pixels x n_filt.
// Config: conv_2d's fields (n_chan ... out_width, weight_t, bias_t, accum_t) plus pixels_in
// (divides in_width; > 1 only without left/right pads), pixels_out (divides out_width) and
// reuse_factor (II per input word: the multipliers are n_chan*K*n_filt*pixels_in/reuse_factor).
#ifndef HT_NNET_CONV2D_STREAM_H
#define HT_NNET_CONV2D_STREAM_H

#include "nnet_common.h"
#include "nnet_stream.h"

namespace nnet {

/// One output pixel of a conv: n_filt multiply-accumulates over the window.
template <typename CONFIG_T, class res_T>
struct conv_window_kernel {
  const typename CONFIG_T::weight_t* weights;
  const typename CONFIG_T::bias_t* biases;

  template <class W, class Packer>
  void operator()(const W& win, Packer& packer) const {
#pragma HLS INLINE
    constexpr int kernel_size = CONFIG_T::filt_height * CONFIG_T::filt_width;
  Filter:
    for (int f = 0; f < CONFIG_T::n_filt; f++) {
#pragma HLS UNROLL
      typename CONFIG_T::accum_t acc = biases[f];
    Channel:
      for (int c = 0; c < CONFIG_T::n_chan; c++) {
        for (int ky = 0; ky < CONFIG_T::filt_height; ky++) {
          for (int kx = 0; kx < CONFIG_T::filt_width; kx++) {
            acc = acc + win[ky][kx][c] *
                            weights[(f * CONFIG_T::n_chan + c) * kernel_size + ky * CONFIG_T::filt_width + kx];
          }
        }
      }
      packer.at(f) = acc;
    }
  }
};

template <class data_T, class res_T, typename CONFIG_T>
void conv_2d_stream(hls::stream<data_T>& in, hls::stream<res_T>& out,
                    const typename CONFIG_T::weight_t
                        weights[CONFIG_T::n_filt * CONFIG_T::n_chan * CONFIG_T::filt_height * CONFIG_T::filt_width],
                    const typename CONFIG_T::bias_t biases[CONFIG_T::n_filt]) {
  static_assert(CONFIG_T::n_chan > 0 && CONFIG_T::n_filt > 0, "conv_2d_stream: channel counts must be positive");
  static_assert(CONFIG_T::pad_top < CONFIG_T::filt_height && CONFIG_T::pad_bottom < CONFIG_T::filt_height &&
                    CONFIG_T::pad_left < CONFIG_T::filt_width && CONFIG_T::pad_right < CONFIG_T::filt_width,
                "conv_2d_stream: a pad as large as the kernel gives all-padding outputs");
  static_assert(res_T::size == CONFIG_T::n_filt * CONFIG_T::pixels_out, "conv_2d_stream: output word = pixels_out x n_filt");
  static_assert((CONFIG_T::n_chan * CONFIG_T::filt_height * CONFIG_T::filt_width * CONFIG_T::n_filt *
                 CONFIG_T::pixels_in) % CONFIG_T::reuse_factor == 0,
                "conv_2d_stream: reuse_factor must divide the multiplies per word");
#pragma HLS ARRAY_PARTITION variable = weights complete
#pragma HLS ARRAY_PARTITION variable = biases complete
  const conv_window_kernel<CONFIG_T, res_T> kernel = {weights, biases};
  window_stream<data_T, res_T, CONFIG_T, CONFIG_T::n_filt>(in, out, kernel);
}

}  // namespace nnet

#endif  // HT_NNET_CONV2D_STREAM_H
