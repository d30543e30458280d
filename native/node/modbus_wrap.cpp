// JS class NativeModbusBus: wraps session::ModbusBus. Argument checking here is only
// about types; ranges are validated in lib/ and again in core before encoding.
#include <napi.h>

#include <memory>

#include "io/engine.hpp"
#include "io/serial_link.hpp"
#include "io/tcp_link.hpp"
#include "node/bridge.hpp"
#include "node/channel_calls.hpp"
#include "session/modbus_bus.hpp"

namespace fl::node {

namespace {

using std::chrono::milliseconds;

Napi::Object statsToJs(Napi::Env env, const io::ChannelStats& s, const std::map<uint8_t, session::UnitHealth>& units) {
  Napi::Object o = Napi::Object::New(env);
  setChannelStats(env, o, s);
  uint64_t retries = 0;  // the bus's: the sum over its units
  Napi::Object u = Napi::Object::New(env);
  for (const auto& [unit, h] : units) {
    retries += h.retries;
    Napi::Object x = Napi::Object::New(env);
    x.Set("requests", static_cast<double>(h.requests));
    x.Set("replies", static_cast<double>(h.replies));
    x.Set("timeouts", static_cast<double>(h.timeouts));
    x.Set("errors", static_cast<double>(h.errors));
    x.Set("exceptions", static_cast<double>(h.exceptions));
    x.Set("skipped", static_cast<double>(h.skipped));
    x.Set("retries", static_cast<double>(h.retries));
    x.Set("consecutiveTimeouts", h.consecutiveTimeouts);
    x.Set("offline", h.offline);
    u.Set(std::to_string(unit), x);
  }
  o.Set("retries", static_cast<double>(retries));
  o.Set("units", u);
  return o;
}

class ModbusBusWrap : public Napi::ObjectWrap<ModbusBusWrap> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(
        env, "NativeModbusBus",
        {InstanceMethod("open", &ModbusBusWrap::open), InstanceMethod("read", &ModbusBusWrap::read),
         InstanceMethod("writeSingle", &ModbusBusWrap::writeSingle),
         InstanceMethod("writeMultiple", &ModbusBusWrap::writeMultiple), InstanceMethod("raw", &ModbusBusWrap::raw),
         InstanceMethod("stats", &ModbusBusWrap::stats), InstanceMethod("close", &ModbusBusWrap::close)});
  }

  // new NativeModbusBus(options, onState(state, error|null, retryInMs))
  explicit ModbusBusWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModbusBusWrap>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, "options must be an object");
    Napi::Object o = info[0].As<Napi::Object>();
    js_ = makeStateCallback(info[1]);

    asio::io_context& io = io::Engine::instance().context();
    std::unique_ptr<io::Link> link;
    const std::string kind = stringOption(o, "kind");
    if (kind == "tcp") {
      link = std::make_unique<io::TcpLink>(io, stringOption(o, "host"), static_cast<uint16_t>(numberOption(o, "port")),
                                           milliseconds(static_cast<long>(numberOption(o, "connectTimeout"))));
    } else {
      io::SerialSettings s;
      s.path = stringOption(o, "path");
      s.baudRate = static_cast<int>(numberOption(o, "baudRate"));
      s.dataBits = static_cast<int>(numberOption(o, "dataBits"));
      s.stopBits = static_cast<int>(numberOption(o, "stopBits"));
      const std::string parity = stringOption(o, "parity");
      s.parity = parity == "even" ? 'E' : parity == "odd" ? 'O' : parity == "none" ? 'N' : '?';
      const std::string driver = stringOption(o, "serialDriver");
      s.driver = driver == "libserialport" ? io::SerialSettings::Driver::LibSerialPort
                 : driver == "termios"     ? io::SerialSettings::Driver::Termios
                                           : io::SerialSettings::Driver::Auto;
      if (Error e = io::validateSerialSettings(s)) {
        throw Napi::Error(env, addonOf(env).makeError(env, e));
      }
      link = std::make_unique<io::SerialLink>(io, std::move(s));
    }
    io::ChannelOptions co;
    co.interFrameGap = gapOption(o, "interFrameDelay");
    co.wireGap = io::WireGap{modbus::kInterFrameTenthsOfChars, {}};
    co.settle = milliseconds(static_cast<long>(numberOption(o, "settleTime")));
    co.reconnectMin = milliseconds(static_cast<long>(numberOption(o, "reconnectMinDelay")));
    co.reconnectMax = milliseconds(static_cast<long>(numberOption(o, "reconnectMaxDelay")));
    co.queueLimit = static_cast<size_t>(numberOption(o, "queueLimit"));
    session::ModbusOptions mo;
    mo.timeout = milliseconds(static_cast<long>(numberOption(o, "timeout")));
    mo.retries = static_cast<unsigned>(numberOption(o, "retries"));
    mo.offlineAfter = static_cast<unsigned>(numberOption(o, "offlineAfter"));
    mo.offlineProbe = milliseconds(static_cast<long>(numberOption(o, "offlineProbeInterval")));
    mo.broadcastTurnaround = milliseconds(static_cast<long>(numberOption(o, "broadcastDelay")));

    channel_ = std::make_shared<io::Channel>(io, std::move(link), co, forwardState(addonOf(env).outlet, js_));
    trackChannel(env, channel_);
    bus_ = std::make_shared<session::ModbusBus>(channel_, mo);
  }

  // Garbage-collected without close(): release the port on the engine thread.
  ~ModbusBusWrap() override { closeChannelSoon(channel_); }

 private:
  Napi::Value open(const Napi::CallbackInfo& info) { return openChannel(info.Env(), channel_); }

  static uint32_t u32(const Napi::CallbackInfo& info, size_t i, const char* name) {
    if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
    double d = info[i].As<Napi::Number>().DoubleValue();
    if (d < 0 || d > 65535 || d != static_cast<double>(static_cast<uint32_t>(d)))
      throw Napi::RangeError::New(info.Env(), std::string(name) + " must be an integer 0..65535");
    return static_cast<uint32_t>(d);
  }

  Napi::Value submit(Napi::Env env, modbus::Request req) {
    auto p = std::make_shared<PendingPromise>(env);
    OutletPtr addon = addonOf(env).outlet;
    auto bus = bus_;
    const bool isRead = req.function == modbus::kReadHoldingRegisters || req.function == modbus::kReadInputRegisters;
    asio::post(io::Engine::instance().context(), [bus, p, addon, req = std::move(req), isRead]() mutable {
      bus->execute(std::move(req), [p, addon, isRead](const Error& e, const modbus::Response& r) {
        std::vector<uint16_t> regs = isRead && !e ? r.registers : std::vector<uint16_t>{};
        addon->post([p, e, regs = std::move(regs), isRead](Napi::Env env) {
          if (e) {
            p->reject(env, e);
            return;
          }
          if (!isRead) {
            p->resolve(env, env.Undefined());
            return;
          }
          Napi::Array a = Napi::Array::New(env, regs.size());
          for (size_t i = 0; i < regs.size(); ++i) a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, regs[i]));
          p->resolve(env, a);
        });
      });
    });
    return p->deferred.Promise();
  }

  // read(unit, functionCode, address, count)
  Napi::Value read(const Napi::CallbackInfo& info) {
    return submit(info.Env(), modbus::Request::read(static_cast<uint8_t>(std::min(u32(info, 0, "unit"), 255u)),
                                                    static_cast<uint8_t>(std::min(u32(info, 1, "functionCode"), 255u)),
                                                    static_cast<uint16_t>(u32(info, 2, "address")),
                                                    static_cast<uint16_t>(u32(info, 3, "count"))));
  }

  // writeSingle(unit, address, value)
  Napi::Value writeSingle(const Napi::CallbackInfo& info) {
    return submit(info.Env(), modbus::Request::writeSingle(static_cast<uint8_t>(std::min(u32(info, 0, "unit"), 255u)),
                                                           static_cast<uint16_t>(u32(info, 1, "address")),
                                                           static_cast<uint16_t>(u32(info, 2, "value"))));
  }

  // writeMultiple(unit, address, values[])
  Napi::Value writeMultiple(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[2].IsArray()) throw Napi::TypeError::New(env, "values must be an array of numbers");
    Napi::Array arr = info[2].As<Napi::Array>();
    std::vector<uint16_t> values;
    values.reserve(arr.Length());
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      Napi::Value v = arr.Get(i);
      if (!v.IsNumber()) throw Napi::TypeError::New(env, "values[" + std::to_string(i) + "] must be a number");
      double d = v.As<Napi::Number>().DoubleValue();
      if (d < 0 || d > 65535 || d != static_cast<double>(static_cast<uint32_t>(d)))
        throw Napi::RangeError::New(env, "values[" + std::to_string(i) + "] must be an integer 0..65535");
      values.push_back(static_cast<uint16_t>(d));
    }
    return submit(env,
                  modbus::Request::writeMultiple(static_cast<uint8_t>(std::min(u32(info, 0, "unit"), 255u)),
                                                 static_cast<uint16_t>(u32(info, 1, "address")), std::move(values)));
  }

  // raw(request: Buffer | null, timeoutMs, quietMs) -> Buffer: sends the bytes as they are
  // (or nothing) and collects whatever arrives until `quietMs` of silence after the first
  // byte, or `timeoutMs`. For diagnostics: the bytes are the evidence.
  Napi::Value raw(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Bytes request;
    if (info[0].IsBuffer()) {
      auto b = info[0].As<Napi::Buffer<uint8_t>>();
      if (b.Length() > 512) throw Napi::RangeError::New(env, "request must be at most 512 bytes");
      request.assign(b.Data(), b.Data() + b.Length());
    } else if (!info[0].IsNull() && !info[0].IsUndefined()) {
      throw Napi::TypeError::New(env, "request must be a Buffer or null");
    }
    // lib passes both (its defaults); no values of our own here.
    if (!info[1].IsNumber() || !info[2].IsNumber())
      throw Napi::TypeError::New(env, "raw(request, timeoutMs, quietMs) takes numbers");
    const double timeout = info[1].As<Napi::Number>().DoubleValue();
    const double quiet = info[2].As<Napi::Number>().DoubleValue();
    if (!(timeout >= 1 && timeout <= 60000) || !(quiet >= 0 && quiet <= 10000))
      throw Napi::RangeError::New(env, "timeoutMs must be 1..60000 and quietMs 0..10000");
    auto p = std::make_shared<PendingPromise>(env);
    OutletPtr addon = addonOf(env).outlet;
    auto ch = channel_;
    asio::post(io::Engine::instance().context(),
               [ch, p, addon, request = std::move(request), timeout, quiet]() mutable {
                 io::Transaction tx;
                 tx.request = std::move(request);
                 tx.timeout = milliseconds(static_cast<long>(timeout));
                 tx.settle = milliseconds(static_cast<long>(quiet));
                 tx.framer = [](const uint8_t*, size_t len) {
                   io::FrameVerdict v;
                   if (len > 0) v.status = io::FrameStatus::Invalid;  // ends after the quiet time, with no error
                   return v;
                 };
                 tx.onDeadline = [](const uint8_t*, size_t) { return Error(); };
                 tx.done = [p, addon](const Error& e, const Bytes& got) {
                   addon->post([p, e, got](Napi::Env env) {
                     if (e) p->reject(env, e);
                     else p->resolve(env, Napi::Buffer<uint8_t>::Copy(env, got.data(), got.size()));
                   });
                 };
                 ch->submit(std::move(tx));
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
      auto units = bus->units();
      addon->post([p, s = std::move(s), units = std::move(units)](Napi::Env env) {
        p->resolve(env, statsToJs(env, s, units));
      });
    });
    return p->deferred.Promise();
  }

  Napi::Value close(const Napi::CallbackInfo& info) { return closeChannel(info.Env(), channel_); }

  StateCallback js_;
  std::shared_ptr<io::Channel> channel_;
  std::shared_ptr<session::ModbusBus> bus_;
};

}  // namespace

void initModbus(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = ModbusBusWrap::define(env);
  addonOf(env).modbusBusCtor = Napi::Persistent(ctor);
  exports.Set("NativeModbusBus", ctor);

  // modbus: the codec's facts and pure helpers for lib (the diagnostics judge raw bytes with
  // these rather than with a CRC of their own).
  Napi::Object m = Napi::Object::New(env);
  Napi::Object fns = Napi::Object::New(env);
  fns.Set("readHoldingRegisters", static_cast<double>(modbus::kReadHoldingRegisters));
  fns.Set("readInputRegisters", static_cast<double>(modbus::kReadInputRegisters));
  fns.Set("writeSingleRegister", static_cast<double>(modbus::kWriteSingleRegister));
  fns.Set("writeMultipleRegisters", static_cast<double>(modbus::kWriteMultipleRegisters));
  m.Set("functions", fns);
  m.Set("maxUnit", static_cast<double>(modbus::kMaxUnit));
  m.Set("maxReadCount", static_cast<double>(modbus::kMaxReadCount));
  m.Set("maxWriteCount", static_cast<double>(modbus::kMaxWriteCount));
  m.Set("maxAduLength", static_cast<double>(modbus::kMaxAduLength));
  auto bufArg = [](const Napi::CallbackInfo& info) {
    if (!info[0].IsBuffer()) throw Napi::TypeError::New(info.Env(), "expected a Buffer");
    return info[0].As<Napi::Buffer<uint8_t>>();
  };
  // crc16(buf, start = 0, end = buf.length)
  m.Set("crc16", Napi::Function::New(env, [bufArg](const Napi::CallbackInfo& info) -> Napi::Value {
          auto b = bufArg(info);
          size_t start = info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : 0;
          size_t end = info[2].IsNumber() ? info[2].As<Napi::Number>().Uint32Value() : b.Length();
          if (end > b.Length() || start > end) throw Napi::RangeError::New(info.Env(), "start/end outside the buffer");
          return Napi::Number::New(info.Env(), modbus::crc16(b.Data() + start, end - start));
        }));
  m.Set("findCrcFrame", Napi::Function::New(env, [bufArg](const Napi::CallbackInfo& info) -> Napi::Value {
          auto b = bufArg(info);
          return Napi::Number::New(info.Env(), static_cast<double>(modbus::findCrcFrame(b.Data(), b.Length())));
        }));
  // readRequest(unit, function, address, count) -> the ADU with its CRC (validated like a bus request)
  m.Set("readRequest", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
          Napi::Env env = info.Env();
          for (size_t i = 0; i < 4; ++i)
            if (!info[i].IsNumber())
              throw Napi::TypeError::New(env, "readRequest(unit, function, address, count) takes numbers");
          auto n = [&](size_t i) { return info[i].As<Napi::Number>().Uint32Value(); };
          modbus::Request r = modbus::Request::read(static_cast<uint8_t>(n(0)), static_cast<uint8_t>(n(1)),
                                                    static_cast<uint16_t>(n(2)), static_cast<uint16_t>(n(3)));
          if (Error e = modbus::validate(r)) throw Napi::Error(env, addonOf(env).makeError(env, e));
          Bytes b = modbus::encode(r);
          return Napi::Buffer<uint8_t>::Copy(env, b.data(), b.size());
        }));
  exports.Set("modbus", m);
}

}  // namespace fl::node
