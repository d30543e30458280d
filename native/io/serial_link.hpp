// SerialLink: a serial port (or a pseudo-terminal) waited on through Asio.
// libserialport opens and configures real ports; pseudo-terminals, which it refuses,
// are opened with plain termios. The fd is then handed to an Asio stream_descriptor.
#pragma once
#include <asio.hpp>
#include <string>

#include "io/link.hpp"

struct sp_port;

namespace fl::io {

struct SerialSettings {
  std::string path;
  int baudRate = 9600;
  int dataBits = 8;
  char parity = 'N';  // 'N', 'E', 'O' (and 'M', 'S' for 9-bit buses)
  int stopBits = 1;
  enum class Driver { Auto, LibSerialPort, Termios } driver = Driver::Auto;
  bool exclusive = true;  // flock() the port so a second program gets EBUSY
};

// Validation of serial settings (names the argument and the allowed values).
Error validateSerialSettings(const SerialSettings& s);

class SerialLink : public Link {
 public:
  SerialLink(asio::io_context& io, SerialSettings settings);
  ~SerialLink() override;

  void asyncOpen(OpenHandler done) override;
  void asyncWrite(const uint8_t* data, size_t len, IoHandler done) override;
  void asyncReadSome(uint8_t* buf, size_t len, IoHandler done) override;
  void close() override;
  bool isOpen() const override { return sd_.is_open(); }
  size_t discardInput() override;
  std::chrono::microseconds charTime() const override;
  std::string describe() const override { return settings_.path; }

  // True when the open port is a pseudo-terminal (no wire: no inter-frame gap needed).
  bool isPseudoTerminal() const { return pty_; }
  bool usedLibSerialPort() const { return port_ != nullptr; }

 protected:
  Error openSync();
  Error openWithLibSerialPort(const std::string& real);
  Error openWithTermios(const std::string& real);

  asio::io_context& ioRef_;
  SerialSettings settings_;
  asio::posix::stream_descriptor sd_;
  sp_port* port_ = nullptr;
  bool pty_ = false;
};

// Maps an errno from open() to a ConnectionError with an actionable message.
Error openErrorFromErrno(int err, const std::string& path);

}  // namespace fl::io
