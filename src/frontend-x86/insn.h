// DecodedInsn, instruction ids and the table's static description of each form.
#pragma once

#include <cstdint>

#include "machine/cpu_model.h"
#include "machine/exceptions.h"

namespace kestrel::machine { struct CpuState; }

namespace kestrel::frontend {

// Instruction ids, one per form in insn_table.def, plus two for what is not a form.
// RM(reg, rm): an encoding fixed in both ModRM fields (register forms such as 0F 01 F8).
#define RM(reg, rm) (0x40 | (reg) | ((rm) << 3))

enum class InsnId : uint16_t {
#define X(id, map, op, n, reg, pfx, mod, feat, fr, fw, attrs) id,
#include "frontend-x86/insn_table.def"
#undef X
  Unimplemented,  // decodes, but Kestrel has no handler: #UD, reported once
  Invalid,        // does not decode (or not on this CPU model): #UD
  Count,
};
inline constexpr unsigned kInsnCount = static_cast<unsigned>(InsnId::Count);

struct DecodedInsn;
using Handler = machine::ExecStatus (*)(machine::CpuState&, const DecodedInsn&);

inline constexpr uint8_t kNoReg = 0xFF;
inline constexpr uint8_t kRipBase = 0xFE;

// Prefix bits in DecodedInsn::pfx.
enum : uint8_t {
  kPfxRep = 1,       // F3 (REP / REPE)
  kPfxRepne = 2,     // F2 (REPNE)
  kPfxLock = 4,
  kPfxRex = 8,       // any REX prefix: 8-bit registers 4-7 are SPL..DIL
  kPfxSegOver = 16,  // explicit segment override
  kPfxOpsize = 32,   // 66 present
  kPfxAddrsize = 64, // 67 present
};

// A decoded instruction: ours, compact, built once from Zydis output and cached.
struct DecodedInsn {
  Handler fn;       // interpreter handler (from the table, by id)
  uint64_t imm;     // immediate, moffs address, or far-pointer offset
  int32_t disp;     // memory displacement (sign-extended at use)
  InsnId id;
  uint16_t imm2;    // far-pointer selector, ENTER nesting level
  uint8_t len;      // bytes
  uint8_t osize;    // operand size in bytes for v-forms: 2, 4, 8
  uint8_t asize;    // address size in bytes: 2, 4, 8
  uint8_t seg;      // segment of the memory operand (default or override)
  uint8_t mod;      // ModRM.mod; 3 means the r/m operand is a register
  uint8_t reg;      // ModRM.reg + REX.R, or the opcode's register for +r forms
  uint8_t rm;       // ModRM.rm + REX.B (register operand when mod == 3)
  uint8_t base;     // memory base register, kNoReg, or kRipBase
  uint8_t index;    // memory index register or kNoReg
  uint8_t scale;    // index shift 0..3
  uint8_t pfx;      // kPfx* bits
  uint8_t op;       // the opcode byte (condition codes, implied sizes)
};
static_assert(sizeof(DecodedInsn) <= 48);

// Static facts from the table.
enum : uint8_t { kEnd = 1, kRep = 2 };
enum : uint32_t {
  F_NONE = 0, F_CF = 1u << 0, F_PF = 1u << 2, F_AF = 1u << 4, F_ZF = 1u << 6, F_SF = 1u << 7,
  F_OF = 1u << 11, F_ALL = F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF,
  F_OSZAP = F_OF | F_SF | F_ZF | F_AF | F_PF,
};

struct InsnInfo {
  const char* name;
  machine::Feature feature;
  uint32_t flags_read;
  uint32_t flags_written;
  uint8_t attrs;
};
const InsnInfo& insn_info(InsnId id);

}  // namespace kestrel::frontend
