// layers_driver: batch driver for the golden tests in hls/nnet/layers.test.ts.
//
//   layers_driver MODE < ints
// stdin holds whitespace-separated raw integers: first the layer's parameters (weights in
// the template's layout, then biases; none for activations and pools), then any number of
// input samples, each the layer's full input. stdout: one line per sample, the raw outputs
// separated by spaces. The compiled configurations (MODE names) must match LAYERS in
// layers.test.ts. Exit codes: 0 ok, 2 unknown mode or input not a whole number of samples.
// Simulation-only code: never included in a kernel.
#include <cstdio>
#include <cstring>
#include <vector>

#define HT_DRIVER_NAME "layers_driver"
#include "driver_io.h"
#include "nnet_activation.h"
#include "nnet_conv1d.h"
#include "nnet_conv2d.h"
#include "nnet_dense.h"
#include "nnet_depthwise_conv2d.h"
#include "nnet_pooling.h"

namespace {

typedef ap_fixed<16, 6> t16;     // data, weights, biases, most results
typedef ap_fixed<12, 4> t12;     // a narrower result
typedef ap_fixed<32, 12> acc32;  // accumulator holding every product exactly (F 20)
typedef ap_fixed<24, 10> acc24;  // accumulator that truncates each product (F 14 < 20)
typedef ap_fixed<18, 1> scale18;

using driver_io::fail;
using driver_io::print_raws;
using driver_io::read_raws;

// ---- dense ----------------------------------------------------------------------------------

template <int NIN, int NOUT, int RF, nnet::strategy S, class ACC>
struct dense_cfg {
  static constexpr int n_in = NIN, n_out = NOUT, reuse_factor = RF;
  static constexpr nnet::strategy strategy = S;
  typedef t16 weight_t;
  typedef t16 bias_t;
  typedef ACC accum_t;
};

template <class CFG, class res_T>
void run_dense() {
  std::vector<t16> w(CFG::n_in * CFG::n_out), b(CFG::n_out), x(CFG::n_in);
  std::vector<res_T> y(CFG::n_out);
  if (!read_raws(w.data(), w.size()) || !read_raws(b.data(), b.size())) fail("missing parameters");
  while (read_raws(x.data(), x.size())) {
    nnet::dense<t16, res_T, CFG>(x.data(), y.data(), w.data(), b.data());
    print_raws(y.data(), y.size());
  }
}

// ---- activations ----------------------------------------------------------------------------

struct act_cfg {
  static constexpr int n_in = 32, reuse_factor = 1;
  static constexpr double alpha = 0.1;
  typedef ap_fixed<16, 1> alpha_t;
};

template <bool Leaky>
void run_activation() {
  std::vector<t16> x(act_cfg::n_in), y(act_cfg::n_in);
  while (read_raws(x.data(), x.size())) {
    if (Leaky) {
      nnet::leaky_relu<t16, t16, act_cfg>(x.data(), y.data());
    } else {
      nnet::relu<t16, t16, act_cfg>(x.data(), y.data());
    }
    print_raws(y.data(), y.size());
  }
}

// ---- convolutions ---------------------------------------------------------------------------

template <int C, int H, int W, int F, int KH, int KW, int SH, int SW, int PT, int PB, int PL, int PR, class ACC>
struct conv2d_cfg {
  static constexpr int n_chan = C, in_height = H, in_width = W, n_filt = F, filt_height = KH, filt_width = KW;
  static constexpr int stride_height = SH, stride_width = SW;
  static constexpr int pad_top = PT, pad_bottom = PB, pad_left = PL, pad_right = PR;
  static constexpr int out_height = (H + PT + PB - KH) / SH + 1, out_width = (W + PL + PR - KW) / SW + 1;
  static constexpr int reuse_factor = 1;
  typedef t16 weight_t;
  typedef t16 bias_t;
  typedef ACC accum_t;
};

template <class CFG>
void run_conv2d() {
  std::vector<t16> w(CFG::n_filt * CFG::n_chan * CFG::filt_height * CFG::filt_width), b(CFG::n_filt);
  std::vector<t16> x(CFG::n_chan * CFG::in_height * CFG::in_width), y(CFG::n_filt * CFG::out_height * CFG::out_width);
  if (!read_raws(w.data(), w.size()) || !read_raws(b.data(), b.size())) fail("missing parameters");
  while (read_raws(x.data(), x.size())) {
    nnet::conv_2d<t16, t16, CFG>(x.data(), y.data(), w.data(), b.data());
    print_raws(y.data(), y.size());
  }
}

struct conv1d_cfg {
  static constexpr int n_chan = 2, in_width = 10, n_filt = 3, filt_width = 3, stride_width = 1;
  static constexpr int pad_left = 1, pad_right = 1, out_width = 10, reuse_factor = 1;
  typedef t16 weight_t;
  typedef t16 bias_t;
  typedef acc24 accum_t;
};

void run_conv1d() {
  typedef conv1d_cfg CFG;
  std::vector<t16> w(CFG::n_filt * CFG::n_chan * CFG::filt_width), b(CFG::n_filt);
  std::vector<t16> x(CFG::n_chan * CFG::in_width), y(CFG::n_filt * CFG::out_width);
  if (!read_raws(w.data(), w.size()) || !read_raws(b.data(), b.size())) fail("missing parameters");
  while (read_raws(x.data(), x.size())) {
    nnet::conv_1d<t16, t16, CFG>(x.data(), y.data(), w.data(), b.data());
    print_raws(y.data(), y.size());
  }
}

template <int C, int H, int W, int KH, int KW, int SH, int SW, int PT, int PB, int PL, int PR, class ACC>
struct dwconv_cfg {
  static constexpr int n_chan = C, in_height = H, in_width = W, filt_height = KH, filt_width = KW;
  static constexpr int stride_height = SH, stride_width = SW;
  static constexpr int pad_top = PT, pad_bottom = PB, pad_left = PL, pad_right = PR;
  static constexpr int out_height = (H + PT + PB - KH) / SH + 1, out_width = (W + PL + PR - KW) / SW + 1;
  static constexpr int reuse_factor = 1;
  typedef t16 weight_t;
  typedef t16 bias_t;
  typedef ACC accum_t;
};

template <class CFG>
void run_dwconv() {
  std::vector<t16> w(CFG::n_chan * CFG::filt_height * CFG::filt_width), b(CFG::n_chan);
  std::vector<t16> x(CFG::n_chan * CFG::in_height * CFG::in_width), y(CFG::n_chan * CFG::out_height * CFG::out_width);
  if (!read_raws(w.data(), w.size()) || !read_raws(b.data(), b.size())) fail("missing parameters");
  while (read_raws(x.data(), x.size())) {
    nnet::depthwise_conv_2d<t16, t16, CFG>(x.data(), y.data(), w.data(), b.data());
    print_raws(y.data(), y.size());
  }
}

// ---- pooling --------------------------------------------------------------------------------

template <int C, int H, int W, int P, int S>
struct pool_cfg {
  static constexpr int n_chan = C, in_height = H, in_width = W, pool_height = P, pool_width = P;
  static constexpr int stride_height = S, stride_width = S;
  static constexpr int out_height = (H - P) / S + 1, out_width = (W - P) / S + 1, reuse_factor = 1;
  typedef acc32 accum_t;
  typedef scale18 scale_t;
};

template <class CFG, bool Avg>
void run_pool() {
  std::vector<t16> x(CFG::n_chan * CFG::in_height * CFG::in_width), y(CFG::n_chan * CFG::out_height * CFG::out_width);
  while (read_raws(x.data(), x.size())) {
    if (Avg) {
      nnet::avg_pool_2d<t16, t16, CFG>(x.data(), y.data());
    } else {
      nnet::max_pool_2d<t16, t16, CFG>(x.data(), y.data());
    }
    print_raws(y.data(), y.size());
  }
}

struct gap_cfg {
  static constexpr int n_chan = 4, in_height = 5, in_width = 5, reuse_factor = 1;
  typedef acc32 accum_t;
  typedef scale18 scale_t;
};

void run_gap() {
  std::vector<t16> x(gap_cfg::n_chan * gap_cfg::in_height * gap_cfg::in_width), y(gap_cfg::n_chan);
  while (read_raws(x.data(), x.size())) {
    nnet::global_avg_pool<t16, t16, gap_cfg>(x.data(), y.data());
    print_raws(y.data(), y.size());
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) fail("usage: layers_driver MODE < ints");
  const char* m = argv[1];
  using nnet::latency;
  using nnet::resource;
  // dense_a: 16 -> 8, exact accumulator; the same weights through four builds.
  if (!std::strcmp(m, "dense_a_lat_rf1")) run_dense<dense_cfg<16, 8, 1, latency, acc32>, t16>();
  else if (!std::strcmp(m, "dense_a_lat_rf4")) run_dense<dense_cfg<16, 8, 4, latency, acc32>, t16>();
  else if (!std::strcmp(m, "dense_a_res_rf4")) run_dense<dense_cfg<16, 8, 4, resource, acc32>, t16>();
  else if (!std::strcmp(m, "dense_a_res_rf128")) run_dense<dense_cfg<16, 8, 128, resource, acc32>, t16>();
  // dense_b: 7 -> 5, accumulator truncating each product, narrower result.
  else if (!std::strcmp(m, "dense_b_lat_rf1")) run_dense<dense_cfg<7, 5, 1, latency, acc24>, t12>();
  else if (!std::strcmp(m, "dense_b_res_rf7")) run_dense<dense_cfg<7, 5, 7, resource, acc24>, t12>();
  else if (!std::strcmp(m, "dense_b_res_rf5")) run_dense<dense_cfg<7, 5, 5, resource, acc24>, t12>();
  else if (!std::strcmp(m, "relu")) run_activation<false>();
  else if (!std::strcmp(m, "leaky_relu")) run_activation<true>();
  // conv2d_same: 3x6x6 -> 4x6x6, 3x3 kernel, stride 1, pads 1.
  else if (!std::strcmp(m, "conv2d_same")) run_conv2d<conv2d_cfg<3, 6, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, acc32>>();
  // conv2d_strided: 2x7x8 -> 3x3x3, 3x2 kernel, stride 2x3, pads top 1 / right 1, truncating accumulator.
  else if (!std::strcmp(m, "conv2d_strided")) run_conv2d<conv2d_cfg<2, 7, 8, 3, 3, 2, 2, 3, 1, 0, 0, 1, acc24>>();
  else if (!std::strcmp(m, "conv1d")) run_conv1d();
  // dwconv_same: 4x6x6, 3x3 kernel, stride 1, pads 1 (a DS-CNN block's depthwise conv).
  else if (!std::strcmp(m, "dwconv_same")) run_dwconv<dwconv_cfg<4, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1, acc32>>();
  // dwconv_strided: 3x11x7, 4x3 kernel, stride 2x2, pads top 2 / bottom 1 / left 1, truncating accumulator.
  else if (!std::strcmp(m, "dwconv_strided")) run_dwconv<dwconv_cfg<3, 11, 7, 4, 3, 2, 2, 2, 1, 1, 0, acc24>>();
  else if (!std::strcmp(m, "maxpool_2s2")) run_pool<pool_cfg<3, 8, 8, 2, 2>, false>();
  else if (!std::strcmp(m, "maxpool_3s2")) run_pool<pool_cfg<3, 7, 7, 3, 2>, false>();
  else if (!std::strcmp(m, "avgpool_2s2")) run_pool<pool_cfg<3, 8, 8, 2, 2>, true>();
  else if (!std::strcmp(m, "avgpool_3s2")) run_pool<pool_cfg<3, 7, 7, 3, 2>, true>();
  else if (!std::strcmp(m, "global_avg_pool")) run_gap();
  else fail("unknown mode");
  return 0;
}
