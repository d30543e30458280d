#include "modbus/modbus.hpp"

#include <algorithm>
#include <string>

namespace fl::modbus {

namespace {

// Table-driven CRC; the table is built once from the polynomial.
struct CrcTable {
  uint16_t t[256];
  constexpr CrcTable() : t{} {
    for (int i = 0; i < 256; ++i) {
      uint16_t c = static_cast<uint16_t>(i);
      for (int k = 0; k < 8; ++k)
        c = (c & 1) ? static_cast<uint16_t>((c >> 1) ^ 0xA001) : static_cast<uint16_t>(c >> 1);
      t[i] = c;
    }
  }
};
constexpr CrcTable kCrc;

bool isRead(uint8_t fc) { return fc == kReadHoldingRegisters || fc == kReadInputRegisters; }
bool isKnownFunction(uint8_t fc) { return isRead(fc) || fc == kWriteSingleRegister || fc == kWriteMultipleRegisters; }

std::string str(unsigned v) { return std::to_string(v); }

Error protocolError(const char* code, std::string msg, const uint8_t* data, size_t len) {
  Error e(ErrorKind::Protocol, code, std::move(msg));
  e.rawHex = toHex(data, len);
  if (e.code == "EFRAME") e.cause = Cause::Frame;
  return e;
}

Error withRaw(Error e, const uint8_t* data, size_t len) {
  e.rawHex = toHex(data, len);
  return e;
}

// Length of a frame that starts with function byte `fc`, if it can be known from the
// bytes available (0 = not yet known, or not a Modbus reply we understand).
size_t replyLengthFor(uint8_t fc, const uint8_t* p, size_t avail) {
  if (fc & 0x80) return isKnownFunction(fc & 0x7F) ? 5 : 0;
  if (isRead(fc)) return avail >= 3 ? 5 + static_cast<size_t>(p[2]) : 0;
  if (fc == kWriteSingleRegister || fc == kWriteMultipleRegisters) return 8;
  return 0;
}

}  // namespace

uint16_t crc16(const uint8_t* data, size_t len) {
  uint16_t crc = 0xFFFF;
  for (size_t i = 0; i < len; ++i) crc = static_cast<uint16_t>((crc >> 8) ^ kCrc.t[(crc ^ data[i]) & 0xFF]);
  return crc;
}

bool crcOk(const uint8_t* frame, size_t len) {
  if (len < 4) return false;
  uint16_t c = crc16(frame, len - 2);
  return frame[len - 2] == (c & 0xFF) && frame[len - 1] == (c >> 8);
}

long findCrcFrame(const uint8_t* data, size_t len) {
  for (size_t i = 0; i + 4 <= len; ++i) {
    uint16_t crc = 0xFFFF;
    const size_t end = std::min(len, i + kMaxAduLength);
    for (size_t j = i; j < end; ++j) {
      crc = static_cast<uint16_t>((crc >> 8) ^ kCrc.t[(crc ^ data[j]) & 0xFF]);
      if (j - i >= 3 && crc == 0) return static_cast<long>(i);  // the CRC of data + its CRC is 0
    }
  }
  return -1;
}

Request Request::read(uint8_t unit, uint8_t function, uint16_t address, uint16_t count) {
  Request r;
  r.unit = unit;
  r.function = function;
  r.address = address;
  r.count = count;
  return r;
}

Request Request::writeSingle(uint8_t unit, uint16_t address, uint16_t value) {
  Request r;
  r.unit = unit;
  r.function = kWriteSingleRegister;
  r.address = address;
  r.count = 1;
  r.values = {value};
  return r;
}

Request Request::writeMultiple(uint8_t unit, uint16_t address, std::vector<uint16_t> values) {
  Request r;
  r.unit = unit;
  r.function = kWriteMultipleRegisters;
  r.address = address;
  r.count = static_cast<uint16_t>(values.size() > 0xFFFF ? 0xFFFF : values.size());
  r.values = std::move(values);
  return r;
}

Error validate(const Request& req) {
  if (!isKnownFunction(req.function))
    return validationError("function code " + str(req.function) + " is not supported (allowed: 3, 4, 6, 16)", "EINVAL");
  const bool write = !isRead(req.function);
  if (req.unit > kMaxUnit)
    return validationError("unit must be 1..247" + std::string(write ? " (or 0 to broadcast a write)" : "") + ", got " +
                           str(req.unit));
  if (req.unit == kBroadcastUnit && !write)
    return validationError("unit 0 is broadcast, which is for writes only; reads need a unit 1..247, got 0");
  if (isRead(req.function)) {
    if (req.count < 1 || req.count > kMaxReadCount)
      return validationError("count must be 1..125 registers for a read, got " + str(req.count));
  } else if (req.function == kWriteSingleRegister) {
    if (req.values.size() != 1)
      return validationError("a single-register write takes exactly one value, got " +
                             str(static_cast<unsigned>(req.values.size())));
  } else {
    if (req.values.empty() || req.values.size() > kMaxWriteCount)
      return validationError("values must hold 1..123 registers for a multiple-register write, got " +
                             str(static_cast<unsigned>(req.values.size())));
    if (req.count != req.values.size())
      return validationError("count (" + str(req.count) + ") does not match the number of values (" +
                                 str(static_cast<unsigned>(req.values.size())) + ")",
                             "EINVAL");
  }
  const unsigned span = req.function == kWriteSingleRegister ? 1u : req.count;
  if (static_cast<unsigned>(req.address) + span - 1 > 0xFFFF)
    return validationError("address + count runs past register 65535 (address " + str(req.address) + ", count " +
                           str(span) + ")");
  return {};
}

Bytes encode(const Request& req) {
  Bytes out;
  out.reserve(9 + 2 * req.values.size());
  out.push_back(req.unit);
  out.push_back(req.function);
  appendBE16(out, req.address);
  if (isRead(req.function)) {
    appendBE16(out, req.count);
  } else if (req.function == kWriteSingleRegister) {
    appendBE16(out, req.values.at(0));
  } else {
    appendBE16(out, req.count);
    out.push_back(static_cast<uint8_t>(req.values.size() * 2));
    for (uint16_t v : req.values) appendBE16(out, v);
  }
  uint16_t c = crc16(out);
  out.push_back(static_cast<uint8_t>(c & 0xFF));
  out.push_back(static_cast<uint8_t>(c >> 8));
  return out;
}

size_t expectedReplyLength(const Request& req) {
  if (isRead(req.function)) return 5 + 2 * static_cast<size_t>(req.count);
  return 8;
}

const char* exceptionName(uint8_t code) {
  switch (code) {
    case 1: return "ILLEGAL_FUNCTION";
    case 2: return "ILLEGAL_DATA_ADDRESS";
    case 3: return "ILLEGAL_DATA_VALUE";
    case 4: return "SERVER_DEVICE_FAILURE";
    case 5: return "ACKNOWLEDGE";
    case 6: return "SERVER_DEVICE_BUSY";
    case 8: return "MEMORY_PARITY_ERROR";
    case 10: return "GATEWAY_PATH_UNAVAILABLE";
    case 11: return "GATEWAY_TARGET_FAILED_TO_RESPOND";
    default: return "UNKNOWN_EXCEPTION";
  }
}

ParseResult parseResponse(const Request& req, const uint8_t* data, size_t len) {
  ParseResult res;
  bool pending = false;
  const uint8_t fc = req.function;
  for (size_t i = 0; i < len; ++i) {
    const uint8_t* p = data + i;
    const size_t avail = len - i;
    if (avail < 2) {
      if (p[0] == req.unit) pending = true;
      break;
    }
    const uint8_t u = p[0], f = p[1];
    if (u == req.unit && (f == fc || f == (fc | 0x80))) {
      const bool exc = f != fc;
      size_t L = exc ? 5 : replyLengthFor(fc, p, avail);
      if (L == 0 || avail < L) {
        pending = true;
        continue;
      }
      if (!crcOk(p, L)) {
        // For reads, a corrupted byte count can hide a good frame of the expected length.
        size_t Lexp = exc ? 5 : expectedReplyLength(req);
        if (Lexp != L && avail >= Lexp && crcOk(p, Lexp)) L = Lexp;
        else {
          if (!res.error)
            res.error = withRaw(checksumError("crc16", "reply from unit " + str(u) + " failed its CRC check"), p, L);
          continue;
        }
      }
      Response r;
      r.unit = u;
      r.function = f;
      if (exc) {
        // 0 is no Modbus exception code, and a Response with code 0 means "no exception": such
        // a frame would pass as a read that returned no registers (found by fuzz_modbus).
        if (p[2] == 0) {
          if (!res.error)
            res.error = protocolError("EFRAME", "exception reply with code 0, which is not an exception code", p, L);
          continue;
        }
        r.exceptionCode = p[2];
      } else if (isRead(fc)) {
        if (p[2] != 2 * req.count) {
          if (!res.error)
            res.error = protocolError(
                "EFRAME", "reply carries " + str(p[2]) + " data bytes, expected " + str(2u * req.count), p, L);
          continue;
        }
        r.registers.reserve(req.count);
        for (size_t k = 0; k < req.count; ++k) r.registers.push_back(readBE16(p + 3 + 2 * k));
      } else {
        r.address = readBE16(p + 2);
        r.valueOrCount = readBE16(p + 4);
        const uint16_t want = fc == kWriteSingleRegister ? req.values.at(0) : req.count;
        if (r.address != req.address || r.valueOrCount != want) {
          if (!res.error)
            res.error =
                protocolError("EFRAME",
                              "write reply does not echo the request (register " + str(r.address) + ", " +
                                  (fc == kWriteSingleRegister ? "value " : "count ") + str(r.valueOrCount) + ")",
                              p, L);
          continue;
        }
      }
      res.verdict = Verdict::Complete;
      res.offset = i;
      res.length = L;
      res.response = std::move(r);
      res.error = {};
      return res;
    }
    // A well-formed frame that is not ours: another unit, or another function.
    if (u >= 1 && u <= kMaxUnit && (isKnownFunction(f) || isKnownFunction(f & 0x7F))) {
      size_t L = replyLengthFor(f, p, avail);
      if (L == 0 || L > kMaxAduLength) continue;
      if (avail < L) {
        if (u == req.unit) pending = true;
        continue;
      }
      if (crcOk(p, L) && !res.error) {
        if (u != req.unit)
          res.error = withRaw(
              mismatchError("unit", req.unit, u, "unit " + str(u) + " answered, expected unit " + str(req.unit)), p, L);
        else
          res.error =
              withRaw(mismatchError("function", fc, f, "reply has function " + str(f) + ", expected " + str(fc)), p, L);
      }
    }
  }
  if (pending || !res.error) {
    res.verdict = Verdict::NeedMore;
  } else {
    res.verdict = Verdict::Invalid;
  }
  return res;
}

Error deadlineError(const Request& req, const uint8_t* data, size_t len) {
  if (len == 0) {
    Error e(ErrorKind::Timeout, "ETIMEDOUT", "no reply from unit " + str(req.unit));
    return e;
  }
  ParseResult r = parseResponse(req, data, len);
  if (r.error) return r.error;
  return protocolError("EFRAME",
                       "incomplete or unrecognised reply from unit " + str(req.unit) + " (" +
                           str(static_cast<unsigned>(len)) + " bytes)",
                       data, len);
}

}  // namespace fl::modbus
