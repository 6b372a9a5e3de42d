// nnet_pooling.h: max and average pooling over channels-first data, and global average pool.
//
// Layouts: data [n_chan][in_height][in_width], res [n_chan][out_height][out_width]
// (row-major, flattened). No padding: the compiler must reject pooling pads (or insert a
// padding layer) until these templates take them.
//   max_pool_2d   res = res_T( max over the window of data )   (compared exactly)
//   avg_pool_2d   res = res_T( accum_t(sum over the window) * scale_t(1 / (pool_height * pool_width)) )
//   global_avg_pool  res[c] = res_T( accum_t(sum over H x W) * scale_t(1 / (H * W)) )
// The sum is exact while accum_t holds it (each addition converted to accum_t); the scale is
// 1 / count converted to scale_t once (exact when count is a power of two), and the product
// accum_t * scale_t is full precision before the cast to res_T, so it must fit 64 bits.
//
// Config (2-D pools): n_chan, in_height, in_width, pool_height, pool_width, stride_height,
// stride_width, out_height, out_width (checked: floor((in - pool) / stride) + 1),
// reuse_factor (II of the pixel loop); avg_pool_2d also accum_t and scale_t.
// Config (global_avg_pool): n_chan, in_height, in_width, reuse_factor, accum_t, scale_t.
#ifndef HT_NNET_POOLING_H
#define HT_NNET_POOLING_H

#include "nnet_common.h"

namespace nnet {

template <typename CONFIG_T>
constexpr bool pool_2d_config_ok() {
  static_assert(CONFIG_T::n_chan > 0 && CONFIG_T::in_height > 0 && CONFIG_T::in_width > 0,
                "pool_2d: sizes must be positive");
  static_assert(CONFIG_T::pool_height > 0 && CONFIG_T::pool_width > 0, "pool_2d: window must be positive");
  static_assert(CONFIG_T::pool_height <= CONFIG_T::in_height && CONFIG_T::pool_width <= CONFIG_T::in_width,
                "pool_2d: window larger than the input");
  static_assert(CONFIG_T::stride_height > 0 && CONFIG_T::stride_width > 0, "pool_2d: strides must be positive");
  static_assert(CONFIG_T::out_height == (CONFIG_T::in_height - CONFIG_T::pool_height) / CONFIG_T::stride_height + 1,
                "pool_2d: out_height disagrees with in_height, pool_height and stride_height");
  static_assert(CONFIG_T::out_width == (CONFIG_T::in_width - CONFIG_T::pool_width) / CONFIG_T::stride_width + 1,
                "pool_2d: out_width disagrees with in_width, pool_width and stride_width");
  static_assert(CONFIG_T::reuse_factor >= 1, "pool_2d: reuse_factor must be >= 1");
  return true;
}

template <class data_T, class res_T, typename CONFIG_T>
void max_pool_2d(const data_T data[CONFIG_T::n_chan * CONFIG_T::in_height * CONFIG_T::in_width],
                 res_T res[CONFIG_T::n_chan * CONFIG_T::out_height * CONFIG_T::out_width]) {
  static_assert(pool_2d_config_ok<CONFIG_T>(), "max_pool_2d: bad config");
Channel:
  for (int c = 0; c < CONFIG_T::n_chan; c++) {
  OutHeight:
    for (int oy = 0; oy < CONFIG_T::out_height; oy++) {
    OutWidth:
      for (int ox = 0; ox < CONFIG_T::out_width; ox++) {
#pragma HLS PIPELINE II = CONFIG_T::reuse_factor
        const int base = (c * CONFIG_T::in_height + oy * CONFIG_T::stride_height) * CONFIG_T::in_width +
                         ox * CONFIG_T::stride_width;
        data_T best = data[base];
      PoolY:
        for (int ky = 0; ky < CONFIG_T::pool_height; ky++) {
        PoolX:
          for (int kx = 0; kx < CONFIG_T::pool_width; kx++) {
            const data_T x = data[base + ky * CONFIG_T::in_width + kx];
            if (x > best) best = x;
          }
        }
        res[(c * CONFIG_T::out_height + oy) * CONFIG_T::out_width + ox] = best;
      }
    }
  }
}

template <class data_T, class res_T, typename CONFIG_T>
void avg_pool_2d(const data_T data[CONFIG_T::n_chan * CONFIG_T::in_height * CONFIG_T::in_width],
                 res_T res[CONFIG_T::n_chan * CONFIG_T::out_height * CONFIG_T::out_width]) {
  static_assert(pool_2d_config_ok<CONFIG_T>(), "avg_pool_2d: bad config");
  const typename CONFIG_T::scale_t scale = 1.0 / (CONFIG_T::pool_height * CONFIG_T::pool_width);
Channel:
  for (int c = 0; c < CONFIG_T::n_chan; c++) {
  OutHeight:
    for (int oy = 0; oy < CONFIG_T::out_height; oy++) {
    OutWidth:
      for (int ox = 0; ox < CONFIG_T::out_width; ox++) {
#pragma HLS PIPELINE II = CONFIG_T::reuse_factor
        const int base = (c * CONFIG_T::in_height + oy * CONFIG_T::stride_height) * CONFIG_T::in_width +
                         ox * CONFIG_T::stride_width;
        typename CONFIG_T::accum_t acc = 0;
      PoolY:
        for (int ky = 0; ky < CONFIG_T::pool_height; ky++) {
        PoolX:
          for (int kx = 0; kx < CONFIG_T::pool_width; kx++) {
            acc = acc + data[base + ky * CONFIG_T::in_width + kx];
          }
        }
        res[(c * CONFIG_T::out_height + oy) * CONFIG_T::out_width + ox] = acc * scale;
      }
    }
  }
}

template <class data_T, class res_T, typename CONFIG_T>
void global_avg_pool(const data_T data[CONFIG_T::n_chan * CONFIG_T::in_height * CONFIG_T::in_width],
                     res_T res[CONFIG_T::n_chan]) {
  static_assert(CONFIG_T::n_chan > 0 && CONFIG_T::in_height > 0 && CONFIG_T::in_width > 0,
                "global_avg_pool: sizes must be positive");
  static_assert(CONFIG_T::reuse_factor >= 1, "global_avg_pool: reuse_factor must be >= 1");
  constexpr int n_pix = CONFIG_T::in_height * CONFIG_T::in_width;
  const typename CONFIG_T::scale_t scale = 1.0 / n_pix;
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
