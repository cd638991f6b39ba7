// SSE floating-point data movement: the MOV forms (aligned, unaligned, scalar, halves,
// non-temporal, duplicating), MOVMSK, unpacks and shuffles, the bitwise logic forms, and
// the SSE4.1 blends, INSERTPS and EXTRACTPS. None of them computes, so none raises a SIMD
// floating-point exception; the only faults are availability (#UD/#NM), memory and the
// 16-byte alignment #GP(0) of the legacy-SSE forms with a 128-bit memory operand
// (SDM Vol. 2 §2.4, exception types 1 and 4; the scalar and 64-bit forms, MOVUPS and LDDQU
// take any address).
#include "interp/handlers.h"
#include "interp/sse/sse_common.h"

namespace kestrel::interp::handlers {

using namespace kestrel::interp::sse;

namespace {

// Full-register loads and stores.
ExecStatus load128(CpuState& c, const DecodedInsn& d, bool aligned) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  Xmm v;
  KESTREL_TRY(read_xmm_rm(c, d, v, aligned));
  c.xmm[d.reg] = v;
  return ExecStatus::Ok;
}

ExecStatus store128(CpuState& c, const DecodedInsn& d, bool aligned) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  if (d.mod == 3) {
    c.xmm[d.rm] = c.xmm[d.reg];
    return ExecStatus::Ok;
  }
  KESTREL_TRY(write_m128(c, d, c.xmm[d.reg], aligned));
  return ExecStatus::Ok;
}

// MOVSS/MOVSD load: register to register moves the low lane only; a memory load zeroes
// the rest of the register (SDM Vol. 2, MOVSS).
template <class T>
ExecStatus load_scalar(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  if (d.mod == 3) {
    xmm_set<T>(c, d.reg, 0, xmm_get<T>(c, d.rm, 0));
    return ExecStatus::Ok;
  }
  T v;
  KESTREL_TRY(m::read_mem(c, d.seg, effective_address(c, d), v));
  c.xmm[d.reg] = Xmm{};
  xmm_set<T>(c, d.reg, 0, v);
  return ExecStatus::Ok;
}

template <class T>
ExecStatus store_scalar(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  if (d.mod == 3) {
    xmm_set<T>(c, d.rm, 0, xmm_get<T>(c, d.reg, 0));
    return ExecStatus::Ok;
  }
  KESTREL_TRY(m::write_mem(c, d.seg, effective_address(c, d), xmm_get<T>(c, d.reg, 0)));
  return ExecStatus::Ok;
}

// 64-bit halves: Vq <- Mq into quadword `half`, Mq <- Vq from quadword `half`.
ExecStatus load_half(CpuState& c, const DecodedInsn& d, unsigned half) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  uint64_t v;
  KESTREL_TRY(m::read_mem(c, d.seg, effective_address(c, d), v));
  c.xmm[d.reg].q[half] = v;
  return ExecStatus::Ok;
}

ExecStatus store_half(CpuState& c, const DecodedInsn& d, unsigned half) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  KESTREL_TRY(m::write_mem(c, d.seg, effective_address(c, d), c.xmm[d.reg].q[half]));
  return ExecStatus::Ok;
}

// Two-source permutations of the destination and an aligned W operand: r = f(dst, src).
template <class F>
ExecStatus permute(CpuState& c, const DecodedInsn& d, F f) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  Xmm s;
  KESTREL_TRY(read_wps(c, d, s));
  c.xmm[d.reg] = f(c.xmm[d.reg], s);
  return ExecStatus::Ok;
}

template <class T>
Xmm blend_mask(const Xmm& a, const Xmm& b, unsigned mask) {
  Xmm r;
  for (unsigned i = 0; i < 16 / sizeof(T); ++i) set_lane<T>(r, i, (mask >> i) & 1 ? lane<T>(b, i) : lane<T>(a, i));
  return r;
}

}  // namespace

// ---- full registers -------------------------------------------------------------------------------
ExecStatus MOVUPS_Vps_Wps(CpuState& c, const DecodedInsn& d) { return load128(c, d, false); }
ExecStatus MOVUPD_Vpd_Wpd(CpuState& c, const DecodedInsn& d) { return load128(c, d, false); }
ExecStatus MOVUPS_Wps_Vps(CpuState& c, const DecodedInsn& d) { return store128(c, d, false); }
ExecStatus MOVUPD_Wpd_Vpd(CpuState& c, const DecodedInsn& d) { return store128(c, d, false); }
ExecStatus MOVAPS_Vps_Wps(CpuState& c, const DecodedInsn& d) { return load128(c, d, true); }
ExecStatus MOVAPD_Vpd_Wpd(CpuState& c, const DecodedInsn& d) { return load128(c, d, true); }
ExecStatus MOVAPS_Wps_Vps(CpuState& c, const DecodedInsn& d) { return store128(c, d, true); }
ExecStatus MOVAPD_Wpd_Vpd(CpuState& c, const DecodedInsn& d) { return store128(c, d, true); }
// Non-temporal stores: the hint changes nothing here; the alignment rule stays (SDM Vol. 2, MOVNTPS).
ExecStatus MOVNTPS_Mps_Vps(CpuState& c, const DecodedInsn& d) { return store128(c, d, true); }
ExecStatus MOVNTPD_Mpd_Vpd(CpuState& c, const DecodedInsn& d) { return store128(c, d, true); }
// LDDQU: an unaligned load whatever the address (SDM Vol. 2, LDDQU).
ExecStatus LDDQU_Vdq_Mdq(CpuState& c, const DecodedInsn& d) { return load128(c, d, false); }

// ---- scalars ----------------------------------------------------------------------------------------
ExecStatus MOVSS_Vss_Wss(CpuState& c, const DecodedInsn& d) { return load_scalar<uint32_t>(c, d); }
ExecStatus MOVSD_Vsd_Wsd(CpuState& c, const DecodedInsn& d) { return load_scalar<uint64_t>(c, d); }
ExecStatus MOVSS_Wss_Vss(CpuState& c, const DecodedInsn& d) { return store_scalar<uint32_t>(c, d); }
ExecStatus MOVSD_Wsd_Vsd(CpuState& c, const DecodedInsn& d) { return store_scalar<uint64_t>(c, d); }

// ---- halves -----------------------------------------------------------------------------------------
ExecStatus MOVLPS_Vq_Mq(CpuState& c, const DecodedInsn& d) { return load_half(c, d, 0); }
ExecStatus MOVLPD_Vq_Mq(CpuState& c, const DecodedInsn& d) { return load_half(c, d, 0); }
ExecStatus MOVHPS_Vq_Mq(CpuState& c, const DecodedInsn& d) { return load_half(c, d, 1); }
ExecStatus MOVHPD_Vq_Mq(CpuState& c, const DecodedInsn& d) { return load_half(c, d, 1); }
ExecStatus MOVLPS_Mq_Vq(CpuState& c, const DecodedInsn& d) { return store_half(c, d, 0); }
ExecStatus MOVLPD_Mq_Vq(CpuState& c, const DecodedInsn& d) { return store_half(c, d, 0); }
ExecStatus MOVHPS_Mq_Vq(CpuState& c, const DecodedInsn& d) { return store_half(c, d, 1); }
ExecStatus MOVHPD_Mq_Vq(CpuState& c, const DecodedInsn& d) { return store_half(c, d, 1); }

ExecStatus MOVHLPS_Vq_Uq(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  c.xmm[d.reg].q[0] = c.xmm[d.rm].q[1];
  return ExecStatus::Ok;
}

ExecStatus MOVLHPS_Vq_Uq(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  c.xmm[d.reg].q[1] = c.xmm[d.rm].q[0];
  return ExecStatus::Ok;
}

// ---- SSE3 duplicating moves ------------------------------------------------------------------------------
ExecStatus MOVSLDUP_Vps_Wps(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  Xmm s;
  KESTREL_TRY(read_wps(c, d, s));
  Xmm r;
  for (unsigned i = 0; i < 4; ++i) set_lane<uint32_t>(r, i, lane<uint32_t>(s, i & ~1u));
  c.xmm[d.reg] = r;
  return ExecStatus::Ok;
}

ExecStatus MOVSHDUP_Vps_Wps(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  Xmm s;
  KESTREL_TRY(read_wps(c, d, s));
  Xmm r;
  for (unsigned i = 0; i < 4; ++i) set_lane<uint32_t>(r, i, lane<uint32_t>(s, i | 1u));
  c.xmm[d.reg] = r;
  return ExecStatus::Ok;
}

// MOVDDUP reads 64 bits (no alignment requirement).
ExecStatus MOVDDUP_Vpd_Wsd(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  uint64_t v;
  KESTREL_TRY(read_wscalar(c, d, v));
  c.xmm[d.reg].q[0] = c.xmm[d.reg].q[1] = v;
  return ExecStatus::Ok;
}

// ---- sign masks --------------------------------------------------------------------------------------------
// The 32-bit result zero-extends into a 64-bit register (REX.W or not).
ExecStatus MOVMSKPS_Gd_Ups(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  uint32_t r = 0;
  for (unsigned i = 0; i < 4; ++i) r |= (xmm_get<uint32_t>(c, d.rm, i) >> 31) << i;
  set_reg<uint32_t>(c, d.reg, r);
  return ExecStatus::Ok;
}

ExecStatus MOVMSKPD_Gd_Upd(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  uint32_t r = static_cast<uint32_t>(c.xmm[d.rm].q[0] >> 63) | static_cast<uint32_t>(c.xmm[d.rm].q[1] >> 63) << 1;
  set_reg<uint32_t>(c, d.reg, r);
  return ExecStatus::Ok;
}

// ---- unpacks and shuffles ------------------------------------------------------------------------------------
ExecStatus UNPCKLPS_Vps_Wps(CpuState& c, const DecodedInsn& d) {
  return permute(c, d, [](const Xmm& a, const Xmm& b) {
    Xmm r;
    for (unsigned i = 0; i < 2; ++i) {
      set_lane<uint32_t>(r, 2 * i, lane<uint32_t>(a, i));
      set_lane<uint32_t>(r, 2 * i + 1, lane<uint32_t>(b, i));
    }
    return r;
  });
}

ExecStatus UNPCKHPS_Vps_Wps(CpuState& c, const DecodedInsn& d) {
  return permute(c, d, [](const Xmm& a, const Xmm& b) {
    Xmm r;
    for (unsigned i = 0; i < 2; ++i) {
      set_lane<uint32_t>(r, 2 * i, lane<uint32_t>(a, 2 + i));
      set_lane<uint32_t>(r, 2 * i + 1, lane<uint32_t>(b, 2 + i));
    }
    return r;
  });
}

ExecStatus UNPCKLPD_Vpd_Wpd(CpuState& c, const DecodedInsn& d) {
  return permute(c, d, [](const Xmm& a, const Xmm& b) { return Xmm{{a.q[0], b.q[0]}}; });
}

ExecStatus UNPCKHPD_Vpd_Wpd(CpuState& c, const DecodedInsn& d) {
  return permute(c, d, [](const Xmm& a, const Xmm& b) { return Xmm{{a.q[1], b.q[1]}}; });
}

// SHUFPS: lanes 0-1 from the destination, 2-3 from the source, two imm8 bits each.
ExecStatus SHUFPS_Vps_Wps_Ib(CpuState& c, const DecodedInsn& d) {
  const unsigned imm = static_cast<uint8_t>(d.imm);
  return permute(c, d, [imm](const Xmm& a, const Xmm& b) {
    Xmm r;
    set_lane<uint32_t>(r, 0, lane<uint32_t>(a, imm & 3));
    set_lane<uint32_t>(r, 1, lane<uint32_t>(a, (imm >> 2) & 3));
    set_lane<uint32_t>(r, 2, lane<uint32_t>(b, (imm >> 4) & 3));
    set_lane<uint32_t>(r, 3, lane<uint32_t>(b, (imm >> 6) & 3));
    return r;
  });
}

ExecStatus SHUFPD_Vpd_Wpd_Ib(CpuState& c, const DecodedInsn& d) {
  const unsigned imm = static_cast<uint8_t>(d.imm);
  return permute(c, d, [imm](const Xmm& a, const Xmm& b) { return Xmm{{a.q[imm & 1], b.q[(imm >> 1) & 1]}}; });
}

// ---- bitwise logic ----------------------------------------------------------------------------------------------
#define SSE_LOGIC(NAME, EXPR)                                                             \
  ExecStatus NAME##PS_Vps_Wps(CpuState& c, const DecodedInsn& d) {                        \
    return permute(c, d, [](const Xmm& a, const Xmm& b) { return Xmm{{EXPR(0), EXPR(1)}}; }); \
  }                                                                                       \
  ExecStatus NAME##PD_Vpd_Wpd(CpuState& c, const DecodedInsn& d) { return NAME##PS_Vps_Wps(c, d); }
#define AND_(i) (a.q[i] & b.q[i])
#define ANDN_(i) (~a.q[i] & b.q[i])
#define OR_(i) (a.q[i] | b.q[i])
#define XOR_(i) (a.q[i] ^ b.q[i])
SSE_LOGIC(AND, AND_)
SSE_LOGIC(ANDN, ANDN_)
SSE_LOGIC(OR, OR_)
SSE_LOGIC(XOR, XOR_)
#undef AND_
#undef ANDN_
#undef OR_
#undef XOR_
#undef SSE_LOGIC

// ---- SSE4.1 blends --------------------------------------------------------------------------------------------------
ExecStatus BLENDPS_Vps_Wps_Ib(CpuState& c, const DecodedInsn& d) {
  const unsigned imm = static_cast<uint8_t>(d.imm);
  return permute(c, d, [imm](const Xmm& a, const Xmm& b) { return blend_mask<uint32_t>(a, b, imm); });
}

ExecStatus BLENDPD_Vpd_Wpd_Ib(CpuState& c, const DecodedInsn& d) {
  const unsigned imm = static_cast<uint8_t>(d.imm);
  return permute(c, d, [imm](const Xmm& a, const Xmm& b) { return blend_mask<uint64_t>(a, b, imm); });
}

// BLENDVPS/PD: the implicit mask is the sign bit of each lane of XMM0.
ExecStatus BLENDVPS_Vps_Wps_XMM0(CpuState& c, const DecodedInsn& d) {
  unsigned mask = 0;
  for (unsigned i = 0; i < 4; ++i) mask |= (xmm_get<uint32_t>(c, 0, i) >> 31) << i;
  return permute(c, d, [mask](const Xmm& a, const Xmm& b) { return blend_mask<uint32_t>(a, b, mask); });
}

ExecStatus BLENDVPD_Vpd_Wpd_XMM0(CpuState& c, const DecodedInsn& d) {
  unsigned mask = static_cast<unsigned>(c.xmm[0].q[0] >> 63) | static_cast<unsigned>(c.xmm[0].q[1] >> 63) << 1;
  return permute(c, d, [mask](const Xmm& a, const Xmm& b) { return blend_mask<uint64_t>(a, b, mask); });
}

// ---- SSE4.1 INSERTPS / EXTRACTPS ---------------------------------------------------------------------------------------
// INSERTPS: imm8[7:6] source lane (register form; a memory operand is 32 bits), imm8[5:4]
// destination lane, imm8[3:0] lanes zeroed afterwards (SDM Vol. 2, INSERTPS).
ExecStatus INSERTPS_Vps_Wss_Ib(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  const unsigned imm = static_cast<uint8_t>(d.imm);
  uint32_t v;
  if (d.mod == 3) v = xmm_get<uint32_t>(c, d.rm, imm >> 6);
  else KESTREL_TRY(m::read_mem(c, d.seg, effective_address(c, d), v));
  Xmm r = c.xmm[d.reg];
  set_lane<uint32_t>(r, (imm >> 4) & 3, v);
  for (unsigned i = 0; i < 4; ++i)
    if ((imm >> i) & 1) set_lane<uint32_t>(r, i, 0);
  c.xmm[d.reg] = r;
  return ExecStatus::Ok;
}

// EXTRACTPS: lane imm8[1:0] to a 32-bit register or memory (a 64-bit register with REX.W
// receives it zero-extended, as any 32-bit register write does).
ExecStatus EXTRACTPS_Ed_Vps_Ib(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  uint32_t v = xmm_get<uint32_t>(c, d.reg, d.imm & 3);
  if (d.mod == 3) {
    set_reg<uint32_t>(c, d.rm, v);
    return ExecStatus::Ok;
  }
  KESTREL_TRY(m::write_mem(c, d.seg, effective_address(c, d), v));
  return ExecStatus::Ok;
}

}  // namespace kestrel::interp::handlers
