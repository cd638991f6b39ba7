// The guest must never crash the emulator: random memory executed as code in
// real, protected and long mode, with random registers and descriptor tables,
// runs to its instruction budget without a host crash or an assertion.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "interp/interpreter.h"
#include "machine/machine.h"
#include "machine/segments.h"

using namespace kestrel;

namespace {

void setup_mode(machine::Machine& m, int mode, std::mt19937_64& rng) {
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

}  // namespace

TEST_CASE("random code in every mode never crashes the emulator") {
  machine::MachineConfig cfg;
  cfg.ram_bytes = 4 << 20;
  machine::Machine m(cfg);
  std::string err;
  REQUIRE(m.init(err));
  interp::Interpreter it(m);
  std::FILE* devnull = std::fopen("/dev/null", "w");
  REQUIRE(devnull);
  m.set_console(devnull);
  std::mt19937_64 rng(20261122);
  std::vector<uint8_t> junk(1 << 20);
  uint64_t retired = 0;
  for (int i = 0; i < 300; ++i) {
    m.reset();
    for (auto& b : junk) b = static_cast<uint8_t>(rng());
    m.bus().write(0, junk.data(), junk.size());
    setup_mode(m, i % 3, rng);
    m.cpu().tlb.flush();
    ++m.cpu().tlb_generation;
    uint64_t before = m.cpu().icount;
    it.run(300);
    retired += m.cpu().icount - before;
    m.clear_stop();
  }
  std::fclose(devnull);
  // The runs did execute code (not just fault at once every time).
  CHECK(retired > 1000);
}
