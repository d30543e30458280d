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
