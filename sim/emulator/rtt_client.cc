// rtt_client: measures the host-in-the-loop round trip through an emulator's region file as
// a driver sees it (its own MAP_SHARED mapping, no Node): per job, write the input window,
// CTRL = ap_start, spin on DONE_COUNT, read the output window. A measurement, not a test.
//   g++ -O2 -std=c++17 -Ihost/native/src -o /tmp/rtt_client sim/emulator/rtt_client.cc
//   /tmp/rtt_client /dev/shm/ht-jets [jobs] [idle_us_between_jobs]
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

#include "regmap_layout.h"

namespace {
using namespace hairtrigger::regs;
int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s /dev/shm/NAME [jobs] [idle_us_between_jobs]\n", argv[0]);
    return 2;
  }
  const int jobs = argc > 2 ? std::atoi(argv[2]) : 100000;
  const int idle_us = argc > 3 ? std::atoi(argv[3]) : 0;
  const int fd = open(argv[1], O_RDWR);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    std::perror(argv[1]);
    return 1;
  }
  auto* base = static_cast<uint8_t*>(mmap(nullptr, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  auto reg = [&](uint32_t off) { return reinterpret_cast<uint32_t*>(base + off); };
  if (*reg(kMagic) != kMagicHtfw) {
    std::fprintf(stderr, "%s: no HTFW magic\n", argv[1]);
    return 1;
  }
  const uint32_t in_off = *reg(kInOffset), out_off = *reg(kOutOffset);
  // Layout 3 packs values on the bus: the windows hold N / PACK words (rounded up). The words
  // written are arbitrary test patterns: any bits are valid packed input values.
  const uint32_t in_words = (*reg(kNIn) + *reg(kInPack) - 1) / *reg(kInPack), out_words = (*reg(kNOut) + *reg(kOutPack) - 1) / *reg(kOutPack);
  __atomic_store_n(reg(kMode), 0u, __ATOMIC_RELEASE);  // MODE = host in the loop
  std::vector<int64_t> rtt(jobs);
  volatile int32_t sink = 0;
  for (int j = 0; j < jobs; j++) {
    if (idle_us > 0) usleep(idle_us);
    const int64_t t0 = NowNs();
    const uint32_t d = __atomic_load_n(reg(kDoneCount), __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < in_words; i++) __atomic_store_n(reg(in_off + 4 * i), static_cast<uint32_t>(j * 7919 + i * 104729) * 2654435761u, __ATOMIC_RELAXED);
    __atomic_store_n(reg(kCtrl), kCtrlApStart, __ATOMIC_RELEASE);
    while (__atomic_load_n(reg(kDoneCount), __ATOMIC_ACQUIRE) == d) __builtin_ia32_pause();
    for (uint32_t k = 0; k < out_words; k++) sink = sink + static_cast<int32_t>(__atomic_load_n(reg(out_off + 4 * k), __ATOMIC_RELAXED));
    rtt[j] = NowNs() - t0;
  }
  std::sort(rtt.begin(), rtt.end());
  std::printf("%d jobs%s: round trip median %.2f us, p99 %.2f us, min %.2f us, max %.2f us (latency hold %u cycles at %u kHz)\n", jobs,
              idle_us > 0 ? " (idle between jobs)" : "", rtt[jobs / 2] / 1e3, rtt[jobs * 99 / 100] / 1e3, rtt[0] / 1e3, rtt[jobs - 1] / 1e3,
              *reg(kLatencyCycles), *reg(kClockKhz));
  return 0;
}
