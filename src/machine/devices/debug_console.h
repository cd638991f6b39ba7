// The Bochs/QEMU debug console: a write-only byte sink on port 0xE9, and the
// same on 0x402 where SeaBIOS sends its log. Reading either port returns 0xE9,
// the signature guests check before they write (SeaBIOS stops logging to 0x402
// if the read returns anything else).
#pragma once

#include <cstdint>

#include "machine/device.h"
#include "machine/port_bus.h"

namespace kestrel::machine {

class Machine;

class DebugConsole final : public Device, public PortDevice {
 public:
  static constexpr uint16_t kBochsPort = 0xE9;
  static constexpr uint16_t kSeaBiosPort = 0x402;
  static constexpr uint8_t kSignature = 0xE9;

  explicit DebugConsole(Machine& m);

  // Maps the console on its two ports.
  void attach(PortBus& ports);

  const char* name() const override { return "debug-console"; }
  void reset() override;
  void save(StateWriter& w) const override;
  void load(StateReader& r) override;

  uint32_t port_in(uint16_t port, unsigned size) override;
  void port_out(uint16_t port, uint32_t value, unsigned size) override;

  // Bytes written since reset (guest tests and the CLI's summaries use it).
  uint64_t bytes_written() const { return bytes_written_; }

 private:
  Machine& m_;
  uint64_t bytes_written_ = 0;
};

}  // namespace kestrel::machine
