#include "machine/devices/vga/vga_memory.h"

namespace kestrel::machine::vga {

VgaMemory::VgaMemory(const VgaRegisters& regs, uint32_t vram_bytes) : regs_(regs), vram_(vram_bytes, 0) {}

void VgaMemory::reset() {
  for (auto& l : latch_) l = 0;
}

uint8_t VgaMemory::cpu_read(uint32_t offset) {
  unsigned plane;
  if (regs_.chain4()) {
    plane = offset & 3;
    offset &= ~3u;
  } else if (regs_.read_odd_even()) {
    // Odd/even: address bit 0 picks the odd or even plane of the pair the read
    // map select's bit 1 names.
    plane = (regs_.gc[gc::kReadMapSelect] & 2) | (offset & 1);
    offset &= ~1u;
  } else {
    plane = regs_.gc[gc::kReadMapSelect] & 3;
  }
  for (unsigned p = 0; p < 4; ++p) latch_[p] = plane_byte(p, offset);
  if (!regs_.read_mode1()) return latch_[plane];
  // Read mode 1: a bit is 1 where every plane the colour don't-care register
  // includes matches the colour compare register's bit for that plane.
  const uint8_t compare = regs_.gc[gc::kColorCompare], care = regs_.gc[gc::kColorDontCare];
  uint8_t differ = 0;
  for (unsigned p = 0; p < 4; ++p)
    if (care & (1u << p)) differ |= latch_[p] ^ ((compare >> p) & 1 ? 0xFF : 0x00);
  return static_cast<uint8_t>(~differ);
}

void VgaMemory::cpu_write(uint32_t offset, uint8_t value) {
  uint8_t planes = regs_.map_mask();
  if (regs_.chain4()) {
    planes &= static_cast<uint8_t>(1u << (offset & 3));
    offset &= ~3u;
  } else if (regs_.write_odd_even()) {
    planes &= (offset & 1) ? 0x0A : 0x05;
    offset &= ~1u;
  }
  if (!planes) return;

  const uint8_t* g = regs_.gc;
  const unsigned rotate = g[gc::kDataRotate] & 7;
  const unsigned op = (g[gc::kDataRotate] >> 3) & 3;
  const uint8_t set_reset = g[gc::kSetReset], enable_sr = g[gc::kEnableSetReset];
  uint8_t bit_mask = g[gc::kBitMask];
  const uint8_t rotated = static_cast<uint8_t>((value >> rotate) | (value << ((8 - rotate) & 7)));
  const unsigned mode = regs_.write_mode();
  if (mode == 3) bit_mask &= rotated;  // write mode 3: the rotated data ANDs into the bit mask

  for (unsigned p = 0; p < 4; ++p) {
    if (!(planes & (1u << p))) continue;
    uint8_t& dst = plane_byte_ref(p, offset);
    if (mode == 1) {  // write mode 1: the latches as they are
      dst = latch_[p];
      continue;
    }
    const uint8_t sr_byte = (set_reset >> p) & 1 ? 0xFF : 0x00;
    uint8_t data;
    if (mode == 0) data = (enable_sr >> p) & 1 ? sr_byte : rotated;
    else if (mode == 2) data = (value >> p) & 1 ? 0xFF : 0x00;
    else data = sr_byte;  // mode 3
    switch (op) {
      case 1: data &= latch_[p]; break;
      case 2: data |= latch_[p]; break;
      case 3: data ^= latch_[p]; break;
      default: break;
    }
    dst = static_cast<uint8_t>((data & bit_mask) | (latch_[p] & ~bit_mask));
  }
}

}  // namespace kestrel::machine::vga
