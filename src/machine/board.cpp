#include "machine/board.h"

#include "machine/acpi/acpi_tables.h"
#include "machine/cpu_model.h"
#include "machine/devices/acpi_pm.h"
#include "machine/devices/ioapic.h"
#include "machine/devices/lapic.h"
#include "machine/devices/reset_control.h"
#include "machine/devices/debug_console.h"
#include "machine/devices/debug_exit.h"
#include "machine/devices/dma8237.h"
#include "machine/devices/fdc82077.h"
#include "machine/devices/i8042.h"
#include "machine/devices/ide_channel.h"
#include "machine/devices/pic8259.h"
#include "machine/devices/pit8254.h"
#include "machine/devices/rtc_cmos.h"
#include "machine/devices/uart16550.h"
#include "machine/devices/vga/vga.h"
#include "machine/machine.h"
#include "machine/storage/disk_image.h"

namespace kestrel::machine {

namespace {

// The two legacy IDE channels with the drives given.
void add_ide(Machine& m, const BoardDrives& drives, BoardDevices& b) {
  b.ide[0] = m.add_device<IdeChannel>(m, "ide0", IdeChannel::kPrimaryCmd, IdeChannel::kPrimaryCtl,
                                      &m.isa_irq(IdeChannel::kPrimaryIrq));
  b.ide[1] = m.add_device<IdeChannel>(m, "ide1", IdeChannel::kSecondaryCmd, IdeChannel::kSecondaryCtl,
                                      &m.isa_irq(IdeChannel::kSecondaryIrq));
  if (drives.hda) b.ide[0]->attach_disk(0, drives.hda);
  if (drives.hdb) b.ide[0]->attach_disk(1, drives.hdb);
  if (drives.cdrom_drive) b.ide[1]->attach_cdrom(0, drives.cdrom);
  for (IdeChannel* ch : b.ide) ch->attach(m.ports());
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
      AcpiConfig acpi;
      b.acpi_pm = m.add_device<AcpiPm>(m, &m.isa_irq(acpi.sci_irq), acpi.pm_base);
      b.acpi_pm->attach(m.ports());
      b.acpi_tables = m.add_device<AcpiTables>(m, acpi);
    }
  }
  b.com2 = m.add_device<Uart16550>(m, Uart16550::kCom2);
  b.com2->attach(m.ports());
  b.com2->set_irq_hook([&m](bool level) { m.isa_irq(3).set(level); });
  b.rtc = m.add_device<RtcCmos>(m, &m.isa_irq(8), opt.rtc_start_unix_ns);
  b.rtc->attach(m.ports());
  b.i8042 = m.add_device<I8042>(m, &m.isa_irq(1), &m.isa_irq(12));
  b.i8042->attach(m.ports());
  if (opt.drives.any_ide()) add_ide(m, opt.drives, b);
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
  return nullptr;
}

}  // namespace kestrel::machine
