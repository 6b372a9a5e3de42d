// fpga_driver.h: the register-level driver of a compiled model on an FPGA, speaking the
// register protocol of docs/fpga-protocol.md (layout 3) over one memory-mapped region (a PCIe
// BAR, an XDMA user device, or the device emulator's /dev/shm file). No Node headers: the
// N-API glue in fpga_binding.cc and any C++ tool can use it.
//
// Open checks, each failing with its own DeviceError code:
//   map       the expected register map is inconsistent (windows outside the region, ...)
//   types     the model's input or result type has a mode the float path cannot convert
//   offset    DeviceOptions::offset_bytes is not a multiple of 4096
//   open      open(2) failed (missing file, permissions)
//   size      the file is smaller than offset_bytes + REGION_BYTES
//   mmap      mmap(2) failed
//   magic     MAGIC is not 0x48544657
//   layout    LAYOUT (or regmap.json's layout) is not 3, the layout this driver speaks
//   mismatch  an identification field differs from the map (the message names the field,
//             what the device holds and what the model needs); IN_KIND is checked first
//   types     also: a values map whose IN_TYPE is no type the float path converts (a pixel
//             device's IN_TYPE 0 is one, so a driver without IN_KIND refuses pixel devices)
// Jobs fail with:
//   timeout   DONE_COUNT did not change within spins_max spins (names spins and elapsed us);
//             the device is then faulted
//   faulted   the device is faulted (a job timed out and the device has not answered since):
//             the job fails at once, without touching the device or spinning
//   reset     RESET_COUNT changed during the job, or DONE_COUNT moved by other than one: the
//             device lost its state
//   pixels    input_t values (RunRaw, RunF32) sent to a pixel device (IN_KIND 1), or a
//             frame of another size than N_IN bytes to RunU8; nothing is written
//   values    a camera frame (RunU8) sent to a device that takes input_t values (IN_KIND 0)
//   corrupt   OUT_CHECK differs from the check of SEQ_LO, DONE_COUNT and the outputs read,
//             an output word is not a sign-extended result value, or the FIFO pointers are
//             further apart than its capacity
// A reset or corrupt job leaves the device usable. A timeout marks it faulted: every job
// fails fast with `faulted` until Probe() (called off the hot path, with back-off, by the
// caller) sees the device answer again: the timed-out job's DONE_COUNT change or a reset on
// the mapping it has, or, at the path, a new device (another file or device node, e.g. a
// restarted emulator) whose identification block matches; that one is mapped in its place.
// So a stale DONE_COUNT change is never taken for a later job's.
//
// Concurrency: the device (or the emulator's thread) writes DONE_COUNT, RESET_COUNT and
// FIFO_HEAD with release semantics after the data they publish; the driver reads them with
// acquire and writes CTRL and FIFO_TAIL with release. One FpgaDevice is used by one thread.
#ifndef HAIRTRIGGER_FPGA_DRIVER_H
#define HAIRTRIGGER_FPGA_DRIVER_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "regmap.h"

namespace hairtrigger {

struct DeviceError {
  std::string code;     // see the list above
  std::string message;  // names the device path, the field, the expected and the found value
};

// What the driver checks a device against: the values of the model's regmap.json.
using ExpectedMap = RegmapValues;

struct DeviceOptions {
  // Spins (one pause instruction and one DONE_COUNT read each) before a job is a timeout.
  uint64_t spins_max = 1u << 20;
  // MODE written at open: -1 leaves it as the device has it (open only reads the device, so an
  // autonomous sorter keeps running), 0 host in the loop, 1 autonomous.
  int32_t mode = -1;
  // Byte offset of the register region in the file (a card's BAR holds the kernel at a fixed
  // offset: vivado/address_map.json); a multiple of 4096 (mmap's unit).
  uint64_t offset_bytes = 0;
};

// Named limits of the driver.
struct DeviceLimits {
  static constexpr uint32_t kWindowValuesMax = 1u << 20;  // N_IN, N_OUT
  static constexpr uint32_t kFifoCapacityMax = 1u << 20;
  static constexpr uint64_t kRegionBytesMax = 1ull << 30;
};

struct DeviceStats {
  uint64_t jobs = 0;        // completed jobs
  uint64_t timeouts = 0;
  uint64_t resets = 0;
  uint64_t corrupt = 0;      // jobs whose outputs failed OUT_CHECK or the range check, and bad FIFO pointers
  uint64_t faulted_fast = 0;  // jobs failed at once because the device was faulted (no spin)
  uint64_t reprobes = 0;      // Probe() calls on a faulted device
  uint64_t recoveries = 0;    // faults cleared by Probe()
  uint64_t wait_ns_last = 0;   // CTRL write to DONE_COUNT change, last completed job
  uint64_t wait_ns_total = 0;  // over completed jobs
  uint64_t wait_ns_min = 0;
  uint64_t wait_ns_max = 0;
};

// One event record (docs/fpga-protocol.md, "Status and event FIFO"), as the device wrote it.
struct EventRecord {
  uint64_t seq;
  uint32_t cls;
  int32_t score_raw;
  uint64_t start_cycle;
  uint64_t done_cycle;
};

// A fixed-point type word decoded.
struct FixedTypeWord {
  int width;
  int integer;
  int qmode;  // Vitis numbering: AP_TRN = 5
  int omode;  // AP_SAT = 0, AP_WRAP = 3
  static FixedTypeWord Decode(uint32_t word);
  int frac() const { return width - integer; }
};

// float -> raw input exactly as the firmware's bridge converts (hls/compiler/bridge.ts,
// from_float; ht_fixed's rules for NaN and infinities); AP_TRN with AP_SAT or AP_WRAP only.
int32_t RawFromFloat(float v, const FixedTypeWord& t);

class FpgaDevice {
 public:
  // Maps `path` and checks its identification block against `expected` (reads only); on
  // failure returns null and fills `error`. Writes MODE only when options.mode asks to.
  static std::unique_ptr<FpgaDevice> Open(const std::string& path, const ExpectedMap& expected,
                                          const DeviceOptions& options, DeviceError* error);
  ~FpgaDevice();
  FpgaDevice(const FpgaDevice&) = delete;
  FpgaDevice& operator=(const FpgaDevice&) = delete;
  bool takes_pixels() const { return pixels_; }

  // One job, host in the loop: in[n_in] raw inputs -> out[n_out] raw logits. The caller
  // checked the lengths. Returns false and fills `error` (timeout, reset, corrupt; pixels
  // on a pixel device, which takes no input_t values).
  bool RunRaw(const int32_t* in, int32_t* out, uint64_t seq, DeviceError* error);
  // The same with float values, converted as the firmware's bridge converts them.
  bool RunF32(const float* in, float* out, uint64_t seq, DeviceError* error);
  // The same from a camera frame's n_px bytes (a pixel device, IN_KIND 1: firmware that
  // preprocesses; docs/fpga-protocol.md packing: four 8-bit lanes a word, the bytes in order,
  // one 32-bit store a word); outputs as RunF32's. Fails with `values` on a device that takes
  // input_t values and `pixels` when n_px is not N_IN. Allocates nothing.
  bool RunU8(const uint8_t* px, uint32_t n_px, float* out, uint64_t seq, DeviceError* error);

  // Off the hot path, on a faulted device: reads whether it answers again (see above) and
  // clears the fault if so. True when the device is not faulted (any more); false with
  // `error` (code faulted, or the identification code of a new device that does not match),
  // which the next fail-fast jobs' messages repeat. Writes nothing to the device.
  bool Probe(DeviceError* error);
  bool faulted() const { return faulted_; }

  // MODE register: 0 host in the loop, 1 autonomous.
  void SetMode(uint32_t mode);
  // THRESH[k] = raw (k < n_out, checked by the caller).
  void SetThreshold(uint32_t k, int32_t raw);
  // Copies up to `max` records (oldest first) and releases them to the device. Returns the
  // number copied, or -1 with `error` (corrupt) when head - tail exceeds the capacity.
  int64_t DrainEvents(EventRecord* out, uint32_t max, DeviceError* error);
  uint32_t Overflows() const;
  // Records written by the device and not yet drained.
  uint32_t Pending() const;

  const ExpectedMap& map() const { return map_; }
  const std::string& path() const { return path_; }
  const FixedTypeWord& in_type() const { return in_type_; }
  const FixedTypeWord& out_type() const { return out_type_; }
  const DeviceStats& stats() const { return stats_; }
  uint32_t Register(uint32_t offset) const;  // acquire read of any word, for info and tests

  // Diagnostic (the bench's host-overhead breakdown; never needed to drive a card): while
  // bound, each completed job writes kTimelineFields numbers to ring[kTimelineFields * (jobs %
  // jobs_max)]: its seq, the CLOCK_MONOTONIC ns just before the doorbell (CTRL ap_start) and
  // when DONE_COUNT was seen to move. The caller owns the ring and keeps it alive while bound;
  // null unbinds. Two stores a job while bound, nothing otherwise.
  static constexpr uint32_t kTimelineFields = 3;
  void BindTimeline(double* ring, uint32_t jobs_max) {
    timeline_ = jobs_max == 0 ? nullptr : ring;
    timeline_jobs_ = jobs_max;
  }

 private:
  FpgaDevice() = default;
  uint32_t* word(uint32_t offset) const { return reinterpret_cast<uint32_t*>(base_ + offset); }
  std::string IdentificationFault() const;
  bool MapPath(DeviceError* error);
  bool RemapIfReplaced(DeviceError* error);
  void ClearFault();
  bool RunJob(const int32_t* in, int32_t* out, uint64_t seq, DeviceError* error);  // in null: the window is written
  bool RefuseKind(bool pixels_job, uint64_t seq, DeviceError* error) const;
  bool Reset(uint64_t seq, uint32_t reset0, uint32_t reset1, DeviceError* error);

  std::string path_;
  ExpectedMap map_;
  DeviceOptions options_;
  FixedTypeWord in_type_{}, out_type_{};
  int fd_ = -1;
  uint8_t* base_ = nullptr;
  size_t mapped_bytes_ = 0;
  uint64_t file_dev_ = 0, file_ino_ = 0;  // the file mapped, to tell a replaced device at the path
  DeviceStats stats_;
  std::unique_ptr<int32_t[]> raw_in_, raw_out_;  // the float path's scratch
  uint32_t seq_hi_written_ = 0xffffffffu;  // SEQ_HI as last written (none yet: never a job's, below 2^63)
  double out_scale_ = 1.0;
  uint32_t in_pack_ = 1, out_pack_ = 1;  // values per bus word (layout 3)
  bool pixels_ = false;  // IN_KIND 1: the window takes a camera frame's bytes (RunU8 only)
  // The job that timed out and may still complete: its DONE_COUNT and RESET_COUNT before
  // the start, the values Probe() watches.
  bool faulted_ = false;
  uint32_t stale_done_ = 0, stale_reset_ = 0;
  uint64_t stale_seq_ = 0;
  std::string last_probe_;  // why the last Probe() left the device faulted, for the fail-fast message
  double* timeline_ = nullptr;  // BindTimeline's ring (diagnostic)
  uint32_t timeline_jobs_ = 0;
};

}  // namespace hairtrigger

#endif  // HAIRTRIGGER_FPGA_DRIVER_H
