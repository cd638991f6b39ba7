#include "cli/display_text.h"

#include <fmt/format.h>

#include "machine/devices/vga/vga.h"

namespace kestrel::cli {

namespace {

// Code page 437 to Unicode (the IBM PC's character ROM): the control range shows
// as the PC's glyphs, 0x7F and the upper half as IBM drew them.
constexpr char16_t kCp437Low[32] = {
    0x0020, 0x263A, 0x263B, 0x2665, 0x2666, 0x2663, 0x2660, 0x2022, 0x25D8, 0x25CB, 0x25D9,
    0x2642, 0x2640, 0x266A, 0x266B, 0x263C, 0x25BA, 0x25C4, 0x2195, 0x203C, 0x00B6, 0x00A7,
    0x25AC, 0x21A8, 0x2191, 0x2193, 0x2192, 0x2190, 0x221F, 0x2194, 0x25B2, 0x25BC};
constexpr char16_t kCp437High[128] = {
    0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00E4, 0x00E0, 0x00E5, 0x00E7, 0x00EA, 0x00EB, 0x00E8, 0x00EF, 0x00EE,
    0x00EC, 0x00C4, 0x00C5, 0x00C9, 0x00E6, 0x00C6, 0x00F4, 0x00F6, 0x00F2, 0x00FB, 0x00F9, 0x00FF, 0x00D6,
    0x00DC, 0x00A2, 0x00A3, 0x00A5, 0x20A7, 0x0192, 0x00E1, 0x00ED, 0x00F3, 0x00FA, 0x00F1, 0x00D1, 0x00AA,
    0x00BA, 0x00BF, 0x2310, 0x00AC, 0x00BD, 0x00BC, 0x00A1, 0x00AB, 0x00BB, 0x2591, 0x2592, 0x2593, 0x2502,
    0x2524, 0x2561, 0x2562, 0x2556, 0x2555, 0x2563, 0x2551, 0x2557, 0x255D, 0x255C, 0x255B, 0x2510, 0x2514,
    0x2534, 0x252C, 0x251C, 0x2500, 0x253C, 0x255E, 0x255F, 0x255A, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550,
    0x256C, 0x2567, 0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256B, 0x256A, 0x2518, 0x250C,
    0x2588, 0x2584, 0x258C, 0x2590, 0x2580, 0x03B1, 0x00DF, 0x0393, 0x03C0, 0x03A3, 0x03C3, 0x00B5, 0x03C4,
    0x03A6, 0x0398, 0x03A9, 0x03B4, 0x221E, 0x03C6, 0x03B5, 0x2229, 0x2261, 0x00B1, 0x2265, 0x2264, 0x2320,
    0x2321, 0x00F7, 0x2248, 0x00B0, 0x2219, 0x00B7, 0x221A, 0x207F, 0x00B2, 0x25A0, 0x00A0};

void append_utf8(std::string& s, char16_t c) {
  if (c < 0x80) {
    s.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    s.push_back(static_cast<char>(0xC0 | (c >> 6)));
    s.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    s.push_back(static_cast<char>(0xE0 | (c >> 12)));
    s.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    s.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

}  // namespace

std::string TextDisplay::cp437_to_utf8(uint8_t ch) {
  std::string s;
  if (ch < 0x20) append_utf8(s, kCp437Low[ch]);
  else if (ch == 0x7F) append_utf8(s, 0x2302);
  else if (ch >= 0x80) append_utf8(s, kCp437High[ch - 0x80]);
  else s.push_back(static_cast<char>(ch));
  return s;
}

std::string TextDisplay::format(const machine::vga::TextScreen& s) {
  std::string out = fmt::format("--- kestrel screen {}x{} ---\n", s.cols, s.rows);
  for (unsigned row = 0; row < s.rows; ++row) {
    std::string line;
    for (unsigned col = 0; col < s.cols; ++col) line += cp437_to_utf8(s.chars[row * s.cols + col]);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line;
    out.push_back('\n');
  }
  return out;
}

void TextDisplay::print(const machine::vga::TextScreen& s) {
  const std::string text = format(s);
  std::fwrite(text.data(), 1, text.size(), out_);
  std::fflush(out_);
  printed_ = s;
  unprinted_ = false;
}

void TextDisplay::poll(uint64_t now_ns) {
  if (vga_.generation() != seen_generation_) {
    seen_generation_ = vga_.generation();
    machine::vga::TextScreen s;
    if (!machine::vga::read_text_screen(vga_, s)) s = {};
    // Only the characters count: colours and the cursor do not change the text.
    if (s.cols != current_.cols || s.rows != current_.rows || s.chars != current_.chars) {
      current_ = std::move(s);
      changed_at_ = now_ns;
      if (!unprinted_) {
        unprinted_ = true;
        unprinted_since_ = now_ns;
      }
    }
  }
  const bool differs =
      current_.cols && (current_.cols != printed_.cols || current_.rows != printed_.rows || current_.chars != printed_.chars);
  if (!differs) {
    unprinted_ = false;
    return;
  }
  if (now_ns - changed_at_ >= kSettleNs || (unprinted_ && now_ns - unprinted_since_ >= kMaxUnprintedNs))
    print(current_);
}

void TextDisplay::finish() {
  machine::vga::TextScreen s;
  if (!machine::vga::read_text_screen(vga_, s)) return;
  if (s.cols != printed_.cols || s.rows != printed_.rows || s.chars != printed_.chars) print(s);
}

bool ScreenWatch::seen() {
  if (seen_ || vga_.generation() == seen_generation_) return seen_;
  seen_generation_ = vga_.generation();
  machine::vga::TextScreen t;
  if (!machine::vga::read_text_screen(vga_, t)) return false;
  std::string whole, trimmed;
  for (unsigned row = 0; row < t.rows; ++row) {
    std::string line(reinterpret_cast<const char*>(&t.chars[row * t.cols]), t.cols);
    whole += line;
    whole.push_back('\n');
    while (!line.empty() && (line.back() == ' ' || line.back() == '\0')) line.pop_back();
    trimmed += line;
    trimmed.push_back('\n');
  }
  seen_ = whole.find(text_) != std::string::npos || trimmed.find(text_) != std::string::npos;
  return seen_;
}

}  // namespace kestrel::cli
