// The N-API bridge: per-addon-instance data, the one thread-safe function that
// carries completions from the engine thread back to JS, and error conversion.
#pragma once
#include <napi.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "common/error.hpp"

namespace fl::node {

using Closure = std::function<void(Napi::Env)>;

void callClosure(Napi::Env env, Napi::Function, std::nullptr_t*, Closure* data);
using Tsfn = Napi::TypedThreadSafeFunction<std::nullptr_t, Closure, callClosure>;

// The way back to JS for one addon instance: the thread-safe function, shared by the JS
// thread and the engine thread. It outlives the Addon (closures on the engine thread keep it
// alive), and after close() it drops what is posted instead of touching a dying environment.
class Outlet {
 public:
  explicit Outlet(Napi::Env env);
  ~Outlet() = default;  // no N-API call here: the last owner may be the engine thread
  Outlet(const Outlet&) = delete;
  Outlet& operator=(const Outlet&) = delete;

  // Any thread: run `fn` on the JS thread; dropped (destroyed on the caller's thread) once closed.
  void post(Closure fn);
  // JS thread: keep the event loop alive while anything is pending. No-ops once closed.
  // Lock-free: only the JS thread touches holds_ and writes open_.
  void hold(Napi::Env env);
  void unhold(Napi::Env env);
  // JS thread, from the environment's cleanup hook only (docs/ARCHITECTURE.md, "Teardown"):
  // later posts are dropped and the thread-safe function is released (aborted).
  void close();

 private:
  std::mutex mutex_;  // orders post() against close(): nothing is queued after the release
  bool open_ = true;
  int holds_ = 0;
  Tsfn tsfn_;
};
using OutletPtr = std::shared_ptr<Outlet>;

class Addon {
 public:
  explicit Addon(Napi::Env env);
  ~Addon();  // runs in the instance-data finalizer: no N-API call that can take a lock

  const OutletPtr outlet;
  // JS thread: keep the event loop alive while anything is pending.
  void hold(Napi::Env env) { outlet->hold(env); }
  void unhold(Napi::Env env) { outlet->unhold(env); }

  // JS thread: `closeOnEngine` runs on the engine thread at teardown while `owner` is alive
  // (a link this instance opened; a worker's links must not outlive the worker).
  void track(std::weak_ptr<void> owner, std::function<void()> closeOnEngine);

  // Builds the JS error (the class comes from lib/errors.js via setErrorFactory).
  Napi::Value makeError(Napi::Env env, const Error& e);
  Napi::FunctionReference errorFactory;
  Napi::FunctionReference modbusBusCtor, ptyCtor;

 private:
  static void teardown(void* arg);  // the env cleanup hook
  struct Tracked {
    std::weak_ptr<void> owner;
    std::function<void()> close;
  };
  std::vector<Tracked> tracked_;
  size_t pruneAt_ = 16;
  bool engineHeld_ = false;
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
// Options lib passes to a constructor. lib fills in every value from lib/defaults.js, so a
// missing one is a bug in lib: TypeError, never a fallback value of our own.
double numberOption(Napi::Object o, const char* key);
std::string stringOption(Napi::Object o, const char* key);
// interFrameDelay: 'auto' (-1 µs: Channel applies autoGap) or a number of milliseconds.
std::chrono::microseconds gapOption(Napi::Object o, const char* key);
// A field that may be absent, with the sentinel to use then (validated afterwards).
double numberOr(Napi::Object o, const char* key, double absent);

}  // namespace fl::node
