// Small byte helpers shared by the codecs.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fl {

using Bytes = std::vector<uint8_t>;

inline uint16_t readBE16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline int16_t readBE16s(const uint8_t* p) { return static_cast<int16_t>(readBE16(p)); }
inline void appendBE16(Bytes& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v & 0xFF));
}

// "01 04 02 01 31" style, at most `limit` bytes then "...".
std::string toHex(const uint8_t* data, size_t len, size_t limit = 64);
inline std::string toHex(const Bytes& b, size_t limit = 64) { return toHex(b.data(), b.size(), limit); }

}  // namespace fl
