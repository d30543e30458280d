// NineBitLink: a serial port for a 9-bit bus (the Outback MATE bus, 9600 9N1) on an
// 8-bit UART. The 9th bit is set on the first byte of each packet only, carried in the
// parity bit: MARK for byte 0 and SPACE for the rest, or, where mark/space parity is not
// available, ODD/EVEN chosen per byte (docs/protocols/mate.md §3). Before every parity change the
// output queue is drained, without blocking the engine thread (timers + TIOCOUTQ).
// Every parity decision is recorded, because ptys cannot show parity (docs/protocols/mate.md §3).
#pragma once
#include <deque>
#include <string>
#include <vector>

#include "io/serial_link.hpp"

namespace fl::io {

enum class NineBitMode { Auto, MarkSpace, OddEven };
const char* nineBitModeName(NineBitMode m);

struct ParityStep {
  char parity;   // 'M', 'S', 'O', 'E'
  size_t bytes;  // how many bytes were written under it
};

class NineBitLink : public SerialLink {
 public:
  NineBitLink(asio::io_context& io, SerialSettings settings, NineBitMode mode);

  void asyncOpen(OpenHandler done) override;
  void asyncWrite(const uint8_t* data, size_t len, IoHandler done) override;
  void close() override;

  // The mode in use after open (Auto resolves to MarkSpace or OddEven).
  NineBitMode activeMode() const { return active_; }
  // The parity steps of the last packets written, oldest first (bounded).
  const std::deque<std::vector<ParityStep>>& parityTrace() const { return trace_; }
  // Plans the parity steps for one packet (pure; exposed for tests).
  static std::vector<std::pair<char, std::vector<uint8_t>>> plan(const uint8_t* data, size_t len, NineBitMode mode);

 private:
  bool setParity(char p);
  void runStep(size_t i, IoHandler done);
  void drainThen(size_t bytes, std::function<void()> next, int polls = 0);

  asio::io_context& io_;
  NineBitMode mode_, active_ = NineBitMode::MarkSpace;
  char current_ = 0;
  std::vector<std::pair<char, std::vector<uint8_t>>> steps_;
  size_t written_ = 0;
  std::vector<uint8_t> whole_;  // the packet, on a pseudo-terminal (written at once)
  asio::steady_timer drainTimer_;
  std::deque<std::vector<ParityStep>> trace_;
  unsigned epoch_ = 0;
};

}  // namespace fl::io
