// The soft TLB: INVLPG of an address in a large page drops every 4 KiB piece of
// that page the TLB holds, and keeps unrelated entries (Linux maps its kernel with
// large pages and issues INVLPG often: a full flush each time cost a refill).
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "machine/machine.h"
#include "machine/memory.h"
#include "machine/segments.h"
#include "test_machine.h"

using namespace kestrel;
using namespace kestrel::machine;

TEST_CASE("TLB: INVLPG in a 4 MiB page drops all its pieces and keeps 4 KiB entries elsewhere") {
  auto owned_machine = test::new_machine(16ull << 20);
  auto& m = *owned_machine;
  CpuState& c = m.cpu();
  // 32-bit paging with PSE: PDE 0 is a 4 MiB page at physical 0; PDE 1 points at a
  // page table identity-mapping 0x400000-0x7FFFFF with 4 KiB pages.
  m.bus().write_uint(0x10000, 0x00000083, 4);  // P | RW | PS
  m.bus().write_uint(0x10004, 0x00011003, 4);  // P | RW -> page table at 0x11000
  for (uint32_t i = 0; i < 1024; ++i) m.bus().write_uint(0x11000 + i * 4, (0x400000 + (i << 12)) | 3, 4);
  m.bus().write_uint(0x2000, 0x11111111, 4);
  m.bus().write_uint(0x802000, 0x22222222, 4);  // where linear 0x2000 goes after the remap
  m.bus().write_uint(0x405000, 0x33333333, 4);
  c.cr3 = 0x10000;
  c.cr4 |= 1u << 4;  // PSE
  c.cr0 |= kCr0PE | kCr0PG;
  update_cpu_mode(c);
  tlb_flush(c);

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
