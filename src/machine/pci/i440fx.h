// The i440FX host bridge (82441FX PCI and Memory Controller, PCI 00:00.0, 8086:1237),
// as QEMU's "pc" machine has it and SeaBIOS expects.
//
// What it models: the identification registers, the DRAM and SMRAM registers as plain
// storage, and the PAM registers (config 0x59-0x5F, 82441FX data sheet §3.2.18) that
// decide for each segment of 0xC0000-0xFFFFF whether reads and writes reach DRAM or
// the PCI bus (where the BIOS flash's last 128 KiB answers at 0xE0000-0xFFFFF):
//   PAM0 bits 5:4  0xF0000-0xFFFFF          PAMn (n = 1..6) bits 1:0 and 5:4:
//   bit 0/4 = RE (reads from DRAM)          0xC0000 + (n - 1) * 0x8000 (low nibble)
//   bit 1/5 = WE (writes to DRAM)           and + 0x4000 (high nibble), 16 KiB each
// SeaBIOS opens them all (0x30/0x33), copies itself from the top of 4 GiB into DRAM
// at 0xE0000-0xFFFFF, and closes them again (0x10/0x11) before booting. Every change
// goes through PhysBus::set_shadow and Machine::memory_map_changed, so cached
// translations and decoded code from the old contents are dropped.
#pragma once

#include "machine/device.h"
#include "machine/pci/pci.h"

namespace kestrel::machine {

class Machine;

class I440fx final : public Device, public PciDevice {
 public:
  static constexpr unsigned kPam0 = 0x59, kSmram = 0x72;

  // preconfigured: power up with shadow RAM readable and writable (PAM 0x30/0x33), as a
  // BIOS leaves it, for boards that start without one.
  I440fx(Machine& m, bool preconfigured);

  const char* name() const override { return "i440fx"; }
  void reset() override;
  void save(StateWriter& w) const override;
  void load(StateReader& r) override;
  void config_written(unsigned offset, unsigned size) override;

 private:
  // Applies the PAM registers' current values to the bus.
  void apply_pam(const uint8_t pam[7]);

  Machine& m_;
  bool preconfigured_;
};

}  // namespace kestrel::machine
