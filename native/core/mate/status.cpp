#include "mate/status.hpp"

#include <string>

namespace fl::mate {

namespace {

// Every scaled value is an integer count divided once, so e.g. 254 / 10.0 is the same
// double as the literal 25.4.
double tenths(int v) { return v / 10.0; }
double hundredths(int v) { return v / 100.0; }

std::vector<const char*> bitNames(uint8_t bits, const char* const names[8]) {
  static const char* const unnamed[8] = {"bit-0", "bit-1", "bit-2", "bit-3", "bit-4", "bit-5", "bit-6", "bit-7"};
  std::vector<const char*> out;
  for (int b = 0; b < 8; ++b)
    if (bits & (1u << b)) out.push_back(names[b] ? names[b] : unnamed[b]);
  return out;
}

Error frameError(std::string msg, const Reply& r) {
  Error e(ErrorKind::Protocol, "EFRAME", std::move(msg));
  e.rawHex = toHex(r.payload);
  return e;
}

Error checkReply(const Reply& r, uint8_t byte0, size_t payload, const char* what) {
  if (r.byte0 != byte0)
    return frameError(
        std::string(what) + " must come with byte 0 = " + std::to_string(byte0) + ", got " + std::to_string(r.byte0),
        r);
  if (r.payload.size() != payload)
    return frameError(std::string(what) + " needs " + std::to_string(payload) + " payload bytes, got " +
                          std::to_string(r.payload.size()),
                      r);
  return {};
}

}  // namespace

const char* chargerModeName(int mode) {
  switch (mode) {
    case kChargerSilent: return "silent";
    case kChargerFloat: return "float";
    case kChargerBulk: return "bulk";
    case kChargerAbsorb: return "absorb";
    case kChargerEqualize: return "equalize";
  }
  return "unknown";
}

std::vector<const char*> mxErrorNames(uint8_t bits) {
  static const char* const names[8] = {nullptr,   nullptr,   nullptr, nullptr, nullptr, "shorted-battery-sensor",
                                       "too-hot", "high-voc"};
  return bitNames(bits, names);
}

MxStatus decodeMxStatus(const uint8_t* p) {
  MxStatus s;
  s.ahValid = (p[0] & 0x80) != 0;
  s.chargerCurrentTenths = p[0] & 0x0F;
  s.pvCurrent = static_cast<uint8_t>(p[1] ^ 0x80);
  s.chargerCurrent = tenths(static_cast<uint8_t>(p[2] ^ 0x80) * 10 + s.chargerCurrentTenths);
  s.dailyKwh = tenths(static_cast<int16_t>((p[3] << 8) | p[8]));
  // Ah bits 10..8 sit in byte 0 bits 6..4: shift left by 4 (pymate shifts right, wrong above 255).
  s.dailyAh = ((p[0] & 0x70) << 4) | p[4];
  s.auxMode = p[5] & 0x3F;
  s.auxOn = (p[5] & 0x40) != 0;
  s.chargerMode = p[6];
  s.errors = p[7];
  s.batteryVoltage = tenths(readBE16(p + 9));
  s.pvVoltage = tenths(readBE16(p + 11));
  return s;
}

MxLogPage decodeMxLogPage(const uint8_t* p) {
  MxLogPage g;
  for (size_t i = 0; i < kLogPayloadLength; ++i) g.raw[i] = p[i];
  // Bit layout as in docs/protocols/mate.md §9. Note the table reads byte 11 bits 1..0 twice: as
  // battery-min bits 11..10 and as peak-kW bits 7..6 (never non-zero in the capture).
  g.peakAmps = tenths(p[0] | ((p[1] & 0x03) << 8));
  g.batteryMax = tenths(((p[1] & 0xFC) >> 2) | ((p[2] & 0x0F) << 6));
  g.kwh = tenths(((p[2] & 0xF0) >> 4) | (p[3] << 4));
  g.peakPvVoltage = p[4];
  g.absorbMinutes = p[5] | ((p[6] & 0x0F) << 8);
  g.floatMinutes = ((p[6] & 0xF0) >> 4) | (p[7] << 4);
  g.ah = p[8] | ((p[9] & 0x3F) << 8);
  g.batteryMin = tenths(((p[9] & 0xC0) >> 6) | (p[10] << 2) | ((p[11] & 0x03) << 10));
  g.peakKw = (((p[12] & 0xFC) >> 2) | (p[11] << 6)) / 1000.0;
  g.day = p[13];
  return g;
}

const char* fxOperationalModeName(int mode) {
  static const char* const names[] = {"inverter-off", "search",       "inverter-on", "charge",
                                      "silent",       "float",        "equalize",    "charger-off",
                                      "support",      "sell-enabled", "pass-through"};
  if (mode >= 0 && mode < static_cast<int>(sizeof names / sizeof names[0])) return names[mode];
  return "unknown";
}

const char* fxAcModeName(int mode) {
  switch (mode) {
    case 0: return "no-ac";
    case 1: return "ac-drop";
    case 2: return "ac-use";
  }
  return "unknown";
}

std::vector<const char*> fxErrorNames(uint8_t bits) {
  static const char* const names[8] = {"low-vac-output", "stacking-error", "over-temperature", "low-battery",
                                       "phase-loss",     "high-battery",   "shorted-output",   "back-feed"};
  return bitNames(bits, names);
}

std::vector<const char*> fxWarningNames(uint8_t bits) {
  static const char* const names[8] = {
      "ac-in-freq-high",          "ac-in-freq-low",     "ac-in-voltage-high", "ac-in-voltage-low",
      "buy-amps-over-input-size", "temp-sensor-failed", "comm-error",         "fan-failure"};
  return bitNames(bits, names);
}

FxStatus decodeFxStatus(const uint8_t* p) {
  FxStatus s;
  s.misc = p[11];
  s.is230V = (s.misc & 0x01) != 0;
  s.auxOn = (s.misc & 0x80) != 0;
  // 230 V units report half the voltage and twice the current.
  const int vMul = s.is230V ? 2 : 1;
  const double aDiv = s.is230V ? 2.0 : 1.0;
  s.inverterCurrent = p[0] / aDiv;
  s.chargerCurrent = p[1] / aDiv;
  s.buyCurrent = p[2] / aDiv;
  s.acInputVoltage = p[3] * vMul;
  s.acOutputVoltage = p[4] * vMul;
  s.sellCurrent = p[5] / aDiv;
  s.operationalMode = p[6];
  s.errors = p[7];
  s.acMode = p[8];
  s.batteryVoltage = tenths(readBE16s(p + 9));
  s.warnings = p[12];
  return s;
}

DcStatus decodeDcStatus(const uint8_t* block, size_t len) {
  DcStatus s;
  if (len > kDcBlockLength) len = kDcBlockLength;
  s.pages = static_cast<int>(len / kStatusPayloadLength);
  len = static_cast<size_t>(s.pages) * kStatusPayloadLength;
  for (size_t i = 0; i < len; ++i) s.raw[i] = block[i];
  const auto has = [&](size_t off, size_t n) { return off + n <= len; };
  const auto s16 = [&](size_t off) { return static_cast<int>(readBE16s(block + off)); };

  for (size_t k = 0; k < 3; ++k) {
    if (has(2 * k, 2)) s.shunt[k].current = tenths(s16(2 * k));
    if (has(9 + 2 * k, 2)) s.shunt[k].power = hundredths(s16(9 + 2 * k));
    if (has(55 + 2 * k, 2)) s.shunt[k].kwhToday = hundredths(s16(55 + 2 * k));
    if (has(61 + 2 * k, 2)) s.shunt[k].ahToday = s16(61 + 2 * k);
  }
  if (has(6, 2)) s.batteryVoltage = tenths(s16(6));
  if (has(8, 1)) s.stateOfCharge = block[8];
  if (has(15, 1)) s.unknown15 = block[15];
  if (has(16, 1)) {
    s.flags = block[16];
    s.chargeParamsMet = (s.flags & 0x80) != 0;
  }
  if (has(17, 2)) s.inCurrent = tenths(s16(17));
  if (has(19, 2)) s.outCurrent = tenths(s16(19));
  if (has(21, 2)) s.batteryCurrent = tenths(s16(21));
  if (has(23, 2)) s.inPower = hundredths(s16(23));
  if (has(25, 2)) s.outPower = hundredths(s16(25));
  if (has(27, 2)) s.batteryPower = hundredths(s16(27));
  if (has(29, 2)) s.todayInAh = s16(29);
  if (has(31, 2)) s.todayOutAh = s16(31);
  if (has(33, 2)) s.todayBatteryAh = s16(33);
  if (has(35, 2)) s.todayInKwh = hundredths(s16(35));
  if (has(37, 2)) s.todayOutKwh = hundredths(s16(37));
  if (has(39, 2)) s.todayBatteryKwh = hundredths(s16(39));
  if (has(41, 2)) s.daysSinceFull = tenths(s16(41));
  if (has(67, 1)) s.minSocToday = block[67];
  if (has(68, 2)) s.netAh = s16(68);
  if (has(70, 2)) s.netKwh = hundredths(s16(70));
  if (has(72, 1)) s.unknownF7 = block[72];
  return s;
}

Error decode(const Reply& r, MxStatus& out) {
  if (Error e = checkReply(r, kMx, kStatusPayloadLength, "MX status")) return e;
  out = decodeMxStatus(r.payload.data());
  return {};
}

Error decode(const Reply& r, FxStatus& out) {
  if (Error e = checkReply(r, kFx, kStatusPayloadLength, "FX status")) return e;
  out = decodeFxStatus(r.payload.data());
  return {};
}

Error decode(const Reply& r, MxLogPage& out) {
  if (Error e = checkReply(r, kLog, kLogPayloadLength, "MX log page")) return e;
  out = decodeMxLogPage(r.payload.data());
  return {};
}

Error decodeDc(const Reply* pages, size_t count, DcStatus& out) {
  if (count < 1 || count > kDcPages)
    return Error(ErrorKind::Validation, "ERANGE", "a FLEXnet DC status needs 1..6 pages, got " + std::to_string(count));
  uint8_t block[kDcBlockLength] = {};
  for (size_t i = 0; i < count; ++i) {
    if (Error e = checkReply(pages[i], kDc, kStatusPayloadLength, "FLEXnet DC status")) return e;
    for (size_t k = 0; k < kStatusPayloadLength; ++k) block[i * kStatusPayloadLength + k] = pages[i].payload[k];
  }
  out = decodeDcStatus(block, count * kStatusPayloadLength);
  return {};
}

}  // namespace fl::mate
