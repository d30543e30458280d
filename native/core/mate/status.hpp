// Decoders for the MATE bus status and log pages (docs/protocols/mate.md §9–11): MX/FM status,
// MX log page, FX status, FLEXnet DC status (pages 0x0A..0x0F as one 78-byte block).
// Enums are kept as numbers; the *Name() functions give the text, so the bridge can hand
// JS both. Pure: no I/O.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/error.hpp"
#include "mate/mate.hpp"

namespace fl::mate {

// --- MX / FLEXmax charge controller status (reply byte 0 = 03) ---
enum ChargerMode : uint8_t {
  kChargerSilent = 0,
  kChargerFloat = 1,
  kChargerBulk = 2,
  kChargerAbsorb = 3,
  kChargerEqualize = 4
};
// "silent", "float", "bulk", "absorb", "equalize"; "unknown" otherwise.
const char* chargerModeName(int mode);

constexpr uint8_t kMxAuxManual = 0x3F;  // aux mode 63: manual on/off, not AUTO
enum MxError : uint8_t { kMxShortedBatterySensor = 0x20, kMxTooHot = 0x40, kMxHighVoc = 0x80 };
// "shorted-battery-sensor", "too-hot", "high-voc" for each bit set; unknown bits as "bit-N".
std::vector<const char*> mxErrorNames(uint8_t bits);

struct MxStatus {
  double pvCurrent = 0;          // A (byte 1 XOR 0x80)
  double chargerCurrent = 0;     // A: whole amps (byte 2 XOR 0x80) + tenths (byte 0 low nibble)
  int chargerCurrentTenths = 0;  // byte 0 bits 3..0 (FM60/FM80 only)
  double dailyKwh = 0;           // kWh: int16(byte3 << 8 | byte8) / 10
  int dailyAh = 0;               // 12 bits: (byte0 & 0x70) << 4 | byte4
  bool ahValid = false;          // byte 0 bit 7; the MATE hides Ah when 0
  int auxMode = 0;               // byte 5 bits 5..0 (63 = manual); numbering disputed, see docs/protocols/mate.md §9
  bool auxOn = false;            // byte 5 bit 6
  int chargerMode = 0;           // ChargerMode
  uint8_t errors = 0;            // MxError bits
  double batteryVoltage = 0;     // V
  double pvVoltage = 0;          // V
};
// `p`: the 13 payload bytes (after byte 0).
MxStatus decodeMxStatus(const uint8_t* p);

// --- MX log page (reply byte 0 = 0x16) ---
struct MxLogPage {
  double peakAmps = 0;    // A
  double batteryMax = 0;  // V
  double kwh = 0;         // kWh
  int peakPvVoltage = 0;  // V
  int absorbMinutes = 0;
  int floatMinutes = 0;
  int ah = 0;
  double batteryMin = 0;  // V
  double peakKw = 0;      // kW
  int day = 0;            // days back, as returned (requests above 128 come back as 128)
  std::array<uint8_t, kLogPayloadLength> raw{};
};
// `p`: the 14 payload bytes.
MxLogPage decodeMxLogPage(const uint8_t* p);

// --- FX inverter/charger status (reply byte 0 = 02) ---
// "inverter-off", "search", "inverter-on", "charge", "silent", "float", "equalize",
// "charger-off", "support", "sell-enabled", "pass-through"; "unknown" otherwise.
const char* fxOperationalModeName(int mode);
// "no-ac", "ac-drop", "ac-use"; "unknown" otherwise.
const char* fxAcModeName(int mode);
// Status byte 7 (also register 0x0039): "low-vac-output", "stacking-error", "over-temperature",
// "low-battery", "phase-loss", "high-battery", "shorted-output", "back-feed".
std::vector<const char*> fxErrorNames(uint8_t bits);
// Status byte 12 (also register 0x0059): "ac-in-freq-high", "ac-in-freq-low", "ac-in-voltage-high",
// "ac-in-voltage-low", "buy-amps-over-input-size", "temp-sensor-failed", "comm-error", "fan-failure".
std::vector<const char*> fxWarningNames(uint8_t bits);

struct FxStatus {
  double inverterCurrent = 0;  // A (halved on a 230 V unit)
  double chargerCurrent = 0;
  double buyCurrent = 0;
  double sellCurrent = 0;
  int acInputVoltage = 0;  // V (doubled on a 230 V unit)
  int acOutputVoltage = 0;
  int operationalMode = 0;
  uint8_t errors = 0;
  int acMode = 0;
  double batteryVoltage = 0;  // V, int16 / 10 (not doubled)
  uint8_t misc = 0;           // byte 11 as sent (capture: 0x09, bit 3 meaning unknown)
  bool is230V = false;        // misc bit 0
  bool auxOn = false;         // misc bit 7
  uint8_t warnings = 0;
};
FxStatus decodeFxStatus(const uint8_t* p);

// --- FLEXnet DC battery monitor: status pages A..F (reply byte 0 = 04) ---
constexpr size_t kDcPages = 6;
constexpr size_t kDcBlockLength = kDcPages * kStatusPayloadLength;  // 78

struct DcShunt {
  double current = 0;   // A, now
  double power = 0;     // kW, now
  double kwhToday = 0;  // kWh (page E)
  int ahToday = 0;      // Ah (pages E/F)
};

struct DcStatus {
  int pages = 0;                 // how many pages (from A) were decoded; fields beyond stay 0
  std::array<DcShunt, 3> shunt;  // A, B, C
  double batteryVoltage = 0;     // V
  int stateOfCharge = 0;         // %
  uint8_t unknown15 = 0;         // block byte 15 (B.2)
  uint8_t flags = 0;             // block byte 16 (B.3): bit 7 full-charge settings met (pymate); 6, 5, 0 unknown
  bool chargeParamsMet = false;  // flags bit 7
  double inCurrent = 0;          // A, now
  double outCurrent = 0;
  double batteryCurrent = 0;
  double inPower = 0;   // kW, now
  double outPower = 0;  // straddles pages B and C
  double batteryPower = 0;
  int todayInAh = 0;
  int todayOutAh = 0;
  int todayBatteryAh = 0;
  double todayInKwh = 0;
  double todayOutKwh = 0;
  double todayBatteryKwh = 0;                 // page D
  double daysSinceFull = 0;                   // days
  int minSocToday = 0;                        // % (page F)
  int netAh = 0;                              // battery net Ah
  double netKwh = 0;                          // battery net kWh
  uint8_t unknownF7 = 0;                      // block byte 72 (capture: 0x0F)
  std::array<uint8_t, kDcBlockLength> raw{};  // the block as received (zeros for pages not given)
};
// `block`: the payloads of pages 0x0A, 0x0B, ... concatenated; `len` a multiple of 13, at
// most 78. A field is decoded when all its bytes are present (A..C give the "now" values
// and today's in/out totals; D..F the rest).
DcStatus decodeDcStatus(const uint8_t* block, size_t len);

// Checked decoding of parsed replies: byte 0 must be the expected device type (or 0x16 for
// a log page) and the payload the right size; otherwise ProtocolError EFRAME.
Error decode(const Reply& r, MxStatus& out);
Error decode(const Reply& r, FxStatus& out);
Error decode(const Reply& r, MxLogPage& out);
// `pages`: the replies to pages 0x0A, 0x0B, ... in order (1..6 of them).
Error decodeDc(const Reply* pages, size_t count, DcStatus& out);

}  // namespace fl::mate
