#include "node/channel_calls.hpp"

#include "io/engine.hpp"

namespace fl::node {

StateCallback makeStateCallback(const Napi::Value& fn) {
  auto cb = std::make_shared<Napi::FunctionReference>();
  if (fn.IsFunction()) *cb = Napi::Persistent(fn.As<Napi::Function>());
  return cb;
}

io::Channel::StateHandler forwardState(OutletPtr addon, const StateCallback& cb) {
  std::weak_ptr<Napi::FunctionReference> weak = cb;
  return [addon = std::move(addon), weak](io::LinkState s, const Error& e, std::chrono::milliseconds retryIn) {
    addon->post([weak, s, e, retryIn](Napi::Env env) {
      auto fn = weak.lock();
      if (!fn || fn->IsEmpty()) return;
      fn->Call({Napi::String::New(env, io::linkStateName(s)), e ? addonOf(env).makeError(env, e) : env.Null(),
                Napi::Number::New(env, static_cast<double>(retryIn.count()))});
    });
  };
}

Napi::Value openChannel(Napi::Env env, std::shared_ptr<io::Channel> channel, std::function<std::string()> resolveWith) {
  auto p = std::make_shared<PendingPromise>(env);
  OutletPtr addon = addonOf(env).outlet;
  asio::post(io::Engine::instance().context(),
             [channel = std::move(channel), p, addon, resolveWith = std::move(resolveWith)] {
               channel->open([p, addon, resolveWith](const Error& e) {
                 std::string value = !e && resolveWith ? resolveWith() : std::string();
                 const bool hasValue = static_cast<bool>(resolveWith);
                 addon->post([p, e, value, hasValue](Napi::Env env) {
                   if (e) p->reject(env, e);
                   else p->resolve(env, hasValue ? Napi::Value(Napi::String::New(env, value)) : env.Undefined());
                 });
               });
             });
  return p->deferred.Promise();
}

Napi::Value closeChannel(Napi::Env env, std::shared_ptr<io::Channel> channel) {
  auto p = std::make_shared<PendingPromise>(env);
  OutletPtr addon = addonOf(env).outlet;
  asio::post(io::Engine::instance().context(), [channel = std::move(channel), p, addon] {
    channel->close([p, addon] { addon->post([p](Napi::Env env) { p->resolve(env, env.Undefined()); }); });
  });
  return p->deferred.Promise();
}

void closeChannelSoon(std::shared_ptr<io::Channel> channel) {
  asio::post(io::Engine::instance().context(), [channel = std::move(channel)] { channel->close(nullptr); });
}

void trackChannel(Napi::Env env, const std::shared_ptr<io::Channel>& channel) {
  std::weak_ptr<io::Channel> weak = channel;
  addonOf(env).track(weak, [weak] {
    if (auto c = weak.lock()) c->close(nullptr);
  });
}

void setChannelStats(Napi::Env env, Napi::Object& o, const io::ChannelStats& s) {
  o.Set("state", io::linkStateName(s.state));
  o.Set("requests", static_cast<double>(s.requests));
  o.Set("replies", static_cast<double>(s.replies));
  o.Set("timeouts", static_cast<double>(s.timeouts));
  o.Set("protocolErrors", static_cast<double>(s.protocolErrors));
  o.Set("linkErrors", static_cast<double>(s.linkErrors));
  o.Set("reconnects", static_cast<double>(s.reconnects));
  o.Set("bytesSent", static_cast<double>(s.bytesSent));
  o.Set("bytesReceived", static_cast<double>(s.bytesReceived));
  o.Set("staleBytesDiscarded", static_cast<double>(s.staleBytesDiscarded));
  o.Set("rejectedNotConnected", static_cast<double>(s.rejectedNotConnected));
  o.Set("rejectedQueueFull", static_cast<double>(s.rejectedQueueFull));
  o.Set("overflows", static_cast<double>(s.overflows));
  o.Set("queueDepth", static_cast<double>(s.queueDepth));
  o.Set("lastRequestHex", s.lastRequestHex);
  o.Set("lastReplyHex", s.lastReplyHex);
  o.Set("lastErrorCode", s.lastErrorCode);
  Napi::Array lat = Napi::Array::New(env, s.latencyMs.size());
  for (size_t i = 0; i < s.latencyMs.size(); ++i) lat.Set(static_cast<uint32_t>(i), s.latencyMs[i]);
  o.Set("latencyMs", lat);
}

}  // namespace fl::node
