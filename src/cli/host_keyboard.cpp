#include "cli/host_keyboard.h"

#include <cctype>
#include <cstring>

#include <fmt/format.h>

#include "machine/devices/i8042.h"

namespace kestrel::cli {

namespace {

namespace key = machine::ps2::key;
using machine::ps2::Key;

// The US layout's unshifted and shifted characters by set 1 code.
struct KeyChar {
  char plain, shifted;
  uint8_t code;
};
constexpr KeyChar kKeyChars[] = {
    {'1', '!', 0x02}, {'2', '@', 0x03}, {'3', '#', 0x04}, {'4', '$', 0x05}, {'5', '%', 0x06}, {'6', '^', 0x07},
    {'7', '&', 0x08}, {'8', '*', 0x09}, {'9', '(', 0x0A}, {'0', ')', 0x0B}, {'-', '_', 0x0C}, {'=', '+', 0x0D},
    {'q', 'Q', 0x10}, {'w', 'W', 0x11}, {'e', 'E', 0x12}, {'r', 'R', 0x13}, {'t', 'T', 0x14}, {'y', 'Y', 0x15},
    {'u', 'U', 0x16}, {'i', 'I', 0x17}, {'o', 'O', 0x18}, {'p', 'P', 0x19}, {'[', '{', 0x1A}, {']', '}', 0x1B},
    {'a', 'A', 0x1E}, {'s', 'S', 0x1F}, {'d', 'D', 0x20}, {'f', 'F', 0x21}, {'g', 'G', 0x22}, {'h', 'H', 0x23},
    {'j', 'J', 0x24}, {'k', 'K', 0x25}, {'l', 'L', 0x26}, {';', ':', 0x27}, {'\'', '"', 0x28}, {'`', '~', 0x29},
    {'\\', '|', 0x2B}, {'z', 'Z', 0x2C}, {'x', 'X', 0x2D}, {'c', 'C', 0x2E}, {'v', 'V', 0x2F}, {'b', 'B', 0x30},
    {'n', 'N', 0x31}, {'m', 'M', 0x32}, {',', '<', 0x33}, {'.', '>', 0x34}, {'/', '?', 0x35}, {' ', ' ', 0x39},
};

// The key of a lower-case letter (for Ctrl-letter).
uint8_t letter_code(char c) {
  for (const KeyChar& k : kKeyChars)
    if (k.plain == c) return k.code;
  return 0;
}

constexpr uint8_t kFKeys[12] = {0x3B, 0x3C, 0x3D, 0x3E, 0x3F, 0x40, 0x41, 0x42, 0x43, 0x44, key::kF11, key::kF12};

}  // namespace

void HostKeyboard::press(Key k, bool shift, bool ctrl) {
  if (ctrl) events_.push_back({{key::kCtrl, false}, true});
  if (shift) events_.push_back({{key::kLeftShift, false}, true});
  events_.push_back({k, true});
  events_.push_back({k, false});
  if (shift) events_.push_back({{key::kLeftShift, false}, false});
  if (ctrl) events_.push_back({{key::kCtrl, false}, false});
}

size_t HostKeyboard::escape_sequence(std::string_view s) {
  auto ext = [](uint8_t code) { return Key{code, true}; };
  if (s.size() >= 2 && s[0] == 'O') {  // SS3: F1-F4, Home, End
    switch (s[1]) {
      case 'P': case 'Q': case 'R': case 'S': press(Key{kFKeys[s[1] - 'P'], false}); return 2;
      case 'H': press(ext(key::kHome)); return 2;
      case 'F': press(ext(key::kEnd)); return 2;
      case 'A': press(ext(key::kUp)); return 2;
      case 'B': press(ext(key::kDown)); return 2;
      case 'C': press(ext(key::kRight)); return 2;
      case 'D': press(ext(key::kLeft)); return 2;
      default: return 0;
    }
  }
  if (s.size() < 2 || s[0] != '[') return 0;
  switch (s[1]) {
    case 'A': press(ext(key::kUp)); return 2;
    case 'B': press(ext(key::kDown)); return 2;
    case 'C': press(ext(key::kRight)); return 2;
    case 'D': press(ext(key::kLeft)); return 2;
    case 'H': press(ext(key::kHome)); return 2;
    case 'F': press(ext(key::kEnd)); return 2;
    default: break;
  }
  // ESC [ number ~
  size_t i = 1;
  unsigned n = 0;
  while (i < s.size() && i < 4 && std::isdigit(static_cast<unsigned char>(s[i]))) n = n * 10 + (s[i++] - '0');
  if (i == 1 || i >= s.size() || s[i] != '~') return 0;
  switch (n) {
    case 1: case 7: press(ext(key::kHome)); break;
    case 2: press(ext(key::kInsert)); break;
    case 3: press(ext(key::kDelete)); break;
    case 4: case 8: press(ext(key::kEnd)); break;
    case 5: press(ext(key::kPageUp)); break;
    case 6: press(ext(key::kPageDown)); break;
    case 11: case 12: case 13: case 14: press(Key{kFKeys[n - 11], false}); break;
    case 15: press(Key{kFKeys[4], false}); break;
    case 17: case 18: case 19: case 20: case 21: press(Key{kFKeys[n - 12], false}); break;
    case 23: case 24: press(Key{kFKeys[n - 13], false}); break;
    default: return 0;
  }
  return i + 1;
}

void HostKeyboard::type(std::string_view bytes) {
  for (size_t i = 0; i < bytes.size(); ++i) {
    const auto ch = static_cast<unsigned char>(bytes[i]);
    if (ch == 0x1B) {
      const size_t used = escape_sequence(bytes.substr(i + 1));
      if (used) i += used;
      else press(Key{key::kEsc, false});
      continue;
    }
    if (ch == '\r' || ch == '\n') {
      // CR LF from a pipe or a file is one Enter.
      if (ch == '\r' && i + 1 < bytes.size() && bytes[i + 1] == '\n') ++i;
      press(Key{key::kEnter, false});
      continue;
    }
    if (ch == '\t') { press(Key{key::kTab, false}); continue; }
    if (ch == 0x7F || ch == 0x08) { press(Key{key::kBackspace, false}); continue; }
    if (ch >= 0x01 && ch <= 0x1A) {  // Ctrl-A .. Ctrl-Z
      press(Key{letter_code(static_cast<char>('a' + ch - 1)), false}, false, true);
      continue;
    }
    for (const KeyChar& k : kKeyChars) {
      if (k.plain == static_cast<char>(ch)) { press(Key{k.code, false}); break; }
      if (k.shifted == static_cast<char>(ch)) { press(Key{k.code, false}, true); break; }
    }
    // Bytes with no key on a US keyboard (other controls, 8-bit) are dropped.
  }
}

bool HostKeyboard::unescape(std::string_view text, std::string& out, std::string& error) {
  out.clear();
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out.push_back(text[i]);
      continue;
    }
    if (++i == text.size()) {
      error = "--keys: the text ends in a lone backslash (write \\\\ for one)";
      return false;
    }
    switch (text[i]) {
      case 'n': case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'b': out.push_back('\x7F'); break;
      case 'e': out.push_back('\x1B'); break;
      case '\\': out.push_back('\\'); break;
      default:
        error = fmt::format("--keys: unknown escape '\\{}' (use \\n, \\t, \\b, \\e or \\\\)", text[i]);
        return false;
    }
  }
  return true;
}

void HostKeyboard::service(uint64_t now_ns) {
  if (events_.empty() || now_ns < next_ns_) return;
  if (kbd_.keyboard_bytes_waiting()) return;  // the guest has not read the last one yet
  const Event e = events_.front();
  events_.pop_front();
  kbd_.key_event(e.key, e.pressed);
  next_ns_ = now_ns + kKeyGapNs;
}

}  // namespace kestrel::cli
