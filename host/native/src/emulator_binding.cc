// The emulator's own addon (hairtrigger_emulator.node, binding.gyp's second target), so the
// daemon's addon holds no emulator code. Thin N-API glue over sim/emulator/emulator.h: `new Emulator(options)`, `start()`, `stop()`,
// `stats()`. Every argument is checked with a one-line CHECK; a failed check is a TypeError
// or RangeError, a failed create an Error whose `code` is the emulator's (open, map, load,
// mismatch, argument). The constructor opens a file and dlopens a small library (a few ms):
// synchronous, as this is a tool and test fixture, not the daemon's hot path.

#include <napi.h>
#include <sched.h>

#include "napi_check.h"

#include <memory>
#include <string>
#include <vector>

#include "emulator.h"

namespace hairtrigger {

namespace {


// A non-negative integer field that fits uint32 (or the given maximum).
bool U32(Napi::Env env, const Napi::Object& o, const char* key, uint32_t* out) { return ReadU32(env, o, key, "Emulator regmap", out); }

bool ParseMap(Napi::Env env, const Napi::Object& o, EmulatorRegmap* m) {
  if (!ReadRegmap(env, o, "Emulator regmap", m) || !U32(env, o, "clockKhz", &m->clock_khz) ||
      !U32(env, o, "latencyCycles", &m->latency_cycles) || !U32(env, o, "ii", &m->ii)) {
    return false;
  }
  Napi::Value sha = o.Get("modelSha256");
  HT_CHECK_OR(env, sha.IsString(), TypeError, "Emulator: regmap.modelSha256 must be a string", false);
  m->model_sha256 = sha.As<Napi::String>().Utf8Value();
  return true;
}

bool ParseSource(Napi::Env env, const Napi::Object& o, uint32_t n_in, FrameSource* s) {
  Napi::Value raw = o.Get("raw"), seq = o.Get("seq"), rate = o.Get("rateHz"), loop = o.Get("loop");
  HT_CHECK_OR(env, raw.IsTypedArray() && raw.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array, TypeError, "Emulator: source.raw must be an Int32Array", false);
  Napi::Int32Array r = raw.As<Napi::Int32Array>();
  HT_CHECK_OR(env, n_in > 0 && r.ElementLength() % n_in == 0, RangeError, "Emulator: source.raw length " + std::to_string(r.ElementLength()) + " is not a multiple of nIn " + std::to_string(n_in), false);
  s->n_frames = r.ElementLength() / n_in;
  s->raw.assign(r.Data(), r.Data() + r.ElementLength());
  if (!seq.IsUndefined()) {
    HT_CHECK_OR(env, seq.IsTypedArray() && seq.As<Napi::TypedArray>().TypedArrayType() == napi_float64_array, TypeError, "Emulator: source.seq must be a Float64Array", false);
    Napi::Float64Array q = seq.As<Napi::Float64Array>();
    HT_CHECK_OR(env, q.ElementLength() == s->n_frames, RangeError, "Emulator: source.seq needs one number per frame", false);
    s->seq.resize(s->n_frames);
    for (size_t i = 0; i < s->n_frames; i++) s->seq[i] = static_cast<uint64_t>(q[i]);
  }
  if (!rate.IsUndefined()) {
    HT_CHECK_OR(env, rate.IsNumber() && rate.As<Napi::Number>().DoubleValue() >= 0, TypeError, "Emulator: source.rateHz must be a number >= 0 (0: as fast as possible)", false);
    s->rate_hz = rate.As<Napi::Number>().DoubleValue();
  }
  s->loop = loop.IsBoolean() && loop.As<Napi::Boolean>().Value();
  return true;
}

bool ParseFault(Napi::Env env, const Napi::Object& o, FaultOptions* f) {
  Napi::Value kind = o.Get("kind"), value = o.Get("value"), at = o.Get("at");
  HT_CHECK_OR(env, kind.IsString(), TypeError, "Emulator: fault.kind must be a string", false);
  const std::string k = kind.As<Napi::String>().Utf8Value();
  if (k == "none") f->kind = FaultKind::kNone;
  else if (k == "never-done") f->kind = FaultKind::kNeverDone;
  else if (k == "done-late") f->kind = FaultKind::kDoneLate;
  else if (k == "corrupt-output") f->kind = FaultKind::kCorruptOutput;
  else if (k == "reset-after") f->kind = FaultKind::kResetAfter;
  else if (k == "wrong-magic") f->kind = FaultKind::kWrongMagic;
  else if (k == "wrong-hash") f->kind = FaultKind::kWrongHash;
  else if (k == "fifo-overflow") f->kind = FaultKind::kFifoOverflow;
  else if (k == "late-once") f->kind = FaultKind::kLateOnce;
  else HT_CHECK_OR(env, false, RangeError, "Emulator: fault.kind '" + k + "'; allowed: none, never-done, done-late, corrupt-output, reset-after, wrong-magic, wrong-hash, fifo-overflow, late-once", false);
  if (!value.IsUndefined()) {
    HT_CHECK_OR(env, value.IsNumber() && value.As<Napi::Number>().DoubleValue() >= 0, TypeError, "Emulator: fault.value must be a number >= 0", false);
    f->value = static_cast<uint64_t>(value.As<Napi::Number>().DoubleValue());
  }
  if (!at.IsUndefined()) {
    HT_CHECK_OR(env, at.IsNumber() && at.As<Napi::Number>().DoubleValue() >= 1, TypeError, "Emulator: fault.at must be a job number >= 1", false);
    f->at = static_cast<uint64_t>(at.As<Napi::Number>().DoubleValue());
  }
  return true;
}

class EmulatorWrap : public Napi::ObjectWrap<EmulatorWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Emulator",
                       {InstanceMethod<&EmulatorWrap::Start>("start"), InstanceMethod<&EmulatorWrap::Stop>("stop"),
                        InstanceMethod<&EmulatorWrap::Stats>("stats"), InstanceMethod<&EmulatorWrap::Timeline>("timeline")});
  }

  explicit EmulatorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EmulatorWrap>(info) {
    Napi::Env env = info.Env();
    HT_CHECK_OR(env, info.Length() == 1 && info[0].IsObject(), TypeError, "new Emulator(options): one options object expected", );
    Napi::Object o = info[0].As<Napi::Object>();
    EmulatorOptions opt;
    Napi::Value device = o.Get("devicePath"), lib = o.Get("libraryPath"), map = o.Get("regmap");
    HT_CHECK_OR(env, device.IsString() && lib.IsString(), TypeError, "Emulator: devicePath and libraryPath must be strings", );
    HT_CHECK_OR(env, map.IsObject(), TypeError, "Emulator: regmap must be the object of regmap.json", );
    opt.device_path = device.As<Napi::String>().Utf8Value();
    opt.library_path = lib.As<Napi::String>().Utf8Value();
    if (!ParseMap(env, map.As<Napi::Object>(), &opt.map)) return;
    Napi::Value clock = o.Get("clockMhz"), autonomous = o.Get("autonomous"), source = o.Get("source"), fault = o.Get("fault"), unlink = o.Get("unlinkOnStop");
    if (!clock.IsUndefined()) {
      HT_CHECK_OR(env, clock.IsNumber() && clock.As<Napi::Number>().DoubleValue() > 0, TypeError, "Emulator: clockMhz must be a number > 0", );
      opt.clock_mhz = clock.As<Napi::Number>().DoubleValue();
    }
    opt.autonomous = autonomous.IsBoolean() && autonomous.As<Napi::Boolean>().Value();
    opt.unlink_on_stop = !unlink.IsBoolean() || unlink.As<Napi::Boolean>().Value();
    Napi::Value offset = o.Get("regionOffsetBytes");
    if (!offset.IsUndefined()) {
      const double d = offset.IsNumber() ? offset.As<Napi::Number>().DoubleValue() : -1;
      HT_CHECK_OR(env, d >= 0 && d <= 281474976710656.0 && d == static_cast<double>(static_cast<uint64_t>(d)) && static_cast<uint64_t>(d) % 4096 == 0, RangeError, "Emulator: regionOffsetBytes must be a multiple of 4096, at most 2^48", );
      opt.region_offset_bytes = static_cast<uint64_t>(d);
    }
    Napi::Value timeline = o.Get("timelineJobs");
    if (!timeline.IsUndefined()) {
      const double d = timeline.IsNumber() ? timeline.As<Napi::Number>().DoubleValue() : -1;
      HT_CHECK_OR(env, d >= 0 && d <= EmulatorLimits::kTimelineJobsMax && d == static_cast<double>(static_cast<uint32_t>(d)), RangeError,
                  "Emulator: timelineJobs must be an integer in [0, " + std::to_string(EmulatorLimits::kTimelineJobsMax) + "]", );
      opt.timeline_jobs = static_cast<uint32_t>(d);
    }
    Napi::Value cpu = o.Get("cpu");
    if (!cpu.IsUndefined()) {
      const double d = cpu.IsNumber() ? cpu.As<Napi::Number>().DoubleValue() : -1;
      HT_CHECK_OR(env, d >= 0 && d < CPU_SETSIZE && d == static_cast<double>(static_cast<int>(d)), RangeError,
                  "Emulator: cpu must be an integer in [0, " + std::to_string(CPU_SETSIZE) + ")", );
      opt.cpu = static_cast<int>(d);
    }
    if (!source.IsUndefined()) {
      HT_CHECK_OR(env, source.IsObject(), TypeError, "Emulator: source must be an object", );
      if (!ParseSource(env, source.As<Napi::Object>(), opt.map.n_in, &opt.source)) return;
    }
    if (!fault.IsUndefined()) {
      HT_CHECK_OR(env, fault.IsObject(), TypeError, "Emulator: fault must be an object { kind, value? }", );
      if (!ParseFault(env, fault.As<Napi::Object>(), &opt.fault)) return;
    }
    std::string error;
    emu_ = Emulator::Create(std::move(opt), &error);
    if (!emu_) {
      const size_t colon = error.find(':');
      Napi::Error e = Napi::Error::New(env, "Emulator: " + error);
      e.Set("code", Napi::String::New(env, colon == std::string::npos ? "error" : error.substr(0, colon)));
      e.ThrowAsJavaScriptException();
    }
  }

 private:
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    HT_CHECK_OR(env, emu_ != nullptr, Error, "Emulator: start() after stop()", Napi::Value());
    std::string error;
    HT_CHECK_OR(env, emu_->Start(&error), Error, "Emulator: " + error, Napi::Value());
    return env.Undefined();
  }

  // Stops the thread, unmaps; stats() keeps answering with the final counts.
  Napi::Value Stop(const Napi::CallbackInfo& info) {
    if (emu_) {
      final_ = emu_->stats();
      emu_->Stop();
      emu_.reset();
    }
    return info.Env().Undefined();
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const EmulatorStats s = emu_ ? emu_->stats() : final_;
    Napi::Object o = Napi::Object::New(env);
    o.Set("jobs", static_cast<double>(s.jobs));
    o.Set("frames", static_cast<double>(s.frames));
    o.Set("events", static_cast<double>(s.events));
    o.Set("overflows", static_cast<double>(s.overflows));
    o.Set("faults", static_cast<double>(s.faults));
    o.Set("resets", static_cast<double>(s.resets));
    o.Set("turns", static_cast<double>(s.turns));
    o.Set("sleeps", static_cast<double>(s.sleeps));
    o.Set("triggers", static_cast<double>(s.triggers));
    o.Set("overruns", static_cast<double>(s.overruns));
    o.Set("overrunNs", static_cast<double>(s.overrun_ns));
    o.Set("running", emu_ != nullptr);
    return o;
  }

  // timeline(out: Float64Array, fromJob: number): the diagnostic timelines of host jobs fromJob,
  // fromJob + 1, ... (as many as fit out, 5 numbers each: job, seqLo, seenNs, ranNs, doneNs,
  // CLOCK_MONOTONIC) while the emulator (option timelineJobs) still holds them; returns the
  // count. After stop(): 0.
  Napi::Value Timeline(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    HT_CHECK_OR(env, info.Length() == 2 && info[0].IsTypedArray() && info[0].As<Napi::TypedArray>().TypedArrayType() == napi_float64_array && info[1].IsNumber(), TypeError,
                "timeline(out, fromJob): a Float64Array and a number expected", Napi::Value());
    const double from = info[1].As<Napi::Number>().DoubleValue();
    HT_CHECK_OR(env, from >= 0 && from <= 9007199254740991.0, RangeError, "timeline: fromJob must be a non-negative integer", Napi::Value());
    if (!emu_) return Napi::Number::New(env, 0);
    Napi::Float64Array out = info[0].As<Napi::Float64Array>();
    const size_t max = out.ElementLength() / 5;
    if (scratch_.size() < max) scratch_.resize(max);
    const size_t n = emu_->Timeline(static_cast<uint64_t>(from), scratch_.data(), max);
    double* o = out.Data();
    for (size_t i = 0; i < n; i++) {
      const JobTimeline& t = scratch_[i];
      double* f = o + 5 * i;
      f[0] = static_cast<double>(t.job);
      f[1] = t.seq_lo;
      f[2] = static_cast<double>(t.seen_ns);
      f[3] = static_cast<double>(t.ran_ns);
      f[4] = static_cast<double>(t.done_ns);
    }
    return Napi::Number::New(env, static_cast<double>(n));
  }

  std::unique_ptr<Emulator> emu_;
  EmulatorStats final_;
  std::vector<JobTimeline> scratch_;
};

}  // namespace

}  // namespace hairtrigger

namespace {

// exports.Emulator = class Emulator (sim/emulator/emulator.h).
Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Emulator", hairtrigger::EmulatorWrap::Define(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(NODE_GYP_MODULE_NAME, Init)
