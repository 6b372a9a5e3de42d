// driver_io.h: the stdin / stdout plumbing of the batch drivers in this folder
// (layers_driver.cc, layers_extra_driver.cc, fastpath_driver.cc).
//
// Input is whitespace-separated raw integers (parameters first, then whole samples); output
// is one line of raw integers per sample. Each driver defines HT_DRIVER_NAME (its program
// name, the prefix of its error messages) before including this header.
// Simulation-only code: never included in a kernel.
#ifndef HT_NNET_TEST_DRIVER_IO_H
#define HT_NNET_TEST_DRIVER_IO_H

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <vector>

#ifndef HT_DRIVER_NAME
#error "define HT_DRIVER_NAME (the driver's program name) before including driver_io.h"
#endif

namespace driver_io {

// Bad input or usage: message on stderr, exit code 2 (the drivers' documented code).
[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, HT_DRIVER_NAME ": %s\n", what);
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

// Writes n raws as one line.
template <class T>
void print_raws(const T* a, int n) {
  for (int k = 0; k < n; k++) std::printf(k ? " %" PRId64 : "%" PRId64, static_cast<int64_t>(a[k].raw()));
  std::printf("\n");
}

// Runs fn(x, y) on every sample of n_in values of data_T, printing n_out values of res_T.
template <class data_T, class res_T, class Fn>
void run_unary(int n_in, int n_out, Fn fn) {
  std::vector<data_T> x(n_in);
  std::vector<res_T> y(n_out);
  while (read_raws(x.data(), n_in)) {
    fn(x.data(), y.data());
    print_raws(y.data(), n_out);
  }
}

}  // namespace driver_io

#endif  // HT_NNET_TEST_DRIVER_IO_H
