// FPREM, FPREM1, FSCALE and FXTRACT (x87 only; none of them is affected by
// precision control, SDM Vol. 1 §8.1.5.2).
#include "interp/fpu/targets.h"

namespace kestrel::interp::fpu::detail {
namespace {

// How many quotient bits a partial FPREM/FPREM1 step produces when the
// exponent difference D is >= 64: "an implementation-dependent number
// between 32 and 63" (SDM Vol. 2 FPREM); Intel hardware reduces D to a
// multiple of 32 plus 32.
int partial_bits(int32_t d) { return 32 + (d & 31); }

// SDM Vol. 2 FPREM / FPREM1 operation and "FPREM/FPREM1 results" tables.
RemainderResult remainder(f80 a, f80 b, bool ieee, Context& ctx) {
    ctx.c1 = false;
    RemainderResult res;
    const Unpacked ua = unpack_f80(a), ub = unpack_f80(b);
    if (operand_specials<X87Target>(ua, ub, res.value, ctx)) return res;
    if (ua.kind == Kind::Inf || ub.kind == Kind::Zero) {  // inf rem x, x rem 0: invalid
        ctx.flags |= kFlagInvalid;
        res.value = kF80DefaultNaN;
        return res;
    }
    raise_denormal(ua, ub, ctx);
    // x rem inf: ST(0) is returned without rounding (a denormal raises no UE
    // even when unmasked), unlike a remainder that happens to equal ST(0); a
    // pseudo-denormal is re-encoded with exponent 1 (hardware).
    if (ua.kind == Kind::Zero || ub.kind == Kind::Inf) {
        const bool pseudo_denormal = (a.sign_exp & 0x7FFF) == 0 && (a.sig >> 63);
        res.value = f80{a.sig, uint16_t(a.sign_exp | unsigned(pseudo_denormal))};
        return res;
    }
    const int32_t d = ua.exp - ub.exp;
    if (d < (ieee ? -1 : 0)) {  // |a| < |b| (or < |b|/2): a is the remainder, quotient 0
        res.value = X87Target::round_full(ua.sign, ua.exp, u128(ua.sig) << 64, ctx);
        return res;
    }
    bool sign = ua.sign;
    uint64_t rem;
    int32_t rem_exp;  // value = rem * 2^(rem_exp - 63)
    if (d >= 64) {
        // Partial reduction with a truncated quotient, for both instructions;
        // the hardware leaves C0, C3, C1 (the quotient bits) clear.
        const int n = partial_bits(d);
        rem = uint64_t((u128(ua.sig) << n) % ub.sig);
        rem_exp = ub.exp + (d - n);
        res.incomplete = true;
    } else if (d >= 0) {
        const u128 num = u128(ua.sig) << d;
        u128 q = num / ub.sig;
        rem = uint64_t(num % ub.sig);
        rem_exp = ub.exp;
        if (ieee) {
            // Round the quotient to nearest even: compare 2*rem with the divisor.
            const u128 twice = u128(rem) << 1;
            if (twice > ub.sig || (twice == ub.sig && (q & 1))) {
                ++q;
                rem = ub.sig - rem;
                sign = !sign;
            }
        }
        res.quotient = uint8_t(q & 7);
    } else {
        // FPREM1 with D = -1: |a/b| in (1/4, 1); the quotient is 1 iff |a| > |b|/2.
        // Work in units of 2^(eb - 64): a = a.sig, b = 2 * b.sig.
        if (ua.sig > ub.sig) {
            const u128 r = (u128(ub.sig) << 1) - ua.sig;  // < 2^64
            rem = uint64_t(r);
            sign = !sign;
            res.quotient = 1;
        } else {
            rem = ua.sig;
        }
        rem_exp = ub.exp - 1;
    }
    if (rem == 0) {
        res.value = f80_zero(ua.sign);
        return res;
    }
    // Exact: the remainder's bits are multiples of b's last place.
    res.value = X87Target::round_full(sign, rem_exp, u128(rem) << 64, ctx);
    return res;
}

}  // namespace
}  // namespace kestrel::interp::fpu::detail

namespace kestrel::interp::fpu {
using namespace detail;

RemainderResult f80_prem(f80 a, f80 b, Context& ctx) { return remainder(a, b, false, ctx); }
RemainderResult f80_prem1(f80 a, f80 b, Context& ctx) { return remainder(a, b, true, ctx); }

// SDM Vol. 2 FSCALE: ST(0) * 2^RoundTowardZero(ST(1)), with the table of
// special cases for infinite and zero operands.
f80 f80_scale(f80 a, f80 b, Context& ctx) {
    ctx.c1 = false;
    const Unpacked ua = unpack_f80(a), ub = unpack_f80(b);
    f80 out;
    if (operand_specials<X87Target>(ua, ub, out, ctx)) return out;
    if (ub.kind == Kind::Inf) {
        const bool bad = ub.sign ? ua.kind == Kind::Inf : ua.kind == Kind::Zero;  // inf*2^-inf, 0*2^inf
        if (bad) {
            ctx.flags |= kFlagInvalid;
            return kF80DefaultNaN;
        }
        raise_denormal(ua, ub, ctx);
        return ub.sign ? f80_zero(ua.sign) : f80_inf(ua.sign);
    }
    raise_denormal(ua, ub, ctx);
    if (ua.kind == Kind::Inf) return f80_inf(ua.sign);
    if (ua.kind == Kind::Zero) return f80_zero(ua.sign);
    if (ub.kind == Kind::Zero) {
        // ST(0) unchanged, without rounding (no UE for a denormal even when
        // unmasked); a pseudo-denormal is re-encoded with exponent 1 (hardware).
        const bool pseudo_denormal = (a.sign_exp & 0x7FFF) == 0 && (a.sig >> 63);
        return f80{a.sig, uint16_t(a.sign_exp | unsigned(pseudo_denormal))};
    }
    int32_t n = 0;
    if (ub.kind == Kind::Finite && ub.exp >= 0) {
        // Beyond 2^20 any scale over- or underflows; clamp to keep the
        // exponent arithmetic in range.
        const int64_t mag = ub.exp >= 20 ? (int64_t(1) << 20) : int64_t(ub.sig >> (63 - ub.exp));
        n = int32_t(ub.sign ? -mag : mag);
    }
    return X87Target::round_full(ua.sign, ua.exp + n, u128(ua.sig) << 64, ctx);
}

// SDM Vol. 2 FXTRACT: ST(0) -> exponent (true, unbiased) and significand
// (same sign, exponent 0). Zero: ZE, exponent -inf, significand the zero.
ExtractResult f80_extract(f80 a, Context& ctx) {
    ctx.c1 = false;
    const Unpacked u = unpack_f80(a);
    ExtractResult r;
    f80 out;
    if (operand_specials<X87Target>(u, out, ctx)) {
        r.exponent = r.significand = out;
        return r;
    }
    raise_denormal(u, ctx);
    switch (u.kind) {
        case Kind::Zero:
            ctx.flags |= kFlagDivByZero;
            r.exponent = f80_inf(true);
            r.significand = f80_zero(u.sign);
            return r;
        case Kind::Inf:
            r.exponent = f80_inf(false);
            r.significand = f80_inf(u.sign);
            return r;
        default: break;
    }
    r.exponent = i64_to_f80(u.exp);
    r.significand = f80{u.sig, uint16_t((unsigned(u.sign) << 15) | 16383u)};
    return r;
}

}  // namespace kestrel::interp::fpu
