// JS class NativePty: the device end of a pseudo-terminal, for the simulators.
// new NativePty(linkPath|'', onData(buffer)); .path, .link, .write(buffer), .close()
#include <napi.h>
#include <unistd.h>

#include "io/engine.hpp"
#include "io/pty.hpp"
#include "node/bridge.hpp"

namespace fl::node {

namespace {

struct PtyJs {
  Napi::FunctionReference onData;
};

class PtyWrap : public Napi::ObjectWrap<PtyWrap> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(
        env, "NativePty",
        {InstanceMethod("write", &PtyWrap::write), InstanceMethod("close", &PtyWrap::close),
         InstanceAccessor("path", &PtyWrap::path, nullptr), InstanceAccessor("link", &PtyWrap::link, nullptr),
         InstanceMethod("baudRate", &PtyWrap::baudRate)});
  }

  explicit PtyWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PtyWrap>(info) {
    Napi::Env env = info.Env();
    std::string linkPath = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
    if (!info[1].IsFunction()) throw Napi::TypeError::New(env, "onData must be a function");
    js_ = std::make_shared<PtyJs>();
    js_->onData = Napi::Persistent(info[1].As<Napi::Function>());
    Error err;
    pty_ = io::PtyEndpoint::create(io::Engine::instance().context(), linkPath, err);
    if (!pty_) throw Napi::Error(env, addonOf(env).makeError(env, err));
    slave_ = pty_->slavePath();
    link_ = pty_->linkPath();
    OutletPtr addon = addonOf(env).outlet;
    outlet_ = addon;
    addon->hold(env);  // a serving pty keeps the process alive until close()
    std::weak_ptr<io::PtyEndpoint> weakPty = pty_;
    addonOf(env).track(weakPty, [weakPty] {
      if (auto p = weakPty.lock()) p->close();
    });
    holding_ = true;
    std::weak_ptr<PtyJs> weak = js_;
    auto pty = pty_;
    asio::post(io::Engine::instance().context(), [pty, addon, weak] {
      pty->start([addon, weak](const uint8_t* data, size_t n) {
        Bytes copy(data, data + n);
        addon->post([weak, copy = std::move(copy)](Napi::Env env) {
          auto js = weak.lock();
          if (!js) return;
          js->onData.Call({Napi::Buffer<uint8_t>::Copy(env, copy.data(), copy.size())});
        });
      });
    });
  }

  ~PtyWrap() override { shutdown(Env()); }

 private:
  void shutdown(Napi::Env env) {
    if (!pty_) return;
    // Remove the symlink now, not on the engine thread: the process may be exiting.
    if (!link_.empty()) ::unlink(link_.c_str());
    auto pty = std::move(pty_);
    asio::post(io::Engine::instance().context(), [pty] { pty->close(); });
    if (holding_) {
      holding_ = false;
      outlet_->unhold(env);  // the Addon may be gone already at teardown; the outlet is not
    }
  }

  Napi::Value write(const Napi::CallbackInfo& info) {
    if (!info[0].IsBuffer()) throw Napi::TypeError::New(info.Env(), "write expects a Buffer");
    auto buf = info[0].As<Napi::Buffer<uint8_t>>();
    if (!pty_) throw Napi::Error::New(info.Env(), "pty is closed");
    Bytes copy(buf.Data(), buf.Data() + buf.Length());
    auto pty = pty_;
    asio::post(io::Engine::instance().context(),
               [pty, copy = std::move(copy)]() mutable { pty->write(std::move(copy)); });
    return info.Env().Undefined();
  }

  Napi::Value close(const Napi::CallbackInfo& info) {
    shutdown(info.Env());
    return info.Env().Undefined();
  }

  // The line speed the client set on its end (a pty keeps the speed, not the parity), so a
  // simulator can ignore a client that talks at another baud rate, like a real device.
  Napi::Value baudRate(const Napi::CallbackInfo& info) {
    if (!pty_) return info.Env().Null();
    int b = pty_->clientBaudRate();
    return b > 0 ? Napi::Value(Napi::Number::New(info.Env(), b)) : info.Env().Null();
  }

  Napi::Value path(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), slave_); }
  Napi::Value link(const Napi::CallbackInfo& info) {
    return link_.empty() ? info.Env().Null() : Napi::String::New(info.Env(), link_);
  }

  std::shared_ptr<PtyJs> js_;
  std::shared_ptr<io::PtyEndpoint> pty_;
  OutletPtr outlet_;
  std::string slave_, link_;
  bool holding_ = false;
};

}  // namespace

void initPty(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = PtyWrap::define(env);
  addonOf(env).ptyCtor = Napi::Persistent(ctor);
  exports.Set("NativePty", ctor);
}

}  // namespace fl::node
