// Operand generators for the floating-point difftest: values in any of the
// three formats, biased towards the edges (zeros, denormals, extremes,
// NaN payloads, unsupported x87 encodings, rounding boundaries, exact and
// exactly-halfway products, quotients and square roots).
#pragma once

#include <cstdint>

#include "interp/fpu/softfloat.h"

namespace kestrel::fpu_test {

using kestrel::interp::fpu::f80;

// ---------------------------------------------------------------- random ---
struct Rng {
    uint64_t s;
    uint64_t next() {  // splitmix64
        uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    uint64_t below(uint64_t n) { return next() % n; }
    int range(int lo, int hi) { return lo + int(below(uint64_t(hi - lo + 1))); }  // inclusive
    bool coin() { return next() & 1; }
    bool chance(int percent) { return below(100) < uint64_t(percent); }
};

// A value in any format as sign, biased exponent and a 64-bit significand
// with the integer bit at bit 63 (explicit for f80, dropped for f32/f64).
struct Fmt {
    int exp_bits, frac_bits;  // f32 8/23, f64 11/52, f80 15/63
    int bias() const { return (1 << (exp_bits - 1)) - 1; }
    int emax() const { return (1 << exp_bits) - 1; }
    int precision() const { return frac_bits + 1; }
};
constexpr Fmt kFmt32{8, 23}, kFmt64{11, 52}, kFmt80{15, 63};

struct Val {
    bool sign = false;
    int exp = 0;
    uint64_t sig = 0;
};

enum class Hint { None, Add, Mul, Div, Prem, Int };

uint64_t encode_ieee(const Fmt& f, const Val& v);
f80 encode_f80(const Val& v);
uint64_t gen_sig(Rng& r, int prec);
Val gen_val(Rng& r, const Fmt& f, int prec);
uint64_t int_sig(Rng& r, int bits, bool odd);
bool gen_exact_pair(Rng& r, const Fmt& f, Hint hint, Val& a, Val& b);
Val gen_square(Rng& r, const Fmt& f);
void gen_scale_edge(Rng& r, Val& a, Val& b);
int clampi(int x, int lo, int hi);
Val gen_related(Rng& r, const Fmt& f, int prec, const Val& a, Hint hint);
Val gen_intish(Rng& r, const Fmt& f, int prec);
int64_t gen_int(Rng& r, int bits);

}  // namespace kestrel::fpu_test
