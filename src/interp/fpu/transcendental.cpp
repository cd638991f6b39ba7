// x87 transcendentals with integer arithmetic (see transcendental.h).
//
// Values are carried as "wide" numbers: a sign, an exponent and a normalised
// 128-bit significand, value = m * 2^(e - 127), the same convention as
// round_pack. Every operation truncates and jams what it drops into bit 0, so a
// result computed through a few dozen operations carries an error of a few units
// of 2^-125 relative, far below the 2^-64 of the destination, and never lands
// exactly on a representable value it should miss: rounding it once (with a sticky
// bit standing for the infinite tail of an irrational result) gives the correctly
// rounded value except for operands within ~2^-60 ulp of a rounding boundary.
//
// Algorithms:
// - sin/cos/tan: exact reduction by pi66/2 (the x87's 66-bit pi, SDM Vol. 1
//   §8.3.10) to |r| <= pi66/4 with integer arithmetic, then Taylor series.
// - atan: reduction by a table of atan(k/16) and the identity
//   atan(t) = atan(c) + atan((t - c) / (1 + t c)), then the odd series.
// - log2: x = 2^e * m with m in [sqrt(1/2), sqrt(2)), ln(m) = 2 atanh(s) with
//   s = (m - 1) / (m + 1) (|s| <= 0.172), log2 = e + ln(m) / ln(2); log2(1 + x)
//   uses s = x / (2 + x) directly so small x keep their relative accuracy.
// - 2^x - 1: expm1(x ln 2) by its Taylor series after one halving
//   (|x ln 2| <= 0.7 in range), then (e^t - 1)(e^t + 1).
// Special cases follow the SDM tables; where the hardware departs from the exact
// result (log2 of powers of two, F2XM1 outside -1..1) it is modelled as measured
// on Intel hardware, see power_of_two_log and f80_2xm1.
#include "interp/fpu/transcendental.h"

#include <utility>

#include "interp/fpu/fpu_internal.h"

namespace kestrel::interp::fpu {
namespace {

using detail::clz128;
using detail::Kind;
using detail::u128;
using detail::Unpacked;

// ---- wide numbers ------------------------------------------------------------------------------

struct W {
    bool neg = false;
    int32_t e = 0;  // value = m * 2^(e - 127): e is the exponent of the leading bit
    u128 m = 0;     // bit 127 set, or 0 for zero
    bool zero() const { return m == 0; }
};

W make(bool neg, int32_t e, u128 m) {
    if (m == 0) return W{};
    const int lz = clz128(m);
    return W{neg, e - lz, m << lz};
}

// v * 2^scale for an integer v.
W from_int(u128 v, int32_t scale = 0, bool neg = false) { return make(neg, scale + 127, v); }

W from_unpacked(const Unpacked& u) { return W{u.sign, u.exp, u128(u.sig) << 64}; }

struct Const128 {
    uint64_t hi, lo;
    int32_t e;
};
W from_const(const Const128& k, bool neg = false) { return W{neg, k.e, (u128(k.hi) << 64) | k.lo}; }

// Constants rounded down to 128 bits (computed with mpmath at 400 bits).
constexpr Const128 kPi{0xC90FDAA22168C234ull, 0xC4C6628B80DC1CD1ull, 1};
constexpr Const128 kLn2{0xB17217F7D1CF79ABull, 0xC9E3B39803F2F6AFull, -1};
constexpr Const128 kLog2E{0xB8AA3B295C17F0BBull, 0xBE87FED0691D3E88ull, 0};
// atan(k/16), k = 1..16.
constexpr Const128 kAtanTable[16] = {
    {0xFFAADDB967EF4E36ull, 0xCB2792DC0E2E0D51ull, -5}, {0xFEADD4D5617B6E32ull, 0xC897989F3E888EF7ull, -4},
    {0xBDCBDA5E72D81134ull, 0x7B0B4F881C9C7487ull, -3}, {0xFADBAFC96406EB15ull, 0x6DC79EF5F7A217E5ull, -3},
    {0x9B13B9B83F5E5E69ull, 0xC5ABB498D27AF328ull, -2}, {0xB7B0CA0F26F78473ull, 0x8AA32122DCFE4483ull, -2},
    {0xD327761E611FE5B6ull, 0x427C95E9001E7136ull, -2}, {0xED63382B0DDA7B45ull, 0x6FE445ECBC3A8D03ull, -2},
    {0x832BF4A6D9867E2Aull, 0x4B6A09CB61A515C0ull, -1}, {0x8F005D5EF7F59F9Bull, 0x5C835E1665C43747ull, -1},
    {0x9A2F80E671BDDA20ull, 0x4226F8E2204FF3BCull, -1}, {0xA4BC7D1934F70924ull, 0x19A87F2A457DAC9Eull, -1},
    {0xAEAC4C38B4D8C080ull, 0x14725E2F3E52070Aull, -1}, {0xB8053E2BC2319E73ull, 0xCB2DA55210A4443Dull, -1},
    {0xC0CE85B8AC526640ull, 0x89DD62C46E92FA24ull, -1}, {0xC90FDAA22168C234ull, 0xC4C6628B80DC1CD1ull, -1},
};
// The x87's internal pi (SDM Vol. 1 §8.3.10): 66 significant bits,
// pi66 = kPi66 * 2^-66 (the two low bits of the 68-bit integer are zero).
constexpr u128 kPi66 = (u128(0xC90FDAA22168C234ull) << 4) | 0xC;

// 128 x 128 -> the high 128 bits of the 256-bit product, with every lower bit
// jammed into bit 0 (so a truncated value never looks exact).
u128 mul_hi_jam(u128 a, u128 b, bool& low_top) {
    const u128 a1 = a >> 64, a0 = uint64_t(a), b1 = b >> 64, b0 = uint64_t(b);
    const u128 p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    const u128 mid = (p00 >> 64) + uint64_t(p01) + uint64_t(p10);
    const u128 lo = (mid << 64) | uint64_t(p00);
    low_top = lo >> 127;
    return (p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64)) | u128((lo << 1) != 0);
}

W mul(const W& a, const W& b) {
    if (a.zero() || b.zero()) return W{};
    bool low_top;
    u128 h = mul_hi_jam(a.m, b.m, low_top);  // in [2^126, 2^128)
    int32_t e = a.e + b.e + 1;
    if (!(h >> 127)) {
        h = (h << 1) | u128(low_top) | (h & 1);
        --e;
    }
    return W{bool(a.neg ^ b.neg), e, h};
}

W neg(W a) {
    a.neg = !a.neg;
    return a;
}

// Bits shifted out of the smaller operand are jammed into its bit 0, so the sum
// errs on the right side of an exactly representable value (sin(x) = x - x^3/6 for
// a tiny x must stay below x).
W add(const W& a, const W& b) {
    if (a.zero()) return b;
    if (b.zero()) return a;
    const W* x = &a;
    const W* y = &b;
    if (b.e > a.e || (b.e == a.e && b.m > a.m)) std::swap(x, y);
    const u128 Y = detail::shift_right_jam(y->m, int64_t(x->e) - y->e);
    if (x->neg == y->neg) {
        const u128 s = x->m + Y;
        if (s < x->m) return W{x->neg, x->e + 1, (s >> 1) | (u128(1) << 127) | (s & 1)};  // carried out
        return W{x->neg, x->e, s};
    }
    return make(x->neg, x->e, x->m - Y);
}
W sub(const W& a, const W& b) { return add(a, neg(b)); }

// a / b by restoring division: 128 quotient bits.
W div(const W& a, const W& b) {
    if (a.zero()) return W{};
    u128 rem = a.m, q = 0;
    bool carry = false;
    for (int i = 0; i < 128; ++i) {
        q <<= 1;
        if (carry || rem >= b.m) {
            rem -= b.m;
            q |= 1;
        }
        carry = rem >> 127;
        rem <<= 1;
    }
    // q ~ (a.m / b.m) * 2^127, in [2^126, 2^128); a nonzero remainder is jammed.
    return make(bool(a.neg ^ b.neg), a.e - b.e, q | u128(carry || rem != 0));
}

W div_small(const W& a, uint32_t n) { return div(a, from_int(n)); }

W mul_pow2(W a, int32_t k) {
    if (!a.zero()) a.e += k;
    return a;
}

const W kOne = from_int(1);

// ---- series ------------------------------------------------------------------------------------
// Each loop stops right after adding the first term that lies wholly below the
// working precision: its jammed bit gives the direction of the rest of the
// (alternating or same-signed, decreasing) tail; adding more such terms could
// cancel it.

// sin(r), cos(r) for |r| <= pi/4 (Taylor series to 2^-130).
W sin_series(const W& r) {
    if (r.zero()) return r;
    const W r2 = mul(r, r);
    W term = r, sum = r;
    for (uint32_t k = 1; k < 40; ++k) {
        term = neg(div_small(mul(term, r2), (2 * k) * (2 * k + 1)));
        sum = add(sum, term);
        if (term.zero() || term.e < sum.e - 127) break;
    }
    return sum;
}

W cos_series(const W& r) {
    const W r2 = mul(r, r);
    W term = kOne, sum = kOne;
    for (uint32_t k = 1; k < 40; ++k) {
        term = neg(div_small(mul(term, r2), (2 * k - 1) * (2 * k)));
        sum = add(sum, term);
        if (term.zero() || term.e < sum.e - 127) break;
    }
    return sum;
}

// atan(t) for 0 <= t <= 1.
W atan_unit(const W& t) {
    if (t.zero()) return t;
    // c = k/16 nearest to t; u = (t - c) / (1 + t c), |u| <= 1/32.
    W base{};
    W u = t;
    const int32_t sh = 127 - 5 - t.e;  // t * 32 truncated, then halved rounding up
    const u128 t32 = sh >= 128 ? 0 : sh >= 0 ? t.m >> sh : t.m << -sh;
    uint32_t k = uint32_t((t32 + 1) >> 1);
    if (k > 16) k = 16;
    if (k > 0) {
        const W c = from_int(k, -4);
        base = from_const(kAtanTable[k - 1]);
        u = div(sub(t, c), add(kOne, mul(t, c)));
    }
    if (u.zero()) return base;
    const W u2 = mul(u, u);
    W power = u, sum = u;
    for (uint32_t n = 1; n < 40; ++n) {
        power = neg(mul(power, u2));
        const W term = div_small(power, 2 * n + 1);
        sum = add(sum, term);
        if (term.zero() || term.e < sum.e - 127) break;
    }
    return add(base, sum);
}

// 2 atanh(s) = ln((1 + s) / (1 - s)) for |s| <= ~0.2.
W ln_from_s(const W& s) {
    if (s.zero()) return s;
    const W s2 = mul(s, s);
    W power = s, sum = s;
    for (uint32_t n = 1; n < 60; ++n) {
        power = mul(power, s2);
        const W term = div_small(power, 2 * n + 1);
        sum = add(sum, term);
        if (term.zero() || term.e < sum.e - 127) break;
    }
    return mul_pow2(sum, 1);
}

// log2(x) for a finite positive x.
W log2_of(const W& x) {
    // x = 2^e * m, m in [1, 2); move m into [sqrt(1/2), sqrt(2)).
    int32_t e = x.e;
    W m = W{false, 0, x.m};
    constexpr u128 kSqrt2 = (u128(0xB504F333F9DE6484ull) << 64) | 0x597D89B3754ABE9Full;  // sqrt(2) * 2^127
    if (m.m > kSqrt2) {
        m.e = -1;
        ++e;
    }
    const W s = div(sub(m, kOne), add(m, kOne));
    const W l = mul(ln_from_s(s), from_const(kLog2E));
    return add(from_int(u128(e < 0 ? -int64_t(e) : e), 0, e < 0), l);
}

// e^t - 1 by the Taylor series, for |t| <= 1.
W expm1_series(const W& t) {
    if (t.zero()) return t;
    W term = t, sum = t;
    for (uint32_t n = 2; n < 60; ++n) {
        term = div_small(mul(term, t), n);
        sum = add(sum, term);
        if (term.zero() || term.e < sum.e - 127) break;
    }
    return sum;
}

// ---- rounding ----------------------------------------------------------------------------------

// Rounds an inexact (irrational) result: the sticky bit stands for its tail.
f80 round_inexact(const W& w, Context& ctx) {
    const detail::Packed p =
        detail::round_pack(w.neg, w.e, w.m | 1, detail::kF80Spec, 64, detail::Flavor::X87Reg, ctx);
    return detail::pack_f80(p);
}
// Rounds a value known to be exact as represented.
f80 round_exact(const W& w, Context& ctx) {
    if (w.zero()) return detail::f80_zero(w.neg);
    const detail::Packed p =
        detail::round_pack(w.neg, w.e, w.m, detail::kF80Spec, 64, detail::Flavor::X87Reg, ctx);
    return detail::pack_f80(p);
}

// y * log2(2^k), k != 0, as the hardware delivers it: for k > 0 the exact product
// rounded, but with PE always set (and UE for a denormal result); for k < 0 a value a hair below the exact
// product in magnitude (rounded as inexact: C1 = 1 when it rounds back up to the
// exact value, one unit lower when rounding toward zero).
f80 power_of_two_log(const W& y, int64_t k, Context& ctx) {
    const W p = mul(y, from_int(u128(k < 0 ? -k : k), 0, k < 0));  // exact: 64 x 15 bits
    if (k > 0) {
        const f80 r = round_exact(p, ctx);
        ctx.flags |= kFlagInexact;
        if ((r.sign_exp & 0x7FFF) == 0 && r.sig != 0) ctx.flags |= kFlagUnderflow;  // "inexact" and tiny
        return r;
    }
    const detail::Packed q =
        detail::round_pack(p.neg, p.e, p.m - 1, detail::kF80Spec, 64, detail::Flavor::X87Reg, ctx);
    return detail::pack_f80(q);
}

// ---- argument reduction for the trigonometric functions --------------------------------------

struct Reduced {
    W r;         // x - q * pi66/2, |r| <= pi66/4
    unsigned q;  // quotient mod 4
};

// |x| < 2^63 (finite, nonzero). Exact: x = X * 2^(exp - 63); in units of 2^-67,
// x = X << (exp + 4), and pi66/2 = kPi66 (a 68-bit integer).
Reduced reduce(const Unpacked& u) {
    const int32_t s = u.exp + 4;  // shift of X into units of 2^-67
    if (s < 0) return Reduced{from_unpacked(u), 0};  // |x| < 2^-3 < pi/4
    u128 rem = u.sig % kPi66;
    unsigned q = unsigned(u.sig / kPi66);
    int32_t left = s;
    while (left > 0) {
        const int k = left > 56 ? 56 : left;
        rem <<= k;
        q = (q << k) + unsigned(rem / kPi66);
        rem %= kPi66;
        left -= k;
    }
    bool negative = false;
    if (2 * rem > kPi66) {  // nearest quotient: r in (-pi66/4, pi66/4]
        rem = kPi66 - rem;
        negative = true;
        ++q;
    }
    W r = from_int(rem, -67, negative ^ u.sign);
    if (u.sign) q = 0u - q;
    return Reduced{r, q & 3};
}

// Shared front end of FSIN/FCOS/FSINCOS/FPTAN: specials, range, DE.
enum class Trig { Sin, Cos, Tan };
struct TrigInput {
    bool done;  // result (NaN/indefinite) already decided
    f80 result;
    Unpacked u;
};

TrigInput trig_input(f80 x, Context& ctx, bool& out_of_range) {
    ctx.c1 = false;
    out_of_range = false;
    TrigInput in{false, {}, detail::unpack_f80(x)};
    const Unpacked& u = in.u;
    if (u.kind == Kind::Unsupported || u.kind == Kind::Inf) {
        ctx.flags |= kFlagInvalid;
        in.done = true;
        in.result = kF80DefaultNaN;
    } else if (u.kind == Kind::NaN) {
        in.done = true;
        in.result = detail::propagate_nan_x87(u, ctx);
    } else if (u.kind == Kind::Finite && u.exp >= 63) {
        out_of_range = true;
        in.done = true;
        in.result = x;
    } else if (u.denormal) {
        ctx.flags |= kFlagDenormal;
    }
    return in;
}

W trig_value(Trig f, const Reduced& red) {
    const unsigned q = red.q;
    switch (f) {
        case Trig::Sin: {
            const W v = (q & 1) ? cos_series(red.r) : sin_series(red.r);
            return (q & 2) ? neg(v) : v;
        }
        case Trig::Cos: {
            const W v = (q & 1) ? sin_series(red.r) : cos_series(red.r);
            return ((q + 1) & 2) ? neg(v) : v;
        }
        case Trig::Tan: {
            const W s = sin_series(red.r), c = cos_series(red.r);
            return (q & 1) ? neg(div(c, s)) : div(s, c);
        }
    }
    return W{};
}

// Tiny arguments take shortcuts on Intel hardware (measured; the SDM says nothing):
// below 2^-68 FSIN and FPTAN return x and FCOS returns 1 unrounded (PE, UE for a
// denormal x, C1 = 0, whatever the rounding mode), and for 2^-68 <= |x| < 2^-33
// FPTAN rounds a value a hair below |x|, as if it computed the sine.
constexpr int32_t kTinyShortcut = -69, kTanAsSine = -34;

f80 unrounded_tiny(const Unpacked& u, Context& ctx) {  // x itself, inexact
    const f80 r = round_exact(from_unpacked(u), ctx);
    ctx.flags |= kFlagInexact;
    if ((r.sign_exp & 0x7FFF) == 0) ctx.flags |= kFlagUnderflow;
    ctx.c1 = false;
    return r;
}
f80 unrounded_one(Context& ctx) {
    ctx.flags |= kFlagInexact;
    ctx.c1 = false;
    return f80{1ull << 63, 0x3FFF};
}

f80 trig(Trig f, f80 x, Context& ctx, bool& out_of_range) {
    const TrigInput in = trig_input(x, ctx, out_of_range);
    if (in.done) return in.result;
    if (in.u.kind == Kind::Zero) return f == Trig::Cos ? f80{1ull << 63, 0x3FFF} : x;
    if (in.u.exp <= kTinyShortcut) return f == Trig::Cos ? unrounded_one(ctx) : unrounded_tiny(in.u, ctx);
    if (f == Trig::Tan && in.u.exp <= kTanAsSine) {
        const W w = from_unpacked(in.u);
        return round_inexact(W{w.neg, w.e, w.m - 1}, ctx);
    }
    return round_inexact(trig_value(f, reduce(in.u)), ctx);
}

// The invalid-operation result: IE and the default (real indefinite) NaN.
f80 invalid_operation(Context& ctx) {
    ctx.flags |= kFlagInvalid;
    return kF80DefaultNaN;
}

// The cases every two-operand function (FPATAN, FYL2X, FYL2XP1) settles first: an
// unsupported encoding is invalid; a NaN operand propagates (SDM Vol. 1, 4.8.3.5).
bool two_operand_nan_or_unsupported(const Unpacked& uy, const Unpacked& ux, Context& ctx, f80& out) {
    if (uy.kind == Kind::Unsupported || ux.kind == Kind::Unsupported) {
        out = invalid_operation(ctx);
        return true;
    }
    if (uy.kind == Kind::NaN || ux.kind == Kind::NaN) {
        out = detail::propagate_nan_x87(uy, ux, ctx);
        return true;
    }
    return false;
}

}  // namespace

f80 f80_sin(f80 x, Context& ctx, bool& oor) { return trig(Trig::Sin, x, ctx, oor); }
f80 f80_cos(f80 x, Context& ctx, bool& oor) { return trig(Trig::Cos, x, ctx, oor); }
f80 f80_tan(f80 x, Context& ctx, bool& oor) { return trig(Trig::Tan, x, ctx, oor); }

// Both values are rounded; the flags are those of the two roundings together and
// C1 is the cosine's (the value pushed last), as on hardware.
SinCos f80_sincos(f80 x, Context& ctx, bool& oor) {
    const TrigInput in = trig_input(x, ctx, oor);
    if (in.done) return SinCos{in.result, in.result};
    if (in.u.kind == Kind::Zero) return SinCos{x, f80{1ull << 63, 0x3FFF}};
    if (in.u.exp <= kTinyShortcut) {
        const f80 s = unrounded_tiny(in.u, ctx);
        return SinCos{s, unrounded_one(ctx)};
    }
    const Reduced red = reduce(in.u);
    const f80 s = round_inexact(trig_value(Trig::Sin, red), ctx);
    ctx.c1 = false;
    const f80 c = round_inexact(trig_value(Trig::Cos, red), ctx);
    return SinCos{s, c};
}

// FPATAN (SDM Vol. 2A, FPATAN Table 3-29 for zeros and infinities).
f80 f80_atan2(f80 y, f80 x, Context& ctx) {
    ctx.c1 = false;
    const Unpacked uy = detail::unpack_f80(y), ux = detail::unpack_f80(x);
    f80 early;
    if (two_operand_nan_or_unsupported(uy, ux, ctx, early)) return early;
    if (uy.denormal || ux.denormal) ctx.flags |= kFlagDenormal;
    const W pi = from_const(kPi);
    W r;
    if (uy.kind == Kind::Zero) {
        if (!ux.sign) return detail::f80_zero(uy.sign);  // +0, +x: +-0 exactly
        r = pi;                                          // -0, -x: +-pi
    } else if (uy.kind == Kind::Inf) {
        if (ux.kind == Kind::Inf) r = ux.sign ? mul(pi, from_int(3, -2)) : mul_pow2(pi, -2);
        else r = mul_pow2(pi, -1);
    } else if (ux.kind == Kind::Inf) {
        if (!ux.sign) return detail::f80_zero(uy.sign);
        r = pi;
    } else if (ux.kind == Kind::Zero) {
        r = mul_pow2(pi, -1);
    } else {
        const W wy = W{false, uy.exp, u128(uy.sig) << 64}, wx = W{false, ux.exp, u128(ux.sig) << 64};
        const bool swap = wy.e > wx.e || (wy.e == wx.e && wy.m > wx.m);
        W a = swap ? sub(mul_pow2(pi, -1), atan_unit(div(wx, wy))) : atan_unit(div(wy, wx));
        if (ux.sign) a = sub(pi, a);
        r = a;
    }
    r.neg = uy.sign;
    return round_inexact(r, ctx);
}

// FYL2X (SDM Vol. 2A, FYL2X Table 3-47).
f80 f80_yl2x(f80 y, f80 x, Context& ctx) {
    ctx.c1 = false;
    const Unpacked uy = detail::unpack_f80(y), ux = detail::unpack_f80(x);
    f80 early;
    if (two_operand_nan_or_unsupported(uy, ux, ctx, early)) return early;
    auto invalid = [&] { return invalid_operation(ctx); };
    if (ux.sign && ux.kind != Kind::Zero) return invalid();  // log of a negative number
    if (ux.kind == Kind::Zero) {
        if (uy.kind == Kind::Zero) return invalid();
        if (uy.kind == Kind::Finite) ctx.flags |= kFlagDivByZero;
        return detail::f80_inf(!uy.sign);  // y * -inf
    }
    if (ux.kind == Kind::Inf) {
        if (uy.kind == Kind::Zero) return invalid();
        if (uy.denormal) ctx.flags |= kFlagDenormal;
        return detail::f80_inf(uy.sign);
    }
    // x finite positive. log2(1) = +0: y * 0 is invalid for an infinite y.
    const bool x_is_one = ux.exp == 0 && ux.sig == (1ull << 63);
    if (uy.kind == Kind::Inf) {
        if (x_is_one) return invalid();
        if (ux.denormal) ctx.flags |= kFlagDenormal;
        return detail::f80_inf(uy.sign ^ (ux.exp < 0));
    }
    if (uy.denormal || ux.denormal) ctx.flags |= kFlagDenormal;
    if (uy.kind == Kind::Zero) return detail::f80_zero(uy.sign ^ (ux.exp < 0));
    const W wy = from_unpacked(uy);
    if (ux.sig == (1ull << 63)) {  // a power of two
        if (ux.exp == 0) return detail::f80_zero(uy.sign);
        return power_of_two_log(wy, ux.exp, ctx);
    }
    return round_inexact(mul(wy, log2_of(from_unpacked(ux))), ctx);
}

// FYL2XP1 (SDM Vol. 2A, FYL2XP1 Table 3-48); operands outside the documented
// range |x| < 1 - sqrt(2)/2 are computed the same way.
f80 f80_yl2xp1(f80 y, f80 x, Context& ctx) {
    ctx.c1 = false;
    const Unpacked uy = detail::unpack_f80(y), ux = detail::unpack_f80(x);
    f80 early;
    if (two_operand_nan_or_unsupported(uy, ux, ctx, early)) return early;
    auto invalid = [&] { return invalid_operation(ctx); };
    // x <= -1 (undefined by the SDM; as measured on hardware): -inf is invalid; for a
    // finite x, y = 0 or inf gives -y, any other y returns x unchanged with PE.
    const W wx = ux.kind == Kind::Finite ? from_unpacked(ux) : W{};
    if (ux.sign && ux.kind == Kind::Inf) return invalid();
    if (ux.sign && ux.kind == Kind::Finite && ux.exp >= 0) {
        if (uy.kind == Kind::Zero) return detail::f80_zero(!uy.sign);
        if (uy.kind == Kind::Inf) return detail::f80_inf(!uy.sign);
        if (uy.denormal) ctx.flags |= kFlagDenormal;
        ctx.flags |= kFlagInexact;
        return x;
    }
    if (ux.kind == Kind::Zero) {  // log2(1 + 0) = 0, with x's sign
        if (uy.kind == Kind::Inf) return invalid();
        if (uy.denormal) ctx.flags |= kFlagDenormal;
        return detail::f80_zero(uy.sign ^ ux.sign);
    }
    if (ux.kind == Kind::Inf) {  // +inf
        if (uy.kind == Kind::Zero) return invalid();
        if (uy.denormal) ctx.flags |= kFlagDenormal;
        return detail::f80_inf(uy.sign);
    }
    if (uy.kind == Kind::Inf) {
        if (ux.denormal) ctx.flags |= kFlagDenormal;
        return detail::f80_inf(uy.sign ^ ux.sign);
    }
    if (uy.denormal || ux.denormal) ctx.flags |= kFlagDenormal;
    if (uy.kind == Kind::Zero) return detail::f80_zero(uy.sign ^ ux.sign);
    const W wy = from_unpacked(uy);
    // 1 + x exactly when it fits (|x| >= 2^-60): a power of two gives an exact result.
    if (ux.exp >= -60) {
        const W w = add(kOne, wx);
        if (w.m == (u128(1) << 127)) return power_of_two_log(wy, w.e, ctx);
    }
    const W s = div(wx, add(from_int(2), wx));  // log(1+x) = 2 atanh(x / (2 + x))
    W l;
    if (s.e < -3) l = mul(ln_from_s(s), from_const(kLog2E));  // |s| < 1/8
    else l = log2_of(add(kOne, wx));
    return round_inexact(mul(wy, l), ctx);
}

// F2XM1 (SDM Vol. 2A, F2XM1 Table 3-19): 2^x - 1.
f80 f80_2xm1(f80 x, Context& ctx) {
    ctx.c1 = false;
    const Unpacked u = detail::unpack_f80(x);
    if (u.kind == Kind::Unsupported) {
        ctx.flags |= kFlagInvalid;
        return kF80DefaultNaN;
    }
    if (u.kind == Kind::NaN) return detail::propagate_nan_x87(u, ctx);
    if (u.kind == Kind::Zero) return x;
    if (u.kind == Kind::Inf) return u.sign ? f80{1ull << 63, 0xBFFF} : x;  // -1, +inf
    if (u.denormal) ctx.flags |= kFlagDenormal;
    const W wx = from_unpacked(u);
    // |x| = 1: 1 or -1/2 exactly, PE set all the same. Outside -1..1 (undefined by
    // the SDM) the hardware returns x unchanged with PE.
    if (u.exp >= 0) {
        ctx.flags |= kFlagInexact;
        if (u.exp == 0 && u.sig == (1ull << 63)) return u.sign ? f80{1ull << 63, 0xBFFE} : x;
        return x;
    }
    // t = x ln 2; for |t| >= 1/2 halve it and square back up:
    // e^(2t) - 1 = (e^t - 1)(e^t + 1).
    W t = mul(wx, from_const(kLn2));
    int halvings = 0;
    while (t.e >= -1) {
        t.e -= 1;
        ++halvings;
    }
    W em1 = expm1_series(t);
    for (int i = 0; i < halvings; ++i) em1 = mul(em1, add(em1, from_int(2)));
    return round_inexact(em1, ctx);
}

}  // namespace kestrel::interp::fpu
