// M307 core against docs/protocols/m307.md (the vendor guide) and its synthetic vectors (§11).
#include <cmath>
#include <cstring>
#include <string>

#include "catch.hpp"
#include "m307/m307.hpp"

using namespace fl;
using namespace fl::m307;

namespace {
Record blank() { return Record{}; }
void put16(Record& r, int off, int v) {
  r[off] = static_cast<uint8_t>((v >> 8) & 0xFF);
  r[off + 1] = static_cast<uint8_t>(v & 0xFF);
}
const FieldValue* find(const std::vector<FieldValue>& vs, const std::string& name) {
  for (const auto& v : vs)
    if (v.name == name) return &v;
  return nullptr;
}
FieldValue num(const char* n, long x) {
  FieldValue v;
  v.name = n;
  v.number = x;
  return v;
}
FieldValue txt(const char* n, const std::string& t) {
  FieldValue v;
  v.name = n;
  v.isText = true;
  v.text = t;
  return v;
}
}  // namespace

TEST_CASE("m307: request records are 60 bytes with the documented command bytes", "[m307]") {
  Record s = statusRequest();
  CHECK(s[0] == 0x3F);
  CHECK(s[1] == 0xCD);
  CHECK(s[2] == 0xDC);
  CHECK(s[3] == 0x00);
  for (size_t i = 4; i < 60; ++i) CHECK(s[i] == 0);
  Record r = readUserRecordRequest(5);
  CHECK((r[0] == 0xAA && r[1] == 0xBB && r[2] == 0xCC && r[3] == 5));
  Record data = blank();
  data[0] = 0xAA;  // a record as read: the command bytes are replaced
  data[8] = 0x42;
  data[59] = 0x99;
  Record w = writeUserRecordRequest(3, data);
  CHECK((w[0] == 0xDD && w[1] == 0xCC && w[2] == 0xBB && w[3] == 3));
  CHECK(w[8] == 0x42);
  CHECK(w[59] == 0x99);
  CHECK((readClockRequest()[3] == 0x02 && readClockRequest()[0] == 0xDE && readClockRequest()[1] == 0xCA));
  CHECK(readLogRequest(true)[4] == 0x01);
  CHECK(readLogRequest(false)[4] == 0x00);
  CHECK(readLogRequest(true)[3] == 0x04);
}

TEST_CASE("m307: status vectors of docs/protocols/m307.md §11", "[m307]") {
  Record r = blank();
  r[0] = 0x3F;
  r[1] = 0xCD;
  r[2] = 0xDC;
  put16(r, 4, 0x0131);   // 30.5 with byte 58 = 10
  put16(r, 9, 0x03E8);   // no sensor
  put16(r, 14, 0x03E7);  // open
  put16(r, 19, 0x0222);  // 54.6 %RH
  put16(r, 21, 0xFFFF);  // minutes out of limits: unsigned (65535), not -1
  r[23] = 1;
  r[25] = 1;  // door 1 closed
  put16(r, 26, 12);
  r[34] = 0x04;          // mains on
  put16(r, 35, 0x00F1);  // 2.41 V
  r[58] = 0x0A;
  r[59] = 'C';
  CHECK(isStatusReply(r));
  Status s = decodeStatus(r.data());
  CHECK(s.resolution == 0.1);
  CHECK(s.temperature1.reading.kind == ReadingKind::Value);
  CHECK(s.temperature1.reading.value == Approx(30.5));
  CHECK(s.temperature2.reading.kind == ReadingKind::NoSensor);
  CHECK(s.internalTemperature.reading.kind == ReadingKind::OpenCircuit);
  CHECK(s.internalHumidity.reading.value == Approx(54.6));
  CHECK(s.internalHumidity.minutesOutOfLimits == 65535);
  CHECK(s.internalHumidity.inAlarm);
  CHECK(s.door1.closed);
  CHECK(s.door1.minutesOpen == 12);
  CHECK_FALSE(s.door2.closed);
  CHECK(s.mainPower);
  CHECK(s.batteryVoltage == Approx(2.41));
  CHECK(s.unit == 'C');

  put16(r, 4, 0xFC19);  // -999: shorted
  CHECK(decodeStatus(r.data()).temperature1.reading.kind == ReadingKind::Shorted);
  r[58] = 0;  // 1-degree unit: no scaling; specials still compared raw
  put16(r, 4, 31);
  CHECK(decodeStatus(r.data()).temperature1.reading.value == 31.0);
  put16(r, 4, 999);
  CHECK(decodeStatus(r.data()).temperature1.reading.kind == ReadingKind::OpenCircuit);
  put16(r, 19, 999);
  CHECK(decodeStatus(r.data()).internalHumidity.reading.kind == ReadingKind::Failed);
  r[34] = 0;
  CHECK_FALSE(decodeStatus(r.data()).mainPower);
  r[59] = 'F';
  CHECK(decodeStatus(r.data()).unit == 'F');
  r[59] = 'O';
  CHECK(decodeStatus(r.data()).unit == '?');
}

TEST_CASE("m307: the packed hour byte (0x72, 0x52, 0x65, 0x48) and BCD", "[m307]") {
  CHECK(decodeHour(0x72) == 12);  // 12 PM
  CHECK(decodeHour(0x52) == 0);   // 12 AM
  CHECK(decodeHour(0x65) == 17);  // 5 PM
  CHECK(decodeHour(0x48) == 8);   // 8 AM
  CHECK(decodeHour(0x17) == 17);  // bit6 = 0: 24-hour BCD
  CHECK(decodeHour(0x80) == -1);
  CHECK(decodeHour(0x40) == -1);  // hour 0 in 12-hour mode is invalid
  CHECK(decodeHour(0x53) == -1);  // 13 in 12-hour mode
  for (int h = 0; h < 24; ++h) CHECK(decodeHour(encodeHour12(h)) == h);
  CHECK(encodeHour12(12) == 0x72);
  CHECK(encodeHour12(0) == 0x52);
  CHECK(encodeHour12(17) == 0x65);
  CHECK(encodeHour12(8) == 0x48);
  CHECK(bcdToInt(0x59) == 59);
  CHECK(bcdToInt(0x5A) == -1);
  CHECK(intToBcd(42) == 0x42);
  for (int i = 0; i < 100; ++i) CHECK(bcdToInt(intToBcd(i)) == i);
}

TEST_CASE("m307: clock reply and store-clock request", "[m307]") {
  Record r = blank();
  r[0] = 0xDE;
  r[1] = 0xCA;
  r[2] = 0xDE;
  r[3] = 0x02;
  r[4] = 30;    // seconds, binary
  r[5] = 0x45;  // 45 min
  r[6] = 0x65;  // 5 PM
  r[7] = 0x03;
  r[8] = 0x24;
  r[9] = 0x11;
  r[10] = 0x26;
  r[11] = 5;
  put16(r, 12, 4000);
  ClockInfo c = decodeClock(r.data());
  CHECK(c.valid);
  CHECK(c.datetime.year == 2026);
  CHECK(c.datetime.month == 11);
  CHECK(c.datetime.day == 24);
  CHECK(c.datetime.hour == 17);
  CHECK(c.datetime.minute == 45);
  CHECK(c.datetime.second == 30);
  CHECK(c.datetime.dayOfWeek == 3);
  CHECK(c.logRateMinutes == 5);
  CHECK(c.totalRecords == 4000);

  DateTime d;
  d.year = 2026;
  d.month = 11;
  d.day = 24;
  d.hour = 17;
  d.minute = 45;
  CHECK_FALSE(validateClock(d, 5));
  Record s = setClockRequest(d, 5);
  CHECK((s[0] == 0xDE && s[1] == 0xCA && s[2] == 0xDE && s[3] == 0x00));
  CHECK(s[4] == 0);
  CHECK(s[5] == 0x45);
  CHECK(s[6] == 0x17);  // the store command takes a 24-hour BCD hour
  CHECK(s[7] == 0);
  CHECK(s[8] == 0x24);
  CHECK(s[9] == 0x11);
  CHECK(s[10] == 0x26);
  CHECK(s[11] == 5);
  d.year = 2100;
  CHECK(validateClock(d, 5).message.find("year") != std::string::npos);
  d.year = 2026;
  Error e = validateClock(d, 61);
  CHECK(e.kind == ErrorKind::Validation);
  CHECK(e.message.find("logRateMinutes must be 1..60") != std::string::npos);
}

TEST_CASE("m307: a 15-byte log record", "[m307]") {
  uint8_t p[15] = {0x30, 0x72, 0x02, 0x15, 0x06, 0x24, 0x01, 0x31, 0x03, 0xE8, 0xFF, 0x38, 0x02, 0x22, 0x05};
  LogRecord r = decodeLogRecord(p, 0.1);
  CHECK(r.datetimeValid);
  CHECK(r.datetime.year == 2024);
  CHECK(r.datetime.month == 6);
  CHECK(r.datetime.day == 15);
  CHECK(r.datetime.hour == 12);
  CHECK(r.datetime.minute == 30);
  CHECK(r.temperature1.value == Approx(30.5));
  CHECK(r.temperature2.kind == ReadingKind::NoSensor);
  CHECK(r.internalTemperature.value == Approx(-20.0));
  CHECK(r.internalHumidity.value == Approx(54.6));
  CHECK(r.input1);
  CHECK_FALSE(r.input2);
  CHECK(r.mainPower);
}

TEST_CASE("m307: log stream: records, THE-END only on a record boundary, optional echo", "[m307]") {
  auto rec = [](uint8_t minute) {
    Bytes b = {minute, 0x48, 0x01, 0x01, 0x01, 0x24, 0, 100, 0, 100, 0, 100, 1, 0, 4};
    return b;
  };
  SECTION("no echo, byte by byte") {
    Bytes stream;
    for (int i = 0; i < 3; ++i) {
      Bytes r = rec(static_cast<uint8_t>(intToBcd(i)));
      stream.insert(stream.end(), r.begin(), r.end());
    }
    const char* end = "THE-END";
    stream.insert(stream.end(), end, end + 7);
    LogStreamParser p;
    size_t got = 0;
    for (uint8_t b : stream) got += p.feed(&b, 1);
    CHECK(got == 3);
    CHECK(p.done());
    CHECK_FALSE(p.sawEcho());
    CHECK(p.recordCount() == 3);
    CHECK(p.record(2)[0] == 0x02);
  }
  SECTION("THE-END bytes inside a record are data, not the end") {
    // A record whose bytes 5.. spell THE-END: not on a boundary, so it is data.
    Bytes r1 = {0x54, 0x48, 0x01, 0x01, 0x01, 'T', 'H', 'E', '-', 'E', 'N', 'D', 0, 0, 0};
    Bytes r2 = rec(0x10);
    Bytes stream = r1;
    stream.insert(stream.end(), r2.begin(), r2.end());
    const char* end = "THE-END";
    stream.insert(stream.end(), end, end + 7);
    LogStreamParser p;
    p.feed(stream.data(), 20);
    CHECK_FALSE(p.done());
    p.feed(stream.data() + 20, stream.size() - 20);
    CHECK(p.done());
    CHECK(p.recordCount() == 2);
  }
  SECTION("a 60-byte echo of the request is dropped") {
    Record echo = readLogRequest(true);
    Bytes stream(echo.begin(), echo.end());
    Bytes r = rec(0x05);
    stream.insert(stream.end(), r.begin(), r.end());
    const char* end = "THE-END";
    stream.insert(stream.end(), end, end + 7);
    LogStreamParser p;
    p.feed(stream.data(), 30);  // the echo arrives in pieces
    CHECK(p.recordCount() == 0);
    p.feed(stream.data() + 30, stream.size() - 30);
    CHECK(p.sawEcho());
    CHECK(p.done());
    REQUIRE(p.recordCount() == 1);
    CHECK(p.record(0)[0] == 0x05);
  }
  SECTION("an empty log is just THE-END") {
    LogStreamParser p;
    p.feed(reinterpret_cast<const uint8_t*>("THE-END"), 7);
    CHECK(p.done());
    CHECK(p.recordCount() == 0);
  }
}

TEST_CASE("m307: user record fields: partial update keeps every other byte", "[m307]") {
  Record r = blank();
  for (size_t i = 4; i < 60; ++i) r[i] = static_cast<uint8_t>(0xA0 + i);  // undocumented bytes too
  Record before = r;
  // The guide's calibration example: reference 32.5, M307 32.7 -> CF -2 -> FF FE.
  std::vector<FieldValue> v = {num("temp1Correction", -2), num("door2TimeDelay", 15)};
  REQUIRE_FALSE(applyFields(0, v, r));
  CHECK(r[36] == 0xFF);
  CHECK(r[37] == 0xFE);
  CHECK(r[34] == 0x00);
  CHECK(r[35] == 15);
  for (size_t i = 4; i < 60; ++i)
    if (i != 34 && i != 35 && i != 36 && i != 37) CHECK(r[i] == before[i]);
  auto fields = decodeFields(0, r);
  CHECK(find(fields, "temp1Correction")->number == -2);
  CHECK(find(fields, "door2TimeDelay")->number == 15);
  CHECK(fields.size() == 20);
}

TEST_CASE("m307: field validation happens before any byte changes", "[m307]") {
  Record r = blank();
  Record before = r;
  Error e = applyFields(0, {num("temp1LowerLimit", -5), num("input1Logic", 3)}, r);
  CHECK(e.kind == ErrorKind::Validation);
  CHECK(e.message.find("input1Logic must be 0..2") != std::string::npos);
  CHECK(r == before);  // the valid first value was not written either
  CHECK(applyFields(0, {num("nope", 1)}, r).message.find("no field 'nope'") != std::string::npos);
  CHECK(applyFields(0, {num("temp1TimeDelay", -1)}, r).message.find("0..32767") != std::string::npos);
  CHECK(applyFields(1, {txt("deviceName", std::string(21, 'x'))}, r).message.find("at most 20") != std::string::npos);
  CHECK(applyFields(1, {txt("deviceName", "caf\xc3\xa9")}, r).message.find("printable ASCII") != std::string::npos);
  CHECK(applyFields(1, {txt("unitOfMeasure", "K")}, r).message.find("'C' or 'F'") != std::string::npos);
  CHECK(applyFields(1, {txt("serialNumber", "123")}, r).message.find("read-only") != std::string::npos);
  CHECK(applyFields(4, {num("buzzerEnabled", 2)}, r).message.find("0..1") != std::string::npos);
  CHECK(applyFields(6, {}, r).message.find("record must be 0..5") != std::string::npos);
  CHECK(r == before);
}

TEST_CASE("m307: text fields are NUL padded and read back trimmed", "[m307]") {
  Record r = blank();
  std::memset(r.data() + 8, 'Z', 40);
  REQUIRE_FALSE(applyFields(2, {txt("temperatureSensor1Name", "Freezer Probe")}, r));
  CHECK(r[8] == 'F');
  CHECK(r[20] == 'e');
  CHECK(r[21] == 0);
  CHECK(r[27] == 0);
  CHECK(r[28] == 'Z');  // sensor 2's name untouched
  auto f = decodeFields(2, r);
  CHECK(find(f, "temperatureSensor1Name")->text == "Freezer Probe");
  REQUIRE_FALSE(applyFields(1, {txt("deviceName", "Lab Freezer #1"), txt("unitOfMeasure", "F")}, r));
  auto g = decodeFields(1, r);
  CHECK(find(g, "deviceName")->text == "Lab Freezer #1");
  CHECK(find(g, "unitOfMeasure")->text == "F");
  CHECK(r[28] == 'F');  // unit at offset 28; the guide's "0x4f" is a typo for 0x46
}

TEST_CASE("m307: sameData compares bytes 4..59 only", "[m307]") {
  Record a = blank(), b = blank();
  a[0] = 0xDD;
  b[0] = 0xAA;
  CHECK(sameData(a, b));
  b[59] = 1;
  CHECK_FALSE(sameData(a, b));
}
