// emulator.h: the FPGA device emulator. It serves the register protocol of
// docs/fpga-protocol.md (layout 3) from a file in /dev/shm that it maps MAP_SHARED, so a
// driver (or a test doing read()/write() on the file) talks to it as to a PCIe BAR. The
// model is the compiled firmware's own simulator library (lib<name>.so), so results are
// bit-exact with the `sim` backend. No Node headers: the N-API glue is
// host/native/src/emulator_binding.cc.
//
// One thread serves the device: it spins on CTRL (pause instruction) while work arrives,
// backs off to sleeps after kIdleSpinNs without any (doubling from kIdleSleepMinNs to
// kIdleSleepMaxNs), and holds each ap_done back until
// the modelled latency (LATENCY_CYCLES at the clock) has passed since it saw the start.
// Shared words are read and written with __atomic builtins (acquire/release), as the other
// side (a driver in another process) sees them through its own mapping.
#ifndef HAIRTRIGGER_EMULATOR_H
#define HAIRTRIGGER_EMULATOR_H

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ht_device_abi.h"
#include "model_library.h"
#include "regmap.h"

namespace hairtrigger {

// Named limits of the emulator.
struct EmulatorLimits {
  static constexpr int64_t kIdleSpinNs = 200000;        // spin this long without work, then sleep
  static constexpr int64_t kIdleSleepMinNs = 20000;      // the first back-off sleep; each next one doubles
  static constexpr int64_t kIdleSleepMaxNs = 500000;     // up to this: an idle device wakes at most ~2,000 times a second
  static constexpr int64_t kPaceSleepMinNs = 200000;  // a replay frame further away than this is slept for
  static constexpr uint32_t kFifoOverflowCapacity = 4;  // effective FIFO capacity under the fifo-overflow fault
  static constexpr uint32_t kRegionBytesMax = 1u << 30;
  static constexpr uint64_t kFramesMax = 1ull << 26;
  static constexpr uint32_t kTimelineJobsMax = 1u << 24;  // diagnostic timeline's ring, jobs
  // CYCLE_LO/HI between jobs: refreshed at most this often (and at each job's done). Stored at
  // every loop turn, they kept the line of DONE_COUNT, RESET_COUNT and OUT_CHECK, which the
  // driver polls and reads at each job, moving between the two cores (Serve).
  static constexpr int64_t kCycleRefreshNs = 100000;
};

// The register map of one model, as regmap.json holds it (hls/compiler/regmap.ts).
struct EmulatorRegmap : RegmapValues {
  uint32_t clock_khz = 0, latency_cycles = 0, ii = 0;
  std::string model_sha256;  // hex, compared with the library's
};

enum class FaultKind {
  kNone,
  kNeverDone,      // takes the first start and never completes it (the device hangs)
  kDoneLate,       // every job completes `value` us late
  kCorruptOutput,  // every `value`-th job's output words have bit 0 flipped after OUT_CHECK is computed
  kResetAfter,     // the start after `value` jobs since the last reset resets the device instead
  kWrongMagic,     // MAGIC is not HTFW
  kWrongHash,      // MODEL_HASH differs from the model's (word 0, bit 0 flipped)
  kFifoOverflow,   // the FIFO holds only kFifoOverflowCapacity records, so events overflow
  kLateOnce,       // the `at`-th job (host or autonomous, counted from 1) completes `value` us late; the others on time
};

struct FaultOptions {
  FaultKind kind = FaultKind::kNone;
  uint64_t value = 0;
  uint64_t at = 0;  // kLateOnce: which job
};

// Frames of the autonomous mode: raw input values (sign-extended input_t bits; for a pixel
// device, map in_kind pixels, the frame's bytes, each 0..255), n_frames
// back to back, with optional sequence numbers (else the frame index, counting on across
// loops). rate_hz 0: as fast as the device goes.
struct FrameSource {
  std::vector<int32_t> raw;
  std::vector<uint64_t> seq;
  uint64_t n_frames = 0;
  double rate_hz = 0;
  bool loop = false;
};

struct EmulatorOptions {
  std::string device_path;   // e.g. /dev/shm/ht-jets; created or truncated to REGION_BYTES
  std::string library_path;  // lib<name>.so of the same firmware project
  EmulatorRegmap map;
  double clock_mhz = 0;      // 0: the map's clock
  bool autonomous = false;   // MODE = 1 at start (the replay begins at once)
  FrameSource source;
  FaultOptions fault;
  bool unlink_on_stop = true;
  // The region starts this many bytes into the file (a multiple of 4096), as a card's kernel
  // sits at an offset in its BAR; the bytes before it stay zero.
  uint64_t region_offset_bytes = 0;
  // Diagnostic (the bench's host-overhead breakdown, a side channel no driver reads): when > 0,
  // the last this many host jobs' timelines are kept (Emulator::Timeline).
  uint32_t timeline_jobs = 0;
  // The CPU the device thread runs on (pinned at Start), or -1 to leave it to the scheduler.
  // The thread spins, as the driver's polling does: two spinning threads on one core each wait
  // for the other's time slice (lags of hundreds of microseconds), which a scheduler that sees
  // another job on the other core lets happen.
  int cpu = -1;
};

// One host job as the device saw it, CLOCK_MONOTONIC ns (the host's clock): the start seen
// (CTRL's ap_start read), the kernel run on the CPU done, and DONE_COUNT published (ap_done).
// The device was busy from seen_ns to done_ns: the modelled hold, or longer when the CPU ran
// the kernel past it (ran_ns > seen_ns + the hold).
struct JobTimeline {
  uint64_t job = 0;  // host jobs completed before this one
  uint32_t seq_lo = 0;
  int64_t seen_ns = 0, ran_ns = 0, done_ns = 0;
};

// The generated device top in the model library (hls/abi/ht_device_abi.h).
struct DeviceTop {
  const ht_device_info* info = nullptr;
  void (*reset)(uint32_t) = nullptr;
  int32_t (*start)(uint8_t*, const uint32_t*, uint64_t, uint32_t*) = nullptr;
  int32_t (*push_frame)(const int32_t*, uint64_t) = nullptr;
  int32_t (*pop_trigger)(uint32_t*) = nullptr;
  // Resolves the ABI in a loaded library; false with `error` ("load: ...") when it lacks one.
  bool Resolve(void* handle, const std::string& path, std::string* error);
};

struct EmulatorStats {
  uint64_t jobs = 0;       // host-in-the-loop jobs completed
  uint64_t frames = 0;     // autonomous frames processed
  uint64_t events = 0;     // FIFO records written
  uint64_t overflows = 0;  // events dropped, FIFO full
  uint64_t faults = 0;     // faults injected (hung jobs, late or corrupted outputs, resets)
  uint64_t resets = 0;
  uint64_t turns = 0;   // serving loop turns (with or without work)
  uint64_t sleeps = 0;  // idle back-off sleeps
  uint64_t triggers = 0;  // words the kernel wrote on trigger_out
  // Host jobs whose kernel, run on this CPU, finished after the modelled hold had ended (ap_done
  // then comes late by the difference), and the sum of those differences: the emulator could
  // not hold the device time it models, so a round trip minus that time overstates the host's part.
  uint64_t overruns = 0;
  uint64_t overrun_ns = 0;
};

class Emulator {
 public:
  // Creates the device file, maps it, writes the identification block and loads the model;
  // on failure returns null and sets `error` ("<code>: <message>", code one of open, map,
  // load, mismatch, argument).
  static std::unique_ptr<Emulator> Create(EmulatorOptions options, std::string* error);
  ~Emulator();
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  // Starts the serving thread; false (with `error`) when already started or stopped.
  bool Start(std::string* error);
  // Joins the thread, unmaps, unlinks the file when asked. Idempotent.
  void Stop();
  EmulatorStats stats() const;
  // Copies the timelines of host jobs from_job, from_job + 1, ... (counted from 0, as
  // stats().jobs counts) into out, at most max of them, while the ring still holds them;
  // returns how many (0 without options.timeline_jobs). Safe while the thread serves.
  size_t Timeline(uint64_t from_job, JobTimeline* out, size_t max) const;
  double clock_mhz() const { return clock_mhz_; }

 private:
  explicit Emulator(EmulatorOptions options) : opt_(std::move(options)) {}
  uint32_t* Reg(uint32_t offset) const { return reinterpret_cast<uint32_t*>(base_ + offset); }
  uint32_t Load(uint32_t offset) const;
  void StoreRelaxed(uint32_t offset, uint32_t v) const;
  void StoreRelease(uint32_t offset, uint32_t v) const;
  int64_t NowNs() const;
  uint64_t CyclesAt(int64_t ns) const;
  void UpdateCycles(int64_t ns) const;
  bool CheckIdentification(std::string* error) const;
  void Publish() const;
  void PowerUp(bool power_up);
  void Reset();
  int32_t RunKernel(uint64_t cycle);
  void WaitUntil(int64_t deadline_ns) const;
  void Serve();
  bool ServeHostJob(int64_t start_ns);
  bool ServeFrame(int64_t start_ns);
  bool CountJob();
  void CorruptOutputs() const;
  int64_t HoldNs(bool host_job);

  EmulatorOptions opt_;
  std::unique_ptr<ModelLibrary> lib_;
  uint8_t* base_ = nullptr;
  int fd_ = -1;
  double clock_mhz_ = 0;
  int64_t latency_ns_ = 0;
  int64_t origin_ns_ = 0;    // cycle 0 (power-up or the last reset)
  mutable int64_t cycles_at_ns_ = 0;  // when CYCLE_LO/HI were last stored
  DeviceTop dev_;
  uint32_t latched_[HT_DEVICE_SHADOW_WORDS] = {};  // host-written registers as the kernel sees them at a start
  uint32_t shadow_[HT_DEVICE_SHADOW_WORDS] = {};   // the kernel's output registers, published by Publish()
  uint64_t next_frame_ = 0;  // index into the source (counts on across loops)
  int64_t next_due_ns_ = 0;
  uint64_t jobs_since_reset_ = 0;
  uint64_t jobs_total_ = 0;
  bool hung_ = false;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  bool started_ = false, stopped_ = false;
  std::unique_ptr<JobTimeline[]> timeline_;  // ring of opt_.timeline_jobs (diagnostic)
  std::atomic<uint64_t> jobs_{0}, frames_{0}, events_{0}, overflows_{0}, faults_{0}, resets_{0}, turns_{0}, sleeps_{0}, triggers_{0}, overruns_{0}, overrun_ns_{0};
};

}  // namespace hairtrigger

#endif  // HAIRTRIGGER_EMULATOR_H
