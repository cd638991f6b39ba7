// Board assembly: which chips a machine gets and where they sit. The CLI and the
// tests build machines through these functions so every front end sees the same PC.
#pragma once

#include <cstdint>
#include <vector>
#include <memory>

namespace kestrel::machine {

class Machine;
class DebugConsole;
class DebugExit;
class Uart16550;
class Pic8259Pair;
class Pit8254;
class Lapic;
class IoApic;
class AcpiPm;
class AcpiTables;
class ResetControl;
class CoprocessorError;
class RtcCmos;
class I8042;
class IdeChannel;
class PiixIde;
class DiskImage;
class Dma8237;
class Fdc82077;

// The drives of a board (open, checked images; see storage/disk_image.h).
struct BoardDrives {
  std::shared_ptr<DiskImage> hda, hdb;  // primary IDE master and slave (hard disks)
  std::shared_ptr<DiskImage> cdrom;     // the ATAPI CD-ROM's medium (secondary master)
  bool cdrom_drive = false;             // a CD-ROM drive, with or without a medium
  std::shared_ptr<DiskImage> fda;       // floppy drive A:
  char boot = 0;                        // 'c', 'd' or 'a': the BIOS boot order starts there
  bool any_ide() const { return hda || hdb || cdrom_drive; }
};
class Vga;
class VgaPci;

class PciBus;
class I440fx;
class Piix3Isa;
class Piix4Pm;
class FwCfg;

// Optional devices a front end may ask for.
struct BoardOptions {
  // QEMU's isa-debug-exit (see devices/debug_exit.h), off unless asked for.
  bool debug_exit = false;
  uint16_t debug_exit_port = 0xF4;
  uint16_t debug_exit_size = 4;
  // The local APIC, IOAPIC and ACPI (tables, PM block) when the CPU model has an APIC.
  bool apic = true;
  bool acpi = true;
  // The RTC's wall-clock time at power-on, in ns since 1970 (UTC). The front end
  // reads the host's clock once and passes it here; the default is a fixed date so
  // tests are deterministic.
  int64_t rtc_start_unix_ns = 1704067200ll * 1'000'000'000;  // RtcCmos::kDefaultStartUnixNs
  BoardDrives drives;
  // A standard VGA with the Bochs VBE interface (devices/vga/vga.h): ports
  // 0x3B0-0x3DF and 0x1CE-0x1D0, the window at 0xA0000; the LFB is BAR0 of its PCI
  // function with PCI, else at 0xE0000000. Off by default so bare test machines stay small.
  bool vga = false;
  uint32_t vga_vram_bytes = 16u << 20;
  // With the PCI chipset the VGA is also PCI function 00:02.0 (devices/vga/vga_pci.h,
  // 1234:1111) and this image is its expansion ROM (the VGA BIOS); empty: none.
  std::vector<uint8_t> vga_rom;
  // The PCI chipset (i440FX, PIIX3, PIIX4 PM) and fw_cfg.
  bool pci = true;
  // A BIOS image will run (--bios): the chipset comes up as after a hardware reset and
  // the BIOS configures it (shadow RAM off, PM block unmapped) and builds its tables from
  // fw_cfg. Otherwise the board starts as a BIOS would leave it: shadow RAM readable and
  // writable, the PM block at 0x600, the ACPI tables in RAM at 0xF0000.
  bool firmware = false;
  // fw_cfg's "no graphics" flag (QEMU's -nographic): the BIOS uses the serial console.
  bool no_graphics = true;
};

// The devices of a board, for wiring and for front ends (serial input, summaries).
struct BoardDevices {
  DebugConsole* debug_console = nullptr;
  Uart16550* com1 = nullptr;
  DebugExit* debug_exit = nullptr;  // null unless BoardOptions::debug_exit
  Pic8259Pair* pic = nullptr;
  Pit8254* pit = nullptr;
  ResetControl* reset_control = nullptr;  // ports 0x92 and 0xCF9
  CoprocessorError* coprocessor_error = nullptr;  // FERR# to IRQ 13, port 0xF0
  Lapic* lapic = nullptr;                 // null when the CPU model has no APIC
  IoApic* ioapic = nullptr;
  AcpiPm* acpi_pm = nullptr;              // null without ACPI
  AcpiTables* acpi_tables = nullptr;
  Uart16550* com2 = nullptr;
  RtcCmos* rtc = nullptr;
  I8042* i8042 = nullptr;
  IdeChannel* ide[2] = {nullptr, nullptr};  // primary and secondary (on a PCI board, or with an IDE drive)
  PiixIde* ide_function = nullptr;          // 00:01.1, on a PCI board
  Dma8237* dma = nullptr;                   // the 8237 pair and page registers
  Fdc82077* fdc = nullptr;                  // the floppy controller (drive A: when BoardDrives::fda)
  Vga* vga = nullptr;  // null unless BoardOptions::vga
  VgaPci* vga_pci = nullptr;  // the VGA's PCI function, when the board has PCI
  PciBus* pci = nullptr;                  // null without BoardOptions::pci
  I440fx* host_bridge = nullptr;          // 00:00.0
  Piix3Isa* isa_bridge = nullptr;         // 00:01.0 (the PCI interrupt router)
  Piix4Pm* pm_function = nullptr;         // 00:01.3 (null without ACPI)
  FwCfg* fw_cfg = nullptr;                // ports 0x510/0x511, DMA at 0x514
};

// The basic board: the debug console on ports 0xE9/0x402, 16550 UARTs as COM1 at
// 0x3F8 on IRQ 4 and COM2 at 0x2F8 on IRQ 3, the 8259 PIC pair and the 8254 PIT on
// IRQ 0 (with port 0x61), the MC146818 RTC/CMOS at 0x70/0x71 on IRQ 8, the i8042
// keyboard controller at 0x60/0x64 on IRQs 1 and 12, the reset ports 0x92 (with
// the A20 gate) and 0xCF9, the coprocessor-error latch (the CPU's FERR# on IRQ 13,
// cleared by a write to port 0xF0, which asserts IGNNE#); plus the optional devices.
// When the CPU model has an APIC: the local APIC is the CPU's interrupt controller,
// with the PIC's INT output on its LINT0 (ExtINT); the IOAPIC at 0xFEC00000 sees
// the ISA lines (IRQ 0 on pin 2, IRQ n on pin n); ACPI adds the PM block at 0x600
// (SCI on IRQ 9) and the tables at 0xF0000. Without an APIC the PIC is the CPU's
// interrupt controller. On a PCI board, and without PCI when there are IDE drives:
// both IDE channels at their legacy ports (primary 0x1F0/0x3F6 on IRQ 14, secondary
// 0x170/0x376 on IRQ 15), behind the PIIX IDE function 00:01.1 with its bus master
// when there is PCI; the CD-ROM drive is the secondary master; the CMOS boot order
// follows BoardDrives::boot.
// Always: the 8237 DMA pair (0x00-0x0F, 0x80-0x8F, 0xC0-0xDF) and the 82077AA
// floppy controller (0x3F0-0x3F5, 0x3F7, IRQ 6, DMA 2) with the CMOS floppy type
// of drive A's medium.
// With BoardOptions::pci (the default), the PCI bus at 0xCF8/0xCFC with the i440FX host
// bridge at 00:00.0 (PAM shadow RAM), the PIIX3 ISA bridge at 00:01.0 routing PIRQA-D
// (pci/piix.h) and, with ACPI, the PIIX4 PM function at 00:01.3 in front of the PM
// block; and fw_cfg at 0x510 (devices/fw_cfg.h) describing the machine to a BIOS.
// Other devices join the bus through BoardDevices::pci (slot 2 and up are free).
BoardDevices build_basic_board(Machine& m, const BoardOptions& opt = {});

// The name of the basic board's device on `port`, or nullptr when the port is free
// (front ends use it to refuse an optional device on a port already taken).
const char* basic_board_port_owner(uint16_t port);

}  // namespace kestrel::machine
