// Outback MATE bus ("MateNET") codec: checksum, command builders, validation, an
// incremental reply parser, the time/date sync registers and the parity choice that
// emulates the 9th data bit on an 8-bit UART. Pure: no I/O, no threads, no Node
// (docs/protocols/mate.md §3–8). Status/log decoders: status.hpp; registers: registers.hpp;
// the PJON serial bridge: pjon.hpp.
#pragma once
#include <cstddef>
#include <cstdint>

#include "common/bytes.hpp"
#include "common/error.hpp"

namespace fl::mate {

// Command type, byte 1 of a command (docs/protocols/mate.md §5).
enum CommandType : uint8_t {
  // Sources disagree. The polarity of 00/01 is unknown: pymate's Protocol.md and its Wireshark dissector
  // say 00 = increment/disable and 01 = decrement/enable; pymate's matenet.py and uMATE's
  // enum say 00 = decrement/disable and 01 = increment/enable. Never seen on the wire.
  // There is no builder for them and validate() refuses them: use READ + WRITE. The reply
  // parser still knows their reply length (5 bytes), for replays and simulators.
  kIncDec00 = 0x00,
  kIncDec01 = 0x01,
  kRead = 0x02,
  kWrite = 0x03,   // also "controls" such as inverter on/off
  kStatus = 0x04,  // address = status page
  kLog = 0x16,     // MX/FM only; value = days back
};

// Device type: the low byte of register 0x0000, and byte 0 of a STATUS reply (docs/protocols/mate.md §6).
enum DeviceType : uint8_t {
  kNoDevice = 0,
  kHub = 1,
  kFx = 2,
  kMx = 3,
  kDc = 4,
};
// Some MX/FX units return a non-zero upper byte in register 0x0000 (0x1103 seen).
constexpr uint16_t kDeviceTypeMask = 0x00FF;
inline uint8_t deviceTypeOf(uint16_t register0) { return static_cast<uint8_t>(register0 & kDeviceTypeMask); }

constexpr uint8_t kMaxPort = 10;           // hub ports 1..10; 0 = the hub itself, or the device without a hub
constexpr uint16_t kMaxLogDay = 128;       // larger days are clamped to 128 by the MX
constexpr uint16_t kStatusPage = 0x0001;   // MX and FX status page
constexpr uint16_t kDcFirstPage = 0x000A;  // FLEXnet DC pages A..F
constexpr uint16_t kDcLastPage = 0x000F;
constexpr uint16_t kMxStatusParam = 0x00FF;  // what the MATE sends with an MX status request (0 works too)
constexpr size_t kCommandLength = 8;
constexpr size_t kValueReplyLength = 5;  // read/write/inc/dec: byte0 + value + checksum
constexpr size_t kStatusPayloadLength = 13;
constexpr size_t kStatusReplyLength = 16;
constexpr size_t kLogPayloadLength = 14;
constexpr size_t kLogReplyLength = 17;
// The gap a MATE master keeps between packets on a real wire: uMATE found that a device
// gets confused when packets come back to back, and waits 2 ms.
constexpr unsigned kInterFrameMicros = 2000;
constexpr uint8_t kInvalidCommandBit = 0x80;  // set in reply byte 0: the device rejected the command

// Registers used by the MATE for discovery and its periodic sync duties (docs/protocols/mate.md §8).
constexpr uint16_t kRegDeviceType = 0x0000;
constexpr uint16_t kRegBatteryTemperature = 0x4000;      // read from the MX
constexpr uint16_t kRegBatteryTemperatureSync = 0x4001;  // written to FX and DC
constexpr uint16_t kRegTime = 0x4004;
constexpr uint16_t kRegDate = 0x4005;
// Written to the FLEXnet DC's reset registers (today's battery minimum / maximum).
constexpr uint16_t kDcResetValue = 0x00FF;

// "hub", "fx", "mx", "dc", "none"; "unknown" otherwise.
const char* deviceTypeName(uint8_t type);
// "read", "write", "status", "log", "inc-dec-00", "inc-dec-01"; "unknown" otherwise.
const char* commandTypeName(uint8_t type);

// --- checksum (docs/protocols/mate.md §4) ---
// 16-bit sum of every byte, byte 0 included (the 9th bit is not counted). Sent big-endian.
uint16_t checksum(const uint8_t* data, size_t len);
inline uint16_t checksum(const Bytes& b) { return checksum(b.data(), b.size()); }
// True when the last two bytes are the checksum of the rest.
bool checksumOk(const uint8_t* frame, size_t len);
inline bool checksumOk(const Bytes& b) { return checksumOk(b.data(), b.size()); }
// `frame` followed by its checksum.
Bytes withChecksum(Bytes frame);

// --- commands ---
struct Command {
  uint8_t port = 0;
  uint8_t type = kRead;
  uint16_t address = 0;  // register, or status page
  uint16_t value = 0;    // write value, log day, status parameter

  static Command read(uint8_t port, uint16_t reg);
  static Command write(uint8_t port, uint16_t reg, uint16_t value);
  // page 1 for MX/FX, 0x0A..0x0F for the FLEXnet DC.
  static Command status(uint8_t port, uint16_t page, uint16_t param = 0);
  static Command logPage(uint8_t port, uint16_t day);
};

// The 8 bytes on the wire: port, type, address BE, value BE, checksum BE.
Bytes command(uint8_t port, uint8_t type, uint16_t address, uint16_t value);
inline Bytes encode(const Command& c) { return command(c.port, c.type, c.address, c.value); }
// Reads an 8-byte command back (device side, replays). False when the length or the
// checksum is wrong.
bool decodeCommand(const uint8_t* data, size_t len, Command& out);

// Argument checks on the numbers as the caller gave them (before narrowing); each returns
// an empty Error or a ValidationError (ERANGE) that names the argument and the range.
Error checkPort(long long port);     // 0..10
Error checkRegister(long long reg);  // 0..65535
Error checkValue(long long value);   // 0..65535
Error checkLogDay(long long day);    // 0..128
Error checkDcPage(long long page);   // 10..15 (0x0A..0x0F)
// Whole-command check before encoding: port, a supported type (inc/dec: ENOTSUPPORTED;
// others: EINVAL), status page 1 or 0x0A..0x0F, log address 0 and day 0..128.
Error validate(const Command& cmd);

// --- replies ---
// Reply length on the wire for a command type (5, 16 or 17), 0 for an unknown type.
size_t expectedReplyLength(uint8_t type);
// Whether a reply byte 0 (bit 7 clear) is an acceptable answer to `cmd`: the command type
// for read/write/log/inc/dec (00 too on port 0, where a hub answers 00), the device type for
// STATUS (MX or FX for page 1, DC for pages 0x0A..0x0F, any of 1..4 for other pages).
bool acceptsByte0(const Command& cmd, uint8_t byte0);

struct Reply {
  uint8_t byte0 = 0;   // command type answered; device type for STATUS; 00 from a hub
  Bytes payload;       // 2, 13 or 14 bytes (no byte 0, no checksum)
  uint16_t value = 0;  // read/write/inc/dec: the 2-byte payload as uint16 BE
};

// True when a WRITE reply echoes the value written. Not required for success: the MX
// echoes only the low byte of a time write, the DC answers a 00FF reset with 00FE (docs/protocols/mate.md §5).
inline bool echoesValue(const Command& cmd, const Reply& r) { return r.value == cmd.value; }

enum class Verdict {
  NeedMore,  // keep reading
  Complete,  // the reply is at [offset, offset + length)
  Invalid,   // a whole frame arrived and it is wrong (see error); nothing is still pending
};

struct ParseResult {
  Verdict verdict = Verdict::NeedMore;
  size_t offset = 0;  // bytes skipped before the reply (leading garbage)
  size_t length = 0;
  Reply reply;
  Error error;  // the best explanation so far, also set with NeedMore
};

// Looks for the reply to `cmd` in the bytes received so far. Leading garbage is skipped
// (pymate issues #22/#24, PR #25); a reply whose byte 0 has bit 7 set is the device's
// "invalid command" (DeviceError EREJECTED, replyByte0); a bad checksum is ProtocolError ECHECKSUM (check "sum");
// a checksummed frame that answers something else (another type / device type) is
// ProtocolError EMISMATCH (mismatch "command" or "deviceType", expected, got).
ParseResult parseReply(const Command& cmd, const uint8_t* data, size_t len);
inline ParseResult parseReply(const Command& cmd, const Bytes& b) { return parseReply(cmd, b.data(), b.size()); }

// What to report when the deadline passes with `len` bytes received: TimeoutError ETIMEDOUT
// when nothing came, otherwise the parser's error or ProtocolError EFRAME.
Error deadlineError(const Command& cmd, const uint8_t* data, size_t len);

// --- time and date sync registers 0x4004 / 0x4005 (docs/protocols/mate.md §8) ---
struct ClockTime {
  int hour = 0, minute = 0, second = 0;
};
struct ClockDate {
  int year = 2000, month = 1, day = 1;
};
Error checkTime(int hour, int minute, int second);  // 0..23, 0..59, 0..59
Error checkDate(int year, int month, int day);      // 2000..2127, 1..12, 1..31 (fields only, not the calendar)
// bits 15..11 hour, 10..5 minute, 4..0 seconds / 2 (an odd second is rounded down).
uint16_t packTime(int hour, int minute, int second);
ClockTime unpackTime(uint16_t raw);
// bits 15..9 year - 2000, 8..5 month, 4..0 day.
uint16_t packDate(int year, int month, int day);
ClockDate unpackDate(uint16_t raw);

// --- the 9th bit on an 8-bit UART (docs/protocols/mate.md §3) ---
// Values are libserialport's SP_PARITY_ODD / SP_PARITY_EVEN (core does not include it).
enum class Parity : int { Odd = 1, Even = 2 };
const char* parityName(Parity p);  // "odd", "even"
// When MARK/SPACE parity is unavailable: the parity mode that makes the parity bit of
// `byte` equal `ninthBit` (EVEN sends popcount & 1, ODD its inverse). ninthBit is true for
// byte 0 of a frame only.
Parity parityForNinthBit(uint8_t byte, bool ninthBit);
// The parity bit a UART sends for `byte` under `p`.
bool parityBit(uint8_t byte, Parity p);

}  // namespace fl::mate
