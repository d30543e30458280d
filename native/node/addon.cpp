#include <napi.h>

#include "io/engine.hpp"
#include "node/bridge.hpp"

namespace fl::node {

void callClosure(Napi::Env env, Napi::Function, std::nullptr_t*, Closure* data) {
  if (env != nullptr && data != nullptr) (*data)(env);
  delete data;
}

Addon::Addon(Napi::Env env) {
  tsfn_ = Tsfn::New(env, "fieldlink-engine", 0, 1);
  tsfn_.Unref(env);
  io::Engine::instance().acquire();
}

Addon::~Addon() {
  io::Engine::instance().release();
  tsfn_.Release();
}

void Addon::post(Closure fn) {
  auto* c = new Closure(std::move(fn));
  if (tsfn_.BlockingCall(c) != napi_ok) delete c;  // the environment is shutting down
}

void Addon::hold(Napi::Env env) {
  if (holds_++ == 0) tsfn_.Ref(env);
}

void Addon::unhold(Napi::Env env) {
  if (holds_ > 0 && --holds_ == 0) tsfn_.Unref(env);
}

Napi::Value Addon::makeError(Napi::Env env, const Error& e) {
  if (!errorFactory.IsEmpty()) {
    return errorFactory.Call({Napi::String::New(env, errorKindName(e.kind)), Napi::String::New(env, e.code),
                              Napi::String::New(env, e.message), Napi::Number::New(env, e.detail),
                              Napi::String::New(env, e.rawHex)});
  }
  Napi::Error err = Napi::Error::New(env, e.message);
  err.Set("code", Napi::String::New(env, e.code));
  err.Set("kind", Napi::String::New(env, errorKindName(e.kind)));
  return err.Value();
}

Addon& addonOf(Napi::Env env) { return *env.GetInstanceData<Addon>(); }

double numberOption(Napi::Object o, const char* key, double def) {
  if (!o.Has(key)) return def;
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return def;
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

std::string stringOption(Napi::Object o, const char* key, const std::string& def) {
  if (!o.Has(key)) return def;
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return def;
  if (!v.IsString()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

namespace {
Napi::Value setErrorFactory(const Napi::CallbackInfo& info) {
  if (!info[0].IsFunction()) throw Napi::TypeError::New(info.Env(), "setErrorFactory expects a function");
  addonOf(info.Env()).errorFactory = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

// engineOptions({ spinMicros }) sets what is given; returns the engine's counters either way.
Napi::Value engineOptions(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() > 0 && info[0].IsObject()) {
    Napi::Object o = info[0].As<Napi::Object>();
    if (o.Has("spinMicros")) {
      double us = numberOption(o, "spinMicros", -1);  // lib/engine.js validated it; checked again here
      if (!(us >= 0 && us <= 10000) || us != static_cast<double>(static_cast<uint32_t>(us)))
        throw Napi::RangeError::New(env, "spinMicros must be an integer 0..10000");
      io::Engine::instance().setSpinMicros(static_cast<uint32_t>(us));
    }
  }
  io::EngineStats s = io::Engine::instance().stats();
  Napi::Object r = Napi::Object::New(env);
  r.Set("spinMicros", static_cast<double>(s.spinMicros));
  r.Set("idlePeriods", static_cast<double>(s.idlePeriods));
  r.Set("spins", static_cast<double>(s.spins));
  r.Set("spinHits", static_cast<double>(s.spinHits));
  r.Set("sleeps", static_cast<double>(s.sleeps));
  r.Set("hitRate", s.hitRate);
  return r;
}

}  // namespace

Napi::Object init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData<Addon>(new Addon(env));
  exports.Set("setErrorFactory", Napi::Function::New(env, setErrorFactory, "setErrorFactory"));
  exports.Set("engineOptions", Napi::Function::New(env, engineOptions, "engineOptions"));
  initModbus(env, exports);
  initPty(env, exports);
  initPorts(env, exports);
  initM307(env, exports);
  initMate(env, exports);
  return exports;
}

}  // namespace fl::node

static Napi::Object InitFieldlink(Napi::Env env, Napi::Object exports) { return fl::node::init(env, exports); }
NODE_API_MODULE(fieldlink, InitFieldlink)
