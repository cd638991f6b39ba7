// Conversions between the three formats, to and from integers, and rounding
// to an integral value (FRNDINT, ROUNDSS/ROUNDSD).
#include "interp/fpu/targets.h"

namespace kestrel::interp::fpu::detail {

// Rounding to an integer (SDM Vol. 1 §4.8.4) on a fixed-point copy.
IntRounding round_to_integer(const Unpacked& u, Rounding mode) {
    IntRounding r{0, false, false, false};
    if (u.exp >= 64) {
        r.too_big = true;
        return r;
    }
    // Fixed point with 64 fraction bits: value * 2^64 = sig * 2^(exp + 1).
    const int32_t sh = u.exp + 1;
    const u128 fixed = sh >= 0 ? u128(u.sig) << sh : shift_right_jam(u128(u.sig), -int64_t(sh));
    r.mag = uint64_t(fixed >> 64);
    const uint64_t frac = uint64_t(fixed);
    r.inexact = frac != 0;
    if (r.inexact) {
        switch (mode) {
            case Rounding::NearestEven: r.up = frac > (1ull << 63) || (frac == (1ull << 63) && (r.mag & 1)); break;
            case Rounding::Down: r.up = u.sign; break;
            case Rounding::Up: r.up = !u.sign; break;
            default: break;
        }
    }
    // With a fraction the magnitude is below 2^63, so this cannot wrap.
    r.mag += r.up;
    return r;
}

// SDM Vol. 2 FIST/FISTTP and CVTSS2SI/CVTTSS2SI: the value rounded in
// `mode`; if it does not fit in `bits` (or is a NaN, infinity or unsupported
// encoding) IE alone and the integer indefinite 100...0.
int64_t to_int(const Unpacked& u, int bits, Rounding mode, Flavor flavor, Context& ctx) {
    const int64_t indefinite = int64_t(uint64_t(-1) << (bits - 1));
    if (u.kind == Kind::Zero) return 0;
    if (u.kind != Kind::Finite) {
        ctx.flags |= kFlagInvalid;
        return indefinite;
    }
    const IntRounding r = round_to_integer(u, mode);
    const uint64_t limit = (1ull << (bits - 1)) - (u.sign ? 0 : 1);
    if (r.too_big || r.mag > limit) {  // IE only: no PE with it
        ctx.flags |= kFlagInvalid;
        return indefinite;
    }
    if (r.inexact) {
        ctx.flags |= kFlagInexact;
        if (flavor != Flavor::Sse && r.up) ctx.c1 = true;
    }
    return u.sign ? int64_t(0 - r.mag) : int64_t(r.mag);
}

namespace {

// FRNDINT / ROUNDSS: SDM Vol. 2. `raise_denormal`: FRNDINT raises DE,
// ROUNDSS/ROUNDSD do not (Vol. 2 ROUNDSS "SIMD Floating-Point Exceptions").
template <class Tg>
typename Tg::T round_to_int(typename Tg::T a, Rounding mode, bool suppress_inexact, bool raise_denormal_flag,
                            Context& ctx) {
    Tg::begin(ctx);
    const Unpacked u = Tg::unpack(a, ctx);
    typename Tg::T out;
    if (operand_specials<Tg>(u, out, ctx)) return out;
    if (raise_denormal_flag) raise_denormal(u, ctx);
    if (u.kind == Kind::Inf) return Tg::inf(u.sign);
    if (u.kind == Kind::Zero) return Tg::zero(u.sign);
    if (u.exp >= Tg::kFullPrecision - 1) return Tg::round_full(u.sign, u.exp, u128(u.sig) << 64, ctx);
    const IntRounding r = round_to_integer(u, mode);
    if (r.inexact) {
        if (!suppress_inexact) ctx.flags |= kFlagInexact;
        if (Tg::kX87 && r.up) ctx.c1 = true;
    }
    if (r.mag == 0) return Tg::zero(u.sign);
    return Tg::round_full(u.sign, 127, u128(r.mag), ctx);
}

// Exact integer -> float or rounded, through round_pack.
template <class Tg>
typename Tg::T from_int(int64_t v, Context& ctx) {
    Tg::begin(ctx);
    if (v == 0) return Tg::zero(false);
    const bool sign = v < 0;
    const uint64_t mag = sign ? 0 - uint64_t(v) : uint64_t(v);
    return Tg::round_full(sign, 127, u128(mag), ctx);
}

template <class Tg>
int64_t float_to_int(typename Tg::T a, int bits, bool truncate, Context& ctx) {
    Tg::begin(ctx);
    const Unpacked u = Tg::unpack(a, ctx);
    return to_int(u, bits, truncate ? Rounding::TowardZero : ctx.rounding,
                  Tg::kX87 ? Flavor::X87Mem : Flavor::Sse, ctx);
}

// FLD m32/m64: exact widening; SNaN -> IE and quieted; DE for denormals
// (SDM Vol. 2 FLD "Floating-Point Exceptions").
f80 widen_to_f80(const Unpacked& u, Context& ctx) {
    ctx.c1 = false;
    switch (u.kind) {
        case Kind::Zero: return f80_zero(u.sign);
        case Kind::Inf: return f80_inf(u.sign);
        case Kind::NaN: return propagate_nan_x87(u, ctx);
        default: break;
    }
    if (u.denormal) ctx.flags |= kFlagDenormal;
    return f80{u.sig, uint16_t((unsigned(u.sign) << 15) | unsigned(u.exp + 16383))};
}

// FST m32/m64: rounding control applies, precision control does not.
template <class F>
typename F::T narrow_from_f80(f80 a, Context& ctx) {
    ctx.c1 = false;
    const Unpacked u = unpack_f80(a);
    switch (u.kind) {
        case Kind::Unsupported: ctx.flags |= kFlagInvalid; return F::kDefaultNaN;
        case Kind::NaN:
            if (u.snan) ctx.flags |= kFlagInvalid;
            return F::nan(u.sign, u.sig);
        case Kind::Zero: return F::zero(u.sign);
        case Kind::Inf: return F::inf(u.sign);
        default: break;
    }
    // No DE: FST m32/m64 of an 80-bit denormal does not raise it (hardware).
    return F::pack(round_pack(u.sign, u.exp, u128(u.sig) << 64, F::spec, F::spec.precision, Flavor::X87Mem, ctx));
}

// CVTSS2SD / CVTSD2SS.
template <class From, class To>
typename To::T sse_convert(typename From::T a, Context& ctx) {
    const Unpacked u = From::unpack(a, ctx.daz);
    switch (u.kind) {
        case Kind::NaN:
            if (u.snan) ctx.flags |= kFlagInvalid;
            return To::nan(u.sign, u.sig);
        case Kind::Zero: return To::zero(u.sign);
        case Kind::Inf: return To::inf(u.sign);
        default: break;
    }
    if (u.denormal) ctx.flags |= kFlagDenormal;
    return To::pack(round_pack(u.sign, u.exp, u128(u.sig) << 64, To::spec, To::spec.precision, Flavor::Sse, ctx));
}

}  // namespace
}  // namespace kestrel::interp::fpu::detail

namespace kestrel::interp::fpu {
using namespace detail;

f80 f80_round_to_int(f80 a, Context& ctx) {
    return round_to_int<X87Target>(a, ctx.rounding, false, true, ctx);
}
f80 f80_round_to_int(f80 a, Rounding mode, bool suppress_inexact, Context& ctx) {
    return round_to_int<X87Target>(a, mode, suppress_inexact, true, ctx);
}
f32 f32_round_to_int(f32 a, Rounding mode, bool suppress_inexact, Context& ctx) {
    return round_to_int<Sse32>(a, mode, suppress_inexact, false, ctx);
}
f64 f64_round_to_int(f64 a, Rounding mode, bool suppress_inexact, Context& ctx) {
    return round_to_int<Sse64>(a, mode, suppress_inexact, false, ctx);
}

f80 f32_to_f80(f32 a, Context& ctx) { return widen_to_f80(unpack_f32(a, false), ctx); }
f80 f64_to_f80(f64 a, Context& ctx) { return widen_to_f80(unpack_f64(a, false), ctx); }
f32 f80_to_f32(f80 a, Context& ctx) { return narrow_from_f80<F32>(a, ctx); }
f64 f80_to_f64(f80 a, Context& ctx) { return narrow_from_f80<F64>(a, ctx); }

f80 i64_to_f80(int64_t a) {
    Context ctx;
    return from_int<X87Target>(a, ctx);
}

int16_t f80_to_i16(f80 a, Context& ctx) { return int16_t(float_to_int<X87Target>(a, 16, false, ctx)); }
int32_t f80_to_i32(f80 a, Context& ctx) { return int32_t(float_to_int<X87Target>(a, 32, false, ctx)); }
int64_t f80_to_i64(f80 a, Context& ctx) { return float_to_int<X87Target>(a, 64, false, ctx); }
int16_t f80_to_i16_trunc(f80 a, Context& ctx) { return int16_t(float_to_int<X87Target>(a, 16, true, ctx)); }
int32_t f80_to_i32_trunc(f80 a, Context& ctx) { return int32_t(float_to_int<X87Target>(a, 32, true, ctx)); }
int64_t f80_to_i64_trunc(f80 a, Context& ctx) { return float_to_int<X87Target>(a, 64, true, ctx); }

f64 f32_to_f64(f32 a, Context& ctx) { return sse_convert<F32, F64>(a, ctx); }
f32 f64_to_f32(f64 a, Context& ctx) { return sse_convert<F64, F32>(a, ctx); }
f32 i32_to_f32(int32_t a, Context& ctx) { return from_int<Sse32>(a, ctx); }
f32 i64_to_f32(int64_t a, Context& ctx) { return from_int<Sse32>(a, ctx); }
f64 i32_to_f64(int32_t a) {
    Context ctx;
    return from_int<Sse64>(a, ctx);
}
f64 i64_to_f64(int64_t a, Context& ctx) { return from_int<Sse64>(a, ctx); }

int32_t f32_to_i32(f32 a, Context& ctx) { return int32_t(float_to_int<Sse32>(a, 32, false, ctx)); }
int64_t f32_to_i64(f32 a, Context& ctx) { return float_to_int<Sse32>(a, 64, false, ctx); }
int32_t f64_to_i32(f64 a, Context& ctx) { return int32_t(float_to_int<Sse64>(a, 32, false, ctx)); }
int64_t f64_to_i64(f64 a, Context& ctx) { return float_to_int<Sse64>(a, 64, false, ctx); }
int32_t f32_to_i32_trunc(f32 a, Context& ctx) { return int32_t(float_to_int<Sse32>(a, 32, true, ctx)); }
int64_t f32_to_i64_trunc(f32 a, Context& ctx) { return float_to_int<Sse32>(a, 64, true, ctx); }
int32_t f64_to_i32_trunc(f64 a, Context& ctx) { return int32_t(float_to_int<Sse64>(a, 32, true, ctx)); }
int64_t f64_to_i64_trunc(f64 a, Context& ctx) { return float_to_int<Sse64>(a, 64, true, ctx); }

}  // namespace kestrel::interp::fpu
