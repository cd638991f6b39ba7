#include "machine/devices/vga/vga_pci.h"

#include "machine/devices/vga/vbe_dispi.h"
#include "machine/devices/vga/vga.h"

namespace kestrel::machine {

VgaPci::VgaPci(Vga& vga, std::vector<uint8_t> rom)
    : PciDevice(kVendor, kDeviceId, 0x030000, /*revision*/ 2), vga_(vga) {
  init_config16(pci_cfg::kSubsystemVendor, 0x1AF4);
  init_config16(pci_cfg::kSubsystemId, 0x1100);
  declare_bar(0, PciBar::Mem32Prefetch, vga.vram_size());
  declare_bar(2, PciBar::Mem32, kMmioBarSize);
  if (!rom.empty()) declare_rom(std::move(rom));
  // The BAR is the LFB from now on.
  vga_.set_lfb_base(0);
}

void VgaPci::save(StateWriter& w) const {
  w.begin(name());
  save_config(w);
}

void VgaPci::load(StateReader& r) {
  r.begin(name());
  load_config(r);
}

uint64_t VgaPci::mmio_read(unsigned bar, uint64_t offset, unsigned size) {
  if (bar == 0) return vga_.lfb_read(offset, size);
  if (bar != 2) return ~0ull;
  if (offset >= 0x400 && offset + size <= 0x420) return vga_.port_in(static_cast<uint16_t>(0x3C0 + offset - 0x400), size);
  if (offset >= 0x500 && offset + size <= 0x500 + 2 * vga::VbeDispi::kCount && !(offset & 1) && size == 2)
    return vga_.dispi_read(static_cast<uint16_t>((offset - 0x500) / 2));
  return 0;  // no EDID; unused registers read 0
}

void VgaPci::mmio_write(unsigned bar, uint64_t offset, uint64_t value, unsigned size) {
  if (bar == 0) {
    vga_.lfb_write(offset, value, size);
    return;
  }
  if (bar != 2) return;
  if (offset >= 0x400 && offset + size <= 0x420) {
    vga_.port_out(static_cast<uint16_t>(0x3C0 + offset - 0x400), static_cast<uint32_t>(value), size);
    return;
  }
  if (offset >= 0x500 && offset + size <= 0x500 + 2 * vga::VbeDispi::kCount && !(offset & 1) && size == 2)
    vga_.dispi_write(static_cast<uint16_t>((offset - 0x500) / 2), static_cast<uint16_t>(value));
}

}  // namespace kestrel::machine
