// The PC's coprocessor-error logic (PC/AT, kept by the PIIX/PIIX3 south bridges:
// 82371SB data sheet §4.1 "Coprocessor Error", I/O register F0h), which carries the
// x87's MS-DOS compatibility mode (SDM Vol. 1 §8.7, Appendix D):
// - the CPU's FERR# output (Machine::ferr_line()) going active latches IRQ 13;
// - a write to port F0h clears that IRQ 13 latch and, while FERR# is active, asserts
//   the CPU's IGNNE# input (Machine::set_ignne), so the interrupt handler's own x87
//   instructions are not frozen by the pending error;
// - IGNNE# drops when FERR# does (FNCLEX, FNINIT, FLDENV/FRSTOR/FLDCW clearing ES).
// Reads of port F0h return all-ones (nothing to read; the PIIX decodes writes only).
#pragma once

#include <cstdint>

#include "machine/device.h"
#include "machine/irq.h"
#include "machine/port_bus.h"

namespace kestrel::machine {

class Machine;

class CoprocessorError final : public Device, public PortDevice, public IrqSink {
 public:
  static constexpr uint16_t kPort = 0xF0;

  // Drives `irq13` (the ISA IRQ 13 line) from the machine's FERR# line.
  CoprocessorError(Machine& m, IrqLine* irq13);
  void attach(PortBus& ports);

  const char* name() const override { return "coprocessor-error"; }
  void reset() override;
  void save(StateWriter& w) const override;
  void load(StateReader& r) override;

  uint32_t port_in(uint16_t port, unsigned size) override;
  void port_out(uint16_t port, uint32_t value, unsigned size) override;
  // Pin 0: FERR#, active high here (asserted = an x87 error is being signalled).
  void set_irq(unsigned pin, bool level) override;

  bool irq13_latched() const { return latched_; }

 private:
  Machine& m_;
  IrqLine* irq13_;
  bool latched_ = false;  // IRQ 13 requested by FERR#, until a write to F0h
};

}  // namespace kestrel::machine
