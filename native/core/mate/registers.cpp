#include "mate/registers.hpp"

#include <cmath>
#include <cstdio>
#include <string>

#include "mate/mate.hpp"

namespace fl::mate {

namespace {

enum Access { R, W, RW, ID, ED };

constexpr RegisterSpec reg(const char* name, uint16_t address, double scale, const char* unit, Access access,
                           const char* evidence, const char* note = "", int offset = 0, bool isSigned = false) {
  return RegisterSpec{name,
                      address,
                      scale,
                      unit,
                      offset,
                      isSigned,
                      access != W,
                      access == W || access == RW,
                      access == ID   ? Adjust::IncDec
                      : access == ED ? Adjust::EnableDisable
                                     : Adjust::None,
                      evidence,
                      note};
}

// --- MX / FLEXmax (docs/protocols/mate.md §8, §9) ---
constexpr RegisterSpec kMxRegisters[] = {
    reg("deviceType", kRegDeviceType, 1, "", R, "C-cap", "low byte 3 = MX; mask 0x00FF (a FlexMax answered 0x1103)"),
    reg("firmwareA", 0x0002, 1, "", R, "C-cap", "firmware A.B.C; capture 1.9.8"),
    reg("firmwareB", 0x0003, 1, "", R, "C-cap"),
    reg("firmwareC", 0x0004, 1, "", R, "C-cap"),
    reg("batteryVoltage", 0x0008, 0.1, "V", R, "C-cap", "capture 0x00FB = 25.1 V"),
    reg("maxBatteryVoltage", 0x000F, 0.1, "V", R, "S"),
    reg("voc", 0x0010, 0.1, "V", R, "S"),
    reg("maxVoc", 0x0012, 0.1, "V", R, "S"),
    reg("totalKwh", 0x0013, 1, "kWh", R, "S"),
    reg("totalKah", 0x0014, 1, "kAh", R, "X", "pymate reads it as /1, its emulator comment as /10"),
    reg("maxWatts", 0x0015, 1, "W", R, "S"),
    reg("outputCurrentLimit", 0x0017, 0.1, "A", RW, "S"),
    reg("floatVoltage", 0x0018, 0.1, "V", RW, "S", "the doc is unclear whether it is /10"),
    reg("absorbVoltage", 0x0019, 0.1, "V", RW, "S", "the doc is unclear whether it is /10"),
    reg("eqVoltage", 0x001E, 0.1, "V", RW, "S"),
    reg("rebulkVoltage", 0x001F, 0.1, "V", RW, "S"),
    reg("absorbEndAmps", 0x0020, 1, "A", RW, "S"),
    reg("wakeupVocChange", 0x0021, 0.1, "V", RW, "S"),
    reg("wakeupTime", 0x0022, 1, "min", RW, "S"),
    reg("parkMpp", 0x0023, 0.1, "%", RW, "S"),
    reg("rtsCompLower", 0x0024, 0.1, "V", RW, "S"),
    reg("rtsCompUpper", 0x0025, 0.1, "V", RW, "S"),
    reg("unknown003C", 0x003C, 1, "", R, "C-cap", "read by the MATE at start-up; capture 100"),
    reg("factoryReset", 0x00C8, 1, "", W, "S", "write 0x00FF"),
    reg("auxMode", 0x00CB, 1, "", RW, "X", "enum; two numberings in circulation (docs/protocols/mate.md §9)"),
    reg("eqTime", 0x00D2, 1, "h", RW, "S"),
    reg("autoEqInterval", 0x00D3, 1, "days", RW, "S"),
    reg("chargerWatts", 0x016A, 1, "W", R, "C-cap", "capture 183..185 W"),
    reg("absorbSetpoint", 0x0170, 0.1, "V", R, "C-cap", "capture 28.8 V"),
    reg("floatSetpoint", 0x0172, 0.1, "V", R, "C-cap", "capture 27.2 V"),
    reg("panelVoltage", 0x01C6, 1, "V", R, "C-cap", "capture 70 V"),
    reg("chargerCurrent", 0x01C7, 1, "A", R, "C-cap", "value - 128", -128),
    reg("chargerMode", 0x01C8, 1, "", R, "C-cap", "0 silent, 1 float, 2 bulk, 3 absorb, 4 equalize (as status byte 6)"),
    reg("auxControl", 0x01C9, 1, "", RW, "C-cap",
        "bits 6..0 mode, bit 7 relay on; write 0x03 off / 0x83 on (doc, unverified); capture read 0x05 while status "
        "byte 5 was 0x3F"),
    reg("chargerKwhToday", 0x01EA, 0.1, "kWh", R, "C-cap", "capture 2.2 kWh"),
    reg("batteryTemperatureRaw", kRegBatteryTemperature, 1, "", R, "C-cap",
        "raw; the MATE copies it to 0x4001 of the FX and DC every 60 s"),
    reg("time", kRegTime, 1, "", W, "C-cap",
        "packTime(); written by the MATE every 30 s; the MX echoes only the low byte"),
    reg("date", kRegDate, 1, "", W, "X",
        "packDate(); pymate's doc says the MX gets it, the capture shows no date write to the MX"),
};

// --- FX inverter/charger (docs/protocols/mate.md §10) ---
constexpr RegisterSpec kFxRegisters[] = {
    reg("deviceType", kRegDeviceType, 1, "", R, "C-cap", "low byte 2 = FX; mask 0x00FF"),
    reg("firmwareRevision", 0x0001, 1, "", R, "C-cap", "capture 61"),
    reg("floatVoltage", 0x000A, 0.1, "V", ID, "C-cap", "capture 27.2 V; set by the MATE with inc/dec"),
    reg("absorbVoltage", 0x000B, 0.1, "V", ID, "C-cap", "capture 28.8 V"),
    reg("eqVoltage", 0x000C, 0.1, "V", ID, "C-cap", "capture 28.8 V"),
    reg("refloatVoltage", 0x000D, 0.1, "V", ID, "C-cap", "capture 25.0 V"),
    reg("lowBatteryCutOut", 0x000E, 0.1, "V", ID, "S"),
    reg("lowBatteryCutIn", 0x000F, 0.1, "V", ID, "S"),
    reg("genAlertOffVoltage", 0x0010, 0.1, "V", ID, "S"),
    reg("genAlertOnVoltage", 0x0011, 0.1, "V", ID, "S"),
    reg("loadShedOffVoltage", 0x0012, 0.1, "V", ID, "S"),
    reg("ventFanOnVoltage", 0x0013, 0.1, "V", ID, "S"),
    reg("diversionOnVoltage", 0x0014, 0.1, "V", ID, "S"),
    reg("tempCompBatteryVoltage", 0x0016, 0.1, "V", R, "C-cap", "temperature-compensated battery"),
    reg("batteryVoltage", 0x0019, 0.1, "V", R, "C-cap", "battery actual (also calibration); capture 25.4 V"),
    reg("sellReVoltage", 0x001B, 0.1, "V", ID, "S"),
    reg("absorbTimeLimit", 0x001F, 0.1, "h", ID, "S"),
    reg("eqTimeLimit", 0x0020, 0.1, "h", ID, "S"),
    reg("floatTimeLimit", 0x0021, 0.1, "h", ID, "S"),
    reg("ac2TransferDelay", 0x0022, 1, "cycles", ID, "S"),
    reg("ac1InputLimit", 0x0027, 0.1, "A", ID, "S", "AC1 grid input limit"),
    reg("chargerLimit", 0x0028, 0.1, "A", ID, "S", "A AC"),
    reg("searchSensitivity", 0x0029, 1, "", ID, "S"),
    reg("ac1LowerLimit", 0x002A, 1, "V", ID, "S"),
    reg("ac1UpperLimit", 0x002B, 1, "V", ID, "S"),
    reg("acInputVoltage", 0x002C, 1, "V", R, "C-cap", "x2 on 230 V units; capture 3"),
    reg("acOutputVoltage", 0x002D, 1, "V", R, "C-cap", "x2 on 230 V units; capture 115"),
    reg("batteryTemperatureRaw", 0x0032, 1, "", R, "C-cap", "raw 0..255; 255 = no sensor (guess)"),
    reg("airTemperatureRaw", 0x0033, 1, "", R, "C-cap", "raw 0..255"),
    reg("mosfetTemperatureRaw", 0x0034, 1, "", R, "C-cap", "raw 0..255"),
    reg("capacitorTemperatureRaw", 0x0035, 1, "", R, "C-cap", "raw 0..255"),
    reg("genConnectDelay", 0x0037, 0.1, "min", ID, "S"),
    reg("eqControl", 0x0038, 1, "", RW, "X", "0 off, other values unclear; capture read 2"),
    reg("errors", 0x0039, 1, "", R, "C-cap", "same bits as status byte 7 (fxErrorNames)"),
    reg("acInControl", 0x003A, 1, "", RW, "C-cap", "0 drop, 1 use"),
    reg("ac2GenSupport", 0x003B, 1, "", ED, "S"),
    reg("chargerControl", 0x003C, 1, "", RW, "C-cap", "0 off, 1 auto, 2 on"),
    reg("inverterControl", 0x003D, 1, "", RW, "C-cap", "0 off, 1 search, 2 on; writing 0 cuts the AC output"),
    reg("auxFunction", 0x003E, 1, "", ID, "S", "enum"),
    reg("genAlertOnDelay", 0x003F, 1, "min", ID, "S"),
    reg("genAlertOffDelay", 0x0040, 1, "min", ID, "S"),
    reg("ventFanOffPeriod", 0x0042, 1, "min", ID, "S"),
    reg("ac2LowerLimit", 0x0044, 1, "V", ID, "S"),
    reg("ac2UpperLimit", 0x0045, 1, "V", ID, "S"),
    reg("ac1TransferDelay", 0x004D, 1, "cycles", ID, "S"),
    reg("factoryReset", 0x0058, 1, "", W, "S", "step 1: write 0x0062; step 2 unknown"),
    reg("warnings", 0x0059, 1, "", R, "C-cap", "same bits as status byte 12 (fxWarningNames)"),
    reg("auxControl", 0x005A, 1, "", RW, "C-cap", "0 off, 1 auto, 2 on"),
    reg("searchPulseLength", 0x0062, 1, "cycles", ID, "S"),
    reg("searchPulseSpacing", 0x0063, 1, "cycles", ID, "S"),
    reg("gridTieWindow", 0x0067, 1, "", ID, "S", "enum"),
    reg("chargerCurrent", 0x006A, 1, "A", R, "C-cap", "/2 on 230 V units"),
    reg("sellCurrent", 0x006B, 1, "A", R, "C-cap", "/2 on 230 V units"),
    reg("inputCurrent", 0x006C, 1, "A", R, "C-cap", "/2 on 230 V units"),
    reg("inverterCurrent", 0x006D, 1, "A", R, "C-cap", "/2 on 230 V units"),
    reg("floatTimeRemaining", 0x006E, 0.1, "h", R, "C-cap"),
    reg("diversionOffDelay", 0x006F, 1, "s", ID, "S"),
    reg("absorbTimeRemaining", 0x0070, 0.1, "h", R, "C-cap"),
    reg("eqTimeRemaining", 0x0071, 0.1, "h", R, "C-cap"),
    reg("powerSaveSlave", 0x0074, 1, "", ID, "S"),
    reg("powerSaveMaster", 0x0075, 1, "", ID, "S"),
    reg("stackPhaseMode", 0x0079, 1, "", ID, "S", "enum"),
    reg("ac2InputLimit", 0x007B, 0.1, "A", ID, "S", "AC2 generator input limit"),
    reg("outputVoltageAdjust", 0x0083, 1, "V", ID, "S"),
    reg("disconnectStatus", 0x0084, 1, "", R, "C-cap", "enum; capture 0"),
    reg("gridTieAuthority", 0x008A, 1, "", ID, "S", "enum"),
    reg("sellStatus", 0x008F, 1, "", R, "X",
        "stop reason 1..15 (pymate table); the capture read 55, which is not in that table"),
    reg("batteryTemperatureSync", kRegBatteryTemperatureSync, 1, "", W, "C-cap",
        "the raw value read from MX 0x4000, written every 60 s"),
};

// --- FLEXnet DC (docs/protocols/mate.md §11) ---
constexpr RegisterSpec kDcRegisters[] = {
    reg("deviceType", kRegDeviceType, 1, "", R, "C-cap", "low byte 4 = FLEXnet DC"),
    reg("firmwareA", 0x0002, 1, "", R, "C-cap", "firmware A.B.C; capture 1.1.71"),
    reg("firmwareB", 0x0003, 1, "", R, "C-cap"),
    reg("firmwareC", 0x0004, 1, "", R, "C-cap"),
    reg("tempCompBatterySetpoint", 0x0010, 0.1, "V", R, "C-cap", "capture 29.1 V"),
    reg("lifetimeKahRemoved", 0x001C, 1, "kAh", RW, "C-cap", "write 0 (or 0x00FF) resets"),
    reg("shuntAChargedKwh", 0x0024, 0.01, "kWh", R, "G", "matches today's shunt kWh x100 in the capture"),
    reg("shuntBChargedKwh", 0x0026, 0.01, "kWh", R, "G"),
    reg("shuntCChargedKwh", 0x0028, 0.01, "kWh", R, "G"),
    reg("shuntARemovedKwh", 0x002A, 0.01, "kWh", R, "G", "capture 626 = 6.26 while page E showed -6.24"),
    reg("shuntBRemovedKwh", 0x002C, 0.01, "kWh", R, "G"),
    reg("shuntCRemovedKwh", 0x002E, 0.01, "kWh", R, "G"),
    reg("batteryCapacity", 0x0034, 1, "Ah", ID, "S", "steps of 10 Ah"),
    reg("shuntAChargedAh", 0x003E, 1, "Ah", R, "G", "matches today's shunt Ah in the capture"),
    reg("shuntBChargedAh", 0x0040, 1, "Ah", R, "G", "capture 145 while page E showed 140"),
    reg("shuntCChargedAh", 0x0042, 1, "Ah", R, "G"),
    reg("shuntARemovedAh", 0x0044, 1, "Ah", R, "G", "capture 252 while page E showed -251"),
    reg("shuntBRemovedAh", 0x0046, 1, "Ah", R, "G"),
    reg("shuntCRemovedAh", 0x0048, 1, "Ah", R, "G"),
    reg("batteryMinToday", 0x0058, 0.1, "V", R, "C-cap", "reset by writing 0x00FF to 0x00EC"),
    reg("batteryMaxToday", 0x005A, 0.1, "V", R, "C-cap", "reset by writing 0x00FF to 0x00EB"),
    reg("returnAmps", 0x005C, 0.1, "A", ID, "S"),
    reg("chargedVoltage", 0x005E, 0.1, "V", ID, "S"),
    reg("auxHighVoltage", 0x0060, 0.1, "V", ID, "S"),
    reg("daysSinceFull", 0x0062, 0.1, "days", R, "C-cap", "days since charge parameters met; capture 1.9"),
    reg("daysAt100Percent", 0x0064, 1, "days", RW, "S", "write 0 resets"),
    // 0x0066..0x007C: max charged / removed amps (/10 A) and kW (/100 kW) per shunt. The
    // order below is our reading of the capture (B: 39.3 A with 1.07 kW at ~27 V; A removed
    // -95.8 A with -2.33 kW at ~24 V); removed values are negative. Writing resets (doc).
    reg("shuntAMaxChargedAmps", 0x0066, 0.1, "A", RW, "G", "", 0, true),
    reg("shuntAMaxChargedKw", 0x0068, 0.01, "kW", RW, "G", "", 0, true),
    reg("shuntBMaxChargedAmps", 0x006A, 0.1, "A", RW, "G", "capture 39.3 A", 0, true),
    reg("shuntBMaxChargedKw", 0x006C, 0.01, "kW", RW, "G", "capture 1.07 kW", 0, true),
    reg("shuntCMaxChargedAmps", 0x006E, 0.1, "A", RW, "G", "", 0, true),
    reg("shuntCMaxChargedKw", 0x0070, 0.01, "kW", RW, "G", "", 0, true),
    reg("shuntAMaxRemovedAmps", 0x0072, 0.1, "A", RW, "G", "capture -95.8 A", 0, true),
    reg("shuntAMaxRemovedKw", 0x0074, 0.01, "kW", RW, "G", "capture -2.33 kW", 0, true),
    reg("shuntBMaxRemovedAmps", 0x0076, 0.1, "A", RW, "G", "capture -1.0 A", 0, true),
    reg("shuntBMaxRemovedKw", 0x0078, 0.01, "kW", RW, "G", "capture -0.02 kW", 0, true),
    reg("shuntCMaxRemovedAmps", 0x007A, 0.1, "A", RW, "G", "", 0, true),
    reg("shuntCMaxRemovedKw", 0x007C, 0.01, "kW", RW, "G", "", 0, true),
    reg("auxLowVoltage", 0x007E, 0.1, "V", ID, "S"),
    reg("shuntAMode", 0x00CA, 1, "", ED, "S", "0 enabled, 1 disabled"),
    reg("shuntBMode", 0x00CB, 1, "", ED, "S", "0 enabled, 1 disabled"),
    reg("shuntCMode", 0x00CC, 1, "", ED, "S", "0 enabled, 1 disabled"),
    reg("cycleKwhChargeEfficiency", 0x00D1, 1, "%", R, "C-cap", "capture 100"),
    reg("auxLogicInvert", 0x00D3, 1, "", ED, "S", "doc notes a MATE bug: YES sends 0, reads back as NO"),
    reg("chargeFactor", 0x00D4, 1, "%", ID, "S"),
    reg("stateOfCharge", 0x00D5, 1, "%", R, "C-cap", "capture 76/77"),
    reg("cycleChargeFactor", 0x00D7, 1, "%", R, "C-cap", "capture 100"),
    reg("auxControl", 0x00D8, 1, "", RW, "C-cap", "0 off, 1 auto, 2 on"),
    reg("socHigh", 0x00D9, 1, "%", ID, "S"),
    reg("parametersMetTime", 0x00DA, 1, "min", ID, "S"),
    reg("socLow", 0x00DB, 1, "%", ID, "S"),
    reg("highSetpointDelay", 0x00E0, 1, "min", ID, "S"),
    reg("lowSetpointDelay", 0x00E1, 1, "min", ID, "S"),
    reg("resetBatteryMax", 0x00EB, 1, "", W, "C-cap", "write 0x00FF; the DC answered 0x00FE"),
    reg("resetBatteryMin", 0x00EC, 1, "", W, "C-cap", "write 0x00FF"),
    reg("batteryTemperature", 0x00F0, 1, "degC", R, "C-cap", "0x00FE = no sensor; capture 15"),
    reg("batteryTemperatureSync", kRegBatteryTemperatureSync, 1, "", W, "C-cap",
        "the raw value read from MX 0x4000, written every 60 s"),
    reg("time", kRegTime, 1, "", W, "C-cap",
        "packTime(); written by the MATE every 30 s; COMMS error on the MATE if unanswered"),
    reg("date", kRegDate, 1, "", W, "C-cap", "packDate(); written by the MATE every 60 s"),
};

// Divisor for scales below 1, so 251 * 0.1 comes out as the double 25.1 (= 251 / 10.0).
double scaled(double v, double scale) { return scale < 1 ? v / std::round(1 / scale) : v * scale; }

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

constexpr ControlValue kOffSearchOn[] = {{"off", 0}, {"search", 1}, {"on", 2}};
constexpr ControlValue kDropUse[] = {{"drop", 0}, {"use", 1}};
constexpr ControlValue kOffAutoOn[] = {{"off", 0}, {"auto", 1}, {"on", 2}};

constexpr FxControl kFxControls[] = {
    {"inverter", "inverterControl", kOffSearchOn},
    {"acIn", "acInControl", kDropUse},
    {"charger", "chargerControl", kOffAutoOn},
    {"aux", "auxControl", kOffAutoOn},
    {"eq", "eqControl", kOffAutoOn},
};

}  // namespace

std::span<const FxControl> fxControls() { return kFxControls; }

std::span<const RegisterSpec> registerTable(uint8_t deviceType) {
  switch (deviceType) {
    case kMx: return kMxRegisters;
    case kFx: return kFxRegisters;
    case kDc: return kDcRegisters;
  }
  return {};
}

const RegisterSpec* findRegister(uint8_t deviceType, std::string_view name) {
  for (const RegisterSpec& r : registerTable(deviceType))
    if (name == r.name) return &r;
  return nullptr;
}

const RegisterSpec* findRegisterAt(uint8_t deviceType, uint16_t address) {
  for (const RegisterSpec& r : registerTable(deviceType))
    if (r.address == address) return &r;
  return nullptr;
}

double registerValue(const RegisterSpec& spec, uint16_t raw) {
  const int v = spec.isSigned ? static_cast<int16_t>(raw) : raw;
  return scaled(v + spec.offset, spec.scale);
}

Error registerRaw(const RegisterSpec& spec, double value, uint16_t& raw) {
  if (!spec.writable)
    return validationError(std::string("register ") + spec.name + " cannot be written with a plain WRITE", "EINVAL");
  if (!std::isfinite(value)) return validationError(std::string(spec.name) + " must be a finite number");
  const double steps = spec.scale < 1 ? value * std::round(1 / spec.scale) : value / spec.scale;
  const long long lo = spec.isSigned ? -32768 : 0, hi = spec.isSigned ? 32767 : 0xFFFF;
  const long long v = std::fabs(steps) < 1e9 ? std::llround(steps) - spec.offset : hi + 1;
  if (v < lo || v > hi) {
    std::string unit = *spec.unit ? std::string(" ") + spec.unit : "";
    return validationError(
        std::string(spec.name) + " must be " + num(scaled(static_cast<double>(lo + spec.offset), spec.scale)) + ".." +
        num(scaled(static_cast<double>(hi + spec.offset), spec.scale)) + unit + ", got " + num(value));
  }
  raw = static_cast<uint16_t>(v & 0xFFFF);
  return {};
}

}  // namespace fl::mate
