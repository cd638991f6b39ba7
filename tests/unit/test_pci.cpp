// machine/pci, devices/fw_cfg, acpi/acpi_loader: configuration mechanism #1 at every
// access size and offset, BAR sizing and decoding, INTx -> PIRQ -> ISA IRQ routing,
// the i440FX's PAM shadow RAM (and the code-cache notification it sends), the PIIX4
// PM block moving with PMBASE, fw_cfg through its ports and its DMA interface, and
// the ACPI linker/loader script run the way SeaBIOS runs it, and Linux staged in
// fw_cfg for the BIOS path with our linuxboot option ROM.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "machine/acpi/acpi_loader.h"
#include "interp/interpreter.h"
#include "machine/board.h"
#include "machine/devices/acpi_pm.h"
#include "machine/devices/fw_cfg.h"
#include "machine/loaders/linux_boot.h"
#include "machine/loaders/linux_fw_cfg.h"
#include "machine/machine.h"
#include "machine/pci/i440fx.h"
#include "machine/pci/pci.h"
#include "machine/pci/piix.h"
#include "machine/segments.h"
#ifdef KESTREL_HAVE_JIT
#include "jit/jit.h"
#endif
#include "test_machine.h"

using namespace kestrel::machine;

namespace {

struct Pc {
  std::unique_ptr<Machine> m;
  BoardDevices dev;
  explicit Pc(bool firmware = false) {
    m = kestrel::test::new_machine(32ull << 20);
    BoardOptions opt;
    opt.firmware = firmware;
    dev = build_basic_board(*m, opt);
    REQUIRE(dev.pci);
    REQUIRE(dev.fw_cfg);
  }
  PortBus& io() { return m->ports(); }
  uint32_t cfg_read(unsigned devfn, unsigned off, unsigned size) {
    io().out(0xCF8, 0x80000000u | devfn << 8 | (off & 0xFC), 4);
    return io().in(static_cast<uint16_t>(0xCFC + (off & 3)), size);
  }
  void cfg_write(unsigned devfn, unsigned off, uint32_t v, unsigned size) {
    io().out(0xCF8, 0x80000000u | devfn << 8 | (off & 0xFC), 4);
    io().out(static_cast<uint16_t>(0xCFC + (off & 3)), v, size);
  }
};

// A test function: an I/O BAR, a memory BAR, an expansion ROM and INTA#.
class TestDevice final : public Device, public PciDevice {
 public:
  std::vector<std::pair<unsigned, uint32_t>> io_log;
  std::map<unsigned, uint64_t> moved;
  uint32_t reg = 0;
  TestDevice() : PciDevice(0x1234, 0x5678, 0x010180, 7) {
    declare_bar(0, PciBar::Io, 16);
    declare_bar(1, PciBar::Mem32, 4096);
    std::vector<uint8_t> rom(3000, 0);
    rom[0] = 0x55;
    rom[1] = 0xAA;
    rom[2999] = 0x42;
    declare_rom(rom);
    set_interrupt_pin(1);
  }
  const char* name() const override { return "test-pci"; }
  void reset() override {}
  void save(StateWriter&) const override {}
  void load(StateReader&) override {}
  uint32_t io_read(unsigned bar, uint32_t off, unsigned size) override {
    io_log.emplace_back(bar, off);
    return 0xA0 + off + (size << 8);
  }
  void io_write(unsigned, uint32_t off, uint32_t v, unsigned) override { io_log.emplace_back(100 + off, v); }
  uint64_t mmio_read(unsigned, uint64_t off, unsigned) override { return off == 8 ? reg : 0x77; }
  void mmio_write(unsigned, uint64_t off, uint64_t v, unsigned) override {
    if (off == 8) reg = static_cast<uint32_t>(v);
  }
  void bar_moved(unsigned bar, uint64_t addr) override { moved[bar] = addr; }
};

}  // namespace

TEST_CASE("pci: configuration mechanism #1, every size and offset") {
  Pc pc;
  CHECK(pc.cfg_read(0x00, 0, 4) == 0x12378086u);   // i440FX
  CHECK(pc.cfg_read(0x08, 0, 4) == 0x70008086u);   // PIIX3 at 00:01.0
  CHECK(pc.cfg_read(0x0B, 0, 4) == 0x71138086u);   // PIIX4 PM at 00:01.3
  CHECK(pc.cfg_read(0x00, 0, 1) == 0x86);
  CHECK(pc.cfg_read(0x00, 1, 1) == 0x80);
  CHECK(pc.cfg_read(0x00, 2, 2) == 0x1237);
  CHECK(pc.cfg_read(0x00, 3, 1) == 0x12);
  CHECK(pc.cfg_read(0x00, 0x0A, 2) == 0x0600);     // class: host bridge
  CHECK(pc.cfg_read(0x00, 0x2C, 4) == 0x11001AF4u); // the subsystem SeaBIOS looks for
  // Function 0 of a multi-function slot says so; a single-function slot does not.
  CHECK(pc.cfg_read(0x08, 0x0E, 1) == 0x80);
  CHECK((pc.cfg_read(0x08, 0x0C, 4) >> 16 & 0xFF) == 0x80);
  CHECK(pc.cfg_read(0x00, 0x0E, 1) == 0x00);
  // Absent functions, another bus, the enable bit off: all-ones.
  CHECK(pc.cfg_read(0x10, 0, 4) == 0xFFFFFFFFu);
  CHECK(pc.cfg_read(0x0A, 0, 2) == 0xFFFFu);
  pc.io().out(0xCF8, 0x80010000u, 4);
  CHECK(pc.io().in(0xCFC, 4) == 0xFFFFFFFFu);
  pc.io().out(0xCF8, 0x00000000u, 4);
  CHECK(pc.io().in(0xCFC, 4) == 0xFFFFFFFFu);
  // CONFIG_ADDRESS reads back without its reserved bits; byte accesses do not reach it.
  pc.io().out(0xCF8, 0x8000FFFFu, 4);
  CHECK(pc.io().in(0xCF8, 4) == 0x8000FFFCu);
  pc.io().out(0xCF8, 0x12, 1);
  pc.io().out(0xCFA, 0x34, 1);
  CHECK(pc.io().in(0xCF8, 4) == 0x8000FFFCu);
  // Read-only registers stay; writable ones take only their writable bits.
  pc.cfg_write(0x00, 0, 0xFFFFFFFF, 4);
  CHECK(pc.cfg_read(0x00, 0, 4) == 0x12378086u);
  pc.cfg_write(0x08, 0x60, 0xFFFFFFFF, 4);
  CHECK(pc.cfg_read(0x08, 0x60, 4) == 0x8F8F8F8Fu);
  pc.cfg_write(0x08, 0x62, 0x0B0A, 2);
  CHECK(pc.cfg_read(0x08, 0x60, 4) == 0x0B0A8F8Fu);
  pc.cfg_write(0x08, 0x61, 0x05, 1);
  CHECK(pc.cfg_read(0x08, 0x60, 4) == 0x0B0A058Fu);
  // A reset restores the power-on values.
  pc.m->reset();
  CHECK(pc.cfg_read(0x08, 0x60, 4) == 0x80808080u);
}

TEST_CASE("pci: BAR sizing, decoding, the expansion ROM") {
  Pc pc;
  auto* d = pc.m->add_device<TestDevice>();
  pc.dev.pci->add(d, 3, 0);
  const unsigned devfn = 3 << 3;
  CHECK(pc.cfg_read(devfn, 0, 4) == 0x56781234u);
  CHECK(pc.cfg_read(devfn, 0x10, 4) == 0x1u);        // I/O BAR
  CHECK(pc.cfg_read(devfn, 0x14, 4) == 0x0u);        // 32-bit memory BAR
  // Size probing: write all-ones, read the mask back (PCI 3.0 §6.2.5.1).
  pc.cfg_write(devfn, 0x10, 0xFFFFFFFF, 4);
  CHECK(pc.cfg_read(devfn, 0x10, 4) == 0xFFFFFFF1u);
  pc.cfg_write(devfn, 0x14, 0xFFFFFFFF, 4);
  CHECK(pc.cfg_read(devfn, 0x14, 4) == 0xFFFFF000u);
  pc.cfg_write(devfn, 0x30, 0xFFFFFFFF, 4);
  CHECK(pc.cfg_read(devfn, 0x30, 4) == 0xFFFFF001u);  // 4 KiB ROM (3000 bytes, padded)
  CHECK(pc.cfg_read(devfn, 0x18, 4) == 0u);           // no BAR 2
  CHECK(d->bar_address(0) == PciDevice::kUnmapped);   // decoding still off
  // Program and enable.
  pc.cfg_write(devfn, 0x10, 0xC001, 4);
  pc.cfg_write(devfn, 0x14, 0xE0001000, 4);
  pc.cfg_write(devfn, 0x30, 0xE0010001, 4);
  CHECK(pc.io().in(0xC004, 1) == 0xFF);  // not yet: command.IO is clear
  pc.cfg_write(devfn, 0x04, 0x0003, 2);
  CHECK(d->bar_address(0) == 0xC000);
  CHECK(d->moved[0] == 0xC000);
  CHECK(pc.io().in(0xC004, 2) == 0x2A4);
  REQUIRE(!d->io_log.empty());
  CHECK(d->io_log.back() == std::make_pair(0u, 4u));
  pc.io().out(0xC00F, 0x99, 1);
  CHECK(d->io_log.back() == std::make_pair(115u, 0x99u));
  pc.m->bus().write_uint(0xE0001008, 0xCAFE, 4);
  CHECK(d->reg == 0xCAFE);
  CHECK(pc.m->bus().read_uint(0xE0001008, 4) == 0xCAFE);
  CHECK(pc.m->bus().read_uint(0xE0010000, 2) == 0xAA55);
  CHECK(pc.m->bus().read_uint(0xE0010000 + 2999, 1) == 0x42);
  CHECK(pc.m->bus().read_uint(0xE0010000 + 3000, 1) == 0xFF);  // padding
  // Move the I/O BAR: the old ports float, the new ones answer.
  pc.cfg_write(devfn, 0x10, 0xD000, 4);
  CHECK(pc.io().in(0xC004, 1) == 0xFF);
  CHECK(pc.io().in(0xD004, 1) == 0xA4);
  // Decoding off: nothing answers.
  pc.cfg_write(devfn, 0x04, 0, 2);
  CHECK(pc.io().in(0xD004, 1) == 0xFF);
  CHECK(pc.m->bus().read_uint(0xE0001008, 4) == 0xFFFFFFFFu);
  CHECK(d->moved[1] == PciDevice::kUnmapped);
}

TEST_CASE("pci: INTx through the PIIX3's PIRQ routes to the ISA lines") {
  Pc pc;
  auto* d = pc.m->add_device<TestDevice>();
  pc.dev.pci->add(d, 3, 0);
  const unsigned devfn = 3 << 3;
  // Slot 3, INTA#: PIRQ (0 + 3 - 1) mod 4 = PIRQC#, config 0x62.
  CHECK(PciBus::pirq_of(3, 1) == 2);
  CHECK(PciBus::pirq_of(1, 1) == 0);
  CHECK(PciBus::pirq_of(2, 4) == 0);
  d->set_irq(true);
  CHECK(pc.dev.pci->pirq_level(2));
  CHECK(!pc.m->isa_irq(11).level());  // route disabled at power-on
  CHECK((pc.cfg_read(devfn, 0x06, 2) & 0x8) != 0);  // interrupt status
  pc.cfg_write(0x08, 0x62, 11, 1);
  CHECK(pc.m->isa_irq(11).level());
  pc.cfg_write(0x08, 0x62, 10, 1);  // re-routed
  CHECK(!pc.m->isa_irq(11).level());
  CHECK(pc.m->isa_irq(10).level());
  pc.cfg_write(devfn, 0x04, 0x400, 2);  // Interrupt Disable
  CHECK(!pc.m->isa_irq(10).level());
  pc.cfg_write(devfn, 0x04, 0, 2);
  CHECK(pc.m->isa_irq(10).level());
  d->set_irq(false);
  CHECK(!pc.m->isa_irq(10).level());
  CHECK((pc.cfg_read(devfn, 0x06, 2) & 0x8) == 0);
  // Reserved route values (IRQ 0-2, 8, 13) route nowhere.
  pc.cfg_write(0x08, 0x62, 8, 1);
  CHECK(pc.dev.isa_bridge->route_of(2) == -1);
}

namespace {
// Records code-page notifications.
struct CodeSpy : CodeWriteListener {
  std::vector<uint64_t> pages;
  void code_page_written(uint64_t page) override { pages.push_back(page); }
};
}  // namespace

TEST_CASE("i440fx: PAM shadow RAM over the BIOS ROM") {
  Pc pc(/*firmware=*/true);
  PhysBus& bus = pc.m->bus();
  std::vector<uint8_t> rom(0x20000, 0xEE);
  rom[0x10000] = 0x5A;  // lands at 0xF0000 (and at 0xFFFF0000)
  bus.map_rom(0xFFFE0000, rom, "bios");
  bus.map_rom(0xE0000, rom, "bios low");
  CodeSpy spy;
  bus.set_code_listener(&spy);
  bus.mark_code_page(0xF0000);
  CHECK(pc.cfg_read(0x00, 0x59, 1) == 0x00);
  CHECK(bus.read_uint(0xF0000, 1) == 0x5A);    // PAM off: the ROM
  CHECK(bus.read_uint(0xC0000, 1) == 0xFF);    // nothing on the PCI bus there
  bus.write_uint(0xC0000, 0x11, 1);            // dropped
  // SeaBIOS's unlock: a dword at 0x58 and 0x5C (PAM0 0x30, PAM1-6 0x33).
  pc.cfg_write(0x00, 0x58, 0x30000000 | 0x00, 4);
  pc.cfg_write(0x00, 0x59, 0x3330, 2);
  pc.cfg_write(0x00, 0x5C, 0x33333333, 4);
  pc.cfg_write(0x00, 0x5B, 0x33, 1);
  CHECK(pc.cfg_read(0x00, 0x58, 4) == 0x33333000u);
  CHECK(pc.cfg_read(0x00, 0x5C, 4) == 0x33333333u);
  CHECK(!spy.pages.empty());                   // decoded code from the ROM page must go
  CHECK(bus.read_uint(0xF0000, 1) == 0x00);    // RAM now
  bus.write_uint(0xF0000, 0x77, 1);
  CHECK(bus.read_uint(0xF0000, 1) == 0x77);
  CHECK(bus.read_uint(0xC0000, 1) == 0x00);    // the dropped write never reached RAM
  bus.write_uint(0xC0000, 0x22, 1);
  CHECK(bus.read_uint(0xC0000, 1) == 0x22);
  CHECK(bus.page_for_write(0xF0000) != nullptr);
  // Read-only (0x10 / 0x11): RAM reads, writes ignored.
  pc.cfg_write(0x00, 0x59, 0x10, 1);
  pc.cfg_write(0x00, 0x5A, 0x11, 1);
  bus.write_uint(0xF0000, 0x99, 1);
  CHECK(bus.read_uint(0xF0000, 1) == 0x77);
  CHECK(bus.page_for_write(0xF0000) == nullptr);
  CHECK(bus.page_for_read(0xF0000) != nullptr);
  bus.write_uint(0xC0000, 0x33, 1);
  CHECK(bus.read_uint(0xC0000, 1) == 0x22);
  // Write-only (WE without RE): reads from the ROM, writes to RAM.
  pc.cfg_write(0x00, 0x59, 0x20, 1);
  CHECK(bus.read_uint(0xF0000, 1) == 0x5A);
  bus.write_uint(0xF0000, 0x44, 1);
  pc.cfg_write(0x00, 0x59, 0x10, 1);
  CHECK(bus.read_uint(0xF0000, 1) == 0x44);
  // Reset: back to the ROM.
  pc.m->reset();
  CHECK(bus.read_uint(0xF0000, 1) == 0x5A);
  bus.set_code_listener(nullptr);
}

// The code caches follow the PAM registers: code decoded (and translated) from the
// BIOS ROM at 0xF0000 must not run once the same addresses read shadow RAM.
static void pam_switch_runs_the_new_code(bool with_jit) {
  Pc pc(/*firmware=*/true);
  PhysBus& bus = pc.m->bus();
  // A loop that runs 40 times (enough for the JIT to translate it), then HLT:
  //   mov cx, 40; l: mov al, IMM; loop l; hlt
  auto code = [](uint8_t imm) {
    std::vector<uint8_t> v = {0xB9, 40, 0x00, 0xB0, imm, 0xE2, 0xFC, 0xF4};
    v.resize(0x10000, 0x90);
    return v;
  };
  bus.map_rom(0xF0000, code(0x11), "test rom");
  pc.cfg_write(0x00, 0x59, 0x20, 1);  // WE only: reads the ROM, writes reach the RAM below
  const std::vector<uint8_t> ram_code = code(0x22);
  bus.write(0xF0000, ram_code.data(), 16);
  kestrel::interp::Interpreter it(*pc.m);
#ifdef KESTREL_HAVE_JIT
  kestrel::jit::Jit j(false);
  if (with_jit) it.set_compiler(&j, 4);
#else
  (void)with_jit;
#endif
  CpuState& c = pc.m->cpu();
  auto run_from_f000 = [&] {
    load_segment_real(c, CS, 0xF000);
    c.rip = 0;
    c.halted = 0;  // out of the previous run's HLT
    c.gpr[RAX] = 0;
    CHECK(it.run(100000) == kestrel::interp::StopReason::HaltedNoInterrupts);
    return c.gpr[RAX] & 0xFF;
  };
  CHECK(run_from_f000() == 0x11);
  CHECK(run_from_f000() == 0x11);
  pc.cfg_write(0x00, 0x59, 0x30, 1);  // RE | WE: shadow RAM
  CHECK(run_from_f000() == 0x22);
  pc.cfg_write(0x00, 0x59, 0x00, 1);  // back to the ROM
  CHECK(run_from_f000() == 0x11);
}

TEST_CASE("i440fx: a PAM switch drops code decoded from the old contents (interpreter)") {
  pam_switch_runs_the_new_code(false);
}

#ifdef KESTREL_HAVE_JIT
TEST_CASE("i440fx: a PAM switch drops code decoded from the old contents (JIT)") {
  pam_switch_runs_the_new_code(true);
}
#endif

TEST_CASE("i440fx: without firmware the shadow RAM starts open, the PM block at 0x600") {
  Pc pc;
  CHECK(pc.cfg_read(0x00, 0x59, 1) == 0x30);
  pc.m->bus().write_uint(0xF0010, 0xAB, 1);
  CHECK(pc.m->bus().read_uint(0xF0010, 1) == 0xAB);
  REQUIRE(pc.dev.acpi_pm);
  CHECK(pc.cfg_read(0x0B, 0x40, 4) == 0x601u);
  CHECK(pc.dev.acpi_pm->attached());
}

TEST_CASE("piix4: PMBASE and PMIOSE move the ACPI PM block") {
  Pc pc(/*firmware=*/true);
  REQUIRE(pc.dev.acpi_pm);
  CHECK(!pc.dev.acpi_pm->attached());
  CHECK(pc.io().in(0x608, 4) == 0xFFFFFFFFu);
  pc.cfg_write(0x0B, 0x40, 0xB001, 4);
  CHECK(pc.cfg_read(0x0B, 0x40, 4) == 0xB001u);
  CHECK(!pc.dev.acpi_pm->attached());  // PMIOSE still clear
  pc.cfg_write(0x0B, 0x80, 0x01, 1);
  CHECK(pc.dev.acpi_pm->attached());
  CHECK(pc.dev.acpi_pm->base() == 0xB000);
  pc.m->cpu().icount += 1'000'000;  // 1 ms of guest time
  const uint32_t t = pc.io().in(0xB008, 4);
  CHECK(t == pc.dev.acpi_pm->timer_value());
  CHECK(t > 3000);
  pc.cfg_write(0x0B, 0x40, 0x601, 4);
  CHECK(pc.io().in(0xB008, 4) == 0xFFFFFFFFu);
  CHECK(pc.io().in(0x608, 4) == pc.dev.acpi_pm->timer_value());
  CHECK(pc.cfg_read(0x0B, 0x3D, 1) == 1);  // INTA#
  CHECK(pc.cfg_read(0x0B, 0x3C, 1) == 9);  // the SCI
}

namespace {
void put_be32(std::vector<uint8_t>& ram, size_t off, uint32_t v) {
  for (unsigned i = 0; i < 4; ++i) ram[off + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}
}  // namespace

TEST_CASE("fw_cfg: the port interface and the file directory") {
  Pc pc;
  FwCfg& fw = *pc.dev.fw_cfg;
  auto read_bytes = [&](uint16_t key, size_t n) {
    pc.io().out(0x510, key, 2);
    std::string s;
    for (size_t i = 0; i < n; ++i) s.push_back(static_cast<char>(pc.io().in(0x511, 1)));
    return s;
  };
  CHECK(read_bytes(FwCfg::kSignature, 4) == "QEMU");
  CHECK(read_bytes(FwCfg::kSignature, 6) == std::string("QEMU\0\0", 6));  // past the end: zeros
  pc.io().out(0x510, FwCfg::kId, 2);
  CHECK((pc.io().in(0x511, 1) & FwCfg::kIdDma) != 0);
  CHECK(read_bytes(FwCfg::kNbCpus, 2) == std::string("\x01\x00", 2));
  CHECK(read_bytes(FwCfg::kRamSize, 8) == std::string("\0\0\0\x02\0\0\0\0", 8));
  CHECK(read_bytes(0x1234, 2) == std::string("\0\0", 2));  // no such item
  // The DMA register's signature, "QEMU CFG" big-endian.
  CHECK(pc.io().in(0x514, 4) == 0x554D4551u);
  CHECK(pc.io().in(0x518, 4) == 0x47464320u);
  // Files: the directory is sorted by name; a second set_file keeps the key.
  const uint16_t kz = fw.set_file("zz/test", {1, 2, 3});
  const uint16_t ka = fw.set_file("aa/test", {9});
  CHECK(fw.set_file("zz/test", {4, 5, 6, 7}) == kz);
  const std::vector<uint8_t>& dir = *fw.item(FwCfg::kFileDir);
  const uint32_t count = dir[0] << 24 | dir[1] << 16 | dir[2] << 8 | dir[3];
  REQUIRE(dir.size() == 4 + 64 * count);
  std::vector<std::string> names;
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t* e = dir.data() + 4 + 64 * i;
    names.emplace_back(reinterpret_cast<const char*>(e + 8));
    if (names.back() == "zz/test") {
      CHECK((e[0] << 24 | e[1] << 16 | e[2] << 8 | e[3]) == 4);
      CHECK((e[4] << 8 | e[5]) == kz);
    }
    if (names.back() == "aa/test") CHECK((e[4] << 8 | e[5]) == ka);
  }
  CHECK(std::is_sorted(names.begin(), names.end()));
  for (const char* want : {"etc/e820", "etc/boot-fail-wait", "etc/table-loader", "etc/acpi/tables", "etc/acpi/rsdp"})
    CHECK(std::find(names.begin(), names.end(), want) != names.end());
  CHECK(read_bytes(kz, 4) == std::string("\x04\x05\x06\x07", 4));
}

TEST_CASE("fw_cfg: DMA select, read, skip, zero fill and errors") {
  Pc pc;
  FwCfg& fw = *pc.dev.fw_cfg;
  PhysBus& bus = pc.m->bus();
  const uint16_t key = fw.set_file("test/data", {10, 11, 12, 13, 14, 15});
  std::vector<uint8_t> desc(16);
  auto run = [&](uint32_t control, uint32_t length, uint64_t address, uint64_t at = 0x8000) {
    put_be32(desc, 0, control);
    put_be32(desc, 4, length);
    put_be32(desc, 8, static_cast<uint32_t>(address >> 32));
    put_be32(desc, 12, static_cast<uint32_t>(address));
    bus.write(at, desc.data(), 16);
    // The guest writes each half as a big-endian number with a 32-bit OUT.
    pc.io().out(0x514, __builtin_bswap32(static_cast<uint32_t>(at >> 32)), 4);
    pc.io().out(0x518, __builtin_bswap32(static_cast<uint32_t>(at)), 4);
    return static_cast<uint32_t>(bus.read_uint(at, 4));  // control, as stored (big-endian)
  };
  bus.write_uint(0x9000, 0xFFFFFFFFFFFFFFFFull, 8);
  CHECK(run(key << 16 | FwCfg::kDmaSelect | FwCfg::kDmaRead, 2, 0x9000) == 0);
  CHECK(bus.read_uint(0x9000, 4) == 0xFFFF0B0Au);
  CHECK(fw.selected() == key);
  CHECK(run(FwCfg::kDmaSkip, 2, 0) == 0);
  CHECK(run(FwCfg::kDmaRead, 4, 0x9002) == 0);  // 14, 15, then zeros past the end
  CHECK(bus.read_uint(0x9000, 8) == 0xFFFF00000F0E0B0Aull);
  // The port interface continues where DMA stopped, and a new SELECT restarts.
  CHECK(run(key << 16 | FwCfg::kDmaSelect | FwCfg::kDmaSkip, 1, 0) == 0);
  CHECK(pc.io().in(0x511, 1) == 11);
  // WRITE is refused with the error bit (big-endian 1 = 0x01000000 read little-endian).
  CHECK(run(FwCfg::kDmaWrite, 1, 0x9000) == 0x01000000u);
  // A descriptor above 4 GiB-ish RAM limits: nothing there, no crash; status lost.
  run(FwCfg::kDmaRead, 4, 0x9000, 0x7FFFFFF0ull);
  // A large read in one transfer (chunked inside).
  std::vector<uint8_t> big(10000);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 7);
  const uint16_t kb = fw.set_file("test/big", big);
  CHECK(run(kb << 16 | FwCfg::kDmaSelect | FwCfg::kDmaRead, 10000, 0x10000) == 0);
  std::vector<uint8_t> got(10000);
  bus.read(0x10000, got.data(), got.size());
  CHECK(got == big);
}

TEST_CASE("acpi loader: the table-loader script, run as SeaBIOS runs it, yields valid tables") {
  const AcpiLoaderFiles f = build_acpi_loader_files(AcpiConfig{});
  REQUIRE(f.loader.size() % 128 == 0);
  std::map<std::string, std::vector<uint8_t>> files = {{"etc/acpi/rsdp", f.rsdp}, {"etc/acpi/tables", f.tables}};
  std::map<std::string, uint64_t> addr;
  // Lay the files out in a flat "memory" as the BIOS would.
  std::vector<uint8_t> mem(0x20000, 0);
  uint64_t next_high = 0x10000;
  auto le = [](const uint8_t* p, unsigned n) {
    uint64_t v = 0;
    for (unsigned i = 0; i < n; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
    return v;
  };
  for (size_t i = 0; i < f.loader.size(); i += 128) {
    const uint8_t* c = f.loader.data() + i;
    const uint32_t cmd = static_cast<uint32_t>(le(c, 4));
    const std::string file(reinterpret_cast<const char*>(c + 4));
    if (cmd == 1) {
      REQUIRE(files.count(file));
      const uint32_t align = static_cast<uint32_t>(le(c + 60, 4));
      const uint8_t zone = c[64];
      uint64_t at = zone == 2 ? 0xF000 : (next_high + align - 1) / align * align;
      if (zone != 2) next_high = at + files[file].size();
      addr[file] = at;
    } else if (cmd == 2) {
      const std::string src(reinterpret_cast<const char*>(c + 60));
      REQUIRE(files.count(file));
      REQUIRE(addr.count(src));
      const uint32_t off = static_cast<uint32_t>(le(c + 116, 4));
      const uint8_t size = c[120];
      std::vector<uint8_t>& d = files[file];
      REQUIRE(off + size <= d.size());
      uint64_t v = le(d.data() + off, size) + addr[src];
      for (unsigned b = 0; b < size; ++b) d[off + b] = static_cast<uint8_t>(v >> (8 * b));
    } else if (cmd == 3) {
      std::vector<uint8_t>& d = files[file];
      const uint32_t off = static_cast<uint32_t>(le(c + 60, 4)), start = static_cast<uint32_t>(le(c + 64, 4)),
                     len = static_cast<uint32_t>(le(c + 68, 4));
      REQUIRE(start + len <= d.size());
      uint8_t sum = 0;
      for (uint32_t b = start; b < start + len; ++b) sum = static_cast<uint8_t>(sum + d[b]);
      d[off] = static_cast<uint8_t>(d[off] - sum);
    } else {
      FAIL("unknown loader command " << cmd);
    }
  }
  for (auto& [name, d] : files) std::memcpy(mem.data() + addr[name], d.data(), d.size());
  auto sum = [&](uint64_t a, size_t n) {
    uint8_t s = 0;
    for (size_t i = 0; i < n; ++i) s = static_cast<uint8_t>(s + mem[a + i]);
    return s;
  };
  const uint64_t rsdp = addr["etc/acpi/rsdp"];
  CHECK(std::memcmp(mem.data() + rsdp, "RSD PTR ", 8) == 0);
  CHECK(sum(rsdp, 20) == 0);
  CHECK(sum(rsdp, 36) == 0);
  const uint64_t rsdt = le(mem.data() + rsdp + 16, 4), xsdt = le(mem.data() + rsdp + 24, 8);
  REQUIRE(rsdt + 36 < mem.size());
  REQUIRE(xsdt + 36 < mem.size());
  CHECK(std::memcmp(mem.data() + rsdt, "RSDT", 4) == 0);
  CHECK(std::memcmp(mem.data() + xsdt, "XSDT", 4) == 0);
  const uint32_t rsdt_len = static_cast<uint32_t>(le(mem.data() + rsdt + 4, 4));
  CHECK(sum(rsdt, rsdt_len) == 0);
  std::vector<std::string> sigs;
  for (uint64_t e = rsdt + 36; e < rsdt + rsdt_len; e += 4) {
    const uint64_t t = le(mem.data() + e, 4);
    REQUIRE(t + 8 < mem.size());
    sigs.emplace_back(reinterpret_cast<const char*>(mem.data() + t), 4);
    CHECK(sum(t, le(mem.data() + t + 4, 4)) == 0);
    if (sigs.back() == "FACP") {
      const uint64_t facs = le(mem.data() + t + 36, 4), dsdt = le(mem.data() + t + 40, 4);
      CHECK(std::memcmp(mem.data() + facs, "FACS", 4) == 0);
      CHECK(std::memcmp(mem.data() + dsdt, "DSDT", 4) == 0);
      CHECK(le(mem.data() + t + 140, 8) == dsdt);
      CHECK(sum(dsdt, le(mem.data() + dsdt + 4, 4)) == 0);
    }
  }
  CHECK(sigs == std::vector<std::string>{"FACP", "APIC"});
  // No unpatched RSDP copy left in the tables file.
  const std::string tables(f.tables.begin(), f.tables.end());
  CHECK(tables.find("RSD PTR ") == std::string::npos);
}

// ---------------------------------------------------------------- Linux through the BIOS

namespace {
struct TempBytes {
  std::string path;
  explicit TempBytes(const std::vector<uint8_t>& data) {
    static int n = 0;
    path = (std::filesystem::temp_directory_path() /
            ("kestrel-test-fwcfg-" + std::to_string(getpid()) + "-" + std::to_string(n++)))
               .string();
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  }
  ~TempBytes() { std::filesystem::remove(path); }
};
uint32_t u32_of(const std::vector<uint8_t>* v) {
  REQUIRE(v);
  REQUIRE(v->size() == 4);
  return (*v)[0] | (*v)[1] << 8 | (*v)[2] << 16 | static_cast<uint32_t>((*v)[3]) << 24;
}
}  // namespace

TEST_CASE("linuxboot ROM: option ROM and PnP headers with valid checksums") {
  const std::vector<uint8_t> rom = linuxboot_rom_image();
  REQUIRE(rom.size() % 512 == 0);
  CHECK(rom[0] == 0x55);
  CHECK(rom[1] == 0xAA);
  CHECK(rom[2] * 512u == rom.size());
  uint8_t sum = 0;
  for (uint8_t b : rom) sum = static_cast<uint8_t>(sum + b);
  CHECK(sum == 0);
  const size_t pnp = rom[0x1A] | rom[0x1B] << 8;
  REQUIRE(pnp + 32 <= rom.size());
  CHECK(std::memcmp(&rom[pnp], "$PnP", 4) == 0);
  uint8_t psum = 0;
  for (size_t i = 0; i < rom[pnp + 5] * 16u; ++i) psum = static_cast<uint8_t>(psum + rom[pnp + i]);
  CHECK(psum == 0);
  const size_t bev = rom[pnp + 0x1A] | rom[pnp + 0x1B] << 8;
  CHECK(bev > pnp);
  CHECK(bev < rom.size());
}

TEST_CASE("linux via fw_cfg: the setup header patched, every part where the ROM expects it") {
  Pc pc(/*firmware=*/true);
  // A bzImage: boot sector + 2 setup sectors, protocol 2.15, loaded high, a 5000-byte kernel.
  std::vector<uint8_t> f(0x600 + 5000, 0);
  f[0x1F1] = 2;
  f[0x1FE] = 0x55;
  f[0x1FF] = 0xAA;
  std::memcpy(&f[0x202], "HdrS", 4);
  f[0x206] = 0x0F;
  f[0x207] = 0x02;
  f[0x211] = 0x01;                                 // LOADED_HIGH
  f[0x22C] = 0xFF; f[0x22D] = 0xFF; f[0x22E] = 0xFF; f[0x22F] = 0x7F;  // initrd_addr_max
  f[0x238] = 0xFF; f[0x239] = 0x07;                // cmdline_size 2047
  for (size_t i = 0x600; i < f.size(); ++i) f[i] = static_cast<uint8_t>(i);
  TempBytes kernel(f);
  TempBytes initrd(std::vector<uint8_t>(10000, 0x5A));
  LinuxBootSpec spec;
  spec.kernel_path = kernel.path;
  spec.initrd_path = initrd.path;
  spec.cmdline = "console=ttyS0";
  std::string err;
  FwCfg& fw = *pc.dev.fw_cfg;
  REQUIRE_MESSAGE(stage_linux_in_fw_cfg(*pc.m, fw, spec, err), err);
  CHECK(u32_of(fw.item(FwCfg::kSetupAddr)) == 0x10000);
  CHECK(u32_of(fw.item(FwCfg::kSetupSize)) == 0x600);
  CHECK(u32_of(fw.item(FwCfg::kKernelAddr)) == 0x100000);
  CHECK(u32_of(fw.item(FwCfg::kKernelSize)) == 5000);
  CHECK(u32_of(fw.item(FwCfg::kCmdlineAddr)) == 0x20000);
  CHECK(u32_of(fw.item(FwCfg::kCmdlineSize)) == 14);
  const uint32_t initrd_addr = u32_of(fw.item(FwCfg::kInitrdAddr));
  CHECK(u32_of(fw.item(FwCfg::kInitrdSize)) == 10000);
  CHECK(initrd_addr % 4096 == 0);
  CHECK(initrd_addr + 10000 <= (32u << 20) - (1u << 20));  // 1 MiB below the top of RAM
  CHECK(initrd_addr >= (32u << 20) - (1u << 20) - 16384);
  const std::vector<uint8_t>& setup = *fw.item(FwCfg::kSetupData);
  REQUIRE(setup.size() == 0x600);
  CHECK(setup[0x210] == 0xFF);                          // type_of_loader
  CHECK(setup[0x211] == 0x81);                          // LOADED_HIGH | CAN_USE_HEAP
  CHECK((setup[0x224] | setup[0x225] << 8) == 0xFE00);  // heap_end_ptr
  CHECK((setup[0x228] | setup[0x229] << 8 | setup[0x22A] << 16) == 0x20000);
  CHECK((setup[0x218] | setup[0x219] << 8 | setup[0x21A] << 16 | setup[0x21B] << 24) == initrd_addr);
  CHECK((setup[0x21C] | setup[0x21D] << 8) == 10000);
  CHECK(fw.item(FwCfg::kKernelData)->at(0) == static_cast<uint8_t>(0x600));
  CHECK(fw.item(FwCfg::kCmdlineData)->back() == 0);
  REQUIRE(fw.file("bootorder"));
  CHECK(std::string(fw.file("bootorder")->begin(), fw.file("bootorder")->end()) ==
        "/rom@genroms/kestrel-linuxboot.bin\n");
  CHECK(fw.file(kLinuxbootRomFile) != nullptr);
  // A command line longer than the kernel takes is refused.
  spec.cmdline.assign(3000, 'x');
  CHECK(!stage_linux_in_fw_cfg(*pc.m, fw, spec, err));
  CHECK(err.find("at most 2047") != std::string::npos);
  // Not a bzImage.
  TempBytes junk(std::vector<uint8_t>(8192, 0));
  spec.kernel_path = junk.path;
  spec.cmdline.clear();
  CHECK(!stage_linux_in_fw_cfg(*pc.m, fw, spec, err));
  CHECK(err.find("not a Linux bzImage") != std::string::npos);
}
