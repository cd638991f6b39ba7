// The VGA's PCI function, as QEMU's "-vga std" presents it: vendor 0x1234, device
// 0x1111 (the Bochs/QEMU standard VGA), class 0x030000 (VGA-compatible display),
// subsystem 1AF4:1100, at 00:02.0 on the i440FX board.
//
//   BAR0  the linear framebuffer: all of video memory (prefetchable, 16 MiB)
//   BAR2  4 KiB of registers: 0x000-0x0FF EDID (none here: reads 0), 0x400-0x41F
//         the VGA ports 0x3C0-0x3DF, 0x500-0x515 the DISPI registers as 16-bit
//         words (index n at 0x500 + 2n), as QEMU's "qext"-less stdvga MMIO BAR
//   ROM   the expansion ROM: the VGA BIOS image (Debian's vgabios-stdvga.bin),
//         which SeaBIOS copies to 0xC0000 and runs
//
// The legacy ports and the 0xA0000 window stay decoded by the Vga itself, as a
// PCI VGA's are (they are not BARs). With the function on a bus the Vga's own LFB
// mapping is removed: BAR0 is the LFB wherever the BIOS puts it.
#pragma once

#include <cstdint>
#include <vector>

#include "machine/device.h"
#include "machine/pci/pci.h"

namespace kestrel::machine {

class Vga;

class VgaPci final : public Device, public PciDevice {
 public:
  static constexpr uint16_t kVendor = 0x1234, kDeviceId = 0x1111;
  static constexpr unsigned kSlot = 2;
  static constexpr uint32_t kMmioBarSize = 0x1000;

  // `rom` may be empty (no expansion ROM).
  VgaPci(Vga& vga, std::vector<uint8_t> rom);

  const char* name() const override { return "vga-pci"; }
  void reset() override {}
  void save(StateWriter& w) const override;
  void load(StateReader& r) override;

  uint64_t mmio_read(unsigned bar, uint64_t offset, unsigned size) override;
  void mmio_write(unsigned bar, uint64_t offset, uint64_t value, unsigned size) override;

 private:
  Vga& vga_;
};

}  // namespace kestrel::machine
