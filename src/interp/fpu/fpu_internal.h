// Internal representation shared by the softfloat implementation files.
//
// A finite nonzero operand is unpacked to (sign, exp, sig) with sig normalised
// (bit 63 set) and value = (-1)^sign * sig * 2^(exp - 63), whatever its format;
// denormals (and x87 pseudo-denormals) are normalised here, with `denormal`
// remembering that the DE flag applies. NaN payloads are kept aligned as an
// 80-bit significand (bit 63 integer bit, bit 62 quiet bit), so converting a
// NaN between formats is a shift.
#pragma once

#include "interp/fpu/softfloat.h"

namespace kestrel::interp::fpu::detail {

using u128 = unsigned __int128;

inline int clz64(uint64_t x) { return x ? __builtin_clzll(x) : 64; }
inline int clz128(u128 x) {
    const uint64_t hi = uint64_t(x >> 64);
    return hi ? __builtin_clzll(hi) : 64 + clz64(uint64_t(x));
}
// Shift right, OR-ing every bit shifted out into bit 0 ("sticky" jamming).
inline u128 shift_right_jam(u128 x, int64_t n) {
    if (n <= 0) return x;
    if (n >= 128) return x != 0;
    return (x >> n) | u128((x << (128 - n)) != 0);
}

// Exponent range of a destination format. Precision is passed separately so
// the x87 can round to 24/53 bits inside the 15-bit exponent range.
struct FormatSpec {
    int32_t bias;
    int32_t exp_all_ones;  // biased exponent of infinities/NaNs
    int precision;         // significand bits including the integer bit
};
inline constexpr FormatSpec kF32Spec{127, 0xFF, 24};
inline constexpr FormatSpec kF64Spec{1023, 0x7FF, 53};
inline constexpr FormatSpec kF80Spec{16383, 0x7FFF, 64};

enum class Kind : uint8_t { Zero, Finite, Inf, NaN, Unsupported };

struct Unpacked {
    Kind kind = Kind::Zero;
    bool sign = false;
    bool denormal = false;  // a denormal (or pseudo-denormal) input: DE applies
    bool snan = false;
    int32_t exp = 0;
    uint64_t sig = 0;  // finite: normalised; NaN: payload as an f80 significand
};

Unpacked unpack_f80(f80 a);
Unpacked unpack_f32(f32 a, bool daz);
Unpacked unpack_f64(f64 a, bool daz);

// Who is rounding: decides FTZ (SSE), C1 (x87) and the unmasked OE/UE bias
// adjustment (x87 register destinations only).
enum class Flavor : uint8_t { Sse, X87Reg, X87Mem };

// A rounded result: bexp is the biased exponent field, sig has the integer bit
// at bit 63 (clear for denormals and zeros); infinities are {exp_all_ones, 1<<63}.
struct Packed {
    bool sign;
    int32_t bexp;
    uint64_t sig;
};

// Rounds (-1)^sign * sig * 2^(exp - 127) (sig need not be normalised; the
// low bits may carry a sticky bit) to `precision` bits in the exponent range
// of fs, raising PE/UE/OE (and C1) in ctx. The single rounding routine.
Packed round_pack(bool sign, int32_t exp, u128 sig, const FormatSpec& fs, int precision,
                  Flavor flavor, Context& ctx);

inline f80 pack_f80(const Packed& p) {
    return f80{p.sig, uint16_t((unsigned(p.sign) << 15) | unsigned(p.bexp))};
}
inline f64 pack_f64(const Packed& p) {
    return (uint64_t(p.sign) << 63) | (uint64_t(p.bexp) << 52) | ((p.sig >> 11) & ((1ull << 52) - 1));
}
inline f32 pack_f32(const Packed& p) {
    return (uint32_t(p.sign) << 31) | (uint32_t(p.bexp) << 23) | uint32_t((p.sig >> 40) & 0x7FFFFF);
}

// Quiet NaNs built from an f80-aligned payload (the quiet bit is forced).
inline f80 nan_f80(bool sign, uint64_t payload) {
    return f80{payload | 0xC000000000000000ull, uint16_t(0x7FFF | (unsigned(sign) << 15))};
}
inline f64 nan_f64(bool sign, uint64_t payload) {
    return (uint64_t(sign) << 63) | 0x7FF8000000000000ull | ((payload >> 11) & ((1ull << 51) - 1));
}
inline f32 nan_f32(bool sign, uint64_t payload) {
    return (uint32_t(sign) << 31) | 0x7FC00000u | uint32_t((payload >> 40) & 0x3FFFFF);
}

inline f80 f80_zero(bool sign) { return f80{0, uint16_t(unsigned(sign) << 15)}; }
inline f80 f80_inf(bool sign) { return f80{1ull << 63, uint16_t(0x7FFF | (unsigned(sign) << 15))}; }
inline f64 f64_zero(bool sign) { return uint64_t(sign) << 63; }
inline f64 f64_inf(bool sign) { return (uint64_t(sign) << 63) | 0x7FF0000000000000ull; }
inline f32 f32_zero(bool sign) { return uint32_t(sign) << 31; }
inline f32 f32_inf(bool sign) { return (uint32_t(sign) << 31) | 0x7F800000u; }

// x87 NaN propagation for two operands, at least one a NaN (SDM Vol. 1 Table 4-7).
f80 propagate_nan_x87(const Unpacked& a, const Unpacked& b, Context& ctx);
// One-operand NaN: quiet it, IE if it was signalling.
inline f80 propagate_nan_x87(const Unpacked& a, Context& ctx) {
    if (a.snan) ctx.flags |= kFlagInvalid;
    return nan_f80(a.sign, a.sig);
}

// Precision control as a significand width.
inline int x87_precision_bits(const Context& ctx) {
    switch (ctx.precision) {
        case Precision::Single: return 24;
        case Precision::Double: return 53;
        default: return 64;
    }
}

// Generic access to the two SSE formats, for templates.
struct F32 {
    using T = f32;
    static constexpr const FormatSpec& spec = kF32Spec;
    static Unpacked unpack(T a, bool daz) { return unpack_f32(a, daz); }
    static T pack(const Packed& p) { return pack_f32(p); }
    static T nan(bool s, uint64_t payload) { return nan_f32(s, payload); }
    static T zero(bool s) { return f32_zero(s); }
    static T inf(bool s) { return f32_inf(s); }
    static constexpr T kDefaultNaN = kF32DefaultNaN;
    static constexpr T kSignBit = 0x80000000u;
    static constexpr int kFracBits = 23;
};
struct F64 {
    using T = f64;
    static constexpr const FormatSpec& spec = kF64Spec;
    static Unpacked unpack(T a, bool daz) { return unpack_f64(a, daz); }
    static T pack(const Packed& p) { return pack_f64(p); }
    static T nan(bool s, uint64_t payload) { return nan_f64(s, payload); }
    static T zero(bool s) { return f64_zero(s); }
    static T inf(bool s) { return f64_inf(s); }
    static constexpr T kDefaultNaN = kF64DefaultNaN;
    static constexpr T kSignBit = 0x8000000000000000ull;
    static constexpr int kFracBits = 52;
};

// SSE NaN propagation: the first NaN operand, quieted; IE for any SNaN
// (SDM Vol. 1 §4.8.3.5 Table 4-7 "SSE" column, §11.5.2.1).
template <class F>
typename F::T propagate_nan_sse(const Unpacked& a, const Unpacked& b, Context& ctx) {
    if (a.snan || b.snan) ctx.flags |= kFlagInvalid;
    const Unpacked& n = a.kind == Kind::NaN ? a : b;
    return F::nan(n.sign, n.sig);
}

// |u| (finite, nonzero) rounded to an integer in `mode` (with u's sign for
// the directed modes). too_big: the magnitude is 2^64 or more.
struct IntRounding {
    uint64_t mag;
    bool inexact;
    bool up;  // the magnitude was rounded up
    bool too_big;
};
IntRounding round_to_integer(const Unpacked& u, Rounding mode);

// Integer conversion core: rounds (-1)^sign * sig * 2^(exp-63) to an integer of
// `bits` bits (16/32/64); out of range -> IE and indefinite.
int64_t to_int(const Unpacked& u, int bits, Rounding mode, Flavor flavor, Context& ctx);

}  // namespace kestrel::interp::fpu::detail
