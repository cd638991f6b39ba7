// The PIIX3 IDE function (Intel 82371SB, 8086:7010) at PCI 00:01.1: the PCI face of
// the two legacy IDE channels (devices/ide_channel) and their bus-master engines
// (devices/ide_busmaster).
//
// Class 01.01.80: a mass-storage IDE controller with bus mastering whose channels run
// in compatibility mode only, at the legacy ports and ISA IRQs 14 and 15 (no INTx#
// pin). The channels decode their ports while the command register's I/O Space bit
// and the channel's IDE Decode Enable bit (bit 15 of IDETIM, config 0x40 primary /
// 0x42 secondary; 82371SB data sheet §2.3.10) are set; SeaBIOS writes 0x8000 to both.
// BAR4 (16 I/O ports) holds the bus-master registers, primary at +0 and secondary at
// +8; the engines move data only while the command register's Bus Master bit is set.
// SIDETIM (0x44) is kept but has no effect.
//
// A board without firmware (direct kernel boot) starts with IDETIM decode enabled,
// as a BIOS leaves it; with a BIOS the function starts as after a hardware reset.
#pragma once

#include <cstdint>

#include "machine/device.h"
#include "machine/devices/ide_busmaster.h"
#include "machine/pci/pci.h"

namespace kestrel::machine {

class IdeChannel;
class Machine;

class PiixIde final : public Device, public PciDevice {
 public:
  static constexpr unsigned kIdetimPrimary = 0x40, kIdetimSecondary = 0x42, kSidetim = 0x44;
  static constexpr uint16_t kIdeDecodeEnable = 0x8000;

  PiixIde(Machine& m, IdeChannel* primary, IdeChannel* secondary, bool preconfigured);

  const char* name() const override { return "piix3-ide"; }
  void reset() override;
  void save(StateWriter& w) const override;
  void load(StateReader& r) override;
  void config_written(unsigned offset, unsigned size) override;
  uint32_t io_read(unsigned bar, uint32_t offset, unsigned size) override;
  void io_write(unsigned bar, uint32_t offset, uint32_t value, unsigned size) override;

  IdeBusMaster& busmaster(unsigned channel) { return *bm_[channel & 1]; }
  bool decoding(unsigned channel) const { return decoding_[channel & 1]; }

 private:
  void update_decoding();

  Machine& m_;
  IdeChannel* ch_[2];
  IdeBusMaster* bm_[2];
  bool decoding_[2] = {false, false};
};

}  // namespace kestrel::machine
