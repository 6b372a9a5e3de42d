#include "model_library.h"

#include <dlfcn.h>
#include <unistd.h>

namespace hairtrigger {

namespace {

template <class Fn>
bool Resolve(void* handle, const char* name, Fn* out, const std::string& path, LoadError* error) {
  dlerror();
  void* sym = dlsym(handle, name);
  if (sym == nullptr) {
    *error = {"symbol", path + ": missing symbol " + name + " (not a hairtrigger model library, or built for another ABI)"};
    return false;
  }
  *out = reinterpret_cast<Fn>(sym);
  return true;
}

}  // namespace

std::unique_ptr<ModelLibrary> ModelLibrary::Open(const std::string& path, LoadError* error) {
  if (access(path.c_str(), R_OK) != 0) {
    *error = {"not_found", path + ": no readable model library there (build it with `hairtrigger compile MODEL.onnx` or `make firmware`)"};
    return nullptr;
  }
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    *error = {"dlopen", path + ": cannot load: " + (why != nullptr ? why : "unknown dynamic loader error")};
    return nullptr;
  }
  std::unique_ptr<ModelLibrary> lib(new ModelLibrary());
  lib->path_ = path;
  lib->handle_ = handle;
  uint32_t (*abi_version)() = nullptr;
  const ht_model_info* (*get_info)() = nullptr;
  if (!Resolve(handle, "ht_model_abi_version", &abi_version, path, error)) return nullptr;
  const uint32_t version = abi_version();
  if (version != HT_MODEL_ABI_VERSION) {
    *error = {"abi", path + ": model ABI version " + std::to_string(version) + ", this host speaks " +
                         std::to_string(HT_MODEL_ABI_VERSION) + " (recompile the model with this hairtrigger)"};
    return nullptr;
  }
  if (!Resolve(handle, "ht_model_get_info", &get_info, path, error) ||
      !Resolve(handle, "ht_model_predict_f32", &lib->predict_f32_, path, error) ||
      !Resolve(handle, "ht_model_predict_f32_batch", &lib->predict_f32_batch_, path, error) ||
      !Resolve(handle, "ht_model_predict_raw", &lib->predict_raw_, path, error) ||
      !Resolve(handle, "ht_model_predict_u8", &lib->predict_u8_, path, error)) {
    return nullptr;
  }
  // The sliding-window entries are optional (libraries built before them): all four or none.
  dlerror();
  lib->stream_open_ = reinterpret_cast<void* (*)()>(dlsym(handle, "ht_model_stream_open"));
  lib->stream_close_ = reinterpret_cast<void (*)(void*)>(dlsym(handle, "ht_model_stream_close"));
  lib->predict_stream_ = reinterpret_cast<int32_t (*)(void*, const float*, float*)>(dlsym(handle, "ht_model_predict_stream_f32"));
  lib->stream_reused_ = reinterpret_cast<uint64_t (*)(const void*)>(dlsym(handle, "ht_model_stream_reused"));
  if (lib->stream_open_ == nullptr || lib->stream_close_ == nullptr || lib->predict_stream_ == nullptr || lib->stream_reused_ == nullptr) {
    lib->stream_open_ = nullptr;
    lib->stream_close_ = nullptr;
    lib->predict_stream_ = nullptr;
    lib->stream_reused_ = nullptr;
  }
  lib->info_ = get_info();
  const ht_model_info* i = lib->info_;
  if (i == nullptr || i->abi_version != HT_MODEL_ABI_VERSION || i->n_in == 0 || i->n_in > ModelLimits::kInputsMax ||
      i->n_out == 0 || i->n_out > ModelLimits::kOutputsMax || i->name == nullptr || i->model_sha256 == nullptr ||
      i->precision == nullptr || i->postprocess == nullptr || i->n_px > ModelLimits::kPixelsMax) {
    *error = {"info", path + ": inconsistent model info (sizes zero or above the limits, or missing strings)"};
    return nullptr;
  }
  return lib;
}

ModelLibrary::~ModelLibrary() {
  if (handle_ != nullptr) dlclose(handle_);
}

}  // namespace hairtrigger
