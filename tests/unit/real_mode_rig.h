// Test helper: a 16 MiB machine with an interpreter, the CPU in real mode at
// 0000:7C00 with SS:SP = 0000:7000 and interrupts disabled (as after reset), for
// small programs poked in as bytes and run to a stop. Shared by the interpreter and
// x87 tests, whose rigs add their own readers and setup.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <vector>

#include "interp/interpreter.h"
#include "machine/cpu_state.h"
#include "machine/machine.h"
#include "machine/segments.h"
#include "test_machine.h"

namespace kestrel::test {

struct RealModeRig {
  std::unique_ptr<machine::Machine> m = new_machine(16ull << 20);
  std::unique_ptr<interp::Interpreter> it = std::make_unique<interp::Interpreter>(*m);

  RealModeRig() {
    start(0, 0x7C00);
    machine::load_segment_real(cpu(), machine::SS, 0);
    cpu().gpr[machine::RSP] = 0x7000;
  }
  machine::CpuState& cpu() { return m->cpu(); }
  // Execution continues at CS:IP (a halted CPU wakes).
  void start(uint16_t cs, uint16_t ip) {
    machine::load_segment_real(cpu(), machine::CS, cs);
    cpu().rip = ip;
    cpu().halted = 0;
  }
  void poke(uint64_t addr, std::initializer_list<uint8_t> bytes) {
    std::vector<uint8_t> b(bytes);
    m->bus().write(addr, b.data(), b.size());
  }
  uint64_t peek(uint64_t addr, unsigned size) { return m->bus().read_uint(addr, size); }
  interp::StopReason run(uint64_t max = 100000) { return it->run(max); }
};

}  // namespace kestrel::test
