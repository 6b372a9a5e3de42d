// N-API glue of the FPGA driver (fpga_driver.h): the `FpgaDevice` class. Arguments are
// checked with one-line CHECKs (TypeError / RangeError); driver failures become an Error
// whose `code` property is the DeviceError code (open, size, mmap, magic, layout, mismatch,
// map, types; timeout, reset, corrupt on jobs).
//
// Opening is synchronous although it is a system call: mapping a file or a BAR takes
// microseconds, and the daemon opens its device once at start-up.
//
// Why `bind` + `run(seq)`: as SimModel's, the hot path hands its buffers over once; run()
// then unwraps one number, not two typed arrays.

#include <napi.h>

#include "napi_check.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "fpga_driver.h"
#include "hot_method.h"
#include "regmap_layout.h"

namespace {

using hairtrigger::DeviceError;
using hairtrigger::DeviceOptions;
using hairtrigger::EventRecord;
using hairtrigger::ExpectedMap;
using hairtrigger::FpgaDevice;


// Fields per drained record in drainEvents' Float64Array: seq, class, scoreRaw, score,
// startCycle, doneCycle (cycles and seq are exact below 2^53).
constexpr size_t kEventFields = 6;

bool IsTypedOf(const Napi::Value& v, napi_typedarray_type type) {
  return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == type;
}

void ThrowDevice(Napi::Env env, const DeviceError& e) {
  Napi::Error err = Napi::Error::New(env, e.message);
  err.Set("code", Napi::String::New(env, e.code));
  err.ThrowAsJavaScriptException();
}

// regmap.json's values; false (with a TypeError thrown) when a field is absent or not a uint32.
bool ReadMap(Napi::Env env, const Napi::Object& o, ExpectedMap* m) { return hairtrigger::ReadRegmap(env, o, "FpgaDevice map", m); }

// new FpgaDevice(path, map, options?): one opened device.
class FpgaDeviceWrap : public Napi::ObjectWrap<FpgaDeviceWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "FpgaDevice",
                       {InstanceMethod<&FpgaDeviceWrap::Info>("info"), InstanceMethod<&FpgaDeviceWrap::Bind>("bind"),
                        InstanceMethod<&FpgaDeviceWrap::PredictRaw>("predictRaw"),
                        InstanceMethod<&FpgaDeviceWrap::SetMode>("setMode"),
                        InstanceMethod<&FpgaDeviceWrap::SetThreshold>("setThreshold"),
                        InstanceMethod<&FpgaDeviceWrap::DrainEvents>("drainEvents"), InstanceMethod<&FpgaDeviceWrap::Probe>("probe"),
                        InstanceMethod<&FpgaDeviceWrap::BindPixels>("bindPixels"),
                        InstanceMethod<&FpgaDeviceWrap::BindTimeline>("bindTimeline"),
                        InstanceMethod<&FpgaDeviceWrap::Stats>("stats"), InstanceMethod<&FpgaDeviceWrap::Close>("close")});
  }

  ~FpgaDeviceWrap() { hot_->self = nullptr; }

  explicit FpgaDeviceWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FpgaDeviceWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || info.Length() > 3 || !info[0].IsString() || !info[1].IsObject() || (info.Length() == 3 && !info[2].IsObject())) {
      Napi::TypeError::New(env, "new FpgaDevice(path, map, options?): a path string and a register map object expected").ThrowAsJavaScriptException();
      return;
    }
    // run(seq) and runPixels(offset, seq): own properties, plain N-API functions (hot_method.h).
    hot_->self = this;
    if (!hairtrigger::InstallHot<FpgaDeviceWrap, 1, &FpgaDeviceWrap::Run>(env, info.This().As<Napi::Object>(), "run", hot_) ||
        !hairtrigger::InstallHot<FpgaDeviceWrap, 2, &FpgaDeviceWrap::RunPixels>(env, info.This().As<Napi::Object>(), "runPixels", hot_))
      return;
    ExpectedMap map;
    if (!ReadMap(env, info[1].As<Napi::Object>(), &map)) return;
    DeviceOptions options;
    if (info.Length() == 3) {
      Napi::Value s = info[2].As<Napi::Object>().Get("spinsMax");
      if (!s.IsUndefined()) {
        const double d = s.IsNumber() ? s.As<Napi::Number>().DoubleValue() : -1;
        if (!(d >= 1 && d <= 9007199254740991.0)) {
          Napi::RangeError::New(env, "FpgaDevice options: spinsMax must be a positive integer").ThrowAsJavaScriptException();
          return;
        }
        options.spins_max = static_cast<uint64_t>(d);
      }
      Napi::Value mode = info[2].As<Napi::Object>().Get("mode");
      if (!mode.IsUndefined()) {
        const double m = mode.IsNumber() ? mode.As<Napi::Number>().DoubleValue() : -1;
        if (m != 0 && m != 1) {
          Napi::RangeError::New(env, "FpgaDevice options: mode must be 0 (host in the loop) or 1 (autonomous), or absent to leave MODE as it is").ThrowAsJavaScriptException();
          return;
        }
        options.mode = static_cast<int32_t>(m);
      }
      Napi::Value off = info[2].As<Napi::Object>().Get("offsetBytes");
      if (!off.IsUndefined()) {
        const double o = off.IsNumber() ? off.As<Napi::Number>().DoubleValue() : -1;
        if (!(o >= 0 && o <= 9007199254740991.0 && o == static_cast<double>(static_cast<uint64_t>(o)))) {
          Napi::RangeError::New(env, "FpgaDevice options: offsetBytes must be a non-negative integer").ThrowAsJavaScriptException();
          return;
        }
        options.offset_bytes = static_cast<uint64_t>(o);
      }
    }
    DeviceError error;
    dev_ = FpgaDevice::Open(info[0].As<Napi::String>().Utf8Value(), map, options, &error);
    if (!dev_) ThrowDevice(env, error);
  }

 private:
  bool Opened(Napi::Env env) {
    if (dev_) return true;
    Napi::Error::New(env, "FpgaDevice: used after close()").ThrowAsJavaScriptException();
    return false;
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Opened(env)) return Napi::Value();
    const ExpectedMap& m = dev_->map();
    Napi::Object o = Napi::Object::New(env);
    o.Set("path", dev_->path());
    o.Set("nIn", m.n_in);
    o.Set("nOut", m.n_out);
    o.Set("inKind", dev_->takes_pixels() ? "pixels" : "values");
    o.Set("inWidth", dev_->in_type().width);
    o.Set("inFrac", dev_->in_type().frac());
    o.Set("outWidth", dev_->out_type().width);
    o.Set("outFrac", dev_->out_type().frac());
    o.Set("clockKhz", dev_->Register(hairtrigger::regs::kClockKhz));
    o.Set("latencyCycles", dev_->Register(hairtrigger::regs::kLatencyCycles));
    o.Set("ii", dev_->Register(hairtrigger::regs::kIi));
    o.Set("fifoCapacity", m.fifo_capacity);
    o.Set("resetCount", dev_->Register(hairtrigger::regs::kResetCount));
    return o;
  }

  // bind(x: Float32Array[nIn], y: Float32Array[nOut]): held until the next bind or close.
  Napi::Value Bind(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Opened(env)) return Napi::Value();
    HT_CHECK(env, info.Length() == 2 && IsTypedOf(info[0], napi_float32_array) && IsTypedOf(info[1], napi_float32_array), TypeError, "bind(x, y): two Float32Arrays expected");
    Napi::Float32Array x = info[0].As<Napi::Float32Array>(), y = info[1].As<Napi::Float32Array>();
    HT_CHECK(env, x.ElementLength() == dev_->map().n_in, RangeError, "bind: x length " + std::to_string(x.ElementLength()) + ", the device takes " + std::to_string(dev_->map().n_in));
    HT_CHECK(env, y.ElementLength() == dev_->map().n_out, RangeError, "bind: y length " + std::to_string(y.ElementLength()) + ", the device writes " + std::to_string(dev_->map().n_out));
    bound_x_ref_ = Napi::Persistent(x);
    bound_y_ref_ = Napi::Persistent(y);
    bound_x_ = x.Data();  // externalised while referenced, as in SimModel::Bind
    bound_y_ = y.Data();
    return Napi::Value();
  }

  // run(seq: number): one job from the bound x into the bound y.
  napi_value Run(napi_env napi, size_t argc, napi_value* argv) {
    Napi::Env env(napi);
    if (bound_x_ == nullptr) {
      Napi::Error::New(env, dev_ ? "run(seq): no buffers bound (call bind(x, y) first)" : "FpgaDevice: used after close()").ThrowAsJavaScriptException();
      return nullptr;
    }
    double seq = 0;
    HT_CHECK(env, argc == 1 && napi_get_value_double(napi, argv[0], &seq) == napi_ok && seq >= 0, TypeError, "run(seq): one non-negative number expected");
    DeviceError error;
    if (!dev_->RunF32(bound_x_, bound_y_, static_cast<uint64_t>(seq), &error)) {
      ThrowDevice(env, error);
      return nullptr;
    }
    // The job's device wait, for the host's per-frame `device` latency (a small integer: no heap number).
    return WaitNs(napi);
  }

  napi_value WaitNs(napi_env napi) const {
    napi_value v = nullptr;
    napi_create_double(napi, static_cast<double>(dev_->stats().wait_ns_last), &v);
    return v;
  }

  // bindPixels(px: Uint8Array, nPx: number, y: Float32Array[nOut]): the buffer camera frames
  // lie in (any length), the frame size, and y; held until the next bindPixels or close.
  // runPixels(offset, seq) then runs one job on px[offset, offset + nPx), packed four bytes a
  // word into the input window of a pixel device (IN_KIND 1, nPx == N_IN).
  Napi::Value BindPixels(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Opened(env)) return Napi::Value();
    HT_CHECK(env, info.Length() == 3 && IsTypedOf(info[0], napi_uint8_array) && info[1].IsNumber() && IsTypedOf(info[2], napi_float32_array), TypeError, "bindPixels(px, nPx, y): a Uint8Array, a number and a Float32Array expected");
    const int64_t n_px = info[1].As<Napi::Number>().Int64Value();
    // A pixel device takes frames of exactly N_IN bytes; on a device that takes input_t values
    // runPixels fails with the driver's `values` error (nothing is written to it).
    HT_CHECK(env, n_px >= 1 && n_px <= hairtrigger::DeviceLimits::kWindowValuesMax && (!dev_->takes_pixels() || n_px == dev_->map().n_in), RangeError,
             "bindPixels: frames of " + std::to_string(n_px) + " bytes; the device takes " + std::to_string(dev_->map().n_in) + " (regmap.json nIn)");
    Napi::Uint8Array px = info[0].As<Napi::Uint8Array>();
    Napi::Float32Array y = info[2].As<Napi::Float32Array>();
    HT_CHECK(env, y.ElementLength() == dev_->map().n_out, RangeError, "bindPixels: y length " + std::to_string(y.ElementLength()) + ", the device writes " + std::to_string(dev_->map().n_out));
    bound_px_ref_ = Napi::Persistent(px);
    bound_py_ref_ = Napi::Persistent(y);
    bound_px_ = px.Data();
    bound_px_length_ = px.ElementLength();
    bound_n_px_ = static_cast<uint32_t>(n_px);
    bound_py_ = y.Data();
    return Napi::Value();
  }

  // runPixels(offset: number, seq: number): one job; returns its device wait, ns (as run).
  napi_value RunPixels(napi_env napi, size_t argc, napi_value* argv) {
    Napi::Env env(napi);
    if (bound_px_ == nullptr) {
      Napi::Error::New(env, dev_ ? "runPixels(offset, seq): no buffers bound (call bindPixels first)" : "FpgaDevice: used after close()").ThrowAsJavaScriptException();
      return nullptr;
    }
    double offset = -1, seq = -1;
    HT_CHECK(env, argc == 2 && napi_get_value_double(napi, argv[0], &offset) == napi_ok && napi_get_value_double(napi, argv[1], &seq) == napi_ok && offset >= 0 && seq >= 0,
             TypeError, "runPixels(offset, seq): two non-negative numbers expected");
    HT_CHECK(env, offset + bound_n_px_ <= static_cast<double>(bound_px_length_), RangeError, "runPixels: frame at " + std::to_string(static_cast<uint64_t>(offset)) + " leaves the bound buffer of " + std::to_string(bound_px_length_) + " bytes");
    DeviceError error;
    if (!dev_->RunU8(bound_px_ + static_cast<size_t>(offset), bound_n_px_, bound_py_, static_cast<uint64_t>(seq), &error)) {
      ThrowDevice(env, error);
      return nullptr;
    }
    return WaitNs(napi);
  }

  // predictRaw(x: Int32Array[nIn], y: Int32Array[nOut], seq: number): raw values, sign-extended.
  Napi::Value PredictRaw(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Opened(env)) return Napi::Value();
    HT_CHECK(env, info.Length() == 3 && IsTypedOf(info[0], napi_int32_array) && IsTypedOf(info[1], napi_int32_array) && info[2].IsNumber(), TypeError, "predictRaw(x, y, seq): two Int32Arrays and a number expected");
    Napi::Int32Array x = info[0].As<Napi::Int32Array>(), y = info[1].As<Napi::Int32Array>();
    HT_CHECK(env, x.ElementLength() == dev_->map().n_in, RangeError, "predictRaw: x length " + std::to_string(x.ElementLength()) + ", the device takes " + std::to_string(dev_->map().n_in));
    HT_CHECK(env, y.ElementLength() == dev_->map().n_out, RangeError, "predictRaw: y length " + std::to_string(y.ElementLength()) + ", the device writes " + std::to_string(dev_->map().n_out));
    const double seq = info[2].As<Napi::Number>().DoubleValue();
    HT_CHECK(env, seq >= 0, RangeError, "predictRaw: seq must be non-negative");
    DeviceError error;
    if (!dev_->RunRaw(x.Data(), y.Data(), static_cast<uint64_t>(seq), &error)) ThrowDevice(env, error);
    return Napi::Value();
  }

  // setMode(mode: 0 | 1): host in the loop or autonomous.
  Napi::Value SetMode(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Opened(env)) return Napi::Value();
    HT_CHECK(env, info.Length() == 1 && info[0].IsNumber(), TypeError, "setMode(mode): one number expected");
    const int64_t mode = info[0].As<Napi::Number>().Int64Value();
    HT_CHECK(env, mode == 0 || mode == 1, RangeError, "setMode: mode must be 0 (host in the loop) or 1 (autonomous)");
    dev_->SetMode(static_cast<uint32_t>(mode));
    return Napi::Value();
  }

  // setThreshold(k: number, raw: number): THRESH[k] = raw result_t bits.
  Napi::Value SetThreshold(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Opened(env)) return Napi::Value();
    HT_CHECK(env, info.Length() == 2 && info[0].IsNumber() && info[1].IsNumber(), TypeError, "setThreshold(k, raw): two numbers expected");
    const int64_t k = info[0].As<Napi::Number>().Int64Value();
    const int64_t raw = info[1].As<Napi::Number>().Int64Value();
    HT_CHECK(env, k >= 0 && k < dev_->map().n_out, RangeError, "setThreshold: class " + std::to_string(k) + " out of range [0, " + std::to_string(dev_->map().n_out) + ")");
    const int w = dev_->out_type().width;
    HT_CHECK(env, raw >= -(int64_t{1} << (w - 1)) && raw < (int64_t{1} << (w - 1)), RangeError, "setThreshold: raw " + std::to_string(raw) + " is not a " + std::to_string(w) + "-bit signed value");
    dev_->SetThreshold(static_cast<uint32_t>(k), static_cast<int32_t>(raw));
    return Napi::Value();
  }

  // drainEvents(out: Float64Array): number of records copied (at most out.length / 6), each as
  // seq, class, scoreRaw, score, startCycle, doneCycle; they are released to the device.
  Napi::Value DrainEvents(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Opened(env)) return Napi::Value();
    HT_CHECK(env, info.Length() == 1 && IsTypedOf(info[0], napi_float64_array), TypeError, "drainEvents(out): one Float64Array expected");
    Napi::Float64Array out = info[0].As<Napi::Float64Array>();
    const size_t cap = dev_->map().fifo_capacity;
    const uint32_t max = static_cast<uint32_t>(std::min(out.ElementLength() / kEventFields, cap));
    if (records_.size() < cap) records_.resize(cap);
    DeviceError error;
    const int64_t n = dev_->DrainEvents(records_.data(), max, &error);
    if (n < 0) {
      ThrowDevice(env, error);
      return Napi::Value();
    }
    const double scale = std::ldexp(1.0, -dev_->out_type().frac());
    double* o = out.Data();
    for (int64_t i = 0; i < n; i++) {
      const EventRecord& r = records_[i];
      double* f = o + i * kEventFields;
      f[0] = static_cast<double>(r.seq);
      f[1] = r.cls;
      f[2] = r.score_raw;
      f[3] = r.score_raw * scale;
      f[4] = static_cast<double>(r.start_cycle);
      f[5] = static_cast<double>(r.done_cycle);
    }
    return Napi::Number::New(env, static_cast<double>(n));
  }

  // probe(): off the hot path, on a faulted device: true when it answers again (fault cleared)
  // or was not faulted; false while it does not (why, e.g. a replaced device whose
  // identification does not match, is in the next `faulted` job errors' messages).
  Napi::Value Probe(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Opened(env)) return Napi::Value();
    DeviceError error;
    return Napi::Boolean::New(env, dev_->Probe(&error));
  }

  // bindTimeline(ring: Float64Array | null): diagnostic (bench). While bound, each completed job
  // writes seq, doorbell ns and done-seen ns (CLOCK_MONOTONIC, absolute) to
  // ring[3 * (jobs % (ring.length / 3))]; null unbinds. Held until the next bindTimeline or close.
  Napi::Value BindTimeline(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Opened(env)) return Napi::Value();
    HT_CHECK(env, info.Length() == 1 && (info[0].IsNull() || IsTypedOf(info[0], napi_float64_array)), TypeError, "bindTimeline(ring): one Float64Array or null expected");
    if (info[0].IsNull()) {
      dev_->BindTimeline(nullptr, 0);
      timeline_ref_.Reset();
      return Napi::Value();
    }
    Napi::Float64Array ring = info[0].As<Napi::Float64Array>();
    const size_t jobs = ring.ElementLength() / FpgaDevice::kTimelineFields;
    HT_CHECK(env, jobs >= 1 && jobs <= 0xffffffffu, RangeError, "bindTimeline: the ring holds " + std::to_string(ring.ElementLength()) + " numbers, at least 3 (one job) expected");
    timeline_ref_ = Napi::Persistent(ring);
    dev_->BindTimeline(ring.Data(), static_cast<uint32_t>(jobs));
    return Napi::Value();
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Opened(env)) return Napi::Value();
    const hairtrigger::DeviceStats& s = dev_->stats();
    Napi::Object o = Napi::Object::New(env);
    o.Set("jobs", static_cast<double>(s.jobs));
    o.Set("timeouts", static_cast<double>(s.timeouts));
    o.Set("resets", static_cast<double>(s.resets));
    o.Set("corrupt", static_cast<double>(s.corrupt));
    o.Set("faulted", dev_->faulted());
    o.Set("faultedFast", static_cast<double>(s.faulted_fast));
    o.Set("reprobes", static_cast<double>(s.reprobes));
    o.Set("recoveries", static_cast<double>(s.recoveries));
    o.Set("waitNsLast", static_cast<double>(s.wait_ns_last));
    o.Set("waitNsMean", s.jobs ? static_cast<double>(s.wait_ns_total) / static_cast<double>(s.jobs) : 0.0);
    o.Set("waitNsMin", static_cast<double>(s.wait_ns_min));
    o.Set("waitNsMax", static_cast<double>(s.wait_ns_max));
    o.Set("fifoOverflows", dev_->Overflows());
    o.Set("fifoPending", dev_->Pending());
    return o;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    bound_x_ = nullptr;
    bound_y_ = nullptr;
    bound_x_ref_.Reset();
    bound_y_ref_.Reset();
    bound_px_ = nullptr;
    bound_py_ = nullptr;
    bound_px_ref_.Reset();
    bound_py_ref_.Reset();
    dev_.reset();
    timeline_ref_.Reset();
    return info.Env().Undefined();
  }

  std::unique_ptr<FpgaDevice> dev_;
  std::shared_ptr<hairtrigger::HotSelf<FpgaDeviceWrap>> hot_ = std::make_shared<hairtrigger::HotSelf<FpgaDeviceWrap>>();
  Napi::Reference<Napi::Float32Array> bound_x_ref_, bound_y_ref_;
  float* bound_x_ = nullptr;
  float* bound_y_ = nullptr;
  Napi::Reference<Napi::Uint8Array> bound_px_ref_;
  Napi::Reference<Napi::Float32Array> bound_py_ref_;
  const uint8_t* bound_px_ = nullptr;
  size_t bound_px_length_ = 0;
  uint32_t bound_n_px_ = 0;
  float* bound_py_ = nullptr;
  std::vector<EventRecord> records_;
  Napi::Reference<Napi::Float64Array> timeline_ref_;
};

}  // namespace

namespace hairtrigger {

// Called from binding.cc's Init.
void InitFpgaBinding(Napi::Env env, Napi::Object exports) { exports.Set("FpgaDevice", FpgaDeviceWrap::Define(env)); }

}  // namespace hairtrigger
