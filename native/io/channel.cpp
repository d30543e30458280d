#include "io/channel.hpp"

#include <algorithm>
#include <cmath>

namespace fl::io {

const char* linkStateName(LinkState s) {
  switch (s) {
    case LinkState::Connecting: return "connecting";
    case LinkState::Open: return "open";
    case LinkState::Reconnecting: return "reconnecting";
    case LinkState::Closed: return "closed";
  }
  return "unknown";
}

namespace {
constexpr size_t kLatencySamples = 256;
Error connectionError(const char* code, std::string msg) { return Error(ErrorKind::Connection, code, std::move(msg)); }
}  // namespace

Channel::Channel(asio::io_context& io, std::unique_ptr<Link> link, ChannelOptions opts, StateHandler onState)
    : io_(io),
      link_(std::move(link)),
      opts_(opts),
      onState_(std::move(onState)),
      gapTimer_(io),
      deadline_(io),
      settleTimer_(io),
      reconnectTimer_(io),
      totalTimer_(io) {}

Channel::~Channel() {
  if (link_) link_->close();
}

void Channel::setState(LinkState s, const Error& e, std::chrono::milliseconds retryIn) {
  state_ = s;
  stats_.state = s;
  if (onState_) onState_(s, e, retryIn);
}

std::chrono::microseconds autoGap(const Link& link, const WireGap& rule) {
  const auto ch = link.charTime();
  if (ch.count() == 0) return std::chrono::microseconds(0);
  return std::max(ch * static_cast<long>(rule.tenthsOfChars) / 10, rule.atLeast);
}

std::chrono::microseconds Channel::gap() const {
  if (opts_.interFrameGap.count() >= 0) return opts_.interFrameGap;
  return autoGap(*link_, opts_.wireGap);
}

void Channel::open(std::function<void(const Error&)> done) {
  setState(LinkState::Connecting);
  const unsigned ep = ++epoch_;
  link_->asyncOpen([self = shared_from_this(), ep, done = std::move(done)](const Error& e) {
    if (self->state_ == LinkState::Closed || ep != self->epoch_) {
      self->link_->close();
      done(connectionError("ECLOSED", "closed while opening " + self->link_->describe()));
      return;
    }
    if (e) {
      self->link_->close();
      self->setState(LinkState::Closed, e);
      done(e);
      return;
    }
    self->lastActivity_ = Clock::now();
    self->setState(LinkState::Open);
    self->startReading();
    done({});
    self->pump();
  });
}

void Channel::submit(Transaction tx) {
  if (state_ == LinkState::Closed) {
    tx.done(connectionError("ECLOSED", link_->describe() + " is closed"), {});
    return;
  }
  if (state_ == LinkState::Reconnecting) {
    ++stats_.rejectedNotConnected;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(nextRetryAt_ - Clock::now()).count();
    tx.done(connectionError("ENOTCONNECTED", link_->describe() + " is not connected; reconnect attempt " +
                                                 std::to_string(reconnectAttempt_) + " in " +
                                                 std::to_string(std::max<long long>(0, left)) + " ms"),
            {});
    return;
  }
  if (opts_.queueLimit != 0 && queue_.size() >= opts_.queueLimit) {
    ++stats_.rejectedQueueFull;
    tx.done(connectionError("EQUEUEFULL", "request queue of " + link_->describe() + " is full (" +
                                              std::to_string(opts_.queueLimit) + " waiting)"),
            {});
    return;
  }
  queue_.push_back(std::move(tx));
  pump();
}

void Channel::close(const std::function<void()>& done) {
  if (state_ != LinkState::Closed) {
    ++epoch_;
    reading_ = false;
    gapTimer_.cancel();
    reconnectTimer_.cancel();
    Error e = connectionError("ECLOSED", link_->describe() + " was closed");
    state_ = LinkState::Closed;  // before failing, so callbacks cannot queue more
    stats_.state = state_;
    if (busy_) finish(e);
    failQueue(e);
    stopDeadline();
    link_->close();
    if (onState_) onState_(LinkState::Closed, {}, std::chrono::milliseconds(0));
  }
  if (done) done();
}

void Channel::failQueue(const Error& e) {
  std::deque<Transaction> q;
  q.swap(queue_);
  for (auto& t : q) t.done(e, {});
}

void Channel::startReading() {
  if (reading_ || paused_ || state_ != LinkState::Open) return;
  reading_ = true;
  const unsigned ep = epoch_;
  link_->asyncReadSome(readBuf_.data(), readBuf_.size(), [self = shared_from_this(), ep](std::error_code ec, size_t n) {
    if (ep != self->epoch_) return;
    self->reading_ = false;
    if (ec || n == 0) {
      if (ec == asio::error::operation_aborted) return;
      std::string why = ec ? ec.message() : std::string("end of stream");
      self->linkLost(connectionError("ECONNLOST", "lost " + self->link_->describe() + ": " + why));
      return;
    }
    self->onBytes(self->readBuf_.data(), n);
    if (ep != self->epoch_ || self->reading_) return;  // closed or restarted meanwhile
    // No read is pending here, so the buffer may change.
    auto& buf = self->readBuf_;
    if (n == buf.size() && buf.size() < kReadLarge) buf = std::vector<uint8_t>(kReadLarge);
    else if (buf.size() > kReadSmall && n < kReadSmall && !self->busy_) buf = std::vector<uint8_t>(kReadSmall);
    self->startReading();
  });
}

void Channel::onBytes(const uint8_t* data, size_t n) {
  stats_.bytesReceived += n;
  lastActivity_ = Clock::now();
  if (!busy_ || !awaitingReply_) {
    stats_.staleBytesDiscarded += n;
    return;
  }
  // Bytes past the transaction's bound are not kept: the framer sees up to the bound (so what
  // arrived is reported accurately), then the transaction ends, whatever the framer said.
  const bool over = rx_.size() + n > cur_.maxBytes;
  const size_t take = over ? cur_.maxBytes - rx_.size() : n;
  rx_.insert(rx_.end(), data, data + take);
  // With idleTimeout the deadline is not re-armed here (a timer syscall per read): when it
  // fires it moves itself to lastActivity_ + timeout if bytes came in the meantime.
  FrameVerdict v;
  if (take > 0) v = cur_.framer(rx_.data(), rx_.size());
  if (over || v.status == FrameStatus::Overflow) {
    ++stats_.overflows;
    if (v.status == FrameStatus::Overflow && v.error) {
      overrun(v.error);
    } else {
      rx_.push_back(data[take]);  // one byte past the bound, to show it
      overrun(overflowError(rx_.data(), rx_.size()));
    }
    return;
  }
  if (v.status == FrameStatus::Complete) {
    finish({});
  } else if (v.status == FrameStatus::Invalid) {
    invalidError_ = v.error;
    const unsigned ep = epoch_;
    const uint64_t seq = txSeq_;
    settleTimer_.expires_after(cur_.settle.count() >= 0 ? cur_.settle : opts_.settle);
    settleTimer_.async_wait([self = shared_from_this(), ep, seq](std::error_code ec) {
      if (ec || ep != self->epoch_ || seq != self->txSeq_ || !self->busy_) return;
      self->finish(self->invalidError_);
    });
  } else {
    settleTimer_.cancel();
  }
}

void Channel::pump() {
  if (busy_ || state_ != LinkState::Open || queue_.empty()) return;
  busy_ = true;
  cur_ = std::move(queue_.front());
  queue_.pop_front();
  auto readyAt = lastActivity_ + gap();
  if (readyAt > Clock::now()) {
    const unsigned ep = epoch_;
    gapTimer_.expires_at(readyAt);
    gapTimer_.async_wait([self = shared_from_this(), ep](std::error_code ec) {
      if (ec || ep != self->epoch_ || !self->busy_) return;
      self->startTransaction();
    });
  } else {
    startTransaction();
  }
}

void Channel::startTransaction() {
  stats_.staleBytesDiscarded += link_->discardInput();
  rx_.clear();
  invalidError_ = {};
  ++stats_.requests;
  stats_.bytesSent += cur_.request.size();
  lastRequest_.assign(cur_.request.begin(), cur_.request.end());
  awaitingReply_ = cur_.expectReply;  // before the write: a fast device may answer at once
  sentAt_ = Clock::now();
  const unsigned ep = epoch_;
  const uint64_t seq = ++txSeq_;
  if (cur_.maxDuration.count() > 0) {
    totalTimer_.expires_after(cur_.maxDuration);
    totalTimer_.async_wait([self = shared_from_this(), ep, seq](std::error_code ec) {
      if (ec || ep != self->epoch_ || seq != self->txSeq_ || !self->busy_) return;
      Error e(ErrorKind::Timeout, "ETIMEDOUT",
              "no complete reply within the " + std::to_string(self->cur_.maxDuration.count()) + " ms allowed (" +
                  std::to_string(self->rx_.size()) + " bytes arrived)");
      if (!self->rx_.empty()) e.rawHex = toHex(self->rx_.data(), std::min<size_t>(self->rx_.size(), 64));
      self->overrun(e);
    });
  }
  if (cur_.request.empty()) {  // listen only: nothing to send
    armDeadline(Clock::now() + cur_.timeout);
    return;
  }
  link_->asyncWrite(
      cur_.request.data(), cur_.request.size(), [self = shared_from_this(), ep, seq](std::error_code ec, size_t) {
        if (ep != self->epoch_ || seq != self->txSeq_ || !self->busy_) return;
        if (ec) {
          if (ec == asio::error::operation_aborted) return;
          self->linkLost(
              connectionError("ECONNLOST", "write to " + self->link_->describe() + " failed: " + ec.message()));
          return;
        }
        // On a real wire the bytes leave the UART after the write returns: count their time.
        auto wire = self->link_->charTime() * static_cast<long>(self->cur_.request.size());
        auto onWire = Clock::now() + wire;
        self->lastActivity_ = std::max(self->lastActivity_, onWire);
        if (!self->cur_.expectReply) {
          self->finish({});
          return;
        }
        self->armDeadline(onWire + self->cur_.timeout);
      });
}

// The deadline timer is armed lazily: a request that is answered leaves it running, and the
// next request only moves it when its own deadline is earlier than the time the timer is set
// for. When the timer fires before the current deadline it moves itself there. So a steady
// poller costs no timer syscall per request (timerfd_settime at arming), and a deadline still
// fires at its exact time.
void Channel::armDeadline(Clock::time_point at) {
  deadlineAt_ = at;
  if (deadlineArmed_ <= at) return;  // pending, and it fires at or before `at`
  deadlineArmed_ = at;
  deadline_.expires_at(at);  // aborts the wait set for later, if any
  deadline_.async_wait([self = shared_from_this()](std::error_code ec) {
    if (ec) return;  // aborted: moved earlier or cancelled, and deadlineArmed_ says so
    self->deadlineArmed_ = Clock::time_point::max();
    self->onDeadline();
  });
}

void Channel::onDeadline() {
  if (!busy_ || deadlineAt_ == Clock::time_point::max()) return;  // no deadline now
  const auto now = Clock::now();
  if (deadlineAt_ > now) {  // fired for an earlier deadline: move to this one
    armDeadline(deadlineAt_);
    return;
  }
  if (cur_.idleTimeout) {
    // While reading is paused for back-pressure, the silence is ours, not the device's.
    auto due = (paused_ ? now : lastActivity_) + cur_.timeout;
    if (due > now) {
      armDeadline(due);
      return;
    }
  }
  deadlineAt_ = Clock::time_point::max();
  finish(cur_.onDeadline(rx_.data(), rx_.size()));
}

void Channel::stopDeadline() {
  deadlineAt_ = Clock::time_point::max();
  deadlineArmed_ = Clock::time_point::max();
  deadline_.cancel();
}

void Channel::abortCurrent(const Error& e, bool resetLink) {
  if (!busy_) return;
  if (!resetLink || state_ != LinkState::Open) {
    finish(e);
    return;
  }
  ++epoch_;
  reading_ = false;
  link_->close();
  state_ = LinkState::Reconnecting;
  reconnectAttempt_ = 0;
  scheduleReconnect(e, true);
  finish(e);
}

Error Channel::overflowError(const uint8_t* data, size_t len) const {
  if (cur_.onOverflow) return cur_.onOverflow(data, len);
  Error e(ErrorKind::Protocol, "EFRAME",
          "the reply ran past the " + std::to_string(cur_.maxBytes) + " bytes it can have; stopped reading after " +
              std::to_string(len) + " bytes (starts " + toHex(data, std::min<size_t>(len, 8)) + ")");
  e.rawHex = toHex(data, std::min<size_t>(len, 64));
  return e;
}

void Channel::overrun(const Error& e) {
  if (!busy_) return;
  if (cur_.resetOnOverrun) abortCurrent(e, true);
  else finish(e);
}

void Channel::pauseReading() { paused_ = true; }

void Channel::resumeReading() {
  if (!paused_) return;
  paused_ = false;
  lastActivity_ = std::max(lastActivity_, Clock::now());
  startReading();
}

void Channel::finish(const Error& e) {
  if (!busy_) return;
  busy_ = false;
  awaitingReply_ = false;
  totalTimer_.cancel();
  if (paused_) {  // the pause belonged to this transaction
    paused_ = false;
    startReading();
  }
  deadlineAt_ = Clock::time_point::max();  // the timer may run on: armDeadline reuses it
  settleTimer_.cancel();
  gapTimer_.cancel();
  if (!e) {
    ++stats_.replies;
    if (cur_.expectReply) {
      double ms = std::chrono::duration<double, std::milli>(Clock::now() - sentAt_).count();
      latency_.push_back(ms);
      if (latency_.size() > kLatencySamples) latency_.pop_front();
    }
    if (!rx_.empty()) lastReply_.assign(rx_.begin(), rx_.end());
  } else {
    if (e.kind == ErrorKind::Timeout) ++stats_.timeouts;
    else if (e.kind == ErrorKind::Protocol) ++stats_.protocolErrors;
    stats_.lastErrorCode = e.code;
    if (!rx_.empty()) lastReply_.assign(rx_.begin(), rx_.end());
  }
  Transaction t = std::move(cur_);
  cur_ = Transaction{};
  Bytes got = std::move(rx_);
  rx_.clear();
  ++txSeq_;                    // late timer/write handlers of this transaction are now ignored
  if (t.done) t.done(e, got);  // may submit the next request itself (pump runs there)
  pump();
}

void Channel::linkLost(const Error& e) {
  if (state_ != LinkState::Open) return;
  ++epoch_;
  reading_ = false;
  ++stats_.linkErrors;
  link_->close();
  state_ = LinkState::Reconnecting;  // submit() now fails fast
  // The state change is reported before the failures, so a caller that sees the rejection
  // already sees the bus as reconnecting.
  reconnectAttempt_ = 0;
  scheduleReconnect(e);
  if (busy_) finish(e);
  failQueue(connectionError("ENOTCONNECTED", link_->describe() + " was lost; reconnecting"));
}

void Channel::scheduleReconnect(const Error& why, bool immediate) {
  double base = static_cast<double>(opts_.reconnectMin.count()) * std::pow(2.0, std::min(reconnectAttempt_, 20u));
  base = std::min(base, static_cast<double>(opts_.reconnectMax.count()));
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  auto delay =
      immediate ? std::chrono::milliseconds(0) : std::chrono::milliseconds(static_cast<long long>(base * jitter(rng_)));
  ++reconnectAttempt_;
  nextRetryAt_ = Clock::now() + delay;
  setState(LinkState::Reconnecting, why, delay);
  const unsigned ep = epoch_;
  reconnectTimer_.expires_after(delay);
  reconnectTimer_.async_wait([self = shared_from_this(), ep](std::error_code ec) {
    if (ec || ep != self->epoch_ || self->state_ != LinkState::Reconnecting) return;
    self->link_->asyncOpen([self, ep](const Error& e) {
      if (ep != self->epoch_ || self->state_ != LinkState::Reconnecting) {
        return;
      }
      if (e) {
        self->link_->close();
        self->scheduleReconnect(e);
        return;
      }
      self->reconnectAttempt_ = 0;
      ++self->stats_.reconnects;
      self->lastActivity_ = Clock::now();
      self->setState(LinkState::Open);
      self->startReading();
      self->pump();
    });
  });
}

ChannelStats Channel::stats() const {
  ChannelStats s = stats_;
  s.queueDepth = queue_.size() + (busy_ ? 1 : 0);
  s.lastRequestHex = toHex(lastRequest_);
  s.lastReplyHex = toHex(lastReply_);
  s.latencyMs.assign(latency_.begin(), latency_.end());
  return s;
}

}  // namespace fl::io
