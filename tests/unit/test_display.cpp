// cli/display_text and cli/screenshot: the plain-text screen format, when the text
// display prints (settling on guest time), and PNG files decoded back with libpng.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/display_text.h"
#include "cli/host_keyboard.h"
#include "cli/screenshot.h"
#include "machine/board.h"
#include "machine/devices/i8042.h"
#include "machine/devices/vga/vga.h"
#include "machine/machine.h"
#include "test_machine.h"
#include "vga_modes.h"

using namespace kestrel;
using machine::vga::TextScreen;

TEST_CASE("display: the text screen format trims trailing spaces and maps code page 437") {
  TextScreen s;
  s.cols = 4;
  s.rows = 3;
  s.chars = {'A', ':', '\\', '>', ' ', 'x', ' ', ' ', 0, 0xC4, 0xDB, 0x01};
  s.attrs.assign(12, 7);
  CHECK(cli::TextDisplay::format(s) ==
        "--- kestrel screen 4x3 ---\n"
        "A:\\>\n"
        " x\n"
        " \u2500\u2588\u263A\n");
  CHECK(cli::TextDisplay::cp437_to_utf8(0x41) == "A");
  CHECK(cli::TextDisplay::cp437_to_utf8(0x82) == "\u00E9");
  CHECK(cli::TextDisplay::cp437_to_utf8(0x7F) == "\u2302");
}

namespace {

struct Rig {
  std::unique_ptr<machine::Machine> m;
  machine::BoardDevices b;
  Rig() {
    m = test::new_machine(16ull << 20);
    machine::BoardOptions opt;
    opt.vga = true;
    b = machine::build_basic_board(*m, opt);
  }
  void text(unsigned pos, const char* s) {
    for (; *s; ++s, ++pos) m->bus().write_uint(0xB8000 + pos * 2, static_cast<uint8_t>(*s), 1);
  }
};

std::string slurp(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  return out;
}

}  // namespace

TEST_CASE("display: the text screen prints once it has settled, and again only when it changed") {
  Rig r;
  std::FILE* f = std::tmpfile();
  REQUIRE(f);
  cli::TextDisplay d(*r.b.vga, f);
  d.poll(0);  // registers not programmed: not a text mode, nothing printed
  CHECK(slurp(f).empty());
  vga_test::set_mode(r.m->ports(), vga_test::kMode03);
  r.text(0, "Hello");
  d.poll(1'000'000);
  d.poll(50'000'000);  // changed 49 ms ago: not settled
  CHECK(slurp(f).empty());
  d.poll(101'000'000);
  std::string out = slurp(f);
  CHECK(out.rfind("--- kestrel screen 80x25 ---\nHello\n", 0) == 0);
  CHECK(out.size() == std::string("--- kestrel screen 80x25 ---\nHello\n").size() + 24);  // 24 empty rows
  d.poll(300'000'000);  // nothing new
  CHECK(slurp(f) == out);
  r.text(80, "World");
  d.poll(310'000'000);
  d.poll(420'000'000);
  out = slurp(f);
  CHECK(out.find("Hello\nWorld\n") != std::string::npos);
  r.text(160, "bye");
  d.finish();  // the end of the run prints the last screen at once
  CHECK(slurp(f).find("Hello\nWorld\nbye\n") != std::string::npos);
  std::fclose(f);
}

TEST_CASE("display: a screen that never settles is printed once a second of guest time") {
  Rig r;
  std::FILE* f = std::tmpfile();
  REQUIRE(f);
  cli::TextDisplay d(*r.b.vga, f);
  vga_test::set_mode(r.m->ports(), vga_test::kMode03);
  uint64_t now = 0;
  // A counter that changes every 50 ms: never still for 100 ms.
  for (unsigned i = 0; i < 19; ++i, now += 50'000'000) {
    r.text(0, std::to_string(i).c_str());
    d.poll(now);
  }
  CHECK(slurp(f).empty());  // 900 ms in
  r.text(0, "19");
  d.poll(now);              // 950 ms
  now += 50'000'000;
  r.text(0, "20");
  d.poll(now);              // 1000 ms after the first change: printed although still moving
  const std::string out = slurp(f);
  CHECK(out.rfind("--- kestrel screen 80x25 ---\n20\n", 0) == 0);
  std::fclose(f);
}

TEST_CASE("screenshot: a mode 13h picture written as PNG decodes to the same pixels") {
  Rig r;
  vga_test::set_mode(r.m->ports(), vga_test::kMode13);
  r.m->ports().out(0x3C8, 1, 1);
  for (uint8_t v : {10, 20, 30, 63, 63, 0}) r.m->ports().out(0x3C9, v, 1);
  for (unsigned x = 0; x < 320; ++x) r.m->bus().write_uint(0xA0000 + 100 * 320 + x, 1 + (x & 1), 1);
  machine::vga::Image img;
  CHECK(machine::vga::render_screen(*r.b.vga, img) == "graphics 320x200, 256 colours");
  char path[] = "/tmp/kestrel-shot-XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  std::string err;
  REQUIRE_MESSAGE(cli::write_png(path, img, err), err);
  machine::vga::Image back;
  REQUIRE_MESSAGE(cli::read_png(path, back, err), err);
  unlink(path);
  CHECK(back.width == 320);
  CHECK(back.height == 200);
  CHECK(back.rgb == img.rgb);
  const uint8_t* p0 = &back.rgb[(100 * 320 + 0) * 3];
  const uint8_t* p1 = &back.rgb[(100 * 320 + 1) * 3];
  CHECK(p0[0] == (10 << 2));
  CHECK(p0[2] == (30 << 2 | 30 >> 4));
  CHECK(p1[0] == 255);
  CHECK(p1[2] == 0);
  CHECK(back.rgb[0] == 0);
}

TEST_CASE("screenshot: an unwritable path is a clear error") {
  machine::vga::Image img;
  img.width = img.height = 1;
  img.rgb = {1, 2, 3};
  std::string err;
  CHECK_FALSE(cli::write_png("/nonexistent-dir/x.png", img, err));
  CHECK(err.find("cannot create") != std::string::npos);
}

TEST_CASE("host keyboard: terminal bytes and escape sequences become paced key events") {
  Rig r;
  kestrel::machine::I8042& kbd = *r.b.i8042;
  cli::HostKeyboard k(kbd);
  // A!, Up, F1, F12, Delete, Ctrl-C, Enter (CR LF is one Enter), a lone Esc.
  k.type("A!\x1b[A\x1bOP\x1b[24~\x1b[3~\x03\r\n\x1b");
  std::vector<uint8_t> got;
  uint64_t now = 0;
  for (int i = 0; i < 200 && (k.pending() || kbd.keyboard_bytes_waiting()); ++i) {
    k.service(now);
    while (kbd.status() & kestrel::machine::I8042::kStOutFull) got.push_back(static_cast<uint8_t>(r.m->ports().in(0x60, 1)));
    now += cli::HostKeyboard::kKeyGapNs;
  }
  const std::vector<uint8_t> want = {
      0x2A, 0x1E, 0x9E, 0xAA,                    // Shift A
      0x2A, 0x02, 0x82, 0xAA,                    // Shift 1
      0xE0, 0x48, 0xE0, 0xC8,                    // Up
      0x3B, 0xBB,                                // F1
      0x58, 0xD8,                                // F12
      0xE0, 0x53, 0xE0, 0xD3,                    // Delete
      0x1D, 0x2E, 0xAE, 0x9D,                    // Ctrl C
      0x1C, 0x9C,                                // Enter
      0x01, 0x81};                               // Esc
  CHECK(got == want);
}

TEST_CASE("host keyboard: one key event at a time, and only after the gap") {
  Rig r;
  cli::HostKeyboard k(*r.b.i8042);
  k.type("ab");
  k.service(0);
  CHECK(r.b.i8042->keyboard_bytes_waiting());
  k.service(10 * cli::HostKeyboard::kKeyGapNs);  // the guest has not read the last byte: wait
  CHECK(k.pending() == 3);
  r.m->ports().in(0x60, 1);
  k.service(cli::HostKeyboard::kKeyGapNs / 2);  // read, but the gap has not passed
  CHECK(k.pending() == 3);
  k.service(cli::HostKeyboard::kKeyGapNs);
  CHECK(k.pending() == 2);
}

TEST_CASE("host keyboard: --keys escapes") {
  std::string out, err;
  CHECK(cli::HostKeyboard::unescape("dir\\n\\t\\b\\e\\\\", out, err));
  CHECK(out == "dir\r\t\x7F\x1B\\");
  CHECK_FALSE(cli::HostKeyboard::unescape("x\\", out, err));
  CHECK_FALSE(cli::HostKeyboard::unescape("\\z", out, err));
  CHECK(err.find("unknown escape") != std::string::npos);
}
