#include "machine/devices/vga/vga_render.h"

#include <fmt/format.h>

#include "machine/devices/vga/vga.h"

namespace kestrel::machine::vga {

namespace {

constexpr unsigned kMaxWidth = 4096, kMaxHeight = 4096;

// Plane-2 offsets of the eight character maps (IBM VGA TR, "Character Map Select").
constexpr uint32_t kFontOffset[8] = {0x0000, 0x4000, 0x8000, 0xC000, 0x2000, 0x6000, 0xA000, 0xE000};

// Lines per displayed row in a graphics mode: the maximum scan line repeats a row,
// scan doubling doubles it again.
unsigned graphics_row_repeat(const VgaRegisters& r) { return (r.max_scan_line() + 1) * (r.scan_doubling() ? 2 : 1); }

void blank(Image& out) {
  out.width = 640;
  out.height = 480;
  out.rgb.assign(size_t{640} * 480 * 3, 0);
}

// A 4-bit attribute colour through the attribute controller's palette and colour
// select to the DAC (IBM VGA TR, "Attribute Controller Registers").
std::array<uint8_t, 3> attribute_rgb(const Vga& v, unsigned color) {
  const VgaRegisters& r = v.regs();
  color &= r.ac[ac::kColorPlaneEnable] & 0x0F;
  const uint8_t pal = r.ac[color & 0x0F];
  const uint8_t cs = r.ac[ac::kColorSelect];
  uint8_t index;
  if (r.ac[ac::kModeControl] & 0x80) index = static_cast<uint8_t>(((cs & 0x03) << 4) | (pal & 0x0F));
  else index = pal & 0x3F;
  index = static_cast<uint8_t>(index | ((cs & 0x0C) << 4));
  return v.dac().pixel_rgb(index);
}

void put(Image& out, unsigned x, unsigned y, const std::array<uint8_t, 3>& c) {
  uint8_t* p = &out.rgb[(size_t{y} * out.width + x) * 3];
  p[0] = c[0];
  p[1] = c[1];
  p[2] = c[2];
}

std::string render_text(const Vga& v, Image& out) {
  TextScreen t;
  if (!read_text_screen(v, t)) {
    blank(out);
    return "blank";
  }
  const VgaRegisters& r = v.regs();
  const unsigned cw = r.eight_dot_chars() ? 8 : 9, ch = r.max_scan_line() + 1;
  out.width = t.cols * cw;
  out.height = t.rows * ch;
  out.rgb.assign(size_t{out.width} * out.height * 3, 0);
  const uint8_t cmap = r.seq[seq::kCharMap];
  const uint32_t font_a = kFontOffset[((cmap >> 3) & 4) | ((cmap >> 2) & 3)];
  const uint32_t font_b = kFontOffset[((cmap >> 2) & 4) | (cmap & 3)];
  const uint8_t mode = r.ac[ac::kModeControl];
  const bool blink = mode & 0x08, line_graphics = mode & 0x04;
  const unsigned cur_start = r.crtc[crtc::kCursorStart] & 0x1F, cur_end = r.crtc[crtc::kCursorEnd] & 0x1F;
  for (unsigned row = 0; row < t.rows; ++row) {
    for (unsigned col = 0; col < t.cols; ++col) {
      const uint8_t c = t.chars[row * t.cols + col], a = t.attrs[row * t.cols + col];
      const auto fg = attribute_rgb(v, a & 0x0F);
      const auto bg = attribute_rgb(v, blink ? (a >> 4) & 0x07 : a >> 4);
      const uint32_t font = (a & 0x08) ? font_a : font_b;
      const bool cursor_here = t.cursor_visible && row == t.cursor_row && col == t.cursor_col;
      for (unsigned line = 0; line < ch; ++line) {
        const uint8_t bits = v.memory().plane_byte(2, font + c * 32u + line);
        const bool cursor_line = cursor_here && line >= cur_start && line <= cur_end;
        for (unsigned x = 0; x < cw; ++x) {
          bool on;
          if (x < 8) on = (bits >> (7 - x)) & 1;
          else on = line_graphics && c >= 0xC0 && c <= 0xDF && (bits & 1);  // the 9th column
          put(out, col * cw + x, row * ch + line, on || cursor_line ? fg : bg);
        }
      }
    }
  }
  return fmt::format("text {}x{}", t.cols, t.rows);
}

std::string render_graphics(const Vga& v, Image& out) {
  const VgaRegisters& r = v.regs();
  const bool c256 = r.shift256();
  // CGA compatibility (IBM VGA TR, "CRT Controller Mode Control" bits 0-1): while
  // clear, the row scan counter's bits 0 and 1 replace memory address bits 13 and
  // 14, so the scan lines of a character row come from different 8 KiB banks
  // (modes 04h-06h). Otherwise every line of a character row repeats the same memory.
  const bool subst13 = !(r.crtc[crtc::kModeControl] & 0x01), subst14 = !(r.crtc[crtc::kModeControl] & 0x02);
  const unsigned row_lines = r.max_scan_line() + 1;
  const bool rows_repeat = !subst13 && !subst14;
  const unsigned width = r.horiz_chars() * (c256 ? 4 : 8);
  const unsigned height = r.vert_lines() / (r.scan_doubling() ? 2 : 1) / (rows_repeat ? row_lines : 1);
  if (width < 8 || height < 8 || width > kMaxWidth || height > kMaxHeight) {
    blank(out);
    return "blank";
  }
  out.width = width;
  out.height = height;
  out.rgb.assign(size_t{width} * height * 3, 0);
  const VgaMemory& mem = v.memory();
  // Shift register interleave (graphics mode bit 5, CGA's 4-colour modes): each
  // address gives 8 two-bit pixels, the first four from plane 0 (plane 2 the high
  // bits), the next four from plane 1 (and plane 3).
  const bool interleave = !c256 && (r.gc[gc::kMode] & 0x20);
  // Split screen: the scan lines after the line compare value show memory from
  // address 0 (IBM VGA TR, "Line Compare Register"). The compare counts scan lines
  // before doubling; split_y is the first picture line after it.
  const unsigned lines_per_y = (r.scan_doubling() ? 2 : 1) * (rows_repeat ? row_lines : 1);
  const unsigned split_y = (r.line_compare() + lines_per_y) / lines_per_y;
  // Horizontal pixel panning (attribute register 0x13): the picture starts this
  // many pixels into the line (in 256-colour mode in units of two dot clocks);
  // attribute mode bit 5 keeps the split-off part unpanned.
  const unsigned pan_reg = r.ac[ac::kPixelPanning] & 0x0F;
  const unsigned pan = c256 ? (pan_reg >> 1) & 3 : pan_reg & 7;
  const bool pan_split = !(r.ac[ac::kModeControl] & 0x20);
  for (unsigned y = 0; y < height; ++y) {
    const bool split = y >= split_y;
    const unsigned ly = split ? y - split_y : y;
    const unsigned row = rows_repeat ? ly : ly / row_lines, scan = rows_repeat ? 0 : ly % row_lines;
    const uint32_t ma = (split ? 0 : r.start_address()) + row * r.line_pitch();
    const unsigned line_pan = split && !pan_split ? 0 : pan;
    auto address = [&](uint32_t m) {
      uint32_t a = r.scan_address(m);
      if (subst13) a = (a & ~0x2000u) | ((scan & 1u) << 13);
      if (subst14) a = (a & ~0x4000u) | (((scan >> 1) & 1u) << 14);
      return a;
    };
    for (unsigned ox = 0; ox < width; ++ox) {
      const unsigned x = ox + line_pan;
      if (c256) {
        put(out, ox, y, v.dac().pixel_rgb(mem.plane_byte(x & 3, address(ma + x / 4))));
      } else if (interleave) {
        const uint32_t off = address(ma + x / 8);
        const unsigned half = (x & 7) >> 2, shift = 6 - 2 * (x & 3);
        const unsigned pix = ((mem.plane_byte(half, off) >> shift) & 3u) | (((mem.plane_byte(2 + half, off) >> shift) & 3u) << 2);
        put(out, ox, y, attribute_rgb(v, pix));
      } else {
        const uint32_t off = address(ma + x / 8);
        unsigned pix = 0;
        for (unsigned p = 0; p < 4; ++p) pix |= ((mem.plane_byte(p, off) >> (7 - (x & 7))) & 1u) << p;
        put(out, ox, y, attribute_rgb(v, pix));
      }
    }
  }
  return fmt::format("graphics {}x{}, {} colours", width, height, c256 ? 256 : interleave ? 4 : 16);
}

std::string render_vbe(const Vga& v, Image& out) {
  const VbeDispi& d = v.dispi();
  const unsigned width = d.reg(VbeDispi::kXres), height = d.reg(VbeDispi::kYres), bpp = d.reg(VbeDispi::kBpp);
  out.width = width;
  out.height = height;
  out.rgb.assign(size_t{width} * height * 3, 0);
  const std::vector<uint8_t>& vram = v.memory().vram();
  const uint64_t start = d.start_offset(), pitch = d.line_bytes();
  for (unsigned y = 0; y < height; ++y) {
    for (unsigned x = 0; x < width; ++x) {
      if (bpp == 4) {
        // Planar through the VGA planes, a byte per 8 pixels per plane.
        const uint32_t off = static_cast<uint32_t>(start + y * pitch + x / 8);
        unsigned pix = 0;
        for (unsigned p = 0; p < 4; ++p) pix |= ((v.memory().plane_byte(p, off) >> (7 - (x & 7))) & 1u) << p;
        put(out, x, y, attribute_rgb(v, pix));
        continue;
      }
      const unsigned bytes = (bpp + 7) / 8;
      const uint64_t a = start + y * pitch + uint64_t{x} * bytes;
      if (a + bytes > vram.size()) continue;
      const uint8_t* p = &vram[a];
      std::array<uint8_t, 3> c{};
      switch (bpp) {
        case 8: c = v.dac().pixel_rgb(p[0]); break;
        case 15: {
          const unsigned w = p[0] | p[1] << 8;
          c = {static_cast<uint8_t>(((w >> 10) & 31) * 255 / 31), static_cast<uint8_t>(((w >> 5) & 31) * 255 / 31),
               static_cast<uint8_t>((w & 31) * 255 / 31)};
          break;
        }
        case 16: {
          const unsigned w = p[0] | p[1] << 8;
          c = {static_cast<uint8_t>(((w >> 11) & 31) * 255 / 31), static_cast<uint8_t>(((w >> 5) & 63) * 255 / 63),
               static_cast<uint8_t>((w & 31) * 255 / 31)};
          break;
        }
        default: c = {p[2], p[1], p[0]}; break;  // 24 and 32 bpp: blue, green, red in memory order
      }
      put(out, x, y, c);
    }
  }
  return fmt::format("vbe {}x{}x{}", width, height, bpp);
}

}  // namespace

bool read_text_screen(const Vga& v, TextScreen& out) {
  const VgaRegisters& r = v.regs();
  if (v.dispi().enabled() || r.graphics_mode()) return false;
  const unsigned char_lines = (r.max_scan_line() + 1) * (r.scan_doubling() ? 2 : 1);
  const unsigned cols = r.horiz_chars(), rows = r.vert_lines() / char_lines;
  // Registers at their power-on zeros describe a 1x1 screen: nothing is programmed.
  if (cols < 8 || rows < 1 || rows > 256) return false;
  out.cols = cols;
  out.rows = rows;
  out.chars.resize(size_t{cols} * rows);
  out.attrs.resize(size_t{cols} * rows);
  const uint32_t start = r.start_address(), pitch = r.line_pitch();
  for (unsigned row = 0; row < rows; ++row) {
    for (unsigned col = 0; col < cols; ++col) {
      const uint32_t off = r.scan_address(start + row * pitch + col);
      out.chars[row * cols + col] = v.memory().plane_byte(0, off);
      out.attrs[row * cols + col] = v.memory().plane_byte(1, off);
    }
  }
  const uint32_t cur = r.cursor_address();
  out.cursor_visible = false;
  if (!(r.crtc[crtc::kCursorStart] & 0x20) && cur >= start && pitch) {
    const uint32_t rel = cur - start;
    if (rel / pitch < rows && rel % pitch < cols) {
      out.cursor_visible = true;
      out.cursor_row = rel / pitch;
      out.cursor_col = rel % pitch;
    }
  }
  return true;
}

std::string render_screen(const Vga& v, Image& out) {
  const VgaRegisters& r = v.regs();
  if (v.dispi().enabled()) return render_vbe(v, out);
  // The display is off (sequencer screen-off) or the attribute controller has the
  // palette away from the display (index bit 5 clear): the screen is dark.
  if (r.screen_off() || !(r.ac_index & ac::kPaletteAddressSource)) {
    blank(out);
    return "blank";
  }
  return r.graphics_mode() ? render_graphics(v, out) : render_text(v, out);
}

}  // namespace kestrel::machine::vga
