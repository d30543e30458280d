#include "io/tcp_link.hpp"

#include <memory>

namespace fl::io {

TcpLink::TcpLink(asio::io_context& io, std::string host, uint16_t port, std::chrono::milliseconds connectTimeout)
    : io_(io),
      host_(std::move(host)),
      port_(port),
      connectTimeout_(connectTimeout),
      resolver_(io),
      socket_(io),
      timer_(io) {}

// The one throw clang-tidy finds in close() is in asio's steady_timer::cancel(), taken only when the
// timer service reports an error, and that service always clears the code: nothing can escape.
TcpLink::~TcpLink() { close(); }  // NOLINT(bugprone-exception-escape): see above

void TcpLink::asyncOpen(OpenHandler done) {
  close();
  const unsigned attempt = ++attempt_;
  // The handler runs once: whichever of connect-complete or deadline comes first.
  auto finish = std::make_shared<OpenHandler>(std::move(done));
  pendingOpen_ = finish;
  auto complete = [this, finish, attempt](Error e) {
    if (!*finish || attempt != attempt_) return;
    OpenHandler h = std::move(*finish);
    *finish = nullptr;
    pendingOpen_.reset();
    timer_.cancel();
    if (e) {
      std::error_code ec;
      socket_.close(ec);
    } else {
      std::error_code ec;
      socket_.set_option(asio::ip::tcp::no_delay(true), ec);
    }
    h(std::move(e));
  };
  timer_.expires_after(connectTimeout_);
  timer_.async_wait([this, complete](std::error_code ec) {
    if (ec) return;
    resolver_.cancel();
    complete(
        Error(ErrorKind::Connection, "ECONNTIMEOUT",
              "connecting to " + describe() + " timed out after " + std::to_string(connectTimeout_.count()) + " ms"));
  });
  auto onConnect = [this, complete](std::error_code ec2) {
    if (ec2 == asio::error::operation_aborted) return;
    if (!ec2) {
      complete({});
    } else if (ec2 == asio::error::connection_refused) {
      complete(Error(ErrorKind::Connection, "ECONNREFUSED", "connection to " + describe() + " refused"));
    } else {
      complete(Error(ErrorKind::Connection, "EIO", "cannot connect to " + describe() + ": " + ec2.message()));
    }
  };
  // An address needs no lookup. Asio resolves on a private thread of its own, started on first
  // use and kept for the life of the process: an IP address (the usual case for field devices)
  // never starts it.
  std::error_code parseError;
  const asio::ip::address literal = asio::ip::make_address(host_, parseError);
  if (!parseError) {
    socket_.async_connect(asio::ip::tcp::endpoint(literal, port_), onConnect);
    return;
  }
  resolver_.async_resolve(
      host_, std::to_string(port_),
      [this, complete, onConnect](std::error_code ec, const asio::ip::tcp::resolver::results_type& results) {
        if (ec) {
          if (ec == asio::error::operation_aborted) return;
          complete(Error(ErrorKind::Connection, "ENOTFOUND", "cannot resolve " + host_ + ": " + ec.message()));
          return;
        }
        asio::async_connect(socket_, results,
                            [onConnect](std::error_code ec2, const asio::ip::tcp::endpoint&) { onConnect(ec2); });
      });
}

void TcpLink::asyncWrite(const uint8_t* data, size_t len, IoHandler done) {
  asio::async_write(socket_, asio::buffer(data, len), std::move(done));
}

void TcpLink::asyncReadSome(uint8_t* buf, size_t len, IoHandler done) {
  socket_.async_read_some(asio::buffer(buf, len), std::move(done));
}

size_t TcpLink::discardInput() {
  if (!socket_.is_open()) return 0;
  std::error_code ec;
  size_t avail = socket_.available(ec);
  if (ec || avail == 0) return 0;
  uint8_t buf[512];
  size_t total = 0;
  socket_.non_blocking(true, ec);
  while (avail > 0) {
    size_t n = socket_.read_some(asio::buffer(buf, std::min(avail, sizeof buf)), ec);
    if (ec || n == 0) break;
    total += n;
    avail -= std::min(avail, n);
  }
  return total;
}

void TcpLink::close() {
  // A connect still in progress is answered now: nobody may be left waiting for it.
  if (auto pending = std::move(pendingOpen_); pending && *pending) {
    OpenHandler h = std::move(*pending);
    *pending = nullptr;
    asio::post(io_, [h = std::move(h), where = describe()] {
      h(Error(ErrorKind::Connection, "ECLOSED", "closed while connecting to " + where));
    });
  }
  std::error_code ec;
  timer_.cancel();
  resolver_.cancel();
  if (socket_.is_open()) {
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }
}

}  // namespace fl::io
