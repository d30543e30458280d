// MateBus: the MATE side of an Outback MATE bus ("MateNET"), on a 9-bit serial link or
// through uMATE's PJON serial bridge. One command on the wire at a time, retries, and
// replies framed by expected length and checksum (native/core/mate).
#pragma once
#include <chrono>
#include <functional>
#include <memory>

#include "io/channel.hpp"
#include "mate/mate.hpp"

namespace fl::session {

// Set by the caller (the addon passes lib/defaults.js's values); no defaults of its own.
struct MateOptions {
  std::chrono::milliseconds timeout{0};
  unsigned retries = 0;
  bool pjonBridge = false;
};

class MateBus : public std::enable_shared_from_this<MateBus> {
 public:
  using Done = std::function<void(const Error&, const mate::Reply&)>;
  MateBus(std::shared_ptr<io::Channel> channel, MateOptions opts) : channel_(std::move(channel)), opts_(opts) {}
  io::Channel& channel() { return *channel_; }
  // On the engine thread.
  // retries < 0: the bus's default.
  void execute(const mate::Command& cmd, Done done, int retries = -1);
  // A verified write, like M307's: WRITE `value` to `reg`, then READ it back. A read-back
  // that differs is DeviceError EVERIFY with { port, register, written, readBack }. `done`
  // gets the value read back.
  void writeVerified(uint8_t port, uint16_t reg, uint16_t value,
                     std::function<void(const Error&, uint16_t readBack)> done);
  uint64_t retriesUsed() const { return retriesUsed_; }

 private:
  void attempt(std::shared_ptr<mate::Command> cmd, unsigned triesLeft, Done done);
  std::shared_ptr<io::Channel> channel_;
  MateOptions opts_;
  uint64_t retriesUsed_ = 0;
};

}  // namespace fl::session
