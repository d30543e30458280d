#include "io/engine.hpp"

namespace fl::io {

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
    for (;;) {
      try {
        io_.run();
        break;
      } catch (...) {
        // A handler threw: keep the engine alive for every other link.
      }
    }
  });
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
