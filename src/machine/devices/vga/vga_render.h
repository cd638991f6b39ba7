// What the VGA shows: the text screen as characters and attributes (for the
// plain-text display), and the picture as RGB pixels (for screenshots). Both read
// the device's state as the CRTC, the attribute controller and the DAC would scan
// it out; neither changes anything.
//
// Supported: alphanumeric modes (8- or 9-dot characters from the fonts in plane 2,
// the cursor, blink as high-intensity background off), planar 16-colour modes
// (0Dh-12h and VBE's 4-bit modes), 256-colour modes chained (13h) or not ("mode
// X"), and VBE DISPI modes of 8, 15, 16, 24 and 32 bits per pixel. Not modelled:
// the CGA-compatible shift modes (04h-06h), pixel panning, the line-compare split
// screen and the underline of monochrome attributes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kestrel::machine {
class Vga;
}

namespace kestrel::machine::vga {

struct TextScreen {
  unsigned cols = 0, rows = 0;
  std::vector<uint8_t> chars;  // rows * cols code page 437 characters
  std::vector<uint8_t> attrs;
  bool cursor_visible = false;
  unsigned cursor_col = 0, cursor_row = 0;
  bool operator==(const TextScreen&) const = default;
};

// The text screen; false when the VGA is not in an alphanumeric mode (a graphics
// or VBE mode, or registers no BIOS has programmed yet).
bool read_text_screen(const Vga& v, TextScreen& out);

struct Image {
  unsigned width = 0, height = 0;
  std::vector<uint8_t> rgb;  // width * height * 3, row by row
};

// Renders the picture; returns what it shows ("text 80x25", "graphics 640x480,
// 16 colours", "vbe 1024x768x32"...) or "blank" with a black 640x480 image when
// nothing is programmed or the display is off.
std::string render_screen(const Vga& v, Image& out);

}  // namespace kestrel::machine::vga
