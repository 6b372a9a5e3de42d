// hot_method.h: a hot-path method of an ObjectWrap class as a plain N-API function, installed
// as an own property of each object (SimModel's and FpgaDevice's run and runPixels). An
// ObjectWrap method's per-call work (the CallbackInfo and the napi_unwrap of `this`, a private
// property lookup) cost about 100 ns of a call that does a few hundred; the plain function
// finds its object through its callback data instead (2026-12-08: a trivial InstanceMethod
// 163 ns, a plain function that reads the clock 64 ns; StampBinding's stamp is built the same
// way).
//
// Lifetime: the function may outlive its object (a caller can keep `obj.run` and drop `obj`).
// Both hold a shared HotSelf; the object's destructor clears `self`, and a call after that
// throws instead of touching freed memory. The function's finalizer drops its share.
#ifndef HAIRTRIGGER_HOT_METHOD_H
#define HAIRTRIGGER_HOT_METHOD_H

#include <napi.h>

#include <memory>
#include <string>

namespace hairtrigger {

template <typename T>
struct HotSelf {
  T* self = nullptr;
};

// The N-API callback of `Method` (napi_value (T::*)(napi_env, size_t argc, napi_value* argv)),
// taking at most `MaxArgs` arguments; the method checks argc itself (its own message).
template <typename T, size_t MaxArgs, napi_value (T::*Method)(napi_env, size_t, napi_value*)>
napi_value HotCall(napi_env env, napi_callback_info info) {
  size_t argc = MaxArgs;
  napi_value argv[MaxArgs > 0 ? MaxArgs : 1];
  void* data = nullptr;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, &data) != napi_ok) {
    napi_throw_error(env, nullptr, "hot method: cannot read its arguments");
    return nullptr;
  }
  T* self = static_cast<std::shared_ptr<HotSelf<T>>*>(data)->get()->self;
  if (self == nullptr) {
    napi_throw_error(env, nullptr, "hot method: called after its object was collected");
    return nullptr;
  }
  return (self->*Method)(env, argc, argv);
}

// Installs `Method` as `object[name]`, sharing `hot` (whose `self` the object's destructor clears).
// False, with a JS error thrown, when N-API refuses.
template <typename T, size_t MaxArgs, napi_value (T::*Method)(napi_env, size_t, napi_value*)>
bool InstallHot(Napi::Env env, Napi::Object object, const char* name, const std::shared_ptr<HotSelf<T>>& hot) {
  auto* share = new std::shared_ptr<HotSelf<T>>(hot);
  napi_value fn;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, HotCall<T, MaxArgs, Method>, share, &fn) != napi_ok ||
      napi_add_finalizer(env, fn, share, [](napi_env, void* d, void*) { delete static_cast<std::shared_ptr<HotSelf<T>>*>(d); }, nullptr, nullptr) != napi_ok) {
    delete share;
    Napi::Error::New(env, std::string("cannot create the hot method ") + name).ThrowAsJavaScriptException();
    return false;
  }
  object.Set(name, Napi::Value(env, fn));
  return true;
}

}  // namespace hairtrigger

#endif  // HAIRTRIGGER_HOT_METHOD_H
