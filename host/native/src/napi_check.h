// napi_check.h: the one-line argument checks of the N-API glue (binding.cc,
// fpga_binding.cc, emulator_binding.cc). A failed check throws a JS error of `Kind`
// (TypeError, RangeError or Error) with `msg` and returns `ret` (HT_CHECK: an empty value).
#ifndef HAIRTRIGGER_NAPI_CHECK_H
#define HAIRTRIGGER_NAPI_CHECK_H

#include <napi.h>

#include <cstdint>
#include <string>

#define HT_CHECK_OR(env, cond, Kind, msg, ret)                    \
  do {                                                            \
    if (!(cond)) {                                                \
      Napi::Kind::New((env), (msg)).ThrowAsJavaScriptException(); \
      return ret;                                                 \
    }                                                             \
  } while (0)

#define HT_CHECK(env, cond, Kind, msg) HT_CHECK_OR(env, cond, Kind, msg, Napi::Value())

namespace hairtrigger {

// Reads o[key] as an unsigned 32-bit integer (register map fields). Anything else throws a
// TypeError naming `who` and the key, and returns false.
inline bool ReadU32(Napi::Env env, const Napi::Object& o, const char* key, const char* who, uint32_t* out) {
  Napi::Value v = o.Get(key);
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  HT_CHECK_OR(env, v.IsNumber() && d >= 0 && d <= 4294967295.0 && d == static_cast<double>(static_cast<uint64_t>(d)), TypeError,
              std::string(who) + ": " + key + " must be an integer in [0, 2^32) (regmap.json)", false);
  *out = static_cast<uint32_t>(d);
  return true;
}

}  // namespace hairtrigger

#endif  // HAIRTRIGGER_NAPI_CHECK_H
