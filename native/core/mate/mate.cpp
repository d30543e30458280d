#include "mate/mate.hpp"

#include <bit>
#include <cstdio>
#include <string>

namespace fl::mate {

namespace {

std::string str(long long v) { return std::to_string(v); }

std::string hex2(unsigned v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", v & 0xFFu);
  return buf;
}

std::string hex4(unsigned v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04X", v & 0xFFFFu);
  return buf;
}

Error rangeError(const char* what, long long lo, long long hi, long long got, const char* extra = "") {
  return validationError(std::string(what) + " must be " + str(lo) + ".." + str(hi) + extra + ", got " + str(got));
}

Error withRaw(Error e, const uint8_t* data, size_t len) {
  e.rawHex = toHex(data, len);
  return e;
}

std::string describe(const Command& c) {
  std::string s = commandTypeName(c.type);
  for (auto& ch : s) ch = static_cast<char>(ch >= 'a' && ch <= 'z' ? ch - 'a' + 'A' : ch);
  if (c.type == kStatus) return s + " page " + hex2(c.address);
  if (c.type == kLog) return s + " day " + str(c.value);
  return s + " " + hex4(c.address);
}

bool isDcPage(uint16_t page) { return page >= kDcFirstPage && page <= kDcLastPage; }

// Lengths a reply starting with `b` can have: 5 for 00..03 (value replies; 00 from a hub),
// 16 for 01..04 (status from a device type), 17 for 0x16 (log page).
bool canHaveLength(uint8_t b, size_t n) {
  if (n == kValueReplyLength) return b <= kWrite;
  if (n == kStatusReplyLength) return b >= kHub && b <= kDc;
  if (n == kLogReplyLength) return b == kLog;
  return false;
}

// A later explanation replaces an earlier one only when it is more telling (Error::rank).
void keep(ParseResult& res, Error e) {
  if (e.rank() > res.error.rank()) res.error = std::move(e);
}

}  // namespace

const char* deviceTypeName(uint8_t type) {
  switch (type) {
    case kNoDevice: return "none";
    case kHub: return "hub";
    case kFx: return "fx";
    case kMx: return "mx";
    case kDc: return "dc";
  }
  return "unknown";
}

const char* commandTypeName(uint8_t type) {
  switch (type) {
    case kIncDec00: return "inc-dec-00";
    case kIncDec01: return "inc-dec-01";
    case kRead: return "read";
    case kWrite: return "write";
    case kStatus: return "status";
    case kLog: return "log";
  }
  return "unknown";
}

uint16_t checksum(const uint8_t* data, size_t len) {
  uint16_t sum = 0;
  for (size_t i = 0; i < len; ++i) sum = static_cast<uint16_t>(sum + data[i]);
  return sum;
}

bool checksumOk(const uint8_t* frame, size_t len) {
  if (len < 3) return false;
  return checksum(frame, len - 2) == readBE16(frame + len - 2);
}

Bytes withChecksum(Bytes frame) {
  const uint16_t sum = checksum(frame);
  appendBE16(frame, sum);
  return frame;
}

Command Command::read(uint8_t port, uint16_t reg) { return Command{port, kRead, reg, 0}; }
Command Command::write(uint8_t port, uint16_t reg, uint16_t value) { return Command{port, kWrite, reg, value}; }
Command Command::status(uint8_t port, uint16_t page, uint16_t param) { return Command{port, kStatus, page, param}; }
Command Command::logPage(uint8_t port, uint16_t day) { return Command{port, kLog, 0, day}; }

Bytes command(uint8_t port, uint8_t type, uint16_t address, uint16_t value) {
  Bytes out;
  out.reserve(kCommandLength);
  out.push_back(port);
  out.push_back(type);
  appendBE16(out, address);
  appendBE16(out, value);
  return withChecksum(std::move(out));
}

bool decodeCommand(const uint8_t* data, size_t len, Command& out) {
  if (len != kCommandLength || !checksumOk(data, len)) return false;
  out = Command{data[0], data[1], readBE16(data + 2), readBE16(data + 4)};
  return true;
}

Error checkPort(long long port) {
  if (port < 0 || port > kMaxPort)
    return rangeError("port", 0, kMaxPort, port, " (0 = the hub, or the device when there is no hub)");
  return {};
}

Error checkRegister(long long reg) {
  if (reg < 0 || reg > 0xFFFF) return rangeError("register", 0, 0xFFFF, reg);
  return {};
}

Error checkValue(long long value) {
  if (value < 0 || value > 0xFFFF) return rangeError("value", 0, 0xFFFF, value);
  return {};
}

Error checkLogDay(long long day) {
  if (day < 0 || day > kMaxLogDay) return rangeError("day", 0, kMaxLogDay, day, " (days back, 0 = today so far)");
  return {};
}

Error checkDcPage(long long page) {
  if (page < kDcFirstPage || page > kDcLastPage)
    return rangeError("page", kDcFirstPage, kDcLastPage, page, " (0x0A..0x0F, FLEXnet DC status pages A..F)");
  return {};
}

Error validate(const Command& cmd) {
  if (Error e = checkPort(cmd.port)) return e;
  switch (cmd.type) {
    case kRead:
    case kWrite: return {};
    case kStatus:
      if (cmd.address != kStatusPage && !isDcPage(cmd.address))
        return validationError("status page must be 1 (MX, FX) or 10..15 (FLEXnet DC pages 0x0A..0x0F), got " +
                               str(cmd.address));
      return {};
    case kLog:
      if (cmd.address != 0)
        return validationError("a log page request has address 0, got " + str(cmd.address), "EINVAL");
      return checkLogDay(cmd.value);
    case kIncDec00:
    case kIncDec01:
      return validationError("command type " + str(cmd.type) +
                                 " (increment/decrement) is not supported: which of 0 and 1 increments is unknown; "
                                 "read the register and write the new value instead",
                             "ENOTSUPPORTED");
  }
  return validationError(
      "command type " + str(cmd.type) + " is not a MATE command (allowed: 2 read, 3 write, 4 status, 22 log)",
      "EINVAL");
}

size_t expectedReplyLength(uint8_t type) {
  switch (type) {
    case kIncDec00:
    case kIncDec01:
    case kRead:
    case kWrite: return kValueReplyLength;
    case kStatus: return kStatusReplyLength;
    case kLog: return kLogReplyLength;
  }
  return 0;
}

bool acceptsByte0(const Command& cmd, uint8_t byte0) {
  switch (cmd.type) {
    case kIncDec00:
    case kIncDec01:
    case kRead:
    case kWrite: return byte0 == cmd.type || (cmd.port == 0 && byte0 == kNoDevice);
    case kStatus:
      if (cmd.address == kStatusPage) return byte0 == kMx || byte0 == kFx;
      if (isDcPage(cmd.address)) return byte0 == kDc;
      return byte0 >= kHub && byte0 <= kDc;
    case kLog: return byte0 == kLog;
  }
  return false;
}

ParseResult parseReply(const Command& cmd, const uint8_t* data, size_t len) {
  ParseResult res;
  const size_t L = expectedReplyLength(cmd.type);
  if (L == 0) {
    res.verdict = Verdict::Invalid;
    res.error = validationError("command type " + str(cmd.type) + " has no known reply", "EINVAL");
    return res;
  }
  // First pass: a checksummed reply of the expected kind anywhere wins (leading garbage is
  // skipped). Only then look for explanations, which may skip over frames they recognise.
  for (size_t i = 0; i + L <= len; ++i) {
    const uint8_t* p = data + i;
    if (acceptsByte0(cmd, p[0]) && checksumOk(p, L)) {
      res.verdict = Verdict::Complete;
      res.offset = i;
      res.length = L;
      res.reply.byte0 = p[0];
      res.reply.payload.assign(p + 1, p + L - 2);
      if (L == kValueReplyLength) res.reply.value = readBE16(p + 1);
      return res;
    }
  }
  const std::string port = "port " + str(cmd.port);
  bool pending = false;
  for (size_t i = 0; i < len; ++i) {
    const uint8_t* p = data + i;
    const size_t avail = len - i;
    const uint8_t b0 = p[0];

    const bool ours = acceptsByte0(cmd, b0);
    if (ours) {
      if (avail < L) {
        pending = true;
      } else {
        keep(res, withRaw(checksumError("sum", "reply from " + port + " to " + describe(cmd) +
                                                   " failed its checksum (sum " + hex4(checksum(p, L - 2)) +
                                                   ", frame says " + hex4(readBE16(p + L - 2)) + ")"),
                          p, L));
      }
      // It may still be a whole frame of another length (e.g. a 5-byte reply to a STATUS).
    }

    // Bit 7 set: "invalid command". The length of such a reply was never observed; uMATE
    // expects the normal length, so both 5 bytes and the normal length are accepted.
    if (!ours && (b0 & kInvalidCommandBit) != 0) {
      const uint8_t low = b0 & 0x7F;
      if (low == cmd.type || acceptsByte0(cmd, low)) {
        size_t found = 0;
        if (avail >= kValueReplyLength && checksumOk(p, kValueReplyLength)) found = kValueReplyLength;
        else if (L != kValueReplyLength && avail >= L && checksumOk(p, L)) found = L;
        if (found) {
          Error e = rejectedError("replyByte0", b0,
                                  "the device on " + port + " rejected " + describe(cmd) +
                                      " as an invalid command (reply byte 0 = " + hex2(b0) + ")");
          e.rawHex = toHex(p, found);
          keep(res, std::move(e));
          i += found - 1;
          continue;
        }
        if (avail < L) pending = true;
        continue;
      }
    }

    // A well-formed frame that answers something else.
    for (size_t n : {kValueReplyLength, kStatusReplyLength, kLogReplyLength}) {
      if ((ours && n == L) || !canHaveLength(b0, n) || avail < n || !checksumOk(p, n)) continue;
      std::string what =
          n == kValueReplyLength
              ? (b0 == 0 ? std::string("a hub-style 00 reply") : "a " + std::string(commandTypeName(b0)) + " reply")
          : n == kStatusReplyLength ? "a status page from device type " + str(b0) + " (" + deviceTypeName(b0) + ")"
                                    : "a " + std::string(commandTypeName(b0)) + " page";
      const bool status = cmd.type == kStatus && n == kStatusReplyLength;
      const long long expected = status ? (isDcPage(cmd.address) ? kDc : -1) : cmd.type;
      Error e = withRaw(mismatchError(status ? "deviceType" : "command", expected, b0,
                                      port + " answered " + describe(cmd) + " with " + std::move(what) +
                                          " (byte 0 = " + hex2(b0) + ", " + str(static_cast<long long>(n)) + " bytes)"),
                        p, n);
      keep(res, std::move(e));
      i += n - 1;
      break;
    }
  }
  res.verdict = (pending || !res.error) ? Verdict::NeedMore : Verdict::Invalid;
  return res;
}

Error deadlineError(const Command& cmd, const uint8_t* data, size_t len) {
  if (len == 0)
    return Error(ErrorKind::Timeout, "ETIMEDOUT", "no reply from port " + str(cmd.port) + " to " + describe(cmd));
  ParseResult r = parseReply(cmd, data, len);
  if (r.error) return r.error;
  return withRaw(frameError("incomplete or unrecognised reply from port " + str(cmd.port) + " to " + describe(cmd) +
                            " (" + str(static_cast<long long>(len)) + " bytes, expected " +
                            str(static_cast<long long>(expectedReplyLength(cmd.type))) + ")"),
                 data, len);
}

Error checkTime(int hour, int minute, int second) {
  if (hour < 0 || hour > 23) return rangeError("hour", 0, 23, hour);
  if (minute < 0 || minute > 59) return rangeError("minute", 0, 59, minute);
  if (second < 0 || second > 59) return rangeError("second", 0, 59, second);
  return {};
}

Error checkDate(int year, int month, int day) {
  if (year < 2000 || year > 2127) return rangeError("year", 2000, 2127, year);
  if (month < 1 || month > 12) return rangeError("month", 1, 12, month);
  if (day < 1 || day > 31) return rangeError("day", 1, 31, day);
  return {};
}

uint16_t packTime(int hour, int minute, int second) {
  return static_cast<uint16_t>(((hour & 0x1F) << 11) | ((minute & 0x3F) << 5) | ((second / 2) & 0x1F));
}

ClockTime unpackTime(uint16_t raw) { return ClockTime{raw >> 11, (raw >> 5) & 0x3F, (raw & 0x1F) * 2}; }

uint16_t packDate(int year, int month, int day) {
  return static_cast<uint16_t>((((year - 2000) & 0x7F) << 9) | ((month & 0x0F) << 5) | (day & 0x1F));
}

ClockDate unpackDate(uint16_t raw) { return ClockDate{2000 + (raw >> 9), (raw >> 5) & 0x0F, raw & 0x1F}; }

const char* parityName(Parity p) { return p == Parity::Odd ? "odd" : "even"; }

Parity parityForNinthBit(uint8_t byte, bool ninthBit) {
  const bool oddOnes = (std::popcount(byte) & 1) != 0;
  return (oddOnes != ninthBit) ? Parity::Odd : Parity::Even;
}

bool parityBit(uint8_t byte, Parity p) {
  const bool oddOnes = (std::popcount(byte) & 1) != 0;
  return p == Parity::Even ? oddOnes : !oddOnes;
}

}  // namespace fl::mate
