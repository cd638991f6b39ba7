// SSSE3 (SDM Vol. 2B): PSHUFB, PHADDW/D/SW, PHSUBW/D/SW, PMADDUBSW, PMULHRSW,
// PSIGNB/W/D, PABSB/W/D, PALIGNR, each in its MMX (NP 0F 38/3A) and XMM (66) form. The
// MMX forms follow the MMX rules (no CR4.OSFXSR check, x87 transition).
#include "interp/simd/simd_common.h"

namespace kestrel::interp::handlers {

namespace {

using simd::lane;
using simd::set_lane;
using simd::Xmm;
using simd::xmm_of;

// PSHUFB: byte i of the result is dst[src[i] mod n], or zero when src[i] has its top bit set.
Xmm op_pshufb(const Xmm& a, const Xmm& b, unsigned n) {
  Xmm r = xmm_of(0);
  for (unsigned i = 0; i < n; ++i) {
    uint8_t sel = lane<uint8_t>(b, i);
    set_lane<uint8_t>(r, i, (sel & 0x80) ? 0 : lane<uint8_t>(a, sel & (n - 1)));
  }
  return r;
}

// Horizontal add/subtract: adjacent pairs of dst fill the low half of the result, pairs of
// src the high half; the subtractions are even lane minus odd lane.
template <class T, class F>
Xmm horizontal(const Xmm& a, const Xmm& b, unsigned n, F f) {
  const unsigned half = n / sizeof(T) / 2;
  Xmm r = xmm_of(0);
  for (unsigned i = 0; i < half; ++i) {
    set_lane<T>(r, i, static_cast<T>(f(lane<T>(a, 2 * i), lane<T>(a, 2 * i + 1))));
    set_lane<T>(r, half + i, static_cast<T>(f(lane<T>(b, 2 * i), lane<T>(b, 2 * i + 1))));
  }
  return r;
}
Xmm op_phaddw(const Xmm& a, const Xmm& b, unsigned n) {
  return horizontal<uint16_t>(a, b, n, [](uint16_t x, uint16_t y) { return x + y; });
}
Xmm op_phaddd(const Xmm& a, const Xmm& b, unsigned n) {
  return horizontal<uint32_t>(a, b, n, [](uint32_t x, uint32_t y) { return x + y; });
}
Xmm op_phaddsw(const Xmm& a, const Xmm& b, unsigned n) {
  return horizontal<int16_t>(a, b, n, [](int16_t x, int16_t y) { return simd::sat_s16(int32_t{x} + y); });
}
Xmm op_phsubw(const Xmm& a, const Xmm& b, unsigned n) {
  return horizontal<uint16_t>(a, b, n, [](uint16_t x, uint16_t y) { return x - y; });
}
Xmm op_phsubd(const Xmm& a, const Xmm& b, unsigned n) {
  return horizontal<uint32_t>(a, b, n, [](uint32_t x, uint32_t y) { return x - y; });
}
Xmm op_phsubsw(const Xmm& a, const Xmm& b, unsigned n) {
  return horizontal<int16_t>(a, b, n, [](int16_t x, int16_t y) { return simd::sat_s16(int32_t{x} - y); });
}

// PMADDUBSW: unsigned bytes of dst times signed bytes of src, adjacent products summed
// with signed saturation into words.
Xmm op_pmaddubsw(const Xmm& a, const Xmm& b, unsigned n) {
  Xmm r = xmm_of(0);
  for (unsigned i = 0; i < n / 2; ++i) {
    int32_t s = int32_t{lane<uint8_t>(a, 2 * i)} * lane<int8_t>(b, 2 * i) +
                int32_t{lane<uint8_t>(a, 2 * i + 1)} * lane<int8_t>(b, 2 * i + 1);
    set_lane<int16_t>(r, i, simd::sat_s16(s));
  }
  return r;
}

// PMULHRSW: the product scaled by 2^-15 with rounding: ((x*y >> 14) + 1) >> 1, low 16 bits.
Xmm op_pmulhrsw(const Xmm& a, const Xmm& b, unsigned n) {
  return simd::lanewise<int16_t>(a, b, n, [](int16_t x, int16_t y) {
    return static_cast<uint16_t>((((int32_t{x} * y) >> 14) + 1) >> 1);
  });
}

// PSIGN: dst negated where src is negative, zeroed where src is zero (the negation wraps:
// the most negative value stays itself).
template <class T>
Xmm psign(const Xmm& a, const Xmm& b, unsigned n) {
  using U = std::make_unsigned_t<T>;
  return simd::lanewise<T>(a, b, n, [](T x, T y) {
    return y < 0 ? static_cast<T>(static_cast<U>(0u - static_cast<U>(x))) : y == 0 ? T{0} : x;
  });
}
Xmm op_psignb(const Xmm& a, const Xmm& b, unsigned n) { return psign<int8_t>(a, b, n); }
Xmm op_psignw(const Xmm& a, const Xmm& b, unsigned n) { return psign<int16_t>(a, b, n); }
Xmm op_psignd(const Xmm& a, const Xmm& b, unsigned n) { return psign<int32_t>(a, b, n); }

// PABS: |src| as an unsigned lane (the most negative value gives 2^(w-1)).
template <class T>
Xmm pabs(const Xmm&, const Xmm& b, unsigned n) {
  using U = std::make_unsigned_t<T>;
  return simd::lanewise1<T>(b, n, [](T x) {
    return static_cast<T>(x < 0 ? static_cast<U>(0u - static_cast<U>(x)) : static_cast<U>(x));
  });
}
Xmm op_pabsb(const Xmm& a, const Xmm& b, unsigned n) { return pabs<int8_t>(a, b, n); }
Xmm op_pabsw(const Xmm& a, const Xmm& b, unsigned n) { return pabs<int16_t>(a, b, n); }
Xmm op_pabsd(const Xmm& a, const Xmm& b, unsigned n) { return pabs<int32_t>(a, b, n); }

// PALIGNR: dst:src (dst high) shifted right by imm8 bytes; the low n bytes are the result.
Xmm op_palignr(const Xmm& a, const Xmm& b, unsigned n, unsigned imm) {
  Xmm r = xmm_of(0);
  for (unsigned i = 0; i < n; ++i) {
    unsigned k = i + imm;
    uint8_t v = k < n ? lane<uint8_t>(b, k) : k < 2 * n ? lane<uint8_t>(a, k - n) : 0;
    set_lane<uint8_t>(r, i, v);
  }
  return r;
}

}  // namespace

KESTREL_SIMD_MX(PSHUFB, op_pshufb)
KESTREL_SIMD_MX(PHADDW, op_phaddw)
KESTREL_SIMD_MX(PHADDD, op_phaddd)
KESTREL_SIMD_MX(PHADDSW, op_phaddsw)
KESTREL_SIMD_MX(PHSUBW, op_phsubw)
KESTREL_SIMD_MX(PHSUBD, op_phsubd)
KESTREL_SIMD_MX(PHSUBSW, op_phsubsw)
KESTREL_SIMD_MX(PMADDUBSW, op_pmaddubsw)
KESTREL_SIMD_MX(PMULHRSW, op_pmulhrsw)
KESTREL_SIMD_MX(PSIGNB, op_psignb)
KESTREL_SIMD_MX(PSIGNW, op_psignw)
KESTREL_SIMD_MX(PSIGND, op_psignd)
KESTREL_SIMD_MX(PABSB, op_pabsb)
KESTREL_SIMD_MX(PABSW, op_pabsw)
KESTREL_SIMD_MX(PABSD, op_pabsd)

ExecStatus PALIGNR_Pq_Qq_Ib(CpuState& c, const DecodedInsn& d) { return simd::mmx_binop_imm<op_palignr>(c, d); }
ExecStatus PALIGNR_Vdq_Wdq_Ib(CpuState& c, const DecodedInsn& d) { return simd::sse_binop_imm<op_palignr>(c, d); }

}  // namespace kestrel::interp::handlers
