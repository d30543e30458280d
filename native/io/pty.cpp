#include "io/pty.hpp"

#include <fcntl.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

namespace fl::io {

std::shared_ptr<PtyEndpoint> PtyEndpoint::create(asio::io_context& io, const std::string& link, Error& err) {
  int master = -1, slave = -1;
  char name[128] = {0};
  struct termios raw;
  std::memset(&raw, 0, sizeof raw);
  ::cfmakeraw(&raw);
  raw.c_cflag |= CLOCAL | CREAD;
  ::cfsetispeed(&raw, B9600);
  ::cfsetospeed(&raw, B9600);
  if (::openpty(&master, &slave, name, &raw, nullptr) != 0) {
    err = Error(ErrorKind::Connection, "EIO", std::string("openpty failed: ") + std::strerror(errno));
    return nullptr;
  }
  ::fcntl(master, F_SETFD, FD_CLOEXEC);
  ::fcntl(slave, F_SETFD, FD_CLOEXEC);
  ::fcntl(master, F_SETFL, ::fcntl(master, F_GETFL) | O_NONBLOCK);
  std::shared_ptr<PtyEndpoint> p(new PtyEndpoint(io));
  std::error_code ec;
  p->master_.assign(master, ec);
  p->slaveFd_ = slave;
  p->slavePath_ = name;
  if (!link.empty()) {
    ::unlink(link.c_str());
    if (::symlink(name, link.c_str()) != 0) {
      err = Error(ErrorKind::Connection, "EIO", "cannot create symlink " + link + ": " + std::strerror(errno));
      p->close();
      return nullptr;
    }
    p->link_ = link;
  }
  return p;
}

PtyEndpoint::~PtyEndpoint() { close(); }

int PtyEndpoint::clientBaudRate() const {
  if (slaveFd_ < 0) return 0;
  struct termios t;
  if (::tcgetattr(slaveFd_, &t) != 0) return 0;
  switch (::cfgetospeed(&t)) {
    case B1200: return 1200;
    case B2400: return 2400;
    case B4800: return 4800;
    case B9600: return 9600;
    case B19200: return 19200;
    case B38400: return 38400;
    case B57600: return 57600;
    case B115200: return 115200;
    case B230400: return 230400;
    default: return 0;
  }
}

void PtyEndpoint::start(DataHandler onData) {
  onData_ = std::move(onData);
  readLoop();
}

void PtyEndpoint::readLoop() {
  if (closed_) return;
  master_.async_read_some(asio::buffer(buf_), [self = shared_from_this()](std::error_code ec, size_t n) {
    if (self->closed_) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      // EIO would mean no slave is open; we hold one, so this is unexpected: stop quietly.
      return;
    }
    if (self->onData_) self->onData_(self->buf_.data(), n);
    self->readLoop();
  });
}

void PtyEndpoint::write(Bytes data) {
  if (closed_ || data.empty()) return;
  outbox_.push_back(std::move(data));
  if (outbox_.size() == 1) writeNext();
}

void PtyEndpoint::writeNext() {
  if (closed_ || outbox_.empty()) return;
  asio::async_write(master_, asio::buffer(outbox_.front()), [self = shared_from_this()](std::error_code ec, size_t) {
    if (self->closed_ || ec) return;
    self->outbox_.pop_front();
    self->writeNext();
  });
}

void PtyEndpoint::close() {
  if (closed_) return;
  closed_ = true;
  std::error_code ec;
  master_.cancel(ec);
  master_.close(ec);
  if (slaveFd_ >= 0) ::close(slaveFd_);
  slaveFd_ = -1;
  if (!link_.empty()) ::unlink(link_.c_str());
  outbox_.clear();
}

}  // namespace fl::io
