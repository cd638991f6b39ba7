// Test helper: puts a machine into real mode (0), flat 32-bit protected mode (1)
// or 64-bit long mode with an identity map of the first GiB (2), with random
// registers, flags, entry point and IDT limit. Shared by the robustness test and
// the JIT-versus-interpreter differential test.
#pragma once

#include <cstdint>
#include <random>

#include "machine/machine.h"
#include "machine/segments.h"

namespace kestrel::test {

inline void setup_random_mode(machine::Machine& m, int mode, std::mt19937_64& rng) {
  auto& c = m.cpu();
  c.rflags = 2 | (rng() & 0x8D5);
  for (auto& r : c.gpr) r = rng();
  if (mode == 0) {
    machine::load_segment_real(c, machine::CS, rng() & 0xFFFF);
    c.rip = rng() & 0xFFFF;
    return;
  }
  // Flat descriptors at 0x500; a random IDT limit so delivery meets bad gates too.
  uint64_t gdt[4] = {0, 0x00CF9A000000FFFFull, 0x00CF92000000FFFFull, 0x00AF9A000000FFFFull};
  m.bus().write(0x500, gdt, sizeof gdt);
  c.gdtr = {0x500, 31};
  c.idtr = {0x600, static_cast<uint32_t>(rng() & 0x7FF)};
  c.cr0 |= machine::kCr0PE;
  for (auto& s : c.seg) machine::load_descriptor(s, 0x10, gdt[2]);
  machine::load_descriptor(c.seg[machine::CS], mode == 2 ? 0x18 : 0x08, gdt[mode == 2 ? 3 : 1]);
  if (mode == 2) {
    // Identity-map the first GiB with 2 MiB pages (the RAM is smaller: the rest faults).
    uint64_t pml4 = 0x2003, pdpt = 0x3003;
    m.bus().write(0x1000, &pml4, 8);
    m.bus().write(0x2000, &pdpt, 8);
    for (uint64_t k = 0; k < 512; ++k) {
      uint64_t e = (k << 21) | 0x87;
      m.bus().write(0x3000 + k * 8, &e, 8);
    }
    c.cr3 = 0x1000;
    c.cr4 = 0x20;
    c.efer = 0x500;
    c.cr0 |= machine::kCr0PG;
  }
  machine::update_cpu_mode(c);
  machine::refresh_all_segments(c);
  c.rip = rng() & 0xFFFFF;
}

}  // namespace kestrel::test
