#include "machine/devices/vga/vbe_dispi.h"

#include <algorithm>

namespace kestrel::machine::vga {

void VbeDispi::reset() {
  index_ = 0;
  for (auto& r : regs_) r = 0;
  regs_[kId] = kId0;
  regs_[kXres] = 640;
  regs_[kYres] = 480;
  regs_[kBpp] = 8;
  regs_[kVirtWidth] = 640;
  fixup();
}

void VbeDispi::save(StateWriter& w) const {
  w.begin("vbe-dispi");
  w.put(index_);
  w.put_bytes(regs_, sizeof regs_);
}

void VbeDispi::load(StateReader& r) {
  r.begin("vbe-dispi");
  r.get(index_);
  r.get_bytes(regs_, sizeof regs_);
  fixup();
}

uint32_t VbeDispi::line_bytes() const {
  const uint32_t w = regs_[kVirtWidth];
  return regs_[kBpp] == 4 ? w / 2 : w * bytes_per_pixel();
}

uint32_t VbeDispi::start_offset() const {
  const uint32_t x = regs_[kXOffset], y = regs_[kYOffset];
  return regs_[kBpp] == 4 ? y * line_bytes() + x / 2 : y * line_bytes() + x * bytes_per_pixel();
}

void VbeDispi::fixup() {
  uint16_t& bpp = regs_[kBpp];
  if (bpp != 4 && bpp != 8 && bpp != 15 && bpp != 16 && bpp != 24 && bpp != 32) bpp = 8;
  uint16_t& xres = regs_[kXres];
  uint16_t& yres = regs_[kYres];
  xres = std::clamp<uint16_t>(static_cast<uint16_t>(xres & ~7u), 8, kMaxXres);
  yres = std::clamp<uint16_t>(yres, 1, kMaxYres);
  uint16_t& vw = regs_[kVirtWidth];
  vw = std::clamp<uint16_t>(static_cast<uint16_t>(vw & ~7u), xres, 0xFFF8);
  uint32_t line = line_bytes();
  if (static_cast<uint64_t>(line) * yres > vram_bytes_) {
    // The virtual width does not fit: fall back to the visible width, then to a
    // height that fits.
    vw = xres;
    line = line_bytes();
    if (static_cast<uint64_t>(line) * yres > vram_bytes_) yres = static_cast<uint16_t>(vram_bytes_ / line);
  }
  const uint32_t vh = std::min<uint32_t>(vram_bytes_ / line, 0xFFFF);
  regs_[kVirtHeight] = static_cast<uint16_t>(vh);
  regs_[kXOffset] = std::min<uint16_t>(regs_[kXOffset], static_cast<uint16_t>(vw - xres));
  regs_[kYOffset] = std::min<uint32_t>(regs_[kYOffset], vh - yres);
  const uint32_t banks = std::max<uint32_t>(vram_bytes_ >> 16, 1);
  regs_[kBank] = static_cast<uint16_t>(regs_[kBank] % banks);
}

uint16_t VbeDispi::read_data() const {
  if (index_ >= kCount) return 0;
  if (regs_[kEnable] & kGetCaps) {
    if (index_ == kXres) return kMaxXres;
    if (index_ == kYres) return kMaxYres;
    if (index_ == kBpp) return kMaxBpp;
  }
  if (index_ == kVideoMemory64K) return static_cast<uint16_t>(vram_bytes_ >> 16);
  return regs_[index_];
}

bool VbeDispi::write_data(uint16_t v) {
  switch (index_) {
    case kId:
      if (v >= kId0 && v <= kId5) regs_[kId] = v;
      return false;
    case kXres: case kYres: case kBpp: case kVirtWidth: case kXOffset: case kYOffset: case kBank:
      regs_[index_] = v;
      fixup();
      return false;
    case kEnable: {
      const bool was = enabled();
      regs_[kEnable] = v;
      if ((v & kEnabled) && !was) {
        // Turning a mode on starts with an unpanned virtual screen as wide as the mode.
        regs_[kVirtWidth] = regs_[kXres];
        regs_[kXOffset] = regs_[kYOffset] = 0;
        regs_[kBank] = 0;
        fixup();
        return !(v & kNoClearMem);
      }
      return false;
    }
    default:
      return false;  // VIRT_HEIGHT and the memory size are read-only
  }
}

}  // namespace kestrel::machine::vga
