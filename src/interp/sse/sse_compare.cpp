// SSE floating-point compares: CMPPS/CMPPD/CMPSS/CMPSD (lane masks) and
// COMISS/UCOMISS/COMISD/UCOMISD (EFLAGS).
#include "interp/handlers.h"
#include "interp/sse/sse_common.h"

namespace kestrel::interp::handlers {

using namespace kestrel::interp::sse;
using fpu::Ordering;

namespace {

// The eight legacy predicates, imm8[2:0] (the legacy encodings ignore imm8[7:3]; checked
// on hardware). LT, LE, NLT and NLE signal on QNaNs too; EQ, UNORD, NEQ and ORD only on
// SNaNs (SDM Vol. 2, CMPPS, Table 3-1).
bool predicate_signals(unsigned p) { return p == 1 || p == 2 || p == 5 || p == 6; }

bool predicate_true(unsigned p, Ordering o) {
  switch (p & 7) {
    case 0: return o == Ordering::Equal;
    case 1: return o == Ordering::Less;
    case 2: return o == Ordering::Less || o == Ordering::Equal;
    case 3: return o == Ordering::Unordered;
    case 4: return o != Ordering::Equal;
    case 5: return o != Ordering::Less;
    case 6: return !(o == Ordering::Less || o == Ordering::Equal);
    default: return o != Ordering::Unordered;
  }
}

template <class T>
Ordering compare(T a, T b, bool signaling, fpu::Context& ctx) {
  if constexpr (sizeof(T) == 4) return fpu::f32_compare(a, b, signaling, ctx);
  else return fpu::f64_compare(a, b, signaling, ctx);
}

template <class T>
T compare_mask(T a, T b, unsigned p, fpu::Context& ctx) {
  return predicate_true(p, compare(a, b, predicate_signals(p), ctx)) ? static_cast<T>(~T(0)) : T(0);
}

template <class T>
ExecStatus cmp_packed(CpuState& c, const DecodedInsn& d) {
  const unsigned p = d.imm & 7;
  return packed_binary<T>(c, d, [p](T a, T b, fpu::Context& ctx) { return compare_mask(a, b, p, ctx); });
}

template <class T>
ExecStatus cmp_scalar(CpuState& c, const DecodedInsn& d) {
  const unsigned p = d.imm & 7;
  return scalar_binary<T>(c, d, [p](T a, T b, fpu::Context& ctx) { return compare_mask(a, b, p, ctx); });
}

// COMIS/UCOMIS: ZF,PF,CF = 111 unordered, 000 greater, 001 less, 100 equal; OF, SF and AF
// cleared (SDM Vol. 2, COMISS). An unmasked exception leaves EFLAGS unchanged (checked on
// hardware). COMIS signals on QNaNs, UCOMIS only on SNaNs.
template <class T>
ExecStatus comis(CpuState& c, const DecodedInsn& d, bool signaling) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  T b;
  KESTREL_TRY(read_wscalar(c, d, b));
  fpu::Context ctx = mxcsr_context(c);
  Ordering o = compare<T>(xmm_get<T>(c, d.reg, 0), b, signaling, ctx);
  uint64_t f = o == Ordering::Unordered ? (m::kZF | m::kPF | m::kCF)
               : o == Ordering::Less    ? m::kCF
               : o == Ordering::Equal   ? m::kZF
                                        : 0;
  return commit(c, ctx.flags, [&] { m::set_arith_flags(c, f); });
}

}  // namespace

ExecStatus CMPPS_Vps_Wps_Ib(CpuState& c, const DecodedInsn& d) { return cmp_packed<f32>(c, d); }
ExecStatus CMPPD_Vpd_Wpd_Ib(CpuState& c, const DecodedInsn& d) { return cmp_packed<f64>(c, d); }
ExecStatus CMPSS_Vss_Wss_Ib(CpuState& c, const DecodedInsn& d) { return cmp_scalar<f32>(c, d); }
ExecStatus CMPSD_Vsd_Wsd_Ib(CpuState& c, const DecodedInsn& d) { return cmp_scalar<f64>(c, d); }

ExecStatus COMISS_Vss_Wss(CpuState& c, const DecodedInsn& d) { return comis<f32>(c, d, true); }
ExecStatus UCOMISS_Vss_Wss(CpuState& c, const DecodedInsn& d) { return comis<f32>(c, d, false); }
ExecStatus COMISD_Vsd_Wsd(CpuState& c, const DecodedInsn& d) { return comis<f64>(c, d, true); }
ExecStatus UCOMISD_Vsd_Wsd(CpuState& c, const DecodedInsn& d) { return comis<f64>(c, d, false); }

}  // namespace kestrel::interp::handlers
