// M307 Temperature Guard codec (docs/protocols/m307.md): the 60-byte request/reply records,
// the status record, user records 0..5 as field tables, BCD and the packed 12-hour hour
// byte, the 15-byte log record and an incremental log-stream parser. Pure: no I/O.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "common/error.hpp"

namespace fl::m307 {

constexpr size_t kRecordSize = 60;
constexpr size_t kLogRecordSize = 15;
// The log is a circular buffer of 4,000 records, so a download is at most an echo of the
// request, 4,000 records and THE-END: anything longer is not an M307 talking.
constexpr size_t kLogCapacity = 4000;
constexpr size_t kLogMaxStreamBytes = kRecordSize + kLogCapacity * kLogRecordSize + 7;
constexpr int kUserRecords = 6;
using Record = std::array<uint8_t, kRecordSize>;

// --- commands (docs/protocols/m307.md §3) ---
Record statusRequest();
Record readUserRecordRequest(int n);
// `data` is the whole record as read (bytes 4..59 are sent; 0..3 become the write command).
Record writeUserRecordRequest(int n, const Record& data);
Record readClockRequest();
Record readLogRequest(bool resetPointer);

bool isStatusReply(const Record& r);
bool isUserRecordReply(const Record& r, int n);  // a read reply, and the reply to a write
bool isClockReply(const Record& r);

// --- value encodings (docs/protocols/m307.md §5) ---
enum class ReadingKind { Value, NoSensor, OpenCircuit, Shorted, Failed };
const char* readingKindName(ReadingKind k);

struct Reading {
  ReadingKind kind = ReadingKind::Value;
  double value = 0;  // scaled, valid when kind == Value
  int16_t raw = 0;
};

// Specials are compared on the raw value before scaling. resolution: 0.1 or 1.
Reading decodeTemperature(int16_t raw, double resolution);
Reading decodeHumidity(int16_t raw);

int bcdToInt(uint8_t b);  // -1 when not valid BCD
uint8_t intToBcd(int v);  // v in 0..99
// The packed hour byte: bit6 = 12-hour mode, bit5 = PM, bits4..0 BCD 1..12.
// Returns 0..23, or -1 when the byte is not a valid hour. Bit6 = 0: 24-hour BCD.
int decodeHour(uint8_t b);
uint8_t encodeHour12(int hour24);

// --- status record (docs/protocols/m307.md §4) ---
struct InputStatus {
  Reading reading;
  uint16_t minutesOutOfLimits = 0;
  bool inAlarm = false;
};
struct DoorStatus {
  bool closed = false;
  uint16_t minutesOpen = 0;
  bool inAlarm = false;
  uint16_t raw = 0;
};
struct Status {
  InputStatus temperature1, temperature2, internalTemperature, internalHumidity;
  DoorStatus door1, door2;
  bool mainPower = false;
  uint8_t mainPowerRaw = 0;
  double batteryVoltage = 0;
  double resolution = 1;  // 0.1 when byte 58 == 10
  char unit = 'C';        // 'C' or 'F' (byte 59); '?' if neither
};
Status decodeStatus(const uint8_t* rec60);

// --- clock (docs/protocols/m307.md §8) ---
struct DateTime {
  int year = 2000, month = 1, day = 1, hour = 0, minute = 0, second = 0;
  int dayOfWeek = 0;  // 1..7 as the device reports it, 0 = not given
};
struct ClockInfo {
  DateTime datetime;
  int logRateMinutes = 0;
  uint16_t totalRecords = 0;
  bool valid = true;  // false when a BCD field was not BCD
};
ClockInfo decodeClock(const uint8_t* rec60);
Error validateClock(const DateTime& dt, int logRateMinutes);
// The store-date/time command. Precondition: validateClock() is empty.
Record setClockRequest(const DateTime& dt, int logRateMinutes);

// --- log (docs/protocols/m307.md §9) ---
struct LogRecord {
  DateTime datetime;
  bool datetimeValid = true;
  Reading temperature1, temperature2, internalTemperature, internalHumidity;
  bool input1 = false, input2 = false, mainPower = false;
  uint8_t flags = 0;
};
LogRecord decodeLogRecord(const uint8_t* rec15, double resolution);

// Feeds the reply stream of `DE CA DE 04`: an optional 60-byte echo, then 15-byte records,
// then `THE-END` on a record boundary. Records are reported as raw 15-byte blocks.
class LogStreamParser {
 public:
  // Returns the number of new whole records now available through record(i).
  size_t feed(const uint8_t* data, size_t len);
  bool done() const { return done_; }
  size_t recordCount() const { return records_.size() / kLogRecordSize; }
  const uint8_t* record(size_t i) const { return records_.data() + i * kLogRecordSize; }
  bool sawEcho() const { return echo_; }
  size_t bytesSeen() const { return seen_; }

 private:
  Bytes pending_;
  Bytes records_;
  bool started_ = false, echo_ = false, done_ = false;
  size_t seen_ = 0;
};

// --- user records as field tables (docs/protocols/m307.md §6) ---
enum class FieldType { Int16, UInt8, Text, UnitChar };
struct FieldSpec {
  const char* name;
  int offset;
  FieldType type;
  int length;     // bytes (Text: the fixed width)
  long min, max;  // numeric range accepted on write
  bool writable = true;
};
const std::vector<FieldSpec>& fieldsOf(int record);  // record 0..5

struct FieldValue {
  std::string name;
  bool isText = false;
  long number = 0;
  std::string text;
};

Error validateRecordIndex(int n);
// Decodes every field of record n.
std::vector<FieldValue> decodeFields(int n, const Record& rec);
// Checks every value first; only then writes the named fields into `rec`. Unnamed fields
// and undocumented bytes are left as they were. Unknown names are an error.
Error applyFields(int n, const std::vector<FieldValue>& values, Record& rec);

// Compares the data bytes (4..59) of what was written with the reply.
bool sameData(const Record& a, const Record& b);

}  // namespace fl::m307
