// --display text: the VGA's text screen written to standard output as plain text
// each time it settles, for scripts and logs.
//
// After every interpreter slice the display looks at the VGA (cheaply: only when
// the device's generation counter moved) and notes when the characters on the
// screen last changed. Once they have stayed the same for kSettleNs of guest time
// and differ from the screen printed last, it prints the whole screen (a screen
// that never stays still, a clock or a progress bar, is printed once it has gone
// kMaxUnprintedNs without being printed):
//
//   --- kestrel screen 80x25 ---
//   <row 1>
//   ...
//   <row 25>
//
// one line per row, trailing spaces trimmed, code page 437 characters as UTF-8
// (NUL as a space). At the end of the run the last screen is printed too if it
// was not yet. Graphics and VBE modes print nothing (use --screenshot).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "machine/devices/vga/vga_render.h"

namespace kestrel::machine {
class Vga;
}

namespace kestrel::cli {

class TextDisplay {
 public:
  static constexpr uint64_t kSettleNs = 100'000'000;        // 100 ms of guest time
  static constexpr uint64_t kMaxUnprintedNs = 1'000'000'000; // 1 s

  TextDisplay(const machine::Vga& vga, std::FILE* out) : vga_(vga), out_(out) {}
  // `now_ns` is guest time that does not go back across resets (Machine::uptime_ns).
  void poll(uint64_t now_ns);
  // The end of the run: prints the screen if it differs from the one printed last.
  void finish();

  // The screen as it would be printed (header line and rows), for tests.
  static std::string format(const machine::vga::TextScreen& s);
  static std::string cp437_to_utf8(uint8_t ch);

 private:
  void print(const machine::vga::TextScreen& s);

  const machine::Vga& vga_;
  std::FILE* out_;
  uint64_t seen_generation_ = ~0ull;
  machine::vga::TextScreen current_;  // cols == 0: not a text mode
  machine::vga::TextScreen printed_;
  uint64_t changed_at_ = 0;
  uint64_t unprinted_since_ = 0;  // when the screen first differed from the one printed
  bool unprinted_ = false;
};

// Whether the VGA's text screen shows a text (searched in the rows joined by
// newlines, as code page 437 bytes, with and without their trailing blanks), for
// --keys-after and --stop-on-screen. The
// screen is read again only when the VGA's generation counter moved; once seen,
// the answer stays true.
class ScreenWatch {
 public:
  ScreenWatch(const machine::Vga& vga, std::string text) : vga_(vga), text_(std::move(text)) {}
  bool seen();

 private:
  const machine::Vga& vga_;
  std::string text_;
  uint64_t seen_generation_ = ~0ull;
  bool seen_ = false;
};

}  // namespace kestrel::cli
