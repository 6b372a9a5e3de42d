// layers_extra_driver: batch driver for the golden tests in hls/nnet/layers-extra.test.ts
// (the table activations, softmax, argmax, batchnorm, add, padded and 1-D pools, transpose).
//
//   layers_extra_driver MODE < ints
// stdin holds whitespace-separated raw integers: first the layer's parameters (batchnorm:
// scales then biases; none for the others), then any number of input samples, each the
// layer's full input (add: the first operand then the second). stdout: one line per sample,
// the raw outputs separated by spaces (argmax: the index). The MODE names must match LAYERS
// in layers-extra.test.ts. Exit codes: 0 ok, 2 unknown mode or input not a whole number of
// samples. Simulation-only code: never included in a kernel.
#include <cstdio>
#include <cstring>
#include <vector>

#define HT_DRIVER_NAME "layers_extra_driver"
#include "driver_io.h"
#include "nnet_activation.h"
#include "nnet_argmax.h"
#include "nnet_batchnorm.h"
#include "nnet_merge.h"
#include "nnet_pooling.h"
#include "nnet_softmax.h"
#include "nnet_transpose.h"

namespace {

typedef ap_fixed<16, 6> t16;                   // data, most results
typedef ap_fixed<12, 4> t12;                   // add's second operand
typedef ap_fixed<18, 2> p18;                   // softmax and LUT results (F 16)
typedef ap_fixed<18, 2, AP_RND_CONV> table18;  // sigmoid/tanh/exp tables (the writer's TABLE_TYPE)
typedef ap_fixed<24, 2, AP_RND_CONV> inv24;    // softmax inverse table
typedef ap_fixed<32, 12> acc32;                // exact accumulator (F 20)
typedef ap_fixed<24, 10> acc24;                // truncating accumulator (F 14)
typedef ap_fixed<18, 2, AP_RND_CONV> scale18;  // average-pool scale (the writer's SCALE_TYPE)

using driver_io::fail;
using driver_io::print_raws;
using driver_io::read_raws;
using driver_io::run_unary;

// ---- sigmoid, tanh, softmax, argmax ------------------------------------------------------------

template <int N, int TABLE>
struct lut_cfg {
  static constexpr int n_in = N, table_size = TABLE, reuse_factor = 1;
  typedef table18 table_t;
};

template <int N, int SLICES, int INNER, int TABLE, int RANGE>
struct softmax_cfg {
  static constexpr int n_in = N, n_slices = SLICES, n_inner = INNER, table_size = TABLE, exp_range = RANGE;
  static constexpr int reuse_factor = 1;
  typedef table18 exp_table_t;
  typedef inv24 inv_table_t;
  typedef acc32 accum_t;
};

struct argmax_cfg {
  static constexpr int n_in = 10, reuse_factor = 1;
};

void run_argmax() {
  std::vector<t16> x(argmax_cfg::n_in);
  while (read_raws(x.data(), argmax_cfg::n_in)) {
    int index = -1;
    nnet::argmax<t16, argmax_cfg>(x.data(), index);
    ap_fixed<8, 8> as_value[1];
    nnet::argmax<t16, ap_fixed<8, 8>, argmax_cfg>(x.data(), as_value);
    if (as_value[0].raw() != index) fail("the two argmax forms disagree");
    std::printf("%d\n", index);
  }
}

// ---- batchnorm, add --------------------------------------------------------------------------

template <class ACC>
struct bn_cfg {
  static constexpr int n_in = 24, n_chan = 4, reuse_factor = 1;
  typedef t16 scale_t;
  typedef t16 bias_t;
  typedef ACC accum_t;
};

template <class CFG>
void run_batchnorm() {
  std::vector<t16> scale(CFG::n_chan), bias(CFG::n_chan), x(CFG::n_in), y(CFG::n_in);
  if (!read_raws(scale.data(), CFG::n_chan) || !read_raws(bias.data(), CFG::n_chan)) fail("missing parameters");
  while (read_raws(x.data(), CFG::n_in)) {
    nnet::batchnorm<t16, t16, CFG>(x.data(), y.data(), scale.data(), bias.data());
    print_raws(y.data(), CFG::n_in);
  }
}

struct add_cfg {
  static constexpr int n_elem = 32, reuse_factor = 1;
};

void run_add() {
  std::vector<t16> a(add_cfg::n_elem), y(add_cfg::n_elem);
  std::vector<t12> b(add_cfg::n_elem);
  while (read_raws(a.data(), add_cfg::n_elem)) {
    if (!read_raws(b.data(), add_cfg::n_elem)) fail("add: second operand missing");
    nnet::add<t16, t12, t16, add_cfg>(a.data(), b.data(), y.data());
    print_raws(y.data(), add_cfg::n_elem);
  }
}

// ---- pools -----------------------------------------------------------------------------------

template <int C, int H, int W, int P, int S, int PT, int PB, int PL, int PR, bool INCL>
struct pool2d_cfg {
  static constexpr int n_chan = C, in_height = H, in_width = W, pool_height = P, pool_width = P;
  static constexpr int stride_height = S, stride_width = S;
  static constexpr int pad_top = PT, pad_bottom = PB, pad_left = PL, pad_right = PR;
  static constexpr int out_height = (H + PT + PB - P) / S + 1, out_width = (W + PL + PR - P) / S + 1;
  static constexpr int reuse_factor = 1;
  static constexpr bool count_include_pad = INCL;
  typedef acc32 accum_t;
  typedef scale18 scale_t;
};

template <int C, int W, int P, int S, int PL, int PR, bool INCL>
struct pool1d_cfg {
  static constexpr int n_chan = C, in_width = W, pool_width = P, stride_width = S, pad_left = PL, pad_right = PR;
  static constexpr int out_width = (W + PL + PR - P) / S + 1, reuse_factor = 1;
  static constexpr bool count_include_pad = INCL;
  typedef acc32 accum_t;
  typedef scale18 scale_t;
};

// A 1-D config without the optional fields (no pads, count_include_pad defaulted).
struct pool1d_plain_cfg {
  static constexpr int n_chan = 2, in_width = 9, pool_width = 2, stride_width = 2, out_width = 4, reuse_factor = 1;
  typedef acc32 accum_t;
  typedef scale18 scale_t;
};

template <class CFG, bool Avg>
void run_pool2d() {
  run_unary<t16, t16>(CFG::n_chan * CFG::in_height * CFG::in_width, CFG::n_chan * CFG::out_height * CFG::out_width,
                      [](const t16* x, t16* y) {
                        if (Avg) {
                          nnet::avg_pool_2d<t16, t16, CFG>(x, y);
                        } else {
                          nnet::max_pool_2d<t16, t16, CFG>(x, y);
                        }
                      });
}

template <class CFG, bool Avg>
void run_pool1d() {
  run_unary<t16, t16>(CFG::n_chan * CFG::in_width, CFG::n_chan * CFG::out_width, [](const t16* x, t16* y) {
    if (Avg) {
      nnet::avg_pool_1d<t16, t16, CFG>(x, y);
    } else {
      nnet::max_pool_1d<t16, t16, CFG>(x, y);
    }
  });
}

// ---- transpose -------------------------------------------------------------------------------

template <int ND, int D0, int D1, int D2, int D3, int P0, int P1, int P2, int P3>
struct transpose_cfg {
  static constexpr int n_dims = ND, in_dim0 = D0, in_dim1 = D1, in_dim2 = D2, in_dim3 = D3;
  static constexpr int perm0 = P0, perm1 = P1, perm2 = P2, perm3 = P3, reuse_factor = 1;
};

template <class CFG>
void run_transpose() {
  constexpr int n = nnet::transpose_size<CFG>();
  run_unary<t16, t16>(n, n, [](const t16* x, t16* y) { nnet::transpose<t16, t16, CFG>(x, y); });
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) fail("usage: layers_extra_driver MODE < ints");
  const char* m = argv[1];
  if (!std::strcmp(m, "sigmoid_1024"))
    run_unary<t16, p18>(64, 64, [](const t16* x, p18* y) { nnet::sigmoid<t16, p18, lut_cfg<64, 1024>>(x, y); });
  else if (!std::strcmp(m, "sigmoid_64"))
    run_unary<t16, p18>(64, 64, [](const t16* x, p18* y) { nnet::sigmoid<t16, p18, lut_cfg<64, 64>>(x, y); });
  else if (!std::strcmp(m, "tanh_1024"))
    run_unary<t16, p18>(64, 64, [](const t16* x, p18* y) { nnet::tanh<t16, p18, lut_cfg<64, 1024>>(x, y); });
  else if (!std::strcmp(m, "tanh_4096"))
    run_unary<t16, t16>(64, 64, [](const t16* x, t16* y) { nnet::tanh<t16, t16, lut_cfg<64, 4096>>(x, y); });
  // softmax_10x3: three groups of 10, 1024 entries over exp range 8; softmax_5: one group, 4096
  // over 16; softmax_4x3x6: along the middle axis of [3][4][6] (18 strided groups of 4).
  else if (!std::strcmp(m, "softmax_10x3"))
    run_unary<t16, p18>(30, 30, [](const t16* x, p18* y) { nnet::softmax<t16, p18, softmax_cfg<10, 3, 1, 1024, 8>>(x, y); });
  else if (!std::strcmp(m, "softmax_5"))
    run_unary<t16, p18>(5, 5, [](const t16* x, p18* y) { nnet::softmax<t16, p18, softmax_cfg<5, 1, 1, 4096, 16>>(x, y); });
  else if (!std::strcmp(m, "softmax_4x3x6"))
    run_unary<t16, p18>(72, 72, [](const t16* x, p18* y) { nnet::softmax<t16, p18, softmax_cfg<4, 3, 6, 1024, 8>>(x, y); });
  else if (!std::strcmp(m, "argmax")) run_argmax();
  else if (!std::strcmp(m, "batchnorm_acc32")) run_batchnorm<bn_cfg<acc32>>();
  else if (!std::strcmp(m, "batchnorm_acc24")) run_batchnorm<bn_cfg<acc24>>();
  else if (!std::strcmp(m, "add")) run_add();
  // 3x7x7, 3x3 window, stride 2, pads 1 all round; avg with count_include_pad 0 and 1.
  else if (!std::strcmp(m, "maxpool2d_pad")) run_pool2d<pool2d_cfg<3, 7, 7, 3, 2, 1, 1, 1, 1, false>, false>();
  else if (!std::strcmp(m, "avgpool2d_pad")) run_pool2d<pool2d_cfg<3, 7, 7, 3, 2, 1, 1, 1, 1, false>, true>();
  else if (!std::strcmp(m, "avgpool2d_pad_incl")) run_pool2d<pool2d_cfg<3, 7, 7, 3, 2, 1, 1, 1, 1, true>, true>();
  // 2x6x5, 2x2 window, stride 1, asymmetric pads (top 1, right 1).
  else if (!std::strcmp(m, "avgpool2d_asym")) run_pool2d<pool2d_cfg<2, 6, 5, 2, 1, 1, 0, 0, 1, false>, true>();
  else if (!std::strcmp(m, "maxpool1d_pad")) run_pool1d<pool1d_cfg<4, 11, 3, 2, 1, 1, false>, false>();
  else if (!std::strcmp(m, "avgpool1d_pad")) run_pool1d<pool1d_cfg<4, 10, 3, 1, 1, 1, false>, true>();
  else if (!std::strcmp(m, "avgpool1d_plain")) run_pool1d<pool1d_plain_cfg, true>();
  else if (!std::strcmp(m, "maxpool1d_plain")) run_pool1d<pool1d_plain_cfg, false>();
  else if (!std::strcmp(m, "transpose_2d")) run_transpose<transpose_cfg<2, 6, 7, 1, 1, 1, 0, 2, 3>>();
  else if (!std::strcmp(m, "transpose_3d")) run_transpose<transpose_cfg<3, 3, 4, 5, 1, 2, 0, 1, 3>>();
  else if (!std::strcmp(m, "transpose_4d")) run_transpose<transpose_cfg<4, 2, 3, 4, 5, 3, 1, 0, 2>>();
  else fail("unknown mode");
  return 0;
}
