// nnet_shift_reuse.h: sliding-window inference for the simulator (never synthesised).
//
// A keyword spotter runs its network on a window of the last 49 feature frames, and the next
// window it sees is the same frames moved up by the inference stride plus new ones at the end.
// In a chain of convolutions (each with its element-wise activation) over the time axis (the height,
// channels first), an output row depends only on the input rows under its receptive field;
// where that field holds no padding in any layer, the row at time t + S (S = the input shift,
// the product of the chain's height strides) equals the row one output step (S / the strides
// so far) further down at time t. So the next window needs only the rows near its two ends
// recomputed (the new frames at the end, the zero padding at both ends); the rest is a shift of
// the previous result. The rows are computed by the layers' own templates on a band of the
// input (band_cfg: the same layer with the band's height and the padding it really has), so
// every value is bit for bit what the whole layer computes (checked in hls/nnet/reuse.test.ts
// and test/integration/keywords-reuse.test.ts against the whole firmware).
//
// Row plans (which rows are recomputed) come from the compiler (hls/compiler/writer-reuse.ts),
// as template arguments. Buffers are static per instantiation (not reentrant, like the layers).
#ifndef HT_NNET_SHIFT_REUSE_H
#define HT_NNET_SHIFT_REUSE_H

#ifndef __SYNTHESIS__

#include <cstring>

#include "nnet_common.h"
#include "nnet_conv2d.h"
#include "nnet_depthwise_conv2d.h"

namespace nnet {
namespace reuse {

// The layer CONFIG_T over a band of IH input rows with PT / PB rows of zero padding.
template <class CONFIG_T, int IH, int PT, int PB>
struct band_cfg : CONFIG_T {
  static constexpr int in_height = IH, pad_top = PT, pad_bottom = PB;
  static constexpr int out_height = (IH + PT + PB - CONFIG_T::filt_height) / CONFIG_T::stride_height + 1;
};

// An element-wise layer's CONFIG_T over N values.
template <class CONFIG_T, int N>
struct span_cfg : CONFIG_T {
  static constexpr int n_in = N;
};

template <class CONFIG_T, bool DW>
struct out_channels {
  static constexpr int value = CONFIG_T::n_chan;
};
template <class CONFIG_T>
struct out_channels<CONFIG_T, false> {
  static constexpr int value = CONFIG_T::n_filt;
};

// The element-wise layer after a convolution, applied to the rows a call computes before they
// are stored (ACT::run<N>(in, out) over N values; the compiler writes one per activation layer,
// calling the layer's own template): no_act stores the convolution's values as they are.
template <class T>
struct no_act {
  typedef T out_t;
  template <int N>
  static void run(const T* in, T* out) {
    std::memcpy(out, in, sizeof(T) * N);
  }
};

// Output rows [LO, HI) of a 2-D (DW: depthwise) convolution followed by ACT, from the whole
// input `in` [n_chan][in_height][in_width] into the whole output `out` [n_out][out_height][out_width].
template <class data_T, class res_T, class CONFIG_T, bool DW, int LO, int HI, class ACT = no_act<res_T>>
void conv_rows(const data_T* in, typename ACT::out_t* out, const typename CONFIG_T::weight_t* w,
               const typename CONFIG_T::bias_t* b) {
  static_assert(0 <= LO && LO <= HI && HI <= CONFIG_T::out_height, "conv_rows: rows outside the layer");
  if constexpr (LO < HI) {
    constexpr int H = CONFIG_T::in_height, W = CONFIG_T::in_width, C = CONFIG_T::n_chan;
    constexpr int SH = CONFIG_T::stride_height, PT = CONFIG_T::pad_top, KH = CONFIG_T::filt_height;
    constexpr int first = LO * SH - PT, last = (HI - 1) * SH - PT + KH;  // input rows [first, last)
    constexpr int r0 = first < 0 ? 0 : first, r1 = last > H ? H : last;
    typedef band_cfg<CONFIG_T, r1 - r0, r0 - first, last - r1> B;
    static_assert(B::out_height == HI - LO, "conv_rows: the band's output rows differ from [LO, HI)");
    constexpr int F = out_channels<CONFIG_T, DW>::value;
    constexpr int OH = CONFIG_T::out_height, OW = CONFIG_T::out_width;
    typedef typename ACT::out_t out_t;
    static data_T band_in[C * (r1 - r0) * W];
    static res_T band_out[F * (HI - LO) * OW];
    static out_t band_act[F * (HI - LO) * OW];
    for (int c = 0; c < C; c++) std::memcpy(band_in + c * (r1 - r0) * W, in + (c * H + r0) * W, sizeof(data_T) * (r1 - r0) * W);
    if constexpr (DW) {
      depthwise_conv_2d<data_T, res_T, B>(band_in, band_out, w, b);
    } else {
      conv_2d<data_T, res_T, B>(band_in, band_out, w, b);
    }
    ACT::template run<F * (HI - LO) * OW>(band_out, band_act);
    for (int f = 0; f < F; f++) std::memcpy(out + (f * OH + LO) * OW, band_act + f * (HI - LO) * OW, sizeof(out_t) * (HI - LO) * OW);
  }
}

// Output rows [0, L) and [R, out_height) of a stride-1 convolution in one call of the layer:
// the input rows the two ends need, stacked into one band (top rows, then bottom rows, with the
// layer's own padding above and below), so the per-channel work of a call is paid once. The
// band's outputs where the two parts meet (their kernel spans the seam) are not used. Where the
// two parts overlap, the whole layer is computed.
template <class data_T, class res_T, class CONFIG_T, bool DW, int L, int R, class ACT = no_act<res_T>>
void conv_ends(const data_T* in, typename ACT::out_t* out, const typename CONFIG_T::weight_t* w,
               const typename CONFIG_T::bias_t* b) {
  static_assert(CONFIG_T::stride_height == 1, "conv_ends: stride 1 only (conv_rows otherwise)");
  static_assert(0 < L && L <= R && R < CONFIG_T::out_height, "conv_ends: both ends have rows (conv_rows otherwise)");
  constexpr int H = CONFIG_T::in_height, W = CONFIG_T::in_width, C = CONFIG_T::n_chan;
  constexpr int PT = CONFIG_T::pad_top, KH = CONFIG_T::filt_height;
  constexpr int OH = CONFIG_T::out_height, OW = CONFIG_T::out_width;
  constexpr int a = L - 1 - PT + KH;  // top input rows [0, a): those of output rows [0, L)
  constexpr int bo = R - PT;          // bottom input rows [bo, H): those of output rows [R, OH)
  if constexpr (a > bo || a > H || bo < 0) {
    conv_rows<data_T, res_T, CONFIG_T, DW, 0, OH, ACT>(in, out, w, b);
  } else {
    constexpr int IH = a + (H - bo);
    typedef band_cfg<CONFIG_T, IH, PT, CONFIG_T::pad_bottom> B;
    constexpr int BOH = B::out_height;
    constexpr int right_from = BOH - (OH - R);  // band outputs of rows [R, OH)
    static_assert(L <= right_from, "conv_ends: the two ends' outputs overlap in the band");
    constexpr int F = out_channels<CONFIG_T, DW>::value;
    typedef typename ACT::out_t out_t;
    static data_T band_in[C * IH * W];
    static res_T band_out[F * BOH * OW];
    static out_t band_act[F * BOH * OW];
    for (int c = 0; c < C; c++) {
      std::memcpy(band_in + c * IH * W, in + c * H * W, sizeof(data_T) * a * W);
      std::memcpy(band_in + (c * IH + a) * W, in + (c * H + bo) * W, sizeof(data_T) * (H - bo) * W);
    }
    if constexpr (DW) {
      depthwise_conv_2d<data_T, res_T, B>(band_in, band_out, w, b);
    } else {
      conv_2d<data_T, res_T, B>(band_in, band_out, w, b);
    }
    ACT::template run<F * BOH * OW>(band_out, band_act);
    for (int f = 0; f < F; f++) {
      std::memcpy(out + f * OH * OW, band_act + f * BOH * OW, sizeof(out_t) * L * OW);
      std::memcpy(out + (f * OH + R) * OW, band_act + (f * BOH + right_from) * OW, sizeof(out_t) * (OH - R) * OW);
    }
  }
}

// Moves every channel's rows up by D (row r + D to row r) in buf [C][H][W], as one move of
// the whole buffer: each channel's last D rows then hold the next channel's first rows (stale
// values the plan recomputes, as it recomputes every row near the ends).
template <class T, int C, int H, int W, int D>
void shift_rows(T* buf) {
  static_assert(D > 0 && D < H, "shift_rows: the shift must leave rows to keep");
  std::memmove(buf, buf + D * W, sizeof(T) * (C * H * W - D * W));
}

// Whether `x` [C][H][W] is `prev` moved up by D rows: x's rows [0, H - D) equal prev's [D, H).
template <class T, int C, int H, int W, int D>
bool shifted_by(const T* prev, const T* x) {
  for (int c = 0; c < C; c++)
    if (std::memcmp(x + c * H * W, prev + (c * H + D) * W, sizeof(T) * (H - D) * W) != 0) return false;
  return true;
}

}  // namespace reuse
}  // namespace nnet

#endif  // __SYNTHESIS__

#endif  // HT_NNET_SHIFT_REUSE_H
