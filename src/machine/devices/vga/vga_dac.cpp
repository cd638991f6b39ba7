#include "machine/devices/vga/vga_dac.h"

namespace kestrel::machine::vga {

void VgaDac::reset() {
  for (auto& e : palette_) e = {0, 0, 0};
  pel_mask_ = 0xFF;
  write_index_ = read_index_ = 0;
  component_ = 0;
  state_ = 0;
  eight_bit_ = false;
}

void VgaDac::save(StateWriter& w) const {
  w.begin("vga-dac");
  w.put(palette_);
  w.put(pel_mask_); w.put(write_index_); w.put(read_index_); w.put(component_); w.put(state_); w.put(eight_bit_);
}

void VgaDac::load(StateReader& r) {
  r.begin("vga-dac");
  r.get(palette_);
  r.get(pel_mask_); r.get(write_index_); r.get(read_index_); r.get(component_); r.get(state_); r.get(eight_bit_);
  component_ %= 3;
}

uint8_t VgaDac::read_port(uint16_t port) {
  switch (port) {
    case 0x3C6: return pel_mask_;
    case 0x3C7: return state_;
    case 0x3C8: return write_index_;
    case 0x3C9: {
      uint8_t v = palette_[read_index_][component_];
      if (!eight_bit_) v &= 0x3F;
      if (++component_ == 3) {
        component_ = 0;
        ++read_index_;
      }
      return v;
    }
    default: return 0xFF;
  }
}

void VgaDac::write_port(uint16_t port, uint8_t v) {
  switch (port) {
    case 0x3C6: pel_mask_ = v; break;
    case 0x3C7:
      read_index_ = v;
      component_ = 0;
      state_ = 3;
      break;
    case 0x3C8:
      write_index_ = v;
      component_ = 0;
      state_ = 0;
      break;
    case 0x3C9:
      palette_[write_index_][component_] = eight_bit_ ? v : static_cast<uint8_t>(v & 0x3F);
      if (++component_ == 3) {
        component_ = 0;
        ++write_index_;
      }
      break;
    default: break;
  }
}

std::array<uint8_t, 3> VgaDac::rgb(uint8_t index) const {
  std::array<uint8_t, 3> out = palette_[index];
  if (!eight_bit_)
    for (auto& c : out) c = static_cast<uint8_t>((c & 0x3F) << 2 | (c & 0x3F) >> 4);  // 0..63 -> 0..255
  return out;
}

}  // namespace kestrel::machine::vga
