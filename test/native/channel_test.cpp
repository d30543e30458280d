// The transaction channel over a real pseudo-terminal: the test plays the device on the
// master side, in the same io_context, and checks what reaches the wire and when.
#include <fcntl.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include <asio.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "catch.hpp"
#include "io/channel.hpp"
#include "io/serial_link.hpp"
#include "io/tcp_link.hpp"
#include "modbus/modbus.hpp"
#include "raw_pty.hpp"
#include "session/modbus_bus.hpp"

using namespace fl;
using namespace std::chrono_literals;

namespace {

struct Device {
  asio::posix::stream_descriptor master;
  int slaveFd = -1;
  std::string path;
  std::vector<Bytes> requests;                                // every chunk the device received
  std::vector<std::chrono::steady_clock::time_point> stamps;  // when
  std::function<void(const Bytes&)> onRequest;
  std::array<uint8_t, 512> buf{};

  explicit Device(asio::io_context& io) : master(io) {
    const RawPty pty = openRawPty(true);
    REQUIRE(pty.master >= 0);
    master.assign(pty.master);
    slaveFd = pty.slave;  // held so the master never sees a hang-up
    path = pty.path;
    read();
  }
  ~Device() {
    if (slaveFd >= 0) ::close(slaveFd);
  }
  void read() {
    master.async_read_some(asio::buffer(buf), [this](std::error_code ec, size_t n) {
      if (ec) return;
      Bytes b(buf.begin(), buf.begin() + n);
      requests.push_back(b);
      stamps.push_back(std::chrono::steady_clock::now());
      if (onRequest) onRequest(b);
      read();
    });
  }
  void send(const Bytes& b) { asio::write(master, asio::buffer(b)); }
  void hangUp() {
    std::error_code ec;
    master.close(ec);
    ::close(slaveFd);
    slaveFd = -1;
  }
};

// Runs the loop until `done()` or the time limit; returns done().
template <class F>
bool runUntil(asio::io_context& io, F done, std::chrono::milliseconds limit = 2000ms) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < end) {
    if (io.stopped()) io.restart();
    io.run_one_for(5ms);
  }
  return done();
}

std::unique_ptr<io::SerialLink> ptyLink(asio::io_context& io, const std::string& path,
                                        io::SerialSettings::Driver d = io::SerialSettings::Driver::Auto) {
  io::SerialSettings s;
  s.path = path;
  s.driver = d;
  return std::make_unique<io::SerialLink>(io, s);
}

// A transaction that completes when `want` bytes arrived and they equal `expect`.
io::Transaction exact(Bytes request, Bytes expect, std::function<void(const Error&, const Bytes&)> done,
                      std::chrono::milliseconds timeout = 300ms) {
  io::Transaction t;
  t.request = std::move(request);
  t.timeout = timeout;
  t.framer = [expect = std::move(expect)](const uint8_t* d, size_t n) {
    io::FrameVerdict v;
    if (n < expect.size()) return v;
    if (Bytes(d, d + n) == expect) v.status = io::FrameStatus::Complete;
    else {
      v.status = io::FrameStatus::Invalid;
      v.error = Error(ErrorKind::Protocol, "EFRAME", "unexpected bytes");
    }
    return v;
  };
  t.onDeadline = [](const uint8_t*, size_t n) {
    return n ? Error(ErrorKind::Protocol, "EFRAME", "short") : Error(ErrorKind::Timeout, "ETIMEDOUT", "no reply");
  };
  t.done = std::move(done);
  return t;
}

std::shared_ptr<io::Channel> openChannel(asio::io_context& io, std::unique_ptr<io::Link> link,
                                         io::ChannelOptions o = {}, std::vector<std::string>* states = nullptr) {
  auto ch = std::make_shared<io::Channel>(io, std::move(link), o,
                                          [states](io::LinkState s, const Error&, std::chrono::milliseconds) {
                                            if (states) states->push_back(io::linkStateName(s));
                                          });
  std::optional<Error> opened;
  ch->open([&](const Error& e) { opened = e; });
  runUntil(io, [&] { return opened.has_value(); });
  REQUIRE(opened.has_value());
  REQUIRE_FALSE(*opened);
  return ch;
}

}  // namespace

TEST_CASE("channel: request out, reply split across writes completes", "[io][channel]") {
  asio::io_context io;
  Device dev(io);
  dev.onRequest = [&](const Bytes&) {
    dev.send({0x01, 0x02});
    dev.send({0x03, 0x04});
  };
  auto ch = openChannel(io, ptyLink(io, dev.path));
  std::optional<Error> result;
  Bytes got;
  ch->submit(exact({0xAA, 0xBB}, {0x01, 0x02, 0x03, 0x04}, [&](const Error& e, const Bytes& b) {
    result = e;
    got = b;
  }));
  REQUIRE(runUntil(io, [&] { return result.has_value(); }));
  CHECK_FALSE(*result);
  CHECK(got == Bytes{0x01, 0x02, 0x03, 0x04});
  REQUIRE(dev.requests.size() == 1);
  CHECK(dev.requests[0] == Bytes{0xAA, 0xBB});
  auto st = ch->stats();
  CHECK(st.requests == 1);
  CHECK(st.replies == 1);
  CHECK(st.bytesSent == 2);
  CHECK(st.bytesReceived == 4);
  ch->close(nullptr);
}

TEST_CASE("channel: silence ends in ETIMEDOUT after the deadline, not before", "[io][channel]") {
  asio::io_context io;
  Device dev(io);
  auto ch = openChannel(io, ptyLink(io, dev.path));
  std::optional<Error> result;
  auto t0 = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point t1;
  ch->submit(exact(
      {0x01}, {0x02},
      [&](const Error& e, const Bytes&) {
        result = e;
        t1 = std::chrono::steady_clock::now();
      },
      150ms));
  REQUIRE(runUntil(io, [&] { return result.has_value(); }));
  CHECK(result->code == "ETIMEDOUT");
  CHECK(result->kind == ErrorKind::Timeout);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(t1 - t0).count();
  CHECK(took >= 150);
  CHECK(took < 600);
  CHECK(ch->stats().timeouts == 1);
  ch->close(nullptr);
}

// The deadline timer is left running after an answered request and reused (no timer syscall
// per request): each later deadline must still fire at its own time, earlier or later than
// the one the timer was last set for.
TEST_CASE("channel: a reused deadline timer fires at each request's own deadline", "[io][channel]") {
  asio::io_context io;
  Device dev(io);
  dev.onRequest = [&](const Bytes& b) {
    if (b == Bytes{0x01}) dev.send({0x02});  // 0x01 is answered, 0x03 is not
  };
  auto ch = openChannel(io, ptyLink(io, dev.path));
  auto ask = [&](uint8_t req, std::chrono::milliseconds timeout) {
    std::optional<Error> result;
    auto t0 = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point t1;
    ch->submit(exact(
        {req}, {0x02},
        [&](const Error& e, const Bytes&) {
          result = e;
          t1 = std::chrono::steady_clock::now();
        },
        timeout));
    REQUIRE(runUntil(
        io, [&] { return result.has_value(); }, 3000ms));
    return std::make_pair(*result, std::chrono::duration_cast<std::chrono::milliseconds>(t1 - t0).count());
  };
  for (int i = 0; i < 5; ++i) CHECK_FALSE(ask(0x01, 1000ms).first);  // the timer now runs for ~1 s
  auto [shortErr, shortTook] = ask(0x03, 100ms);                     // earlier than the timer: moved
  CHECK(shortErr.code == "ETIMEDOUT");
  CHECK(shortTook >= 100);
  CHECK(shortTook < 900);                       // unmoved, it would wait for the timer's ~1 s
  CHECK_FALSE(ask(0x01, 100ms).first);          // timer left set for ~100 ms from now
  auto [longErr, longTook] = ask(0x03, 400ms);  // later than the timer: it fires first and moves
  CHECK(longErr.code == "ETIMEDOUT");
  CHECK(longTook >= 400);
  CHECK(longTook < 1500);  // room for a loaded machine; the floor above is the point
  CHECK(ch->stats().timeouts == 2);
  CHECK(ch->stats().replies == 6);
  ch->close(nullptr);
}

TEST_CASE("channel: an invalid reply fails after the settle time, well before the deadline", "[io][channel]") {
  asio::io_context io;
  Device dev(io);
  dev.onRequest = [&](const Bytes&) { dev.send({0x09, 0x09}); };
  io::ChannelOptions o;
  o.settle = 20ms;
  auto ch = openChannel(io, ptyLink(io, dev.path), o);
  std::optional<Error> result;
  auto t0 = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point t1;
  ch->submit(exact(
      {0x01}, {0x02, 0x03},
      [&](const Error& e, const Bytes&) {
        result = e;
        t1 = std::chrono::steady_clock::now();
      },
      2000ms));
  REQUIRE(runUntil(
      io, [&] { return result.has_value(); }, 3000ms));
  CHECK(result->code == "EFRAME");
  CHECK(std::chrono::duration_cast<std::chrono::milliseconds>(t1 - t0).count() < 500);
  ch->close(nullptr);
}

TEST_CASE("channel: one request on the wire at a time, in FIFO order", "[io][channel]") {
  asio::io_context io;
  Device dev(io);
  // The device answers each request 20 ms later; a second request arriving before the
  // answer would show up as two requests between replies.
  asio::steady_timer later(io);
  int outstanding = 0, maxOutstanding = 0;
  dev.onRequest = [&](const Bytes& b) {
    ++outstanding;
    maxOutstanding = std::max(maxOutstanding, outstanding);
    Bytes reply{static_cast<uint8_t>(b[0] + 0x10)};
    later.expires_after(20ms);
    later.async_wait([&, reply](std::error_code) {
      --outstanding;
      dev.send(reply);
    });
  };
  auto ch = openChannel(io, ptyLink(io, dev.path));
  std::vector<int> order;
  for (uint8_t i = 1; i <= 4; ++i) {
    ch->submit(exact({i}, {static_cast<uint8_t>(i + 0x10)}, [&, i](const Error& e, const Bytes&) {
      CHECK_FALSE(e);
      order.push_back(i);
    }));
  }
  CHECK(ch->stats().queueDepth == 4);
  REQUIRE(runUntil(io, [&] { return order.size() == 4; }));
  CHECK(order == std::vector<int>{1, 2, 3, 4});
  CHECK(maxOutstanding == 1);
  REQUIRE(dev.requests.size() == 4);
  ch->close(nullptr);
}

TEST_CASE("channel: stale input is discarded before a request", "[io][channel]") {
  asio::io_context io;
  Device dev(io);
  auto ch = openChannel(io, ptyLink(io, dev.path));
  dev.send({0xEE, 0xEE, 0xEE});  // junk on the line while idle
  runUntil(
      io, [&] { return ch->stats().staleBytesDiscarded == 3; }, 300ms);
  dev.onRequest = [&](const Bytes&) { dev.send({0x42}); };
  std::optional<Error> result;
  Bytes got;
  ch->submit(exact({0x01}, {0x42}, [&](const Error& e, const Bytes& b) {
    result = e;
    got = b;
  }));
  REQUIRE(runUntil(io, [&] { return result.has_value(); }));
  CHECK_FALSE(*result);
  CHECK(got == Bytes{0x42});
  CHECK(ch->stats().staleBytesDiscarded == 3);
  ch->close(nullptr);
}

TEST_CASE("channel: the inter-frame gap separates a reply from the next request", "[io][channel]") {
  asio::io_context io;
  Device dev(io);
  std::vector<std::chrono::steady_clock::time_point> replied;
  dev.onRequest = [&](const Bytes& b) {
    dev.send({b[0]});
    replied.push_back(std::chrono::steady_clock::now());
  };
  io::ChannelOptions o;
  o.interFrameGap = 30ms;
  auto ch = openChannel(io, ptyLink(io, dev.path), o);
  int done = 0;
  for (uint8_t i = 1; i <= 2; ++i)
    ch->submit(exact({i}, {i}, [&](const Error& e, const Bytes&) {
      CHECK_FALSE(e);
      ++done;
    }));
  REQUIRE(runUntil(io, [&] { return done == 2; }));
  REQUIRE(dev.stamps.size() == 2);
  auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(dev.stamps[1] - replied[0]).count();
  CHECK(gap >= 29);
  ch->close(nullptr);
}

TEST_CASE("channel: a vanished port fails in-flight and new requests, then reconnects", "[io][channel]") {
  asio::io_context io;
  Device dev(io);
  char link[] = "/tmp/fl-channel-test-XXXXXX";
  REQUIRE(::mkdtemp(link) != nullptr);
  std::string linkPath = std::string(link) + "/tty";
  REQUIRE(::symlink(dev.path.c_str(), linkPath.c_str()) == 0);
  io::ChannelOptions o;
  o.reconnectMin = 50ms;
  o.reconnectMax = 100ms;
  std::vector<std::string> states;
  auto ch = openChannel(io, ptyLink(io, linkPath), o, &states);
  std::optional<Error> inflight;
  ch->submit(exact(
      {0x01}, {0x02}, [&](const Error& e, const Bytes&) { inflight = e; }, 2000ms));
  runUntil(io, [&] { return !dev.requests.empty(); });
  dev.hangUp();  // the "adapter" is unplugged
  ::unlink(linkPath.c_str());
  REQUIRE(runUntil(io, [&] { return inflight.has_value(); }));
  CHECK(inflight->code == "ECONNLOST");
  CHECK(ch->state() == io::LinkState::Reconnecting);
  std::optional<Error> fast;
  ch->submit(exact({0x01}, {0x02}, [&](const Error& e, const Bytes&) { fast = e; }));
  REQUIRE(fast.has_value());
  CHECK(fast->code == "ENOTCONNECTED");

  // Plug a new "adapter" in under the same name: the channel finds it by itself.
  Device dev2(io);
  REQUIRE(::symlink(dev2.path.c_str(), linkPath.c_str()) == 0);
  dev2.onRequest = [&](const Bytes&) { dev2.send({0x02}); };
  REQUIRE(runUntil(
      io, [&] { return ch->state() == io::LinkState::Open; }, 3000ms));
  std::optional<Error> after;
  ch->submit(exact({0x01}, {0x02}, [&](const Error& e, const Bytes&) { after = e; }));
  REQUIRE(runUntil(io, [&] { return after.has_value(); }));
  CHECK_FALSE(*after);
  CHECK(ch->stats().reconnects >= 1);
  CHECK(std::find(states.begin(), states.end(), "reconnecting") != states.end());
  ch->close(nullptr);
  ::unlink(linkPath.c_str());
  ::rmdir(link);
}

TEST_CASE("channel: close rejects the pending and the queued with ECLOSED", "[io][channel]") {
  asio::io_context io;
  Device dev(io);
  auto ch = openChannel(io, ptyLink(io, dev.path));
  std::vector<std::string> codes;
  for (uint8_t i = 0; i < 3; ++i)
    ch->submit(exact(
        {i}, {0xFF}, [&](const Error& e, const Bytes&) { codes.push_back(e.code); }, 5000ms));
  runUntil(io, [&] { return !dev.requests.empty(); });
  ch->close(nullptr);
  CHECK(codes == std::vector<std::string>{"ECLOSED", "ECLOSED", "ECLOSED"});
  std::optional<Error> late;
  ch->submit(exact({0x01}, {0x02}, [&](const Error& e, const Bytes&) { late = e; }));
  REQUIRE(late.has_value());
  CHECK(late->code == "ECLOSED");
}

TEST_CASE("serial link: libserialport opens a pty under the test shim; errors name the port", "[io][serial]") {
  asio::io_context io;
  Device dev(io);
  dev.onRequest = [&](const Bytes&) { dev.send({0x5A}); };
  // ctest runs this binary with LD_PRELOAD=libptyshim.so (see CMakeLists.txt).
  auto ch = openChannel(io, ptyLink(io, dev.path, io::SerialSettings::Driver::LibSerialPort));
  auto* link = dynamic_cast<io::SerialLink*>(&ch->link());
  REQUIRE(link != nullptr);
  CHECK(link->usedLibSerialPort());
  std::optional<Error> result;
  ch->submit(exact({0x01}, {0x5A}, [&](const Error& e, const Bytes&) { result = e; }));
  REQUIRE(runUntil(io, [&] { return result.has_value(); }));
  CHECK_FALSE(*result);
  ch->close(nullptr);

  auto missing =
      std::make_shared<io::Channel>(io, ptyLink(io, "/dev/ttyFIELDLINK-MISSING"), io::ChannelOptions{}, nullptr);
  std::optional<Error> opened;
  missing->open([&](const Error& e) { opened = e; });
  REQUIRE(runUntil(io, [&] { return opened.has_value(); }));
  CHECK(opened->code == "ENOENT");
  CHECK(opened->message.find("/dev/ttyFIELDLINK-MISSING") != std::string::npos);
}

TEST_CASE("serial link: a second open of the same port is refused with EBUSY", "[io][serial]") {
  asio::io_context io;
  Device dev(io);
  auto first = openChannel(io, ptyLink(io, dev.path));
  auto second = std::make_shared<io::Channel>(io, ptyLink(io, dev.path), io::ChannelOptions{}, nullptr);
  std::optional<Error> opened;
  second->open([&](const Error& e) { opened = e; });
  REQUIRE(runUntil(io, [&] { return opened.has_value(); }));
  CHECK(opened->code == "EBUSY");
  first->close(nullptr);
}

TEST_CASE("serial link: settings are validated before anything is opened", "[io][serial]") {
  io::SerialSettings s;
  s.path = "/dev/ttyUSB0";
  s.baudRate = 12345;
  Error e = io::validateSerialSettings(s);
  CHECK(e.kind == ErrorKind::Validation);
  CHECK(e.message.find("baudRate") != std::string::npos);
  s.baudRate = 9600;
  s.dataBits = 6;
  CHECK(io::validateSerialSettings(s).message.find("dataBits") != std::string::npos);
  s.dataBits = 8;
  CHECK_FALSE(io::validateSerialSettings(s));
}

TEST_CASE("tcp link: refused and timed-out connects are ConnectionErrors", "[io][tcp]") {
  asio::io_context io;
  // A port nobody listens on: bind, note the port, close.
  asio::ip::tcp::acceptor probe(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  uint16_t port = probe.local_endpoint().port();
  probe.close();
  auto refused = std::make_shared<io::Channel>(io, std::make_unique<io::TcpLink>(io, "127.0.0.1", port, 500ms),
                                               io::ChannelOptions{}, nullptr);
  std::optional<Error> r1;
  refused->open([&](const Error& e) { r1 = e; });
  REQUIRE(runUntil(io, [&] { return r1.has_value(); }));
  CHECK(r1->code == "ECONNREFUSED");
  CHECK(r1->kind == ErrorKind::Connection);

  // A listener that never accepts and has its backlog full: the next SYN is dropped.
  asio::ip::tcp::acceptor full(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  full.listen(0);
  uint16_t fullPort = full.local_endpoint().port();
  std::vector<std::unique_ptr<asio::ip::tcp::socket>> fillers;
  for (int i = 0; i < 3; ++i) {
    auto s = std::make_unique<asio::ip::tcp::socket>(io);
    s->async_connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), fullPort), [](std::error_code) {});
    fillers.push_back(std::move(s));
  }
  runUntil(
      io, [] { return false; }, 100ms);
  auto slow = std::make_shared<io::Channel>(io, std::make_unique<io::TcpLink>(io, "127.0.0.1", fullPort, 200ms),
                                            io::ChannelOptions{}, nullptr);
  std::optional<Error> r2;
  slow->open([&](const Error& e) { r2 = e; });
  REQUIRE(runUntil(
      io, [&] { return r2.has_value(); }, 3000ms));
  CHECK(r2->code == "ECONNTIMEOUT");
}

TEST_CASE("modbus session: retries, offline breaker and exceptions over a pty", "[session][modbus]") {
  asio::io_context io;
  Device dev(io);
  int served = 0;
  bool silent = true;
  dev.onRequest = [&](const Bytes& b) {
    ++served;
    if (silent || b.size() < 2) return;
    if (b[1] == 0x03) {  // reply with exception 02 to holding reads
      Bytes r{b[0], 0x83, 0x02};
      uint16_t c = modbus::crc16(r);
      r.push_back(c & 0xFF);
      r.push_back(c >> 8);
      dev.send(r);
      return;
    }
    Bytes r{b[0], 0x04, 0x02, 0x01, 0x31};
    uint16_t c = modbus::crc16(r);
    r.push_back(c & 0xFF);
    r.push_back(c >> 8);
    dev.send(r);
  };
  auto ch = openChannel(io, ptyLink(io, dev.path));
  session::ModbusOptions mo;
  mo.timeout = 60ms;
  mo.retries = 1;
  mo.offlineAfter = 2;
  mo.offlineProbe = 300ms;
  auto bus = std::make_shared<session::ModbusBus>(ch, mo);

  auto run = [&](modbus::Request req) {
    std::optional<Error> err;
    modbus::Response resp;
    bus->execute(std::move(req), [&](const Error& e, const modbus::Response& r) {
      err = e;
      resp = r;
    });
    REQUIRE(runUntil(io, [&] { return err.has_value(); }));
    return std::make_pair(*err, resp);
  };
  auto rd = modbus::Request::read(1, modbus::kReadInputRegisters, 1, 1);

  // Silent unit: each call costs 1 + retries attempts, then the unit is skipped.
  CHECK(run(rd).first.code == "ETIMEDOUT");
  CHECK(served == 2);
  CHECK(run(rd).first.code == "ETIMEDOUT");
  CHECK(served == 4);
  auto skipped = run(rd);
  CHECK(skipped.first.code == "EOFFLINE");
  CHECK(served == 4);  // nothing went on the wire
  CHECK(bus->units().at(1).offline);

  // After the probe interval, one probe goes out; the unit is back.
  silent = false;
  runUntil(
      io, [] { return false; }, 320ms);
  auto ok = run(rd);
  CHECK_FALSE(ok.first);
  REQUIRE(ok.second.registers.size() == 1);
  CHECK(ok.second.registers[0] == 0x0131);
  CHECK_FALSE(bus->units().at(1).offline);

  auto ex = run(modbus::Request::read(1, modbus::kReadHoldingRegisters, 0x0101, 1));
  CHECK(ex.first.kind == ErrorKind::Device);
  CHECK(ex.first.code == "EREJECTED");
  CHECK(ex.first.detail == 2);

  // Invalid requests never reach the wire.
  int before = served;
  auto bad = run(modbus::Request::read(1, modbus::kReadInputRegisters, 0, 126));
  CHECK(bad.first.kind == ErrorKind::Validation);
  CHECK(served == before);
  ch->close(nullptr);
}
