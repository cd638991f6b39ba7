// machine/devices/vga: the graphics controller's write modes 0-3 and read modes
// 0/1, latches, chain-4 and odd/even addressing, the memory map select, the DAC's
// index state machines and pixel mask, the CRTC write protection, the retrace
// bits, the Bochs VBE DISPI interface with its LFB and bank window, and what the
// renderer reads back (text screen, mode 12h/13h and VBE pixels).
#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <string>

#include "machine/board.h"
#include "machine/devices/vga/vga.h"
#include "machine/devices/vga/vga_render.h"
#include "machine/machine.h"
#include "vga_modes.h"
#include "test_machine.h"

using namespace kestrel::machine;
using kestrel::machine::vga::VbeDispi;

namespace {

struct VgaRig {
  std::unique_ptr<Machine> m;
  BoardDevices b;
  VgaRig() {
    m = kestrel::test::new_machine(16ull << 20);
    BoardOptions opt;
    opt.vga = true;
    opt.pci = false;  // the ISA VGA: the LFB at its fixed Bochs address (the PCI case has its own test)
    b = build_basic_board(*m, opt);
    REQUIRE(b.vga);
  }
  Vga& v() { return *b.vga; }
  PortBus& p() { return m->ports(); }
  void seq(uint8_t i, uint8_t val) { p().out(0x3C4, i | (val << 8), 2); }
  void gc(uint8_t i, uint8_t val) { p().out(0x3CE, i | (val << 8), 2); }
  void wr(uint32_t addr, uint8_t val) { m->bus().write_uint(addr, val, 1); }
  uint8_t rd(uint32_t addr) { return static_cast<uint8_t>(m->bus().read_uint(addr, 1)); }
  uint8_t plane(unsigned pl, uint32_t off) { return v().memory().plane_byte(pl, off); }
  void dispi(uint16_t index, uint16_t value) {
    p().out(VbeDispi::kIndexPort, index, 2);
    p().out(VbeDispi::kDataPort, value, 2);
  }
  uint16_t dispi_read(uint16_t index) {
    p().out(VbeDispi::kIndexPort, index, 2);
    return static_cast<uint16_t>(p().in(VbeDispi::kDataPort, 2));
  }
};

}  // namespace

TEST_CASE("vga: planar write mode 0 with rotate, set/reset, logical op and bit mask") {
  VgaRig r;
  vga_test::set_mode(r.p(), vga_test::kMode12);
  // Plain write: all four planes get the byte.
  r.wr(0xA0000, 0xA5);
  for (unsigned p = 0; p < 4; ++p) CHECK(r.plane(p, 0) == 0xA5);
  // Set/reset on planes 0 and 2 (set/reset value 1 for plane 0, 0 for plane 2).
  r.gc(0x00, 0x01);
  r.gc(0x01, 0x05);
  r.wr(0xA0001, 0x3C);
  CHECK(r.plane(0, 1) == 0xFF);
  CHECK(r.plane(1, 1) == 0x3C);
  CHECK(r.plane(2, 1) == 0x00);
  CHECK(r.plane(3, 1) == 0x3C);
  r.gc(0x01, 0x00);
  // Rotate right by 4, XOR with the latches, bit mask 0xF0.
  r.rd(0xA0000);  // latches = A5 in every plane
  r.gc(0x03, 0x18 | 4);
  r.gc(0x08, 0xF0);
  r.wr(0xA0000, 0x0F);  // rotated: F0; XOR A5 = 55; masked: 5 from new high nibble, 5 from latch low
  for (unsigned p = 0; p < 4; ++p) CHECK(r.plane(p, 0) == 0x55);
  // AND and OR.
  r.gc(0x03, 0x08);  // AND, no rotate
  r.gc(0x08, 0xFF);
  r.rd(0xA0000);     // latches = 55
  r.wr(0xA0000, 0x0F);
  CHECK(r.plane(1, 0) == 0x05);
  r.gc(0x03, 0x10);  // OR
  r.rd(0xA0000);     // latches = 05
  r.wr(0xA0000, 0x30);
  CHECK(r.plane(3, 0) == 0x35);
  // The map mask keeps planes out of the write.
  r.gc(0x03, 0x00);
  r.seq(0x02, 0x02);
  r.wr(0xA0002, 0x77);
  CHECK(r.plane(0, 2) == 0x00);
  CHECK(r.plane(1, 2) == 0x77);
  CHECK(r.plane(2, 2) == 0x00);
}

TEST_CASE("vga: write modes 1, 2 and 3") {
  VgaRig r;
  vga_test::set_mode(r.p(), vga_test::kMode12);
  // Distinct bytes per plane at offset 0x10.
  for (unsigned p = 0; p < 4; ++p) {
    r.seq(0x02, static_cast<uint8_t>(1u << p));
    r.wr(0xA0010, static_cast<uint8_t>(0x11 * (p + 1)));
  }
  r.seq(0x02, 0x0F);
  // Mode 1 copies the latches (a fast screen-to-screen copy).
  r.gc(0x05, 0x01);
  r.rd(0xA0010);
  r.wr(0xA0020, 0x00);
  for (unsigned p = 0; p < 4; ++p) CHECK(r.plane(p, 0x20) == 0x11 * (p + 1));
  // Mode 2: data bit p fills plane p, through the bit mask.
  r.gc(0x05, 0x02);
  r.gc(0x08, 0x0F);
  r.rd(0xA0010);
  r.wr(0xA0010, 0x05);  // planes 0 and 2 get FF in the low nibble, 1 and 3 get 00 there
  CHECK(r.plane(0, 0x10) == 0x1F);
  CHECK(r.plane(1, 0x10) == 0x20);
  CHECK(r.plane(2, 0x10) == 0x3F);
  CHECK(r.plane(3, 0x10) == 0x40);
  // Mode 3: set/reset colour through (rotated data AND bit mask).
  r.gc(0x05, 0x03);
  r.gc(0x08, 0xFF);
  r.gc(0x00, 0x0A);  // colour 1010b
  r.rd(0xA0030);     // latches 0
  r.wr(0xA0030, 0xC3);
  CHECK(r.plane(0, 0x30) == 0x00);
  CHECK(r.plane(1, 0x30) == 0xC3);
  CHECK(r.plane(2, 0x30) == 0x00);
  CHECK(r.plane(3, 0x30) == 0xC3);
}

TEST_CASE("vga: read mode 0 (read map select) and read mode 1 (colour compare)") {
  VgaRig r;
  vga_test::set_mode(r.p(), vga_test::kMode12);
  // Pixel colours of the first 8 pixels: 0..7 -> plane bits.
  for (unsigned p = 0; p < 4; ++p) {
    uint8_t bits = 0;
    for (unsigned x = 0; x < 8; ++x)
      if ((x >> p) & 1) bits |= static_cast<uint8_t>(0x80 >> x);
    r.seq(0x02, static_cast<uint8_t>(1u << p));
    r.wr(0xA0000, bits);
  }
  r.seq(0x02, 0x0F);
  for (unsigned p = 0; p < 4; ++p) {
    r.gc(0x04, static_cast<uint8_t>(p));
    CHECK(r.rd(0xA0000) == r.plane(p, 0));
  }
  r.gc(0x05, 0x08);  // read mode 1
  r.gc(0x07, 0x0F);
  r.gc(0x02, 0x05);  // pixels of colour 5: x = 5
  CHECK(r.rd(0xA0000) == 0x04);
  r.gc(0x07, 0x01);  // only plane 0 cares: odd colours 1,3,5,7
  CHECK(r.rd(0xA0000) == 0x55);
  r.gc(0x07, 0x00);  // nothing cares: all match
  CHECK(r.rd(0xA0000) == 0xFF);
}

TEST_CASE("vga: chain-4 and odd/even addressing, memory map select") {
  VgaRig r;
  vga_test::set_mode(r.p(), vga_test::kMode13);
  r.wr(0xA0005, 0x42);  // plane 1, offset 4
  CHECK(r.plane(1, 4) == 0x42);
  CHECK(r.plane(0, 4) == 0x00);
  CHECK(r.rd(0xA0005) == 0x42);
  CHECK(r.rd(0xB0000) == 0xFF);  // mode 13h maps only A0000-AFFFF
  vga_test::set_mode(r.p(), vga_test::kMode03);
  r.wr(0xB8000, 'K');
  r.wr(0xB8001, 0x1E);
  r.wr(0xB8002, 'e');
  r.wr(0xB8003, 0x07);
  CHECK(r.plane(0, 0) == 'K');
  CHECK(r.plane(1, 0) == 0x1E);
  CHECK(r.plane(0, 2) == 'e');
  CHECK(r.plane(1, 2) == 0x07);
  CHECK(r.rd(0xB8001) == 0x1E);
  r.wr(0xA0000, 0x99);  // outside B8000-BFFFF: ignored
  CHECK(r.rd(0xA0000) == 0xFF);
  vga::TextScreen t;
  REQUIRE(vga::read_text_screen(r.v(), t));
  CHECK(t.cols == 80);
  CHECK(t.rows == 25);
  CHECK(t.chars[0] == 'K');
  CHECK(t.attrs[0] == 0x1E);
  CHECK(t.chars[1] == 'e');
  // Scrolling by the start address moves what row 0 shows.
  r.wr(0xB8000 + 160, 'Z');
  r.p().out(0x3D4, 0x0D | (80 << 8), 2);
  REQUIRE(vga::read_text_screen(r.v(), t));
  CHECK(t.chars[0] == 'Z');
  // The cursor location.
  r.p().out(0x3D4, 0x0D, 2);
  r.p().out(0x3D4, 0x0F | (83 << 8), 2);
  r.p().out(0x3D4, 0x0E, 2);
  REQUIRE(vga::read_text_screen(r.v(), t));
  CHECK(t.cursor_visible);
  CHECK(t.cursor_row == 1);
  CHECK(t.cursor_col == 3);
  // Misc output bit 1 off: the CPU cannot reach video memory.
  r.p().out(0x3C2, 0x65, 1);
  CHECK(r.rd(0xB8000) == 0xFF);
}

TEST_CASE("vga: the DAC's read and write index state machines and the pixel mask") {
  VgaRig r;
  r.p().out(0x3C8, 0x10, 1);
  for (uint8_t v : {1, 2, 3, 4, 5, 0x46}) r.p().out(0x3C9, v, 1);  // entries 0x10 and 0x11 (0x46 & 0x3F)
  CHECK(r.p().in(0x3C8, 1) == 0x12);
  CHECK(r.p().in(0x3C7, 1) == 0x00);  // last set: the write index
  r.p().out(0x3C7, 0x11, 1);
  CHECK(r.p().in(0x3C7, 1) == 0x03);
  CHECK(r.p().in(0x3C9, 1) == 4);
  CHECK(r.p().in(0x3C9, 1) == 5);
  CHECK(r.p().in(0x3C9, 1) == 6);
  CHECK(r.p().in(0x3C9, 1) == 0);  // entry 0x12's red: the read index moved on
  const auto c = r.v().dac().rgb(0x10);
  CHECK(c[0] == (1 << 2));
  CHECK(c[2] == (3 << 2));
  CHECK(r.v().dac().rgb(0x11)[2] == 0x18);  // 6 -> 6 << 2 | 6 >> 4
  // The pixel mask ANDs the index: 0x11 & 0xF0 = 0x10.
  r.p().out(0x3C6, 0xF0, 1);
  CHECK(r.v().dac().pixel_rgb(0x11) == r.v().dac().rgb(0x10));
  CHECK(r.p().in(0x3C6, 1) == 0xF0);
}

TEST_CASE("vga: CRTC write protection, mono/colour port decoding and the attribute flip-flop") {
  VgaRig r;
  r.p().out(0x3C2, 0x67, 1);
  r.p().out(0x3D4, 0x11 | (0x80 << 8), 2);
  r.p().out(0x3D4, 0x01 | (0x4F << 8), 2);  // protected: ignored
  r.p().out(0x3D4, 0x01, 1);
  CHECK(r.p().in(0x3D5, 1) == 0x00);
  r.p().out(0x3D4, 0x07 | (0xFF << 8), 2);  // only bit 4 of the overflow register is writable
  r.p().out(0x3D4, 0x07, 1);
  CHECK(r.p().in(0x3D5, 1) == 0x10);
  CHECK(r.p().in(0x3B5, 1) == 0xFF);  // mono ports are off in colour mode
  r.p().in(0x3DA, 1);
  r.p().out(0x3C0, 0x13, 1);
  r.p().out(0x3C0, 0x08, 1);
  CHECK(r.p().in(0x3C1, 1) == 0x08);
  CHECK(r.p().in(0x3C0, 1) == 0x13);
}

TEST_CASE("vga: input status 1 shows display-disabled and vertical retrace from the clock") {
  bool saw_retrace = false, saw_active = false, saw_hblank = false;
  for (uint64_t t = 0; t < 15'000'000; t += 3'000) {
    const uint8_t s = Vga::retrace_bits(t);
    if (s & 0x08) {
      saw_retrace = true;
      CHECK((s & 0x01));  // retrace is inside the blanking
    }
    if (!(s & 0x01)) saw_active = true;
    if ((s & 0x01) && !(s & 0x08)) saw_hblank = true;
  }
  CHECK(saw_retrace);
  CHECK(saw_active);
  CHECK(saw_hblank);
  // The frame repeats at 70 Hz.
  CHECK(Vga::retrace_bits(1'000'000) == Vga::retrace_bits(1'000'000 + 31'778ull * 449));
}

TEST_CASE("vga: VBE DISPI identification, capabilities, mode set, LFB and bank window") {
  VgaRig r;
  r.dispi(VbeDispi::kId, 0xB0C5);
  CHECK(r.dispi_read(VbeDispi::kId) == 0xB0C5);
  r.dispi(VbeDispi::kId, 0x1234);  // not an ID: ignored
  CHECK(r.dispi_read(VbeDispi::kId) == 0xB0C5);
  CHECK(r.dispi_read(VbeDispi::kVideoMemory64K) == 256);  // 16 MiB
  r.dispi(VbeDispi::kEnable, VbeDispi::kGetCaps);
  CHECK(r.dispi_read(VbeDispi::kXres) == VbeDispi::kMaxXres);
  CHECK(r.dispi_read(VbeDispi::kBpp) == 32);
  r.dispi(VbeDispi::kEnable, 0);
  r.dispi(VbeDispi::kXres, 800);
  r.dispi(VbeDispi::kYres, 600);
  r.dispi(VbeDispi::kBpp, 32);
  r.dispi(VbeDispi::kEnable, VbeDispi::kEnabled | VbeDispi::kLfbEnabled);
  CHECK(r.dispi_read(VbeDispi::kVirtWidth) == 800);
  CHECK(r.dispi_read(VbeDispi::kVirtHeight) == (16u << 20) / (800 * 4));
  // Pixel (10, 2) through the LFB: blue 0x30, green 0x20, red 0x10.
  const uint64_t lfb = r.v().lfb_base();
  REQUIRE(lfb == Vga::kDefaultLfbBase);
  r.m->bus().write_uint(lfb + (2 * 800 + 10) * 4, 0x00102030, 4);
  // Bank 1 of the window at 0xA0000 is video memory 0x10000-0x1FFFF.
  r.dispi(VbeDispi::kBank, 1);
  r.wr(0xA0000 + 4, 0x7F);
  CHECK(r.v().memory().vram()[0x10004] == 0x7F);
  CHECK(r.m->bus().read_uint(lfb + 0x10004, 1) == 0x7F);
  // The LFB spans exactly the video memory: its last bytes are there, the next ones are not.
  r.m->bus().write_uint(lfb + (16u << 20) - 2, 0xABCD, 2);
  CHECK(r.m->bus().read_uint(lfb + (16u << 20) - 2, 2) == 0xABCD);
  CHECK(r.m->bus().read_uint(lfb + (16u << 20), 1) == 0xFF);
  vga::Image img;
  CHECK(vga::render_screen(r.v(), img) == "vbe 800x600x32");
  REQUIRE(img.width == 800);
  const uint8_t* px = &img.rgb[(2 * 800 + 10) * 3];
  CHECK(px[0] == 0x10);
  CHECK(px[1] == 0x20);
  CHECK(px[2] == 0x30);
  // 16 bpp 5:6:5, panned by the Y offset.
  r.dispi(VbeDispi::kEnable, 0);
  r.dispi(VbeDispi::kBpp, 16);
  r.dispi(VbeDispi::kXres, 640);
  r.dispi(VbeDispi::kYres, 480);
  r.dispi(VbeDispi::kEnable, VbeDispi::kEnabled | VbeDispi::kNoClearMem);
  r.dispi(VbeDispi::kYOffset, 1);
  r.m->bus().write_uint(lfb + 640 * 2, 0xF800, 2);  // row 1, pixel 0: pure red
  CHECK(vga::render_screen(r.v(), img) == "vbe 640x480x16");
  CHECK(img.rgb[0] == 255);
  CHECK(img.rgb[1] == 0);
  // Enabling without NOCLEARMEM clears video memory.
  r.dispi(VbeDispi::kEnable, 0);
  r.dispi(VbeDispi::kEnable, VbeDispi::kEnabled);
  CHECK(r.v().memory().vram()[0x10004] == 0);
  // A virtual width that does not fit falls back to the visible width, so the
  // mode stays inside video memory.
  r.dispi(VbeDispi::kXres, 2560);
  r.dispi(VbeDispi::kYres, 1600);
  r.dispi(VbeDispi::kBpp, 32);
  r.dispi(VbeDispi::kVirtWidth, 8000);
  CHECK(r.dispi_read(VbeDispi::kVirtWidth) == 2560);
  CHECK(uint64_t{r.dispi_read(VbeDispi::kVirtHeight)} * 2560 * 4 <= (16u << 20));
  CHECK(r.dispi_read(VbeDispi::kVirtHeight) >= 1600);
}

TEST_CASE("vga: mode 13h and mode 12h pixels through the DAC") {
  VgaRig r;
  vga_test::set_mode(r.p(), vga_test::kMode13);
  r.p().out(0x3C8, 0x07, 1);
  for (uint8_t v : {63, 0, 32}) r.p().out(0x3C9, v, 1);
  r.wr(0xA0000 + 3 * 320 + 5, 0x07);
  vga::Image img;
  CHECK(vga::render_screen(r.v(), img) == "graphics 320x200, 256 colours");
  const uint8_t* px = &img.rgb[(3 * 320 + 5) * 3];
  CHECK(px[0] == 255);
  CHECK(px[1] == 0);
  CHECK(px[2] == 130);
  CHECK(img.rgb[0] == 0);
  // Mode 12h: pixel (9, 1) colour 9 -> attribute palette 0x39 -> DAC entry 0x39.
  vga_test::set_mode(r.p(), vga_test::kMode12);
  r.p().out(0x3C8, 0x39, 1);
  for (uint8_t v : {0, 63, 0}) r.p().out(0x3C9, v, 1);
  r.gc(0x05, 0x02);  // write mode 2: the colour in the data
  r.gc(0x08, 0x80 >> 1);
  r.rd(0xA0000 + 80 + 1);
  r.wr(0xA0000 + 80 + 1, 9);
  CHECK(vga::render_screen(r.v(), img) == "graphics 640x480, 16 colours");
  px = &img.rgb[(1 * 640 + 9) * 3];
  CHECK(px[0] == 0);
  CHECK(px[1] == 255);
  CHECK(px[2] == 0);
}

TEST_CASE("vga: text mode pixels come from the font in plane 2 and the attribute colours") {
  VgaRig r;
  vga_test::set_mode(r.p(), vga_test::kMode03);
  // Load a glyph for 'A' into plane 2 the way a BIOS does: sequential addressing, map mask 4.
  r.seq(0x02, 0x04);
  r.seq(0x04, 0x07);
  r.gc(0x05, 0x00);
  r.gc(0x06, 0x04);
  for (unsigned line = 0; line < 16; ++line) r.wr(0xA0000 + 'A' * 32 + line, line == 3 ? 0x81 : 0x00);
  vga_test::set_mode(r.p(), vga_test::kMode03);
  // DAC: colour 1 (attribute palette 0x01) blue, colour 0 black.
  r.p().out(0x3C8, 0x01, 1);
  for (uint8_t v : {0, 0, 63}) r.p().out(0x3C9, v, 1);
  r.wr(0xB8000, 'A');
  r.wr(0xB8001, 0x01);
  r.p().out(0x3D4, 0x0A | (0x20 << 8), 2);  // cursor off
  vga::Image img;
  CHECK(vga::render_screen(r.v(), img) == "text 80x25");
  REQUIRE(img.width == 720);
  REQUIRE(img.height == 400);
  auto at = [&](unsigned x, unsigned y) { return img.rgb[(y * 720 + x) * 3 + 2]; };
  CHECK(at(0, 3) == 255);  // bit 7 of line 3
  CHECK(at(7, 3) == 255);  // bit 0
  CHECK(at(8, 3) == 0);    // 9th column of a non-line-graphics character: background
  CHECK(at(1, 3) == 0);
  CHECK(at(0, 2) == 0);
}

TEST_CASE("vga: VBE 8 bpp with the 8-bit DAC, 15 and 24 bpp pixels") {
  VgaRig r;
  const uint64_t lfb = r.v().lfb_base();
  r.dispi(VbeDispi::kXres, 320);
  r.dispi(VbeDispi::kYres, 200);
  r.dispi(VbeDispi::kBpp, 8);
  r.dispi(VbeDispi::kEnable, VbeDispi::kEnabled | VbeDispi::kLfbEnabled | VbeDispi::kEightBitDac);
  r.p().out(0x3C8, 0x80, 1);
  for (uint8_t v : {0xFF, 0x81, 0x01}) r.p().out(0x3C9, v, 1);  // 8-bit components kept whole
  r.p().out(0x3C7, 0x80, 1);
  CHECK(r.p().in(0x3C9, 1) == 0xFF);
  r.m->bus().write_uint(lfb + 320 * 5 + 7, 0x80, 1);
  vga::Image img;
  CHECK(vga::render_screen(r.v(), img) == "vbe 320x200x8");
  const uint8_t* px = &img.rgb[(5 * 320 + 7) * 3];
  CHECK(px[0] == 0xFF);
  CHECK(px[1] == 0x81);
  CHECK(px[2] == 0x01);
  r.dispi(VbeDispi::kEnable, 0);
  r.dispi(VbeDispi::kBpp, 15);
  r.dispi(VbeDispi::kEnable, VbeDispi::kEnabled | VbeDispi::kLfbEnabled);
  r.m->bus().write_uint(lfb + 2, 0x03E0, 2);  // pixel 1: green 31
  CHECK(vga::render_screen(r.v(), img) == "vbe 320x200x15");
  CHECK(img.rgb[3] == 0);
  CHECK(img.rgb[4] == 255);
  CHECK(img.rgb[5] == 0);
  r.dispi(VbeDispi::kEnable, 0);
  r.dispi(VbeDispi::kBpp, 24);
  r.dispi(VbeDispi::kEnable, VbeDispi::kEnabled | VbeDispi::kLfbEnabled);
  r.m->bus().write_uint(lfb + 3 * 2, 0x123456, 3);  // pixel 2: B=56 G=34 R=12
  CHECK(vga::render_screen(r.v(), img) == "vbe 320x200x24");
  CHECK(img.rgb[6] == 0x12);
  CHECK(img.rgb[7] == 0x34);
  CHECK(img.rgb[8] == 0x56);
}

TEST_CASE("vga: unchained 256-colour mode (mode X) uses all four planes") {
  VgaRig r;
  vga_test::set_mode(r.p(), vga_test::kMode13);
  // Unchain: sequencer memory mode without chain-4, CRTC byte mode, no doubleword.
  r.seq(0x04, 0x06);
  r.p().out(0x3D4, 0x14 | (0x00 << 8), 2);
  r.p().out(0x3D4, 0x17 | (0xE3 << 8), 2);
  r.p().out(0x3C8, 9, 1);
  for (uint8_t v : {63, 63, 0}) r.p().out(0x3C9, v, 1);
  // Pixel (6, 1): plane 6 & 3 = 2, offset 1 * 80 + 6 / 4 = 81.
  r.seq(0x02, 0x04);
  r.wr(0xA0000 + 81, 9);
  vga::Image img;
  CHECK(vga::render_screen(r.v(), img) == "graphics 320x200, 256 colours");
  const uint8_t* px = &img.rgb[(1 * 320 + 6) * 3];
  CHECK(px[0] == 255);
  CHECK(px[1] == 255);
  CHECK(px[2] == 0);
  CHECK(img.rgb[(1 * 320 + 5) * 3] == 0);
}

TEST_CASE("vga: the PCI function 1234:1111 at 00:02.0 (BAR0 LFB, BAR2 registers, expansion ROM)") {
  auto owned_machine = kestrel::test::new_machine(16ull << 20);
  auto& m = *owned_machine;
  BoardOptions opt;
  opt.vga = true;
  opt.vga_rom.assign(0x9000, 0);
  opt.vga_rom[0] = 0x55;
  opt.vga_rom[1] = 0xAA;
  BoardDevices b = build_basic_board(m, opt);
  REQUIRE(b.pci);
  REQUIRE(b.vga_pci);
  const unsigned devfn = 2 << 3;
  auto cfg_read = [&](unsigned off) {
    m.ports().out(0xCF8, 0x80000000u | devfn << 8 | (off & 0xFC), 4);
    return m.ports().in(0xCFC, 4);
  };
  auto cfg_write = [&](unsigned off, uint32_t v) {
    m.ports().out(0xCF8, 0x80000000u | devfn << 8 | (off & 0xFC), 4);
    m.ports().out(0xCFC, v, 4);
  };
  CHECK(cfg_read(0x00) == 0x11111234u);
  CHECK((cfg_read(0x08) >> 8) == 0x030000u);  // VGA-compatible display controller
  CHECK(cfg_read(0x2C) == 0x11001AF4u);
  // Without a BIOS nothing maps BAR0: the board's fixed LFB is gone too.
  CHECK(b.vga->lfb_base() == 0);
  // BAR0 sizes as 16 MiB prefetchable memory.
  cfg_write(0x10, 0xFFFFFFFFu);
  CHECK(cfg_read(0x10) == 0xFF000008u);
  cfg_write(0x10, 0xFD000000u);
  cfg_write(0x18, 0xFEBF0000u);
  cfg_write(0x30, 0xFEBE0001u);  // the expansion ROM, enabled
  cfg_write(0x04, 0x0002);       // memory decoding on
  m.bus().write_uint(0xFD000000u + 0x123456, 0xA5, 1);
  CHECK(b.vga->memory().vram()[0x123456] == 0xA5);
  CHECK(m.bus().read_uint(0xFD000000u + 0x123456, 1) == 0xA5);
  CHECK(m.bus().read_uint(0xFEBE0000u, 2) == 0xAA55);
  // BAR2: the DISPI registers as words at 0x500 + 2n, the VGA ports at 0x400.
  CHECK(m.bus().read_uint(0xFEBF0000u + 0x500 + 2 * VbeDispi::kVideoMemory64K, 2) == 256);
  m.bus().write_uint(0xFEBF0000u + 0x500 + 2 * VbeDispi::kXres, 1024, 2);
  CHECK(b.vga->dispi().reg(VbeDispi::kXres) == 1024);
  m.bus().write_uint(0xFEBF0000u + 0x400 + (0x3C8 - 0x3C0), 0x21, 1);
  CHECK(m.ports().in(0x3C8, 1) == 0x21);
}

TEST_CASE("vga: random register and memory traffic never reaches outside video memory") {
  // Whatever a guest writes to the ports, DISPI and the windows, every access and
  // every picture stays inside the device's arrays (the sizes checked here; an
  // out-of-bounds access would also trip the sanitizers in a debug build).
  VgaRig r;
  uint64_t seed = 0x9E3779B97F4A7C15ull;
  auto next = [&]() {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
  };
  const uint64_t lfb = r.v().lfb_base();
  for (unsigned round = 0; round < 100; ++round) {
    for (unsigned i = 0; i < 64; ++i) {
      const uint64_t x = next();
      switch (x % 6) {
        case 0: r.p().out(static_cast<uint16_t>(0x3B0 + (x >> 8) % 0x30), (x >> 16) & 0xFF, 1); break;
        case 1: r.p().out(static_cast<uint16_t>(0x3C4 + 2 * ((x >> 8) % 6)), (x >> 16) & 0xFFFF, 2); break;
        case 2: r.dispi(static_cast<uint16_t>((x >> 8) % 12), static_cast<uint16_t>(x >> 20)); break;
        case 3: r.wr(static_cast<uint32_t>(0xA0000 + (x >> 8) % 0x20000), static_cast<uint8_t>(x >> 40)); break;
        case 4: r.rd(static_cast<uint32_t>(0xA0000 + (x >> 8) % 0x20000)); break;
        default: r.m->bus().write_uint(lfb + (x >> 8) % (17u << 20), x >> 40, 1 + (x >> 60) % 4); break;
      }
    }
    vga::Image img;
    const std::string what = vga::render_screen(r.v(), img);
    REQUIRE(img.rgb.size() == size_t{img.width} * img.height * 3);
    REQUIRE(img.width > 0);
    vga::TextScreen t;
    if (vga::read_text_screen(r.v(), t)) REQUIRE(t.chars.size() == size_t{t.cols} * t.rows);
  }
  CHECK(r.v().memory().vram().size() == (16u << 20));
}

TEST_CASE("vga: line-compare split screen and pixel panning in graphics modes") {
  VgaRig r;
  vga_test::set_mode(r.p(), vga_test::kMode13);
  r.p().out(0x3C8, 5, 1);
  for (uint8_t v : {63, 63, 63}) r.p().out(0x3C9, v, 1);
  r.wr(0xA0000 + 0, 5);          // memory line 0
  r.wr(0xA0000 + 50 * 320, 5);   // memory line 50
  // Start at memory line 50 (80 doubleword addresses per line), split after scan
  // line 199 (picture line 100 with two scan lines per line).
  const unsigned start = 50 * 80;
  r.p().out(0x3D4, 0x0C | ((start >> 8) << 8), 2);
  r.p().out(0x3D4, 0x0D | ((start & 0xFF) << 8), 2);
  r.p().out(0x3D4, 0x18 | (199 << 8), 2);
  r.p().out(0x3D4, 0x07 | (0x0F << 8), 2);  // overflow: line compare bit 8 clear
  r.p().out(0x3D4, 0x09 | (0x01 << 8), 2);  // maximum scan line 1, line compare bit 9 clear
  vga::Image img;
  vga::render_screen(r.v(), img);
  REQUIRE(img.height == 200);
  CHECK(img.rgb[0] == 255);                  // line 0 shows memory line 50
  CHECK(img.rgb[(100 * 320) * 3] == 255);    // line 100 shows memory line 0
  CHECK(img.rgb[(99 * 320) * 3] == 0);
  CHECK(img.rgb[(101 * 320) * 3] == 0);
  // Mode 12h: panning by 3 pixels moves pixel 3 to the left edge.
  vga_test::set_mode(r.p(), vga_test::kMode12);
  r.p().out(0x3C8, 0x3F, 1);  // colour 15 -> palette 0x3F -> white
  for (uint8_t v : {63, 63, 63}) r.p().out(0x3C9, v, 1);
  r.wr(0xA0000, 0x10);  // pixel 3 in colour 15 (all planes)
  vga::render_screen(r.v(), img);
  CHECK(img.rgb[3 * 3] != 0);
  CHECK(img.rgb[0] == 0);
  r.p().in(0x3DA, 1);
  r.p().out(0x3C0, 0x13 | 0x20, 1);
  r.p().out(0x3C0, 3, 1);
  vga::render_screen(r.v(), img);
  CHECK(img.rgb[0] != 0);
  CHECK(img.rgb[3 * 3] == 0);
}
