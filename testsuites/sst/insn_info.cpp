// Instruction parsing and the undefined-flags table for the SST runner.
//
// The vectors come from a real 80286; Kestrel models a P6. Where the SDM calls
// a flag undefined after an instruction the two may legitimately differ, so the
// runner masks exactly those flags (SDM Vol. 2, each instruction's "Flags
// Affected" section) and nothing else.
#include "insn_info.h"

#include "machine/cpu_state.h"

namespace kestrel::sst {

using namespace kestrel::machine;

namespace {

bool opcode_has_modrm(uint8_t op) {
  if (op < 0x40) return (op & 7) < 4;  // ALU Eb,Gb .. Gv,Ev (prefix and misc bytes are 0x?6/0x?7/0x?E/0x?F)
  switch (op) {
    case 0x62: case 0x63: case 0x69: case 0x6B:
    case 0xC0: case 0xC1: case 0xC4: case 0xC5: case 0xC6: case 0xC7:
    case 0xD0: case 0xD1: case 0xD2: case 0xD3:
    case 0xF6: case 0xF7: case 0xFE: case 0xFF:
      return true;
    default:
      return (op >= 0x80 && op <= 0x8F) || (op >= 0xD8 && op <= 0xDF);
  }
}

// Size of the immediate that follows ModRM/displacement, for the opcodes that have one.
unsigned imm_size(uint8_t op, unsigned reg) {
  switch (op) {
    case 0x69: case 0x81: case 0xC7: return 2;
    case 0x6B: case 0x80: case 0x82: case 0x83: case 0xC0: case 0xC1: case 0xC6: return 1;
    case 0xF6: return reg < 2 ? 1 : 0;
    case 0xF7: return reg < 2 ? 2 : 0;
    default: return 0;
  }
}

}  // namespace

InsnInfo parse_insn(const std::vector<uint8_t>& b) {
  InsnInfo in;
  size_t i = 0;
  for (; i < b.size(); ++i) {
    uint8_t p = b[i];
    if (p == 0xF0) in.lock = true;
    else if (p == 0xF2 || p == 0xF3) in.rep = true;
    else if (p == 0x26 || p == 0x2E || p == 0x36 || p == 0x3E) in.seg_override = (p >> 3) & 3;
    else break;
  }
  if (i >= b.size()) return in;
  in.opcode = b[i++];
  if (opcode_has_modrm(in.opcode)) {
    if (i >= b.size()) return in;
    in.has_modrm = true;
    in.modrm = b[i++];
    unsigned disp = 0;
    if (in.mod() == 1) disp = 1;
    else if (in.mod() == 2 || (in.mod() == 0 && in.rm() == 6)) disp = 2;
    i += disp;
    unsigned imm = imm_size(in.opcode, in.reg());
    if ((in.opcode == 0xC0 || in.opcode == 0xC1) && i < b.size()) in.imm8 = b[i];
    i += imm;
    if (i > b.size()) return in;
  }
  in.length = static_cast<unsigned>(i);
  in.ok = true;
  return in;
}

uint16_t undefined_flags(const InsnInfo& in, uint8_t cl) {
  constexpr uint16_t kAll = kCF | kPF | kAF | kZF | kSF | kOF;
  const uint8_t op = in.opcode;
  const unsigned reg = in.reg();
  switch (op) {
    // OR, AND, XOR, TEST: "The OF and CF flags are cleared; the SF, ZF, and PF flags
    // are set according to the result. The state of the AF flag is undefined."
    case 0x08: case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D:
    case 0x20: case 0x21: case 0x22: case 0x23: case 0x24: case 0x25:
    case 0x30: case 0x31: case 0x32: case 0x33: case 0x34: case 0x35:
    case 0x84: case 0x85: case 0xA8: case 0xA9:
      return kAF;
    case 0x80: case 0x81: case 0x82: case 0x83:
      return (reg == 1 || reg == 4 || reg == 6) ? kAF : 0;
    case 0xF6: case 0xF7:
      if (reg <= 1) return kAF;                        // TEST
      if (reg == 4 || reg == 5) return kSF | kZF | kAF | kPF;  // MUL, IMUL
      if (reg >= 6) return kAll;                       // DIV, IDIV
      return 0;                                        // NOT, NEG
    case 0x69: case 0x6B:                              // IMUL r, r/m, imm
      return kSF | kZF | kAF | kPF;
    case 0x27: case 0x2F:                              // DAA, DAS
      return kOF;
    case 0x37: case 0x3F:                              // AAA, AAS
      return kOF | kSF | kZF | kPF;
    case 0xD4: case 0xD5:                              // AAM, AAD
      return kOF | kAF | kCF;
    case 0xC0: case 0xC1: case 0xD0: case 0xD1: case 0xD2: case 0xD3: {
      unsigned count;
      if (op == 0xD0 || op == 0xD1) count = 1;
      else if (op == 0xD2 || op == 0xD3) count = cl;
      else count = in.imm8 < 0 ? 0 : static_cast<unsigned>(in.imm8);
      count &= 0x1F;  // the count is masked to 5 bits (SDM Vol. 2B, SAL/SAR/SHL/SHR; RCL/RCR/ROL/ROR)
      if (count == 0) return 0;  // "If the count is 0, the flags are not affected."
      const unsigned bits = (op & 1) ? 16 : 8;
      uint16_t m = 0;
      if (count != 1) m |= kOF;  // OF is defined only for 1-bit shifts and rotates
      if (reg >= 4) {
        m |= kAF;  // shifts: "For a non-zero count, the AF flag is undefined."
        // "CF ... is undefined for SHL and SHR instructions where the count is greater
        // than or equal to the size (in bits) of the destination operand." (/6 is SHL's alias)
        if (reg != 7 && count >= bits) m |= kCF;
      }
      return m;
    }
    default:
      return 0;
  }
}

bool lock_is_ud_on_p6(const InsnInfo& in) {
  if (!in.lock) return false;
  if (!in.mem_operand()) return true;
  const uint8_t op = in.opcode;
  const unsigned reg = in.reg();
  switch (op) {
    case 0x00: case 0x01: case 0x08: case 0x09: case 0x10: case 0x11: case 0x18: case 0x19:
    case 0x20: case 0x21: case 0x28: case 0x29: case 0x30: case 0x31:
    case 0x86: case 0x87:
      return false;
    case 0x80: case 0x81: case 0x82: case 0x83:
      return reg == 7;  // CMP does not write its destination
    case 0xF6: case 0xF7:
      return !(reg == 2 || reg == 3);  // NOT, NEG
    case 0xFE: case 0xFF:
      return reg > 1;  // INC, DEC
    default:
      return true;
  }
}

std::string flags_string(uint16_t f) {
  std::string s;
  s += f & kOF ? 'O' : '-';
  s += f & kDF ? 'D' : '-';
  s += f & kIF ? 'I' : '-';
  s += f & kTF ? 'T' : '-';
  s += f & kSF ? 'S' : '-';
  s += f & kZF ? 'Z' : '-';
  s += f & kAF ? 'A' : '-';
  s += f & kPF ? 'P' : '-';
  s += f & kCF ? 'C' : '-';
  return s;
}

}  // namespace kestrel::sst
