// JS class NativeM307: wraps session::M307Session over a TcpLink. Decoding of every
// record happens here with native/core/m307; JS receives plain values.
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>

#include "io/engine.hpp"
#include "io/tcp_link.hpp"
#include "node/bridge.hpp"
#include "node/channel_calls.hpp"
#include "session/m307_session.hpp"

namespace fl::node {

namespace {

using m307::Record;
using std::chrono::milliseconds;

Napi::Value readingToJs(Napi::Env env, const m307::Reading& r) {
  switch (r.kind) {
    case m307::ReadingKind::Value: return Napi::Number::New(env, r.value);
    case m307::ReadingKind::OpenCircuit: return Napi::Number::New(env, std::numeric_limits<double>::infinity());
    case m307::ReadingKind::Shorted: return Napi::Number::New(env, -std::numeric_limits<double>::infinity());
    default: return env.Null();
  }
}

Napi::Object inputToJs(Napi::Env env, const m307::InputStatus& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("reading", readingToJs(env, s.reading));
  o.Set("readingStatus", m307::readingKindName(s.reading.kind));
  o.Set("raw", s.reading.raw);
  o.Set("timeOutOfLimits", s.minutesOutOfLimits);
  o.Set("inAlarm", s.inAlarm);
  return o;
}

Napi::Object doorToJs(Napi::Env env, const m307::DoorStatus& d) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("state", d.closed ? "closed" : "open");
  o.Set("timeOutOfLimits", d.minutesOpen);
  o.Set("inAlarm", d.inAlarm);
  o.Set("raw", d.raw);
  return o;
}

Napi::Object statusToJs(Napi::Env env, const Record& rec) {
  m307::Status s = m307::decodeStatus(rec.data());
  Napi::Object o = Napi::Object::New(env);
  o.Set("temperatureSensor1", inputToJs(env, s.temperature1));
  o.Set("temperatureSensor2", inputToJs(env, s.temperature2));
  o.Set("internalTemperature", inputToJs(env, s.internalTemperature));
  o.Set("internalHumidity", inputToJs(env, s.internalHumidity));
  o.Set("door1", doorToJs(env, s.door1));
  o.Set("door2", doorToJs(env, s.door2));
  o.Set("mainPower", s.mainPower);
  o.Set("mainPowerRaw", s.mainPowerRaw);
  o.Set("batteryVoltage", s.batteryVoltage);
  o.Set("temperatureResolution", s.resolution);
  o.Set("temperatureUnit", std::string(1, s.unit));
  return o;
}

Napi::Object dateTimeToJs(Napi::Env env, const m307::DateTime& d) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("year", d.year);
  o.Set("month", d.month);
  o.Set("day", d.day);
  o.Set("hour", d.hour);
  o.Set("minute", d.minute);
  o.Set("second", d.second);
  o.Set("dayOfWeek", d.dayOfWeek);
  return o;
}

Napi::Object clockToJs(Napi::Env env, const Record& rec) {
  m307::ClockInfo c = m307::decodeClock(rec.data());
  Napi::Object o = dateTimeToJs(env, c.datetime);
  o.Set("valid", c.valid);
  o.Set("logRateMinutes", c.logRateMinutes);
  o.Set("totalRecords", c.totalRecords);
  return o;
}

Napi::Object logRecordToJs(Napi::Env env, const uint8_t* p, double resolution) {
  m307::LogRecord r = m307::decodeLogRecord(p, resolution);
  Napi::Object o = dateTimeToJs(env, r.datetime);
  o.Set("valid", r.datetimeValid);
  o.Set("temp1", readingToJs(env, r.temperature1));
  o.Set("temp2", readingToJs(env, r.temperature2));
  o.Set("internalTemp", readingToJs(env, r.internalTemperature));
  o.Set("internalHumidity", readingToJs(env, r.internalHumidity));
  o.Set("input1", r.input1);
  o.Set("input2", r.input2);
  o.Set("mainPower", r.mainPower);
  o.Set("flags", r.flags);
  return o;
}

// A log record as numbers, in this order (JS: lib/m307/client.js LOG_FIELDS): year, month,
// day, hour, minute, dayOfWeek, valid, temp1, temp2, internalTemp, internalHumidity, input1,
// input2, mainPower, flags. Readings: NaN = none (no sensor / failed), +-Infinity = open/shorted.
constexpr size_t kLogFields = 15;
constexpr size_t kChunkRecords = 1024;  // log records per typed array handed to JS

double readingNumber(const m307::Reading& r) {
  switch (r.kind) {
    case m307::ReadingKind::Value: return r.value;
    case m307::ReadingKind::OpenCircuit: return std::numeric_limits<double>::infinity();
    case m307::ReadingKind::Shorted: return -std::numeric_limits<double>::infinity();
    default: return std::numeric_limits<double>::quiet_NaN();
  }
}

void logRecordToNumbers(const uint8_t* p, double resolution, double* out) {
  m307::LogRecord r = m307::decodeLogRecord(p, resolution);
  const m307::DateTime& d = r.datetime;
  const double v[kLogFields] = {double(d.year),
                                double(d.month),
                                double(d.day),
                                double(d.hour),
                                double(d.minute),
                                double(d.dayOfWeek),
                                r.datetimeValid ? 1.0 : 0.0,
                                readingNumber(r.temperature1),
                                readingNumber(r.temperature2),
                                readingNumber(r.internalTemperature),
                                readingNumber(r.internalHumidity),
                                r.input1 ? 1.0 : 0.0,
                                r.input2 ? 1.0 : 0.0,
                                r.mainPower ? 1.0 : 0.0,
                                double(r.flags)};
  std::memcpy(out, v, sizeof v);
}

Napi::Object fieldsToJs(Napi::Env env, int n, const Record& rec) {
  Napi::Object o = Napi::Object::New(env);
  for (const m307::FieldValue& v : m307::decodeFields(n, rec)) {
    if (v.isText) o.Set(v.name, v.text);
    else o.Set(v.name, Napi::Number::New(env, static_cast<double>(v.number)));
  }
  return o;
}

Napi::Buffer<uint8_t> recordToBuffer(Napi::Env env, const Record& r) {
  return Napi::Buffer<uint8_t>::Copy(env, r.data(), r.size());
}

int recordIndex(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), "record must be a number");
  return info[i].As<Napi::Number>().Int32Value();
}

class M307Wrap : public Napi::ObjectWrap<M307Wrap> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(
        env, "NativeM307",
        {InstanceMethod("open", &M307Wrap::open), InstanceMethod("readStatus", &M307Wrap::readStatus),
         InstanceMethod("readUserRecord", &M307Wrap::readUserRecord),
         InstanceMethod("writeUserRecord", &M307Wrap::writeUserRecord),
         InstanceMethod("readFields", &M307Wrap::readFields), InstanceMethod("updateFields", &M307Wrap::updateFields),
         InstanceMethod("readClock", &M307Wrap::readClock), InstanceMethod("setClock", &M307Wrap::setClock),
         InstanceMethod("readLog", &M307Wrap::readLog), InstanceMethod("cancelLog", &M307Wrap::cancelLog),
         InstanceMethod("stats", &M307Wrap::stats), InstanceMethod("close", &M307Wrap::close)});
  }

  // new NativeM307({ host, port, timeout, connectTimeout, logIdleTimeout, reconnectMinDelay, reconnectMaxDelay },
  // onState)
  explicit M307Wrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<M307Wrap>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, "options must be an object");
    Napi::Object o = info[0].As<Napi::Object>();
    js_ = makeStateCallback(info[1]);
    asio::io_context& io = io::Engine::instance().context();
    auto link =
        std::make_unique<io::TcpLink>(io, stringOption(o, "host"), static_cast<uint16_t>(numberOption(o, "port")),
                                      milliseconds(static_cast<long>(numberOption(o, "connectTimeout"))));
    io::ChannelOptions co;
    co.interFrameGap = std::chrono::microseconds(0);
    co.reconnectMin = milliseconds(static_cast<long>(numberOption(o, "reconnectMinDelay")));
    co.reconnectMax = milliseconds(static_cast<long>(numberOption(o, "reconnectMaxDelay")));
    session::M307Options mo;
    mo.timeout = milliseconds(static_cast<long>(numberOption(o, "timeout")));
    mo.logIdleTimeout = milliseconds(static_cast<long>(numberOption(o, "logIdleTimeout")));
    mo.logTimeout = milliseconds(static_cast<long>(numberOption(o, "logTimeout")));
    channel_ = std::make_shared<io::Channel>(io, std::move(link), co, forwardState(addonOf(env).outlet, js_));
    trackChannel(env, channel_);
    session_ = std::make_shared<session::M307Session>(channel_, mo);
  }

  ~M307Wrap() override { closeChannelSoon(channel_); }

 private:
  // Runs `start(session, finish)` on the engine; `finish` settles the promise on the JS thread
  // with the value made by `make`.
  template <class Start>
  Napi::Value call(Napi::Env env, Start start) {
    auto p = std::make_shared<PendingPromise>(env);
    OutletPtr addon = addonOf(env).outlet;
    auto s = session_;
    asio::post(io::Engine::instance().context(), [s, p, addon, start] { start(s, p, addon); });
    return p->deferred.Promise();
  }

  static void settleRecord(std::shared_ptr<PendingPromise> p, const OutletPtr& addon, const Error& e, const Record& r,
                           std::function<Napi::Value(Napi::Env, const Record&)> make) {
    addon->post([p = std::move(p), e, r, make = std::move(make)](Napi::Env env) {
      if (e) p->reject(env, e);
      else p->resolve(env, make(env, r));
    });
  }

  Napi::Value open(const Napi::CallbackInfo& info) { return openChannel(info.Env(), channel_); }

  Napi::Value readStatus(const Napi::CallbackInfo& info) {
    return call(info.Env(), [](auto s, auto p, const OutletPtr& a) {
      s->readStatus([p, a](const Error& e, const Record& r) {
        settleRecord(p, a, e, r, [](Napi::Env env, const Record& rec) { return Napi::Value(statusToJs(env, rec)); });
      });
    });
  }

  Napi::Value readUserRecord(const Napi::CallbackInfo& info) {
    int n = recordIndex(info, 0);
    return call(info.Env(), [n](auto s, auto p, const OutletPtr& a) {
      s->readUserRecord(n, [p, a](const Error& e, const Record& r) {
        settleRecord(p, a, e, r,
                     [](Napi::Env env, const Record& rec) { return Napi::Value(recordToBuffer(env, rec)); });
      });
    });
  }

  Napi::Value writeUserRecord(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int n = recordIndex(info, 0);
    if (!info[1].IsBuffer() || info[1].As<Napi::Buffer<uint8_t>>().Length() != m307::kRecordSize)
      throw Napi::TypeError::New(env, "data must be a 60-byte Buffer");
    Record data{};
    std::memcpy(data.data(), info[1].As<Napi::Buffer<uint8_t>>().Data(), m307::kRecordSize);
    return call(env, [n, data](auto s, auto p, const OutletPtr& a) {
      s->writeUserRecord(n, data, [p, a](const Error& e, const Record& r) {
        settleRecord(p, a, e, r,
                     [](Napi::Env env, const Record& rec) { return Napi::Value(recordToBuffer(env, rec)); });
      });
    });
  }

  Napi::Value readFields(const Napi::CallbackInfo& info) {
    int n = recordIndex(info, 0);
    return call(info.Env(), [n](auto s, auto p, const OutletPtr& a) {
      s->readUserRecord(n, [p, a, n](const Error& e, const Record& r) {
        settleRecord(p, a, e, r,
                     [n](Napi::Env env, const Record& rec) { return Napi::Value(fieldsToJs(env, n, rec)); });
      });
    });
  }

  // updateFields(n, { name: value, ... }) -> { before, after, changed }
  Napi::Value updateFields(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int n = recordIndex(info, 0);
    if (!info[1].IsObject()) throw Napi::TypeError::New(env, "fields must be an object");
    Napi::Object obj = info[1].As<Napi::Object>();
    Napi::Array keys = obj.GetPropertyNames();
    std::vector<m307::FieldValue> values;
    for (uint32_t i = 0; i < keys.Length(); ++i) {
      m307::FieldValue v;
      v.name = keys.Get(i).As<Napi::String>().Utf8Value();
      Napi::Value x = obj.Get(v.name);
      if (x.IsString()) {
        v.isText = true;
        v.text = x.As<Napi::String>().Utf8Value();
      } else if (x.IsBoolean()) {
        v.number = x.As<Napi::Boolean>().Value() ? 1 : 0;
      } else if (x.IsNumber()) {
        double d = x.As<Napi::Number>().DoubleValue();
        if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 1e9)
          throw Napi::Error(
              env, addonOf(env).makeError(
                       env, validationError(v.name + " must be an integer, got " + std::to_string(d), "EINVAL")));
        v.number = static_cast<long>(d);
      } else {
        throw Napi::Error(
            env, addonOf(env).makeError(env, validationError(v.name + " must be a number or a string", "EINVAL")));
      }
      values.push_back(std::move(v));
    }
    // Validate now, so a bad value rejects before anything is queued or sent.
    Record scratch{};
    if (Error e = m307::applyFields(n, values, scratch)) throw Napi::Error(env, addonOf(env).makeError(env, e));
    return call(env, [n, values](auto s, auto p, const OutletPtr& a) {
      s->updateFields(n, values, [p, a, n](const Error& e, const Record& before, const Record& after, bool changed) {
        a->post([p, e, before, after, changed, n](Napi::Env env) {
          if (e) {
            p->reject(env, e);
            return;
          }
          Napi::Object o = Napi::Object::New(env);
          o.Set("before", fieldsToJs(env, n, before));
          o.Set("after", fieldsToJs(env, n, after));
          o.Set("changed", changed);
          p->resolve(env, o);
        });
      });
    });
  }

  Napi::Value readClock(const Napi::CallbackInfo& info) {
    return call(info.Env(), [](auto s, auto p, const OutletPtr& a) {
      s->readClock([p, a](const Error& e, const Record& r) {
        settleRecord(p, a, e, r, [](Napi::Env env, const Record& rec) { return Napi::Value(clockToJs(env, rec)); });
      });
    });
  }

  // setClock({ year, month, day, hour, minute }, logRateMinutes)
  Napi::Value setClock(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, "datetime must be an object");
    Napi::Object o = info[0].As<Napi::Object>();
    m307::DateTime dt;
    dt.year = static_cast<int>(numberOr(o, "year", 0));
    dt.month = static_cast<int>(numberOr(o, "month", 0));
    dt.day = static_cast<int>(numberOr(o, "day", 0));
    dt.hour = static_cast<int>(numberOr(o, "hour", -1));
    dt.minute = static_cast<int>(numberOr(o, "minute", -1));
    int rate = info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 0;
    if (Error e = m307::validateClock(dt, rate)) throw Napi::Error(env, addonOf(env).makeError(env, e));
    return call(env, [dt, rate](auto s, auto p, const OutletPtr& a) {
      s->setClock(dt, rate, [p, a](const Error& e, const Record& r) {
        settleRecord(p, a, e, r, [](Napi::Env env, const Record& rec) { return Napi::Value(clockToJs(env, rec)); });
      });
    });
  }

  // readLog(resetPointer, resolution, onBatch(numbers: Float64Array, count, totalSoFar)) -> { total, echo }
  // `numbers` is valid only during the call (detached after it): copy what must outlive it.
  Napi::Value readLog(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    bool reset = info[0].ToBoolean().Value();
    double resolution = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : 0.1;
    if (!info[2].IsFunction()) throw Napi::TypeError::New(env, "onBatch must be a function");
    // Only ever touched on the JS thread; deleted by the completion, which the thread-safe
    // function delivers after every batch.
    auto* onBatch = new Napi::FunctionReference(Napi::Persistent(info[2].As<Napi::Function>()));
    auto p = std::make_shared<PendingPromise>(env);
    OutletPtr addon = addonOf(env).outlet;
    auto s = session_;
    // Batches are coalesced: while one hand-off to JS is on its way, newly decoded chunks join
    // it instead of costing a hand-off each (a fast stream then takes a few hops, a slow serial
    // one still reports every read). JS reads each chunk's numbers in place (no copy); the
    // lock only guards the list, not the decoding.
    struct Chunk {
      std::unique_ptr<double[]> values;  // count * kLogFields, every one written
      size_t count = 0, total = 0;
    };
    struct Batches {
      std::mutex m;
      std::vector<std::unique_ptr<Chunk>> ready;
      bool posted = false;
    };
    auto batches = std::make_shared<Batches>();
    auto deliver = [batches, onBatch, s](Napi::Env env) {
      std::vector<std::unique_ptr<Chunk>> chunks;
      {
        std::lock_guard<std::mutex> lock(batches->m);
        chunks.swap(batches->ready);
        batches->posted = false;
      }
      // Back-pressure: once these records are through JS, the engine may read on.
      size_t records = 0;
      for (auto& c : chunks) records += c->count;
      struct Taken {
        std::shared_ptr<session::M307Session> s;
        size_t n;
        ~Taken() {
          asio::post(io::Engine::instance().context(), [s = s, n = n] { s->logConsumed(n); });
        }
      } taken{s, records};
      for (auto& c : chunks) {
        // The callback converts the numbers synchronously (lib/m307), so the array lends the
        // chunk's memory for the call and is detached right after: nothing can read it later,
        // and the memory is freed at once instead of at some later GC (which left the heap
        // growing and every download page-faulting fresh memory).
        const size_t n = c->count * kLogFields;
        auto ab = Napi::ArrayBuffer::New(env, c->values.get(), n * sizeof(double));
        auto arr = Napi::Float64Array::New(env, n, ab, 0);
        try {
          onBatch->Call({arr, Napi::Number::New(env, static_cast<double>(c->count)),
                         Napi::Number::New(env, static_cast<double>(c->total))});
        } catch (...) {
          ab.Detach();
          throw;
        }
        ab.Detach();
        c.reset();
      }
    };
    asio::post(io::Engine::instance().context(), [s, p, addon, reset, resolution, onBatch, batches, deliver] {
      s->readLog(
          reset,
          [addon, resolution, batches, deliver](const uint8_t* recs, size_t count, size_t total) {
            // Decoded here (engine thread) into kLogFields numbers per record: typed arrays
            // cross to JS instead of 16 N-API property sets per record.
            // At most kChunkRecords per array: 120 KB stays under malloc's mmap threshold, so
            // the memory is reused from one download to the next instead of being mapped and
            // page-faulted afresh (that cost more than the decoding).
            // Each array is handed over as soon as it is made, so JS builds its records while
            // the next one is decoded.
            for (size_t from = 0; from < count; from += kChunkRecords) {
              auto chunk = std::make_unique<Chunk>();
              chunk->count = std::min(kChunkRecords, count - from);
              chunk->total = total - count + from + chunk->count;
              chunk->values.reset(new double[chunk->count * kLogFields]);
              for (size_t i = 0; i < chunk->count; ++i)
                logRecordToNumbers(recs + (from + i) * m307::kLogRecordSize, resolution,
                                   chunk->values.get() + i * kLogFields);
              bool post = false;
              {
                std::lock_guard<std::mutex> lock(batches->m);
                batches->ready.push_back(std::move(chunk));
                if (!batches->posted) post = batches->posted = true;
              }
              if (post) addon->post(deliver);
            }
          },
          [p, addon, onBatch](const Error& e, size_t total, bool echo) {
            // Posted after every batch's delivery (one queue, in order).
            addon->post([p, e, total, echo, onBatch](Napi::Env env) {
              delete onBatch;
              if (e) {
                p->reject(env, e);
                return;
              }
              Napi::Object o = Napi::Object::New(env);
              o.Set("total", static_cast<double>(total));
              o.Set("echo", echo);
              p->resolve(env, o);
            });
          });
    });
    return p->deferred.Promise();
  }

  Napi::Value cancelLog(const Napi::CallbackInfo& info) {
    auto s = session_;
    asio::post(io::Engine::instance().context(), [s] { s->cancelLog(); });
    return info.Env().Undefined();
  }

  Napi::Value stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto p = std::make_shared<PendingPromise>(env);
    OutletPtr addon = addonOf(env).outlet;
    auto ch = channel_;
    asio::post(io::Engine::instance().context(), [ch, p, addon] {
      io::ChannelStats s = ch->stats();
      addon->post([p, s](Napi::Env env) {
        Napi::Object o = Napi::Object::New(env);
        setChannelStats(env, o, s);
        p->resolve(env, o);
      });
    });
    return p->deferred.Promise();
  }

  Napi::Value close(const Napi::CallbackInfo& info) { return closeChannel(info.Env(), channel_); }

  StateCallback js_;
  std::shared_ptr<io::Channel> channel_;
  std::shared_ptr<session::M307Session> session_;
};

// Pure decoders for JS: m307.decodeStatus(buf60) etc. (the byte layouts stay in core).
Record recordArg(const Napi::CallbackInfo& info) {
  if (!info[0].IsBuffer() || info[0].As<Napi::Buffer<uint8_t>>().Length() != m307::kRecordSize)
    throw Napi::Error(
        info.Env(),
        addonOf(info.Env()).makeError(info.Env(), validationError("buffer must be a 60-byte Buffer", "EINVAL")));
  Record r{};
  std::memcpy(r.data(), info[0].As<Napi::Buffer<uint8_t>>().Data(), m307::kRecordSize);
  return r;
}

int byteArg(const Napi::CallbackInfo& info, size_t i, int max) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), "expected a number");
  int v = info[i].As<Napi::Number>().Int32Value();
  if (v < 0 || v > max)
    throw Napi::Error(info.Env(), addonOf(info.Env())
                                      .makeError(info.Env(), validationError("value must be 0.." + std::to_string(max) +
                                                                             ", got " + std::to_string(v))));
  return v;
}

}  // namespace

void initM307(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeM307", M307Wrap::define(env));
  Napi::Object m = Napi::Object::New(env);
  m.Set("decodeStatus", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
          return statusToJs(info.Env(), recordArg(info));
        }));
  m.Set("decodeClock", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
          return clockToJs(info.Env(), recordArg(info));
        }));
  m.Set(
      "decodeLogRecord", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
        if (!info[0].IsBuffer() || info[0].As<Napi::Buffer<uint8_t>>().Length() != m307::kLogRecordSize)
          throw Napi::Error(
              info.Env(),
              addonOf(info.Env()).makeError(info.Env(), validationError("buffer must be a 15-byte Buffer", "EINVAL")));
        double res = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : 0.1;
        return logRecordToJs(info.Env(), info[0].As<Napi::Buffer<uint8_t>>().Data(), res);
      }));
  m.Set("decodeFields", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
          int n = byteArg(info, 1, 5);
          return fieldsToJs(info.Env(), n, recordArg(info));
        }));
  // One raw reading: temperature (specials compared raw, then scaled) and humidity.
  m.Set("decodeTemperature", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
          const int raw = info[0].As<Napi::Number>().Int32Value();
          const double res = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : 0.1;
          return readingToJs(info.Env(), m307::decodeTemperature(static_cast<int16_t>(raw), res));
        }));
  m.Set("decodeHumidity", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
          return readingToJs(info.Env(),
                             m307::decodeHumidity(static_cast<int16_t>(info[0].As<Napi::Number>().Int32Value())));
        }));
  m.Set("bcdToInt", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
          int v = m307::bcdToInt(static_cast<uint8_t>(byteArg(info, 0, 255)));
          return v < 0 ? info.Env().Null() : Napi::Number::New(info.Env(), v);
        }));
  m.Set("intToBcd", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
          return Napi::Number::New(info.Env(), m307::intToBcd(byteArg(info, 0, 99)));
        }));
  m.Set("decodeHour", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
          int v = m307::decodeHour(static_cast<uint8_t>(byteArg(info, 0, 255)));
          return v < 0 ? info.Env().Null() : Napi::Number::New(info.Env(), v);
        }));
  m.Set("encodeHour", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
          return Napi::Number::New(info.Env(), m307::encodeHour12(byteArg(info, 0, 23)));
        }));
  exports.Set("m307", m);
}

}  // namespace fl::node
