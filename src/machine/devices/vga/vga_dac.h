// The VGA's DAC (an INMOS G171 / IBM 6-bit RAMDAC): 256 palette entries of three
// components, the pixel mask, and the two index state machines the ports drive.
//
//   0x3C6  pixel mask (ANDed with every pixel's index before the palette lookup)
//   0x3C7  write: start reading at this entry; read: DAC state (0 = last index
//          written was the write index, 3 = the read index)
//   0x3C8  write: start writing at this entry; read: the write index
//   0x3C9  data: red, green, blue in turn; after blue the index moves on
//
// Components are 6 bits (0-63) unless the Bochs VBE interface switched the DAC to
// 8 bits (DISPI ENABLE bit 5); the stored byte is kept whole and reads and the
// picture use its low 6 bits in 6-bit mode.
#pragma once

#include <array>
#include <cstdint>

#include "machine/device.h"

namespace kestrel::machine::vga {

class VgaDac {
 public:
  void reset();
  void save(StateWriter& w) const;
  void load(StateReader& r);

  uint8_t read_port(uint16_t port);
  void write_port(uint16_t port, uint8_t v);

  uint8_t pel_mask() const { return pel_mask_; }
  void set_eight_bit(bool on) { eight_bit_ = on; }
  bool eight_bit() const { return eight_bit_; }
  // Palette entry `index` (before the pixel mask) as 8-bit-per-component RGB.
  std::array<uint8_t, 3> rgb(uint8_t index) const;
  // Entry `index` after the pixel mask.
  std::array<uint8_t, 3> pixel_rgb(uint8_t index) const { return rgb(index & pel_mask_); }
  // The raw stored components (tests and the snapshot).
  const std::array<uint8_t, 3>& entry(uint8_t index) const { return palette_[index]; }

 private:
  std::array<std::array<uint8_t, 3>, 256> palette_{};
  uint8_t pel_mask_ = 0xFF;
  uint8_t write_index_ = 0;
  uint8_t read_index_ = 0;
  uint8_t component_ = 0;  // 0..2: which of red, green, blue the data port moves next
  uint8_t state_ = 0;      // 0: writing, 3: reading (what 0x3C7 reads)
  bool eight_bit_ = false;
};

}  // namespace kestrel::machine::vga
