// x87 data transfer: FLD/FST/FSTP (m32fp, m64fp, m80fp, ST(i)), FILD/FIST/FISTP
// (m16/m32/m64 integers), FISTTP, FBLD/FBSTP (packed BCD), FXCH, FCMOVcc and the
// constant loads (SDM Vol. 2A/2B, each instruction's "Operation" and "FPU Flags
// Affected"; Vol. 1 §8.3.3-8.3.4, §8.5).
//
// Stack faults come first: a push onto a non-empty ST(7) is an overflow, reading an
// empty register an underflow; the masked response loads or stores the real (or
// integer, or BCD) indefinite. Memory operands are read or checked for writing
// before anything changes, so a #GP/#PF leaves the FPU as it was (the 10-byte
// stores may leave their low 8 bytes written, as hardware does: write_10_bytes);
// an unmasked exception on a store writes nothing and does not pop (x87_resolve).
#include <cstring>

#include "interp/x87/x87_common.h"
#include "machine/cpu_model.h"
#include "machine/flags.h"
#include "machine/machine.h"

namespace kestrel::interp::handlers {

using namespace x87;
using fpu::X87Kind;

namespace {

// A push onto a full ST(7): the masked response pushes the real indefinite.
ExecStatus push_overflow(CpuState& c) {
  if (stack_fault(c, true)) x87_push(c, fpu::kF80DefaultNaN);
  return ExecStatus::Ok;
}

// Pushes v after the overflow check; `ctx` carries the conversion's flags (FLD
// m32/m64: IE for an SNaN, DE for a denormal), resolved as a load.
ExecStatus push_result(CpuState& c, f80 v, const fpu::Context* ctx = nullptr) {
  if (!x87_st_empty(c, 7)) return push_overflow(c);
  if (ctx) {
    const fpu::Resolution r = fpu::x87_resolve(ctx->flags, ctx->masks, X87Kind::Load);
    record(c, r);
    set_c1(c, false);
    if (!r.write) return ExecStatus::Ok;
  } else {
    set_c1(c, false);
  }
  x87_push(c, v);
  return ExecStatus::Ok;
}

template <class T>
bool read_operand(CpuState& c, const DecodedInsn& d, T& v) {
  return m::read_mem(c, d.seg, effective_address(c, d), v);
}

// FST/FSTP/FIST/FISTP/FISTTP to memory: `convert` turns ST(0) into the memory
// value with the library's flags; `indefinite` is the masked response to an empty ST(0).
template <class T, class Convert>
ExecStatus store_converted(CpuState& c, const DecodedInsn& d, bool pop, T indefinite, Convert convert) {
  if (!begin(c, d)) return x87_blocked(c);
  const uint64_t ea = effective_address(c, d);
  if (x87_st_empty(c, 0)) {
    if (c.fcw & kFswIE) KESTREL_TRY(m::write_mem<T>(c, d.seg, ea, indefinite));
    if (stack_fault(c, false) && pop) x87_pop(c);
    return ExecStatus::Ok;
  }
  fpu::Context ctx = context(c);
  const T v = convert(x87_st(c, 0), ctx);
  const fpu::Resolution r = fpu::x87_resolve(ctx.flags, ctx.masks, X87Kind::Store);
  if (r.write) KESTREL_TRY(m::write_mem<T>(c, d.seg, ea, v));
  record(c, r);
  set_c1(c, r.write && ctx.c1);
  if (r.write && pop) x87_pop(c);
  return ExecStatus::Ok;
}

// ST(dst) = ST(src) after the underflow check (FST/FSTP ST(i)).
ExecStatus store_reg(CpuState& c, const DecodedInsn& d, bool pop) {
  if (!begin(c, d)) return x87_blocked(c);
  const unsigned i = d.rm & 7;
  if (x87_st_empty(c, 0)) {
    if (!stack_fault(c, false)) return ExecStatus::Ok;
    x87_set_st(c, i, fpu::kF80DefaultNaN);
  } else {
    x87_set_st(c, i, x87_st(c, 0));
    set_c1(c, false);
  }
  if (pop) x87_pop(c);
  return ExecStatus::Ok;
}

ExecStatus store_m80(CpuState& c, const DecodedInsn& d) {
  if (!begin(c, d)) return x87_blocked(c);
  if (x87_st_empty(c, 0)) {
    if (c.fcw & kFswIE) KESTREL_TRY(write_m80(c, d, fpu::kF80DefaultNaN));
    if (stack_fault(c, false)) x87_pop(c);
    return ExecStatus::Ok;
  }
  KESTREL_TRY(write_m80(c, d, x87_st(c, 0)));
  set_c1(c, false);
  x87_pop(c);
  return ExecStatus::Ok;
}

// The constants as the hardware rounds them: the value rounded to nearest, and one
// unit lower in the last place where the rounding mode asks for a value below the
// exact one (RC down or toward zero for log2(e), pi, log10(2), ln(2), which round up
// to nearest; RC up for log2(10), which rounds down) (SDM Vol. 1 §8.3.9; the
// patterns were read back from hardware).
enum class Const : uint8_t { One, L2T, L2E, Pi, Lg2, Ln2, Zero };

f80 constant_value(Const k, uint16_t fcw) {
  const auto rc = static_cast<fpu::Rounding>((fcw >> 10) & 3);
  const bool down = rc == fpu::Rounding::Down || rc == fpu::Rounding::TowardZero;
  switch (k) {
    case Const::One: return f80{0x8000000000000000ull, 0x3FFF};
    case Const::L2T: return f80{0xD49A784BCD1B8AFEull + (rc == fpu::Rounding::Up), 0x4000};
    case Const::L2E: return f80{0xB8AA3B295C17F0BCull - down, 0x3FFF};
    case Const::Pi: return f80{0xC90FDAA22168C235ull - down, 0x4000};
    case Const::Lg2: return f80{0x9A209A84FBCFF799ull - down, 0x3FFD};
    case Const::Ln2: return f80{0xB17217F7D1CF79ACull - down, 0x3FFE};
    case Const::Zero: break;
  }
  return f80{0, 0};
}

ExecStatus load_constant(CpuState& c, const DecodedInsn& d, Const k) {
  if (!begin(c, d)) return x87_blocked(c);
  return push_result(c, constant_value(k, c.fcw));
}

// FCMOVcc and FCOMI need CPUID.CMOV as well as the FPU (SDM Vol. 2A).
bool has_cmov(CpuState& c) { return c.machine->cpu_model().has(m::Feature::Cmov); }

ExecStatus fcmov(CpuState& c, const DecodedInsn& d, unsigned cc) {
  if (!has_cmov(c)) return m::raise_ud(c);
  if (!begin(c, d)) return x87_blocked(c);
  const unsigned i = d.rm & 7;
  // C1 changes only with a stack fault (hardware; the SDM says "set to 0").
  if (x87_st_empty(c, 0) || x87_st_empty(c, i)) {
    if (stack_fault(c, false)) x87_set_st(c, 0, fpu::kF80DefaultNaN);
    return ExecStatus::Ok;
  }
  if (m::eval_condition(c, cc)) x87_set_st(c, 0, x87_st(c, i));
  return ExecStatus::Ok;
}

}  // namespace

// ---- loads -------------------------------------------------------------------------------------

ExecStatus FLD_m32fp(CpuState& c, const DecodedInsn& d) {
  if (!begin(c, d)) return x87_blocked(c);
  uint32_t m;
  KESTREL_TRY(read_operand(c, d, m));
  if (!x87_st_empty(c, 7)) return push_overflow(c);  // before the conversion's own flags
  fpu::Context ctx = context(c);
  const f80 v = fpu::f32_to_f80(m, ctx);
  return push_result(c, v, &ctx);
}

ExecStatus FLD_m64fp(CpuState& c, const DecodedInsn& d) {
  if (!begin(c, d)) return x87_blocked(c);
  uint64_t m;
  KESTREL_TRY(read_operand(c, d, m));
  if (!x87_st_empty(c, 7)) return push_overflow(c);
  fpu::Context ctx = context(c);
  const f80 v = fpu::f64_to_f80(m, ctx);
  return push_result(c, v, &ctx);
}

// FLD m80fp: the value as it is, no exceptions besides the stack overflow.
ExecStatus FLD_m80fp(CpuState& c, const DecodedInsn& d) {
  if (!begin(c, d)) return x87_blocked(c);
  f80 v;
  KESTREL_TRY(read_m80(c, d, v));
  return push_result(c, v);
}

ExecStatus FLD_STi(CpuState& c, const DecodedInsn& d) {
  if (!begin(c, d)) return x87_blocked(c);
  const unsigned i = d.rm & 7;
  // An empty source is reported before a full ST(7) (hardware: underflow, C1 = 0).
  if (x87_st_empty(c, i)) {
    if (stack_fault(c, false)) x87_push(c, fpu::kF80DefaultNaN);
    return ExecStatus::Ok;
  }
  return push_result(c, x87_st(c, i));
}

template <class T>
ExecStatus fild(CpuState& c, const DecodedInsn& d) {
  if (!begin(c, d)) return x87_blocked(c);
  T m;
  KESTREL_TRY(read_operand(c, d, m));
  return push_result(c, fpu::i64_to_f80(static_cast<int64_t>(m)));
}
ExecStatus FILD_m16int(CpuState& c, const DecodedInsn& d) { return fild<int16_t>(c, d); }
ExecStatus FILD_m32int(CpuState& c, const DecodedInsn& d) { return fild<int32_t>(c, d); }
ExecStatus FILD_m64int(CpuState& c, const DecodedInsn& d) { return fild<int64_t>(c, d); }

ExecStatus FLD1(CpuState& c, const DecodedInsn& d) { return load_constant(c, d, Const::One); }
ExecStatus FLDL2T(CpuState& c, const DecodedInsn& d) { return load_constant(c, d, Const::L2T); }
ExecStatus FLDL2E(CpuState& c, const DecodedInsn& d) { return load_constant(c, d, Const::L2E); }
ExecStatus FLDPI(CpuState& c, const DecodedInsn& d) { return load_constant(c, d, Const::Pi); }
ExecStatus FLDLG2(CpuState& c, const DecodedInsn& d) { return load_constant(c, d, Const::Lg2); }
ExecStatus FLDLN2(CpuState& c, const DecodedInsn& d) { return load_constant(c, d, Const::Ln2); }
ExecStatus FLDZ(CpuState& c, const DecodedInsn& d) { return load_constant(c, d, Const::Zero); }

// ---- stores ------------------------------------------------------------------------------------

ExecStatus FST_m32fp(CpuState& c, const DecodedInsn& d) {
  return store_converted<uint32_t>(c, d, false, fpu::kF32DefaultNaN, fpu::f80_to_f32);
}
ExecStatus FSTP_m32fp(CpuState& c, const DecodedInsn& d) {
  return store_converted<uint32_t>(c, d, true, fpu::kF32DefaultNaN, fpu::f80_to_f32);
}
ExecStatus FST_m64fp(CpuState& c, const DecodedInsn& d) {
  return store_converted<uint64_t>(c, d, false, fpu::kF64DefaultNaN, fpu::f80_to_f64);
}
ExecStatus FSTP_m64fp(CpuState& c, const DecodedInsn& d) {
  return store_converted<uint64_t>(c, d, true, fpu::kF64DefaultNaN, fpu::f80_to_f64);
}
ExecStatus FSTP_m80fp(CpuState& c, const DecodedInsn& d) { return store_m80(c, d); }
ExecStatus FST_STi(CpuState& c, const DecodedInsn& d) { return store_reg(c, d, false); }
ExecStatus FSTP_STi(CpuState& c, const DecodedInsn& d) { return store_reg(c, d, true); }

// D9 D8+i (undocumented): FSTP ST(i), except that an empty ST(0) is no stack fault:
// nothing is stored and the stack is popped (hardware).
ExecStatus FSTPNCE_STi(CpuState& c, const DecodedInsn& d) {
  if (!begin(c, d)) return x87_blocked(c);
  if (!x87_st_empty(c, 0)) x87_set_st(c, d.rm & 7, x87_st(c, 0));
  set_c1(c, false);
  x87_pop(c);
  return ExecStatus::Ok;
}

ExecStatus FIST_m16int(CpuState& c, const DecodedInsn& d) {
  return store_converted<int16_t>(c, d, false, fpu::kI16Indefinite, fpu::f80_to_i16);
}
ExecStatus FISTP_m16int(CpuState& c, const DecodedInsn& d) {
  return store_converted<int16_t>(c, d, true, fpu::kI16Indefinite, fpu::f80_to_i16);
}
ExecStatus FIST_m32int(CpuState& c, const DecodedInsn& d) {
  return store_converted<int32_t>(c, d, false, fpu::kI32Indefinite, fpu::f80_to_i32);
}
ExecStatus FISTP_m32int(CpuState& c, const DecodedInsn& d) {
  return store_converted<int32_t>(c, d, true, fpu::kI32Indefinite, fpu::f80_to_i32);
}
ExecStatus FISTP_m64int(CpuState& c, const DecodedInsn& d) {
  return store_converted<int64_t>(c, d, true, fpu::kI64Indefinite, fpu::f80_to_i64);
}
// FISTTP (SSE3): truncates whatever the rounding control says, and always pops.
ExecStatus FISTTP_m16int(CpuState& c, const DecodedInsn& d) {
  return store_converted<int16_t>(c, d, true, fpu::kI16Indefinite, fpu::f80_to_i16_trunc);
}
ExecStatus FISTTP_m32int(CpuState& c, const DecodedInsn& d) {
  return store_converted<int32_t>(c, d, true, fpu::kI32Indefinite, fpu::f80_to_i32_trunc);
}
ExecStatus FISTTP_m64int(CpuState& c, const DecodedInsn& d) {
  return store_converted<int64_t>(c, d, true, fpu::kI64Indefinite, fpu::f80_to_i64_trunc);
}

// ---- packed BCD (SDM Vol. 1 §4.7, Figure 4-9) ------------------------------------------------
// Ten bytes: 18 digits, two per byte, least significant first; bit 7 of byte 9 is
// the sign.

// FBLD: exact (18 digits fit in 64 bits). Digits above 9 are not valid BCD and the
// result is undefined; they are weighted like valid digits, as the hardware does.
ExecStatus FBLD_m80dec(CpuState& c, const DecodedInsn& d) {
  if (!begin(c, d)) return x87_blocked(c);
  uint8_t b[10];
  KESTREL_TRY(read_bytes(c, d.seg, effective_address(c, d), b, 10));
  uint64_t v = 0;
  for (int i = 8; i >= 0; --i) v = v * 100 + (b[i] >> 4) * 10 + (b[i] & 15);
  f80 r = fpu::i64_to_f80(static_cast<int64_t>(v));
  if (b[9] & 0x80) r.sign_exp |= 0x8000;
  return push_result(c, r);
}

// FBSTP: ST(0) rounded to an integer by RC; NaNs, infinities, unsupported encodings
// and magnitudes of 10^18 or more are invalid (IE), and the masked response stores
// the packed BCD indefinite FFFF C000 0000 0000 0000h.
ExecStatus FBSTP_m80bcd(CpuState& c, const DecodedInsn& d) {
  if (!begin(c, d)) return x87_blocked(c);
  static constexpr uint8_t kIndefinite[10] = {0, 0, 0, 0, 0, 0, 0, 0xC0, 0xFF, 0xFF};
  const uint64_t ea = effective_address(c, d);
  if (x87_st_empty(c, 0)) {
    if (c.fcw & kFswIE) KESTREL_TRY(write_10_bytes(c, d.seg, ea, kIndefinite));
    if (stack_fault(c, false)) x87_pop(c);
    return ExecStatus::Ok;
  }
  const f80 a = x87_st(c, 0);
  fpu::Context ctx = context(c);
  const int64_t n = fpu::f80_to_i64(a, ctx);
  const uint64_t mag = n < 0 ? 0 - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
  if ((ctx.flags & fpu::kFlagInvalid) || mag > 999999999999999999ull) {
    ctx.flags = fpu::kFlagInvalid;
    ctx.c1 = false;
  }
  const fpu::Resolution r = fpu::x87_resolve(ctx.flags, ctx.masks, X87Kind::Store);
  if (r.write) {
    uint8_t b[10];
    if (ctx.flags & fpu::kFlagInvalid) {
      std::memcpy(b, kIndefinite, 10);
    } else {
      uint64_t m = mag;
      for (int i = 0; i < 9; ++i) {
        const unsigned lo = static_cast<unsigned>(m % 10);
        m /= 10;
        const unsigned hi = static_cast<unsigned>(m % 10);
        m /= 10;
        b[i] = static_cast<uint8_t>(hi << 4 | lo);
      }
      b[9] = (a.sign_exp & 0x8000) ? 0x80 : 0;
    }
    KESTREL_TRY(write_10_bytes(c, d.seg, ea, b));
  }
  record(c, r);
  set_c1(c, r.write && ctx.c1);
  if (r.write) x87_pop(c);
  return ExecStatus::Ok;
}

// ---- FXCH, FCMOVcc --------------------------------------------------------------------------

// FXCH: an empty operand is an underflow; masked, it reads as the real indefinite.
ExecStatus FXCH_STi(CpuState& c, const DecodedInsn& d) {
  if (!begin(c, d)) return x87_blocked(c);
  const unsigned i = d.rm & 7;
  const bool e0 = x87_st_empty(c, 0), ei = x87_st_empty(c, i);
  if ((e0 || ei) && !stack_fault(c, false)) return ExecStatus::Ok;
  const f80 a = e0 ? fpu::kF80DefaultNaN : x87_st(c, 0);
  const f80 b = ei ? fpu::kF80DefaultNaN : x87_st(c, i);
  x87_set_st(c, 0, b);
  x87_set_st(c, i, a);
  set_c1(c, false);
  return ExecStatus::Ok;
}

ExecStatus FCMOVB_ST0_STi(CpuState& c, const DecodedInsn& d) { return fcmov(c, d, 0x2); }
ExecStatus FCMOVE_ST0_STi(CpuState& c, const DecodedInsn& d) { return fcmov(c, d, 0x4); }
ExecStatus FCMOVBE_ST0_STi(CpuState& c, const DecodedInsn& d) { return fcmov(c, d, 0x6); }
ExecStatus FCMOVU_ST0_STi(CpuState& c, const DecodedInsn& d) { return fcmov(c, d, 0xA); }
ExecStatus FCMOVNB_ST0_STi(CpuState& c, const DecodedInsn& d) { return fcmov(c, d, 0x3); }
ExecStatus FCMOVNE_ST0_STi(CpuState& c, const DecodedInsn& d) { return fcmov(c, d, 0x5); }
ExecStatus FCMOVNBE_ST0_STi(CpuState& c, const DecodedInsn& d) { return fcmov(c, d, 0x7); }
ExecStatus FCMOVNU_ST0_STi(CpuState& c, const DecodedInsn& d) { return fcmov(c, d, 0xB); }

}  // namespace kestrel::interp::handlers
