// Modbus RTU codec: CRC-16/MODBUS, request builders, validation and an
// incremental response parser that knows the expected length per function code.
// Pure: no I/O, no threads, no Node (docs/protocols/modbus.md §3–4).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/bytes.hpp"
#include "common/error.hpp"

namespace fl::modbus {

enum Function : uint8_t {
  kReadHoldingRegisters = 0x03,
  kReadInputRegisters = 0x04,
  kWriteSingleRegister = 0x06,
  kWriteMultipleRegisters = 0x10,
};

constexpr uint8_t kBroadcastUnit = 0;
constexpr uint8_t kMaxUnit = 247;
constexpr uint16_t kMaxReadCount = 125;
constexpr uint16_t kMaxWriteCount = 123;
constexpr size_t kMaxAduLength = 256;
// Silence that ends an RTU frame on a serial line: 3.5 character times (in tenths).
constexpr unsigned kInterFrameTenthsOfChars = 35;

// CRC-16/MODBUS: init 0xFFFF, reflected poly 0xA001, no final xor. Sent low byte first.
uint16_t crc16(const uint8_t* data, size_t len);
inline uint16_t crc16(const Bytes& b) { return crc16(b.data(), b.size()); }
// True when the last two bytes are the CRC of the rest (low byte first).
bool crcOk(const uint8_t* frame, size_t len);
// Where the first stretch of 4..256 bytes that carries its own CRC starts (Modbus traffic of
// some kind, e.g. another master on the line); -1 when there is none.
long findCrcFrame(const uint8_t* data, size_t len);

struct Request {
  uint8_t unit = 1;
  uint8_t function = kReadInputRegisters;
  uint16_t address = 0;
  uint16_t count = 1;            // registers to read or write (1 for fc 06)
  std::vector<uint16_t> values;  // fc 06: one value; fc 10: count values

  static Request read(uint8_t unit, uint8_t function, uint16_t address, uint16_t count);
  static Request writeSingle(uint8_t unit, uint16_t address, uint16_t value);
  static Request writeMultiple(uint8_t unit, uint16_t address, std::vector<uint16_t> values);
};

// Empty error when the request may go on the wire; otherwise a ValidationError that
// names the argument and the allowed range.
Error validate(const Request& req);
// The ADU with CRC. Precondition: validate(req) is empty.
Bytes encode(const Request& req);
// Broadcast writes (unit 0) get no reply.
inline bool expectsReply(const Request& req) { return req.unit != kBroadcastUnit; }
// Length of a normal (non-exception) reply.
size_t expectedReplyLength(const Request& req);

struct Response {
  uint8_t unit = 0;
  uint8_t function = 0;
  uint8_t exceptionCode = 0;        // non-zero: the device answered with an exception
  std::vector<uint16_t> registers;  // fc 03/04: the values read
  uint16_t address = 0;             // fc 06/10: echoed address
  uint16_t valueOrCount = 0;        // fc 06: echoed value, fc 10: echoed count
};

enum class Verdict {
  NeedMore,  // keep reading
  Complete,  // a matching reply is at [offset, offset+length)
  Invalid,   // a whole frame arrived and it is wrong (see error); nothing is still pending
};

struct ParseResult {
  Verdict verdict = Verdict::NeedMore;
  size_t offset = 0;  // bytes skipped before the reply (leading garbage)
  size_t length = 0;
  Response response;
  Error error;  // the best explanation so far, also set with NeedMore
};

// Looks for the reply to `req` in the bytes received so far. Tolerates leading
// garbage; recognises exception replies, replies from another unit, another
// function, bad CRC and wrong byte counts.
ParseResult parseResponse(const Request& req, const uint8_t* data, size_t len);

// What to report when the deadline passes with `len` bytes received.
Error deadlineError(const Request& req, const uint8_t* data, size_t len);

// "ILLEGAL_DATA_ADDRESS" etc. for exception codes 1..11.
const char* exceptionName(uint8_t code);

}  // namespace fl::modbus
