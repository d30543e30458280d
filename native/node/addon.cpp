#include <napi.h>

#include <algorithm>
#include <chrono>
#include <future>

#include "io/engine.hpp"
#include "node/bridge.hpp"

namespace fl::node {

void callClosure(Napi::Env env, Napi::Function, std::nullptr_t*, Closure* data) {
  if (env != nullptr && data != nullptr) (*data)(env);
  delete data;
}

Outlet::Outlet(Napi::Env env) {
  tsfn_ = Tsfn::New(env, "fieldlink-engine", 0, 1);
  tsfn_.Unref(env);
}

void Outlet::post(Closure fn) {
  auto* c = new Closure(std::move(fn));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (open_ && tsfn_.BlockingCall(c) == napi_ok) return;
  }
  delete c;  // closed, or the environment is going away: destroyed here, outside the lock
}

// hold() and unhold() run on the JS thread only, like close(), the one writer of open_: they
// need no lock. Taking the mutex here made the JS thread, woken by post(), wait for the engine
// thread to leave post() and then be woken a second time, once per completion.
void Outlet::hold(Napi::Env env) {
  if (open_ && holds_++ == 0) tsfn_.Ref(env);
}

void Outlet::unhold(Napi::Env env) {
  if (open_ && holds_ > 0 && --holds_ == 0) tsfn_.Unref(env);
}

void Outlet::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!open_) return;
  open_ = false;
  // Abort: what is still queued is handed to callClosure with no env and only deleted.
  tsfn_.Abort();
}

// The thread-safe function is created first and the cleanup hook registered after it. Node runs
// cleanup hooks in reverse order of registration, so teardown() runs before the thread-safe
// function's own hook closes its handles, and long before any finalizer.
Addon::Addon(Napi::Env env) : outlet(std::make_shared<Outlet>(env)) {
  io::Engine::instance().acquire();
  engineHeld_ = true;
  napi_status st = napi_add_env_cleanup_hook(env, &Addon::teardown, this);
  if (st != napi_ok) NAPI_THROW_VOID(Napi::Error::New(env, "fieldlink: cannot register the cleanup hook"));
}

// By now teardown() has run (the hook runs before any finalizer). Nothing here may call into
// N-API: on Node 24+ this destructor runs inside the thread-safe function's close callback,
// where releasing it deadlocks (its mutex is held). The references below are only forgotten.
Addon::~Addon() {
  if (engineHeld_) io::Engine::instance().release();  // the hook never ran (should not happen)
  errorFactory.SuppressDestruct();
  modbusBusCtor.SuppressDestruct();
  ptyCtor.SuppressDestruct();
}

void Addon::track(std::weak_ptr<void> owner, std::function<void()> closeOnEngine) {
  if (tracked_.size() >= pruneAt_) {
    std::erase_if(tracked_, [](const Tracked& t) { return t.owner.expired(); });
    pruneAt_ = std::max<size_t>(16, tracked_.size() * 2);
  }
  tracked_.push_back({std::move(owner), std::move(closeOnEngine)});
}

// The env cleanup hook, on the JS thread, while the environment is still whole:
//  1. the outlet closes: completions from now on are dropped on the engine thread, and the
//     thread-safe function is released here, not in a finalizer or a close callback;
//  2. this instance's links are closed on the engine thread (a worker that ends must not leave
//     its ports open or its reconnect timers running on the process's engine), waited for with
//     a bound so a stuck engine cannot hang the exit;
//  3. the references to JS values are dropped while the env can still take that;
//  4. the engine is released: the last instance stops and joins the thread.
void Addon::teardown(void* arg) {
  auto* self = static_cast<Addon*>(arg);
  self->outlet->close();

  std::vector<std::function<void()>> closers;
  for (auto& t : self->tracked_)
    if (!t.owner.expired()) closers.push_back(std::move(t.close));
  self->tracked_.clear();
  if (!closers.empty()) {
    auto done = std::make_shared<std::promise<void>>();
    std::future<void> finished = done->get_future();
    asio::post(io::Engine::instance().context(), [closers = std::move(closers), done] {
      for (auto& c : closers) {
        try {
          c();
        } catch (...) {
        }
      }
      done->set_value();
    });
    finished.wait_for(std::chrono::seconds(1));
  }

  self->errorFactory.Reset();
  self->modbusBusCtor.Reset();
  self->ptyCtor.Reset();
  if (self->engineHeld_) {
    self->engineHeld_ = false;
    io::Engine::instance().release();
  }
}

Napi::Value Addon::makeError(Napi::Env env, const Error& e) {
  Napi::Object fields = Napi::Object::New(env);
  for (const auto& [k, v] : e.labels) fields.Set(k, v);
  for (const auto& [k, v] : e.numbers) fields.Set(k, static_cast<double>(v));
  if (!errorFactory.IsEmpty()) {
    return errorFactory.Call({Napi::String::New(env, errorKindName(e.kind)), Napi::String::New(env, e.code),
                              Napi::String::New(env, e.message), Napi::Number::New(env, e.detail),
                              Napi::String::New(env, e.rawHex), fields});
  }
  Napi::Error err = Napi::Error::New(env, e.message);
  err.Set("code", Napi::String::New(env, e.code));
  err.Set("kind", Napi::String::New(env, errorKindName(e.kind)));
  for (const auto& [k, v] : e.labels) err.Set(k, v);
  for (const auto& [k, v] : e.numbers) err.Set(k, static_cast<double>(v));
  return err.Value();
}

Addon& addonOf(Napi::Env env) { return *env.GetInstanceData<Addon>(); }

namespace {
Napi::Value requiredOption(Napi::Object o, const char* key) {
  Napi::Value v = o.Has(key) ? o.Get(key) : o.Env().Undefined();
  if (v.IsUndefined() || v.IsNull())
    throw Napi::TypeError::New(o.Env(),
                               std::string(key) + " is missing (lib passes every option, from lib/defaults.js)");
  return v;
}
}  // namespace

double numberOption(Napi::Object o, const char* key) {
  Napi::Value v = requiredOption(o, key);
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

std::string stringOption(Napi::Object o, const char* key) {
  Napi::Value v = requiredOption(o, key);
  if (!v.IsString()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

std::chrono::microseconds gapOption(Napi::Object o, const char* key) {
  Napi::Value v = requiredOption(o, key);
  if (v.IsString() && v.As<Napi::String>().Utf8Value() == "auto") return std::chrono::microseconds(-1);
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be 'auto' or a number of ms");
  return std::chrono::microseconds(static_cast<long>(v.As<Napi::Number>().DoubleValue() * 1000));
}

double numberOr(Napi::Object o, const char* key, double absent) {
  if (!o.Has(key)) return absent;
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return absent;
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
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
      double us = numberOr(o, "spinMicros", -1);  // lib/engine.js validated it; checked again here
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
