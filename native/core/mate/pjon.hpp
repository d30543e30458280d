// The PJON serial bridge for the MATE bus (docs/protocols/mate.md §12): a microcontroller with a
// real 9-bit UART (uMATE examples/Bridge) tunnels MateNET frames over USB serial with PJON
// packets in SFSP framing (ThroughSerialAsync). Pure: no I/O.
//
// What docs/protocols/mate.md §12 fixes: SFSP start 0x95, end 0xEA, escape 0xBB; CRC8 (poly 0x97) for packets of
// at most 15 bytes, CRC32 otherwise; host -> bridge payload = target byte (0x0A device bus,
// 0x0B MATE bus) + byte 0 + data; the bridge adds/removes the 9th bit and the MATE checksum.
// What it leaves open, and what is chosen here (see the notes at each declaration):
//  * the PJON packet layout: PJON local mode, [recipient][header][length][CRC8 of the first
//    three][sender id][payload][CRC8 | CRC32 big-endian], with header = TX_INFO (0x02), which
//    is the PJON v3 layout and what pymate's matenet_pjon.py sends; "15 bytes" is the whole
//    packet with its CRC (PJON's own rule; pymate switches one byte earlier);
//  * "poly 0x97" is applied in PJON's right-shifting form (crc >>= 1; crc ^= 0x97), init 0;
//  * escaping: ESC then (byte XOR 0xBB);
//  * bridge -> host payload: byte 0 + data with no target byte and no checksum (Bridge.ino);
//    a payload that still ends in a valid MATE checksum is accepted as well; a 1-byte payload
//    is an error code from the bridge.
#pragma once
#include <cstddef>
#include <cstdint>

#include "common/bytes.hpp"
#include "common/error.hpp"
#include "mate/mate.hpp"

namespace fl::mate::pjon {

constexpr uint8_t kStart = 0x95;
constexpr uint8_t kEnd = 0xEA;
constexpr uint8_t kEscape = 0xBB;
constexpr uint8_t kAck = 0x06;  // TSDL acknowledge, sent outside frames (skipped by the parser)
constexpr uint8_t kBroadcast = 0;
constexpr uint8_t kHostId = 1;           // the PC's PJON id (pymate)
constexpr uint8_t kBridgeId = 2;         // uMATE Bridge.ino DEVICE_ID
constexpr uint8_t kTargetDevice = 0x0A;  // send on the device bus (we are the MATE)
constexpr uint8_t kTargetMate = 0x0B;    // send on the MATE bus (we emulate a device)
constexpr size_t kCrc8MaxPacket = 15;
constexpr size_t kMaxPayload = 200;

// PJON header bits.
constexpr uint8_t kHeaderShared = 0x01;
constexpr uint8_t kHeaderTxInfo = 0x02;
constexpr uint8_t kHeaderAckRequest = 0x04;
constexpr uint8_t kHeaderMac = 0x08;
constexpr uint8_t kHeaderPort = 0x10;
constexpr uint8_t kHeaderCrc32 = 0x20;
constexpr uint8_t kHeaderExtLength = 0x40;
constexpr uint8_t kHeaderPacketId = 0x80;

// PJON CRC8: init 0, per bit: x = (crc ^ byte) & 1; crc >>= 1; byte >>= 1; if x: crc ^= 0x97.
uint8_t crc8(const uint8_t* data, size_t len);
// CRC-32 (IEEE, reflected 0xEDB88320, init and final xor 0xFFFFFFFF); sent big-endian.
uint32_t crc32(const uint8_t* data, size_t len);

struct Packet {
  uint8_t recipient = 0;
  uint8_t header = 0;
  bool hasSender = false;
  uint8_t sender = 0;
  bool ackRequested = false;  // the host should answer with kAck (outside a frame)
  Bytes payload;
};

// An unframed packet in local mode with sender info. Precondition: len <= kMaxPayload.
Bytes encodePacket(uint8_t recipient, uint8_t sender, const uint8_t* payload, size_t len);
// SFSP: kStart, the bytes with kStart/kEnd/kEscape sent as kEscape, b ^ kEscape, then kEnd.
Bytes frame(const Bytes& packet);

// The PJON packet (unframed: pass it to frame() before writing) that puts `cmd` on the
// device bus: payload = 0x0A, port, type, address BE, value BE (7 bytes, no MATE checksum),
// so a 13-byte packet with CRC8 (15 bytes once framed, more if bytes need escaping).
Bytes encodeCommand(const Command& cmd, uint8_t sender = kHostId, uint8_t recipient = kBroadcast);
// General form, also unframed: payload = target, byte0, data. Precondition: len + 2 <= kMaxPayload.
Bytes encodeForBus(uint8_t target, uint8_t byte0, const uint8_t* data, size_t len, uint8_t sender = kHostId,
                   uint8_t recipient = kBroadcast);

struct FrameResult {
  Verdict verdict = Verdict::NeedMore;
  size_t offset =
      0;  // Complete/Invalid: index of kStart. NeedMore: index of an unfinished frame's kStart, or len when none
  size_t length = 0;  // Complete/Invalid: kStart..kEnd inclusive
  Packet packet;
  Error error;  // Invalid: ProtocolError ECHECKSUM (check "crc8"/"crc32": header or packet CRC) or EFRAME
};

// The first SFSP frame in `data`. Bytes before kStart are skipped; a kStart inside a frame
// restarts it. Shared mode, MAC, port, extended length and packet id are refused (EFRAME).
FrameResult parseFrame(const uint8_t* data, size_t len);

// The MATE reply to `cmd` in the bytes received from the bridge so far (packets addressed
// to `hostId` or broadcast). offset/length locate the PJON frame. A 1-byte payload is the
// bridge's own error: ProtocolError EBRIDGE with detail = the byte (uMATE Bridge.ino sends
// 'E' = 0x45 for a packet it could not use, 'N' = 0x4E after a NAK, otherwise its
// CommsStatus code).
ParseResult parseBridgeReply(const Command& cmd, const uint8_t* data, size_t len, uint8_t hostId = kHostId);
// As mate::deadlineError, over the bridge.
Error bridgeDeadlineError(const Command& cmd, const uint8_t* data, size_t len, uint8_t hostId = kHostId);

}  // namespace fl::mate::pjon
