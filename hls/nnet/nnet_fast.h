// nnet_fast.h: bit-exact CPU fast paths for the simulator (never seen by synthesis).
//
// The layer templates (nnet::dense, once for both strategies; conv_1d, conv_2d,
// depthwise_conv_2d, relu and the max pools) call these at their top, behind `#ifdef HT_NNET_FAST`, when the
// config's types qualify (an `if constexpr` on the flags below); otherwise, and always in
// synthesis, the generic code runs. HT_NNET_FAST is defined here unless __SYNTHESIS__,
// HT_USE_VENDOR_AP (the vendor type has no raw()) or HT_SIM_GENERIC (tests: force the
// generic path) is defined. Flags, readable by drivers: nnet::fast::mac_fast<data_T, res_T,
// CONFIG_T>::value (dense, conv_1d, conv_2d, depthwise_conv_2d), nnet::fast::copy_fast<data_T, res_T>::value
// (relu, max_pool_1d, max_pool_2d).
//
// ---------------------------------------------------------------------------------------
// Why the multiply-accumulate shortcut is exact (dense, conv_1d, conv_2d, depthwise_conv_2d)
//   Conditions, all at compile time (mac_fast):
//     * data_T, weight_t, bias_t, accum_t, res_T are ht::ap_fixed;
//     * data_T and weight_t at most 16 bits wide (their raws fit int16; each product of
//       raws fits int32: |x * w| <= 2^30);
//     * accum_t has AP_TRN and AP_WRAP and is at most 32 bits wide.
//   Let Fp = F(data_T) + F(weight_t) (the full-precision product's fractional bits) and
//   Fa = F(accum_t). The generic code does acc = accum_t(bias), then per term
//   acc = accum_t(acc + x * w), then res = res_T(acc). acc is on accum_t's grid, so AP_TRN
//   of acc + p is acc + floor(p * 2^(Fa - Fp)) (exactly, scaled to acc's raw), and AP_WRAP
//   is reduction modulo 2^Wa, which commutes with every addition. Hence
//     raw(acc) = wrap_Wa( raw(accum_t(bias)) + sum_i t_i ),
//     t_i = (x_i * w_i) << (Fa - Fp)           if Fa >= Fp  ("exact" accumulators),
//     t_i = floor((x_i * w_i) / 2^(Fp - Fa))    otherwise    ("truncating": each product
//                                                            is floored on its own),
//   and since Wa <= 32, computing the sum in uint32 (modulo 2^32) and sign-extending the
//   low Wa bits gives the same raw. In the exact case the shift is applied once to the
//   sum (a shift of 32 or more leaves 0 modulo 2^32). A zero (padding) term adds 0 either
//   way, so padded positions and zero-filled lanes need no special case.
//   The bias goes through accum_t's own conversion (as generic), once per weight load;
//   the result through to_fixed() below, which is res_T's Q and O rules (ht_fixed.h's
//   table) in int64 where the shifts fit, else res_T::from_scaled itself.
// relu and max pools (copy_fast: data_T and res_T are ht::ap_fixed): max of raws of one
//   type compares exactly (pads are never read, as in the generic code); res = res_T(value)
//   through to_fixed(), skipped where res_T holds every data_T value (same F, at least as
//   wide); relu's 0 converts to raw 0 in every mode.
//
// Buffers and threads: each layer instantiation keeps its repacked weights (int16 pairs,
// as int32) and converted biases in thread_local buffers, refilled when the weights or
// biases pointer differs from the last call's. The contract is therefore: the contents of a
// weights / biases array must not change between calls (generated firmware passes
// `static const` arrays); a different array is fine. Conv staging buffers are thread_local
// too, so calls from several threads are safe; nothing here allocates after the first call
// of a thread.
//
// Speed: int16 pairs multiplied and summed into int32 lanes (vpmaddwd, or vpdpwssd with
// AVX-VNNI / AVX512-VNNI), 16 lanes with AVX-512 and 8 with AVX2, with the data vectorised
// over output pixels (conv) or the weights over outputs (dense), so no horizontal sums.
// Without AVX2 the same loops run in portable C++ (uint32 arithmetic, no signed overflow).
// Every variant is run against the generic code by fastpath.test.ts.
// ---------------------------------------------------------------------------------------
#ifndef HT_NNET_FAST_H
#define HT_NNET_FAST_H

#include "nnet_common.h"

#if !defined(__SYNTHESIS__) && !defined(HT_USE_VENDOR_AP) && !defined(HT_SIM_GENERIC)
#define HT_NNET_FAST 1
#endif

#ifdef HT_NNET_FAST

#include <cstddef>
#include <cstdint>
#include <type_traits>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace nnet {
namespace fast {

// ---- type traits ------------------------------------------------------------------------------

template <class T>
struct fx {
  static constexpr bool ok = false;
  static constexpr int width = 0, fwidth = 0;
  static constexpr ap_q_mode q = AP_TRN;
  static constexpr ap_o_mode o = AP_WRAP;
};
template <int W, int I, ap_q_mode Q, ap_o_mode O>
struct fx<ap_fixed<W, I, Q, O>> {
  static constexpr bool ok = true;
  static constexpr int width = W, fwidth = W - I;
  static constexpr ap_q_mode q = Q;
  static constexpr ap_o_mode o = O;
};

/// Whether dense / conv with these types takes the fast path (conditions: header comment).
template <class data_T, class res_T, class CONFIG_T>
struct mac_fast {
  typedef typename CONFIG_T::weight_t weight_t;
  typedef typename CONFIG_T::bias_t bias_t;
  typedef typename CONFIG_T::accum_t accum_t;
  static constexpr bool value = fx<data_T>::ok && fx<weight_t>::ok && fx<bias_t>::ok && fx<accum_t>::ok &&
                                fx<res_T>::ok && fx<data_T>::width <= 16 && fx<weight_t>::width <= 16 &&
                                fx<accum_t>::width <= 32 && fx<accum_t>::q == AP_TRN && fx<accum_t>::o == AP_WRAP;
  /// Fa - Fp: >= 0 shifts the whole sum left, < 0 floors each product by 2^-(Fa - Fp).
  static constexpr int shift = fx<accum_t>::fwidth - fx<data_T>::fwidth - fx<weight_t>::fwidth;
};

/// Whether a sum of N data_T values into accum_t (`acc = acc + x`, each addition converted to
/// accum_t, as global_avg_pool does) may be taken as one integer sum: accum_t has at least
/// data_T's fractional bits (no addition rounds), wraps (AP_WRAP: the low bits of each partial
/// sum, so of the whole sum, whatever the order), and the exact sum, scaled to accum_t's
/// fraction, fits an int64.
template <class data_T, class accum_t, int N>
struct sum_fast {
  static constexpr int shift = fx<accum_t>::fwidth - fx<data_T>::fwidth;
  static constexpr int ceil_log2(int n) {
    int b = 0;
    while ((int64_t{1} << b) < n) b++;
    return b;
  }
  static constexpr int bits_n = ceil_log2(N);
  static constexpr bool value = fx<data_T>::ok && fx<accum_t>::ok && fx<accum_t>::o == AP_WRAP && shift >= 0 &&
                                N <= 65536 && fx<data_T>::width + bits_n + shift <= 62 && fx<accum_t>::width <= 62;
};

/// Whether relu / max_pool_2d with these types take the fast path.
template <class data_T, class res_T>
struct copy_fast {
  static constexpr bool value = fx<data_T>::ok && fx<res_T>::ok;
};

// ---- conversions ------------------------------------------------------------------------------

/// raw(Dst(v * 2^-SrcF)) for v a sign-extended SrcW-bit raw: Dst's Q and O rules exactly as
/// ht::ap_fixed::from_scaled, in int64 when every shift fits (else from_scaled itself).
template <int SrcW, int SrcF, class Dst>
inline int64_t to_fixed(int64_t v) {
  constexpr int d = SrcF - fx<Dst>::fwidth;  // fractional bits dropped (< 0: scaled up)
  constexpr int W = fx<Dst>::width;
  constexpr ap_q_mode Q = fx<Dst>::q;
  constexpr ap_o_mode O = fx<Dst>::o;
  if constexpr ((d <= 0 && SrcW - d > 62) || d > 62) {
    return Dst::from_scaled(v, SrcF).raw();
  } else {
    int64_t x;
    if constexpr (d <= 0) {
      x = static_cast<int64_t>(static_cast<uint64_t>(v) << -d);
    } else {
      const int64_t fl = v >> d;
      const int64_t r = v - static_cast<int64_t>(static_cast<uint64_t>(fl) << d);
      constexpr int64_t half = int64_t{1} << (d - 1);
      const bool neg = v < 0;
      int64_t up;
      if constexpr (Q == AP_TRN) up = 0;
      else if constexpr (Q == AP_TRN_ZERO) up = neg && r != 0;
      else if constexpr (Q == AP_RND) up = r >= half;
      else if constexpr (Q == AP_RND_ZERO) up = r > half || (r == half && neg);
      else if constexpr (Q == AP_RND_MIN_INF) up = r > half;
      else if constexpr (Q == AP_RND_INF) up = r > half || (r == half && !neg);
      else up = r > half || (r == half && (fl & 1) != 0);  // AP_RND_CONV
      x = fl + up;
    }
    // |x| < 2^62 here, so W = 64 needs no fitting.
    if constexpr (W == 64) {
      return x;
    } else {
      constexpr int64_t lo = -(int64_t{1} << (W - 1)), hi = (int64_t{1} << (W - 1)) - 1;
      constexpr int64_t lo_sym = lo + (W > 1);
      const int64_t wrapped = static_cast<int64_t>(static_cast<uint64_t>(x) << (64 - W)) >> (64 - W);
      if constexpr (O == AP_WRAP) return wrapped;
      else if constexpr (O == AP_SAT) return x < lo ? lo : x > hi ? hi : x;
      else if constexpr (O == AP_SAT_ZERO) return x < lo || x > hi ? 0 : x;
      else return x < lo_sym ? lo_sym : x > hi ? hi : x;  // AP_SAT_SYM
    }
  }
}

/// Sign-extends the low W bits of a modulo-2^32 sum (W <= 32).
template <int W>
inline int64_t sext(uint32_t u) {
  return static_cast<int64_t>(static_cast<int32_t>(u << (32 - W)) >> (32 - W));
}

/// The low 16 bits of two raws as one int32 lane: lo in bits 0-15, hi in bits 16-31.
inline uint32_t pair(int64_t lo, int64_t hi) {
  return static_cast<uint32_t>(static_cast<uint16_t>(lo)) | (static_cast<uint32_t>(static_cast<uint16_t>(hi)) << 16);
}

/// One accumulator's final raw and the result raw: accum_t wrap, then res_T's rules.
template <class res_T, class CONFIG_T, int Shift>
inline int64_t finish(uint32_t bias_acc, uint32_t sum) {
  typedef typename CONFIG_T::accum_t accum_t;
  uint32_t acc = bias_acc;
  if constexpr (Shift < 0) acc += sum;  // terms already floored
  else if constexpr (Shift < 32) acc += sum << Shift;
  return to_fixed<fx<accum_t>::width, fx<accum_t>::fwidth, res_T>(sext<fx<accum_t>::width>(acc));
}

/// floor(x * w / 2^D) as a uint32 term (D >= 1; D >= 31 gives floor in {-1, 0}, as the exact value).
template <int D>
inline uint32_t floored(int32_t x, int32_t w) {
  return static_cast<uint32_t>((x * w) >> (D < 31 ? D : 31));
}

/// A product term as it is: x * w modulo 2^32 (exact accumulators).
struct exact_term {
  static uint32_t of(int32_t x, int32_t w) { return static_cast<uint32_t>(x * w); }
};

/// A product term floored by 2^D on its own (truncating accumulators), as floored<D>.
template <int D>
struct floored_term {
  static uint32_t of(int32_t x, int32_t w) { return floored<D>(x, w); }
};

/// The plain C++ pair kernel, with pair_block's contract (below) and each pair product
/// taken through Term::of: pair_block's fallback without AVX2 (exact_term) and
/// pair_block_floored on every target (floored_term). One loop nest for both, so the two
/// cannot drift apart; Term::of is inlined, and the object code is the same as the two
/// hand-written copies it replaced.
template <class Term, int NK, int NV>
inline void pair_block_scalar(const uint32_t* a, int a_step, const int* off, const uint32_t* b, int b_step,
                              int n_taps, uint32_t* out, int out_step) {
  for (int k = 0; k < NK; k++)
    for (int l = 0; l < 8 * NV; l++) out[k * out_step + l] = 0;
  for (int t = 0; t < n_taps; t++) {
    const uint32_t* at = a + static_cast<std::ptrdiff_t>(t) * a_step + (off ? off[t] : 0);
    for (int k = 0; k < NK; k++) {
      const uint32_t bk = b[k * b_step + t];
      const int32_t b0 = static_cast<int16_t>(bk & 0xffff), b1 = static_cast<int16_t>(bk >> 16);
      for (int l = 0; l < 8 * NV; l++) {
        const int32_t a0 = static_cast<int16_t>(at[l] & 0xffff), a1 = static_cast<int16_t>(at[l] >> 16);
        out[k * out_step + l] += Term::of(a0, b0) + Term::of(a1, b1);
      }
    }
  }
}

// ---- SIMD kernel: acc[k][v] += pairs(a at v) . pairs(broadcast b[k]) ---------------------------

#if defined(__AVX2__)
inline __m256i dot_acc(__m256i acc, __m256i a, __m256i b) {
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
  return _mm256_dpwssd_epi32(acc, a, b);  // non-saturating: wraps modulo 2^32 like the sum below
#elif defined(__AVXVNNI__)
  return _mm256_dpwssd_avx_epi32(acc, a, b);
#else
  return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b));  // both wrap modulo 2^32
#endif
}
#endif

#if defined(__AVX512BW__)
inline __m512i dot_acc512(__m512i acc, __m512i a, __m512i b) {
#if defined(__AVX512VNNI__)
  return _mm512_dpwssd_epi32(acc, a, b);
#else
  return _mm512_add_epi32(acc, _mm512_madd_epi16(a, b));
#endif
}
#endif

/// out[k * out_step + l] = sum over t of the pair dot products a[t * a_step + off[t] + l] .
/// b[k * b_step + t], for k < NK, lanes l < 8 * NV, t < n_taps (all modulo 2^32). Pairs
/// are int16 (lo, hi) packed into uint32. off may be null (all offsets 0).
template <int NK, int NV>
inline void pair_block(const uint32_t* a, int a_step, const int* off, const uint32_t* b, int b_step, int n_taps,
                       uint32_t* out, int out_step) {
#if defined(__AVX512BW__)
  if constexpr (NV % 2 == 0) {  // 16-lane vectors: half the loads and broadcasts per product
    constexpr int NZ = NV / 2;
    __m512i acc[NK][NZ];
    for (int k = 0; k < NK; k++)
      for (int v = 0; v < NZ; v++) acc[k][v] = _mm512_setzero_si512();
    for (int t = 0; t < n_taps; t++) {
      const uint32_t* at = a + static_cast<std::ptrdiff_t>(t) * a_step + (off ? off[t] : 0);
      __m512i av[NZ];
      for (int v = 0; v < NZ; v++) av[v] = _mm512_loadu_si512(at + 16 * v);
      for (int k = 0; k < NK; k++) {
        const __m512i bk = _mm512_set1_epi32(static_cast<int>(b[k * b_step + t]));
        for (int v = 0; v < NZ; v++) acc[k][v] = dot_acc512(acc[k][v], av[v], bk);
      }
    }
    for (int k = 0; k < NK; k++)
      for (int v = 0; v < NZ; v++) _mm512_storeu_si512(out + k * out_step + 16 * v, acc[k][v]);
    return;
  }
#endif
#if defined(__AVX2__)
  // With fewer than 4 accumulators the add latency would bind: U partial sums over taps.
  constexpr int U = NK * NV >= 4 ? 1 : 4 / (NK * NV);
  __m256i acc[U][NK][NV];
  for (int u = 0; u < U; u++)
    for (int k = 0; k < NK; k++)
      for (int v = 0; v < NV; v++) acc[u][k][v] = _mm256_setzero_si256();
  int t = 0;
  for (; t + U <= n_taps; t += U) {
    for (int u = 0; u < U; u++) {
      const uint32_t* at = a + static_cast<std::ptrdiff_t>(t + u) * a_step + (off ? off[t + u] : 0);
      __m256i av[NV];
      for (int v = 0; v < NV; v++) av[v] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(at + 8 * v));
      for (int k = 0; k < NK; k++) {
        const __m256i bk = _mm256_set1_epi32(static_cast<int>(b[k * b_step + t + u]));
        for (int v = 0; v < NV; v++) acc[u][k][v] = dot_acc(acc[u][k][v], av[v], bk);
      }
    }
  }
  for (; t < n_taps; t++) {
    const uint32_t* at = a + static_cast<std::ptrdiff_t>(t) * a_step + (off ? off[t] : 0);
    for (int k = 0; k < NK; k++) {
      const __m256i bk = _mm256_set1_epi32(static_cast<int>(b[k * b_step + t]));
      for (int v = 0; v < NV; v++)
        acc[0][k][v] = dot_acc(acc[0][k][v], _mm256_loadu_si256(reinterpret_cast<const __m256i*>(at + 8 * v)), bk);
    }
  }
  for (int k = 0; k < NK; k++)
    for (int v = 0; v < NV; v++) {
      __m256i sum = acc[0][k][v];
      for (int u = 1; u < U; u++) sum = _mm256_add_epi32(sum, acc[u][k][v]);  // modulo 2^32
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + k * out_step + 8 * v), sum);
    }
#else
  pair_block_scalar<exact_term, NK, NV>(a, a_step, off, b, b_step, n_taps, out, out_step);
#endif
}

/// As pair_block, but each product floored by 2^D on its own (truncating accumulators).
template <int D, int NK, int NV>
inline void pair_block_floored(const uint32_t* a, int a_step, const int* off, const uint32_t* b, int b_step,
                               int n_taps, uint32_t* out, int out_step) {
  pair_block_scalar<floored_term<D>, NK, NV>(a, a_step, off, b, b_step, n_taps, out, out_step);
}

template <int Shift, int NK, int NV>
inline void pair_block_any(const uint32_t* a, int a_step, const int* off, const uint32_t* b, int b_step, int n_taps,
                           uint32_t* out, int out_step) {
  if constexpr (Shift >= 0) pair_block<NK, NV>(a, a_step, off, b, b_step, n_taps, out, out_step);
  else pair_block_floored<-Shift, NK, NV>(a, a_step, off, b, b_step, n_taps, out, out_step);
}

// ---- dense ------------------------------------------------------------------------------------

template <class data_T, class res_T, class CONFIG_T>
struct dense_fast {
  typedef mac_fast<data_T, res_T, CONFIG_T> M;
  static constexpr int n_in = CONFIG_T::n_in, n_out = CONFIG_T::n_out;
  static constexpr int n_pairs = (n_in + 1) / 2;
  static constexpr int n_out_pad = (n_out + 7) / 8 * 8;

  // Weights as pairs over inputs: w_pairs[p * n_out_pad + j] = (W[2p][j], W[2p + 1][j]).
  struct params {
    const void* weights = nullptr;
    const void* biases = nullptr;
    alignas(32) uint32_t w_pairs[n_pairs * n_out_pad];
    uint32_t bias_acc[n_out];
  };

  static const params& load(const typename CONFIG_T::weight_t* weights, const typename CONFIG_T::bias_t* biases) {
    static thread_local params p;
    if (p.weights != weights || p.biases != biases) {
      for (int i = 0; i < n_pairs; i++)
        for (int j = 0; j < n_out_pad; j++) {
          const bool ok = j < n_out;
          const int64_t lo = ok ? weights[2 * i * n_out + j].raw() : 0;
          const int64_t hi = ok && 2 * i + 1 < n_in ? weights[(2 * i + 1) * n_out + j].raw() : 0;
          p.w_pairs[i * n_out_pad + j] = pair(lo, hi);
        }
      for (int j = 0; j < n_out; j++)
        p.bias_acc[j] = static_cast<uint32_t>(typename CONFIG_T::accum_t(biases[j]).raw());
      p.weights = weights, p.biases = biases;
    }
    return p;
  }

  static void run(const data_T* data, res_T* res, const typename CONFIG_T::weight_t* weights,
                  const typename CONFIG_T::bias_t* biases) {
    const params& p = load(weights, biases);
    uint32_t x_pairs[n_pairs];
    for (int i = 0; i < n_pairs; i++) x_pairs[i] = pair(data[2 * i].raw(), 2 * i + 1 < n_in ? data[2 * i + 1].raw() : 0);
    alignas(32) uint32_t sum[n_out_pad];
    // Outputs in blocks of 32 (4 vectors); taps are the input pairs. The broadcast operand is
    // the data pair, so a_step is one row of w_pairs.
    constexpr int full = n_out_pad / 32, rest = (n_out_pad % 32) / 8;
    for (int blk = 0; blk < full; blk++)
      pair_block_any<M::shift, 1, 4>(p.w_pairs + 32 * blk, n_out_pad, nullptr, x_pairs, 0, n_pairs, sum + 32 * blk, 0);
    if constexpr (rest > 0)
      pair_block_any<M::shift, 1, rest>(p.w_pairs + 32 * full, n_out_pad, nullptr, x_pairs, 0, n_pairs, sum + 32 * full, 0);
    for (int j = 0; j < n_out; j++) res[j] = res_T::from_raw(finish<res_T, CONFIG_T, M::shift>(p.bias_acc[j], sum[j]));
  }
};

// ---- conv (2-D; conv_1d is height 1) ---------------------------------------------------------
//
// The input is staged once per call as int16 raws in a zero-padded plane per channel,
// X[c][Hp][Wp] (Hp, Wp the padded sizes), so padding is ordinary zero data. An output at
// padded row y = oy * stride_height and column x is then sum over taps of
//   X[q + off_a] * w_a + X[q + off_b] * w_b,   q = y * Wp + x,
// a "tap" pairing two kernel elements whose offsets differ by a constant D, read from a
// pair table T[q] = (X[q], X[q + D]) so that each tap is one pair product over consecutive
// q (8 or 16 lanes). Channels 2j and 2j + 1 pair up (D = Hp * Wp, same ky, kx); an odd last
// channel pairs its columns kx, kx + 1 (D = 1), and with an odd kernel width its last column
// pairs rows ky, ky + 1 (D = Wp; an odd height pairs the last element with a zero weight).
// The tables sit in one buffer (channel, column, row), so a tap is just an offset. E.g.
// 3 channels, 3x3: 9 + 3 + 2 = 14 taps for 27 products; 1 channel, 3x3: 5 taps for 9.
// Positions are computed for every x of each needed row (x beyond the last output, or not
// on the stride, is computed and dropped): valid outputs never read past their row.
template <class data_T, class res_T, class CONFIG_T>
struct conv_fast {
  typedef mac_fast<data_T, res_T, CONFIG_T> M;
  static constexpr int C = CONFIG_T::n_chan, H = CONFIG_T::in_height, W = CONFIG_T::in_width;
  static constexpr int F = CONFIG_T::n_filt, KH = CONFIG_T::filt_height, KW = CONFIG_T::filt_width;
  static constexpr int SH = CONFIG_T::stride_height, SW = CONFIG_T::stride_width;
  static constexpr int OH = CONFIG_T::out_height, OW = CONFIG_T::out_width;
  static constexpr int Hp = H + CONFIG_T::pad_top + CONFIG_T::pad_bottom, Wp = W + CONFIG_T::pad_left + CONFIG_T::pad_right;
  static constexpr int plane = Hp * Wp;
  static constexpr int C2 = C / 2 * 2;           // channels paired with each other
  static constexpr bool odd = C % 2 != 0;        // the last channel pairs its columns
  static constexpr bool last_col = odd && KW % 2 != 0;  // the odd channel's last column pairs rows
  static constexpr int n_taps = C / 2 * KH * KW + (odd ? KH * (KW / 2) : 0) + (last_col ? (KH + 1) / 2 : 0);
  static constexpr int FB = 4;  // filters per block
  static constexpr int F_pad = (F + FB - 1) / FB * FB;
  // Positions per block: two 16-lane vectors with AVX-512 (8 accumulators of 32), else two
  // 8-lane ones (AVX2 has 16 registers). Measured on the cell students (Zen 4): 32 beats 16
  // by about 15 %, and 8 filters per block is slower than 4.
#if defined(__AVX512BW__)
  static constexpr int G = 32;
#else
  static constexpr int G = 16;
#endif
  // Output positions q: every x of padded rows oy * SH; one run when SH == 1.
  static constexpr int run_len = SH == 1 ? OH * Wp : Wp;
  static constexpr int n_runs = SH == 1 ? 1 : OH;
  static constexpr int run_pad = (run_len + G - 1) / G * G;
  static constexpr int q_end = (n_runs - 1) * SH * Wp + run_pad;  // one past the last position computed
  // Table sizes: every index q + offset a tap reads, q < q_end.
  static constexpr int t_chan = C2 > 0 ? q_end + (C2 - 2) * plane + (KH - 1) * Wp + (KW - 1) : 0;
  static constexpr int x_base = (C - 1) * plane;  // the odd channel's plane
  static constexpr int t_col = odd && KW >= 2 ? q_end + (KH - 1) * Wp + (KW - 2) : 0;
  static constexpr int t_row = last_col ? q_end + (KH - 1) / 2 * 2 * Wp + (KW - 1) : 0;
  static constexpr int t_size = t_chan + t_col + t_row;
  static constexpr int max4(int a, int b, int c, int d) {
    return (a > b ? a : b) > (c > d ? c : d) ? (a > b ? a : b) : (c > d ? c : d);
  }
  static constexpr int x_size = max4(C * plane, t_chan + plane, x_base + t_col + 1, x_base + t_row + Wp);

  struct tables {
    int off[n_taps];  // tap offsets into T, in the order of params::w_pairs
    tables() {
      int t = 0;
      for (int c = 0; c < C2; c += 2)
        for (int ky = 0; ky < KH; ky++)
          for (int kx = 0; kx < KW; kx++) off[t++] = c * plane + ky * Wp + kx;
      if (odd)
        for (int ky = 0; ky < KH; ky++)
          for (int kx = 0; kx + 1 < KW; kx += 2) off[t++] = t_chan + ky * Wp + kx;
      if (last_col)
        for (int ky = 0; ky < KH; ky += 2) off[t++] = t_chan + t_col + ky * Wp + (KW - 1);
    }
  };

  struct params {
    const void* weights = nullptr;
    const void* biases = nullptr;
    uint32_t w_pairs[F_pad * n_taps];  // [filter][tap], same order as tables::off
    uint32_t bias_acc[F];
  };

  struct staging {
    int16_t x[x_size];  // padding regions stay zero: only the interior is ever written
    uint32_t t[t_size];
    alignas(32) uint32_t sums[FB * q_end];  // [filter in block][position]
  };

  static const params& load(const typename CONFIG_T::weight_t* w, const typename CONFIG_T::bias_t* biases) {
    static thread_local params p;
    if (p.weights != w || p.biases != biases) {
      auto raw = [&](int f, int c, int ky, int kx) -> int64_t {
        return f < F && c < C && ky < KH && kx < KW ? w[((f * C + c) * KH + ky) * KW + kx].raw() : 0;
      };
      for (int f = 0; f < F_pad; f++) {
        int t = 0;
        for (int c = 0; c < C2; c += 2)
          for (int ky = 0; ky < KH; ky++)
            for (int kx = 0; kx < KW; kx++) p.w_pairs[f * n_taps + t++] = pair(raw(f, c, ky, kx), raw(f, c + 1, ky, kx));
        if (odd)
          for (int ky = 0; ky < KH; ky++)
            for (int kx = 0; kx + 1 < KW; kx += 2) p.w_pairs[f * n_taps + t++] = pair(raw(f, C - 1, ky, kx), raw(f, C - 1, ky, kx + 1));
        if (last_col)
          for (int ky = 0; ky < KH; ky += 2) p.w_pairs[f * n_taps + t++] = pair(raw(f, C - 1, ky, KW - 1), raw(f, C - 1, ky + 1, KW - 1));
      }
      for (int f = 0; f < F; f++) p.bias_acc[f] = static_cast<uint32_t>(typename CONFIG_T::accum_t(biases[f]).raw());
      p.weights = w, p.biases = biases;
    }
    return p;
  }

  static void run(const data_T* data, res_T* res, const typename CONFIG_T::weight_t* weights,
                  const typename CONFIG_T::bias_t* biases) {
    static const tables tab;
    static thread_local staging st;
    const params& p = load(weights, biases);
    for (int c = 0; c < C; c++)
      for (int y = 0; y < H; y++) {
        int16_t* row = st.x + c * plane + (y + CONFIG_T::pad_top) * Wp + CONFIG_T::pad_left;
        const data_T* src = data + (c * H + y) * W;
        for (int x = 0; x < W; x++) row[x] = static_cast<int16_t>(src[x].raw());
      }
    for (int q = 0; q < t_chan; q++) st.t[q] = pair(st.x[q], st.x[q + plane]);
    for (int i = 0; i < t_col; i++) st.t[t_chan + i] = pair(st.x[x_base + i], st.x[x_base + i + 1]);
    for (int i = 0; i < t_row; i++) st.t[t_chan + t_col + i] = pair(st.x[x_base + i], st.x[x_base + i + Wp]);

    // Per block of FB filters: the sums of every position (L1-sized), then the outputs row by
    // row, contiguous in x when stride_width is 1 (a loop g++ vectorises).
    for (int f0 = 0; f0 < F_pad; f0 += FB) {
      for (int r = 0; r < n_runs; r++)
        for (int q0 = r * SH * Wp; q0 < r * SH * Wp + run_pad; q0 += G)
          pair_block_any<M::shift, FB, G / 8>(st.t + q0, 0, tab.off, p.w_pairs + f0 * n_taps, n_taps, n_taps,
                                              st.sums + q0, q_end);
      for (int k = 0; k < FB && f0 + k < F; k++) {
        const uint32_t bias = p.bias_acc[f0 + k];
        const uint32_t* sums = st.sums + k * q_end;
        res_T* out = res + (f0 + k) * OH * OW;
        for (int oy = 0; oy < OH; oy++) {
          const uint32_t* row = sums + oy * SH * Wp;
          res_T* orow = out + oy * OW;
          for (int ox = 0; ox < OW; ox++) orow[ox] = res_T::from_raw(finish<res_T, CONFIG_T, M::shift>(bias, row[ox * SW]));
        }
      }
    }
  }
};

/// conv_1d's config seen as a conv_2d config of height 1 (same weight layout [F][C][1][KW]).
template <class C1>
struct conv1d_as_2d {
  static constexpr int n_chan = C1::n_chan, in_height = 1, in_width = C1::in_width, n_filt = C1::n_filt;
  static constexpr int filt_height = 1, filt_width = C1::filt_width, stride_height = 1, stride_width = C1::stride_width;
  static constexpr int pad_top = 0, pad_bottom = 0, pad_left = C1::pad_left, pad_right = C1::pad_right;
  static constexpr int out_height = 1, out_width = C1::out_width;
  typedef typename C1::weight_t weight_t;
  typedef typename C1::bias_t bias_t;
  typedef typename C1::accum_t accum_t;
};

// ---- depthwise conv (2-D) --------------------------------------------------------------------
//
// Each channel is a one-channel, one-filter conv, and runs through pair_block (one filter,
// 32 positions a call) as conv_fast's odd last channel does: the channel is staged as int16
// raws in a zero-padded plane X[Hp][Wp] (padding is ordinary zero data), kernel columns kx,
// kx + 1 pair up through a table A[q] = (X[q], X[q + 1]), and with an odd kernel width the
// last column pairs rows ky, ky + 1 through B[q] = (X[q], X[q + Wp]) (an odd height pairs
// its last row with a zero weight). The sums are taken at every position q = y * Wp + x up
// to the last output's (stride and row ends computed and dropped), so each tap is one
// contiguous run; outputs are read at q = oy * stride_height * Wp + ox * stride_width.
// Terms and the final conversion are the MAC shortcut's (pair_block_any, finish), so the
// bits are the generic code's. Buffers and threads: as conv_fast.
template <class data_T, class res_T, class CONFIG_T>
struct depthwise_fast {
  typedef mac_fast<data_T, res_T, CONFIG_T> M;
  static constexpr int C = CONFIG_T::n_chan, H = CONFIG_T::in_height, W = CONFIG_T::in_width;
  static constexpr int KH = CONFIG_T::filt_height, KW = CONFIG_T::filt_width;
  static constexpr int SH = CONFIG_T::stride_height, SW = CONFIG_T::stride_width;
  static constexpr int OH = CONFIG_T::out_height, OW = CONFIG_T::out_width;
  static constexpr int Hp = H + CONFIG_T::pad_top + CONFIG_T::pad_bottom, Wp = W + CONFIG_T::pad_left + CONFIG_T::pad_right;
  static constexpr int plane = Hp * Wp;
  static constexpr int G = 32;  // positions per pair_block call (4 x 8 lanes)
  static constexpr int n_q = (OH - 1) * SH * Wp + (OW - 1) * SW + 1;
  static constexpr int n_q_pad = (n_q + G - 1) / G * G;
  static constexpr bool last_col = KW % 2 != 0;
  static constexpr int n_taps = KH * (KW / 2) + (last_col ? (KH + 1) / 2 : 0);
  // Table sizes: every index q + offset a tap reads, q < n_q_pad.
  static constexpr int t_a = KW >= 2 ? n_q_pad + (KH - 1) * Wp + (KW - 2) : 0;
  static constexpr int t_b = last_col ? n_q_pad + (KH - 1) / 2 * 2 * Wp + (KW - 1) : 0;
  static constexpr int x_size = (plane > t_a + 1 ? plane : t_a + 1) > t_b + Wp ? (plane > t_a + 1 ? plane : t_a + 1) : t_b + Wp;

  struct tables {
    int off[n_taps];  // tap offsets into A | B, in the order of params::w_pairs
    tables() {
      int t = 0;
      for (int ky = 0; ky < KH; ky++)
        for (int kx = 0; kx + 1 < KW; kx += 2) off[t++] = ky * Wp + kx;
      if (last_col)
        for (int ky = 0; ky < KH; ky += 2) off[t++] = t_a + ky * Wp + (KW - 1);
    }
  };

  struct params {
    const void* weights = nullptr;
    const void* biases = nullptr;
    uint32_t w_pairs[C * n_taps];  // [channel][tap], same order as tables::off
    uint32_t bias_acc[C];
  };

  static const params& load(const typename CONFIG_T::weight_t* w, const typename CONFIG_T::bias_t* biases) {
    static thread_local params p;
    if (p.weights != w || p.biases != biases) {
      auto raw = [&](int c, int ky, int kx) -> int64_t { return ky < KH ? w[(c * KH + ky) * KW + kx].raw() : 0; };
      for (int c = 0; c < C; c++) {
        uint32_t* wp = p.w_pairs + c * n_taps;
        int t = 0;
        for (int ky = 0; ky < KH; ky++)
          for (int kx = 0; kx + 1 < KW; kx += 2) wp[t++] = pair(raw(c, ky, kx), raw(c, ky, kx + 1));
        if (last_col)
          for (int ky = 0; ky < KH; ky += 2) wp[t++] = pair(raw(c, ky, KW - 1), raw(c, ky + 1, KW - 1));
        p.bias_acc[c] = static_cast<uint32_t>(typename CONFIG_T::accum_t(biases[c]).raw());
      }
      p.weights = w, p.biases = biases;
    }
    return p;
  }

  static void run(const data_T* data, res_T* res, const typename CONFIG_T::weight_t* weights,
                  const typename CONFIG_T::bias_t* biases) {
    struct staging {
      int16_t x[x_size];  // padding and the tail stay zero: only the interior is ever written
      uint32_t t[t_a + t_b];
      alignas(32) uint32_t sums[n_q_pad];
    };
    static const tables tab;
    static thread_local staging st;
    const params& p = load(weights, biases);
    for (int c = 0; c < C; c++) {
      for (int y = 0; y < H; y++) {
        int16_t* row = st.x + (y + CONFIG_T::pad_top) * Wp + CONFIG_T::pad_left;
        const data_T* src = data + (c * H + y) * W;
        for (int x = 0; x < W; x++) row[x] = static_cast<int16_t>(src[x].raw());
      }
      for (int q = 0; q < t_a; q++) st.t[q] = pair(st.x[q], st.x[q + 1]);
      for (int q = 0; q < t_b; q++) st.t[t_a + q] = pair(st.x[q], st.x[q + Wp]);
      for (int q0 = 0; q0 < n_q_pad; q0 += G)
        pair_block_any<M::shift, 1, G / 8>(st.t + q0, 0, tab.off, p.w_pairs + c * n_taps, n_taps, n_taps, st.sums + q0, 0);
      for (int oy = 0; oy < OH; oy++) {
        const uint32_t* row = st.sums + oy * SH * Wp;
        res_T* out = res + (c * OH + oy) * OW;
        for (int ox = 0; ox < OW; ox++) out[ox] = res_T::from_raw(finish<res_T, CONFIG_T, M::shift>(p.bias_acc[c], row[ox * SW]));
      }
    }
  }
};

// ---- relu, max pool ---------------------------------------------------------------------------

/// Whether res_T(x) == x for every data_T value: same fractional bits, at least as wide.
template <class data_T, class res_T>
constexpr bool widening() {
  return fx<data_T>::fwidth == fx<res_T>::fwidth && fx<data_T>::width <= fx<res_T>::width;
}

template <class data_T, class res_T, int N>
inline void relu(const data_T* data, res_T* res) {
  if constexpr (widening<data_T, res_T>() && fx<res_T>::width <= 32) {
    // No conversion: max(x, 0) in 32-bit lanes.
    for (int i = 0; i < N; i++) {
      const int32_t x = static_cast<int32_t>(data[i].raw());
      res[i] = res_T::from_raw(x > 0 ? x : 0);
    }
    return;
  }
  for (int i = 0; i < N; i++) {
    const int64_t x = data[i].raw();
    res[i] = res_T::from_raw(x > 0 ? to_fixed<fx<data_T>::width, fx<data_T>::fwidth, res_T>(x) : 0);
  }
}

/// Max pool over a filled-in geometry G (nnet_pooling.h's pool_geometry_2d / _1d): the max
/// of the window's real positions (pads are never read; each window has one, as checked).
template <class data_T, class res_T, class G>
inline void max_pool(const data_T* data, res_T* res) {
  constexpr int H = G::in_height, W = G::in_width, OH = G::out_height, OW = G::out_width;
  if constexpr (G::pad_top == 0 && G::pad_bottom == 0 && G::pad_left == 0 && G::pad_right == 0 &&
                widening<data_T, res_T>() && fx<res_T>::width <= 32) {
    // No pads, no conversion: fixed window bounds and 32-bit values, so g++ vectorises over ox.
    for (int c = 0; c < G::n_chan; c++)
      for (int oy = 0; oy < OH; oy++) {
        const data_T* rows = data + (c * H + oy * G::stride_height) * W;
        res_T* out = res + (c * OH + oy) * OW;
        for (int ox = 0; ox < OW; ox++) {
          int32_t best = static_cast<int32_t>(rows[ox * G::stride_width].raw());
          for (int ky = 0; ky < G::pool_height; ky++)
            for (int kx = 0; kx < G::pool_width; kx++) {
              const int32_t x = static_cast<int32_t>(rows[ky * W + ox * G::stride_width + kx].raw());
              best = x > best ? x : best;
            }
          out[ox] = res_T::from_raw(best);
        }
      }
    return;
  }
  for (int c = 0; c < G::n_chan; c++)
    for (int oy = 0; oy < OH; oy++) {
      const int y0 = oy * G::stride_height - G::pad_top;
      const int ky0 = y0 < 0 ? -y0 : 0, ky1 = H - y0 < G::pool_height ? H - y0 : G::pool_height;
      for (int ox = 0; ox < OW; ox++) {
        const int x0 = ox * G::stride_width - G::pad_left;
        const int kx0 = x0 < 0 ? -x0 : 0, kx1 = W - x0 < G::pool_width ? W - x0 : G::pool_width;
        const int base = (c * H + y0) * W + x0;  // an index, not a pointer: it may lie before data
        int64_t best = data[base + ky0 * W + kx0].raw();
        for (int ky = ky0; ky < ky1; ky++)
          for (int kx = kx0; kx < kx1; kx++) {
            const int64_t x = data[base + ky * W + kx].raw();
            best = x > best ? x : best;
          }
        if constexpr (widening<data_T, res_T>()) {
          res[(c * OH + oy) * OW + ox] = res_T::from_raw(best);
        } else {
          res[(c * OH + oy) * OW + ox] = res_T::from_raw(to_fixed<fx<data_T>::width, fx<data_T>::fwidth, res_T>(best));
        }
      }
    }
}

}  // namespace fast
}  // namespace nnet

#endif  // HT_NNET_FAST

#endif  // HT_NNET_FAST_H
