// fpga_driver.cc: see fpga_driver.h and docs/fpga-protocol.md.
#include "fpga_driver.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "fnv1a.h"
#include "regmap_layout.h"

namespace hairtrigger {

namespace {

using namespace regs;  // the generated fixed layout (regmap_layout.h)

constexpr int kApTrn = 5, kApSat = 0, kApWrap = 3;

inline uint32_t load_acquire(const uint32_t* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
inline uint32_t load_relaxed(const uint32_t* p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
inline void store_release(uint32_t* p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
inline void store_relaxed(uint32_t* p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }

inline void cpu_pause() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

inline uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

// MODEL_HASH words back to the SHA-256 hex they came from (word k = bytes 4k..4k+3, first
// byte low).
std::string hash_hex(const uint32_t* w) {
  std::string s;
  char buf[3];
  for (int k = 0; k < 8; k++) {
    for (int b = 0; b < 4; b++) {
      std::snprintf(buf, sizeof buf, "%02x", (w[k] >> (8 * b)) & 0xff);
      s += buf;
    }
  }
  return s;
}

std::string type_text(uint32_t word) {
  const FixedTypeWord t = FixedTypeWord::Decode(word);
  return "W=" + std::to_string(t.width) + " I=" + std::to_string(t.integer) + " Q=" + std::to_string(t.qmode) +
         " O=" + std::to_string(t.omode) + " (" + hex32(word) + ")";
}

bool fail(DeviceError* e, const char* code, std::string message) {
  e->code = code;
  e->message = std::move(message);
  return false;
}

bool pow2(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

uint32_t pack_of(uint32_t type_word) { return PackOfType(type_word); }

uint32_t words_of(uint32_t n, uint32_t pack) { return (n + pack - 1) / pack; }

// The map itself must describe a region the windows fit in, before anything is mapped.
bool check_map(const ExpectedMap& m, DeviceError* e) {
  if (m.layout != kLayoutVersion)
    return fail(e, "layout", "regmap.json is layout " + std::to_string(m.layout) + ", this driver speaks layout " + std::to_string(kLayoutVersion) +
                                 " (docs/fpga-protocol.md): recompile the firmware (make firmware) and load its bitstream");
  auto window_ok = [&](uint32_t off, uint64_t bytes) {
    return off >= kWindowsStart && off % 4 == 0 && off + bytes <= m.region_bytes;
  };
  if (m.n_in == 0 || m.n_in > DeviceLimits::kWindowValuesMax || m.n_out == 0 || m.n_out > DeviceLimits::kWindowValuesMax)
    return fail(e, "map", "N_IN " + std::to_string(m.n_in) + ", N_OUT " + std::to_string(m.n_out) + ": each must be in [1, " + std::to_string(DeviceLimits::kWindowValuesMax) + "]");
  if (m.region_bytes == 0 || m.region_bytes % 4096 != 0 || m.region_bytes > DeviceLimits::kRegionBytesMax)
    return fail(e, "map", "REGION_BYTES " + std::to_string(m.region_bytes) + ": must be a positive multiple of 4096 up to 2^30");
  if (!pow2(m.fifo_capacity) || m.fifo_capacity > DeviceLimits::kFifoCapacityMax)
    return fail(e, "map", "FIFO_CAPACITY " + std::to_string(m.fifo_capacity) + ": must be a power of two up to 2^20");
  if (m.in_kind != kInKindValuesV && m.in_kind != kInKindPixelsV) return fail(e, "map", "inKind " + std::to_string(m.in_kind) + ": 0 (input_t values) or 1 (uint8 pixels)");
  if (m.in_kind == kInKindPixelsV && m.in_type != 0)
    return fail(e, "map", "inKind pixels with IN_TYPE " + hex32(m.in_type) + ": a pixel device's IN_TYPE is 0 (its window holds bytes, not a fixed-point type)");
  if (!window_ok(m.in_offset, 4ull * words_of(m.n_in, InPack(m)))) return fail(e, "map", "IN_OFFSET " + std::to_string(m.in_offset) + " does not hold the packed N_IN values inside the region");
  if (!window_ok(m.out_offset, 4ull * words_of(m.n_out, pack_of(m.out_type)))) return fail(e, "map", "OUT_OFFSET " + std::to_string(m.out_offset) + " does not hold the packed N_OUT values inside the region");
  if (!window_ok(m.thresh_offset, 4ull * m.n_out)) return fail(e, "map", "THRESH_OFFSET " + std::to_string(m.thresh_offset) + " does not hold N_OUT words inside the region");
  if (!window_ok(m.fifo_offset, uint64_t{kRecordBytes} * m.fifo_capacity)) return fail(e, "map", "FIFO_OFFSET " + std::to_string(m.fifo_offset) + " does not hold FIFO_CAPACITY records inside the region");
  return true;
}

bool type_ok(const FixedTypeWord& t) {
  return t.width >= 1 && t.width <= 32 && t.qmode == kApTrn && (t.omode == kApSat || t.omode == kApWrap);
}

// One mapping of the region at `path`, and which file it is (to tell a replaced device).
struct Mapping {
  int fd = -1;
  uint8_t* base = nullptr;
  dev_t st_dev = 0;
  ino_t st_ino = 0;
};

void unmap(Mapping* m, size_t bytes) {
  if (m->base != nullptr) munmap(m->base, bytes);
  if (m->fd >= 0) ::close(m->fd);
  *m = Mapping{};
}

// Opens and maps `bytes` of `path` from byte `offset` read-write, MAP_SHARED; on failure
// leaves nothing open.
bool map_region(const std::string& path, uint32_t bytes, uint64_t offset, Mapping* out, DeviceError* error) {
  if (offset % 4096 != 0) return fail(error, "offset", path + ": offset " + std::to_string(offset) + " is not a multiple of 4096 (mmap maps whole pages)");
  Mapping m;
  m.fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (m.fd < 0) return fail(error, "open", path + ": cannot open read-write: " + std::strerror(errno));
  struct stat st;
  if (fstat(m.fd, &st) != 0) {
    unmap(&m, bytes);
    return fail(error, "open", path + ": fstat failed: " + std::strerror(errno));
  }
  m.st_dev = st.st_dev;
  m.st_ino = st.st_ino;
  // A character device (XDMA user, uio) reports size 0: then REGION_BYTES is all we know. A
  // BAR's resource file may be larger than the region (BARs are powers of two).
  const bool sized = S_ISREG(st.st_mode) || st.st_size > 0;
  if (sized && static_cast<uint64_t>(st.st_size) < offset + bytes) {
    unmap(&m, bytes);
    return fail(error, "size", path + ": " + std::to_string(st.st_size) + " bytes, the register map needs REGION_BYTES " + std::to_string(bytes) +
                                   (offset == 0 ? std::string() : " from offset " + std::to_string(offset)));
  }
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, m.fd, static_cast<off_t>(offset));
  if (p == MAP_FAILED) {
    const int err = errno;
    unmap(&m, bytes);
    return fail(error, "mmap", path + ": mmap of " + std::to_string(bytes) + " bytes failed: " + std::strerror(err));
  }
  m.base = static_cast<uint8_t*>(p);
  *out = m;
  return true;
}

// One 32-bit store of an input-window word: an AXI-Lite slave accepts nothing wider, and
// memcpy may issue 8- to 64-byte stores. A plain store, not a non-temporal one (movnti, used
// until 2026-12-08): on a BAR mapped write-combining the two are the same write-combined
// store, on one mapped uncached the same uncached store; on the emulator's shared memory the
// non-temporal store sends each line to DRAM, where the device thread's read of the window
// then fetches it from, and the whole job took longer though the write itself was ~10% shorter
// (bench/window-store.cc: a 3 KB window with a 10 us hold, round trip p50 11.3 against 13.3 us;
// a 64-byte one, 0.61 against 0.85 us). window_fence() still drains a write-combining buffer
// before the doorbell.
inline void window_store(uint32_t* dst, uint32_t word) {
  *static_cast<volatile uint32_t*>(dst) = word;  // volatile: the compiler merges nothing
}

inline void window_fence() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_sfence();
#endif
}

// The input window, one 32-bit store a word. Each word packs `pack` values, value i in lane
// i % pack (32 / pack bits, lane 0 lowest).
void store_window(uint32_t* dst, const int32_t* src, uint32_t n, uint32_t pack) {
  if (pack == 1) {
    for (uint32_t i = 0; i < n; i++) window_store(dst + i, static_cast<uint32_t>(src[i]));
    return;
  }
  const uint32_t bits = 32 / pack, mask = (1u << bits) - 1;
  for (uint32_t w = 0, i = 0; i < n; w++) {
    uint32_t word = 0;
    for (uint32_t l = 0; l < pack && i < n; l++, i++) word |= (static_cast<uint32_t>(src[i]) & mask) << (bits * l);
    window_store(dst + w, word);
  }
}

// Lane k % pack of a bus word, sign-extended from its 32 / pack bits.
inline int32_t lane_value(uint32_t word, uint32_t k, uint32_t pack) {
  const uint32_t bits = 32 / pack, shift = 32 - bits - bits * (k % pack);
  return static_cast<int32_t>(word << shift) >> (32 - bits);
}

// A camera frame's bytes into the input window packed four 8-bit lanes a word (value i in word
// i / 4, lane i % 4, little-endian: the bytes in order, docs/fpga-protocol.md's packing for
// <= 8-bit inputs). Still one 32-bit store a word, for the AXI-Lite slave (see store_window);
// each word is assembled from its four bytes (g++ makes that one unaligned load), a last
// partial word padded with zero bytes.
void store_bytes_window(uint32_t* dst, const uint8_t* px, uint32_t n) {
  const uint32_t whole = n / 4;
  for (uint32_t i = 0; i < whole; i++) {
    const uint8_t* b = px + 4 * i;
    window_store(dst + i, static_cast<uint32_t>(b[0]) | static_cast<uint32_t>(b[1]) << 8 | static_cast<uint32_t>(b[2]) << 16 | static_cast<uint32_t>(b[3]) << 24);
  }
  if (n % 4 != 0) {
    uint32_t w = 0;
    for (uint32_t k = 0; k < n % 4; k++) w |= static_cast<uint32_t>(px[4 * whole + k]) << (8 * k);
    window_store(dst + whole, w);
  }
}

}  // namespace

FixedTypeWord FixedTypeWord::Decode(uint32_t word) {
  return FixedTypeWord{static_cast<int>(word & 0xff), static_cast<int>(static_cast<int8_t>((word >> 8) & 0xff)),
                       static_cast<int>((word >> 16) & 0xff), static_cast<int>((word >> 24) & 0xff)};
}

int32_t RawFromFloat(float v, const FixedTypeWord& t) {
  // Scaling a float by 2^F in double is exact, and so is floor (AP_TRN). NaN gives 0 and
  // infinities lie beyond every range, as ht_fixed converts doubles.
  if (std::isnan(v)) return 0;
  const int64_t lo = -(int64_t{1} << (t.width - 1)), hi = (int64_t{1} << (t.width - 1)) - 1;
  if (t.omode == kApSat) {
    if (std::isinf(v)) return static_cast<int32_t>(v > 0 ? hi : lo);
    const double d = std::floor(std::ldexp(static_cast<double>(v), t.frac()));
    return static_cast<int32_t>(d < static_cast<double>(lo) ? lo : d > static_cast<double>(hi) ? hi : static_cast<int64_t>(d));
  }
  // AP_WRAP: the low W bits of floor(v * 2^F), sign-extended. fmod by 2^32 is exact and
  // keeps those bits for any finite magnitude; an infinity wraps to 0.
  if (std::isinf(v)) return 0;
  const double d = std::floor(std::ldexp(static_cast<double>(v), t.frac()));
  const uint64_t low = static_cast<uint64_t>(static_cast<int64_t>(std::fmod(d, 4294967296.0)));
  const uint64_t mask = t.width == 64 ? ~0ull : (1ull << t.width) - 1;
  uint64_t bits = low & mask;
  if (bits >> (t.width - 1) & 1) bits |= ~mask;  // sign-extend
  return static_cast<int32_t>(static_cast<int64_t>(bits));
}

std::unique_ptr<FpgaDevice> FpgaDevice::Open(const std::string& path, const ExpectedMap& expected,
                                             const DeviceOptions& options, DeviceError* error) {
  if (!check_map(expected, error)) return nullptr;
  const FixedTypeWord in_t = FixedTypeWord::Decode(expected.in_type), out_t = FixedTypeWord::Decode(expected.out_type);
  const bool pixels = expected.in_kind == kInKindPixelsV;  // no input type to convert floats to
  if ((!pixels && !type_ok(in_t)) || !type_ok(out_t)) {
    fail(error, "types", "input type " + type_text(expected.in_type) + ", result type " + type_text(expected.out_type) +
                             ": the driver converts floats for AP_TRN with AP_SAT or AP_WRAP, at most 32 bits wide");
    return nullptr;
  }
  std::unique_ptr<FpgaDevice> dev(new FpgaDevice());
  dev->path_ = path;
  dev->map_ = expected;
  dev->options_ = options;
  dev->in_type_ = in_t;
  dev->out_type_ = out_t;
  dev->out_scale_ = std::ldexp(1.0, -out_t.frac());
  dev->in_pack_ = InPack(expected);
  dev->pixels_ = pixels;
  dev->out_pack_ = pack_of(expected.out_type);
  if (!dev->MapPath(error)) return nullptr;
  const std::string fault = dev->IdentificationFault();
  if (!fault.empty()) {
    const size_t colon = fault.find(':');
    error->code = fault.substr(0, colon);
    error->message = path + ": " + fault.substr(colon + 2);
    return nullptr;
  }
  if (!pixels) dev->raw_in_.reset(new int32_t[expected.n_in]);
  dev->raw_out_.reset(new int32_t[expected.n_out]);
  if (options.mode >= 0) dev->SetMode(static_cast<uint32_t>(options.mode));
  return dev;
}

// "code: message" for the first identification field that differs from the map, or "".
std::string FpgaDevice::IdentificationFault() const {
  const ExpectedMap& m = map_;
  const uint32_t magic = Register(kMagic);
  if (magic != m.magic) return "magic: MAGIC is " + hex32(magic) + ", a hairtrigger firmware has " + hex32(m.magic) + " (HTFW): not a hairtrigger device, or not initialised";
  const uint32_t layout = Register(kLayout);
  if (layout != kLayoutVersion) return "layout: LAYOUT is " + std::to_string(layout) + ", this driver speaks layout " + std::to_string(kLayoutVersion) + " (docs/fpga-protocol.md)";
  // First: a device that reads its window otherwise than regmap.json says would take every
  // frame for something else (bytes as input_t values, or the reverse).
  const uint32_t kind = Register(kInKind);
  if (kind != m.in_kind)
    return "mismatch: IN_KIND differs: the device has " + std::to_string(kind) + " (" + InKindText(kind) + "), regmap.json has " + std::to_string(m.in_kind) +
           " (" + InKindText(m.in_kind) + "): load the bitstream compiled with this regmap.json";
  struct Field { const char* name; uint32_t offset; uint32_t want; bool type; };
  const Field fields[] = {
      {"N_IN", kNIn, m.n_in, false}, {"N_OUT", kNOut, m.n_out, false},
      {"IN_TYPE", kInType, m.in_type, true}, {"OUT_TYPE", kOutType, m.out_type, true},
      {"IN_PACK", kInPack, InPack(m), false}, {"OUT_PACK", kOutPack, pack_of(m.out_type), false},
  };
  for (const Field& f : fields) {
    const uint32_t got = Register(f.offset);
    if (got != f.want)
      return std::string("mismatch: ") + f.name + " differs: the device has " + (f.type ? type_text(got) : std::to_string(got)) +
             ", the model needs " + (f.type ? type_text(f.want) : std::to_string(f.want));
  }
  uint32_t hash[8];
  for (int k = 0; k < 8; k++) hash[k] = Register(kModelHash + 4 * k);
  if (std::memcmp(hash, m.model_hash, sizeof hash) != 0)
    return "mismatch: MODEL_HASH differs: the device runs " + hash_hex(hash) + ", the model is " + hash_hex(m.model_hash) + ": load the model's bitstream (or emulate it)";
  const Field places[] = {
      {"REGION_BYTES", kRegionBytes, m.region_bytes, false}, {"FIFO_CAPACITY", kFifoCapacity, m.fifo_capacity, false},
      {"IN_OFFSET", kInOffset, m.in_offset, false}, {"OUT_OFFSET", kOutOffset, m.out_offset, false},
      {"THRESH_OFFSET", kThreshOffset, m.thresh_offset, false}, {"FIFO_OFFSET", kFifoOffset, m.fifo_offset, false},
  };
  for (const Field& f : places) {
    const uint32_t got = Register(f.offset);
    if (got != f.want) return std::string("mismatch: ") + f.name + " differs: the device has " + std::to_string(got) + ", regmap.json has " + std::to_string(f.want);
  }
  return "";
}

// Maps the path into this device (at open).
bool FpgaDevice::MapPath(DeviceError* error) {
  Mapping m;
  if (!map_region(path_, map_.region_bytes, options_.offset_bytes, &m, error)) return false;
  fd_ = m.fd;
  base_ = m.base;
  mapped_bytes_ = map_.region_bytes;
  file_dev_ = m.st_dev;
  file_ino_ = m.st_ino;
  return true;
}

// A faulted device that came back as another file or device node at the path (an emulator
// restarted, a card re-enumerated): map the new one in place of the old if its identification
// matches. Opening is a system call, which is why only Probe (off the hot path) does it.
bool FpgaDevice::RemapIfReplaced(DeviceError* error) {
  struct stat st;
  if (::stat(path_.c_str(), &st) != 0)
    return fail(error, "faulted", path_ + ": the device is faulted (job seq " + std::to_string(stale_seq_) + " timed out) and the path is gone: " + std::strerror(errno));
  if (static_cast<uint64_t>(st.st_dev) == file_dev_ && static_cast<uint64_t>(st.st_ino) == file_ino_)
    return fail(error, "faulted", path_ + ": the device is faulted: DONE_COUNT stays " + std::to_string(stale_done_) + " since job seq " + std::to_string(stale_seq_) + " timed out");
  Mapping fresh;
  if (!map_region(path_, map_.region_bytes, options_.offset_bytes, &fresh, error)) return false;
  Mapping old{fd_, base_, static_cast<dev_t>(file_dev_), static_cast<ino_t>(file_ino_)};
  fd_ = fresh.fd;
  base_ = fresh.base;
  const std::string fault = IdentificationFault();
  Mapping& drop = fault.empty() ? old : fresh;
  if (!fault.empty()) {
    fd_ = old.fd;
    base_ = old.base;
  }
  unmap(&drop, mapped_bytes_);
  if (!fault.empty()) {
    const size_t colon = fault.find(':');
    return fail(error, fault.substr(0, colon).c_str(), path_ + " (replaced): " + fault.substr(colon + 2));
  }
  file_dev_ = fresh.st_dev;
  file_ino_ = fresh.st_ino;
  return true;
}

bool FpgaDevice::Probe(DeviceError* error) {
  if (!faulted_) return true;
  stats_.reprobes++;
  // Acquire: a DONE_COUNT change publishes the late job's outputs, which no job will read.
  const bool answered = load_acquire(word(kResetCount)) != stale_reset_ || load_acquire(word(kDoneCount)) != stale_done_;
  if (!(answered && IdentificationFault().empty()) && !RemapIfReplaced(error)) {
    last_probe_ = error->code + ": " + error->message;
    return false;
  }
  ClearFault();
  return true;
}

void FpgaDevice::ClearFault() {
  faulted_ = false;
  seq_hi_written_ = 0xffffffffu;  // the device answering again may be a new one
  last_probe_.clear();
  stats_.recoveries++;
}

FpgaDevice::~FpgaDevice() {
  if (base_ != nullptr) munmap(base_, mapped_bytes_);
  if (fd_ >= 0) ::close(fd_);
}

uint32_t FpgaDevice::Register(uint32_t offset) const { return load_acquire(word(offset)); }

bool FpgaDevice::RefuseKind(bool pixels_job, uint64_t seq, DeviceError* error) const {
  if (pixels_job)
    return fail(error, "values", path_ + ": job seq " + std::to_string(seq) + " not started: the device takes input_t values (IN_KIND 0), not a camera frame's bytes; "
                                     "send preprocessed values, or load firmware compiled with pixels (regmap.json inKind 'pixels')");
  return fail(error, "pixels", path_ + ": job seq " + std::to_string(seq) + " not started: the device takes a camera frame's " + std::to_string(map_.n_in) +
                                   " bytes (IN_KIND 1, regmap.json inKind 'pixels'), not input_t values; send the frame's bytes (RunU8, runPixels)");
}

bool FpgaDevice::RunRaw(const int32_t* in, int32_t* out, uint64_t seq, DeviceError* error) {
  if (pixels_) return RefuseKind(false, seq, error);
  return RunJob(in, out, seq, error);
}

bool FpgaDevice::RunJob(const int32_t* in, int32_t* out, uint64_t seq, DeviceError* error) {
  if (faulted_) {
    // No spin and no access: a hung device would cost every frame the whole spin budget.
    stats_.faulted_fast++;
    return fail(error, "faulted", path_ + ": job seq " + std::to_string(seq) + " not started: the device is faulted since job seq " +
                                      std::to_string(stale_seq_) + " timed out; it is re-probed off the hot path" +
                                      (last_probe_.empty() ? "" : " (last probe: " + last_probe_ + ")"));
  }
  const uint32_t done0 = load_acquire(word(kDoneCount));
  const uint32_t reset0 = load_acquire(word(kResetCount));
  // Ordered before ap_start by the release below.
  if (in != nullptr) store_window(word(map_.in_offset), in, map_.n_in, in_pack_);  // null: RunU8 wrote the window
  store_relaxed(word(kSeqLo), static_cast<uint32_t>(seq));
  // SEQ_HI changes once in 2^32 jobs: written only then (and after a reset), so a job's
  // register writes are SEQ_LO and CTRL, in one cache line.
  if (static_cast<uint32_t>(seq >> 32) != seq_hi_written_) {
    seq_hi_written_ = static_cast<uint32_t>(seq >> 32);
    store_relaxed(word(kSeqHi), seq_hi_written_);
  }
  // The window's non-temporal stores, then release: the inputs and SEQ are visible before the
  // device sees ap_start.
  window_fence();
  const uint64_t t0 = now_ns();
  store_release(word(kCtrl), kCtrlApStart);
  uint64_t spins = 0;
  const uint32_t* done = word(kDoneCount);
  const uint32_t* reset = word(kResetCount);
  // A reset may leave DONE_COUNT where it was (0 after a reset before the job): watch both.
  while (load_acquire(done) == done0 && load_relaxed(reset) == reset0) {
    if (++spins > options_.spins_max) break;
    cpu_pause();
  }
  const uint64_t wait_ns = now_ns() - t0;
  const uint32_t done1 = load_acquire(done);
  const uint32_t reset1 = load_acquire(reset);
  if (reset1 != reset0) return Reset(seq, reset0, reset1, error);
  if (spins > options_.spins_max) {
    stats_.timeouts++;
    faulted_ = true;
    stale_done_ = done0;
    stale_reset_ = reset0;
    stale_seq_ = seq;
    const std::string id = IdentificationFault();
    return fail(error, "timeout", path_ + ": job seq " + std::to_string(seq) + " not done after " + std::to_string(options_.spins_max) +
                                      " spins (" + std::to_string(wait_ns / 1000) + " us); DONE_COUNT stayed " + std::to_string(done0) +
                                      (id.empty() ? "" : "; identification: " + id));
  }
  // Only this host starts jobs, so DONE_COUNT moves by exactly one. Anything else is a reset
  // whose RESET_COUNT increment is not visible yet (a device may clear its counters first).
  if (done1 != done0 + 1) {
    stats_.resets++;
    seq_hi_written_ = 0xffffffffu;
    return fail(error, "reset", path_ + ": DONE_COUNT went from " + std::to_string(done0) + " to " + std::to_string(done1) + " during job seq " +
                                    std::to_string(seq) + ", not by one: the device reset (or another host runs jobs); the frame is lost");
  }
  const uint32_t* y = word(map_.out_offset);
  const int w = out_type_.width;
  const int64_t lo = -(int64_t{1} << (w - 1)), hi = (int64_t{1} << (w - 1)) - 1;
  uint32_t check = Fnv1aWord(Fnv1aWord(kFnvOffsetBasis, static_cast<uint32_t>(seq)), done1);
  bool in_range = true;
  uint32_t bad_k = 0;
  const uint32_t out_words = words_of(map_.n_out, out_pack_);
  for (uint32_t i = 0; i < out_words; i++) check = Fnv1aWord(check, load_relaxed(y + i));
  for (uint32_t k = 0; k < map_.n_out; k++) {
    // Read again, not kept from the loop above: the hot path keeps no per-job buffer of words.
    const int32_t v = lane_value(load_relaxed(y + k / out_pack_), k, out_pack_);
    // A result_t value is a sign-extended W-bit pattern; anything else is not one.
    if (in_range && (v < lo || v > hi)) {
      in_range = false;
      bad_k = k;
    }
    out[k] = v;
  }
  const uint32_t out_check = load_relaxed(word(kOutCheck));
  // A reset while the outputs were read leaves them cleared: check once more, before
  // blaming the words.
  const uint32_t reset2 = load_acquire(reset);
  if (reset2 != reset0) return Reset(seq, reset0, reset2, error);
  if (!in_range) {
    stats_.corrupt++;
    return fail(error, "corrupt", path_ + ": job seq " + std::to_string(seq) + ": output " + std::to_string(bad_k) + " is " + hex32(static_cast<uint32_t>(out[bad_k])) +
                                      ", not a sign-extended " + std::to_string(w) + "-bit value");
  }
  if (out_check != check) {
    stats_.corrupt++;
    return fail(error, "corrupt", path_ + ": job seq " + std::to_string(seq) + ": OUT_CHECK is " + hex32(out_check) + ", the outputs read give " + hex32(check) +
                                      " (FNV-1a over SEQ_LO, DONE_COUNT " + std::to_string(done1) + " and " + std::to_string(words_of(map_.n_out, out_pack_)) +
                                      " output words): the outputs were corrupted on the way; the frame is dropped");
  }
  if (timeline_ != nullptr) {
    double* r = timeline_ + kTimelineFields * (stats_.jobs % timeline_jobs_);
    r[0] = static_cast<double>(seq);
    r[1] = static_cast<double>(t0);
    r[2] = static_cast<double>(t0 + wait_ns);
  }
  stats_.jobs++;
  stats_.wait_ns_last = wait_ns;
  stats_.wait_ns_total += wait_ns;
  if (stats_.jobs == 1 || wait_ns < stats_.wait_ns_min) stats_.wait_ns_min = wait_ns;
  if (wait_ns > stats_.wait_ns_max) stats_.wait_ns_max = wait_ns;
  return true;
}

bool FpgaDevice::Reset(uint64_t seq, uint32_t reset0, uint32_t reset1, DeviceError* error) {
  stats_.resets++;
  seq_hi_written_ = 0xffffffffu;  // a reset may have cleared SEQ_HI: the next job writes it
  return fail(error, "reset", path_ + ": the device reset during job seq " + std::to_string(seq) + " (RESET_COUNT " + std::to_string(reset0) +
                                  " -> " + std::to_string(reset1) + "); the frame is lost, the next job starts afresh");
}

bool FpgaDevice::RunF32(const float* in, float* out, uint64_t seq, DeviceError* error) {
  if (pixels_) return RefuseKind(false, seq, error);
  int32_t* x = raw_in_.get();
  int32_t* y = raw_out_.get();
  if (in_type_.omode == kApSat) {
    // The common input type, in a loop g++ vectorises (RawFromFloat's rule, branch-free:
    // v * 2^F is exact in a double, NaN gives 0, infinities clamp). ldexp and the branches
    // cost ~5 ns a value, 15 us on a 3,072-value frame.
    const double scale = std::ldexp(1.0, in_type_.frac());
    const double lo = -std::ldexp(1.0, in_type_.width - 1), hi = std::ldexp(1.0, in_type_.width - 1) - 1;
    for (uint32_t i = 0; i < map_.n_in; i++) {
      double d = std::floor(static_cast<double>(in[i]) * scale);
      d = d == d ? d : 0.0;
      x[i] = static_cast<int32_t>(std::min(std::max(d, lo), hi));
    }
  } else {
    for (uint32_t i = 0; i < map_.n_in; i++) x[i] = RawFromFloat(in[i], in_type_);
  }
  if (!RunRaw(x, y, seq, error)) return false;
  for (uint32_t k = 0; k < map_.n_out; k++) out[k] = static_cast<float>(static_cast<double>(y[k]) * out_scale_);
  return true;
}

bool FpgaDevice::RunU8(const uint8_t* px, uint32_t n_px, float* out, uint64_t seq, DeviceError* error) {
  if (!pixels_) return RefuseKind(true, seq, error);
  if (n_px != map_.n_in)
    return fail(error, "pixels", path_ + ": job seq " + std::to_string(seq) + " not started: a frame of " + std::to_string(n_px) + " bytes, the device takes " + std::to_string(map_.n_in));
  // A faulted device is not written to: RunJob fails the job at once.
  if (!faulted_) store_bytes_window(word(map_.in_offset), px, n_px);
  int32_t* y = raw_out_.get();
  if (!RunJob(nullptr, y, seq, error)) return false;
  for (uint32_t k = 0; k < map_.n_out; k++) out[k] = static_cast<float>(static_cast<double>(y[k]) * out_scale_);
  return true;
}

void FpgaDevice::SetMode(uint32_t mode) { store_release(word(kMode), mode); }

void FpgaDevice::SetThreshold(uint32_t k, int32_t raw) { store_release(word(map_.thresh_offset) + k, static_cast<uint32_t>(raw)); }

uint32_t FpgaDevice::Overflows() const { return Register(kFifoOverflows); }

uint32_t FpgaDevice::Pending() const { return Register(kFifoHead) - Register(kFifoTail); }

int64_t FpgaDevice::DrainEvents(EventRecord* out, uint32_t max, DeviceError* error) {
  // Acquire on HEAD: every record below it is completely written.
  const uint32_t head = load_acquire(word(kFifoHead));
  const uint32_t tail = load_acquire(word(kFifoTail));
  const uint32_t pending = head - tail;  // modulo 2^32, as both counters wrap
  if (pending > map_.fifo_capacity) {
    stats_.corrupt++;
    fail(error, "corrupt", path_ + ": FIFO_HEAD " + std::to_string(head) + " and FIFO_TAIL " + std::to_string(tail) + " are " +
                               std::to_string(pending) + " records apart, more than FIFO_CAPACITY " + std::to_string(map_.fifo_capacity));
    return -1;
  }
  const uint32_t n = pending < max ? pending : max;
  const uint32_t mask = map_.fifo_capacity - 1;
  for (uint32_t i = 0; i < n; i++) {
    const uint32_t* r = word(map_.fifo_offset + kRecordBytes * ((tail + i) & mask));
    uint32_t w[8];
    for (int j = 0; j < 8; j++) w[j] = load_relaxed(r + j);
    out[i].seq = w[0] | static_cast<uint64_t>(w[1]) << 32;
    out[i].cls = w[2];
    out[i].score_raw = static_cast<int32_t>(w[3]);
    out[i].start_cycle = w[4] | static_cast<uint64_t>(w[5]) << 32;
    out[i].done_cycle = w[6] | static_cast<uint64_t>(w[7]) << 32;
  }
  // Release: the records are read before the device may overwrite their slots.
  if (n > 0) store_release(word(kFifoTail), tail + n);
  return n;
}

}  // namespace hairtrigger
