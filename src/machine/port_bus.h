// PortBus: the x86 I/O port space (64 KiB of 8/16/32-bit ports).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace kestrel::machine {

class PortDevice {
 public:
  virtual ~PortDevice() = default;
  virtual uint32_t port_in(uint16_t port, unsigned size) = 0;
  virtual void port_out(uint16_t port, uint32_t value, unsigned size) = 0;
};

class PortBus {
 public:
  PortBus() { handlers_.fill(nullptr); }
  void map(uint16_t first, uint16_t count, PortDevice* dev);
  void unmap(uint16_t first, uint16_t count);
  PortDevice* owner(uint16_t port) const { return handlers_[port]; }
  // A wide access to a port whose device does not span it is split into bytes.
  uint32_t in(uint16_t port, unsigned size);
  void out(uint16_t port, uint32_t value, unsigned size);

  // Optional trace hook (the --trace io category).
  using TraceFn = void (*)(void* ctx, bool is_out, uint16_t port, uint32_t value, unsigned size);
  void set_trace(TraceFn fn, void* ctx) { trace_ = fn; trace_ctx_ = ctx; }

 private:
  std::array<PortDevice*, 65536> handlers_;
  TraceFn trace_ = nullptr;
  void* trace_ctx_ = nullptr;
};

}  // namespace kestrel::machine
