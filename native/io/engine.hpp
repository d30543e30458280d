// The engine: one asio::io_context on one native thread for the whole process.
// Every fd, socket and device timer lives here; nothing waits on libuv's pool.
#pragma once
#include <asio.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

namespace fl::io {

// Counters of the engine loop (docs/performance.md, "adaptive spin").
struct EngineStats {
  uint64_t idlePeriods = 0;  // times the loop ran out of ready work
  uint64_t spins = 0;        // idle periods spent polling instead of sleeping
  uint64_t spinHits = 0;     // spins that found work inside the window
  uint64_t sleeps = 0;       // idle periods spent blocked in epoll_wait
  double hitRate = 0;        // recent share of idle periods shorter than the window (EWMA)
  uint32_t spinMicros = 0;
};

class Engine {
 public:
  static Engine& instance();

  asio::io_context& context() { return io_; }

  // Reference counted by addon instances: the thread runs while anyone holds it.
  void acquire();
  void release();
  bool onEngineThread() const { return std::this_thread::get_id() == threadId_; }

  // Adaptive spin. When the engine runs out of work it normally sleeps in epoll_wait, and the
  // next request or reply then pays a thread wake-up (on a VM, a halted vCPU's wake-up). If
  // three in four recent idle periods were shorter than `us`, it first polls for up to `us` µs. Idle
  // periods longer than the window (a 9,600-baud wire, most LAN devices) turn it off by
  // themselves. 0 disables it. Any thread may call this.
  static constexpr uint32_t kDefaultSpinMicros = 250;
  void setSpinMicros(uint32_t us) { spinMicros_.store(us, std::memory_order_relaxed); }
  EngineStats stats() const;

 private:
  Engine() = default;
  ~Engine();
  void loop();

  asio::io_context io_{1};  // one thread runs it; posts from other threads stay locked
  std::unique_ptr<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::thread thread_;
  std::thread::id threadId_;
  std::mutex mutex_;
  int users_ = 0;

  // On a single CPU the other side (the JS thread, the peer process) needs this very CPU to
  // make progress, so spinning cannot help there: off by default.
  std::atomic<uint32_t> spinMicros_{std::thread::hardware_concurrency() == 1 ? 0u : kDefaultSpinMicros};
  std::atomic<uint64_t> idlePeriods_{0}, spins_{0}, spinHits_{0}, sleeps_{0};
  std::atomic<double> hitRate_{0};
};

}  // namespace fl::io
