// Catch2 tests for the Modbus RTU core (native/core/modbus): CRC vectors from
// docs/protocols/modbus.md §9, request encoding, validation, the incremental response parser
// and the deadline verdict. Expected bytes come from the spec, not from the code.
#include <cstdint>
#include <string>
#include <vector>

#include "catch.hpp"
#include "common/bytes.hpp"
#include "common/error.hpp"
#include "modbus/modbus.hpp"

using fl::Bytes;
using fl::Error;
using fl::ErrorKind;
using namespace fl::modbus;

namespace {

int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// "01 04 00 01" -> {0x01, 0x04, 0x00, 0x01}; spaces are ignored.
Bytes hex(const std::string& text) {
  Bytes out;
  int high = -1;
  for (char c : text) {
    if (c == ' ') continue;
    const int v = nibble(c);
    REQUIRE(v >= 0);
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<uint8_t>(high * 16 + v));
      high = -1;
    }
  }
  REQUIRE(high < 0);
  return out;
}

Bytes concat(const Bytes& a, const Bytes& b) {
  Bytes out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

// The CRC of `frame` as it goes on the wire (low byte first), e.g. "60 0A".
std::string wireCrc(const Bytes& frame) {
  const uint16_t c = crc16(frame);
  const uint8_t wire[2] = {static_cast<uint8_t>(c & 0xFF), static_cast<uint8_t>(c >> 8)};
  return fl::toHex(wire, 2);
}

ParseResult parse(const Request& req, const Bytes& bytes) { return parseResponse(req, bytes.data(), bytes.size()); }
ParseResult parse(const Request& req, const Bytes& bytes, size_t len) { return parseResponse(req, bytes.data(), len); }

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

struct CrcVector {
  const char* frame;  // without CRC
  const char* crc;    // wire order, low byte first
};

void checkVectors(const std::vector<CrcVector>& vectors) {
  for (const auto& v : vectors) {
    INFO("frame " << v.frame);
    const Bytes frame = hex(v.frame);
    CHECK(wireCrc(frame) == v.crc);
    const Bytes full = concat(frame, hex(v.crc));
    CHECK(crcOk(full.data(), full.size()));
    // Running the CRC over a valid frame including its CRC gives 0 (docs/protocols/modbus.md §3).
    CHECK(crc16(full) == 0);
  }
}

}  // namespace

// ---------------------------------------------------------------- CRC (docs/protocols/modbus.md §3, §9)

TEST_CASE("CRC-16/MODBUS parameters: init FFFF, poly A001 reflected, no final xor", "[modbus][crc]") {
  // The catalogue check value of CRC-16/MODBUS over ASCII "123456789".
  const std::string check = "123456789";
  CHECK(crc16(reinterpret_cast<const uint8_t*>(check.data()), check.size()) == 0x4B37);
  // Nothing processed: the initial value, with no final xor.
  CHECK(crc16(nullptr, 0) == 0xFFFF);
  // Sent low byte first: CRC 0x0A60 goes out as 60 0A.
  CHECK(crc16(hex("01 04 00 01 00 01")) == 0x0A60);
}

TEST_CASE("CRC vectors from the original Python sensor module (docs/protocols/modbus.md §9), the five correct ones",
          "[modbus][crc]") {
  checkVectors({
      {"01 04 00 01 00 01", "60 0A"},
      {"01 04 00 02 00 01", "90 0A"},
      {"01 04 00 01 00 02", "20 0B"},
      {"01 04 02 01 31", "79 74"},
      {"01 04 04 01 31 02 22", "2A CE"},
  });
}

TEST_CASE("original Python sensor module and vendor manual CRC D1 BA for 01 04 02 02 22 is wrong; 38 49 is right",
          "[modbus][crc]") {
  const Bytes frame = hex("01 04 02 02 22");
  CHECK(wireCrc(frame) == "38 49");
  CHECK(wireCrc(frame) != "D1 BA");

  const Bytes right = hex("01 04 02 02 22 38 49");
  const Bytes wrong = hex("01 04 02 02 22 D1 BA");
  CHECK(crcOk(right.data(), right.size()));
  CHECK_FALSE(crcOk(wrong.data(), wrong.size()));
  // D1 BA belongs to data value 0x6267 instead.
  CHECK(wireCrc(hex("01 04 02 62 67")) == "D1 BA");

  // A humidity read (fc 04, register 2, one register): the correct reply decodes to
  // 54.6 %RH, the manual's frame is rejected as a CRC error.
  const Request req = Request::read(1, kReadInputRegisters, 0x0002, 1);
  ParseResult ok = parse(req, right);
  REQUIRE(ok.verdict == Verdict::Complete);
  REQUIRE(ok.response.registers.size() == 1);
  CHECK(ok.response.registers[0] == 0x0222);
  CHECK(ok.response.registers[0] == 546);

  ParseResult bad = parse(req, wrong);
  CHECK(bad.verdict == Verdict::Invalid);
  CHECK(bad.error.kind == ErrorKind::Protocol);
  CHECK(bad.error.code == "ECHECKSUM");
}

TEST_CASE("CRC vectors from the vendor manual and e-tinkers page (docs/protocols/modbus.md §9)", "[modbus][crc]") {
  checkVectors({
      {"01 03 01 01 00 01", "D4 36"},                 // read address
      {"01 03 02 00 01", "79 84"},                    // e-tinkers address reply
      {"01 06 01 01 00 08", "D8 30"},                 // set address 8
      {"01 10 01 01 00 02 04 00 20 25 80", "25 09"},  // fc 10 write address + baud
      {"01 10 01 01 00 02", "11 F4"},                 // fc 10 reply
      {"01 04 02 0B EA", "3F 8F"},                    // x100 variant, 30.50 degC
      {"01 04 02 15 54", "B6 5F"},                    // x100 variant
  });
}

TEST_CASE("the manual's wrong examples: address reply 30 18 and set-address reply D4 0F", "[modbus][crc]") {
  // Manual's address reply 01 03 02 01 02 claims 30 18; the CRC is 38 15.
  CHECK(wireCrc(hex("01 03 02 01 02")) == "38 15");
  const Bytes claimed = hex("01 03 02 01 02 30 18");
  CHECK_FALSE(crcOk(claimed.data(), claimed.size()));

  // Manual's reply to "set address 8" claims ...00 08 D4 0F; an fc 06 reply is the echo.
  const Request req = Request::writeSingle(1, 0x0101, 8);
  CHECK(encode(req) == hex("01 06 01 01 00 08 D8 30"));
  ParseResult manual = parse(req, hex("01 06 01 01 00 08 D4 0F"));
  CHECK(manual.verdict == Verdict::Invalid);
  CHECK(manual.error.code == "ECHECKSUM");
  ParseResult echo = parse(req, hex("01 06 01 01 00 08 D8 30"));
  CHECK(echo.verdict == Verdict::Complete);
}

TEST_CASE("extra CRC vectors (docs/protocols/modbus.md §9)", "[modbus][crc]") {
  checkVectors({
      {"01 03 01 02 00 01", "24 36"},
      {"01 03 01 01 00 04", "14 35"},
      {"01 06 01 02 00 01", "E8 36"},
      {"01 06 01 03 FF EC", "38 4B"},  // temperature correction -2.0
      {"00 06 01 01 00 01", "19 E7"},  // broadcast: set address 1
      {"01 03 00 01 00 02", "95 CB"},
      {"01 83 02", "C0 F1"},  // exception, fc 03, illegal data address
      {"01 84 02", "C2 C1"},  // exception, fc 04, illegal data address
  });
}

TEST_CASE("crcOk rejects frames too short to hold a CRC, and single-bit damage", "[modbus][crc]") {
  const Bytes two = hex("FF FF");
  CHECK_FALSE(crcOk(two.data(), two.size()));
  CHECK_FALSE(crcOk(two.data(), 0));
  Bytes frame = hex("01 04 02 01 31 79 74");
  REQUIRE(crcOk(frame.data(), frame.size()));
  for (size_t i = 0; i < frame.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes damaged = frame;
      damaged[i] = static_cast<uint8_t>(damaged[i] ^ (1u << bit));
      INFO("byte " << i << " bit " << bit);
      CHECK_FALSE(crcOk(damaged.data(), damaged.size()));
    }
  }
}

// ---------------------------------------------------------------- encode (docs/protocols/modbus.md §4)

TEST_CASE("encode fc 04 read input registers", "[modbus][encode]") {
  CHECK(encode(Request::read(1, kReadInputRegisters, 0x0001, 1)) == hex("01 04 00 01 00 01 60 0A"));
  CHECK(encode(Request::read(1, kReadInputRegisters, 0x0002, 1)) == hex("01 04 00 02 00 01 90 0A"));
  // Temperature and humidity in one go.
  const Request both = Request::read(1, kReadInputRegisters, 0x0001, 2);
  CHECK_FALSE(validate(both));
  CHECK(encode(both) == hex("01 04 00 01 00 02 20 0B"));
  CHECK(expectedReplyLength(both) == 9);
  CHECK(expectsReply(both));
}

TEST_CASE("encode fc 03 read holding registers", "[modbus][encode]") {
  CHECK(encode(Request::read(1, kReadHoldingRegisters, 0x0101, 1)) == hex("01 03 01 01 00 01 D4 36"));
  CHECK(encode(Request::read(1, kReadHoldingRegisters, 0x0102, 1)) == hex("01 03 01 02 00 01 24 36"));
  CHECK(encode(Request::read(1, kReadHoldingRegisters, 0x0101, 4)) == hex("01 03 01 01 00 04 14 35"));
  CHECK(encode(Request::read(1, kReadHoldingRegisters, 0x0001, 2)) == hex("01 03 00 01 00 02 95 CB"));
  CHECK(expectedReplyLength(Request::read(1, kReadHoldingRegisters, 0x0101, 4)) == 13);
}

TEST_CASE("encode fc 06 write single register", "[modbus][encode]") {
  CHECK(encode(Request::writeSingle(1, 0x0101, 8)) == hex("01 06 01 01 00 08 D8 30"));
  CHECK(encode(Request::writeSingle(1, 0x0102, 1)) == hex("01 06 01 02 00 01 E8 36"));

  // Temperature correction -2.0 degC = -20 tenths, as int16 two's complement.
  const Request corr = Request::writeSingle(1, 0x0103, static_cast<uint16_t>(static_cast<int16_t>(-20)));
  CHECK_FALSE(validate(corr));
  CHECK(encode(corr) == hex("01 06 01 03 FF EC 38 4B"));
  CHECK(expectedReplyLength(corr) == 8);

  // Broadcast "set address 1": valid, encoded, and no reply expected.
  const Request bcast = Request::writeSingle(kBroadcastUnit, 0x0101, 1);
  CHECK_FALSE(validate(bcast));
  CHECK(encode(bcast) == hex("00 06 01 01 00 01 19 E7"));
  CHECK_FALSE(expectsReply(bcast));
}

TEST_CASE("encode fc 10 write multiple registers", "[modbus][encode]") {
  // Manual example: address 0x0020 to 0x0101 and raw baud 9600 (0x2580) to 0x0102.
  const Request req = Request::writeMultiple(1, 0x0101, {0x0020, 0x2580});
  CHECK(req.count == 2);
  CHECK_FALSE(validate(req));
  CHECK(encode(req) == hex("01 10 01 01 00 02 04 00 20 25 80 25 09"));
  CHECK(expectedReplyLength(req) == 8);
  CHECK(expectsReply(req));
}

// ---------------------------------------------------------------- validate

TEST_CASE("validate: unit must be 1..247, 0 only for writes", "[modbus][validate]") {
  for (uint8_t fc : {kReadHoldingRegisters, kReadInputRegisters}) {
    INFO("function " << int(fc));
    CHECK_FALSE(validate(Request::read(1, fc, 1, 1)));
    CHECK_FALSE(validate(Request::read(247, fc, 1, 1)));

    const Error bcast = validate(Request::read(0, fc, 1, 1));
    REQUIRE(bcast);
    CHECK(bcast.kind == ErrorKind::Validation);
    CHECK(bcast.code == "ERANGE");
    CHECK(contains(bcast.message, "unit"));
    CHECK(contains(bcast.message, "1..247"));

    const Error high = validate(Request::read(248, fc, 1, 1));
    REQUIRE(high);
    CHECK(high.kind == ErrorKind::Validation);
    CHECK(high.code == "ERANGE");
    CHECK(contains(high.message, "unit"));
    CHECK(contains(high.message, "1..247"));
    CHECK(contains(high.message, "248"));

    CHECK(validate(Request::read(255, fc, 1, 1)));
  }

  CHECK_FALSE(validate(Request::writeSingle(0, 0x0101, 1)));
  CHECK_FALSE(validate(Request::writeMultiple(0, 0x0101, {1, 2})));
  CHECK_FALSE(validate(Request::writeSingle(247, 0x0101, 1)));

  const Error w = validate(Request::writeSingle(248, 0x0101, 1));
  REQUIRE(w);
  CHECK(w.kind == ErrorKind::Validation);
  CHECK(w.code == "ERANGE");
  CHECK(contains(w.message, "unit"));
  CHECK(contains(w.message, "1..247"));
  CHECK(validate(Request::writeMultiple(248, 0x0101, {1})).code == "ERANGE");
}

TEST_CASE("validate: read count must be 1..125", "[modbus][validate]") {
  for (uint8_t fc : {kReadHoldingRegisters, kReadInputRegisters}) {
    INFO("function " << int(fc));
    CHECK_FALSE(validate(Request::read(1, fc, 0, 1)));
    CHECK_FALSE(validate(Request::read(1, fc, 0, 125)));
    for (uint16_t bad : {uint16_t(0), uint16_t(126), uint16_t(65535)}) {
      INFO("count " << bad);
      const Error e = validate(Request::read(1, fc, 0, bad));
      REQUIRE(e);
      CHECK(e.kind == ErrorKind::Validation);
      CHECK(e.code == "ERANGE");
      CHECK(contains(e.message, "count"));
      CHECK(contains(e.message, "1..125"));
      CHECK(contains(e.message, std::to_string(bad)));
    }
  }
}

TEST_CASE("validate: fc 10 takes 1..123 values, fc 06 exactly one", "[modbus][validate]") {
  CHECK_FALSE(validate(Request::writeMultiple(1, 0, std::vector<uint16_t>(1, 7))));
  CHECK_FALSE(validate(Request::writeMultiple(1, 0, std::vector<uint16_t>(123, 7))));
  CHECK(encode(Request::writeMultiple(1, 0, std::vector<uint16_t>(123, 7))).size() == 9 + 2 * 123);

  for (size_t n : {size_t(0), size_t(124), size_t(300)}) {
    INFO(n << " values");
    const Error e = validate(Request::writeMultiple(1, 0, std::vector<uint16_t>(n, 7)));
    REQUIRE(e);
    CHECK(e.kind == ErrorKind::Validation);
    CHECK(e.code == "ERANGE");
    CHECK(contains(e.message, "values"));
    CHECK(contains(e.message, "1..123"));
    CHECK(contains(e.message, std::to_string(n)));
  }

  // A hand-built request whose count disagrees with its values.
  Request mismatch = Request::writeMultiple(1, 0x0101, {1, 2});
  mismatch.count = 3;
  const Error m = validate(mismatch);
  REQUIRE(m);
  CHECK(m.kind == ErrorKind::Validation);
  CHECK(m.code == "EINVAL");
  CHECK(contains(m.message, "count"));

  // fc 06 with no value or two values.
  Request none = Request::writeSingle(1, 0x0101, 1);
  none.values.clear();
  const Error e0 = validate(none);
  REQUIRE(e0);
  CHECK(e0.kind == ErrorKind::Validation);
  CHECK(contains(e0.message, "one value"));
  Request two = Request::writeSingle(1, 0x0101, 1);
  two.values.push_back(2);
  CHECK(validate(two).kind == ErrorKind::Validation);
}

TEST_CASE("validate: address + count must not run past register 65535", "[modbus][validate]") {
  CHECK_FALSE(validate(Request::read(1, kReadInputRegisters, 0xFFFF, 1)));
  CHECK_FALSE(validate(Request::read(1, kReadHoldingRegisters, 65500, 36)));   // last = 65535
  CHECK_FALSE(validate(Request::read(1, kReadHoldingRegisters, 65411, 125)));  // last = 65535
  CHECK_FALSE(validate(Request::writeSingle(1, 0xFFFF, 1)));
  CHECK_FALSE(validate(Request::writeMultiple(1, 0xFFFE, {1, 2})));

  struct Case {
    Request req;
    const char* what;
  };
  const std::vector<Case> bad = {
      {Request::read(1, kReadInputRegisters, 0xFFFF, 2), "read 0xFFFF x2"},
      {Request::read(1, kReadHoldingRegisters, 65500, 37), "read 65500 x37"},
      {Request::read(1, kReadHoldingRegisters, 65412, 125), "read 65412 x125"},
      {Request::writeMultiple(1, 0xFFFF, {1, 2}), "write 0xFFFF x2"},
      {Request::writeMultiple(0, 0xFFF0, std::vector<uint16_t>(17, 0)), "broadcast write 0xFFF0 x17"},
  };
  for (const auto& c : bad) {
    INFO(c.what);
    const Error e = validate(c.req);
    REQUIRE(e);
    CHECK(e.kind == ErrorKind::Validation);
    CHECK(e.code == "ERANGE");
    CHECK(contains(e.message, "address"));
    CHECK(contains(e.message, "count"));
    CHECK(contains(e.message, "65535"));
  }
}

TEST_CASE("validate: unknown function codes are refused", "[modbus][validate]") {
  for (uint8_t fc : {uint8_t(0x00), uint8_t(0x01), uint8_t(0x05), uint8_t(0x0F), uint8_t(0x17), uint8_t(0x83)}) {
    INFO("function " << int(fc));
    Request req = Request::read(1, kReadInputRegisters, 1, 1);
    req.function = fc;
    const Error e = validate(req);
    REQUIRE(e);
    CHECK(e.kind == ErrorKind::Validation);
    CHECK(e.code == "EINVAL");
    CHECK(contains(e.message, "function"));
    CHECK(contains(e.message, std::to_string(fc)));
    CHECK(contains(e.message, "3, 4, 6, 16"));
  }
}

// ---------------------------------------------------------------- parseResponse

TEST_CASE("parseResponse: complete fc 04 replies", "[modbus][parse]") {
  SECTION("one register, temperature 30.5") {
    const Request req = Request::read(1, kReadInputRegisters, 0x0001, 1);
    const Bytes reply = hex("01 04 02 01 31 79 74");
    ParseResult r = parse(req, reply);
    REQUIRE(r.verdict == Verdict::Complete);
    CHECK_FALSE(r.error);
    CHECK(r.offset == 0);
    CHECK(r.length == 7);
    CHECK(r.response.unit == 1);
    CHECK(r.response.function == kReadInputRegisters);
    CHECK(r.response.exceptionCode == 0);
    REQUIRE(r.response.registers.size() == 1);
    CHECK(r.response.registers[0] == 0x0131);
    CHECK(static_cast<int16_t>(r.response.registers[0]) == 305);
  }
  SECTION("two registers, temperature and humidity") {
    const Request req = Request::read(1, kReadInputRegisters, 0x0001, 2);
    const Bytes reply = hex("01 04 04 01 31 02 22 2A CE");
    ParseResult r = parse(req, reply);
    REQUIRE(r.verdict == Verdict::Complete);
    CHECK(r.offset == 0);
    CHECK(r.length == 9);
    CHECK(r.response.registers == std::vector<uint16_t>{0x0131, 0x0222});
  }
  SECTION("x100 firmware variant") {
    const Request req = Request::read(1, kReadInputRegisters, 0x0001, 1);
    ParseResult r = parse(req, hex("01 04 02 0B EA 3F 8F"));
    REQUIRE(r.verdict == Verdict::Complete);
    CHECK(r.response.registers == std::vector<uint16_t>{3050});
  }
  SECTION("bytes after the reply are ignored") {
    const Request req = Request::read(1, kReadInputRegisters, 0x0001, 1);
    ParseResult r = parse(req, hex("01 04 02 01 31 79 74 00 00"));
    REQUIRE(r.verdict == Verdict::Complete);
    CHECK(r.offset == 0);
    CHECK(r.length == 7);
  }
}

TEST_CASE("parseResponse: complete fc 03 reply", "[modbus][parse]") {
  const Request req = Request::read(1, kReadHoldingRegisters, 0x0101, 1);
  ParseResult r = parse(req, hex("01 03 02 00 01 79 84"));
  REQUIRE(r.verdict == Verdict::Complete);
  CHECK(r.length == 7);
  CHECK(r.response.function == kReadHoldingRegisters);
  CHECK(r.response.registers == std::vector<uint16_t>{1});
}

TEST_CASE("parseResponse: fed byte by byte, NeedMore until the last byte", "[modbus][parse]") {
  const Request req = Request::read(1, kReadInputRegisters, 0x0001, 2);
  const Bytes reply = hex("01 04 04 01 31 02 22 2A CE");
  for (size_t len = 0; len < reply.size(); ++len) {
    INFO("after " << len << " bytes");
    ParseResult r = parse(req, reply, len);
    CHECK(r.verdict == Verdict::NeedMore);
    CHECK_FALSE(r.error);
  }
  ParseResult r = parse(req, reply);
  REQUIRE(r.verdict == Verdict::Complete);
  CHECK(r.response.registers == std::vector<uint16_t>{0x0131, 0x0222});
}

TEST_CASE("parseResponse: a reply split in two chunks", "[modbus][parse]") {
  const Request req = Request::read(1, kReadInputRegisters, 0x0001, 1);
  const Bytes first = hex("01 04 02");
  const Bytes second = hex("01 31 79 74");
  ParseResult a = parse(req, first);
  CHECK(a.verdict == Verdict::NeedMore);
  Bytes buffer = concat(first, second);
  ParseResult b = parse(req, buffer);
  REQUIRE(b.verdict == Verdict::Complete);
  CHECK(b.offset == 0);
  CHECK(b.length == 7);
  CHECK(b.response.registers == std::vector<uint16_t>{0x0131});
}

TEST_CASE("parseResponse: leading garbage is skipped and its length reported", "[modbus][parse]") {
  const Request req = Request::read(1, kReadInputRegisters, 0x0001, 1);
  SECTION("noise bytes") {
    const Bytes buffer = hex("AA 55 00 FF 01 04 02 01 31 79 74");
    ParseResult r = parse(req, buffer);
    REQUIRE(r.verdict == Verdict::Complete);
    CHECK(r.offset == 4);
    CHECK(r.length == 7);
    CHECK(r.response.registers == std::vector<uint16_t>{0x0131});
  }
  SECTION("noise, then the reply byte by byte") {
    const Bytes buffer = hex("AA 55 00 FF 01 04 02 01 31 79 74");
    for (size_t len = 0; len < buffer.size(); ++len) {
      INFO("after " << len << " bytes");
      CHECK(parse(req, buffer, len).verdict == Verdict::NeedMore);
    }
  }
  SECTION("ASCII auto-report from a unit left in the ordinary protocol (docs/protocols/modbus.md §8)") {
    const std::string ascii = "27.4C,67.7%\r\n";
    Bytes buffer(ascii.begin(), ascii.end());
    const size_t garbage = buffer.size();
    buffer = concat(buffer, hex("01 04 02 01 31 79 74"));
    ParseResult r = parse(req, buffer);
    REQUIRE(r.verdict == Verdict::Complete);
    CHECK(r.offset == garbage);
    CHECK(r.length == 7);
  }
  SECTION("the adapter's local echo of our own request") {
    const Bytes buffer = concat(encode(req), hex("01 04 02 01 31 79 74"));
    ParseResult r = parse(req, buffer);
    REQUIRE(r.verdict == Verdict::Complete);
    CHECK(r.offset == 8);
    CHECK(r.length == 7);
    CHECK_FALSE(r.error);
    CHECK(r.response.registers == std::vector<uint16_t>{0x0131});
  }
}

TEST_CASE("parseResponse: exception replies are Complete with the exception code", "[modbus][parse]") {
  SECTION("fc 03 -> 83, illegal data address") {
    const Request req = Request::read(1, kReadHoldingRegisters, 0x0101, 1);
    ParseResult r = parse(req, hex("01 83 02 C0 F1"));
    REQUIRE(r.verdict == Verdict::Complete);
    CHECK_FALSE(r.error);
    CHECK(r.offset == 0);
    CHECK(r.length == 5);
    CHECK(r.response.unit == 1);
    CHECK(r.response.function == 0x83);
    CHECK(r.response.exceptionCode == 2);
    CHECK(r.response.registers.empty());
    CHECK(std::string(exceptionName(r.response.exceptionCode)) == "ILLEGAL_DATA_ADDRESS");
  }
  SECTION("fc 04 -> 84, illegal data address, fed byte by byte") {
    const Request req = Request::read(1, kReadInputRegisters, 0x0001, 2);
    const Bytes reply = hex("01 84 02 C2 C1");
    for (size_t len = 0; len < reply.size(); ++len) {
      INFO("after " << len << " bytes");
      CHECK(parse(req, reply, len).verdict == Verdict::NeedMore);
    }
    ParseResult r = parse(req, reply);
    REQUIRE(r.verdict == Verdict::Complete);
    CHECK(r.length == 5);
    CHECK(r.response.function == 0x84);
    CHECK(r.response.exceptionCode == 2);
  }
  SECTION("exception with a bad CRC is a CRC error") {
    const Request req = Request::read(1, kReadHoldingRegisters, 0x0101, 1);
    ParseResult r = parse(req, hex("01 83 02 C0 F2"));
    CHECK(r.verdict == Verdict::Invalid);
    CHECK(r.error.code == "ECHECKSUM");
  }
  SECTION("an exception reply with code 0 (valid CRC) is a framing error, not an empty read") {
    // The input fuzz_modbus found: it used to come back Complete with no exception and no
    // registers, for a read of one register.
    const Request req = Request::read(1, kReadInputRegisters, 0x0000, 1);
    const Bytes reply = hex("01 84 00 43 00");
    REQUIRE(crcOk(reply.data(), reply.size()));
    ParseResult r = parse(req, reply);
    CHECK(r.verdict != Verdict::Complete);
    CHECK(r.error.code == "EFRAME");
  }
}

TEST_CASE("exceptionName covers the standard codes", "[modbus]") {
  CHECK(std::string(exceptionName(1)) == "ILLEGAL_FUNCTION");
  CHECK(std::string(exceptionName(2)) == "ILLEGAL_DATA_ADDRESS");
  CHECK(std::string(exceptionName(3)) == "ILLEGAL_DATA_VALUE");
  CHECK(std::string(exceptionName(4)) == "SERVER_DEVICE_FAILURE");
  CHECK(std::string(exceptionName(0)) == "UNKNOWN_EXCEPTION");
  CHECK(std::string(exceptionName(99)) == "UNKNOWN_EXCEPTION");
}

TEST_CASE("parseResponse: a reply from another unit is EMISMATCH", "[modbus][parse]") {
  const Request req = Request::read(1, kReadInputRegisters, 0x0001, 1);
  const Bytes reply = hex("02 04 02 01 31 3D 74");
  REQUIRE(crcOk(reply.data(), reply.size()));
  ParseResult r = parse(req, reply);
  CHECK(r.verdict == Verdict::Invalid);
  CHECK(r.error.kind == ErrorKind::Protocol);
  CHECK(r.error.code == "EMISMATCH");
  CHECK(contains(r.error.message, "2"));
  CHECK(r.error.rawHex == "02 04 02 01 31 3D 74");

  // Another unit's exception reply is also EMISMATCH.
  ParseResult x = parse(req, hex("02 84 02 32 C1"));
  CHECK(x.verdict == Verdict::Invalid);
  CHECK(x.error.code == "EMISMATCH");
  const Request holding = Request::read(1, kReadHoldingRegisters, 0x0101, 1);
  ParseResult y = parse(holding, hex("02 83 02 30 F1"));
  CHECK(y.verdict == Verdict::Invalid);
  CHECK(y.error.code == "EMISMATCH");
}

TEST_CASE("parseResponse: a reply with another function is EMISMATCH", "[modbus][parse]") {
  const Request req = Request::read(1, kReadInputRegisters, 0x0001, 1);
  const Bytes reply = hex("01 03 02 01 31 78 00");
  REQUIRE(crcOk(reply.data(), reply.size()));
  ParseResult r = parse(req, reply);
  CHECK(r.verdict == Verdict::Invalid);
  CHECK(r.error.kind == ErrorKind::Protocol);
  CHECK(r.error.code == "EMISMATCH");
  CHECK(r.error.rawHex == "01 03 02 01 31 78 00");
}

TEST_CASE("parseResponse: a bad CRC is ECHECKSUM", "[modbus][parse]") {
  const Request req = Request::read(1, kReadInputRegisters, 0x0001, 1);
  const Bytes reply = hex("01 04 02 01 31 79 75");
  ParseResult r = parse(req, reply);
  CHECK(r.verdict == Verdict::Invalid);
  CHECK(r.error.kind == ErrorKind::Protocol);
  CHECK(r.error.code == "ECHECKSUM");
  CHECK(r.error.rawHex == "01 04 02 01 31 79 75");

  // A damaged data byte, too.
  ParseResult d = parse(req, hex("01 04 02 01 30 79 74"));
  CHECK(d.verdict == Verdict::Invalid);
  CHECK(d.error.code == "ECHECKSUM");

  // A good reply after a damaged one wins, and clears the error.
  ParseResult g = parse(req, hex("01 04 02 01 31 79 75 01 04 02 01 31 79 74"));
  REQUIRE(g.verdict == Verdict::Complete);
  CHECK(g.offset == 7);
  CHECK_FALSE(g.error);
}

TEST_CASE("parseResponse: a wrong byte count with a valid CRC is EFRAME", "[modbus][parse]") {
  SECTION("two registers asked, one delivered") {
    const Request req = Request::read(1, kReadInputRegisters, 0x0001, 2);
    const Bytes reply = hex("01 04 02 01 31 79 74");
    ParseResult r = parse(req, reply);
    CHECK(r.verdict == Verdict::Invalid);
    CHECK(r.error.kind == ErrorKind::Protocol);
    CHECK(r.error.code == "EFRAME");
    CHECK(r.error.rawHex == "01 04 02 01 31 79 74");
  }
  SECTION("one register asked, two delivered") {
    const Request req = Request::read(1, kReadInputRegisters, 0x0001, 1);
    ParseResult r = parse(req, hex("01 04 04 01 31 02 22 2A CE"));
    CHECK(r.verdict == Verdict::Invalid);
    CHECK(r.error.code == "EFRAME");
  }
}

TEST_CASE("parseResponse: fc 06 reply must echo the request", "[modbus][parse]") {
  const Request req = Request::writeSingle(1, 0x0103, static_cast<uint16_t>(static_cast<int16_t>(-20)));
  SECTION("exact echo") {
    ParseResult r = parse(req, hex("01 06 01 03 FF EC 38 4B"));
    REQUIRE(r.verdict == Verdict::Complete);
    CHECK(r.length == 8);
    CHECK(r.response.function == kWriteSingleRegister);
    CHECK(r.response.address == 0x0103);
    CHECK(r.response.valueOrCount == 0xFFEC);
    CHECK(static_cast<int16_t>(r.response.valueOrCount) == -20);
  }
  SECTION("other value") {
    const Bytes reply = hex("01 06 01 03 FF EB 79 89");
    REQUIRE(crcOk(reply.data(), reply.size()));
    ParseResult r = parse(req, reply);
    CHECK(r.verdict == Verdict::Invalid);
    CHECK(r.error.kind == ErrorKind::Protocol);
    CHECK(r.error.code == "EFRAME");
  }
  SECTION("other register") {
    const Bytes reply = hex("01 06 01 04 FF EC 89 8A");
    REQUIRE(crcOk(reply.data(), reply.size()));
    ParseResult r = parse(req, reply);
    CHECK(r.verdict == Verdict::Invalid);
    CHECK(r.error.code == "EFRAME");
  }
  SECTION("exception ILLEGAL_DATA_VALUE") {
    const Bytes reply = hex("01 86 03 02 61");
    REQUIRE(crcOk(reply.data(), reply.size()));
    ParseResult r = parse(req, reply);
    REQUIRE(r.verdict == Verdict::Complete);
    CHECK(r.response.function == 0x86);
    CHECK(r.response.exceptionCode == 3);
  }
}

TEST_CASE("parseResponse: fc 10 reply", "[modbus][parse]") {
  const Request req = Request::writeMultiple(1, 0x0101, {0x0020, 0x2580});
  SECTION("start and count echoed") {
    const Bytes reply = hex("01 10 01 01 00 02 11 F4");
    for (size_t len = 0; len < reply.size(); ++len) {
      INFO("after " << len << " bytes");
      CHECK(parse(req, reply, len).verdict == Verdict::NeedMore);
    }
    ParseResult r = parse(req, reply);
    REQUIRE(r.verdict == Verdict::Complete);
    CHECK(r.offset == 0);
    CHECK(r.length == 8);
    CHECK(r.response.function == kWriteMultipleRegisters);
    CHECK(r.response.address == 0x0101);
    CHECK(r.response.valueOrCount == 2);
  }
  SECTION("wrong count echoed") {
    const Bytes reply = hex("01 10 01 01 00 03 D0 34");
    REQUIRE(crcOk(reply.data(), reply.size()));
    ParseResult r = parse(req, reply);
    CHECK(r.verdict == Verdict::Invalid);
    CHECK(r.error.code == "EFRAME");
  }
  SECTION("wrong start echoed") {
    const Bytes reply = hex("01 10 01 02 00 02 E1 F4");
    REQUIRE(crcOk(reply.data(), reply.size()));
    ParseResult r = parse(req, reply);
    CHECK(r.verdict == Verdict::Invalid);
    CHECK(r.error.code == "EFRAME");
  }
  SECTION("exception") {
    const Bytes reply = hex("01 90 02 CD C1");
    REQUIRE(crcOk(reply.data(), reply.size()));
    ParseResult r = parse(req, reply);
    REQUIRE(r.verdict == Verdict::Complete);
    CHECK(r.response.exceptionCode == 2);
  }
}

// ---------------------------------------------------------------- deadlineError

TEST_CASE("deadlineError: what the deadline reports", "[modbus][deadline]") {
  const Request req = Request::read(1, kReadInputRegisters, 0x0001, 1);
  SECTION("no bytes: TimeoutError ETIMEDOUT") {
    const Error e = deadlineError(req, nullptr, 0);
    CHECK(e.kind == ErrorKind::Timeout);
    CHECK(e.code == "ETIMEDOUT");
    CHECK(contains(e.message, "unit 1"));
  }
  SECTION("partial reply: EFRAME") {
    const Bytes partial = hex("01 04 02 01");
    REQUIRE(parse(req, partial).verdict == Verdict::NeedMore);
    const Error e = deadlineError(req, partial.data(), partial.size());
    CHECK(e.kind == ErrorKind::Protocol);
    CHECK(e.code == "EFRAME");
    CHECK(e.rawHex == "01 04 02 01");
  }
  SECTION("unrecognised bytes: EFRAME") {
    const Bytes noise = hex("AA 55");
    const Error e = deadlineError(req, noise.data(), noise.size());
    CHECK(e.kind == ErrorKind::Protocol);
    CHECK(e.code == "EFRAME");
  }
  SECTION("bad CRC: ECHECKSUM") {
    const Bytes bad = hex("01 04 02 01 31 79 75");
    const Error e = deadlineError(req, bad.data(), bad.size());
    CHECK(e.kind == ErrorKind::Protocol);
    CHECK(e.code == "ECHECKSUM");
    CHECK(e.rawHex == "01 04 02 01 31 79 75");
  }
  SECTION("another unit answered: EMISMATCH") {
    const Bytes other = hex("02 04 02 01 31 3D 74");
    const Error e = deadlineError(req, other.data(), other.size());
    CHECK(e.code == "EMISMATCH");
  }
}

// ---------------------------------------------------------------- signed decoding (docs/protocols/modbus.md §5)

TEST_CASE("temperature decodes signed: 0xFF33 is -205 (-20.5 degC)", "[modbus][bytes]") {
  const Bytes raw = hex("FF 33");
  CHECK(fl::readBE16(raw.data()) == 0xFF33);
  CHECK(fl::readBE16s(raw.data()) == -205);
  const Bytes pos = hex("01 31");
  CHECK(fl::readBE16s(pos.data()) == 305);

  // Through the parser: a reply carrying FF 33.
  const Request req = Request::read(1, kReadInputRegisters, 0x0001, 1);
  const Bytes reply = hex("01 04 02 FF 33 B8 D5");
  ParseResult r = parse(req, reply);
  REQUIRE(r.verdict == Verdict::Complete);
  REQUIRE(r.response.registers.size() == 1);
  CHECK(static_cast<int16_t>(r.response.registers[0]) == -205);
  CHECK(fl::readBE16s(reply.data() + 3) == -205);

  Bytes out;
  fl::appendBE16(out, static_cast<uint16_t>(static_cast<int16_t>(-205)));
  CHECK(out == raw);
}
