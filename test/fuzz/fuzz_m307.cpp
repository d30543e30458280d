// libFuzzer target: every M307 decoder and the log-stream parser fed in chunks.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "m307/m307.hpp"

using namespace fl::m307;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size >= kRecordSize) {
    Record r{};
    std::memcpy(r.data(), data, kRecordSize);
    Status s = decodeStatus(r.data());
    if (s.resolution != 0.1 && s.resolution != 1.0) abort();
    ClockInfo c = decodeClock(r.data());
    if (c.valid && (c.datetime.month < 1 || c.datetime.month > 12)) abort();
    for (int n = 0; n < kUserRecords; ++n) {
      auto fields = decodeFields(n, r);
      // Writing back what was read changes nothing (text fields may be trimmed: skip them).
      std::vector<FieldValue> numeric;
      for (auto& f : fields)
        if (!f.isText) numeric.push_back(f);
      Record copy = r;
      if (!applyFields(n, numeric, copy) && !sameData(copy, r)) abort();
    }
  }
  for (size_t off = 0; off + kLogRecordSize <= size; off += kLogRecordSize) {
    LogRecord lr = decodeLogRecord(data + off, (data[off] & 1) ? 0.1 : 1.0);
    if (lr.datetimeValid && (lr.datetime.hour < 0 || lr.datetime.hour > 23)) abort();
  }
  for (int b = 0; b < 256 && size > 0; b += 37) {
    int h = decodeHour(static_cast<uint8_t>(data[0] ^ b));
    if (h < -1 || h > 23) abort();
  }
  LogStreamParser p;
  size_t total = 0;
  for (size_t i = 0; i < size;) {
    size_t step = 1 + (data[i] % 23);
    if (i + step > size) step = size - i;
    total += p.feed(data + i, step);
    i += step;
  }
  if (total != p.recordCount()) abort();
  if (p.recordCount() * kLogRecordSize > size) abort();
  // The same stream in one piece must give the same records, end and echo as in pieces.
  LogStreamParser whole;
  if (whole.feed(data, size) != whole.recordCount()) abort();
  if (whole.recordCount() != p.recordCount() || whole.done() != p.done() || whole.sawEcho() != p.sawEcho()) abort();
  if (p.recordCount() && std::memcmp(whole.record(0), p.record(0), p.recordCount() * kLogRecordSize) != 0) abort();
  return 0;
}
