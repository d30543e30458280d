#include "session/modbus_bus.hpp"

#include <algorithm>
#include <string>

namespace fl::session {

using modbus::Request;

void ModbusBus::execute(Request req, Done done) {
  if (Error e = modbus::validate(req)) {
    done(e, {});
    return;
  }
  if (req.unit != modbus::kBroadcastUnit && opts_.offlineAfter > 0) {
    UnitHealth& h = units_[req.unit];
    if (h.offline) {
      auto now = io::Clock::now();
      if (now < h.nextProbe) {
        ++h.skipped;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(h.nextProbe - now).count();
        done(Error(ErrorKind::Timeout, "EOFFLINE",
                   "unit " + std::to_string(req.unit) + " is offline (no reply to the last " +
                       std::to_string(h.consecutiveTimeouts) + " requests); next probe in " + std::to_string(left) +
                       " ms"),
             {});
        return;
      }
      h.nextProbe = now + opts_.offlineProbe;  // this request is the probe; others keep skipping
    }
  }
  attempt(std::make_shared<Request>(std::move(req)), opts_.retries, std::move(done));
}

void ModbusBus::attempt(std::shared_ptr<Request> req, unsigned triesLeft, Done done) {
  io::Transaction tx;
  tx.request = modbus::encode(*req);
  tx.expectReply = modbus::expectsReply(*req);
  tx.timeout = tx.expectReply ? opts_.timeout : opts_.broadcastTurnaround;
  auto parsed = std::make_shared<modbus::ParseResult>();
  tx.framer = [req, parsed](const uint8_t* data, size_t len) {
    *parsed = modbus::parseResponse(*req, data, len);
    io::FrameVerdict v;
    v.status = parsed->verdict == modbus::Verdict::Complete  ? io::FrameStatus::Complete
               : parsed->verdict == modbus::Verdict::Invalid ? io::FrameStatus::Invalid
                                                             : io::FrameStatus::NeedMore;
    v.error = parsed->error;
    return v;
  };
  tx.onDeadline = [req](const uint8_t* data, size_t len) { return modbus::deadlineError(*req, data, len); };
  // An RTU frame has at most 256 bytes. Room for an adapter's echo of the request, one
  // stray frame and the reply; past that the line carries noise, not an answer.
  tx.maxBytes = tx.request.size() + 2 * modbus::kMaxAduLength;
  tx.onOverflow = [parsed, req](const uint8_t* data, size_t len) {
    std::string what = std::to_string(len) + " bytes arrived from the line without a valid reply from unit " +
                       std::to_string(req->unit) + "; stopped reading (starts " +
                       toHex(data, std::min<size_t>(len, 8)) + ")";
    Error e = parsed->error ? parsed->error : Error(ErrorKind::Protocol, "EFRAME", "");
    e.message = e.message.empty() ? what : e.message + "; " + what;
    e.rawHex = toHex(data, len);
    return e;
  };
  UnitHealth& h = units_[req->unit];
  ++h.requests;
  std::weak_ptr<ModbusBus> weak = shared_from_this();
  tx.done = [weak, req = std::move(req), parsed, triesLeft, done = std::move(done)](const Error& e, const Bytes&) {
    auto self = weak.lock();
    if (!self) {
      done(e ? e : Error(ErrorKind::Connection, "ECLOSED", "bus closed"), {});
      return;
    }
    if (req->unit == modbus::kBroadcastUnit) {
      done(e, {});
      return;
    }
    Error err = e;
    if (!err && parsed->response.exceptionCode) {
      const uint8_t code = parsed->response.exceptionCode;
      err = rejectedError("exceptionCode", code,
                          "unit " + std::to_string(req->unit) + " answered exception " + std::to_string(code) + " (" +
                              modbus::exceptionName(code) + ")");
    }
    const bool retryable = err && (err.kind == ErrorKind::Timeout || err.kind == ErrorKind::Protocol);
    if (retryable && triesLeft > 0 && self->channel_->state() == io::LinkState::Open) {
      ++self->units_[req->unit].retries;
      self->attempt(req, triesLeft - 1, done);
      return;
    }
    self->record(req->unit, err);
    done(err, parsed->response);
  };
  channel_->submit(std::move(tx));
}

void ModbusBus::record(uint8_t unit, const Error& e) {
  UnitHealth& h = units_[unit];
  if (!e || e.kind == ErrorKind::Device) {
    if (!e) ++h.replies;
    else ++h.exceptions;
    h.consecutiveTimeouts = 0;
    h.offline = false;
    return;
  }
  if (e.kind == ErrorKind::Timeout) {
    ++h.timeouts;
    ++h.consecutiveTimeouts;
    if (opts_.offlineAfter > 0 && h.consecutiveTimeouts >= opts_.offlineAfter) {
      h.offline = true;
      h.nextProbe = io::Clock::now() + opts_.offlineProbe;
    }
  } else {
    ++h.errors;
  }
}

}  // namespace fl::session
