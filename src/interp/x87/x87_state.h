// The x87 register stack, tag word and status word as kept in CpuState, shared by
// the x87 handlers, the MMX handlers (which alias the x87 registers) and
// FXSAVE/FXRSTOR/XSAVE (SSE family).
//
// CpuState keeps the eight physical registers R0..R7 (fpr), the full two-bit tag
// word of the physical registers (ftw), TOP separately (ftop) and the status word
// without TOP (fsw). ST(i) is R[(TOP + i) mod 8] (SDM Vol. 1 §8.1.2).
//
// Tags (SDM Vol. 1 §8.1.7): every x87 write re-tags the register from its contents
// (valid, zero, special); only "empty or not" drives stack faults. FNSTENV/FNSAVE
// store tags recomputed from the contents, FLDENV/FRSTOR keep only the empty bits
// of the loaded tag word (the processor holds just "empty or not", like FXSAVE's
// abridged form; checked against hardware by tests/fpu/x87_difftest).
#pragma once

#include <cstdint>

#include "interp/fpu/softfloat.h"
#include "interp/operands.h"

namespace kestrel::interp {

// FSW bits (SDM Vol. 1 §8.1.3, Figure 8-4).
inline constexpr uint16_t kFswIE = 0x0001, kFswDE = 0x0002, kFswZE = 0x0004, kFswOE = 0x0008,
                          kFswUE = 0x0010, kFswPE = 0x0020, kFswSF = 0x0040, kFswES = 0x0080,
                          kFswC0 = 0x0100, kFswC1 = 0x0200, kFswC2 = 0x0400, kFswTop = 0x3800,
                          kFswC3 = 0x4000, kFswB = 0x8000;
inline constexpr uint16_t kFswCC = kFswC0 | kFswC1 | kFswC2 | kFswC3;
inline constexpr uint16_t kFswFlags = 0x003F;  // IE DE ZE OE UE PE (same bits as the FCW masks)

// FCW fields (SDM Vol. 1 §8.1.5, Figure 8-6) and the FNINIT value.
inline constexpr uint16_t kFcwMasks = 0x003F, kFcwPC = 0x0300, kFcwRC = 0x0C00, kFcwInit = 0x037F;

// Two-bit tags (SDM Vol. 1 §8.1.7).
inline constexpr unsigned kTagValid = 0, kTagZero = 1, kTagSpecial = 2, kTagEmpty = 3;

// ---- registers and tags ----------------------------------------------------------------------

inline fpu::f80 x87_reg_value(const m::X87Reg& r) { return fpu::f80{r.sig, r.sign_exp}; }

// The tag a non-empty register gets from its contents (SDM Vol. 1 §8.1.7; Vol. 1
// §10.5.1.1, Table 10-2 for FXRSTOR): zero, valid (normal), or special (NaN,
// infinity, denormal, pseudo-denormal, unnormal and the other unsupported encodings).
inline unsigned x87_tag_of(fpu::f80 v) {
  const unsigned e = v.sign_exp & 0x7FFF;
  if (e == 0) return v.sig == 0 ? kTagZero : kTagSpecial;
  if (e == 0x7FFF) return kTagSpecial;
  return (v.sig >> 63) ? kTagValid : kTagSpecial;
}

inline unsigned x87_phys(const CpuState& c, unsigned i) { return (c.ftop + i) & 7; }
inline unsigned x87_get_tag(const CpuState& c, unsigned phys) { return (c.ftw >> (2 * phys)) & 3; }
inline void x87_set_tag(CpuState& c, unsigned phys, unsigned tag) {
  c.ftw = static_cast<uint16_t>((c.ftw & ~(3u << (2 * phys))) | (tag << (2 * phys)));
}
inline bool x87_st_empty(const CpuState& c, unsigned i) { return x87_get_tag(c, x87_phys(c, i)) == kTagEmpty; }

inline fpu::f80 x87_st(const CpuState& c, unsigned i) { return x87_reg_value(c.fpr[x87_phys(c, i)]); }

// Writes ST(i) and tags it from the value.
inline void x87_set_st(CpuState& c, unsigned i, fpu::f80 v) {
  const unsigned p = x87_phys(c, i);
  c.fpr[p].sig = v.sig;
  c.fpr[p].sign_exp = v.sign_exp;
  x87_set_tag(c, p, x87_tag_of(v));
}

// Push without the overflow check (the caller checked ST(7) is empty).
inline void x87_push(CpuState& c, fpu::f80 v) {
  c.ftop = (c.ftop - 1) & 7;
  x87_set_st(c, 0, v);
}
// Pop: ST(0) becomes empty, TOP moves up.
inline void x87_pop(CpuState& c) {
  x87_set_tag(c, x87_phys(c, 0), kTagEmpty);
  c.ftop = (c.ftop + 1) & 7;
}

// The architectural status word (TOP in bits 13:11) and its load.
inline uint16_t x87_fsw(const CpuState& c) {
  return static_cast<uint16_t>((c.fsw & ~kFswTop) | ((c.ftop & 7u) << 11));
}
inline void x87_set_fsw(CpuState& c, uint16_t v) {
  c.fsw = v & ~kFswTop;
  c.ftop = (v >> 11) & 7;
}

// The tag word as FNSTENV/FNSAVE store it: empty stays empty, the others are
// recomputed from the register contents.
inline uint16_t x87_tag_word(const CpuState& c) {
  uint16_t w = 0;
  for (unsigned p = 0; p < 8; ++p) {
    unsigned t = x87_get_tag(c, p) == kTagEmpty ? kTagEmpty : x87_tag_of(x87_reg_value(c.fpr[p]));
    w |= static_cast<uint16_t>(t << (2 * p));
  }
  return w;
}
// Loads a tag word (FLDENV/FRSTOR): only "empty or not" is taken from it.
inline void x87_load_tag_word(CpuState& c, uint16_t w) {
  uint16_t t = 0;
  for (unsigned p = 0; p < 8; ++p) {
    unsigned tag = ((w >> (2 * p)) & 3) == kTagEmpty ? kTagEmpty : x87_tag_of(x87_reg_value(c.fpr[p]));
    t |= static_cast<uint16_t>(tag << (2 * p));
  }
  c.ftw = t;
}

// ---- FXSAVE / FXRSTOR (the SSE family's code reads the state through these) ---------------

// The abridged tag byte of FXSAVE: bit i = 1 when physical register i is not empty
// (SDM Vol. 1 §10.5.1.1).
inline uint8_t ftw_to_abridged(uint16_t ftw) {
  uint8_t a = 0;
  for (unsigned p = 0; p < 8; ++p)
    if (((ftw >> (2 * p)) & 3) != kTagEmpty) a |= static_cast<uint8_t>(1u << p);
  return a;
}
// FXRSTOR: the full tag word from the abridged byte and the (already restored)
// register contents.
inline uint16_t abridged_to_ftw(const CpuState& c, uint8_t abridged) {
  uint16_t w = 0;
  for (unsigned p = 0; p < 8; ++p) {
    unsigned t = (abridged >> p) & 1 ? x87_tag_of(x87_reg_value(c.fpr[p])) : kTagEmpty;
    w |= static_cast<uint16_t>(t << (2 * p));
  }
  return w;
}

// ---- MMX aliasing (SDM Vol. 1 §9.5, Table 9-3) ------------------------------------------------

// Every MMX instruction except EMMS: TOP = 0 and all tags valid.
inline void x87_enter_mmx(CpuState& c) {
  c.ftop = 0;
  c.ftw = 0;
}
// An MMX register write: the significand of R[i], with sign and exponent all ones.
inline void x87_mmx_write(CpuState& c, unsigned i, uint64_t v) {
  c.fpr[i & 7].sig = v;
  c.fpr[i & 7].sign_exp = 0xFFFF;
}
inline uint64_t x87_mmx_read(const CpuState& c, unsigned i) { return c.fpr[i & 7].sig; }
// EMMS: all tags empty.
inline void x87_emms(CpuState& c) { c.ftw = 0xFFFF; }

// ---- pending unmasked exceptions (SDM Vol. 1 §8.6, Vol. 3 §6.15 "Interrupt 16") -----------

// Called before a waiting x87 instruction (and by MMX instructions, after their
// #UD/#NM checks): when FSW.ES is set, CR0.NE = 1 raises #MF (false, exception
// pending). CR0.NE = 0 is the MS-DOS compatibility mode (SDM Vol. 1 §8.7): FERR# is
// asserted (Machine::set_ferr, the PC routes it to IRQ 13); with IGNNE# asserted the
// error is ignored and the instruction goes on (true); otherwise the processor
// freezes before the instruction until an interrupt comes (false with c.halted set
// and RIP unchanged: the interrupt returns to the instruction, which checks again).
bool x87_check_pending(CpuState& c);

// What a handler returns when its x87 prologue (x87_check_pending) said no: Halt
// when the CPU froze before it (MS-DOS compatibility mode), Fault otherwise.
inline ExecStatus x87_blocked(const CpuState& c) { return c.halted ? ExecStatus::Halt : ExecStatus::Fault; }

// The WAIT/FWAIT instruction: #NM when CR0.MP and CR0.TS are both set, then the
// pending-exception check.
ExecStatus x87_fwait(CpuState& c);

// Sets FSW.ES and B from the flags and masks (after FLDCW, FLDENV, FRSTOR) and
// drops FERR# when no unmasked exception is left pending.
void x87_update_summary(CpuState& c);

}  // namespace kestrel::interp
