// SSE conversions: between single and double precision, to and from 32/64-bit integers in
// general registers, XMM lanes and MMX registers (SDM Vol. 2, the CVT* pages). Rounding
// follows MXCSR.RC; the CVTT* forms truncate. Out-of-range, NaN and infinite inputs give the
// integer indefinite (0x80000000 / 0x8000000000000000) with IE.
//
// The forms with an MMX operand (CVTPI2PS/PD with an MMX source, CVT(T)PS2PI, CVT(T)PD2PI)
// report a pending x87 exception first (x87_check_pending: #MF, or FERR# with CR0.NE
// clear) and switch the x87 unit to MMX mode (TOP = 0, all tags
// valid) once their operands are read — before, and regardless of, a SIMD floating-point
// exception. With a memory source CVTPI2PS and CVTPI2PD touch no x87 state. (Established on
// hardware: the SDM says CVTPI2PS switches for a memory source too; the processor does not.)
#include "interp/handlers.h"
#include "interp/sse/sse_common.h"

namespace kestrel::interp::handlers {

using namespace kestrel::interp::sse;

namespace {

// The 64-bit source of the "from MMX" forms: an MMX register or 8 bytes of memory.
bool read_qpi(CpuState& c, const DecodedInsn& d, uint64_t& v) {
  if (d.mod == 3) {
    if (!x87_check_pending(c)) return false;
    v = x87_mmx_read(c, d.rm);
    x87_enter_mmx(c);
    return true;
  }
  return m::read_mem(c, d.seg, effective_address(c, d), v);
}

// GPR or memory integer source of CVTSI2SS/SD: 64 bits with REX.W, else 32.
bool read_ey(CpuState& c, const DecodedInsn& d, int64_t& v) {
  if (d.osize == 8) {
    uint64_t x;
    if (!read_rm(c, d, x)) return false;
    v = static_cast<int64_t>(x);
  } else {
    uint32_t x;
    if (!read_rm(c, d, x)) return false;
    v = static_cast<int32_t>(x);
  }
  return true;
}

// CVT(T)SS2SI / CVT(T)SD2SI: a scalar to a 32- or 64-bit general register.
template <class T, class F32, class F64>
ExecStatus to_gpr(CpuState& c, const DecodedInsn& d, F32 cvt32, F64 cvt64) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  T s;
  KESTREL_TRY(read_wscalar(c, d, s));
  fpu::Context ctx = mxcsr_context(c);
  if (d.osize == 8) {
    int64_t r = cvt64(s, ctx);
    return commit(c, ctx.flags, [&] { c.gpr[d.reg] = static_cast<uint64_t>(r); });
  }
  int32_t r = cvt32(s, ctx);
  return commit(c, ctx.flags, [&] { set_reg<uint32_t>(c, d.reg, static_cast<uint32_t>(r)); });
}

// CVT(T)PS2PI / CVT(T)PD2PI: two lanes to an MMX register. The single-precision source is
// the low 64 bits of an XMM register or m64; the double-precision one a full (aligned) m128.
template <class T, class Cvt>
ExecStatus to_mmx(CpuState& c, const DecodedInsn& d, Cvt cvt) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  if (!x87_check_pending(c)) return x87_blocked(c);
  Xmm s;
  if constexpr (sizeof(T) == 4) {
    if (d.mod == 3) s = c.xmm[d.rm];
    else KESTREL_TRY(m::read_mem(c, d.seg, effective_address(c, d), s.q[0]));
  } else {
    KESTREL_TRY(read_wps(c, d, s));
  }
  x87_enter_mmx(c);
  fpu::Context ctx = mxcsr_context(c);
  uint32_t lo = static_cast<uint32_t>(cvt(lane<T>(s, 0), ctx)), hi = static_cast<uint32_t>(cvt(lane<T>(s, 1), ctx));
  return commit(c, ctx.flags, [&] { x87_mmx_write(c, d.reg, uint64_t(hi) << 32 | lo); });
}

// Packed float to packed int32 (CVT(T)PS2DQ: four lanes; CVT(T)PD2DQ: two lanes, the upper
// quadword cleared).
template <class T, class Cvt>
ExecStatus to_dq(CpuState& c, const DecodedInsn& d, Cvt cvt) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  Xmm s;
  KESTREL_TRY(read_wps(c, d, s));
  fpu::Context ctx = mxcsr_context(c);
  Xmm r{};
  for (unsigned i = 0; i < 16 / sizeof(T); ++i) set_lane<uint32_t>(r, i, static_cast<uint32_t>(cvt(lane<T>(s, i), ctx)));
  return commit(c, ctx.flags, [&] { c.xmm[d.reg] = r; });
}

// The low 64 bits of an XMM register, or m64 (no alignment): CVTPS2PD, CVTDQ2PD.
bool read_wq(CpuState& c, const DecodedInsn& d, uint64_t& v) { return read_wscalar(c, d, v); }

}  // namespace

// ---- integers to floating point -----------------------------------------------------------------------
ExecStatus CVTPI2PS_Vps_Qpi(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  uint64_t s;
  if (!read_qpi(c, d, s)) return x87_blocked(c);
  fpu::Context ctx = mxcsr_context(c);
  f32 lo = fpu::i32_to_f32(static_cast<int32_t>(s), ctx), hi = fpu::i32_to_f32(static_cast<int32_t>(s >> 32), ctx);
  return commit(c, ctx.flags, [&] { c.xmm[d.reg].q[0] = uint64_t(hi) << 32 | lo; });
}

// Exact: every int32 is a double.
ExecStatus CVTPI2PD_Vpd_Qpi(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  uint64_t s;
  if (!read_qpi(c, d, s)) return x87_blocked(c);
  c.xmm[d.reg].q[0] = fpu::i32_to_f64(static_cast<int32_t>(s));
  c.xmm[d.reg].q[1] = fpu::i32_to_f64(static_cast<int32_t>(s >> 32));
  return ExecStatus::Ok;
}

ExecStatus CVTSI2SS_Vss_Ey(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  int64_t s;
  KESTREL_TRY(read_ey(c, d, s));
  fpu::Context ctx = mxcsr_context(c);
  f32 r = d.osize == 8 ? fpu::i64_to_f32(s, ctx) : fpu::i32_to_f32(static_cast<int32_t>(s), ctx);
  return commit(c, ctx.flags, [&] { xmm_set<f32>(c, d.reg, 0, r); });
}

ExecStatus CVTSI2SD_Vsd_Ey(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  int64_t s;
  KESTREL_TRY(read_ey(c, d, s));
  fpu::Context ctx = mxcsr_context(c);
  f64 r = d.osize == 8 ? fpu::i64_to_f64(s, ctx) : fpu::i32_to_f64(static_cast<int32_t>(s));
  return commit(c, ctx.flags, [&] { xmm_set<f64>(c, d.reg, 0, r); });
}

ExecStatus CVTDQ2PS_Vps_Wdq(CpuState& c, const DecodedInsn& d) {
  return packed_unary<uint32_t>(c, d, [](uint32_t a, fpu::Context& ctx) { return fpu::i32_to_f32(static_cast<int32_t>(a), ctx); });
}

ExecStatus CVTDQ2PD_Vpd_Wq(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  uint64_t s;
  KESTREL_TRY(read_wq(c, d, s));
  c.xmm[d.reg].q[0] = fpu::i32_to_f64(static_cast<int32_t>(s));
  c.xmm[d.reg].q[1] = fpu::i32_to_f64(static_cast<int32_t>(s >> 32));
  return ExecStatus::Ok;
}

// ---- floating point to integers -------------------------------------------------------------------------
ExecStatus CVTSS2SI_Gy_Wss(CpuState& c, const DecodedInsn& d) { return to_gpr<f32>(c, d, fpu::f32_to_i32, fpu::f32_to_i64); }
ExecStatus CVTTSS2SI_Gy_Wss(CpuState& c, const DecodedInsn& d) {
  return to_gpr<f32>(c, d, fpu::f32_to_i32_trunc, fpu::f32_to_i64_trunc);
}
ExecStatus CVTSD2SI_Gy_Wsd(CpuState& c, const DecodedInsn& d) { return to_gpr<f64>(c, d, fpu::f64_to_i32, fpu::f64_to_i64); }
ExecStatus CVTTSD2SI_Gy_Wsd(CpuState& c, const DecodedInsn& d) {
  return to_gpr<f64>(c, d, fpu::f64_to_i32_trunc, fpu::f64_to_i64_trunc);
}

ExecStatus CVTPS2PI_Ppi_Wps(CpuState& c, const DecodedInsn& d) { return to_mmx<f32>(c, d, fpu::f32_to_i32); }
ExecStatus CVTTPS2PI_Ppi_Wps(CpuState& c, const DecodedInsn& d) { return to_mmx<f32>(c, d, fpu::f32_to_i32_trunc); }
ExecStatus CVTPD2PI_Ppi_Wpd(CpuState& c, const DecodedInsn& d) { return to_mmx<f64>(c, d, fpu::f64_to_i32); }
ExecStatus CVTTPD2PI_Ppi_Wpd(CpuState& c, const DecodedInsn& d) { return to_mmx<f64>(c, d, fpu::f64_to_i32_trunc); }

ExecStatus CVTPS2DQ_Vdq_Wps(CpuState& c, const DecodedInsn& d) { return to_dq<f32>(c, d, fpu::f32_to_i32); }
ExecStatus CVTTPS2DQ_Vdq_Wps(CpuState& c, const DecodedInsn& d) { return to_dq<f32>(c, d, fpu::f32_to_i32_trunc); }
ExecStatus CVTPD2DQ_Vdq_Wpd(CpuState& c, const DecodedInsn& d) { return to_dq<f64>(c, d, fpu::f64_to_i32); }
ExecStatus CVTTPD2DQ_Vdq_Wpd(CpuState& c, const DecodedInsn& d) { return to_dq<f64>(c, d, fpu::f64_to_i32_trunc); }

// ---- between precisions ----------------------------------------------------------------------------------
ExecStatus CVTPS2PD_Vpd_Wps(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  uint64_t s;
  KESTREL_TRY(read_wq(c, d, s));
  fpu::Context ctx = mxcsr_context(c);
  f64 lo = fpu::f32_to_f64(static_cast<f32>(s), ctx), hi = fpu::f32_to_f64(static_cast<f32>(s >> 32), ctx);
  return commit(c, ctx.flags, [&] { c.xmm[d.reg] = Xmm{{lo, hi}}; });
}

// The upper quadword of the destination is cleared.
ExecStatus CVTPD2PS_Vps_Wpd(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  Xmm s;
  KESTREL_TRY(read_wps(c, d, s));
  fpu::Context ctx = mxcsr_context(c);
  f32 lo = fpu::f64_to_f32(s.q[0], ctx), hi = fpu::f64_to_f32(s.q[1], ctx);
  return commit(c, ctx.flags, [&] { c.xmm[d.reg] = Xmm{{uint64_t(hi) << 32 | lo, 0}}; });
}

ExecStatus CVTSS2SD_Vsd_Wss(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  f32 s;
  KESTREL_TRY(read_wscalar(c, d, s));
  fpu::Context ctx = mxcsr_context(c);
  f64 r = fpu::f32_to_f64(s, ctx);
  return commit(c, ctx.flags, [&] { xmm_set<f64>(c, d.reg, 0, r); });
}

ExecStatus CVTSD2SS_Vss_Wsd(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  f64 s;
  KESTREL_TRY(read_wscalar(c, d, s));
  fpu::Context ctx = mxcsr_context(c);
  f32 r = fpu::f64_to_f32(s, ctx);
  return commit(c, ctx.flags, [&] { xmm_set<f32>(c, d.reg, 0, r); });
}

}  // namespace kestrel::interp::handlers
