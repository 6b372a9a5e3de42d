// fnv1a.h: FNV-1a (32-bit) over 32-bit words, each as its four little-endian bytes: the
// OUT_CHECK of docs/fpga-protocol.md. The one C++ implementation, used by the driver and the
// device emulator; the TypeScript reference is fnv1a32Words in hls/compiler/regmap.ts,
// tested against the published FNV-1a vectors. No Node headers.
#ifndef HAIRTRIGGER_FNV1A_H
#define HAIRTRIGGER_FNV1A_H

#include <cstdint>

namespace hairtrigger {

constexpr uint32_t kFnvOffsetBasis = 0x811c9dc5u;
constexpr uint32_t kFnvPrime = 0x01000193u;

// One word into the hash h, low byte first.
inline uint32_t Fnv1aWord(uint32_t h, uint32_t w) {
  for (int b = 0; b < 32; b += 8) h = (h ^ ((w >> b) & 0xffu)) * kFnvPrime;
  return h;
}

}  // namespace hairtrigger

#endif  // HAIRTRIGGER_FNV1A_H
