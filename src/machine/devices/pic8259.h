// The PC's two cascaded 8259A programmable interrupt controllers (master at
// 0x20/0x21, slave at 0xA0/0xA1 on the master's IR2) and the PIIX edge/level
// control registers (ELCR, ports 0x4D0/0x4D1).
//
// Reference: Intel 8259A data sheet (order 231468): ICW1-ICW4, OCW1-OCW3, the
// priority resolver, specific/non-specific EOI, automatic EOI, rotation, special
// mask mode, poll mode; PIIX3 data sheet §4.1.10 for the ELCR.
#pragma once

#include <cstdint>

#include "machine/device.h"
#include "machine/irq.h"
#include "machine/port_bus.h"

namespace kestrel::machine {

class Machine;

class Pic8259Pair final : public Device, public PortDevice, public IrqSink, public InterruptController {
 public:
  explicit Pic8259Pair(Machine& m);
  void attach(PortBus& ports);

  const char* name() const override { return "pic8259"; }
  void reset() override;
  void save(StateWriter& w) const override;
  void load(StateReader& r) override;

  uint32_t port_in(uint16_t port, unsigned size) override;
  void port_out(uint16_t port, uint32_t value, unsigned size) override;

  // ISA IRQ 0-15 inputs.
  void set_irq(unsigned pin, bool level) override;

  // The master's INT output (to the CPU directly, or to the local APIC's LINT0).
  bool interrupt_pending() override;
  uint8_t acknowledge() override;
  // Wires the INT output to an interrupt input (the local APIC's LINT0), told of each change.
  void set_output(IrqSink* sink, unsigned pin) { out_sink_ = sink; out_pin_ = pin; }

 private:
  struct Chip {
    uint8_t irr = 0, isr = 0, imr = 0;
    uint8_t last_level = 0;  // input levels, for edge detection
    uint8_t elcr = 0;        // 1 = level-triggered input
    uint8_t vector_base = 0;
    uint8_t priority_add = 0;  // the lowest-priority IR after rotation + 1
    uint8_t icw_step = 0;      // 0: ready; 2..4: expecting ICW2..ICW4
    bool icw4_needed = false, single = false, auto_eoi = false, rotate_on_aeoi = false;
    bool read_isr = false, poll = false, special_mask = false, special_fully_nested = false;
    uint8_t elcr_mask = 0;
  };

  void set_chip_irq(Chip& p, unsigned irq, bool level);
  // Highest-priority requested and unmasked IR of a chip that beats the ISR, or -1.
  int pending_irq(const Chip& p) const;
  int ack_chip(Chip& p, unsigned irq);  // sets ISR / clears IRR for an edge input
  void write_command(Chip& p, uint8_t v);
  void write_data(Chip& p, uint8_t v);
  uint8_t poll(Chip& p, bool is_master);
  void update();  // recomputes the cascade line and tells the machine

  Machine& m_;
  Chip chip_[2];  // 0 master, 1 slave
  IrqSink* out_sink_ = nullptr;
  unsigned out_pin_ = 0;
  bool out_level_ = false;  // the INT output as last reported to out_sink_
  // pending_irq(master) >= 0 as of the last update(): every change of the chips' state
  // ends in update(), and the run loop asks interrupt_pending() at every block while
  // an interrupt waits for IF (memtest86+ runs with IRQ 0 pending and IF clear).
  bool int_pending_ = false;
};

}  // namespace kestrel::machine
