// Channel: one Link plus a FIFO of transactions with exactly one request on the wire.
// Owns the deadlines, the inter-frame gap, the stale-input flush and reconnection
// with capped exponential backoff. Every method runs on the engine thread.
#pragma once
#include <array>
#include <asio.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <random>

#include "common/bytes.hpp"
#include "common/error.hpp"
#include "io/link.hpp"

namespace fl::io {

using Clock = std::chrono::steady_clock;

// Overflow: more than the protocol allows arrived; the transaction ends at once with the
// verdict's error (no settle time), resetting the link if the transaction asks for it.
enum class FrameStatus { NeedMore, Complete, Invalid, Overflow };

struct FrameVerdict {
  FrameStatus status = FrameStatus::NeedMore;
  Error error;  // with Invalid: why (reported if nothing better arrives before the settle time)
};

struct Transaction {
  static constexpr size_t kDefaultMaxReply = 65536;
  Bytes request;
  bool expectReply = true;
  std::chrono::milliseconds timeout{500};
  // When true the deadline restarts whenever bytes arrive (a long stream: `timeout` is
  // then the longest silence allowed, not the whole transfer).
  bool idleTimeout = false;
  // Quiet time after an Invalid verdict before the transaction ends; < 0: the channel's.
  std::chrono::milliseconds settle{-1};
  // The most bytes a reply may have: one more byte ends the transaction at once (the
  // channel keeps no more than this), with onOverflow's error or a generic ProtocolError
  // EFRAME saying what arrived. A peer that never stops talking costs this much, no more.
  size_t maxBytes = kDefaultMaxReply;
  std::function<Error(const uint8_t*, size_t)> onOverflow;
  // The whole transaction, however bytes arrive (0: no bound beyond `timeout`). With
  // idleTimeout this is what stops a slow drip that never goes quiet long enough.
  std::chrono::milliseconds maxDuration{0};
  // Close and reopen the link when the transaction ends by overflow or maxDuration: a
  // stream that keeps coming cannot be stopped any other way (TCP).
  bool resetOnOverrun = false;
  // Called with every byte received since the request went out.
  std::function<FrameVerdict(const uint8_t*, size_t)> framer;
  // The error to report when the deadline passes with these bytes received.
  std::function<Error(const uint8_t*, size_t)> onDeadline;
  // Completion: error (empty on success) and the bytes received.
  std::function<void(const Error&, const Bytes&)> done;
};

enum class LinkState { Connecting, Open, Reconnecting, Closed };
const char* linkStateName(LinkState s);

// The inter-frame gap a family keeps on a real wire: `chars` character times (tenths, so
// 35 = 3.5) or `atLeast`, whichever is longer.
struct WireGap {
  unsigned tenthsOfChars = 0;
  std::chrono::microseconds atLeast{0};
};

// The one rule behind interFrameDelay 'auto', for every family: no gap where the link has no
// wire (charTime() == 0: a pseudo-terminal, TCP), the family's WireGap on a serial line.
std::chrono::microseconds autoGap(const Link& link, const WireGap& rule);

// Every value here is set by the caller (the addon passes lib/defaults.js's); the zeroes
// below are not defaults of the product, only what a test gets when it sets nothing.
struct ChannelOptions {
  std::chrono::microseconds interFrameGap{-1};  // < 0: 'auto' (autoGap with wireGap)
  WireGap wireGap;
  std::chrono::milliseconds settle{0};  // quiet time before an invalid reply is final
  std::chrono::milliseconds reconnectMin{0};
  std::chrono::milliseconds reconnectMax{0};
  size_t queueLimit = 0;  // 0: no limit
};

struct ChannelStats {
  uint64_t requests = 0, replies = 0, timeouts = 0, protocolErrors = 0, linkErrors = 0;
  uint64_t reconnects = 0, bytesSent = 0, bytesReceived = 0, staleBytesDiscarded = 0;
  uint64_t rejectedNotConnected = 0, rejectedQueueFull = 0, overflows = 0;
  size_t queueDepth = 0;
  std::string lastRequestHex, lastReplyHex, lastErrorCode;
  std::vector<double> latencyMs;  // recent round trips, oldest first
  LinkState state = LinkState::Connecting;
};

class Channel : public std::enable_shared_from_this<Channel> {
 public:
  using StateHandler = std::function<void(LinkState, const Error&, std::chrono::milliseconds retryIn)>;

  Channel(asio::io_context& io, std::unique_ptr<Link> link, ChannelOptions opts, StateHandler onState);
  ~Channel();

  // First open: reports failure to `done` and does not retry. Later losses reconnect.
  void open(std::function<void(const Error&)> done);
  void submit(Transaction tx);
  void close(const std::function<void()>& done);
  // Ends the transaction in flight with `e`. With resetLink the link is closed and reopened
  // (for a byte stream that cannot be stopped any other way).
  void abortCurrent(const Error& e, bool resetLink);
  // Back-pressure: while paused, nothing is read from the link (the kernel buffer fills and
  // the peer is slowed by flow control) and the silence does not count against the
  // transaction's idle timeout. Engine thread.
  void pauseReading();
  void resumeReading();
  bool readingPaused() const { return paused_; }
  ChannelStats stats() const;
  LinkState state() const { return state_; }
  Link& link() { return *link_; }

 private:
  void setState(LinkState s, const Error& e = {}, std::chrono::milliseconds retryIn = std::chrono::milliseconds(0));
  void startReading();
  void onBytes(const uint8_t* data, size_t n);
  void pump();
  void startTransaction();
  void finish(const Error& e);
  void linkLost(const Error& e);
  void scheduleReconnect(const Error& why, bool immediate = false);
  void armDeadline(Clock::time_point at);
  void onDeadline();
  void stopDeadline();
  void overrun(const Error& e);
  Error overflowError(const uint8_t* data, size_t len) const;
  void failQueue(const Error& e);
  std::chrono::microseconds gap() const;

  asio::io_context& io_;
  std::unique_ptr<Link> link_;
  ChannelOptions opts_;
  StateHandler onState_;
  LinkState state_ = LinkState::Connecting;
  unsigned epoch_ = 0;  // bumped on every open/close: stale handlers check it

  std::deque<Transaction> queue_;
  bool busy_ = false;
  bool awaitingReply_ = false;
  Transaction cur_;
  Bytes rx_;
  Clock::time_point sentAt_{};
  Clock::time_point lastActivity_{};
  Clock::time_point deadlineAt_ = Clock::time_point::max();     // the transaction's; max: none
  Clock::time_point deadlineArmed_ = Clock::time_point::max();  // when deadline_ fires; max: idle
  Error invalidError_;
  uint64_t txSeq_ = 0;

  asio::steady_timer gapTimer_, deadline_, settleTimer_, reconnectTimer_;
  // Small while replies are small; a read that fills it switches to kReadLarge, so a stream
  // (the M307 log's 60 KB) is drained in a few reads and the sender's window reopens at once.
  static constexpr size_t kReadSmall = 4096, kReadLarge = 65536;
  std::vector<uint8_t> readBuf_ = std::vector<uint8_t>(kReadSmall);
  bool reading_ = false;
  bool paused_ = false;
  asio::steady_timer totalTimer_;

  unsigned reconnectAttempt_ = 0;
  Clock::time_point nextRetryAt_{};
  std::mt19937 rng_{std::random_device{}()};

  ChannelStats stats_;
  Bytes lastRequest_, lastReply_;  // hex-formatted only when stats() asks
  std::deque<double> latency_;
};

}  // namespace fl::io
