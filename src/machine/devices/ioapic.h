// The Intel 82093AA I/O APIC: 24 interrupt pins, each with a redirection-table
// entry that turns an input into an interrupt message for the local APICs.
//
// Registers are reached indirectly: IOREGSEL (offset 0x00) selects, IOWIN (0x10)
// reads or writes the selected register: ID (0x00), version (0x01, 0x00170011 = 24
// entries), arbitration ID (0x02) and the redirection table (0x10-0x3F, two 32-bit
// halves per pin). Edge-triggered pins send one message per asserting edge while
// unmasked (an edge that arrives masked is lost); level-triggered pins send while
// asserted, set Remote IRR when a local APIC accepts, and wait for that APIC's EOI
// for the vector before sending again. The polarity bit inverts the input: the
// board's lines are active high, as the MADT tells the guest.
//
// On the PC board the ISA lines reach pins 0-15 as the ACPI MADT describes them:
// IRQ 0 on pin 2 (the interrupt source override), every other IRQ n on pin n.
//
// Reference: Intel 82093AA I/O APIC data sheet (order 290566), §3.
#pragma once

#include <cstdint>

#include "machine/device.h"
#include "machine/irq.h"
#include "machine/phys_bus.h"

namespace kestrel::machine {

class Machine;
class Lapic;

class IoApic final : public Device, public MmioDevice, public IrqSink {
 public:
  static constexpr uint64_t kDefaultBase = 0xFEC00000;
  static constexpr unsigned kPins = 24;
  static constexpr uint32_t kVersion = 0x00170011;
  // Redirection entry bits.
  static constexpr uint64_t kRteDeliveryStatus = 1u << 12, kRteActiveLow = 1u << 13, kRteRemoteIrr = 1u << 14,
                            kRteLevel = 1u << 15, kRteMasked = 1u << 16;

  IoApic(Machine& m, Lapic* lapic, uint8_t id = 0);
  void attach(PhysBus& bus, uint64_t base = kDefaultBase);

  const char* name() const override { return "ioapic"; }
  void reset() override;
  void save(StateWriter& w) const override;
  void load(StateReader& r) override;

  uint64_t mmio_read(uint64_t offset, unsigned size) override;
  void mmio_write(uint64_t offset, uint64_t value, unsigned size) override;

  // Input pins 0-23.
  void set_irq(unsigned pin, bool level) override;

  // A local APIC's EOI for a level-triggered vector (SDM Vol. 3 §10.8.5).
  void eoi(uint8_t vector);

  // For tests and front ends.
  uint64_t redirection(unsigned pin) const { return rte_[pin]; }
  uint8_t id() const { return id_; }

 private:
  uint32_t read_reg(uint8_t index) const;
  void write_reg(uint8_t index, uint32_t v);
  bool asserted(unsigned pin) const;
  void service(unsigned pin);  // sends the pin's message if a level pin is due
  bool send(unsigned pin);     // one message from the pin's entry; true if a local APIC took it

  Machine& m_;
  Lapic* lapic_;
  uint8_t initial_id_;
  uint8_t id_ = 0;
  uint32_t ioregsel_ = 0;
  uint64_t rte_[kPins] = {};
  uint32_t pin_level_ = 0;  // input levels, one bit per pin
};

}  // namespace kestrel::machine
