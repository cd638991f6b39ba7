// The Bochs VBE display interface ("DISPI", ports 0x1CE index / 0x1CF data, 16-bit),
// as Bochs and QEMU's standard VGA provide it and SeaVGABIOS's bochsvga driver and
// Linux's bochs-drm program it: a linear framebuffer mode of XRES x YRES at BPP
// (4, 8, 15, 16, 24, 32) in a virtual screen of VIRT_WIDTH x VIRT_HEIGHT, panned by
// X_OFFSET/Y_OFFSET, reached through the LFB or a 64 KiB bank at 0xA0000.
//
// Registers: 0 ID (0xB0C0-0xB0C5 accepted), 1 XRES, 2 YRES, 3 BPP, 4 ENABLE
// (bit 0 enabled, 1 GETCAPS: XRES/YRES/BPP read their maxima, 5 8-bit DAC,
// 6 LFB enabled, 7 do not clear memory), 5 BANK, 6 VIRT_WIDTH, 7 VIRT_HEIGHT
// (computed from the video memory), 8 X_OFFSET, 9 Y_OFFSET, 10 video memory in
// 64 KiB units. Values are clamped as QEMU does (vbe_fixup_regs), so a mode never
// reaches past the end of video memory.
//
// Reference: Bochs vbe.h/vbe.cc, "vbe_display_api.txt" of the LGPL VGABios.
#pragma once

#include <cstdint>

#include "machine/device.h"

namespace kestrel::machine::vga {

class VbeDispi {
 public:
  static constexpr uint16_t kIndexPort = 0x1CE, kDataPort = 0x1CF;
  enum Index : uint16_t {
    kId = 0, kXres = 1, kYres = 2, kBpp = 3, kEnable = 4, kBank = 5, kVirtWidth = 6, kVirtHeight = 7,
    kXOffset = 8, kYOffset = 9, kVideoMemory64K = 10, kCount = 11
  };
  static constexpr uint16_t kEnabled = 0x01, kGetCaps = 0x02, kEightBitDac = 0x20, kLfbEnabled = 0x40,
                            kNoClearMem = 0x80;
  static constexpr uint16_t kId0 = 0xB0C0, kId5 = 0xB0C5;
  static constexpr uint16_t kMaxXres = 2560, kMaxYres = 1600, kMaxBpp = 32;

  explicit VbeDispi(uint32_t vram_bytes) : vram_bytes_(vram_bytes) { reset(); }
  void reset();
  void save(StateWriter& w) const;
  void load(StateReader& r);

  uint16_t index() const { return index_; }
  void set_index(uint16_t v) { index_ = v; }
  uint16_t read_data() const;
  // Returns true when the write turned the mode on with memory to clear.
  bool write_data(uint16_t v);

  bool enabled() const { return regs_[kEnable] & kEnabled; }
  bool eight_bit_dac() const { return regs_[kEnable] & kEightBitDac; }
  uint16_t reg(Index i) const { return regs_[i]; }
  uint32_t bank_offset() const { return static_cast<uint32_t>(regs_[kBank]) << 16; }
  unsigned bytes_per_pixel() const { return (regs_[kBpp] + 7) / 8; }
  // Bytes per line of the virtual screen (4 bpp: planar, a byte per 8 pixels per plane).
  uint32_t line_bytes() const;
  // Where the visible picture starts in video memory.
  uint32_t start_offset() const;

 private:
  void fixup();

  uint32_t vram_bytes_;
  uint16_t index_ = 0;
  uint16_t regs_[kCount] = {};
};

}  // namespace kestrel::machine::vga
