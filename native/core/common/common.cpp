#include "common/bytes.hpp"
#include "common/error.hpp"

namespace fl {

const char* errorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::None: return "None";
    case ErrorKind::Validation: return "ValidationError";
    case ErrorKind::Connection: return "ConnectionError";
    case ErrorKind::Timeout: return "TimeoutError";
    case ErrorKind::Protocol: return "ProtocolError";
    case ErrorKind::Device: return "DeviceError";
  }
  return "FieldlinkError";
}

Error frameError(std::string message) {
  Error e(ErrorKind::Protocol, "EFRAME", std::move(message));
  e.cause = Cause::Frame;
  return e;
}

Error checksumError(std::string check, std::string message) {
  Error e(ErrorKind::Protocol, "ECHECKSUM", std::move(message));
  e.cause = Cause::Checksum;
  e.labels.emplace_back("check", std::move(check));
  return e;
}

Error mismatchError(std::string what, long long expected, long long got, std::string message) {
  Error e(ErrorKind::Protocol, "EMISMATCH", std::move(message));
  e.cause = Cause::Mismatch;
  e.labels.emplace_back("mismatch", std::move(what));
  if (expected >= 0) e.numbers.emplace_back("expected", expected);  // < 0: more than one value was acceptable
  e.numbers.emplace_back("got", got);
  return e;
}

Error rejectedError(const char* field, long long value, std::string message) {
  Error e(ErrorKind::Device, "EREJECTED", std::move(message), static_cast<int>(value));
  e.cause = Cause::Rejected;
  e.numbers.emplace_back(field, value);
  return e;
}

std::string toHex(const uint8_t* data, size_t len, size_t limit) {
  static const char digits[] = "0123456789ABCDEF";
  std::string out;
  size_t n = len < limit ? len : limit;
  out.reserve(n * 3 + 4);
  for (size_t i = 0; i < n; ++i) {
    if (i) out.push_back(' ');
    out.push_back(digits[data[i] >> 4]);
    out.push_back(digits[data[i] & 0x0F]);
  }
  if (len > n) out += " ...";
  return out;
}

}  // namespace fl
