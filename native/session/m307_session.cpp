#include "session/m307_session.hpp"

#include <algorithm>
#include <cstring>

namespace fl::session {

using m307::Record;

namespace {

Error verifyError(const std::string& what) { return Error(ErrorKind::Device, "EVERIFY", what); }

Record toRecord(const Bytes& b, size_t offset = 0) {
  Record r{};
  std::memcpy(r.data(), b.data() + offset, m307::kRecordSize);
  return r;
}

Error overflowError(const std::string& what, const uint8_t* data, size_t len) {
  Error e(ErrorKind::Protocol, "EFRAME",
          "the reply to " + what + " ran past the 60 bytes an M307 reply has: stopped reading after " +
              std::to_string(len) + " bytes (starts " + toHex(data, std::min<size_t>(len, 8)) + ")");
  e.rawHex = toHex(data, len);
  return e;
}

}  // namespace

void M307Session::enqueue(Op op) {
  ops_.push_back(std::move(op));
  if (!running_) runNext();
}

void M307Session::runNext() {
  if (ops_.empty()) {
    running_ = false;
    return;
  }
  running_ = true;
  Op op = std::move(ops_.front());
  ops_.pop_front();
  std::weak_ptr<M307Session> weak = shared_from_this();
  op([weak] {
    if (auto self = weak.lock()) self->runNext();
  });
}

void M307Session::exchange(Record request, std::function<bool(const Record&)> accept, const char* what,
                           RecordDone done) {
  io::Transaction tx;
  tx.request.assign(request.begin(), request.end());
  tx.timeout = opts_.timeout;
  tx.framer = [accept = std::move(accept), what](const uint8_t* data, size_t len) {
    io::FrameVerdict v;
    if (len < m307::kRecordSize) return v;
    Record r{};
    std::memcpy(r.data(), data, m307::kRecordSize);
    if (accept(r)) {
      v.status = io::FrameStatus::Complete;
    } else {
      v.status = io::FrameStatus::Invalid;
      v.error = Error(ErrorKind::Protocol, "EFRAME",
                      std::string("unexpected reply to ") + what + " (starts " + toHex(data, 4) + ")");
      v.error.rawHex = toHex(data, len);
    }
    return v;
  };
  // Every reply is one 60-byte record: a 61st byte means the peer is not answering this.
  tx.maxBytes = m307::kRecordSize;
  tx.resetOnOverrun = true;
  tx.onOverflow = [what](const uint8_t* data, size_t len) { return overflowError(what, data, len); };
  tx.onDeadline = [what](const uint8_t* data, size_t len) {
    if (len == 0) return Error(ErrorKind::Timeout, "ETIMEDOUT", std::string("no reply to ") + what);
    Error e(ErrorKind::Protocol, "EFRAME",
            std::string("incomplete reply to ") + what + " (" + std::to_string(len) + " of 60 bytes)");
    e.rawHex = toHex(data, len);
    return e;
  };
  tx.done = [done = std::move(done)](const Error& e, const Bytes& got) {
    if (e) {
      done(e, Record{});
      return;
    }
    done({}, toRecord(got));
  };
  channel_->submit(std::move(tx));
}

void M307Session::readStatus(RecordDone done) {
  auto self = shared_from_this();
  enqueue([self, done = std::move(done)](std::function<void()> finished) {
    self->exchange(m307::statusRequest(), m307::isStatusReply, "read status",
                   [done, finished = std::move(finished)](const Error& e, const Record& r) {
                     done(e, r);
                     finished();
                   });
  });
}

void M307Session::readUserRecord(int n, RecordDone done) {
  if (Error e = m307::validateRecordIndex(n)) {
    done(e, Record{});
    return;
  }
  auto self = shared_from_this();
  enqueue([self, n, done = std::move(done)](std::function<void()> finished) {
    self->exchange(
        m307::readUserRecordRequest(n), [n](const Record& r) { return m307::isUserRecordReply(r, n); },
        "read user record",
        [done, finished = std::move(finished)](const Error& e, const Record& r) {
          done(e, r);
          finished();
        });
  });
}

void M307Session::writeUserRecord(int n, Record data, RecordDone done) {
  if (Error e = m307::validateRecordIndex(n)) {
    done(e, Record{});
    return;
  }
  auto self = shared_from_this();
  enqueue([self, n, data, done = std::move(done)](std::function<void()> finished) {
    Record req = m307::writeUserRecordRequest(n, data);
    // The device answers a write with the READ command and the stored data.
    self->exchange(
        req, [n](const Record& r) { return m307::isUserRecordReply(r, n); }, "write user record",
        [req, n, done, finished = std::move(finished)](const Error& e, const Record& reply) {
          if (!e && !m307::sameData(req, reply)) {
            Error v = verifyError("user record " + std::to_string(n) + " did not stick: the device stored other bytes");
            v.rawHex = toHex(reply.data(), reply.size());
            done(v, reply);
          } else {
            done(e, reply);
          }
          finished();
        });
  });
}

void M307Session::updateFields(int n, std::vector<m307::FieldValue> values, UpdateDone done) {
  {
    Record scratch{};
    if (Error e = m307::applyFields(n, values, scratch)) {
      done(e, Record{}, Record{}, false);
      return;
    }
  }
  auto self = shared_from_this();
  enqueue([self, n, values = std::move(values), done = std::move(done)](std::function<void()> finished) {
    self->exchange(
        m307::readUserRecordRequest(n), [n](const Record& r) { return m307::isUserRecordReply(r, n); },
        "read user record",
        [self, n, values, done, finished = std::move(finished)](const Error& e, const Record& before) {
          if (e) {
            done(e, before, before, false);
            finished();
            return;
          }
          Record after = before;
          m307::applyFields(n, values, after);  // validated above
          if (m307::sameData(before, after)) {
            done({}, before, after, false);
            finished();
            return;
          }
          Record req = m307::writeUserRecordRequest(n, after);
          self->exchange(
              req, [n](const Record& r) { return m307::isUserRecordReply(r, n); }, "write user record",
              [req, n, before, done, finished](const Error& e2, const Record& reply) {
                if (!e2 && !m307::sameData(req, reply)) {
                  Error v = verifyError("user record " + std::to_string(n) +
                                        " did not stick: the device stored other bytes than written");
                  v.rawHex = toHex(reply.data(), reply.size());
                  done(v, before, reply, false);
                } else {
                  done(e2, before, reply, !e2);
                }
                finished();
              });
        });
  });
}

void M307Session::readClock(RecordDone done) {
  auto self = shared_from_this();
  enqueue([self, done = std::move(done)](std::function<void()> finished) {
    self->exchange(m307::readClockRequest(), m307::isClockReply, "read clock",
                   [done, finished = std::move(finished)](const Error& e, const Record& r) {
                     done(e, r);
                     finished();
                   });
  });
}

void M307Session::setClock(m307::DateTime dt, int logRateMinutes, RecordDone done) {
  if (Error e = m307::validateClock(dt, logRateMinutes)) {
    done(e, Record{});
    return;
  }
  auto self = shared_from_this();
  enqueue([self, dt, rate = logRateMinutes, done = std::move(done)](std::function<void()> finished) {
    io::Transaction tx;
    Record req = m307::setClockRequest(dt, rate);
    tx.request.assign(req.begin(), req.end());
    // The guide documents no reply: accept 60 bytes, or silence.
    tx.timeout = std::min(self->opts_.timeout, self->opts_.clockReplyWait);
    tx.framer = [](const uint8_t*, size_t len) {
      io::FrameVerdict v;
      if (len >= m307::kRecordSize) v.status = io::FrameStatus::Complete;
      return v;
    };
    tx.onDeadline = [](const uint8_t*, size_t) { return Error(); };
    tx.maxBytes = m307::kRecordSize;
    tx.resetOnOverrun = true;
    tx.onOverflow = [](const uint8_t* data, size_t len) { return overflowError("store date/time", data, len); };
    tx.done = [self, dt, rate, done, finished = std::move(finished)](const Error& e, const Bytes&) {
      if (e) {
        done(e, Record{});
        finished();
        return;
      }
      self->exchange(m307::readClockRequest(), m307::isClockReply, "read clock",
                     [dt, rate, done, finished](const Error& e2, const Record& r) {
                       if (e2) {
                         done(e2, r);
                       } else {
                         m307::ClockInfo c = m307::decodeClock(r.data());
                         const auto& g = c.datetime;
                         // The clock runs on: allow the minute to have moved on by one.
                         int wrote = dt.hour * 60 + dt.minute, read = g.hour * 60 + g.minute;
                         int drift = (read - wrote + 1440) % 1440;
                         bool ok = c.valid && g.year == dt.year && g.month == dt.month && g.day == dt.day &&
                                   drift <= 1 && c.logRateMinutes == rate;
                         if (!ok && c.valid && drift <= 1 && c.logRateMinutes == rate && dt.hour == 23 && g.hour == 0)
                           ok = true;
                         if (ok) done({}, r);
                         else {
                           Error v = verifyError("the clock did not take the new date/time or log rate");
                           v.rawHex = toHex(r.data(), r.size());
                           done(v, r);
                         }
                       }
                       finished();
                     });
    };
    self->channel_->submit(std::move(tx));
  });
}

void M307Session::readLog(bool resetPointer, LogBatch onBatch, LogDone done) {
  auto self = shared_from_this();
  enqueue([self, resetPointer, onBatch = std::move(onBatch), done = std::move(done)](std::function<void()> finished) {
    auto parser = std::make_shared<m307::LogStreamParser>();
    auto fed = std::make_shared<size_t>(0);
    io::Transaction tx;
    Record req = m307::readLogRequest(resetPointer);
    tx.request.assign(req.begin(), req.end());
    tx.timeout = self->opts_.logIdleTimeout;
    tx.idleTimeout = true;
    // Bounded in bytes by what the device can hold, and in time as a whole.
    tx.maxBytes = m307::kLogMaxStreamBytes;
    tx.maxDuration = self->opts_.logTimeout;
    tx.resetOnOverrun = true;
    auto tooLong = [parser](size_t len) {
      Error e(ErrorKind::Protocol, "EFRAME",
              "the log stream ran past what an M307 holds (" + std::to_string(m307::kLogCapacity) +
                  " records of 15 bytes, THE-END and an echo: " + std::to_string(m307::kLogMaxStreamBytes) +
                  " bytes): stopped reading after " + std::to_string(len) + " bytes, " +
                  std::to_string(parser->recordCount()) + " records and no THE-END");
      return e;
    };
    tx.onOverflow = [tooLong](const uint8_t*, size_t len) { return tooLong(len); };
    std::weak_ptr<M307Session> weak = self;
    tx.framer = [weak, parser, fed, onBatch, tooLong](const uint8_t* data, size_t len) {
      io::FrameVerdict v;
      size_t before = parser->recordCount();
      size_t added = parser->feed(data + *fed, len - *fed);
      *fed = len;
      if (parser->recordCount() > m307::kLogCapacity) {
        v.status = io::FrameStatus::Overflow;
        v.error = tooLong(len);
        return v;
      }
      if (added) {
        onBatch(parser->record(before), added, parser->recordCount());
        if (auto s = weak.lock()) {
          s->logInFlight_ += added;
          if (s->logInFlight_ >= kLogWindow) s->channel_->pauseReading();
        }
      }
      if (parser->done()) v.status = io::FrameStatus::Complete;
      return v;
    };
    tx.onDeadline = [parser](const uint8_t*, size_t len) {
      if (len == 0) return Error(ErrorKind::Timeout, "ETIMEDOUT", "no reply to read log");
      return Error(
          ErrorKind::Timeout, "ETIMEDOUT",
          "the log stream stopped after " + std::to_string(parser->recordCount()) + " records without THE-END");
    };
    self->logActive_ = true;
    self->logInFlight_ = 0;
    tx.done = [self, parser, done, finished = std::move(finished)](const Error& e, const Bytes&) {
      self->logActive_ = false;
      self->logInFlight_ = 0;
      done(e, parser->recordCount(), parser->sawEcho());
      finished();
    };
    self->channel_->submit(std::move(tx));
  });
}

void M307Session::logConsumed(size_t records) {
  logInFlight_ -= std::min(logInFlight_, records);
  if (logActive_ && logInFlight_ <= kLogWindow / 2) channel_->resumeReading();
}

void M307Session::cancelLog() {
  if (!logActive_) return;
  channel_->abortCurrent(Error(ErrorKind::Connection, "EABORTED", "log download cancelled"), true);
}

}  // namespace fl::session
