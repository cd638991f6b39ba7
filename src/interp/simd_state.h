// Shared by the x87, MMX and SSE handler families: the availability checks of
// SDM Vol. 3 §2.5 / Table 2-2 (CR0.EM, CR0.TS, CR4.OSFXSR) and register access.
#pragma once

#include <cstdint>
#include <cstring>

#include "interp/operands.h"

namespace kestrel::interp {

inline constexpr uint64_t kCr4Osfxsr = 1u << 9, kCr4Osxmmexcpt = 1u << 10;

// SSE/SSE2/SSE3/SSSE3/SSE4 instructions: #UD when CR0.EM or !CR4.OSFXSR, then #NM when CR0.TS.
inline bool sse_usable(CpuState& c) {
  if ((c.cr0 & m::kCr0EM) || !(c.cr4 & kCr4Osfxsr)) return m::raise_ud(c), false;
  if (c.cr0 & m::kCr0TS) return m::raise_exception(c, m::kVecNM), false;
  return true;
}

// MMX instructions: #UD when CR0.EM, #NM when CR0.TS (then a pending x87 #MF is checked
// by the x87 code's helper).
inline bool mmx_usable(CpuState& c) {
  if (c.cr0 & m::kCr0EM) return m::raise_ud(c), false;
  if (c.cr0 & m::kCr0TS) return m::raise_exception(c, m::kVecNM), false;
  return true;
}

// XMM register n (0-15) as lanes of type T.
template <class T>
inline T xmm_get(const CpuState& c, unsigned n, unsigned lane) {
  T v;
  std::memcpy(&v, reinterpret_cast<const uint8_t*>(&c.xmm[n]) + lane * sizeof(T), sizeof(T));
  return v;
}
template <class T>
inline void xmm_set(CpuState& c, unsigned n, unsigned lane, T v) {
  std::memcpy(reinterpret_cast<uint8_t*>(&c.xmm[n]) + lane * sizeof(T), &v, sizeof(T));
}

// Memory operands of 16 bytes: the aligned forms (MOVAPS, MOVDQA, most packed
// arithmetic without VEX) raise #GP(0) when the address is not 16-byte aligned.
inline bool read_m128(CpuState& c, const DecodedInsn& d, m::Xmm& v, bool aligned) {
  uint64_t ea = effective_address(c, d);
  uint64_t lin = 0;
  if (!m::segment_to_linear(c, d.seg, ea, 16, m::Access::Read, lin)) return false;
  if (aligned && (lin & 15)) return m::raise_gp(c, 0), false;
  return m::read_linear(c, lin, v.q[0], m::user_access(c)) &&
         m::read_linear(c, (lin + 8) & (c.mode == m::CpuMode::Long64 ? ~0ull : 0xFFFFFFFFull), v.q[1],
                        m::user_access(c));
}

inline bool write_m128(CpuState& c, const DecodedInsn& d, const m::Xmm& v, bool aligned) {
  uint64_t ea = effective_address(c, d);
  uint64_t lin = 0;
  if (!m::segment_to_linear(c, d.seg, ea, 16, m::Access::Write, lin)) return false;
  if (aligned && (lin & 15)) return m::raise_gp(c, 0), false;
  if (!m::probe_write(c, d.seg, ea, 16)) return false;
  return m::write_linear(c, lin, v.q[0], m::user_access(c)) &&
         m::write_linear(c, (lin + 8) & (c.mode == m::CpuMode::Long64 ? ~0ull : 0xFFFFFFFFull), v.q[1],
                         m::user_access(c));
}

// The r/m operand of an SSE form: an XMM register (mod == 3) or 16 bytes of memory.
inline bool read_xmm_rm(CpuState& c, const DecodedInsn& d, m::Xmm& v, bool aligned) {
  if (d.mod == 3) {
    v = c.xmm[d.rm];
    return true;
  }
  return read_m128(c, d, v, aligned);
}

}  // namespace kestrel::interp
