// libFuzzer target: the Modbus RTU response parser. The first bytes pick the request the
// reply answers; the rest is fed whole and in random chunks. Checks invariants, not just
// the absence of crashes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "modbus/modbus.hpp"

using namespace fl::modbus;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 6) return 0;
  const uint8_t fcs[] = {kReadHoldingRegisters, kReadInputRegisters, kWriteSingleRegister, kWriteMultipleRegisters};
  Request req;
  req.unit = data[0];
  req.function = fcs[data[1] & 3];
  req.address = static_cast<uint16_t>((data[2] << 8) | data[3]);
  req.count = static_cast<uint16_t>(1 + (data[4] % 125));
  if (req.function == kWriteSingleRegister) req.values = {static_cast<uint16_t>(data[5] * 257)};
  if (req.function == kWriteMultipleRegisters) req.values.assign(req.count > 123 ? 123 : req.count, data[5]);
  if (req.function == kWriteMultipleRegisters) req.count = static_cast<uint16_t>(req.values.size());
  if (validate(req)) return 0;
  fl::Bytes frame = encode(req);
  if (!crcOk(frame.data(), frame.size())) abort();

  const uint8_t* body = data + 6;
  const size_t len = size - 6;
  ParseResult whole = parseResponse(req, body, len);
  if (whole.verdict == Verdict::Complete) {
    if (whole.offset + whole.length > len) abort();
    if (!crcOk(body + whole.offset, whole.length)) abort();
    if (!whole.response.exceptionCode &&
        (req.function == kReadHoldingRegisters || req.function == kReadInputRegisters) &&
        whole.response.registers.size() != req.count)
      abort();
  }
  // Incremental feeding must never report Complete earlier at a different place.
  for (size_t n = 0; n <= len; n += 1 + (n % 7)) {
    ParseResult part = parseResponse(req, body, n);
    if (part.verdict == Verdict::Complete && (part.offset + part.length > n)) abort();
  }
  fl::Error e = deadlineError(req, body, len);
  if (!e) abort();
  return 0;
}
