// Result "targets": the x87 register (f80 with precision control and x87 NaN
// rules) and the two SSE scalar formats (DAZ/FTZ, first-operand NaN rule).
// The algorithms in arith.cpp, convert.cpp and compare.cpp are written once
// against this interface.
#pragma once

#include "interp/fpu/fpu_internal.h"

namespace kestrel::interp::fpu::detail {

struct X87Target {
    using T = f80;
    static constexpr bool kX87 = true;
    static constexpr int kFullPrecision = 64;
    static Unpacked unpack(T a, const Context&) { return unpack_f80(a); }
    static T default_nan() { return kF80DefaultNaN; }
    static T zero(bool s) { return f80_zero(s); }
    static T inf(bool s) { return f80_inf(s); }
    static T nan1(const Unpacked& a, Context& ctx) { return propagate_nan_x87(a, ctx); }
    static T nan2(const Unpacked& a, const Unpacked& b, Context& ctx) {
        return propagate_nan_x87(a, b, ctx);
    }
    // Arithmetic result: precision control applies (SDM Vol. 1 §8.1.5.2).
    static T round(bool sign, int32_t exp, u128 sig, Context& ctx) {
        return pack_f80(round_pack(sign, exp, sig, kF80Spec, x87_precision_bits(ctx), Flavor::X87Reg, ctx));
    }
    // Result at full 64-bit precision (FRNDINT, FSCALE, FPREM...).
    static T round_full(bool sign, int32_t exp, u128 sig, Context& ctx) {
        return pack_f80(round_pack(sign, exp, sig, kF80Spec, 64, Flavor::X87Reg, ctx));
    }
    static void begin(Context& ctx) { ctx.c1 = false; }
};

template <class F>
struct SseTarget {
    using T = typename F::T;
    static constexpr bool kX87 = false;
    static constexpr int kFullPrecision = F::spec.precision;
    static Unpacked unpack(T a, const Context& ctx) { return F::unpack(a, ctx.daz); }
    static T default_nan() { return F::kDefaultNaN; }
    static T zero(bool s) { return F::zero(s); }
    static T inf(bool s) { return F::inf(s); }
    static T nan1(const Unpacked& a, Context& ctx) {
        if (a.snan) ctx.flags |= kFlagInvalid;
        return F::nan(a.sign, a.sig);
    }
    static T nan2(const Unpacked& a, const Unpacked& b, Context& ctx) {
        return propagate_nan_sse<F>(a, b, ctx);
    }
    static T round(bool sign, int32_t exp, u128 sig, Context& ctx) {
        return F::pack(round_pack(sign, exp, sig, F::spec, F::spec.precision, Flavor::Sse, ctx));
    }
    static T round_full(bool sign, int32_t exp, u128 sig, Context& ctx) { return round(sign, exp, sig, ctx); }
    static void begin(Context&) {}
};

using Sse32 = SseTarget<F32>;
using Sse64 = SseTarget<F64>;

// Unsupported encodings (x87 only) and NaNs decide the result first (SDM
// Vol. 1 §4.9.2 priorities 1-2): returns true with `out` set when they do.
// DE (priority 4) is raised by the caller with raise_denormal() only after
// the operation's own invalid and divide-by-zero cases (priority 3), which
// the hardware shows suppress it.
template <class Tg>
bool operand_specials(const Unpacked& a, const Unpacked& b, typename Tg::T& out, Context& ctx) {
    if (a.kind == Kind::Unsupported || b.kind == Kind::Unsupported) {
        ctx.flags |= kFlagInvalid;
        out = Tg::default_nan();
        return true;
    }
    if (a.kind == Kind::NaN || b.kind == Kind::NaN) {
        out = Tg::nan2(a, b, ctx);
        return true;
    }
    return false;
}

template <class Tg>
bool operand_specials(const Unpacked& a, typename Tg::T& out, Context& ctx) {
    if (a.kind == Kind::Unsupported) {
        ctx.flags |= kFlagInvalid;
        out = Tg::default_nan();
        return true;
    }
    if (a.kind == Kind::NaN) {
        out = Tg::nan1(a, ctx);
        return true;
    }
    return false;
}

inline void raise_denormal(const Unpacked& a, Context& ctx) {
    if (a.denormal) ctx.flags |= kFlagDenormal;
}
inline void raise_denormal(const Unpacked& a, const Unpacked& b, Context& ctx) {
    if (a.denormal || b.denormal) ctx.flags |= kFlagDenormal;
}

// Orders two non-NaN operands (zeros of either sign are equal).
Ordering compare_values(const Unpacked& a, const Unpacked& b);

}  // namespace kestrel::interp::fpu::detail
