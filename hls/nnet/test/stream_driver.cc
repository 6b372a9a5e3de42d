// stream_driver.cc: batch driver of stream.test.ts. Each mode is one layer (or chain) config;
// it reads the parameters (weights then biases, raws) and then samples, runs the io_parallel
// template and the io_stream template on each sample and prints one line: the parallel
// outputs, then the stream outputs (channels-first both), raws. Simulation only.
#define HT_DRIVER_NAME "stream_driver"
#include <cstring>
#include <string>

#include "driver_io.h"
#include "nnet_activation.h"
#include "nnet_conv2d.h"
#include "nnet_conv2d_stream.h"
#include "nnet_dense.h"
#include "nnet_pooling.h"
#include "nnet_pooling_stream.h"
#include "nnet_stream.h"

typedef ap_fixed<16, 6> T16;
typedef ap_fixed<32, 12> ACC32;
typedef ap_fixed<18, 4, AP_RND, AP_SAT> ACC_SAT;  // narrow, saturating: the order of additions matters
typedef ap_fixed<18, 1, AP_RND_CONV, AP_SAT> SCALE18;

template <int C, int H, int W, int F, int KH, int KW, int SH, int SW, int PT, int PB, int PL, int PR, int PIN, int POUT,
          int RF, class ACC>
struct conv_cfg {
  static constexpr int n_chan = C, in_height = H, in_width = W, n_filt = F, filt_height = KH, filt_width = KW;
  static constexpr int stride_height = SH, stride_width = SW, pad_top = PT, pad_bottom = PB, pad_left = PL,
                       pad_right = PR;
  static constexpr int out_height = (H + PT + PB - KH) / SH + 1, out_width = (W + PL + PR - KW) / SW + 1;
  static constexpr int pixels_in = PIN, pixels_out = POUT, reuse_factor = RF;
  typedef T16 weight_t;
  typedef T16 bias_t;
  typedef ACC accum_t;
};

template <int C, int H, int W, int KH, int KW, int SH, int SW, int PIN, int POUT>
struct pool_cfg {
  static constexpr int n_chan = C, in_height = H, in_width = W, pool_height = KH, pool_width = KW;
  static constexpr int stride_height = SH, stride_width = SW;
  static constexpr int out_height = (H - KH) / SH + 1, out_width = (W - KW) / SW + 1;
  static constexpr int pixels_in = PIN, pixels_out = POUT, reuse_factor = 1;
  typedef ap_fixed<24, 10> accum_t;
  typedef SCALE18 scale_t;
};

template <int C, int NPIX, int P>
struct adapt_cfg {
  static constexpr int n_chan = C, n_pixels = NPIX, pixels = P;
};

// The stream form of a layer: array -> words -> layer -> words -> array.
template <class CFG, int C_OUT, class Layer>
void via_stream(const T16* x, T16* y, Layer layer) {
  typedef nnet::array<T16, CFG::n_chan * CFG::pixels_in> in_word;
  typedef nnet::array<T16, C_OUT * CFG::pixels_out> out_word;
  hls::stream<in_word> in("in");
  hls::stream<out_word> out("out");
  nnet::array_to_stream<T16, in_word, adapt_cfg<CFG::n_chan, CFG::in_height * CFG::in_width, CFG::pixels_in>>(x, in);
  layer(in, out);
  nnet::stream_to_array<out_word, T16, adapt_cfg<C_OUT, CFG::out_height * CFG::out_width, CFG::pixels_out>>(out, y);
  if (!in.empty() || !out.empty()) driver_io::fail("a stream holds words after the layer");
}

template <class CFG>
void run_conv() {
  constexpr int n_in = CFG::n_chan * CFG::in_height * CFG::in_width;
  constexpr int n_out = CFG::n_filt * CFG::out_height * CFG::out_width;
  static T16 w[CFG::n_filt * CFG::n_chan * CFG::filt_height * CFG::filt_width], b[CFG::n_filt];
  if (!driver_io::read_raws(w, sizeof w / sizeof w[0]) || !driver_io::read_raws(b, CFG::n_filt)) {
    driver_io::fail("missing parameters");
  }
  driver_io::run_unary<T16, T16>(n_in, 2 * n_out, [&](const T16* x, T16* y) {
    nnet::conv_2d<T16, T16, CFG>(x, y, w, b);
    typedef nnet::array<T16, CFG::n_chan * CFG::pixels_in> in_word;
    typedef nnet::array<T16, CFG::n_filt * CFG::pixels_out> out_word;
    via_stream<CFG, CFG::n_filt>(x, y + n_out, [&](hls::stream<in_word>& in, hls::stream<out_word>& out) {
      nnet::conv_2d_stream<in_word, out_word, CFG>(in, out, w, b);
    });
  });
}

template <bool Avg, class CFG>
void run_pool() {
  constexpr int n_in = CFG::n_chan * CFG::in_height * CFG::in_width;
  constexpr int n_out = CFG::n_chan * CFG::out_height * CFG::out_width;
  typedef nnet::array<T16, CFG::n_chan * CFG::pixels_in> in_word;
  typedef nnet::array<T16, CFG::n_chan * CFG::pixels_out> out_word;
  driver_io::run_unary<T16, T16>(n_in, 2 * n_out, [&](const T16* x, T16* y) {
    if (Avg) {
      nnet::avg_pool_2d<T16, T16, CFG>(x, y);
    } else {
      nnet::max_pool_2d<T16, T16, CFG>(x, y);
    }
    via_stream<CFG, CFG::n_chan>(x, y + n_out, [&](hls::stream<in_word>& in, hls::stream<out_word>& out) {
      if (Avg) {
        nnet::avg_pool_2d_stream<in_word, out_word, CFG>(in, out);
      } else {
        nnet::max_pool_2d_stream<in_word, out_word, CFG>(in, out);
      }
    });
  });
}

// A small lymphocyte-shaped chain: 1x12x12 conv 4@3x3 (2 pixels a word) -> relu -> max pool 2
// (2 pixels in, 1 out) -> conv 4@3x3 -> relu -> max pool 2 -> flatten -> dense 4 -> 3.
typedef conv_cfg<1, 12, 12, 4, 3, 3, 1, 1, 0, 0, 0, 0, 2, 2, 1, ACC32> chain_c0;
typedef pool_cfg<4, 10, 10, 2, 2, 2, 2, 2, 1> chain_p0;
typedef conv_cfg<4, 5, 5, 4, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1, ACC32> chain_c1;
typedef pool_cfg<4, 3, 3, 2, 2, 2, 2, 1, 1> chain_p1;
struct chain_d {
  static constexpr int n_in = 4, n_out = 3, reuse_factor = 1;
  static constexpr nnet::strategy strategy = nnet::latency;
  typedef T16 weight_t;
  typedef T16 bias_t;
  typedef ACC32 accum_t;
};
template <int N>
struct relu_cfg {
  static constexpr int n_in = N, reuse_factor = 1;
};
template <int NW, int WS>
struct relu_stream_cfg {
  static constexpr int n_words = NW, word_size = WS, reuse_factor = 1;
};

void run_chain() {
  static T16 w0[36], b0[4], w1[144], b1[4], wd[12], bd[3];
  if (!driver_io::read_raws(w0, 36) || !driver_io::read_raws(b0, 4) || !driver_io::read_raws(w1, 144) ||
      !driver_io::read_raws(b1, 4) || !driver_io::read_raws(wd, 12) || !driver_io::read_raws(bd, 3)) {
    driver_io::fail("missing parameters");
  }
  driver_io::run_unary<T16, T16>(144, 6, [&](const T16* x, T16* y) {
    T16 a0[400], r0[400], q0[100], a1[36], r1[36], q1[4];
    nnet::conv_2d<T16, T16, chain_c0>(x, a0, w0, b0);
    nnet::relu<T16, T16, relu_cfg<400>>(a0, r0);
    nnet::max_pool_2d<T16, T16, chain_p0>(r0, q0);
    nnet::conv_2d<T16, T16, chain_c1>(q0, a1, w1, b1);
    nnet::relu<T16, T16, relu_cfg<36>>(a1, r1);
    nnet::max_pool_2d<T16, T16, chain_p1>(r1, q1);
    nnet::dense<T16, T16, chain_d>(q1, y, wd, bd);
    typedef nnet::array<T16, 1> w1x;
    typedef nnet::array<T16, 8> w2x4;
    typedef nnet::array<T16, 4> w1x4;
    hls::stream<w1x> s_in;
    hls::stream<w2x4> s_c0, s_r0;
    hls::stream<w1x4> s_p0, s_c1, s_r1, s_p1;
    T16 flat[4];
    nnet::array_to_stream<T16, w1x, adapt_cfg<1, 144, 1>>(x, s_in);
    // the input adapter gives 1 pixel a word; the first conv takes 2: re-pack (test only)
    hls::stream<nnet::array<T16, 2>> s_in2;
    for (int k = 0; k < 72; k++) {
      nnet::array<T16, 2> v;
      v[0] = s_in.read()[0];
      v[1] = s_in.read()[0];
      s_in2.write(v);
    }
    nnet::conv_2d_stream<nnet::array<T16, 2>, w2x4, chain_c0>(s_in2, s_c0, w0, b0);
    nnet::relu_stream<w2x4, w2x4, relu_stream_cfg<50, 8>>(s_c0, s_r0);
    nnet::max_pool_2d_stream<w2x4, w1x4, chain_p0>(s_r0, s_p0);
    nnet::conv_2d_stream<w1x4, w1x4, chain_c1>(s_p0, s_c1, w1, b1);
    nnet::relu_stream<w1x4, w1x4, relu_stream_cfg<9, 4>>(s_c1, s_r1);
    nnet::max_pool_2d_stream<w1x4, w1x4, chain_p1>(s_r1, s_p1);
    nnet::stream_to_array<w1x4, T16, adapt_cfg<4, 1, 1>>(s_p1, flat);
    nnet::dense<T16, T16, chain_d>(flat, y + 3, wd, bd);
  });
}

int main(int argc, char** argv) {
  if (argc != 2) driver_io::fail("usage: stream_driver MODE");
  const std::string m = argv[1];
  // conv_cfg<C, H, W, F, KH, KW, SH, SW, PT, PB, PL, PR, PIN, POUT, RF, ACC>
  if (m == "conv_plain") run_conv<conv_cfg<1, 8, 8, 4, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1, ACC32>>();
  else if (m == "conv_p2") run_conv<conv_cfg<1, 12, 12, 3, 3, 3, 1, 1, 0, 0, 0, 0, 2, 2, 1, ACC32>>();
  else if (m == "conv_pad_stride") run_conv<conv_cfg<3, 9, 7, 5, 3, 2, 2, 1, 1, 0, 1, 1, 1, 1, 3, ACC32>>();
  else if (m == "conv_p4_stride") run_conv<conv_cfg<2, 6, 8, 2, 2, 3, 1, 2, 0, 0, 0, 0, 4, 1, 2, ACC32>>();
  else if (m == "conv_pad_sat") run_conv<conv_cfg<4, 5, 5, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 5, 1, ACC_SAT>>();
  else if (m == "conv_p2_pad_tb") run_conv<conv_cfg<2, 6, 6, 3, 3, 3, 1, 1, 2, 1, 0, 0, 2, 2, 1, ACC_SAT>>();
  else if (m == "max_p2") run_pool<false, pool_cfg<3, 8, 8, 2, 2, 2, 2, 2, 1>>();
  else if (m == "max_3x3") run_pool<false, pool_cfg<2, 7, 9, 3, 3, 2, 3, 1, 1>>();
  else if (m == "avg_p3") run_pool<true, pool_cfg<2, 8, 6, 2, 3, 2, 3, 3, 1>>();
  else if (m == "chain") run_chain();
  else driver_io::fail("unknown mode");
  return 0;
}
