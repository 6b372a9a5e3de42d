// vendor_convert.cc: converts doubles (read as 16 hex digits of their bits, one per line, so
// NaN payloads and signs survive) into a fixed set of types, and prints each result's raw
// bits. Built twice by hls/nnet/vendor.test.ts, with ht_fixed.h and with the vendor's
// ap_fixed (-DHT_USE_VENDOR_AP); the two outputs must be identical.
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "nnet_common.h"

namespace {

template <class T>
void put(double v) {
  std::printf(" %lld", nnet::fixed_bits(T(v)));
}

template <ap_o_mode O>
void row(double v) {
  put<ap_fixed<16, 6, AP_TRN, O>>(v);
  put<ap_fixed<16, 6, AP_RND_CONV, O>>(v);
  put<ap_fixed<8, -2, AP_RND, O>>(v);
  put<ap_fixed<32, 12, AP_RND_INF, O>>(v);
  put<ap_fixed<40, 20, AP_TRN_ZERO, O>>(v);
  put<ap_fixed<64, 10, AP_RND_ZERO, O>>(v);
  put<ap_fixed<4, 8, AP_RND_MIN_INF, O>>(v);
  put<ap_fixed<1, 1, AP_RND, O>>(v);
}

}  // namespace

int main() {
  unsigned long long bits = 0;
  while (std::scanf("%llx", &bits) == 1) {
    double v = 0;
    std::memcpy(&v, &bits, sizeof v);
    row<AP_WRAP>(v);
    row<AP_SAT>(v);
    row<AP_SAT_ZERO>(v);
    row<AP_SAT_SYM>(v);
    std::printf("\n");
  }
  return 0;
}
