// Add, subtract, multiply, divide and square root for the x87 register and
// the SSE scalar formats. Exact intermediate results are formed in 128-bit
// integers (low bits jammed into a sticky bit) and rounded once by round_pack.
#include "interp/fpu/targets.h"

#include <utility>

namespace kestrel::interp::fpu::detail {
namespace {

// A finite nonzero exact (or sticky-jammed) result: (-1)^sign * sig * 2^(exp-127).
struct Raw {
    bool sign;
    int32_t exp;
    u128 sig;
};

Raw from_unpacked(const Unpacked& u) { return Raw{u.sign, u.exp, u128(u.sig) << 64}; }

// Sum of two finite nonzero values (b's sign already flipped for a subtraction).
// Both significands sit at bit 126 so the sum cannot overflow; the smaller one
// is shifted right with jamming, which is exact enough because at least 62 bits
// separate the sticky bit from the rounding position.
Raw add_finite(const Unpacked& a, const Unpacked& b) {
    const Unpacked* x = &a;
    const Unpacked* y = &b;
    if (b.exp > a.exp || (b.exp == a.exp && b.sig > a.sig)) std::swap(x, y);
    const int64_t d = int64_t(x->exp) - y->exp;
    const u128 X = u128(x->sig) << 63;
    const u128 Y = shift_right_jam(u128(y->sig) << 63, d);
    return Raw{x->sign, x->exp + 1, x->sign == y->sign ? X + Y : X - Y};
}

Raw mul_finite(const Unpacked& a, const Unpacked& b) {
    return Raw{bool(a.sign ^ b.sign), a.exp + b.exp + 1, u128(a.sig) * b.sig};
}

// floor(a.sig * 2^127 / b.sig) by two 128/64-bit divisions; sticky from the remainder.
Raw div_finite(const Unpacked& a, const Unpacked& b) {
    const u128 n1 = u128(a.sig) << 63;
    const uint64_t q1 = uint64_t(n1 / b.sig);
    const uint64_t r1 = uint64_t(n1 % b.sig);
    const u128 n2 = u128(r1) << 64;
    const uint64_t q2 = uint64_t(n2 / b.sig);
    const uint64_t r2 = uint64_t(n2 % b.sig);
    return Raw{bool(a.sign ^ b.sign), a.exp - b.exp, (u128(q1) << 64) | q2 | (r2 != 0)};
}

// floor(sqrt(m * 4^k)) digit by digit; `exact` tells whether the remainder is 0.
u128 isqrt_scaled(u128 m, int k, bool& exact) {
    const int bits = 128 - clz128(m);
    const int pairs = (bits + 1) / 2;
    u128 root = 0, rem = 0;
    for (int i = pairs - 1 + k; i >= 0; --i) {
        const unsigned pair = i >= k ? unsigned(m >> (2 * (i - k))) & 3 : 0;
        rem = (rem << 2) | pair;
        const u128 trial = (root << 2) | 1;
        root <<= 1;
        if (rem >= trial) {
            rem -= trial;
            root |= 1;
        }
    }
    exact = rem == 0;
    return root;
}

Raw sqrt_finite(const Unpacked& a) {
    // value = sig * 2^e with e = exp - 63; make e even, then
    // sqrt = floor(sqrt(m * 4^33)) * 2^(e/2 - 33), a root of 65-66 bits.
    int32_t e = a.exp - 63;
    u128 m = a.sig;
    if (e & 1) {
        m <<= 1;
        e -= 1;
    }
    bool exact;
    const u128 root = isqrt_scaled(m, 33, exact);
    // (root << 60) | sticky; value = sig * 2^(e/2 - 93) = sig * 2^(exp' - 127).
    return Raw{false, e / 2 + 34, (root << 60) | u128(!exact)};
}

template <class Tg>
typename Tg::T round_raw(const Raw& r, Context& ctx) {
    return Tg::round(r.sign, r.exp, r.sig, ctx);
}

template <class Tg>
typename Tg::T addsub(Unpacked ua, Unpacked ub, bool subtract, Context& ctx) {
    Tg::begin(ctx);
    typename Tg::T out;
    if (operand_specials<Tg>(ua, ub, out, ctx)) return out;
    ub.sign ^= subtract;
    if (ua.kind == Kind::Inf && ub.kind == Kind::Inf && ua.sign != ub.sign) {  // inf - inf
        ctx.flags |= kFlagInvalid;
        return Tg::default_nan();
    }
    raise_denormal(ua, ub, ctx);
    if (ua.kind == Kind::Inf) return Tg::inf(ua.sign);
    if (ub.kind == Kind::Inf) return Tg::inf(ub.sign);
    // Exact zero sums are +0, or -0 when rounding down (IEEE 754 §6.3).
    const bool zero_sign = ctx.rounding == Rounding::Down;
    if (ua.kind == Kind::Zero && ub.kind == Kind::Zero)
        return Tg::zero(ua.sign == ub.sign ? ua.sign : zero_sign);
    // x + 0 is still rounded: precision control applies to it (x87), and
    // a denormal can be flushed by FTZ (SSE).
    if (ua.kind == Kind::Zero) return round_raw<Tg>(from_unpacked(ub), ctx);
    if (ub.kind == Kind::Zero) return round_raw<Tg>(from_unpacked(ua), ctx);
    const Raw r = add_finite(ua, ub);
    if (r.sig == 0) return Tg::zero(zero_sign);
    return round_raw<Tg>(r, ctx);
}

template <class Tg>
typename Tg::T mul(const Unpacked& ua, const Unpacked& ub, Context& ctx) {
    Tg::begin(ctx);
    typename Tg::T out;
    if (operand_specials<Tg>(ua, ub, out, ctx)) return out;
    const bool sign = ua.sign ^ ub.sign;
    const bool inf = ua.kind == Kind::Inf || ub.kind == Kind::Inf;
    const bool zero = ua.kind == Kind::Zero || ub.kind == Kind::Zero;
    if (inf && zero) {  // 0 * inf
        ctx.flags |= kFlagInvalid;
        return Tg::default_nan();
    }
    raise_denormal(ua, ub, ctx);
    if (inf) return Tg::inf(sign);
    if (zero) return Tg::zero(sign);
    return round_raw<Tg>(mul_finite(ua, ub), ctx);
}

template <class Tg>
typename Tg::T div(const Unpacked& ua, const Unpacked& ub, Context& ctx) {
    Tg::begin(ctx);
    typename Tg::T out;
    if (operand_specials<Tg>(ua, ub, out, ctx)) return out;
    const bool sign = ua.sign ^ ub.sign;
    if ((ua.kind == Kind::Inf && ub.kind == Kind::Inf) || (ua.kind == Kind::Zero && ub.kind == Kind::Zero)) {
        ctx.flags |= kFlagInvalid;  // inf / inf, 0 / 0
        return Tg::default_nan();
    }
    if (ub.kind == Kind::Zero && ua.kind != Kind::Inf) {
        ctx.flags |= kFlagDivByZero;
        return Tg::inf(sign);
    }
    raise_denormal(ua, ub, ctx);
    if (ua.kind == Kind::Inf) return Tg::inf(sign);
    if (ub.kind == Kind::Inf || ua.kind == Kind::Zero) return Tg::zero(sign);
    return round_raw<Tg>(div_finite(ua, ub), ctx);
}

template <class Tg>
typename Tg::T sqrt(const Unpacked& ua, Context& ctx) {
    Tg::begin(ctx);
    typename Tg::T out;
    if (operand_specials<Tg>(ua, out, ctx)) return out;
    if (ua.sign && ua.kind != Kind::Zero) {  // sqrt(-0) = -0; other negatives are invalid
        ctx.flags |= kFlagInvalid;
        return Tg::default_nan();
    }
    raise_denormal(ua, ctx);
    if (ua.kind == Kind::Zero) return Tg::zero(ua.sign);
    if (ua.kind == Kind::Inf) return Tg::inf(false);
    return round_raw<Tg>(sqrt_finite(ua), ctx);
}

template <class Tg>
typename Tg::T arith(X87Op op, const Unpacked& a, const Unpacked& b, Context& ctx) {
    switch (op) {
        case X87Op::Add: return addsub<Tg>(a, b, false, ctx);
        case X87Op::Sub: return addsub<Tg>(a, b, true, ctx);
        case X87Op::SubR: return addsub<Tg>(b, a, true, ctx);
        case X87Op::Mul: return mul<Tg>(a, b, ctx);
        case X87Op::Div: return div<Tg>(a, b, ctx);
        default: return div<Tg>(b, a, ctx);
    }
}

}  // namespace
}  // namespace kestrel::interp::fpu::detail

namespace kestrel::interp::fpu {
using namespace detail;

namespace {
template <class Tg>
typename Tg::T bin(X87Op op, typename Tg::T a, typename Tg::T b, Context& ctx) {
    return arith<Tg>(op, Tg::unpack(a, ctx), Tg::unpack(b, ctx), ctx);
}
}  // namespace

f80 f80_add(f80 a, f80 b, Context& ctx) { return bin<X87Target>(X87Op::Add, a, b, ctx); }
f80 f80_sub(f80 a, f80 b, Context& ctx) { return bin<X87Target>(X87Op::Sub, a, b, ctx); }
f80 f80_mul(f80 a, f80 b, Context& ctx) { return bin<X87Target>(X87Op::Mul, a, b, ctx); }
f80 f80_div(f80 a, f80 b, Context& ctx) { return bin<X87Target>(X87Op::Div, a, b, ctx); }
f80 f80_sqrt(f80 a, Context& ctx) { return sqrt<X87Target>(unpack_f80(a), ctx); }
f80 f80_arith(X87Op op, f80 st0, f80 src, Context& ctx) { return bin<X87Target>(op, st0, src, ctx); }
// The memory operand is unpacked in its own format so that its denormal and
// signalling-NaN state reach the operation (SDM Vol. 1 §4.9.2, Table 4-7).
f80 f80_arith_f32(X87Op op, f80 st0, f32 m, Context& ctx) {
    return arith<X87Target>(op, unpack_f80(st0), unpack_f32(m, false), ctx);
}
f80 f80_arith_f64(X87Op op, f80 st0, f64 m, Context& ctx) {
    return arith<X87Target>(op, unpack_f80(st0), unpack_f64(m, false), ctx);
}

f32 f32_add(f32 a, f32 b, Context& ctx) { return bin<Sse32>(X87Op::Add, a, b, ctx); }
f32 f32_sub(f32 a, f32 b, Context& ctx) { return bin<Sse32>(X87Op::Sub, a, b, ctx); }
f32 f32_mul(f32 a, f32 b, Context& ctx) { return bin<Sse32>(X87Op::Mul, a, b, ctx); }
f32 f32_div(f32 a, f32 b, Context& ctx) { return bin<Sse32>(X87Op::Div, a, b, ctx); }
f32 f32_sqrt(f32 a, Context& ctx) { return sqrt<Sse32>(unpack_f32(a, ctx.daz), ctx); }

f64 f64_add(f64 a, f64 b, Context& ctx) { return bin<Sse64>(X87Op::Add, a, b, ctx); }
f64 f64_sub(f64 a, f64 b, Context& ctx) { return bin<Sse64>(X87Op::Sub, a, b, ctx); }
f64 f64_mul(f64 a, f64 b, Context& ctx) { return bin<Sse64>(X87Op::Mul, a, b, ctx); }
f64 f64_div(f64 a, f64 b, Context& ctx) { return bin<Sse64>(X87Op::Div, a, b, ctx); }
f64 f64_sqrt(f64 a, Context& ctx) { return sqrt<Sse64>(unpack_f64(a, ctx.daz), ctx); }

}  // namespace kestrel::interp::fpu
