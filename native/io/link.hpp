// A Link is one byte pipe to a device: a serial port, a pseudo-terminal or a TCP socket.
// All methods are called on the engine thread.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <system_error>

#include "common/bytes.hpp"
#include "common/error.hpp"

namespace fl::io {

class Link {
 public:
  using OpenHandler = std::function<void(Error)>;
  using IoHandler = std::function<void(std::error_code, size_t)>;

  virtual ~Link() = default;
  virtual void asyncOpen(OpenHandler done) = 0;
  virtual void asyncWrite(const uint8_t* data, size_t len, IoHandler done) = 0;
  virtual void asyncReadSome(uint8_t* buf, size_t len, IoHandler done) = 0;
  virtual void close() = 0;
  virtual bool isOpen() const = 0;
  // Throws away input already waiting in the kernel; returns how many bytes.
  virtual size_t discardInput() = 0;
  // Time one character takes on the wire (0 where there is no wire: TCP, pseudo-terminals).
  virtual std::chrono::microseconds charTime() const { return std::chrono::microseconds(0); }
  virtual std::string describe() const = 0;
};

}  // namespace fl::io
