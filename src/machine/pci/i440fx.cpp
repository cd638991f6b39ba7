#include "machine/pci/i440fx.h"

#include "machine/machine.h"

namespace kestrel::machine {

I440fx::I440fx(Machine& m, bool preconfigured)
    : PciDevice(0x8086, 0x1237, 0x060000, 0x02), m_(m), preconfigured_(preconfigured) {
  // Host bridges decode memory from power-on (command bits 1 and 2, 82441FX §3.2.3).
  init_config16(pci_cfg::kCommand, pci_cfg::kCmdMemory | pci_cfg::kCmdBusMaster);
  init_config16(pci_cfg::kStatus, 0x0280);  // DEVSEL medium, fast back-to-back capable
  // 0x50-0x58 (PMCCFG, DETURBO, DBC, AXC, DRT, DRAMC, DRAMT) are plain storage here.
  set_writable(0x50, 8, 0xFFFFFFFF);
  set_writable(0x58, 1, 0xFF);
  set_writable(kPam0, 1, 0x30);
  for (unsigned i = 1; i < 7; ++i) set_writable(kPam0 + i, 1, 0x33);
  if (preconfigured) {
    init_config8(kPam0, 0x30);
    for (unsigned i = 1; i < 7; ++i) init_config8(kPam0 + i, 0x33);
  }
  for (unsigned i = 0; i < 8; ++i) init_config8(0x60 + i, 0x01);  // DRB: row boundaries
  set_writable(0x60, 8, 0xFFFFFFFF);
  set_writable(0x64, 4, 0xFFFFFFFF);
  init_config8(kSmram, 0x02);  // SMRAM: C_BASE_SEG = 010 (0xA0000); no SMM here
  set_writable(kSmram, 1, 0x78);
  reset();
}

void I440fx::apply_pam(const uint8_t pam[7]) {
  bool changed = false;
  // PAM0 high nibble: the 64 KiB BIOS segment.
  changed |= m_.bus().set_shadow(0xF0000, 0x10000, pam[0] & 0x10, pam[0] & 0x20);
  for (unsigned i = 1; i < 7; ++i) {
    const uint64_t base = 0xC0000 + (i - 1) * 0x8000;
    changed |= m_.bus().set_shadow(base, 0x4000, pam[i] & 0x01, pam[i] & 0x02);
    changed |= m_.bus().set_shadow(base + 0x4000, 0x4000, pam[i] & 0x10, pam[i] & 0x20);
  }
  if (changed) m_.memory_map_changed(PhysBus::kShadowBase, PhysBus::kShadowEnd - PhysBus::kShadowBase);
}

void I440fx::reset() {
  // Power-on: every segment goes to the PCI bus (the BIOS flash answers at 0xE0000-0xFFFFF),
  // or, preconfigured, to RAM.
  uint8_t pam[7] = {};
  if (preconfigured_) {
    pam[0] = 0x30;
    for (unsigned i = 1; i < 7; ++i) pam[i] = 0x33;
  }
  apply_pam(pam);
}

void I440fx::config_written(unsigned offset, unsigned size) {
  if (offset >= kPam0 + 7 || offset + size <= kPam0) return;
  uint8_t pam[7];
  for (unsigned i = 0; i < 7; ++i) pam[i] = cfg8(kPam0 + i);
  apply_pam(pam);
}

void I440fx::save(StateWriter& w) const { w.begin(name()); }

void I440fx::load(StateReader& r) {
  r.begin(name());
  uint8_t pam[7];
  for (unsigned i = 0; i < 7; ++i) pam[i] = cfg8(kPam0 + i);  // the bus loaded configuration space
  apply_pam(pam);
}

}  // namespace kestrel::machine
