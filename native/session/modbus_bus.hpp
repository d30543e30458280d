// ModbusBus: a Modbus RTU master session on one Channel (serial port, pty or TCP).
// encode (core) -> transact (channel) -> decode (core). Adds retries and a per-unit
// offline breaker so that a silent unit does not slow the rest of the bus.
#pragma once
#include <asio.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>

#include "io/channel.hpp"
#include "modbus/modbus.hpp"

namespace fl::session {

// Set by the caller (the addon passes lib/defaults.js's values); no defaults of its own.
struct ModbusOptions {
  std::chrono::milliseconds timeout{0};
  unsigned retries = 0;                              // extra attempts after a timeout, CRC or framing error
  unsigned offlineAfter = 0;                         // consecutive timeouts before a unit is skipped (0 = never)
  std::chrono::milliseconds offlineProbe{0};         // while skipped, one probe per interval
  std::chrono::milliseconds broadcastTurnaround{0};  // quiet time after a broadcast write
};

struct UnitHealth {
  // requests counts every attempt on the wire; retries the attempts after the first.
  uint64_t requests = 0, replies = 0, timeouts = 0, errors = 0, exceptions = 0, skipped = 0, retries = 0;
  unsigned consecutiveTimeouts = 0;
  bool offline = false;
  io::Clock::time_point nextProbe{};
};

class ModbusBus : public std::enable_shared_from_this<ModbusBus> {
 public:
  using Done = std::function<void(const Error&, const modbus::Response&)>;

  ModbusBus(std::shared_ptr<io::Channel> channel, ModbusOptions opts) : channel_(std::move(channel)), opts_(opts) {}

  // All three run on the engine thread.
  void execute(modbus::Request req, Done done);
  io::Channel& channel() { return *channel_; }
  const std::map<uint8_t, UnitHealth>& units() const { return units_; }

 private:
  void attempt(std::shared_ptr<modbus::Request> req, unsigned triesLeft, Done done);
  void record(uint8_t unit, const Error& e);

  std::shared_ptr<io::Channel> channel_;
  ModbusOptions opts_;
  std::map<uint8_t, UnitHealth> units_;
};

}  // namespace fl::session
