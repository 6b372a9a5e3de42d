// nnet_stream.h: what the io_stream layers share: the stream word (`nnet::array`, several
// pixels with all their channels), the line buffer with its sliding window, the adapters
// between the top function's arrays and streams, and elementwise layers on words.
//
// A stream of a [C][H][W] tensor (the IR's channels-first layout) carries the pixels in raster
// order, `pixels` of them per word, each pixel's C channels together: word k holds pixels
// k*pixels .. k*pixels + pixels - 1 of the raster, value [p * C + c] is channel c of the
// word's pixel p. A layer taking P pixels per word handles P pixels per initiation (its
// pixel loop unrolled P times): P is the layer's pixel parallelism (hls4ml's io_stream has
// P = 1 only; ours lets the compiler widen a bottleneck layer instead of raising the clock).
#ifndef HT_NNET_STREAM_H
#define HT_NNET_STREAM_H

#include "ht_stream.h"
#include "nnet_activation.h"
#include "nnet_common.h"

namespace nnet {

/// One stream word: N values (pixels x channels), as hls4ml's nnet::array.
template <class T, int N>
struct array {
  static_assert(N > 0, "nnet::array: size must be positive");
  typedef T value_type;
  static constexpr int size = N;
  T data[N];
  T& operator[](int i) { return data[i]; }
  const T& operator[](int i) const { return data[i]; }
};

/// The (K_h - 1) previous rows of a (padded) image and the K_h x K_w window ending at the
/// pixel pushed last, C channels each. push(px, v) takes pixel (py, px) of the raster: the
/// column px of rows py - K_h + 1 .. py moves into the window's right edge (the window shifts
/// left one column) and the line buffer's column px moves up one row. After a push the window
/// holds rows py - K_h + 1 .. py, columns px - K_w + 1 .. px of this frame once
/// py >= K_h - 1 and px >= K_w - 1; the layer reads it only then, so nothing is reset between
/// frames. In hardware the line buffer is (K_h - 1) BRAM/LUTRAM rows, the window registers.
template <class T, int KH, int KW, int C, int WIDTH>
struct line_window {
  static_assert(KH > 0 && KW > 0 && C > 0 && WIDTH >= KW, "line_window: bad geometry");
  T line[KH > 1 ? KH - 1 : 1][WIDTH][C];
  T win[KH][KW][C];

  void push(int px, const T v[C]) {
#pragma HLS INLINE
  Chan:
    for (int c = 0; c < C; c++) {
#pragma HLS UNROLL
      T col[KH];
    Up:
      for (int ky = 0; ky < KH - 1; ky++) {
        col[ky] = line[ky][px][c];
      }
      col[KH - 1] = v[c];
    Store:
      for (int ky = 0; ky < KH - 1; ky++) {
        line[ky][px][c] = col[ky + 1];
      }
    Shift:
      for (int ky = 0; ky < KH; ky++) {
        for (int kx = 0; kx < KW - 1; kx++) {
          win[ky][kx][c] = win[ky][kx + 1][c];
        }
        win[ky][KW - 1][c] = col[ky];
      }
    }
  }
};

/// Packs output pixels into words of P pixels x C values and writes each full word.
template <class word_T, int P, int C>
struct word_packer {
  static_assert(word_T::size == P * C, "word_packer: word size must be pixels x channels");
  word_T word;
  int filled = 0;
  /// The next output pixel's value for channel c (call for every c, then done()).
  typename word_T::value_type& at(int c) { return word[filled * C + c]; }
  void done(hls::stream<word_T>& out) {
#pragma HLS INLINE
    if (++filled == P) {
      out.write(word);
      filled = 0;
    }
  }
};

/// The checks every sliding-window stream layer makes on its geometry G (the layer's config:
/// n_chan, in_height, in_width, filt_height, filt_width, stride_height, stride_width, pads,
/// out_height, out_width, pixels_in, pixels_out, reuse_factor).
template <typename G>
constexpr bool window_stream_config_ok() {
  static_assert(G::pixels_in >= 1 && G::pixels_out >= 1, "stream layer: pixels_in and pixels_out must be >= 1");
  static_assert(G::in_width % G::pixels_in == 0, "stream layer: pixels_in must divide in_width");
  static_assert(G::pixels_in == 1 || (G::pad_left == 0 && G::pad_right == 0),
                "stream layer: pixels_in > 1 needs no left/right pads (a word never straddles a pad)");
  static_assert(G::out_width % G::pixels_out == 0, "stream layer: pixels_out must divide out_width");
  static_assert(G::reuse_factor >= 1, "stream layer: reuse_factor must be >= 1");
  static_assert(G::out_height == (G::in_height + G::pad_top + G::pad_bottom - G::filt_height) / G::stride_height + 1 &&
                    G::out_width == (G::in_width + G::pad_left + G::pad_right - G::filt_width) / G::stride_width + 1,
                "stream layer: out_height/out_width disagree with the input, pads, window and stride");
  return true;
}

/// The loop every sliding-window stream layer runs: over the padded input raster, pixels_in
/// pixels per initiation (II = reuse_factor; the pixel loop unrolled), one input word read per
/// pixels_in real pixels, zeros pushed at padded positions, and `kernel(win, packer)` called
/// when the window ends at an output position (rows and columns (py - K_h + 1) / stride_h,
/// (px - K_w + 1) / stride_w), which writes the output pixel's n_out values. Padding as zeros
/// gives the io_parallel bits because those layers skip padded taps and acc + 0 * w = acc.
template <class data_T, class res_T, typename G, int N_OUT, class Kernel>
void window_stream(hls::stream<data_T>& in, hls::stream<res_T>& out, const Kernel& kernel) {
  static_assert(window_stream_config_ok<G>(), "stream layer config");
  static_assert(data_T::size == G::n_chan * G::pixels_in, "stream layer: input word = pixels_in x n_chan");
  typedef typename data_T::value_type elem_T;
  constexpr int P = G::pixels_in, C = G::n_chan;
  constexpr int padded_height = G::in_height + G::pad_top + G::pad_bottom;
  constexpr int padded_width = G::in_width + G::pad_left + G::pad_right;
  static line_window<elem_T, G::filt_height, G::filt_width, C, padded_width> lw;
  word_packer<res_T, G::pixels_out, N_OUT> packer;
  data_T word;
Rows:
  for (int py = 0; py < padded_height; py++) {
  Cols:
    for (int pg = 0; pg < padded_width / P; pg++) {
#pragma HLS PIPELINE II = G::reuse_factor
    Pixel:
      for (int p = 0; p < P; p++) {
#pragma HLS UNROLL
        const int px = pg * P + p;
        const bool real = py >= G::pad_top && py < G::pad_top + G::in_height && px >= G::pad_left &&
                          px < G::pad_left + G::in_width;
        const int slot = (px - G::pad_left) % P;
        if (real && slot == 0) word = in.read();
        elem_T v[C];
        for (int c = 0; c < C; c++) v[c] = real ? word[slot * C + c] : elem_T(0);
        lw.push(px, v);
        const int wy = py - (G::filt_height - 1), wx = px - (G::filt_width - 1);
        if (wy >= 0 && wx >= 0 && wy % G::stride_height == 0 && wx % G::stride_width == 0 &&
            wy / G::stride_height < G::out_height && wx / G::stride_width < G::out_width) {
          kernel(lw.win, packer);
          packer.done(out);
        }
      }
    }
  }
}

/// A channels-first [n_chan][n_pixels] array as a stream of words of `pixels` pixels.
/// Config: n_chan, n_pixels (divisible by pixels), pixels.
template <class data_T, class word_T, typename CONFIG_T>
void array_to_stream(const data_T data[CONFIG_T::n_chan * CONFIG_T::n_pixels], hls::stream<word_T>& out) {
  static_assert(CONFIG_T::n_pixels % CONFIG_T::pixels == 0, "array_to_stream: pixels must divide n_pixels");
  static_assert(word_T::size == CONFIG_T::pixels * CONFIG_T::n_chan, "array_to_stream: word size");
Words:
  for (int k = 0; k < CONFIG_T::n_pixels / CONFIG_T::pixels; k++) {
#pragma HLS PIPELINE II = 1
    word_T w;
  Pixel:
    for (int p = 0; p < CONFIG_T::pixels; p++) {
      for (int c = 0; c < CONFIG_T::n_chan; c++) {
        w[p * CONFIG_T::n_chan + c] = data[c * CONFIG_T::n_pixels + k * CONFIG_T::pixels + p];
      }
    }
    out.write(w);
  }
}

/// A stream of n_pixels / pixels words gathered back into a channels-first array (the flatten
/// before a dense layer: index c * n_pixels + pixel, the IR's order, so the dense layer that
/// follows adds its terms in the io_parallel order and gives the same bits in every mode).
/// Config: n_chan, n_pixels, pixels.
template <class word_T, class res_T, typename CONFIG_T>
void stream_to_array(hls::stream<word_T>& in, res_T res[CONFIG_T::n_chan * CONFIG_T::n_pixels]) {
  static_assert(CONFIG_T::n_pixels % CONFIG_T::pixels == 0, "stream_to_array: pixels must divide n_pixels");
  static_assert(word_T::size == CONFIG_T::pixels * CONFIG_T::n_chan, "stream_to_array: word size");
Words:
  for (int k = 0; k < CONFIG_T::n_pixels / CONFIG_T::pixels; k++) {
#pragma HLS PIPELINE II = 1
    const word_T w = in.read();
  Pixel:
    for (int p = 0; p < CONFIG_T::pixels; p++) {
      for (int c = 0; c < CONFIG_T::n_chan; c++) {
        res[c * CONFIG_T::n_pixels + k * CONFIG_T::pixels + p] = w[p * CONFIG_T::n_chan + c];
      }
    }
  }
}

/// relu's config for one word (relu_stream applies nnet::relu word by word).
template <int N>
struct relu_word_config {
  static constexpr int n_in = N;
  static constexpr int reuse_factor = 1;
};

/// relu on every value of every word: nnet::relu's arithmetic on each word (so the same bits).
/// Config: n_words, word_size (values per word), reuse_factor (II per word).
template <class data_T, class res_T, typename CONFIG_T>
void relu_stream(hls::stream<data_T>& in, hls::stream<res_T>& out) {
  static_assert(data_T::size == CONFIG_T::word_size && res_T::size == CONFIG_T::word_size,
                "relu_stream: word sizes must match the config");
  static_assert(CONFIG_T::n_words > 0 && CONFIG_T::reuse_factor >= 1, "relu_stream: bad config");
Words:
  for (int k = 0; k < CONFIG_T::n_words; k++) {
#pragma HLS PIPELINE II = CONFIG_T::reuse_factor
    const data_T w = in.read();
    res_T r;
    relu<typename data_T::value_type, typename res_T::value_type, relu_word_config<CONFIG_T::word_size>>(w.data, r.data);
    out.write(r);
  }
}

}  // namespace nnet

#endif  // HT_NNET_STREAM_H
