// What every wrapped session does the same way with its Channel: forward state changes to a
// JS callback, open, close, and put the link counters into a JS object.
#pragma once
#include <napi.h>

#include <functional>
#include <memory>

#include "io/channel.hpp"
#include "node/bridge.hpp"

namespace fl::node {

// The JS state callback, owned by the wrap (JS thread); engine callbacks hold a weak_ptr.
using StateCallback = std::shared_ptr<Napi::FunctionReference>;
StateCallback makeStateCallback(const Napi::Value& fn);
io::Channel::StateHandler forwardState(OutletPtr addon, const StateCallback& cb);

// Promise for channel->open(); `value` (engine thread) names what to resolve with.
Napi::Value openChannel(Napi::Env env, std::shared_ptr<io::Channel> channel,
                        std::function<std::string()> resolveWith = nullptr);
Napi::Value closeChannel(Napi::Env env, std::shared_ptr<io::Channel> channel);
// Closes on the engine thread without waiting (a wrap being garbage collected).
void closeChannelSoon(std::shared_ptr<io::Channel> channel);
// JS thread, when a wrap makes its channel: the addon instance closes it at teardown.
void trackChannel(Napi::Env env, const std::shared_ptr<io::Channel>& channel);
// The counters every link has.
void setChannelStats(Napi::Env env, Napi::Object& o, const io::ChannelStats& s);

}  // namespace fl::node
