// Packs, unpacks, shifts and shuffles: PACKSS*/PACKUS*, PUNPCK*, PSLL/PSRL/PSRA by
// register, memory and imm8 (groups 12-14, PSLLDQ/PSRLDQ), PSHUFW/PSHUFD/PSHUFHW/PSHUFLW,
// PINSRW/PEXTRW, PMOVMSKB (SDM Vol. 2B, each instruction's "Operation" section).
#include "interp/simd/simd_common.h"

namespace kestrel::interp::handlers {

namespace {

using simd::lane;
using simd::set_lane;
using simd::Xmm;
using simd::xmm_of;

// ---- packs: dst's lanes saturated into the low half, src's into the high half ------------------
template <class S, class D, D (*Sat)(int32_t)>
Xmm pack(const Xmm& a, const Xmm& b, unsigned n) {
  const unsigned k = n / sizeof(S);
  Xmm r = xmm_of(0);
  for (unsigned i = 0; i < k; ++i) {
    set_lane<D>(r, i, Sat(lane<S>(a, i)));
    set_lane<D>(r, k + i, Sat(lane<S>(b, i)));
  }
  return r;
}
Xmm op_packsswb(const Xmm& a, const Xmm& b, unsigned n) { return pack<int16_t, int8_t, simd::sat_s8>(a, b, n); }
Xmm op_packuswb(const Xmm& a, const Xmm& b, unsigned n) { return pack<int16_t, uint8_t, simd::sat_u8>(a, b, n); }
Xmm op_packssdw(const Xmm& a, const Xmm& b, unsigned n) { return pack<int32_t, int16_t, simd::sat_s16>(a, b, n); }
Xmm op_packusdw(const Xmm& a, const Xmm& b, unsigned n) { return pack<int32_t, uint16_t, simd::sat_u16>(a, b, n); }

// ---- unpacks: interleave the low (or high) halves, dst's lane first ------------------------------
template <class T, bool High>
Xmm unpack(const Xmm& a, const Xmm& b, unsigned n) {
  const unsigned half = n / sizeof(T) / 2, base = High ? half : 0;
  Xmm r = xmm_of(0);
  for (unsigned i = 0; i < half; ++i) {
    set_lane<T>(r, 2 * i, lane<T>(a, base + i));
    set_lane<T>(r, 2 * i + 1, lane<T>(b, base + i));
  }
  return r;
}
Xmm op_punpcklbw(const Xmm& a, const Xmm& b, unsigned n) { return unpack<uint8_t, false>(a, b, n); }
Xmm op_punpcklwd(const Xmm& a, const Xmm& b, unsigned n) { return unpack<uint16_t, false>(a, b, n); }
Xmm op_punpckldq(const Xmm& a, const Xmm& b, unsigned n) { return unpack<uint32_t, false>(a, b, n); }
Xmm op_punpcklqdq(const Xmm& a, const Xmm& b, unsigned n) { return unpack<uint64_t, false>(a, b, n); }
Xmm op_punpckhbw(const Xmm& a, const Xmm& b, unsigned n) { return unpack<uint8_t, true>(a, b, n); }
Xmm op_punpckhwd(const Xmm& a, const Xmm& b, unsigned n) { return unpack<uint16_t, true>(a, b, n); }
Xmm op_punpckhdq(const Xmm& a, const Xmm& b, unsigned n) { return unpack<uint32_t, true>(a, b, n); }
Xmm op_punpckhqdq(const Xmm& a, const Xmm& b, unsigned n) { return unpack<uint64_t, true>(a, b, n); }

// ---- element shifts: the count is the whole 64-bit source (or imm8); a count past the lane
// width gives zero (logical) or the sign (arithmetic) -------------------------------------------------
enum class Shift { Left, Right, Arith };

template <class T, Shift K>
Xmm shift(const Xmm& a, uint64_t count, unsigned n) {
  constexpr unsigned bits = sizeof(T) * 8;
  using S = std::make_signed_t<T>;
  Xmm r = xmm_of(0);
  for (unsigned i = 0; i < n / sizeof(T); ++i) {
    T x = lane<T>(a, i);
    T y;
    if constexpr (K == Shift::Arith) y = static_cast<T>(static_cast<S>(x) >> (count > bits - 1 ? bits - 1 : count));
    else if (count >= bits) y = 0;
    else if constexpr (K == Shift::Left) y = static_cast<T>(x << count);
    else y = static_cast<T>(x >> count);
    set_lane<T>(r, i, y);
  }
  return r;
}
template <class T, Shift K>
Xmm shift_by_src(const Xmm& a, const Xmm& b, unsigned n) { return shift<T, K>(a, b.q[0], n); }

// Group 12-14 forms: the N / U register shifted in place by imm8.
template <class T, Shift K>
ExecStatus mmx_shift_imm(CpuState& c, const DecodedInsn& d) {
  if (!simd::mmx_ready(c)) return x87_blocked(c);
  simd::mm_set(c, d.rm, shift<T, K>(xmm_of(simd::mm_get(c, d.rm)), simd::imm8(d), 8).q[0]);
  simd::mmx_transition(c);
  return ExecStatus::Ok;
}
template <class T, Shift K>
ExecStatus sse_shift_imm(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  c.xmm[d.rm] = shift<T, K>(c.xmm[d.rm], simd::imm8(d), 16);
  return ExecStatus::Ok;
}

// ---- byte-granular helpers ----------------------------------------------------------------------------
uint16_t word_of(uint64_t v, unsigned i) { return static_cast<uint16_t>(v >> (16 * (i & 3))); }

}  // namespace

KESTREL_SIMD_MX(PACKSSWB, op_packsswb)
KESTREL_SIMD_MX(PACKUSWB, op_packuswb)
KESTREL_SIMD_MX(PACKSSDW, op_packssdw)
KESTREL_SIMD_X(PACKUSDW, op_packusdw)

// MMX low unpacks read only 32 bits of memory (PUNPCKLBW mm, mm/m32).
ExecStatus PUNPCKLBW_Pq_Qd(CpuState& c, const DecodedInsn& d) { return simd::mmx_binop<op_punpcklbw, 4>(c, d); }
ExecStatus PUNPCKLWD_Pq_Qd(CpuState& c, const DecodedInsn& d) { return simd::mmx_binop<op_punpcklwd, 4>(c, d); }
ExecStatus PUNPCKLDQ_Pq_Qd(CpuState& c, const DecodedInsn& d) { return simd::mmx_binop<op_punpckldq, 4>(c, d); }
KESTREL_SIMD_X(PUNPCKLBW, op_punpcklbw)
KESTREL_SIMD_X(PUNPCKLWD, op_punpcklwd)
KESTREL_SIMD_X(PUNPCKLDQ, op_punpckldq)
KESTREL_SIMD_X(PUNPCKLQDQ, op_punpcklqdq)
KESTREL_SIMD_MX(PUNPCKHBW, op_punpckhbw)
KESTREL_SIMD_MX(PUNPCKHWD, op_punpckhwd)
KESTREL_SIMD_MX(PUNPCKHDQ, op_punpckhdq)
KESTREL_SIMD_X(PUNPCKHQDQ, op_punpckhqdq)

#define SHIFT_FORMS(NAME, T, K)                                                                          \
  KESTREL_SIMD_MX(NAME, (shift_by_src<T, Shift::K>))                                                     \
  ExecStatus NAME##_Nq_Ib(CpuState& c, const DecodedInsn& d) { return mmx_shift_imm<T, Shift::K>(c, d); } \
  ExecStatus NAME##_Udq_Ib(CpuState& c, const DecodedInsn& d) { return sse_shift_imm<T, Shift::K>(c, d); }
SHIFT_FORMS(PSRLW, uint16_t, Right)
SHIFT_FORMS(PSRLD, uint32_t, Right)
SHIFT_FORMS(PSRLQ, uint64_t, Right)
SHIFT_FORMS(PSRAW, uint16_t, Arith)
SHIFT_FORMS(PSRAD, uint32_t, Arith)
SHIFT_FORMS(PSLLW, uint16_t, Left)
SHIFT_FORMS(PSLLD, uint32_t, Left)
SHIFT_FORMS(PSLLQ, uint64_t, Left)
#undef SHIFT_FORMS

// PSRLDQ / PSLLDQ: the whole register shifted by imm8 bytes (more than 15: zero).
ExecStatus PSRLDQ_Udq_Ib(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  const unsigned k = simd::imm8(d);
  Xmm a = c.xmm[d.rm], r = xmm_of(0);
  for (unsigned i = 0; i + k < 16; ++i) set_lane<uint8_t>(r, i, lane<uint8_t>(a, i + k));
  c.xmm[d.rm] = r;
  return ExecStatus::Ok;
}
ExecStatus PSLLDQ_Udq_Ib(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  const unsigned k = simd::imm8(d);
  Xmm a = c.xmm[d.rm], r = xmm_of(0);
  for (unsigned i = k; i < 16; ++i) set_lane<uint8_t>(r, i, lane<uint8_t>(a, i - k));
  c.xmm[d.rm] = r;
  return ExecStatus::Ok;
}

// ---- shuffles (imm8: two bits per destination lane) ---------------------------------------------------
ExecStatus PSHUFW_Pq_Qq_Ib(CpuState& c, const DecodedInsn& d) {
  if (!simd::mmx_ready(c)) return x87_blocked(c);
  uint64_t s;
  KESTREL_TRY(simd::read_q(c, d, s));
  const unsigned imm = simd::imm8(d);
  uint64_t r = 0;
  for (unsigned i = 0; i < 4; ++i) r |= uint64_t{word_of(s, imm >> (2 * i))} << (16 * i);
  simd::mm_set(c, d.reg, r);
  simd::mmx_transition(c);
  return ExecStatus::Ok;
}

ExecStatus PSHUFD_Vdq_Wdq_Ib(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  Xmm s, r;
  KESTREL_TRY(simd::read_w(c, d, s));
  const unsigned imm = simd::imm8(d);
  for (unsigned i = 0; i < 4; ++i) set_lane<uint32_t>(r, i, lane<uint32_t>(s, (imm >> (2 * i)) & 3));
  c.xmm[d.reg] = r;
  return ExecStatus::Ok;
}

ExecStatus PSHUFHW_Vdq_Wdq_Ib(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  Xmm s;
  KESTREL_TRY(simd::read_w(c, d, s));
  const unsigned imm = simd::imm8(d);
  Xmm r = xmm_of(s.q[0], 0);
  for (unsigned i = 0; i < 4; ++i) set_lane<uint16_t>(r, 4 + i, lane<uint16_t>(s, 4 + ((imm >> (2 * i)) & 3)));
  c.xmm[d.reg] = r;
  return ExecStatus::Ok;
}

ExecStatus PSHUFLW_Vdq_Wdq_Ib(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  Xmm s;
  KESTREL_TRY(simd::read_w(c, d, s));
  const unsigned imm = simd::imm8(d);
  Xmm r = xmm_of(0, s.q[1]);
  for (unsigned i = 0; i < 4; ++i) set_lane<uint16_t>(r, i, lane<uint16_t>(s, (imm >> (2 * i)) & 3));
  c.xmm[d.reg] = r;
  return ExecStatus::Ok;
}

// ---- word insert / extract, byte mask ---------------------------------------------------------------------
// PINSRW: the low word of a general register (r32) or a word of memory, into the lane
// imm8 selects (mod 4 for MMX, mod 8 for XMM).
ExecStatus PINSRW_Pq_Ew_Ib(CpuState& c, const DecodedInsn& d) {
  if (!simd::mmx_ready(c)) return x87_blocked(c);
  uint16_t w;
  KESTREL_TRY(read_rm<uint16_t>(c, d, w));
  Xmm v = xmm_of(simd::mm_get(c, d.reg));
  set_lane<uint16_t>(v, simd::imm8(d) & 3, w);
  simd::mm_set(c, d.reg, v.q[0]);
  simd::mmx_transition(c);
  return ExecStatus::Ok;
}
ExecStatus PINSRW_Vdq_Ew_Ib(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  uint16_t w;
  KESTREL_TRY(read_rm<uint16_t>(c, d, w));
  set_lane<uint16_t>(c.xmm[d.reg], simd::imm8(d) & 7, w);
  return ExecStatus::Ok;
}

// PEXTRW (0F C5): the selected word zero-extended into the general register (r32, or r64
// in 64-bit mode: the 32-bit write clears the upper half either way).
ExecStatus PEXTRW_Gd_Nq_Ib(CpuState& c, const DecodedInsn& d) {
  if (!simd::mmx_ready(c)) return x87_blocked(c);
  set_reg<uint32_t>(c, d.reg, word_of(simd::mm_get(c, d.rm), simd::imm8(d)));
  simd::mmx_transition(c);
  return ExecStatus::Ok;
}
ExecStatus PEXTRW_Gd_Udq_Ib(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  set_reg<uint32_t>(c, d.reg, lane<uint16_t>(c.xmm[d.rm], simd::imm8(d) & 7));
  return ExecStatus::Ok;
}

// PMOVMSKB: the most significant bit of each byte, zero-extended into the register.
ExecStatus PMOVMSKB_Gd_Nq(CpuState& c, const DecodedInsn& d) {
  if (!simd::mmx_ready(c)) return x87_blocked(c);
  uint64_t v = simd::mm_get(c, d.rm);
  uint32_t m = 0;
  for (unsigned i = 0; i < 8; ++i) m |= static_cast<uint32_t>((v >> (8 * i + 7)) & 1) << i;
  set_reg<uint32_t>(c, d.reg, m);
  simd::mmx_transition(c);
  return ExecStatus::Ok;
}
ExecStatus PMOVMSKB_Gd_Udq(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  uint32_t m = 0;
  for (unsigned i = 0; i < 16; ++i) m |= static_cast<uint32_t>(lane<uint8_t>(c.xmm[d.rm], i) >> 7) << i;
  set_reg<uint32_t>(c, d.reg, m);
  return ExecStatus::Ok;
}

}  // namespace kestrel::interp::handlers
