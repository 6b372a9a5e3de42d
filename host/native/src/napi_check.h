// napi_check.h: the one-line argument checks of the N-API glue (binding.cc,
// fpga_binding.cc, emulator_binding.cc). A failed check throws a JS error of `Kind`
// (TypeError, RangeError or Error) with `msg` and returns `ret` (HT_CHECK: an empty value).
#ifndef HAIRTRIGGER_NAPI_CHECK_H
#define HAIRTRIGGER_NAPI_CHECK_H

#include <napi.h>

#include <cstdint>
#include <string>

#include "regmap.h"

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

// Reads the values every regmap.json has (RegmapValues) from its JS object.
inline bool ReadRegmap(Napi::Env env, const Napi::Object& o, const char* who, RegmapValues* m) {
  if (!ReadU32(env, o, "layout", who, &m->layout) || !ReadU32(env, o, "magic", who, &m->magic) ||
      !ReadU32(env, o, "nIn", who, &m->n_in) || !ReadU32(env, o, "nOut", who, &m->n_out) ||
      !ReadU32(env, o, "inType", who, &m->in_type) || !ReadU32(env, o, "outType", who, &m->out_type) ||
      !ReadU32(env, o, "fifoCapacity", who, &m->fifo_capacity) || !ReadU32(env, o, "inOffset", who, &m->in_offset) ||
      !ReadU32(env, o, "outOffset", who, &m->out_offset) || !ReadU32(env, o, "threshOffset", who, &m->thresh_offset) ||
      !ReadU32(env, o, "fifoOffset", who, &m->fifo_offset) || !ReadU32(env, o, "regionBytes", who, &m->region_bytes)) {
    return false;
  }
  // inKind: absent or 'values' (every map before pixel devices), or 'pixels'.
  Napi::Value kind = o.Get("inKind");
  const std::string k = kind.IsString() ? kind.As<Napi::String>().Utf8Value() : "";
  HT_CHECK_OR(env, kind.IsUndefined() || k == "values" || k == "pixels", TypeError,
              std::string(who) + ": inKind must be 'values' or 'pixels' when present (regmap.json)", false);
  m->in_kind = k == "pixels" ? kInKindPixelsV : kInKindValuesV;
  Napi::Value h = o.Get("modelHashWords");
  HT_CHECK_OR(env, h.IsArray() && h.As<Napi::Array>().Length() == 8, TypeError,
              std::string(who) + ": modelHashWords must be an array of 8 numbers (regmap.json)", false);
  Napi::Object words = h.As<Napi::Object>();
  for (uint32_t k = 0; k < 8; k++) {
    if (!ReadU32(env, words, std::to_string(k).c_str(), who, &m->model_hash[k])) return false;
  }
  return true;
}

}  // namespace hairtrigger

#endif  // HAIRTRIGGER_NAPI_CHECK_H
