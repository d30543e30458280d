// JS class NativeMateBus (a MATE-bus master on a 9-bit serial port or a PJON bridge) and
// the pure decoders mate.decode.* (byte layouts stay in native/core/mate).
#include <napi.h>

#include <cstring>
#include <iterator>
#include <memory>
#include <string>

#include "io/engine.hpp"
#include "io/ninebit_link.hpp"
#include "mate/registers.hpp"
#include "mate/status.hpp"
#include "node/bridge.hpp"
#include "node/channel_calls.hpp"
#include "session/mate_bus.hpp"

namespace fl::node {

namespace {

using std::chrono::milliseconds;

Napi::Array names(Napi::Env env, const std::vector<const char*>& v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); ++i) a.Set(static_cast<uint32_t>(i), v[i]);
  return a;
}

// MX status is what a poller asks for again and again, and setting 15 named properties through
// N-API costs about 15 times more than JS building the same object. So the addon fills a
// Float64Array the caller lends with the numbers (booleans as 0/1), returns only the names
// (charger mode, error list), and exports this table as mate.mxStatusFields: the one place
// that says which field is which, in the object's order. lib/mate/index.js builds from it.
enum class MxKind { kNumber, kFlag, kName };
struct MxField {
  const char* name;
  MxKind kind;
  double (*number)(const mate::MxStatus&);  // kNumber and kFlag
};
constexpr MxField kMxFields[] = {
    {"pvCurrent", MxKind::kNumber, [](const mate::MxStatus& s) { return s.pvCurrent; }},
    {"batteryCurrent", MxKind::kNumber, [](const mate::MxStatus& s) { return s.chargerCurrent; }},
    {"chargerCurrentTenths", MxKind::kNumber,
     [](const mate::MxStatus& s) { return static_cast<double>(s.chargerCurrentTenths); }},
    {"kilowattHours", MxKind::kNumber, [](const mate::MxStatus& s) { return s.dailyKwh; }},
    {"ampHours", MxKind::kNumber, [](const mate::MxStatus& s) { return static_cast<double>(s.dailyAh); }},
    {"ampHoursValid", MxKind::kFlag, [](const mate::MxStatus& s) { return s.ahValid ? 1.0 : 0.0; }},
    {"pvVoltage", MxKind::kNumber, [](const mate::MxStatus& s) { return s.pvVoltage; }},
    {"batteryVoltage", MxKind::kNumber, [](const mate::MxStatus& s) { return s.batteryVoltage; }},
    {"chargerMode", MxKind::kName, nullptr},
    {"chargerModeRaw", MxKind::kNumber, [](const mate::MxStatus& s) { return static_cast<double>(s.chargerMode); }},
    {"auxMode", MxKind::kNumber, [](const mate::MxStatus& s) { return static_cast<double>(s.auxMode); }},
    {"auxManual", MxKind::kFlag, [](const mate::MxStatus& s) { return s.auxMode == mate::kMxAuxManual ? 1.0 : 0.0; }},
    {"auxOn", MxKind::kFlag, [](const mate::MxStatus& s) { return s.auxOn ? 1.0 : 0.0; }},
    {"errors", MxKind::kName, nullptr},
    {"errorsRaw", MxKind::kNumber, [](const mate::MxStatus& s) { return static_cast<double>(s.errors); }},
};

constexpr size_t mxSlotCount() {
  size_t n = 0;
  for (const MxField& f : kMxFields) n += f.kind == MxKind::kName ? 0 : 1;
  return n;
}

// [{ name, kind: 'number' | 'flag' | 'name' }] in object order; numbers and flags take the next
// slot, names the next entry of the returned array.
Napi::Array mxStatusFields(Napi::Env env) {
  Napi::Array a = Napi::Array::New(env, std::size(kMxFields));
  uint32_t i = 0;
  for (const MxField& f : kMxFields) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", f.name);
    o.Set("kind", f.kind == MxKind::kNumber ? "number" : f.kind == MxKind::kFlag ? "flag" : "name");
    a.Set(i++, o);
  }
  return a;
}

Napi::Value mxStatusToSlots(Napi::Env env, const mate::MxStatus& s, Napi::Float64Array slots) {
  if (slots.ElementLength() < mxSlotCount())
    throw Napi::TypeError::New(env, "mxStatus slots must hold " + std::to_string(mxSlotCount()) + " numbers");
  double* d = slots.Data();
  for (const MxField& f : kMxFields)
    if (f.kind != MxKind::kName) *d++ = f.number(s);
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::String::New(env, mate::chargerModeName(s.chargerMode)));
  out.Set(1u, names(env, mate::mxErrorNames(s.errors)));
  return out;
}

Napi::Object mxLogToJs(Napi::Env env, const mate::MxLogPage& l) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("day", l.day);
  o.Set("peakAmps", l.peakAmps);
  o.Set("batteryMax", l.batteryMax);
  o.Set("batteryMin", l.batteryMin);
  o.Set("kilowattHours", l.kwh);
  o.Set("ampHours", l.ah);
  o.Set("peakPvVoltage", l.peakPvVoltage);
  o.Set("absorbMinutes", l.absorbMinutes);
  o.Set("floatMinutes", l.floatMinutes);
  o.Set("peakKilowatts", l.peakKw);
  return o;
}

Napi::Object fxStatusToJs(Napi::Env env, const mate::FxStatus& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("inverterCurrent", s.inverterCurrent);
  o.Set("chargerCurrent", s.chargerCurrent);
  o.Set("buyCurrent", s.buyCurrent);
  o.Set("sellCurrent", s.sellCurrent);
  o.Set("acInputVoltage", s.acInputVoltage);
  o.Set("acOutputVoltage", s.acOutputVoltage);
  o.Set("operationalMode", mate::fxOperationalModeName(s.operationalMode));
  o.Set("operationalModeRaw", s.operationalMode);
  o.Set("acMode", mate::fxAcModeName(s.acMode));
  o.Set("acModeRaw", s.acMode);
  o.Set("batteryVoltage", s.batteryVoltage);
  o.Set("is230V", s.is230V);
  o.Set("auxOn", s.auxOn);
  o.Set("misc", s.misc);
  o.Set("errors", names(env, mate::fxErrorNames(s.errors)));
  o.Set("errorsRaw", s.errors);
  o.Set("warnings", names(env, mate::fxWarningNames(s.warnings)));
  o.Set("warningsRaw", s.warnings);
  return o;
}

Napi::Object dcStatusToJs(Napi::Env env, const mate::DcStatus& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("pages", s.pages);
  const char* shuntNames[] = {"shuntA", "shuntB", "shuntC"};
  for (int i = 0; i < 3; ++i) {
    Napi::Object sh = Napi::Object::New(env);
    sh.Set("current", s.shunt[i].current);
    sh.Set("power", s.shunt[i].power);
    sh.Set("kilowattHoursToday", s.shunt[i].kwhToday);
    sh.Set("ampHoursToday", s.shunt[i].ahToday);
    o.Set(shuntNames[i], sh);
  }
  o.Set("batteryVoltage", s.batteryVoltage);
  o.Set("stateOfCharge", s.stateOfCharge);
  o.Set("chargeParamsMet", s.chargeParamsMet);
  o.Set("flags", s.flags);
  o.Set("inCurrent", s.inCurrent);
  o.Set("outCurrent", s.outCurrent);
  o.Set("batteryCurrent", s.batteryCurrent);
  o.Set("inPower", s.inPower);
  o.Set("outPower", s.outPower);
  o.Set("batteryPower", s.batteryPower);
  o.Set("todayInAh", s.todayInAh);
  o.Set("todayOutAh", s.todayOutAh);
  o.Set("todayBatteryAh", s.todayBatteryAh);
  o.Set("todayInKwh", s.todayInKwh);
  o.Set("todayOutKwh", s.todayOutKwh);
  o.Set("todayBatteryKwh", s.todayBatteryKwh);
  o.Set("daysSinceFull", s.daysSinceFull);
  o.Set("minSocToday", s.minSocToday);
  o.Set("netAh", s.netAh);
  o.Set("netKwh", s.netKwh);
  return o;
}

Napi::Value throwValidation(Napi::Env env, const Error& e) { throw Napi::Error(env, addonOf(env).makeError(env, e)); }

// A payload of `want` bytes, or a whole reply frame (byte 0 + payload + checksum) whose
// checksum is checked and stripped.
const uint8_t* payloadArg(const Napi::CallbackInfo& info, size_t want, size_t& lenOut, bool allowMultiple = false) {
  Napi::Env env = info.Env();
  if (!info[0].IsBuffer()) throwValidation(env, validationError("buffer must be a Buffer", "EINVAL"));
  auto b = info[0].As<Napi::Buffer<uint8_t>>();
  lenOut = b.Length();
  if (lenOut == want + 3) {
    if (!mate::checksumOk(b.Data(), lenOut)) {
      Error e = checksumError("sum", "the frame's checksum is wrong");
      throw Napi::Error(env, addonOf(env).makeError(env, e));
    }
    lenOut = want;
    return b.Data() + 1;
  }
  if (lenOut == want || (allowMultiple && lenOut % 13 == 0 && lenOut > 0 && lenOut <= 78)) return b.Data();
  throwValidation(
      env, validationError("buffer must be the " + std::to_string(want) + "-byte payload or the " +
                               std::to_string(want + 3) + "-byte reply frame, got " + std::to_string(lenOut) + " bytes",
                           "EINVAL"));
  return nullptr;
}

Napi::Object registerToJs(Napi::Env env, const mate::RegisterSpec& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", r.name);
  o.Set("address", r.address);
  o.Set("scale", r.scale);
  o.Set("unit", r.unit);
  o.Set("offset", r.offset);
  o.Set("signed", r.isSigned);
  o.Set("readable", r.readable);
  o.Set("writable", r.writable);
  o.Set("evidence", r.evidence);
  o.Set("note", r.note);
  return o;
}

class MateBusWrap : public Napi::ObjectWrap<MateBusWrap> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "NativeMateBus",
                       {InstanceMethod("open", &MateBusWrap::open), InstanceMethod("command", &MateBusWrap::command),
                        InstanceMethod("writeVerified", &MateBusWrap::writeVerified),
                        InstanceMethod("parityTrace", &MateBusWrap::parityTrace),
                        InstanceMethod("stats", &MateBusWrap::stats), InstanceMethod("close", &MateBusWrap::close)});
  }

  // new NativeMateBus({ path, parityMode, transport: 'serial'|'pjon', baudRate, timeout, retries, serialDriver, ... },
  // onState)
  explicit MateBusWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<MateBusWrap>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, "options must be an object");
    Napi::Object o = info[0].As<Napi::Object>();
    js_ = makeStateCallback(info[1]);
    asio::io_context& io = io::Engine::instance().context();
    io::SerialSettings s;
    s.path = stringOption(o, "path");
    const std::string driver = stringOption(o, "serialDriver");
    s.driver = driver == "libserialport" ? io::SerialSettings::Driver::LibSerialPort
               : driver == "termios"     ? io::SerialSettings::Driver::Termios
                                         : io::SerialSettings::Driver::Auto;
    const bool pjon = stringOption(o, "transport") == "pjon";
    std::unique_ptr<io::Link> link;
    if (pjon) {
      s.baudRate = static_cast<int>(numberOption(o, "baudRate"));
      s.parity = 'N';
      if (Error e = io::validateSerialSettings(s)) throw Napi::Error(env, addonOf(env).makeError(env, e));
      link = std::make_unique<io::SerialLink>(io, s);
    } else {
      s.baudRate = 9600;
      const std::string mode = stringOption(o, "parityMode");
      io::NineBitMode m = mode == "mark-space" ? io::NineBitMode::MarkSpace
                          : mode == "odd-even" ? io::NineBitMode::OddEven
                                               : io::NineBitMode::Auto;
      if (s.path.empty())
        throw Napi::Error(env, addonOf(env).makeError(env, validationError("path must name a serial port", "EINVAL")));
      auto nb = std::make_unique<io::NineBitLink>(io, s, m);
      ninebit_ = nb.get();
      link = std::move(nb);
    }
    io::ChannelOptions co;
    co.interFrameGap = gapOption(o, "interFrameDelay");
    co.wireGap = io::WireGap{0, std::chrono::microseconds(mate::kInterFrameMicros)};
    co.reconnectMin = milliseconds(static_cast<long>(numberOption(o, "reconnectMinDelay")));
    co.reconnectMax = milliseconds(static_cast<long>(numberOption(o, "reconnectMaxDelay")));
    session::MateOptions mo;
    mo.timeout = milliseconds(static_cast<long>(numberOption(o, "timeout")));
    mo.retries = static_cast<unsigned>(numberOption(o, "retries"));
    mo.pjonBridge = pjon;
    channel_ = std::make_shared<io::Channel>(io, std::move(link), co, forwardState(addonOf(env).outlet, js_));
    trackChannel(env, channel_);
    bus_ = std::make_shared<session::MateBus>(channel_, mo);
  }

  ~MateBusWrap() override { closeChannelSoon(channel_); }

 private:
  // Resolves with the 9th-bit mode in use ('mark-space', 'odd-even') or 'pjon'.
  Napi::Value open(const Napi::CallbackInfo& info) {
    io::NineBitLink* nb = ninebit_;
    return openChannel(info.Env(), channel_,
                       [nb] { return std::string(nb ? io::nineBitModeName(nb->activeMode()) : "pjon"); });
  }

  // command(port, type, address, value, retries?) -> { byte0, value, payload: Buffer }
  Napi::Value command(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    for (size_t i = 0; i < 4; ++i)
      if (!info[i].IsNumber()) throw Napi::TypeError::New(env, "command(port, type, address, value) takes numbers");
    auto num = [&](size_t i) { return static_cast<long long>(info[i].As<Napi::Number>().Int64Value()); };
    long long port = num(0), type = num(1), address = num(2), value = num(3);
    int retries = info[4].IsNumber() ? info[4].As<Napi::Number>().Int32Value() : -1;
    if (Error e = mate::checkPort(port)) throwValidation(env, e);
    if (type < 0 || type > 255) throwValidation(env, validationError("type must be 0..255", "EINVAL"));
    if (Error e = mate::checkRegister(address)) throwValidation(env, e);
    if (Error e = mate::checkValue(value)) throwValidation(env, e);
    mate::Command cmd;
    cmd.port = static_cast<uint8_t>(port);
    cmd.type = static_cast<uint8_t>(type);
    cmd.address = static_cast<uint16_t>(address);
    cmd.value = static_cast<uint16_t>(value);
    if (Error e = mate::validate(cmd)) throwValidation(env, e);
    auto p = std::make_shared<PendingPromise>(env);
    OutletPtr addon = addonOf(env).outlet;
    auto bus = bus_;
    asio::post(io::Engine::instance().context(), [bus, p, addon, cmd, retries] {
      bus->execute(
          cmd,
          [p, addon](const Error& e, const mate::Reply& r) {
            addon->post([p, e, r](Napi::Env env) {
              if (e) {
                p->reject(env, e);
                return;
              }
              Napi::Object o = Napi::Object::New(env);
              o.Set("byte0", r.byte0);
              o.Set("value", r.value);
              o.Set("payload", Napi::Buffer<uint8_t>::Copy(env, r.payload.data(), r.payload.size()));
              p->resolve(env, o);
            });
          },
          retries);
    });
    return p->deferred.Promise();
  }

  // writeVerified(port, address, value) -> the value read back; EVERIFY when it differs.
  Napi::Value writeVerified(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    for (size_t i = 0; i < 3; ++i)
      if (!info[i].IsNumber()) throw Napi::TypeError::New(env, "writeVerified(port, address, value) takes numbers");
    auto num = [&](size_t i) { return static_cast<long long>(info[i].As<Napi::Number>().Int64Value()); };
    long long port = num(0), address = num(1), value = num(2);
    if (Error e = mate::checkPort(port)) throwValidation(env, e);
    if (Error e = mate::checkRegister(address)) throwValidation(env, e);
    if (Error e = mate::checkValue(value)) throwValidation(env, e);
    auto p = std::make_shared<PendingPromise>(env);
    OutletPtr addon = addonOf(env).outlet;
    auto bus = bus_;
    asio::post(io::Engine::instance().context(), [bus, p, addon, port, address, value] {
      bus->writeVerified(static_cast<uint8_t>(port), static_cast<uint16_t>(address), static_cast<uint16_t>(value),
                         [p, addon](const Error& e, uint16_t back) {
                           addon->post([p, e, back](Napi::Env env) {
                             if (e) p->reject(env, e);
                             else p->resolve(env, Napi::Number::New(env, back));
                           });
                         });
    });
    return p->deferred.Promise();
  }

  // The parity steps of recent packets: [[{ parity: 'M', bytes: 1 }, { parity: 'S', bytes: 7 }], ...]
  Napi::Value parityTrace(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto p = std::make_shared<PendingPromise>(env);
    OutletPtr addon = addonOf(env).outlet;
    io::NineBitLink* nb = ninebit_;
    auto ch = channel_;  // keeps the link alive
    asio::post(io::Engine::instance().context(), [ch, nb, p, addon] {
      std::deque<std::vector<io::ParityStep>> trace;
      std::string mode = "pjon";
      if (nb) {
        trace = nb->parityTrace();
        mode = io::nineBitModeName(nb->activeMode());
      }
      addon->post([p, trace, mode](Napi::Env env) {
        Napi::Object o = Napi::Object::New(env);
        o.Set("mode", mode);
        Napi::Array packets = Napi::Array::New(env, trace.size());
        for (size_t i = 0; i < trace.size(); ++i) {
          Napi::Array steps = Napi::Array::New(env, trace[i].size());
          for (size_t k = 0; k < trace[i].size(); ++k) {
            Napi::Object s = Napi::Object::New(env);
            const char c = trace[i][k].parity;
            s.Set("parity", c == 'M' ? "mark" : c == 'S' ? "space" : c == 'O' ? "odd" : "even");
            s.Set("bytes", static_cast<double>(trace[i][k].bytes));
            steps.Set(static_cast<uint32_t>(k), s);
          }
          packets.Set(static_cast<uint32_t>(i), steps);
        }
        o.Set("packets", packets);
        p->resolve(env, o);
      });
    });
    return p->deferred.Promise();
  }

  Napi::Value stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto p = std::make_shared<PendingPromise>(env);
    OutletPtr addon = addonOf(env).outlet;
    auto bus = bus_;
    asio::post(io::Engine::instance().context(), [bus, p, addon] {
      io::ChannelStats s = bus->channel().stats();
      uint64_t retries = bus->retriesUsed();
      addon->post([p, s, retries](Napi::Env env) {
        Napi::Object o = Napi::Object::New(env);
        setChannelStats(env, o, s);
        o.Set("retries", static_cast<double>(retries));
        p->resolve(env, o);
      });
    });
    return p->deferred.Promise();
  }

  Napi::Value close(const Napi::CallbackInfo& info) { return closeChannel(info.Env(), channel_); }

  StateCallback js_;
  std::shared_ptr<io::Channel> channel_;
  std::shared_ptr<session::MateBus> bus_;
  io::NineBitLink* ninebit_ = nullptr;  // owned by the channel
};

}  // namespace

void initMate(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeMateBus", MateBusWrap::define(env));
  Napi::Object m = Napi::Object::New(env);
  Napi::Object d = Napi::Object::New(env);
  d.Set("mxStatus", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
          size_t n;
          const uint8_t* p = payloadArg(info, mate::kStatusPayloadLength, n);
          // mxStatus(buffer, slots): see kMxFields.
          if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
            throw Napi::TypeError::New(info.Env(), "mxStatus(buffer, slots): slots must be a Float64Array");
          return mxStatusToSlots(info.Env(), mate::decodeMxStatus(p), info[1].As<Napi::Float64Array>());
        }));
  d.Set("fxStatus", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
          size_t n;
          const uint8_t* p = payloadArg(info, mate::kStatusPayloadLength, n);
          return fxStatusToJs(info.Env(), mate::decodeFxStatus(p));
        }));
  d.Set("mxLogPage", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
          size_t n;
          const uint8_t* p = payloadArg(info, mate::kLogPayloadLength, n);
          return mxLogToJs(info.Env(), mate::decodeMxLogPage(p));
        }));
  d.Set("dcStatus", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
          size_t n;
          const uint8_t* p = payloadArg(info, mate::kDcBlockLength, n, true);
          return dcStatusToJs(info.Env(), mate::decodeDcStatus(p, n));
        }));
  d.Set("time", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
          mate::ClockTime t = mate::unpackTime(static_cast<uint16_t>(info[0].As<Napi::Number>().Uint32Value()));
          Napi::Object o = Napi::Object::New(info.Env());
          o.Set("hour", t.hour);
          o.Set("minute", t.minute);
          o.Set("second", t.second);
          return o;
        }));
  d.Set("date", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
          mate::ClockDate t = mate::unpackDate(static_cast<uint16_t>(info[0].As<Napi::Number>().Uint32Value()));
          Napi::Object o = Napi::Object::New(info.Env());
          o.Set("year", t.year);
          o.Set("month", t.month);
          o.Set("day", t.day);
          return o;
        }));
  // Bit names of FX status byte 7 / register 0x0039 and byte 12 / register 0x0059.
  d.Set("fxErrors", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
          return names(info.Env(),
                       mate::fxErrorNames(static_cast<uint8_t>(info[0].As<Napi::Number>().Uint32Value() & 0xFF)));
        }));
  d.Set("fxWarnings", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
          return names(info.Env(),
                       mate::fxWarningNames(static_cast<uint8_t>(info[0].As<Napi::Number>().Uint32Value() & 0xFF)));
        }));
  m.Set("decode", d);
  m.Set("mxStatusFields", mxStatusFields(env));
  Napi::Object enc = Napi::Object::New(env);
  enc.Set("time", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
            int h = info[0].As<Napi::Number>().Int32Value(), mi = info[1].As<Napi::Number>().Int32Value(),
                s = info[2].As<Napi::Number>().Int32Value();
            if (Error e = mate::checkTime(h, mi, s)) return throwValidation(info.Env(), e);
            return Napi::Number::New(info.Env(), mate::packTime(h, mi, s));
          }));
  enc.Set("date", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
            int y = info[0].As<Napi::Number>().Int32Value(), mo = info[1].As<Napi::Number>().Int32Value(),
                d2 = info[2].As<Napi::Number>().Int32Value();
            if (Error e = mate::checkDate(y, mo, d2)) return throwValidation(info.Env(), e);
            return Napi::Number::New(info.Env(), mate::packDate(y, mo, d2));
          }));
  enc.Set("command", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
            mate::Command c;
            c.port = static_cast<uint8_t>(info[0].As<Napi::Number>().Uint32Value());
            c.type = static_cast<uint8_t>(info[1].As<Napi::Number>().Uint32Value());
            c.address = static_cast<uint16_t>(info[2].As<Napi::Number>().Uint32Value());
            c.value = static_cast<uint16_t>(info[3].As<Napi::Number>().Uint32Value());
            Bytes b = mate::encode(c);
            return Napi::Buffer<uint8_t>::Copy(info.Env(), b.data(), b.size());
          }));
  m.Set("encode", enc);
  // Register tables: mate.registers(deviceType) -> [{ name, address, scale, unit, ... }]
  m.Set("registers", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
          auto table = mate::registerTable(static_cast<uint8_t>(info[0].As<Napi::Number>().Uint32Value()));
          Napi::Array a = Napi::Array::New(info.Env(), table.size());
          for (size_t i = 0; i < table.size(); ++i) a.Set(static_cast<uint32_t>(i), registerToJs(info.Env(), table[i]));
          return a;
        }));
  // mate.registerValue(deviceType, name, raw) -> number; mate.registerRaw(deviceType, name, value) -> raw
  m.Set("registerValue", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
          const mate::RegisterSpec* r = mate::findRegister(
              static_cast<uint8_t>(info[0].As<Napi::Number>().Uint32Value()), info[1].As<Napi::String>().Utf8Value());
          if (!r) return throwValidation(info.Env(), validationError("unknown register", "EINVAL"));
          return Napi::Number::New(
              info.Env(), mate::registerValue(*r, static_cast<uint16_t>(info[2].As<Napi::Number>().Uint32Value())));
        }));
  m.Set("registerRaw", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
          const mate::RegisterSpec* r = mate::findRegister(
              static_cast<uint8_t>(info[0].As<Napi::Number>().Uint32Value()), info[1].As<Napi::String>().Utf8Value());
          if (!r) return throwValidation(info.Env(), validationError("unknown register", "EINVAL"));
          uint16_t raw = 0;
          if (Error e = mate::registerRaw(*r, info[2].As<Napi::Number>().DoubleValue(), raw))
            return throwValidation(info.Env(), e);
          return Napi::Number::New(info.Env(), raw);
        }));
  // The protocol's numbers, for lib to use by name (never restated in JS).
  Napi::Object cmds = Napi::Object::New(env);
  for (uint8_t t : {mate::kRead, mate::kWrite, mate::kStatus, mate::kLog})
    cmds.Set(mate::commandTypeName(t), static_cast<double>(t));
  m.Set("commands", cmds);
  Napi::Object types = Napi::Object::New(env);
  for (uint8_t t : {mate::kNoDevice, mate::kHub, mate::kFx, mate::kMx, mate::kDc})
    types.Set(mate::deviceTypeName(t), static_cast<double>(t));
  m.Set("deviceTypes", types);
  m.Set("deviceTypeMask", static_cast<double>(mate::kDeviceTypeMask));
  m.Set("maxPort", static_cast<double>(mate::kMaxPort));
  m.Set("maxLogDay", static_cast<double>(mate::kMaxLogDay));
  m.Set("statusPage", static_cast<double>(mate::kStatusPage));
  m.Set("dcFirstPage", static_cast<double>(mate::kDcFirstPage));
  m.Set("dcLastPage", static_cast<double>(mate::kDcLastPage));
  m.Set("mxStatusParam", static_cast<double>(mate::kMxStatusParam));
  m.Set("dcResetValue", static_cast<double>(mate::kDcResetValue));
  // fxControls: [{ name, register (its name in the FX table), address, values: { off: 0, ... } }]
  auto controls = mate::fxControls();
  Napi::Array ctl = Napi::Array::New(env, controls.size());
  for (size_t i = 0; i < controls.size(); ++i) {
    const mate::FxControl& c = controls[i];
    const mate::RegisterSpec* r = mate::findRegister(mate::kFx, c.registerName);
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", c.name);
    o.Set("register", c.registerName);
    o.Set("address", r ? static_cast<double>(r->address) : -1.0);
    Napi::Object vals = Napi::Object::New(env);
    for (const auto& v : c.values) vals.Set(v.name, static_cast<double>(v.value));
    o.Set("values", vals);
    ctl.Set(static_cast<uint32_t>(i), o);
  }
  m.Set("fxControls", ctl);
  exports.Set("mate", m);
}

}  // namespace fl::node
