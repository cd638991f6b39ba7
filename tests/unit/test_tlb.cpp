// The soft TLB: INVLPG of an address in a large page drops every 4 KiB piece of
// that page the TLB holds, and keeps unrelated entries (Linux maps its kernel with
// large pages and issues INVLPG often: a full flush each time cost a refill).
// host_page, the bulk accesses' way to two pages at once whatever the TLB can hold.
// Global pages (SDM Vol. 3 §4.10.2.4, §4.10.4.1): with CR4.PGE a CR3 load keeps the
// translations whose final entry has G set, INVLPG drops them, a CR4.PGE change
// drops everything.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "handler_rig.h"
#include "machine/exceptions.h"
#include "machine/machine.h"
#include "machine/memory.h"
#include "machine/segments.h"
#include "test_machine.h"

using namespace kestrel;
using namespace kestrel::machine;

namespace {

// 32-bit paging with PSE, page directory at 0x10000: PDE 0 a 4 MiB page at physical 0,
// PDE 1 a page table at 0x11000 identity-mapping 0x400000-0x7FFFFF with 4 KiB pages.
void setup_paging(Machine& m) {
  CpuState& c = m.cpu();
  m.bus().write_uint(0x10000, 0x00000083, 4);  // P | RW | PS
  m.bus().write_uint(0x10004, 0x00011003, 4);  // P | RW -> page table at 0x11000
  for (uint32_t i = 0; i < 1024; ++i) m.bus().write_uint(0x11000 + i * 4, (0x400000 + (i << 12)) | 3, 4);
  c.cr3 = 0x10000;
  c.cr4 |= 1u << 4;  // PSE
  c.cr0 |= kCr0PE | kCr0PG;
  update_cpu_mode(c);
  tlb_flush(c);
}

uint32_t pte(Machine& m, uint32_t lin) { return static_cast<uint32_t>(m.bus().read_uint(0x11000 + ((lin >> 12) & 0x3FF) * 4, 4)); }

}  // namespace

TEST_CASE("TLB: INVLPG in a 4 MiB page drops all its pieces and keeps 4 KiB entries elsewhere") {
  auto owned_machine = test::new_machine(16ull << 20);
  auto& m = *owned_machine;
  CpuState& c = m.cpu();
  setup_paging(m);
  m.bus().write_uint(0x2000, 0x11111111, 4);
  m.bus().write_uint(0x802000, 0x22222222, 4);  // where linear 0x2000 goes after the remap
  m.bus().write_uint(0x405000, 0x33333333, 4);

  uint32_t v = 0;
  REQUIRE(read_linear(c, 0x1000, v, false));
  REQUIRE(read_linear(c, 0x2000, v, false));
  CHECK(v == 0x11111111);
  REQUIRE(read_linear(c, 0x405000, v, false));
  CHECK(v == 0x33333333);
  const TlbEntry& small = c.tlb.entry[0][Tlb::index(0x405000)];
  CHECK(small.tag_read == 0x405000);

  // Remap the 4 MiB page to physical 0x800000 and invalidate one address in it.
  m.bus().write_uint(0x10000, 0x00800083, 4);
  tlb_flush_page(c, 0x1000);
  REQUIRE(read_linear(c, 0x2000, v, false));
  CHECK(v == 0x22222222);              // another piece of the large page was dropped too
  CHECK(small.tag_read == 0x405000);   // the 4 KiB page's entry stayed
  REQUIRE(read_linear(c, 0x405000, v, false));
  CHECK(v == 0x33333333);
}

TEST_CASE("TLB: host_page gives both pages of a copy whose TLB entries collide, and faults quietly") {
  auto machine = test::new_machine(16ull << 20);
  Machine& m = *machine;
  CpuState& c = m.cpu();
  setup_paging(m);
  // 0x400000 and 0x500000 share a TLB index: one entry can hold only one of them.
  REQUIRE(Tlb::index(0x400000) == Tlb::index(0x500000));
  uint8_t* const ram = m.bus().ram();
  uint8_t* src = host_page(c, 0x400123, Access::Read, false);
  uint8_t* dst = host_page(c, 0x500456, Access::Write, false);
  CHECK(src == ram + 0x400000);
  CHECK(dst == ram + 0x500000);
  CHECK(c.tlb.entry[0][Tlb::index(0x400000)].tag_write == 0x500000);  // the second fill replaced the first
  CHECK((pte(m, 0x400000) & 0x60) == 0x20);  // read: accessed, not dirty
  CHECK((pte(m, 0x500000) & 0x60) == 0x60);  // write: accessed and dirty

  // A page that is not present: null, and no exception or CR2 left behind.
  m.bus().write_uint(0x11000 + 0x200 * 4, 0, 4);  // linear 0x600000
  c.cr2 = 0x1234;
  c.exc = PendingException{};
  CHECK(host_page(c, 0x600000, Access::Read, false) == nullptr);
  CHECK(c.exc.vector == 0);
  CHECK(!c.exc.has_error);
  CHECK(c.cr2 == 0x1234);
  // Supervisor-only pages are no user's: null for a user access.
  CHECK(host_page(c, 0x401000, Access::Read, true) == nullptr);
  CHECK(c.exc.vector == 0);

  // A page holding decoded code is readable but never written behind the code watch.
  m.bus().mark_code_page(0x402000);
  CHECK(host_page(c, 0x402000, Access::Read, false) == ram + 0x402000);
  CHECK(host_page(c, 0x402000, Access::Write, false) == nullptr);
  CHECK(c.exc.vector == 0);
}

namespace {

// The TLB tests' paging on a handler rig (MOV CR3/CR4 and INVLPG run through their
// handlers), with two pages remapped behind the TLB's back: linear 0x401000 (G set in
// its PTE) and 0x402000 (G clear) move to physical 0x601000 / 0x602000, which hold
// other values. Reading them tells whether the TLB still had the old translations.
struct GlobalRig {
  test::HandlerRig rig{CpuMode::Protected32, {}};
  Machine& m = *rig.m;
  CpuState& c = rig.cpu();

  explicit GlobalRig(bool pge) {
    setup_paging(m);
    m.bus().write_uint(0x11000 + 1 * 4, 0x401000 | 0x103, 4);  // G | RW | P
    m.bus().write_uint(0x401000, 0xA0, 4);
    m.bus().write_uint(0x402000, 0xB0, 4);
    m.bus().write_uint(0x601000, 0xA1, 4);
    m.bus().write_uint(0x602000, 0xB1, 4);
    if (pge) c.cr4 |= 1u << 7;
    tlb_flush(c);
    CHECK(read(0x401000) == 0xA0);
    CHECK(read(0x402000) == 0xB0);
    m.bus().write_uint(0x11000 + 1 * 4, 0x601000 | 0x103, 4);
    m.bus().write_uint(0x11000 + 2 * 4, 0x602000 | 0x003, 4);
  }
  uint32_t read(uint32_t lin) {
    uint32_t v = 0;
    REQUIRE(read_linear(c, lin, v, false));
    return v;
  }
  void mov_cr3() {  // mov cr3, eax with the same page directory
    c.gpr[RAX] = c.cr3;
    REQUIRE(rig.run({0x0F, 0x22, 0xD8}, "MOV_Cd_Rd") == ExecStatus::Branch);
  }
  void mov_cr4(uint64_t v) {
    c.gpr[RAX] = v;
    REQUIRE(rig.run({0x0F, 0x22, 0xE0}, "MOV_Cd_Rd") == ExecStatus::Branch);
  }
};

}  // namespace

TEST_CASE("TLB: with CR4.PGE a CR3 load keeps global translations and drops the others") {
  GlobalRig g(true);
  const uint32_t gen = g.c.tlb_generation;
  g.mov_cr3();
  CHECK(g.c.tlb_generation != gen);  // linear-keyed caches (the jump cache) must recheck
  CHECK(g.read(0x401000) == 0xA0);   // global: the old translation stayed
  CHECK(g.read(0x402000) == 0xB1);   // not global: walked again
  // INVLPG drops a global translation.
  g.c.gpr[RAX] = 0x401000;
  REQUIRE(g.rig.run({0x0F, 0x01, 0x38}, "INVLPG_M") == ExecStatus::Branch);
  CHECK(g.read(0x401000) == 0xA1);
}

TEST_CASE("TLB: clearing or setting CR4.PGE drops global translations; without PGE, G means nothing") {
  SUBCASE("PGE cleared") {
    GlobalRig g(true);
    g.mov_cr4(g.c.cr4 & ~(1ull << 7));
    CHECK(g.read(0x401000) == 0xA1);
  }
  SUBCASE("PGE set") {
    GlobalRig g(true);
    g.mov_cr4(g.c.cr4 & ~(1ull << 7));
    g.m.bus().write_uint(0x11000 + 1 * 4, 0x401000 | 0x103, 4);
    CHECK(g.read(0x401000) == 0xA0);  // cached again
    g.mov_cr4(g.c.cr4 | (1ull << 7));
    g.m.bus().write_uint(0x11000 + 1 * 4, 0x601000 | 0x103, 4);
    CHECK(g.read(0x401000) == 0xA1);  // setting PGE flushed it
  }
  SUBCASE("PGE clear all along") {
    GlobalRig g(false);
    g.mov_cr3();
    CHECK(g.read(0x401000) == 0xA1);
    CHECK(g.read(0x402000) == 0xB1);
  }
}

TEST_CASE("TLB: an entry that merges a global and a non-global translation is not kept by a CR3 load") {
  GlobalRig g(true);
  // The read permission came from the global PTE; now the PTE (still pointing at
  // 0x601000's new mapping, G clear) grants the write.
  g.m.bus().write_uint(0x11000 + 1 * 4, 0x401000 | 0x003, 4);
  REQUIRE(write_linear<uint32_t>(g.c, 0x401004, 0x55, false));
  g.m.bus().write_uint(0x11000 + 1 * 4, 0x601000 | 0x103, 4);
  g.mov_cr3();
  CHECK(g.read(0x401000) == 0xA1);
}

TEST_CASE("TLB: code translations (fetches, block lookups) are cached, dropped by INVLPG, and one entry holds one mapping") {
  auto machine = test::new_machine(16ull << 20);
  Machine& m = *machine;
  CpuState& c = m.cpu();
  setup_paging(m);
  uint64_t phys = 0;
  REQUIRE(translate_code(c, 0x401234, false, phys));
  CHECK(phys == 0x401234);
  CHECK((pte(m, 0x401000) & 0x20) == 0x20);  // accessed
  // Remapped behind the TLB's back: the cached translation is used until INVLPG.
  m.bus().write_uint(0x11000 + 1 * 4, 0x601000 | 3, 4);
  REQUIRE(translate_code(c, 0x401234, false, phys));
  CHECK(phys == 0x401234);
  tlb_flush_page(c, 0x401000);
  REQUIRE(translate_code(c, 0x401234, false, phys));
  CHECK(phys == 0x601234);

  // A data access that walks to another physical page replaces the whole entry, so
  // the code translation cannot outlive the mapping the entry now holds.
  m.bus().write_uint(0x11000 + 1 * 4, 0x701000 | 3, 4);
  tlb_flush_page(c, 0x401000);
  REQUIRE(translate_code(c, 0x401000, false, phys));
  CHECK(phys == 0x701000);
  m.bus().write_uint(0x11000 + 1 * 4, 0x501000 | 3, 4);
  uint32_t v = 0;
  REQUIRE(write_linear<uint32_t>(c, 0x401000, 7, false));  // cached entry has no write tag: walks
  REQUIRE(read_linear(c, 0x401000, v, false));
  CHECK(v == 7);
  CHECK(m.bus().read_uint(0x501000, 4) == 7);
  // The code translation went with the old mapping: the next lookup walks (and sets
  // the accessed bit cleared since).
  m.bus().write_uint(0x11000 + 1 * 4, 0x501000 | 3, 4);
  REQUIRE(translate_code(c, 0x401000, false, phys));
  CHECK(phys == 0x501000);
  CHECK((pte(m, 0x401000) & 0x20) == 0x20);

  // The supervisor's code translation is not the user's: a user fetch walks and faults.
  c.exc = PendingException{};
  CHECK_FALSE(translate_code(c, 0x401000, true, phys));
  CHECK(c.exc.vector == kVecPF);
  CHECK(c.cr2 == 0x401000);
}
