#include "emulator.h"

#include <pthread.h>
#include <sched.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include <dlfcn.h>

#include "regmap_layout.h"

namespace hairtrigger {

namespace {

using namespace regs;  // the generated fixed layout (regmap_layout.h)

constexpr uint32_t kApStart = kCtrlApStart, kApDone = kCtrlApDone, kApIdle = kCtrlApIdle, kApReady = kCtrlApReady;

inline void CpuPause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

int64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

void SleepNs(int64_t ns) {
  timespec ts{static_cast<time_t>(ns / 1000000000LL), static_cast<long>(ns % 1000000000LL)};
  nanosleep(&ts, nullptr);
}

bool Fail(std::string* error, const std::string& code, const std::string& message) {
  *error = code + ": " + message;
  return false;
}

// The map must be self-consistent before anything is written through it: every window and
// the FIFO inside the region, nothing overlapping the fixed registers.
bool CheckMap(const EmulatorRegmap& m, std::string* error) {
  if (m.layout != kLayoutVersion) return Fail(error, "argument", "regmap layout " + std::to_string(m.layout) + ", this emulator serves layout " + std::to_string(kLayoutVersion) + " (recompile the firmware: make firmware)");
  if (m.region_bytes == 0 || m.region_bytes % kPageBytes != 0 || m.region_bytes > EmulatorLimits::kRegionBytesMax)
    return Fail(error, "argument", "regionBytes " + std::to_string(m.region_bytes) + ": need a multiple of 4096 up to 1 GiB");
  if (m.fifo_capacity == 0 || (m.fifo_capacity & (m.fifo_capacity - 1)) != 0)
    return Fail(error, "argument", "fifoCapacity " + std::to_string(m.fifo_capacity) + ": need a power of two");
  if (m.in_kind != kInKindValuesV && m.in_kind != kInKindPixelsV) return Fail(error, "argument", "inKind " + std::to_string(m.in_kind) + ": 0 (values) or 1 (pixels)");
  const auto inside = [&](uint64_t off, uint64_t bytes) { return off >= kWindowsStart && off % 4 == 0 && off + bytes <= m.region_bytes; };
  const uint64_t in_words = (uint64_t{m.n_in} + InPack(m) - 1) / InPack(m);
  if (!inside(m.in_offset, 4 * in_words) || !inside(m.out_offset, 4ull * m.n_out) || !inside(m.thresh_offset, 4ull * m.n_out) ||
      !inside(m.fifo_offset, uint64_t{kRecordBytes} * m.fifo_capacity))
    return Fail(error, "argument", "a window or the FIFO lies outside the region or over the fixed registers");
  if (m.clock_khz == 0) return Fail(error, "argument", "clockKhz 0");
  return true;
}

// A private copy of the library, so the device's model has its own static buffers even when
// the same process has loaded the same file (a test's sim model): dlopen shares one load
// per file, and the layer code is not reentrant. The copy is unlinked once loaded.
std::unique_ptr<ModelLibrary> LoadPrivateCopy(const std::string& path, std::string* error) {
  const int in = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    Fail(error, "load", path + ": " + std::strerror(errno) + " (build it with `make firmware` or `hairtrigger compile`)");
    return nullptr;
  }
  struct stat st;
  fstat(in, &st);
  char tmpl[] = "/tmp/ht-emulator-lib-XXXXXX.so";
  const int out = mkstemps(tmpl, 3);
  if (out < 0) {
    close(in);
    Fail(error, "load", std::string("cannot create a private copy of the library in /tmp: ") + std::strerror(errno));
    return nullptr;
  }
  off_t offset = 0;
  bool ok = true;
  while (offset < st.st_size) {
    const ssize_t n = sendfile(out, in, &offset, static_cast<size_t>(st.st_size - offset));
    if (n <= 0) {
      ok = false;
      break;
    }
  }
  close(in);
  close(out);
  std::unique_ptr<ModelLibrary> lib;
  if (!ok) {
    Fail(error, "load", path + ": copying the library failed");
  } else {
    LoadError le;
    lib = ModelLibrary::Open(tmpl, &le);
    if (!lib) Fail(error, "load", path + ": " + le.code + ": " + le.message);
  }
  unlink(tmpl);
  return lib;
}

template <class Fn>
bool ResolveDevice(void* handle, const char* name, Fn* out, const std::string& path, std::string* error) {
  void* sym = dlsym(handle, name);
  if (sym == nullptr) return Fail(error, "load", path + ": missing symbol " + name + " (no device top: recompile the firmware with this hairtrigger, make firmware)");
  *out = reinterpret_cast<Fn>(sym);
  return true;
}

}  // namespace

bool DeviceTop::Resolve(void* handle, const std::string& path, std::string* error) {
  uint32_t (*version)() = nullptr;
  const ht_device_info* (*get_info)() = nullptr;
  if (!ResolveDevice(handle, "ht_device_abi_version", &version, path, error)) return false;
  if (version() != HT_DEVICE_ABI_VERSION)
    return Fail(error, "load", path + ": device ABI version " + std::to_string(version()) + ", this emulator speaks " + std::to_string(HT_DEVICE_ABI_VERSION) + " (make firmware)");
  if (!ResolveDevice(handle, "ht_device_get_info", &get_info, path, error) || !ResolveDevice(handle, "ht_device_reset", &reset, path, error) ||
      !ResolveDevice(handle, "ht_device_start", &start, path, error) || !ResolveDevice(handle, "ht_device_push_frame", &push_frame, path, error) ||
      !ResolveDevice(handle, "ht_device_pop_trigger", &pop_trigger, path, error))
    return false;
  info = get_info();
  return info != nullptr && info->abi_version == HT_DEVICE_ABI_VERSION;
}

uint32_t Emulator::Load(uint32_t offset) const { return __atomic_load_n(Reg(offset), __ATOMIC_ACQUIRE); }
void Emulator::StoreRelaxed(uint32_t offset, uint32_t v) const { __atomic_store_n(Reg(offset), v, __ATOMIC_RELAXED); }
void Emulator::StoreRelease(uint32_t offset, uint32_t v) const { __atomic_store_n(Reg(offset), v, __ATOMIC_RELEASE); }
int64_t Emulator::NowNs() const { return MonotonicNs(); }

uint64_t Emulator::CyclesAt(int64_t ns) const {
  const int64_t elapsed = ns - origin_ns_;
  return elapsed <= 0 ? 0 : static_cast<uint64_t>(static_cast<double>(elapsed) * clock_mhz_ / 1000.0);
}

void Emulator::UpdateCycles(int64_t ns) const {
  cycles_at_ns_ = ns;
  const uint64_t c = CyclesAt(ns);
  StoreRelaxed(kCycleLo, static_cast<uint32_t>(c));
  StoreRelease(kCycleHi, static_cast<uint32_t>(c >> 32));
}

std::unique_ptr<Emulator> Emulator::Create(EmulatorOptions options, std::string* error) {
  const EmulatorRegmap& m = options.map;
  if (!CheckMap(m, error)) return nullptr;
  if (options.clock_mhz < 0 || options.clock_mhz > 100000) {
    Fail(error, "argument", "clock " + std::to_string(options.clock_mhz) + " MHz: allowed (0, 100000], or 0 for the map's");
    return nullptr;
  }
  const FrameSource& s = options.source;
  if (s.n_frames > EmulatorLimits::kFramesMax || s.raw.size() != s.n_frames * m.n_in || (!s.seq.empty() && s.seq.size() != s.n_frames) || !(s.rate_hz >= 0)) {
    Fail(error, "argument", "frame source: need n_frames * n_in raw values, n_frames sequence numbers or none, and a rate >= 0");
    return nullptr;
  }
  if (m.in_kind == kInKindPixelsV) {
    // A pixel device's frames are bytes: the device top would refuse the frame at push time.
    const auto bad = std::find_if(s.raw.begin(), s.raw.end(), [](int32_t v) { return v < 0 || v > 255; });
    if (bad != s.raw.end()) {
      Fail(error, "argument", "frame source: value " + std::to_string(*bad) + " at " + std::to_string(bad - s.raw.begin()) + " is not a byte; a pixel device (inKind pixels) takes camera frames of n_in bytes");
      return nullptr;
    }
  }
  if (options.fault.value == 0 && (options.fault.kind == FaultKind::kCorruptOutput || options.fault.kind == FaultKind::kResetAfter)) {
    Fail(error, "argument", "corrupt-output and reset-after need a job count >= 1");
    return nullptr;
  }
  if (options.timeline_jobs > EmulatorLimits::kTimelineJobsMax) {
    Fail(error, "argument", "timelineJobs " + std::to_string(options.timeline_jobs) + ": at most " + std::to_string(EmulatorLimits::kTimelineJobsMax));
    return nullptr;
  }
  if (options.fault.kind == FaultKind::kLateOnce && options.fault.at == 0) {
    Fail(error, "argument", "late-once needs the job it delays (counted from 1)");
    return nullptr;
  }
  std::unique_ptr<Emulator> e(new Emulator(std::move(options)));
  const EmulatorRegmap& map = e->opt_.map;  // `m` referred to the moved-from options
  if (e->opt_.timeline_jobs > 0) e->timeline_.reset(new JobTimeline[e->opt_.timeline_jobs]);
  e->lib_ = LoadPrivateCopy(e->opt_.library_path, error);
  if (!e->lib_) return nullptr;
  const ht_model_info& info = e->lib_->info();
  // A pixel device's N_IN is the library's frame bytes (n_px), not its network input.
  const bool pixels = map.in_kind == kInKindPixelsV;
  const uint32_t lib_in = pixels ? info.n_px : info.n_in;
  if (lib_in != map.n_in || info.n_out != map.n_out || map.model_sha256 != info.model_sha256 || info.raw_ok == 0) {
    Fail(error, "mismatch", e->opt_.library_path + ": the library (" + std::to_string(lib_in) + (pixels ? " bytes" : "") + " -> " + std::to_string(info.n_out) + ", sha256 " + info.model_sha256 +
                                ") is not the model of the register map (" + std::to_string(map.n_in) + " -> " + std::to_string(map.n_out) + ", sha256 " + map.model_sha256 + "), or its types are wider than 32 bits");
    return nullptr;
  }
  if (!e->dev_.Resolve(e->lib_->handle(), e->opt_.library_path, error)) return nullptr;
  if (e->dev_.info->region_bytes != map.region_bytes) {
    Fail(error, "mismatch", e->opt_.library_path + ": the device top was compiled for REGION_BYTES " + std::to_string(e->dev_.info->region_bytes) + ", regmap.json has " + std::to_string(map.region_bytes));
    return nullptr;
  }
  const int fd = open(e->opt_.device_path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    Fail(error, "open", e->opt_.device_path + ": " + std::strerror(errno));
    return nullptr;
  }
  e->fd_ = fd;
  const uint64_t offset = e->opt_.region_offset_bytes;
  if (offset % 4096 != 0 || ftruncate(fd, static_cast<off_t>(offset + map.region_bytes)) != 0) {
    Fail(error, "open", e->opt_.device_path + ": cannot size to " + std::to_string(offset + map.region_bytes) + " bytes (region offset " + std::to_string(offset) + ", a multiple of 4096): " + std::strerror(errno));
    return nullptr;
  }
  void* p = mmap(nullptr, map.region_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, static_cast<off_t>(offset));
  if (p == MAP_FAILED) {
    Fail(error, "map", e->opt_.device_path + ": " + std::strerror(errno));
    return nullptr;
  }
  e->base_ = static_cast<uint8_t*>(p);
  e->clock_mhz_ = e->opt_.clock_mhz > 0 ? e->opt_.clock_mhz : map.clock_khz / 1000.0;
  e->latency_ns_ = static_cast<int64_t>(static_cast<double>(map.latency_cycles) * 1000.0 / e->clock_mhz_ + 0.5);
  e->PowerUp(true);
  if (!e->CheckIdentification(error)) return nullptr;
  if (e->opt_.fault.kind == FaultKind::kWrongMagic || e->opt_.fault.kind == FaultKind::kWrongHash) e->faults_.store(1);
  return e;
}

Emulator::~Emulator() { Stop(); }

// What the boot pass published must be the map the emulator was given (the library's device
// top and regmap.json come from the same compile): a stale library is refused, not served.
bool Emulator::CheckIdentification(std::string* error) const {
  const EmulatorRegmap& m = opt_.map;
  const uint32_t want[][2] = {{kLayout, m.layout}, {kInKind, m.in_kind}, {kInPack, InPack(m)}, {kNIn, m.n_in}, {kNOut, m.n_out}, {kInType, m.in_type}, {kOutType, m.out_type},
                              {kFifoCapacity, m.fifo_capacity}, {kInOffset, m.in_offset}, {kOutOffset, m.out_offset},
                              {kThreshOffset, m.thresh_offset}, {kFifoOffset, m.fifo_offset}, {kRegionBytes, m.region_bytes}};
  for (const auto& w : want)
    if (shadow_[w[0] / 4] != w[1])
      return Fail(error, "mismatch", opt_.library_path + ": its device top publishes " + std::to_string(shadow_[w[0] / 4]) + " at byte offset " + std::to_string(w[0]) +
                                         ", regmap.json has " + std::to_string(w[1]) + " (recompile: make firmware)");
  return true;
}

// The registers the kernel wrote into shadow_, published in the protocol's order:
// identification, then RESET_COUNT (release: a host that sees the counters move sees the
// reset first), OUT_CHECK and FIFO_OVERFLOWS, FIFO_HEAD (release, after the records), and
// DONE_COUNT last (release, after the output window and OUT_CHECK).
void Emulator::Publish() const {
  const FaultKind f = opt_.fault.kind;
  for (uint32_t r = kMagic; r <= kInKind; r += 4) {
    uint32_t v = shadow_[r / 4];
    if (r == kMagic && f == FaultKind::kWrongMagic) v ^= 0xffffffffu;
    if (r == kModelHash && f == FaultKind::kWrongHash) v ^= 1u;
    StoreRelaxed(r, v);
  }
  StoreRelaxed(kClockKhz, static_cast<uint32_t>(clock_mhz_ * 1000.0 + 0.5));  // --clock-mhz overrides the kernel's
  StoreRelaxed(kInPack, shadow_[kInPack / 4]);
  StoreRelaxed(kOutPack, shadow_[kOutPack / 4]);
  StoreRelease(kResetCount, shadow_[kResetCount / 4]);
  StoreRelaxed(kOutCheck, shadow_[kOutCheck / 4]);
  StoreRelaxed(kFifoOverflows, shadow_[kFifoOverflows / 4]);
  StoreRelease(kFifoHead, shadow_[kFifoHead / 4]);
  StoreRelease(kDoneCount, shadow_[kDoneCount / 4]);
}

// Power-up (and reset): what the tool's s_axilite adapter holds goes to zero (the registers
// the host writes, the input window), the kernel is reset (ap_rst_n) and started once for its
// boot pass, which writes the identification and the power-up state (thresholds that never
// fire, output window and FIFO zeroed, counters zero).
void Emulator::PowerUp(bool power_up) {
  const EmulatorRegmap& m = opt_.map;
  std::memset(base_ + m.in_offset, 0, 4ull * dev_.info->in_words);
  for (uint32_t r : {kGie, kIer, kIsr, kSeqLo, kSeqHi, kFifoTail, kHoldoffCycles, kCycleLo, kCycleHi}) StoreRelaxed(r, 0);
  StoreRelaxed(kMode, 0);  // the boot pass takes no frame
  dev_.reset(power_up ? 1 : 0);
  RunKernel(0);
  Publish();
  StoreRelaxed(kMode, power_up && opt_.autonomous ? 1 : 0);
  StoreRelease(kCtrl, kApIdle);
}

// A reset: the job in flight is lost; RESET_COUNT moves (the kernel's boot pass counts it).
void Emulator::Reset() {
  PowerUp(false);
  origin_ns_ = NowNs();
  jobs_since_reset_ = 0;
  resets_.fetch_add(1, std::memory_order_relaxed);
  faults_.fetch_add(1, std::memory_order_relaxed);
}

// One ap_start of the kernel: the host-written registers latched as the adapter presents
// them (the fifo-overflow fault shows a FIFO_TAIL that leaves kFifoOverflowCapacity records
// of room), the windows in the region, the outputs into shadow_.
int32_t Emulator::RunKernel(uint64_t cycle) {
  for (uint32_t r : {kMode, kSeqLo, kSeqHi, kFifoTail, kHoldoffCycles}) latched_[r / 4] = Load(r);
  if (opt_.fault.kind == FaultKind::kFifoOverflow && opt_.map.fifo_capacity > EmulatorLimits::kFifoOverflowCapacity)
    latched_[kFifoTail / 4] -= opt_.map.fifo_capacity - EmulatorLimits::kFifoOverflowCapacity;
  return dev_.start(base_, latched_, cycle, shadow_);
}

bool Emulator::Start(std::string* error) {
  if (started_ || stopped_) return Fail(error, "argument", "start(): the emulator was already started");
  started_ = true;
  origin_ns_ = NowNs();
  next_due_ns_ = origin_ns_;
  thread_ = std::thread([this] { Serve(); });
  if (opt_.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(opt_.cpu, &set);
    const int err = pthread_setaffinity_np(thread_.native_handle(), sizeof set, &set);
    if (err != 0) {
      Stop();
      return Fail(error, "argument", "cpu " + std::to_string(opt_.cpu) + ": cannot pin the device thread there: " + std::strerror(err));
    }
  }
  return true;
}

void Emulator::Stop() {
  if (stopped_) return;
  stopped_ = true;
  stop_.store(true, std::memory_order_relaxed);
  if (thread_.joinable()) thread_.join();
  if (base_ != nullptr) munmap(base_, opt_.map.region_bytes);
  base_ = nullptr;
  const bool created = fd_ >= 0;  // never remove a file a failed Create did not open
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  if (created && opt_.unlink_on_stop) unlink(opt_.device_path.c_str());
}

size_t Emulator::Timeline(uint64_t from_job, JobTimeline* out, size_t max) const {
  const uint64_t cap = opt_.timeline_jobs;
  // Acquire: every record below the completed-job count is written (the serving thread's
  // release increment follows the record).
  const uint64_t jobs = jobs_.load(std::memory_order_acquire);
  if (cap == 0 || from_job >= jobs || jobs - from_job > cap) return 0;
  const size_t n = static_cast<size_t>(std::min<uint64_t>(jobs - from_job, max));
  for (size_t i = 0; i < n; i++) out[i] = timeline_[(from_job + i) % cap];
  return n;
}

EmulatorStats Emulator::stats() const {
  EmulatorStats s;
  s.jobs = jobs_.load(std::memory_order_relaxed);
  s.frames = frames_.load(std::memory_order_relaxed);
  s.events = events_.load(std::memory_order_relaxed);
  s.overflows = overflows_.load(std::memory_order_relaxed);
  s.faults = faults_.load(std::memory_order_relaxed);
  s.resets = resets_.load(std::memory_order_relaxed);
  s.turns = turns_.load(std::memory_order_relaxed);
  s.sleeps = sleeps_.load(std::memory_order_relaxed);
  s.triggers = triggers_.load(std::memory_order_relaxed);
  s.overruns = overruns_.load(std::memory_order_relaxed);
  s.overrun_ns = overrun_ns_.load(std::memory_order_relaxed);
  return s;
}

// Busy-waits: the latencies held back are sub-microsecond to tens of microseconds, below
// what a sleep can hit.
void Emulator::WaitUntil(int64_t deadline_ns) const {
  int64_t now;
  while ((now = NowNs()) < deadline_ns) {
    CpuPause();
    if (stop_.load(std::memory_order_relaxed)) return;
  }
  UpdateCycles(now);
}

// Counts the job; true when the corrupt-output fault hits it.
bool Emulator::CountJob() {
  jobs_total_++;
  const bool corrupt = opt_.fault.kind == FaultKind::kCorruptOutput && jobs_total_ % opt_.fault.value == 0;
  if (corrupt) faults_.fetch_add(1, std::memory_order_relaxed);
  return corrupt;
}

// The corrupt-output fault: bit 0 of each output value flipped on its way from the kernel to
// the window (after the kernel computed OUT_CHECK from the right ones), as a bus error would.
void Emulator::CorruptOutputs() const {
  const uint32_t pack = dev_.info->out_pack, lane_bits = 32 / pack;
  for (uint32_t k = 0; k < opt_.map.n_out; k++) {
    uint32_t* w = Reg(opt_.map.out_offset + 4 * (k / pack));
    *w ^= 1u << (lane_bits * (k % pack));
  }
}

void Emulator::Serve() {
  int64_t last_work_ns = NowNs();
  int64_t sleep_ns = 0;  // the current back-off sleep; 0 while spinning
  while (!stop_.load(std::memory_order_relaxed)) {
    turns_.fetch_add(1, std::memory_order_relaxed);
    // CTRL before the clock: a start is timed from no earlier than the read that saw it (the
    // job's hold, and its diagnostic timeline, never begin before the host's doorbell).
    const uint32_t ctrl = Load(kCtrl);
    const int64_t now = NowNs();
    // A device's counter runs freely; this one's shared memory is stored, which moves the
    // line the driver polls (DONE_COUNT's) to this core each time: not every turn
    // (kCycleRefreshNs), and at each done (WaitUntil).
    if (now - cycles_at_ns_ >= EmulatorLimits::kCycleRefreshNs) UpdateCycles(now);
    bool worked = false;
    if ((ctrl & kApStart) != 0 && !hung_) worked = ServeHostJob(now);
    else if (Load(kMode) == 1 && opt_.source.n_frames > 0) worked = ServeFrame(now);
    if (worked) {
      last_work_ns = NowNs();
      sleep_ns = 0;
    } else if (now - last_work_ns > EmulatorLimits::kIdleSpinNs) {
      // Back off so an idle device does not burn a core: sleeps doubling up to
      // kIdleSleepMaxNs. The first start after idle waits for the sleep in progress (up to
      // 0.5 ms after long idle); the ones after it are served spinning again.
      sleep_ns = sleep_ns == 0 ? EmulatorLimits::kIdleSleepMinNs : std::min(2 * sleep_ns, EmulatorLimits::kIdleSleepMaxNs);
      SleepNs(sleep_ns);
      sleeps_.fetch_add(1, std::memory_order_relaxed);
    } else {
      CpuPause();
    }
  }
}

// The hold of ap_done: LATENCY_CYCLES at the clock from the start, plus a late fault's delay.
int64_t Emulator::HoldNs(bool host_job) {
  int64_t hold_ns = latency_ns_;
  const bool late = (host_job && opt_.fault.kind == FaultKind::kDoneLate) || (opt_.fault.kind == FaultKind::kLateOnce && jobs_total_ == opt_.fault.at);
  if (late) {
    hold_ns += static_cast<int64_t>(opt_.fault.value) * 1000;
    faults_.fetch_add(1, std::memory_order_relaxed);
  }
  return hold_ns;
}

// One host-in-the-loop job, from the moment its start was seen (start_ns).
bool Emulator::ServeHostJob(int64_t start_ns) {
  if (opt_.fault.kind == FaultKind::kResetAfter && jobs_since_reset_ >= opt_.fault.value) {
    Reset();  // the job is lost with the rest of the state
    return true;
  }
  __atomic_fetch_and(Reg(kCtrl), ~(kApStart | kApDone | kApIdle | kApReady), __ATOMIC_ACQ_REL);
  if (opt_.fault.kind == FaultKind::kNeverDone) {
    hung_ = true;
    faults_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  // The host wrote the window before its release of ap_start, which the acq_rel above saw.
  RunKernel(CyclesAt(start_ns));
  const int64_t ran_ns = NowNs();
  const bool corrupt = CountJob();
  const int64_t hold_end_ns = start_ns + HoldNs(true);  // after CountJob: late-once names its job by that count
  if (ran_ns > hold_end_ns) {
    overruns_.fetch_add(1, std::memory_order_relaxed);
    overrun_ns_.fetch_add(static_cast<uint64_t>(ran_ns - hold_end_ns), std::memory_order_relaxed);
  }
  WaitUntil(hold_end_ns);
  if (stop_.load(std::memory_order_relaxed)) return true;  // stopping mid-hold: the job never completes
  if (corrupt) CorruptOutputs();
  jobs_since_reset_++;
  if (timeline_) {
    const uint64_t job = jobs_.load(std::memory_order_relaxed);
    timeline_[job % opt_.timeline_jobs] = JobTimeline{job, latched_[kSeqLo / 4], start_ns, ran_ns, NowNs()};
  }
  // Release: a Timeline() reader that sees the count sees the record.
  jobs_.fetch_add(1, std::memory_order_release);
  Publish();
  const uint32_t ier = Load(kIer);
  if (ier != 0) __atomic_fetch_or(Reg(kIsr), ier & 3u, __ATOMIC_RELEASE);
  __atomic_fetch_or(Reg(kCtrl), kApDone | kApIdle | kApReady, __ATOMIC_RELEASE);
  return true;
}

// One autonomous frame when it is due; false when none is (paced replay, or the source ran out).
bool Emulator::ServeFrame(int64_t now_ns) {
  const FrameSource& s = opt_.source;
  if (!s.loop && next_frame_ >= s.n_frames) return false;
  if (s.rate_hz > 0) {
    if (now_ns < next_due_ns_ - EmulatorLimits::kPaceSleepMinNs) {
      SleepNs(EmulatorLimits::kPaceSleepMinNs / 2);
      return true;  // keeps the loop from backing off further while a replay runs
    }
    if (now_ns < next_due_ns_) return true;
  }
  if (opt_.fault.kind == FaultKind::kResetAfter && jobs_since_reset_ >= opt_.fault.value) {
    Reset();
    return true;
  }
  const uint64_t i = next_frame_ % s.n_frames;
  const uint64_t seq = s.seq.empty() ? next_frame_ : s.seq[i];
  next_frame_++;
  if (s.rate_hz > 0) next_due_ns_ = std::max(next_due_ns_ + static_cast<int64_t>(1e9 / s.rate_hz), now_ns - 1000000);
  // The sensor's frame onto sensor_in; the kernel takes it, decides, and records the event.
  dev_.push_frame(s.raw.data() + i * opt_.map.n_in, seq);
  const uint32_t head0 = shadow_[kFifoHead / 4], overflows0 = shadow_[kFifoOverflows / 4];
  RunKernel(CyclesAt(now_ns));
  const bool corrupt = CountJob();
  WaitUntil(now_ns + HoldNs(false));
  for (uint32_t word; dev_.pop_trigger(&word) == HT_DEVICE_OK;) triggers_.fetch_add(1, std::memory_order_relaxed);
  events_.fetch_add(shadow_[kFifoHead / 4] - head0, std::memory_order_relaxed);
  const uint32_t dropped = shadow_[kFifoOverflows / 4] - overflows0;
  overflows_.fetch_add(dropped, std::memory_order_relaxed);
  if (dropped > 0 && opt_.fault.kind == FaultKind::kFifoOverflow) faults_.fetch_add(dropped, std::memory_order_relaxed);
  if (corrupt) CorruptOutputs();
  jobs_since_reset_++;
  frames_.fetch_add(1, std::memory_order_relaxed);
  Publish();
  return true;
}

}  // namespace hairtrigger
