// SSE4.2 string and text compares (PCMPESTRI, PCMPESTRM, PCMPISTRI, PCMPISTRM), CRC32
// and POPCNT (SDM Vol. 2B; the compares follow Vol. 2 §4.1, "Imm8 Control Byte Operation
// for PCMPESTRI / PCMPESTRM / PCMPISTRI / PCMPISTRM").
#include <bit>

#include "interp/simd/simd_common.h"

namespace kestrel::interp::handlers {

namespace {

using simd::lane;
using simd::set_lane;
using simd::Xmm;
using simd::xmm_of;

// ---- the string compare engine (SDM Vol. 2 §4.1) -----------------------------------------------------
// imm8[1:0] element format: unsigned bytes, unsigned words, signed bytes, signed words.
// imm8[3:2] aggregation: equal any, ranges, equal each, equal ordered.
// imm8[5:4] polarity: +, -, masked +, masked -.
// imm8[6]: index of the least / most significant set bit (STRI); bit mask / element
// mask (STRM).
struct StrCmp {
  uint32_t res2;  // IntRes2
  unsigned n;     // elements per operand: 16 or 8
  unsigned len1, len2;
};

int32_t element(const Xmm& v, unsigned i, unsigned imm) {
  switch (imm & 3) {
    case 0: return lane<uint8_t>(v, i);
    case 1: return lane<uint16_t>(v, i);
    case 2: return lane<int8_t>(v, i);
    default: return lane<int16_t>(v, i);
  }
}

// Implicit length: the index of the first zero element, or n.
unsigned implicit_length(const Xmm& v, unsigned imm) {
  const unsigned n = (imm & 1) ? 8 : 16;
  for (unsigned i = 0; i < n; ++i)
    if (element(v, i, imm) == 0) return i;
  return n;
}

// Explicit length: |rAX| or |rDX| (64-bit with REX.W, else 32-bit signed), saturated to n.
unsigned explicit_length(uint64_t reg, bool wide, unsigned imm) {
  const unsigned n = (imm & 1) ? 8 : 16;
  int64_t v = wide ? static_cast<int64_t>(reg) : static_cast<int64_t>(static_cast<int32_t>(reg));
  uint64_t mag = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  return mag > n ? n : static_cast<unsigned>(mag);
}

// src1 = xmm1 (ModRM.reg), src2 = xmm2/m128; element i of src1 is valid when i < len1,
// element j of src2 when j < len2. Invalid elements force the comparison as in Table 4-7.
StrCmp string_compare(const Xmm& s1, const Xmm& s2, unsigned len1, unsigned len2, unsigned imm) {
  const unsigned n = (imm & 1) ? 8 : 16;
  uint32_t res1 = 0;
  switch ((imm >> 2) & 3) {
    case 0:  // equal any: src2[j] equals some src1[i] (invalid on either side: false)
      for (unsigned j = 0; j < len2; ++j)
        for (unsigned i = 0; i < len1; ++i)
          if (element(s1, i, imm) == element(s2, j, imm)) res1 |= 1u << j;
      break;
    case 1:  // ranges: src1[i] <= src2[j] <= src1[i+1] for an even i (invalid: false)
      for (unsigned j = 0; j < len2; ++j) {
        const int32_t x = element(s2, j, imm);
        for (unsigned i = 0; i + 1 < len1; i += 2)
          if (x >= element(s1, i, imm) && x <= element(s1, i + 1, imm)) res1 |= 1u << j;
      }
      break;
    case 2:  // equal each: src1[i] == src2[i] (both invalid: true, one invalid: false)
      for (unsigned i = 0; i < n; ++i) {
        bool v1 = i < len1, v2 = i < len2;
        bool r = (!v1 && !v2) || (v1 && v2 && element(s1, i, imm) == element(s2, i, imm));
        if (r) res1 |= 1u << i;
      }
      break;
    default:  // equal ordered: src1 occurs in src2 starting at j (src1 invalid: true,
              // src1 valid and src2 invalid: false); matches may run off the end of src2
      for (unsigned j = 0; j < n; ++j) {
        bool r = true;
        for (unsigned i = 0; i + j < n && r; ++i) {
          const unsigned k = i + j;
          if (i >= len1) break;
          if (k >= len2 || element(s1, i, imm) != element(s2, k, imm)) r = false;
        }
        if (r) res1 |= 1u << j;
      }
      break;
  }
  const uint32_t all = (1u << n) - 1;
  uint32_t res2 = res1;
  switch ((imm >> 4) & 3) {
    case 1: res2 = ~res1 & all; break;                    // negative polarity
    case 3: res2 = res1 ^ ((1u << len2) - 1); break;      // masked negative: valid src2 lanes only
    default: break;                                       // positive / masked positive
  }
  return StrCmp{res2, n, len1, len2};
}

// Flags of all four (SDM Vol. 2 §4.1.6): CF = IntRes2 != 0, ZF = src2 shorter than n,
// SF = src1 shorter than n, OF = IntRes2[0]; AF and PF cleared.
void string_flags(CpuState& c, const StrCmp& r) {
  uint64_t f = 0;
  if (r.res2) f |= m::kCF;
  if (r.len2 < r.n) f |= m::kZF;
  if (r.len1 < r.n) f |= m::kSF;
  if (r.res2 & 1) f |= m::kOF;
  m::set_arith_flags(c, f);
}

// Index output (STRI): ECX (zero-extended into RCX) = the least or most significant set
// bit of IntRes2, or n when there is none.
void string_index(CpuState& c, const StrCmp& r, unsigned imm) {
  unsigned idx = r.n;
  if (r.res2) idx = (imm & 0x40) ? 31 - static_cast<unsigned>(std::countl_zero(r.res2))
                                 : static_cast<unsigned>(std::countr_zero(r.res2));
  set_reg<uint32_t>(c, m::RCX, idx);
}

// Mask output (STRM): XMM0 = IntRes2 zero-extended, or with imm8[6] each element all ones
// where its bit is set.
void string_mask(CpuState& c, const StrCmp& r, unsigned imm) {
  Xmm out = xmm_of(0);
  if (!(imm & 0x40)) {
    out.q[0] = r.res2;
  } else {
    for (unsigned i = 0; i < r.n; ++i)
      if ((r.res2 >> i) & 1) {
        if (r.n == 8) set_lane<uint16_t>(out, i, 0xFFFF);
        else set_lane<uint8_t>(out, i, 0xFF);
      }
  }
  c.xmm[0] = out;
}

enum class StrOut { Index, Mask };

template <bool Explicit, StrOut Out>
ExecStatus pcmpstr(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  Xmm s2;
  KESTREL_TRY(simd::read_w(c, d, s2, 16, false));  // no alignment rule for these forms
  const Xmm s1 = c.xmm[d.reg];
  const unsigned imm = simd::imm8(d);
  unsigned len1, len2;
  if constexpr (Explicit) {
    len1 = explicit_length(c.gpr[m::RAX], d.osize == 8, imm);
    len2 = explicit_length(c.gpr[m::RDX], d.osize == 8, imm);
  } else {
    len1 = implicit_length(s1, imm);
    len2 = implicit_length(s2, imm);
  }
  StrCmp r = string_compare(s1, s2, len1, len2, imm);
  if constexpr (Out == StrOut::Index) string_index(c, r, imm);
  else string_mask(c, r, imm);
  string_flags(c, r);
  return ExecStatus::Ok;
}

// ---- CRC32 ----------------------------------------------------------------------------------------------
// CRC-32C (Castagnoli, polynomial 11EDC6F41h) in its bit-reflected form 82F63B78h, without
// the initial and final inversion: the instruction's BIT_REFLECT formulation (SDM Vol. 2A
// CRC32) computed a byte at a time, least significant byte first.
struct Crc32cTable {
  uint32_t t[256];
  constexpr Crc32cTable() : t{} {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[i] = c;
    }
  }
};
constexpr Crc32cTable kCrc32c;

uint32_t crc32c(uint32_t crc, uint64_t data, unsigned bytes) {
  for (unsigned i = 0; i < bytes; ++i) crc = kCrc32c.t[(crc ^ (data >> (8 * i))) & 0xFF] ^ (crc >> 8);
  return crc;
}

}  // namespace

ExecStatus PCMPESTRI_Vdq_Wdq_Ib(CpuState& c, const DecodedInsn& d) { return pcmpstr<true, StrOut::Index>(c, d); }
ExecStatus PCMPESTRM_Vdq_Wdq_Ib(CpuState& c, const DecodedInsn& d) { return pcmpstr<true, StrOut::Mask>(c, d); }
ExecStatus PCMPISTRI_Vdq_Wdq_Ib(CpuState& c, const DecodedInsn& d) { return pcmpstr<false, StrOut::Index>(c, d); }
ExecStatus PCMPISTRM_Vdq_Wdq_Ib(CpuState& c, const DecodedInsn& d) { return pcmpstr<false, StrOut::Mask>(c, d); }

// CRC32 r32/r64, r/m8: the byte source uses the legacy byte registers (AH..BH without REX).
// The accumulator is 32 bits; the r64 destination (REX.W) is zero-extended like r32.
ExecStatus CRC32_Gd_Eb(CpuState& c, const DecodedInsn& d) {
  uint8_t v;
  KESTREL_TRY(read_rm<uint8_t>(c, d, v));
  set_reg<uint32_t>(c, d.reg, crc32c(static_cast<uint32_t>(c.gpr[d.reg]), v, 1));
  return ExecStatus::Ok;
}

// CRC32 r32, r/m16 (66) / r/m32 / r64, r/m64 (REX.W): the source has the operand size.
ExecStatus CRC32_Gd_Ev(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() {
    T v;
    KESTREL_TRY(read_rm<T>(c, d, v));
    set_reg<uint32_t>(c, d.reg, crc32c(static_cast<uint32_t>(c.gpr[d.reg]), v, sizeof(T)));
    return ExecStatus::Ok;
  });
}

// POPCNT: ZF = (source == 0); OF SF AF CF PF cleared.
ExecStatus POPCNT_Gv_Ev(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() {
    T v;
    KESTREL_TRY(read_rm<T>(c, d, v));
    set_reg<T>(c, d.reg, static_cast<T>(std::popcount(v)));
    m::set_arith_flags(c, v == 0 ? m::kZF : 0);
    return ExecStatus::Ok;
  });
}

}  // namespace kestrel::interp::handlers
