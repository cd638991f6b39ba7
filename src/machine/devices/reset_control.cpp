#include "machine/devices/reset_control.h"

#include "machine/machine.h"

namespace kestrel::machine {

ResetControl::ResetControl(Machine& m) : m_(m) { reset(); }

void ResetControl::attach(PortBus& ports) {
  ports.map(kPortA, 1, this);
  ports.map(kResetControl, 1, this);
}

void ResetControl::reset() {
  port_a_ = 0;
  rc_ = 0;
  m_.set_a20(true);  // the gate is open after reset, as on QEMU's pc
}

void ResetControl::save(StateWriter& w) const {
  w.begin(name());
  w.put(port_a_);
  w.put(rc_);
}

void ResetControl::load(StateReader& r) {
  r.begin(name());
  r.get(port_a_);
  r.get(rc_);
}

uint32_t ResetControl::port_in(uint16_t port, unsigned) {
  if (port == kPortA) return (port_a_ & ~2u) | (m_.bus().a20() ? 2u : 0u);
  return rc_;
}

void ResetControl::port_out(uint16_t port, uint32_t value, unsigned) {
  const uint8_t v = static_cast<uint8_t>(value);
  if (port == kPortA) {
    const bool reset = (v & 1) && !(port_a_ & 1);
    port_a_ = v & 0x03;
    m_.set_a20(v & 2);
    if (reset) m_.request_reboot("reset through port 0x92");
    return;
  }
  rc_ = v & 0x0A;
  if (v & 0x04) m_.request_reboot("reset through port 0xCF9");
}

}  // namespace kestrel::machine
