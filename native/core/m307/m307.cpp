#include "m307/m307.hpp"

#include <algorithm>
#include <cstring>

namespace fl::m307 {

namespace {

Record command(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  Record r{};
  r[0] = a;
  r[1] = b;
  r[2] = c;
  r[3] = d;
  return r;
}

int16_t be16s(const uint8_t* p) { return static_cast<int16_t>((p[0] << 8) | p[1]); }
uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

constexpr char kTheEnd[] = "THE-END";
constexpr size_t kTheEndLen = 7;

InputStatus input(const uint8_t* p, double resolution, bool humidity) {
  InputStatus s;
  s.reading = humidity ? decodeHumidity(be16s(p)) : decodeTemperature(be16s(p), resolution);
  s.minutesOutOfLimits = be16(p + 2);  // unsigned (the guide), not signed as the Python client
  s.inAlarm = p[4] != 0;
  return s;
}

DoorStatus door(const uint8_t* p) {
  DoorStatus d;
  d.raw = be16(p);
  d.closed = p[1] == 1;  // low byte: 1 = closed, 0 = open
  d.minutesOpen = be16(p + 2);
  d.inAlarm = p[4] != 0;
  return d;
}

std::string str(long v) { return std::to_string(v); }

}  // namespace

Record statusRequest() { return command(0x3F, 0xCD, 0xDC, 0x00); }
Record readUserRecordRequest(int n) { return command(0xAA, 0xBB, 0xCC, static_cast<uint8_t>(n)); }
Record writeUserRecordRequest(int n, const Record& data) {
  Record r = data;
  r[0] = 0xDD;
  r[1] = 0xCC;
  r[2] = 0xBB;
  r[3] = static_cast<uint8_t>(n);
  return r;
}
Record readClockRequest() { return command(0xDE, 0xCA, 0xDE, 0x02); }
Record readLogRequest(bool resetPointer) {
  Record r = command(0xDE, 0xCA, 0xDE, 0x04);
  r[4] = resetPointer ? 0x01 : 0x00;
  return r;
}

bool isStatusReply(const Record& r) { return r[0] == 0x3F && r[1] == 0xCD && r[2] == 0xDC && r[3] == 0x00; }
bool isUserRecordReply(const Record& r, int n) { return r[0] == 0xAA && r[1] == 0xBB && r[2] == 0xCC && r[3] == n; }
bool isClockReply(const Record& r) { return r[0] == 0xDE && r[1] == 0xCA && r[2] == 0xDE && r[3] == 0x02; }

const char* readingKindName(ReadingKind k) {
  switch (k) {
    case ReadingKind::Value: return "value";
    case ReadingKind::NoSensor: return "no-sensor";
    case ReadingKind::OpenCircuit: return "open-circuit";
    case ReadingKind::Shorted: return "shorted";
    case ReadingKind::Failed: return "failed";
  }
  return "unknown";
}

Reading decodeTemperature(int16_t raw, double resolution) {
  Reading r;
  r.raw = raw;
  if (raw == 1000) r.kind = ReadingKind::NoSensor;
  else if (raw == 999) r.kind = ReadingKind::OpenCircuit;
  else if (raw == -999) r.kind = ReadingKind::Shorted;
  else r.value = resolution < 1 ? raw / 10.0 : static_cast<double>(raw);
  return r;
}

Reading decodeHumidity(int16_t raw) {
  Reading r;
  r.raw = raw;
  if (raw == 999) r.kind = ReadingKind::Failed;
  else r.value = raw / 10.0;
  return r;
}

int bcdToInt(uint8_t b) {
  int hi = b >> 4, lo = b & 0x0F;
  if (hi > 9 || lo > 9) return -1;
  return hi * 10 + lo;
}

uint8_t intToBcd(int v) { return static_cast<uint8_t>(((v / 10) << 4) | (v % 10)); }

int decodeHour(uint8_t b) {
  if (b & 0x80) return -1;
  if (b & 0x40) {
    int h12 = bcdToInt(b & 0x1F);
    if (h12 < 1 || h12 > 12) return -1;
    const bool pm = (b & 0x20) != 0;
    return (h12 % 12) + (pm ? 12 : 0);
  }
  int h = bcdToInt(b & 0x3F);
  return h >= 0 && h <= 23 ? h : -1;
}

uint8_t encodeHour12(int hour24) {
  const bool pm = hour24 >= 12;
  int h12 = hour24 % 12;
  if (h12 == 0) h12 = 12;
  return static_cast<uint8_t>(0x40 | (pm ? 0x20 : 0) | intToBcd(h12));
}

Status decodeStatus(const uint8_t* rec60) {
  Status s;
  s.resolution = rec60[58] == 10 ? 0.1 : 1.0;
  s.unit = (rec60[59] == 'C' || rec60[59] == 'F') ? static_cast<char>(rec60[59]) : '?';
  s.temperature1 = input(rec60 + 4, s.resolution, false);
  s.temperature2 = input(rec60 + 9, s.resolution, false);
  s.internalTemperature = input(rec60 + 14, s.resolution, false);
  s.internalHumidity = input(rec60 + 19, s.resolution, true);
  s.door1 = door(rec60 + 24);
  s.door2 = door(rec60 + 29);
  s.mainPowerRaw = rec60[34];
  s.mainPower = rec60[34] == 4;
  s.batteryVoltage = be16(rec60 + 35) / 100.0;
  return s;
}

// The BCD date both the status record and a log record carry: minute, hour, day of week, day,
// month, year (2000 + yy), in that order from `p`. Returns whether it is a plausible date.
static bool decodeBcdDate(const uint8_t* p, DateTime& d) {
  d.minute = bcdToInt(p[0]);
  d.hour = decodeHour(p[1]);
  d.dayOfWeek = bcdToInt(p[2]);
  d.day = bcdToInt(p[3]);
  d.month = bcdToInt(p[4]);
  const int yy = bcdToInt(p[5]);
  d.year = yy < 0 ? -1 : 2000 + yy;
  return d.minute >= 0 && d.minute <= 59 && d.hour >= 0 && d.day >= 1 && d.day <= 31 && d.month >= 1 && d.month <= 12 &&
         yy >= 0;
}

ClockInfo decodeClock(const uint8_t* rec60) {
  ClockInfo c;
  DateTime& d = c.datetime;
  // Seconds: the guide says plain binary; tolerate BCD when the byte is not a valid binary second.
  d.second = rec60[4] <= 59 ? rec60[4] : bcdToInt(rec60[4]);
  const bool dateOk = decodeBcdDate(rec60 + 5, d);
  c.logRateMinutes = rec60[11];
  c.totalRecords = be16(rec60 + 12);
  c.valid = d.second >= 0 && dateOk;
  return c;
}

Error validateClock(const DateTime& dt, int logRateMinutes) {
  if (dt.year < 2000 || dt.year > 2099) return validationError("year must be 2000..2099, got " + str(dt.year));
  if (dt.month < 1 || dt.month > 12) return validationError("month must be 1..12, got " + str(dt.month));
  if (dt.day < 1 || dt.day > 31) return validationError("day must be 1..31, got " + str(dt.day));
  if (dt.hour < 0 || dt.hour > 23) return validationError("hour must be 0..23, got " + str(dt.hour));
  if (dt.minute < 0 || dt.minute > 59) return validationError("minute must be 0..59, got " + str(dt.minute));
  if (logRateMinutes < 1 || logRateMinutes > 60)
    return validationError("logRateMinutes must be 1..60, got " + str(logRateMinutes));
  return {};
}

Record setClockRequest(const DateTime& dt, int logRateMinutes) {
  Record r = command(0xDE, 0xCA, 0xDE, 0x00);
  r[4] = 0;  // seconds: not used
  r[5] = intToBcd(dt.minute);
  r[6] = intToBcd(dt.hour);  // the guide: BCD 00-24 (24-hour) on the store command
  r[7] = 0;                  // day of week: leave 0
  r[8] = intToBcd(dt.day);
  r[9] = intToBcd(dt.month);
  r[10] = intToBcd(dt.year - 2000);
  r[11] = static_cast<uint8_t>(logRateMinutes);
  return r;
}

LogRecord decodeLogRecord(const uint8_t* rec15, double resolution) {
  LogRecord r;
  r.datetimeValid = decodeBcdDate(rec15, r.datetime);
  r.datetime.second = 0;
  r.temperature1 = decodeTemperature(be16s(rec15 + 6), resolution);
  r.temperature2 = decodeTemperature(be16s(rec15 + 8), resolution);
  r.internalTemperature = decodeTemperature(be16s(rec15 + 10), resolution);
  r.internalHumidity = decodeHumidity(be16s(rec15 + 12));
  r.flags = rec15[14];
  r.input1 = rec15[14] & 0x01;
  r.input2 = rec15[14] & 0x02;
  r.mainPower = rec15[14] & 0x04;
  return r;
}

size_t LogStreamParser::feed(const uint8_t* data, size_t len) {
  if (done_) return 0;
  seen_ += len;
  pending_.insert(pending_.end(), data, data + len);
  size_t consumed = 0;
  if (!started_) {
    // An optional 60-byte echo of the request: a record's first byte is a BCD minute
    // (<= 0x59), so it can never start with 0xDE.
    if (pending_.size() < 4) return 0;
    if (pending_[0] == 0xDE && pending_[1] == 0xCA && pending_[2] == 0xDE && pending_[3] == 0x04) {
      if (pending_.size() < kRecordSize) return 0;
      echo_ = true;
      consumed = kRecordSize;
    }
    started_ = true;
  }
  const size_t before = recordCount();
  while (!done_) {
    const size_t avail = pending_.size() - consumed;
    const uint8_t* p = pending_.data() + consumed;
    // The terminator counts only on a record boundary.
    if (avail >= kTheEndLen && std::memcmp(p, kTheEnd, kTheEndLen) == 0) {
      // "THE-END" followed by more bytes at a boundary could in theory be a record that
      // starts with T (0x54 = minute 54) H (0x48 = 8 AM) E (0x45 is no valid day of week):
      // the 'E' rules that out, so this is the end.
      done_ = true;
      consumed += kTheEndLen;
      break;
    }
    if (avail < kLogRecordSize) {
      // Could still be the start of THE-END or of a record.
      break;
    }
    // A run of whole records, copied at once; it stops where THE-END might start (or a
    // partial record), which the next turn decides.
    size_t run = kLogRecordSize;
    while (avail - run >= kLogRecordSize &&
           !(avail - run >= kTheEndLen && std::memcmp(p + run, kTheEnd, kTheEndLen) == 0)) {
      run += kLogRecordSize;
    }
    records_.insert(records_.end(), p, p + run);
    consumed += run;
  }
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<long>(consumed));
  return recordCount() - before;
}

// ---------------------------------------------------------------------------------------
// User records (docs/protocols/m307.md §6)

namespace {

constexpr long kI16Min = -32768, kI16Max = 32767;

const std::vector<FieldSpec> kRecord0 = {
    {"temp1LowerLimit", 8, FieldType::Int16, 2, kI16Min, kI16Max},
    {"temp1UpperLimit", 10, FieldType::Int16, 2, kI16Min, kI16Max},
    {"temp1TimeDelay", 12, FieldType::Int16, 2, 0, kI16Max},
    {"temp2LowerLimit", 14, FieldType::Int16, 2, kI16Min, kI16Max},
    {"temp2UpperLimit", 16, FieldType::Int16, 2, kI16Min, kI16Max},
    {"temp2TimeDelay", 18, FieldType::Int16, 2, 0, kI16Max},
    {"internalTempLowerLimit", 20, FieldType::Int16, 2, kI16Min, kI16Max},
    {"internalTempUpperLimit", 22, FieldType::Int16, 2, kI16Min, kI16Max},
    {"internalTempTimeDelay", 24, FieldType::Int16, 2, 0, kI16Max},
    {"humidityLowerLimit", 26, FieldType::Int16, 2, 0, 1000},
    {"humidityUpperLimit", 28, FieldType::Int16, 2, 0, 1000},
    {"humidityTimeDelay", 30, FieldType::Int16, 2, 0, kI16Max},
    {"door1TimeDelay", 32, FieldType::Int16, 2, 0, kI16Max},
    {"door2TimeDelay", 34, FieldType::Int16, 2, 0, kI16Max},
    {"temp1Correction", 36, FieldType::Int16, 2, -1000, 1000},
    {"temp2Correction", 38, FieldType::Int16, 2, -1000, 1000},
    {"internalTempCorrection", 40, FieldType::Int16, 2, -1000, 1000},
    {"humidityCorrection", 42, FieldType::Int16, 2, -1000, 1000},
    {"input1Logic", 45, FieldType::UInt8, 1, 0, 2},
    {"input2Logic", 46, FieldType::UInt8, 1, 0, 2},
};
const std::vector<FieldSpec> kRecord1 = {
    {"deviceName", 8, FieldType::Text, 20, 0, 0},
    {"unitOfMeasure", 28, FieldType::UnitChar, 1, 0, 0},
    {"macAddress", 29, FieldType::Text, 20, 0, 0, false},
    {"serialNumber", 50, FieldType::Text, 10, 0, 0, false},
};
const std::vector<FieldSpec> kRecord2 = {
    {"temperatureSensor1Name", 8, FieldType::Text, 20, 0, 0},
    {"temperatureSensor2Name", 28, FieldType::Text, 20, 0, 0},
};
const std::vector<FieldSpec> kRecord3 = {
    {"door1Name", 8, FieldType::Text, 20, 0, 0},
    {"door2Name", 28, FieldType::Text, 20, 0, 0},
};
const std::vector<FieldSpec> kRecord4 = {
    {"relayLogic", 8, FieldType::UInt8, 1, 0, 1},
    {"alarmReminderDelay", 9, FieldType::UInt8, 1, 0, 255},
    {"buzzerEnabled", 10, FieldType::UInt8, 1, 0, 1},
    {"twoStageDoorAlarmDelay", 11, FieldType::UInt8, 1, 0, 255},
};
const std::vector<FieldSpec> kRecord5 = {
    {"internalTemperatureName", 8, FieldType::Text, 20, 0, 0},
    {"humidityName", 28, FieldType::Text, 20, 0, 0},
};
const std::vector<FieldSpec> kNone;

std::string decodeText(const uint8_t* p, int len) {
  std::string s;
  for (int i = 0; i < len && p[i] != 0; ++i) s.push_back(static_cast<char>(p[i]));
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

}  // namespace

const std::vector<FieldSpec>& fieldsOf(int record) {
  switch (record) {
    case 0: return kRecord0;
    case 1: return kRecord1;
    case 2: return kRecord2;
    case 3: return kRecord3;
    case 4: return kRecord4;
    case 5: return kRecord5;
    default: return kNone;
  }
}

Error validateRecordIndex(int n) {
  if (n < 0 || n >= kUserRecords) return validationError("record must be 0..5, got " + str(n));
  return {};
}

std::vector<FieldValue> decodeFields(int n, const Record& rec) {
  std::vector<FieldValue> out;
  for (const FieldSpec& f : fieldsOf(n)) {
    FieldValue v;
    v.name = f.name;
    const uint8_t* p = rec.data() + f.offset;
    switch (f.type) {
      case FieldType::Int16: v.number = be16s(p); break;
      case FieldType::UInt8: v.number = p[0]; break;
      case FieldType::Text:
        v.isText = true;
        v.text = decodeText(p, f.length);
        break;
      case FieldType::UnitChar:
        v.isText = true;
        v.text = (p[0] == 'C' || p[0] == 'F') ? std::string(1, static_cast<char>(p[0])) : std::string();
        v.number = p[0];
        break;
    }
    out.push_back(std::move(v));
  }
  return out;
}

Error applyFields(int n, const std::vector<FieldValue>& values, Record& rec) {
  if (Error e = validateRecordIndex(n)) return e;
  const auto& specs = fieldsOf(n);
  std::vector<const FieldSpec*> chosen;
  for (const FieldValue& v : values) {
    auto it = std::find_if(specs.begin(), specs.end(), [&](const FieldSpec& f) { return v.name == f.name; });
    if (it == specs.end()) return validationError("record " + str(n) + " has no field '" + v.name + "'", "EINVAL");
    if (!it->writable) return validationError(v.name + " is read-only", "EINVAL");
    switch (it->type) {
      case FieldType::Int16:
      case FieldType::UInt8:
        if (v.isText) return validationError(v.name + " must be a number", "EINVAL");
        if (v.number < it->min || v.number > it->max)
          return validationError(v.name + " must be " + str(it->min) + ".." + str(it->max) + ", got " + str(v.number));
        break;
      case FieldType::Text:
        if (!v.isText) return validationError(v.name + " must be a string", "EINVAL");
        if (static_cast<int>(v.text.size()) > it->length)
          return validationError(v.name + " must be at most " + str(it->length) + " characters, got " +
                                 str(static_cast<long>(v.text.size())));
        for (char c : v.text)
          if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E)
            return validationError(v.name + " must be printable ASCII", "EINVAL");
        break;
      case FieldType::UnitChar:
        if (!v.isText || (v.text != "C" && v.text != "F"))
          return validationError(v.name + " must be 'C' or 'F'", "EINVAL");
        break;
    }
    chosen.push_back(&*it);
  }
  // Every value is valid: now write them.
  for (size_t i = 0; i < values.size(); ++i) {
    const FieldSpec& f = *chosen[i];
    const FieldValue& v = values[i];
    uint8_t* p = rec.data() + f.offset;
    switch (f.type) {
      case FieldType::Int16: {
        uint16_t u = static_cast<uint16_t>(static_cast<int16_t>(v.number));
        p[0] = static_cast<uint8_t>(u >> 8);
        p[1] = static_cast<uint8_t>(u & 0xFF);
        break;
      }
      case FieldType::UInt8: p[0] = static_cast<uint8_t>(v.number); break;
      case FieldType::Text:
        std::memset(p, 0, static_cast<size_t>(f.length));  // NUL padded, like the vendor's tool (inferred)
        std::copy(v.text.begin(), v.text.end(), p);        // at most f.length bytes, checked above
        break;
      case FieldType::UnitChar: p[0] = static_cast<uint8_t>(v.text[0]); break;
    }
  }
  return {};
}

bool sameData(const Record& a, const Record& b) { return std::equal(a.begin() + 4, a.end(), b.begin() + 4); }

}  // namespace fl::m307
