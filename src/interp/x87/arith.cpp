// x87 arithmetic and comparisons: FADD/FSUB/FSUBR/FMUL/FDIV/FDIVR in every form
// (ST(0) op ST(i), ST(i) op ST(0), the popping forms, m32fp/m64fp and the integer
// FIADD..FIDIVR), FCOM/FCOMP/FCOMPP/FUCOM/FUCOMP/FUCOMPP/FICOM/FICOMP, FCOMI/FCOMIP/
// FUCOMI/FUCOMIP, FTST, FXAM, FCHS, FABS, FSQRT, FRNDINT, FSCALE, FXTRACT, FPREM,
// FPREM1 (SDM Vol. 2A/2B; Vol. 1 §8.3.5-8.3.7, §8.5).
//
// The values come from the software floating-point library (interp/fpu), which
// also decides what an unmasked exception leaves written (x87_resolve): an unmasked
// invalid-operation, divide-by-zero or denormal exception changes nothing but the
// flags and does not pop; compares always set their condition codes.
#include "interp/x87/x87_common.h"
#include "machine/cpu_model.h"
#include "machine/flags.h"
#include "machine/machine.h"

namespace kestrel::interp::handlers {

using namespace x87;
using fpu::X87Kind;
using fpu::X87Op;

namespace {

// ---- arithmetic ------------------------------------------------------------------------------

// Register forms: dst = a op b with (a, b) = (ST(0), ST(i)) for D8 forms and
// (ST(i), ST(0)) for the DC/DE forms, whose FSUB/FDIV compute ST(i) - ST(0).
ExecStatus arith_reg(CpuState& c, const DecodedInsn& d, X87Op op, bool to_sti, bool pop) {
  if (!begin(c, d)) return x87_blocked(c);
  const unsigned i = d.rm & 7;
  const unsigned dst = to_sti ? i : 0;
  if (x87_st_empty(c, 0) || x87_st_empty(c, i)) {
    if (!stack_fault(c, false)) return ExecStatus::Ok;
    x87_set_st(c, dst, fpu::kF80DefaultNaN);
    if (pop) x87_pop(c);
    return ExecStatus::Ok;
  }
  fpu::Context ctx = context(c);
  const f80 r = to_sti ? fpu::f80_arith(op, x87_st(c, i), x87_st(c, 0), ctx)
                       : fpu::f80_arith(op, x87_st(c, 0), x87_st(c, i), ctx);
  if (commit(c, dst, r, ctx) && pop) x87_pop(c);
  return ExecStatus::Ok;
}

// Memory forms: ST(0) = ST(0) op m (the operand is read before any FPU check).
enum class MemKind : uint8_t { F32, F64, I16, I32 };

ExecStatus arith_mem(CpuState& c, const DecodedInsn& d, X87Op op, MemKind k) {
  if (!begin(c, d)) return x87_blocked(c);
  const uint64_t ea = effective_address(c, d);
  uint64_t raw = 0;
  switch (k) {
    case MemKind::F32: { uint32_t v; KESTREL_TRY(m::read_mem(c, d.seg, ea, v)); raw = v; break; }
    case MemKind::F64: KESTREL_TRY(m::read_mem(c, d.seg, ea, raw)); break;
    case MemKind::I16: { int16_t v; KESTREL_TRY(m::read_mem(c, d.seg, ea, v)); raw = static_cast<uint64_t>(int64_t(v)); break; }
    case MemKind::I32: { int32_t v; KESTREL_TRY(m::read_mem(c, d.seg, ea, v)); raw = static_cast<uint64_t>(int64_t(v)); break; }
  }
  if (!operands_present(c, 1)) return ExecStatus::Ok;
  fpu::Context ctx = context(c);
  const f80 a = x87_st(c, 0);
  f80 r;
  switch (k) {
    case MemKind::F32: r = fpu::f80_arith_f32(op, a, static_cast<uint32_t>(raw), ctx); break;
    case MemKind::F64: r = fpu::f80_arith_f64(op, a, raw, ctx); break;
    default: r = fpu::f80_arith(op, a, fpu::i64_to_f80(static_cast<int64_t>(raw)), ctx); break;
  }
  commit(c, 0, r, ctx);
  return ExecStatus::Ok;
}

// ---- comparisons -------------------------------------------------------------------------------

// FSW condition codes of a compare (SDM Vol. 2A, FCOM Table 3-21): C3 C2 C0.
uint16_t compare_cc(fpu::Ordering o) {
  switch (o) {
    case fpu::Ordering::Greater: return 0;
    case fpu::Ordering::Less: return kFswC0;
    case fpu::Ordering::Equal: return kFswC3;
    case fpu::Ordering::Unordered: break;
  }
  return kFswC3 | kFswC2 | kFswC0;
}

// EFLAGS of FCOMI/FUCOMI (SDM Vol. 2A, Table 3-31): ZF PF CF; OF, SF, AF cleared.
uint64_t compare_eflags(fpu::Ordering o) {
  switch (o) {
    case fpu::Ordering::Greater: return 0;
    case fpu::Ordering::Less: return m::kCF;
    case fpu::Ordering::Equal: return m::kZF;
    case fpu::Ordering::Unordered: break;
  }
  return m::kZF | m::kPF | m::kCF;
}

// Records a compare's flags; true when the pops may happen (no unmasked
// invalid-operation or denormal exception: TOP stays, SDM Vol. 1 §8.5.1-8.5.2).
bool finish_compare(CpuState& c, const fpu::Context& ctx) {
  const fpu::Resolution r = fpu::x87_resolve(ctx.flags, ctx.masks, X87Kind::Compare);
  record(c, r);
  return !(ctx.flags & ~ctx.masks & (fpu::kFlagInvalid | fpu::kFlagDenormal));
}

void pop_n(CpuState& c, unsigned n) {
  while (n--) x87_pop(c);
}

// FCOM/FUCOM ST(i) and the popping forms.
ExecStatus compare_reg(CpuState& c, const DecodedInsn& d, unsigned i, bool quiet, unsigned pops) {
  if (!begin(c, d)) return x87_blocked(c);
  if (x87_st_empty(c, 0) || x87_st_empty(c, i)) {
    const bool masked = stack_fault(c, false);
    set_cc(c, kFswC3 | kFswC2 | kFswC0);
    if (masked) pop_n(c, pops);
    return ExecStatus::Ok;
  }
  fpu::Context ctx = context(c);
  const fpu::Ordering o = fpu::f80_compare(x87_st(c, 0), x87_st(c, i), !quiet, ctx);
  set_cc(c, compare_cc(o));
  if (finish_compare(c, ctx)) pop_n(c, pops);
  return ExecStatus::Ok;
}

ExecStatus compare_mem(CpuState& c, const DecodedInsn& d, MemKind k, bool pop) {
  if (!begin(c, d)) return x87_blocked(c);
  const uint64_t ea = effective_address(c, d);
  uint64_t raw = 0;
  switch (k) {
    case MemKind::F32: { uint32_t v; KESTREL_TRY(m::read_mem(c, d.seg, ea, v)); raw = v; break; }
    case MemKind::F64: KESTREL_TRY(m::read_mem(c, d.seg, ea, raw)); break;
    case MemKind::I16: { int16_t v; KESTREL_TRY(m::read_mem(c, d.seg, ea, v)); raw = static_cast<uint64_t>(int64_t(v)); break; }
    case MemKind::I32: { int32_t v; KESTREL_TRY(m::read_mem(c, d.seg, ea, v)); raw = static_cast<uint64_t>(int64_t(v)); break; }
  }
  if (x87_st_empty(c, 0)) {
    const bool masked = stack_fault(c, false);
    set_cc(c, kFswC3 | kFswC2 | kFswC0);
    if (masked && pop) x87_pop(c);
    return ExecStatus::Ok;
  }
  fpu::Context ctx = context(c);
  const f80 a = x87_st(c, 0);
  fpu::Ordering o;
  switch (k) {
    case MemKind::F32: o = fpu::f80_compare_f32(a, static_cast<uint32_t>(raw), true, ctx); break;
    case MemKind::F64: o = fpu::f80_compare_f64(a, raw, true, ctx); break;
    default: o = fpu::f80_compare(a, fpu::i64_to_f80(static_cast<int64_t>(raw)), true, ctx); break;
  }
  set_cc(c, compare_cc(o));
  if (finish_compare(c, ctx) && pop) x87_pop(c);
  return ExecStatus::Ok;
}

// FCOMI/FUCOMI and the popping forms (P6 and later: the FPU plus CPUID.CMOV).
ExecStatus compare_eflags_form(CpuState& c, const DecodedInsn& d, bool quiet, bool pop) {
  if (!c.machine->cpu_model().has(m::Feature::Cmov)) return m::raise_ud(c);
  if (!begin(c, d)) return x87_blocked(c);
  const unsigned i = d.rm & 7;
  // C1 changes only with a stack fault (hardware; the SDM says "set to 0").
  if (x87_st_empty(c, 0) || x87_st_empty(c, i)) {
    const bool masked = stack_fault(c, false);
    m::set_arith_flags(c, compare_eflags(fpu::Ordering::Unordered));
    if (masked && pop) x87_pop(c);
    return ExecStatus::Ok;
  }
  fpu::Context ctx = context(c);
  const fpu::Ordering o = fpu::f80_compare(x87_st(c, 0), x87_st(c, i), !quiet, ctx);
  m::set_arith_flags(c, compare_eflags(o));
  if (finish_compare(c, ctx) && pop) x87_pop(c);
  return ExecStatus::Ok;
}

// ---- one-operand forms on ST(0) ------------------------------------------------------------

// Runs fn(ST(0), ctx) after the underflow check and commits the result to ST(0).
template <class F>
ExecStatus unary(CpuState& c, const DecodedInsn& d, F fn) {
  if (!begin(c, d)) return x87_blocked(c);
  if (!operands_present(c, 1)) return ExecStatus::Ok;
  fpu::Context ctx = context(c);
  const f80 r = fn(x87_st(c, 0), ctx);
  commit(c, 0, r, ctx);
  return ExecStatus::Ok;
}

// FCHS/FABS: sign only, no exceptions for any encoding; C1 = 0.
template <class F>
ExecStatus sign_op(CpuState& c, const DecodedInsn& d, F fn) {
  if (!begin(c, d)) return x87_blocked(c);
  if (!operands_present(c, 1)) return ExecStatus::Ok;
  f80 v = x87_st(c, 0);
  v.sign_exp = fn(v.sign_exp);
  x87_set_st(c, 0, v);
  set_c1(c, false);
  return ExecStatus::Ok;
}

// FPREM/FPREM1: C2 = incomplete; complete: C0 = Q2, C3 = Q1, C1 = Q0.
ExecStatus prem(CpuState& c, const DecodedInsn& d, bool ieee) {
  if (!begin(c, d)) return x87_blocked(c);
  if (x87_st_empty(c, 0) || x87_st_empty(c, 1)) {
    c.fsw &= ~kFswC2;
    if (stack_fault(c, false)) x87_set_st(c, 0, fpu::kF80DefaultNaN);
    return ExecStatus::Ok;
  }
  fpu::Context ctx = context(c);
  const fpu::RemainderResult rr = ieee ? fpu::f80_prem1(x87_st(c, 0), x87_st(c, 1), ctx)
                                       : fpu::f80_prem(x87_st(c, 0), x87_st(c, 1), ctx);
  const fpu::Resolution r = fpu::x87_resolve(ctx.flags, ctx.masks, X87Kind::Arith);
  record(c, r);
  // No quotient (stack fault above, an unmasked exception, a NaN result from a NaN
  // operand or an invalid operation): C1 and C2 are cleared, C0 and C3 left as they
  // were (hardware).
  if (!r.write || fpu::f80_is_nan(rr.value)) {
    c.fsw &= ~(kFswC1 | kFswC2);
    if (r.write) x87_set_st(c, 0, rr.value);
    return ExecStatus::Ok;
  }
  x87_set_st(c, 0, rr.value);
  uint16_t cc = 0;
  if (rr.incomplete) {
    cc = kFswC2;
  } else {
    if (rr.quotient & 4) cc |= kFswC0;
    if (rr.quotient & 2) cc |= kFswC3;
    if (rr.quotient & 1) cc |= kFswC1;
  }
  set_cc(c, cc);
  return ExecStatus::Ok;
}

}  // namespace

// ---- the arithmetic forms -----------------------------------------------------------------------

// One macro per operation: FADD_ST0_STi, FADD_STi_ST0, FADDP_STi_ST0, FADD_m32fp,
// FADD_m64fp, FIADD_m16int, FIADD_m32int. The ST(i)-destination forms compute
// ST(i) op ST(0): the operands are passed swapped and the operation keeps its name
// (FSUB ST(i), ST(0) = ST(i) - ST(0); FSUBR ST(i), ST(0) = ST(0) - ST(i)).

#define X87_ARITH_FORMS(N, OP)                                                                                    \
  ExecStatus F##N##_ST0_STi(CpuState& c, const DecodedInsn& d) { return arith_reg(c, d, X87Op::OP, false, false); } \
  ExecStatus F##N##_STi_ST0(CpuState& c, const DecodedInsn& d) { return arith_reg(c, d, X87Op::OP, true, false); } \
  ExecStatus F##N##P_STi_ST0(CpuState& c, const DecodedInsn& d) { return arith_reg(c, d, X87Op::OP, true, true); } \
  ExecStatus F##N##_m32fp(CpuState& c, const DecodedInsn& d) { return arith_mem(c, d, X87Op::OP, MemKind::F32); }  \
  ExecStatus F##N##_m64fp(CpuState& c, const DecodedInsn& d) { return arith_mem(c, d, X87Op::OP, MemKind::F64); }  \
  ExecStatus FI##N##_m16int(CpuState& c, const DecodedInsn& d) { return arith_mem(c, d, X87Op::OP, MemKind::I16); } \
  ExecStatus FI##N##_m32int(CpuState& c, const DecodedInsn& d) { return arith_mem(c, d, X87Op::OP, MemKind::I32); }
X87_ARITH_FORMS(ADD, Add)
X87_ARITH_FORMS(MUL, Mul)
X87_ARITH_FORMS(SUB, Sub)
X87_ARITH_FORMS(SUBR, SubR)
X87_ARITH_FORMS(DIV, Div)
X87_ARITH_FORMS(DIVR, DivR)
#undef X87_ARITH_FORMS

// ---- compares ----------------------------------------------------------------------------------

ExecStatus FCOM_STi(CpuState& c, const DecodedInsn& d) { return compare_reg(c, d, d.rm & 7, false, 0); }
ExecStatus FCOMP_STi(CpuState& c, const DecodedInsn& d) { return compare_reg(c, d, d.rm & 7, false, 1); }
ExecStatus FCOMPP(CpuState& c, const DecodedInsn& d) { return compare_reg(c, d, 1, false, 2); }
ExecStatus FUCOM_STi(CpuState& c, const DecodedInsn& d) { return compare_reg(c, d, d.rm & 7, true, 0); }
ExecStatus FUCOMP_STi(CpuState& c, const DecodedInsn& d) { return compare_reg(c, d, d.rm & 7, true, 1); }
ExecStatus FUCOMPP(CpuState& c, const DecodedInsn& d) { return compare_reg(c, d, 1, true, 2); }
ExecStatus FCOM_m32fp(CpuState& c, const DecodedInsn& d) { return compare_mem(c, d, MemKind::F32, false); }
ExecStatus FCOMP_m32fp(CpuState& c, const DecodedInsn& d) { return compare_mem(c, d, MemKind::F32, true); }
ExecStatus FCOM_m64fp(CpuState& c, const DecodedInsn& d) { return compare_mem(c, d, MemKind::F64, false); }
ExecStatus FCOMP_m64fp(CpuState& c, const DecodedInsn& d) { return compare_mem(c, d, MemKind::F64, true); }
ExecStatus FICOM_m16int(CpuState& c, const DecodedInsn& d) { return compare_mem(c, d, MemKind::I16, false); }
ExecStatus FICOMP_m16int(CpuState& c, const DecodedInsn& d) { return compare_mem(c, d, MemKind::I16, true); }
ExecStatus FICOM_m32int(CpuState& c, const DecodedInsn& d) { return compare_mem(c, d, MemKind::I32, false); }
ExecStatus FICOMP_m32int(CpuState& c, const DecodedInsn& d) { return compare_mem(c, d, MemKind::I32, true); }
ExecStatus FCOMI_ST0_STi(CpuState& c, const DecodedInsn& d) { return compare_eflags_form(c, d, false, false); }
ExecStatus FCOMIP_ST0_STi(CpuState& c, const DecodedInsn& d) { return compare_eflags_form(c, d, false, true); }
ExecStatus FUCOMI_ST0_STi(CpuState& c, const DecodedInsn& d) { return compare_eflags_form(c, d, true, false); }
ExecStatus FUCOMIP_ST0_STi(CpuState& c, const DecodedInsn& d) { return compare_eflags_form(c, d, true, true); }

// FTST: ST(0) against +0.0, a signalling compare (any NaN is invalid).
ExecStatus FTST(CpuState& c, const DecodedInsn& d) {
  if (!begin(c, d)) return x87_blocked(c);
  if (x87_st_empty(c, 0)) {
    stack_fault(c, false);
    set_cc(c, kFswC3 | kFswC2 | kFswC0);
    return ExecStatus::Ok;
  }
  fpu::Context ctx = context(c);
  const fpu::Ordering o = fpu::f80_compare(x87_st(c, 0), f80{0, 0}, true, ctx);
  set_cc(c, compare_cc(o));
  finish_compare(c, ctx);
  return ExecStatus::Ok;
}

// FXAM: the class of ST(0) in C3 C2 C0 (empty: 1 0 1), its sign in C1 even when empty.
ExecStatus FXAM(CpuState& c, const DecodedInsn& d) {
  if (!begin(c, d)) return x87_blocked(c);
  const f80 v = x87_st(c, 0);
  uint16_t cc;
  if (x87_st_empty(c, 0)) cc = kFswC3 | kFswC0 | ((v.sign_exp & 0x8000) ? kFswC1 : 0);
  else cc = fpu::f80_fxam_condition(v);
  set_cc(c, cc);
  return ExecStatus::Ok;
}

// ---- one-operand arithmetic ----------------------------------------------------------------------

ExecStatus FCHS(CpuState& c, const DecodedInsn& d) {
  return sign_op(c, d, [](uint16_t se) { return static_cast<uint16_t>(se ^ 0x8000); });
}
ExecStatus FABS(CpuState& c, const DecodedInsn& d) {
  return sign_op(c, d, [](uint16_t se) { return static_cast<uint16_t>(se & 0x7FFF); });
}
ExecStatus FSQRT(CpuState& c, const DecodedInsn& d) {
  return unary(c, d, [](f80 a, fpu::Context& ctx) { return fpu::f80_sqrt(a, ctx); });
}
ExecStatus FRNDINT(CpuState& c, const DecodedInsn& d) {
  return unary(c, d, [](f80 a, fpu::Context& ctx) { return fpu::f80_round_to_int(a, ctx); });
}

// FSCALE: ST(0) = ST(0) * 2^trunc(ST(1)).
ExecStatus FSCALE(CpuState& c, const DecodedInsn& d) {
  if (!begin(c, d)) return x87_blocked(c);
  if (!operands_present(c, 2)) return ExecStatus::Ok;
  fpu::Context ctx = context(c);
  const f80 r = fpu::f80_scale(x87_st(c, 0), x87_st(c, 1), ctx);
  commit(c, 0, r, ctx);
  return ExecStatus::Ok;
}

// FXTRACT: ST(0) becomes the exponent, then the significand is pushed. An empty
// ST(0) (underflow) or a full ST(7) (overflow) leaves the indefinite in both when
// masked.
ExecStatus FXTRACT(CpuState& c, const DecodedInsn& d) {
  if (!begin(c, d)) return x87_blocked(c);
  const bool under = x87_st_empty(c, 0);
  if (under || !x87_st_empty(c, 7)) {
    if (stack_fault(c, !under)) {
      x87_set_st(c, 0, fpu::kF80DefaultNaN);
      x87_push(c, fpu::kF80DefaultNaN);
    }
    return ExecStatus::Ok;
  }
  fpu::Context ctx = context(c);
  const fpu::ExtractResult er = fpu::f80_extract(x87_st(c, 0), ctx);
  const fpu::Resolution r = fpu::x87_resolve(ctx.flags, ctx.masks, X87Kind::Arith);
  record(c, r);
  set_c1(c, false);
  if (!r.write) return ExecStatus::Ok;
  x87_set_st(c, 0, er.exponent);
  x87_push(c, er.significand);
  return ExecStatus::Ok;
}

ExecStatus FPREM(CpuState& c, const DecodedInsn& d) { return prem(c, d, false); }
ExecStatus FPREM1(CpuState& c, const DecodedInsn& d) { return prem(c, d, true); }

}  // namespace kestrel::interp::handlers
