// regmap.h: the layout and identification values of a model's regmap.json
// (hls/compiler/regmap.ts, docs/fpga-protocol.md): what the FPGA driver checks a device
// against and what the device emulator serves. No Node headers.
#ifndef HAIRTRIGGER_REGMAP_H
#define HAIRTRIGGER_REGMAP_H

#include <cstdint>

namespace hairtrigger {

// IN_KIND (regmap.json inKind): what the input window and sensor_in carry.
constexpr uint32_t kInKindValuesV = 0;  // the network's input_t values, packed by IN_TYPE's width
constexpr uint32_t kInKindPixelsV = 1;  // a camera frame's N_IN bytes, four a word (IN_TYPE 0)

struct RegmapValues {
  uint32_t layout = 0;
  uint32_t magic = 0;
  uint32_t n_in = 0;  // input values a frame: input_t values, or bytes when in_kind is pixels
  uint32_t n_out = 0;
  uint32_t in_kind = kInKindValuesV;
  uint32_t in_type = 0;  // W | (I & 0xff) << 8 | Q << 16 | O << 24; 0 for pixels
  uint32_t out_type = 0;
  uint32_t model_hash[8] = {};
  uint32_t fifo_capacity = 0;
  uint32_t in_offset = 0;
  uint32_t out_offset = 0;
  uint32_t thresh_offset = 0;
  uint32_t fifo_offset = 0;
  uint32_t region_bytes = 0;
};

// Values per 32-bit bus word of a type word W bits wide (docs/fpga-protocol.md, "Packing").
inline uint32_t PackOfType(uint32_t type_word) {
  const uint32_t w = type_word & 0xff;
  return w <= 8 ? 4 : w <= 16 ? 2 : 1;
}

// Values per word of the input window: four bytes for pixels, else by IN_TYPE's width.
inline uint32_t InPack(const RegmapValues& m) { return m.in_kind == kInKindPixelsV ? 4 : PackOfType(m.in_type); }

inline const char* InKindText(uint32_t kind) {
  return kind == kInKindValuesV ? "input_t values" : kind == kInKindPixelsV ? "uint8 pixels" : "unknown";
}

}  // namespace hairtrigger

#endif  // HAIRTRIGGER_REGMAP_H
