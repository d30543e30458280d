// PtyEndpoint: the device side of a pseudo-terminal, for simulators and tests.
// Clients open the slave path (optionally via a symlink) exactly like a USB adapter.
// The endpoint keeps its own slave fd open so the master never sees a hang-up
// between clients.
#pragma once
#include <array>
#include <asio.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "common/bytes.hpp"
#include "common/error.hpp"

namespace fl::io {

class PtyEndpoint : public std::enable_shared_from_this<PtyEndpoint> {
 public:
  using DataHandler = std::function<void(const uint8_t*, size_t)>;

  // Creates the pair; `link` (may be empty) becomes a symlink to the slave path.
  static std::shared_ptr<PtyEndpoint> create(asio::io_context& io, const std::string& link, Error& err);
  ~PtyEndpoint();

  const std::string& slavePath() const { return slavePath_; }
  const std::string& linkPath() const { return link_; }
  void start(DataHandler onData);
  void write(Bytes data);
  void close();
  // The baud rate the client's termios holds (read from our slave fd), 0 if unknown.
  int clientBaudRate() const;

 private:
  PtyEndpoint(asio::io_context& io) : master_(io) {}
  void readLoop();
  void writeNext();

  asio::posix::stream_descriptor master_;
  int slaveFd_ = -1;
  std::string slavePath_, link_;
  DataHandler onData_;
  std::array<uint8_t, 1024> buf_{};
  std::deque<Bytes> outbox_;
  bool closed_ = false;
};

}  // namespace fl::io
