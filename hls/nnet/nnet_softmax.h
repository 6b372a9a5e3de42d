// nnet_softmax.h: softmax by lookup tables along one axis of a [n_slices][n_in][n_inner] array.
//
// Layouts: data and res [n_slices][n_in][n_inner] (flattened, row-major); softmax runs along
// the middle axis, once for each of the n_slices * n_inner groups of n_in values (n_inner = 1:
// the last axis, contiguous groups; n_inner > 1: e.g. over the channels of [C][H][W], for
// each pixel).
// Per group, as hls4ml's table-based softmax, but in its numerically stable form (the
// group's maximum subtracted first): hls4ml's "latency" softmax indexes exp over the whole
// input range, so a logit of 20 needs an exp table type of 30 integer bits, and a wider
// logit range costs table resolution. A maximum costs a comparator tree of depth
// log2(n_in), and keeps every exp in (0, 1]:
//   m     = max over the group of data
//   d[i]  = m - data[i]                                 (exact, full precision, >= 0)
//   e[i]  = exp_table[ round(d[i] / exp_step) ]          exp_step = exp_range / table_size,
//           the index saturating at table_size - 1;   exp_table[k] = exp_table_t(exp(-k * exp_step))
//   s     = sum of e[i] in accum_t                       (s >= 1: the maximum's e is exactly 1)
//   inv   = inv_table[ round(s / inv_step) ]             inv_step = inv_range / table_size, inv_range
//           the least power of two > n_in;             inv_table[k] = inv_table_t(1 / (k * inv_step))
//   res[i] = res_T( e[i] * inv )                         (full-precision product, one cast)
// Each index is the raw bits of the value converted to an ap_fixed<log2(table_size) + 1, ...,
// AP_RND, AP_SAT> (rounded to the nearest grid point, clamped): a bit slice, no multiplier.
// Error (first order, p = true softmax): |res - p| <= p * (2 * (exp(exp_step / 2) - 1) +
// (inv_step / 2) / (1 - inv_step / 2)) + n_in * (exp(-exp_range + exp_step) + LSB(exp_table_t))
// + LSB(inv_table_t) + LSB(res_T); hls/nnet/layers-extra.test.ts checks a bound of this form.
// Tables are built as in nnet_activation.h (simulation: once, at first use; synthesis: a
// loop of constants HLS folds into a ROM).
//
// Config: n_in, n_slices (>= 1), n_inner (>= 1), table_size (power of two, 64 to 65536), exp_range (power of
// two, 1 to table_size: the exp table covers d in [0, exp_range)), reuse_factor,
// exp_table_t (must hold 1.0), inv_table_t (must hold 1.0), accum_t (must hold n_in, with at
// least exp_table_t's fractional bits, so the sum is exact).
#ifndef HT_NNET_SOFTMAX_H
#define HT_NNET_SOFTMAX_H

#include <cmath>

#include "nnet_common.h"

namespace nnet {

/// The least power of two greater than n: the inverse table covers sums in [0, that).
constexpr int softmax_inv_range(int n) { return n < 1 ? 1 : 2 * softmax_inv_range(n / 2); }

template <typename CONFIG_T>
struct softmax_config_check {
  static_assert(CONFIG_T::n_in > 0 && CONFIG_T::n_slices > 0 && CONFIG_T::n_inner > 0,
                "softmax: n_in, n_slices and n_inner must be positive");
  static_assert(CONFIG_T::reuse_factor >= 1, "softmax: reuse_factor must be >= 1");
  static_assert(is_pow2(CONFIG_T::table_size) && CONFIG_T::table_size >= 64 && CONFIG_T::table_size <= 65536,
                "softmax: table_size must be a power of two in [64, 65536]");
  static_assert(is_pow2(CONFIG_T::exp_range) && CONFIG_T::exp_range <= CONFIG_T::table_size,
                "softmax: exp_range must be a power of two, at most table_size");
  static_assert(softmax_inv_range(CONFIG_T::n_in) < CONFIG_T::table_size,
                "softmax: n_in too large for table_size (the inverse table needs a step below 1)");
  static_assert(CONFIG_T::exp_table_t::iwidth >= 2 && CONFIG_T::inv_table_t::iwidth >= 2,
                "softmax: exp_table_t and inv_table_t must hold 1.0 (at least 2 integer bits)");
  static_assert(CONFIG_T::accum_t::iwidth >= 2 && CONFIG_T::accum_t::iwidth <= 62 &&
                    (1LL << (CONFIG_T::accum_t::iwidth - 1)) > CONFIG_T::n_in,
                "softmax: accum_t must hold n_in (the largest sum of exps)");
  static_assert(CONFIG_T::accum_t::width - CONFIG_T::accum_t::iwidth >=
                    CONFIG_T::exp_table_t::width - CONFIG_T::exp_table_t::iwidth,
                "softmax: accum_t needs at least exp_table_t's fractional bits (exact sum)");
  static constexpr bool ok = true;
};

template <typename CONFIG_T>
void init_softmax_tables(typename CONFIG_T::exp_table_t exp_table[CONFIG_T::table_size],
                         typename CONFIG_T::inv_table_t inv_table[CONFIG_T::table_size]) {
  constexpr int n = CONFIG_T::table_size;
  constexpr double exp_step = static_cast<double>(CONFIG_T::exp_range) / n;
  constexpr double inv_step = static_cast<double>(softmax_inv_range(CONFIG_T::n_in)) / n;
SoftmaxInit:
  for (int k = 0; k < n; k++) {
    exp_table[k] = std::exp(-k * exp_step);
    // k = 0 is never used (the sum is >= 1); give it entry 1's value rather than infinity.
    inv_table[k] = 1.0 / ((k == 0 ? 1 : k) * inv_step);
  }
}

#ifndef __SYNTHESIS__
template <typename CONFIG_T>
struct softmax_tables {
  typename CONFIG_T::exp_table_t exp_v[CONFIG_T::table_size];
  typename CONFIG_T::inv_table_t inv_v[CONFIG_T::table_size];
  softmax_tables() { init_softmax_tables<CONFIG_T>(exp_v, inv_v); }
  static const softmax_tables& get() {
    static const softmax_tables t;
    return t;
  }
};
#endif

template <class data_T, class res_T, typename CONFIG_T>
void softmax(const data_T data[CONFIG_T::n_slices * CONFIG_T::n_in * CONFIG_T::n_inner],
             res_T res[CONFIG_T::n_slices * CONFIG_T::n_in * CONFIG_T::n_inner]) {
  static_assert(softmax_config_check<CONFIG_T>::ok, "softmax: bad config");
  constexpr int n = CONFIG_T::table_size;
  constexpr int lg = log2_exact(n);
  // d / exp_step and s / inv_step rounded and clamped to [0, n - 1] (negative d cannot occur).
  typedef ap_fixed<lg + 1, log2_exact(CONFIG_T::exp_range) + 1, AP_RND, AP_SAT> exp_index_t;
  typedef ap_fixed<lg + 1, log2_exact(softmax_inv_range(CONFIG_T::n_in)) + 1, AP_RND, AP_SAT> inv_index_t;
#ifndef __SYNTHESIS__
  const typename CONFIG_T::exp_table_t* exp_table = softmax_tables<CONFIG_T>::get().exp_v;
  const typename CONFIG_T::inv_table_t* inv_table = softmax_tables<CONFIG_T>::get().inv_v;
#else
  typename CONFIG_T::exp_table_t exp_table[n];
  typename CONFIG_T::inv_table_t inv_table[n];
  init_softmax_tables<CONFIG_T>(exp_table, inv_table);
#endif
  typename CONFIG_T::exp_table_t e[CONFIG_T::n_in];
#pragma HLS ARRAY_PARTITION variable = e complete
  constexpr int stride = CONFIG_T::n_inner;
Slice:
  for (int s = 0; s < CONFIG_T::n_slices; s++) {
  Inner:
    for (int t = 0; t < CONFIG_T::n_inner; t++) {
#pragma HLS PIPELINE II = CONFIG_T::reuse_factor
      const int base = s * CONFIG_T::n_in * stride + t;
      data_T m = data[base];
    Max:
      for (int i = 1; i < CONFIG_T::n_in; i++) {
        if (data[base + i * stride] > m) m = data[base + i * stride];
      }
      typename CONFIG_T::accum_t sum = 0;
    Exp:
      for (int i = 0; i < CONFIG_T::n_in; i++) {
        const exp_index_t k = m - data[base + i * stride];
        e[i] = exp_table[fixed_bits(k)];
        sum = sum + e[i];
      }
      const inv_index_t j = sum;
      const typename CONFIG_T::inv_table_t inv = inv_table[fixed_bits(j)];
    Normalise:
      for (int i = 0; i < CONFIG_T::n_in; i++) {
        res[base + i * stride] = e[i] * inv;
      }
    }
  }
}

}  // namespace nnet

#endif  // HT_NNET_SOFTMAX_H
