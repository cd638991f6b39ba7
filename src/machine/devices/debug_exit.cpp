#include "machine/devices/debug_exit.h"

#include <fmt/format.h>

#include "machine/machine.h"

namespace kestrel::machine {

DebugExit::DebugExit(Machine& m, uint16_t port, uint16_t size) : m_(m), port_(port), size_(size) {}

void DebugExit::attach(PortBus& ports) { ports.map(port_, size_, this); }

// No guest-visible state: the section is kept so snapshots list every device.
void DebugExit::save(StateWriter& w) const { w.begin(name()); }
void DebugExit::load(StateReader& r) { r.begin(name()); }

uint32_t DebugExit::port_in(uint16_t, unsigned size) { return size >= 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1; }

void DebugExit::port_out(uint16_t port, uint32_t value, unsigned size) {
  // QEMU passes the whole value of the access, whatever its width and whichever of
  // the device's ports it hits.
  if (size < 4) value &= (1u << (8 * size)) - 1;
  m_.request_stop(status_for(value),
                  fmt::format("the guest wrote 0x{:x} to isa-debug-exit at port 0x{:x}", value, port));
}

}  // namespace kestrel::machine
