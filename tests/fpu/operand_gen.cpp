// Every random draw is its own statement (or sequenced by ?:, && or a braced
// initialiser): the case set must not depend on the compiler's evaluation
// order, since fpu-difftest --soft-digest compares a hash of it across hosts.
#include "operand_gen.h"

#include <algorithm>

namespace kestrel::fpu_test {

uint64_t encode_ieee(const Fmt& f, const Val& v) {
    const uint64_t frac = (v.sig >> (63 - f.frac_bits)) & ((1ull << f.frac_bits) - 1);
    return (uint64_t(v.sign) << (f.exp_bits + f.frac_bits)) | (uint64_t(v.exp) << f.frac_bits) | frac;
}
f80 encode_f80(const Val& v) { return f80{v.sig, uint16_t((unsigned(v.sign) << 15) | unsigned(v.exp))}; }

// Significand bit patterns that stress rounding. `prec` is the number of
// significant bits of the destination (rounding boundaries are placed there).
uint64_t gen_sig(Rng& r, int prec) {
    uint64_t s;
    switch (r.below(6)) {
        case 0: s = r.next(); break;
        case 1: {  // long runs of zeros and ones
            s = r.coin() ? ~0ull : 0;
            for (int k = r.range(1, 4); k > 0; --k) {
                const int lo = r.range(0, 63), hi = r.range(lo, 64);
                const uint64_t m = (hi == 64 ? ~0ull : (1ull << hi) - 1) & ~((1ull << lo) - 1);
                s ^= m;
            }
            break;
        }
        case 2: {  // sparse: short significands give exact and halfway products
            s = 0;
            for (int k = r.range(0, 4); k > 0; --k) s |= 1ull << r.range(40, 63);
            break;
        }
        case 3:
        case 4: {  // near a rounding boundary (at the format's or another precision)
            static constexpr int kPrecs[] = {24, 53, 64, 11, 32, 63};
            const int p = r.chance(70) ? prec : kPrecs[r.below(6)];
            const int below = 64 - p;  // bits under the last place
            s = r.next();
            if (below > 0) {
                const uint64_t low_mask = (below == 64 ? ~0ull : (1ull << below) - 1);
                const uint64_t half = 1ull << (below - 1);
                uint64_t low;
                switch (r.below(6)) {
                    case 0: low = half; break;
                    case 1: low = half - 1; break;
                    case 2: low = half + 1; break;
                    case 3: low = 0; break;
                    case 4: low = 1; break;
                    default: low = low_mask; break;
                }
                s = (s & ~low_mask) | (low & low_mask);
            }
            break;
        }
        default: s = r.coin() ? ~0ull : 0; break;
    }
    return s;
}


// A finite, infinite, NaN or (f80) unsupported value of format f.
Val gen_val(Rng& r, const Fmt& f, int prec) {
    Val v;
    v.sign = r.coin();
    const int bias = f.bias(), emax = f.emax();
    const bool f80 = f.exp_bits == 15;
    const unsigned cat = unsigned(r.below(100));
    if (cat < 12) {  // specials
        switch (r.below(f80 ? 14 : 10)) {
            case 0: v.exp = 0; v.sig = 0; break;                                   // zero
            case 1: v.exp = emax; v.sig = 1ull << 63; break;                      // infinity
            case 2: {  // QNaN
                v.exp = emax;
                const uint64_t payload = r.next();
                v.sig = (3ull << 62) | (payload >> r.range(2, 64));
                break;
            }
            case 3: {  // SNaN (quiet bit clear, payload nonzero)
                v.exp = emax;
                const uint64_t payload = r.next() >> 2;
                const uint64_t bit = 1ull << r.range(0, 61);
                v.sig = (1ull << 63) | ((payload | bit) >> r.range(0, 3));
                break;
            }
            case 4: v.exp = 0; v.sig = 1ull << (63 - f.frac_bits); break;        // min denormal
            case 5: v.exp = 0; v.sig = ~0ull >> 1; break;                          // max denormal
            case 6: v.exp = 1; v.sig = 1ull << 63; break;                          // min normal
            case 7: v.exp = emax - 1; v.sig = ~0ull; break;                        // max normal
            case 8: v.exp = bias; v.sig = 1ull << 63; break;                       // 1.0
            case 9: v.exp = emax; v.sig = 3ull << 62; break;                       // default NaN
            case 10: v.exp = 0; v.sig = (1ull << 63) | r.next(); break;            // pseudo-denormal
            case 11: {  // unnormal
                v.exp = r.range(1, emax - 1);
                const uint64_t bits = r.next();
                v.sig = bits >> r.range(1, 64);
                break;
            }
            case 12: v.exp = emax; v.sig = (r.next() >> 1) | 1; break;             // pseudo-NaN
            default: v.exp = emax; v.sig = 0; break;                               // pseudo-infinity
        }
        if (!f80) {
            // keep the SNaN payload nonzero in the narrower fraction
            if (v.exp == emax && !((v.sig >> 62) & 1) && ((v.sig << 1) >> (64 - f.frac_bits)) == 0)
                v.sig |= 1ull << (63 - f.frac_bits);
        }
        return v;
    }
    v.sig = gen_sig(r, prec);
    if (cat < 24) {  // denormal
        v.exp = 0;
        v.sig &= ~0ull >> 1;
        if ((v.sig >> (63 - f.frac_bits)) == 0) v.sig |= 1ull << (63 - f.frac_bits + int(r.below(f.frac_bits)));
        return v;
    }
    v.sig |= 1ull << 63;
    if (cat < 40) v.exp = bias + r.range(-3, 3);
    else if (cat < 52) v.exp = r.range(1, 6);
    else if (cat < 62) v.exp = emax - r.range(1, 6);
    else if (cat < 75) v.exp = bias + r.range(-100, 100);
    else v.exp = r.range(1, emax - 1);
    return v;
}

// A random integer of exactly `bits` bits (top bit set), as a normalised significand.
uint64_t int_sig(Rng& r, int bits, bool odd) {
    uint64_t m = (bits >= 64 ? r.next() : r.next() & ((1ull << bits) - 1)) | (1ull << (bits - 1));
    if (odd) m |= 1;
    return m << (64 - bits);
}

// Operand pairs whose exact product or quotient has exactly p or p+1
// significant bits (p = 24, 53, 64 or the format's), giving exact and
// exactly-halfway results.
bool gen_exact_pair(Rng& r, const Fmt& f, Hint hint, Val& a, Val& b) {
    static constexpr int kPrecs[] = {24, 53, 64};
    int p = f.exp_bits == 15 ? kPrecs[r.below(3)] : f.precision();
    const int total = p + int(r.range(0, 1));  // result bits
    const int fmax = f.precision();
    a.sign = r.coin();
    b.sign = r.coin();
    if (hint == Hint::Mul) {
        const int k1 = r.range(std::max(1, total - fmax), std::min(fmax, total - 1));
        const int k2 = total + 1 - k1;  // product of k1- and k2-bit integers has total or total+1 bits
        if (k2 < 1 || k2 > fmax) return false;
        a.sig = int_sig(r, k1, true);
        b.sig = int_sig(r, k2, true);
    } else if (hint == Hint::Div) {
        // a = b * q exactly, q of `total` bits: a has up to kb + total bits.
        const int kb = r.range(1, std::max(1, fmax - total));
        if (kb + total > fmax + 1) return false;
        const uint64_t bi = int_sig(r, kb, true) >> (64 - kb);
        const uint64_t qi = int_sig(r, total, true) >> (64 - total);
        const unsigned __int128 prod = (unsigned __int128)bi * qi;
        if (prod >> fmax) return false;
        const uint64_t ai = uint64_t(prod);
        const int lz = __builtin_clzll(ai);
        a.sig = ai << lz;
        b.sig = bi << (64 - kb);
    } else {
        return false;
    }
    const int bias = f.bias();
    a.exp = bias + r.range(-20, 20);
    b.exp = bias + r.range(-20, 20);
    if (f.exp_bits != 15) {
        a.sig &= ~0ull << (63 - f.frac_bits);
        b.sig &= ~0ull << (63 - f.frac_bits);
    }
    return true;
}

// Perfect squares (exact roots) and squares of odd (p+1)-bit numbers
// (roots exactly halfway at precision p, representable for p = 24 in f80).
Val gen_square(Rng& r, const Fmt& f) {
    const int fmax = f.precision();
    const int k = r.range(1, fmax / 2);
    const uint64_t m = int_sig(r, k, r.coin()) >> (64 - k);
    const unsigned __int128 sq = (unsigned __int128)m * m;
    Val v;
    v.sign = false;
    const uint64_t s64 = uint64_t(sq);
    const int lz = __builtin_clzll(s64);
    v.sig = s64 << lz;
    // Scale by an even power of two so the value stays a square.
    const int int_exp = 63 - lz;  // sq = 1.x * 2^int_exp
    v.exp = f.bias() + int_exp + 2 * r.range(-40, 40);
    if (v.exp <= 0 || v.exp >= f.emax()) v.exp = f.bias() + int_exp;
    if (f.exp_bits != 15) v.sig &= ~0ull << (63 - f.frac_bits);
    return v;
}

// FSCALE operands whose result exponent lands within a few units of the
// overflow/underflow limits, with or without the x87 bias adjustment (24576).
void gen_scale_edge(Rng& r, Val& a, Val& b) {
    static constexpr int kTargets[] = {0x7FFF, 0, 0x7FFF + 24576, -24576, -64, 0x7FFF - 1};
    const int base = kTargets[r.below(6)];
    const int target = base + r.range(-3, 3);
    a.sign = r.coin();
    a.exp = r.range(1, 0x7FFE);
    a.sig = r.chance(30) ? ~0ull : gen_sig(r, 64) | (1ull << 63);
    const int n = target - a.exp;
    b.sign = n < 0;
    const uint64_t mag = uint64_t(n < 0 ? -int64_t(n) : n);
    if (mag == 0) {
        b.exp = 16383 - 1;  // 0.5: truncates to 0
        b.sig = 1ull << 63;
        return;
    }
    const int lz = __builtin_clzll(mag);
    b.exp = 16383 + 63 - lz;
    b.sig = mag << lz;
    if (lz < 63 && r.coin()) b.sig |= r.next() >> (64 - lz);  // a fraction to truncate
}

int clampi(int x, int lo, int hi) { return x < lo ? lo : x > hi ? hi : x; }

// Second operand, often related to the first so that results land on
// cancellations, exact halves, and the overflow/underflow thresholds.
Val gen_related(Rng& r, const Fmt& f, int prec, const Val& a, Hint hint) {
    const int bias = f.bias(), emax = f.emax();
    const bool a_finite = a.exp > 0 && a.exp < emax;
    if (!a_finite || r.chance(35)) return gen_val(r, f, prec);
    Val b;
    b.sign = r.coin();
    b.sig = gen_sig(r, prec) | (1ull << 63);
    switch (hint) {
        case Hint::Add:
            if (r.chance(30)) {  // near-cancellation
                b = a;
                b.sign = !a.sign;
                const uint64_t noise = r.next();
                b.sig ^= noise >> r.range(20, 63);
                b.sig |= 1ull << 63;
                if (r.coin()) b.exp = a.exp + r.range(-1, 1);
            } else {
                b.exp = a.exp + (r.coin() ? r.range(-3, 3) : r.range(-70, 70));
            }
            break;
        case Hint::Mul: {
            // a.exp + b.exp - bias near the denormal range or the top
            const int target = r.coin() ? r.range(-f.precision() - 3, 3) : emax + r.range(-3, 2);
            b.exp = target - a.exp + bias;
            break;
        }
        case Hint::Div: {
            const int target = r.coin() ? r.range(-f.precision() - 3, 3) : emax + r.range(-3, 2);
            b.exp = a.exp - target + bias;
            break;
        }
        case Hint::Prem:
            b.exp = a.exp - (r.chance(80) ? r.range(-3, 70) : r.range(60, 5000));
            if (r.chance(20)) b.sig = a.sig;
            break;
        default: b.exp = a.exp + r.range(-5, 5); break;
    }
    if (b.exp <= 0 || b.exp >= emax) {
        if (r.coin()) {
            b.exp = clampi(b.exp, 1, emax - 1);
        } else if (b.exp <= 0) {  // denormal
            const int sh = 1 - b.exp;
            b.sig = sh >= 64 ? 1ull << (63 - f.frac_bits) : b.sig >> sh;
            if ((b.sig >> (63 - f.frac_bits)) == 0) b.sig = 1ull << (63 - f.frac_bits);
            b.exp = 0;
        } else {
            b.exp = emax - 1;
        }
    }
    return b;
}

// Values near integers and near the integer-conversion limits.
Val gen_intish(Rng& r, const Fmt& f, int prec) {
    if (r.chance(20)) return gen_val(r, f, prec);
    static constexpr int kLimits[] = {15, 16, 31, 32, 63, 64};
    Val v;
    v.sign = r.coin();
    int e;
    if (r.chance(50)) {
        e = kLimits[r.below(6)];
        e += r.range(-1, 0);
    } else {
        e = r.range(-2, 66);
    }
    v.exp = f.bias() + e;
    const int int_bits = e + 1;  // the integer's last place is bit 64 - int_bits
    v.sig = r.next();
    if (int_bits > 0 && int_bits < 64 && r.chance(70)) {
        const int below = 64 - int_bits;
        const uint64_t low_mask = (1ull << below) - 1;
        const uint64_t half = 1ull << (below - 1);
        static const uint64_t kLow[] = {0, 1, 0, 0, 0, 0};
        (void)kLow;
        uint64_t low;
        switch (r.below(5)) {
            case 0: low = half; break;
            case 1: low = half - 1; break;
            case 2: low = half + 1; break;
            case 3: low = 0; break;
            default: low = r.next(); break;
        }
        v.sig = (v.sig & ~low_mask) | (low & low_mask);
    }
    if (r.chance(20)) v.sig = r.coin() ? ~0ull : 0;
    v.sig |= 1ull << 63;
    if (f.exp_bits != 15) v.sig &= ~0ull << (63 - f.frac_bits);
    return v;
}

int64_t gen_int(Rng& r, int bits) {
    uint64_t x;
    switch (r.below(4)) {
        case 0: x = r.next(); break;
        case 1: x = r.next(); x >>= r.range(0, 63); break;
        case 2: x = 1ull << r.range(0, 63); x += uint64_t(r.range(-2, 2)); break;
        default: {  // runs
            x = r.coin() ? ~0ull : 0;
            const int lo = r.range(0, 63);
            x ^= (~0ull >> r.range(0, 63)) << lo;
            if (r.coin()) x >>= r.range(0, 40);
            break;
        }
    }
    if (r.coin()) x = 0 - x;
    if (bits < 64) x = uint64_t(int64_t(x << (64 - bits)) >> (64 - bits));
    return int64_t(x);
}

}  // namespace kestrel::fpu_test
