#include "machine/acpi/acpi_tables.h"

#include <cassert>
#include <cstring>

#include "machine/acpi/dsdt.h"
#include "machine/machine.h"

namespace kestrel::machine {

namespace {

constexpr char kOemId[] = "KESTRL";          // 6 characters
constexpr char kOemTableId[] = "KESTREL ";   // 8 characters
constexpr char kCreatorId[] = "KSTL";        // 4 characters
constexpr uint32_t kOemRevision = 1, kCreatorRevision = 1;

// A little-endian byte image of the tables, built in order.
class Image {
 public:
  size_t size() const { return b_.size(); }
  void align(size_t a) {
    while (b_.size() % a) b_.push_back(0);
  }
  void u8(uint8_t v) { b_.push_back(v); }
  void u16(uint16_t v) { put(v, 2); }
  void u32(uint32_t v) { put(v, 4); }
  void u64(uint64_t v) { put(v, 8); }
  void chars(const char* s, size_t n) {
    for (size_t i = 0; i < n; ++i) b_.push_back(static_cast<uint8_t>(s[i]));
  }
  void zeros(size_t n) { b_.insert(b_.end(), n, 0); }
  void bytes(const uint8_t* p, size_t n) { b_.insert(b_.end(), p, p + n); }
  void patch32(size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) b_[at + i] = static_cast<uint8_t>(v >> (8 * i));
  }
  void patch8(size_t at, uint8_t v) { b_[at] = v; }
  uint8_t* data() { return b_.data(); }
  std::vector<uint8_t> take() { return std::move(b_); }

  // Generic Address Structure (ACPI 6.4 §5.2.3.2).
  // An absent register is all zeros.
  void gas(uint8_t space, uint8_t bit_width, uint8_t access_size, uint64_t address) {
    if (!address) {
      zeros(12);
      return;
    }
    u8(space);
    u8(bit_width);
    u8(0);  // bit offset
    u8(access_size);
    u64(address);
  }

  // The 36-byte system description table header (§5.2.6); length and checksum
  // are filled in by finish().
  size_t header(const char sig[4], uint8_t revision) {
    const size_t start = size();
    chars(sig, 4);
    u32(0);  // length
    u8(revision);
    u8(0);   // checksum
    chars(kOemId, 6);
    chars(kOemTableId, 8);
    u32(kOemRevision);
    chars(kCreatorId, 4);
    u32(kCreatorRevision);
    return start;
  }
  void finish(size_t start) {
    patch32(start + 4, static_cast<uint32_t>(size() - start));
    patch8(start + 9, 0);
    patch8(start + 9, static_cast<uint8_t>(-acpi_checksum(data() + start, size() - start)));
  }

 private:
  void put(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) b_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  std::vector<uint8_t> b_;
};

// FADT flags (ACPI 6.4 Table 5.10).
constexpr uint32_t kFadtWbinvd = 1u << 0, kFadtProcC1 = 1u << 2, kFadtSlpButton = 1u << 5, kFadtFixRtc = 1u << 6,
                   kFadtTmrValExt = 1u << 8, kFadtResetRegSup = 1u << 10;
// IAPC_BOOT_ARCH (Table 5.11).
constexpr uint16_t kBootArchLegacyDevices = 1u << 0, kBootArch8042 = 1u << 1;
constexpr uint8_t kSpaceSystemIo = 1;
constexpr uint8_t kAccessByte = 1, kAccessWord = 2, kAccessDword = 3;

}  // namespace

uint8_t acpi_checksum(const uint8_t* p, size_t n) {
  uint8_t sum = 0;
  for (size_t i = 0; i < n; ++i) sum = static_cast<uint8_t>(sum + p[i]);
  return sum;
}

AcpiBlob build_acpi_tables(const AcpiConfig& cfg, uint64_t base) {
  AcpiBlob out;
  out.base = base;
  Image t;
  auto addr = [&](size_t off) { return base + off; };

  // ---- RSDP (§5.2.5.3): 36 bytes, pointers patched once the tables are placed.
  const size_t rsdp = t.size();
  t.chars("RSD PTR ", 8);
  t.u8(0);                 // checksum of the first 20 bytes
  t.chars(kOemId, 6);
  t.u8(2);                 // revision: ACPI 2.0+ (has the XSDT)
  t.u32(0);                // RSDT address
  t.u32(36);               // length
  t.u64(0);                // XSDT address
  t.u8(0);                 // extended checksum
  t.zeros(3);

  // ---- FACS (§5.2.10): 64-byte aligned, read/write memory, no checksum.
  t.align(64);
  const size_t facs = t.size();
  t.chars("FACS", 4);
  t.u32(64);               // length
  t.u32(0);                // hardware signature
  t.u32(0);                // firmware waking vector
  t.u32(0);                // global lock
  t.u32(0);                // flags: no S4BIOS, no 64-bit wake
  t.u64(0);                // X firmware waking vector
  t.u8(2);                 // version
  t.zeros(3);
  t.u32(0);                // OSPM flags
  t.zeros(24);

  // ---- DSDT (§5.2.11.1).
  t.align(16);
  const size_t dsdt = t.header("DSDT", 2);  // revision 2: 64-bit AML integers
  const std::vector<uint8_t> aml = build_dsdt_body(cfg);
  t.bytes(aml.data(), aml.size());
  t.finish(dsdt);

  // ---- FADT revision 3 (ACPI 2.0 layout, 244 bytes; §5.2.9, Table 5.9).
  t.align(16);
  const size_t fadt = t.header("FACP", 3);
  const uint32_t pm1_evt = cfg.pm_base, pm1_cnt = cfg.pm_base + 4u, pm_tmr = cfg.pm_base + 8u;
  t.u32(static_cast<uint32_t>(addr(facs)));  // FIRMWARE_CTRL
  t.u32(static_cast<uint32_t>(addr(dsdt)));  // DSDT
  t.u8(0);                 // reserved (ACPI 1.0 INT_MODEL)
  t.u8(0);                 // Preferred_PM_Profile: unspecified
  t.u16(cfg.sci_irq);      // SCI_INT
  t.u32(0);                // SMI_CMD: none, always in ACPI mode
  t.u8(0);                 // ACPI_ENABLE
  t.u8(0);                 // ACPI_DISABLE
  t.u8(0);                 // S4BIOS_REQ
  t.u8(0);                 // PSTATE_CNT
  t.u32(pm1_evt);          // PM1a_EVT_BLK
  t.u32(0);                // PM1b_EVT_BLK
  t.u32(pm1_cnt);          // PM1a_CNT_BLK
  t.u32(0);                // PM1b_CNT_BLK
  t.u32(0);                // PM2_CNT_BLK
  t.u32(pm_tmr);           // PM_TMR_BLK
  t.u32(0);                // GPE0_BLK
  t.u32(0);                // GPE1_BLK
  t.u8(4);                 // PM1_EVT_LEN
  t.u8(2);                 // PM1_CNT_LEN
  t.u8(0);                 // PM2_CNT_LEN
  t.u8(4);                 // PM_TMR_LEN
  t.u8(0);                 // GPE0_BLK_LEN
  t.u8(0);                 // GPE1_BLK_LEN
  t.u8(0);                 // GPE1_BASE
  t.u8(0);                 // CST_CNT
  t.u16(0x0FFF);           // P_LVL2_LAT: > 100, no C2
  t.u16(0x0FFF);           // P_LVL3_LAT: > 1000, no C3
  t.u16(0);                // FLUSH_SIZE
  t.u16(0);                // FLUSH_STRIDE
  t.u8(0);                 // DUTY_OFFSET
  t.u8(0);                 // DUTY_WIDTH
  t.u8(0);                 // DAY_ALRM
  t.u8(0);                 // MON_ALRM
  t.u8(cfg.cmos_century);  // CENTURY
  t.u16(static_cast<uint16_t>(kBootArchLegacyDevices | (cfg.has_8042 ? kBootArch8042 : 0)));  // IAPC_BOOT_ARCH
  t.u8(0);                 // reserved
  t.u32(kFadtWbinvd | kFadtProcC1 | kFadtSlpButton | kFadtFixRtc | kFadtTmrValExt | kFadtResetRegSup);
  t.gas(kSpaceSystemIo, 8, kAccessByte, cfg.reset_port);  // RESET_REG
  t.u8(cfg.reset_value);   // RESET_VALUE
  t.zeros(3);              // ARM_BOOT_ARCH, minor version (later revisions)
  t.u64(addr(facs));       // X_FIRMWARE_CTRL
  t.u64(addr(dsdt));       // X_DSDT
  t.gas(kSpaceSystemIo, 32, kAccessWord, pm1_evt);  // X_PM1a_EVT_BLK
  t.gas(kSpaceSystemIo, 0, 0, 0);                   // X_PM1b_EVT_BLK
  t.gas(kSpaceSystemIo, 16, kAccessWord, pm1_cnt);  // X_PM1a_CNT_BLK
  t.gas(kSpaceSystemIo, 0, 0, 0);                   // X_PM1b_CNT_BLK
  t.gas(kSpaceSystemIo, 0, 0, 0);                   // X_PM2_CNT_BLK
  t.gas(kSpaceSystemIo, 32, kAccessDword, pm_tmr);  // X_PM_TMR_BLK
  t.gas(kSpaceSystemIo, 0, 0, 0);                   // X_GPE0_BLK
  t.gas(kSpaceSystemIo, 0, 0, 0);                   // X_GPE1_BLK
  assert(t.size() - fadt == 244);
  t.finish(fadt);

  // ---- MADT (§5.2.12).
  t.align(16);
  const size_t madt = t.header("APIC", 3);
  t.u32(static_cast<uint32_t>(cfg.lapic_base));  // local interrupt controller address
  t.u32(1);                // flags: PCAT_COMPAT (dual 8259s present)
  // Processor local APIC (§5.2.12.2).
  t.u8(0); t.u8(8);
  t.u8(0);                 // ACPI processor UID
  t.u8(cfg.lapic_id);
  t.u32(1);                // enabled
  // I/O APIC (§5.2.12.3).
  t.u8(1); t.u8(12);
  t.u8(cfg.ioapic_id);
  t.u8(0);
  t.u32(static_cast<uint32_t>(cfg.ioapic_base));
  t.u32(0);                // global system interrupt base
  // Interrupt source overrides (§5.2.12.5): ISA IRQ 0 is GSI 2 (conforming: edge,
  // active high); the SCI is level-triggered, active high.
  t.u8(2); t.u8(10);
  t.u8(0);                 // bus: ISA
  t.u8(0);                 // source IRQ
  t.u32(2);                // GSI
  t.u16(0);                // MPS INTI flags: conforms to the bus
  t.u8(2); t.u8(10);
  t.u8(0);
  t.u8(cfg.sci_irq);
  t.u32(cfg.sci_irq);
  t.u16(0x000D);           // polarity 01 (active high), trigger 11 (level)
  // Local APIC NMI (§5.2.12.7): LINT1 of every processor.
  t.u8(4); t.u8(6);
  t.u8(0xFF);              // all processors
  t.u16(0);                // flags: conforming
  t.u8(1);                 // LINT1
  t.finish(madt);

  // ---- RSDT and XSDT (§5.2.7, §5.2.8): the FADT and the MADT.
  t.align(16);
  const size_t rsdt = t.header("RSDT", 1);
  t.u32(static_cast<uint32_t>(addr(fadt)));
  t.u32(static_cast<uint32_t>(addr(madt)));
  t.finish(rsdt);
  t.align(16);
  const size_t xsdt = t.header("XSDT", 1);
  t.u64(addr(fadt));
  t.u64(addr(madt));
  t.finish(xsdt);

  // The RSDP's pointers and checksums.
  t.patch32(rsdp + 16, static_cast<uint32_t>(addr(rsdt)));
  for (int i = 0; i < 8; ++i) t.patch8(rsdp + 24 + i, static_cast<uint8_t>(addr(xsdt) >> (8 * i)));
  t.patch8(rsdp + 8, static_cast<uint8_t>(-acpi_checksum(t.data() + rsdp, 20)));
  t.patch8(rsdp + 32, static_cast<uint8_t>(-acpi_checksum(t.data() + rsdp, 36)));

  out.rsdp = addr(rsdp);
  out.facs = addr(facs);
  out.dsdt = addr(dsdt);
  out.fadt = addr(fadt);
  out.madt = addr(madt);
  out.rsdt = addr(rsdt);
  out.xsdt = addr(xsdt);
  out.bytes = t.take();
  assert(out.bytes.size() <= kAcpiTablesMaxSize);
  return out;
}

AcpiTables::AcpiTables(Machine& m, const AcpiConfig& cfg) : m_(m), blob_(build_acpi_tables(cfg)) { reset(); }

void AcpiTables::reset() {
  // Firmware's job at every boot: the tables (and a fresh FACS) in RAM. Where a ROM
  // is mapped over the area (a BIOS image), the write changes nothing.
  m_.bus().dma_write(blob_.base, blob_.bytes.data(), blob_.bytes.size());
}

// The tables are rebuilt from the configuration, and guest RAM is saved with RAM.
void AcpiTables::save(StateWriter& w) const { w.begin(name()); }
void AcpiTables::load(StateReader& r) { r.begin(name()); }

}  // namespace kestrel::machine
