// --screenshot FILE.png: the VGA's picture at the end of the run, as an 8-bit RGB
// PNG written with libpng (text modes drawn with the fonts in plane 2 and the DAC's
// colours, graphics and VBE modes as scanned out; see machine/devices/vga/vga_render.h).
#pragma once

#include <string>

#include "machine/devices/vga/vga_render.h"

namespace kestrel::cli {

// Writes `img` to `path` as a PNG; false with a message (without the "kestrel:
// error:" prefix) on failure.
bool write_png(const std::string& path, const machine::vga::Image& img, std::string& error);
// Reads an 8-bit RGB PNG back (tests compare pixels); false with a message on failure.
bool read_png(const std::string& path, machine::vga::Image& img, std::string& error);

}  // namespace kestrel::cli
