// x87 transcendental functions in software: F2XM1, FYL2X, FYL2XP1, FPTAN, FPATAN,
// FSIN, FCOS, FSINCOS, computed with integer arithmetic only (128-bit significands,
// see transcendental.cpp), results rounded once to 64 bits with the rounding
// control (precision control does not apply, SDM Vol. 1 §8.1.5.2), raising the
// x87 flags and C1 in the Context like the rest of the library.
//
// Argument reduction for FSIN/FCOS/FSINCOS/FPTAN is exact with the 66-bit value of
// pi the x87 uses internally (SDM Vol. 1 §8.3.10: 0.C90FDAA2 2168C234 C x 4), which
// is what hardware returns near multiples of pi (fsin(FLDPI) = -2^-64). Operands
// with |x| >= 2^63 are out of range: the caller sets C2 and leaves the stack alone.
// tests/fpu/x87_difftest measures the agreement with the host's x87.
#pragma once

#include "interp/fpu/softfloat.h"

namespace kestrel::interp::fpu {

// FSIN / FCOS / FPTAN (tangent only; the instruction pushes 1.0) / FSINCOS.
// `out_of_range`: |x| >= 2^63, nothing computed and no flags raised.
f80 f80_sin(f80 x, Context& ctx, bool& out_of_range);
f80 f80_cos(f80 x, Context& ctx, bool& out_of_range);
f80 f80_tan(f80 x, Context& ctx, bool& out_of_range);
struct SinCos {
    f80 sin, cos;
};
SinCos f80_sincos(f80 x, Context& ctx, bool& out_of_range);

// FPATAN: arctan(y / x) with the quadrant from both signs (y = ST(1), x = ST(0)).
f80 f80_atan2(f80 y, f80 x, Context& ctx);
// FYL2X: y * log2(x) (y = ST(1), x = ST(0)).
f80 f80_yl2x(f80 y, f80 x, Context& ctx);
// FYL2XP1: y * log2(x + 1).
f80 f80_yl2xp1(f80 y, f80 x, Context& ctx);
// F2XM1: 2^x - 1 (defined for -1 <= x <= 1; computed for any x).
f80 f80_2xm1(f80 x, Context& ctx);

}  // namespace kestrel::interp::fpu
