// The 8254 programmable interval timer (ports 0x40-0x43) and System Control Port
// B (port 0x61: channel 2's gate and output, the speaker enable, the refresh toggle).
//
// The counters are not stepped: each channel remembers when its count was loaded,
// and the count and output at any moment follow from the machine's virtual clock
// (1.193182 MHz input). Channel 0's output edges are scheduled on the timer queue
// and pulse IRQ 0. Reference: Intel 82C54 data sheet (order 231244), modes 0-5,
// counter latch and read-back commands; IBM PC/AT technical reference for port 0x61.
#pragma once

#include <cstdint>

#include "machine/device.h"
#include "machine/irq.h"
#include "machine/port_bus.h"

namespace kestrel::machine {

class Machine;

class Pit8254 final : public Device, public PortDevice {
 public:
  static constexpr uint64_t kInputHz = 1193182;

  Pit8254(Machine& m, IrqLine* irq0);
  void attach(PortBus& ports);

  const char* name() const override { return "pit8254"; }
  void reset() override;
  void save(StateWriter& w) const override;
  void load(StateReader& r) override;

  uint32_t port_in(uint16_t port, unsigned size) override;
  void port_out(uint16_t port, uint32_t value, unsigned size) override;

  // Output of a channel now (used by port 0x61 and tests).
  bool output(unsigned ch);

 private:
  struct Channel {
    uint32_t count = 0x10000;  // reload value (0 written means 65536)
    uint64_t load_ns = 0;      // when counting (re)started
    uint64_t frozen_ticks = 0; // ticks counted before the gate went low (modes 0 and 4)
    uint16_t latched_count = 0;
    uint8_t mode = 0, rw_mode = 3, bcd = 0;
    uint8_t count_latched = 0;  // 0 none, 1 low byte pending, 2 high byte pending, 3 both (LSB first)
    uint8_t status_latched = 0, status = 0;
    uint8_t read_hi = 0, write_hi = 0;  // next byte of a 16-bit access is the high byte
    uint8_t write_lo = 0;               // low byte held until the high byte arrives
    uint8_t gate = 1;
    uint8_t null_count = 1;
    uint8_t counting = 0;               // a count has been written (mode 0/4 start)
  };

  uint64_t ticks(const Channel& ch, uint64_t now) const;
  uint16_t current_count(unsigned i, uint64_t now);
  bool out_at(const Channel& ch, uint64_t now) const;
  void load_count(unsigned i, uint32_t value);
  void latch_count(unsigned i);
  void set_gate(unsigned i, bool level);
  void schedule_irq0();
  void irq0_fire(uint64_t now);

  Machine& m_;
  IrqLine* irq0_;
  int timer_ = -1;
  Channel ch_[3];
  uint8_t port61_ = 0;  // bits 0-3 as written
};

}  // namespace kestrel::machine
