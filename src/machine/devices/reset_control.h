// The PC's reset and A20 ports outside the keyboard controller:
// - port 0x92, System Control Port A (PS/2 "fast A20 and reset"): bit 1 drives the
//   A20 gate, a 0-to-1 transition of bit 0 resets the machine;
// - port 0xCF9, the PIIX3/ICH Reset Control Register: a 0-to-1 transition of
//   RST_CPU (bit 2) resets the machine; SYS_RST (bit 1) and FULL_RST (bit 3) are
//   kept for reads, and every kind of reset is a full machine reset here. The
//   FADT's RESET_REG points here with the value 6.
//
// A reset goes through Machine::request_reboot(): the run loop stops, and its
// owner resets the machine and boots again (or ends, with --no-reboot).
// Reference: PIIX3 data sheet (order 290550) §4.1.15 (RC), IBM PS/2 technical
// reference for port 0x92.
#pragma once

#include <cstdint>

#include "machine/device.h"
#include "machine/port_bus.h"

namespace kestrel::machine {

class Machine;

class ResetControl final : public Device, public PortDevice {
 public:
  static constexpr uint16_t kPortA = 0x92, kResetControl = 0xCF9;

  explicit ResetControl(Machine& m);
  void attach(PortBus& ports);

  const char* name() const override { return "reset-control"; }
  void reset() override;
  void save(StateWriter& w) const override;
  void load(StateReader& r) override;

  uint32_t port_in(uint16_t port, unsigned size) override;
  void port_out(uint16_t port, uint32_t value, unsigned size) override;

 private:
  Machine& m_;
  uint8_t port_a_ = 0;  // bits as written (bit 1 reads back from the A20 gate)
  uint8_t rc_ = 0;      // reset control: SYS_RST and FULL_RST
};

}  // namespace kestrel::machine
