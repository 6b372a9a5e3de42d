// model_library.h: loads a compiled model library (lib<name>.so, the bit-exact simulator of
// one generated firmware project) and runs it. No Node headers: the N-API glue in
// binding.cc and any C++ tool can use it.
//
// Loading checks, in order, each failing with its own LoadError code:
//   not_found   the file does not exist or is not readable
//   dlopen      the dynamic loader refused it (not a shared object, wrong architecture,
//               unresolved symbols); the loader's message is kept
//   symbol      one of the ABI functions of hls/abi/ht_model_abi.h is missing
//   abi         ht_model_abi_version() differs from HT_MODEL_ABI_VERSION
//   info        the info block is inconsistent (sizes zero or above the limits)
// RTLD_LOCAL | RTLD_NOW: every symbol resolved at load, nothing leaks into other libraries.
// Two models loaded at once are two separate libraries; the same file loaded twice shares
// the library's static buffers, so runs of one file must not interleave across threads
// (the daemon runs one predict at a time on one thread).
#ifndef HAIRTRIGGER_MODEL_LIBRARY_H
#define HAIRTRIGGER_MODEL_LIBRARY_H

#include <cstdint>
#include <memory>
#include <string>

#include "ht_model_abi.h"

namespace hairtrigger {

// Named limits of the loader.
struct ModelLimits {
  static constexpr uint32_t kInputsMax = 1u << 24;   // values per sample
  static constexpr uint32_t kOutputsMax = 1u << 16;  // outputs per sample
  static constexpr uint32_t kPixelsMax = 1u << 24;   // bytes of one camera frame (n_px)
};

struct LoadError {
  std::string code;     // not_found, dlopen, symbol, abi, info
  std::string message;  // names the file and what is wrong
};

class ModelLibrary {
 public:
  // Loads `path`; on failure returns null and fills `error`.
  static std::unique_ptr<ModelLibrary> Open(const std::string& path, LoadError* error);
  ~ModelLibrary();
  ModelLibrary(const ModelLibrary&) = delete;
  ModelLibrary& operator=(const ModelLibrary&) = delete;

  const ht_model_info& info() const { return *info_; }
  const std::string& path() const { return path_; }
  // The dlopen handle, for a loader that resolves a second ABI in the same library (the
  // device emulator: hls/abi/ht_device_abi.h). Owned by this object.
  void* handle() const { return handle_; }

  // x[n_in] -> y[n_out]; the caller checked the lengths. Returns an HT_MODEL_* code.
  int32_t PredictF32(const float* x, float* y) const { return predict_f32_(x, y); }
  int32_t PredictF32Batch(const float* x, float* y, uint32_t n) const { return predict_f32_batch_(x, y, n); }
  int32_t PredictRaw(const int32_t* x, int32_t* y) const { return predict_raw_(x, y); }
  // px[n_px] (a camera frame's bytes) -> y[n_out]; HT_MODEL_E_NO_PIXELS when info().n_px is 0.
  int32_t PredictU8(const uint8_t* px, float* y) const { return predict_u8_(px, y); }

  // Sliding windows (optional entries): OpenStream returns null when the library has none or
  // no plan; PredictStream as PredictF32 on a stream from OpenStream (reusing rows of an
  // earlier window); StreamReused counts the predictions that did.
  void* OpenStream() const { return stream_open_ != nullptr ? stream_open_() : nullptr; }
  void CloseStream(void* s) const {
    if (s != nullptr && stream_close_ != nullptr) stream_close_(s);
  }
  int32_t PredictStream(void* s, const float* x, float* y) const { return predict_stream_(s, x, y); }
  uint64_t StreamReused(const void* s) const { return stream_reused_ != nullptr ? stream_reused_(s) : 0; }

 private:
  ModelLibrary() = default;
  std::string path_;
  void* handle_ = nullptr;
  const ht_model_info* info_ = nullptr;
  int32_t (*predict_f32_)(const float*, float*) = nullptr;
  int32_t (*predict_f32_batch_)(const float*, float*, uint32_t) = nullptr;
  int32_t (*predict_raw_)(const int32_t*, int32_t*) = nullptr;
  int32_t (*predict_u8_)(const uint8_t*, float*) = nullptr;
  void* (*stream_open_)() = nullptr;
  void (*stream_close_)(void*) = nullptr;
  int32_t (*predict_stream_)(void*, const float*, float*) = nullptr;
  uint64_t (*stream_reused_)(const void*) = nullptr;
};

}  // namespace hairtrigger

#endif  // HAIRTRIGGER_MODEL_LIBRARY_H
