// fl::Error: the one error value that crosses every native layer.
// `kind` picks the JS class, `code` is the stable string users match on.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace fl {

enum class ErrorKind { None, Validation, Connection, Timeout, Protocol, Device };

const char* errorKindName(ErrorKind kind);

// The protocol-level meanings every family shares, each with one code. When the same bytes
// have several explanations a parser keeps the most telling one, in this order (higher
// wins): a refusal says most, then a damaged reply, then an answer to something else, then
// bytes that frame as nothing.
enum class Cause : unsigned char {
  None,      // not ranked (timeouts, connection and validation errors, ...)
  Frame,     // EFRAME: bytes that are not a whole reply
  Mismatch,  // EMISMATCH: a whole reply from the wrong unit / of the wrong kind
  Checksum,  // ECHECKSUM: a reply whose CRC or sum is wrong
  Rejected,  // EREJECTED: the device refused the request (Modbus exception, MATE invalid command)
};

struct Error {
  ErrorKind kind = ErrorKind::None;
  std::string code;     // e.g. "ETIMEDOUT", "ECHECKSUM", "EINVAL"
  std::string message;  // human text, names the argument or the condition
  int detail = 0;       // e.g. the errno of a ConnectionError
  std::string rawHex;   // bytes that arrived, when they explain the error
  Cause cause = Cause::None;
  // Family-specific detail, set as plain fields on the JS error (see lib/errors.js):
  // ECHECKSUM { check }, EMISMATCH { mismatch, expected, got }, EREJECTED { exceptionCode }
  // or { replyByte0 }.
  std::vector<std::pair<std::string, std::string>> labels;
  std::vector<std::pair<std::string, long long>> numbers;

  Error() = default;
  Error(ErrorKind k, std::string c, std::string m, int d = 0)
      : kind(k), code(std::move(c)), message(std::move(m)), detail(d) {}

  explicit operator bool() const { return kind != ErrorKind::None; }
  // How telling an explanation is (Cause order); 0 for no error.
  int rank() const { return kind == ErrorKind::None ? 0 : 1 + static_cast<int>(cause); }
};

inline Error validationError(std::string message, std::string code = "ERANGE") {
  return Error(ErrorKind::Validation, std::move(code), std::move(message));
}

// ProtocolError EFRAME.
Error frameError(std::string message);
// ProtocolError ECHECKSUM; `check` names the check that failed: "crc16" (Modbus), "sum"
// (MATE), "crc8" / "crc32" (PJON).
Error checksumError(std::string check, std::string message);
// ProtocolError EMISMATCH: a whole, intact reply that answers something else. `what` is
// "unit", "function", "command" or "deviceType"; expected and got are the two values
// (expected < 0: several were acceptable, none is reported).
Error mismatchError(std::string what, long long expected, long long got, std::string message);
// DeviceError EREJECTED: the device answered with a refusal. `field` names the family's
// code for it ("exceptionCode" for Modbus, "replyByte0" for MATE).
Error rejectedError(const char* field, long long value, std::string message);

}  // namespace fl
