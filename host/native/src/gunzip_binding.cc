// gunzipInto(src: Uint8Array, dst: Uint8Array): number — the N-API glue of gunzip.h.
// Synchronous: inflating a 13 KB stamp takes microseconds, less than a thread hop. A failed
// inflate throws an Error whose `code` is GunzipStatusName (the TS wrapper,
// host/src/modalities/alerts/gunzip.ts, turns it into a FitsError naming the stamp).
#include <napi.h>

#include "gunzip.h"
#include "napi_check.h"

namespace hairtrigger {
namespace {

bool IsUint8(const Napi::Value& v) {
  return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array;
}

Napi::Value GunzipIntoJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  HT_CHECK(env, info.Length() == 2 && IsUint8(info[0]) && IsUint8(info[1]), TypeError, "gunzipInto(src, dst): two Uint8Arrays expected");
  Napi::Uint8Array src = info[0].As<Napi::Uint8Array>(), dst = info[1].As<Napi::Uint8Array>();
  const GunzipResult r = GunzipInto(src.Data(), src.ElementLength(), dst.Data(), dst.ElementLength());
  if (r.status != GunzipStatus::kOk) {
    Napi::Error e = Napi::Error::New(env, std::string("gunzipInto: ") + GunzipStatusName(r.status));
    e.Set("code", Napi::String::New(env, GunzipStatusName(r.status)));
    e.ThrowAsJavaScriptException();
    return Napi::Value();
  }
  return Napi::Number::New(env, static_cast<double>(r.written));
}

}  // namespace

void InitGunzipBinding(Napi::Env env, Napi::Object exports) {
  exports.Set("gunzipInto", Napi::Function::New(env, GunzipIntoJs, "gunzipInto"));
}

}  // namespace hairtrigger
