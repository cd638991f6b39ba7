// A standard VGA with the Bochs VBE extensions: QEMU's "-vga std" as far as the
// guest can tell (SeaVGABIOS's vgabios-stdvga.bin drives it), minus the PCI
// function, which the board adds when it has a PCI bus.
//
//   ports 0x3B0-0x3DF   the VGA registers (vga_registers.h); the CRTC and input
//                       status 1 answer at 0x3Dx or 0x3Bx as misc output bit 0 says
//   ports 0x1CE/0x1CF   the VBE DISPI interface (vbe_dispi.h)
//   0xA0000-0xBFFFF     the CPU window into video memory, decoded by the graphics
//                       controller's memory map select; with a VBE mode on, a
//                       64 KiB bank of the linear video memory
//   the LFB             all of video memory, linear (16 MiB by default), at a base
//                       the PCI BAR or the board chooses
//
// Input status 1 (0x3DA) reports display-disabled (bit 0) and vertical retrace
// (bit 3) from the virtual clock: a 70 Hz frame of 449 lines of 31.78 us, the last
// 49 lines blanked and two of them in retrace, so polling loops see both edges.
//
// Every write that can change the picture bumps generation(), so front ends can
// tell cheaply whether the screen may have changed.
#pragma once

#include <cstdint>
#include <memory>

#include "machine/device.h"
#include "machine/devices/vga/vbe_dispi.h"
#include "machine/devices/vga/vga_dac.h"
#include "machine/devices/vga/vga_memory.h"
#include "machine/devices/vga/vga_registers.h"
#include "machine/phys_bus.h"
#include "machine/port_bus.h"

namespace kestrel::machine {

class Machine;

class Vga final : public Device, public PortDevice, public MmioDevice {
 public:
  static constexpr uint32_t kDefaultVramBytes = 16u << 20;
  static constexpr uint64_t kWindowBase = 0xA0000, kWindowSize = 0x20000;
  // Where the LFB sits when no PCI BAR places it: the Bochs VBE default, which is
  // also where SeaVGABIOS looks without a PCI device.
  static constexpr uint64_t kDefaultLfbBase = 0xE0000000;

  Vga(Machine& m, uint32_t vram_bytes = kDefaultVramBytes);
  ~Vga() override;

  // Maps the ports, the legacy window and the LFB at `lfb_base` (0: no LFB yet).
  void attach(PortBus& ports, PhysBus& bus, uint64_t lfb_base = kDefaultLfbBase);
  // Moves the LFB (a PCI BAR write); 0 unmaps it.
  void set_lfb_base(uint64_t base);
  uint64_t lfb_base() const { return lfb_base_; }
  uint32_t vram_size() const { return static_cast<uint32_t>(mem_.vram().size()); }

  const char* name() const override { return "vga"; }
  void reset() override;
  void save(StateWriter& w) const override;
  void load(StateReader& r) override;

  uint32_t port_in(uint16_t port, unsigned size) override;
  void port_out(uint16_t port, uint32_t value, unsigned size) override;
  // The legacy window 0xA0000-0xBFFFF (offsets from 0xA0000).
  uint64_t mmio_read(uint64_t offset, unsigned size) override;
  void mmio_write(uint64_t offset, uint64_t value, unsigned size) override;

  // Video memory through the LFB (offsets from its base), bounds-checked: what
  // the Vga's own LFB mapping and the PCI function's BAR0 both use.
  uint64_t lfb_read(uint64_t offset, unsigned size) const;
  void lfb_write(uint64_t offset, uint64_t value, unsigned size);
  // A DISPI register by index, without touching the index port (PCI BAR2).
  uint16_t dispi_read(uint16_t index);
  void dispi_write(uint16_t index, uint16_t value);

  // For the display code and tests.
  const vga::VgaRegisters& regs() const { return regs_; }
  const vga::VgaMemory& memory() const { return mem_; }
  vga::VgaMemory& memory() { return mem_; }
  const vga::VgaDac& dac() const { return dac_; }
  const vga::VbeDispi& dispi() const { return dispi_; }
  uint64_t generation() const { return generation_; }
  // Input status 1 at guest time `now_ns` (bits 0 and 3).
  static uint8_t retrace_bits(uint64_t now_ns);

 private:
  class Lfb;
  uint8_t read_byte(uint16_t port);
  void write_byte(uint16_t port, uint8_t v);
  // Offset into the CPU window for a legacy-window offset, or -1 when the memory
  // map select leaves it unmapped.
  int64_t window_offset(uint64_t offset) const;
  uint8_t window_read(uint64_t offset);
  void window_write(uint64_t offset, uint8_t v);
  bool vbe_linear() const { return dispi_.enabled() && dispi_.reg(vga::VbeDispi::kBpp) != 4; }

  Machine& m_;
  PhysBus* bus_ = nullptr;
  vga::VgaRegisters regs_;
  vga::VgaMemory mem_;
  vga::VgaDac dac_;
  vga::VbeDispi dispi_;
  std::unique_ptr<Lfb> lfb_;
  uint64_t lfb_base_ = 0;
  uint64_t generation_ = 0;
};

}  // namespace kestrel::machine
