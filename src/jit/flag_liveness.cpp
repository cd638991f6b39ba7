#include "jit/flag_liveness.h"

namespace kestrel::jit {

using frontend::F_ALL;
using frontend::F_CF;
using frontend::F_OF;
using frontend::F_PF;
using frontend::F_SF;
using frontend::F_ZF;

namespace {

// The flags condition code `cc` tests (SDM Vol. 1 Appendix B).
uint32_t condition_flags(unsigned cc) {
  switch ((cc & 0xF) >> 1) {
    case 0: return F_OF;
    case 1: return F_CF;
    case 2: return F_ZF;
    case 3: return F_CF | F_ZF;
    case 4: return F_SF;
    case 5: return F_PF;
    case 6: return F_SF | F_OF;
    default: return F_ZF | F_SF | F_OF;
  }
}

// Shift and rotate forms: the masked count, or -1 when it comes from CL.
bool shift_count(const DecodedInsn& d, int& count, bool& rotate) {
  switch (d.id) {
#define SHIFT_CASES(NAME, ROT)                                                          \
  case InsnId::NAME##_Eb_Ib: case InsnId::NAME##_Ev_Ib: count = d.imm & 0xFF; rotate = ROT; break; \
  case InsnId::NAME##_Eb_1: case InsnId::NAME##_Ev_1: count = 1; rotate = ROT; break;               \
  case InsnId::NAME##_Eb_CL: case InsnId::NAME##_Ev_CL: count = -1; rotate = ROT; break;
    SHIFT_CASES(ROL, true)
    SHIFT_CASES(ROR, true)
    SHIFT_CASES(RCL, true)
    SHIFT_CASES(RCR, true)
    SHIFT_CASES(SHL, false)
    SHIFT_CASES(SHR, false)
    SHIFT_CASES(SAL, false)
    SHIFT_CASES(SAR, false)
#undef SHIFT_CASES
    case InsnId::SHLD_Ev_Gv_Ib: case InsnId::SHRD_Ev_Gv_Ib: count = d.imm & 0xFF; rotate = false; break;
    case InsnId::SHLD_Ev_Gv_CL: case InsnId::SHRD_Ev_Gv_CL: count = -1; rotate = false; break;
    default: return false;
  }
  if (count >= 0) {
    const bool byte_form = d.op == 0xC0 || d.op == 0xD0 || d.op == 0xD2;
    count &= (!byte_form && d.osize == 8) ? 0x3F : 0x1F;
  }
  return true;
}

}  // namespace

uint32_t flags_read(const DecodedInsn& d) {
  switch (d.id) {
    case InsnId::Jcc_Jb: case InsnId::Jcc_Jz: case InsnId::SETcc_Eb: case InsnId::CMOVcc_Gv_Ev:
      return condition_flags(d.op);
    default: break;
  }
  int count;
  bool rotate;
  if (shift_count(d, count, rotate)) {
    // RCL/RCR rotate through CF; the others read nothing (a zero count, which
    // leaves the flags alone, is modelled by writing none).
    const bool through_carry = d.id == InsnId::RCL_Eb_Ib || d.id == InsnId::RCL_Ev_Ib || d.id == InsnId::RCL_Eb_1 ||
                               d.id == InsnId::RCL_Ev_1 || d.id == InsnId::RCL_Eb_CL || d.id == InsnId::RCL_Ev_CL ||
                               d.id == InsnId::RCR_Eb_Ib || d.id == InsnId::RCR_Ev_Ib || d.id == InsnId::RCR_Eb_1 ||
                               d.id == InsnId::RCR_Ev_1 || d.id == InsnId::RCR_Eb_CL || d.id == InsnId::RCR_Ev_CL;
    return through_carry ? static_cast<uint32_t>(F_CF) : 0u;
  }
  return frontend::insn_info(d.id).flags_read;
}

uint32_t flags_must_write(const DecodedInsn& d) {
  int count;
  bool rotate;
  if (shift_count(d, count, rotate)) {
    if (count <= 0) return 0;
    return rotate ? static_cast<uint32_t>(F_CF | F_OF) : static_cast<uint32_t>(F_ALL);
  }
  switch (d.id) {
    // Bit tests write CF alone; BSF/BSR write ZF alone (the handlers' definition).
    case InsnId::BT_Ev_Gv: case InsnId::BTS_Ev_Gv: case InsnId::BTR_Ev_Gv: case InsnId::BTC_Ev_Gv:
    case InsnId::BT_Ev_Ib: case InsnId::BTS_Ev_Ib: case InsnId::BTR_Ev_Ib: case InsnId::BTC_Ev_Ib:
      return F_CF;
    case InsnId::BSF_Gv_Ev: case InsnId::BSR_Gv_Ev:
      return F_ZF;
    // DIV/IDIV leave the flags as they were (muldiv.cpp; the SDM calls them undefined).
    case InsnId::DIV_Eb: case InsnId::IDIV_Eb: case InsnId::DIV_Ev: case InsnId::IDIV_Ev:
      return 0;
    default:
      return frontend::insn_info(d.id).flags_written;
  }
}

std::vector<uint32_t> flag_liveness(const std::vector<DecodedInsn>& insns, const Ctx& cx, RegCache* usage) {
  const size_t n = insns.size();
  std::vector<uint32_t> live_out(n, F_ALL);
  // Which instructions are native without a slow path: emitted once, with every
  // flag live (the most conservative form), into a buffer that is thrown away.
  std::vector<bool> barrier(n, true);
  asmjit::CodeHolder code;
  code.init(asmjit::Environment::host());
  Emitter a(&code);
  // The same pass counts the native forms' guest-register accesses (RegCache's
  // recording), from which the translator picks the registers to cache; the last
  // instruction counts too.
  for (size_t i = 0; i < n; ++i) {  // the last instruction ends the block: all live after it
    Ctx c = cx;
    c.live_out = F_ALL;
    FlagSource f;
    bool uses_slow = false;
    const bool native = emit_fast(a, x86::rbx, insns[i], c, a.newLabel(), uses_slow, f);
    barrier[i] = !native || uses_slow;
  }
  if (usage) *usage = a.rc;
  uint32_t live = F_ALL;  // live after the last instruction
  for (size_t i = n; i-- > 0;) {
    live_out[i] = live;
    if (barrier[i]) live = F_ALL;
    else live = (live & ~flags_must_write(insns[i])) | flags_read(insns[i]);
  }
  return live_out;
}

}  // namespace kestrel::jit
