// Comparisons (FCOM/FUCOM family, COMISS/UCOMISS), SSE MIN/MAX and the
// FXAM classification.
#include "interp/fpu/targets.h"

namespace kestrel::interp::fpu::detail {

Ordering compare_values(const Unpacked& a, const Unpacked& b) {
    if (a.kind == Kind::Zero && b.kind == Kind::Zero) return Ordering::Equal;
    if (a.sign != b.sign) return a.sign ? Ordering::Less : Ordering::Greater;
    // Same sign: compare magnitudes (zero < finite < infinity).
    auto rank = [](const Unpacked& u) { return u.kind == Kind::Zero ? 0 : u.kind == Kind::Finite ? 1 : 2; };
    int c = rank(a) - rank(b);
    if (c == 0 && a.kind == Kind::Finite) {
        if (a.exp != b.exp) c = a.exp < b.exp ? -1 : 1;
        else if (a.sig != b.sig) c = a.sig < b.sig ? -1 : 1;
    }
    if (c == 0) return Ordering::Equal;
    if (a.sign) c = -c;
    return c < 0 ? Ordering::Less : Ordering::Greater;
}

namespace {

// SDM Vol. 2 FCOM/FUCOM and COMISS/UCOMISS: unordered if either operand is a
// NaN; IE for an SNaN, for any NaN if `signaling`, and (x87) for unsupported
// encodings; DE for denormal operands.
Ordering compare(const Unpacked& ua, const Unpacked& ub, bool signaling, Context& ctx) {
    if (ua.kind == Kind::Unsupported || ub.kind == Kind::Unsupported) {
        ctx.flags |= kFlagInvalid;
        return Ordering::Unordered;
    }
    if (ua.kind == Kind::NaN || ub.kind == Kind::NaN) {
        if (signaling || ua.snan || ub.snan) ctx.flags |= kFlagInvalid;
        return Ordering::Unordered;
    }
    raise_denormal(ua, ub, ctx);
    return compare_values(ua, ub);
}

// SDM Vol. 2 MINSS/MAXSS: "if only one value is a NaN (SNaN or QNaN) ... the
// second operand ... is written"; the same for two NaNs and for two zeros of
// either sign. IE for any NaN. Under DAZ a denormal operand is a zero.
template <class F>
typename F::T minmax(typename F::T a, typename F::T b, bool is_max, Context& ctx) {
    const Unpacked ua = F::unpack(a, ctx.daz), ub = F::unpack(b, ctx.daz);
    auto effective = [](typename F::T raw, const Unpacked& u) {
        return u.kind == Kind::Zero ? F::zero(u.sign) : raw;
    };
    if (ua.kind == Kind::NaN || ub.kind == Kind::NaN) {
        ctx.flags |= kFlagInvalid;
        return effective(b, ub);
    }
    raise_denormal(ua, ub, ctx);
    const Ordering o = compare_values(ua, ub);
    const bool take_a = is_max ? o == Ordering::Greater : o == Ordering::Less;
    if (ua.kind == Kind::Zero && ub.kind == Kind::Zero) return effective(b, ub);
    return take_a ? effective(a, ua) : effective(b, ub);
}

}  // namespace
}  // namespace kestrel::interp::fpu::detail

namespace kestrel::interp::fpu {
using namespace detail;

Ordering f80_compare(f80 a, f80 b, bool signaling, Context& ctx) {
    ctx.c1 = false;
    return compare(unpack_f80(a), unpack_f80(b), signaling, ctx);
}
Ordering f80_compare_f32(f80 st0, f32 m, bool signaling, Context& ctx) {
    ctx.c1 = false;
    return compare(unpack_f80(st0), unpack_f32(m, false), signaling, ctx);
}
Ordering f80_compare_f64(f80 st0, f64 m, bool signaling, Context& ctx) {
    ctx.c1 = false;
    return compare(unpack_f80(st0), unpack_f64(m, false), signaling, ctx);
}
Ordering f32_compare(f32 a, f32 b, bool signaling, Context& ctx) {
    return compare(unpack_f32(a, ctx.daz), unpack_f32(b, ctx.daz), signaling, ctx);
}
Ordering f64_compare(f64 a, f64 b, bool signaling, Context& ctx) {
    return compare(unpack_f64(a, ctx.daz), unpack_f64(b, ctx.daz), signaling, ctx);
}

f32 f32_min(f32 a, f32 b, Context& ctx) { return minmax<F32>(a, b, false, ctx); }
f32 f32_max(f32 a, f32 b, Context& ctx) { return minmax<F32>(a, b, true, ctx); }
f64 f64_min(f64 a, f64 b, Context& ctx) { return minmax<F64>(a, b, false, ctx); }
f64 f64_max(f64 a, f64 b, Context& ctx) { return minmax<F64>(a, b, true, ctx); }

// SDM Vol. 2 FXAM; unsupported encodings per Vol. 1 §8.2.2 Table 8-3.
F80Class f80_classify(f80 a) {
    const Unpacked u = unpack_f80(a);
    switch (u.kind) {
        case Kind::Unsupported: return F80Class::Unsupported;
        case Kind::NaN: return F80Class::NaN;
        case Kind::Inf: return F80Class::Infinity;
        case Kind::Zero: return F80Class::Zero;
        default: return u.denormal ? F80Class::Denormal : F80Class::Normal;
    }
}

uint16_t f80_fxam_condition(f80 a) {
    // C3 C2 C0: Unsupported 000, NaN 001, Normal 010, Infinity 011, Zero 100,
    // Empty 101, Denormal 110; C1 = sign.
    static constexpr uint8_t kC320[] = {0b000, 0b001, 0b010, 0b011, 0b100, 0b110};
    const unsigned bits = kC320[unsigned(f80_classify(a))];
    uint16_t sw = 0;
    if (bits & 4) sw |= 1u << 14;  // C3
    if (bits & 2) sw |= 1u << 10;  // C2
    if (bits & 1) sw |= 1u << 8;   // C0
    if (a.sign_exp >> 15) sw |= 1u << 9;  // C1
    return sw;
}

}  // namespace kestrel::interp::fpu
