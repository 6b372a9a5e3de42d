// nnet_preprocess.h: the camera's uint8 pixels into the network's input (the firmware's
// first stage, so the host hands a frame's bytes straight through).
//
//   res[(c * in_height + y) * in_width + x] =
//       res_T( pixel_fixed_t(px[((y + crop_top) * frame_width + x + crop_left) * n_chan + c])
//              * gain[c] + offset[c] )
//
// px is the frame as the camera writes it (HWC, frame_height x frame_width x n_chan bytes);
// res is the model input (CHW, n_chan x in_height x in_width), a centre crop of the frame
// (crop_top, crop_left from the compiler) normalised per channel by one multiply-add:
// gain = scale / std, offset = -mean / std as dyadic constants (gain_t, offset_t; the
// compiler, hls/compiler/preprocess.ts, picks them so every one of the 256 pixel values per
// channel gives the input the host's float normalisation gives). The product and the sum
// are exact (full precision, as ap_fixed does); the one cast to res_T applies its Q and O.
//
// The pixel type: ap_uint<8> in synthesis (the vendor type); in the simulator, whose type
// has no unsigned variant, uint8_t: the same 8 bits. pixel_fixed_t (ap_fixed<9,9>) holds
// every pixel value exactly.
//
// Config: frame_height, frame_width, n_chan, in_height, in_width, crop_top, crop_left,
// reuse_factor; typedefs pixel_fixed_t, gain_t, offset_t.
//
// Simulation (HT_NNET_FAST): a 256-entry table per channel, each entry computed by the same
// expression as the generic loop (so the same bits), then one lookup per pixel.
#ifndef HT_NNET_PREPROCESS_H
#define HT_NNET_PREPROCESS_H

#include <cstdint>

#include "nnet_common.h"
#include "nnet_fast.h"

namespace nnet {

#ifdef HT_USE_VENDOR_AP
typedef ap_uint<8> pixel_t;
#else
typedef uint8_t pixel_t;
#endif

template <typename CONFIG_T>
struct preprocess_checks {
  static_assert(CONFIG_T::n_chan >= 1 && CONFIG_T::n_chan <= 4, "preprocess: n_chan must be 1 to 4");
  static_assert(CONFIG_T::in_height >= 1 && CONFIG_T::in_width >= 1, "preprocess: the input must have pixels");
  static_assert(CONFIG_T::crop_top >= 0 && CONFIG_T::crop_left >= 0, "preprocess: crop offsets are non-negative");
  static_assert(CONFIG_T::crop_top + CONFIG_T::in_height <= CONFIG_T::frame_height, "preprocess: the crop leaves the frame (height)");
  static_assert(CONFIG_T::crop_left + CONFIG_T::in_width <= CONFIG_T::frame_width, "preprocess: the crop leaves the frame (width)");
  static_assert(CONFIG_T::pixel_fixed_t::width >= 9 && CONFIG_T::pixel_fixed_t::iwidth >= 9, "preprocess: pixel_fixed_t must hold 0..255 exactly");
  static_assert(CONFIG_T::reuse_factor >= 1, "preprocess: reuse_factor must be >= 1");
  static constexpr bool ok = true;
};

// One pixel value normalised: the multiply-add both paths share.
template <class res_T, typename CONFIG_T>
inline res_T preprocess_value(int p, const typename CONFIG_T::gain_t& gain, const typename CONFIG_T::offset_t& offset) {
  const typename CONFIG_T::pixel_fixed_t v = p;
  return res_T(v * gain + offset);
}

template <class res_T, typename CONFIG_T>
void preprocess(const pixel_t px[CONFIG_T::frame_height * CONFIG_T::frame_width * CONFIG_T::n_chan],
                res_T res[CONFIG_T::n_chan * CONFIG_T::in_height * CONFIG_T::in_width],
                const typename CONFIG_T::gain_t gain[CONFIG_T::n_chan],
                const typename CONFIG_T::offset_t offset[CONFIG_T::n_chan]) {
  static_assert(preprocess_checks<CONFIG_T>::ok, "preprocess: config");
  constexpr int C = CONFIG_T::n_chan, H = CONFIG_T::in_height, W = CONFIG_T::in_width, FW = CONFIG_T::frame_width;
#ifdef HT_NNET_FAST  // simulation only: a table per channel, built by the generic expression
  static res_T table[C][256];
  static bool built = false;
  if (!built) {
    for (int c = 0; c < C; c++)
      for (int p = 0; p < 256; p++) table[c][p] = preprocess_value<res_T, CONFIG_T>(p, gain[c], offset[c]);
    built = true;
  }
  for (int c = 0; c < C; c++)
    for (int y = 0; y < H; y++) {
      const pixel_t* row = px + ((y + CONFIG_T::crop_top) * FW + CONFIG_T::crop_left) * C + c;
      res_T* out = res + (c * H + y) * W;
      for (int x = 0; x < W; x++) out[x] = table[c][row[x * C]];
    }
  return;
#endif
#pragma HLS PIPELINE II = CONFIG_T::reuse_factor
PreprocessChan:
  for (int c = 0; c < C; c++) {
  PreprocessRow:
    for (int y = 0; y < H; y++) {
    PreprocessCol:
      for (int x = 0; x < W; x++) {
#pragma HLS UNROLL
        const int p = px[((y + CONFIG_T::crop_top) * FW + x + CONFIG_T::crop_left) * C + c];
        res[(c * H + y) * W + x] = preprocess_value<res_T, CONFIG_T>(p, gain[c], offset[c]);
      }
    }
  }
}

}  // namespace nnet

#endif  // HT_NNET_PREPROCESS_H
