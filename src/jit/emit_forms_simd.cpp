// Native integer SSE forms with register operands (emit_fast_ext tries them last):
// the packed add/subtract/logic/compare/unpack operations, PSHUFB, PSHUFD, the
// shifts by an immediate, MOVDQA/MOVDQU between registers and MOVD/MOVQ xmm, r/m.
// The handlers (interp/simd) compute lane by lane in C++; the host's own SSE2/SSSE3
// instruction gives the same bits (integer lanes, no rounding or exceptions), on
// copies of the guest registers in xmm0/xmm1 (caller-saved, unused elsewhere by
// native code). Each form first repeats sse_usable's test (SDM Vol. 3 §2.5, Table
// 2-2): CR0.EM or CR0.TS set, or CR4.OSFXSR clear, and the handler raises the #UD
// or #NM. 128-bit memory operands (16-byte alignment rules) stay with the handlers.
#include "jit/emit.h"

namespace kestrel::jit {

namespace {

constexpr int32_t kOffXmm = offsetof(CpuState, xmm);
constexpr int32_t kOffCr0 = offsetof(CpuState, cr0);
constexpr int32_t kOffCr4 = offsetof(CpuState, cr4);
constexpr uint32_t kCr4Osfxsr = 1u << 9;
static_assert(sizeof(machine::Xmm) == 16);

x86::Mem xmm_mem(const Gp& state, unsigned n) { return x86::xmmword_ptr(state, kOffXmm + static_cast<int32_t>(n) * 16); }

void emit_sse_usable(Emitter& a, const Gp& state, Label slow) {
  a.test(x86::dword_ptr(state, kOffCr0), static_cast<uint32_t>(machine::kCr0EM | machine::kCr0TS));
  a.jnz(slow);
  a.test(x86::dword_ptr(state, kOffCr4), kCr4Osfxsr);
  a.jz(slow);
}

// xmm(reg) = xmm(reg) OP xmm(rm): the host instruction of each such form.
x86::Inst::Id binop_inst(InsnId id) {
  switch (id) {
    case InsnId::PADDB_Vdq_Wdq: return x86::Inst::kIdPaddb;
    case InsnId::PADDW_Vdq_Wdq: return x86::Inst::kIdPaddw;
    case InsnId::PADDD_Vdq_Wdq: return x86::Inst::kIdPaddd;
    case InsnId::PADDQ_Vdq_Wdq: return x86::Inst::kIdPaddq;
    case InsnId::PSUBB_Vdq_Wdq: return x86::Inst::kIdPsubb;
    case InsnId::PSUBW_Vdq_Wdq: return x86::Inst::kIdPsubw;
    case InsnId::PSUBD_Vdq_Wdq: return x86::Inst::kIdPsubd;
    case InsnId::PSUBQ_Vdq_Wdq: return x86::Inst::kIdPsubq;
    case InsnId::PAND_Vdq_Wdq: return x86::Inst::kIdPand;
    case InsnId::PANDN_Vdq_Wdq: return x86::Inst::kIdPandn;
    case InsnId::POR_Vdq_Wdq: return x86::Inst::kIdPor;
    case InsnId::PXOR_Vdq_Wdq: return x86::Inst::kIdPxor;
    case InsnId::PCMPEQB_Vdq_Wdq: return x86::Inst::kIdPcmpeqb;
    case InsnId::PCMPEQW_Vdq_Wdq: return x86::Inst::kIdPcmpeqw;
    case InsnId::PCMPEQD_Vdq_Wdq: return x86::Inst::kIdPcmpeqd;
    case InsnId::PUNPCKLBW_Vdq_Wdq: return x86::Inst::kIdPunpcklbw;
    case InsnId::PUNPCKLWD_Vdq_Wdq: return x86::Inst::kIdPunpcklwd;
    case InsnId::PUNPCKLDQ_Vdq_Wdq: return x86::Inst::kIdPunpckldq;
    case InsnId::PUNPCKLQDQ_Vdq_Wdq: return x86::Inst::kIdPunpcklqdq;
    case InsnId::PUNPCKHBW_Vdq_Wdq: return x86::Inst::kIdPunpckhbw;
    case InsnId::PUNPCKHWD_Vdq_Wdq: return x86::Inst::kIdPunpckhwd;
    case InsnId::PUNPCKHDQ_Vdq_Wdq: return x86::Inst::kIdPunpckhdq;
    case InsnId::PUNPCKHQDQ_Vdq_Wdq: return x86::Inst::kIdPunpckhqdq;
    case InsnId::PSHUFB_Vdq_Wdq:
      // SSSE3 on the host too (the guest's CPU model may offer it where the host has none).
      return asmjit::CpuInfo::host().hasFeature(asmjit::CpuFeatures::X86::kSSSE3) ? x86::Inst::kIdPshufb
                                                                                  : x86::Inst::kIdNone;
    default: return x86::Inst::kIdNone;
  }
}

// xmm(rm) shifted in place by imm8 (counts past the lane width clear it, or fill it
// with the sign for PSRAW/PSRAD, on the host as in the handlers).
x86::Inst::Id shift_imm_inst(InsnId id) {
  switch (id) {
    case InsnId::PSRLW_Udq_Ib: return x86::Inst::kIdPsrlw;
    case InsnId::PSRLD_Udq_Ib: return x86::Inst::kIdPsrld;
    case InsnId::PSRLQ_Udq_Ib: return x86::Inst::kIdPsrlq;
    case InsnId::PSLLW_Udq_Ib: return x86::Inst::kIdPsllw;
    case InsnId::PSLLD_Udq_Ib: return x86::Inst::kIdPslld;
    case InsnId::PSLLQ_Udq_Ib: return x86::Inst::kIdPsllq;
    case InsnId::PSRAW_Udq_Ib: return x86::Inst::kIdPsraw;
    case InsnId::PSRAD_Udq_Ib: return x86::Inst::kIdPsrad;
    default: return x86::Inst::kIdNone;
  }
}

}  // namespace

bool emit_fast_simd(Emitter& a, const Gp& state, const DecodedInsn& d, const Ctx& cx, Label slow,
                    bool& uses_slow, FlagSource& flags, const FlagSource& in) {
  if (d.id == InsnId::MOVD_Vd_Ey && d.mod != 3) {
    // MOVD xmm, m32 / MOVQ xmm, m64: no alignment rule; the availability test comes
    // first, as in the handler (#UD/#NM before any memory fault).
    const unsigned bytes = d.osize == 8 ? 8 : 4;
    emit_sse_usable(a, state, slow);
    emit_mem_ptr(a, state, d, cx, bytes, false, slow);
    uses_slow = true;
    load_host(a, x86::rax, x86::r8, bytes);
    a.mov(x86::qword_ptr(state, kOffXmm + static_cast<int32_t>(d.reg) * 16), x86::rax);
    a.mov(x86::qword_ptr(state, kOffXmm + static_cast<int32_t>(d.reg) * 16 + 8), 0);
    flags = in;
    flags.host = false;
    return true;
  }
  if (d.mod != 3) return false;
  const x86::Inst::Id binop = binop_inst(d.id), shift = shift_imm_inst(d.id);
  const bool shuffle = d.id == InsnId::PSHUFD_Vdq_Wdq_Ib;
  const bool move = d.id == InsnId::MOVDQA_Vdq_Wdq || d.id == InsnId::MOVDQU_Vdq_Wdq;
  const bool movd = d.id == InsnId::MOVD_Vd_Ey;
  if (binop == x86::Inst::kIdNone && shift == x86::Inst::kIdNone && !shuffle && !move && !movd) return false;
  emit_sse_usable(a, state, slow);
  uses_slow = true;
  if (binop != x86::Inst::kIdNone) {
    a.movdqu(x86::xmm0, xmm_mem(state, d.reg));
    a.movdqu(x86::xmm1, xmm_mem(state, d.rm));
    a.emit(binop, x86::xmm0, x86::xmm1);
    a.movdqu(xmm_mem(state, d.reg), x86::xmm0);
  } else if (shift != x86::Inst::kIdNone) {
    a.movdqu(x86::xmm0, xmm_mem(state, d.rm));
    a.emit(shift, x86::xmm0, imm(static_cast<uint8_t>(d.imm)));
    a.movdqu(xmm_mem(state, d.rm), x86::xmm0);
  } else if (shuffle) {
    a.movdqu(x86::xmm1, xmm_mem(state, d.rm));
    a.pshufd(x86::xmm0, x86::xmm1, imm(static_cast<uint8_t>(d.imm)));
    a.movdqu(xmm_mem(state, d.reg), x86::xmm0);
  } else if (move) {
    a.movdqu(x86::xmm0, xmm_mem(state, d.rm));
    a.movdqu(xmm_mem(state, d.reg), x86::xmm0);
  } else {
    // MOVD xmm, r32 / MOVQ xmm, r64 (REX.W): the register zero-extended to 128 bits.
    load_reg(a, state, x86::rax, d.rm, d.osize == 8 ? 8 : 4);
    a.mov(x86::qword_ptr(state, kOffXmm + static_cast<int32_t>(d.reg) * 16), x86::rax);
    a.mov(x86::qword_ptr(state, kOffXmm + static_cast<int32_t>(d.reg) * 16 + 8), 0);
  }
  // The handlers leave the flags alone (the test above clobbered the host's).
  flags = in;
  flags.host = false;
  return true;
}

}  // namespace kestrel::jit
