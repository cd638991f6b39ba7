#include "machine/devices/ide_piix.h"

#include "machine/devices/ide_channel.h"
#include "machine/machine.h"

namespace kestrel::machine {

PiixIde::PiixIde(Machine& m, IdeChannel* primary, IdeChannel* secondary, bool preconfigured)
    : PciDevice(0x8086, 0x7010, 0x010180), m_(m), ch_{primary, secondary} {
  bm_[0] = m.add_device<IdeBusMaster>(m.bus(), *primary, "piix3-ide-bm0");
  bm_[1] = m.add_device<IdeBusMaster>(m.bus(), *secondary, "piix3-ide-bm1");
  primary->set_dma_engine(bm_[0]);
  secondary->set_dma_engine(bm_[1]);
  declare_bar(4, PciBar::Io, 16);
  init_config16(pci_cfg::kStatus, 0x0280);  // fast back-to-back capable, medium DEVSEL timing
  const uint16_t idetim = preconfigured ? kIdeDecodeEnable : 0;
  init_config16(kIdetimPrimary, idetim);
  init_config16(kIdetimSecondary, idetim);
  set_writable(kIdetimPrimary, 2, 0xF377);
  set_writable(kIdetimSecondary, 2, 0xF377);
  set_writable(kSidetim, 1, 0xFF);
  if (preconfigured) init_config16(pci_cfg::kCommand, pci_cfg::kCmdIo | pci_cfg::kCmdBusMaster);
}

void PiixIde::reset() {
  bm_[0]->reset();
  bm_[1]->reset();
  update_decoding();
}

void PiixIde::update_decoding() {
  const bool io = command() & pci_cfg::kCmdIo;
  const unsigned idetim[2] = {kIdetimPrimary, kIdetimSecondary};
  for (unsigned i = 0; i < 2; ++i) {
    const bool on = io && (cfg16(idetim[i]) & kIdeDecodeEnable);
    if (on != decoding_[i]) {
      if (on) ch_[i]->attach(m_.ports());
      else ch_[i]->detach(m_.ports());
      decoding_[i] = on;
    }
    bm_[i]->set_master_enabled(bus_master());
  }
}

void PiixIde::config_written(unsigned offset, unsigned size) {
  (void)offset, (void)size;
  update_decoding();
}

uint32_t PiixIde::io_read(unsigned bar, uint32_t offset, unsigned size) {
  if (bar != 4) return 0xFFFFFFFFu;
  uint32_t v = 0;
  for (unsigned i = 0; i < size; ++i) {
    const uint32_t o = (offset + i) & 15;
    v |= static_cast<uint32_t>(bm_[o >> 3]->read_reg(o & 7)) << (8 * i);
  }
  return v;
}

void PiixIde::io_write(unsigned bar, uint32_t offset, uint32_t value, unsigned size) {
  if (bar != 4) return;
  for (unsigned i = 0; i < size; ++i) {
    const uint32_t o = (offset + i) & 15;
    bm_[o >> 3]->write_reg(o & 7, static_cast<uint8_t>(value >> (8 * i)));
  }
}

void PiixIde::save(StateWriter& w) const {
  w.begin(name());
  save_config(w);
  w.put<uint8_t>(decoding_[0]);
  w.put<uint8_t>(decoding_[1]);
}

void PiixIde::load(StateReader& r) {
  r.begin(name());
  load_config(r);
  r.get<uint8_t>();
  r.get<uint8_t>();
  update_decoding();
}

}  // namespace kestrel::machine
