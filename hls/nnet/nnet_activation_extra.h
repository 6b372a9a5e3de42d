// nnet_activation_extra.h: the activations Keras and PyTorch exports add (ONNX Elu, Selu,
// Softplus, HardSigmoid).
//
//   elu           res[i] = data[i] >= 0 ? res_T(scale_t(scale) * data[i])
//                                       : res_T(table_t(scale * alpha * (exp(g) - 1)))
//                 Elu: scale = 1 (the positive branch is a plain cast); Selu: scale = gamma.
//   softplus      res[i] = data[i] >= 8 ? res_T(data[i]) : res_T(table_t(log(1 + exp(g))))
//   hard_sigmoid  res[i] = res_T(clamp(alpha_t(alpha) * data[i] + beta_t(beta), 0, 1))
//                 (product and sum in full precision, one cast at the end)
//
// g is data[i] on the grid of the sigmoid/tanh tables (nnet_activation.h): table_size entries
// over [-8, 8), input rounded to the nearest grid point and clamped. Error against the
// float function for |x| < 8: max|f'| * step / 2 (elu: scale * alpha, softplus: 1) plus
// table_t's and res_T's rounding; beyond -8 the elu table's end stands for the tail
// (scale * alpha * e^-8 = 3.4e-4 * scale * alpha off), softplus is 0 below -8 within e^-8 and
// x itself from 8 on (within e^-8).
//
// Config: n_in, reuse_factor; elu: alpha, scale (doubles), scale_t, table_size, table_t;
// softplus: table_size, table_t; hard_sigmoid: alpha, beta (doubles), alpha_t, beta_t.
#ifndef HT_NNET_ACTIVATION_EXTRA_H
#define HT_NNET_ACTIVATION_EXTRA_H

#include <cmath>

#include "nnet_activation.h"
#include "nnet_common.h"

namespace nnet {

/// The table functions of this file, each f(x, CONFIG_T) over the [-8, 8) grid.
struct elu_negative {
  template <typename CONFIG_T>
  static double f(double x) { return x < 0 ? CONFIG_T::scale * CONFIG_T::alpha * (std::exp(x) - 1.0) : 0.0; }
};
struct softplus_fn {
  template <typename CONFIG_T>
  static double f(double x) { return std::log1p(std::exp(x)); }
};

#ifndef __SYNTHESIS__
/// Simulation: one table per function and config, built once (function-local static).
template <class FN, typename CONFIG_T>
struct extra_table {
  typename CONFIG_T::table_t v[CONFIG_T::table_size];
  extra_table() {
    for (int k = 0; k < CONFIG_T::table_size; k++) v[k] = FN::template f<CONFIG_T>(-8.0 + 16.0 * k / CONFIG_T::table_size);
  }
  static const extra_table& get() {
    static const extra_table t;
    return t;
  }
};
#endif

/// table_t value of FN at the grid point nearest x (clamped to the table).
template <class FN, typename CONFIG_T, class data_T>
typename CONFIG_T::table_t extra_lookup(const data_T& x, const typename CONFIG_T::table_t* table) {
  typedef ap_fixed<log2_exact(CONFIG_T::table_size), 4, AP_RND, AP_SAT> index_t;
  const index_t g = x;
  return table[fixed_bits(g) + CONFIG_T::table_size / 2];
}

template <class FN, typename CONFIG_T>
struct extra_table_check {
  static_assert(CONFIG_T::n_in > 0, "elu/softplus: n_in must be positive");
  static_assert(CONFIG_T::reuse_factor >= 1, "elu/softplus: reuse_factor must be >= 1");
  static_assert(is_pow2(CONFIG_T::table_size) && CONFIG_T::table_size >= 32 && CONFIG_T::table_size <= 65536,
                "elu/softplus: table_size must be a power of two in [32, 65536]");
  static constexpr bool ok = true;
};

#ifdef __SYNTHESIS__
#define HT_EXTRA_TABLE(FN)                                                                 \
  typename CONFIG_T::table_t table[CONFIG_T::table_size];                                  \
  for (int k = 0; k < CONFIG_T::table_size; k++)                                           \
    table[k] = FN::template f<CONFIG_T>(-8.0 + 16.0 * k / CONFIG_T::table_size);
#else
#define HT_EXTRA_TABLE(FN) const typename CONFIG_T::table_t* table = extra_table<FN, CONFIG_T>::get().v;
#endif

template <class data_T, class res_T, typename CONFIG_T>
void elu(const data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in]) {
  static_assert(extra_table_check<elu_negative, CONFIG_T>::ok, "elu: bad config");
  static_assert(CONFIG_T::alpha >= 0.0, "elu: alpha must be >= 0");
  HT_EXTRA_TABLE(elu_negative)
  const typename CONFIG_T::scale_t scale = CONFIG_T::scale;
#pragma HLS PIPELINE II = CONFIG_T::reuse_factor
EluLoop:
  for (int i = 0; i < CONFIG_T::n_in; i++) {
#pragma HLS UNROLL
    if (data[i] >= 0) {
      if (CONFIG_T::scale == 1.0) {
        res[i] = data[i];
      } else {
        res[i] = data[i] * scale;
      }
    } else {
      res[i] = extra_lookup<elu_negative, CONFIG_T>(data[i], table);
    }
  }
}

template <class data_T, class res_T, typename CONFIG_T>
void softplus(const data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in]) {
  static_assert(extra_table_check<softplus_fn, CONFIG_T>::ok, "softplus: bad config");
  HT_EXTRA_TABLE(softplus_fn)
#pragma HLS PIPELINE II = CONFIG_T::reuse_factor
SoftplusLoop:
  for (int i = 0; i < CONFIG_T::n_in; i++) {
#pragma HLS UNROLL
    if (data[i] >= 8) {
      res[i] = data[i];
    } else {
      res[i] = extra_lookup<softplus_fn, CONFIG_T>(data[i], table);
    }
  }
}

template <class data_T, class res_T, typename CONFIG_T>
void hard_sigmoid(const data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in]) {
  static_assert(CONFIG_T::n_in > 0, "hard_sigmoid: n_in must be positive");
  static_assert(CONFIG_T::reuse_factor >= 1, "hard_sigmoid: reuse_factor must be >= 1");
  const typename CONFIG_T::alpha_t alpha = CONFIG_T::alpha;
  const typename CONFIG_T::beta_t beta = CONFIG_T::beta;
#pragma HLS PIPELINE II = CONFIG_T::reuse_factor
HardSigmoidLoop:
  for (int i = 0; i < CONFIG_T::n_in; i++) {
#pragma HLS UNROLL
    const auto y = data[i] * alpha + beta;
    if (y <= 0) {
      res[i] = 0;
    } else if (y >= 1) {
      res[i] = 1;
    } else {
      res[i] = y;
    }
  }
}

#undef HT_EXTRA_TABLE

}  // namespace nnet

#endif  // HT_NNET_ACTIVATION_EXTRA_H
