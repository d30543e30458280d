// listPorts(): serial port enumeration through libserialport, on the libuv pool
// (a short blocking sysfs walk, no device wait).
#include <libserialport.h>
#include <napi.h>

#include <string>
#include <vector>

#include "node/bridge.hpp"

namespace fl::node {

namespace {

struct PortInfo {
  std::string path, description, transport, manufacturer, product, serialNumber;
  int vendorId = -1, productId = -1;
};

class ListPortsWorker : public Napi::AsyncWorker {
 public:
  explicit ListPortsWorker(Napi::Env env) : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    sp_port** list = nullptr;
    if (sp_list_ports(&list) != SP_OK) {
      SetError("sp_list_ports failed");
      return;
    }
    for (int i = 0; list[i]; ++i) {
      sp_port* p = list[i];
      PortInfo info;
      auto s = [](const char* c) { return c ? std::string(c) : std::string(); };
      info.path = s(sp_get_port_name(p));
      info.description = s(sp_get_port_description(p));
      sp_transport t = sp_get_port_transport(p);
      info.transport = t == SP_TRANSPORT_USB ? "usb" : t == SP_TRANSPORT_BLUETOOTH ? "bluetooth" : "native";
      if (t == SP_TRANSPORT_USB) {
        int vid = -1, pid = -1;
        if (sp_get_port_usb_vid_pid(p, &vid, &pid) == SP_OK) {
          info.vendorId = vid;
          info.productId = pid;
        }
        info.manufacturer = s(sp_get_port_usb_manufacturer(p));
        info.product = s(sp_get_port_usb_product(p));
        info.serialNumber = s(sp_get_port_usb_serial(p));
      }
      ports_.push_back(std::move(info));
    }
    sp_free_port_list(list);
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Array a = Napi::Array::New(env, ports_.size());
    for (size_t i = 0; i < ports_.size(); ++i) {
      const PortInfo& p = ports_[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("path", p.path);
      o.Set("description", p.description);
      o.Set("transport", p.transport);
      o.Set("manufacturer", p.manufacturer);
      o.Set("product", p.product);
      o.Set("serialNumber", p.serialNumber);
      o.Set("vendorId", p.vendorId >= 0 ? Napi::Value(Napi::Number::New(env, p.vendorId)) : env.Null());
      o.Set("productId", p.productId >= 0 ? Napi::Value(Napi::Number::New(env, p.productId)) : env.Null());
      a.Set(static_cast<uint32_t>(i), o);
    }
    deferred_.Resolve(a);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<PortInfo> ports_;
};

Napi::Value listPorts(const Napi::CallbackInfo& info) {
  auto* w = new ListPortsWorker(info.Env());
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

}  // namespace

void initPorts(Napi::Env env, Napi::Object exports) {
  exports.Set("listPorts", Napi::Function::New(env, listPorts, "listPorts"));
}

}  // namespace fl::node
