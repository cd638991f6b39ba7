#include "machine/port_bus.h"

namespace kestrel::machine {

void PortBus::map(uint16_t first, uint16_t count, PortDevice* dev) {
  for (unsigned i = 0; i < count; ++i) handlers_[(first + i) & 0xFFFF] = dev;
}

void PortBus::unmap(uint16_t first, uint16_t count) { map(first, count, nullptr); }

uint32_t PortBus::in(uint16_t port, unsigned size) {
  uint32_t v;
  PortDevice* d = handlers_[port];
  bool whole = d && (size == 1 || handlers_[(port + size - 1) & 0xFFFF] == d);
  if (whole) {
    v = d->port_in(port, size);
  } else if (size == 1) {
    v = 0xFF;  // nothing answers: the bus floats high
  } else {
    auto saved = trace_;
    trace_ = nullptr;  // one trace line for the whole access
    v = 0;
    for (unsigned i = 0; i < size; ++i) v |= in(static_cast<uint16_t>(port + i), 1) << (8 * i);
    trace_ = saved;
  }
  if (size < 4) v &= (1u << (8 * size)) - 1;
  if (trace_) trace_(trace_ctx_, false, port, v, size);
  return v;
}

void PortBus::out(uint16_t port, uint32_t value, unsigned size) {
  if (trace_) trace_(trace_ctx_, true, port, value, size);
  PortDevice* d = handlers_[port];
  if (d && (size == 1 || handlers_[(port + size - 1) & 0xFFFF] == d)) {
    d->port_out(port, value, size);
  } else if (size > 1) {
    auto saved = trace_;
    trace_ = nullptr;
    for (unsigned i = 0; i < size; ++i) out(static_cast<uint16_t>(port + i), (value >> (8 * i)) & 0xFF, 1);
    trace_ = saved;
  }
}

}  // namespace kestrel::machine
