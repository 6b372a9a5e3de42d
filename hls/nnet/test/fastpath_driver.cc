// fastpath_driver: batch driver for hls/nnet/fastpath.test.ts.
//
// The test writes fastpath_configs.h (random seeded layer configs, one MODE each) into the
// build folder and compiles this file several ways: with -DHT_SIM_GENERIC (the generic
// layer code) and without (nnet_fast.h's shortcuts, with and without AVX2 / VNNI). The same
// raw inputs through every build must give the same raw outputs.
//
//   fastpath_driver --flags        one line per MODE: "MODE 0|1", 1 where the fast path
//                                  is compiled in for it (nnet::fast::*_fast<...>::value;
//                                  convert modes: 1 in every fast build)
//   fastpath_driver MODE < ints    stdin: the parameters as raws (weights in the template's
//                                  layout, then biases; none for relu and pools), then any
//                                  number of samples (the layer's full input as raws);
//                                  stdout: one line of raw outputs per sample. Convert
//                                  modes: res_T(data_T) raw by raw, by fast::to_fixed.
// Exit codes: 0 ok, 2 unknown mode or input not a whole number of samples.
// Simulation-only code: never included in a kernel.
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "nnet_activation.h"
#include "nnet_conv1d.h"
#include "nnet_conv2d.h"
#include "nnet_dense.h"
#include "nnet_pooling.h"

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fastpath_driver: %s\n", what);
  std::exit(2);
}

// Reads n raws into a; false if stdin ended before the first, exit 2 if it ended mid-way.
template <class T>
bool read_raws(T* a, int n) {
  for (int k = 0; k < n; k++) {
    long long v = 0;
    const int got = std::scanf("%lld", &v);
    if (got != 1) {
      if (k == 0 && got == EOF) return false;
      fail("input ended inside a sample or is not an integer");
    }
    a[k] = T::from_raw(v);
  }
  return true;
}

template <class T>
void print_raws(const T* a, int n) {
  for (int k = 0; k < n; k++) std::printf(k ? " %" PRId64 : "%" PRId64, static_cast<int64_t>(a[k].raw()));
  std::printf("\n");
}

/// Whether the fast path is compiled in for a MAC layer (0 in the HT_SIM_GENERIC build).
template <class data_T, class res_T, class CFG>
constexpr bool mac_flag() {
#ifdef HT_NNET_FAST
  return nnet::fast::mac_fast<data_T, res_T, CFG>::value;
#else
  return false;
#endif
}

template <class data_T, class res_T>
constexpr bool copy_flag() {
#ifdef HT_NNET_FAST
  return nnet::fast::copy_fast<data_T, res_T>::value;
#else
  return false;
#endif
}

// Parameters, then samples; Layer(x, y, w, b) runs one sample.
template <class data_T, class res_T, class CFG, int NIn, int NOut, int NW, int NB, class Layer>
void run_mac(Layer layer) {
  std::vector<typename CFG::weight_t> w(NW);
  std::vector<typename CFG::bias_t> b(NB);
  std::vector<data_T> x(NIn);
  std::vector<res_T> y(NOut);
  if (!read_raws(w.data(), NW) || !read_raws(b.data(), NB)) fail("missing parameters");
  while (read_raws(x.data(), NIn)) {
    layer(x.data(), y.data(), w.data(), b.data());
    print_raws(y.data(), NOut);
  }
}

template <class data_T, class res_T, class CFG>
void run_dense() {
  run_mac<data_T, res_T, CFG, CFG::n_in, CFG::n_out, CFG::n_in * CFG::n_out, CFG::n_out>(
      [](const data_T* x, res_T* y, const typename CFG::weight_t* w, const typename CFG::bias_t* b) {
        nnet::dense<data_T, res_T, CFG>(x, y, w, b);
      });
}

template <class data_T, class res_T, class CFG>
void run_conv2d() {
  run_mac<data_T, res_T, CFG, CFG::n_chan * CFG::in_height * CFG::in_width,
          CFG::n_filt * CFG::out_height * CFG::out_width,
          CFG::n_filt * CFG::n_chan * CFG::filt_height * CFG::filt_width, CFG::n_filt>(
      [](const data_T* x, res_T* y, const typename CFG::weight_t* w, const typename CFG::bias_t* b) {
        nnet::conv_2d<data_T, res_T, CFG>(x, y, w, b);
      });
}

template <class data_T, class res_T, class CFG>
void run_conv1d() {
  run_mac<data_T, res_T, CFG, CFG::n_chan * CFG::in_width, CFG::n_filt * CFG::out_width,
          CFG::n_filt * CFG::n_chan * CFG::filt_width, CFG::n_filt>(
      [](const data_T* x, res_T* y, const typename CFG::weight_t* w, const typename CFG::bias_t* b) {
        nnet::conv_1d<data_T, res_T, CFG>(x, y, w, b);
      });
}

template <class data_T, class res_T, int NIn, int NOut, class Layer>
void run_copy(Layer layer) {
  std::vector<data_T> x(NIn);
  std::vector<res_T> y(NOut);
  while (read_raws(x.data(), NIn)) {
    layer(x.data(), y.data());
    print_raws(y.data(), NOut);
  }
}

template <class data_T, class res_T, class CFG>
void run_relu() {
  run_copy<data_T, res_T, CFG::n_in, CFG::n_in>(
      [](const data_T* x, res_T* y) { nnet::relu<data_T, res_T, CFG>(x, y); });
}

template <class data_T, class res_T, class CFG>
void run_max_pool_2d() {
  run_copy<data_T, res_T, CFG::n_chan * CFG::in_height * CFG::in_width, CFG::n_chan * CFG::out_height * CFG::out_width>(
      [](const data_T* x, res_T* y) { nnet::max_pool_2d<data_T, res_T, CFG>(x, y); });
}

// Conversion alone: fast::to_fixed (fast builds) or the type's own conversion (generic
// build), on every raw of the input; CFG::n_in raws per sample.
template <class data_T, class res_T, class CFG>
void run_convert() {
  run_copy<data_T, res_T, CFG::n_in, CFG::n_in>([](const data_T* x, res_T* y) {
    for (int i = 0; i < CFG::n_in; i++) {
#ifdef HT_NNET_FAST
      y[i] = res_T::from_raw(nnet::fast::to_fixed<data_T::width, data_T::fwidth, res_T>(x[i].raw()));
#else
      y[i] = x[i];
#endif
    }
  });
}

}  // namespace

// Defines `bool print_flags()` and `bool dispatch(const char* mode)` (false: unknown mode)
// from the runners above; generated by fastpath.test.ts.
#include "fastpath_configs.h"

int main(int argc, char** argv) {
  if (argc != 2) fail("usage: fastpath_driver --flags | MODE < ints");
  if (!std::strcmp(argv[1], "--flags")) {
    print_flags();
    return 0;
  }
  if (!dispatch(argv[1])) fail("unknown mode");
  return 0;
}
