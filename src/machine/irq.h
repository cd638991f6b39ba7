// Interrupt wiring: lines are objects, not global numbers (docs/ARCHITECTURE.md).
//
// A device drives an IrqLine; the line fans out to the inputs it is wired to
// (an ISA IRQ reaches a pin of the 8259 pair and a pin of the IOAPIC). The
// CPU's INTR input is an InterruptController the run loop asks at instruction
// boundaries.
#pragma once

#include <cstdint>
#include <vector>

namespace kestrel::machine {

// Something with numbered interrupt inputs (8259 pair, IOAPIC, LAPIC LINT pins).
class IrqSink {
 public:
  virtual ~IrqSink() = default;
  virtual void set_irq(unsigned pin, bool level) = 0;
};

class IrqLine {
 public:
  void connect(IrqSink* sink, unsigned pin) { targets_.push_back({sink, pin}); }
  void set(bool level) {
    if (level == level_) return;
    level_ = level;
    for (auto& t : targets_) t.sink->set_irq(t.pin, level);
  }
  void raise() { set(true); }
  void lower() { set(false); }
  void pulse() { set(true); set(false); }  // an edge for edge-triggered inputs
  bool level() const { return level_; }

 private:
  struct Target {
    IrqSink* sink;
    unsigned pin;
  };
  std::vector<Target> targets_;
  bool level_ = false;
};

// The CPU's view of its interrupt controller (the local APIC, or the 8259 pair
// directly when there is none): is a maskable interrupt pending, and which vector
// does the acknowledge cycle return.
class InterruptController {
 public:
  virtual ~InterruptController() = default;
  virtual bool interrupt_pending() = 0;
  virtual uint8_t acknowledge() = 0;
};

}  // namespace kestrel::machine
