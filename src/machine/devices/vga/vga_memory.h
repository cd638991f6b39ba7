// The VGA's video memory and the graphics controller's data path between it and
// the CPU: four planes of 64 KiB, the four latches, the write modes 0-3 (rotate,
// set/reset, logical operation, bit mask, map mask), the read modes 0 and 1
// (colour compare), and the three ways a CPU address picks planes: sequential
// (planar, the map mask chooses), odd/even (address bit 0 chooses plane 0/2 or
// 1/3) and chain-4 (address bits 0-1 choose the plane).
//
// Layout: VRAM is one byte array shared with the Bochs VBE framebuffer. Byte
// `offset` of plane p is vram[offset * 4 + p], so the four planes of one address
// sit together (the 32 bits a latch load reads) and a linear VBE mode sees the
// same bytes in order. Standard VGA addressing stays within the first 256 KiB.
//
// Odd/even and chain-4 replace the address bits that select the plane with 0 in
// the plane offset, as IBM's VGA does ("Chain Odd/Even", "Chain 4"): text mode's
// character at B800:2n is plane 0 offset 2n and its attribute plane 1 offset 2n,
// and mode 13h's pixel n is plane n&3 at offset n&~3, which is where the CRTC's
// word and doubleword address modes fetch them. (The odd/even page bit of the
// miscellaneous output register is not used for that bit.)
//
// Reference: IBM VGA Technical Reference, "Graphics Controller Registers" and
// "Sequencer Registers"; FreeVGA, "VGA/SVGA Video Hardware: Graphics Controller".
#pragma once

#include <cstdint>
#include <vector>

#include "machine/devices/vga/vga_registers.h"

namespace kestrel::machine::vga {

class VgaMemory {
 public:
  static constexpr uint32_t kPlaneSize = 0x10000;  // 64 KiB per plane on a standard VGA

  VgaMemory(const VgaRegisters& regs, uint32_t vram_bytes);

  void reset();  // latches only: video memory keeps its contents over a reset

  // A CPU access at `offset` inside the window the memory map select chose.
  uint8_t cpu_read(uint32_t offset);
  void cpu_write(uint32_t offset, uint8_t value);

  // Byte `offset` (wrapped to the plane size) of plane `plane`, for the display.
  uint8_t plane_byte(unsigned plane, uint32_t offset) const {
    return vram_[((offset & (kPlaneSize - 1)) << 2) | (plane & 3)];
  }
  uint8_t& plane_byte_ref(unsigned plane, uint32_t offset) {
    return vram_[((offset & (kPlaneSize - 1)) << 2) | (plane & 3)];
  }

  std::vector<uint8_t>& vram() { return vram_; }
  const std::vector<uint8_t>& vram() const { return vram_; }
  const uint8_t* latches() const { return latch_; }
  uint8_t* latches() { return latch_; }

 private:
  const VgaRegisters& regs_;
  std::vector<uint8_t> vram_;
  uint8_t latch_[4] = {};
};

}  // namespace kestrel::machine::vga
