// napi_check.h: the one-line argument checks of the N-API glue (binding.cc,
// fpga_binding.cc, emulator_binding.cc). A failed check throws a JS error of `Kind`
// (TypeError, RangeError or Error) with `msg` and returns `ret` (HT_CHECK: an empty value).
#ifndef HAIRTRIGGER_NAPI_CHECK_H
#define HAIRTRIGGER_NAPI_CHECK_H

#include <napi.h>

#define HT_CHECK_OR(env, cond, Kind, msg, ret)                    \
  do {                                                            \
    if (!(cond)) {                                                \
      Napi::Kind::New((env), (msg)).ThrowAsJavaScriptException(); \
      return ret;                                                 \
    }                                                             \
  } while (0)

#define HT_CHECK(env, cond, Kind, msg) HT_CHECK_OR(env, cond, Kind, msg, Napi::Value())

#endif  // HAIRTRIGGER_NAPI_CHECK_H
