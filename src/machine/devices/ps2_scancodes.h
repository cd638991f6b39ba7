// PS/2 keyboard scan codes: keys named by their scan code set 1 make code (with
// the 0xE0 prefix flag for the extended keys), the bytes a keyboard sends for a
// key in set 1 or set 2, and the 8042's set 2 -> set 1 translation.
//
// The translation table is the IBM PC/AT keyboard controller's (IBM PS/2 Hardware
// Interface Technical Reference, "Keyboard Controller", scan code translation):
// it maps every byte the keyboard sends below 0x80 (keys, and also command
// answers such as the scan-code-set number); 0x83 (F7) and 0x84 (SysRq) map to
// 0x41 and 0x54; other bytes from 0x80 up pass unchanged; a set 2 break prefix
// 0xF0 is swallowed and sets bit 7 of the next translated byte.
#pragma once

#include <cstdint>
#include <vector>

namespace kestrel::machine::ps2 {

struct Key {
  uint8_t code = 0;       // scan code set 1 make code (0x01-0x7F)
  bool extended = false;  // sent with an 0xE0 prefix
};

// Set 1 make codes of the keys the host front ends type.
namespace key {
constexpr uint8_t kEsc = 0x01, kBackspace = 0x0E, kTab = 0x0F, kEnter = 0x1C, kCtrl = 0x1D, kLeftShift = 0x2A,
                  kAlt = 0x38, kSpace = 0x39, kF1 = 0x3B, kF10 = 0x44, kF11 = 0x57, kF12 = 0x58, kHome = 0x47,
                  kUp = 0x48, kPageUp = 0x49, kLeft = 0x4B, kRight = 0x4D, kEnd = 0x4F, kDown = 0x50,
                  kPageDown = 0x51, kInsert = 0x52, kDelete = 0x53;
}  // namespace key

// The bytes the keyboard sends for `k` pressed or released in scan code set
// `set` (1 or 2; set 3 is answered as set 2).
std::vector<uint8_t> key_bytes(Key k, bool pressed, unsigned set);
// The 8042's translation of one byte from the keyboard (without the F0 handling).
uint8_t translate_set2(uint8_t byte);
// The set 2 code of a set 1 make code (the inverse of the translation).
uint8_t set1_to_set2(uint8_t code);

}  // namespace kestrel::machine::ps2
