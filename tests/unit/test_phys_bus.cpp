// machine/phys_bus: RAM bounds, ROM and MMIO overlays, the A20 gate and the
// code-page watch that keeps decoded blocks honest.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "machine/phys_bus.h"

using namespace kestrel::machine;

namespace {

constexpr uint64_t kRam = 1ull << 20;

struct Bus {
  PhysBus bus;
  Bus(uint64_t ram = kRam) {
    std::string err;
    REQUIRE(bus.init_ram(ram, err));
  }
};

// A device backed by bytes, logging each access.
class FakeMmio : public MmioDevice {
 public:
  struct Access {
    bool write;
    uint64_t offset;
    unsigned size;
    uint64_t value;
  };
  std::vector<uint8_t> mem = std::vector<uint8_t>(0x1000, 0);
  std::vector<Access> log;

  uint64_t mmio_read(uint64_t offset, unsigned size) override {
    uint64_t v = 0;
    for (unsigned i = 0; i < size; ++i) v |= static_cast<uint64_t>(mem.at(offset + i)) << (8 * i);
    log.push_back({false, offset, size, v});
    return v;
  }
  void mmio_write(uint64_t offset, uint64_t value, unsigned size) override {
    for (unsigned i = 0; i < size; ++i) mem.at(offset + i) = static_cast<uint8_t>(value >> (8 * i));
    log.push_back({true, offset, size, value});
  }
};

class FakeListener : public CodeWriteListener {
 public:
  std::vector<uint64_t> pages;
  PhysBus* bus = nullptr;
  bool clear_on_write = false;
  void code_page_written(uint64_t page_addr) override {
    pages.push_back(page_addr);
    if (clear_on_write) bus->clear_code_page(page_addr);
  }
};

}  // namespace

TEST_CASE("phys_bus: RAM reads and writes") {
  Bus b;
  CHECK(b.bus.ram_size() == kRam);
  b.bus.write_uint(0x1234, 0x1122334455667788ull, 8);
  CHECK(b.bus.read_uint(0x1234, 8) == 0x1122334455667788ull);
  CHECK(b.bus.read_uint(0x1234, 1) == 0x88);
  CHECK(b.bus.read_uint(0x1238, 4) == 0x11223344);
  // Fresh RAM reads as zero.
  CHECK(b.bus.read_uint(0x50000, 4) == 0);
  // Across a page boundary.
  b.bus.write_uint(0x2FFE, 0xAABBCCDD, 4);
  CHECK(b.bus.read_uint(0x2FFE, 4) == 0xAABBCCDD);
  CHECK(b.bus.read_uint(0x3000, 1) == 0xBB);
  // Page pointers for RAM.
  CHECK(b.bus.page_for_read(0x2000) == b.bus.ram() + 0x2000);
  CHECK(b.bus.page_for_write(0x2000) == b.bus.ram() + 0x2000);
  CHECK(b.bus.ram_offset(0x2345) == 0x2345);
}

TEST_CASE("phys_bus: outside RAM reads all-ones and ignores writes") {
  Bus b;
  CHECK(b.bus.read_uint(kRam, 1) == 0xFF);
  CHECK(b.bus.read_uint(kRam + 0x1000, 4) == 0xFFFFFFFF);
  CHECK(b.bus.read_uint(0xFFFFFFF0ull, 8) == ~0ull);
  CHECK(b.bus.read_uint(0x123456789000ull, 2) == 0xFFFF);
  b.bus.write_uint(kRam + 0x10, 0x12345678, 4);
  CHECK(b.bus.read_uint(kRam + 0x10, 4) == 0xFFFFFFFF);
  // An access straddling the end of RAM: the RAM part works, the rest is all-ones.
  b.bus.write_uint(kRam - 2, 0xA1B2C3D4, 4);
  CHECK(b.bus.read_uint(kRam - 2, 2) == 0xC3D4);
  CHECK(b.bus.read_uint(kRam - 2, 4) == 0xFFFFC3D4);
  CHECK(b.bus.page_for_read(kRam) == nullptr);
  CHECK(b.bus.page_for_write(kRam) == nullptr);
  CHECK(b.bus.ram_offset(kRam) == ~0ull);
}

TEST_CASE("phys_bus: bad RAM sizes are refused with a message") {
  PhysBus bus;
  std::string err;
  CHECK(!bus.init_ram(4096, err));  // less than 1 MiB
  CHECK(!err.empty());
  PhysBus bus2;
  std::string err2;
  CHECK(!bus2.init_ram((1u << 20) + 1, err2));  // not whole pages
  CHECK(!err2.empty());
}

TEST_CASE("phys_bus: ROM overlays RAM read-only") {
  Bus b;
  b.bus.write_uint(0xF0000, 0x11111111, 4);  // RAM under the ROM
  std::vector<uint8_t> rom(0x10000);
  for (size_t i = 0; i < rom.size(); ++i) rom[i] = static_cast<uint8_t>(i * 7);
  b.bus.map_rom(0xF0000, rom, "test-rom");
  CHECK(b.bus.read_uint(0xF0000, 1) == rom[0]);
  CHECK(b.bus.read_uint(0xF0010, 1) == rom[0x10]);
  CHECK(b.bus.read_uint(0xFFFF0, 1) == rom[0xFFF0]);
  b.bus.write_uint(0xF0010, 0xEE, 1);
  CHECK(b.bus.read_uint(0xF0010, 1) == rom[0x10]);
  // Reads have a page pointer (into the ROM image), writes none.
  uint8_t* p = b.bus.page_for_read(0xF1000);
  REQUIRE(p != nullptr);
  CHECK(p[5] == rom[0x1005]);
  CHECK(b.bus.page_for_write(0xF1000) == nullptr);
  // RAM next to the ROM is unaffected.
  b.bus.write_uint(0xEFFFF, 0x5A, 1);
  CHECK(b.bus.read_uint(0xEFFFF, 1) == 0x5A);
  // A second ROM mapped later wins where they overlap; the first one's pointer stays good.
  std::vector<uint8_t> rom2(0x1000, 0x42);
  b.bus.map_rom(0xF8000, rom2, "test-rom-2");
  CHECK(b.bus.read_uint(0xF8000, 1) == 0x42);
  CHECK(b.bus.read_uint(0xF0010, 1) == rom[0x10]);
  CHECK(b.bus.read_uint(0xF9000, 1) == rom[0x9000]);
}

TEST_CASE("phys_bus: MMIO dispatch") {
  Bus b;
  FakeMmio dev;
  b.bus.map_mmio(0xFEC00000ull, 0x1000, &dev, "fake");
  b.bus.write_uint(0xFEC00010ull, 0xCAFEBABE, 4);
  REQUIRE(dev.log.size() == 1);
  CHECK(dev.log[0].write);
  CHECK(dev.log[0].offset == 0x10);
  CHECK(dev.log[0].size == 4);
  CHECK(dev.log[0].value == 0xCAFEBABE);
  CHECK(b.bus.read_uint(0xFEC00010ull, 4) == 0xCAFEBABE);
  REQUIRE(dev.log.size() == 2);
  CHECK(!dev.log[1].write);
  CHECK(dev.log[1].offset == 0x10);
  CHECK(dev.log[1].size == 4);
  // An unaligned access reaches the right bytes, however it is split.
  CHECK(b.bus.read_uint(0xFEC00011ull, 4) == ((0xCAFEBABEull >> 8) | (0ull << 24)));
  b.bus.write_uint(0xFEC00021ull, 0x44332211, 4);
  CHECK(dev.mem[0x21] == 0x11);
  CHECK(dev.mem[0x24] == 0x44);
  // MMIO overlays RAM: no direct page pointers.
  FakeMmio low;
  b.bus.map_mmio(0xA0000, 0x1000, &low, "low");
  CHECK(b.bus.page_for_read(0xA0000) == nullptr);
  CHECK(b.bus.page_for_write(0xA0000) == nullptr);
  b.bus.write_uint(0xA0000, 0x77, 1);
  CHECK(low.mem[0] == 0x77);
  CHECK(b.bus.ram()[0xA0000] == 0);
  // Just outside the region: RAM again.
  b.bus.write_uint(0xA1000, 0x66, 1);
  CHECK(b.bus.ram()[0xA1000] == 0x66);
}

TEST_CASE("phys_bus: the A20 gate") {
  Bus b;
  CHECK(b.bus.a20());  // enabled at power-on on this board
  CHECK(b.bus.a20_mask() == ~0ull);
  b.bus.set_a20(false);
  CHECK(!b.bus.a20());
  CHECK((0x100000ull & b.bus.a20_mask()) == 0);
  CHECK((0x10FFEFull & b.bus.a20_mask()) == 0x0FFEF);
  CHECK((0x300000ull & b.bus.a20_mask()) == 0x200000);  // only bit 20
  b.bus.set_a20(true);
  CHECK((0x100000ull & b.bus.a20_mask()) == 0x100000);
}

TEST_CASE("phys_bus: writes to a code page notify the listener") {
  Bus b;
  FakeListener l;
  l.bus = &b.bus;
  b.bus.set_code_listener(&l);
  b.bus.mark_code_page(0x7000);
  CHECK(b.bus.is_code_page(0x7000));
  CHECK(!b.bus.is_code_page(0x8000));
  // A write elsewhere: nothing.
  b.bus.write_uint(0x8000, 1, 1);
  b.bus.write_uint(0x6FFF, 1, 1);
  CHECK(l.pages.empty());
  // A write into the page: its address.
  b.bus.write_uint(0x7C05, 0x90, 1);
  REQUIRE(!l.pages.empty());
  CHECK(l.pages[0] == 0x7000);
  CHECK(b.bus.ram()[0x7C05] == 0x90);  // the write itself still happens
  // A write straddling into the code page from below.
  l.pages.clear();
  l.clear_on_write = true;
  b.bus.mark_code_page(0x7000);
  b.bus.write_uint(0x6FFE, 0x11223344, 4);
  REQUIRE(l.pages.size() == 1);
  CHECK(l.pages[0] == 0x7000);
  CHECK(!b.bus.is_code_page(0x7000));  // cleared by the listener
  CHECK(b.bus.read_uint(0x6FFE, 4) == 0x11223344);
  // Cleared pages are not watched.
  l.pages.clear();
  b.bus.write_uint(0x7000, 0, 1);
  CHECK(l.pages.empty());
  // Pages outside RAM cannot be marked.
  b.bus.mark_code_page(kRam + 0x1000);
  CHECK(!b.bus.is_code_page(kRam + 0x1000));
  // DMA writes count too (devices writing into code).
  b.bus.mark_code_page(0x9000);
  b.bus.dma_write(0x9010, "\x01\x02", 2);
  REQUIRE(l.pages.size() == 1);
  CHECK(l.pages[0] == 0x9000);
  b.bus.set_code_listener(nullptr);
}
