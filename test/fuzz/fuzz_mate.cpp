// libFuzzer target: MATE reply parser (direct and over the PJON bridge), the status, log
// and DC decoders, and the time/date unpackers.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "mate/mate.hpp"
#include "mate/pjon.hpp"
#include "mate/status.hpp"

using namespace fl::mate;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 5) return 0;
  Command cmd;
  cmd.port = data[0] % 11;
  const uint8_t types[] = {kRead, kWrite, kStatus, kLog};
  cmd.type = types[data[1] & 3];
  cmd.address = cmd.type == kStatus ? static_cast<uint16_t>((data[2] & 1) ? 0x0001 : 0x000A + data[2] % 6)
                                    : static_cast<uint16_t>((data[2] << 8) | data[3]);
  cmd.value = cmd.type == kLog ? static_cast<uint16_t>(data[4] % 129) : static_cast<uint16_t>(data[4]);
  if (cmd.type == kLog) cmd.address = 0;
  const uint8_t* body = data + 5;
  const size_t len = size - 5;
  if (!validate(cmd)) {
    ParseResult r = parseReply(cmd, body, len);
    if (r.verdict == Verdict::Complete) {
      if (r.offset + r.length > len) abort();
      if (!checksumOk(body + r.offset, r.length)) abort();
      MxStatus mx;
      FxStatus fx;
      MxLogPage lp;
      (void)decode(r.reply, mx);
      (void)decode(r.reply, fx);
      (void)decode(r.reply, lp);
    }
    (void)deadlineError(cmd, body, len);
    ParseResult b = pjon::parseBridgeReply(cmd, body, len);
    if (b.verdict == Verdict::Complete && b.offset + b.length > len) abort();
  }
  pjon::FrameResult f = pjon::parseFrame(body, len);
  if (f.verdict == Verdict::Complete && f.offset + f.length > len) abort();
  if (len >= kStatusPayloadLength) {
    MxStatus mx = decodeMxStatus(body);
    if (mx.dailyAh < 0 || mx.dailyAh > 0x7FF) abort();
    (void)decodeFxStatus(body);
  }
  if (len >= kLogPayloadLength) (void)decodeMxLogPage(body);
  size_t dcLen = len - len % kStatusPayloadLength;
  if (dcLen > kDcBlockLength) dcLen = kDcBlockLength;
  if (dcLen) (void)decodeDcStatus(body, dcLen);
  ClockTime t = unpackTime(static_cast<uint16_t>((data[2] << 8) | data[3]));
  if (t.second > 62) abort();
  (void)unpackDate(static_cast<uint16_t>((data[3] << 8) | data[4]));
  return 0;
}
