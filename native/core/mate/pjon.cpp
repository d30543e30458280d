#include "mate/pjon.hpp"

#include <cstdio>
#include <string>

namespace fl::mate::pjon {

namespace {

std::string str(long long v) { return std::to_string(v); }

std::string hex2(unsigned v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", v & 0xFFu);
  return buf;
}

Error frameError(const char* code, std::string msg, const uint8_t* data, size_t len) {
  Error e(ErrorKind::Protocol, code, std::move(msg));
  e.rawHex = toHex(data, len);
  if (e.code == "EFRAME") e.cause = Cause::Frame;
  return e;
}

Error withRaw(Error e, const uint8_t* data, size_t len) {
  e.rawHex = toHex(data, len);
  return e;
}

void appendBE32(Bytes& out, uint32_t v) {
  appendBE16(out, static_cast<uint16_t>(v >> 16));
  appendBE16(out, static_cast<uint16_t>(v & 0xFFFF));
}

uint32_t readBE32(const uint8_t* p) { return (static_cast<uint32_t>(readBE16(p)) << 16) | readBE16(p + 2); }

// Checks an unescaped packet and splits it.
Error checkPacket(const Bytes& b, Packet& out) {
  const size_t n = b.size();
  if (n < 5)
    return frameError("EFRAME", "PJON packet of " + str(static_cast<long long>(n)) + " bytes is too short", b.data(),
                      n);
  if (crc8(b.data(), 3) != b[3]) return withRaw(checksumError("crc8", "PJON header CRC8 does not match"), b.data(), n);
  if (b[2] != n)
    return frameError(
        "EFRAME",
        "PJON length byte says " + str(b[2]) + " but the frame holds " + str(static_cast<long long>(n)) + " bytes",
        b.data(), n);
  const uint8_t h = b[1];
  const uint8_t unsupported = kHeaderShared | kHeaderMac | kHeaderPort | kHeaderExtLength | kHeaderPacketId;
  if (h & unsupported)
    return frameError(
        "EFRAME",
        "PJON header " + hex2(h) +
            " asks for shared mode, MAC, port, extended length or packet id, which the bridge does not use",
        b.data(), n);
  const size_t crcLen = (h & kHeaderCrc32) ? 4 : 1;
  const size_t head = 4 + ((h & kHeaderTxInfo) ? 1 : 0);
  if (n < head + crcLen) return frameError("EFRAME", "PJON packet is shorter than its header", b.data(), n);
  const size_t body = n - crcLen;
  const bool ok = crcLen == 4 ? crc32(b.data(), body) == readBE32(b.data() + body) : crc8(b.data(), body) == b[body];
  if (!ok)
    return withRaw(checksumError(crcLen == 4 ? "crc32" : "crc8",
                                 std::string("PJON packet ") + (crcLen == 4 ? "CRC32" : "CRC8") + " does not match"),
                   b.data(), n);
  out.recipient = b[0];
  out.header = h;
  out.hasSender = (h & kHeaderTxInfo) != 0;
  out.sender = out.hasSender ? b[4] : 0;
  out.ackRequested = (h & kHeaderAckRequest) != 0;
  out.payload.assign(b.begin() + static_cast<std::ptrdiff_t>(head), b.begin() + static_cast<std::ptrdiff_t>(body));
  return {};
}

}  // namespace

uint8_t crc8(const uint8_t* data, size_t len) {
  uint8_t crc = 0;
  for (size_t i = 0; i < len; ++i) {
    uint8_t b = data[i];
    for (int k = 0; k < 8; ++k) {
      const bool x = ((crc ^ b) & 1) != 0;
      crc = static_cast<uint8_t>(crc >> 1);
      b = static_cast<uint8_t>(b >> 1);
      if (x) crc ^= 0x97;
    }
  }
  return crc;
}

uint32_t crc32(const uint8_t* data, size_t len) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < len; ++i) {
    crc ^= data[i];
    for (int k = 0; k < 8; ++k) crc = (crc & 1) ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
  }
  return crc ^ 0xFFFFFFFFu;
}

Bytes encodePacket(uint8_t recipient, uint8_t sender, const uint8_t* payload, size_t len) {
  uint8_t header = kHeaderTxInfo;
  size_t total = 5 + len + 1;
  if (total > kCrc8MaxPacket) {
    header |= kHeaderCrc32;
    total = 5 + len + 4;
  }
  Bytes out;
  out.reserve(total);
  out.push_back(recipient);
  out.push_back(header);
  out.push_back(static_cast<uint8_t>(total));
  out.push_back(crc8(out.data(), 3));
  out.push_back(sender);
  out.insert(out.end(), payload, payload + len);
  if (header & kHeaderCrc32) appendBE32(out, crc32(out.data(), out.size()));
  else out.push_back(crc8(out.data(), out.size()));
  return out;
}

Bytes frame(const Bytes& packet) {
  Bytes out;
  out.reserve(packet.size() + 4);
  out.push_back(kStart);
  for (uint8_t b : packet) {
    if (b == kStart || b == kEnd || b == kEscape) {
      out.push_back(kEscape);
      out.push_back(static_cast<uint8_t>(b ^ kEscape));
    } else {
      out.push_back(b);
    }
  }
  out.push_back(kEnd);
  return out;
}

Bytes encodeForBus(uint8_t target, uint8_t byte0, const uint8_t* data, size_t len, uint8_t sender, uint8_t recipient) {
  Bytes payload;
  payload.reserve(len + 2);
  payload.push_back(target);
  payload.push_back(byte0);
  payload.insert(payload.end(), data, data + len);
  return encodePacket(recipient, sender, payload.data(), payload.size());
}

Bytes encodeCommand(const Command& cmd, uint8_t sender, uint8_t recipient) {
  const Bytes wire = encode(cmd);  // port, type, address, value, checksum
  return encodeForBus(kTargetDevice, wire[0], wire.data() + 1, kCommandLength - 3, sender, recipient);
}

FrameResult parseFrame(const uint8_t* data, size_t len) {
  FrameResult res;
  res.offset = len;
  size_t start = len;
  bool escaped = false;
  Bytes buf;
  for (size_t i = 0; i < len; ++i) {
    const uint8_t b = data[i];
    if (b == kStart) {  // a new frame, also in the middle of an unfinished one
      start = i;
      buf.clear();
      escaped = false;
      continue;
    }
    if (start == len) continue;  // noise or a TSDL ACK between frames
    if (b == kEnd) {
      res.offset = start;
      res.length = i - start + 1;
      if (escaped) {
        res.verdict = Verdict::Invalid;
        res.error = frameError("EFRAME", "SFSP frame ends right after an escape byte", data + start, res.length);
        return res;
      }
      res.error = checkPacket(buf, res.packet);
      res.verdict = res.error ? Verdict::Invalid : Verdict::Complete;
      return res;
    }
    if (b == kEscape && !escaped) {
      escaped = true;
      continue;
    }
    buf.push_back(escaped ? static_cast<uint8_t>(b ^ kEscape) : b);
    escaped = false;
    if (buf.size() > kMaxPayload + 16) {  // no end in sight: drop it and look for the next start
      start = len;
      buf.clear();
    }
  }
  res.offset = start;
  res.verdict = Verdict::NeedMore;
  return res;
}

ParseResult parseBridgeReply(const Command& cmd, const uint8_t* data, size_t len, uint8_t hostId) {
  ParseResult res;
  const auto keep = [&](Error e) {
    if (e.rank() > res.error.rank()) res.error = std::move(e);
  };
  const size_t L = expectedReplyLength(cmd.type);
  bool pending = false;
  size_t pos = 0;
  while (pos < len) {
    FrameResult f = parseFrame(data + pos, len - pos);
    if (f.verdict == Verdict::NeedMore) {
      pending = f.offset < len - pos;
      break;
    }
    const size_t at = pos + f.offset;
    pos = at + f.length;
    if (f.verdict == Verdict::Invalid) {
      keep(std::move(f.error));
      continue;
    }
    const Packet& pk = f.packet;
    if (pk.recipient != kBroadcast && pk.recipient != hostId) continue;
    if (pk.payload.size() == 1) {
      const uint8_t code = pk.payload[0];
      std::string what = code == 'E' ? " ('E': the bridge could not use the packet)" : code == 'N' ? " ('N': NAK)" : "";
      Error e(ErrorKind::Protocol, "EBRIDGE",
              "the PJON bridge reported error " + hex2(code) + what + " for port " + str(cmd.port), code);
      e.cause = Cause::Rejected;  // the bridge refused the packet: ranks with a device's refusal
      e.rawHex = toHex(data + at, f.length);
      keep(std::move(e));
      continue;
    }
    // The bridge strips the MATE checksum; put one back unless it is still there.
    Bytes mate = pk.payload;
    if (!(mate.size() == L && checksumOk(mate))) mate = withChecksum(std::move(mate));
    ParseResult r = parseReply(cmd, mate);
    if (r.verdict == Verdict::Complete) {
      r.offset = at;
      r.length = f.length;
      return r;
    }
    if (r.error) {
      keep(std::move(r.error));
    } else {
      keep(frameError("EFRAME",
                      "the bridge forwarded " + str(static_cast<long long>(pk.payload.size())) + " bytes from port " +
                          str(cmd.port) + ", not a reply to the command",
                      pk.payload.data(), pk.payload.size()));
    }
  }
  res.verdict = (pending || !res.error) ? Verdict::NeedMore : Verdict::Invalid;
  return res;
}

Error bridgeDeadlineError(const Command& cmd, const uint8_t* data, size_t len, uint8_t hostId) {
  if (len == 0) return deadlineError(cmd, data, 0);
  ParseResult r = parseBridgeReply(cmd, data, len, hostId);
  if (r.error) return r.error;
  return frameError("EFRAME",
                    "no complete reply from the PJON bridge for port " + str(cmd.port) + " (" +
                        str(static_cast<long long>(len)) + " bytes)",
                    data, len);
}

}  // namespace fl::mate::pjon
