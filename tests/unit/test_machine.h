// Test helpers that make machines: new_machine (an initialised machine of a given
// RAM size, the setup every device and CPU test starts from) and QuietMachine (one
// whose console output goes to /dev/null, for tests that run random or generated
// code, which may write anything to the serial port).
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "machine/machine.h"

namespace kestrel::test {

// A machine with RAM_BYTES of RAM and the default configuration, initialised (the
// test stops if that fails).
inline std::unique_ptr<machine::Machine> new_machine(uint64_t ram_bytes) {
  machine::MachineConfig cfg;
  cfg.ram_bytes = ram_bytes;
  auto m = std::make_unique<machine::Machine>(cfg);
  std::string err;
  REQUIRE_MESSAGE(m->init(err), err);
  return m;
}

class QuietMachine {
 public:
  explicit QuietMachine(uint64_t ram_bytes) : machine_(new_machine(ram_bytes)), devnull_(std::fopen("/dev/null", "w")) {
    REQUIRE(devnull_);
    machine_->set_console(devnull_);
  }
  ~QuietMachine() {
    machine_->set_console(stdout);
    if (devnull_) std::fclose(devnull_);
  }
  QuietMachine(const QuietMachine&) = delete;
  QuietMachine& operator=(const QuietMachine&) = delete;

  machine::Machine& machine() { return *machine_; }

 private:
  std::unique_ptr<machine::Machine> machine_;
  std::FILE* devnull_;
};

}  // namespace kestrel::test
