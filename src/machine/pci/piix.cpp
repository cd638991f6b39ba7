#include "machine/pci/piix.h"

#include "machine/devices/acpi_pm.h"
#include "machine/machine.h"

namespace kestrel::machine {

// ---------------------------------------------------------------- PIIX3 ISA bridge

Piix3Isa::Piix3Isa(Machine& m) : PciDevice(0x8086, 0x7000, 0x060100), m_(m) {
  init_config16(pci_cfg::kCommand, pci_cfg::kCmdIo | pci_cfg::kCmdMemory | pci_cfg::kCmdBusMaster);
  init_config16(pci_cfg::kStatus, 0x0200);  // DEVSEL medium
  // 0x4C-0xFF: ISA I/O recovery, X-bus chip select, top of memory, the motherboard
  // IRQ/DMA routes, APIC base, SMI registers... kept as storage; the PIRQ routes act.
  for (unsigned off = 0x4C; off < 0x100; off += 4) set_writable(off, 4, 0xFFFFFFFF);
  init_config8(0x4C, 0x4D);  // IORT
  init_config16(0x4E, 0x0003);  // XBCS: RTC and keyboard controller decoded
  for (unsigned i = 0; i < 4; ++i) init_config8(kPirqRoute + i, 0x80);
  set_writable(kPirqRoute, 4, 0x8F8F8F8F);
  init_config8(0x69, 0x02);  // TOM
  init_config8(0x70, 0x80);  // MBIRQ0 disabled
  init_config8(0x76, 0x0C);  // MBDMA
  init_config8(0x77, 0x0C);
}

int Piix3Isa::route_of(unsigned pirq) const {
  const uint8_t r = cfg8(kPirqRoute + (pirq & 3));
  if (r & 0x80) return -1;
  const unsigned irq = r & 0x0F;
  // IRQs 0-2, 8 and 13 are reserved (data sheet Table 6: "reserved" route values).
  if (irq < 3 || irq == 8 || irq == 13) return -1;
  return static_cast<int>(irq);
}

void Piix3Isa::update_lines() {
  uint16_t want = 0;
  for (unsigned i = 0; i < 4; ++i) {
    const int irq = route_of(i);
    if (pirq_[i] && irq >= 0) want |= static_cast<uint16_t>(1u << irq);
  }
  const uint16_t changed = static_cast<uint16_t>(want ^ driven_);
  driven_ = want;
  for (unsigned irq = 0; irq < 16; ++irq)
    if (changed & (1u << irq)) m_.isa_irq(irq).set(want & (1u << irq));
}

void Piix3Isa::set_pirq(unsigned pirq, bool level) {
  pirq_[pirq & 3] = level;
  update_lines();
}

void Piix3Isa::config_written(unsigned offset, unsigned size) {
  if (offset < kPirqRoute + 4 && offset + size > kPirqRoute) update_lines();
}

void Piix3Isa::reset() {
  // The bus restores the routes (0x80: disabled); the lines we held drop with them.
  for (unsigned irq = 0; irq < 16; ++irq)
    if (driven_ & (1u << irq)) m_.isa_irq(irq).set(false);
  driven_ = 0;
}

void Piix3Isa::save(StateWriter& w) const {
  w.begin(name());
  for (bool p : pirq_) w.put(p);
  w.put(driven_);
}

void Piix3Isa::load(StateReader& r) {
  r.begin(name());
  for (bool& p : pirq_) r.get(p);
  r.get(driven_);
}

// ---------------------------------------------------------------- PIIX4 power management

Piix4Pm::Piix4Pm(Machine& m, AcpiPm* pm, bool preconfigured)
    : PciDevice(0x8086, 0x7113, 0x068000, 0x03), m_(m), pm_(pm) {
  init_config16(pci_cfg::kStatus, 0x0280);
  set_interrupt_pin(1);
  init_config8(pci_cfg::kInterruptLine, 9);
  init_config32(kPmBase, preconfigured ? (AcpiPm::kDefaultBase | 1u) : 1u);
  set_writable(kPmBase, 4, 0x0000FFC0);
  init_config8(kPmRegMisc, preconfigured ? 1 : 0);
  set_writable(kPmRegMisc, 1, 0x01);
  // DEVACTA/B, DEVRESx, SMBus base (0x90) and configuration (0xD2): storage.
  set_writable(0x58, 8, 0xFFFFFFFF);
  set_writable(0x5C, 4, 0xFFFFFFFF);
  set_writable(0x90, 4, 0x0000FFF0);
  init_config32(0x90, 1);
  set_writable(0xD2, 1, 0x0F);
  update_block();
}

void Piix4Pm::update_block() {
  if (!pm_) return;
  const uint16_t base = static_cast<uint16_t>(cfg32(kPmBase) & 0xFFC0);
  const bool on = (cfg8(kPmRegMisc) & 1) && base != 0;
  pm_->relocate(m_.ports(), base ? base : pm_->base(), on);
}

void Piix4Pm::config_written(unsigned offset, unsigned size) {
  const unsigned end = offset + size;
  if ((offset < kPmBase + 4 && end > kPmBase) || (offset <= kPmRegMisc && end > kPmRegMisc)) update_block();
}

// The bus restores PMBASE/PMREGMISC; the block follows (reset runs after the bus's).
void Piix4Pm::reset() { update_block(); }

void Piix4Pm::save(StateWriter& w) const { w.begin(name()); }

void Piix4Pm::load(StateReader& r) {
  r.begin(name());
  update_block();
}

}  // namespace kestrel::machine
