// Unpacking, the single rounding routine, and NaN propagation.
#include "interp/fpu/fpu_internal.h"

namespace kestrel::interp::fpu {

Context Context::from_fcw(uint16_t fcw) {
    Context c;
    c.masks = uint8_t(fcw & kAllFlags);
    const unsigned pc = (fcw >> 8) & 3;
    c.precision = pc == 0 ? Precision::Single : pc == 2 ? Precision::Double : Precision::Extended;
    c.rounding = Rounding((fcw >> 10) & 3);
    return c;
}

Context Context::from_mxcsr(uint32_t mxcsr) {
    Context c;
    c.masks = uint8_t((mxcsr >> 7) & kAllFlags);
    c.rounding = Rounding((mxcsr >> 13) & 3);
    c.daz = (mxcsr >> 6) & 1;
    c.ftz = (mxcsr >> 15) & 1;
    return c;
}

}  // namespace kestrel::interp::fpu

namespace kestrel::interp::fpu::detail {

// SDM Vol. 1 §8.2.2 / Table 8-3: the x87 accepts pseudo-denormals (exponent 0,
// integer bit 1) as denormals of exponent 1, and rejects pseudo-NaNs,
// pseudo-infinities and unnormals (integer bit 0 with a nonzero exponent) as
// invalid operands.
Unpacked unpack_f80(f80 a) {
    Unpacked u;
    u.sign = a.sign_exp >> 15;
    const int32_t e = a.sign_exp & 0x7FFF;
    const uint64_t s = a.sig;
    if (e == 0x7FFF) {
        if (!(s >> 63)) {
            u.kind = Kind::Unsupported;
        } else if ((s << 1) == 0) {
            u.kind = Kind::Inf;
        } else {
            u.kind = Kind::NaN;
            u.snan = !((s >> 62) & 1);
            u.sig = s;
        }
        return u;
    }
    if (e == 0) {
        if (s == 0) return u;  // zero
        const int lz = clz64(s);
        u.kind = Kind::Finite;
        u.denormal = true;
        u.exp = 1 - 16383 - lz;
        u.sig = s << lz;
        return u;
    }
    if (!(s >> 63)) {
        u.kind = Kind::Unsupported;
        return u;
    }
    u.kind = Kind::Finite;
    u.exp = e - 16383;
    u.sig = s;
    return u;
}

namespace {
template <int kExpBits, int kFracBits, typename T>
Unpacked unpack_ieee(T a, bool daz) {
    constexpr int kBias = (1 << (kExpBits - 1)) - 1;
    constexpr int kTotal = 1 + kExpBits + kFracBits;
    Unpacked u;
    u.sign = (a >> (kTotal - 1)) & 1;
    const int32_t e = int32_t((a >> kFracBits) & ((T(1) << kExpBits) - 1));
    const uint64_t frac = uint64_t(a & ((T(1) << kFracBits) - 1));
    const int up = 63 - kFracBits;  // shift that puts the fraction below bit 63
    if (e == (1 << kExpBits) - 1) {
        if (frac == 0) {
            u.kind = Kind::Inf;
        } else {
            u.kind = Kind::NaN;
            u.snan = !((frac >> (kFracBits - 1)) & 1);
            u.sig = (1ull << 63) | (frac << up);
        }
        return u;
    }
    if (e == 0) {
        if (frac == 0 || daz) return u;  // zero (DAZ: sign kept, no DE)
        const int lz = clz64(frac << up);
        u.kind = Kind::Finite;
        u.denormal = true;
        u.exp = 1 - kBias - lz;
        u.sig = (frac << up) << lz;
        return u;
    }
    u.kind = Kind::Finite;
    u.exp = e - kBias;
    u.sig = (1ull << 63) | (frac << up);
    return u;
}
}  // namespace

Unpacked unpack_f32(f32 a, bool daz) { return unpack_ieee<8, 23>(a, daz); }
Unpacked unpack_f64(f64 a, bool daz) { return unpack_ieee<11, 52>(a, daz); }

// The one rounding routine (IEEE 754 rounding as described in SDM Vol. 1
// §4.8.4; precision control §8.1.5.2).
//
// Underflow, SDM Vol. 1 §4.9.1.5 and §11.5.2.5 (checked against hardware by
// tests/fpu): the result is tiny if, rounded to `precision` bits with an
// unbounded exponent, it is below the smallest normal ("after rounding").
// Masked: the result is denormalised and rounded, UE only if also inexact;
// SSE with FTZ returns a signed zero with UE and PE. With x87 precision
// control the denormalised significand is rounded at the same bit of the
// 64-bit field as a normal one. Unmasked: UE for every tiny result, and an
// x87 register destination gets the exponent bias-adjusted by +24576.
//
// Overflow, §4.9.1.4: after rounding. Masked: infinity or the largest finite
// value depending on the rounding direction (Table 4-10); unmasked x87
// register destination: exponent bias-adjusted by -24576.
//
// If the bias-adjusted exponent is still out of range (FSCALE by a huge
// factor), the x87 returns a signed infinity (C1 = 1) or zero, whatever the
// rounding mode, with OE+PE or UE+PE (hardware).
Packed round_pack(bool sign, int32_t exp, u128 sig, const FormatSpec& fs, int precision,
                  Flavor flavor, Context& ctx) {
    constexpr int32_t kBiasAdjust = 24576;
    if (sig == 0) return Packed{sign, 0, 0};
    const int lz = clz128(sig);
    sig <<= lz;
    exp -= lz;

    const int shift = 128 - precision;  // bits below the result's last place
    const u128 lsb = u128(1) << shift;
    const u128 half = lsb >> 1;
    const u128 mask = lsb - 1;
    const Rounding rm = ctx.rounding;
    const bool x87 = flavor != Flavor::Sse;
    const bool ue_unmasked = !(ctx.masks & kFlagUnderflow);
    const bool oe_unmasked = !(ctx.masks & kFlagOverflow);

    auto round_up = [&](u128 s) -> bool {
        const u128 rest = s & mask;
        if (rest == 0) return false;
        switch (rm) {
            case Rounding::NearestEven: return rest > half || (rest == half && (s & lsb));
            case Rounding::Down: return sign;
            case Rounding::Up: return !sign;
            default: return false;
        }
    };

    int32_t bexp = exp + fs.bias;
    uint8_t raised = 0;
    bool tiny = false;
    bool denormalize = false;
    // Inexactness of the rounding with unbounded exponent: what SSE reports
    // as PE next to an unmasked OE/UE (SDM Vol. 1 §11.5.2.4), whose result
    // is not delivered.
    const bool inexact_unbounded = (sig & mask) != 0;
    if (bexp <= 0) {
        // Tiny after rounding unless rounding the unbounded-exponent result
        // carries it up to 2^emin.
        tiny = !(bexp == 0 && (sig | mask) == ~u128(0) && round_up(sig));
        if (tiny && flavor == Flavor::Sse && ctx.ftz && !ue_unmasked) {
            ctx.flags |= kFlagUnderflow | kFlagInexact;
            return Packed{sign, 0, 0};
        }
        if (tiny && flavor == Flavor::X87Reg && ue_unmasked) {
            if (bexp + kBiasAdjust <= 0) {  // out of range even when adjusted: a signed zero
                ctx.flags |= kFlagUnderflow | kFlagInexact;
                return Packed{sign, 0, 0};
            }
            bexp += kBiasAdjust;
            raised |= kFlagUnderflow;
        } else {
            denormalize = true;
        }
    }
    if (denormalize) {
        sig = shift_right_jam(sig, int64_t(1) - bexp);
        bexp = 0;
    }
    bool inexact = (sig & mask) != 0;
    const bool up = round_up(sig);
    sig &= ~mask;
    if (up) {
        sig += lsb;
        if (sig == 0) {  // carried out of the significand
            sig = u128(1) << 127;
            ++bexp;
        } else if (denormalize && (sig >> 127)) {
            bexp = 1;  // a denormal rounded up to the smallest normal
        }
    }
    if (tiny && (inexact || ue_unmasked)) {
        raised |= kFlagUnderflow;
        if (ue_unmasked && flavor == Flavor::Sse) inexact = inexact_unbounded;
    }
    if (bexp >= fs.exp_all_ones) {
        raised |= kFlagOverflow;
        if (flavor == Flavor::X87Reg && oe_unmasked) {
            if (bexp - kBiasAdjust >= fs.exp_all_ones) {  // out of range even when adjusted: infinity
                ctx.flags |= raised | kFlagInexact;
                ctx.c1 = true;
                return Packed{sign, fs.exp_all_ones, 1ull << 63};
            }
            bexp -= kBiasAdjust;
        } else {
            ctx.flags |= raised | (oe_unmasked && flavor == Flavor::Sse && !inexact ? 0 : kFlagInexact);
            const bool to_inf = rm == Rounding::NearestEven || (rm == Rounding::Up && !sign) ||
                                (rm == Rounding::Down && sign);
            if (to_inf) {
                if (x87) ctx.c1 = true;
                return Packed{sign, fs.exp_all_ones, 1ull << 63};
            }
            return Packed{sign, fs.exp_all_ones - 1, ~0ull << (64 - precision)};
        }
    }
    if (inexact) {
        raised |= kFlagInexact;
        if (x87 && up) ctx.c1 = true;
    }
    ctx.flags |= raised;
    return Packed{sign, bexp, uint64_t(sig >> 64)};
}

// SDM Vol. 1 Table 4-7 (x87 column): an SNaN and a QNaN give the QNaN; two
// NaNs of the same kind give the one with the larger significand (ties: the
// positive one); the result is always quiet; IE if either is an SNaN.
f80 propagate_nan_x87(const Unpacked& a, const Unpacked& b, Context& ctx) {
    const bool a_nan = a.kind == Kind::NaN, b_nan = b.kind == Kind::NaN;
    if (a.snan || b.snan) ctx.flags |= kFlagInvalid;
    const Unpacked* r;
    if (a_nan && b_nan) {
        if (a.snan != b.snan) {
            r = a.snan ? &b : &a;
        } else {
            const uint64_t ma = a.sig | (1ull << 62), mb = b.sig | (1ull << 62);
            if (ma != mb) r = ma > mb ? &a : &b;
            else r = (!a.sign || b.sign) ? &a : &b;
        }
    } else {
        r = a_nan ? &a : &b;
    }
    return nan_f80(r->sign, r->sig);
}

}  // namespace kestrel::interp::fpu::detail

namespace kestrel::interp::fpu {

Resolution x87_resolve(uint8_t raised, uint8_t masks, X87Kind kind) {
    const uint8_t unmasked = raised & ~masks & kAllFlags;
    // Compares set their condition codes whatever is unmasked, and an
    // unmasked DE does not stop FLD m32/m64 (hardware).
    if (kind == X87Kind::Compare) return Resolution{true, raised, unmasked != 0};
    const uint8_t pre = kFlagInvalid | kFlagDivByZero | (kind == X87Kind::Load ? 0 : kFlagDenormal);
    if (unmasked & pre) return Resolution{false, uint8_t(raised & (kFlagInvalid | kFlagDivByZero | kFlagDenormal)), true};
    const bool memory_destination = kind == X87Kind::Store;
    // A store to memory with an unmasked OE/UE writes nothing and records no
    // PE and no C1 (hardware).
    constexpr uint8_t kRange = kFlagOverflow | kFlagUnderflow;
    if (memory_destination && (unmasked & kRange)) return Resolution{false, uint8_t(raised & ~kFlagInexact), true};
    return Resolution{true, raised, unmasked != 0};
}

Resolution sse_resolve(uint8_t raised, uint8_t masks) {
    const uint8_t unmasked = raised & ~masks & kAllFlags;
    constexpr uint8_t kPre = kFlagInvalid | kFlagDivByZero | kFlagDenormal;
    if (unmasked & kPre) return Resolution{false, uint8_t(raised & kPre), true};
    // Post-computation: nothing written if anything is unmasked; the flags
    // are all recorded (with OE/UE unmasked, PE means the unbounded-exponent
    // rounding was inexact, which round_pack already reports).
    return Resolution{unmasked == 0, raised, unmasked != 0};
}

}  // namespace kestrel::interp::fpu
