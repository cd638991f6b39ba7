// MMX/SSE integer data movement: MOVD/MOVQ (MMX, XMM and general registers, memory),
// MOVQ2DQ/MOVDQ2Q, MOVDQA/MOVDQU, the non-temporal stores and loads (MOVNTI, MOVNTQ,
// MOVNTDQ, MOVNTDQA: ordinary accesses here, the hint has no architectural effect in a
// single-core interpreter), MASKMOVQ/MASKMOVDQU and EMMS (SDM Vol. 2A/2B).
#include "interp/simd/simd_common.h"

namespace kestrel::interp::handlers {

namespace {

using simd::Xmm;
using simd::xmm_of;

// 0F 6E/7E: Ey is 64 bits with REX.W (MOVQ), else 32 (MOVD). The decoder's operand
// size is 8 exactly when REX.W is present; 66 only selects the XMM form.
bool ey_is_64(const DecodedInsn& d) { return d.osize == 8; }

bool read_ey(CpuState& c, const DecodedInsn& d, uint64_t& v) {
  if (ey_is_64(d)) return read_rm<uint64_t>(c, d, v);
  uint32_t x;
  if (!read_rm<uint32_t>(c, d, x)) return false;
  v = x;
  return true;
}

// A 32-bit register write zero-extends (x86-64 rule), as MOVD r32 requires.
bool write_ey(CpuState& c, const DecodedInsn& d, uint64_t v) {
  if (ey_is_64(d)) return write_rm<uint64_t>(c, d, v);
  return write_rm<uint32_t>(c, d, static_cast<uint32_t>(v));
}

// MASKMOVQ / MASKMOVDQU: bytes of `data` whose mask byte has its top bit set are stored
// at DS:rDI (the segment may be overridden; rDI by address size). The whole 8 or 16
// bytes are checked for writability first, whatever the mask, as an Intel host does: an
// all-zero mask, or one selecting only mapped bytes, still faults on an unmapped part
// (the SDM leaves this implementation-specific). MASKMOVDQU checks its high quadword
// first (the host reports the fault there when both halves would fault).
bool masked_store(CpuState& c, const DecodedInsn& d, const Xmm& data, const Xmm& mask, unsigned n) {
  const uint64_t base = c.gpr[m::RDI] & addr_mask(d);
  for (unsigned half = n / 8; half-- > 0;)
    if (!m::probe_write(c, d.seg, (base + 8 * half) & addr_mask(d), 8)) return false;
  for (unsigned i = 0; i < n; ++i)
    if (simd::lane<uint8_t>(mask, i) & 0x80)
      if (!m::write_mem<uint8_t>(c, d.seg, (base + i) & addr_mask(d), simd::lane<uint8_t>(data, i))) return false;
  return true;
}

// MMX stores to memory (MOVD/MOVQ m, mm and MOVNTQ): a faulting store has already set
// TOP to 0 but left the tags alone (observed on an Intel host; loads that fault change
// nothing), so TOP is cleared before the write and the tags after it.
bool mmx_store(CpuState& c, const DecodedInsn& d, uint64_t v, unsigned bytes) {
  c.ftop = 0;
  const uint64_t ea = effective_address(c, d);
  return bytes == 8 ? m::write_mem<uint64_t>(c, d.seg, ea, v)
                    : m::write_mem<uint32_t>(c, d.seg, ea, static_cast<uint32_t>(v));
}

}  // namespace

// ---- MOVD / MOVQ between MMX registers and general registers or memory --------------------------
ExecStatus MOVD_Pd_Ey(CpuState& c, const DecodedInsn& d) {
  if (!simd::mmx_ready(c)) return x87_blocked(c);
  uint64_t v;
  KESTREL_TRY(read_ey(c, d, v));
  simd::mm_set(c, d.reg, v);
  simd::mmx_transition(c);
  return ExecStatus::Ok;
}

ExecStatus MOVD_Ey_Pd(CpuState& c, const DecodedInsn& d) {
  if (!simd::mmx_ready(c)) return x87_blocked(c);
  if (d.mod == 3) write_ey(c, d, simd::mm_get(c, d.reg));
  else KESTREL_TRY(mmx_store(c, d, simd::mm_get(c, d.reg), ey_is_64(d) ? 8 : 4));
  simd::mmx_transition(c);
  return ExecStatus::Ok;
}

ExecStatus MOVQ_Pq_Qq(CpuState& c, const DecodedInsn& d) {
  if (!simd::mmx_ready(c)) return x87_blocked(c);
  uint64_t v;
  KESTREL_TRY(simd::read_q(c, d, v));
  simd::mm_set(c, d.reg, v);
  simd::mmx_transition(c);
  return ExecStatus::Ok;
}

ExecStatus MOVQ_Qq_Pq(CpuState& c, const DecodedInsn& d) {
  if (!simd::mmx_ready(c)) return x87_blocked(c);
  uint64_t v = simd::mm_get(c, d.reg);
  if (d.mod == 3) simd::mm_set(c, d.rm, v);
  else KESTREL_TRY(mmx_store(c, d, v, 8));
  simd::mmx_transition(c);
  return ExecStatus::Ok;
}

// MOVNTQ m64, mm.
ExecStatus MOVNTQ_Mq_Pq(CpuState& c, const DecodedInsn& d) {
  if (!simd::mmx_ready(c)) return x87_blocked(c);
  KESTREL_TRY(mmx_store(c, d, simd::mm_get(c, d.reg), 8));
  simd::mmx_transition(c);
  return ExecStatus::Ok;
}

// MASKMOVQ makes the whole x87 transition before its store, even one that faults
// (observed on an Intel host).
ExecStatus MASKMOVQ_Pq_Nq(CpuState& c, const DecodedInsn& d) {
  if (!simd::mmx_ready(c)) return x87_blocked(c);
  simd::mmx_transition(c);
  KESTREL_TRY(masked_store(c, d, xmm_of(simd::mm_get(c, d.reg)), xmm_of(simd::mm_get(c, d.rm)), 8));
  return ExecStatus::Ok;
}

// EMMS: every x87 tag empty and TOP = 0 (SDM Vol. 1 §9.5.1, Table 9-3; the host agrees).
ExecStatus EMMS(CpuState& c, const DecodedInsn& d) {
  if (!simd::mmx_ready(c)) return x87_blocked(c);
  x87_emms(c);
  c.ftop = 0;
  return ExecStatus::Ok;
}

// ---- XMM moves ----------------------------------------------------------------------------------------
// MOVD/MOVQ xmm, r/m32/64: zero-extended to 128 bits.
ExecStatus MOVD_Vd_Ey(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  uint64_t v;
  KESTREL_TRY(read_ey(c, d, v));
  c.xmm[d.reg] = xmm_of(v);
  return ExecStatus::Ok;
}

ExecStatus MOVD_Ey_Vd(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  KESTREL_TRY(write_ey(c, d, c.xmm[d.reg].q[0]));
  return ExecStatus::Ok;
}

// MOVQ xmm1, xmm2/m64 (F3 0F 7E): the low quadword, upper half cleared.
ExecStatus MOVQ_Vq_Wq(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  Xmm v;
  KESTREL_TRY(simd::read_w(c, d, v, 8));
  c.xmm[d.reg] = v;
  return ExecStatus::Ok;
}

// MOVQ xmm2/m64, xmm1 (66 0F D6): a register destination has its upper half cleared.
ExecStatus MOVQ_Wq_Vq(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  uint64_t v = c.xmm[d.reg].q[0];
  if (d.mod == 3) c.xmm[d.rm] = xmm_of(v);
  else KESTREL_TRY(m::write_mem<uint64_t>(c, d.seg, effective_address(c, d), v));
  return ExecStatus::Ok;
}

// MOVQ2DQ xmm, mm / MOVDQ2Q mm, xmm: SSE2 forms that also make the x87 transition.
ExecStatus MOVQ2DQ_Vdq_Nq(CpuState& c, const DecodedInsn& d) {
  if (!simd::sse_mmx_ready(c)) return x87_blocked(c);
  c.xmm[d.reg] = xmm_of(simd::mm_get(c, d.rm));
  simd::mmx_transition(c);
  return ExecStatus::Ok;
}

ExecStatus MOVDQ2Q_Pq_Uq(CpuState& c, const DecodedInsn& d) {
  if (!simd::sse_mmx_ready(c)) return x87_blocked(c);
  simd::mm_set(c, d.reg, c.xmm[d.rm].q[0]);
  simd::mmx_transition(c);
  return ExecStatus::Ok;
}

template <bool Aligned>
ExecStatus movdq_load(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  Xmm v;
  KESTREL_TRY(simd::read_w(c, d, v, 16, Aligned));
  c.xmm[d.reg] = v;
  return ExecStatus::Ok;
}

template <bool Aligned>
ExecStatus movdq_store(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  if (d.mod == 3) c.xmm[d.rm] = c.xmm[d.reg];
  else KESTREL_TRY(write_m128(c, d, c.xmm[d.reg], Aligned));
  return ExecStatus::Ok;
}

ExecStatus MOVDQA_Vdq_Wdq(CpuState& c, const DecodedInsn& d) { return movdq_load<true>(c, d); }
ExecStatus MOVDQU_Vdq_Wdq(CpuState& c, const DecodedInsn& d) { return movdq_load<false>(c, d); }
ExecStatus MOVDQA_Wdq_Vdq(CpuState& c, const DecodedInsn& d) { return movdq_store<true>(c, d); }
ExecStatus MOVDQU_Wdq_Vdq(CpuState& c, const DecodedInsn& d) { return movdq_store<false>(c, d); }
// MOVNTDQ m128, xmm and MOVNTDQA xmm, m128 (SSE4.1): aligned like MOVDQA.
ExecStatus MOVNTDQ_Mdq_Vdq(CpuState& c, const DecodedInsn& d) { return movdq_store<true>(c, d); }
ExecStatus MOVNTDQA_Vdq_Mdq(CpuState& c, const DecodedInsn& d) { return movdq_load<true>(c, d); }

ExecStatus MASKMOVDQU_Vdq_Udq(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  KESTREL_TRY(masked_store(c, d, c.xmm[d.reg], c.xmm[d.rm], 16));
  return ExecStatus::Ok;
}

// MOVNTI m32/m64, r32/r64 (SSE2, a general-register store: no SIMD availability checks).
ExecStatus MOVNTI_My_Gy(CpuState& c, const DecodedInsn& d) {
  const uint64_t ea = effective_address(c, d);
  if (d.osize == 8) KESTREL_TRY(m::write_mem<uint64_t>(c, d.seg, ea, c.gpr[d.reg]));
  else KESTREL_TRY(m::write_mem<uint32_t>(c, d.seg, ea, static_cast<uint32_t>(c.gpr[d.reg])));
  return ExecStatus::Ok;
}

}  // namespace kestrel::interp::handlers
