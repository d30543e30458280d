#include "io/ninebit_link.hpp"

#include <libserialport.h>
#include <sys/ioctl.h>
#include <termios.h>

#include "mate/mate.hpp"

namespace fl::io {

namespace {
constexpr size_t kTraceLength = 64;
constexpr int kMaxDrainPolls = 50;  // 1 ms each after the expected wire time
}  // namespace

const char* nineBitModeName(NineBitMode m) {
  switch (m) {
    case NineBitMode::Auto: return "auto";
    case NineBitMode::MarkSpace: return "mark-space";
    case NineBitMode::OddEven: return "odd-even";
  }
  return "?";
}

NineBitLink::NineBitLink(asio::io_context& io, SerialSettings settings, NineBitMode mode)
    : SerialLink(io,
                 [&] {
                   settings.parity = 'S';
                   return settings;
                 }()),
      io_(io),
      mode_(mode),
      drainTimer_(io) {}

std::vector<std::pair<char, std::vector<uint8_t>>> NineBitLink::plan(const uint8_t* data, size_t len,
                                                                     NineBitMode mode) {
  std::vector<std::pair<char, std::vector<uint8_t>>> steps;
  if (len == 0) return steps;
  if (mode == NineBitMode::OddEven) {
    for (size_t i = 0; i < len; ++i) {
      mate::Parity p = mate::parityForNinthBit(data[i], i == 0);
      char c = p == mate::Parity::Odd ? 'O' : 'E';
      if (!steps.empty() && steps.back().first == c) steps.back().second.push_back(data[i]);
      else steps.push_back({c, {data[i]}});
    }
  } else {
    steps.push_back({'M', {data[0]}});
    if (len > 1) steps.emplace_back('S', std::vector<uint8_t>(data + 1, data + len));
  }
  return steps;
}

bool NineBitLink::setParity(char p) {
  if (p == current_) return true;
  bool ok = true;
  if (port_) {
    sp_parity sp = p == 'M' ? SP_PARITY_MARK : p == 'S' ? SP_PARITY_SPACE : p == 'O' ? SP_PARITY_ODD : SP_PARITY_EVEN;
    ok = sp_set_parity(port_, sp) == SP_OK;
  } else if (sd_.is_open()) {
    struct termios t;
    if (::tcgetattr(sd_.native_handle(), &t) == 0) {
      t.c_cflag &= ~(PARENB | PARODD);
#ifdef CMSPAR
      t.c_cflag &= ~CMSPAR;
#endif
      t.c_cflag |= PARENB;
      if (p == 'O' || p == 'M') t.c_cflag |= PARODD;
#ifdef CMSPAR
      if (p == 'M' || p == 'S') t.c_cflag |= CMSPAR;
#endif
      // Pseudo-terminals strip parity: a failure there is expected and harmless.
      ok = ::tcsetattr(sd_.native_handle(), TCSANOW, &t) == 0 || isPseudoTerminal();
    }
  }
  if (ok) current_ = p;
  return ok;
}

void NineBitLink::asyncOpen(OpenHandler done) {
  Error e = openSync();
  if (!e) {
    current_ = 0;
    active_ = mode_ == NineBitMode::OddEven ? NineBitMode::OddEven : NineBitMode::MarkSpace;
    if (!setParity('S') || !setParity('M')) {
      if (mode_ == NineBitMode::MarkSpace) {
        e = Error(ErrorKind::Connection, "ENOTSUPPORTED",
                  describe() + " cannot use mark/space parity; open it with parityMode 'odd-even' (or 'auto')");
        close();
      } else {
        active_ = NineBitMode::OddEven;  // auto: fall back to the per-byte emulation
        current_ = 0;
      }
    }
    if (!e) setParity(active_ == NineBitMode::MarkSpace ? 'S' : 'E');
  }
  asio::post(io_, [done = std::move(done), e = std::move(e)]() mutable { done(std::move(e)); });
}

void NineBitLink::asyncWrite(const uint8_t* data, size_t len, IoHandler done) {
  steps_ = plan(data, len, active_);
  written_ = 0;
  std::vector<ParityStep> record;
  for (const auto& s : steps_) record.push_back({s.first, s.second.size()});
  trace_.push_back(std::move(record));
  if (trace_.size() > kTraceLength) trace_.pop_front();
  if (isPseudoTerminal()) {
    // A pseudo-terminal has no UART: the kernel drops the parity bit and there is no output
    // queue to drain, so switching parity between bytes would only cost two tcsetattr calls
    // and a timer per packet. The steps are planned and recorded as on a wire (parityTrace);
    // the bytes go out in one write.
    whole_.assign(data, data + len);
    const unsigned ep = epoch_;
    asio::async_write(sd_, asio::buffer(whole_),
                      [this, ep, done = std::move(done)](std::error_code ec, size_t n) mutable {
                        if (ep != epoch_) return;
                        written_ = n;
                        done(ec, n);
                      });
    return;
  }
  runStep(0, std::move(done));
}

void NineBitLink::runStep(size_t i, IoHandler done) {
  if (i >= steps_.size()) {
    done({}, written_);
    return;
  }
  if (!setParity(steps_[i].first)) {
    done(std::make_error_code(std::errc::io_error), written_);
    return;
  }
  const unsigned ep = epoch_;
  const std::vector<uint8_t>& bytes = steps_[i].second;
  asio::async_write(sd_, asio::buffer(bytes),
                    [this, i, ep, done = std::move(done)](std::error_code ec, size_t n) mutable {
                      if (ep != epoch_) return;
                      written_ += n;
                      if (ec) {
                        done(ec, written_);
                        return;
                      }
                      // The next step changes the parity: the bytes just written must have left the UART.
                      drainThen(n, [this, i, done = std::move(done)]() mutable { runStep(i + 1, std::move(done)); });
                    });
}

void NineBitLink::drainThen(size_t bytes, std::function<void()> next, int polls) {
  const unsigned ep = epoch_;
  auto wait = polls == 0 ? charTime() * static_cast<long>(bytes) : std::chrono::microseconds(1000);
  if (polls > 0 || wait.count() > 0) {
    drainTimer_.expires_after(wait);
  } else {
    drainTimer_.expires_after(std::chrono::microseconds(0));
  }
  drainTimer_.async_wait([this, ep, bytes, next = std::move(next), polls](std::error_code ec) mutable {
    if (ec || ep != epoch_) return;
    int queued = 0;
    if (sd_.is_open() && ::ioctl(sd_.native_handle(), TIOCOUTQ, &queued) == 0 && queued > 0 && polls < kMaxDrainPolls) {
      drainThen(bytes, std::move(next), polls + 1);
      return;
    }
    next();
  });
}

void NineBitLink::close() {
  ++epoch_;
  drainTimer_.cancel();
  current_ = 0;
  SerialLink::close();
}

}  // namespace fl::io
