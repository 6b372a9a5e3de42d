#include "emulator.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "fnv1a.h"
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
  const auto inside = [&](uint64_t off, uint64_t bytes) { return off >= kWindowsStart && off % 4 == 0 && off + bytes <= m.region_bytes; };
  if (!inside(m.in_offset, 4ull * m.n_in) || !inside(m.out_offset, 4ull * m.n_out) || !inside(m.thresh_offset, 4ull * m.n_out) ||
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

}  // namespace

uint32_t Emulator::Load(uint32_t offset) const { return __atomic_load_n(Reg(offset), __ATOMIC_ACQUIRE); }
void Emulator::StoreRelaxed(uint32_t offset, uint32_t v) const { __atomic_store_n(Reg(offset), v, __ATOMIC_RELAXED); }
void Emulator::StoreRelease(uint32_t offset, uint32_t v) const { __atomic_store_n(Reg(offset), v, __ATOMIC_RELEASE); }
int64_t Emulator::NowNs() const { return MonotonicNs(); }

uint64_t Emulator::CyclesAt(int64_t ns) const {
  const int64_t elapsed = ns - origin_ns_;
  return elapsed <= 0 ? 0 : static_cast<uint64_t>(static_cast<double>(elapsed) * clock_mhz_ / 1000.0);
}

void Emulator::UpdateCycles(int64_t ns) const {
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
  if (options.fault.value == 0 && (options.fault.kind == FaultKind::kCorruptOutput || options.fault.kind == FaultKind::kResetAfter)) {
    Fail(error, "argument", "corrupt-output and reset-after need a job count >= 1");
    return nullptr;
  }
  if (options.fault.kind == FaultKind::kLateOnce && options.fault.at == 0) {
    Fail(error, "argument", "late-once needs the job it delays (counted from 1)");
    return nullptr;
  }
  std::unique_ptr<Emulator> e(new Emulator(std::move(options)));
  const EmulatorRegmap& map = e->opt_.map;  // `m` referred to the moved-from options
  e->lib_ = LoadPrivateCopy(e->opt_.library_path, error);
  if (!e->lib_) return nullptr;
  const ht_model_info& info = e->lib_->info();
  if (info.n_in != map.n_in || info.n_out != map.n_out || map.model_sha256 != info.model_sha256 || info.raw_ok == 0) {
    Fail(error, "mismatch", e->opt_.library_path + ": the library (" + std::to_string(info.n_in) + " -> " + std::to_string(info.n_out) + ", sha256 " + info.model_sha256 +
                                ") is not the model of the register map (" + std::to_string(map.n_in) + " -> " + std::to_string(map.n_out) + ", sha256 " + map.model_sha256 + "), or its types are wider than 32 bits");
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
  const int out_width = info.out_width;
  e->thresh_off_ = out_width >= 32 ? INT32_MAX : static_cast<int32_t>((1u << (out_width - 1)) - 1);
  e->x_.assign(map.n_in, 0);
  e->y_.assign(map.n_out, 0);
  e->WriteIdentification();
  e->PowerUp();
  if (e->opt_.fault.kind == FaultKind::kWrongMagic || e->opt_.fault.kind == FaultKind::kWrongHash) e->faults_.store(1);
  return e;
}

Emulator::~Emulator() { Stop(); }

void Emulator::WriteIdentification() const {
  const EmulatorRegmap& m = opt_.map;
  const FaultKind f = opt_.fault.kind;
  StoreRelaxed(kMagic, f == FaultKind::kWrongMagic ? m.magic ^ 0xffffffffu : m.magic);
  StoreRelaxed(kLayout, m.layout);
  StoreRelaxed(kNIn, m.n_in);
  StoreRelaxed(kNOut, m.n_out);
  StoreRelaxed(kInType, m.in_type);
  StoreRelaxed(kOutType, m.out_type);
  StoreRelaxed(kClockKhz, static_cast<uint32_t>(clock_mhz_ * 1000.0 + 0.5));
  StoreRelaxed(kLatencyCycles, m.latency_cycles);
  for (int k = 0; k < 8; k++) StoreRelaxed(kModelHash + 4 * k, m.model_hash[k] ^ (f == FaultKind::kWrongHash && k == 0 ? 1u : 0u));
  StoreRelaxed(kIi, m.ii);
  StoreRelaxed(kFifoCapacity, m.fifo_capacity);
  StoreRelaxed(kInOffset, m.in_offset);
  StoreRelaxed(kOutOffset, m.out_offset);
  StoreRelaxed(kThreshOffset, m.thresh_offset);
  StoreRelaxed(kFifoOffset, m.fifo_offset);
  StoreRelease(kRegionBytes, m.region_bytes);
}

// The state after power-up or reset: windows and FIFO zeroed, counters zero, idle. The
// thresholds come up at the most positive raw value (never fires) rather than zero: a device
// that lost its state must stay silent, not fire on every positive logit.
void Emulator::PowerUp() const {
  const EmulatorRegmap& m = opt_.map;
  std::memset(base_ + m.in_offset, 0, 4ull * m.n_in);
  std::memset(base_ + m.out_offset, 0, 4ull * m.n_out);
  std::memset(base_ + m.fifo_offset, 0, uint64_t{kRecordBytes} * m.fifo_capacity);
  for (uint32_t k = 0; k < m.n_out; k++) StoreRelaxed(m.thresh_offset + 4 * k, static_cast<uint32_t>(thresh_off_));
  for (uint32_t r : {kGie, kIer, kIsr, kSeqLo, kSeqHi, kFifoHead, kFifoTail, kFifoOverflows, kCycleLo, kCycleHi, kDoneCount, kOutCheck}) StoreRelaxed(r, 0);
  StoreRelaxed(kMode, opt_.autonomous ? 1 : 0);
  StoreRelease(kCtrl, kApIdle);
}

// RESET_COUNT moves first, so a host that sees DONE_COUNT change (acquire) also sees the
// reset that changed it; DONE_COUNT goes to zero last, after the windows are cleared.
void Emulator::Reset() {
  StoreRelease(kResetCount, Load(kResetCount) + 1);
  const bool autonomous = opt_.autonomous;
  opt_.autonomous = false;  // a reset stops the replay until the host writes MODE = 1 again
  PowerUp();
  opt_.autonomous = autonomous;
  StoreRelease(kDoneCount, 0);
  origin_ns_ = NowNs();
  jobs_since_reset_ = 0;
  resets_.fetch_add(1, std::memory_order_relaxed);
  faults_.fetch_add(1, std::memory_order_relaxed);
}

bool Emulator::Start(std::string* error) {
  if (started_ || stopped_) return Fail(error, "argument", "start(): the emulator was already started");
  started_ = true;
  origin_ns_ = NowNs();
  next_due_ns_ = origin_ns_;
  thread_ = std::thread([this] { Serve(); });
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

// Counts the job; true when the corrupt-output fault hits it. y_ keeps the right logits.
bool Emulator::Predict() {
  lib_->PredictRaw(x_.data(), y_.data());
  jobs_total_++;
  const bool corrupt = opt_.fault.kind == FaultKind::kCorruptOutput && jobs_total_ % opt_.fault.value == 0;
  if (corrupt) faults_.fetch_add(1, std::memory_order_relaxed);
  return corrupt;
}

// The output window and OUT_CHECK, before the caller release-stores DONE_COUNT = done. The
// check covers the right outputs; a corrupted job flips bit 0 of each word on its way to the
// window, as a bus error between the kernel and the register file would.
void Emulator::PublishOutputs(uint32_t seq_lo, uint32_t done, bool corrupt) const {
  const EmulatorRegmap& m = opt_.map;
  uint32_t h = Fnv1aWord(Fnv1aWord(kFnvOffsetBasis, seq_lo), done);
  for (uint32_t k = 0; k < m.n_out; k++) {
    const uint32_t v = static_cast<uint32_t>(y_[k]);
    h = Fnv1aWord(h, v);
    StoreRelaxed(m.out_offset + 4 * k, corrupt ? v ^ 1u : v);
  }
  StoreRelaxed(kOutCheck, h);
}

void Emulator::Serve() {
  int64_t last_work_ns = NowNs();
  int64_t sleep_ns = 0;  // the current back-off sleep; 0 while spinning
  while (!stop_.load(std::memory_order_relaxed)) {
    turns_.fetch_add(1, std::memory_order_relaxed);
    const int64_t now = NowNs();
    UpdateCycles(now);
    bool worked = false;
    if ((Load(kCtrl) & kApStart) != 0 && !hung_) worked = ServeHostJob(now);
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

// One host-in-the-loop job, from the moment its start was seen (start_ns).
bool Emulator::ServeHostJob(int64_t start_ns) {
  const EmulatorRegmap& m = opt_.map;
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
  std::memcpy(x_.data(), Reg(m.in_offset), 4ull * m.n_in);
  const uint32_t seq_lo = Load(kSeqLo);
  const bool corrupt = Predict();
  int64_t hold_ns = latency_ns_;
  const bool late = opt_.fault.kind == FaultKind::kDoneLate || (opt_.fault.kind == FaultKind::kLateOnce && jobs_total_ == opt_.fault.at);
  if (late) {
    hold_ns += static_cast<int64_t>(opt_.fault.value) * 1000;
    faults_.fetch_add(1, std::memory_order_relaxed);
  }
  WaitUntil(start_ns + hold_ns);
  if (stop_.load(std::memory_order_relaxed)) return true;  // stopping mid-hold: the job never completes
  const uint32_t done = Load(kDoneCount) + 1;
  PublishOutputs(seq_lo, done, corrupt);
  jobs_since_reset_++;
  jobs_.fetch_add(1, std::memory_order_relaxed);
  StoreRelease(kDoneCount, done);
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
  const EmulatorRegmap& m = opt_.map;
  const uint64_t i = next_frame_ % s.n_frames;
  const uint64_t seq = s.seq.empty() ? next_frame_ : s.seq[i];
  next_frame_++;
  if (s.rate_hz > 0) next_due_ns_ = std::max(next_due_ns_ + static_cast<int64_t>(1e9 / s.rate_hz), now_ns - 1000000);
  std::memcpy(x_.data(), s.raw.data() + i * m.n_in, 4ull * m.n_in);
  const uint64_t start_cycle = CyclesAt(now_ns);
  const bool corrupt = Predict();
  int64_t hold_ns = latency_ns_;
  if (opt_.fault.kind == FaultKind::kLateOnce && jobs_total_ == opt_.fault.at) {
    hold_ns += static_cast<int64_t>(opt_.fault.value) * 1000;
    faults_.fetch_add(1, std::memory_order_relaxed);
  }
  WaitUntil(now_ns + hold_ns);
  const uint64_t done_cycle = start_cycle + m.latency_cycles;
  uint32_t cls = 0;
  for (uint32_t k = 1; k < m.n_out; k++)
    if (y_[k] > y_[cls]) cls = k;
  const int32_t thresh = static_cast<int32_t>(Load(m.thresh_offset + 4 * cls));
  if (thresh != thresh_off_ && y_[cls] >= thresh) AppendEvent(seq, cls, y_[cls], start_cycle, done_cycle);
  const uint32_t done = Load(kDoneCount) + 1;
  PublishOutputs(static_cast<uint32_t>(seq), done, corrupt);
  jobs_since_reset_++;
  frames_.fetch_add(1, std::memory_order_relaxed);
  StoreRelease(kDoneCount, done);
  return true;
}

void Emulator::AppendEvent(uint64_t seq, uint32_t cls, int32_t score, uint64_t start_cycle, uint64_t done_cycle) {
  const EmulatorRegmap& m = opt_.map;
  const uint32_t capacity = opt_.fault.kind == FaultKind::kFifoOverflow ? EmulatorLimits::kFifoOverflowCapacity : m.fifo_capacity;
  const uint32_t head = Load(kFifoHead), tail = Load(kFifoTail);
  if (head - tail >= capacity) {
    StoreRelease(kFifoOverflows, Load(kFifoOverflows) + 1);
    overflows_.fetch_add(1, std::memory_order_relaxed);
    if (opt_.fault.kind == FaultKind::kFifoOverflow) faults_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const uint32_t at = m.fifo_offset + kRecordBytes * (head & (m.fifo_capacity - 1));
  const uint32_t words[8] = {static_cast<uint32_t>(seq), static_cast<uint32_t>(seq >> 32), cls, static_cast<uint32_t>(score),
                             static_cast<uint32_t>(start_cycle), static_cast<uint32_t>(start_cycle >> 32),
                             static_cast<uint32_t>(done_cycle), static_cast<uint32_t>(done_cycle >> 32)};
  for (uint32_t w = 0; w < 8; w++) StoreRelaxed(at + 4 * w, words[w]);
  StoreRelease(kFifoHead, head + 1);
  events_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace hairtrigger
