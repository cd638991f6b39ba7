// Test helper: an initialised machine whose console output (COM1, the debug port)
// goes to /dev/null, for tests that run random or generated code, which may write
// anything to the serial port. Shared by the robustness test, the JIT-versus-
// interpreter differential test and the REP string bulk-path test.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "machine/machine.h"

namespace kestrel::test {

class QuietMachine {
 public:
  explicit QuietMachine(uint64_t ram_bytes) : machine_(config(ram_bytes)), devnull_(std::fopen("/dev/null", "w")) {
    std::string err;
    REQUIRE_MESSAGE(machine_.init(err), err);
    REQUIRE(devnull_);
    machine_.set_console(devnull_);
  }
  ~QuietMachine() {
    machine_.set_console(stdout);
    if (devnull_) std::fclose(devnull_);
  }
  QuietMachine(const QuietMachine&) = delete;
  QuietMachine& operator=(const QuietMachine&) = delete;

  machine::Machine& machine() { return machine_; }

 private:
  static machine::MachineConfig config(uint64_t ram_bytes) {
    machine::MachineConfig cfg;
    cfg.ram_bytes = ram_bytes;
    return cfg;
  }

  machine::Machine machine_;
  std::FILE* devnull_;
};

}  // namespace kestrel::test
