// Issue #12: one error vocabulary ranked by Cause, the one 'auto' gap rule (io::autoGap),
// core's CRC-frame search, the FX control table tied to the register table, and the MATE
// session's verified write over a real pseudo-terminal.
#include <fcntl.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include <asio.hpp>
#include <optional>

#include "catch.hpp"
#include "io/channel.hpp"
#include "io/ninebit_link.hpp"
#include "mate/mate.hpp"
#include "mate/registers.hpp"
#include "modbus/modbus.hpp"
#include "raw_pty.hpp"
#include "session/mate_bus.hpp"

using namespace fl;
using namespace std::chrono_literals;

namespace {

// A Link that only reports a character time (autoGap needs nothing else).
struct WireStub : io::Link {
  std::chrono::microseconds ch;
  explicit WireStub(std::chrono::microseconds c) : ch(c) {}
  void asyncOpen(OpenHandler) override {}
  void asyncWrite(const uint8_t*, size_t, IoHandler) override {}
  void asyncReadSome(uint8_t*, size_t, IoHandler) override {}
  void close() override {}
  bool isOpen() const override { return true; }
  size_t discardInput() override { return 0; }
  std::chrono::microseconds charTime() const override { return ch; }
  std::string describe() const override { return "stub"; }
};

long long numberField(const Error& e, const std::string& k) {
  for (const auto& [name, v] : e.numbers)
    if (name == k) return v;
  return -1000;
}

std::string labelField(const Error& e, const std::string& k) {
  for (const auto& [name, v] : e.labels)
    if (name == k) return v;
  return "";
}

}  // namespace

TEST_CASE("errors: one code per meaning, ranked by Cause, not by string", "[error]") {
  Error none;
  Error timeout(ErrorKind::Timeout, "ETIMEDOUT", "no reply");
  Error frame = frameError("short");
  Error mismatch = mismatchError("unit", 1, 7, "unit 7 answered");
  Error checksum = checksumError("crc16", "bad crc");
  Error rejected = rejectedError("exceptionCode", 2, "refused");
  CHECK(none.rank() == 0);
  CHECK(timeout.rank() < frame.rank());
  CHECK(frame.rank() < mismatch.rank());
  CHECK(mismatch.rank() < checksum.rank());
  CHECK(checksum.rank() < rejected.rank());
  CHECK(checksum.code == "ECHECKSUM");
  CHECK(labelField(checksum, "check") == "crc16");
  CHECK(mismatch.code == "EMISMATCH");
  CHECK(labelField(mismatch, "mismatch") == "unit");
  CHECK(numberField(mismatch, "expected") == 1);
  CHECK(numberField(mismatch, "got") == 7);
  CHECK(rejected.code == "EREJECTED");
  CHECK(rejected.kind == ErrorKind::Device);
  CHECK(rejected.detail == 2);
  CHECK(numberField(rejected, "exceptionCode") == 2);
  // Several acceptable values: no expected field at all.
  CHECK(numberField(mismatchError("deviceType", -1, 4, "a DC answered"), "expected") == -1000);
}

TEST_CASE("errors: the Modbus and MATE parsers report the shared codes with their fields", "[error][modbus][mate]") {
  // Modbus: a CRC-valid reply from unit 7 to a request for unit 1.
  modbus::Request req = modbus::Request::read(1, modbus::kReadInputRegisters, 1, 1);
  Bytes other = {7, 0x04, 0x02, 0x00, 0x01};
  uint16_t c = modbus::crc16(other);
  other.push_back(c & 0xFF);
  other.push_back(c >> 8);
  auto r = modbus::parseResponse(req, other.data(), other.size());
  CHECK(r.error.code == "EMISMATCH");
  CHECK(labelField(r.error, "mismatch") == "unit");
  CHECK(numberField(r.error, "got") == 7);
  other[other.size() - 1] ^= 0xFF;
  Bytes bad = {1, 0x04, 0x02, 0x00, 0x01, 0x00, 0x00};
  r = modbus::parseResponse(req, bad.data(), bad.size());
  CHECK(r.error.code == "ECHECKSUM");
  CHECK(labelField(r.error, "check") == "crc16");

  // MATE: a bad checksum after an intact reply of another kind: the checksum error wins
  // (Cause order), wherever it sits in the bytes.
  mate::Command cmd = mate::Command::read(0, 0x0008);
  Bytes statusReply = mate::withChecksum(Bytes{mate::kMx, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13});
  Bytes badRead = {mate::kRead, 0x00, 0xFB, 0x00, 0x00};
  Bytes both = statusReply;
  both.insert(both.end(), badRead.begin(), badRead.end());
  auto m = mate::parseReply(cmd, both);
  CHECK(m.error.code == "ECHECKSUM");
  CHECK(labelField(m.error, "check") == "sum");
  m = mate::parseReply(cmd, statusReply);
  CHECK(m.error.code == "EMISMATCH");
  CHECK(labelField(m.error, "mismatch") == "command");
  CHECK(numberField(m.error, "expected") == mate::kRead);
  CHECK(numberField(m.error, "got") == mate::kMx);
}

TEST_CASE("autoGap: none without a wire, the family's gap on one", "[io][gap]") {
  const io::WireGap modbusRule{modbus::kInterFrameTenthsOfChars, {}};
  const io::WireGap mateRule{0, std::chrono::microseconds(mate::kInterFrameMicros)};
  WireStub pty(0us);  // a pseudo-terminal or TCP: charTime() == 0
  CHECK(io::autoGap(pty, modbusRule) == 0us);
  CHECK(io::autoGap(pty, mateRule) == 0us);
  WireStub wire9600(1042us);  // one 10-bit character at 9,600 baud
  CHECK(io::autoGap(wire9600, modbusRule) == 3647us);
  CHECK(io::autoGap(wire9600, mateRule) == 2000us);
  // The larger of the two parts wins.
  CHECK(io::autoGap(wire9600, io::WireGap{35, 5000us}) == 5000us);
}

TEST_CASE("modbus: findCrcFrame finds a frame with its own CRC anywhere", "[modbus][crc]") {
  Bytes req = modbus::encode(modbus::Request::read(1, modbus::kReadInputRegisters, 1, 2));
  CHECK(modbus::findCrcFrame(req.data(), req.size()) == 0);
  Bytes noisy = {0x55, 0x13, 0x00};
  noisy.insert(noisy.end(), req.begin(), req.end());
  CHECK(modbus::findCrcFrame(noisy.data(), noisy.size()) == 3);
  Bytes none = {1, 2, 3, 4, 5, 6, 7};
  CHECK(modbus::findCrcFrame(none.data(), none.size()) == -1);
}

TEST_CASE("mate: every FX control names a writable register of the FX table", "[mate][registers]") {
  REQUIRE(mate::fxControls().size() == 5);
  for (const auto& c : mate::fxControls()) {
    const mate::RegisterSpec* r = mate::findRegister(mate::kFx, c.registerName);
    REQUIRE(r != nullptr);
    CHECK(r->writable);
    CHECK_FALSE(c.values.empty());
  }
  CHECK(mate::findRegister(mate::kFx, mate::fxControls()[0].registerName)->address == 0x003D);
}

TEST_CASE("mate session: writeVerified reads back and reports EVERIFY over a pty", "[session][mate]") {
  asio::io_context io;
  const RawPty pty = openRawPty(true);
  REQUIRE(pty.master >= 0);
  asio::posix::stream_descriptor master(io);
  master.assign(pty.master);
  // The device: echoes a WRITE, answers every READ with `held`.
  uint16_t held = 0;
  Bytes in;
  std::array<uint8_t, 256> buf{};
  std::function<void()> readMore = [&] {
    master.async_read_some(asio::buffer(buf), [&](std::error_code ec, size_t n) {
      if (ec) return;
      in.insert(in.end(), buf.begin(), buf.begin() + n);
      mate::Command c;
      while (in.size() >= mate::kCommandLength) {
        if (!mate::decodeCommand(in.data(), mate::kCommandLength, c)) {
          in.erase(in.begin());
          continue;
        }
        in.erase(in.begin(), in.begin() + mate::kCommandLength);
        const uint16_t v = c.type == mate::kWrite ? c.value : held;
        Bytes reply = mate::withChecksum(Bytes{c.type, static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v & 0xFF)});
        asio::write(master, asio::buffer(reply));
      }
      readMore();
    });
  };
  readMore();

  io::SerialSettings set;
  set.path = pty.path;
  set.driver = io::SerialSettings::Driver::Termios;
  io::ChannelOptions co;
  co.settle = 20ms;
  co.reconnectMin = 100ms;
  co.reconnectMax = 200ms;
  auto ch = std::make_shared<io::Channel>(io, std::make_unique<io::NineBitLink>(io, set, io::NineBitMode::MarkSpace),
                                          co, nullptr);
  std::optional<Error> opened;
  ch->open([&](const Error& e) { opened = e; });
  for (int i = 0; i < 200 && !opened; ++i) io.run_one_for(10ms);
  REQUIRE(opened.has_value());
  REQUIRE_FALSE(*opened);
  session::MateOptions mo;
  mo.timeout = 200ms;
  mo.retries = 0;
  auto bus = std::make_shared<session::MateBus>(ch, mo);

  auto run = [&](uint16_t value) {
    std::optional<std::pair<Error, uint16_t>> out;
    bus->writeVerified(0, 0x003D, value, [&](const Error& e, uint16_t back) { out = std::make_pair(e, back); });
    for (int i = 0; i < 300 && !out; ++i) io.run_one_for(10ms);
    REQUIRE(out.has_value());
    return *out;
  };
  auto bad = run(2);  // the device keeps 0
  CHECK(bad.first.code == "EVERIFY");
  CHECK(bad.first.kind == ErrorKind::Device);
  CHECK(numberField(bad.first, "written") == 2);
  CHECK(numberField(bad.first, "readBack") == 0);
  CHECK(bad.second == 0);
  held = 1;
  auto good = run(1);
  CHECK_FALSE(good.first);
  CHECK(good.second == 1);

  ch->close(nullptr);
  for (int i = 0; i < 20; ++i) io.run_one_for(5ms);
  ::close(pty.slave);
}
