#include "session/mate_bus.hpp"

#include <algorithm>
#include <cstdio>
#include <string>

#include "mate/pjon.hpp"

namespace fl::session {

void MateBus::execute(const mate::Command& cmd, Done done, int retries) {
  if (Error e = mate::validate(cmd)) {
    done(e, {});
    return;
  }
  attempt(std::make_shared<mate::Command>(cmd), retries < 0 ? opts_.retries : static_cast<unsigned>(retries),
          std::move(done));
}

void MateBus::writeVerified(uint8_t port, uint16_t reg, uint16_t value,
                            std::function<void(const Error&, uint16_t)> done) {
  std::weak_ptr<MateBus> weak = shared_from_this();
  execute(mate::Command::write(port, reg, value), [weak, port, reg, value, done = std::move(done)](const Error& e,
                                                                                                   const mate::Reply&) {
    auto self = weak.lock();
    if (e || !self) {
      done(e ? e : Error(ErrorKind::Connection, "ECLOSED", "bus closed"), 0);
      return;
    }
    self->execute(mate::Command::read(port, reg), [port, reg, value, done](const Error& e2, const mate::Reply& r) {
      if (e2) {
        done(e2, 0);
        return;
      }
      if (r.value != value) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%04X", static_cast<unsigned>(reg));
        Error v(ErrorKind::Device, "EVERIFY",
                "port " + std::to_string(port) + " register " + hex + " did not take " + std::to_string(value) +
                    ": it reads back " + std::to_string(r.value));
        v.numbers = {{"port", port}, {"register", reg}, {"written", value}, {"readBack", r.value}};
        done(v, r.value);
        return;
      }
      done({}, r.value);
    });
  });
}

void MateBus::attempt(std::shared_ptr<mate::Command> cmd, unsigned triesLeft, Done done) {
  io::Transaction tx;
  const bool bridge = opts_.pjonBridge;
  tx.request = bridge ? mate::pjon::frame(mate::pjon::encodeCommand(*cmd)) : mate::encode(*cmd);
  tx.timeout = opts_.timeout;
  auto parsed = std::make_shared<mate::ParseResult>();
  tx.framer = [cmd, parsed, bridge](const uint8_t* data, size_t len) {
    *parsed = bridge ? mate::pjon::parseBridgeReply(*cmd, data, len) : mate::parseReply(*cmd, data, len);
    io::FrameVerdict v;
    v.status = parsed->verdict == mate::Verdict::Complete  ? io::FrameStatus::Complete
               : parsed->verdict == mate::Verdict::Invalid ? io::FrameStatus::Invalid
                                                           : io::FrameStatus::NeedMore;
    v.error = parsed->error;
    return v;
  };
  tx.onDeadline = [cmd, bridge](const uint8_t* data, size_t len) {
    return bridge ? mate::pjon::bridgeDeadlineError(*cmd, data, len) : mate::deadlineError(*cmd, data, len);
  };
  // Replies have known lengths (17 bytes at most; a bridge wraps one in a PJON frame):
  // room for an echo of the command and a stray frame, and no more.
  tx.maxBytes = bridge ? 4 * (mate::pjon::kMaxPayload + 16) : 4 * mate::kLogReplyLength;
  tx.onOverflow = [parsed, cmd](const uint8_t* data, size_t len) {
    std::string what = std::to_string(len) + " bytes arrived from port " + std::to_string(cmd->port) +
                       " without a valid reply; stopped reading (starts " + toHex(data, std::min<size_t>(len, 8)) + ")";
    Error e = parsed->error ? parsed->error : Error(ErrorKind::Protocol, "EFRAME", "");
    e.message = e.message.empty() ? what : e.message + "; " + what;
    e.rawHex = toHex(data, len);
    return e;
  };
  std::weak_ptr<MateBus> weak = shared_from_this();
  tx.done = [weak, cmd = std::move(cmd), parsed, triesLeft, done = std::move(done)](const Error& e, const Bytes&) {
    auto self = weak.lock();
    if (!self) {
      done(e ? e : Error(ErrorKind::Connection, "ECLOSED", "bus closed"), {});
      return;
    }
    // Timeouts and damaged replies are retried (pymate issues #23/#24: home-made adapters);
    // a device's "invalid command" is an answer, not a transmission fault.
    const bool retryable = e && (e.kind == ErrorKind::Timeout || e.kind == ErrorKind::Protocol);
    if (retryable && triesLeft > 0 && self->channel_->state() == io::LinkState::Open) {
      ++self->retriesUsed_;
      self->attempt(cmd, triesLeft - 1, done);
      return;
    }
    done(e, parsed->reply);
  };
  channel_->submit(std::move(tx));
}

}  // namespace fl::session
