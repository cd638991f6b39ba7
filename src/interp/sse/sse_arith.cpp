// SSE floating-point arithmetic: ADD/SUB/MUL/DIV/SQRT/MIN/MAX (PS/PD/SS/SD), RCP/RSQRT,
// the SSE3 horizontal and alternating forms, and SSE4.1 ROUND and DPPS/DPPD.
//
// Design: every lane is computed by the software FPU (interp/fpu, integer arithmetic
// only) with a Context from MXCSR; the flags of all lanes are resolved together
// (sse_common.h), as the SDM requires for packed operations (Vol. 1 §11.5.2: an
// unmasked exception in any lane leaves the whole destination unchanged).
#include "interp/handlers.h"
#include "interp/sse/sse_common.h"

namespace kestrel::interp::handlers {

using namespace kestrel::interp::sse;

// ---- the four forms of each basic operation ---------------------------------------------------------
#define SSE_BINARY(NAME, F32, F64)                                                                      \
  ExecStatus NAME##PS_Vps_Wps(CpuState& c, const DecodedInsn& d) { return packed_binary<f32>(c, d, F32); } \
  ExecStatus NAME##PD_Vpd_Wpd(CpuState& c, const DecodedInsn& d) { return packed_binary<f64>(c, d, F64); } \
  ExecStatus NAME##SS_Vss_Wss(CpuState& c, const DecodedInsn& d) { return scalar_binary<f32>(c, d, F32); } \
  ExecStatus NAME##SD_Vsd_Wsd(CpuState& c, const DecodedInsn& d) { return scalar_binary<f64>(c, d, F64); }
SSE_BINARY(ADD, fpu::f32_add, fpu::f64_add)
SSE_BINARY(SUB, fpu::f32_sub, fpu::f64_sub)
SSE_BINARY(MUL, fpu::f32_mul, fpu::f64_mul)
SSE_BINARY(DIV, fpu::f32_div, fpu::f64_div)
// MIN/MAX return the second operand (the source) for NaNs and for two zeros (SDM Vol. 2, MINPS).
SSE_BINARY(MIN, fpu::f32_min, fpu::f64_min)
SSE_BINARY(MAX, fpu::f32_max, fpu::f64_max)
#undef SSE_BINARY

ExecStatus SQRTPS_Vps_Wps(CpuState& c, const DecodedInsn& d) { return packed_unary<f32>(c, d, fpu::f32_sqrt); }
ExecStatus SQRTPD_Vpd_Wpd(CpuState& c, const DecodedInsn& d) { return packed_unary<f64>(c, d, fpu::f64_sqrt); }
ExecStatus SQRTSS_Vss_Wss(CpuState& c, const DecodedInsn& d) { return scalar_unary<f32>(c, d, fpu::f32_sqrt); }
ExecStatus SQRTSD_Vsd_Wsd(CpuState& c, const DecodedInsn& d) { return scalar_unary<f64>(c, d, fpu::f64_sqrt); }

// ---- RCP / RSQRT: table approximations, no exceptions, MXCSR ignored (sse_approx.cpp) --------------------
namespace {
f32 rcp_lane(f32 a, fpu::Context&) { return rcp_approx(a); }
f32 rsqrt_lane(f32 a, fpu::Context&) { return rsqrt_approx(a); }
}  // namespace

ExecStatus RCPPS_Vps_Wps(CpuState& c, const DecodedInsn& d) { return packed_unary<f32>(c, d, rcp_lane); }
ExecStatus RCPSS_Vss_Wss(CpuState& c, const DecodedInsn& d) { return scalar_unary<f32>(c, d, rcp_lane); }
ExecStatus RSQRTPS_Vps_Wps(CpuState& c, const DecodedInsn& d) { return packed_unary<f32>(c, d, rsqrt_lane); }
ExecStatus RSQRTSS_Vss_Wss(CpuState& c, const DecodedInsn& d) { return scalar_unary<f32>(c, d, rsqrt_lane); }

// ---- SSE3 ----------------------------------------------------------------------------------------------------
namespace {

// HADD/HSUB: pairs of adjacent lanes of the destination, then of the source, each
// "lower lane op upper lane" (SDM Vol. 2, HADDPS; operand order checked on hardware
// through which of two NaNs comes out).
template <class T, class Op>
ExecStatus horizontal(CpuState& c, const DecodedInsn& d, Op op) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  Xmm s;
  KESTREL_TRY(read_wps(c, d, s));
  fpu::Context ctx = mxcsr_context(c);
  const Xmm& a = c.xmm[d.reg];
  constexpr unsigned kHalf = 8 / sizeof(T);
  Xmm r;
  for (unsigned i = 0; i < kHalf; ++i) {
    set_lane<T>(r, i, op(lane<T>(a, 2 * i), lane<T>(a, 2 * i + 1), ctx));
    set_lane<T>(r, kHalf + i, op(lane<T>(s, 2 * i), lane<T>(s, 2 * i + 1), ctx));
  }
  return commit(c, ctx.flags, [&] { c.xmm[d.reg] = r; });
}

// ADDSUB: even lanes subtract, odd lanes add.
template <class T, class Sub, class Add>
ExecStatus addsub(CpuState& c, const DecodedInsn& d, Sub sub, Add add) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  Xmm s;
  KESTREL_TRY(read_wps(c, d, s));
  fpu::Context ctx = mxcsr_context(c);
  Xmm r = c.xmm[d.reg];
  for (unsigned i = 0; i < 16 / sizeof(T); ++i)
    set_lane<T>(r, i, (i & 1) ? add(lane<T>(r, i), lane<T>(s, i), ctx) : sub(lane<T>(r, i), lane<T>(s, i), ctx));
  return commit(c, ctx.flags, [&] { c.xmm[d.reg] = r; });
}

}  // namespace

ExecStatus HADDPS_Vps_Wps(CpuState& c, const DecodedInsn& d) { return horizontal<f32>(c, d, fpu::f32_add); }
ExecStatus HADDPD_Vpd_Wpd(CpuState& c, const DecodedInsn& d) { return horizontal<f64>(c, d, fpu::f64_add); }
ExecStatus HSUBPS_Vps_Wps(CpuState& c, const DecodedInsn& d) { return horizontal<f32>(c, d, fpu::f32_sub); }
ExecStatus HSUBPD_Vpd_Wpd(CpuState& c, const DecodedInsn& d) { return horizontal<f64>(c, d, fpu::f64_sub); }
ExecStatus ADDSUBPS_Vps_Wps(CpuState& c, const DecodedInsn& d) {
  return addsub<f32>(c, d, fpu::f32_sub, fpu::f32_add);
}
ExecStatus ADDSUBPD_Vpd_Wpd(CpuState& c, const DecodedInsn& d) {
  return addsub<f64>(c, d, fpu::f64_sub, fpu::f64_add);
}

// ---- SSE4.1 ROUND ---------------------------------------------------------------------------------------------
namespace {

// imm8[2] selects MXCSR.RC, else imm8[1:0]; imm8[3] suppresses PE (SDM Vol. 2, ROUNDPS).
fpu::Rounding round_mode(const CpuState& c, uint8_t imm) {
  return static_cast<fpu::Rounding>((imm & 4) ? (c.mxcsr >> 13) & 3 : imm & 3);
}

}  // namespace

ExecStatus ROUNDPS_Vps_Wps_Ib(CpuState& c, const DecodedInsn& d) {
  auto mode = round_mode(c, static_cast<uint8_t>(d.imm));
  bool quiet = d.imm & 8;
  return packed_unary<f32>(c, d, [&](f32 a, fpu::Context& ctx) { return fpu::f32_round_to_int(a, mode, quiet, ctx); });
}
ExecStatus ROUNDPD_Vpd_Wpd_Ib(CpuState& c, const DecodedInsn& d) {
  auto mode = round_mode(c, static_cast<uint8_t>(d.imm));
  bool quiet = d.imm & 8;
  return packed_unary<f64>(c, d, [&](f64 a, fpu::Context& ctx) { return fpu::f64_round_to_int(a, mode, quiet, ctx); });
}
ExecStatus ROUNDSS_Vss_Wss_Ib(CpuState& c, const DecodedInsn& d) {
  auto mode = round_mode(c, static_cast<uint8_t>(d.imm));
  bool quiet = d.imm & 8;
  return scalar_unary<f32>(c, d, [&](f32 a, fpu::Context& ctx) { return fpu::f32_round_to_int(a, mode, quiet, ctx); });
}
ExecStatus ROUNDSD_Vsd_Wsd_Ib(CpuState& c, const DecodedInsn& d) {
  auto mode = round_mode(c, static_cast<uint8_t>(d.imm));
  bool quiet = d.imm & 8;
  return scalar_unary<f64>(c, d, [&](f64 a, fpu::Context& ctx) { return fpu::f64_round_to_int(a, mode, quiet, ctx); });
}

// ---- SSE4.1 DPPS / DPPD -----------------------------------------------------------------------------------------
//
// SDM Vol. 2, DPPS: the products of the lanes selected by imm8[7:4] (others +0.0), summed
// pairwise, the sum broadcast to the lanes selected by imm8[3:0] (others +0.0). Established
// on hardware: the instruction runs as steps (multiply; pair sums; final sums), each a
// separate SSE operation — DAZ and DE apply to the intermediate results, the sums are
// computed even when imm8[3:0] is 0, and a step with an unmasked exception stops the
// instruction with the flags of the completed steps recorded. Each destination lane computes
// its own sums, which only shows in which of two NaNs comes out: for DPPS lane i the pair sum
// is t[i^1] + t[i] and the final sum s[i] + s[i^2]; for DPPD lane i sums t[i] + t[i^1].
namespace {

struct Steps {
  CpuState& c;
  uint8_t done = 0;
  // false: an unmasked exception; the exception is pending and MXCSR holds the flags.
  bool step(uint8_t raised) {
    if (!raised) return true;
    fpu::Resolution r = fpu::sse_resolve(raised, static_cast<uint8_t>((c.mxcsr >> 7) & fpu::kAllFlags));
    if (!r.write) {
      c.mxcsr |= done | r.flags;
      raise_simd_fp(c);
      return false;
    }
    done |= r.flags;
    return true;
  }
};

}  // namespace

ExecStatus DPPS_Vps_Wps_Ib(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  Xmm s;
  KESTREL_TRY(read_wps(c, d, s));
  const uint8_t imm = static_cast<uint8_t>(d.imm);
  const Xmm& a = c.xmm[d.reg];
  Steps steps{c};
  fpu::Context ctx = mxcsr_context(c);
  f32 t[4];
  for (unsigned i = 0; i < 4; ++i) t[i] = (imm >> (4 + i)) & 1 ? fpu::f32_mul(lane<f32>(a, i), lane<f32>(s, i), ctx) : 0;
  if (!steps.step(ctx.flags)) return ExecStatus::Fault;
  ctx.flags = 0;
  f32 pair[4], sum[4];
  for (unsigned i = 0; i < 4; ++i) pair[i] = fpu::f32_add(t[i ^ 1], t[i], ctx);
  if (!steps.step(ctx.flags)) return ExecStatus::Fault;
  ctx.flags = 0;
  for (unsigned i = 0; i < 4; ++i) sum[i] = fpu::f32_add(pair[i], pair[i ^ 2], ctx);
  if (!steps.step(ctx.flags)) return ExecStatus::Fault;
  c.mxcsr |= steps.done;
  Xmm r;
  for (unsigned i = 0; i < 4; ++i) set_lane<f32>(r, i, (imm >> i) & 1 ? sum[i] : 0);
  c.xmm[d.reg] = r;
  return ExecStatus::Ok;
}

ExecStatus DPPD_Vpd_Wpd_Ib(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  Xmm s;
  KESTREL_TRY(read_wps(c, d, s));
  const uint8_t imm = static_cast<uint8_t>(d.imm);
  const Xmm& a = c.xmm[d.reg];
  Steps steps{c};
  fpu::Context ctx = mxcsr_context(c);
  f64 t[2];
  for (unsigned i = 0; i < 2; ++i) t[i] = (imm >> (4 + i)) & 1 ? fpu::f64_mul(lane<f64>(a, i), lane<f64>(s, i), ctx) : 0;
  if (!steps.step(ctx.flags)) return ExecStatus::Fault;
  ctx.flags = 0;
  f64 sum[2];
  for (unsigned i = 0; i < 2; ++i) sum[i] = fpu::f64_add(t[i], t[i ^ 1], ctx);
  if (!steps.step(ctx.flags)) return ExecStatus::Fault;
  c.mxcsr |= steps.done;
  Xmm r;
  for (unsigned i = 0; i < 2; ++i) set_lane<f64>(r, i, (imm >> i) & 1 ? sum[i] : 0);
  c.xmm[d.reg] = r;
  return ExecStatus::Ok;
}

}  // namespace kestrel::interp::handlers
