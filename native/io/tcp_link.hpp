// TcpLink: a TCP client socket (RTU over TCP through an RS485-to-Ethernet converter,
// ser2net, or the M307's port 10001), with a connect deadline.
#pragma once
#include <asio.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "io/link.hpp"

namespace fl::io {

class TcpLink : public Link {
 public:
  TcpLink(asio::io_context& io, std::string host, uint16_t port, std::chrono::milliseconds connectTimeout);
  ~TcpLink() override;  // NOLINT(bugprone-exception-escape): nothing in close() can throw (tcp_link.cpp)

  void asyncOpen(OpenHandler done) override;
  void asyncWrite(const uint8_t* data, size_t len, IoHandler done) override;
  void asyncReadSome(uint8_t* buf, size_t len, IoHandler done) override;
  void close() override;
  bool isOpen() const override { return socket_.is_open(); }
  size_t discardInput() override;
  std::string describe() const override { return "tcp://" + host_ + ":" + std::to_string(port_); }

 private:
  asio::io_context& io_;
  std::string host_;
  uint16_t port_;
  std::chrono::milliseconds connectTimeout_;
  asio::ip::tcp::resolver resolver_;
  asio::ip::tcp::socket socket_;
  asio::steady_timer timer_;
  unsigned attempt_ = 0;
  std::shared_ptr<OpenHandler> pendingOpen_;  // set while a connect is in progress
};

}  // namespace fl::io
