// ACPI tables for the PC board, generated from the board's description and written
// into guest memory: RSDP (revision 2), RSDT and XSDT, FADT (revision 3) with its
// FACS and DSDT, and the MADT.
//
// What they tell the guest:
// - FADT: PM1a event block, PM1a control block and a 32-bit PM timer at the ACPI
//   PM device's ports (devices/acpi_pm.h), SCI on IRQ 9, no SMI_CMD (always in ACPI
//   mode), the reset register (port 0xCF9, value 6), C1 only, a fixed power button
//   and no sleep button, legacy devices and an 8042 (IAPC_BOOT_ARCH), the CMOS
//   century register.
// - MADT: one local APIC (ID 0) at 0xFEE00000, one IOAPIC at 0xFEC00000 with GSI
//   base 0, the dual 8259s (PCAT_COMPAT), ISA IRQ 0 on GSI 2 and IRQ 9 (the SCI)
//   level-triggered active high, and LINT1 as NMI.
// - DSDT: \_S5 = {5, 5, 0, 0}, the sleep type the PM device powers off on; with a
//   PCI bus, the root bridge \_SB.PCI0 with its windows and _PRT and the PIIX3's PCI
//   interrupt links (acpi/dsdt.h).
//
// Where they are: the RSDP at 0xF0000, where Linux's scan of 0xE0000-0xFFFFF finds
// it, and the other tables right after it, all inside the BIOS area that the e820
// map of a PC reports as reserved ([0xF0000, 0x100000)). The AcpiTables device
// writes them into RAM at every reset, as firmware would; with a BIOS image mapped
// over that area, the BIOS's own tables (or none) are what the guest sees.
//
// Reference: ACPI 6.4 §5.2 (RSDP 5.2.5, RSDT/XSDT 5.2.7-8, FADT 5.2.9, FACS 5.2.10,
// DSDT 5.2.11.1, MADT 5.2.12), §20 (AML encoding), §7.4.2 (\_Sx objects).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "machine/device.h"

namespace kestrel::machine {

class Machine;

// The board as the tables describe it.
struct AcpiConfig {
  uint64_t lapic_base = 0xFEE00000;
  uint8_t lapic_id = 0;
  uint64_t ioapic_base = 0xFEC00000;
  uint8_t ioapic_id = 0;
  uint16_t pm_base = 0x600;    // PM1a_EVT at +0, PM1a_CNT at +4, PM_TMR at +8
  uint8_t sci_irq = 9;
  uint8_t s5_sleep_type = 5;
  uint16_t reset_port = 0xCF9;
  uint8_t reset_value = 6;
  uint8_t cmos_century = 0x32;  // CMOS index of the century byte (0: none)
  bool has_8042 = true;         // IAPC_BOOT_ARCH 8042 flag (Linux skips the i8042 probe without it)
  // The i440FX/PIIX3 PCI bus in the DSDT (acpi/dsdt.h), with its 32-bit memory window
  // [pci_mem_start, pci_mem_end]: from the end of RAM below 4 GiB up to the IOAPIC.
  bool pci = false;
  uint32_t pci_mem_start = 0xE0000000;
  uint32_t pci_mem_end = 0xFEBFFFFF;
};

// The tables laid out for a base address, with where each one starts.
struct AcpiBlob {
  uint64_t base = 0;
  std::vector<uint8_t> bytes;
  uint64_t rsdp = 0, facs = 0, rsdt = 0, xsdt = 0, fadt = 0, madt = 0, dsdt = 0;
};

inline constexpr uint64_t kAcpiTablesBase = 0xF0000;
// Room reserved for the tables: [kAcpiTablesBase, kAcpiTablesBase + kAcpiTablesMaxSize).
inline constexpr uint64_t kAcpiTablesMaxSize = 0x4000;

AcpiBlob build_acpi_tables(const AcpiConfig& cfg, uint64_t base = kAcpiTablesBase);

// The ACPI checksum rule: all bytes of a table sum to 0 modulo 256.
uint8_t acpi_checksum(const uint8_t* p, size_t n);

// Writes the tables into guest RAM at construction and at every reset.
class AcpiTables final : public Device {
 public:
  AcpiTables(Machine& m, const AcpiConfig& cfg);

  const char* name() const override { return "acpi-tables"; }
  void reset() override;
  void save(StateWriter& w) const override;
  void load(StateReader& r) override;

  const AcpiBlob& blob() const { return blob_; }
  uint64_t rsdp_address() const { return blob_.rsdp; }
  // The guest-physical range [first, end) the tables occupy (for an e820 map: it lies
  // inside the BIOS area [0xF0000, 0x100000) that must be reported reserved).
  uint64_t first() const { return blob_.base; }
  uint64_t end() const { return blob_.base + blob_.bytes.size(); }

 private:
  Machine& m_;
  AcpiBlob blob_;
};

}  // namespace kestrel::machine
