// M307Session: the M307 Temperature Guard over one TCP connection (port 10001).
// Operations run one at a time (a read-modify-write of a user record cannot be split by
// another request); each is one or more 60-byte exchanges on the Channel.
#pragma once
#include <chrono>
#include <deque>
#include <functional>
#include <memory>

#include "io/channel.hpp"
#include "m307/m307.hpp"

namespace fl::session {

// Set by the caller (the addon passes lib/defaults.js's values); only clockReplyWait, a
// protocol fact rather than a setting, has its value here.
struct M307Options {
  std::chrono::milliseconds timeout{0};
  std::chrono::milliseconds logIdleTimeout{0};     // longest silence inside a log download
  std::chrono::milliseconds clockReplyWait{1000};  // the store-clock reply is undocumented
  // The whole log download, however the bytes trickle in (a slow drip never trips the idle
  // timeout). 4,000 records through a 9,600-baud serial server take about 63 s.
  std::chrono::milliseconds logTimeout{0};
};

class M307Session : public std::enable_shared_from_this<M307Session> {
 public:
  using RecordDone = std::function<void(const Error&, const m307::Record&)>;
  using UpdateDone =
      std::function<void(const Error&, const m307::Record& before, const m307::Record& after, bool changed)>;
  using LogBatch = std::function<void(const uint8_t* records, size_t count, size_t totalSoFar)>;
  using LogDone = std::function<void(const Error&, size_t total, bool sawEcho)>;

  M307Session(std::shared_ptr<io::Channel> channel, M307Options opts) : channel_(std::move(channel)), opts_(opts) {}
  io::Channel& channel() { return *channel_; }

  // All on the engine thread.
  void readStatus(RecordDone done);
  void readUserRecord(int n, RecordDone done);
  // Writes `data` (bytes 4..59) as record n and checks the reply (EVERIFY on mismatch).
  void writeUserRecord(int n, m307::Record data, RecordDone done);
  // Read, change only the named fields, write, verify.
  void updateFields(int n, std::vector<m307::FieldValue> values, UpdateDone done);
  void readClock(RecordDone done);
  // Stores date/time and log rate, then reads the clock back to verify.
  void setClock(m307::DateTime dt, int logRateMinutes, RecordDone done);
  void readLog(bool resetPointer, LogBatch onBatch, LogDone done);
  // Stops a log download in progress (the connection is reset to resynchronise).
  void cancelLog();
  // Back-pressure: the bridge reports each batch of records once JS has taken it. While more
  // than kLogWindow records wait for JS, the channel stops reading the socket.
  void logConsumed(size_t records);
  static constexpr size_t kLogWindow = 2048;

 private:
  using Op = std::function<void(std::function<void()> finished)>;
  void enqueue(Op op);
  void runNext();
  void exchange(m307::Record request, std::function<bool(const m307::Record&)> accept, const char* what,
                RecordDone done);

  std::shared_ptr<io::Channel> channel_;
  M307Options opts_;
  std::deque<Op> ops_;
  bool running_ = false;
  bool logActive_ = false;
  size_t logInFlight_ = 0;  // records handed to the bridge, not yet taken by JS
};

}  // namespace fl::session
