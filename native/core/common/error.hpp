// fl::Error: the one error value that crosses every native layer.
// `kind` picks the JS class, `code` is the stable string users match on.
#pragma once
#include <string>
#include <utility>

namespace fl {

enum class ErrorKind { None, Validation, Connection, Timeout, Protocol, Device };

const char* errorKindName(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::None;
  std::string code;     // e.g. "ETIMEDOUT", "ECRC", "EINVAL"
  std::string message;  // human text, names the argument or the condition
  int detail = 0;       // e.g. the Modbus exception code for EEXCEPTION
  std::string rawHex;   // bytes that arrived, when they explain the error

  Error() = default;
  Error(ErrorKind k, std::string c, std::string m, int d = 0)
      : kind(k), code(std::move(c)), message(std::move(m)), detail(d) {}

  explicit operator bool() const { return kind != ErrorKind::None; }
};

inline Error validationError(std::string message, std::string code = "ERANGE") {
  return Error(ErrorKind::Validation, std::move(code), std::move(message));
}

}  // namespace fl
