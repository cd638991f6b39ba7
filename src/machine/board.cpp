#include "machine/board.h"

#include "machine/acpi/acpi_loader.h"
#include "machine/acpi/acpi_tables.h"
#include "machine/cpu_model.h"
#include "machine/devices/acpi_pm.h"
#include "machine/devices/ioapic.h"
#include "machine/devices/lapic.h"
#include "machine/devices/reset_control.h"
#include "machine/devices/coprocessor_error.h"
#include "machine/devices/debug_console.h"
#include "machine/devices/debug_exit.h"
#include "machine/devices/dma8237.h"
#include "machine/devices/fdc82077.h"
#include "machine/devices/i8042.h"
#include "machine/devices/ide_channel.h"
#include "machine/devices/ide_piix.h"
#include "machine/devices/pic8259.h"
#include "machine/devices/pit8254.h"
#include "machine/devices/rtc_cmos.h"
#include "machine/devices/uart16550.h"
#include "machine/devices/vga/vga.h"
#include "machine/devices/vga/vga_pci.h"
#include "machine/machine.h"
#include "machine/storage/disk_image.h"
#include "machine/devices/fw_cfg.h"
#include "machine/pci/i440fx.h"
#include "machine/pci/pci.h"
#include "machine/pci/piix.h"

namespace kestrel::machine {

namespace {

// The two legacy IDE channels with the drives given: behind the PIIX IDE function
// (00:01.1) on a PCI board, else straight on their ports.
void add_ide(Machine& m, const BoardOptions& opt, BoardDevices& b) {
  const BoardDrives& drives = opt.drives;
  b.ide[0] = m.add_device<IdeChannel>(m, "ide0", IdeChannel::kPrimaryCmd, IdeChannel::kPrimaryCtl,
                                      &m.isa_irq(IdeChannel::kPrimaryIrq));
  b.ide[1] = m.add_device<IdeChannel>(m, "ide1", IdeChannel::kSecondaryCmd, IdeChannel::kSecondaryCtl,
                                      &m.isa_irq(IdeChannel::kSecondaryIrq));
  if (drives.hda) b.ide[0]->attach_disk(0, drives.hda);
  if (drives.hdb) b.ide[0]->attach_disk(1, drives.hdb);
  if (drives.cdrom_drive) b.ide[1]->attach_cdrom(0, drives.cdrom);
  if (b.pci) {
    b.ide_function = m.add_device<PiixIde>(m, b.ide[0], b.ide[1], !opt.firmware);
    b.pci->add(b.ide_function, 1, 1);
    b.ide_function->reset();  // decode as the configuration space says
  } else {
    for (IdeChannel* ch : b.ide) ch->attach(m.ports());
  }
}

// The board as its ACPI tables describe it: with PCI, the root bridge's 32-bit memory
// window starts where RAM below 4 GiB ends (the BIOS places the BARs there).
AcpiConfig acpi_config(Machine& m, bool pci) {
  AcpiConfig acpi;
  acpi.pci = pci;
  acpi.pci_mem_start = static_cast<uint32_t>(m.bus().low_ram_size());
  return acpi;
}

// What fw_cfg tells a BIOS about this board (as QEMU's pc machine does): one CPU, the
// RAM size and e820 map, the display hint, the boot-failure wait and the ACPI tables.
void describe_machine(Machine& m, const BoardDevices& b, const BoardOptions& opt) {
  FwCfg& fw = *b.fw_cfg;
  const PhysBus& bus = m.bus();
  fw.set_item(FwCfg::kUuid, std::vector<uint8_t>(16, 0));
  fw.set_u64(FwCfg::kRamSize, bus.ram_size());
  fw.set_u16(FwCfg::kNoGraphic, opt.no_graphics ? 1 : 0);
  fw.set_u16(FwCfg::kNbCpus, 1);   // CMOS 0x5F says the same (CPUs - 1 = 0)
  fw.set_u16(FwCfg::kMaxCpus, 1);
  fw.set_u16(FwCfg::kBootMenu, 0);
  fw.set_u32(FwCfg::kIrq0Override, b.ioapic ? 1 : 0);  // the PIT is on IOAPIC pin 2
  // etc/e820: {u64 address, u64 length, u32 type} (little-endian, packed): the RAM.
  std::vector<uint8_t> e820;
  auto entry = [&](uint64_t addr, uint64_t len, uint32_t type) {
    for (unsigned i = 0; i < 8; ++i) e820.push_back(static_cast<uint8_t>(addr >> (8 * i)));
    for (unsigned i = 0; i < 8; ++i) e820.push_back(static_cast<uint8_t>(len >> (8 * i)));
    for (unsigned i = 0; i < 4; ++i) e820.push_back(static_cast<uint8_t>(type >> (8 * i)));
  };
  entry(0, bus.low_ram_size(), 1);
  if (bus.ram_size() > bus.low_ram_size()) entry(PhysBus::kHighRamBase, bus.ram_size() - bus.low_ram_size(), 1);
  fw.set_file("etc/e820", std::move(e820));
  // A failed boot waits this long (ms) before the BIOS reboots (SeaBIOS's default: 60 s).
  fw.set_file("etc/boot-fail-wait", {0x88, 0x13, 0, 0});  // 5000
  if (b.acpi_pm) add_acpi_tables_to_fw_cfg(fw, acpi_config(m, b.pci != nullptr));
}

}  // namespace

BoardDevices build_basic_board(Machine& m, const BoardOptions& opt) {
  BoardDevices b;
  b.debug_console = m.add_device<DebugConsole>(m);
  b.debug_console->attach(m.ports());
  b.pic = m.add_device<Pic8259Pair>(m);
  b.pic->attach(m.ports());
  for (unsigned i = 0; i < 16; ++i) m.isa_irq(i).connect(b.pic, i);
  m.set_interrupt_controller(b.pic);
  b.pit = m.add_device<Pit8254>(m, &m.isa_irq(0));
  b.pit->attach(m.ports());
  b.com1 = m.add_device<Uart16550>(m, Uart16550::kCom1);
  b.com1->attach(m.ports());
  b.com1->set_irq_hook([&m](bool level) { m.isa_irq(4).set(level); });
  b.reset_control = m.add_device<ResetControl>(m);
  b.reset_control->attach(m.ports());
  if (opt.pci) {
    // Added before its functions: its reset restores their configuration space first.
    b.pci = m.add_device<PciBus>(m);
    b.pci->attach(m.ports());  // after the reset control register, which keeps 0xCF9
    b.host_bridge = m.add_device<I440fx>(m, !opt.firmware);
    b.pci->add(b.host_bridge, 0, 0);
    b.isa_bridge = m.add_device<Piix3Isa>(m);
    b.pci->add(b.isa_bridge, 1, 0);
    b.pci->set_irq_router(b.isa_bridge);
  }
  // FERR# to IRQ 13 through the PC/AT latch, cleared by a write to port F0h.
  b.coprocessor_error = m.add_device<CoprocessorError>(m, &m.isa_irq(13));
  b.coprocessor_error->attach(m.ports());
  if (opt.apic && m.cpu_model().has(Feature::Apic)) {
    // The local APIC takes over the CPU's INTR: the PIC reaches it through LINT0.
    b.lapic = m.add_device<Lapic>(m);
    b.lapic->set_extint_source(b.pic);
    b.pic->set_output(b.lapic, 0);
    m.set_lapic(b.lapic);
    m.set_interrupt_controller(b.lapic);
    b.ioapic = m.add_device<IoApic>(m, b.lapic);
    b.ioapic->attach(m.bus());
    b.lapic->set_eoi_hook([io = b.ioapic](uint8_t vector) { io->eoi(vector); });
    // ISA IRQ 0 is IOAPIC pin 2 (the MADT's interrupt source override); IRQ 2 is the
    // PICs' cascade and reaches no pin.
    m.isa_irq(0).connect(b.ioapic, 2);
    for (unsigned i = 1; i < 16; ++i)
      if (i != 2) m.isa_irq(i).connect(b.ioapic, i);
    if (opt.acpi) {
      const AcpiConfig acpi = acpi_config(m, b.pci != nullptr);
      b.acpi_pm = m.add_device<AcpiPm>(m, &m.isa_irq(acpi.sci_irq), acpi.pm_base);
      b.acpi_pm->attach(m.ports());
      if (!opt.firmware) b.acpi_tables = m.add_device<AcpiTables>(m, acpi);
      if (b.pci) {
        b.pm_function = m.add_device<Piix4Pm>(m, b.acpi_pm, !opt.firmware);
        b.pci->add(b.pm_function, 1, 3);
      }
    }
  }
  b.com2 = m.add_device<Uart16550>(m, Uart16550::kCom2);
  b.com2->attach(m.ports());
  b.com2->set_irq_hook([&m](bool level) { m.isa_irq(3).set(level); });
  b.rtc = m.add_device<RtcCmos>(m, &m.isa_irq(8), opt.rtc_start_unix_ns);
  b.rtc->attach(m.ports());
  b.i8042 = m.add_device<I8042>(m, &m.isa_irq(1), &m.isa_irq(12));
  b.i8042->attach(m.ports());
  if (b.pci || opt.drives.any_ide()) add_ide(m, opt, b);
  b.dma = m.add_device<Dma8237>(m.bus());
  b.dma->attach(m.ports());
  b.fdc = m.add_device<Fdc82077>(m, &m.isa_irq(Fdc82077::kIrq), b.dma);
  b.fdc->attach(m.ports());
  if (opt.drives.fda) {
    b.fdc->insert(0, opt.drives.fda);
    b.rtc->set_floppy_types(opt.drives.fda->floppy_format()->cmos_type, 0);
  }
  if (opt.drives.boot) {
    static const char* const kOrders[] = {"cda", "dca", "acd"};
    b.rtc->set_boot_order(kOrders[opt.drives.boot == 'c' ? 0 : opt.drives.boot == 'd' ? 1 : 2]);
  }
  if (opt.vga) {
    b.vga = m.add_device<Vga>(m, opt.vga_vram_bytes);
    b.vga->attach(m.ports(), m.bus());
    if (b.pci) {
      // As QEMU's pc machine: the VGA at 00:02.0, its LFB where the BIOS puts BAR0.
      b.vga_pci = m.add_device<VgaPci>(*b.vga, opt.vga_rom);
      b.pci->add(b.vga_pci, VgaPci::kSlot, 0);
    }
  }
  if (opt.pci) {
    b.fw_cfg = m.add_device<FwCfg>(m);
    b.fw_cfg->attach(m.ports());
    describe_machine(m, b, opt);
  }
  if (opt.debug_exit) {
    b.debug_exit = m.add_device<DebugExit>(m, opt.debug_exit_port, opt.debug_exit_size);
    b.debug_exit->attach(m.ports());
  }
  return b;
}

const char* basic_board_port_owner(uint16_t port) {
  if (port == DebugConsole::kBochsPort || port == DebugConsole::kSeaBiosPort) return "the debug console";
  if (port >= Uart16550::kCom1 && port < Uart16550::kCom1 + 8) return "COM1";
  if (port == ResetControl::kPortA || port == ResetControl::kResetControl) return "the reset control ports";
  if (port >= AcpiPm::kDefaultBase && port < AcpiPm::kDefaultBase + AcpiPm::kSize) return "the ACPI PM block";
  if (port >= Uart16550::kCom2 && port < Uart16550::kCom2 + 8) return "COM2";
  if (port == 0x20 || port == 0x21 || port == 0xA0 || port == 0xA1 || port == 0x4D0 || port == 0x4D1)
    return "the 8259 interrupt controllers";
  if ((port >= 0x40 && port <= 0x43) || port == 0x61) return "the 8254 timer";
  if (port == CoprocessorError::kPort) return "the coprocessor error latch";
  if (port == RtcCmos::kIndexPort || port == RtcCmos::kDataPort) return "the RTC/CMOS";
  if (port == I8042::kDataPort || port == I8042::kCommandPort) return "the keyboard controller";
  if ((port >= IdeChannel::kPrimaryCmd && port < IdeChannel::kPrimaryCmd + 8) || port == IdeChannel::kPrimaryCtl ||
      (port >= IdeChannel::kSecondaryCmd && port < IdeChannel::kSecondaryCmd + 8) ||
      port == IdeChannel::kSecondaryCtl)
    return "the IDE controller";
  if (port <= 0x0F || (port >= 0x80 && port <= 0x8F) || (port >= 0xC0 && port <= 0xDF)) return "the DMA controllers";
  if ((port >= Fdc82077::kBase && port <= Fdc82077::kBase + 5) || port == Fdc82077::kBase + 7)
    return "the floppy controller";
  if ((port >= 0x3B0 && port < 0x3E0) || (port >= 0x1CE && port <= 0x1D0)) return "the VGA";
  if (port == 0xCF8 || (port >= 0xCFA && port <= 0xCFF)) return "the PCI configuration ports";
  if (port == FwCfg::kSelectorPort || port == FwCfg::kDataPort || (port >= FwCfg::kDmaPort && port < FwCfg::kDmaPort + 8))
    return "fw_cfg";
  return nullptr;
}

}  // namespace kestrel::machine
