// Keys for the PS/2 keyboard from the host: terminal bytes (when COM1 does not
// read standard input) and --keys text, turned into make and break codes of a US
// keyboard and handed to the i8042 one at a time.
//
// Bytes map as a terminal sends them: printable ASCII to its key (with Shift for
// upper case and shifted symbols), Enter (CR or LF), Tab, Backspace (DEL or BS),
// Ctrl-letters to Ctrl + the letter, a lone ESC to Esc, and the common escape
// sequences: ESC [ A-D (arrows), ESC [ H / F and ESC O H / F (Home, End),
// ESC [ n ~ (Insert 2, Delete 3, PgUp 5, PgDn 6, Home 1/7, End 4/8, F5-F12 15-24),
// ESC O P-S (F1-F4). A sequence split across two reads is taken as Esc and text.
//
// Pacing: the next key event goes to the controller only when the controller has
// passed on the last byte of the previous one and kKeyGapNs of guest time has
// gone by, so a BIOS's 16-key buffer is never flooded (a pipe or --keys can hold
// any amount).
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "machine/devices/ps2_scancodes.h"

namespace kestrel::machine {
class I8042;
}

namespace kestrel::cli {

class HostKeyboard {
 public:
  static constexpr uint64_t kKeyGapNs = 5'000'000;  // 5 ms of guest time between key events

  explicit HostKeyboard(machine::I8042& kbd) : kbd_(kbd) {}

  // Queues the keys for terminal bytes (escape sequences included).
  void type(std::string_view bytes);
  // Queues --keys text: as type(), after turning the escapes \n (Enter), \t, \b,
  // \e (Esc) and \\ into their bytes. False with a message for a bad escape.
  static bool unescape(std::string_view text, std::string& out, std::string& error);
  // Hands the next event to the controller if its time has come (`now_ns`: guest
  // time that keeps counting across resets).
  void service(uint64_t now_ns);
  size_t pending() const { return events_.size(); }

 private:
  struct Event {
    machine::ps2::Key key;
    bool pressed;
  };
  void press(machine::ps2::Key k, bool shift = false, bool ctrl = false);
  // Consumes an escape sequence at the start of `s` (which starts after ESC);
  // returns the bytes used, or 0 when it is not one (a lone Esc).
  size_t escape_sequence(std::string_view s);

  machine::I8042& kbd_;
  std::deque<Event> events_;
  uint64_t next_ns_ = 0;
};

}  // namespace kestrel::cli
