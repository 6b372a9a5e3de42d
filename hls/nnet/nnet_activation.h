// nnet_activation.h: element-wise activations.
//
//   relu        res[i] = data[i] > 0 ? res_T(data[i]) : 0
//   leaky_relu  res[i] = data[i] > 0 ? res_T(data[i]) : res_T(data[i] * alpha_t(alpha))
//               (the product in full precision, then one cast to res_T)
//
//   sigmoid     res[i] = res_T( table_t( 1 / (1 + exp(-g)) ) )   lookup table, see below
//   tanh        res[i] = res_T( table_t( tanh(g) ) )
//
// Lookup tables (as hls4ml): table_size entries cover the input range [-8, 8) on a grid of
// step 16 / table_size; entry k holds f(-8 + k * step), computed in double and converted
// by table_t's Q and O. The input is rounded to the nearest grid point g (AP_RND) and
// clamped to the table (AP_SAT), i.e. converted to ap_fixed<log2(table_size), 4, AP_RND,
// AP_SAT>, whose raw bits plus table_size / 2 are the index: no multiplier, the index is a
// bit slice of the input plus a saturation. Error against f(x) for |x| < 8 - step / 2: at most
// max|f'| * step / 2 (sigmoid 1/4, tanh 1) plus table_t's and res_T's rounding; beyond, the
// table's end values (f(-8), f(8 - step)) stand for the tails.
// The table is built once per CONFIG_T: in simulation at first use (a function-local
// static, thread-safe since C++11); in synthesis as a local array initialised by a loop of
// constants, which HLS folds into a ROM (the pattern hls4ml uses).
//
// Config: n_in, reuse_factor (the initiation interval); leaky_relu also alpha (a double,
// converted once to alpha_t by alpha_t's Q and O modes) and alpha_t; sigmoid and tanh also
// table_size (a power of two, 32 to 65536) and table_t.
#ifndef HT_NNET_ACTIVATION_H
#define HT_NNET_ACTIVATION_H

#include <cmath>

#include "nnet_common.h"
#include "nnet_fast.h"

namespace nnet {

template <class data_T, class res_T, typename CONFIG_T>
void relu(const data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in]) {
  static_assert(CONFIG_T::n_in > 0, "relu: n_in must be positive");
  static_assert(CONFIG_T::reuse_factor >= 1, "relu: reuse_factor must be >= 1");
#ifdef HT_NNET_FAST  // simulation only: bit-exact shortcut, see nnet_fast.h
  if constexpr (fast::copy_fast<data_T, res_T>::value) {
    fast::relu<data_T, res_T, CONFIG_T::n_in>(data, res);
    return;
  }
#endif
#pragma HLS PIPELINE II = CONFIG_T::reuse_factor
ReluLoop:
  for (int i = 0; i < CONFIG_T::n_in; i++) {
#pragma HLS UNROLL
    if (data[i] > 0) {
      res[i] = data[i];
    } else {
      res[i] = 0;
    }
  }
}

template <class data_T, class res_T, typename CONFIG_T>
void leaky_relu(const data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in]) {
  static_assert(CONFIG_T::n_in > 0, "leaky_relu: n_in must be positive");
  static_assert(CONFIG_T::reuse_factor >= 1, "leaky_relu: reuse_factor must be >= 1");
  static_assert(CONFIG_T::alpha >= 0.0 && CONFIG_T::alpha < 1.0, "leaky_relu: alpha must be in [0, 1)");
#pragma HLS PIPELINE II = CONFIG_T::reuse_factor
  const typename CONFIG_T::alpha_t alpha = CONFIG_T::alpha;
LeakyReluLoop:
  for (int i = 0; i < CONFIG_T::n_in; i++) {
#pragma HLS UNROLL
    if (data[i] > 0) {
      res[i] = data[i];
    } else {
      res[i] = data[i] * alpha;
    }
  }
}

/// The checks sigmoid and tanh make on their config; instantiating it fires them.
template <typename CONFIG_T>
struct lut_activation_config_check {
  static_assert(CONFIG_T::n_in > 0, "sigmoid/tanh: n_in must be positive");
  static_assert(CONFIG_T::reuse_factor >= 1, "sigmoid/tanh: reuse_factor must be >= 1");
  static_assert(is_pow2(CONFIG_T::table_size) && CONFIG_T::table_size >= 32 && CONFIG_T::table_size <= 65536,
                "sigmoid/tanh: table_size must be a power of two in [32, 65536]");
  static_assert(CONFIG_T::table_t::iwidth >= 2, "sigmoid/tanh: table_t must hold +-1 (at least 2 integer bits)");
  static constexpr bool ok = true;
};

enum lut_function { lut_sigmoid, lut_tanh };

/// Entry k of the table of f over [-8, 8): f(-8 + k * 16 / N).
template <lut_function F, typename CONFIG_T>
void init_lut_table(typename CONFIG_T::table_t table[CONFIG_T::table_size]) {
  constexpr int n = CONFIG_T::table_size;
LutInit:
  for (int k = 0; k < n; k++) {
    const double x = -8.0 + 16.0 * k / n;
    table[k] = F == lut_sigmoid ? 1.0 / (1.0 + std::exp(-x)) : std::tanh(x);
  }
}

#ifndef __SYNTHESIS__
/// Simulation: the table of one function and config, built once (function-local static).
template <lut_function F, typename CONFIG_T>
struct lut_table {
  typename CONFIG_T::table_t v[CONFIG_T::table_size];
  lut_table() { init_lut_table<F, CONFIG_T>(v); }
  static const lut_table& get() {
    static const lut_table t;
    return t;
  }
};
#endif

/// res[i] = table[nearest grid point of data[i], clamped]; shared by sigmoid and tanh.
template <lut_function F, class data_T, class res_T, typename CONFIG_T>
void lut_activation(const data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in]) {
  static_assert(lut_activation_config_check<CONFIG_T>::ok, "sigmoid/tanh: bad config");
  constexpr int n = CONFIG_T::table_size;
  // Grid coordinate of x: raw = clamp(round(x * n / 16), -n/2, n/2 - 1).
  typedef ap_fixed<log2_exact(n), 4, AP_RND, AP_SAT> index_t;
#ifndef __SYNTHESIS__
  const typename CONFIG_T::table_t* table = lut_table<F, CONFIG_T>::get().v;
#else
  typename CONFIG_T::table_t table[n];
  init_lut_table<F, CONFIG_T>(table);
#endif
#pragma HLS PIPELINE II = CONFIG_T::reuse_factor
LutLoop:
  for (int i = 0; i < CONFIG_T::n_in; i++) {
#pragma HLS UNROLL
    const index_t g = data[i];
    res[i] = table[fixed_bits(g) + n / 2];
  }
}

template <class data_T, class res_T, typename CONFIG_T>
void sigmoid(const data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in]) {
  lut_activation<lut_sigmoid, data_T, res_T, CONFIG_T>(data, res);
}

template <class data_T, class res_T, typename CONFIG_T>
void tanh(const data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in]) {
  lut_activation<lut_tanh, data_T, res_T, CONFIG_T>(data, res);
}

}  // namespace nnet

#endif  // HT_NNET_ACTIVATION_H
