// Kestrel software floating point: x87 80-bit extended precision and SSE
// 32/64-bit IEEE arithmetic with the exact results, flags and NaN rules of
// Intel hardware, computed with integer arithmetic only (no host FPU: the
// library builds with -mgeneral-regs-only), so the emulator gives the same
// results on any host. tests/fpu/fpu-difftest checks it bit for bit against
// the host's x87/SSE (and, on other hosts, against a hardware-verified hash).
//
// Design
// - Values are raw bit patterns: f32 = uint32_t, f64 = uint64_t, f80 = the
//   ten-byte x87 register/memory format with its explicit integer bit.
// - A Context carries the control state (rounding, x87 precision control,
//   SSE DAZ/FTZ, exception masks) and receives the flags each operation
//   raises (OR-ed into Context::flags, so callers wanting per-operation flags
//   clear it first) plus the x87 C1 "rounded up" bit of the last operation.
// - Functions named f80_* (and the f32/f64 <-> f80 conversions) follow the
//   x87 rules: precision control, x87 NaN propagation (Intel SDM Vol. 1
//   §4.8.3.5, Table 4-7), unsupported 80-bit encodings (§8.2.2, Table 8-3),
//   C1. Functions on f32/f64 only follow the SSE rules: DAZ, FTZ, first-source
//   NaN propagation (§11.5.2.2, Table 4-7 SSE column).
// - Every rounding goes through one routine parameterised by significand
//   width and exponent range (round_pack.cpp), so x87 precision control is
//   "round to 24/53 bits, keep the 15-bit exponent" (§8.1.5.2).
//
// Behaviour established against hardware (where the SDM is vague or silent):
// - Tininess is detected after rounding (§4.9.1.5) for x87 and SSE; masked,
//   UE needs an inexact result. Under x87 precision control 24/53 a tiny
//   result is denormalised first and rounded at the same bit of the 64-bit
//   significand as a normal one. FTZ flushes every tiny result, exact or
//   not, to a signed zero with UE+PE, but only while #U is masked.
// - Priorities (§4.9.2): unsupported encodings and NaN operands first, then
//   the operation's own invalid and divide-by-zero cases, then DE: x/0 with
//   a denormal x raises ZE alone, sqrt(-denormal) IE alone, NaN op denormal
//   no DE.
// - x87 NaNs: SNaN vs QNaN gives the QNaN; two of a kind give the larger
//   significand, ties the positive one. A NaN memory operand keeps its
//   signalling state (use f80_arith_f32/f64, not f32_to_f80 + f80_arith).
// - FST m32/m64 and FIST/FISTTP never raise DE; CVT(T)SS2SI apply DAZ and
//   raise no DE; ROUNDSS/SD raise no DE (DAZ applies); MINSS/MAXSS raise IE
//   for QNaNs too and return the second operand as read (DAZ-flushed).
// - A partial FPREM/FPREM1 (exponent difference D >= 64) reduces by
//   32 + D mod 32 bits and clears C0, C1, C3. FPREM with ST(1) = inf and
//   FSCALE with ST(1) = 0 return ST(0) unrounded (no UE for a denormal) but
//   re-encode a pseudo-denormal with exponent 1.
// - The reserved precision control value 01 acts as 64 bits.
// - Unmasked exceptions: see x87_resolve / sse_resolve below. The x87 bias
//   adjustment is ∓24576 (§4.9.1.4-5); if the adjusted exponent is still out
//   of range (FSCALE), the x87 returns ±inf (C1 = 1) or ±0 with OE/UE+PE.
#pragma once

#include <cstdint>

namespace kestrel::interp::fpu {

using f32 = uint32_t;
using f64 = uint64_t;

// x87 double extended precision, laid out as in memory (FSTP m80).
struct f80 {
    uint64_t sig = 0;       // bit 63 is the explicit integer bit
    uint16_t sign_exp = 0;  // bit 15 sign, bits 14:0 biased exponent (bias 16383)
    friend constexpr bool operator==(const f80&, const f80&) = default;
};

// Exception flags: same bit positions in the x87 status/control words and in
// MXCSR (flags 5:0, masks 12:7).
inline constexpr uint8_t kFlagInvalid = 0x01;    // IE
inline constexpr uint8_t kFlagDenormal = 0x02;   // DE
inline constexpr uint8_t kFlagDivByZero = 0x04;  // ZE
inline constexpr uint8_t kFlagOverflow = 0x08;   // OE
inline constexpr uint8_t kFlagUnderflow = 0x10;  // UE
inline constexpr uint8_t kFlagInexact = 0x20;    // PE
inline constexpr uint8_t kAllFlags = 0x3F;

// Encodings as in FCW.RC and MXCSR.RC.
enum class Rounding : uint8_t { NearestEven = 0, Down = 1, Up = 2, TowardZero = 3 };

// Encodings as in FCW.PC. The reserved value 1 acts as 64 bits on Intel
// hardware; Context::from_fcw maps it to Extended.
enum class Precision : uint8_t { Single = 0, Double = 2, Extended = 3 };

struct Context {
    Rounding rounding = Rounding::NearestEven;
    Precision precision = Precision::Extended;  // x87 only
    bool daz = false;  // SSE only: denormal inputs read as zero (sign kept), no DE
    bool ftz = false;  // SSE only: tiny results become zero when #U is masked (UE+PE)
    uint8_t masks = kAllFlags;  // 1 = masked, as in FCW/MXCSR
    uint8_t flags = 0;          // raised flags, accumulated
    bool c1 = false;            // x87: set by each f80 result: 1 = rounded up in magnitude

    static Context from_fcw(uint16_t fcw);
    static Context from_mxcsr(uint32_t mxcsr);
};

enum class Ordering : uint8_t { Less, Equal, Greater, Unordered };

// ---- constants ------------------------------------------------------------
inline constexpr f80 kF80DefaultNaN{0xC000000000000000ull, 0xFFFF};  // real indefinite
inline constexpr f32 kF32DefaultNaN = 0xFFC00000u;
inline constexpr f64 kF64DefaultNaN = 0xFFF8000000000000ull;
inline constexpr int16_t kI16Indefinite = INT16_MIN;
inline constexpr int32_t kI32Indefinite = INT32_MIN;
inline constexpr int64_t kI64Indefinite = INT64_MIN;

// ---- x87: 80-bit arithmetic (precision control applies) ---------------------
f80 f80_add(f80 a, f80 b, Context& ctx);
f80 f80_sub(f80 a, f80 b, Context& ctx);  // a - b
f80 f80_mul(f80 a, f80 b, Context& ctx);
f80 f80_div(f80 a, f80 b, Context& ctx);  // a / b
f80 f80_sqrt(f80 a, Context& ctx);

// The six x87 arithmetic forms, ST(0) op source. SubR/DivR compute
// source - ST(0) and source / ST(0) (FSUBR, FDIVR).
enum class X87Op : uint8_t { Add, Sub, SubR, Mul, Div, DivR };
f80 f80_arith(X87Op op, f80 st0, f80 src, Context& ctx);
// With a 32/64-bit memory operand (FADD m32, FDIVR m64...). Use these rather
// than f32_to_f80 + f80_arith: the memory operand's DE is raised only when no
// invalid/zero-divide case has priority, and an SNaN memory operand still
// counts as signalling when choosing between two NaNs (SDM Vol. 1 §4.9.2,
// Table 4-7). Integer operands (FIADD...) convert exactly with i64_to_f80.
f80 f80_arith_f32(X87Op op, f80 st0, f32 m, Context& ctx);
f80 f80_arith_f64(X87Op op, f80 st0, f64 m, Context& ctx);

// FCOM/FUCOM/FCOMI/FUCOMI/FTST: quiet compares raise IE only for SNaN (and
// unsupported encodings); signalling compares for any NaN.
Ordering f80_compare(f80 a, f80 b, bool signaling, Context& ctx);
Ordering f80_compare_f32(f80 st0, f32 m, bool signaling, Context& ctx);  // FCOM m32
Ordering f80_compare_f64(f80 st0, f64 m, bool signaling, Context& ctx);  // FCOM m64

// FRNDINT (rounding from ctx), or with an explicit mode; PE can be suppressed.
f80 f80_round_to_int(f80 a, Context& ctx);
f80 f80_round_to_int(f80 a, Rounding mode, bool suppress_inexact, Context& ctx);

// FPREM (truncating quotient) / FPREM1 (round-to-nearest quotient). When the
// exponent difference is >= 64 only a partial reduction is done and
// `incomplete` (C2) is set. quotient holds Q2..Q0 (C0 = Q2, C3 = Q1, C1 = Q0).
struct RemainderResult {
    f80 value;
    uint8_t quotient = 0;
    bool incomplete = false;
};
RemainderResult f80_prem(f80 a, f80 b, Context& ctx);   // a = ST(0), b = ST(1)
RemainderResult f80_prem1(f80 a, f80 b, Context& ctx);

f80 f80_scale(f80 a, f80 b, Context& ctx);  // FSCALE: a * 2^trunc(b)

struct ExtractResult {
    f80 exponent;     // FXTRACT: ends in ST(1)
    f80 significand;  // ends in ST(0)
};
ExtractResult f80_extract(f80 a, Context& ctx);

// FXAM classes (Empty is the caller's: it depends on the tag word).
enum class F80Class : uint8_t { Unsupported, NaN, Normal, Infinity, Zero, Denormal };
F80Class f80_classify(f80 a);
// FSW condition bits C3,C2,C1,C0 (bits 14,10,9,8) for FXAM of a non-empty register.
uint16_t f80_fxam_condition(f80 a);

// ---- x87 conversions ---------------------------------------------------------
f80 f32_to_f80(f32 a, Context& ctx);  // FLD m32: exact; SNaN -> IE, DE for denormals
f80 f64_to_f80(f64 a, Context& ctx);
f32 f80_to_f32(f80 a, Context& ctx);  // FST m32: rounding control, not precision control
f64 f80_to_f64(f80 a, Context& ctx);
f80 i64_to_f80(int64_t a);            // FILD (exact; int16/int32 widen losslessly)
// FIST (rounding from ctx) and FISTTP (truncate): out of range, NaN, infinity
// or unsupported -> IE and the integer indefinite.
int16_t f80_to_i16(f80 a, Context& ctx);
int32_t f80_to_i32(f80 a, Context& ctx);
int64_t f80_to_i64(f80 a, Context& ctx);
int16_t f80_to_i16_trunc(f80 a, Context& ctx);
int32_t f80_to_i32_trunc(f80 a, Context& ctx);
int64_t f80_to_i64_trunc(f80 a, Context& ctx);

// ---- SSE: 32/64-bit arithmetic (DAZ/FTZ apply) --------------------------------
f32 f32_add(f32 a, f32 b, Context& ctx);
f32 f32_sub(f32 a, f32 b, Context& ctx);
f32 f32_mul(f32 a, f32 b, Context& ctx);
f32 f32_div(f32 a, f32 b, Context& ctx);
f32 f32_sqrt(f32 a, Context& ctx);
f64 f64_add(f64 a, f64 b, Context& ctx);
f64 f64_sub(f64 a, f64 b, Context& ctx);
f64 f64_mul(f64 a, f64 b, Context& ctx);
f64 f64_div(f64 a, f64 b, Context& ctx);
f64 f64_sqrt(f64 a, Context& ctx);

// MINSS/MAXSS/MINSD/MAXSD: if either operand is a NaN (IE for any NaN) or both
// are zeros, the second operand is returned.
f32 f32_min(f32 a, f32 b, Context& ctx);
f32 f32_max(f32 a, f32 b, Context& ctx);
f64 f64_min(f64 a, f64 b, Context& ctx);
f64 f64_max(f64 a, f64 b, Context& ctx);

// COMISS (signaling) / UCOMISS (quiet), and the CMPPS predicates.
Ordering f32_compare(f32 a, f32 b, bool signaling, Context& ctx);
Ordering f64_compare(f64 a, f64 b, bool signaling, Context& ctx);

// ROUNDSS/ROUNDSD.
f32 f32_round_to_int(f32 a, Rounding mode, bool suppress_inexact, Context& ctx);
f64 f64_round_to_int(f64 a, Rounding mode, bool suppress_inexact, Context& ctx);

// ---- SSE conversions ------------------------------------------------------------
f64 f32_to_f64(f32 a, Context& ctx);  // CVTSS2SD
f32 f64_to_f32(f64 a, Context& ctx);  // CVTSD2SS
f32 i32_to_f32(int32_t a, Context& ctx);
f32 i64_to_f32(int64_t a, Context& ctx);
f64 i32_to_f64(int32_t a);  // exact
f64 i64_to_f64(int64_t a, Context& ctx);
// CVTSS2SI/CVTSD2SI (rounding from ctx) and CVTTSS2SI/CVTTSD2SI (truncate).
int32_t f32_to_i32(f32 a, Context& ctx);
int64_t f32_to_i64(f32 a, Context& ctx);
int32_t f64_to_i32(f64 a, Context& ctx);
int64_t f64_to_i64(f64 a, Context& ctx);
int32_t f32_to_i32_trunc(f32 a, Context& ctx);
int64_t f32_to_i64_trunc(f32 a, Context& ctx);
int32_t f64_to_i32_trunc(f64 a, Context& ctx);
int64_t f64_to_i64_trunc(f64 a, Context& ctx);

// ---- unmasked exceptions ----------------------------------------------------
// What an instruction does with the flags one operation raised (`raised`:
// clear Context::flags before the call) under the masks (SDM Vol. 1 §4.9.2,
// §8.5, §11.5.3; the details were established against hardware). The library
// never raises IE, ZE and DE together, and PE/UE/OE only when the operation
// completed.
// - An unmasked IE or ZE is a pre-computation exception: nothing is written
//   (register, stack push, memory, condition codes) and only that flag is
//   recorded. So is an unmasked DE, except that FLD m32/m64 still loads the
//   value. Compares (FCOM, FUCOM, FCOMI, FUCOMI) always set their condition
//   codes / EFLAGS, unordered for NaNs, whatever is unmasked.
// - x87 register results, otherwise: the result is written (OE/UE unmasked:
//   the bias-adjusted result the functions return), all raised flags are
//   recorded and C1 keeps the rounding direction. Stores to memory (FST
//   m32/m64, FIST) with an unmasked OE/UE write nothing and record no PE and
//   no C1.
// - SSE, otherwise: any unmasked flag suppresses the write; all flags are
//   recorded (next to an unmasked OE/UE, PE means the rounding with unbounded
//   exponent was inexact, §11.5.2.4, which the functions report that way).
// trap = an unmasked flag was raised (x87: FSW.ES, #MF at the next waiting
// instruction; SSE: #XM, or #UD with CR4.OSXMMEXCPT clear).
struct Resolution {
    bool write;
    uint8_t flags;
    bool trap;
};
enum class X87Kind : uint8_t {
    Arith,    // register result (FADD, FSQRT, FPREM, FXTRACT, FRNDINT, FILD...)
    Store,    // memory result (FST m32/m64, FIST, FISTTP)
    Load,     // FLD m32/m64
    Compare,  // FCOM, FUCOM, FCOMI, FTST... (writes condition codes / EFLAGS)
};
Resolution x87_resolve(uint8_t raised, uint8_t masks, X87Kind kind = X87Kind::Arith);
Resolution sse_resolve(uint8_t raised, uint8_t masks);

// ---- predicates -------------------------------------------------------------
constexpr bool f32_is_nan(f32 a) { return (a & 0x7FFFFFFFu) > 0x7F800000u; }
constexpr bool f64_is_nan(f64 a) { return (a & 0x7FFFFFFFFFFFFFFFull) > 0x7FF0000000000000ull; }
constexpr bool f80_is_nan(f80 a) {
    return (a.sign_exp & 0x7FFF) == 0x7FFF && (a.sig >> 63) && (a.sig << 1) != 0;
}
constexpr bool f80_is_signaling_nan(f80 a) { return f80_is_nan(a) && !((a.sig >> 62) & 1); }

}  // namespace kestrel::interp::fpu
