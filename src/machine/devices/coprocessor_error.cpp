#include "machine/devices/coprocessor_error.h"

#include "machine/machine.h"

namespace kestrel::machine {

CoprocessorError::CoprocessorError(Machine& m, IrqLine* irq13) : m_(m), irq13_(irq13) {
  m_.ferr_line().connect(this, 0);
  reset();
}

void CoprocessorError::attach(PortBus& ports) { ports.map(kPort, 1, this); }

void CoprocessorError::reset() {
  latched_ = false;
  if (irq13_) irq13_->set(false);
  m_.set_ignne(false);
}

void CoprocessorError::save(StateWriter& w) const {
  w.begin(name());
  w.put(latched_);
  w.put(m_.ignne());
}

void CoprocessorError::load(StateReader& r) {
  r.begin(name());
  r.get(latched_);
  m_.set_ignne(r.get<bool>());
  if (irq13_) irq13_->set(latched_);
}

uint32_t CoprocessorError::port_in(uint16_t, unsigned size) {
  return size >= 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1;
}

void CoprocessorError::port_out(uint16_t, uint32_t, unsigned) {
  latched_ = false;
  if (irq13_) irq13_->set(false);
  // "IGNNE# is not asserted unless FERR# is active" (82371SB §4.1).
  if (m_.ferr()) m_.set_ignne(true);
}

void CoprocessorError::set_irq(unsigned, bool level) {
  if (level) {
    if (!latched_) {
      latched_ = true;
      if (irq13_) irq13_->set(true);
    }
  } else {
    m_.set_ignne(false);
  }
}

}  // namespace kestrel::machine
