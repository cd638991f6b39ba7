// The DSDT's definition block (the AML after the table header), built with our AML
// writer (acpi/aml.h) from the board's description:
//
//   \_S5       Package {5, 5, 0, 0}: the sleep type the PM device powers off on.
//   \_SB.PCI0  (with a PCI bus) the i440FX root bridge: _HID PNP0A03, _ADR 0, _BBN 0,
//              _CRS with bus numbers 0-255, the configuration ports 0xCF8-0xCFF, the
//              I/O windows 0x0000-0x0CF7 and 0x0D00-0xFFFF, the legacy video window
//              0xA0000-0xBFFFF and the 32-bit PCI memory hole (from the end of RAM below
//              4 GiB to 0xFEBFFFFF, under the IOAPIC); _PRT for slots 1-31.
//   \_SB.PCI0.ISA  the PIIX3 (00:01.0) with its PIRQ route registers (configuration
//              0x60-0x63) as the fields PRQA-PRQD of a PCI_Config operation region.
//   \_SB.LNKA-LNKD  the PCI interrupt links PIRQA#-D# (PNP0C0F): _PRS {5, 10, 11},
//              _CRS, _SRS and _DIS read and write the route registers, _STA says
//              whether the route is enabled (bit 7 clear).
//   \_SB.LNKS  the PIIX4 PM function's SCI (00:01.3 INTA#), fixed at IRQ 9.
//
// _PRT: PCI device D's INTx (x = 0 for INTA#) reaches PIRQ (D + x - 1) mod 4, the
// i440FX/PIIX3 board's swizzle (PciBus::pirq_of); 00:01.3's INTA# is the SCI (LNKS).
// The links' interrupts are level-triggered and active high as the guest sees them:
// the board's lines are active high into both the 8259s (ELCR) and the IOAPIC.
//
// Reference: ACPI 6.4 §6.1.1 (_ADR), §6.2 (_CRS, _PRS, _SRS, _DIS), §6.2.13 (_PRT),
// §6.5.5 (_BBN), §7.4.2 (\_Sx); PCI Firmware Specification 3.2 §4.1 (host bridge
// _CRS); 82371SB (PIIX3) data sheet §2.2.9 (PIRQRC[A:D]).
#pragma once

#include <cstdint>
#include <vector>

namespace kestrel::machine {

struct AcpiConfig;

std::vector<uint8_t> build_dsdt_body(const AcpiConfig& cfg);

}  // namespace kestrel::machine
