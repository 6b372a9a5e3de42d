// ht_device_abi.h: the C ABI between a model library's device top (lib<name>.so also holds
// firmware/<name>_device.cpp, the generated kernel <name>_device, and
// firmware/<name>_device_sim.cpp, this ABI around it) and the FPGA device emulator
// (sim/emulator), which serves the register protocol of docs/fpga-protocol.md by running it.
//
// The emulator plays what the HLS tool generates around the kernel: the AXI-Lite register
// file (the region), the ap_ctrl_hs handshake, the cycle counter, the reset. A loader calls
// ht_device_abi_version() first and refuses the library unless it is HT_DEVICE_ABI_VERSION.
//
//   ht_device_reset(power_up)   ap_rst_n: the kernel's state back to its initial values
//                               (power_up 1: also what a reset keeps, RESET_COUNT); the
//                               next start is the boot pass (identification, power-up state)
//   ht_device_start(region, regs_in, cycle, regs_out)
//                               one ap_start: the kernel reads the host-written registers
//                               as the adapter latched them, regs_in[offset / 4] (MODE,
//                               SEQ_LO/HI, FIFO_TAIL, HOLDOFF_CYCLES; 64 words, 0x000..0x0FC),
//                               the input and threshold windows from `region` (REGION_BYTES,
//                               laid out as regmap.json), writes the output window,
//                               thresholds (boot) and event records there, and its output
//                               registers into regs_out[offset / 4], which the caller
//                               publishes in the protocol's order (DONE_COUNT last, release).
//                               cycle: the cycle counter at the start (the kernel's cycle_now).
//                               In MODE 1 it takes one frame from sensor_in: HT_DEVICE_E_NO_FRAME
//                               (and nothing done) when none was pushed.
//   ht_device_push_frame(raw, seq)  a frame of N_IN raw input values onto sensor_in, packed
//                               IN_PACK a word; a pixel device's (IN_KIND 1) are the frame's
//                               bytes as values 0..255, four a word (HT_DEVICE_E_ARGUMENT,
//                               nothing pushed, when one is not a byte)
//   ht_device_pop_trigger(&word)    a word from trigger_out, HT_DEVICE_E_NO_FRAME when empty
// Not reentrant (the kernel keeps its state in statics, as the hardware keeps registers).
#ifndef HT_DEVICE_ABI_H
#define HT_DEVICE_ABI_H

#include <stdint.h>

#define HT_DEVICE_ABI_VERSION 1u
#define HT_DEVICE_SHADOW_WORDS 64u

#define HT_DEVICE_OK 0
#define HT_DEVICE_E_ARGUMENT 2
#define HT_DEVICE_E_NO_FRAME 3

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ht_device_info {
  uint32_t abi_version;   // == HT_DEVICE_ABI_VERSION
  uint32_t region_bytes;  // REGION_BYTES the kernel was compiled for (regmap.json's)
  uint32_t in_pack;       // values per bus word
  uint32_t out_pack;
  uint32_t in_words;      // words of the input and output windows
  uint32_t out_words;
  const char* top;        // the kernel's name, <name>_device
} ht_device_info;

uint32_t ht_device_abi_version(void);
const ht_device_info* ht_device_get_info(void);
void ht_device_reset(uint32_t power_up);
int32_t ht_device_start(uint8_t* region, const uint32_t* regs_in, uint64_t cycle, uint32_t* regs_out);
int32_t ht_device_push_frame(const int32_t* raw, uint64_t seq);
int32_t ht_device_pop_trigger(uint32_t* word);

#ifdef __cplusplus
}
#endif

#endif  // HT_DEVICE_ABI_H
