// QEMU's isa-debug-exit device: a guest write of value V to its ports ends the run
// with exit status (V << 1) | 1, so a guest test can report pass/fail through the
// emulator's exit status (kvm-unit-tests and many hobby-kernel test suites use it
// with iobase=0xf4, iosize=4). Reads return all-ones, as on QEMU where the device
// has no read handler. The status is masked to 8 bits, which is what a process
// exit status can carry (QEMU's exit() truncates the same way).
#pragma once

#include <cstdint>

#include "machine/device.h"
#include "machine/port_bus.h"

namespace kestrel::machine {

class Machine;

class DebugExit final : public Device, public PortDevice {
 public:
  static constexpr uint16_t kDefaultPort = 0xF4;
  static constexpr uint16_t kDefaultSize = 4;

  DebugExit(Machine& m, uint16_t port = kDefaultPort, uint16_t size = kDefaultSize);

  // Maps [port, port + size).
  void attach(PortBus& ports);
  uint16_t port() const { return port_; }
  uint16_t size() const { return size_; }

  // The exit status a write of `value` asks for.
  static int status_for(uint32_t value) { return static_cast<int>(((value << 1) | 1) & 0xFF); }

  const char* name() const override { return "isa-debug-exit"; }
  void reset() override {}
  void save(StateWriter& w) const override;
  void load(StateReader& r) override;

  uint32_t port_in(uint16_t port, unsigned size) override;
  void port_out(uint16_t port, uint32_t value, unsigned size) override;

 private:
  Machine& m_;
  uint16_t port_;
  uint16_t size_;
};

}  // namespace kestrel::machine
