// Just enough 16-bit instruction parsing for the SingleStepTests runner: the
// prefixes, opcode, ModRM and shift count of a test's instruction, and the
// arithmetic flags the Intel SDM calls undefined after it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kestrel::sst {

struct InsnInfo {
  bool ok = false;           // false when the bytes could not be parsed
  bool lock = false;         // F0 prefix present
  bool rep = false;          // F2 or F3 prefix present
  int seg_override = -1;     // 0..3 = ES CS SS DS, from the last segment prefix
  uint8_t opcode = 0;
  bool has_modrm = false;
  uint8_t modrm = 0;
  unsigned length = 0;       // bytes up to and including the immediate
  int imm8 = -1;             // the shift count immediate of C0/C1

  unsigned mod() const { return modrm >> 6; }
  unsigned reg() const { return (modrm >> 3) & 7; }
  unsigned rm() const { return modrm & 7; }
  bool mem_operand() const { return has_modrm && mod() != 3; }
  // The default segment of the ModRM memory operand is SS (BP-based addressing).
  bool bp_based() const { return mem_operand() && (rm() == 2 || rm() == 3 || (rm() == 6 && mod() != 0)); }
};

InsnInfo parse_insn(const std::vector<uint8_t>& bytes);

// Arithmetic flags (CF PF AF ZF SF OF bits) the SDM leaves undefined after the
// instruction; `cl` is the initial CL, for shifts by CL.
uint16_t undefined_flags(const InsnInfo& in, uint8_t cl);

// LOCK is only allowed on the read-modify-write forms listed in SDM Vol. 2A, LOCK
// (with a memory destination); elsewhere a 386 or later raises #UD, a 286 ignores it.
bool lock_is_ud_on_p6(const InsnInfo& in);

std::string flags_string(uint16_t f);

}  // namespace kestrel::sst
