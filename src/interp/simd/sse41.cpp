// SSE4.1 integer forms other than the plain lane ops of arith.cpp (SDM Vol. 2B):
// PTEST, PBLENDW, PBLENDVB, PMOVSX*/PMOVZX*, PINSRB/D/Q, PEXTRB/W/D/Q, PHMINPOSUW, MPSADBW.
#include "interp/simd/simd_common.h"

namespace kestrel::interp::handlers {

namespace {

using simd::lane;
using simd::set_lane;
using simd::Xmm;
using simd::xmm_of;

// PBLENDW: word i from src where imm8 bit i is set.
Xmm op_pblendw(const Xmm& a, const Xmm& b, unsigned n, unsigned imm) {
  Xmm r = a;
  for (unsigned i = 0; i < n / 2; ++i)
    if ((imm >> i) & 1) set_lane<uint16_t>(r, i, lane<uint16_t>(b, i));
  return r;
}

// MPSADBW: eight sums of absolute differences between a 4-byte block of src (imm8[1:0]
// selects it, in 4-byte steps) and the 4-byte windows of dst starting at bytes
// off..off+7, off = imm8[2] * 4 (SDM Vol. 2B MPSADBW, Figure "MPSADBW Operation").
Xmm op_mpsadbw(const Xmm& a, const Xmm& b, unsigned, unsigned imm) {
  const unsigned off1 = ((imm >> 2) & 1) * 4, off2 = (imm & 3) * 4;
  Xmm r = xmm_of(0);
  for (unsigned i = 0; i < 8; ++i) {
    unsigned s = 0;
    for (unsigned j = 0; j < 4; ++j) {
      int dlt = int{lane<uint8_t>(a, off1 + i + j)} - lane<uint8_t>(b, off2 + j);
      s += static_cast<unsigned>(dlt < 0 ? -dlt : dlt);
    }
    set_lane<uint16_t>(r, i, static_cast<uint16_t>(s));
  }
  return r;
}

// PHMINPOSUW: the smallest unsigned word of src (the lowest index among equals) in bits
// 15:0, its index in bits 18:16, zero above.
Xmm op_phminposuw(const Xmm&, const Xmm& b, unsigned) {
  unsigned idx = 0;
  uint16_t mn = lane<uint16_t>(b, 0);
  for (unsigned i = 1; i < 8; ++i)
    if (lane<uint16_t>(b, i) < mn) mn = lane<uint16_t>(b, i), idx = i;
  return xmm_of(mn | (uint64_t{idx} << 16));
}

// PMOVSX / PMOVZX: the low 16 / sizeof(D) lanes of type S of the source (register or
// MemBytes of memory, no alignment rule) widened to D.
template <class S, class D, unsigned MemBytes>
ExecStatus pmov_extend(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  Xmm s;
  KESTREL_TRY(simd::read_w(c, d, s, MemBytes, false));
  Xmm r;
  for (unsigned i = 0; i < 16 / sizeof(D); ++i) set_lane<D>(r, i, static_cast<D>(lane<S>(s, i)));
  c.xmm[d.reg] = r;
  return ExecStatus::Ok;
}

// PEXTRB/PEXTRW (0F 3A 14/15): a register destination is zero-extended (r32, or r64 with
// REX.W: the 32-bit write clears the upper half either way); memory gets just the lane.
template <class T>
ExecStatus pextr_small(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  T v = lane<T>(c.xmm[d.reg], simd::imm8(d) & (16 / sizeof(T) - 1));
  if (d.mod == 3) set_reg<uint32_t>(c, d.rm, v);
  else KESTREL_TRY(m::write_mem<T>(c, d.seg, effective_address(c, d), v));
  return ExecStatus::Ok;
}

}  // namespace

// PTEST: ZF = (dst AND src) == 0, CF = (src AND NOT dst) == 0; AF OF PF SF cleared.
ExecStatus PTEST_Vdq_Wdq(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  Xmm s;
  KESTREL_TRY(simd::read_w(c, d, s));
  const Xmm& a = c.xmm[d.reg];
  uint64_t f = 0;
  if (((a.q[0] & s.q[0]) | (a.q[1] & s.q[1])) == 0) f |= m::kZF;
  if (((~a.q[0] & s.q[0]) | (~a.q[1] & s.q[1])) == 0) f |= m::kCF;
  m::set_arith_flags(c, f);
  return ExecStatus::Ok;
}

ExecStatus PBLENDW_Vdq_Wdq_Ib(CpuState& c, const DecodedInsn& d) { return simd::sse_binop_imm<op_pblendw>(c, d); }
ExecStatus MPSADBW_Vdq_Wdq_Ib(CpuState& c, const DecodedInsn& d) { return simd::sse_binop_imm<op_mpsadbw>(c, d); }
KESTREL_SIMD_X(PHMINPOSUW, op_phminposuw)

// PBLENDVB: byte i from src where byte i of the implicit XMM0 has its top bit set.
ExecStatus PBLENDVB_Vdq_Wdq(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  Xmm s;
  KESTREL_TRY(simd::read_w(c, d, s));
  const Xmm mask = c.xmm[0];
  Xmm r = c.xmm[d.reg];
  for (unsigned i = 0; i < 16; ++i)
    if (lane<uint8_t>(mask, i) & 0x80) set_lane<uint8_t>(r, i, lane<uint8_t>(s, i));
  c.xmm[d.reg] = r;
  return ExecStatus::Ok;
}

ExecStatus PMOVSXBW_Vdq_Wq(CpuState& c, const DecodedInsn& d) { return pmov_extend<int8_t, int16_t, 8>(c, d); }
ExecStatus PMOVSXBD_Vdq_Wd(CpuState& c, const DecodedInsn& d) { return pmov_extend<int8_t, int32_t, 4>(c, d); }
ExecStatus PMOVSXBQ_Vdq_Ww(CpuState& c, const DecodedInsn& d) { return pmov_extend<int8_t, int64_t, 2>(c, d); }
ExecStatus PMOVSXWD_Vdq_Wq(CpuState& c, const DecodedInsn& d) { return pmov_extend<int16_t, int32_t, 8>(c, d); }
ExecStatus PMOVSXWQ_Vdq_Wd(CpuState& c, const DecodedInsn& d) { return pmov_extend<int16_t, int64_t, 4>(c, d); }
ExecStatus PMOVSXDQ_Vdq_Wq(CpuState& c, const DecodedInsn& d) { return pmov_extend<int32_t, int64_t, 8>(c, d); }
ExecStatus PMOVZXBW_Vdq_Wq(CpuState& c, const DecodedInsn& d) { return pmov_extend<uint8_t, uint16_t, 8>(c, d); }
ExecStatus PMOVZXBD_Vdq_Wd(CpuState& c, const DecodedInsn& d) { return pmov_extend<uint8_t, uint32_t, 4>(c, d); }
ExecStatus PMOVZXBQ_Vdq_Ww(CpuState& c, const DecodedInsn& d) { return pmov_extend<uint8_t, uint64_t, 2>(c, d); }
ExecStatus PMOVZXWD_Vdq_Wq(CpuState& c, const DecodedInsn& d) { return pmov_extend<uint16_t, uint32_t, 8>(c, d); }
ExecStatus PMOVZXWQ_Vdq_Wd(CpuState& c, const DecodedInsn& d) { return pmov_extend<uint16_t, uint64_t, 4>(c, d); }
ExecStatus PMOVZXDQ_Vdq_Wq(CpuState& c, const DecodedInsn& d) { return pmov_extend<uint32_t, uint64_t, 8>(c, d); }

ExecStatus PEXTRB_Rd_Mb_Vdq_Ib(CpuState& c, const DecodedInsn& d) { return pextr_small<uint8_t>(c, d); }
ExecStatus PEXTRW_Rd_Mw_Vdq_Ib(CpuState& c, const DecodedInsn& d) { return pextr_small<uint16_t>(c, d); }

// PEXTRD r/m32 / PEXTRQ r/m64 (REX.W).
ExecStatus PEXTRD_Ey_Vdq_Ib(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  const Xmm& v = c.xmm[d.reg];
  if (d.osize == 8) KESTREL_TRY(write_rm<uint64_t>(c, d, lane<uint64_t>(v, simd::imm8(d) & 1)));
  else KESTREL_TRY(write_rm<uint32_t>(c, d, lane<uint32_t>(v, simd::imm8(d) & 3)));
  return ExecStatus::Ok;
}

// PINSRB: the low byte of r32 (not AH..BH: the register operand is 32-bit) or m8.
ExecStatus PINSRB_Vdq_Ry_Mb_Ib(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  uint8_t v;
  if (d.mod == 3) v = static_cast<uint8_t>(c.gpr[d.rm]);
  else KESTREL_TRY(m::read_mem<uint8_t>(c, d.seg, effective_address(c, d), v));
  set_lane<uint8_t>(c.xmm[d.reg], simd::imm8(d) & 15, v);
  return ExecStatus::Ok;
}

// PINSRD r/m32 / PINSRQ r/m64 (REX.W).
ExecStatus PINSRD_Vdq_Ey_Ib(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  if (d.osize == 8) {
    uint64_t v;
    KESTREL_TRY(read_rm<uint64_t>(c, d, v));
    set_lane<uint64_t>(c.xmm[d.reg], simd::imm8(d) & 1, v);
  } else {
    uint32_t v;
    KESTREL_TRY(read_rm<uint32_t>(c, d, v));
    set_lane<uint32_t>(c.xmm[d.reg], simd::imm8(d) & 3, v);
  }
  return ExecStatus::Ok;
}

}  // namespace kestrel::interp::handlers
