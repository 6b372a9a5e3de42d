// Thin N-API glue (node-addon-api) over the C++ cores clock.h and model_library.h. Every
// argument is checked with a one-line CHECK and a failed check becomes a JS TypeError (or
// RangeError) with a clear message; loader failures become an Error whose `code` property
// is the LoadError code.
//
// Why a native clock: on Node 20, performance.now() returns a heap-allocated double (16
// bytes a call); the hot path reads the clock six times a frame. `stamp(array, index)`
// writes the time straight into a Float64Array and returns nothing, so it allocates nothing.
//
// Why `bind` + `run`: unwrapping two typed arrays costs about as much as a small model's
// inference, so the hot path binds its buffers once and calls `run()` with no arguments.

#include <napi.h>

#include "napi_check.h"

#include <cstring>
#include <memory>
#include <string>

#include "clock.h"
#include "hot_method.h"
#include "model_library.h"

namespace hairtrigger {
void InitFpgaBinding(Napi::Env env, Napi::Object exports);  // fpga_binding.cc
void InitGunzipBinding(Napi::Env env, Napi::Object exports);  // gunzip_binding.cc
}  // namespace hairtrigger

namespace {

using hairtrigger::LoadError;
using hairtrigger::ModelLibrary;

int64_t g_origin_ns = hairtrigger::monotonic_ns_now();


// stamp(array: Float64Array, index: number): void
Napi::Value Stamp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  HT_CHECK(env, info.Length() == 2, TypeError, "stamp(array, index): two arguments expected");
  HT_CHECK(env, info[0].IsTypedArray() && info[0].As<Napi::TypedArray>().TypedArrayType() == napi_float64_array, TypeError, "stamp: array must be a Float64Array");
  HT_CHECK(env, info[1].IsNumber(), TypeError, "stamp: index must be an integer");
  Napi::Float64Array arr = info[0].As<Napi::Float64Array>();
  const int64_t index = info[1].As<Napi::Number>().Int64Value();
  HT_CHECK(env, index >= 0 && static_cast<size_t>(index) < arr.ElementLength(), RangeError, "stamp: index out of range");
  arr[static_cast<size_t>(index)] = hairtrigger::monotonic_ns_since(g_origin_ns);
  return Napi::Value();
}

// copyBytes(dst: Uint8Array, dstOffset, src: Uint8Array, srcOffset, length): void — memcpy
// of src[srcOffset, srcOffset + length) to dst[dstOffset ..]. Why native: the trigger detail
// ring copies a span of a source's buffer on the hot path, and JavaScript has two ways, both
// bad there: a byte loop (~2-3 ns a byte in V8: 7 us a 3 KB crop, 200+ us an alert packet)
// or `dst.set(src.subarray(..))`, which allocates a view object per call.
Napi::Value CopyBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto bytes = [](const Napi::Value& v) { return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array; };
  HT_CHECK(env, info.Length() == 5 && bytes(info[0]) && info[1].IsNumber() && bytes(info[2]) && info[3].IsNumber() && info[4].IsNumber(), TypeError, "copyBytes(dst, dstOffset, src, srcOffset, length): Uint8Array, integer, Uint8Array, integer, integer expected");
  Napi::Uint8Array dst = info[0].As<Napi::Uint8Array>(), src = info[2].As<Napi::Uint8Array>();
  const int64_t at = info[1].As<Napi::Number>().Int64Value(), from = info[3].As<Napi::Number>().Int64Value(), n = info[4].As<Napi::Number>().Int64Value();
  HT_CHECK(env, at >= 0 && from >= 0 && n >= 0 && static_cast<size_t>(at + n) <= dst.ElementLength() && static_cast<size_t>(from + n) <= src.ElementLength(), RangeError, "copyBytes: span out of range");
  std::memmove(dst.Data() + at, src.Data() + from, static_cast<size_t>(n));
  return Napi::Value();
}

// new StampBinding(array: Float64Array): a stamp array bound once, so the hot path passes one
// integer instead of a typed array to unwrap (about half the cost of stamp()). Each binding
// is its own object, owned by the clock that made it and freed with it (no process-wide
// table, no cap on pipelines or clocks).
//
// Its `stamp` is an own property: a plain N-API function whose callback data is the bound
// array (StampTarget, freed with the function), not an ObjectWrap method. The hot path calls
// it six times a frame, and the wrapper's per-call work (CallbackInfo, napi_unwrap of `this`)
// cost about half of each call: 138 -> about 70 ns here.
struct StampTarget {
  Napi::Reference<Napi::Float64Array> ref;
  double* data = nullptr;
  size_t length = 0;
};

// stamp(index: number): void
napi_value StampAt(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void* data = nullptr;
  int32_t index = -1;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, &data) != napi_ok || argc != 1 || napi_get_value_int32(env, argv[0], &index) != napi_ok) {
    napi_throw_type_error(env, nullptr, "StampBinding.stamp(index): one integer expected");
    return nullptr;
  }
  StampTarget* t = static_cast<StampTarget*>(data);
  if (index < 0 || static_cast<size_t>(index) >= t->length) {
    napi_throw_range_error(env, nullptr, "StampBinding.stamp: index out of range");
    return nullptr;
  }
  t->data[index] = hairtrigger::monotonic_ns_since(g_origin_ns);
  return nullptr;
}

class StampBinding : public Napi::ObjectWrap<StampBinding> {
 public:
  static Napi::Function Define(Napi::Env env) { return DefineClass(env, "StampBinding", {}); }

  explicit StampBinding(const Napi::CallbackInfo& info) : Napi::ObjectWrap<StampBinding>(info) {
    Napi::Env env = info.Env();
    if (info.Length() != 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
      Napi::TypeError::New(env, "new StampBinding(array): one Float64Array expected").ThrowAsJavaScriptException();
      return;
    }
    Napi::Float64Array arr = info[0].As<Napi::Float64Array>();
    auto* t = new StampTarget();
    t->ref = Napi::Persistent(arr);
    t->data = arr.Data();  // externalises a small on-heap array: the pointer stays valid while referenced
    t->length = arr.ElementLength();
    napi_value fn;
    if (napi_create_function(env, "stamp", NAPI_AUTO_LENGTH, StampAt, t, &fn) != napi_ok ||
        napi_add_finalizer(env, fn, t, [](napi_env, void* d, void*) { delete static_cast<StampTarget*>(d); }, nullptr, nullptr) != napi_ok) {
      delete t;
      Napi::Error::New(env, "new StampBinding: cannot create its stamp function").ThrowAsJavaScriptException();
      return;
    }
    info.This().As<Napi::Object>().Set("stamp", Napi::Value(env, fn));
  }
};

// nowNs(): number (allocates its result; for code off the hot path).
Napi::Value NowNs(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), hairtrigger::monotonic_ns_since(g_origin_ns));
}

bool IsTyped(const Napi::Value& v, napi_typedarray_type type) {
  return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == type;
}

// new SimModel(path): one loaded model library.
class SimModel : public Napi::ObjectWrap<SimModel> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "SimModel",
                       {InstanceMethod<&SimModel::Info>("info"), InstanceMethod<&SimModel::Predict>("predict"),
                        InstanceMethod<&SimModel::PredictBatch>("predictBatch"),
                        InstanceMethod<&SimModel::PredictRaw>("predictRaw"), InstanceMethod<&SimModel::Bind>("bind"),
                        InstanceMethod<&SimModel::BindPixels>("bindPixels"), InstanceMethod<&SimModel::Close>("close"),
                        InstanceMethod<&SimModel::OpenStream>("openStream"), InstanceMethod<&SimModel::StreamReused>("streamReused")});
  }

  ~SimModel() {
    hot_->self = nullptr;
    if (lib_) lib_->CloseStream(stream_);
  }

  explicit SimModel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SimModel>(info) {
    Napi::Env env = info.Env();
    if (info.Length() != 1 || !info[0].IsString()) {
      Napi::TypeError::New(env, "new SimModel(path): one string argument expected").ThrowAsJavaScriptException();
      return;
    }
    // run() and runPixels(offset): own properties, plain N-API functions (hot_method.h).
    hot_->self = this;
    if (!hairtrigger::InstallHot<SimModel, 0, &SimModel::Run>(env, info.This().As<Napi::Object>(), "run", hot_) ||
        !hairtrigger::InstallHot<SimModel, 1, &SimModel::RunPixels>(env, info.This().As<Napi::Object>(), "runPixels", hot_))
      return;
    LoadError error;
    lib_ = ModelLibrary::Open(info[0].As<Napi::String>().Utf8Value(), &error);
    if (!lib_) {
      Napi::Error e = Napi::Error::New(env, error.message);
      e.Set("code", Napi::String::New(env, error.code));
      e.ThrowAsJavaScriptException();
    }
  }

 private:
  // Throws and returns false when closed.
  bool Open(Napi::Env env) {
    if (lib_) return true;
    Napi::Error::New(env, "SimModel: used after close()").ThrowAsJavaScriptException();
    return false;
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Open(env)) return Napi::Value();
    const ht_model_info& i = lib_->info();
    Napi::Object o = Napi::Object::New(env);
    o.Set("path", lib_->path());
    o.Set("abiVersion", i.abi_version);
    o.Set("name", i.name);
    o.Set("modelSha256", i.model_sha256);
    o.Set("precision", i.precision);
    o.Set("postprocess", i.postprocess);
    o.Set("nIn", i.n_in);
    o.Set("nOut", i.n_out);
    o.Set("inWidth", i.in_width);
    o.Set("inInt", i.in_int);
    o.Set("outWidth", i.out_width);
    o.Set("outInt", i.out_int);
    o.Set("rawOk", i.raw_ok != 0);
    o.Set("latencyCycles", i.latency_cycles);
    o.Set("ii", i.ii);
    o.Set("clockMhz", i.clock_mhz);
    o.Set("nPx", i.n_px);
    return o;
  }

  // predict(x: Float32Array[nIn], y: Float32Array[nOut]): void
  Napi::Value Predict(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Open(env)) return Napi::Value();
    HT_CHECK(env, info.Length() == 2 && IsTyped(info[0], napi_float32_array) && IsTyped(info[1], napi_float32_array), TypeError, "predict(x, y): two Float32Arrays expected");
    Napi::Float32Array x = info[0].As<Napi::Float32Array>(), y = info[1].As<Napi::Float32Array>();
    HT_CHECK(env, x.ElementLength() == lib_->info().n_in, RangeError, "predict: x length " + std::to_string(x.ElementLength()) + ", the model needs " + std::to_string(lib_->info().n_in));
    HT_CHECK(env, y.ElementLength() == lib_->info().n_out, RangeError, "predict: y length " + std::to_string(y.ElementLength()) + ", the model writes " + std::to_string(lib_->info().n_out));
    lib_->PredictF32(x.Data(), y.Data());
    return Napi::Value();
  }

  // predictBatch(x: Float32Array[n * nIn], y: Float32Array[n * nOut], n: number): void
  Napi::Value PredictBatch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Open(env)) return Napi::Value();
    HT_CHECK(env, info.Length() == 3 && IsTyped(info[0], napi_float32_array) && IsTyped(info[1], napi_float32_array) && info[2].IsNumber(), TypeError, "predictBatch(x, y, n): two Float32Arrays and a count expected");
    Napi::Float32Array x = info[0].As<Napi::Float32Array>(), y = info[1].As<Napi::Float32Array>();
    const int64_t n = info[2].As<Napi::Number>().Int64Value();
    HT_CHECK(env, n >= 0 && n <= 0xffffffffLL, RangeError, "predictBatch: n must be a non-negative 32-bit count");
    HT_CHECK(env, x.ElementLength() == static_cast<size_t>(n) * lib_->info().n_in, RangeError, "predictBatch: x length " + std::to_string(x.ElementLength()) + ", n * nIn is " + std::to_string(n * lib_->info().n_in));
    HT_CHECK(env, y.ElementLength() == static_cast<size_t>(n) * lib_->info().n_out, RangeError, "predictBatch: y length " + std::to_string(y.ElementLength()) + ", n * nOut is " + std::to_string(n * lib_->info().n_out));
    lib_->PredictF32Batch(x.Data(), y.Data(), static_cast<uint32_t>(n));
    return Napi::Value();
  }

  // predictRaw(x: Int32Array[nIn], y: Int32Array[nOut]): void; raw W-bit values, sign-extended.
  Napi::Value PredictRaw(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Open(env)) return Napi::Value();
    HT_CHECK(env, info.Length() == 2 && IsTyped(info[0], napi_int32_array) && IsTyped(info[1], napi_int32_array), TypeError, "predictRaw(x, y): two Int32Arrays expected");
    Napi::Int32Array x = info[0].As<Napi::Int32Array>(), y = info[1].As<Napi::Int32Array>();
    HT_CHECK(env, lib_->info().raw_ok != 0, RangeError, "predictRaw: the model's input or result type is wider than 32 bits");
    HT_CHECK(env, x.ElementLength() == lib_->info().n_in, RangeError, "predictRaw: x length " + std::to_string(x.ElementLength()) + ", the model needs " + std::to_string(lib_->info().n_in));
    HT_CHECK(env, y.ElementLength() == lib_->info().n_out, RangeError, "predictRaw: y length " + std::to_string(y.ElementLength()) + ", the model writes " + std::to_string(lib_->info().n_out));
    lib_->PredictRaw(x.Data(), y.Data());
    return Napi::Value();
  }

  // bind(x: Float32Array[nIn], y: Float32Array[nOut]): keeps both arrays alive until the
  // next bind or close; run() then predicts from x into y.
  Napi::Value Bind(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Open(env)) return Napi::Value();
    HT_CHECK(env, info.Length() == 2 && IsTyped(info[0], napi_float32_array) && IsTyped(info[1], napi_float32_array), TypeError, "bind(x, y): two Float32Arrays expected");
    Napi::Float32Array x = info[0].As<Napi::Float32Array>(), y = info[1].As<Napi::Float32Array>();
    HT_CHECK(env, x.ElementLength() == lib_->info().n_in, RangeError, "bind: x length " + std::to_string(x.ElementLength()) + ", the model needs " + std::to_string(lib_->info().n_in));
    HT_CHECK(env, y.ElementLength() == lib_->info().n_out, RangeError, "bind: y length " + std::to_string(y.ElementLength()) + ", the model writes " + std::to_string(lib_->info().n_out));
    bound_x_ref_ = Napi::Persistent(x);
    bound_y_ref_ = Napi::Persistent(y);
    // Data() externalises a small on-heap typed array first, so these pointers stay valid
    // while the references hold the arrays.
    bound_x_ = x.Data();
    bound_y_ = y.Data();
    return Napi::Value();
  }

  // run(): predict on the bound buffers. No arguments to unwrap.
  napi_value Run(napi_env env, size_t, napi_value*) {
    if (bound_x_ == nullptr) {
      Napi::Error::New(env, lib_ ? "run(): no buffers bound (call bind(x, y) first)" : "SimModel: used after close()").ThrowAsJavaScriptException();
      return nullptr;
    }
    if (stream_ != nullptr) {
      lib_->PredictStream(stream_, bound_x_, bound_y_);
    } else {
      lib_->PredictF32(bound_x_, bound_y_);
    }
    return nullptr;
  }

  // openStream(): boolean. From now on run() predicts through a sliding-window stream of the
  // library (ht_model_abi.h: a window that is an earlier one moved up reuses its unchanged
  // rows, same bits); false, and run() unchanged, when the library has none.
  Napi::Value OpenStream(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Open(env)) return Napi::Value();
    if (stream_ == nullptr) stream_ = lib_->OpenStream();
    return Napi::Boolean::New(env, stream_ != nullptr);
  }

  // streamReused(): the predictions of the open stream that reused rows (0 without one).
  Napi::Value StreamReused(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Open(env)) return Napi::Value();
    return Napi::Number::New(env, static_cast<double>(lib_->StreamReused(stream_)));
  }

  // bindPixels(px: Uint8Array, y: Float32Array[nOut]): holds the buffer camera frames lie in
  // (a capture, an ingress arena: any length) and y until the next bindPixels or close;
  // runPixels(offset) then predicts from px[offset, offset + nPx). The caller rebinds only
  // when frames move to another buffer, so the hot path passes one integer.
  Napi::Value BindPixels(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Open(env)) return Napi::Value();
    HT_CHECK(env, info.Length() == 2 && IsTyped(info[0], napi_uint8_array) && IsTyped(info[1], napi_float32_array), TypeError, "bindPixels(px, y): a Uint8Array and a Float32Array expected");
    HT_CHECK(env, lib_->info().n_px > 0, RangeError, "bindPixels: the model library takes no pixels (its firmware does not preprocess; compile it from a card with a uint8 image preprocessing)");
    Napi::Uint8Array px = info[0].As<Napi::Uint8Array>();
    Napi::Float32Array y = info[1].As<Napi::Float32Array>();
    HT_CHECK(env, y.ElementLength() == lib_->info().n_out, RangeError, "bindPixels: y length " + std::to_string(y.ElementLength()) + ", the model writes " + std::to_string(lib_->info().n_out));
    bound_px_ref_ = Napi::Persistent(px);
    bound_py_ref_ = Napi::Persistent(y);
    bound_px_ = px.Data();
    bound_px_length_ = px.ElementLength();
    bound_py_ = y.Data();
    return Napi::Value();
  }

  // runPixels(offset: number): the frame at px[offset..] through the firmware's pixel entry.
  napi_value RunPixels(napi_env napi, size_t argc, napi_value* argv) {
    Napi::Env env(napi);
    if (bound_px_ == nullptr) {
      Napi::Error::New(env, lib_ ? "runPixels(): no buffers bound (call bindPixels(px, y) first)" : "SimModel: used after close()").ThrowAsJavaScriptException();
      return nullptr;
    }
    int64_t offset = -1;
    HT_CHECK(env, argc == 1 && napi_get_value_int64(napi, argv[0], &offset) == napi_ok, TypeError, "runPixels(offset): one number expected");
    HT_CHECK(env, offset >= 0 && static_cast<uint64_t>(offset) + lib_->info().n_px <= bound_px_length_, RangeError,
             "runPixels: frame at " + std::to_string(offset) + " of " + std::to_string(lib_->info().n_px) + " bytes leaves the bound buffer of " + std::to_string(bound_px_length_));
    lib_->PredictU8(bound_px_ + offset, bound_py_);
    return nullptr;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    bound_px_ = nullptr;
    bound_py_ = nullptr;
    bound_px_ref_.Reset();
    bound_py_ref_.Reset();
    bound_x_ = nullptr;
    bound_y_ = nullptr;
    bound_x_ref_.Reset();
    bound_y_ref_.Reset();
    if (lib_) lib_->CloseStream(stream_);
    stream_ = nullptr;
    lib_.reset();
    return info.Env().Undefined();
  }

  std::unique_ptr<ModelLibrary> lib_;
  void* stream_ = nullptr;  // the library's sliding-window stream (openStream), or null
  std::shared_ptr<hairtrigger::HotSelf<SimModel>> hot_ = std::make_shared<hairtrigger::HotSelf<SimModel>>();
  Napi::Reference<Napi::Float32Array> bound_x_ref_, bound_y_ref_;
  float* bound_x_ = nullptr;
  float* bound_y_ = nullptr;
  Napi::Reference<Napi::Uint8Array> bound_px_ref_;
  Napi::Reference<Napi::Float32Array> bound_py_ref_;
  const uint8_t* bound_px_ = nullptr;
  size_t bound_px_length_ = 0;
  float* bound_py_ = nullptr;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("stamp", Napi::Function::New<Stamp>(env, "stamp"));
  // The CLOCK_MONOTONIC ns that stamp(), StampBinding and nowNs() count from: stamp + origin is
  // the absolute time the driver's and the emulator's diagnostic timelines use.
  exports.Set("monotonicOriginNs", Napi::Number::New(env, static_cast<double>(g_origin_ns)));
  exports.Set("nowNs", Napi::Function::New<NowNs>(env, "nowNs"));
  exports.Set("copyBytes", Napi::Function::New<CopyBytes>(env, "copyBytes"));
  exports.Set("StampBinding", StampBinding::Define(env));
  exports.Set("SimModel", SimModel::Define(env));
  hairtrigger::InitFpgaBinding(env, exports);
  hairtrigger::InitGunzipBinding(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(NODE_GYP_MODULE_NAME, Init)
