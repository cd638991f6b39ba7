// machine/acpi and devices/acpi_pm, reset_control: the tables parse back with
// valid checksums and say what the board is; the RSDP is where Linux looks; the
// PM timer runs at 3.579545 MHz of virtual time; the SCI follows status and
// enable; S5 stops the machine (also from guest code); the reset ports and A20.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "interp/interpreter.h"
#include "machine/acpi/acpi_tables.h"
#include "machine/board.h"
#include "machine/devices/acpi_pm.h"
#include "machine/machine.h"
#include "machine/segments.h"
#include "test_machine.h"

using namespace kestrel;
using namespace kestrel::machine;

namespace {

struct Board {
  std::unique_ptr<Machine> m;
  BoardDevices dev;
  Board() {
    m = test::new_machine(16ull << 20);
    dev = build_basic_board(*m);
    REQUIRE(dev.acpi_pm);
    REQUIRE(dev.acpi_tables);
  }
  void advance_to(uint64_t ns) {
    m->clock().idle_until(ns, m->cpu().icount);
    m->timers().run_expired(m->now_ns());
  }
};

// Reads tables back from a byte image based at `base`.
struct Tables {
  const std::vector<uint8_t>& b;
  uint64_t base;
  const uint8_t* at(uint64_t addr) const {
    REQUIRE(addr >= base);
    REQUIRE(addr - base < b.size());
    return b.data() + (addr - base);
  }
  uint8_t u8(uint64_t addr) const { return *at(addr); }
  uint16_t u16(uint64_t addr) const { uint16_t v; std::memcpy(&v, at(addr), 2); return v; }
  uint32_t u32(uint64_t addr) const { uint32_t v; std::memcpy(&v, at(addr), 4); return v; }
  uint64_t u64(uint64_t addr) const { uint64_t v; std::memcpy(&v, at(addr), 8); return v; }
  std::string sig(uint64_t addr, size_t n = 4) const { return std::string(reinterpret_cast<const char*>(at(addr)), n); }
  // A system description table: signature, length within the image, checksum 0.
  uint32_t table(uint64_t addr, const char* signature) const {
    CHECK(sig(addr) == signature);
    const uint32_t len = u32(addr + 4);
    REQUIRE(addr - base + len <= b.size());
    CHECK(acpi_checksum(at(addr), len) == 0);
    return len;
  }
};

}  // namespace

TEST_CASE("acpi: tables parse back with valid checksums") {
  AcpiConfig cfg;
  const AcpiBlob blob = build_acpi_tables(cfg, 0xF0000);
  const Tables t{blob.bytes, blob.base};
  CHECK(blob.bytes.size() <= kAcpiTablesMaxSize);

  // RSDP: signature, revision 2, both checksums, both pointers.
  const uint64_t rsdp = blob.rsdp;
  CHECK(rsdp == 0xF0000);
  CHECK(t.sig(rsdp, 8) == "RSD PTR ");
  CHECK(acpi_checksum(t.at(rsdp), 20) == 0);
  CHECK(t.u8(rsdp + 15) == 2);
  CHECK(t.u32(rsdp + 20) == 36);
  CHECK(acpi_checksum(t.at(rsdp), 36) == 0);
  const uint64_t rsdt = t.u32(rsdp + 16), xsdt = t.u64(rsdp + 24);
  CHECK(rsdt == blob.rsdt);
  CHECK(xsdt == blob.xsdt);

  // XSDT and RSDT: the FADT and the MADT.
  const uint32_t xlen = t.table(xsdt, "XSDT");
  REQUIRE(xlen == 36 + 16);
  const uint64_t fadt = t.u64(xsdt + 36), madt = t.u64(xsdt + 44);
  const uint32_t rlen = t.table(rsdt, "RSDT");
  REQUIRE(rlen == 36 + 8);
  CHECK(t.u32(rsdt + 36) == fadt);
  CHECK(t.u32(rsdt + 40) == madt);

  // FADT revision 3: PM blocks, SCI, no SMI_CMD, flags, reset register, boot arch.
  CHECK(t.table(fadt, "FACP") == 244);
  CHECK(t.u8(fadt + 8) == 3);
  const uint64_t facs = t.u32(fadt + 36), dsdt = t.u32(fadt + 40);
  CHECK(t.u64(fadt + 132) == facs);
  CHECK(t.u64(fadt + 140) == dsdt);
  CHECK(t.u16(fadt + 46) == 9);       // SCI_INT
  CHECK(t.u32(fadt + 48) == 0);       // SMI_CMD: always ACPI mode
  CHECK(t.u32(fadt + 56) == 0x600);   // PM1a_EVT_BLK
  CHECK(t.u32(fadt + 64) == 0x604);   // PM1a_CNT_BLK
  CHECK(t.u32(fadt + 76) == 0x608);   // PM_TMR_BLK
  CHECK(t.u8(fadt + 88) == 4);        // PM1_EVT_LEN
  CHECK(t.u8(fadt + 89) == 2);        // PM1_CNT_LEN
  CHECK(t.u8(fadt + 91) == 4);        // PM_TMR_LEN
  CHECK(t.u8(fadt + 108) == 0x32);    // CENTURY
  CHECK(t.u16(fadt + 109) == 3);      // legacy devices, 8042
  const uint32_t flags = t.u32(fadt + 112);
  CHECK((flags & 1) != 0);            // WBINVD
  CHECK((flags & (1u << 4)) == 0);    // fixed power button
  CHECK((flags & (1u << 8)) != 0);    // 32-bit PM timer
  CHECK((flags & (1u << 10)) != 0);   // reset register
  CHECK((flags & (1u << 20)) == 0);   // not hardware-reduced
  CHECK(t.u8(fadt + 116) == 1);       // RESET_REG in system I/O
  CHECK(t.u64(fadt + 120) == 0xCF9);
  CHECK(t.u8(fadt + 128) == 6);       // RESET_VALUE
  CHECK(t.u8(fadt + 148) == 1);       // X_PM1a_EVT_BLK: I/O, 32 bits at 0x600
  CHECK(t.u8(fadt + 149) == 32);
  CHECK(t.u64(fadt + 152) == 0x600);
  CHECK(t.u64(fadt + 176) == 0x604);  // X_PM1a_CNT_BLK
  CHECK(t.u64(fadt + 212) == 0x608);  // X_PM_TMR_BLK
  CHECK(t.u64(fadt + 164) == 0);      // no PM1b

  // FACS: 64 bytes, 64-byte aligned.
  CHECK(t.sig(facs) == "FACS");
  CHECK(t.u32(facs + 4) == 64);
  CHECK(facs % 64 == 0);

  // DSDT: Name (_S5_, Package (4) {5, 5, 0, 0}).
  const uint32_t dlen = t.table(dsdt, "DSDT");
  const std::vector<uint8_t> body(t.at(dsdt + 36), t.at(dsdt + 36) + (dlen - 36));
  const std::vector<uint8_t> s5 = {0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0A, 0x05, 0x0A, 0x05, 0x00, 0x00};
  CHECK(body == s5);

  // MADT: the APIC addresses and the entries, walked by type and length.
  const uint32_t mlen = t.table(madt, "APIC");
  CHECK(t.u32(madt + 36) == 0xFEE00000);
  CHECK((t.u32(madt + 40) & 1) == 1);  // PCAT_COMPAT
  int lapics = 0, ioapics = 0, nmis = 0;
  bool irq0_override = false, sci_override = false;
  for (uint64_t p = madt + 44; p < madt + mlen;) {
    const uint8_t type = t.u8(p), len = t.u8(p + 1);
    REQUIRE(len >= 2);
    switch (type) {
      case 0:
        ++lapics;
        CHECK(len == 8);
        CHECK(t.u8(p + 3) == 0);          // APIC ID
        CHECK((t.u32(p + 4) & 1) == 1);   // enabled
        break;
      case 1:
        ++ioapics;
        CHECK(len == 12);
        CHECK(t.u32(p + 4) == 0xFEC00000);
        CHECK(t.u32(p + 8) == 0);         // GSI base
        break;
      case 2:
        CHECK(len == 10);
        if (t.u8(p + 3) == 0) {
          irq0_override = t.u32(p + 4) == 2 && t.u16(p + 8) == 0;
        } else if (t.u8(p + 3) == 9) {
          sci_override = t.u32(p + 4) == 9 && t.u16(p + 8) == 0x000D;  // level, active high
        }
        break;
      case 4:
        ++nmis;
        CHECK(t.u8(p + 5) == 1);          // LINT1
        break;
      default:
        FAIL("unexpected MADT entry type ", int(type));
    }
    p += len;
  }
  CHECK(lapics == 1);
  CHECK(ioapics == 1);
  CHECK(nmis == 1);
  CHECK(irq0_override);
  CHECK(sci_override);
}

TEST_CASE("acpi: the RSDP is in guest memory where Linux scans for it") {
  Board b;
  // Linux scans 0xE0000-0xFFFFF on 16-byte boundaries for "RSD PTR " with a valid checksum.
  uint64_t found = 0;
  for (uint64_t a = 0xE0000; a < 0x100000 && !found; a += 16) {
    char sig[8];
    b.m->bus().read(a, sig, 8);
    if (std::memcmp(sig, "RSD PTR ", 8)) continue;
    uint8_t r[20];
    b.m->bus().read(a, r, 20);
    if (acpi_checksum(r, 20) == 0) found = a;
  }
  CHECK(found == b.dev.acpi_tables->rsdp_address());
  // The table range lies inside the BIOS area an e820 map reports reserved.
  CHECK(b.dev.acpi_tables->first() >= 0xF0000);
  CHECK(b.dev.acpi_tables->end() <= 0x100000);
  // A reset puts back tables a guest overwrote.
  b.m->bus().write_uint(found, 0, 8);
  b.m->reset();
  char sig[8];
  b.m->bus().read(found, sig, 8);
  CHECK(std::memcmp(sig, "RSD PTR ", 8) == 0);
}

TEST_CASE("acpi: the PM timer counts at 3.579545 MHz of virtual time") {
  Board b;
  PortBus& io = b.m->ports();
  const uint32_t t0 = io.in(0x608, 4);
  b.advance_to(b.m->now_ns() + 1'000'000'000);
  const uint32_t t1 = io.in(0x608, 4);
  CHECK(t1 - t0 >= 3'579'544);
  CHECK(t1 - t0 <= 3'579'546);
  // Byte and word reads see the same counter.
  const uint32_t lo = io.in(0x608, 2), hi = io.in(0x60A, 2);
  CHECK(((hi << 16) | lo) == io.in(0x608, 4));
  // Bit 31 changes after 2^31 ticks (about 600 s): TMR_STS, and with TMR_EN the SCI.
  CHECK((io.in(0x600, 2) & AcpiPm::kTmr) == 0);
  io.out(0x602, AcpiPm::kTmr, 2);
  const uint64_t ns_bit31 = static_cast<uint64_t>((static_cast<unsigned __int128>(1u << 31) * 1'000'000'000 +
                                                   AcpiPm::kTimerHz - 1) / AcpiPm::kTimerHz);
  b.advance_to(ns_bit31 - 1000);
  CHECK((io.in(0x600, 2) & AcpiPm::kTmr) == 0);
  CHECK_FALSE(b.m->isa_irq(9).level());
  b.advance_to(ns_bit31 + 1);
  CHECK((io.in(0x600, 2) & AcpiPm::kTmr) != 0);
  CHECK(b.m->isa_irq(9).level());
  io.out(0x600, AcpiPm::kTmr, 2);  // write 1 to clear
  CHECK((io.in(0x600, 2) & AcpiPm::kTmr) == 0);
  CHECK_FALSE(b.m->isa_irq(9).level());
}

TEST_CASE("acpi: the SCI follows the power button's status and enable") {
  Board b;
  PortBus& io = b.m->ports();
  CHECK((io.in(0x604, 2) & AcpiPm::kSciEn) != 0);  // already in ACPI mode
  b.dev.acpi_pm->press_power_button();
  CHECK((io.in(0x600, 2) & AcpiPm::kPwrBtn) != 0);
  CHECK_FALSE(b.m->isa_irq(9).level());  // not enabled
  io.out(0x602, AcpiPm::kPwrBtn, 2);
  CHECK(b.m->isa_irq(9).level());
  io.out(0x600, AcpiPm::kPwrBtn, 2);
  CHECK_FALSE(b.m->isa_irq(9).level());
  CHECK((io.in(0x600, 2) & AcpiPm::kPwrBtn) == 0);
}

TEST_CASE("acpi: SLP_EN with the S5 type powers off; other types wake at once") {
  Board b;
  PortBus& io = b.m->ports();
  io.out(0x604, AcpiPm::kSciEn | (1u << 10) | AcpiPm::kSlpEn, 2);  // SLP_TYP 1: not offered
  CHECK_FALSE(b.m->stop_requested());
  CHECK((io.in(0x600, 2) & AcpiPm::kWak) != 0);
  io.out(0x604, AcpiPm::kSciEn | (5u << 10), 2);  // the type alone does nothing
  CHECK_FALSE(b.m->stop_requested());
  CHECK((io.in(0x604, 2) & AcpiPm::kSlpEn) == 0);  // SLP_EN reads 0
  io.out(0x604, AcpiPm::kSciEn | (5u << 10) | AcpiPm::kSlpEn, 2);
  CHECK(b.m->stop_requested());
  CHECK(b.m->exit_status() == 0);
  CHECK(b.m->stop_reason() == "ACPI S5 power off");
}

TEST_CASE("acpi: a guest's S5 write ends the run") {
  Board b;
  CpuState& c = b.m->cpu();
  load_segment_real(c, CS, 0);
  c.rip = 0x7C00;
  // mov dx, 0x604; mov ax, 0x3401 (SCI_EN | SLP_TYP 5 | SLP_EN); out dx, ax; hlt
  const uint8_t code[] = {0xBA, 0x04, 0x06, 0xB8, 0x01, 0x34, 0xEF, 0xF4};
  b.m->bus().write(0x7C00, code, sizeof code);
  interp::Interpreter it(*b.m);
  CHECK(it.run(1000) == interp::StopReason::Stopped);
  CHECK(b.m->exit_status() == 0);
  CHECK(b.m->stop_reason() == "ACPI S5 power off");
}

TEST_CASE("reset control: ports 0xCF9 and 0x92, and the A20 gate") {
  Board b;
  PortBus& io = b.m->ports();
  io.out(0xCF9, 0x02, 1);  // SYS_RST alone: no reset yet
  CHECK_FALSE(b.m->reset_requested());
  CHECK(io.in(0xCF9, 1) == 0x02);
  io.out(0xCF9, 0x06, 1);
  CHECK(b.m->reset_requested());
  b.m->reset();
  CHECK_FALSE(b.m->reset_requested());
  CHECK(io.in(0xCF9, 1) == 0);

  // Port 0x92: A20 follows bit 1 in the bus and the CPU; bit 0 resets.
  CHECK((io.in(0x92, 1) & 2) == 2);
  io.out(0x92, 0x00, 1);
  CHECK_FALSE(b.m->bus().a20());
  CHECK(b.m->cpu().a20_enabled == 0);
  CHECK((io.in(0x92, 1) & 2) == 0);
  io.out(0x92, 0x02, 1);
  CHECK(b.m->bus().a20());
  CHECK(b.m->cpu().a20_enabled == 1);
  CHECK_FALSE(b.m->reset_requested());
  io.out(0x92, 0x03, 1);
  CHECK(b.m->reset_requested());
  CHECK(b.m->stop_reason() == "reset through port 0x92");
  // A reset opens the gate again.
  io.out(0x92, 0x00, 1);
  b.m->reset();
  CHECK(b.m->bus().a20());
  CHECK(b.m->cpu().a20_enabled == 1);
}
