// regmap.h: the layout and identification values of a model's regmap.json
// (hls/compiler/regmap.ts, docs/fpga-protocol.md): what the FPGA driver checks a device
// against and what the device emulator serves. No Node headers.
#ifndef HAIRTRIGGER_REGMAP_H
#define HAIRTRIGGER_REGMAP_H

#include <cstdint>

namespace hairtrigger {

struct RegmapValues {
  uint32_t layout = 0;
  uint32_t magic = 0;
  uint32_t n_in = 0;
  uint32_t n_out = 0;
  uint32_t in_type = 0;  // W | (I & 0xff) << 8 | Q << 16 | O << 24
  uint32_t out_type = 0;
  uint32_t model_hash[8] = {};
  uint32_t fifo_capacity = 0;
  uint32_t in_offset = 0;
  uint32_t out_offset = 0;
  uint32_t thresh_offset = 0;
  uint32_t fifo_offset = 0;
  uint32_t region_bytes = 0;
};

}  // namespace hairtrigger

#endif  // HAIRTRIGGER_REGMAP_H
