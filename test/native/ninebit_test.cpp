// The 9-bit link for the MATE bus: the parity plan per packet, and the decisions the link
// actually applied, recorded at its interface (a pty cannot show parity on the wire).
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include <asio.hpp>
#include <optional>

#include "catch.hpp"
#include "io/channel.hpp"
#include "io/ninebit_link.hpp"
#include "mate/mate.hpp"
#include "raw_pty.hpp"

using namespace fl;
using namespace std::chrono_literals;

namespace {
int popcount8(uint8_t b) {
  int n = 0;
  for (int i = 0; i < 8; ++i) n += (b >> i) & 1;
  return n;
}
// The parity bit a UART sends for `b` under 'O'/'E'/'M'/'S'.
int parityBitOf(uint8_t b, char p) {
  switch (p) {
    case 'E': return popcount8(b) & 1;
    case 'O': return (popcount8(b) & 1) ^ 1;
    case 'M': return 1;
    default: return 0;
  }
}
}  // namespace

TEST_CASE("ninebit: mark/space plan marks byte 0 only", "[ninebit]") {
  Bytes cmd = mate::command(1, 0x04, 0x0001, 0x00FF);
  auto steps = io::NineBitLink::plan(cmd.data(), cmd.size(), io::NineBitMode::MarkSpace);
  REQUIRE(steps.size() == 2);
  CHECK(steps[0].first == 'M');
  CHECK(steps[0].second == Bytes{0x01});
  CHECK(steps[1].first == 'S');
  CHECK(steps[1].second.size() == 7);
}

TEST_CASE("ninebit: odd/even plan gives every byte the right 9th bit", "[ninebit]") {
  // All 256 values as byte 0 and as a later byte.
  for (int v = 0; v < 256; ++v) {
    uint8_t pkt[3] = {static_cast<uint8_t>(v), static_cast<uint8_t>(v), static_cast<uint8_t>(255 - v)};
    auto steps = io::NineBitLink::plan(pkt, 3, io::NineBitMode::OddEven);
    size_t i = 0;
    for (const auto& s : steps) {
      CHECK((s.first == 'O' || s.first == 'E'));
      for (uint8_t b : s.second) {
        CHECK(b == pkt[i]);
        CHECK(parityBitOf(b, s.first) == (i == 0 ? 1 : 0));
        ++i;
      }
    }
    CHECK(i == 3);
  }
}

TEST_CASE("ninebit: over a pty the bytes arrive whole and the parity steps are recorded", "[ninebit][io]") {
  for (auto mode : {io::NineBitMode::MarkSpace, io::NineBitMode::OddEven}) {
    asio::io_context io;
    const RawPty pty = openRawPty(false);  // the test reads the master with poll()
    REQUIRE(pty.master >= 0);
    const int m = pty.master;
    const int s = pty.slave;
    io::SerialSettings set;
    set.path = pty.path;
    set.driver = io::SerialSettings::Driver::Termios;
    auto link = std::make_unique<io::NineBitLink>(io, set, mode);
    io::NineBitLink* nb = link.get();
    auto ch = std::make_shared<io::Channel>(io, std::move(link), io::ChannelOptions{}, nullptr);
    std::optional<Error> opened;
    ch->open([&](const Error& e) { opened = e; });
    for (int i = 0; i < 100 && !opened; ++i) io.run_one_for(10ms);
    REQUIRE(opened.has_value());
    REQUIRE_FALSE(*opened);
    CHECK(nb->activeMode() == mode);

    Bytes cmd = mate::command(0, 0x02, 0x0000, 0x0000);
    io::Transaction tx;
    tx.request = cmd;
    tx.expectReply = false;
    bool done = false;
    tx.done = [&](const Error& e, const Bytes&) {
      CHECK_FALSE(e);
      done = true;
    };
    ch->submit(std::move(tx));
    for (int i = 0; i < 200 && !done; ++i) io.run_one_for(10ms);
    REQUIRE(done);
    // The kernel hands a pty's bytes to the other side from a work queue, so they may come
    // in more than one read (seen: 7, then 1): read until all 8 are there or 2 s have passed.
    uint8_t buf[64];
    ssize_t n = 0;
    for (int waited = 0; n < 8 && waited < 2000;) {
      struct pollfd pfd {
        m, POLLIN, 0
      };
      if (::poll(&pfd, 1, 10) > 0) {
        ssize_t got = ::read(m, buf + n, sizeof buf - static_cast<size_t>(n));
        if (got > 0) n += got;
      } else {
        waited += 10;
      }
    }
    REQUIRE(n == 8);
    CHECK(Bytes(buf, buf + 8) == cmd);
    REQUIRE(nb->parityTrace().size() == 1);
    const auto& steps = nb->parityTrace().back();
    if (mode == io::NineBitMode::MarkSpace) {
      REQUIRE(steps.size() == 2);
      CHECK(steps[0].parity == 'M');
      CHECK(steps[0].bytes == 1);
      CHECK(steps[1].parity == 'S');
      CHECK(steps[1].bytes == 7);
    } else {
      size_t total = 0, idx = 0;
      for (const auto& st : steps) {
        for (size_t k = 0; k < st.bytes; ++k, ++idx) CHECK(parityBitOf(cmd[idx], st.parity) == (idx == 0 ? 1 : 0));
        total += st.bytes;
      }
      CHECK(total == 8);
    }
    ch->close(nullptr);
    ::close(m);
    ::close(s);
  }
}
