// The PIIX functions of QEMU's "pc" machine on PCI device 1:
// - 00:01.0, the PIIX3 PCI-to-ISA bridge (82371SB, 8086:7000): its PIRQ route control
//   registers (config 0x60-0x63, 82371SB data sheet §2.2.9: bit 7 disables the route,
//   bits 3:0 name the ISA IRQ, one of 3-7, 9-12, 14, 15; 0x80 at power-on) steer the
//   PCI interrupt lines PIRQA#-PIRQD# onto ISA IRQ lines, which reach both the 8259
//   pair (level-triggered through the ELCR at 0x4D0/0x4D1, in devices/pic8259) and the
//   IOAPIC pin of the same number. Several PIRQs may share one IRQ (wired-OR).
// - 00:01.3, the PIIX4 power-management function (82371AB, 8086:7113): PMBASE (config
//   0x40, I/O space indicator bit 0, bits 15:6 the base) and PMREGMISC bit 0 (0x80,
//   PMIOSE) place the ACPI fixed-hardware block (devices/acpi_pm: PM1 event/control,
//   PM timer) in I/O space; its SCI is hard-wired to IRQ 9 (interrupt pin A as QEMU
//   reports it, interrupt line 9). SeaBIOS moves the block to 0x600 when fw_cfg offers
//   etc/table-loader (our tables' FADT says 0x600 too).
//
// A board that starts without firmware (direct kernel boot) powers these up as a BIOS
// leaves them: `preconfigured` sets PMBASE = 0x600 with PMIOSE on. With a BIOS they
// come up as after a hardware reset (PMBASE 0, block off the bus).
#pragma once

#include "machine/device.h"
#include "machine/pci/pci.h"

namespace kestrel::machine {

class Machine;
class AcpiPm;

class Piix3Isa final : public Device, public PciDevice, public PciIrqRouter {
 public:
  static constexpr unsigned kPirqRoute = 0x60;

  explicit Piix3Isa(Machine& m);

  const char* name() const override { return "piix3-isa"; }
  void reset() override;
  void save(StateWriter& w) const override;
  void load(StateReader& r) override;
  void config_written(unsigned offset, unsigned size) override;
  void set_pirq(unsigned pirq, bool level) override;

  // The ISA IRQ PIRQ `pirq` is routed to, or -1 when the route is disabled.
  int route_of(unsigned pirq) const;

 private:
  void update_lines();

  Machine& m_;
  bool pirq_[4] = {};
  uint16_t driven_ = 0;  // ISA IRQs a PIRQ currently holds asserted
};

class Piix4Pm final : public Device, public PciDevice {
 public:
  static constexpr unsigned kPmBase = 0x40, kPmRegMisc = 0x80;

  Piix4Pm(Machine& m, AcpiPm* pm, bool preconfigured);

  const char* name() const override { return "piix4-pm"; }
  void reset() override;
  void save(StateWriter& w) const override;
  void load(StateReader& r) override;
  void config_written(unsigned offset, unsigned size) override;

 private:
  void update_block();

  Machine& m_;
  AcpiPm* pm_;
};

}  // namespace kestrel::machine
