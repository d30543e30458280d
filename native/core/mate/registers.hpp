// Register tables for the MX/FM charge controller, FX inverter and FLEXnet DC
// (docs/protocols/mate.md §8–11). Most addresses come from pymate's "found by poking at a MATE"
// notes; `evidence` says how sure each one is:
//   "C-cap" seen in the real bus capture, "C" documented, "S" single source / unverified,
//   "G" our reading of the capture, "X" sources disagree (see `note`).
// Pure data plus lookups and scaling; no I/O.
#pragma once
#include <cstdint>
#include <span>
#include <string_view>

#include "common/error.hpp"

namespace fl::mate {

// How the MATE changes a register besides READ/WRITE. IncDec and EnableDisable use the
// command types 00/01, whose polarity is unknown (docs/protocols/mate.md §5), so they are not offered.
enum class Adjust : uint8_t { None, IncDec, EnableDisable };

struct RegisterSpec {
  const char* name;  // camelCase, unique per device
  uint16_t address;
  double scale;      // engineering value = (raw + offset) * scale
  const char* unit;  // "V", "A", "kW", "kWh", "Ah", "kAh", "W", "%", "min", "h", "s", "days", "cycles", "degC", ""
  int offset;        // e.g. -128 for MX 0x01C7 ("value - 128")
  bool isSigned;     // raw is int16
  bool readable;
  bool writable;  // with a plain WRITE (type 03)
  Adjust adjust;
  const char* evidence;  // "C-cap", "C", "S", "G", "X"
  const char* note;      // enum values, quirks; "" when none
};

// The table for kMx, kFx or kDc; empty for other device types.
std::span<const RegisterSpec> registerTable(uint8_t deviceType);
// nullptr when not found.
const RegisterSpec* findRegister(uint8_t deviceType, std::string_view name);
const RegisterSpec* findRegisterAt(uint8_t deviceType, uint16_t address);

// The FX's control settings: plain WRITEs of an enum value to a register of the FX table
// (docs/protocols/mate.md §10). `registerName` names the register there, so its address is written
// once.
struct ControlValue {
  const char* name;
  uint16_t value;
};
struct FxControl {
  const char* name;          // "inverter", "acIn", "charger", "aux", "eq"
  const char* registerName;  // in the FX register table
  std::span<const ControlValue> values;
};
std::span<const FxControl> fxControls();

// Raw register value to engineering units.
double registerValue(const RegisterSpec& spec, uint16_t raw);
// Engineering units to the raw value to WRITE (rounded to the nearest step); ValidationError
// ERANGE when it does not fit, EINVAL when the register is not writable.
Error registerRaw(const RegisterSpec& spec, double value, uint16_t& raw);

}  // namespace fl::mate
