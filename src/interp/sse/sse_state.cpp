// SSE state management: LDMXCSR/STMXCSR, FXSAVE/FXRSTOR (SDM Vol. 1 §10.5), XSAVE/XRSTOR
// for the x87 and SSE components with XGETBV/XSETBV (SDM Vol. 1 chapter 13), and the
// ordering and cache hints SFENCE/LFENCE/MFENCE/CLFLUSH.
//
// FXSAVE and the legacy region of XSAVE share one image (fx_build / fx_load): the 32-bit
// layout (FIP/FCS, FDP/FDS) or, with REX.W, the 64-bit one (64-bit FIP and FDP), the x87
// registers in stack order with the abridged tag word (one bit per physical register),
// MXCSR with MXCSR_MASK, and XMM0-7 (XMM0-15 in 64-bit mode). Established on hardware: the
// reserved bytes and the six upper bytes of each register slot are written as zeros, bytes
// 416-511 (288-511 outside 64-bit mode) are not written, and MXCSR_MASK is 0xFFFF (DAZ).
#include "interp/handlers.h"
#include "interp/sse/sse_common.h"

namespace kestrel::interp::handlers {

using namespace kestrel::interp::sse;

namespace {

// MXCSR bits 0-15 are defined (DAZ included); setting any of bits 16-31 is #GP(0).
constexpr uint32_t kMxcsrMask = 0xFFFF;
constexpr uint64_t kCr4Osxsave = 1ull << 18;
// XCR0 components implemented: x87 (bit 0) and SSE (bit 1).
constexpr uint64_t kXcr0Supported = 3;

constexpr unsigned kFxsaveSize = 512, kXsaveHeader = 512, kXsaveSize = 576;

// ---- the FXSAVE image ----------------------------------------------------------------------------------

struct Image {
  uint8_t b[kXsaveSize] = {};
  template <class T>
  void put(unsigned off, T v) { std::memcpy(b + off, &v, sizeof(T)); }
  template <class T>
  T get(unsigned off) const {
    T v;
    std::memcpy(&v, b + off, sizeof(T));
    return v;
  }
};

unsigned xmm_count(const CpuState& c) { return c.mode == m::CpuMode::Long64 ? 16 : 8; }

// The x87 part: bytes 0-23 and 32-159.
void fx_build_x87(const CpuState& c, Image& im, bool rex_w) {
  im.put<uint16_t>(0, c.fcw);
  im.put<uint16_t>(2, x87_fsw(c));
  im.put<uint8_t>(4, ftw_to_abridged(c.ftw));
  im.put<uint16_t>(6, c.fop & 0x7FF);
  if (rex_w) {
    im.put<uint64_t>(8, c.fip);
    im.put<uint64_t>(16, c.fdp);
  } else {
    im.put<uint32_t>(8, static_cast<uint32_t>(c.fip));
    im.put<uint16_t>(12, c.fcs);
    im.put<uint32_t>(16, static_cast<uint32_t>(c.fdp));
    im.put<uint16_t>(20, c.fds);
  }
  for (unsigned i = 0; i < 8; ++i) {
    const m::X87Reg& r = c.fpr[(c.ftop + i) & 7];
    im.put<uint64_t>(32 + 16 * i, r.sig);
    im.put<uint16_t>(40 + 16 * i, r.sign_exp);
  }
}

void fx_build_mxcsr(const CpuState& c, Image& im) {
  im.put<uint32_t>(24, c.mxcsr);
  im.put<uint32_t>(28, kMxcsrMask);
}

void fx_build_xmm(const CpuState& c, Image& im) {
  for (unsigned i = 0; i < xmm_count(c); ++i) {
    im.put<uint64_t>(160 + 16 * i, c.xmm[i].q[0]);
    im.put<uint64_t>(168 + 16 * i, c.xmm[i].q[1]);
  }
}

void fx_load_x87(CpuState& c, const Image& im, bool rex_w) {
  // FCW as FLDCW loads it: reserved bits 15:13 and 7 read as 0, bit 6 as 1 (checked on hardware).
  c.fcw = static_cast<uint16_t>((im.get<uint16_t>(0) & 0x1F3F) | 0x0040);
  x87_set_fsw(c, im.get<uint16_t>(2));
  c.fop = im.get<uint16_t>(6) & 0x7FF;
  if (rex_w) {
    c.fip = im.get<uint64_t>(8);
    c.fdp = im.get<uint64_t>(16);
    c.fcs = c.fds = 0;
  } else {
    c.fip = im.get<uint32_t>(8);
    c.fcs = im.get<uint16_t>(12);
    c.fdp = im.get<uint32_t>(16);
    c.fds = im.get<uint16_t>(20);
  }
  for (unsigned i = 0; i < 8; ++i) {
    m::X87Reg& r = c.fpr[(c.ftop + i) & 7];
    r.sig = im.get<uint64_t>(32 + 16 * i);
    r.sign_exp = im.get<uint16_t>(40 + 16 * i);
  }
  c.ftw = abridged_to_ftw(c, im.get<uint8_t>(4));
  // ES and B follow the flags and masks, whatever the image says (checked on hardware).
  x87_update_summary(c);
}

void fx_load_xmm(CpuState& c, const Image& im) {
  for (unsigned i = 0; i < xmm_count(c); ++i) {
    c.xmm[i].q[0] = im.get<uint64_t>(160 + 16 * i);
    c.xmm[i].q[1] = im.get<uint64_t>(168 + 16 * i);
  }
}

// ---- guest memory in 8-byte pieces ----------------------------------------------------------------------

uint64_t at(const DecodedInsn& d, uint64_t ea, unsigned off) { return (ea + off) & addr_mask(d); }

bool read_bytes(CpuState& c, const DecodedInsn& d, uint64_t ea, Image& im, unsigned from, unsigned to) {
  for (unsigned off = from; off < to; off += 8) {
    uint64_t v;
    if (!m::read_mem(c, d.seg, at(d, ea, off), v)) return false;
    im.put<uint64_t>(off, v);
  }
  return true;
}

bool write_bytes(CpuState& c, const DecodedInsn& d, uint64_t ea, const Image& im, unsigned from, unsigned to) {
  for (unsigned off = from; off < to; off += 8)
    if (!m::write_mem(c, d.seg, at(d, ea, off), im.get<uint64_t>(off))) return false;
  return true;
}

// The save area's address: segment checks for `size` bytes, then the alignment #GP(0)
// (on the linear address, as for the other SSE alignment checks).
bool save_area(CpuState& c, const DecodedInsn& d, unsigned size, unsigned align, bool write, uint64_t& ea) {
  ea = effective_address(c, d);
  uint64_t lin = 0;
  if (!m::segment_to_linear(c, d.seg, ea, size, write ? m::Access::Write : m::Access::Read, lin)) return false;
  if (lin & (align - 1)) return m::raise_gp(c, 0), false;
  return true;
}

// FXSAVE/FXRSTOR/XSAVE/XRSTOR: #NM when CR0.TS (FXSAVE/FXRSTOR also when CR0.EM).
bool fx_usable(CpuState& c) {
  if (c.cr0 & (m::kCr0TS | m::kCr0EM)) return m::raise_exception(c, m::kVecNM), false;
  return true;
}

bool xsave_usable(CpuState& c) {
  if (!(c.cr4 & kCr4Osxsave)) return m::raise_ud(c), false;
  if (c.cr0 & m::kCr0TS) return m::raise_exception(c, m::kVecNM), false;
  return true;
}

// XINUSE (SDM Vol. 1 §13.6), approximated by comparing with the initial configuration:
// hardware keeps a flag per component (set by any use, cleared by an initialising XRSTOR).
bool x87_in_init(const CpuState& c) {
  if (c.fcw != kFcwInit || c.fsw != 0 || c.ftop != 0 || c.ftw != 0xFFFF || c.fop != 0 || c.fip != 0 || c.fdp != 0 ||
      c.fcs != 0 || c.fds != 0)
    return false;
  for (const auto& r : c.fpr)
    if (r.sig != 0 || r.sign_exp != 0) return false;
  return true;
}

bool sse_in_init(const CpuState& c) {
  for (const auto& x : c.xmm)
    if (x.q[0] | x.q[1]) return false;
  return true;
}

void x87_init(CpuState& c) {
  c.fcw = kFcwInit;
  c.fsw = 0;
  c.ftop = 0;
  c.ftw = 0xFFFF;
  c.fop = 0;
  c.fip = c.fdp = 0;
  c.fcs = c.fds = 0;
  for (auto& r : c.fpr) r = m::X87Reg{};
  x87_update_summary(c);  // drops FERR#
}

bool rex_w(const DecodedInsn& d) { return d.osize == 8; }

}  // namespace

// ---- MXCSR ------------------------------------------------------------------------------------------------
ExecStatus LDMXCSR_Md(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  uint32_t v;
  KESTREL_TRY(m::read_mem(c, d.seg, effective_address(c, d), v));
  if (v & ~kMxcsrMask) return m::raise_gp(c, 0);
  c.mxcsr = v;
  return ExecStatus::Ok;
}

ExecStatus STMXCSR_Md(CpuState& c, const DecodedInsn& d) {
  if (!sse_usable(c)) return ExecStatus::Fault;
  KESTREL_TRY(m::write_mem(c, d.seg, effective_address(c, d), c.mxcsr));
  return ExecStatus::Ok;
}

// ---- FXSAVE / FXRSTOR ----------------------------------------------------------------------------------------
// Non-waiting: a pending x87 exception is saved, not raised. XMM and MXCSR are saved and
// restored whatever CR4.OSFXSR says (the SDM leaves that implementation dependent).
ExecStatus FXSAVE_M(CpuState& c, const DecodedInsn& d) {
  if (!fx_usable(c)) return ExecStatus::Fault;
  uint64_t ea;
  KESTREL_TRY(save_area(c, d, kFxsaveSize, 16, true, ea));
  Image im;
  fx_build_x87(c, im, rex_w(d));
  fx_build_mxcsr(c, im);
  fx_build_xmm(c, im);
  const unsigned end = 160 + 16 * xmm_count(c);
  KESTREL_TRY(m::probe_write(c, d.seg, ea, end));
  KESTREL_TRY(write_bytes(c, d, ea, im, 0, end));
  return ExecStatus::Ok;
}

ExecStatus FXRSTOR_M(CpuState& c, const DecodedInsn& d) {
  if (!fx_usable(c)) return ExecStatus::Fault;
  uint64_t ea;
  KESTREL_TRY(save_area(c, d, kFxsaveSize, 16, false, ea));
  Image im;
  KESTREL_TRY(read_bytes(c, d, ea, im, 0, 160 + 16 * xmm_count(c)));
  const uint32_t mxcsr = im.get<uint32_t>(24);
  if (mxcsr & ~kMxcsrMask) return m::raise_gp(c, 0);
  fx_load_x87(c, im, rex_w(d));
  c.mxcsr = mxcsr;
  fx_load_xmm(c, im);
  return ExecStatus::Ok;
}

// ---- XSAVE / XRSTOR (standard form; x87 and SSE components) -----------------------------------------------------
ExecStatus XSAVE_M(CpuState& c, const DecodedInsn& d) {
  if (!xsave_usable(c)) return ExecStatus::Fault;
  uint64_t ea;
  KESTREL_TRY(save_area(c, d, kXsaveSize, 64, true, ea));
  const uint64_t rfbm = c.xcr0 & (c.gpr[m::RDX] << 32 | (c.gpr[m::RAX] & 0xFFFFFFFF));
  Image im;
  // XSTATE_BV: bits of RFBM take XINUSE, the others keep their value (SDM Vol. 1 §13.7);
  // XCOMP_BV and the rest of the header are not written.
  KESTREL_TRY(read_bytes(c, d, ea, im, kXsaveHeader, kXsaveHeader + 8));
  const uint64_t inuse = (x87_in_init(c) ? 0 : 1) | (sse_in_init(c) ? 0 : 2);
  im.put<uint64_t>(kXsaveHeader, (im.get<uint64_t>(kXsaveHeader) & ~rfbm) | (inuse & rfbm));
  KESTREL_TRY(m::probe_write(c, d.seg, ea, kXsaveHeader + 8));
  if (rfbm & 1) {
    fx_build_x87(c, im, rex_w(d));
    KESTREL_TRY(write_bytes(c, d, ea, im, 0, 24));
    KESTREL_TRY(write_bytes(c, d, ea, im, 32, 160));
  }
  if (rfbm & 2) {  // MXCSR goes with RFBM[1] or RFBM[2] (AVX, not implemented)
    fx_build_mxcsr(c, im);
    KESTREL_TRY(write_bytes(c, d, ea, im, 24, 32));
    fx_build_xmm(c, im);
    KESTREL_TRY(write_bytes(c, d, ea, im, 160, 160 + 16 * xmm_count(c)));
  }
  KESTREL_TRY(write_bytes(c, d, ea, im, kXsaveHeader, kXsaveHeader + 8));
  return ExecStatus::Ok;
}

// #GP(0) (SDM Vol. 1 §13.8.1, standard form): XSTATE_BV with a bit XCR0 lacks, header bytes
// 8-23 not zero (XCOMP_BV, so also the compacted form, which is not supported), MXCSR with
// reserved bits. A component of RFBM whose XSTATE_BV bit is clear is initialised.
ExecStatus XRSTOR_M(CpuState& c, const DecodedInsn& d) {
  if (!xsave_usable(c)) return ExecStatus::Fault;
  uint64_t ea;
  KESTREL_TRY(save_area(c, d, kXsaveSize, 64, false, ea));
  const uint64_t rfbm = c.xcr0 & (c.gpr[m::RDX] << 32 | (c.gpr[m::RAX] & 0xFFFFFFFF));
  Image im;
  KESTREL_TRY(read_bytes(c, d, ea, im, kXsaveHeader, kXsaveHeader + 24));
  const uint64_t xstate_bv = im.get<uint64_t>(kXsaveHeader);
  if ((xstate_bv & ~c.xcr0) || im.get<uint64_t>(kXsaveHeader + 8) || im.get<uint64_t>(kXsaveHeader + 16))
    return m::raise_gp(c, 0);
  // Only the parts that will be loaded are read.
  if (rfbm & 3) KESTREL_TRY(read_bytes(c, d, ea, im, 0, 160));
  if (rfbm & xstate_bv & 2) KESTREL_TRY(read_bytes(c, d, ea, im, 160, 160 + 16 * xmm_count(c)));
  const uint32_t mxcsr = im.get<uint32_t>(24);
  if ((rfbm & 2) && (mxcsr & ~kMxcsrMask)) return m::raise_gp(c, 0);
  if (rfbm & 1) {
    if (xstate_bv & 1) fx_load_x87(c, im, rex_w(d));
    else x87_init(c);
  }
  if (rfbm & 2) {
    c.mxcsr = mxcsr;
    if (xstate_bv & 2) fx_load_xmm(c, im);
    else
      for (unsigned i = 0; i < xmm_count(c); ++i) c.xmm[i] = Xmm{};
  }
  return ExecStatus::Ok;
}

// XGETBV: ECX = 0 reads XCR0; other indexes are #GP(0) (XGETBV with ECX = 1 is not
// advertised). No privilege check.
ExecStatus XGETBV(CpuState& c, const DecodedInsn&) {
  if (!(c.cr4 & kCr4Osxsave)) return m::raise_ud(c);
  if (static_cast<uint32_t>(c.gpr[m::RCX]) != 0) return m::raise_gp(c, 0);
  c.gpr[m::RAX] = c.xcr0 & 0xFFFFFFFF;
  c.gpr[m::RDX] = c.xcr0 >> 32;
  return ExecStatus::Ok;
}

// XSETBV: CPL 0 only, ECX = 0, bit 0 (x87) set and nothing beyond the supported components.
ExecStatus XSETBV(CpuState& c, const DecodedInsn&) {
  if (!(c.cr4 & kCr4Osxsave)) return m::raise_ud(c);
  if (c.cpl != 0 || c.mode == m::CpuMode::Virtual8086) return m::raise_gp(c, 0);
  const uint64_t v = c.gpr[m::RDX] << 32 | (c.gpr[m::RAX] & 0xFFFFFFFF);
  if (static_cast<uint32_t>(c.gpr[m::RCX]) != 0 || !(v & 1) || (v & ~kXcr0Supported)) return m::raise_gp(c, 0);
  c.xcr0 = v;
  return ExecStatus::Ok;
}

// ---- ordering and cache hints -------------------------------------------------------------------------------
// One CPU executing in program order: the fences have nothing to order.
ExecStatus SFENCE(CpuState&, const DecodedInsn&) { return ExecStatus::Ok; }
ExecStatus LFENCE(CpuState&, const DecodedInsn&) { return ExecStatus::Ok; }
ExecStatus MFENCE(CpuState&, const DecodedInsn&) { return ExecStatus::Ok; }

// CLFLUSH: no cache to flush, but the operand is checked like a one-byte read (segment,
// canonical address, page present/user: SDM Vol. 2, CLFLUSH) without touching memory.
ExecStatus CLFLUSH_Mb(CpuState& c, const DecodedInsn& d) {
  uint64_t lin = 0, phys = 0;
  KESTREL_TRY(m::segment_to_linear(c, d.seg, effective_address(c, d), 1, m::Access::Read, lin));
  KESTREL_TRY(m::translate_linear(c, lin, m::Access::Read, m::user_access(c), phys));
  return ExecStatus::Ok;
}

}  // namespace kestrel::interp::handlers
