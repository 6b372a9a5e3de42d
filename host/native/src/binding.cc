// Thin N-API glue over the C++ core. Every argument is checked with a one-line macro and a
// failed check becomes a JS TypeError with a clear message.
//
// Why a native clock: on Node 20, performance.now() returns a heap-allocated double (16
// bytes a call); the hot path reads the clock six times a frame. `stamp(array, index)`
// writes the time straight into a Float64Array and returns nothing, so it allocates nothing.
#include <node_api.h>

#include "clock.h"

namespace {

int64_t g_origin_ns = hairtrigger::monotonic_ns_now();

#define CHECK_NAPI(env, call, msg)                  \
  do {                                              \
    if ((call) != napi_ok) {                        \
      napi_throw_type_error((env), nullptr, (msg)); \
      return nullptr;                               \
    }                                               \
  } while (0)

#define CHECK_ARG(env, cond, msg)                   \
  do {                                              \
    if (!(cond)) {                                  \
      napi_throw_type_error((env), nullptr, (msg)); \
      return nullptr;                               \
    }                                               \
  } while (0)

// stamp(array: Float64Array, index: number): void
napi_value Stamp(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr), "stamp: cannot read arguments");
  CHECK_ARG(env, argc == 2, "stamp(array, index): two arguments expected");
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  CHECK_NAPI(env, napi_get_typedarray_info(env, argv[0], &type, &length, &data, nullptr, nullptr), "stamp: array must be a Float64Array");
  CHECK_ARG(env, type == napi_float64_array, "stamp: array must be a Float64Array");
  int32_t index = -1;
  CHECK_NAPI(env, napi_get_value_int32(env, argv[1], &index), "stamp: index must be an integer");
  CHECK_ARG(env, index >= 0 && static_cast<size_t>(index) < length, "stamp: index out of range");
  static_cast<double*>(data)[index] = hairtrigger::monotonic_ns_since(g_origin_ns);
  return nullptr;
}

// nowNs(): number — allocates its result; for code off the hot path.
napi_value NowNs(napi_env env, napi_callback_info) {
  napi_value out;
  CHECK_NAPI(env, napi_create_double(env, hairtrigger::monotonic_ns_since(g_origin_ns), &out), "nowNs: cannot create number");
  return out;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"stamp", nullptr, Stamp, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"nowNs", nullptr, NowNs, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  if (napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) != napi_ok) return nullptr;
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
