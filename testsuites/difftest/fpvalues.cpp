#include "fpvalues.h"

namespace difftest {

namespace {
uint64_t mask(unsigned bits) { return bits >= 64 ? ~0ull : (1ull << bits) - 1; }
}  // namespace

uint64_t edge_int(Rng& r, unsigned bits) {
  const uint64_t m = mask(bits), sign = 1ull << (bits - 1);
  switch (r.below(20)) {
    case 0: return 0;
    case 1: return 1;
    case 2: return m;
    case 3: return sign;
    case 4: return sign - 1;
    case 5: return (sign + 1) & m;
    case 6: return m - 1;
    case 7: return r.below(17);
    case 8: return (0 - r.below(17)) & m;
    case 9: return (1ull << r.below(bits)) & m;
    case 10: return ~(1ull << r.below(bits)) & m;
    case 11: {
      static const uint64_t p[] = {0x5555555555555555ull, 0xAAAAAAAAAAAAAAAAull, 0x0F0F0F0F0F0F0F0Full,
                                   0xF0F0F0F0F0F0F0F0ull, 0x8080808080808080ull, 0x7F7F7F7F7F7F7F7Full,
                                   0x0101010101010101ull, 0xFEFEFEFEFEFEFEFEull};
      return p[r.below(8)] & m;
    }
    case 12: {  // bytes from a small set (BCD digits, byte boundaries)
      static const uint8_t b[] = {0, 1, 0x7F, 0x80, 0xFF, 0x0F, 0xF0, 0x99, 0x09, 0x0A, 0x9A, 0x60, 0x66, 0xFA, 0x19, 0x91};
      uint64_t v = 0;
      for (unsigned i = 0; i < bits / 8; ++i) v |= static_cast<uint64_t>(b[r.below(16)]) << (8 * i);
      return v;
    }
    case 13: return (sign >> r.below(4)) & m;
    case 14: return r.next() & m & (r.chance(50) ? 0xFF : 0xFFFF);
    case 15: return (sign - 1 - r.below(4)) & m;
    default: return r.next() & m;
  }
}

uint32_t edge_f32(Rng& r) {
  const uint32_t s = r.chance(50) ? 0x80000000u : 0;
  const uint32_t mant = static_cast<uint32_t>(r.next()) & 0x7FFFFF;
  switch (r.below(24)) {
    case 0: return s;                                               // ±0
    case 1: return s | 1;                                           // smallest denormal
    case 2: return s | 0x7FFFFF;                                    // largest denormal
    case 3: return s | (mant ? mant : 1);                           // denormal
    case 4: return s | 0x00800000;                                  // smallest normal
    case 5: return s | 0x7F7FFFFF;                                  // largest normal
    case 6: return s | 0x7F800000;                                  // infinity
    case 7: return s | 0x7FC00000;                                  // default QNaN (indefinite with s)
    case 8: return s | 0x7FC00000 | (mant & 0x3FFFFF);              // QNaN with payload
    case 9: return s | 0x7F800000 | ((mant & 0x3FFFFF) ? (mant & 0x3FFFFF) : 1);  // SNaN
    case 10: return s | 0x3F800000;                                 // ±1
    case 11: return s | (static_cast<uint32_t>(r.range(120, 134)) << 23) | mant;  // near 1
    case 12: return s | (static_cast<uint32_t>(r.range(1, 254)) << 23) | (mant & ~0xFFFu) | 0x800;   // tie-ish low bits
    case 13: return s | (static_cast<uint32_t>(r.range(1, 254)) << 23) | (mant | 0xFFF);              // all-ones low bits
    case 14: {  // integer-valued near the int32/int64 limits or half-integers
      static const uint32_t v[] = {0x4F000000, 0x4EFFFFFF, 0xCF000000, 0xCF000001, 0x5F000000, 0x5EFFFFFF,
                                   0xDF000000, 0x3F000000, 0x3FC00000, 0x40200000, 0x4B000000, 0x4B7FFFFF,
                                   0x4B800000, 0x3EFFFFFF, 0x3F7FFFFF, 0x47000000, 0x46FFFE00, 0xC7000000};
      return v[r.below(sizeof v / sizeof v[0])] ^ (r.chance(20) ? 0x80000000u : 0);
    }
    case 15: return s | (static_cast<uint32_t>(r.range(1, 24)) << 23) | mant;     // tiny normals (FTZ/underflow)
    case 16: return s | (static_cast<uint32_t>(r.range(230, 254)) << 23) | mant;  // huge (overflow)
    default: return s | (static_cast<uint32_t>(r.range(1, 254)) << 23) | mant;
  }
}

uint64_t edge_f64(Rng& r) {
  const uint64_t s = r.chance(50) ? 0x8000000000000000ull : 0;
  const uint64_t mant = r.next() & 0xFFFFFFFFFFFFFull;
  const uint64_t q = 0x8000000000000ull;
  switch (r.below(24)) {
    case 0: return s;
    case 1: return s | 1;
    case 2: return s | 0xFFFFFFFFFFFFFull;
    case 3: return s | (mant ? mant : 1);
    case 4: return s | 0x0010000000000000ull;
    case 5: return s | 0x7FEFFFFFFFFFFFFFull;
    case 6: return s | 0x7FF0000000000000ull;
    case 7: return s | 0x7FF8000000000000ull;
    case 8: return s | 0x7FF0000000000000ull | q | (mant & (q - 1));
    case 9: return s | 0x7FF0000000000000ull | ((mant & (q - 1)) ? (mant & (q - 1)) : 1);
    case 10: return s | 0x3FF0000000000000ull;
    case 11: return s | (static_cast<uint64_t>(r.range(1000, 1050)) << 52) | mant;
    case 12: return s | (static_cast<uint64_t>(r.range(1, 2046)) << 52) | (mant & ~0xFFFFFFull) | 0x800000;
    case 13: return s | (static_cast<uint64_t>(r.range(1, 2046)) << 52) | (mant & ~0x1FFFFFFFull) | 0x10000000;  // f32 tie
    case 14: {
      static const uint64_t v[] = {0x41E0000000000000ull, 0x41DFFFFFFFC00000ull, 0xC1E0000000000000ull,
                                   0xC1E0000000200000ull, 0x43E0000000000000ull, 0x43DFFFFFFFFFFFFFull,
                                   0xC3E0000000000000ull, 0x3FE0000000000000ull, 0x3FF8000000000000ull,
                                   0x4004000000000000ull, 0x4330000000000000ull, 0x433FFFFFFFFFFFFFull,
                                   0x41DFFFFFFFE00000ull, 0x3FDFFFFFFFFFFFFFull, 0x47EFFFFFE0000000ull,
                                   0x47EFFFFFF0000000ull, 0x3810000000000000ull, 0x380FFFFFFFFFFFFFull,
                                   0x36A0000000000000ull, 0x369FFFFFFFFFFFFFull};
      return v[r.below(sizeof v / sizeof v[0])] ^ (r.chance(20) ? 0x8000000000000000ull : 0);
    }
    case 15: return s | (static_cast<uint64_t>(r.range(1, 60)) << 52) | mant;
    case 16: return s | (static_cast<uint64_t>(r.range(1980, 2046)) << 52) | mant;
    case 17: return s | (static_cast<uint64_t>(r.range(870, 900)) << 52) | mant;   // f32 denormal range
    case 18: return s | (static_cast<uint64_t>(r.range(1140, 1160)) << 52) | mant; // f32 overflow range
    default: return s | (static_cast<uint64_t>(r.range(1, 2046)) << 52) | mant;
  }
}

void edge_f80(Rng& r, uint64_t& sig, uint16_t& se) {
  const uint16_t s = r.chance(50) ? 0x8000 : 0;
  const uint64_t j = 1ull << 63, mant = r.next() & (j - 1), q = 1ull << 62;
  switch (r.below(26)) {
    case 0: sig = 0; se = s; return;
    case 1: sig = 1; se = s; return;                                    // smallest denormal
    case 2: sig = j - 1; se = s; return;                                // largest denormal
    case 3: sig = mant ? mant : 1; se = s; return;
    case 4: sig = j; se = s | 1; return;                                // smallest normal
    case 5: sig = ~0ull; se = s | 0x7FFE; return;                       // largest normal
    case 6: sig = j; se = s | 0x7FFF; return;                           // infinity
    case 7: sig = j | q; se = s | 0x7FFF; return;                       // indefinite / QNaN
    case 8: sig = j | q | (mant & (q - 1)); se = s | 0x7FFF; return;
    case 9: sig = j | ((mant & (q - 1)) ? (mant & (q - 1)) : 1); se = s | 0x7FFF; return;  // SNaN
    case 10: sig = j; se = s | 0x3FFF; return;                          // ±1
    case 11: sig = j | mant; se = s | static_cast<uint16_t>(r.range(0x3FF0, 0x4010)); return;
    case 12: sig = mant; se = s | static_cast<uint16_t>(r.range(1, 0x7FFE)); return;  // unnormal: integer bit 0
    case 13: sig = j | mant; se = s; return;                            // pseudo-denormal
    case 14: sig = mant; se = s | 0x7FFF; return;                       // pseudo-NaN / pseudo-infinity
    case 15: sig = j | (mant & ~0x7FFull) | 0x400; se = s | static_cast<uint16_t>(r.range(1, 0x7FFE)); return;  // f64 tie
    case 16: sig = j | (mant & ~0xFFFFFFFFFFull) | 0x8000000000ull; se = s | static_cast<uint16_t>(r.range(1, 0x7FFE)); return;  // f32 tie
    case 17: sig = j | mant | 0x7FF; se = s | static_cast<uint16_t>(r.range(1, 0x7FFE)); return;
    case 18: {  // integers near the int16/int32/int64 limits, half-integers
      static const struct { uint64_t sig; uint16_t se; } v[] = {
          {j, 0x401E}, {0xFFFFFFFE00000000ull, 0x401D}, {j, 0x403E}, {~0ull, 0x403D}, {j, 0x400E},
          {0xFFFE000000000000ull, 0x400D}, {j, 0x3FFE}, {0xC000000000000000ull, 0x3FFF},
          {0xA000000000000000ull, 0x4000}, {j | 1, 0x401E}, {0xFFFFFFFF00000000ull, 0x401E},
          {0xDE0B6B3A763FFFF0ull, 0x4037}};  // ~1e18 (FBSTP limit)
      const auto& e = v[r.below(sizeof v / sizeof v[0])];
      sig = e.sig;
      se = e.se | (r.chance(30) ? 0x8000 : 0);
      return;
    }
    case 19: sig = j | mant; se = s | static_cast<uint16_t>(r.range(1, 80)); return;
    case 20: sig = j | mant; se = s | static_cast<uint16_t>(r.range(0x7FA0, 0x7FFE)); return;
    case 21: sig = j | mant; se = s | static_cast<uint16_t>(r.range(0x3F60, 0x3F90)); return;  // f64 edge
    case 22: sig = j | mant; se = s | static_cast<uint16_t>(r.range(0x43F0, 0x4410)); return;
    default: sig = j | mant; se = s | static_cast<uint16_t>(r.range(1, 0x7FFE)); return;
  }
}

uint32_t tie_partner_f32(Rng& r, uint32_t a) {
  int e = static_cast<int>((a >> 23) & 0xFF);
  if (e == 0 || e == 0xFF) return edge_f32(r);
  int pe = e - 24 - static_cast<int>(r.below(3));  // half an ulp of a (and nearby)
  if (pe < 1) return (a & 0x80000000u) | 1;
  uint32_t m = r.chance(50) ? 0 : r.chance(50) ? 1 : 0x7FFFFF;
  return (r.chance(50) ? (a & 0x80000000u) : ((a ^ 0x80000000u) & 0x80000000u)) | (static_cast<uint32_t>(pe) << 23) | m;
}

uint64_t tie_partner_f64(Rng& r, uint64_t a) {
  int e = static_cast<int>((a >> 52) & 0x7FF);
  if (e == 0 || e == 0x7FF) return edge_f64(r);
  int pe = e - 53 - static_cast<int>(r.below(3));
  const uint64_t sb = 0x8000000000000000ull;
  if (pe < 1) return (a & sb) | 1;
  uint64_t m = r.chance(50) ? 0 : r.chance(50) ? 1 : 0xFFFFFFFFFFFFFull;
  return (r.chance(50) ? (a & sb) : (~a & sb)) | (static_cast<uint64_t>(pe) << 52) | m;
}

void tie_partner_f80(Rng& r, uint64_t a_sig, uint16_t a_se, uint64_t& sig, uint16_t& se) {
  int e = a_se & 0x7FFF;
  if (e == 0 || e == 0x7FFF || !(a_sig >> 63)) return edge_f80(r, sig, se);
  // Half an ulp at 64, 53 or 24 bits of precision (the three precision controls).
  static const int kBits[] = {64, 53, 24};
  int pe = e - kBits[r.below(3)] - static_cast<int>(r.below(2));
  if (pe < 1) pe = 1;
  sig = (1ull << 63) | (r.chance(50) ? 0 : r.chance(50) ? 1 : 0x7FFFFFFFFFFFFFFFull);
  se = static_cast<uint16_t>(pe) | (r.chance(50) ? (a_se & 0x8000) : (~a_se & 0x8000));
}

void edge_bcd(Rng& r, uint8_t out[10]) {
  unsigned digits = static_cast<unsigned>(r.below(19));
  for (unsigned i = 0; i < 9; ++i) {
    uint8_t lo = i * 2 < digits ? static_cast<uint8_t>(r.below(10)) : 0;
    uint8_t hi = i * 2 + 1 < digits ? static_cast<uint8_t>(r.below(10)) : 0;
    if (r.chance(3)) lo = static_cast<uint8_t>(r.range(10, 15));
    if (r.chance(3)) hi = static_cast<uint8_t>(r.range(10, 15));
    if (r.chance(5)) lo = hi = 9;
    out[i] = static_cast<uint8_t>(lo | (hi << 4));
  }
  out[9] = r.chance(50) ? 0x80 : 0;
  if (r.chance(5)) out[9] = static_cast<uint8_t>(r.next());
}

}  // namespace difftest
