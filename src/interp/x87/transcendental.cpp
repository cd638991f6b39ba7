// x87 transcendental instructions: F2XM1, FYL2X, FYL2XP1, FPTAN, FPATAN, FSIN, FCOS,
// FSINCOS (SDM Vol. 2A/2B; Vol. 1 §8.3.8-8.3.10). The values come from
// interp/fpu/transcendental.cpp (integer arithmetic, exact argument reduction with
// the x87's 66-bit pi); this file does the stack, tags and condition codes:
// C2 = 1 leaves the stack untouched when |ST(0)| >= 2^63 (FSIN, FCOS, FSINCOS, FPTAN).
#include "interp/fpu/transcendental.h"
#include "interp/x87/x87_common.h"

namespace kestrel::interp::handlers {

using namespace x87;

namespace {

inline constexpr f80 kOne{1ull << 63, 0x3FFF};

void set_c2(CpuState& c, bool v) { c.fsw = static_cast<uint16_t>((c.fsw & ~kFswC2) | (v ? kFswC2 : 0)); }

// ST(1) = f(ST(1), ST(0)), then pop (FYL2X, FYL2XP1, FPATAN).
template <class F>
ExecStatus binary_pop(CpuState& c, const DecodedInsn& d, F fn) {
  if (!begin(c, d)) return x87_blocked(c);
  if (x87_st_empty(c, 0) || x87_st_empty(c, 1)) {
    if (stack_fault(c, false)) {
      x87_set_st(c, 1, fpu::kF80DefaultNaN);
      x87_pop(c);
    }
    return ExecStatus::Ok;
  }
  fpu::Context ctx = context(c);
  const f80 r = fn(x87_st(c, 1), x87_st(c, 0), ctx);
  if (commit(c, 1, r, ctx)) x87_pop(c);
  return ExecStatus::Ok;
}

// ST(0) = f(ST(0)) with the range check (FSIN, FCOS).
template <class F>
ExecStatus trig_unary(CpuState& c, const DecodedInsn& d, F fn) {
  if (!begin(c, d)) return x87_blocked(c);
  set_c2(c, false);  // also on a stack fault or an unmasked exception (hardware)
  if (!operands_present(c, 1)) return ExecStatus::Ok;
  fpu::Context ctx = context(c);
  bool out_of_range = false;
  const f80 r = fn(x87_st(c, 0), ctx, out_of_range);
  if (out_of_range) {
    set_c2(c, true);
    return ExecStatus::Ok;
  }
  commit(c, 0, r, ctx);
  return ExecStatus::Ok;
}

// FPTAN / FSINCOS: ST(0) = first, then second is pushed. Underflow (empty ST(0)) or
// overflow (full ST(7)) leave the indefinite in both when masked.
template <class F>
ExecStatus trig_push(CpuState& c, const DecodedInsn& d, F fn) {
  if (!begin(c, d)) return x87_blocked(c);
  set_c2(c, false);  // also on a stack fault or an unmasked exception (hardware)
  const bool under = x87_st_empty(c, 0);
  if (under || !x87_st_empty(c, 7)) {
    if (stack_fault(c, !under)) {
      x87_set_st(c, 0, fpu::kF80DefaultNaN);
      x87_push(c, fpu::kF80DefaultNaN);
    }
    return ExecStatus::Ok;
  }
  fpu::Context ctx = context(c);
  bool out_of_range = false;
  f80 first, second;
  fn(x87_st(c, 0), ctx, out_of_range, first, second);
  if (out_of_range) {
    set_c2(c, true);
    return ExecStatus::Ok;
  }
  if (commit(c, 0, first, ctx)) x87_push(c, second);
  return ExecStatus::Ok;
}

}  // namespace

ExecStatus F2XM1(CpuState& c, const DecodedInsn& d) {
  if (!begin(c, d)) return x87_blocked(c);
  if (!operands_present(c, 1)) return ExecStatus::Ok;
  fpu::Context ctx = context(c);
  const f80 r = fpu::f80_2xm1(x87_st(c, 0), ctx);
  commit(c, 0, r, ctx);
  return ExecStatus::Ok;
}

ExecStatus FYL2X(CpuState& c, const DecodedInsn& d) { return binary_pop(c, d, fpu::f80_yl2x); }
ExecStatus FYL2XP1(CpuState& c, const DecodedInsn& d) { return binary_pop(c, d, fpu::f80_yl2xp1); }
ExecStatus FPATAN(CpuState& c, const DecodedInsn& d) { return binary_pop(c, d, fpu::f80_atan2); }
ExecStatus FSIN(CpuState& c, const DecodedInsn& d) { return trig_unary(c, d, fpu::f80_sin); }
ExecStatus FCOS(CpuState& c, const DecodedInsn& d) { return trig_unary(c, d, fpu::f80_cos); }

// FPTAN: ST(0) = tan(ST(0)), then 1.0 is pushed (a NaN result is pushed instead).
ExecStatus FPTAN(CpuState& c, const DecodedInsn& d) {
  return trig_push(c, d, [](f80 x, fpu::Context& ctx, bool& oor, f80& first, f80& second) {
    first = fpu::f80_tan(x, ctx, oor);
    second = fpu::f80_is_nan(first) ? first : kOne;
  });
}

// FSINCOS: ST(0) = sin, then cos is pushed (ST(0) = cos, ST(1) = sin).
ExecStatus FSINCOS(CpuState& c, const DecodedInsn& d) {
  return trig_push(c, d, [](f80 x, fpu::Context& ctx, bool& oor, f80& first, f80& second) {
    const fpu::SinCos sc = fpu::f80_sincos(x, ctx, oor);
    first = sc.sin;
    second = sc.cos;
  });
}

}  // namespace kestrel::interp::handlers
