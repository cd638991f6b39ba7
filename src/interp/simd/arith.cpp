// Packed integer arithmetic, compares and logic: PADD*/PSUB* (wraparound, signed and
// unsigned saturation), PMUL*, PMADDWD, PAVG*, PMIN*/PMAX*, PSADBW, PAND/PANDN/POR/PXOR,
// PCMPEQ*/PCMPGT*; MMX, SSE2 and the SSE4.1/4.2 additions (SDM Vol. 2B, each instruction's
// "Operation" section). Every lane op is written once for 8- and 16-byte vectors.
#include "interp/simd/simd_common.h"

namespace kestrel::interp::handlers {

namespace {

using simd::Xmm;
using simd::lanewise;

#define LANE_OP(name, T, expr) \
  Xmm name(const Xmm& a, const Xmm& b, unsigned n) { return lanewise<T>(a, b, n, [](T x, T y) { return expr; }); }

// ---- add / subtract --------------------------------------------------------------------------
LANE_OP(op_paddb, uint8_t, x + y)
LANE_OP(op_paddw, uint16_t, x + y)
LANE_OP(op_paddd, uint32_t, x + y)
LANE_OP(op_paddq, uint64_t, x + y)
LANE_OP(op_psubb, uint8_t, x - y)
LANE_OP(op_psubw, uint16_t, x - y)
LANE_OP(op_psubd, uint32_t, x - y)
LANE_OP(op_psubq, uint64_t, x - y)
LANE_OP(op_paddsb, int8_t, simd::sat_s8(int32_t{x} + y))
LANE_OP(op_paddsw, int16_t, simd::sat_s16(int32_t{x} + y))
LANE_OP(op_psubsb, int8_t, simd::sat_s8(int32_t{x} - y))
LANE_OP(op_psubsw, int16_t, simd::sat_s16(int32_t{x} - y))
LANE_OP(op_paddusb, uint8_t, simd::sat_u8(int32_t{x} + y))
LANE_OP(op_paddusw, uint16_t, simd::sat_u16(int32_t{x} + y))
LANE_OP(op_psubusb, uint8_t, simd::sat_u8(int32_t{x} - y))
LANE_OP(op_psubusw, uint16_t, simd::sat_u16(int32_t{x} - y))

// ---- multiply ------------------------------------------------------------------------------------
LANE_OP(op_pmullw, uint16_t, uint32_t{x} * y)
LANE_OP(op_pmulhw, int16_t, (int32_t{x} * y) >> 16)
LANE_OP(op_pmulhuw, uint16_t, (uint32_t{x} * y) >> 16)
LANE_OP(op_pmulld, uint32_t, uint64_t{x} * y)

// PMULUDQ / PMULDQ: the even dwords (0 and 2) multiplied to full 64-bit products; the MMX
// form of PMULUDQ uses dword 0 only.
Xmm op_pmuludq(const Xmm& a, const Xmm& b, unsigned n) {
  Xmm r = simd::xmm_of(0);
  for (unsigned i = 0; i < n / 8; ++i)
    simd::set_lane<uint64_t>(r, i, uint64_t{simd::lane<uint32_t>(a, 2 * i)} * simd::lane<uint32_t>(b, 2 * i));
  return r;
}
Xmm op_pmuldq(const Xmm& a, const Xmm& b, unsigned n) {
  Xmm r = simd::xmm_of(0);
  for (unsigned i = 0; i < n / 8; ++i)
    simd::set_lane<int64_t>(r, i, int64_t{simd::lane<int32_t>(a, 2 * i)} * simd::lane<int32_t>(b, 2 * i));
  return r;
}

// PMADDWD: pairs of signed word products summed into dwords. Only 8000h*8000h twice
// overflows; the result wraps to 80000000h (SDM Vol. 2B PMADDWD).
Xmm op_pmaddwd(const Xmm& a, const Xmm& b, unsigned n) {
  Xmm r = simd::xmm_of(0);
  for (unsigned i = 0; i < n / 4; ++i) {
    int64_t s = int64_t{simd::lane<int16_t>(a, 2 * i)} * simd::lane<int16_t>(b, 2 * i) +
                int64_t{simd::lane<int16_t>(a, 2 * i + 1)} * simd::lane<int16_t>(b, 2 * i + 1);
    simd::set_lane<uint32_t>(r, i, static_cast<uint32_t>(s));
  }
  return r;
}

// ---- average, min/max, sum of absolute differences -----------------------------------------------
LANE_OP(op_pavgb, uint8_t, (uint32_t{x} + y + 1) >> 1)
LANE_OP(op_pavgw, uint16_t, (uint32_t{x} + y + 1) >> 1)
LANE_OP(op_pminub, uint8_t, x < y ? x : y)
LANE_OP(op_pmaxub, uint8_t, x > y ? x : y)
LANE_OP(op_pminsw, int16_t, x < y ? x : y)
LANE_OP(op_pmaxsw, int16_t, x > y ? x : y)
LANE_OP(op_pminsb, int8_t, x < y ? x : y)
LANE_OP(op_pmaxsb, int8_t, x > y ? x : y)
LANE_OP(op_pminuw, uint16_t, x < y ? x : y)
LANE_OP(op_pmaxuw, uint16_t, x > y ? x : y)
LANE_OP(op_pminsd, int32_t, x < y ? x : y)
LANE_OP(op_pmaxsd, int32_t, x > y ? x : y)
LANE_OP(op_pminud, uint32_t, x < y ? x : y)
LANE_OP(op_pmaxud, uint32_t, x > y ? x : y)

// PSADBW: per 8-byte group, the sum of |a - b| in the group's low word; the rest is zero.
Xmm op_psadbw(const Xmm& a, const Xmm& b, unsigned n) {
  Xmm r = simd::xmm_of(0);
  for (unsigned g = 0; g < n / 8; ++g) {
    unsigned s = 0;
    for (unsigned i = 0; i < 8; ++i) {
      int dlt = int{simd::lane<uint8_t>(a, 8 * g + i)} - simd::lane<uint8_t>(b, 8 * g + i);
      s += static_cast<unsigned>(dlt < 0 ? -dlt : dlt);
    }
    simd::set_lane<uint64_t>(r, g, s);
  }
  return r;
}

// ---- logic ----------------------------------------------------------------------------------------
LANE_OP(op_pand, uint64_t, x & y)
LANE_OP(op_pandn, uint64_t, ~x & y)
LANE_OP(op_por, uint64_t, x | y)
LANE_OP(op_pxor, uint64_t, x ^ y)

// ---- compares: all ones where true --------------------------------------------------------------------
LANE_OP(op_pcmpeqb, uint8_t, x == y ? 0xFF : 0)
LANE_OP(op_pcmpeqw, uint16_t, x == y ? 0xFFFF : 0)
LANE_OP(op_pcmpeqd, uint32_t, x == y ? 0xFFFFFFFFu : 0)
LANE_OP(op_pcmpeqq, uint64_t, x == y ? ~0ull : 0)
LANE_OP(op_pcmpgtb, int8_t, x > y ? -1 : 0)
LANE_OP(op_pcmpgtw, int16_t, x > y ? -1 : 0)
LANE_OP(op_pcmpgtd, int32_t, x > y ? -1 : 0)
LANE_OP(op_pcmpgtq, int64_t, x > y ? -1 : 0)

#undef LANE_OP

}  // namespace

KESTREL_SIMD_MX(PADDB, op_paddb)
KESTREL_SIMD_MX(PADDW, op_paddw)
KESTREL_SIMD_MX(PADDD, op_paddd)
KESTREL_SIMD_MX(PADDQ, op_paddq)
KESTREL_SIMD_MX(PSUBB, op_psubb)
KESTREL_SIMD_MX(PSUBW, op_psubw)
KESTREL_SIMD_MX(PSUBD, op_psubd)
KESTREL_SIMD_MX(PSUBQ, op_psubq)
KESTREL_SIMD_MX(PADDSB, op_paddsb)
KESTREL_SIMD_MX(PADDSW, op_paddsw)
KESTREL_SIMD_MX(PSUBSB, op_psubsb)
KESTREL_SIMD_MX(PSUBSW, op_psubsw)
KESTREL_SIMD_MX(PADDUSB, op_paddusb)
KESTREL_SIMD_MX(PADDUSW, op_paddusw)
KESTREL_SIMD_MX(PSUBUSB, op_psubusb)
KESTREL_SIMD_MX(PSUBUSW, op_psubusw)
KESTREL_SIMD_MX(PMULLW, op_pmullw)
KESTREL_SIMD_MX(PMULHW, op_pmulhw)
KESTREL_SIMD_MX(PMULHUW, op_pmulhuw)
KESTREL_SIMD_MX(PMULUDQ, op_pmuludq)
KESTREL_SIMD_MX(PMADDWD, op_pmaddwd)
KESTREL_SIMD_MX(PAVGB, op_pavgb)
KESTREL_SIMD_MX(PAVGW, op_pavgw)
KESTREL_SIMD_MX(PMINUB, op_pminub)
KESTREL_SIMD_MX(PMAXUB, op_pmaxub)
KESTREL_SIMD_MX(PMINSW, op_pminsw)
KESTREL_SIMD_MX(PMAXSW, op_pmaxsw)
KESTREL_SIMD_MX(PSADBW, op_psadbw)
KESTREL_SIMD_MX(PAND, op_pand)
KESTREL_SIMD_MX(PANDN, op_pandn)
KESTREL_SIMD_MX(POR, op_por)
KESTREL_SIMD_MX(PXOR, op_pxor)
KESTREL_SIMD_MX(PCMPEQB, op_pcmpeqb)
KESTREL_SIMD_MX(PCMPEQW, op_pcmpeqw)
KESTREL_SIMD_MX(PCMPEQD, op_pcmpeqd)
KESTREL_SIMD_MX(PCMPGTB, op_pcmpgtb)
KESTREL_SIMD_MX(PCMPGTW, op_pcmpgtw)
KESTREL_SIMD_MX(PCMPGTD, op_pcmpgtd)

// SSE4.1 / SSE4.2 (XMM only).
KESTREL_SIMD_X(PMULLD, op_pmulld)
KESTREL_SIMD_X(PMULDQ, op_pmuldq)
KESTREL_SIMD_X(PMINSB, op_pminsb)
KESTREL_SIMD_X(PMAXSB, op_pmaxsb)
KESTREL_SIMD_X(PMINUW, op_pminuw)
KESTREL_SIMD_X(PMAXUW, op_pmaxuw)
KESTREL_SIMD_X(PMINSD, op_pminsd)
KESTREL_SIMD_X(PMAXSD, op_pmaxsd)
KESTREL_SIMD_X(PMINUD, op_pminud)
KESTREL_SIMD_X(PMAXUD, op_pmaxud)
KESTREL_SIMD_X(PCMPEQQ, op_pcmpeqq)
KESTREL_SIMD_X(PCMPGTQ, op_pcmpgtq)

}  // namespace kestrel::interp::handlers
