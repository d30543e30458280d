#include "io/serial_link.hpp"

#include <fcntl.h>
#include <grp.h>
#include <libserialport.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>

namespace fl::io {

namespace {

std::string realPath(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf)) return buf;
  return path;
}

bool isPtyPath(const std::string& real) {
  if (real.rfind("/dev/pts/", 0) == 0) return true;
  struct stat st;
  // UNIX98 pty slaves have majors 136..143.
  if (::stat(real.c_str(), &st) == 0 && S_ISCHR(st.st_mode)) {
    unsigned maj = major(st.st_rdev);
    return maj >= 136 && maj <= 143;
  }
  return false;
}

speed_t speedFor(int baud, bool& ok) {
  ok = true;
  switch (baud) {
    case 1200: return B1200;
    case 2400: return B2400;
    case 4800: return B4800;
    case 9600: return B9600;
    case 19200: return B19200;
    case 38400: return B38400;
    case 57600: return B57600;
    case 115200: return B115200;
    case 230400: return B230400;
    default: ok = false; return B9600;
  }
}

std::string groupOf(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return "";
  struct group* g = ::getgrgid(st.st_gid);
  return g ? g->gr_name : "";
}

}  // namespace

Error openErrorFromErrno(int err, const std::string& path) {
  switch (err) {
    case ENOENT:
    case ENODEV:
    case ENXIO:
      return Error(ErrorKind::Connection, "ENOENT", "serial port " + path + " not found (is the adapter plugged in?)",
                   err);
    case EACCES:
    case EPERM: {
      std::string grp = groupOf(path);
      struct stat st;
      const bool groupMayWrite = ::stat(path.c_str(), &st) == 0 && (st.st_mode & S_IWGRP) && (st.st_mode & S_IRGRP);
      if (grp.empty() || grp == "root" || !groupMayWrite) {
        // Joining the file's group would not help: the device needs a udev rule.
        return Error(ErrorKind::Connection, "EACCES",
                     "permission denied opening " + path + ": its group '" + (grp.empty() ? "?" : grp) +
                         "' cannot read and write it; add a udev rule such as SUBSYSTEM==\"tty\", GROUP=\"dialout\", "
                         "MODE=\"0660\" "
                         "and join the dialout group (sudo usermod -aG dialout $USER)",
                     err);
      }
      return Error(ErrorKind::Connection, "EACCES",
                   "permission denied opening " + path + ": add your user to the '" + grp +
                       "' group (sudo usermod -aG " + grp + " $USER) and log in again",
                   err);
    }
    case EBUSY:
    case EWOULDBLOCK:
      return Error(ErrorKind::Connection, "EBUSY", "serial port " + path + " is in use by another program", err);
    default: return Error(ErrorKind::Connection, "EIO", "cannot open " + path + ": " + std::strerror(err), err);
  }
}

Error validateSerialSettings(const SerialSettings& s) {
  if (s.path.empty()) return validationError("path must name a serial port, e.g. /dev/ttyUSB0", "EINVAL");
  bool ok;
  speedFor(s.baudRate, ok);
  // 14400 (an XY-MD02 rate) has no termios constant; libserialport sets it with termios2.
  if (!ok && !(s.baudRate == 14400 && s.driver != SerialSettings::Driver::Termios))
    return validationError(
        "baudRate must be one of 1200, 2400, 4800, 9600, 14400, 19200, 38400, 57600, 115200, 230400; got " +
        std::to_string(s.baudRate));
  if (s.dataBits != 7 && s.dataBits != 8)
    return validationError("dataBits must be 7 or 8, got " + std::to_string(s.dataBits));
  if (s.stopBits != 1 && s.stopBits != 2)
    return validationError("stopBits must be 1 or 2, got " + std::to_string(s.stopBits));
  if (std::strchr("NEOMS", s.parity) == nullptr || s.parity == 0)
    return validationError("parity must be 'none', 'even' or 'odd'", "EINVAL");
  return {};
}

SerialLink::SerialLink(asio::io_context& io, SerialSettings settings)
    : ioRef_(io), settings_(std::move(settings)), sd_(io) {}

SerialLink::~SerialLink() { close(); }

void SerialLink::asyncOpen(OpenHandler done) {
  // Opening and configuring a port is a few syscalls that do not wait for a device.
  Error e = openSync();
  asio::post(ioRef_, [done = std::move(done), e = std::move(e)]() mutable { done(std::move(e)); });
}

Error SerialLink::openSync() {
  close();
  std::string real = realPath(settings_.path);
  struct stat st;
  if (::stat(real.c_str(), &st) != 0) return openErrorFromErrno(errno, settings_.path);
  pty_ = isPtyPath(real);
  bool useLib = settings_.driver == SerialSettings::Driver::LibSerialPort ||
                (settings_.driver == SerialSettings::Driver::Auto && !pty_);
  Error e = useLib ? openWithLibSerialPort(real) : openWithTermios(real);
  if (e) {
    close();
    return e;
  }
  if (settings_.exclusive) {
    if (::flock(sd_.native_handle(), LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      close();
      return openErrorFromErrno(err == EWOULDBLOCK ? EBUSY : err, settings_.path);
    }
  }
  return {};
}

Error SerialLink::openWithLibSerialPort(const std::string& real) {
  sp_return rc = sp_get_port_by_name(real.c_str(), &port_);
  if (rc != SP_OK) {
    port_ = nullptr;
    return Error(
        ErrorKind::Connection, "ENOENT",
        "libserialport does not recognise " + settings_.path + " as a serial port (sp_get_port_by_name failed)");
  }
  rc = sp_open(port_, SP_MODE_READ_WRITE);
  if (rc != SP_OK) {
    int err = sp_last_error_code();
    sp_free_port(port_);
    port_ = nullptr;
    return openErrorFromErrno(err ? err : EIO, settings_.path);
  }
  sp_parity par = SP_PARITY_NONE;
  switch (settings_.parity) {
    case 'E': par = SP_PARITY_EVEN; break;
    case 'O': par = SP_PARITY_ODD; break;
    case 'M': par = SP_PARITY_MARK; break;
    case 'S': par = SP_PARITY_SPACE; break;
    default: break;
  }
  if (sp_set_baudrate(port_, settings_.baudRate) != SP_OK || sp_set_bits(port_, settings_.dataBits) != SP_OK ||
      sp_set_parity(port_, par) != SP_OK || sp_set_stopbits(port_, settings_.stopBits) != SP_OK ||
      sp_set_flowcontrol(port_, SP_FLOWCONTROL_NONE) != SP_OK) {
    char* msg = sp_last_error_message();
    std::string text = msg ? msg : "unknown error";
    if (msg) sp_free_error_message(msg);
    return Error(ErrorKind::Connection, "EIO", "cannot configure " + settings_.path + ": " + text);
  }
  int fd = -1;
  sp_get_port_handle(port_, &fd);
  struct termios t;
  if (::tcgetattr(fd, &t) == 0) {  // see openWithTermios: VMIN 1 for Asio's non-blocking reads
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    ::tcsetattr(fd, TCSANOW, &t);
  }
  int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  std::error_code ec;
  sd_.assign(fd, ec);
  if (ec) return Error(ErrorKind::Connection, "EIO", "cannot watch " + settings_.path + ": " + ec.message());
  return {};
}

Error SerialLink::openWithTermios(const std::string& real) {
  int fd = ::open(real.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return openErrorFromErrno(errno, settings_.path);
  struct termios t;
  if (::tcgetattr(fd, &t) != 0) {
    int err = errno;
    ::close(fd);
    return Error(ErrorKind::Connection, "EIO", settings_.path + " is not a terminal device: " + std::strerror(err),
                 err);
  }
  ::cfmakeraw(&t);
  t.c_cflag |= CLOCAL | CREAD;
  t.c_cflag &= ~(CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS);
#ifdef CMSPAR
  t.c_cflag &= ~CMSPAR;
#endif
  t.c_cflag |= settings_.dataBits == 7 ? CS7 : CS8;
  if (settings_.stopBits == 2) t.c_cflag |= CSTOPB;
  switch (settings_.parity) {
    case 'E': t.c_cflag |= PARENB; break;
    case 'O': t.c_cflag |= PARENB | PARODD; break;
#ifdef CMSPAR
    case 'M': t.c_cflag |= PARENB | PARODD | CMSPAR; break;
    case 'S': t.c_cflag |= PARENB | CMSPAR; break;
#endif
    default: break;
  }
  // VMIN 1: a non-blocking read with nothing waiting fails with EAGAIN (Asio then waits
  // on epoll); with VMIN 0 it would return 0, which reads as end of file.
  t.c_cc[VMIN] = 1;
  t.c_cc[VTIME] = 0;
  bool ok;
  speed_t sp = speedFor(settings_.baudRate, ok);
  if (!ok) {
    ::close(fd);
    return Error(ErrorKind::Connection, "ENOTSUPPORTED",
                 std::to_string(settings_.baudRate) +
                     " baud has no termios speed; it needs serialDriver 'libserialport' on a real port (" +
                     settings_.path + ")");
  }
  ::cfsetispeed(&t, sp);
  ::cfsetospeed(&t, sp);
  // Pseudo-terminals ignore parity and framing (the kernel strips them), so a partial
  // failure there is expected and harmless; on a real port it is an error.
  if (::tcsetattr(fd, TCSANOW, &t) != 0 && !pty_) {
    int err = errno;
    ::close(fd);
    return Error(ErrorKind::Connection, "EIO", "cannot configure " + settings_.path + ": " + std::strerror(err), err);
  }
  std::error_code ec;
  sd_.assign(fd, ec);
  if (ec) {
    ::close(fd);
    return Error(ErrorKind::Connection, "EIO", "cannot watch " + settings_.path + ": " + ec.message());
  }
  return {};
}

void SerialLink::asyncWrite(const uint8_t* data, size_t len, IoHandler done) {
  asio::async_write(sd_, asio::buffer(data, len), std::move(done));
}

void SerialLink::asyncReadSome(uint8_t* buf, size_t len, IoHandler done) {
  sd_.async_read_some(asio::buffer(buf, len), std::move(done));
}

size_t SerialLink::discardInput() {
  if (!sd_.is_open()) return 0;
  int avail = 0;
  if (::ioctl(sd_.native_handle(), FIONREAD, &avail) != 0 || avail <= 0) return 0;
  uint8_t buf[512];
  size_t total = 0;
  for (;;) {
    ssize_t n = ::read(sd_.native_handle(), buf, sizeof buf);
    if (n <= 0) break;
    total += static_cast<size_t>(n);
  }
  return total;
}

std::chrono::microseconds SerialLink::charTime() const {
  if (pty_) return std::chrono::microseconds(0);
  int bits = 1 + settings_.dataBits + (settings_.parity == 'N' ? 0 : 1) + settings_.stopBits;
  return std::chrono::microseconds((bits * 1000000LL + settings_.baudRate - 1) / settings_.baudRate);
}

void SerialLink::close() {
  if (sd_.is_open()) {
    std::error_code ec;
    sd_.cancel(ec);
    if (port_) {
      sd_.release();  // libserialport owns the fd
    } else {
      sd_.close(ec);
    }
  }
  if (port_) {
    sp_close(port_);
    sp_free_port(port_);
    port_ = nullptr;
  }
}

}  // namespace fl::io
