// SSE floating point: what the handler files of src/interp/sse/ share.
//
// Every computing form follows one pattern (SDM Vol. 1 §11.5): check availability
// (sse_usable), read the operands (memory faults first), evaluate every lane with
// a Context built from MXCSR (the software FPU of interp/fpu: no host FPU), then
// commit(): the OR of the flags all lanes raised goes through fpu::sse_resolve,
// which records the flags in MXCSR and decides between writing the destination and
// raising #XM (CR4.OSXMMEXCPT = 1) or #UD (= 0) with the destination unchanged.
// Destinations of computing forms are registers (XMM, MMX, GPR, EFLAGS), so an
// exception never leaves a partial memory write behind.
#pragma once

#include <cstdint>
#include <cstring>

#include "interp/fpu/softfloat.h"
#include "interp/simd_state.h"
#include "interp/x87/x87_state.h"

namespace kestrel::interp::sse {

using fpu::f32;
using fpu::f64;
using m::Xmm;

// ---- lanes of an XMM value ------------------------------------------------------------------------

template <class T>
inline T lane(const Xmm& v, unsigned i) {
  T r;
  std::memcpy(&r, reinterpret_cast<const uint8_t*>(&v) + i * sizeof(T), sizeof(T));
  return r;
}
template <class T>
inline void set_lane(Xmm& v, unsigned i, T x) {
  std::memcpy(reinterpret_cast<uint8_t*>(&v) + i * sizeof(T), &x, sizeof(T));
}

// ---- exceptions --------------------------------------------------------------------------------------

inline fpu::Context mxcsr_context(const CpuState& c) { return fpu::Context::from_mxcsr(c.mxcsr); }

// An unmasked SIMD floating-point exception: #XM with CR4.OSXMMEXCPT, else #UD (SDM Vol. 3 §6.15, vector 19).
inline ExecStatus raise_simd_fp(CpuState& c) {
  return (c.cr4 & kCr4Osxmmexcpt) ? m::raise_exception(c, m::kVecXM) : m::raise_ud(c);
}

// Records the flags `raised` (the OR over all lanes and steps) and calls write() unless an
// unmasked exception suppresses the result.
template <class W>
inline ExecStatus commit(CpuState& c, uint8_t raised, W&& write) {
  if (raised) [[unlikely]] {
    fpu::Resolution r = fpu::sse_resolve(raised, static_cast<uint8_t>((c.mxcsr >> 7) & fpu::kAllFlags));
    c.mxcsr |= r.flags;
    if (!r.write) return raise_simd_fp(c);
  }
  write();
  return ExecStatus::Ok;
}

// ---- operands -------------------------------------------------------------------------------------------

// W operand of a packed form: XMM register or 16 aligned bytes (#GP(0) otherwise).
inline bool read_wps(CpuState& c, const DecodedInsn& d, Xmm& v) { return read_xmm_rm(c, d, v, true); }

// W operand of a scalar form (or the low part of a register): lane 0 of the register,
// or sizeof(T) bytes of memory with no alignment requirement.
template <class T>
inline bool read_wscalar(CpuState& c, const DecodedInsn& d, T& v) {
  if (d.mod == 3) {
    v = xmm_get<T>(c, d.rm, 0);
    return true;
  }
  return m::read_mem(c, d.seg, effective_address(c, d), v);
}

// ---- generic forms ----------------------------------------------------------------------------------------

// Packed: dst[i] = op(dst[i], src[i]) for every lane; T = f32 or f64.
template <class T, class Op>
inline ExecStatus packed_binary(CpuState& c, const DecodedInsn& d, Op op) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  Xmm s;
  KESTREL_TRY(read_wps(c, d, s));
  fpu::Context ctx = mxcsr_context(c);
  Xmm r = c.xmm[d.reg];
  for (unsigned i = 0; i < 16 / sizeof(T); ++i) set_lane<T>(r, i, op(lane<T>(r, i), lane<T>(s, i), ctx));
  return commit(c, ctx.flags, [&] { c.xmm[d.reg] = r; });
}

// Packed unary: dst[i] = op(src[i]).
template <class T, class Op>
inline ExecStatus packed_unary(CpuState& c, const DecodedInsn& d, Op op) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  Xmm s;
  KESTREL_TRY(read_wps(c, d, s));
  fpu::Context ctx = mxcsr_context(c);
  Xmm r;
  for (unsigned i = 0; i < 16 / sizeof(T); ++i) set_lane<T>(r, i, op(lane<T>(s, i), ctx));
  return commit(c, ctx.flags, [&] { c.xmm[d.reg] = r; });
}

// Scalar: dst[0] = op(dst[0], src); the other lanes are kept.
template <class T, class Op>
inline ExecStatus scalar_binary(CpuState& c, const DecodedInsn& d, Op op) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  T s;
  KESTREL_TRY(read_wscalar(c, d, s));
  fpu::Context ctx = mxcsr_context(c);
  T r = op(xmm_get<T>(c, d.reg, 0), s, ctx);
  return commit(c, ctx.flags, [&] { xmm_set<T>(c, d.reg, 0, r); });
}

// Scalar unary: dst[0] = op(src).
template <class T, class Op>
inline ExecStatus scalar_unary(CpuState& c, const DecodedInsn& d, Op op) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  T s;
  KESTREL_TRY(read_wscalar(c, d, s));
  fpu::Context ctx = mxcsr_context(c);
  T r = op(s, ctx);
  return commit(c, ctx.flags, [&] { xmm_set<T>(c, d.reg, 0, r); });
}

// ---- RCPPS / RSQRTPS (sse_approx.cpp) --------------------------------------------------------------------
f32 rcp_approx(f32 a);
f32 rsqrt_approx(f32 a);

}  // namespace kestrel::interp::sse
