// interp/sse: SSE/SSE2/SSE3/SSE4.1 floating-point forms, MXCSR, FXSAVE/FXRSTOR,
// XSAVE/XRSTOR/XGETBV/XSETBV and CPUID leaf 0xD. Each case decodes real instruction
// bytes (so the table mapping is checked too), runs the handler on a CPU with every SSE
// feature, and compares with results worked out by hand from the SDM's "Operation"
// sections (values are written as bit patterns; F()/D() only spell constants).
#include <doctest/doctest.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "handler_rig.h"
#include "machine/cpu_model.h"
#include "machine/cpu_state.h"
#include "machine/flags.h"
#include "machine/machine.h"
#include "machine/segments.h"

using namespace kestrel;
using machine::CpuMode;
using machine::CpuState;
using machine::ExecStatus;

namespace {

constexpr uint64_t kOsfxsr = 1u << 9, kOsxmmexcpt = 1u << 10, kOsxsave = 1u << 18;
// MXCSR bits.
constexpr uint32_t kIE = 0x01, kDE = 0x02, kZE = 0x04, kOE = 0x08, kUE = 0x10, kPE = 0x20, kDAZ = 0x40,
                   kFTZ = 0x8000, kMxDefault = 0x1F80;
constexpr uint32_t kIM = 0x80, kZM = 0x200, kPM = 0x1000;

uint32_t F(float f) { return std::bit_cast<uint32_t>(f); }
uint64_t D(double f) { return std::bit_cast<uint64_t>(f); }
uint64_t pack(uint32_t lo, uint32_t hi) { return uint64_t(hi) << 32 | lo; }

// A CPU with every SSE feature, flat 4 GiB segments, CR0.NE, CR4.OSFXSR|OSXMMEXCPT|OSXSAVE,
// MXCSR 0x1F80 and the x87 registers empty. Instructions are decoded for `mode` and run
// one at a time.
struct Rig : test::HandlerRig {
  explicit Rig(CpuMode md = CpuMode::Protected32)
      : HandlerRig(md, {machine::Feature::Mmx, machine::Feature::Fxsr, machine::Feature::Sse, machine::Feature::Sse2,
                        machine::Feature::Sse3, machine::Feature::Sse41, machine::Feature::Xsave,
                        machine::Feature::Clfsh}) {
    CpuState& c = cpu();
    c.mode = md;
    c.cr0 = machine::kCr0PE | machine::kCr0ET | machine::kCr0NE;
    c.cr4 = kOsfxsr | kOsxmmexcpt | kOsxsave;
    for (auto& s : c.seg) {
      s.base = 0;
      s.limit = 0xFFFFFFFF;
      s.attr = 0x93 | machine::kSegAttrD | machine::kSegAttrG;
    }
    c.seg[machine::CS].attr = 0x9B | (md == CpuMode::Long64 ? machine::kSegAttrL : machine::kSegAttrD) |
                              machine::kSegAttrG;
    machine::refresh_all_segments(c);
    c.cpl = 0;
    c.mxcsr = kMxDefault;
    c.ftw = 0xFFFF;
    c.ftop = 0;
    c.fcw = 0x037F;
    c.fsw = 0;
    c.xcr0 = 1;
  }

  void set_ps(unsigned i, uint32_t a, uint32_t b, uint32_t c2, uint32_t d) { set_xmm(i, pack(a, b), pack(c2, d)); }
  uint32_t ps(unsigned i, unsigned k) {
    uint32_t v;
    std::memcpy(&v, reinterpret_cast<uint8_t*>(&cpu().xmm[i]) + 4 * k, 4);
    return v;
  }
};

using namespace machine;  // register names, flag bits, vectors

}  // namespace

// ---- decoding ---------------------------------------------------------------------------------------------
TEST_CASE("sse: mandatory prefixes and ModRM.mod select the form") {
  Rig r;
  CHECK(r.name_of({0x0F, 0x58, 0xCA}) == "ADDPS_Vps_Wps");
  CHECK(r.name_of({0x66, 0x0F, 0x58, 0xCA}) == "ADDPD_Vpd_Wpd");
  CHECK(r.name_of({0xF3, 0x0F, 0x58, 0xCA}) == "ADDSS_Vss_Wss");
  CHECK(r.name_of({0xF2, 0x0F, 0x58, 0xCA}) == "ADDSD_Vsd_Wsd");
  CHECK(r.name_of({0x66, 0xF3, 0x0F, 0x58, 0xCA}) == "ADDSS_Vss_Wss");  // F3 wins over 66
  CHECK(r.name_of({0x0F, 0x12, 0x08}) == "MOVLPS_Vq_Mq");
  CHECK(r.name_of({0x0F, 0x12, 0xCA}) == "MOVHLPS_Vq_Uq");
  CHECK(r.name_of({0x0F, 0x16, 0xCA}) == "MOVLHPS_Vq_Uq");
  CHECK(r.name_of({0xF3, 0x0F, 0x12, 0xCA}) == "MOVSLDUP_Vps_Wps");
  CHECK(r.name_of({0x0F, 0xAE, 0x38}) == "CLFLUSH_Mb");
  CHECK(r.name_of({0x0F, 0xAE, 0xF8}) == "SFENCE");
  CHECK(r.name_of({0x0F, 0xAE, 0xE8}) == "LFENCE");
  CHECK(r.name_of({0x0F, 0xAE, 0xF0}) == "MFENCE");
  CHECK(r.name_of({0x0F, 0xAE, 0x10}) == "LDMXCSR_Md");
  CHECK(r.name_of({0x0F, 0x01, 0xD0}) == "XGETBV");
  CHECK(r.name_of({0x0F, 0x01, 0xD1}) == "XSETBV");
  CHECK(r.name_of({0x0F, 0x01, 0x10}) == "LGDT_Ms");  // the memory form of 0F 01 /2 is not XGETBV
  CHECK(r.name_of({0x66, 0x0F, 0x3A, 0x40, 0xCA, 0xFF}) == "DPPS_Vps_Wps_Ib");
  CHECK(r.name_of({0x66, 0x0F, 0x38, 0x14, 0xCA}) == "BLENDVPS_Vps_Wps_XMM0");
  CHECK(r.name_of({0x0F, 0x18, 0x08}) == "NOP");  // PREFETCHT0 stays a hint NOP
  CHECK(r.name_of({0x0F, 0x2B, 0xCA}) == "(invalid)");  // MOVNTPS needs memory
  // A model without the features: #UD at decode.
  machine::CpuModel bare = *machine::find_cpu_model("486");
  CHECK(r.name_of({0x0F, 0x58, 0xCA}, &bare) == "(invalid)");
}

// ---- arithmetic --------------------------------------------------------------------------------------------
TEST_CASE("sse: packed and scalar single-precision arithmetic") {
  Rig r;
  r.set_ps(1, F(1.0f), F(2.0f), F(-3.0f), F(0.5f));
  r.set_ps(2, F(2.0f), F(0.5f), F(1.0f), F(0.25f));
  CHECK(r.run({0x0F, 0x58, 0xCA}, "ADDPS_Vps_Wps") == ExecStatus::Ok);
  CHECK(r.ps(1, 0) == F(3.0f));
  CHECK(r.ps(1, 1) == F(2.5f));
  CHECK(r.ps(1, 2) == F(-2.0f));
  CHECK(r.ps(1, 3) == F(0.75f));
  CHECK(r.cpu().mxcsr == kMxDefault);  // exact: no flags

  r.set_ps(1, F(1.0f), F(7.0f), F(8.0f), F(9.0f));
  r.set_ps(2, F(3.0f), F(0.0f), F(0.0f), F(0.0f));
  CHECK(r.run({0xF3, 0x0F, 0x5E, 0xCA}, "DIVSS_Vss_Wss") == ExecStatus::Ok);
  CHECK(r.ps(1, 0) == 0x3EAAAAABu);  // 1/3 rounded to nearest
  CHECK(r.ps(1, 1) == F(7.0f));      // upper lanes kept
  CHECK(r.ps(1, 3) == F(9.0f));
  CHECK(r.cpu().mxcsr == (kMxDefault | kPE));

  // Flags accumulate: a later exact operation leaves PE set.
  r.set_ps(2, F(1.0f), 0, 0, 0);
  CHECK(r.run({0xF3, 0x0F, 0x59, 0xCA}, "MULSS_Vss_Wss") == ExecStatus::Ok);
  CHECK(r.cpu().mxcsr == (kMxDefault | kPE));

  r.set_ps(2, F(16.0f), F(-4.0f), F(0.0f), F(-0.0f));
  CHECK(r.run({0x0F, 0x51, 0xCA}, "SQRTPS_Vps_Wps") == ExecStatus::Ok);
  CHECK(r.ps(1, 0) == F(4.0f));
  CHECK(r.ps(1, 1) == 0xFFC00000u);  // sqrt(-4): default NaN, IE
  CHECK(r.ps(1, 2) == F(0.0f));
  CHECK(r.ps(1, 3) == F(-0.0f));
  CHECK((r.cpu().mxcsr & kIE) != 0);

  r.set_ps(1, F(5.0f), F(1.0f), F(1.0f), F(1.0f));
  r.set_ps(2, F(2.0f), 0, 0, 0);
  CHECK(r.run({0xF3, 0x0F, 0x5C, 0xCA}, "SUBSS_Vss_Wss") == ExecStatus::Ok);
  CHECK(r.ps(1, 0) == F(3.0f));
}

TEST_CASE("sse: double-precision arithmetic") {
  Rig r;
  r.set_xmm(1, D(1.0), D(10.0));
  r.set_xmm(2, D(3.0), D(4.0));
  CHECK(r.run({0x66, 0x0F, 0x5E, 0xCA}, "DIVPD_Vpd_Wpd") == ExecStatus::Ok);
  CHECK(r.lo(1) == 0x3FD5555555555555ull);  // 1/3
  CHECK(r.hi(1) == D(2.5));
  CHECK((r.cpu().mxcsr & 0x3F) == kPE);
  r.set_xmm(1, D(1.5), D(7.0));
  r.set_xmm(2, D(2.0), D(9.0));
  CHECK(r.run({0xF2, 0x0F, 0x59, 0xCA}, "MULSD_Vsd_Wsd") == ExecStatus::Ok);
  CHECK(r.lo(1) == D(3.0));
  CHECK(r.hi(1) == D(7.0));
  r.set_xmm(2, D(2.25), D(-1.0));
  CHECK(r.run({0x66, 0x0F, 0x51, 0xCA}, "SQRTPD_Vpd_Wpd") == ExecStatus::Ok);
  CHECK(r.lo(1) == D(1.5));
  CHECK(r.hi(1) == 0xFFF8000000000000ull);
  r.set_xmm(1, D(1.0), D(2.0));
  r.set_xmm(2, D(0.5), D(0.25));
  CHECK(r.run({0x66, 0x0F, 0x5C, 0xCA}, "SUBPD_Vpd_Wpd") == ExecStatus::Ok);
  CHECK(r.lo(1) == D(0.5));
  CHECK(r.hi(1) == D(1.75));
  CHECK(r.run({0xF2, 0x0F, 0x58, 0xCA}, "ADDSD_Vsd_Wsd") == ExecStatus::Ok);
  CHECK(r.lo(1) == D(1.0));
  CHECK(r.hi(1) == D(1.75));
}

TEST_CASE("sse: MIN/MAX return the second operand for NaNs and for two zeros") {
  Rig r;
  r.set_ps(1, F(1.0f), 0x7FC00001u, F(0.0f), F(-5.0f));
  r.set_ps(2, F(2.0f), F(3.0f), F(-0.0f), 0x7FC00002u);
  CHECK(r.run({0x0F, 0x5D, 0xCA}, "MINPS_Vps_Wps") == ExecStatus::Ok);
  CHECK(r.ps(1, 0) == F(1.0f));
  CHECK(r.ps(1, 1) == F(3.0f));       // NaN first: the source
  CHECK(r.ps(1, 2) == F(-0.0f));      // +0 vs -0: the source
  CHECK(r.ps(1, 3) == 0x7FC00002u);   // NaN second: the source
  CHECK((r.cpu().mxcsr & kIE) != 0);  // MIN/MAX signal on QNaNs
  r.set_xmm(1, D(-1.0), D(1.0));
  r.set_xmm(2, D(-2.0), D(9.0));
  CHECK(r.run({0xF2, 0x0F, 0x5F, 0xCA}, "MAXSD_Vsd_Wsd") == ExecStatus::Ok);
  CHECK(r.lo(1) == D(-1.0));
  CHECK(r.hi(1) == D(1.0));
}

// ---- exceptions ------------------------------------------------------------------------------------------------
TEST_CASE("sse: unmasked exceptions raise #XM (or #UD) and leave the destination unchanged") {
  Rig r;
  r.cpu().mxcsr = kMxDefault & ~kZM;
  r.set_ps(1, F(1.0f), F(2.0f), F(3.0f), F(4.0f));
  r.set_ps(2, F(0.0f), F(1.0f), F(1.0f), F(1.0f));
  CHECK(r.run({0xF3, 0x0F, 0x5E, 0xCA}, "DIVSS_Vss_Wss") == ExecStatus::Fault);
  CHECK(r.vector() == kVecXM);
  CHECK(r.ps(1, 0) == F(1.0f));
  CHECK(r.cpu().mxcsr == ((kMxDefault & ~kZM) | kZE));

  // Packed: one lane with an unmasked exception suppresses every lane.
  r.cpu().mxcsr = kMxDefault & ~kZM;
  r.set_ps(2, F(1.0f), F(1.0f), F(0.0f), F(1.0f));
  CHECK(r.run({0x0F, 0x5E, 0xCA}, "DIVPS_Vps_Wps") == ExecStatus::Fault);
  CHECK(r.ps(1, 0) == F(1.0f));
  CHECK(r.ps(1, 3) == F(4.0f));

  // CR4.OSXMMEXCPT clear: #UD instead.
  r.cpu().cr4 &= ~kOsxmmexcpt;
  r.cpu().mxcsr = kMxDefault & ~kZM;
  CHECK(r.run({0x0F, 0x5E, 0xCA}, "DIVPS_Vps_Wps") == ExecStatus::Fault);
  CHECK(r.vector() == kVecUD);

  // Unmasked pre-computation exception: only pre-computation flags of all lanes recorded
  // (the PE of lane 1 is not), SDM Vol. 1 §11.5.2.1.
  r.cpu().cr4 |= kOsxmmexcpt;
  r.cpu().mxcsr = kMxDefault & ~kIM;
  r.set_ps(1, 0x7F800001u, F(1.0f), F(1.0f), F(1.0f));  // SNaN
  r.set_ps(2, F(1.0f), F(3.0f), F(1.0f), F(1.0f));
  CHECK(r.run({0x0F, 0x5E, 0xCA}, "DIVPS_Vps_Wps") == ExecStatus::Fault);
  CHECK(r.vector() == kVecXM);
  CHECK((r.cpu().mxcsr & 0x3F) == kIE);

  // Unmasked post-computation exception (PE): all flags recorded, nothing written.
  r.cpu().mxcsr = kMxDefault & ~kPM;
  r.set_ps(1, F(1.0f), F(2.0f), F(3.0f), F(4.0f));
  r.set_ps(2, F(3.0f), F(1.0f), F(1.0f), F(1.0f));
  CHECK(r.run({0x0F, 0x5E, 0xCA}, "DIVPS_Vps_Wps") == ExecStatus::Fault);
  CHECK(r.ps(1, 0) == F(1.0f));
  CHECK((r.cpu().mxcsr & 0x3F) == kPE);
}

TEST_CASE("sse: availability and alignment faults") {
  Rig r;
  r.cpu().gpr[RAX] = 0x1008;  // not 16-byte aligned
  r.poke32(0x1008, F(2.0f));
  r.set_ps(1, F(1.0f), 0, 0, 0);
  CHECK(r.run({0x0F, 0x58, 0x08}, "ADDPS_Vps_Wps") == ExecStatus::Fault);
  CHECK(r.vector() == kVecGP);
  CHECK(r.run({0x0F, 0x28, 0x08}, "MOVAPS_Vps_Wps") == ExecStatus::Fault);
  CHECK(r.vector() == kVecGP);
  CHECK(r.run({0xF3, 0x0F, 0x58, 0x08}, "ADDSS_Vss_Wss") == ExecStatus::Ok);  // scalar: any address
  CHECK(r.ps(1, 0) == F(3.0f));
  CHECK(r.run({0x0F, 0x10, 0x08}, "MOVUPS_Vps_Wps") == ExecStatus::Ok);
  CHECK(r.ps(1, 0) == F(2.0f));
  CHECK(r.run({0xF2, 0x0F, 0xF0, 0x08}, "LDDQU_Vdq_Mdq") == ExecStatus::Ok);
  CHECK(r.run({0x0F, 0x2B, 0x08}, "MOVNTPS_Mps_Vps") == ExecStatus::Fault);
  CHECK(r.vector() == kVecGP);

  r.cpu().cr0 |= kCr0TS;
  CHECK(r.run({0x0F, 0x58, 0xCA}, "ADDPS_Vps_Wps") == ExecStatus::Fault);
  CHECK(r.vector() == kVecNM);
  r.cpu().cr0 &= ~kCr0TS;
  r.cpu().cr0 |= kCr0EM;
  CHECK(r.run({0x0F, 0x58, 0xCA}, "ADDPS_Vps_Wps") == ExecStatus::Fault);
  CHECK(r.vector() == kVecUD);
  r.cpu().cr0 &= ~kCr0EM;
  r.cpu().cr4 &= ~kOsfxsr;
  CHECK(r.run({0x0F, 0x57, 0xCA}, "XORPS_Vps_Wps") == ExecStatus::Fault);
  CHECK(r.vector() == kVecUD);
}

// ---- compares ------------------------------------------------------------------------------------------------------
TEST_CASE("sse: CMPPS predicates, ordered and unordered") {
  Rig r;
  // Lanes: less, equal, greater, unordered (QNaN).
  const uint32_t a[4] = {F(1.0f), F(2.0f), F(3.0f), 0x7FC00000u};
  const uint32_t b[4] = {F(2.0f), F(2.0f), F(1.0f), F(1.0f)};
  // Expected lane masks (bit per lane) for predicates 0..7: EQ LT LE UNORD NEQ NLT NLE ORD.
  const unsigned expect[8] = {0b0010, 0b0001, 0b0011, 0b1000, 0b1101, 0b1110, 0b1100, 0b0111};
  const bool signals[8] = {false, true, true, false, false, true, true, false};
  for (unsigned p = 0; p < 8; ++p) {
    CAPTURE(p);
    r.set_ps(1, a[0], a[1], a[2], a[3]);
    r.set_ps(2, b[0], b[1], b[2], b[3]);
    r.cpu().mxcsr = kMxDefault;
    CHECK(r.run({0x0F, 0xC2, 0xCA, static_cast<uint8_t>(p)}, "CMPPS_Vps_Wps_Ib") == ExecStatus::Ok);
    for (unsigned i = 0; i < 4; ++i) CHECK(r.ps(1, i) == (((expect[p] >> i) & 1) ? 0xFFFFFFFFu : 0u));
    CHECK(((r.cpu().mxcsr & kIE) != 0) == signals[p]);
  }
  // imm8[7:3] are ignored by the legacy encoding: 0x0D is NLT.
  r.set_ps(1, a[0], a[1], a[2], a[3]);
  CHECK(r.run({0x0F, 0xC2, 0xCA, 0x0D}, "CMPPS_Vps_Wps_Ib") == ExecStatus::Ok);
  CHECK(r.ps(1, 0) == 0);
  CHECK(r.ps(1, 1) == 0xFFFFFFFFu);
  // Scalar double: lane 1 kept.
  r.set_xmm(1, D(1.0), 0x1234);
  r.set_xmm(2, D(1.0), 0);
  CHECK(r.run({0xF2, 0x0F, 0xC2, 0xCA, 0x00}, "CMPSD_Vsd_Wsd_Ib") == ExecStatus::Ok);
  CHECK(r.lo(1) == ~0ull);
  CHECK(r.hi(1) == 0x1234);
  r.set_ps(1, F(1.0f), 7, 8, 9);
  r.set_ps(2, F(1.0f), 0, 0, 0);
  CHECK(r.run({0xF3, 0x0F, 0xC2, 0xCA, 0x04}, "CMPSS_Vss_Wss_Ib") == ExecStatus::Ok);
  CHECK(r.ps(1, 0) == 0);
  CHECK(r.ps(1, 1) == 7);
  r.set_xmm(1, D(1.0), 0x7FF8000000000000ull);
  r.set_xmm(2, D(2.0), D(2.0));
  CHECK(r.run({0x66, 0x0F, 0xC2, 0xCA, 0x03}, "CMPPD_Vpd_Wpd_Ib") == ExecStatus::Ok);
  CHECK(r.lo(1) == 0);
  CHECK(r.hi(1) == ~0ull);
}

TEST_CASE("sse: COMISS/UCOMISS set ZF PF CF and clear OF SF AF") {
  Rig r;
  set_arith_flags(r.cpu(), kOF | kSF | kAF);
  r.set_ps(1, F(1.0f), 0, 0, 0);
  r.set_ps(2, F(2.0f), 0, 0, 0);
  CHECK(r.run({0x0F, 0x2F, 0xCA}, "COMISS_Vss_Wss") == ExecStatus::Ok);
  CHECK(r.flags() == kCF);
  r.set_ps(2, F(1.0f), 0, 0, 0);
  CHECK(r.run({0x0F, 0x2F, 0xCA}, "COMISS_Vss_Wss") == ExecStatus::Ok);
  CHECK(r.flags() == kZF);
  r.set_ps(2, F(0.5f), 0, 0, 0);
  CHECK(r.run({0x0F, 0x2E, 0xCA}, "UCOMISS_Vss_Wss") == ExecStatus::Ok);
  CHECK(r.flags() == 0);
  // QNaN: unordered; UCOMISS is quiet, COMISS signals.
  r.set_ps(2, 0x7FC00000u, 0, 0, 0);
  CHECK(r.run({0x0F, 0x2E, 0xCA}, "UCOMISS_Vss_Wss") == ExecStatus::Ok);
  CHECK(r.flags() == (kZF | kPF | kCF));
  CHECK((r.cpu().mxcsr & kIE) == 0);
  CHECK(r.run({0x0F, 0x2F, 0xCA}, "COMISS_Vss_Wss") == ExecStatus::Ok);
  CHECK((r.cpu().mxcsr & kIE) != 0);
  // Unmasked IE: EFLAGS unchanged.
  set_arith_flags(r.cpu(), kOF);
  r.cpu().mxcsr = kMxDefault & ~kIM;
  CHECK(r.run({0x0F, 0x2F, 0xCA}, "COMISS_Vss_Wss") == ExecStatus::Fault);
  CHECK(r.vector() == kVecXM);
  CHECK(r.flags() == kOF);
  r.cpu().mxcsr = kMxDefault;
  r.set_xmm(1, D(-1.0), 0);
  r.set_xmm(2, D(-2.0), 0);
  CHECK(r.run({0x66, 0x0F, 0x2F, 0xCA}, "COMISD_Vsd_Wsd") == ExecStatus::Ok);
  CHECK(r.flags() == 0);
  CHECK(r.run({0x66, 0x0F, 0x2E, 0xCA}, "UCOMISD_Vsd_Wsd") == ExecStatus::Ok);
  CHECK(r.flags() == 0);
}

// ---- conversions ----------------------------------------------------------------------------------------------------
TEST_CASE("sse: conversions between integers and scalars") {
  Rig r(CpuMode::Long64);
  r.cpu().gpr[RAX] = 0xFFFFFFFF'FFFFFFFDull;  // -3 (32-bit: also -3)
  r.set_ps(1, 0, F(9.0f), 0, 0);
  CHECK(r.run({0xF3, 0x0F, 0x2A, 0xC8}, "CVTSI2SS_Vss_Ey") == ExecStatus::Ok);
  CHECK(r.ps(1, 0) == F(-3.0f));
  CHECK(r.ps(1, 1) == F(9.0f));
  r.cpu().gpr[RAX] = 0x7FFFFFFF'FFFFFFFFull;  // 2^63-1 rounds to 2^63 (inexact)
  CHECK(r.run({0xF2, 0x48, 0x0F, 0x2A, 0xC8}, "CVTSI2SD_Vsd_Ey") == ExecStatus::Ok);
  CHECK(r.lo(1) == 0x43E0000000000000ull);
  CHECK((r.cpu().mxcsr & kPE) != 0);
  r.cpu().gpr[RAX] = 0x80000000;  // 32-bit form: INT32_MIN, exact
  r.cpu().mxcsr = kMxDefault;
  CHECK(r.run({0xF2, 0x0F, 0x2A, 0xC8}, "CVTSI2SD_Vsd_Ey") == ExecStatus::Ok);
  CHECK(r.lo(1) == D(-2147483648.0));
  CHECK(r.cpu().mxcsr == kMxDefault);

  // CVTSS2SI rounds per MXCSR (nearest even), CVTTSS2SI truncates; 32-bit results zero-extend.
  r.set_ps(1, F(2.5f), 0, 0, 0);
  r.cpu().gpr[RAX] = ~0ull;
  CHECK(r.run({0xF3, 0x0F, 0x2D, 0xC1}, "CVTSS2SI_Gy_Wss") == ExecStatus::Ok);
  CHECK(r.cpu().gpr[RAX] == 2);
  r.set_ps(1, F(-2.5f), 0, 0, 0);
  CHECK(r.run({0xF3, 0x0F, 0x2C, 0xC1}, "CVTTSS2SI_Gy_Wss") == ExecStatus::Ok);
  CHECK(r.cpu().gpr[RAX] == 0xFFFFFFFEull);
  r.cpu().mxcsr = kMxDefault | (1u << 13);  // round down
  r.set_ps(1, F(2.5f), 0, 0, 0);
  CHECK(r.run({0xF3, 0x48, 0x0F, 0x2D, 0xC1}, "CVTSS2SI_Gy_Wss") == ExecStatus::Ok);
  CHECK(r.cpu().gpr[RAX] == 2);
  // Out of range: the integer indefinite with IE.
  r.cpu().mxcsr = kMxDefault;
  r.set_xmm(1, D(3e10), 0);
  CHECK(r.run({0xF2, 0x0F, 0x2D, 0xC1}, "CVTSD2SI_Gy_Wsd") == ExecStatus::Ok);
  CHECK(r.cpu().gpr[RAX] == 0x80000000ull);
  CHECK((r.cpu().mxcsr & kIE) != 0);
  CHECK(r.run({0xF2, 0x48, 0x0F, 0x2C, 0xC1}, "CVTTSD2SI_Gy_Wsd") == ExecStatus::Ok);
  CHECK(r.cpu().gpr[RAX] == 30000000000ull);
  // Unmasked IE: the register is not written.
  r.cpu().mxcsr = kMxDefault & ~kIM;
  r.cpu().gpr[RAX] = 5;
  CHECK(r.run({0xF2, 0x0F, 0x2D, 0xC1}, "CVTSD2SI_Gy_Wsd") == ExecStatus::Fault);
  CHECK(r.cpu().gpr[RAX] == 5);
}

TEST_CASE("sse: conversions between precisions and packed integers") {
  Rig r;
  r.set_ps(2, F(1.5f), F(-0.25f), F(7.0f), F(7.0f));
  CHECK(r.run({0x0F, 0x5A, 0xCA}, "CVTPS2PD_Vpd_Wps") == ExecStatus::Ok);
  CHECK(r.lo(1) == D(1.5));
  CHECK(r.hi(1) == D(-0.25));
  r.set_xmm(2, D(0.1), D(-2.0));
  r.set_xmm(1, ~0ull, ~0ull);
  CHECK(r.run({0x66, 0x0F, 0x5A, 0xCA}, "CVTPD2PS_Vps_Wpd") == ExecStatus::Ok);
  CHECK(r.ps(1, 0) == 0x3DCCCCCDu);  // 0.1 rounded to single
  CHECK(r.ps(1, 1) == F(-2.0f));
  CHECK(r.hi(1) == 0);  // upper half cleared
  r.set_xmm(1, 0, 0x55);
  r.set_ps(2, F(0.5f), 0, 0, 0);
  CHECK(r.run({0xF3, 0x0F, 0x5A, 0xCA}, "CVTSS2SD_Vsd_Wss") == ExecStatus::Ok);
  CHECK(r.lo(1) == D(0.5));
  CHECK(r.hi(1) == 0x55);
  r.set_ps(1, 0, 1, 2, 3);
  r.set_xmm(2, D(-8.0), 0);
  CHECK(r.run({0xF2, 0x0F, 0x5A, 0xCA}, "CVTSD2SS_Vss_Wsd") == ExecStatus::Ok);
  CHECK(r.ps(1, 0) == F(-8.0f));
  CHECK(r.ps(1, 1) == 1);

  r.set_ps(2, 1, 0xFFFFFFFFu, 16777217, 0x80000000u);
  CHECK(r.run({0x0F, 0x5B, 0xCA}, "CVTDQ2PS_Vps_Wdq") == ExecStatus::Ok);
  CHECK(r.ps(1, 0) == F(1.0f));
  CHECK(r.ps(1, 1) == F(-1.0f));
  CHECK(r.ps(1, 2) == F(16777216.0f));  // 2^24+1 rounds to even
  CHECK(r.ps(1, 3) == F(-2147483648.0f));
  r.set_ps(2, F(1.5f), F(-1.5f), F(2.5f), 0x7FC00000u);
  r.cpu().mxcsr = kMxDefault;
  CHECK(r.run({0x66, 0x0F, 0x5B, 0xCA}, "CVTPS2DQ_Vdq_Wps") == ExecStatus::Ok);
  CHECK(r.ps(1, 0) == 2);
  CHECK(r.ps(1, 1) == 0xFFFFFFFEu);
  CHECK(r.ps(1, 2) == 2);
  CHECK(r.ps(1, 3) == 0x80000000u);
  CHECK((r.cpu().mxcsr & (kIE | kPE)) == (kIE | kPE));
  CHECK(r.run({0xF3, 0x0F, 0x5B, 0xCA}, "CVTTPS2DQ_Vdq_Wps") == ExecStatus::Ok);
  CHECK(r.ps(1, 0) == 1);
  CHECK(r.ps(1, 1) == 0xFFFFFFFFu);
  r.set_xmm(2, D(-3.7), D(4.5));
  r.set_xmm(1, ~0ull, ~0ull);
  CHECK(r.run({0x66, 0x0F, 0xE6, 0xCA}, "CVTTPD2DQ_Vdq_Wpd") == ExecStatus::Ok);
  CHECK(r.lo(1) == pack(0xFFFFFFFDu, 4));
  CHECK(r.hi(1) == 0);
  CHECK(r.run({0xF2, 0x0F, 0xE6, 0xCA}, "CVTPD2DQ_Vdq_Wpd") == ExecStatus::Ok);
  CHECK(r.lo(1) == pack(0xFFFFFFFCu, 4));  // -3.7 -> -4, 4.5 -> 4 (even)
  r.set_xmm(2, pack(0xFFFFFFFFu, 7), 0);
  CHECK(r.run({0xF3, 0x0F, 0xE6, 0xCA}, "CVTDQ2PD_Vpd_Wq") == ExecStatus::Ok);
  CHECK(r.lo(1) == D(-1.0));
  CHECK(r.hi(1) == D(7.0));
}

TEST_CASE("sse: conversions with MMX registers switch the x87 unit to MMX mode") {
  Rig r;
  r.cpu().ftop = 7;
  r.cpu().ftw = 0x3FFF;  // only R7 in use
  r.cpu().fpr[2].sig = pack(5, 0xFFFFFFFEu);
  r.set_ps(1, 1, 2, 3, 4);
  CHECK(r.run({0x0F, 0x2A, 0xCA}, "CVTPI2PS_Vps_Qpi") == ExecStatus::Ok);
  CHECK(r.ps(1, 0) == F(5.0f));
  CHECK(r.ps(1, 1) == F(-2.0f));
  CHECK(r.ps(1, 2) == 3);  // upper half kept
  CHECK(r.cpu().ftop == 0);
  CHECK(r.cpu().ftw == 0);

  // A memory source touches no x87 state (as the processor does).
  r.cpu().ftop = 7;
  r.cpu().ftw = 0x3FFF;
  r.cpu().gpr[RAX] = 0x2000;
  r.poke64(0x2000, pack(1, 2));
  CHECK(r.run({0x66, 0x0F, 0x2A, 0x08}, "CVTPI2PD_Vpd_Qpi") == ExecStatus::Ok);
  CHECK(r.lo(1) == D(1.0));
  CHECK(r.hi(1) == D(2.0));
  CHECK(r.cpu().ftop == 7);
  CHECK(r.cpu().ftw == 0x3FFF);

  r.set_ps(2, F(1.5f), F(-7.9f), 0, 0);
  CHECK(r.run({0x0F, 0x2D, 0xCA}, "CVTPS2PI_Ppi_Wps") == ExecStatus::Ok);
  CHECK(r.cpu().fpr[1].sig == pack(2, 0xFFFFFFF8u));
  CHECK(r.cpu().fpr[1].sign_exp == 0xFFFF);
  CHECK(r.cpu().ftop == 0);
  CHECK(r.cpu().ftw == 0);
  CHECK(r.run({0x0F, 0x2C, 0xCA}, "CVTTPS2PI_Ppi_Wps") == ExecStatus::Ok);
  CHECK(r.cpu().fpr[1].sig == pack(1, 0xFFFFFFF9u));
  r.set_xmm(2, D(-0.5), D(1e10));
  CHECK(r.run({0x66, 0x0F, 0x2D, 0xCA}, "CVTPD2PI_Ppi_Wpd") == ExecStatus::Ok);
  CHECK(r.cpu().fpr[1].sig == pack(0, 0x80000000u));  // -0.5 -> -0 = 0; 1e10 out of range
  CHECK(r.run({0x66, 0x0F, 0x2C, 0xCA}, "CVTTPD2PI_Ppi_Wpd") == ExecStatus::Ok);

  // A pending x87 exception (FSW.ES with CR0.NE) is #MF before anything happens.
  r.cpu().fsw = 0x80 | 0x01;
  r.cpu().ftop = 3;
  CHECK(r.run({0x0F, 0x2D, 0xCA}, "CVTPS2PI_Ppi_Wps") == ExecStatus::Fault);
  CHECK(r.vector() == kVecMF);
  CHECK(r.cpu().ftop == 3);
}

// ---- moves, shuffles, logic ----------------------------------------------------------------------------------------------
TEST_CASE("sse: moves of scalars and halves") {
  Rig r;
  r.cpu().gpr[RAX] = 0x3000;
  r.poke64(0x3000, 0x1111111122222222ull);
  r.poke64(0x3008, 0x3333333344444444ull);
  r.set_xmm(1, ~0ull, ~0ull);
  CHECK(r.run({0xF3, 0x0F, 0x10, 0x08}, "MOVSS_Vss_Wss") == ExecStatus::Ok);
  CHECK(r.lo(1) == 0x22222222ull);  // memory load zeroes the rest
  CHECK(r.hi(1) == 0);
  r.set_xmm(1, ~0ull, ~0ull);
  r.set_xmm(2, 0xAAAAAAAA'BBBBBBBBull, 5);
  CHECK(r.run({0xF3, 0x0F, 0x10, 0xCA}, "MOVSS_Vss_Wss") == ExecStatus::Ok);
  CHECK(r.lo(1) == 0xFFFFFFFF'BBBBBBBBull);  // register move: low lane only
  CHECK(r.hi(1) == ~0ull);
  CHECK(r.run({0xF2, 0x0F, 0x10, 0x08}, "MOVSD_Vsd_Wsd") == ExecStatus::Ok);
  CHECK(r.lo(1) == 0x1111111122222222ull);
  CHECK(r.hi(1) == 0);
  r.set_xmm(1, 0x0102030405060708ull, 0x1112131415161718ull);
  CHECK(r.run({0xF3, 0x0F, 0x11, 0x08}, "MOVSS_Wss_Vss") == ExecStatus::Ok);
  CHECK(r.peek(0x3000, 8) == 0x1111111105060708ull);
  CHECK(r.run({0x0F, 0x17, 0x08}, "MOVHPS_Mq_Vq") == ExecStatus::Ok);
  CHECK(r.peek(0x3000, 8) == 0x1112131415161718ull);
  CHECK(r.run({0x0F, 0x12, 0x08}, "MOVLPS_Vq_Mq") == ExecStatus::Ok);
  CHECK(r.lo(1) == 0x1112131415161718ull);
  r.set_xmm(2, 0xA, 0xB);
  CHECK(r.run({0x0F, 0x12, 0xCA}, "MOVHLPS_Vq_Uq") == ExecStatus::Ok);
  CHECK(r.lo(1) == 0xB);
  CHECK(r.run({0x0F, 0x16, 0xCA}, "MOVLHPS_Vq_Uq") == ExecStatus::Ok);
  CHECK(r.hi(1) == 0xA);
  CHECK(r.run({0x66, 0x0F, 0x16, 0x08}, "MOVHPD_Vq_Mq") == ExecStatus::Ok);
  CHECK(r.hi(1) == 0x1112131415161718ull);
  CHECK(r.lo(1) == 0xB);
  r.set_xmm(1, 1, 2);
  CHECK(r.run({0x0F, 0x29, 0x08}, "MOVAPS_Wps_Vps") == ExecStatus::Ok);
  CHECK(r.peek(0x3000, 8) == 1);
  CHECK(r.peek(0x3008, 8) == 2);
  r.set_ps(1, 0x80000000u, 1, 0x80000000u, 0xFFFFFFFFu);
  r.cpu().gpr[RAX] = ~0ull;
  CHECK(r.run({0x0F, 0x50, 0xC1}, "MOVMSKPS_Gd_Ups") == ExecStatus::Ok);
  CHECK(r.cpu().gpr[RAX] == 0b1101);
  CHECK(r.run({0x66, 0x0F, 0x50, 0xC1}, "MOVMSKPD_Gd_Upd") == ExecStatus::Ok);
  CHECK(r.cpu().gpr[RAX] == 0b10);
}

TEST_CASE("sse: unpacks, shuffles, logic and SSE3 duplicates") {
  Rig r;
  auto load = [&] {
    r.set_ps(1, 10, 11, 12, 13);
    r.set_ps(2, 20, 21, 22, 23);
  };
  load();
  CHECK(r.run({0x0F, 0x14, 0xCA}, "UNPCKLPS_Vps_Wps") == ExecStatus::Ok);
  CHECK((r.ps(1, 0) == 10 && r.ps(1, 1) == 20 && r.ps(1, 2) == 11 && r.ps(1, 3) == 21));
  load();
  CHECK(r.run({0x0F, 0x15, 0xCA}, "UNPCKHPS_Vps_Wps") == ExecStatus::Ok);
  CHECK((r.ps(1, 0) == 12 && r.ps(1, 1) == 22 && r.ps(1, 2) == 13 && r.ps(1, 3) == 23));
  load();
  CHECK(r.run({0x66, 0x0F, 0x14, 0xCA}, "UNPCKLPD_Vpd_Wpd") == ExecStatus::Ok);
  CHECK((r.lo(1) == pack(10, 11) && r.hi(1) == pack(20, 21)));
  load();
  CHECK(r.run({0x66, 0x0F, 0x15, 0xCA}, "UNPCKHPD_Vpd_Wpd") == ExecStatus::Ok);
  CHECK((r.lo(1) == pack(12, 13) && r.hi(1) == pack(22, 23)));
  load();
  CHECK(r.run({0x0F, 0xC6, 0xCA, 0b00'01'10'11}, "SHUFPS_Vps_Wps_Ib") == ExecStatus::Ok);
  CHECK((r.ps(1, 0) == 13 && r.ps(1, 1) == 12 && r.ps(1, 2) == 21 && r.ps(1, 3) == 20));
  load();
  CHECK(r.run({0x66, 0x0F, 0xC6, 0xCA, 0b01}, "SHUFPD_Vpd_Wpd_Ib") == ExecStatus::Ok);
  CHECK((r.lo(1) == pack(12, 13) && r.hi(1) == pack(20, 21)));

  r.set_xmm(1, 0xFF00FF00FF00FF00ull, 0x0F0F);
  r.set_xmm(2, 0x0FF00FF00FF00FF0ull, 0x00FF);
  CHECK(r.run({0x0F, 0x54, 0xCA}, "ANDPS_Vps_Wps") == ExecStatus::Ok);
  CHECK(r.lo(1) == 0x0F000F000F000F00ull);
  CHECK(r.hi(1) == 0x000F);
  CHECK(r.run({0x66, 0x0F, 0x55, 0xCA}, "ANDNPD_Vpd_Wpd") == ExecStatus::Ok);
  CHECK(r.lo(1) == 0x00F000F000F000F0ull);
  CHECK(r.hi(1) == 0x00F0);
  CHECK(r.run({0x0F, 0x56, 0xCA}, "ORPS_Vps_Wps") == ExecStatus::Ok);
  CHECK(r.lo(1) == 0x0FF00FF00FF00FF0ull);
  CHECK(r.run({0x66, 0x0F, 0x57, 0xCA}, "XORPD_Vpd_Wpd") == ExecStatus::Ok);
  CHECK(r.lo(1) == 0);
  CHECK(r.hi(1) == 0);

  r.set_ps(2, 1, 2, 3, 4);
  CHECK(r.run({0xF3, 0x0F, 0x12, 0xCA}, "MOVSLDUP_Vps_Wps") == ExecStatus::Ok);
  CHECK((r.ps(1, 0) == 1 && r.ps(1, 1) == 1 && r.ps(1, 2) == 3 && r.ps(1, 3) == 3));
  CHECK(r.run({0xF3, 0x0F, 0x16, 0xCA}, "MOVSHDUP_Vps_Wps") == ExecStatus::Ok);
  CHECK((r.ps(1, 0) == 2 && r.ps(1, 1) == 2 && r.ps(1, 2) == 4 && r.ps(1, 3) == 4));
  CHECK(r.run({0xF2, 0x0F, 0x12, 0xCA}, "MOVDDUP_Vpd_Wsd") == ExecStatus::Ok);
  CHECK((r.lo(1) == pack(1, 2) && r.hi(1) == pack(1, 2)));
}

// ---- SSE3 arithmetic ------------------------------------------------------------------------------------------------------
TEST_CASE("sse3: horizontal and alternating arithmetic") {
  Rig r;
  r.set_ps(1, F(1.0f), F(2.0f), F(3.0f), F(4.0f));
  r.set_ps(2, F(10.0f), F(20.0f), F(30.0f), F(40.0f));
  CHECK(r.run({0xF2, 0x0F, 0x7C, 0xCA}, "HADDPS_Vps_Wps") == ExecStatus::Ok);
  CHECK(r.ps(1, 0) == F(3.0f));
  CHECK(r.ps(1, 1) == F(7.0f));
  CHECK(r.ps(1, 2) == F(30.0f));
  CHECK(r.ps(1, 3) == F(70.0f));
  r.set_ps(1, F(1.0f), F(2.0f), F(3.0f), F(4.0f));
  CHECK(r.run({0xF2, 0x0F, 0x7D, 0xCA}, "HSUBPS_Vps_Wps") == ExecStatus::Ok);
  CHECK(r.ps(1, 0) == F(-1.0f));
  CHECK(r.ps(1, 3) == F(-10.0f));
  r.set_xmm(1, D(5.0), D(1.0));
  r.set_xmm(2, D(2.0), D(0.5));
  CHECK(r.run({0x66, 0x0F, 0x7C, 0xCA}, "HADDPD_Vpd_Wpd") == ExecStatus::Ok);
  CHECK((r.lo(1) == D(6.0) && r.hi(1) == D(2.5)));
  r.set_xmm(1, D(5.0), D(1.0));
  CHECK(r.run({0x66, 0x0F, 0x7D, 0xCA}, "HSUBPD_Vpd_Wpd") == ExecStatus::Ok);
  CHECK((r.lo(1) == D(4.0) && r.hi(1) == D(1.5)));
  r.set_xmm(1, D(5.0), D(1.0));
  CHECK(r.run({0x66, 0x0F, 0xD0, 0xCA}, "ADDSUBPD_Vpd_Wpd") == ExecStatus::Ok);
  CHECK((r.lo(1) == D(3.0) && r.hi(1) == D(1.5)));
  r.set_ps(1, F(1.0f), F(1.0f), F(1.0f), F(1.0f));
  r.set_ps(2, F(2.0f), F(2.0f), F(3.0f), F(3.0f));
  CHECK(r.run({0xF2, 0x0F, 0xD0, 0xCA}, "ADDSUBPS_Vps_Wps") == ExecStatus::Ok);
  CHECK((r.ps(1, 0) == F(-1.0f) && r.ps(1, 1) == F(3.0f) && r.ps(1, 2) == F(-2.0f) && r.ps(1, 3) == F(4.0f)));
  // The first operand's NaN wins in each pair (a0 + a1).
  r.set_ps(1, 0x7FC00001u, 0x7FC00002u, 0, 0);
  CHECK(r.run({0xF2, 0x0F, 0x7C, 0xCA}, "HADDPS_Vps_Wps") == ExecStatus::Ok);
  CHECK(r.ps(1, 0) == 0x7FC00001u);
}

// ---- SSE4.1 --------------------------------------------------------------------------------------------------------------
TEST_CASE("sse4.1: ROUNDPS/PD/SS/SD") {
  Rig r;
  r.set_ps(2, F(1.5f), F(2.5f), F(-1.5f), F(-0.3f));
  const uint32_t expect[4][4] = {
      {F(2.0f), F(2.0f), F(-2.0f), F(-0.0f)},  // nearest even
      {F(1.0f), F(2.0f), F(-2.0f), F(-1.0f)},  // down
      {F(2.0f), F(3.0f), F(-1.0f), F(-0.0f)},  // up
      {F(1.0f), F(2.0f), F(-1.0f), F(-0.0f)},  // toward zero
  };
  for (uint8_t mode = 0; mode < 4; ++mode) {
    CAPTURE(mode);
    r.cpu().mxcsr = kMxDefault;
    CHECK(r.run({0x66, 0x0F, 0x3A, 0x08, 0xCA, mode}, "ROUNDPS_Vps_Wps_Ib") == ExecStatus::Ok);
    for (unsigned i = 0; i < 4; ++i) CHECK(r.ps(1, i) == expect[mode][i]);
    CHECK((r.cpu().mxcsr & 0x3F) == kPE);
  }
  // imm8[2]: MXCSR.RC (up); imm8[3]: no PE.
  r.cpu().mxcsr = kMxDefault | (2u << 13);
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x08, 0xCA, 0x0C}, "ROUNDPS_Vps_Wps_Ib") == ExecStatus::Ok);
  CHECK(r.ps(1, 1) == F(3.0f));
  CHECK((r.cpu().mxcsr & 0x3F) == 0);
  r.cpu().mxcsr = kMxDefault;
  r.set_xmm(1, 0, 0x77);
  r.set_xmm(2, D(-2.5), 0);
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x0B, 0xCA, 0x00}, "ROUNDSD_Vsd_Wsd_Ib") == ExecStatus::Ok);
  CHECK(r.lo(1) == D(-2.0));
  CHECK(r.hi(1) == 0x77);
  r.set_xmm(2, D(2.5), D(-7.25));
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x09, 0xCA, 0x03}, "ROUNDPD_Vpd_Wpd_Ib") == ExecStatus::Ok);
  CHECK((r.lo(1) == D(2.0) && r.hi(1) == D(-7.0)));
  r.set_ps(1, 0, 5, 6, 7);
  r.set_ps(2, F(0.7f), 0, 0, 0);
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x0A, 0xCA, 0x02}, "ROUNDSS_Vss_Wss_Ib") == ExecStatus::Ok);
  CHECK(r.ps(1, 0) == F(1.0f));
  CHECK(r.ps(1, 1) == 5);
}

TEST_CASE("sse4.1: blends, INSERTPS, EXTRACTPS") {
  Rig r;
  r.set_ps(1, 10, 11, 12, 13);
  r.set_ps(2, 20, 21, 22, 23);
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x0C, 0xCA, 0b0101}, "BLENDPS_Vps_Wps_Ib") == ExecStatus::Ok);
  CHECK((r.ps(1, 0) == 20 && r.ps(1, 1) == 11 && r.ps(1, 2) == 22 && r.ps(1, 3) == 13));
  r.set_xmm(1, 1, 2);
  r.set_xmm(2, 3, 4);
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x0D, 0xCA, 0b10}, "BLENDPD_Vpd_Wpd_Ib") == ExecStatus::Ok);
  CHECK((r.lo(1) == 1 && r.hi(1) == 4));
  r.set_ps(0, 0x80000000u, 0x7FFFFFFFu, 0xFFFFFFFFu, 0);  // sign bits select
  r.set_ps(1, 10, 11, 12, 13);
  r.set_ps(2, 20, 21, 22, 23);
  CHECK(r.run({0x66, 0x0F, 0x38, 0x14, 0xCA}, "BLENDVPS_Vps_Wps_XMM0") == ExecStatus::Ok);
  CHECK((r.ps(1, 0) == 20 && r.ps(1, 1) == 11 && r.ps(1, 2) == 22 && r.ps(1, 3) == 13));
  r.set_xmm(0, 0, 1ull << 63);
  r.set_xmm(1, 1, 2);
  r.set_xmm(2, 3, 4);
  CHECK(r.run({0x66, 0x0F, 0x38, 0x15, 0xCA}, "BLENDVPD_Vpd_Wpd_XMM0") == ExecStatus::Ok);
  CHECK((r.lo(1) == 1 && r.hi(1) == 4));

  // INSERTPS: source lane 2 into destination lane 1, then zero lane 3.
  r.set_ps(1, 10, 11, 12, 13);
  r.set_ps(2, 20, 21, 22, 23);
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x21, 0xCA, 0b10'01'1000}, "INSERTPS_Vps_Wss_Ib") == ExecStatus::Ok);
  CHECK((r.ps(1, 0) == 10 && r.ps(1, 1) == 22 && r.ps(1, 2) == 12 && r.ps(1, 3) == 0));
  r.cpu().gpr[RAX] = 0x4001;  // memory: 32 bits, imm8[7:6] ignored, any alignment
  r.poke32(0x4001, 0xABCD);
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x21, 0x08, 0b11'00'0000}, "INSERTPS_Vps_Wss_Ib") == ExecStatus::Ok);
  CHECK(r.ps(1, 0) == 0xABCD);
  r.cpu().gpr[RAX] = ~0ull;
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x17, 0xC8, 0x02}, "EXTRACTPS_Ed_Vps_Ib") == ExecStatus::Ok);
  CHECK(r.cpu().gpr[RAX] == 12);
  r.cpu().gpr[RAX] = 0x4000;
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x17, 0x08, 0x01}, "EXTRACTPS_Ed_Vps_Ib") == ExecStatus::Ok);
  CHECK(r.peek(0x4000, 4) == 22);
}

TEST_CASE("sse4.1: DPPS and DPPD") {
  Rig r;
  r.set_ps(1, F(1.0f), F(2.0f), F(3.0f), F(4.0f));
  r.set_ps(2, F(5.0f), F(6.0f), F(7.0f), F(8.0f));
  // Lanes 0, 1, 3 multiplied (5 + 12 + 32 = 49), broadcast to lanes 0 and 2.
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x40, 0xCA, 0b1011'0101}, "DPPS_Vps_Wps_Ib") == ExecStatus::Ok);
  CHECK((r.ps(1, 0) == F(49.0f) && r.ps(1, 1) == 0 && r.ps(1, 2) == F(49.0f) && r.ps(1, 3) == 0));
  // Pairwise sums: (1e8 + 1) + (-1e8 + 1) = 0 with PE.
  r.cpu().mxcsr = kMxDefault;
  r.set_ps(1, F(1e8f), F(1.0f), F(-1e8f), F(1.0f));
  r.set_ps(2, F(1.0f), F(1.0f), F(1.0f), F(1.0f));
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x40, 0xCA, 0xFF}, "DPPS_Vps_Wps_Ib") == ExecStatus::Ok);
  CHECK(r.ps(1, 0) == 0);
  CHECK((r.cpu().mxcsr & 0x3F) == kPE);
  // Which NaN comes out depends on the destination lane (hardware: pair sums t[i^1] + t[i]).
  r.set_ps(1, 0x7FC00001u, 0x7FC00002u, 0, 0);
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x40, 0xCA, 0xFF}, "DPPS_Vps_Wps_Ib") == ExecStatus::Ok);
  CHECK((r.ps(1, 0) == 0x7FC00002u && r.ps(1, 1) == 0x7FC00001u && r.ps(1, 2) == 0x7FC00002u && r.ps(1, 3) == 0x7FC00001u));
  // ... and the final sums s[i] + s[i^2]: lane 0 takes the low pair's NaN, lane 2 the high pair's.
  r.set_ps(1, 0x7FC00001u, 0, 0x7FC00003u, 0);
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x40, 0xCA, 0xFF}, "DPPS_Vps_Wps_Ib") == ExecStatus::Ok);
  CHECK((r.ps(1, 0) == 0x7FC00001u && r.ps(1, 1) == 0x7FC00001u && r.ps(1, 2) == 0x7FC00003u && r.ps(1, 3) == 0x7FC00003u));
  // A denormal product feeds the sums: DE (no DAZ), flags of every step.
  r.cpu().mxcsr = kMxDefault;
  r.set_ps(1, F(1e-20f), F(1.0f), 0, 0);
  r.set_ps(2, F(1e-20f), F(1.0f), 0, 0);
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x40, 0xCA, 0x3F}, "DPPS_Vps_Wps_Ib") == ExecStatus::Ok);
  CHECK(r.ps(1, 0) == F(1.0f));
  CHECK((r.cpu().mxcsr & 0x3F) == (kDE | kUE | kPE));
  // ... and with DE unmasked the sum step faults with the multiply's flags kept.
  r.cpu().mxcsr = kMxDefault & ~0x100u;
  r.set_ps(1, F(1e-20f), F(1.0f), 0, 0);
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x40, 0xCA, 0x3F}, "DPPS_Vps_Wps_Ib") == ExecStatus::Fault);
  CHECK(r.vector() == kVecXM);
  CHECK((r.cpu().mxcsr & 0x3F) == (kDE | kUE | kPE));
  CHECK(r.ps(1, 0) == F(1e-20f));
  // Unselected lanes are not multiplied: an SNaN there raises nothing.
  r.cpu().mxcsr = kMxDefault;
  r.set_ps(1, F(2.0f), 0x7F800001u, 0, 0);
  r.set_ps(2, F(3.0f), F(1.0f), 0, 0);
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x40, 0xCA, 0x12}, "DPPS_Vps_Wps_Ib") == ExecStatus::Ok);
  CHECK((r.ps(1, 0) == 0 && r.ps(1, 1) == F(6.0f)));
  CHECK(r.cpu().mxcsr == kMxDefault);

  r.set_xmm(1, D(1.5), D(2.0));
  r.set_xmm(2, D(2.0), D(4.0));
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x41, 0xCA, 0x31}, "DPPD_Vpd_Wpd_Ib") == ExecStatus::Ok);
  CHECK((r.lo(1) == D(11.0) && r.hi(1) == 0));
  r.set_xmm(1, 0x7FF8000000000001ull, 0x7FF8000000000002ull);
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x41, 0xCA, 0x33}, "DPPD_Vpd_Wpd_Ib") == ExecStatus::Ok);
  // Each lane sums its own product first (t0 + t1 in lane 0, t1 + t0 in lane 1).
  CHECK((r.lo(1) == 0x7FF8000000000001ull && r.hi(1) == 0x7FF8000000000002ull));
}

// ---- RCP / RSQRT -----------------------------------------------------------------------------------------------------------
TEST_CASE("sse: RCPPS/RSQRTPS give the host processor's approximations") {
  Rig r;
  struct Case { uint32_t in, rcp, rsqrt; };
  // Measured on the development host (see src/interp/sse/sse_approx.cpp).
  const Case cases[] = {
      {0x3F800000, 0x3F7FF000, 0x3F7FF000},  // 1.0
      {0x3F801000, 0x3F7FD000, 0x3F7FF000},
      {0x3FFFFFFF, 0x3F000800, 0x3F350800},
      {0x3FC00000, 0x3F2AA000, 0x3F510000},  // 1.5
      {0x40000000, 0x3EFFF000, 0x3F34F800},  // 2.0
      {0x3F000000, 0x3FFFF000, 0x3FB4F800},  // 0.5
      {0x00800000, 0x7E7FF000, 0x5EFFF000},  // smallest normal
      {0x7F7FFFFF, 0x00000000, 0x1F800800},  // largest: the reciprocal is tiny, flushed
      {0x7E7FFFFF, 0x00800800, 0x20000800},
      {0x7E800000, 0x00000000, 0x1FFFF000},
      {0x00400000, 0x7F800000, 0x7F800000},  // denormal counts as zero
      {0x80000000, 0xFF800000, 0xFF800000},  // -0
      {0x7F800000, 0x00000000, 0x00000000},  // +inf
      {0xFF800000, 0x80000000, 0xFFC00000},  // -inf
      {0xBF800000, 0xBF7FF000, 0xFFC00000},  // -1
      {0x7F800001, 0x7FC00001, 0x7FC00001},  // SNaN quieted
      {0x7FC00001, 0x7FC00001, 0x7FC00001},
  };
  for (const Case& k : cases) {
    CAPTURE(k.in);
    r.set_ps(2, k.in, k.in, k.in, k.in);
    r.set_ps(1, 0, 1, 2, 3);
    CHECK(r.run({0xF3, 0x0F, 0x53, 0xCA}, "RCPSS_Vss_Wss") == ExecStatus::Ok);
    CHECK(r.ps(1, 0) == k.rcp);
    CHECK(r.ps(1, 1) == 1);
    CHECK(r.run({0x0F, 0x52, 0xCA}, "RSQRTPS_Vps_Wps") == ExecStatus::Ok);
    for (unsigned i = 0; i < 4; ++i) CHECK(r.ps(1, i) == k.rsqrt);
    CHECK(r.run({0x0F, 0x53, 0xCA}, "RCPPS_Vps_Wps") == ExecStatus::Ok);
    CHECK(r.ps(1, 3) == k.rcp);
    CHECK(r.run({0xF3, 0x0F, 0x52, 0xCA}, "RSQRTSS_Vss_Wss") == ExecStatus::Ok);
    CHECK(r.ps(1, 0) == k.rsqrt);
  }
  CHECK(r.cpu().mxcsr == kMxDefault);  // no flags, whatever the input
}

// ---- MXCSR ----------------------------------------------------------------------------------------------------------------
TEST_CASE("sse: LDMXCSR/STMXCSR") {
  Rig r;
  r.cpu().gpr[RAX] = 0x5000;
  r.poke32(0x5000, 0xFFFF);
  CHECK(r.run({0x0F, 0xAE, 0x10}, "LDMXCSR_Md") == ExecStatus::Ok);
  CHECK(r.cpu().mxcsr == 0xFFFF);
  r.poke32(0x5000, 0x10000 | kMxDefault);  // reserved bit 16
  CHECK(r.run({0x0F, 0xAE, 0x10}, "LDMXCSR_Md") == ExecStatus::Fault);
  CHECK(r.vector() == kVecGP);
  CHECK(r.cpu().mxcsr == 0xFFFF);
  r.cpu().mxcsr = kMxDefault | kPE | kDAZ;
  CHECK(r.run({0x0F, 0xAE, 0x18}, "STMXCSR_Md") == ExecStatus::Ok);
  CHECK(r.peek(0x5000, 4) == (kMxDefault | kPE | kDAZ));
  r.cpu().cr0 |= kCr0TS;
  CHECK(r.run({0x0F, 0xAE, 0x18}, "STMXCSR_Md") == ExecStatus::Fault);
  CHECK(r.vector() == kVecNM);
}

TEST_CASE("sse: DAZ and FTZ from MXCSR") {
  Rig r;
  r.cpu().mxcsr = kMxDefault | kDAZ;
  r.set_ps(1, 0x00000001u, 0, 0, 0);  // a denormal reads as zero
  r.set_ps(2, F(1.0f), 0, 0, 0);
  CHECK(r.run({0xF3, 0x0F, 0x58, 0xCA}, "ADDSS_Vss_Wss") == ExecStatus::Ok);
  CHECK(r.ps(1, 0) == F(1.0f));
  CHECK((r.cpu().mxcsr & 0x3F) == 0);
  r.cpu().mxcsr = kMxDefault | kFTZ;
  r.set_ps(1, 0x00800000u, 0, 0, 0);  // smallest normal / 2 -> tiny: flushed to +0
  r.set_ps(2, F(2.0f), 0, 0, 0);
  CHECK(r.run({0xF3, 0x0F, 0x5E, 0xCA}, "DIVSS_Vss_Wss") == ExecStatus::Ok);
  CHECK(r.ps(1, 0) == 0);
  CHECK((r.cpu().mxcsr & 0x3F) == (kUE | kPE));
}

// ---- FXSAVE / FXRSTOR ----------------------------------------------------------------------------------------------------
namespace {

void fill_x87(CpuState& c) {
  c.fcw = 0x027F;
  c.fsw = 0x4281;      // C3, C1, ES, IE
  c.ftop = 6;
  c.ftw = 0x4FFF;      // R6 = 00 valid, R7 = 01 zero, R0-R5 empty
  c.fop = 0x1D9;
  c.fip = 0x12345678;
  c.fcs = 0x0008;
  c.fdp = 0x9ABCDEF0;
  c.fds = 0x0010;
  c.fpr[6] = {0x8000000000000000ull, 0x3FFF, {}};  // 1.0
  c.fpr[7] = {0, 0, {}};                           // +0
  c.fpr[0] = {0xC000000000000000ull, 0xFFFF, {}};  // empty, but contents are saved
}

}  // namespace

TEST_CASE("sse: FXSAVE 32-bit layout and FXRSTOR") {
  Rig r;
  CpuState& c = r.cpu();
  fill_x87(c);
  c.mxcsr = kMxDefault | kPE;
  for (unsigned i = 0; i < 16; ++i) r.set_xmm(i, 0x1000 + i, 0x2000 + i);
  c.gpr[RAX] = 0x6000;
  for (unsigned off = 0; off < 512; off += 8) r.poke64(0x6000 + off, 0xAAAAAAAAAAAAAAAAull);
  CHECK(r.run({0x0F, 0xAE, 0x00}, "FXSAVE_M") == ExecStatus::Ok);
  CHECK(r.peek(0x6000, 2) == 0x027F);
  CHECK(r.peek(0x6002, 2) == (0x4281 | 6 << 11));  // TOP in bits 13:11
  CHECK(r.peek(0x6004, 1) == 0xC0);                // abridged: R6, R7 in use
  CHECK(r.peek(0x6005, 1) == 0);
  CHECK(r.peek(0x6006, 2) == 0x1D9);
  CHECK(r.peek(0x6008, 4) == 0x12345678);
  CHECK(r.peek(0x600C, 2) == 0x0008);
  CHECK(r.peek(0x600E, 2) == 0);
  CHECK(r.peek(0x6010, 4) == 0x9ABCDEF0);
  CHECK(r.peek(0x6014, 2) == 0x0010);
  CHECK(r.peek(0x6018, 4) == (kMxDefault | kPE));
  CHECK(r.peek(0x601C, 4) == 0xFFFF);  // MXCSR_MASK
  // Registers in stack order: ST0 = R6, ST1 = R7, ST2 = R0.
  CHECK(r.peek(0x6020, 8) == 0x8000000000000000ull);
  CHECK(r.peek(0x6028, 8) == 0x3FFF);  // exponent, then six zero bytes
  CHECK(r.peek(0x6030, 8) == 0);
  CHECK(r.peek(0x6040, 8) == 0xC000000000000000ull);
  CHECK(r.peek(0x6048, 2) == 0xFFFF);
  CHECK(r.peek(0x60A0, 8) == 0x1000);  // XMM0
  CHECK(r.peek(0x6118, 8) == 0x2007);  // XMM7 high
  CHECK(r.peek(0x6120, 8) == 0xAAAAAAAAAAAAAAAAull);  // XMM8-15 area untouched outside 64-bit mode

  // Round trip through a changed state; the full tags come back from the contents.
  c.fcw = 0;
  c.ftop = 0;
  c.ftw = 0xFFFF;
  c.mxcsr = kMxDefault;
  for (auto& x : c.xmm) x = {};
  for (auto& f : c.fpr) f = {};
  CHECK(r.run({0x0F, 0xAE, 0x08}, "FXRSTOR_M") == ExecStatus::Ok);
  CHECK(c.fcw == 0x027F);
  CHECK(c.fsw == 0x4201);  // ES recomputed from the flags and masks: IE is masked
  CHECK(c.ftop == 6);
  CHECK(c.ftw == 0x4FFF);
  CHECK(c.fop == 0x1D9);
  CHECK(c.fip == 0x12345678);
  CHECK(c.fds == 0x0010);
  CHECK(c.mxcsr == (kMxDefault | kPE));
  CHECK(c.fpr[6].sig == 0x8000000000000000ull);
  CHECK(c.fpr[0].sign_exp == 0xFFFF);
  CHECK(r.hi(7) == 0x2007);
  CHECK(r.lo(8) == 0);  // XMM8-15 not restored outside 64-bit mode

  // Tags from contents: a NaN and a denormal are special, an unnormal too.
  r.poke16(0x6002, 0);     // FSW with TOP = 0
  r.poke16(0x6004, 0x07);  // abridged tag: physical R0, R1, R2 in use
  r.poke64(0x6020, 0xC000000000000000ull);  // ST0 = R0: QNaN
  r.poke64(0x6028, 0x7FFF);
  r.poke64(0x6030, 0x0000000000000001ull);  // ST1 = R1: denormal
  r.poke64(0x6038, 0);
  r.poke64(0x6040, 0x4000000000000000ull);  // ST2 = R2: unnormal
  r.poke64(0x6048, 0x3FFF);
  CHECK(r.run({0x0F, 0xAE, 0x08}, "FXRSTOR_M") == ExecStatus::Ok);
  CHECK(c.ftw == 0xFFEA);  // R0-R2 special (10), the rest empty

  // Reserved MXCSR bits: #GP(0), nothing loaded.
  r.poke32(0x6018, 0x20000);
  c.fcw = 0x1234;
  CHECK(r.run({0x0F, 0xAE, 0x08}, "FXRSTOR_M") == ExecStatus::Fault);
  CHECK(r.vector() == kVecGP);
  CHECK(c.fcw == 0x1234);

  // Misaligned: #GP(0). CR0.EM or CR0.TS: #NM.
  c.gpr[RAX] = 0x6008;
  CHECK(r.run({0x0F, 0xAE, 0x00}, "FXSAVE_M") == ExecStatus::Fault);
  CHECK(r.vector() == kVecGP);
  c.gpr[RAX] = 0x6000;
  c.cr0 |= kCr0EM;
  CHECK(r.run({0x0F, 0xAE, 0x00}, "FXSAVE_M") == ExecStatus::Fault);
  CHECK(r.vector() == kVecNM);
}

TEST_CASE("sse: FXSAVE64 and FXRSTOR64 in 64-bit mode") {
  Rig r(CpuMode::Long64);
  CpuState& c = r.cpu();
  fill_x87(c);
  c.fip = 0x00007FFF'12345678ull;
  c.fdp = 0xFFFF8000'00001000ull;
  for (unsigned i = 0; i < 16; ++i) r.set_xmm(i, 0x1000 + i, 0x2000 + i);
  c.gpr[RAX] = 0x7000;
  for (unsigned off = 0; off < 512; off += 8) r.poke64(0x7000 + off, 0xAAAAAAAAAAAAAAAAull);
  CHECK(r.run({0x48, 0x0F, 0xAE, 0x00}, "FXSAVE_M") == ExecStatus::Ok);
  CHECK(r.peek(0x7008, 8) == 0x00007FFF'12345678ull);
  CHECK(r.peek(0x7010, 8) == 0xFFFF8000'00001000ull);
  CHECK(r.peek(0x7190, 8) == 0x100F);                  // XMM15
  CHECK(r.peek(0x71A0, 8) == 0xAAAAAAAAAAAAAAAAull);   // bytes 416-511 untouched
  // Without REX.W: the 32-bit pointer format, XMM8-15 still saved.
  CHECK(r.run({0x0F, 0xAE, 0x00}, "FXSAVE_M") == ExecStatus::Ok);
  CHECK(r.peek(0x7008, 4) == 0x12345678);
  CHECK(r.peek(0x700C, 2) == 0x0008);
  CHECK(r.peek(0x7190, 8) == 0x100F);
  r.poke64(0x7008, 0x1122334455667788ull);
  CHECK(r.run({0x48, 0x0F, 0xAE, 0x08}, "FXRSTOR_M") == ExecStatus::Ok);
  CHECK(c.fip == 0x1122334455667788ull);
  CHECK(r.lo(15) == 0x100F);
}

// ---- XSAVE / XRSTOR / XCR0 ------------------------------------------------------------------------------------------------
TEST_CASE("sse: XGETBV and XSETBV") {
  Rig r(CpuMode::Long64);
  CpuState& c = r.cpu();
  c.gpr[RCX] = 0;
  CHECK(r.run({0x0F, 0x01, 0xD0}, "XGETBV") == ExecStatus::Ok);
  CHECK(c.gpr[RAX] == 1);
  CHECK(c.gpr[RDX] == 0);
  c.gpr[RAX] = 3;
  CHECK(r.run({0x0F, 0x01, 0xD1}, "XSETBV") == ExecStatus::Ok);
  CHECK(c.xcr0 == 3);
  for (uint64_t bad : {0ull, 2ull, 7ull, 0x100000003ull}) {  // x87 off, AVX, beyond 32 bits (via EDX below)
    c.gpr[RAX] = bad & 0xFFFFFFFF;
    c.gpr[RDX] = bad >> 32;
    CHECK(r.run({0x0F, 0x01, 0xD1}, "XSETBV") == ExecStatus::Fault);
    CHECK(r.vector() == kVecGP);
  }
  c.gpr[RDX] = 0;
  c.gpr[RAX] = 3;
  c.gpr[RCX] = 1;
  CHECK(r.run({0x0F, 0x01, 0xD1}, "XSETBV") == ExecStatus::Fault);
  CHECK(r.run({0x0F, 0x01, 0xD0}, "XGETBV") == ExecStatus::Fault);
  CHECK(r.vector() == kVecGP);
  c.gpr[RCX] = 0;
  c.cpl = 3;
  CHECK(r.run({0x0F, 0x01, 0xD1}, "XSETBV") == ExecStatus::Fault);
  CHECK(r.vector() == kVecGP);
  CHECK(r.run({0x0F, 0x01, 0xD0}, "XGETBV") == ExecStatus::Ok);  // any CPL
  c.cpl = 0;
  c.cr4 &= ~kOsxsave;
  CHECK(r.run({0x0F, 0x01, 0xD0}, "XGETBV") == ExecStatus::Fault);
  CHECK(r.vector() == kVecUD);
}

TEST_CASE("sse: XSAVE and XRSTOR of the x87 and SSE components") {
  Rig r(CpuMode::Long64);
  CpuState& c = r.cpu();
  c.xcr0 = 3;
  fill_x87(c);
  c.mxcsr = kMxDefault | kZE;
  for (unsigned i = 0; i < 16; ++i) r.set_xmm(i, 0x1000 + i, 0x2000 + i);
  const uint64_t area = 0x8000;
  for (unsigned off = 0; off < 576; off += 8) r.poke64(area + off, 0xAAAAAAAAAAAAAAAAull);
  c.gpr[RBX] = area;
  c.gpr[RAX] = 1;  // RFBM = x87 only
  c.gpr[RDX] = 0;
  CHECK(r.run({0x0F, 0xAE, 0x23}, "XSAVE_M") == ExecStatus::Ok);
  CHECK(r.peek(area, 2) == 0x027F);
  CHECK(r.peek(area + 24, 8) == 0xAAAAAAAAAAAAAAAAull);   // MXCSR not saved for RFBM = 1
  CHECK(r.peek(area + 160, 8) == 0xAAAAAAAAAAAAAAAAull);  // nor XMM
  CHECK(r.peek(area + 512, 8) == 0xAAAAAAAAAAAAAAABull);  // XSTATE_BV bit 0 = XINUSE, others kept
  CHECK(r.peek(area + 520, 8) == 0xAAAAAAAAAAAAAAAAull);  // XCOMP_BV not written
  c.gpr[RAX] = ~0ull;  // RFBM = XCR0
  c.gpr[RDX] = ~0ull;
  CHECK(r.run({0x0F, 0xAE, 0x23}, "XSAVE_M") == ExecStatus::Ok);
  CHECK(r.peek(area + 24, 4) == (kMxDefault | kZE));
  CHECK(r.peek(area + 28, 4) == 0xFFFF);
  CHECK(r.peek(area + 160 + 16 * 15, 8) == 0x100F);
  CHECK(r.peek(area + 416, 8) == 0xAAAAAAAAAAAAAAAAull);
  CHECK(r.peek(area + 512, 8) == 0xAAAAAAAAAAAAAAABull);  // bits 0 and 1 set

  // XRSTOR needs a clean header: XCOMP_BV and bytes 16-23 zero, XSTATE_BV within XCR0.
  CHECK(r.run({0x0F, 0xAE, 0x2B}, "XRSTOR_M") == ExecStatus::Fault);
  CHECK(r.vector() == kVecGP);
  r.poke64(area + 512, 3);
  r.poke64(area + 520, 0);
  r.poke64(area + 528, 0);
  c.fcw = 0;
  c.mxcsr = kMxDefault;
  for (auto& x : c.xmm) x = {};
  CHECK(r.run({0x0F, 0xAE, 0x2B}, "XRSTOR_M") == ExecStatus::Ok);
  CHECK(c.fcw == 0x027F);
  CHECK(c.ftw == 0x4FFF);
  CHECK(c.mxcsr == (kMxDefault | kZE));
  CHECK(r.hi(15) == 0x200F);
  // XSTATE_BV bits clear: the components are initialised, MXCSR is still loaded.
  r.poke64(area + 512, 0);
  r.poke32(area + 24, kMxDefault | kDAZ);
  CHECK(r.run({0x0F, 0xAE, 0x2B}, "XRSTOR_M") == ExecStatus::Ok);
  CHECK(c.fcw == 0x037F);
  CHECK(c.ftw == 0xFFFF);
  CHECK(c.ftop == 0);
  CHECK(c.fip == 0);
  CHECK(r.lo(3) == 0);
  CHECK(r.hi(15) == 0);
  CHECK(c.mxcsr == (kMxDefault | kDAZ));
  // Both components now in their initial configuration: XSAVE reports XINUSE = 0.
  r.poke64(area + 512, ~0ull);
  CHECK(r.run({0x0F, 0xAE, 0x23}, "XSAVE_M") == ExecStatus::Ok);
  CHECK(r.peek(area + 512, 8) == ~3ull);
  // XSTATE_BV beyond XCR0, reserved MXCSR bits, misalignment: #GP(0).
  r.poke64(area + 512, 4);
  CHECK(r.run({0x0F, 0xAE, 0x2B}, "XRSTOR_M") == ExecStatus::Fault);
  CHECK(r.vector() == kVecGP);
  r.poke64(area + 512, 3);
  r.poke32(area + 24, 0x10000);
  CHECK(r.run({0x0F, 0xAE, 0x2B}, "XRSTOR_M") == ExecStatus::Fault);
  CHECK(r.vector() == kVecGP);
  c.gpr[RBX] = area + 16;
  CHECK(r.run({0x0F, 0xAE, 0x23}, "XSAVE_M") == ExecStatus::Fault);
  CHECK(r.vector() == kVecGP);
  // CR4.OSXSAVE clear: #UD; CR0.TS: #NM.
  c.gpr[RBX] = area;
  c.cr4 &= ~kOsxsave;
  CHECK(r.run({0x0F, 0xAE, 0x23}, "XSAVE_M") == ExecStatus::Fault);
  CHECK(r.vector() == kVecUD);
  c.cr4 |= kOsxsave;
  c.cr0 |= kCr0TS;
  CHECK(r.run({0x0F, 0xAE, 0x2B}, "XRSTOR_M") == ExecStatus::Fault);
  CHECK(r.vector() == kVecNM);
}

TEST_CASE("sse: CPUID leaf 0xD and OSXSAVE") {
  Rig r;
  uint32_t o[4];
  r.model.cpuid(0, 0, o);
  CHECK(o[0] >= 0xD);
  r.model.cpuid(0xD, 0, o);
  CHECK(o[0] == 3);
  CHECK(o[1] == 576);
  CHECK(o[2] == 576);
  CHECK(o[3] == 0);
  r.model.cpuid(0xD, 1, o);
  CHECK((o[0] | o[1] | o[2] | o[3]) == 0);
  r.model.cpuid(1, 0, o);
  CHECK((o[2] >> 26 & 1) == 1);  // XSAVE
  CHECK((o[2] >> 27 & 1) == 0);  // OSXSAVE follows CR4
  r.model.cpuid(1, 0, o, kOsxsave);
  CHECK((o[2] >> 27 & 1) == 1);
  CHECK((o[3] >> 24 & 1) == 1);  // FXSR
  CHECK((o[3] >> 25 & 1) == 1);  // SSE
}

// ---- hints ------------------------------------------------------------------------------------------------------------------
TEST_CASE("sse: fences and CLFLUSH") {
  Rig r(CpuMode::Long64);
  CHECK(r.run({0x0F, 0xAE, 0xF8}, "SFENCE") == ExecStatus::Ok);
  CHECK(r.run({0x0F, 0xAE, 0xE8}, "LFENCE") == ExecStatus::Ok);
  CHECK(r.run({0x0F, 0xAE, 0xF0}, "MFENCE") == ExecStatus::Ok);
  r.cpu().gpr[RAX] = 0x1000;
  CHECK(r.run({0x0F, 0xAE, 0x38}, "CLFLUSH_Mb") == ExecStatus::Ok);
  r.cpu().gpr[RAX] = 0x0000800000000000ull;  // not canonical
  CHECK(r.run({0x0F, 0xAE, 0x38}, "CLFLUSH_Mb") == ExecStatus::Fault);
  CHECK(r.vector() == kVecGP);
}
