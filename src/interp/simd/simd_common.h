// MMX and SSE integer SIMD handlers (insn_table_simd.def): shared lane helpers and
// the operand shells every family file uses.
//
// Design. A vector value is an m::Xmm; MMX forms use its low 8 bytes. Each packed
// operation is one plain loop over lanes, parametrised by the vector width in bytes
// (8 for MMX, 16 for XMM), so the MMX and the XMM form of an instruction share one body
// and no host SIMD is involved. The shells (`mmx_binop`, `sse_binop`, ...) do, in the
// manual's order: the availability checks (SDM Vol. 3 §2.5, Table 2-2; for MMX also the
// pending x87 exception), the operand fetch (MMX memory operands: 8 bytes, no alignment
// rule; legacy-SSE 128-bit memory operands: 16-byte aligned or #GP(0), unless the form
// says otherwise), the computation, the write-back, and for MMX the x87 transition
// (SDM Vol. 1 §9.5.1: TOP = 0, every tag valid; a written MMX register's exponent field
// becomes all ones). A faulting instruction changes nothing, the transition included.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "interp/handlers.h"
#include "interp/operands.h"
#include "interp/simd_state.h"
#include "interp/x87/x87_state.h"

namespace kestrel::interp::simd {

using m::Xmm;

// ---- lanes ----------------------------------------------------------------------------------

template <class T>
inline T lane(const Xmm& v, unsigned i) {
  T x;
  std::memcpy(&x, reinterpret_cast<const uint8_t*>(v.q) + i * sizeof(T), sizeof(T));
  return x;
}
template <class T>
inline void set_lane(Xmm& v, unsigned i, T x) {
  std::memcpy(reinterpret_cast<uint8_t*>(v.q) + i * sizeof(T), &x, sizeof(T));
}

inline Xmm xmm_of(uint64_t lo, uint64_t hi = 0) {
  Xmm v;
  v.q[0] = lo;
  v.q[1] = hi;
  return v;
}

// r[i] = f(a[i], b[i]) for the n / sizeof(T) lanes of an n-byte vector (upper bytes zero).
template <class T, class F>
inline Xmm lanewise(const Xmm& a, const Xmm& b, unsigned n, F f) {
  Xmm r = xmm_of(0);
  for (unsigned i = 0; i < n / sizeof(T); ++i) set_lane<T>(r, i, static_cast<T>(f(lane<T>(a, i), lane<T>(b, i))));
  return r;
}
template <class T, class F>
inline Xmm lanewise1(const Xmm& a, unsigned n, F f) {
  Xmm r = xmm_of(0);
  for (unsigned i = 0; i < n / sizeof(T); ++i) set_lane<T>(r, i, static_cast<T>(f(lane<T>(a, i))));
  return r;
}

// Saturation (SDM Vol. 1 §4.6.2, "Saturation and Wraparound Modes").
inline int8_t sat_s8(int32_t v) { return static_cast<int8_t>(v < -128 ? -128 : v > 127 ? 127 : v); }
inline uint8_t sat_u8(int32_t v) { return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v); }
inline int16_t sat_s16(int32_t v) { return static_cast<int16_t>(v < -32768 ? -32768 : v > 32767 ? 32767 : v); }
inline uint16_t sat_u16(int32_t v) { return static_cast<uint16_t>(v < 0 ? 0 : v > 65535 ? 65535 : v); }

// ---- x87 coupling of the MMX registers (the x87 code's helpers, x87/x87_state.h) ----------

// MMX instructions (and the SSE/SSSE3 forms with MMX operands): #UD if CR0.EM, #NM if
// CR0.TS, then a pending unmasked x87 exception: #MF (CR0.NE = 1) or FERR# (CR0.NE = 0).
inline bool mmx_ready(CpuState& c) { return mmx_usable(c) && x87_check_pending(c); }
// SSE2 forms that touch both register files (MOVQ2DQ, MOVDQ2Q): the SSE rules (CR4.OSFXSR
// too) and the pending x87 exception.
inline bool sse_mmx_ready(CpuState& c) { return sse_usable(c) && x87_check_pending(c); }

// MMX register n (ModRM fields carry REX bits, which MMX operands ignore): the x87
// register's significand; a write sets its sign and exponent to all ones.
inline uint64_t mm_get(const CpuState& c, unsigned n) { return x87_mmx_read(c, n); }
inline void mm_set(CpuState& c, unsigned n, uint64_t v) { x87_mmx_write(c, n, v); }
// The x87 side of every MMX instruction but EMMS: TOP = 0, all tags valid.
inline void mmx_transition(CpuState& c) { x87_enter_mmx(c); }

// ---- operands ----------------------------------------------------------------------------------

// The Q operand: an MMX register, or `bytes` (8, 4, 2) of memory zero-extended.
inline bool read_q(CpuState& c, const DecodedInsn& d, uint64_t& v, unsigned bytes = 8) {
  if (d.mod == 3) {
    v = mm_get(c, d.rm);
    return true;
  }
  uint64_t ea = effective_address(c, d);
  switch (bytes) {
    case 2: { uint16_t x; if (!m::read_mem(c, d.seg, ea, x)) return false; v = x; return true; }
    case 4: { uint32_t x; if (!m::read_mem(c, d.seg, ea, x)) return false; v = x; return true; }
    default: return m::read_mem(c, d.seg, ea, v);
  }
}

// The W operand read as `bytes` (16: whole register or m128; 8/4/2: the low bytes of the
// register or that much memory, zero-extended). Only 16-byte reads can be aligned.
inline bool read_w(CpuState& c, const DecodedInsn& d, Xmm& v, unsigned bytes = 16, bool aligned = true) {
  if (d.mod == 3) {
    v = c.xmm[d.rm];
    if (bytes < 16) {
      uint64_t lo = v.q[0];
      v = xmm_of(bytes == 8 ? lo : lo & ((1ull << (bytes * 8)) - 1));
    }
    return true;
  }
  if (bytes == 16) return read_m128(c, d, v, aligned);
  uint64_t x;
  uint64_t ea = effective_address(c, d);
  switch (bytes) {
    case 2: { uint16_t t; if (!m::read_mem(c, d.seg, ea, t)) return false; x = t; break; }
    case 4: { uint32_t t; if (!m::read_mem(c, d.seg, ea, t)) return false; x = t; break; }
    default: if (!m::read_mem(c, d.seg, ea, x)) return false; break;
  }
  v = xmm_of(x);
  return true;
}

inline unsigned imm8(const DecodedInsn& d) { return static_cast<unsigned>(d.imm & 0xFF); }

// ---- shells -------------------------------------------------------------------------------------

// A packed operation: r = f(dst, src) on n-byte vectors (n = 8 or 16).
using BinFn = Xmm (*)(const Xmm&, const Xmm&, unsigned n);
// With an imm8 (PALIGNR, PBLENDW, MPSADBW...).
using BinImmFn = Xmm (*)(const Xmm&, const Xmm&, unsigned n, unsigned imm);

// P = f(P, Q): the MMX form, memory operand of MemBytes (8, or 4 for the low unpacks).
template <BinFn F, unsigned MemBytes = 8>
ExecStatus mmx_binop(CpuState& c, const DecodedInsn& d) {
  if (!mmx_ready(c)) return x87_blocked(c);
  uint64_t s;
  KESTREL_TRY(read_q(c, d, s, MemBytes));
  Xmm r = F(xmm_of(mm_get(c, d.reg)), xmm_of(s), 8);
  mm_set(c, d.reg, r.q[0]);
  mmx_transition(c);
  return ExecStatus::Ok;
}

// V = f(V, W): the legacy-SSE form, m128 aligned unless Aligned is false.
template <BinFn F, bool Aligned = true>
ExecStatus sse_binop(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  Xmm s;
  KESTREL_TRY(read_w(c, d, s, 16, Aligned));
  c.xmm[d.reg] = F(c.xmm[d.reg], s, 16);
  return ExecStatus::Ok;
}

template <BinImmFn F>
ExecStatus mmx_binop_imm(CpuState& c, const DecodedInsn& d) {
  if (!mmx_ready(c)) return x87_blocked(c);
  uint64_t s;
  KESTREL_TRY(read_q(c, d, s));
  Xmm r = F(xmm_of(mm_get(c, d.reg)), xmm_of(s), 8, imm8(d));
  mm_set(c, d.reg, r.q[0]);
  mmx_transition(c);
  return ExecStatus::Ok;
}

template <BinImmFn F>
ExecStatus sse_binop_imm(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  Xmm s;
  KESTREL_TRY(read_w(c, d, s));
  c.xmm[d.reg] = F(c.xmm[d.reg], s, 16, imm8(d));
  return ExecStatus::Ok;
}

// Handler pair of an instruction with an MMX (NP) and an XMM (66) form.
#define KESTREL_SIMD_MX(NAME, FN)                                                                    \
  ExecStatus NAME##_Pq_Qq(CpuState& c, const DecodedInsn& d) { return simd::mmx_binop<FN>(c, d); } \
  ExecStatus NAME##_Vdq_Wdq(CpuState& c, const DecodedInsn& d) { return simd::sse_binop<FN>(c, d); }
#define KESTREL_SIMD_X(NAME, FN) \
  ExecStatus NAME##_Vdq_Wdq(CpuState& c, const DecodedInsn& d) { return simd::sse_binop<FN>(c, d); }

}  // namespace kestrel::interp::simd
