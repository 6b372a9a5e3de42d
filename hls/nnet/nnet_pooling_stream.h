// nnet_pooling_stream.h: max and average 2-D pools in io_stream form, on nnet_stream.h's
// line buffer and window. Arithmetic: pool_2d_impl's (nnet_pooling.h) without pads: the max
// of the window (first position kept on ties, as there), or the sum in accum_t times
// scale_t(1 / window); checked bit for bit against max_pool_2d / avg_pool_2d by
// hls/nnet/stream.test.ts.
//
// Streams: in = words of pixels_in pixels x n_chan, out = words of pixels_out pixels x n_chan.
// Config: the 2-D pool fields (n_chan, in_height, in_width, pool_height, pool_width,
// stride_height, stride_width, out_height, out_width; no pads: a padded pool needs "-infinity"
// or a count per window, not written yet), pixels_in, pixels_out, reuse_factor; average also
// accum_t and scale_t.
#ifndef HT_NNET_POOLING_STREAM_H
#define HT_NNET_POOLING_STREAM_H

#include <type_traits>

#include "nnet_common.h"
#include "nnet_stream.h"

namespace nnet {

/// A pool config seen as a window_stream geometry (window = pool, no pads).
template <typename CONFIG_T>
struct pool_stream_geometry {
  static constexpr int n_chan = CONFIG_T::n_chan, in_height = CONFIG_T::in_height, in_width = CONFIG_T::in_width;
  static constexpr int filt_height = CONFIG_T::pool_height, filt_width = CONFIG_T::pool_width;
  static constexpr int stride_height = CONFIG_T::stride_height, stride_width = CONFIG_T::stride_width;
  static constexpr int pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
  static constexpr int out_height = CONFIG_T::out_height, out_width = CONFIG_T::out_width;
  static constexpr int pixels_in = CONFIG_T::pixels_in, pixels_out = CONFIG_T::pixels_out;
  static constexpr int reuse_factor = CONFIG_T::reuse_factor;
};

/// One output pixel of a pool, every channel.
template <bool Avg, typename CONFIG_T, class scale_T, class accum_T>
struct pool_window_kernel {
  template <class W, class Packer>
  void operator()(const W& win, Packer& packer) const {
#pragma HLS INLINE
    typedef typename std::remove_cv<typename std::remove_reference<decltype(win[0][0][0])>::type>::type elem_T;
    const scale_T scale = 1.0 / (CONFIG_T::pool_height * CONFIG_T::pool_width);
  Channel:
    for (int c = 0; c < CONFIG_T::n_chan; c++) {
#pragma HLS UNROLL
      elem_T best = win[0][0][c];
      accum_T acc = 0;
      for (int ky = 0; ky < CONFIG_T::pool_height; ky++) {
        for (int kx = 0; kx < CONFIG_T::pool_width; kx++) {
          if (Avg) {
            acc = acc + win[ky][kx][c];
          } else if (win[ky][kx][c] > best) {
            best = win[ky][kx][c];
          }
        }
      }
      if (Avg) {
        packer.at(c) = acc * scale;
      } else {
        packer.at(c) = best;
      }
    }
  }
};

template <class data_T, class res_T, typename CONFIG_T>
void max_pool_2d_stream(hls::stream<data_T>& in, hls::stream<res_T>& out) {
  static_assert(res_T::size == CONFIG_T::n_chan * CONFIG_T::pixels_out, "max_pool_2d_stream: output word");
  const pool_window_kernel<false, CONFIG_T, ap_fixed<2, 2>, ap_fixed<2, 2>> kernel = {};
  window_stream<data_T, res_T, pool_stream_geometry<CONFIG_T>, CONFIG_T::n_chan>(in, out, kernel);
}

template <class data_T, class res_T, typename CONFIG_T>
void avg_pool_2d_stream(hls::stream<data_T>& in, hls::stream<res_T>& out) {
  static_assert(res_T::size == CONFIG_T::n_chan * CONFIG_T::pixels_out, "avg_pool_2d_stream: output word");
  const pool_window_kernel<true, CONFIG_T, typename CONFIG_T::scale_t, typename CONFIG_T::accum_t> kernel = {};
  window_stream<data_T, res_T, pool_stream_geometry<CONFIG_T>, CONFIG_T::n_chan>(in, out, kernel);
}

}  // namespace nnet

#endif  // HT_NNET_POOLING_STREAM_H
