// The VGA's register files: miscellaneous output, sequencer, CRT controller,
// graphics controller and attribute controller, with the index registers and the
// attribute controller's address/data flip-flop. Plain data: the port decoding
// lives in vga.cpp, the memory pipeline in vga_memory.cpp, the picture in
// vga_render.cpp, and each reads the fields through the named helpers below.
//
// Reference: IBM VGA Technical Reference (1988), "Registers"; the FreeVGA
// project's register descriptions.
#pragma once

#include <cstdint>

namespace kestrel::machine::vga {

// Register indices used by more than one file.
namespace seq {
constexpr unsigned kReset = 0x00, kClocking = 0x01, kMapMask = 0x02, kCharMap = 0x03, kMemoryMode = 0x04;
constexpr unsigned kCount = 8;
}  // namespace seq
namespace crtc {
constexpr unsigned kHorizDisplayEnd = 0x01, kOverflow = 0x07, kMaxScanLine = 0x09, kCursorStart = 0x0A,
                   kCursorEnd = 0x0B, kStartHigh = 0x0C, kStartLow = 0x0D, kCursorHigh = 0x0E, kCursorLow = 0x0F,
                   kVertDisplayEnd = 0x12, kOffset = 0x13, kUnderline = 0x14, kModeControl = 0x17,
                   kVertRetraceEnd = 0x11, kLineCompare = 0x18;
constexpr unsigned kCount = 0x19;
}  // namespace crtc
namespace gc {
constexpr unsigned kSetReset = 0x00, kEnableSetReset = 0x01, kColorCompare = 0x02, kDataRotate = 0x03,
                   kReadMapSelect = 0x04, kMode = 0x05, kMisc = 0x06, kColorDontCare = 0x07, kBitMask = 0x08;
constexpr unsigned kCount = 9;
}  // namespace gc
namespace ac {
constexpr unsigned kModeControl = 0x10, kOverscan = 0x11, kColorPlaneEnable = 0x12, kPixelPanning = 0x13,
                   kColorSelect = 0x14;
constexpr unsigned kCount = 0x15;
constexpr uint8_t kPaletteAddressSource = 0x20;  // index bit 5: the display reads the palette
}  // namespace ac

struct VgaRegisters {
  uint8_t misc = 0;         // 0x3C2 write / 0x3CC read
  uint8_t feature = 0;      // 0x3DA/0x3BA write / 0x3CA read
  uint8_t vga_enable = 1;   // 0x3C3
  uint8_t seq_index = 0;
  uint8_t seq[seq::kCount] = {};
  uint8_t crtc_index = 0;
  uint8_t crtc[crtc::kCount] = {};
  uint8_t gc_index = 0;
  uint8_t gc[gc::kCount] = {};
  uint8_t ac_index = 0;     // with the palette address source bit
  bool ac_flipflop = false; // false: the next 0x3C0 write is an index
  uint8_t ac[ac::kCount] = {};

  // Misc output bit 0: CRTC and input status 1 at 0x3Dx (colour) rather than 0x3Bx.
  bool color_io() const { return misc & 0x01; }
  // Misc output bit 1: the CPU may access video memory.
  bool ram_enabled() const { return misc & 0x02; }

  uint8_t map_mask() const { return seq[seq::kMapMask] & 0x0F; }
  bool chain4() const { return seq[seq::kMemoryMode] & 0x08; }
  // Sequencer memory mode bit 2 clear: CPU writes use odd/even addressing.
  bool write_odd_even() const { return !(seq[seq::kMemoryMode] & 0x04); }
  bool eight_dot_chars() const { return seq[seq::kClocking] & 0x01; }
  bool screen_off() const { return seq[seq::kClocking] & 0x20; }

  unsigned write_mode() const { return gc[gc::kMode] & 0x03; }
  bool read_mode1() const { return gc[gc::kMode] & 0x08; }
  // Graphics mode bit 4: CPU reads use odd/even addressing.
  bool read_odd_even() const { return gc[gc::kMode] & 0x10; }
  bool shift256() const { return gc[gc::kMode] & 0x40; }
  bool graphics_mode() const { return gc[gc::kMisc] & 0x01; }
  // Graphics misc bits 2-3: where the CPU window sits.
  unsigned memory_map() const { return (gc[gc::kMisc] >> 2) & 0x03; }

  uint16_t start_address() const { return static_cast<uint16_t>(crtc[crtc::kStartHigh] << 8 | crtc[crtc::kStartLow]); }
  uint16_t cursor_address() const {
    return static_cast<uint16_t>(crtc[crtc::kCursorHigh] << 8 | crtc[crtc::kCursorLow]);
  }
  unsigned max_scan_line() const { return crtc[crtc::kMaxScanLine] & 0x1F; }
  bool scan_doubling() const { return crtc[crtc::kMaxScanLine] & 0x80; }
  // Displayed character clocks per line.
  unsigned horiz_chars() const { return crtc[crtc::kHorizDisplayEnd] + 1u; }
  // Displayed scan lines: CRTC 0x12 with bit 8 from overflow bit 1 and bit 9 from bit 6.
  unsigned vert_lines() const {
    const uint8_t ov = crtc[crtc::kOverflow];
    return (crtc[crtc::kVertDisplayEnd] | ((ov & 0x02) << 7) | ((ov & 0x40) << 3)) + 1u;
  }
  // The line compare (split screen) scan line: CRTC 0x18, bit 8 from overflow bit 4,
  // bit 9 from maximum scan line bit 6. Lines after it show memory from address 0.
  unsigned line_compare() const {
    return crtc[crtc::kLineCompare] | ((crtc[crtc::kOverflow] & 0x10) << 4) | ((crtc[crtc::kMaxScanLine] & 0x40) << 3);
  }
  bool dword_mode() const { return crtc[crtc::kUnderline] & 0x40; }
  bool byte_mode() const { return crtc[crtc::kModeControl] & 0x40; }
  // The CRTC's memory address counter to a plane offset (SDM-like: IBM VGA TR,
  // "CRT Controller Mode Control"): doubleword mode shifts by 2, word mode by 1.
  uint32_t scan_address(uint32_t ma) const { return dword_mode() ? ma << 2 : byte_mode() ? ma : ma << 1; }
  // CRTC 0x13: memory address counter units per line (twice the register).
  unsigned line_pitch() const { return crtc[crtc::kOffset] * 2u; }
};

}  // namespace kestrel::machine::vga
