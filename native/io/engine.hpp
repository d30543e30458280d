// The engine: one asio::io_context on one native thread for the whole process.
// Every fd, socket and device timer lives here; nothing waits on libuv's pool.
#pragma once
#include <asio.hpp>
#include <memory>
#include <mutex>
#include <thread>

namespace fl::io {

class Engine {
 public:
  static Engine& instance();

  asio::io_context& context() { return io_; }

  // Reference counted by addon instances: the thread runs while anyone holds it.
  void acquire();
  void release();
  bool onEngineThread() const { return std::this_thread::get_id() == threadId_; }

 private:
  Engine() = default;
  ~Engine();
  asio::io_context io_;
  std::unique_ptr<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::thread thread_;
  std::thread::id threadId_;
  std::mutex mutex_;
  int users_ = 0;
};

}  // namespace fl::io
