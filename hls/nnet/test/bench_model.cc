// bench_model: per-inference time of a generated firmware's top function on the CPU simulator.
//
//   g++ -std=c++17 -O3 -march=native -I <project>/firmware -DHT_BENCH_TOP=<name>
//       -include <name>.h hls/nnet/test/bench_model.cc <project>/firmware/<name>.cpp -o bench
//   ./bench [calls_per_run [runs]]
// Add -DHT_SIM_GENERIC to time the generic (int64 / __int128) layer code instead of the
// fast paths. Inputs: 64 fixed pseudo-random samples (seeded, uniform in [-2, 2)) cycled
// through, so the branch predictor does not learn one input. Prints the median, min and
// max over runs of the mean microseconds per call, and a checksum of the raw outputs so
// the two builds can be compared and the calls are not optimised away. A benchmark, not a
// test: nothing here asserts.
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <vector>

#ifndef HT_BENCH_TOP
#error "define HT_BENCH_TOP to the top function's name"
#endif

int main(int argc, char** argv) {
  const int calls = argc > 1 ? std::atoi(argv[1]) : 2000;
  const int runs = argc > 2 ? std::atoi(argv[2]) : 11;
  constexpr int n_samples = 64;
  static input_t x[n_samples][N_IN];
  static result_t y[N_OUT];
  uint64_t s = 0x9e3779b97f4a7c15ull;  // splitmix64, fixed seed
  for (int k = 0; k < n_samples; k++) {
    for (int i = 0; i < N_IN; i++) {
      s += 0x9e3779b97f4a7c15ull;
      uint64_t z = s;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      z ^= z >> 31;
      x[k][i] = -2.0 + 4.0 * static_cast<double>(z >> 11) / 9007199254740992.0;
    }
  }
  uint64_t checksum = 0;
  for (int k = 0; k < n_samples; k++) {  // warm-up, and the checksum over every sample
    HT_BENCH_TOP(x[k], y);
    for (int j = 0; j < N_OUT; j++) checksum = checksum * 1000003u + static_cast<uint64_t>(y[j].raw());
  }
  std::vector<double> us(runs);
  for (int r = 0; r < runs; r++) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int c = 0; c < calls; c++) HT_BENCH_TOP(x[c % n_samples], y);
    const auto t1 = std::chrono::steady_clock::now();
    us[r] = std::chrono::duration<double, std::micro>(t1 - t0).count() / calls;
  }
  std::sort(us.begin(), us.end());
  std::printf("%s: median %.3f us/call (min %.3f, max %.3f; %d runs x %d calls) checksum %016" PRIx64 "\n",
#define HT_STR2(x) #x
#define HT_STR(x) HT_STR2(x)
              HT_STR(HT_BENCH_TOP), us[runs / 2], us[0], us[runs - 1], runs, calls, checksum);
  return 0;
}
