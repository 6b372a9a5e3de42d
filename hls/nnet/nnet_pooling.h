// nnet_pooling.h: max and average pooling (1-D and 2-D, with optional pads) over
// channels-first data, and global average pool.
//
// Layouts: data [n_chan][in_height][in_width], res [n_chan][out_height][out_width]
// (row-major, flattened); the 1-D pools are the 2-D ones with height 1: [n_chan][in_width].
// Window of output (oy, ox): rows oy * stride_height - pad_top + [0, pool_height), columns
// likewise; positions outside the input are padding and never read:
//   max_pool_*   res = res_T( max over the window's real positions of data )  (compared
//                exactly; ONNX pads max pools with -infinity, so padding never wins)
//   avg_pool_*   res = res_T( accum_t(sum over the real positions) * scale_t(1 / count) )
//                count = the number of real positions (ONNX count_include_pad = 0, the
//                default), or pool_height * pool_width with count_include_pad (ONNX's
//                divisor then: with floor output sizes a window never leaves the padded input)
//   global_avg_pool  res[c] = res_T( accum_t(sum over H x W) * scale_t(1 / (H * W)) )
// The sum is exact while accum_t holds it (each addition converted to accum_t); each scale
// is 1 / count converted to scale_t once (exact when count is a power of two), and the
// product accum_t * scale_t is full precision before the cast to res_T, so it must fit 64 bits.
//
// Config (2-D pools): n_chan, in_height, in_width, pool_height, pool_width, stride_height,
// stride_width, out_height, out_width (checked: floor((in + pads - pool) / stride) + 1),
// reuse_factor (II of the pixel loop); optional pad_top, pad_bottom, pad_left, pad_right
// (all four or none; none = 0; each < the window, so every window holds a real position)
// and count_include_pad (bool, default false); avg_pool_2d also accum_t and scale_t.
// Config (1-D pools): n_chan, in_width, pool_width, stride_width, out_width, reuse_factor,
// optional pad_left, pad_right (both or none) and count_include_pad; avg_pool_1d also
// accum_t and scale_t.
// Config (global_avg_pool): n_chan, in_height, in_width, reuse_factor, accum_t, scale_t.
#ifndef HT_NNET_POOLING_H
#define HT_NNET_POOLING_H

#include "nnet_common.h"
#include "nnet_fast.h"

namespace nnet {

// Optional config fields (hls4ml's pool configs inherit defaults; ours may simply omit them):
// detected with the void_t idiom, written out because the vendor flow builds as C++14.
template <class>
struct pool_void {
  typedef void type;
};

template <class C, class = void>
struct pool_pads_2d {
  static constexpr int top = 0, bottom = 0, left = 0, right = 0;
};
template <class C>
struct pool_pads_2d<C, typename pool_void<decltype(C::pad_top)>::type> {
  static constexpr int top = C::pad_top, bottom = C::pad_bottom, left = C::pad_left, right = C::pad_right;
};

template <class C, class = void>
struct pool_pads_1d {
  static constexpr int left = 0, right = 0;
};
template <class C>
struct pool_pads_1d<C, typename pool_void<decltype(C::pad_left)>::type> {
  static constexpr int left = C::pad_left, right = C::pad_right;
};

template <class C, class = void>
struct pool_count_include_pad {
  static constexpr bool value = false;
};
template <class C>
struct pool_count_include_pad<C, typename pool_void<decltype(C::count_include_pad)>::type> {
  static constexpr bool value = C::count_include_pad;
};

/// A 2-D config with its optional fields filled in.
template <typename CONFIG_T>
struct pool_geometry_2d {
  static constexpr int n_chan = CONFIG_T::n_chan, in_height = CONFIG_T::in_height, in_width = CONFIG_T::in_width;
  static constexpr int pool_height = CONFIG_T::pool_height, pool_width = CONFIG_T::pool_width;
  static constexpr int stride_height = CONFIG_T::stride_height, stride_width = CONFIG_T::stride_width;
  static constexpr int pad_top = pool_pads_2d<CONFIG_T>::top, pad_bottom = pool_pads_2d<CONFIG_T>::bottom;
  static constexpr int pad_left = pool_pads_2d<CONFIG_T>::left, pad_right = pool_pads_2d<CONFIG_T>::right;
  static constexpr int out_height = CONFIG_T::out_height, out_width = CONFIG_T::out_width;
  static constexpr int reuse_factor = CONFIG_T::reuse_factor;
  static constexpr bool count_include_pad = pool_count_include_pad<CONFIG_T>::value;
};

/// A 1-D config as a 2-D geometry of height 1.
template <typename CONFIG_T>
struct pool_geometry_1d {
  static constexpr int n_chan = CONFIG_T::n_chan, in_height = 1, in_width = CONFIG_T::in_width;
  static constexpr int pool_height = 1, pool_width = CONFIG_T::pool_width;
  static constexpr int stride_height = 1, stride_width = CONFIG_T::stride_width;
  static constexpr int pad_top = 0, pad_bottom = 0;
  static constexpr int pad_left = pool_pads_1d<CONFIG_T>::left, pad_right = pool_pads_1d<CONFIG_T>::right;
  static constexpr int out_height = 1, out_width = CONFIG_T::out_width;
  static constexpr int reuse_factor = CONFIG_T::reuse_factor;
  static constexpr bool count_include_pad = pool_count_include_pad<CONFIG_T>::value;
};

template <typename G>
constexpr bool pool_config_ok() {
  static_assert(G::n_chan > 0 && G::in_height > 0 && G::in_width > 0, "pool: sizes must be positive");
  static_assert(G::pool_height > 0 && G::pool_width > 0, "pool: window must be positive");
  static_assert(G::pad_top >= 0 && G::pad_bottom >= 0 && G::pad_left >= 0 && G::pad_right >= 0,
                "pool: pads must be non-negative");
  static_assert(G::pad_top < G::pool_height && G::pad_bottom < G::pool_height && G::pad_left < G::pool_width &&
                    G::pad_right < G::pool_width,
                "pool: a pad as large as the window gives all-padding windows");
  static_assert(G::pool_height <= G::in_height + G::pad_top + G::pad_bottom &&
                    G::pool_width <= G::in_width + G::pad_left + G::pad_right,
                "pool: window larger than the input");
  static_assert(G::stride_height > 0 && G::stride_width > 0, "pool: strides must be positive");
  static_assert(G::out_height == (G::in_height + G::pad_top + G::pad_bottom - G::pool_height) / G::stride_height + 1,
                "pool: out_height disagrees with in_height, pads, pool_height and stride_height");
  static_assert(G::out_width == (G::in_width + G::pad_left + G::pad_right - G::pool_width) / G::stride_width + 1,
                "pool: out_width disagrees with in_width, pads, pool_width and stride_width");
  static_assert(G::reuse_factor >= 1, "pool: reuse_factor must be >= 1");
  return true;
}

/// Both pools over a filled-in geometry G; Avg selects the average.
template <bool Avg, class data_T, class res_T, typename G, typename CONFIG_T>
void pool_2d_impl(const data_T data[G::n_chan * G::in_height * G::in_width],
                  res_T res[G::n_chan * G::out_height * G::out_width]) {
  static_assert(pool_config_ok<G>(), "pool: bad config");
  // scales[k] = scale_t(1 / k) for every count k a window can have (built from constants;
  // HLS folds the loop). Max pools do not use them.
  constexpr int window = G::pool_height * G::pool_width;
  typedef typename CONFIG_T::scale_t scale_t;
  scale_t scales[window + 1];
ScaleInit:
  for (int k = 1; k <= window; k++) {
    scales[k] = Avg ? 1.0 / k : 0.0;
  }
Channel:
  for (int c = 0; c < G::n_chan; c++) {
  OutHeight:
    for (int oy = 0; oy < G::out_height; oy++) {
    OutWidth:
      for (int ox = 0; ox < G::out_width; ox++) {
#pragma HLS PIPELINE II = G::reuse_factor
        const int y0 = oy * G::stride_height - G::pad_top;
        const int x0 = ox * G::stride_width - G::pad_left;
        data_T best = 0;
        typename CONFIG_T::accum_t acc = 0;
        int count = 0;
      PoolY:
        for (int ky = 0; ky < G::pool_height; ky++) {
        PoolX:
          for (int kx = 0; kx < G::pool_width; kx++) {
            const int iy = y0 + ky, ix = x0 + kx;
            if (iy >= 0 && iy < G::in_height && ix >= 0 && ix < G::in_width) {
              const data_T x = data[(c * G::in_height + iy) * G::in_width + ix];
              if (Avg) {
                acc = acc + x;
              } else if (count == 0 || x > best) {
                best = x;
              }
              count++;
            }
          }
        }
        const int out = (c * G::out_height + oy) * G::out_width + ox;
        if (Avg) {
          res[out] = acc * scales[G::count_include_pad ? window : count];
        } else {
          res[out] = best;
        }
      }
    }
  }
}

/// Max pools have no accum_t or scale_t; these 2-bit stand-ins keep the (unused) average
/// branch of pool_2d_impl narrow enough to compile for any data_T.
template <class data_T>
struct max_pool_types {
  typedef ap_fixed<2, 2> accum_t;
  typedef ap_fixed<2, 2> scale_t;
};

template <class data_T, class res_T, typename CONFIG_T>
void max_pool_2d(const data_T data[CONFIG_T::n_chan * CONFIG_T::in_height * CONFIG_T::in_width],
                 res_T res[CONFIG_T::n_chan * CONFIG_T::out_height * CONFIG_T::out_width]) {
#ifdef HT_NNET_FAST  // simulation only: bit-exact shortcut, see nnet_fast.h
  if constexpr (fast::copy_fast<data_T, res_T>::value) {
    static_assert(pool_config_ok<pool_geometry_2d<CONFIG_T>>(), "pool: bad config");
    fast::max_pool<data_T, res_T, pool_geometry_2d<CONFIG_T>>(data, res);
    return;
  }
#endif
  pool_2d_impl<false, data_T, res_T, pool_geometry_2d<CONFIG_T>, max_pool_types<data_T>>(data, res);
}

template <class data_T, class res_T, typename CONFIG_T>
void avg_pool_2d(const data_T data[CONFIG_T::n_chan * CONFIG_T::in_height * CONFIG_T::in_width],
                 res_T res[CONFIG_T::n_chan * CONFIG_T::out_height * CONFIG_T::out_width]) {
  pool_2d_impl<true, data_T, res_T, pool_geometry_2d<CONFIG_T>, CONFIG_T>(data, res);
}

template <class data_T, class res_T, typename CONFIG_T>
void max_pool_1d(const data_T data[CONFIG_T::n_chan * CONFIG_T::in_width],
                 res_T res[CONFIG_T::n_chan * CONFIG_T::out_width]) {
#ifdef HT_NNET_FAST  // simulation only: bit-exact shortcut, see nnet_fast.h
  if constexpr (fast::copy_fast<data_T, res_T>::value) {
    static_assert(pool_config_ok<pool_geometry_1d<CONFIG_T>>(), "pool: bad config");
    fast::max_pool<data_T, res_T, pool_geometry_1d<CONFIG_T>>(data, res);
    return;
  }
#endif
  pool_2d_impl<false, data_T, res_T, pool_geometry_1d<CONFIG_T>, max_pool_types<data_T>>(data, res);
}

template <class data_T, class res_T, typename CONFIG_T>
void avg_pool_1d(const data_T data[CONFIG_T::n_chan * CONFIG_T::in_width],
                 res_T res[CONFIG_T::n_chan * CONFIG_T::out_width]) {
  pool_2d_impl<true, data_T, res_T, pool_geometry_1d<CONFIG_T>, CONFIG_T>(data, res);
}

template <class data_T, class res_T, typename CONFIG_T>
void global_avg_pool(const data_T data[CONFIG_T::n_chan * CONFIG_T::in_height * CONFIG_T::in_width],
                     res_T res[CONFIG_T::n_chan]) {
  static_assert(CONFIG_T::n_chan > 0 && CONFIG_T::in_height > 0 && CONFIG_T::in_width > 0,
                "global_avg_pool: sizes must be positive");
  static_assert(CONFIG_T::reuse_factor >= 1, "global_avg_pool: reuse_factor must be >= 1");
  constexpr int n_pix = CONFIG_T::in_height * CONFIG_T::in_width;
  const typename CONFIG_T::scale_t scale = 1.0 / n_pix;
#ifdef HT_NNET_FAST  // simulation only: bit-exact shortcut, see nnet_fast.h
  if constexpr (fast::sum_fast<data_T, typename CONFIG_T::accum_t, n_pix>::value) {
    typedef typename CONFIG_T::accum_t accum_t;
    for (int c = 0; c < CONFIG_T::n_chan; c++) {
      int64_t sum = 0;
      for (int p = 0; p < n_pix; p++) sum += data[c * n_pix + p].raw();
      const accum_t acc = accum_t::from_raw(sum * (int64_t{1} << fast::sum_fast<data_T, accum_t, n_pix>::shift));
      res[c] = acc * scale;
    }
    return;
  }
#endif
Channel:
  for (int c = 0; c < CONFIG_T::n_chan; c++) {
#pragma HLS PIPELINE II = CONFIG_T::reuse_factor
    typename CONFIG_T::accum_t acc = 0;
  Pixel:
    for (int p = 0; p < n_pix; p++) {
      acc = acc + data[c * n_pix + p];
    }
    res[c] = acc * scale;
  }
}

}  // namespace nnet

#endif  // HT_NNET_POOLING_H
