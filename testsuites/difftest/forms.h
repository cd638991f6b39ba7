// Instruction forms as the table describes them (src/frontend-x86/insn_table.def and
// the family files), with the operand tokens of each form's name parsed out.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "frontend-x86/insn.h"
#include "machine/cpu_model.h"

namespace difftest {

enum class Family : uint8_t { Int, X87, Sse, Simd };

// One encoding of a form: the row itself or an ALIAS row.
struct Encoding {
  uint8_t map;     // 0 one-byte, 1 0F, 2 0F 38, 3 0F 3A
  uint8_t opcode;  // first opcode
  uint8_t count;   // consecutive opcodes (+r, cc)
  int8_t reg;      // -1 any; 0-7 ModRM.reg; >= 0x40 RM(reg, rm)
  uint8_t pfx;     // 0 any, 1 none, 2 66, 3 F3, 4 F2
  uint8_t mod;     // 0 any, 1 memory, 2 register, 3 any/64-bit only, 4 any/not 64-bit
};

// What an operand token of the form's name denotes.
enum class OpKind : uint8_t {
  None,
  RmGpr,     // E: general register or memory
  RegGpr,    // G: general register in ModRM.reg
  RmGprReg,  // R: general register in ModRM.rm (mod 3)
  Mem,       // M / m..: memory only
  SegReg,    // S: segment register in ModRM.reg
  CtlReg,    // C
  DbgReg,    // D
  Imm,       // I
  Rel,       // J
  Moffs,     // O
  FarPtr,    // A
  OpReg,     // Z: register in the opcode's low bits
  Fixed,     // AL, rAX, CL, DX, 1, segment names: implied
  RmMmx,     // Q
  RegMmx,    // P
  RmMmxReg,  // N
  RmXmm,     // W
  RegXmm,    // V
  RmXmmReg,  // U
  X87St0,    // ST0
  X87Sti,    // STi
};

struct Operand {
  OpKind kind = OpKind::None;
  std::string token;  // as in the name ("Ev", "m32fp", "Vps")
  // Size in bytes: 0 by operand size (v/z), -1 unknown; for Imm the encoded width
  // (0: z, 9: v, which the encoder resolves).
  int size = -1;
};

struct Form {
  kestrel::frontend::InsnId id;
  std::string name;
  std::string mnemonic;  // the name up to the first '_'
  Family family;
  kestrel::machine::Feature feature;
  std::vector<Encoding> encodings;  // [0] is the row, the rest ALIAS rows
  std::vector<Operand> ops;
  bool has_modrm = false;
  bool rm_is_mem_only = false;
  bool is_string = false;  // kRep attribute
  unsigned mem_size = 0;   // bytes accessed by a memory operand, 0 when by operand size
};

const std::vector<Form>& all_forms();
const Form* find_form(const std::string& name);

}  // namespace difftest
