// The N-API bridge: per-addon-instance data, the one thread-safe function that
// carries completions from the engine thread back to JS, and error conversion.
#pragma once
#include <napi.h>

#include <functional>

#include "common/error.hpp"

namespace fl::node {

using Closure = std::function<void(Napi::Env)>;

void callClosure(Napi::Env env, Napi::Function, std::nullptr_t*, Closure* data);
using Tsfn = Napi::TypedThreadSafeFunction<std::nullptr_t, Closure, callClosure>;

class Addon {
 public:
  explicit Addon(Napi::Env env);
  ~Addon();

  // From any thread: run `fn` on the JS thread.
  void post(Closure fn);
  // JS thread: keep the event loop alive while anything is pending.
  void hold(Napi::Env env);
  void unhold(Napi::Env env);

  // Builds the JS error (the class comes from lib/errors.js via setErrorFactory).
  Napi::Value makeError(Napi::Env env, const Error& e);
  Napi::FunctionReference errorFactory;
  Napi::FunctionReference modbusBusCtor, ptyCtor;

 private:
  Tsfn tsfn_;
  int holds_ = 0;
};

Addon& addonOf(Napi::Env env);

// A promise whose settle runs on the JS thread and releases the event-loop hold.
struct PendingPromise {
  Napi::Promise::Deferred deferred;
  explicit PendingPromise(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) { addonOf(env).hold(env); }
  void resolve(Napi::Env env, Napi::Value v) {
    addonOf(env).unhold(env);
    deferred.Resolve(v);
  }
  void reject(Napi::Env env, const Error& e) {
    addonOf(env).unhold(env);
    deferred.Reject(addonOf(env).makeError(env, e));
  }
};

void initModbus(Napi::Env env, Napi::Object exports);
void initPty(Napi::Env env, Napi::Object exports);
void initPorts(Napi::Env env, Napi::Object exports);
void initM307(Napi::Env env, Napi::Object exports);
void initMate(Napi::Env env, Napi::Object exports);

// Option readers: a missing key gives the default; a wrong type throws a TypeError naming it.
double numberOption(Napi::Object o, const char* key, double def);
std::string stringOption(Napi::Object o, const char* key, const std::string& def);

}  // namespace fl::node
