#include "io/engine.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#if defined(__linux__)
#include <pthread.h>
#endif

namespace fl::io {

namespace {
inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__) || defined(__arm__)
  asm volatile("yield");
#endif
}
constexpr double kAlpha = 1.0 / 8;       // weight of the newest idle period in the hit rate
constexpr double kSpinWhenAbove = 0.75;  // spin only while 3 idle periods in 4 were short
}  // namespace

Engine& Engine::instance() {
  static Engine* engine = new Engine();  // never destroyed: the thread is joined by release()
  return *engine;
}

Engine::~Engine() = default;

void Engine::acquire() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (users_++ > 0) return;
  if (thread_.joinable()) thread_.join();
  io_.restart();
  guard_ = std::make_unique<asio::executor_work_guard<asio::io_context::executor_type>>(io_.get_executor());
  thread_ = std::thread([this] {
    threadId_ = std::this_thread::get_id();
#if defined(__linux__)
    pthread_setname_np(pthread_self(), "fl-engine");  // visible in /proc and debuggers; tests count it
#endif
    for (;;) {
      try {
        loop();
        break;
      } catch (...) {
        // A handler threw: keep the engine alive for every other link.
      }
    }
  });
}

// io_.run() with an adaptive spin before each sleep. Every idle period (from running out of
// ready handlers to the next one) is one sample: a "hit" when it was shorter than the window.
void Engine::loop() {
  using SteadyClock = std::chrono::steady_clock;
  double rate = hitRate_.load(std::memory_order_relaxed);
  auto record = [&](bool hit) {
    rate += kAlpha * ((hit ? 1.0 : 0.0) - rate);
    hitRate_.store(rate, std::memory_order_relaxed);
    idlePeriods_.fetch_add(1, std::memory_order_relaxed);
  };
  while (!io_.stopped()) {
    if (io_.poll() > 0) continue;  // run everything that is ready, then check the reactor again
    if (io_.stopped()) break;
    const auto window = std::chrono::microseconds(spinMicros_.load(std::memory_order_relaxed));
    const auto idleFrom = SteadyClock::now();
    if (window.count() > 0 && rate > kSpinWhenAbove) {
      spins_.fetch_add(1, std::memory_order_relaxed);
      bool hit = false;
      while (SteadyClock::now() - idleFrom < window) {
        if (io_.poll() > 0) {
          hit = true;
          break;
        }
        cpuRelax();
        std::this_thread::yield();  // a waiting thread (the device's peer on this CPU) runs first
      }
      if (hit) {
        spinHits_.fetch_add(1, std::memory_order_relaxed);
        record(true);
        continue;
      }
    }
    sleeps_.fetch_add(1, std::memory_order_relaxed);
    if (io_.run_one() == 0) break;  // stopped
    record(SteadyClock::now() - idleFrom < window);
  }
}

EngineStats Engine::stats() const {
  EngineStats s;
  s.idlePeriods = idlePeriods_.load(std::memory_order_relaxed);
  s.spins = spins_.load(std::memory_order_relaxed);
  s.spinHits = spinHits_.load(std::memory_order_relaxed);
  s.sleeps = sleeps_.load(std::memory_order_relaxed);
  s.hitRate = hitRate_.load(std::memory_order_relaxed);
  s.spinMicros = spinMicros_.load(std::memory_order_relaxed);
  return s;
}

void Engine::release() {
  std::thread finished;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (users_ == 0 || --users_ > 0) return;
    guard_.reset();
    io_.stop();
    finished = std::move(thread_);
  }
  if (finished.joinable()) finished.join();
}

}  // namespace fl::io
