// interp/simd: MMX, SSE2 integer, SSSE3, SSE4.1 integer, SSE4.2, CRC32 and POPCNT forms.
// Each case decodes real instruction bytes (so the table mapping is checked too), runs
// the handler on a CPU with every SIMD feature, and compares with results worked out by
// hand from the SDM's "Operation" sections.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "handler_rig.h"
#include "interp/interpreter.h"
#include "machine/cpu_model.h"
#include "machine/cpu_state.h"
#include "machine/flags.h"
#include "machine/machine.h"
#include "machine/segments.h"
#include "test_machine.h"

using namespace kestrel;
using machine::CpuMode;
using machine::CpuState;
using machine::ExecStatus;

namespace {

constexpr uint64_t kOsfxsr = 1u << 9;

// A CPU with all the SIMD features (see handler_rig.h), flat segments (base 0, limit FFFFh), CR0.NE and
// CR4.OSFXSR set. Instructions are decoded for `mode` and run one at a time.
struct Rig : test::HandlerRig {
  explicit Rig(CpuMode md = CpuMode::Protected32)
      : HandlerRig(md, {machine::Feature::Mmx, machine::Feature::Sse, machine::Feature::Sse2, machine::Feature::Sse3,
                        machine::Feature::Ssse3, machine::Feature::Sse41, machine::Feature::Sse42,
                        machine::Feature::Popcnt}) {
    CpuState& c = cpu();
    for (uint8_t s = 0; s < 6; ++s) machine::load_segment_real(c, s, 0);
    c.mode = md;
    c.cr0 |= machine::kCr0NE;
    c.cr4 |= kOsfxsr;
    c.ftw = 0xFFFF;  // x87 registers empty, as after FNINIT
    c.ftop = 0;
  }

  void set_mm(unsigned i, uint64_t v) { cpu().fpr[i].sig = v; }
  uint64_t mm(unsigned i) { return cpu().fpr[i].sig; }
  // XMM from 16 bytes / a string (zero-padded).
  void set_xmm_bytes(unsigned i, std::initializer_list<uint8_t> bytes) {
    uint8_t b[16] = {};
    unsigned k = 0;
    for (uint8_t x : bytes) b[k++] = x;
    std::memcpy(&cpu().xmm[i], b, 16);
  }
  void set_xmm_str(unsigned i, const char* s) {
    uint8_t b[16] = {};
    std::memcpy(b, s, std::strlen(s) < 16 ? std::strlen(s) : 16);
    std::memcpy(&cpu().xmm[i], b, 16);
  }
  void set_xmm_words(unsigned i, std::initializer_list<uint16_t> w) {
    uint16_t b[8] = {};
    unsigned k = 0;
    for (uint16_t x : w) b[k++] = x;
    std::memcpy(&cpu().xmm[i], b, 16);
  }
  uint16_t xmm_word(unsigned i, unsigned k) {
    uint16_t w;
    std::memcpy(&w, reinterpret_cast<uint8_t*>(&cpu().xmm[i]) + 2 * k, 2);
    return w;
  }
};

using namespace machine;  // register names, flag bits, vectors

}  // namespace

// ---- decoding: every family reaches its form ------------------------------------------------------
TEST_CASE("simd: encodings map to their table forms") {
  Rig r;
  CHECK(r.name_of({0x0F, 0xFC, 0xC1}) == "PADDB_Pq_Qq");
  CHECK(r.name_of({0x66, 0x0F, 0xFC, 0xC1}) == "PADDB_Vdq_Wdq");
  CHECK(r.name_of({0xF3, 0x0F, 0xFC, 0xC1}) == "(invalid)");  // no F3 form: #UD
  CHECK(r.name_of({0x0F, 0x60, 0xC1}) == "PUNPCKLBW_Pq_Qd");
  CHECK(r.name_of({0x0F, 0x6E, 0xC0}) == "MOVD_Pd_Ey");
  CHECK(r.name_of({0x66, 0x0F, 0x6E, 0xC0}) == "MOVD_Vd_Ey");
  CHECK(r.name_of({0xF3, 0x0F, 0x7E, 0xC1}) == "MOVQ_Vq_Wq");
  CHECK(r.name_of({0x66, 0x0F, 0xD6, 0xC1}) == "MOVQ_Wq_Vq");
  CHECK(r.name_of({0xF3, 0x0F, 0xD6, 0xC1}) == "MOVQ2DQ_Vdq_Nq");
  CHECK(r.name_of({0xF2, 0x0F, 0xD6, 0xC1}) == "MOVDQ2Q_Pq_Uq");
  CHECK(r.name_of({0x0F, 0x6F, 0xC1}) == "MOVQ_Pq_Qq");
  CHECK(r.name_of({0x66, 0x0F, 0x6F, 0xC1}) == "MOVDQA_Vdq_Wdq");
  CHECK(r.name_of({0xF3, 0x0F, 0x6F, 0xC1}) == "MOVDQU_Vdq_Wdq");
  CHECK(r.name_of({0x0F, 0x71, 0xD0, 0x01}) == "PSRLW_Nq_Ib");
  CHECK(r.name_of({0x66, 0x0F, 0x71, 0xE0, 0x01}) == "PSRAW_Udq_Ib");
  CHECK(r.name_of({0x66, 0x0F, 0x73, 0xD8, 0x01}) == "PSRLDQ_Udq_Ib");
  CHECK(r.name_of({0x66, 0x0F, 0x73, 0xF8, 0x01}) == "PSLLDQ_Udq_Ib");
  CHECK(r.name_of({0x0F, 0x73, 0xF0, 0x01}) == "PSLLQ_Nq_Ib");
  CHECK(r.name_of({0x0F, 0x77}) == "EMMS");
  CHECK(r.name_of({0x0F, 0xC3, 0x00}) == "MOVNTI_My_Gy");
  CHECK(r.name_of({0x0F, 0x38, 0x00, 0xC1}) == "PSHUFB_Pq_Qq");
  CHECK(r.name_of({0x66, 0x0F, 0x38, 0x00, 0xC1}) == "PSHUFB_Vdq_Wdq");
  CHECK(r.name_of({0x0F, 0x3A, 0x0F, 0xC1, 0x03}) == "PALIGNR_Pq_Qq_Ib");
  CHECK(r.name_of({0x66, 0x0F, 0x38, 0x37, 0xC1}) == "PCMPGTQ_Vdq_Wdq");
  CHECK(r.name_of({0x66, 0x0F, 0x3A, 0x63, 0xC1, 0x00}) == "PCMPISTRI_Vdq_Wdq_Ib");
  CHECK(r.name_of({0xF2, 0x0F, 0x38, 0xF0, 0xC1}) == "CRC32_Gd_Eb");
  CHECK(r.name_of({0x66, 0xF2, 0x0F, 0x38, 0xF1, 0xC1}) == "CRC32_Gd_Ev");
  CHECK(r.name_of({0xF3, 0x0F, 0xB8, 0xC1}) == "POPCNT_Gv_Ev");
  CHECK(r.name_of({0x66, 0x0F, 0x3A, 0x16, 0xC0, 0x01}) == "PEXTRD_Ey_Vdq_Ib");
}

TEST_CASE("simd: CPUID features gate the forms") {
  Rig r;
  r.model.features = {Feature::I386, Feature::I486, Feature::Cpuid, Feature::Mmx};
  r.model.finalize();
  CHECK(r.name_of({0x0F, 0xFC, 0xC1}) == "PADDB_Pq_Qq");        // MMX
  CHECK(r.name_of({0x0F, 0xE0, 0xC1}) == "(invalid)");          // PAVGB mm needs SSE
  CHECK(r.name_of({0x0F, 0xD4, 0xC1}) == "(invalid)");          // PADDQ mm needs SSE2
  CHECK(r.name_of({0x66, 0x0F, 0xFC, 0xC1}) == "(invalid)");    // XMM form needs SSE2
  CHECK(r.name_of({0xF3, 0x0F, 0xB8, 0xC1}) == "(invalid)");    // POPCNT
}

// ---- MMX and the x87 state ----------------------------------------------------------------------------
TEST_CASE("simd: MMX instructions make the x87 transition, EMMS empties the tags") {
  Rig r;
  CpuState& c = r.cpu();
  c.ftop = 5;
  c.fpr[0].sign_exp = 0x1234;
  c.fpr[1].sign_exp = 0x4321;
  r.set_mm(0, 0x0102030405060708);
  r.set_mm(1, 0x1010101010101010);
  CHECK(r.run({0x0F, 0xFC, 0xC1}, "PADDB_Pq_Qq") == ExecStatus::Ok);  // paddb mm0, mm1
  CHECK(r.mm(0) == 0x1112131415161718);
  CHECK(c.ftop == 0);
  CHECK(c.ftw == 0);
  CHECK(c.fpr[0].sign_exp == 0xFFFF);  // written register: exponent all ones
  CHECK(c.fpr[1].sign_exp == 0x4321);  // read only: untouched
  c.ftop = 3;
  CHECK(r.run({0x0F, 0x77}, "EMMS") == ExecStatus::Ok);
  CHECK(c.ftw == 0xFFFF);
  CHECK(c.ftop == 0);  // Table 9-3: EMMS sets TOP to 0 too
  // A store to memory writes no MMX register but still makes the transition.
  c.ftop = 2;
  c.fpr[2].sign_exp = 0;
  r.set_mm(2, 0xAABBCCDDEEFF0011);
  CHECK(r.run({0x0F, 0x7F, 0x15, 0x00, 0x10, 0x00, 0x00}, "MOVQ_Qq_Pq") == ExecStatus::Ok);  // movq [0x1000], mm2
  CHECK(r.peek(0x1000, 8) == 0xAABBCCDDEEFF0011);
  CHECK(c.ftw == 0);
  CHECK(c.ftop == 0);
  CHECK(c.fpr[2].sign_exp == 0);
}

TEST_CASE("simd: availability checks (SDM Vol. 3 Table 2-2)") {
  Rig r;
  CpuState& c = r.cpu();
  SUBCASE("CR0.EM: #UD for MMX and SSE") {
    c.cr0 |= kCr0EM;
    CHECK(r.run({0x0F, 0xFC, 0xC1}, "PADDB_Pq_Qq") == ExecStatus::Fault);
    CHECK(r.vector() == kVecUD);
    CHECK(c.ftw == 0xFFFF);  // no transition on a fault
    CHECK(r.run({0x66, 0x0F, 0xFC, 0xC1}, "PADDB_Vdq_Wdq") == ExecStatus::Fault);
    CHECK(r.vector() == kVecUD);
    CHECK(r.run({0x0F, 0x77}, "EMMS") == ExecStatus::Fault);
    CHECK(r.vector() == kVecUD);
  }
  SUBCASE("CR0.TS: #NM") {
    c.cr0 |= kCr0TS;
    CHECK(r.run({0x0F, 0xFC, 0xC1}, "PADDB_Pq_Qq") == ExecStatus::Fault);
    CHECK(r.vector() == kVecNM);
    CHECK(r.run({0x66, 0x0F, 0x38, 0x00, 0xC1}, "PSHUFB_Vdq_Wdq") == ExecStatus::Fault);
    CHECK(r.vector() == kVecNM);
  }
  SUBCASE("CR4.OSFXSR clear: #UD for XMM forms only") {
    c.cr4 &= ~kOsfxsr;
    CHECK(r.run({0x66, 0x0F, 0xFC, 0xC1}, "PADDB_Vdq_Wdq") == ExecStatus::Fault);
    CHECK(r.vector() == kVecUD);
    CHECK(r.run({0x0F, 0x38, 0x00, 0xC1}, "PSHUFB_Pq_Qq") == ExecStatus::Ok);  // MMX form of SSSE3
    CHECK(r.run({0x0F, 0xE0, 0xC1}, "PAVGB_Pq_Qq") == ExecStatus::Ok);
    CHECK(r.run({0xF3, 0x0F, 0xD6, 0xC1}, "MOVQ2DQ_Vdq_Nq") == ExecStatus::Fault);  // SSE2 rules
    CHECK(r.vector() == kVecUD);
  }
  SUBCASE("pending x87 exception: #MF for MMX forms, not for XMM forms") {
    c.fsw = 0x0081;  // IE with ES: an unmasked invalid-operation exception is pending
    CHECK(r.run({0x0F, 0xFC, 0xC1}, "PADDB_Pq_Qq") == ExecStatus::Fault);
    CHECK(r.vector() == kVecMF);
    CHECK(r.run({0x0F, 0x77}, "EMMS") == ExecStatus::Fault);
    CHECK(r.vector() == kVecMF);
    CHECK(r.run({0x66, 0x0F, 0xFC, 0xC1}, "PADDB_Vdq_Wdq") == ExecStatus::Ok);
    c.cr0 |= kCr0TS;  // #NM comes before #MF
    CHECK(r.run({0x0F, 0xFC, 0xC1}, "PADDB_Pq_Qq") == ExecStatus::Fault);
    CHECK(r.vector() == kVecNM);
    // CR0.NE = 0: FERR# is asserted and the CPU freezes before the instruction (halted,
    // RIP unchanged) until an interrupt; with IGNNE# asserted the instruction runs.
    c.cr0 &= ~(kCr0TS | kCr0NE);
    const uint64_t rip = c.rip;
    CHECK(r.run({0x0F, 0xFC, 0xC1}, "PADDB_Pq_Qq") == ExecStatus::Halt);
    CHECK(c.halted == 1);
    CHECK(c.rip == rip);
    CHECK(r.m->ferr());
    c.halted = 0;
    r.m->set_ignne(true);
    CHECK(r.run({0x0F, 0xFC, 0xC1}, "PADDB_Pq_Qq") == ExecStatus::Ok);
    CHECK(c.halted == 0);
  }
}

TEST_CASE("simd: 16-byte alignment of legacy-SSE memory operands") {
  Rig r;
  r.poke64(0x1000, 0x1111111111111111);
  r.poke64(0x1008, 0x2222222222222222);
  r.poke64(0x1010, 0x3333333333333333);
  // movdqa xmm1, [0x1000] / [0x1008]
  CHECK(r.run({0x66, 0x0F, 0x6F, 0x0D, 0x00, 0x10, 0x00, 0x00}, "MOVDQA_Vdq_Wdq") == ExecStatus::Ok);
  CHECK(r.lo(1) == 0x1111111111111111);
  CHECK(r.hi(1) == 0x2222222222222222);
  CHECK(r.run({0x66, 0x0F, 0x6F, 0x0D, 0x08, 0x10, 0x00, 0x00}, "MOVDQA_Vdq_Wdq") == ExecStatus::Fault);
  CHECK(r.vector() == kVecGP);
  CHECK(r.cpu().exc.error == 0);
  // movdqu xmm1, [0x1008]: no alignment rule
  CHECK(r.run({0xF3, 0x0F, 0x6F, 0x0D, 0x08, 0x10, 0x00, 0x00}, "MOVDQU_Vdq_Wdq") == ExecStatus::Ok);
  CHECK(r.lo(1) == 0x2222222222222222);
  CHECK(r.hi(1) == 0x3333333333333333);
  // paddb xmm1, [0x1008]: packed arithmetic is aligned
  CHECK(r.run({0x66, 0x0F, 0xFC, 0x0D, 0x08, 0x10, 0x00, 0x00}, "PADDB_Vdq_Wdq") == ExecStatus::Fault);
  CHECK(r.vector() == kVecGP);
  // paddb mm1, [0x1004]: MMX has no alignment rule
  CHECK(r.run({0x0F, 0xFC, 0x0D, 0x04, 0x10, 0x00, 0x00}, "PADDB_Pq_Qq") == ExecStatus::Ok);
  // pcmpistri xmm1, [0x1008], 0: the string compares take unaligned memory
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x63, 0x0D, 0x08, 0x10, 0x00, 0x00, 0x00}, "PCMPISTRI_Vdq_Wdq_Ib") ==
        ExecStatus::Ok);
  // movdqa [0x1008], xmm1 and movntdq [0x1008], xmm1: aligned stores
  CHECK(r.run({0x66, 0x0F, 0x7F, 0x0D, 0x08, 0x10, 0x00, 0x00}, "MOVDQA_Wdq_Vdq") == ExecStatus::Fault);
  CHECK(r.run({0x66, 0x0F, 0xE7, 0x0D, 0x08, 0x10, 0x00, 0x00}, "MOVNTDQ_Mdq_Vdq") == ExecStatus::Fault);
  CHECK(r.peek(0x1008, 8) == 0x2222222222222222);
  CHECK(r.run({0x66, 0x0F, 0xE7, 0x0D, 0x10, 0x10, 0x00, 0x00}, "MOVNTDQ_Mdq_Vdq") == ExecStatus::Ok);
  CHECK(r.peek(0x1010, 8) == 0x2222222222222222);
  CHECK(r.peek(0x1018, 8) == 0x3333333333333333);
}

TEST_CASE("simd: MMX low unpacks read 32 bits of memory") {
  Rig r;
  // [0xFFFC] is the last dword below the FFFFh limit: a 4-byte read fits, 8 bytes do not.
  r.poke(0xFFFC, {0x10, 0x11, 0x12, 0x13});
  r.set_mm(0, 0x0706050403020100);
  CHECK(r.run({0x0F, 0x60, 0x05, 0xFC, 0xFF, 0x00, 0x00}, "PUNPCKLBW_Pq_Qd") == ExecStatus::Ok);
  CHECK(r.mm(0) == 0x1303120211011000);
  CHECK(r.run({0x0F, 0xFC, 0x05, 0xFC, 0xFF, 0x00, 0x00}, "PADDB_Pq_Qq") == ExecStatus::Fault);
  CHECK(r.vector() == kVecGP);
}

// ---- integer arithmetic ------------------------------------------------------------------------------
TEST_CASE("simd: add and subtract, wraparound and saturation") {
  Rig r;
  // bytes: 7F 80 FF 01 | 00 ...   and  01 80 01 FF | 00 ...
  const uint64_t a = 0x0000000001FF807F, b = 0x00000000FF018001;
  auto mmx = [&](uint8_t op, const char* name) {
    r.set_mm(0, a);
    r.set_mm(1, b);
    REQUIRE(r.run({0x0F, op, 0xC1}, name) == ExecStatus::Ok);
    return r.mm(0);
  };
  CHECK(mmx(0xFC, "PADDB_Pq_Qq") == 0x0000000000000080);    // 80 00 00 00
  CHECK(mmx(0xEC, "PADDSB_Pq_Qq") == 0x000000000000807F);   // 7F 80 00 00
  CHECK(mmx(0xDC, "PADDUSB_Pq_Qq") == 0x00000000FFFFFF80);  // 80 FF FF FF
  CHECK(mmx(0xF8, "PSUBB_Pq_Qq") == 0x0000000002FE007E);    // 7E 00 FE 02
  CHECK(mmx(0xE8, "PSUBSB_Pq_Qq") == 0x0000000002FE007E);   // 7E 00 FE 02 (no overflow)
  CHECK(mmx(0xD8, "PSUBUSB_Pq_Qq") == 0x0000000000FE007E);  // 7E 00 FE 00
  // words: 7FFF 8000 FFFF 0001  and  0001 8000 0001 FFFF
  const uint64_t wa = 0x0001FFFF80007FFF, wb = 0xFFFF000180000001;
  auto mmxw = [&](uint8_t op, const char* name) {
    r.set_mm(2, wa);
    r.set_mm(3, wb);
    REQUIRE(r.run({0x0F, op, 0xD3}, name) == ExecStatus::Ok);
    return r.mm(2);
  };
  CHECK(mmxw(0xFD, "PADDW_Pq_Qq") == 0x0000000000008000);
  CHECK(mmxw(0xED, "PADDSW_Pq_Qq") == 0x0000000080007FFF);
  CHECK(mmxw(0xDD, "PADDUSW_Pq_Qq") == 0xFFFFFFFFFFFF8000);
  CHECK(mmxw(0xE9, "PSUBSW_Pq_Qq") == 0x0002FFFE00007FFE);
  CHECK(mmxw(0xD9, "PSUBUSW_Pq_Qq") == 0x0000FFFE00007FFE);
  CHECK(mmxw(0xF9, "PSUBW_Pq_Qq") == 0x0002FFFE00007FFE);
  // dwords and quadwords (XMM)
  r.set_xmm(1, 0xFFFFFFFF00000001, 0x8000000000000000);
  r.set_xmm(2, 0x0000000100000002, 0x8000000000000001);
  CHECK(r.run({0x66, 0x0F, 0xFE, 0xCA}, "PADDD_Vdq_Wdq") == ExecStatus::Ok);
  CHECK(r.lo(1) == 0x0000000000000003);
  CHECK(r.hi(1) == 0x0000000000000001);
  r.set_xmm(1, 0xFFFFFFFF00000001, 0x8000000000000000);
  CHECK(r.run({0x66, 0x0F, 0xD4, 0xCA}, "PADDQ_Vdq_Wdq") == ExecStatus::Ok);
  CHECK(r.lo(1) == 0x0000000000000003);
  CHECK(r.hi(1) == 0x0000000000000001);
  r.set_xmm(1, 0, 0);
  CHECK(r.run({0x66, 0x0F, 0xFB, 0xCA}, "PSUBQ_Vdq_Wdq") == ExecStatus::Ok);
  CHECK(r.lo(1) == 0xFFFFFFFEFFFFFFFE);
  CHECK(r.hi(1) == 0x7FFFFFFFFFFFFFFF);
  r.set_mm(4, 5);
  r.set_mm(5, 7);
  CHECK(r.run({0x0F, 0xFB, 0xE5}, "PSUBQ_Pq_Qq") == ExecStatus::Ok);
  CHECK(r.mm(4) == 0xFFFFFFFFFFFFFFFE);
}

TEST_CASE("simd: multiplies") {
  Rig r;
  // words: 8000 FFFF 1234 0003  times  8000 FFFF 0010 FFFE
  const uint64_t a = 0x00031234FFFF8000, b = 0xFFFE0010FFFF8000;
  auto mmx = [&](uint8_t op, const char* name) {
    r.set_mm(0, a);
    r.set_mm(1, b);
    REQUIRE(r.run({0x0F, op, 0xC1}, name) == ExecStatus::Ok);
    return r.mm(0);
  };
  // 8000h*8000h = 40000000h; FFFFh*FFFFh = 1 signed, FFFE0001h unsigned;
  // 1234h*10h = 12340h; 3*FFFEh = 2FFFAh unsigned, 3*(-2) = -6 signed.
  CHECK(mmx(0xD5, "PMULLW_Pq_Qq") == 0xFFFA234000010000);
  CHECK(mmx(0xE5, "PMULHW_Pq_Qq") == 0xFFFF000100004000);
  CHECK(mmx(0xE4, "PMULHUW_Pq_Qq") == 0x00020001FFFE4000);
  // PMADDWD: 1*3 + 2*4 = 11; 8000h*8000h*2 wraps to 80000000h.
  r.set_mm(0, 0x8000800000020001);
  r.set_mm(1, 0x8000800000040003);
  CHECK(r.run({0x0F, 0xF5, 0xC1}, "PMADDWD_Pq_Qq") == ExecStatus::Ok);
  CHECK(r.mm(0) == 0x800000000000000B);
  // PMULUDQ: dword 0 (MMX); dwords 0 and 2 (XMM).
  r.set_mm(0, 0x12345678FFFFFFFF);
  r.set_mm(1, 0x9ABCDEF0FFFFFFFF);
  CHECK(r.run({0x0F, 0xF4, 0xC1}, "PMULUDQ_Pq_Qq") == ExecStatus::Ok);
  CHECK(r.mm(0) == 0xFFFFFFFE00000001);
  r.set_xmm(0, 0x12345678FFFFFFFF, 0x1111111100000002);
  r.set_xmm(1, 0x9ABCDEF0FFFFFFFF, 0x2222222200000003);
  CHECK(r.run({0x66, 0x0F, 0xF4, 0xC1}, "PMULUDQ_Vdq_Wdq") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0xFFFFFFFE00000001);
  CHECK(r.hi(0) == 6);
  // PMULDQ (signed): -2 * 3 = -6; 7FFFFFFFh * 80000000h = -(2^62 - 2^31).
  r.set_xmm(0, 0x00000000FFFFFFFE, 0x000000007FFFFFFF);
  r.set_xmm(1, 0x0000000000000003, 0x0000000080000000);
  CHECK(r.run({0x66, 0x0F, 0x38, 0x28, 0xC1}, "PMULDQ_Vdq_Wdq") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0xFFFFFFFFFFFFFFFA);
  CHECK(r.hi(0) == 0xC000000080000000);
  // PMULLD: low 32 bits of the products.
  r.set_xmm(0, 0xFFFFFFFF00010000, 0x0000000700000003);
  r.set_xmm(1, 0x0000000200010000, 0xFFFFFFFF00000005);
  CHECK(r.run({0x66, 0x0F, 0x38, 0x40, 0xC1}, "PMULLD_Vdq_Wdq") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0xFFFFFFFE00000000);
  CHECK(r.hi(0) == 0xFFFFFFF90000000F);
}

TEST_CASE("simd: average, min/max, PSADBW") {
  Rig r;
  // bytes FF 01 00 80 10 20 7F 00  and  FE 02 01 7F 10 21 80 FF
  const uint64_t a = 0x007F2010800001FF, b = 0xFF8021107F0102FE;
  auto mmx = [&](uint8_t op, const char* name, uint64_t x, uint64_t y) {
    r.set_mm(0, x);
    r.set_mm(1, y);
    REQUIRE(r.run({0x0F, op, 0xC1}, name) == ExecStatus::Ok);
    return r.mm(0);
  };
  // (FF+FE+1)/2=FF (1+2+1)/2=02 (0+1+1)/2=01 (80+7F+1)/2=80 10 (20+21+1)/2=21 (7F+80+1)/2=80 (0+FF+1)/2=80
  CHECK(mmx(0xE0, "PAVGB_Pq_Qq", a, b) == 0x80802110800102FF);
  CHECK(mmx(0xDA, "PMINUB_Pq_Qq", a, b) == 0x007F20107F0001FE);
  CHECK(mmx(0xDE, "PMAXUB_Pq_Qq", a, b) == 0xFF802110800102FF);
  // words 8000 7FFF FFFF 0001  and  7FFF 8000 0001 FFFF
  const uint64_t wa = 0x0001FFFF7FFF8000, wb = 0xFFFF000180007FFF;
  CHECK(mmx(0xEA, "PMINSW_Pq_Qq", wa, wb) == 0xFFFFFFFF80008000);
  CHECK(mmx(0xEE, "PMAXSW_Pq_Qq", wa, wb) == 0x000100017FFF7FFF);
  CHECK(mmx(0xE3, "PAVGW_Pq_Qq", 0x00000000FFFFFFFF, 0x00000001FFFF0000) == 0x00000001FFFF8000);
  // PSADBW: |0-10|+|10-0|+|255-0|+|0-255| + 0 = 530 = 212h
  CHECK(mmx(0xF6, "PSADBW_Pq_Qq", 0x0505050500FF0A00, 0x05050505FF00000A) == 0x212);
  r.set_xmm(0, 0x0505050500FF0A00, 0x0807060504030201);
  r.set_xmm(1, 0x05050505FF00000A, 0x0102030405060708);
  CHECK(r.run({0x66, 0x0F, 0xF6, 0xC1}, "PSADBW_Vdq_Wdq") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0x212);
  CHECK(r.hi(0) == 32);  // 7+5+3+1+1+3+5+7
  // SSE4.1 min/max
  auto sse = [&](uint8_t op, const char* name, uint64_t x, uint64_t y) {
    r.set_xmm(0, x, 0);
    r.set_xmm(1, y, 0);
    REQUIRE(r.run({0x66, 0x0F, 0x38, op, 0xC1}, name) == ExecStatus::Ok);
    return r.lo(0);
  };
  CHECK(sse(0x38, "PMINSB_Vdq_Wdq", 0x7F80, 0x807F) == 0x8080);
  CHECK(sse(0x3C, "PMAXSB_Vdq_Wdq", 0x7F80, 0x807F) == 0x7F7F);
  CHECK(sse(0x3A, "PMINUW_Vdq_Wdq", 0x0001FFFF, 0xFFFF0001) == 0x00010001);
  CHECK(sse(0x3E, "PMAXUW_Vdq_Wdq", 0x0001FFFF, 0xFFFF0001) == 0xFFFFFFFF);
  CHECK(sse(0x39, "PMINSD_Vdq_Wdq", 0x0000000180000000, 0x8000000000000001) == 0x8000000080000000);
  CHECK(sse(0x3D, "PMAXSD_Vdq_Wdq", 0x0000000180000000, 0x8000000000000001) == 0x0000000100000001);
  CHECK(sse(0x3B, "PMINUD_Vdq_Wdq", 0x0000000180000000, 0x8000000000000001) == 0x0000000100000001);
  CHECK(sse(0x3F, "PMAXUD_Vdq_Wdq", 0x0000000180000000, 0x8000000000000001) == 0x8000000080000000);
}

TEST_CASE("simd: logic and compares") {
  Rig r;
  const uint64_t a = 0xFF00FF00F0F0F0F0, b = 0x0FF00FF0FFFF0000;
  auto mmx = [&](uint8_t op, const char* name, uint64_t x, uint64_t y) {
    r.set_mm(6, x);
    r.set_mm(7, y);
    REQUIRE(r.run({0x0F, op, 0xF7}, name) == ExecStatus::Ok);  // op mm6, mm7
    return r.mm(6);
  };
  CHECK(mmx(0xDB, "PAND_Pq_Qq", a, b) == 0x0F000F00F0F00000);
  CHECK(mmx(0xDF, "PANDN_Pq_Qq", a, b) == 0x00F000F00F0F0000);
  CHECK(mmx(0xEB, "POR_Pq_Qq", a, b) == 0xFFF0FFF0FFFFF0F0);
  CHECK(mmx(0xEF, "PXOR_Pq_Qq", a, b) == 0xF0F0F0F00F0FF0F0);
  // bytes 01 80 7F 00 ... vs FF 7F 80 00 ...
  CHECK(mmx(0x64, "PCMPGTB_Pq_Qq", 0x00000000007F8001, 0x0000000000807FFF) == 0x0000000000FF00FF);
  CHECK(mmx(0x74, "PCMPEQB_Pq_Qq", 0x00000000007F8001, 0x0000000000807FFF) == 0xFFFFFFFFFF000000);
  CHECK(mmx(0x65, "PCMPGTW_Pq_Qq", 0x0000000080000001, 0x000000007FFFFFFF) == 0x000000000000FFFF);
  CHECK(mmx(0x75, "PCMPEQW_Pq_Qq", 0x0000000080000001, 0x000000007FFFFFFF) == 0xFFFFFFFF00000000);
  CHECK(mmx(0x66, "PCMPGTD_Pq_Qq", 0x0000000580000000, 0x000000047FFFFFFF) == 0xFFFFFFFF00000000);
  CHECK(mmx(0x76, "PCMPEQD_Pq_Qq", 0x0000000580000000, 0x000000057FFFFFFF) == 0xFFFFFFFF00000000);
  // XMM forms with REX-free high registers: pxor xmm7, xmm7 clears it.
  r.set_xmm(7, 0x1234, 0x5678);
  CHECK(r.run({0x66, 0x0F, 0xEF, 0xFF}, "PXOR_Vdq_Wdq") == ExecStatus::Ok);
  CHECK(r.lo(7) == 0);
  CHECK(r.hi(7) == 0);
  r.set_xmm(0, 0x8000000000000000, 1);
  r.set_xmm(1, 1, 0xFFFFFFFFFFFFFFFF);
  CHECK(r.run({0x66, 0x0F, 0x38, 0x37, 0xC1}, "PCMPGTQ_Vdq_Wdq") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0);
  CHECK(r.hi(0) == 0xFFFFFFFFFFFFFFFF);
  r.set_xmm(0, 5, 5);
  r.set_xmm(1, 5, 6);
  CHECK(r.run({0x66, 0x0F, 0x38, 0x29, 0xC1}, "PCMPEQQ_Vdq_Wdq") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0xFFFFFFFFFFFFFFFF);
  CHECK(r.hi(0) == 0);
}

// ---- packs, unpacks, shifts, shuffles --------------------------------------------------------------------
TEST_CASE("simd: packs with saturation") {
  Rig r;
  // words 0100 FF00 007F 0080 | 0001 FFFF 7FFF 8000
  r.set_mm(0, 0x0080007FFF000100);
  r.set_mm(1, 0x80007FFFFFFF0001);
  CHECK(r.run({0x0F, 0x63, 0xC1}, "PACKSSWB_Pq_Qq") == ExecStatus::Ok);
  CHECK(r.mm(0) == 0x807FFF017F7F807F);
  r.set_mm(0, 0x0080007FFF000100);
  CHECK(r.run({0x0F, 0x67, 0xC1}, "PACKUSWB_Pq_Qq") == ExecStatus::Ok);
  CHECK(r.mm(0) == 0x00FF0001807F00FF);
  // dwords 00010000 FFFF0000 | 00007FFF FFFFFFFF
  r.set_mm(0, 0xFFFF000000010000);
  r.set_mm(1, 0xFFFFFFFF00007FFF);
  CHECK(r.run({0x0F, 0x6B, 0xC1}, "PACKSSDW_Pq_Qq") == ExecStatus::Ok);
  CHECK(r.mm(0) == 0xFFFF7FFF80007FFF);
  // XMM: dst lanes to the low half, src lanes to the high half
  r.set_xmm(0, 0x0100010001000100, 0x0100010001000100);
  r.set_xmm(1, 0xFF00FF00FF00FF00, 0xFF00FF00FF00FF00);
  CHECK(r.run({0x66, 0x0F, 0x63, 0xC1}, "PACKSSWB_Vdq_Wdq") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0x7F7F7F7F7F7F7F7F);
  CHECK(r.hi(0) == 0x8080808080808080);
  // PACKUSDW: dwords 10000h, -5, FFFFh, 8000h | 1 2 3 4
  r.set_xmm(0, 0xFFFFFFFB00010000, 0x000080000000FFFF);
  r.set_xmm(1, 0x0000000200000001, 0x0000000400000003);
  CHECK(r.run({0x66, 0x0F, 0x38, 0x2B, 0xC1}, "PACKUSDW_Vdq_Wdq") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0x8000FFFF0000FFFF);
  CHECK(r.hi(0) == 0x0004000300020001);
}

TEST_CASE("simd: unpacks") {
  Rig r;
  const uint64_t a = 0x0706050403020100, b = 0x1716151413121110;
  auto mmx = [&](uint8_t op, const char* name) {
    r.set_mm(0, a);
    r.set_mm(1, b);
    REQUIRE(r.run({0x0F, op, 0xC1}, name) == ExecStatus::Ok);
    return r.mm(0);
  };
  CHECK(mmx(0x60, "PUNPCKLBW_Pq_Qd") == 0x1303120211011000);
  CHECK(mmx(0x61, "PUNPCKLWD_Pq_Qd") == 0x1312030211100100);
  CHECK(mmx(0x62, "PUNPCKLDQ_Pq_Qd") == 0x1312111003020100);
  CHECK(mmx(0x68, "PUNPCKHBW_Pq_Qq") == 0x1707160615051404);
  CHECK(mmx(0x69, "PUNPCKHWD_Pq_Qq") == 0x1716070615140504);
  CHECK(mmx(0x6A, "PUNPCKHDQ_Pq_Qq") == 0x1716151407060504);
  auto sse = [&](uint8_t op, const char* name) {
    r.set_xmm(0, a, 0x0F0E0D0C0B0A0908);
    r.set_xmm(1, b, 0x1F1E1D1C1B1A1918);
    REQUIRE(r.run({0x66, 0x0F, op, 0xC1}, name) == ExecStatus::Ok);
  };
  sse(0x60, "PUNPCKLBW_Vdq_Wdq");
  CHECK(r.lo(0) == 0x1303120211011000);
  CHECK(r.hi(0) == 0x1707160615051404);
  sse(0x68, "PUNPCKHBW_Vdq_Wdq");
  CHECK(r.lo(0) == 0x1B0B1A0A19091808);
  CHECK(r.hi(0) == 0x1F0F1E0E1D0D1C0C);
  sse(0x6A, "PUNPCKHDQ_Vdq_Wdq");
  CHECK(r.lo(0) == 0x1B1A19180B0A0908);
  CHECK(r.hi(0) == 0x1F1E1D1C0F0E0D0C);
  sse(0x6C, "PUNPCKLQDQ_Vdq_Wdq");
  CHECK(r.lo(0) == a);
  CHECK(r.hi(0) == b);
  sse(0x6D, "PUNPCKHQDQ_Vdq_Wdq");
  CHECK(r.lo(0) == 0x0F0E0D0C0B0A0908);
  CHECK(r.hi(0) == 0x1F1E1D1C1B1A1918);
}

TEST_CASE("simd: shifts by register, memory and imm8") {
  Rig r;
  const uint64_t w = 0x1234FFFF00018001;  // words 8001 0001 FFFF 1234
  auto mmx = [&](uint8_t op, const char* name, uint64_t count) {
    r.set_mm(0, w);
    r.set_mm(1, count);
    REQUIRE(r.run({0x0F, op, 0xC1}, name) == ExecStatus::Ok);
    return r.mm(0);
  };
  CHECK(mmx(0xF1, "PSLLW_Pq_Qq", 4) == 0x2340FFF000100010);
  CHECK(mmx(0xD1, "PSRLW_Pq_Qq", 17) == 0);
  CHECK(mmx(0xE1, "PSRAW_Pq_Qq", 17) == 0x0000FFFF0000FFFF);
  CHECK(mmx(0xE1, "PSRAW_Pq_Qq", 1) == 0x091AFFFF0000C000);
  CHECK(mmx(0xF1, "PSLLW_Pq_Qq", 0x0000000100000001) == 0);  // the whole 64-bit count
  CHECK(mmx(0xD3, "PSRLQ_Pq_Qq", 63) == 0);
  CHECK(mmx(0xF3, "PSLLQ_Pq_Qq", 60) == 0x1000000000000000);
  CHECK(mmx(0xD2, "PSRLD_Pq_Qq", 16) == 0x0000123400000001);
  CHECK(mmx(0xE2, "PSRAD_Pq_Qq", 40) == 0);  // both dwords positive
  // group forms: 0F 72 /4 ib psrad mm3, 1; 0F 73 /2 ib psrlq mm2, 4; 0F 73 /6 ib psllq mm2, 64
  r.set_mm(3, 0x0000000280000000);
  CHECK(r.run({0x0F, 0x72, 0xE3, 0x01}, "PSRAD_Nq_Ib") == ExecStatus::Ok);
  CHECK(r.mm(3) == 0x00000001C0000000);
  r.set_mm(2, 0xF000000000000000);
  CHECK(r.run({0x0F, 0x73, 0xD2, 0x04}, "PSRLQ_Nq_Ib") == ExecStatus::Ok);
  CHECK(r.mm(2) == 0x0F00000000000000);
  CHECK(r.run({0x0F, 0x73, 0xF2, 0x40}, "PSLLQ_Nq_Ib") == ExecStatus::Ok);
  CHECK(r.mm(2) == 0);
  r.set_mm(2, w);
  CHECK(r.run({0x0F, 0x71, 0xF2, 0x08}, "PSLLW_Nq_Ib") == ExecStatus::Ok);
  CHECK(r.mm(2) == 0x3400FF0001000100);
  // XMM: pslld xmm1, xmm2 by 31; psrlw xmm2, [0x1000] counts only the low quadword
  r.set_xmm(1, 0x0000000300000001, 0xFFFFFFFF00000000);
  r.set_xmm(2, 31, 0xFFFF);
  CHECK(r.run({0x66, 0x0F, 0xF2, 0xCA}, "PSLLD_Vdq_Wdq") == ExecStatus::Ok);
  CHECK(r.lo(1) == 0x8000000080000000);
  CHECK(r.hi(1) == 0x8000000000000000);
  r.poke64(0x1000, 2);
  r.poke64(0x1008, 0xFFFFFFFFFFFFFFFF);
  r.set_xmm(2, 0x8000800080008000, 0x8000800080008000);
  CHECK(r.run({0x66, 0x0F, 0xD1, 0x15, 0x00, 0x10, 0x00, 0x00}, "PSRLW_Vdq_Wdq") == ExecStatus::Ok);
  CHECK(r.lo(2) == 0x2000200020002000);
  CHECK(r.hi(2) == 0x2000200020002000);
  r.set_xmm(3, 0x8000000000000001, 0x7FFFFFFFFFFFFFFF);
  CHECK(r.run({0x66, 0x0F, 0x73, 0xF3, 0x01}, "PSLLQ_Udq_Ib") == ExecStatus::Ok);
  CHECK(r.lo(3) == 0x0000000000000002);
  CHECK(r.hi(3) == 0xFFFFFFFFFFFFFFFE);
  r.set_xmm(3, 0x8000000080000000, 0x7FFFFFFF00000010);
  CHECK(r.run({0x66, 0x0F, 0x72, 0xE3, 0x04}, "PSRAD_Udq_Ib") == ExecStatus::Ok);
  CHECK(r.lo(3) == 0xF8000000F8000000);
  CHECK(r.hi(3) == 0x07FFFFFF00000001);
  // byte shifts of the whole register
  r.set_xmm(1, 0x0706050403020100, 0x0F0E0D0C0B0A0908);
  CHECK(r.run({0x66, 0x0F, 0x73, 0xD9, 0x03}, "PSRLDQ_Udq_Ib") == ExecStatus::Ok);
  CHECK(r.lo(1) == 0x0A09080706050403);
  CHECK(r.hi(1) == 0x0000000F0E0D0C0B);
  r.set_xmm(1, 0x0706050403020100, 0x0F0E0D0C0B0A0908);
  CHECK(r.run({0x66, 0x0F, 0x73, 0xF9, 0x01}, "PSLLDQ_Udq_Ib") == ExecStatus::Ok);
  CHECK(r.lo(1) == 0x0605040302010000);
  CHECK(r.hi(1) == 0x0E0D0C0B0A090807);
  CHECK(r.run({0x66, 0x0F, 0x73, 0xF9, 0x10}, "PSLLDQ_Udq_Ib") == ExecStatus::Ok);
  CHECK(r.lo(1) == 0);
  CHECK(r.hi(1) == 0);
}

TEST_CASE("simd: shuffles, word insert/extract, PMOVMSKB") {
  Rig r;
  r.set_mm(1, 0x3333222211110000);
  CHECK(r.run({0x0F, 0x70, 0xC1, 0x1B}, "PSHUFW_Pq_Qq_Ib") == ExecStatus::Ok);
  CHECK(r.mm(0) == 0x0000111122223333);
  r.set_xmm(1, 0x0000000100000000, 0x0000000300000002);
  CHECK(r.run({0x66, 0x0F, 0x70, 0xC1, 0x1B}, "PSHUFD_Vdq_Wdq_Ib") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0x0000000200000003);
  CHECK(r.hi(0) == 0x0000000000000001);
  CHECK(r.run({0x66, 0x0F, 0x70, 0xC1, 0xAA}, "PSHUFD_Vdq_Wdq_Ib") == ExecStatus::Ok);  // dword 2 everywhere
  CHECK(r.lo(0) == 0x0000000200000002);
  CHECK(r.hi(0) == 0x0000000200000002);
  r.set_xmm(1, 0x0003000200010000, 0x0007000600050004);
  CHECK(r.run({0xF3, 0x0F, 0x70, 0xC1, 0x1B}, "PSHUFHW_Vdq_Wdq_Ib") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0x0003000200010000);
  CHECK(r.hi(0) == 0x0004000500060007);
  CHECK(r.run({0xF2, 0x0F, 0x70, 0xC1, 0x1B}, "PSHUFLW_Vdq_Wdq_Ib") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0x0000000100020003);
  CHECK(r.hi(0) == 0x0007000600050004);

  // pinsrw mm0, eax, 5 (lane 5 mod 4 = 1); pinsrw xmm1, [0x1000], 7
  r.set_mm(0, 0);
  r.cpu().gpr[RAX] = 0x12345678;
  CHECK(r.run({0x0F, 0xC4, 0xC0, 0x05}, "PINSRW_Pq_Ew_Ib") == ExecStatus::Ok);
  CHECK(r.mm(0) == 0x0000000056780000);
  r.poke(0x1000, {0xCD, 0xAB});
  r.set_xmm(1, 0, 0);
  CHECK(r.run({0x66, 0x0F, 0xC4, 0x0D, 0x00, 0x10, 0x00, 0x00, 0x07}, "PINSRW_Vdq_Ew_Ib") == ExecStatus::Ok);
  CHECK(r.lo(1) == 0);
  CHECK(r.hi(1) == 0xABCD000000000000);
  // pextrw eax, mm1, 6 (lane 2); pextrw ecx, xmm2, 9 (lane 1)
  r.set_mm(1, 0x4444333322221111);
  r.cpu().gpr[RAX] = 0xFFFFFFFFFFFFFFFF;
  CHECK(r.run({0x0F, 0xC5, 0xC1, 0x06}, "PEXTRW_Gd_Nq_Ib") == ExecStatus::Ok);
  CHECK(r.cpu().gpr[RAX] == 0x3333);
  r.set_xmm(2, 0x00000000BEEF0000, 0);
  CHECK(r.run({0x66, 0x0F, 0xC5, 0xCA, 0x09}, "PEXTRW_Gd_Udq_Ib") == ExecStatus::Ok);
  CHECK(r.cpu().gpr[RCX] == 0xBEEF);
  // pmovmskb eax, mm1: bytes FF 00 80 01 FF 7F 00 80 -> 1,0,1,0,1,0,0,1
  r.set_mm(1, 0x80007FFF018000FF);
  CHECK(r.run({0x0F, 0xD7, 0xC1}, "PMOVMSKB_Gd_Nq") == ExecStatus::Ok);
  CHECK(r.cpu().gpr[RAX] == 0x95);
  r.set_xmm(1, 0x80007FFF018000FF, 0x8080808080808080);
  CHECK(r.run({0x66, 0x0F, 0xD7, 0xC1}, "PMOVMSKB_Gd_Udq") == ExecStatus::Ok);
  CHECK(r.cpu().gpr[RAX] == 0xFF95);
}

// ---- moves ------------------------------------------------------------------------------------------------
TEST_CASE("simd: MOVD/MOVQ between MMX, XMM, general registers and memory") {
  Rig r;
  CpuState& c = r.cpu();
  c.gpr[RAX] = 0xFFFFFFFF89ABCDEF;
  r.set_mm(0, 0x1111111111111111);
  CHECK(r.run({0x0F, 0x6E, 0xC0}, "MOVD_Pd_Ey") == ExecStatus::Ok);  // movd mm0, eax
  CHECK(r.mm(0) == 0x0000000089ABCDEF);
  r.set_mm(1, 0x0123456776543210);
  CHECK(r.run({0x0F, 0x7E, 0xC8}, "MOVD_Ey_Pd") == ExecStatus::Ok);  // movd eax, mm1
  CHECK(c.gpr[RAX] == 0x76543210);
  r.poke64(0x1000, 0xA5A5A5A5DEADBEEF);
  r.set_xmm(0, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF);
  CHECK(r.run({0x66, 0x0F, 0x6E, 0x05, 0x00, 0x10, 0x00, 0x00}, "MOVD_Vd_Ey") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0xDEADBEEF);
  CHECK(r.hi(0) == 0);
  r.set_xmm(1, 0x0102030405060708, 0x1112131415161718);
  CHECK(r.run({0x66, 0x0F, 0x7E, 0x0D, 0x00, 0x10, 0x00, 0x00}, "MOVD_Ey_Vd") == ExecStatus::Ok);
  CHECK(r.peek(0x1000, 8) == 0xA5A5A5A505060708);
  // movq xmm1, xmm2 (F3 0F 7E): upper half cleared
  r.set_xmm(2, 0x2222222222222222, 0x3333333333333333);
  CHECK(r.run({0xF3, 0x0F, 0x7E, 0xCA}, "MOVQ_Vq_Wq") == ExecStatus::Ok);
  CHECK(r.lo(1) == 0x2222222222222222);
  CHECK(r.hi(1) == 0);
  // movq xmm2, xmm1 (66 0F D6, xmm1 in reg): destination upper half cleared
  r.set_xmm(1, 0x4444444444444444, 0x5555555555555555);
  r.set_xmm(2, 0x6666666666666666, 0x7777777777777777);
  CHECK(r.run({0x66, 0x0F, 0xD6, 0xCA}, "MOVQ_Wq_Vq") == ExecStatus::Ok);
  CHECK(r.lo(2) == 0x4444444444444444);
  CHECK(r.hi(2) == 0);
  // movq [0x1000], xmm1: 8 bytes only
  r.poke64(0x1008, 0x9999999999999999);
  CHECK(r.run({0x66, 0x0F, 0xD6, 0x0D, 0x00, 0x10, 0x00, 0x00}, "MOVQ_Wq_Vq") == ExecStatus::Ok);
  CHECK(r.peek(0x1000, 8) == 0x4444444444444444);
  CHECK(r.peek(0x1008, 8) == 0x9999999999999999);
  // movq xmm3, [0x1008] (F3 0F 7E) zero-extends
  CHECK(r.run({0xF3, 0x0F, 0x7E, 0x1D, 0x08, 0x10, 0x00, 0x00}, "MOVQ_Vq_Wq") == ExecStatus::Ok);
  CHECK(r.lo(3) == 0x9999999999999999);
  CHECK(r.hi(3) == 0);
  // MOVQ2DQ xmm1, mm2 / MOVDQ2Q mm1, xmm2: both make the x87 transition
  c.ftw = 0xFFFF;
  r.set_mm(2, 0xCAFEF00DCAFEF00D);
  CHECK(r.run({0xF3, 0x0F, 0xD6, 0xCA}, "MOVQ2DQ_Vdq_Nq") == ExecStatus::Ok);
  CHECK(r.lo(1) == 0xCAFEF00DCAFEF00D);
  CHECK(r.hi(1) == 0);
  CHECK(c.ftw == 0);
  c.ftw = 0xFFFF;
  r.set_xmm(2, 0x0BADC0DE0BADC0DE, 0x1);
  CHECK(r.run({0xF2, 0x0F, 0xD6, 0xCA}, "MOVDQ2Q_Pq_Uq") == ExecStatus::Ok);
  CHECK(r.mm(1) == 0x0BADC0DE0BADC0DE);
  CHECK(c.fpr[1].sign_exp == 0xFFFF);
  CHECK(c.ftw == 0);
  // MOVQ mm, mm/m64 and the non-temporal stores
  CHECK(r.run({0x0F, 0x6F, 0x1D, 0x00, 0x10, 0x00, 0x00}, "MOVQ_Pq_Qq") == ExecStatus::Ok);  // movq mm3, [0x1000]
  CHECK(r.mm(3) == 0x4444444444444444);
  c.gpr[RCX] = 0xFFFFFFFF87654321;
  CHECK(r.run({0x0F, 0xC3, 0x0D, 0x00, 0x10, 0x00, 0x00}, "MOVNTI_My_Gy") == ExecStatus::Ok);
  CHECK(r.peek(0x1000, 8) == 0x4444444487654321);
  CHECK(r.run({0x0F, 0xE7, 0x15, 0x08, 0x10, 0x00, 0x00}, "MOVNTQ_Mq_Pq") == ExecStatus::Ok);  // movntq [0x1008], mm2
  CHECK(r.peek(0x1008, 8) == 0xCAFEF00DCAFEF00D);
  // MOVNTDQA xmm4, [0x1000] (aligned)
  CHECK(r.run({0x66, 0x0F, 0x38, 0x2A, 0x25, 0x00, 0x10, 0x00, 0x00}, "MOVNTDQA_Vdq_Mdq") == ExecStatus::Ok);
  CHECK(r.lo(4) == 0x4444444487654321);
  CHECK(r.hi(4) == 0xCAFEF00DCAFEF00D);
  CHECK(r.run({0x66, 0x0F, 0x38, 0x2A, 0x25, 0x04, 0x10, 0x00, 0x00}, "MOVNTDQA_Vdq_Mdq") == ExecStatus::Fault);
  CHECK(r.vector() == kVecGP);
}

TEST_CASE("simd: 64-bit forms (REX.W, REX.R)") {
  Rig r(CpuMode::Long64);
  CpuState& c = r.cpu();
  c.gpr[RAX] = 0x0123456789ABCDEF;
  CHECK(r.run({0x48, 0x0F, 0x6E, 0xC0}, "MOVD_Pd_Ey") == ExecStatus::Ok);  // movq mm0, rax
  CHECK(r.mm(0) == 0x0123456789ABCDEF);
  CHECK(r.run({0x4C, 0x0F, 0x6E, 0xC8}, "MOVD_Pd_Ey") == ExecStatus::Ok);  // REX.R ignored: mm1
  CHECK(r.mm(1) == 0x0123456789ABCDEF);
  CHECK(r.run({0x66, 0x4C, 0x0F, 0x6E, 0xC0}, "MOVD_Vd_Ey") == ExecStatus::Ok);  // movq xmm8, rax
  CHECK(r.lo(8) == 0x0123456789ABCDEF);
  CHECK(r.hi(8) == 0);
  CHECK(r.run({0x66, 0x0F, 0x6E, 0xC0}, "MOVD_Vd_Ey") == ExecStatus::Ok);  // movd xmm0, eax
  CHECK(r.lo(0) == 0x89ABCDEF);
  r.set_xmm(9, 0xFEDCBA9876543210, 1);
  CHECK(r.run({0x66, 0x4D, 0x0F, 0x7E, 0xCA}, "MOVD_Ey_Vd") == ExecStatus::Ok);  // movq r10, xmm9
  CHECK(c.gpr[R10] == 0xFEDCBA9876543210);
  CHECK(r.run({0x66, 0x45, 0x0F, 0x7E, 0xCA}, "MOVD_Ey_Vd") == ExecStatus::Ok);  // movd r10d, xmm9
  CHECK(c.gpr[R10] == 0x76543210);
  CHECK(r.run({0x48, 0x0F, 0x7E, 0xC3}, "MOVD_Ey_Pd") == ExecStatus::Ok);  // movq rbx, mm0
  CHECK(c.gpr[RBX] == 0x0123456789ABCDEF);
  // pinsrq xmm0, rax, 1 / pextrq rcx, xmm0, 1 / pextrd ecx, xmm0, 1
  r.set_xmm(0, 0, 0);
  CHECK(r.run({0x66, 0x48, 0x0F, 0x3A, 0x22, 0xC0, 0x01}, "PINSRD_Vdq_Ey_Ib") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0);
  CHECK(r.hi(0) == 0x0123456789ABCDEF);
  c.gpr[RCX] = 0;
  CHECK(r.run({0x66, 0x48, 0x0F, 0x3A, 0x16, 0xC1, 0x01}, "PEXTRD_Ey_Vdq_Ib") == ExecStatus::Ok);
  CHECK(c.gpr[RCX] == 0x0123456789ABCDEF);
  c.gpr[RCX] = 0xFFFFFFFFFFFFFFFF;
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x16, 0xC1, 0x03}, "PEXTRD_Ey_Vdq_Ib") == ExecStatus::Ok);
  CHECK(c.gpr[RCX] == 0x01234567);
  // pextrb r9d, xmm15, 15 (REX.R and REX.B)
  r.set_xmm(15, 0, 0xAB00000000000000);
  c.gpr[R9] = 0xFFFFFFFFFFFFFFFF;
  CHECK(r.run({0x66, 0x45, 0x0F, 0x3A, 0x14, 0xF9, 0x0F}, "PEXTRB_Rd_Mb_Vdq_Ib") == ExecStatus::Ok);
  CHECK(c.gpr[R9] == 0xAB);
}

TEST_CASE("simd: MASKMOVQ / MASKMOVDQU store the selected bytes at DS:rDI") {
  Rig r;
  CpuState& c = r.cpu();
  r.poke64(0x2000, 0xEEEEEEEEEEEEEEEE);
  r.poke64(0x2008, 0xEEEEEEEEEEEEEEEE);
  c.gpr[RDI] = 0x2000;
  r.set_mm(1, 0x8877665544332211);
  r.set_mm(2, 0x000080017FFF0080);  // mask bytes 80 00 FF 7F 01 80 00 00: bytes 0, 2, 5
  CHECK(r.run({0x0F, 0xF7, 0xCA}, "MASKMOVQ_Pq_Nq") == ExecStatus::Ok);
  CHECK(r.peek(0x2000, 8) == 0xEEEE66EEEE33EE11);
  CHECK(r.peek(0x2008, 8) == 0xEEEEEEEEEEEEEEEE);
  r.set_xmm(1, 0x0706050403020100, 0x0F0E0D0C0B0A0908);
  r.set_xmm(2, 0x0000000000000000, 0x8000000000000080);  // bytes 8 and 15
  CHECK(r.run({0x66, 0x0F, 0xF7, 0xCA}, "MASKMOVDQU_Vdq_Udq") == ExecStatus::Ok);
  CHECK(r.peek(0x2000, 8) == 0xEEEE66EEEE33EE11);
  CHECK(r.peek(0x2008, 8) == 0x0FEEEEEEEEEEEE08);
  // The whole destination is checked, whatever the mask (as an Intel host does): at
  // FFFCh the 8 bytes pass the FFFFh limit even when only bytes 0 and 3 are selected.
  // MASKMOVQ has made the x87 transition by then; nothing is written.
  c.gpr[RDI] = 0xFFFC;
  r.poke(0xFFFC, {0xEE, 0xEE, 0xEE, 0xEE});
  c.ftw = 0xFFFF;
  c.ftop = 5;
  r.set_mm(2, 0x0000000080000080);
  CHECK(r.run({0x0F, 0xF7, 0xCA}, "MASKMOVQ_Pq_Nq") == ExecStatus::Fault);
  CHECK(r.vector() == kVecGP);
  CHECK(r.peek(0xFFFC, 4) == 0xEEEEEEEE);
  CHECK(c.ftw == 0);
  CHECK(c.ftop == 0);
  r.set_mm(2, 0);  // an all-zero mask faults too
  CHECK(r.run({0x0F, 0xF7, 0xCA}, "MASKMOVQ_Pq_Nq") == ExecStatus::Fault);
  CHECK(r.vector() == kVecGP);
  c.gpr[RDI] = 0xFFF0;  // 16 bytes fit: bytes 8 and 15 written
  CHECK(r.run({0x66, 0x0F, 0xF7, 0xCA}, "MASKMOVDQU_Vdq_Udq") == ExecStatus::Ok);
  CHECK(r.peek(0xFFF8, 8) == 0x0FEEEEEE00000008ull);
  c.gpr[RDI] = 0xFFF8;
  CHECK(r.run({0x66, 0x0F, 0xF7, 0xCA}, "MASKMOVDQU_Vdq_Udq") == ExecStatus::Fault);
  CHECK(r.vector() == kVecGP);
  CHECK(r.peek(0xFFF8, 8) == 0x0FEEEEEE00000008ull);
}

// A faulting MMX load changes nothing; a faulting MMX store has already set TOP to 0
// but not the tags (both observed on an Intel host).
TEST_CASE("simd: x87 state after a faulting MMX load or store") {
  Rig r;
  CpuState& c = r.cpu();
  c.ftw = 0x3FFF;  // R7 valid
  c.ftop = 7;
  r.set_mm(0, 0x1111111111111111);
  CHECK(r.run({0x0F, 0xFC, 0x05, 0xFC, 0xFF, 0x00, 0x00}, "PADDB_Pq_Qq") == ExecStatus::Fault);  // paddb mm0, [0xFFFC]
  CHECK(r.vector() == kVecGP);
  CHECK(c.ftop == 7);
  CHECK(c.ftw == 0x3FFF);
  CHECK(r.mm(0) == 0x1111111111111111);
  CHECK(r.run({0x0F, 0x6E, 0x05, 0xFE, 0xFF, 0x00, 0x00}, "MOVD_Pd_Ey") == ExecStatus::Fault);  // movd mm0, [0xFFFE]
  CHECK(c.ftop == 7);
  CHECK(r.run({0x0F, 0x7F, 0x05, 0xFC, 0xFF, 0x00, 0x00}, "MOVQ_Qq_Pq") == ExecStatus::Fault);  // movq [0xFFFC], mm0
  CHECK(r.vector() == kVecGP);
  CHECK(c.ftop == 0);
  CHECK(c.ftw == 0x3FFF);
  c.ftop = 7;
  CHECK(r.run({0x0F, 0x7E, 0x05, 0xFE, 0xFF, 0x00, 0x00}, "MOVD_Ey_Pd") == ExecStatus::Fault);  // movd [0xFFFE], mm0
  CHECK(c.ftop == 0);
  CHECK(c.ftw == 0x3FFF);
  c.ftop = 7;
  CHECK(r.run({0x0F, 0xE7, 0x05, 0xFC, 0xFF, 0x00, 0x00}, "MOVNTQ_Mq_Pq") == ExecStatus::Fault);  // movntq [0xFFFC], mm0
  CHECK(c.ftop == 0);
  CHECK(c.ftw == 0x3FFF);
  CHECK(r.peek(0xFFFC, 4) != 0x11111111);
}

// ---- SSSE3 ---------------------------------------------------------------------------------------------------
TEST_CASE("simd: SSSE3 PSHUFB and PALIGNR") {
  Rig r;
  r.set_xmm(0, 0x0706050403020100, 0x0F0E0D0C0B0A0908);
  r.set_xmm_bytes(1, {0x0F, 0x0E, 0x80, 0x01, 0x11, 0xFF, 0x00, 0x05, 8, 8, 8, 8, 8, 8, 8, 8});
  CHECK(r.run({0x66, 0x0F, 0x38, 0x00, 0xC1}, "PSHUFB_Vdq_Wdq") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0x0500000101000E0F);
  CHECK(r.hi(0) == 0x0808080808080808);
  // MMX: the index is taken mod 8
  r.set_mm(0, 0x0706050403020100);
  r.set_mm(1, 0x0303030308800F07);  // 07 0F 80 08 03 03 03 03
  CHECK(r.run({0x0F, 0x38, 0x00, 0xC1}, "PSHUFB_Pq_Qq") == ExecStatus::Ok);
  CHECK(r.mm(0) == 0x0303030300000707);
  auto palignr_mm = [&](uint8_t imm) {
    r.set_mm(0, 0x0F0E0D0C0B0A0908);
    r.set_mm(1, 0x0706050403020100);
    REQUIRE(r.run({0x0F, 0x3A, 0x0F, 0xC1, imm}, "PALIGNR_Pq_Qq_Ib") == ExecStatus::Ok);
    return r.mm(0);
  };
  CHECK(palignr_mm(3) == 0x0A09080706050403);
  CHECK(palignr_mm(9) == 0x000F0E0D0C0B0A09);
  CHECK(palignr_mm(16) == 0);
  auto palignr_x = [&](uint8_t imm) {
    r.set_xmm(0, 0x1716151413121110, 0x1F1E1D1C1B1A1918);
    r.set_xmm(1, 0x0706050403020100, 0x0F0E0D0C0B0A0908);
    REQUIRE(r.run({0x66, 0x0F, 0x3A, 0x0F, 0xC1, imm}, "PALIGNR_Vdq_Wdq_Ib") == ExecStatus::Ok);
  };
  palignr_x(4);
  CHECK(r.lo(0) == 0x0B0A090807060504);
  CHECK(r.hi(0) == 0x131211100F0E0D0C);
  palignr_x(20);
  CHECK(r.lo(0) == 0x1B1A191817161514);
  CHECK(r.hi(0) == 0x000000001F1E1D1C);
}

TEST_CASE("simd: SSSE3 horizontal add/subtract") {
  Rig r;
  auto sse = [&](uint8_t op, const char* name, std::initializer_list<uint16_t> a, std::initializer_list<uint16_t> b) {
    r.set_xmm_words(0, a);
    r.set_xmm_words(1, b);
    REQUIRE(r.run({0x66, 0x0F, 0x38, op, 0xC1}, name) == ExecStatus::Ok);
  };
  sse(0x01, "PHADDW_Vdq_Wdq", {1, 2, 3, 4, 5, 6, 7, 8}, {10, 20, 30, 40, 50, 60, 70, 80});
  CHECK(r.lo(0) == 0x000F000B00070003);
  CHECK(r.hi(0) == 0x0096006E0046001E);
  sse(0x05, "PHSUBW_Vdq_Wdq", {1, 2, 3, 4, 5, 6, 7, 8}, {10, 20, 30, 40, 50, 60, 70, 80});
  CHECK(r.lo(0) == 0xFFFFFFFFFFFFFFFF);
  CHECK(r.hi(0) == 0xFFF6FFF6FFF6FFF6);
  sse(0x03, "PHADDSW_Vdq_Wdq", {0x7FFF, 1, 0x8000, 0xFFFF, 0x1000, 0x2000}, {});
  CHECK(r.lo(0) == 0x0000300080007FFF);
  CHECK(r.hi(0) == 0);
  sse(0x07, "PHSUBSW_Vdq_Wdq", {0x7FFF, 0xFFFF, 0x8000, 0x0001}, {5, 7});
  CHECK(r.lo(0) == 0x0000000080007FFF);
  CHECK(r.hi(0) == 0x000000000000FFFE);
  r.set_mm(0, 0x0000000200000001);
  r.set_mm(1, 0x0000000400000003);
  CHECK(r.run({0x0F, 0x38, 0x02, 0xC1}, "PHADDD_Pq_Qq") == ExecStatus::Ok);
  CHECK(r.mm(0) == 0x0000000700000003);
  r.set_mm(0, 0x0000000200000001);
  CHECK(r.run({0x0F, 0x38, 0x06, 0xC1}, "PHSUBD_Pq_Qq") == ExecStatus::Ok);
  CHECK(r.mm(0) == 0xFFFFFFFFFFFFFFFF);
  r.set_mm(0, 0x0004000300020001);
  r.set_mm(1, 0x0040003000200010);
  CHECK(r.run({0x0F, 0x38, 0x01, 0xC1}, "PHADDW_Pq_Qq") == ExecStatus::Ok);
  CHECK(r.mm(0) == 0x0070003000070003);
}

TEST_CASE("simd: SSSE3 PMADDUBSW, PMULHRSW, PSIGN, PABS") {
  Rig r;
  // words: FF*7F + FF*7F = 64770 -> 7FFF; FF*(-128) + 0 = -32640 = 8080h; 2*(-1) + 3*2 = 4
  r.set_xmm_bytes(0, {0xFF, 0xFF, 0xFF, 0x00, 0x02, 0x03});
  r.set_xmm_bytes(1, {0x7F, 0x7F, 0x80, 0x00, 0xFF, 0x02});
  CHECK(r.run({0x66, 0x0F, 0x38, 0x04, 0xC1}, "PMADDUBSW_Vdq_Wdq") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0x0000000480807FFF);
  CHECK(r.hi(0) == 0);
  // 4000h*4000h -> 2000h; 8000h*8000h -> 8000h; 7FFFh*7FFFh -> 7FFEh; -1*1 -> 0
  r.set_mm(0, 0xFFFF7FFF80004000);
  r.set_mm(1, 0x00017FFF80004000);
  CHECK(r.run({0x0F, 0x38, 0x0B, 0xC1}, "PMULHRSW_Pq_Qq") == ExecStatus::Ok);
  CHECK(r.mm(0) == 0x00007FFE80002000);
  // psignb: 05 05 05 80 80 00 7F 01  by  FF 00 01 80 01 FF 80 7F
  r.set_mm(0, 0x017F008080050505);
  r.set_mm(1, 0x7F80FF01800100FF);
  CHECK(r.run({0x0F, 0x38, 0x08, 0xC1}, "PSIGNB_Pq_Qq") == ExecStatus::Ok);
  CHECK(r.mm(0) == 0x01810080800500FB);
  r.set_xmm(0, 0x8000123412341234, 0);
  r.set_xmm(1, 0xFFFF7FFF0000FFFF, 0);
  CHECK(r.run({0x66, 0x0F, 0x38, 0x09, 0xC1}, "PSIGNW_Vdq_Wdq") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0x800012340000EDCC);
  r.set_xmm(0, 0x0000000500000005, 0x0000000700000007);
  r.set_xmm(1, 0x0000000080000000, 0x00000001FFFFFFFF);
  CHECK(r.run({0x66, 0x0F, 0x38, 0x0A, 0xC1}, "PSIGND_Vdq_Wdq") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0x00000000FFFFFFFB);
  CHECK(r.hi(0) == 0x00000007FFFFFFF9);
  // pabsb mm0, mm1: 80 FF 05 00 81 7F 01 FE -> 80 01 05 00 7F 7F 01 02
  r.set_mm(1, 0xFE017F810005FF80);
  CHECK(r.run({0x0F, 0x38, 0x1C, 0xC1}, "PABSB_Pq_Qq") == ExecStatus::Ok);
  CHECK(r.mm(0) == 0x02017F7F00050180);
  r.set_xmm(1, 0x80010005FFFF8000, 0);
  CHECK(r.run({0x66, 0x0F, 0x38, 0x1D, 0xC1}, "PABSW_Vdq_Wdq") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0x7FFF000500018000);
  r.set_xmm(1, 0x80000000FFFFFFFF, 0x000000057FFFFFFF);
  CHECK(r.run({0x66, 0x0F, 0x38, 0x1E, 0xC1}, "PABSD_Vdq_Wdq") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0x8000000000000001);
  CHECK(r.hi(0) == 0x000000057FFFFFFF);
}

// ---- SSE4.1 ------------------------------------------------------------------------------------------------------
TEST_CASE("simd: SSE4.1 blends, PTEST, PHMINPOSUW, MPSADBW") {
  Rig r;
  r.set_xmm(0, 0xAAAAAAAAAAAAAAAA, 0xAAAAAAAAAAAAAAAA);
  r.set_xmm_words(1, {0x1111, 0x2222, 0x3333, 0x4444, 0x5555, 0x6666, 0x7777, 0x8888});
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x0E, 0xC1, 0xA5}, "PBLENDW_Vdq_Wdq_Ib") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0xAAAA3333AAAA1111);
  CHECK(r.hi(0) == 0x8888AAAA6666AAAA);
  // pblendvb xmm1, xmm2 with the mask in xmm0: bytes 0 and 2
  r.set_xmm_bytes(0, {0x80, 0x7F, 0xFF, 0x00});
  r.set_xmm(1, 0x1111111111111111, 0x1111111111111111);
  r.set_xmm(2, 0x2222222222222222, 0x2222222222222222);
  CHECK(r.run({0x66, 0x0F, 0x38, 0x10, 0xCA}, "PBLENDVB_Vdq_Wdq") == ExecStatus::Ok);
  CHECK(r.lo(1) == 0x1111111111221122);
  CHECK(r.hi(1) == 0x1111111111111111);
  // the destination may be xmm0 itself: the mask is the value before the write
  CHECK(r.run({0x66, 0x0F, 0x38, 0x10, 0xC2}, "PBLENDVB_Vdq_Wdq") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0x0000000000227F22);
  CHECK(r.hi(0) == 0);

  // PTEST: ZF = (dst & src) == 0, CF = (src & ~dst) == 0, the rest cleared
  auto ptest = [&](uint64_t dst_hi, uint64_t dst_lo, uint64_t src_hi, uint64_t src_lo) {
    machine::set_arith_flags(r.cpu(), kSF | kOF | kAF | kPF | kCF | kZF);
    r.set_xmm(0, dst_lo, dst_hi);
    r.set_xmm(1, src_lo, src_hi);
    REQUIRE(r.run({0x66, 0x0F, 0x38, 0x17, 0xC1}, "PTEST_Vdq_Wdq") == ExecStatus::Ok);
    return r.flags();
  };
  CHECK(ptest(0, 0xF0, 0, 0x0F) == kZF);
  CHECK(ptest(0, 0xF0, 0, 0x10) == kCF);
  CHECK(ptest(0, 0xF0, 0, 0) == (kZF | kCF));
  CHECK(ptest(0x1, 0, 0x3, 0) == 0);  // the high quadword counts too

  r.set_xmm_words(1, {5, 3, 9, 3, 7, 0xFFFF, 4, 8});
  r.set_xmm(0, ~0ull, ~0ull);
  CHECK(r.run({0x66, 0x0F, 0x38, 0x41, 0xC1}, "PHMINPOSUW_Vdq_Wdq") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0x0000000000010003);
  CHECK(r.hi(0) == 0);

  // MPSADBW: dst bytes 0..15; imm 0: src block 0 = 0 0 0 0, windows from byte 0: 4i+6
  r.set_xmm(0, 0x0706050403020100, 0x0F0E0D0C0B0A0908);
  r.set_xmm(1, 0x0101010100000000, 0);
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x42, 0xC1, 0x00}, "MPSADBW_Vdq_Wdq_Ib") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0x0012000E000A0006);
  CHECK(r.hi(0) == 0x0022001E001A0016);
  // imm 5: windows from byte 4 against src bytes 4..7 = 1 1 1 1: 4i+18
  r.set_xmm(0, 0x0706050403020100, 0x0F0E0D0C0B0A0908);
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x42, 0xC1, 0x05}, "MPSADBW_Vdq_Wdq_Ib") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0x001E001A00160012);
  CHECK(r.hi(0) == 0x002E002A00260022);
}

TEST_CASE("simd: SSE4.1 PMOVSX/PMOVZX") {
  Rig r;
  r.set_xmm_bytes(1, {0x80, 0x7F, 0xFF, 0x01, 0x00, 0x02, 0xFE, 0x40, 0x99, 0x99, 0x99, 0x99});
  CHECK(r.run({0x66, 0x0F, 0x38, 0x20, 0xC1}, "PMOVSXBW_Vdq_Wq") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0x0001FFFF007FFF80);
  CHECK(r.hi(0) == 0x0040FFFE00020000);
  CHECK(r.run({0x66, 0x0F, 0x38, 0x30, 0xC1}, "PMOVZXBW_Vdq_Wq") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0x000100FF007F0080);
  CHECK(r.hi(0) == 0x004000FE00020000);
  CHECK(r.run({0x66, 0x0F, 0x38, 0x21, 0xC1}, "PMOVSXBD_Vdq_Wd") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0x0000007FFFFFFF80);
  CHECK(r.hi(0) == 0x00000001FFFFFFFF);
  CHECK(r.run({0x66, 0x0F, 0x38, 0x31, 0xC1}, "PMOVZXBD_Vdq_Wd") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0x0000007F00000080);
  CHECK(r.hi(0) == 0x00000001000000FF);
  CHECK(r.run({0x66, 0x0F, 0x38, 0x22, 0xC1}, "PMOVSXBQ_Vdq_Ww") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0xFFFFFFFFFFFFFF80);
  CHECK(r.hi(0) == 0x000000000000007F);
  // words 7F80 01FF 0200 40FE
  CHECK(r.run({0x66, 0x0F, 0x38, 0x23, 0xC1}, "PMOVSXWD_Vdq_Wq") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0x000001FF00007F80);
  CHECK(r.hi(0) == 0x000040FE00000200);
  CHECK(r.run({0x66, 0x0F, 0x38, 0x24, 0xC1}, "PMOVSXWQ_Vdq_Wd") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0x0000000000007F80);
  CHECK(r.hi(0) == 0x00000000000001FF);
  r.set_xmm(1, 0x7FFFFFFF80000000, 0);
  CHECK(r.run({0x66, 0x0F, 0x38, 0x25, 0xC1}, "PMOVSXDQ_Vdq_Wq") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0xFFFFFFFF80000000);
  CHECK(r.hi(0) == 0x000000007FFFFFFF);
  CHECK(r.run({0x66, 0x0F, 0x38, 0x35, 0xC1}, "PMOVZXDQ_Vdq_Wq") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0x0000000080000000);
  CHECK(r.hi(0) == 0x000000007FFFFFFF);
  // memory operands have their own size (m16 / m64 at the limit) and no alignment rule
  r.poke(0xFFFE, {0x80, 0xFF});
  CHECK(r.run({0x66, 0x0F, 0x38, 0x32, 0x05, 0xFE, 0xFF, 0x00, 0x00}, "PMOVZXBQ_Vdq_Ww") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0x80);
  CHECK(r.hi(0) == 0xFF);
  r.poke(0xFFF8, {0x00, 0x80, 0xFF, 0xFF, 0x01, 0x00, 0x34, 0x12});
  CHECK(r.run({0x66, 0x0F, 0x38, 0x33, 0x05, 0xF8, 0xFF, 0x00, 0x00}, "PMOVZXWD_Vdq_Wq") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0x0000FFFF00008000);
  CHECK(r.hi(0) == 0x0000123400000001);
  CHECK(r.run({0x66, 0x0F, 0x38, 0x34, 0x05, 0xFC, 0xFF, 0x00, 0x00}, "PMOVZXWQ_Vdq_Wd") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0x0001);
  CHECK(r.hi(0) == 0x1234);
}

TEST_CASE("simd: SSE4.1 PINSR/PEXTR") {
  Rig r;
  CpuState& c = r.cpu();
  r.set_xmm(0, 0, 0);
  c.gpr[RCX] = 0x123456AB;
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x20, 0xC1, 0x11}, "PINSRB_Vdq_Ry_Mb_Ib") == ExecStatus::Ok);  // lane 17 mod 16
  CHECK(r.lo(0) == 0xAB00);
  c.gpr[RSP] = 0xCD;  // r/m 4 is ESP's low byte, not AH
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x20, 0xC4, 0x0F}, "PINSRB_Vdq_Ry_Mb_Ib") == ExecStatus::Ok);
  CHECK(r.hi(0) == 0xCD00000000000000);
  r.poke(0x1000, {0x5A});
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x20, 0x05, 0x00, 0x10, 0x00, 0x00, 0x02}, "PINSRB_Vdq_Ry_Mb_Ib") ==
        ExecStatus::Ok);
  CHECK(r.lo(0) == 0x5AAB00);
  c.gpr[RAX] = 0xFFFFFFFFFFFFFFFF;
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x14, 0xC0, 0x11}, "PEXTRB_Rd_Mb_Vdq_Ib") == ExecStatus::Ok);
  CHECK(c.gpr[RAX] == 0xAB);
  r.poke64(0x1000, 0xEEEEEEEEEEEEEEEE);
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x14, 0x05, 0x00, 0x10, 0x00, 0x00, 0x02}, "PEXTRB_Rd_Mb_Vdq_Ib") ==
        ExecStatus::Ok);
  CHECK(r.peek(0x1000, 8) == 0xEEEEEEEEEEEEEE5A);
  r.set_xmm_words(0, {0, 0, 0xBEEF});
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x15, 0x05, 0x00, 0x10, 0x00, 0x00, 0x0A}, "PEXTRW_Rd_Mw_Vdq_Ib") ==
        ExecStatus::Ok);
  CHECK(r.peek(0x1000, 8) == 0xEEEEEEEEEEEEBEEF);
  c.gpr[RDX] = 0xFFFFFFFFFFFFFFFF;
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x15, 0xC2, 0x02}, "PEXTRW_Rd_Mw_Vdq_Ib") == ExecStatus::Ok);
  CHECK(c.gpr[RDX] == 0xBEEF);
  r.poke(0x1000, {0x78, 0x56, 0x34, 0x12});
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x22, 0x05, 0x00, 0x10, 0x00, 0x00, 0x02}, "PINSRD_Vdq_Ey_Ib") ==
        ExecStatus::Ok);
  CHECK(r.hi(0) == 0x12345678);
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x16, 0xC0, 0x02}, "PEXTRD_Ey_Vdq_Ib") == ExecStatus::Ok);
  CHECK(c.gpr[RAX] == 0x12345678);
}

// ---- SSE4.2 string compares ------------------------------------------------------------------------------------------
TEST_CASE("simd: PCMPISTRI/PCMPISTRM, implicit lengths, every aggregation") {
  Rig r;
  CpuState& c = r.cpu();
  auto istri = [&](const char* s1, const char* s2, uint8_t imm) {
    r.set_xmm_str(0, s1);
    r.set_xmm_str(1, s2);
    REQUIRE(r.run({0x66, 0x0F, 0x3A, 0x63, 0xC1, imm}, "PCMPISTRI_Vdq_Wdq_Ib") == ExecStatus::Ok);
    return static_cast<uint32_t>(c.gpr[RCX]);
  };
  auto istrm = [&](const char* s1, const char* s2, uint8_t imm) {
    r.set_xmm_str(0, s1);
    r.set_xmm_str(1, s2);
    REQUIRE(r.run({0x66, 0x0F, 0x3A, 0x62, 0xC1, imm}, "PCMPISTRM_Vdq_Wdq_Ib") == ExecStatus::Ok);
  };
  // equal any: vowels of "hello world" at 1, 4, 7
  c.gpr[RCX] = 0xFFFFFFFFFFFFFFFF;
  CHECK(istri("aeiou", "hello world", 0x00) == 1);
  CHECK(c.gpr[RCX] == 1);  // ECX written, RCX zero-extended
  CHECK(r.flags() == (kCF | kZF | kSF));
  CHECK(istri("aeiou", "hello world", 0x40) == 7);
  istrm("aeiou", "hello world", 0x00);
  CHECK(r.lo(0) == 0x92);
  CHECK(r.hi(0) == 0);
  istrm("aeiou", "hello world", 0x40);
  CHECK(r.lo(0) == 0xFF0000FF0000FF00);
  CHECK(r.hi(0) == 0);
  CHECK(istri("xyz", "hello world", 0x00) == 16);  // no match
  CHECK(r.flags() == (kZF | kSF));
  // ranges: [a, z] over "AbC1z" -> 1 and 4
  CHECK(istri("az", "AbC1z", 0x04) == 1);
  CHECK(istri("az", "AbC1z", 0x14) == 0);  // negative polarity: every other bit, invalid lanes too
  CHECK(r.flags() == (kCF | kZF | kSF | kOF));
  CHECK(istri("az", "AbC1z", 0x34) == 0);  // masked negative: 12h ^ 1Fh = 0Dh
  CHECK(istri("az", "AbC1z", 0x74) == 3);
  istrm("az", "AbC1z", 0x34);
  CHECK(r.lo(0) == 0x0D);
  istrm("az", "AbC1z", 0x24);  // masked positive is positive
  CHECK(r.lo(0) == 0x12);
  // equal each (strcmp): first difference of "hello" and "help" at 3
  CHECK(istri("hello", "help", 0x18) == 3);
  CHECK(r.flags() == (kCF | kZF | kSF));
  istrm("hello", "help", 0x08);
  CHECK(r.lo(0) == 0xFFE7);  // beyond both ends: true; beyond one end: false
  CHECK(istri("hello", "help", 0x38) == 3);  // masked negative: FFE7h ^ 000Fh = FFE8h
  CHECK(istri("same", "same", 0x18) == 16);
  CHECK(r.flags() == (kZF | kSF));
  // equal ordered (strstr): "lo" in "hello lo" at 3 and 6
  CHECK(istri("lo", "hello lo", 0x0C) == 3);
  CHECK(istri("lo", "hello lo", 0x4C) == 6);
  istrm("lo", "hello lo", 0x0C);
  CHECK(r.lo(0) == 0x48);
  // a match that runs off the end of the 16 bytes counts (partial match at 15)
  CHECK(istri("lo", "abcdefghijklmnol", 0x0C) == 15);
  CHECK(r.flags() == (kCF | kSF));  // no terminator in xmm2: ZF clear
  // an empty needle matches everywhere
  istrm("", "abc", 0x0C);
  CHECK(r.lo(0) == 0xFFFF);
  CHECK(istri("", "abc", 0x0C) == 0);
  CHECK(r.flags() == (kCF | kZF | kSF | kOF));
  // word elements: unsigned words, equal any, byte mask of words
  r.set_xmm_words(0, {0x0102, 0x0304});
  r.set_xmm_words(1, {0x0304, 0x0201, 0x0102, 0x0000});
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x62, 0xC1, 0x41}, "PCMPISTRM_Vdq_Wdq_Ib") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0x0000FFFF0000FFFF);
  CHECK(r.hi(0) == 0);
  CHECK(r.flags() == (kCF | kZF | kSF | kOF));
}

TEST_CASE("simd: PCMPESTRI/PCMPESTRM, explicit lengths") {
  Rig r;
  CpuState& c = r.cpu();
  auto estri = [&](const char* s1, uint64_t rax, const char* s2, uint64_t rdx, uint8_t imm) {
    r.set_xmm_str(0, s1);
    r.set_xmm_str(1, s2);
    c.gpr[RAX] = rax;
    c.gpr[RDX] = rdx;
    REQUIRE(r.run({0x66, 0x0F, 0x3A, 0x61, 0xC1, imm}, "PCMPESTRI_Vdq_Wdq_Ib") == ExecStatus::Ok);
    return static_cast<uint32_t>(c.gpr[RCX]);
  };
  CHECK(estri("abcdefghijklmnop", 2, "zzbaaaaaaaaaaaaa", 3, 0x00) == 2);
  CHECK(r.flags() == (kCF | kZF | kSF));
  CHECK(estri("abcdefghijklmnop", 0xFFFFFFFE, "zzbaaaaaaaaaaaaa", 3, 0x40) == 2);  // |-2| = 2
  CHECK(estri("abcdefghijklmnop", 2, "zzbaaaaaaaaaaaaa", 100, 0x40) == 15);        // saturated to 16
  CHECK(r.flags() == (kCF | kSF));
  CHECK(estri("abcdefghijklmnop", 2, "zzbaaaaaaaaaaaaa", 0x80000000, 0x40) == 15);  // |-2^31| saturates
  CHECK(estri("abcdefghijklmnop", 16, "zzbaaaaaaaaaaaaa", 0, 0x00) == 16);          // empty src2
  CHECK(r.flags() == kZF);
  // Nulls are ordinary characters with explicit lengths: "a\0" matches at 1.
  CHECK(estri("", 1, "b", 3, 0x00) == 1);
  // signed byte ranges [-10, 10] over -128 -5 5 127 10: bits 1, 2, 4
  r.set_xmm_bytes(0, {0xF6, 0x0A});
  r.set_xmm_bytes(1, {0x80, 0xFB, 0x05, 0x7F, 0x0A});
  c.gpr[RAX] = 2;
  c.gpr[RDX] = 5;
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x60, 0xC1, 0x06}, "PCMPESTRM_Vdq_Wdq_Ib") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0x16);
  // the same bytes unsigned: [F6h, 0Ah] is an empty range
  r.set_xmm_bytes(0, {0xF6, 0x0A});
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x61, 0xC1, 0x04}, "PCMPESTRI_Vdq_Wdq_Ib") == ExecStatus::Ok);
  CHECK(c.gpr[RCX] == 16);
  CHECK(r.flags() == (kZF | kSF));
  // unsigned words, equal any, word mask: {1, 2} in 2 5 1 7 0 0 0 0 (EDX = 8)
  r.set_xmm_words(0, {1, 2});
  r.set_xmm_words(1, {2, 5, 1, 7});
  c.gpr[RAX] = 2;
  c.gpr[RDX] = 8;
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x60, 0xC1, 0x41}, "PCMPESTRM_Vdq_Wdq_Ib") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0x0000FFFF0000FFFF);
  CHECK(r.hi(0) == 0);
  CHECK(r.flags() == (kCF | kSF | kOF));
  // signed words, equal each, negative polarity: first difference
  r.set_xmm_words(0, {0x8000, 2, 3});
  r.set_xmm_words(1, {0x8000, 2, 4});
  c.gpr[RAX] = 3;
  c.gpr[RDX] = 3;
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x61, 0xC1, 0x1B}, "PCMPESTRI_Vdq_Wdq_Ib") == ExecStatus::Ok);
  CHECK(c.gpr[RCX] == 2);
}

TEST_CASE("simd: PCMPESTRI lengths with REX.W") {
  Rig r(CpuMode::Long64);
  CpuState& c = r.cpu();
  r.set_xmm_str(0, "ab");
  r.set_xmm_str(1, "xxxxb");
  c.gpr[RAX] = 2;
  c.gpr[RDX] = 0xFFFFFFFF00000003;  // 32-bit: 3; 64-bit: a huge negative, saturated to 16
  CHECK(r.run({0x66, 0x0F, 0x3A, 0x61, 0xC1, 0x00}, "PCMPESTRI_Vdq_Wdq_Ib") == ExecStatus::Ok);
  CHECK(c.gpr[RCX] == 16);
  CHECK(r.flags() == (kZF | kSF));
  CHECK(r.run({0x66, 0x48, 0x0F, 0x3A, 0x61, 0xC1, 0x00}, "PCMPESTRI_Vdq_Wdq_Ib") == ExecStatus::Ok);
  CHECK(c.gpr[RCX] == 4);
  CHECK(r.flags() == (kCF | kSF));
}

// ---- CRC32 and POPCNT -------------------------------------------------------------------------------------------------------
// CRC-32C check value: "123456789" with initial value FFFFFFFFh and final inversion
// gives E3069283h; 32 zero bytes give 8A9136AAh (RFC 3720 B.4).
TEST_CASE("simd: CRC32 (CRC-32C) with 8/16/32-bit sources") {
  Rig r;
  CpuState& c = r.cpu();
  r.poke(0x1000, {'1', '2', '3', '4', '5', '6', '7', '8', '9'});
  c.gpr[RCX] = 0xFFFFFFFF;
  for (uint8_t i = 0; i < 9; ++i)
    REQUIRE(r.run({0xF2, 0x0F, 0x38, 0xF0, 0x0D, i, 0x10, 0x00, 0x00}, "CRC32_Gd_Eb") == ExecStatus::Ok);
  CHECK((~c.gpr[RCX] & 0xFFFFFFFF) == 0xE3069283);
  c.gpr[RCX] = 0xFFFFFFFF;
  CHECK(r.run({0xF2, 0x0F, 0x38, 0xF1, 0x0D, 0x00, 0x10, 0x00, 0x00}, "CRC32_Gd_Ev") == ExecStatus::Ok);
  CHECK(r.run({0xF2, 0x0F, 0x38, 0xF1, 0x0D, 0x04, 0x10, 0x00, 0x00}, "CRC32_Gd_Ev") == ExecStatus::Ok);
  CHECK(r.run({0xF2, 0x0F, 0x38, 0xF0, 0x0D, 0x08, 0x10, 0x00, 0x00}, "CRC32_Gd_Eb") == ExecStatus::Ok);
  CHECK((~c.gpr[RCX] & 0xFFFFFFFF) == 0xE3069283);
  c.gpr[RCX] = 0xFFFFFFFF;
  for (uint8_t i = 0; i < 8; i += 2)
    REQUIRE(r.run({0x66, 0xF2, 0x0F, 0x38, 0xF1, 0x0D, i, 0x10, 0x00, 0x00}, "CRC32_Gd_Ev") == ExecStatus::Ok);
  CHECK(r.run({0xF2, 0x0F, 0x38, 0xF0, 0x0D, 0x08, 0x10, 0x00, 0x00}, "CRC32_Gd_Eb") == ExecStatus::Ok);
  CHECK((~c.gpr[RCX] & 0xFFFFFFFF) == 0xE3069283);
  // byte register source: r/m 4 without REX is AH
  c.gpr[RCX] = 0xFFFFFFFF;
  c.gpr[RAX] = 0x3100;  // AH = '1'
  CHECK(r.run({0xF2, 0x0F, 0x38, 0xF0, 0xCC}, "CRC32_Gd_Eb") == ExecStatus::Ok);
  c.gpr[RDX] = 0x3332;  // "23" in DX
  CHECK(r.run({0x66, 0xF2, 0x0F, 0x38, 0xF1, 0xCA}, "CRC32_Gd_Ev") == ExecStatus::Ok);
  c.gpr[RDX] = 0x37363534;  // "4567"
  CHECK(r.run({0xF2, 0x0F, 0x38, 0xF1, 0xCA}, "CRC32_Gd_Ev") == ExecStatus::Ok);
  c.gpr[RDX] = 0x3938;  // DL = '8', DH = '9'
  CHECK(r.run({0xF2, 0x0F, 0x38, 0xF0, 0xCA}, "CRC32_Gd_Eb") == ExecStatus::Ok);
  CHECK(r.run({0xF2, 0x0F, 0x38, 0xF0, 0xCE}, "CRC32_Gd_Eb") == ExecStatus::Ok);  // DH
  CHECK((~c.gpr[RCX] & 0xFFFFFFFF) == 0xE3069283);
}

TEST_CASE("simd: CRC32 with 64-bit sources") {
  Rig r(CpuMode::Long64);
  CpuState& c = r.cpu();
  c.gpr[RCX] = 0xFFFFFFFF;
  c.gpr[RAX] = 0x3837363534333231;  // "12345678"
  CHECK(r.run({0xF2, 0x48, 0x0F, 0x38, 0xF1, 0xC8}, "CRC32_Gd_Ev") == ExecStatus::Ok);
  c.gpr[RSI] = 0x39;
  CHECK(r.run({0xF2, 0x48, 0x0F, 0x38, 0xF0, 0xCE}, "CRC32_Gd_Eb") == ExecStatus::Ok);  // REX: SIL
  CHECK((c.gpr[RCX] >> 32) == 0);
  CHECK((~c.gpr[RCX] & 0xFFFFFFFF) == 0xE3069283);
  c.gpr[R8] = 0xFFFFFFFF;
  c.gpr[RAX] = 0;
  for (int i = 0; i < 4; ++i)
    REQUIRE(r.run({0xF2, 0x4C, 0x0F, 0x38, 0xF1, 0xC0}, "CRC32_Gd_Ev") == ExecStatus::Ok);  // crc32 r8, rax
  CHECK((~c.gpr[R8] & 0xFFFFFFFF) == 0x8A9136AA);
}

TEST_CASE("simd: POPCNT") {
  Rig r;
  CpuState& c = r.cpu();
  machine::set_arith_flags(c, kCF | kOF | kSF | kAF | kPF);
  c.gpr[RCX] = 0xF0F0F0F0;
  c.gpr[RAX] = 0xFFFFFFFF;
  CHECK(r.run({0xF3, 0x0F, 0xB8, 0xC1}, "POPCNT_Gv_Ev") == ExecStatus::Ok);
  CHECK(c.gpr[RAX] == 16);
  CHECK(r.flags() == 0);
  c.gpr[RAX] = 0xAAAAAAAA;
  c.gpr[RCX] = 0x120000FF;
  CHECK(r.run({0x66, 0xF3, 0x0F, 0xB8, 0xC1}, "POPCNT_Gv_Ev") == ExecStatus::Ok);  // popcnt ax, cx
  CHECK(c.gpr[RAX] == 0xAAAA0008);
  c.gpr[RCX] = 0;
  CHECK(r.run({0xF3, 0x0F, 0xB8, 0xC1}, "POPCNT_Gv_Ev") == ExecStatus::Ok);
  CHECK(c.gpr[RAX] == 0);
  CHECK(r.flags() == kZF);
  r.poke(0x1000, {0x01, 0x03, 0x07, 0x0F});
  CHECK(r.run({0xF3, 0x0F, 0xB8, 0x05, 0x00, 0x10, 0x00, 0x00}, "POPCNT_Gv_Ev") == ExecStatus::Ok);
  CHECK(c.gpr[RAX] == 10);
  Rig r64(CpuMode::Long64);
  r64.cpu().gpr[RCX] = 0xFFFFFFFFFFFFFFFF;
  CHECK(r64.run({0xF3, 0x48, 0x0F, 0xB8, 0xC1}, "POPCNT_Gv_Ev") == ExecStatus::Ok);
  CHECK(r64.cpu().gpr[RAX] == 64);
}

// ---- every MMX/XMM pair of the lane-wise operations ----------------------------------------------------------------
// Each row is run as the MMX form (mm0, mm1) and as the XMM form with the same 64-bit
// inputs in both halves: a lane-wise operation then gives the hand-computed result in
// both halves (the shift counts, the low quadword of the source, are the same too).
TEST_CASE("simd: MMX and XMM forms of the lane-wise operations") {
  struct Row {
    bool m38;  // 0F 38 map (SSSE3) rather than 0F
    uint8_t op;
    const char* name;
    uint64_t a, b, want;
  };
  const uint64_t ba = 0x0000000001FF807F, bb = 0x00000000FF018001;  // bytes 7F 80 FF 01 / 01 80 01 FF
  const uint64_t wa = 0x0001FFFF80007FFF, wb = 0xFFFF000180000001;  // words 7FFF 8000 FFFF 0001 / 0001 8000 0001 FFFF
  const uint64_t sa = 0x007F2010800001FF, sb = 0xFF8021107F0102FE;
  const uint64_t wsh = 0x1234FFFF00018001;
  const Row rows[] = {
      {false, 0xFC, "PADDB", ba, bb, 0x0000000000000080},
      {false, 0xEC, "PADDSB", ba, bb, 0x000000000000807F},
      {false, 0xDC, "PADDUSB", ba, bb, 0x00000000FFFFFF80},
      {false, 0xF8, "PSUBB", ba, bb, 0x0000000002FE007E},
      {false, 0xE8, "PSUBSB", ba, bb, 0x0000000002FE007E},
      {false, 0xD8, "PSUBUSB", ba, bb, 0x0000000000FE007E},
      {false, 0xFD, "PADDW", wa, wb, 0x0000000000008000},
      {false, 0xED, "PADDSW", wa, wb, 0x0000000080007FFF},
      {false, 0xDD, "PADDUSW", wa, wb, 0xFFFFFFFFFFFF8000},
      {false, 0xF9, "PSUBW", wa, wb, 0x0002FFFE00007FFE},
      {false, 0xE9, "PSUBSW", wa, wb, 0x0002FFFE00007FFE},
      {false, 0xD9, "PSUBUSW", wa, wb, 0x0000FFFE00007FFE},
      {false, 0xFE, "PADDD", 0xFFFFFFFF00000001, 0x0000000100000002, 0x0000000000000003},
      {false, 0xFA, "PSUBD", 0xFFFFFFFF00000001, 0x0000000100000002, 0xFFFFFFFEFFFFFFFF},
      {false, 0xD4, "PADDQ", 0xFFFFFFFF00000001, 0x0000000100000002, 0x0000000000000003},
      {false, 0xFB, "PSUBQ", 5, 7, 0xFFFFFFFFFFFFFFFE},
      {false, 0xD5, "PMULLW", 0x00031234FFFF8000, 0xFFFE0010FFFF8000, 0xFFFA234000010000},
      {false, 0xE5, "PMULHW", 0x00031234FFFF8000, 0xFFFE0010FFFF8000, 0xFFFF000100004000},
      {false, 0xE4, "PMULHUW", 0x00031234FFFF8000, 0xFFFE0010FFFF8000, 0x00020001FFFE4000},
      {false, 0xF5, "PMADDWD", 0x8000800000020001, 0x8000800000040003, 0x800000000000000B},
      {false, 0xF4, "PMULUDQ", 0x12345678FFFFFFFF, 0x9ABCDEF0FFFFFFFF, 0xFFFFFFFE00000001},
      {false, 0xE0, "PAVGB", sa, sb, 0x80802110800102FF},
      {false, 0xE3, "PAVGW", 0x00000000FFFFFFFF, 0x00000001FFFF0000, 0x00000001FFFF8000},
      {false, 0xDA, "PMINUB", sa, sb, 0x007F20107F0001FE},
      {false, 0xDE, "PMAXUB", sa, sb, 0xFF802110800102FF},
      {false, 0xEA, "PMINSW", 0x0001FFFF7FFF8000, 0xFFFF000180007FFF, 0xFFFFFFFF80008000},
      {false, 0xEE, "PMAXSW", 0x0001FFFF7FFF8000, 0xFFFF000180007FFF, 0x000100017FFF7FFF},
      {false, 0xF6, "PSADBW", 0x0505050500FF0A00, 0x05050505FF00000A, 0x212},
      {false, 0xDB, "PAND", 0xFF00FF00F0F0F0F0, 0x0FF00FF0FFFF0000, 0x0F000F00F0F00000},
      {false, 0xDF, "PANDN", 0xFF00FF00F0F0F0F0, 0x0FF00FF0FFFF0000, 0x00F000F00F0F0000},
      {false, 0xEB, "POR", 0xFF00FF00F0F0F0F0, 0x0FF00FF0FFFF0000, 0xFFF0FFF0FFFFF0F0},
      {false, 0xEF, "PXOR", 0xFF00FF00F0F0F0F0, 0x0FF00FF0FFFF0000, 0xF0F0F0F00F0FF0F0},
      {false, 0x64, "PCMPGTB", 0x00000000007F8001, 0x0000000000807FFF, 0x0000000000FF00FF},
      {false, 0x74, "PCMPEQB", 0x00000000007F8001, 0x0000000000807FFF, 0xFFFFFFFFFF000000},
      {false, 0x65, "PCMPGTW", 0x0000000080000001, 0x000000007FFFFFFF, 0x000000000000FFFF},
      {false, 0x75, "PCMPEQW", 0x0000000080000001, 0x000000007FFFFFFF, 0xFFFFFFFF00000000},
      {false, 0x66, "PCMPGTD", 0x0000000580000000, 0x000000047FFFFFFF, 0xFFFFFFFF00000000},
      {false, 0x76, "PCMPEQD", 0x0000000580000000, 0x000000057FFFFFFF, 0xFFFFFFFF00000000},
      {false, 0xF1, "PSLLW", wsh, 4, 0x2340FFF000100010},
      {false, 0xD1, "PSRLW", wsh, 17, 0},
      {false, 0xE1, "PSRAW", wsh, 1, 0x091AFFFF0000C000},
      {false, 0xF2, "PSLLD", 0x8000000100000003, 1, 0x0000000200000006},
      {false, 0xD2, "PSRLD", wsh, 16, 0x0000123400000001},
      {false, 0xE2, "PSRAD", 0xF000000012345678, 4, 0xFF00000001234567},
      {false, 0xF3, "PSLLQ", wsh, 60, 0x1000000000000000},
      {false, 0xD3, "PSRLQ", 0x8000000000000000, 63, 1},
      {true, 0x04, "PMADDUBSW", 0x0000030200FFFFFF, 0x000002FF00807F7F, 0x0000000480807FFF},
      {true, 0x0B, "PMULHRSW", 0xFFFF7FFF80004000, 0x00017FFF80004000, 0x00007FFE80002000},
      {true, 0x08, "PSIGNB", 0x017F008080050505, 0x7F80FF01800100FF, 0x01810080800500FB},
      {true, 0x09, "PSIGNW", 0x8000123412341234, 0xFFFF7FFF0000FFFF, 0x800012340000EDCC},
      {true, 0x0A, "PSIGND", 0x0000000500000005, 0x0000000080000000, 0x00000000FFFFFFFB},
      {true, 0x1C, "PABSB", 0x1111111111111111, 0xFE017F810005FF80, 0x02017F7F00050180},
      {true, 0x1D, "PABSW", 0x1111111111111111, 0x80010005FFFF8000, 0x7FFF000500018000},
      {true, 0x1E, "PABSD", 0x1111111111111111, 0x80000000FFFFFFFF, 0x8000000000000001},
  };
  for (const Row& w : rows) {
    CAPTURE(w.name);
    Rig r;
    const std::string mmx = std::string(w.name) + "_Pq_Qq", xmm = std::string(w.name) + "_Vdq_Wdq";
    r.set_mm(0, w.a);
    r.set_mm(1, w.b);
    if (w.m38) REQUIRE(r.run({0x0F, 0x38, w.op, 0xC1}, mmx.c_str()) == ExecStatus::Ok);
    else REQUIRE(r.run({0x0F, w.op, 0xC1}, mmx.c_str()) == ExecStatus::Ok);
    CHECK(r.mm(0) == w.want);
    r.set_xmm(0, w.a, w.a);
    r.set_xmm(1, w.b, w.b);
    if (w.m38) REQUIRE(r.run({0x66, 0x0F, 0x38, w.op, 0xC1}, xmm.c_str()) == ExecStatus::Ok);
    else REQUIRE(r.run({0x66, 0x0F, w.op, 0xC1}, xmm.c_str()) == ExecStatus::Ok);
    CHECK(r.lo(0) == w.want);
    CHECK(r.hi(0) == w.want);
  }
}

TEST_CASE("simd: XMM packs, unpacks and horizontal ops across the halves") {
  Rig r;
  r.set_xmm_words(0, {0x0100, 0xFF00, 0x007F, 0x0080, 0x0001, 0xFFFF, 0x7FFF, 0x8000});
  r.set_xmm_words(1, {0x00FF, 0x00FF, 0x00FF, 0x00FF, 0x00FF, 0x00FF, 0x00FF, 0x00FF});
  CHECK(r.run({0x66, 0x0F, 0x67, 0xC1}, "PACKUSWB_Vdq_Wdq") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0x00FF0001807F00FF);
  CHECK(r.hi(0) == 0xFFFFFFFFFFFFFFFF);
  r.set_xmm(0, 0xFFFF000000010000, 0xFFFFFFFF00007FFF);
  r.set_xmm(1, 0xFFFF7FFFFFFF8000, 0x0000000500008000);  // -32768 -32769 32768 5
  CHECK(r.run({0x66, 0x0F, 0x6B, 0xC1}, "PACKSSDW_Vdq_Wdq") == ExecStatus::Ok);
  CHECK(r.lo(0) == 0xFFFF7FFF80007FFF);
  CHECK(r.hi(0) == 0x00057FFF80008000);
  auto unpack = [&](uint8_t op, const char* name) {
    r.set_xmm(0, 0x0706050403020100, 0x0F0E0D0C0B0A0908);
    r.set_xmm(1, 0x1716151413121110, 0x1F1E1D1C1B1A1918);
    REQUIRE(r.run({0x66, 0x0F, op, 0xC1}, name) == ExecStatus::Ok);
  };
  unpack(0x61, "PUNPCKLWD_Vdq_Wdq");
  CHECK(r.lo(0) == 0x1312030211100100);
  CHECK(r.hi(0) == 0x1716070615140504);
  unpack(0x69, "PUNPCKHWD_Vdq_Wdq");
  CHECK(r.lo(0) == 0x1B1A0B0A19180908);
  CHECK(r.hi(0) == 0x1F1E0F0E1D1C0D0C);
  unpack(0x62, "PUNPCKLDQ_Vdq_Wdq");
  CHECK(r.lo(0) == 0x1312111003020100);
  CHECK(r.hi(0) == 0x1716151407060504);
  auto hdq = [&](uint8_t op, const char* name) {
    r.set_xmm(0, 0x0000000200000001, 0x0000000400000003);
    r.set_xmm(1, 0x000000140000000A, 0xFFFFFFFF0000001E);  // 10 20 30 -1
    REQUIRE(r.run({0x66, 0x0F, 0x38, op, 0xC1}, name) == ExecStatus::Ok);
  };
  hdq(0x02, "PHADDD_Vdq_Wdq");
  CHECK(r.lo(0) == 0x0000000700000003);
  CHECK(r.hi(0) == 0x0000001D0000001E);
  hdq(0x06, "PHSUBD_Vdq_Wdq");
  CHECK(r.lo(0) == 0xFFFFFFFFFFFFFFFF);
  CHECK(r.hi(0) == 0x0000001FFFFFFFF6);
  // MMX horizontal word forms: words 7FFF 1 8000 FFFF | 1 2 4000 4000
  r.set_mm(0, 0xFFFF800000017FFF);
  r.set_mm(1, 0x4000400000020001);
  CHECK(r.run({0x0F, 0x38, 0x03, 0xC1}, "PHADDSW_Pq_Qq") == ExecStatus::Ok);
  CHECK(r.mm(0) == 0x7FFF000380007FFF);
  // words 5 7 8000 1 | 0 1 2 2
  r.set_mm(0, 0x0001800000070005);
  r.set_mm(1, 0x0002000200010000);
  CHECK(r.run({0x0F, 0x38, 0x05, 0xC1}, "PHSUBW_Pq_Qq") == ExecStatus::Ok);
  CHECK(r.mm(0) == 0x0000FFFF7FFFFFFE);
  r.set_mm(0, 0x0001800000070005);
  CHECK(r.run({0x0F, 0x38, 0x07, 0xC1}, "PHSUBSW_Pq_Qq") == ExecStatus::Ok);
  CHECK(r.mm(0) == 0x0000FFFF8000FFFE);
}

TEST_CASE("simd: imm8 shift groups, every form") {
  Rig r;
  r.set_mm(1, 0x0001FFFE7FFF8000);  // words 8000 7FFF FFFE 0001
  CHECK(r.run({0x0F, 0x71, 0xE1, 0x0F}, "PSRAW_Nq_Ib") == ExecStatus::Ok);
  CHECK(r.mm(1) == 0x0000FFFF0000FFFF);
  r.set_mm(1, 0x80000000FFFFFFFF);
  CHECK(r.run({0x0F, 0x72, 0xD1, 0x1F}, "PSRLD_Nq_Ib") == ExecStatus::Ok);
  CHECK(r.mm(1) == 0x0000000100000001);
  r.set_mm(1, 0x1234567800000001);
  CHECK(r.run({0x0F, 0x72, 0xF1, 0x04}, "PSLLD_Nq_Ib") == ExecStatus::Ok);
  CHECK(r.mm(1) == 0x2345678000000010);
  r.set_mm(1, 0x0000000100000001);
  CHECK(r.run({0x0F, 0x72, 0xF1, 0x20}, "PSLLD_Nq_Ib") == ExecStatus::Ok);  // count 32: zero
  CHECK(r.mm(1) == 0);
  r.set_xmm(1, 0xAB12AB12AB12AB12, 0xAB12AB12AB12AB12);
  CHECK(r.run({0x66, 0x0F, 0x71, 0xD1, 0x08}, "PSRLW_Udq_Ib") == ExecStatus::Ok);
  CHECK(r.lo(1) == 0x00AB00AB00AB00AB);
  CHECK(r.hi(1) == 0x00AB00AB00AB00AB);
  r.set_xmm(1, 0xAB12AB12AB12AB12, 0xAB12AB12AB12AB12);
  CHECK(r.run({0x66, 0x0F, 0x71, 0xF1, 0x04}, "PSLLW_Udq_Ib") == ExecStatus::Ok);
  CHECK(r.lo(1) == 0xB120B120B120B120);
  CHECK(r.hi(1) == 0xB120B120B120B120);
  r.set_xmm(1, 0x89ABCDEF01234567, 0x89ABCDEF01234567);
  CHECK(r.run({0x66, 0x0F, 0x72, 0xD1, 0x10}, "PSRLD_Udq_Ib") == ExecStatus::Ok);
  CHECK(r.lo(1) == 0x000089AB00000123);
  CHECK(r.hi(1) == 0x000089AB00000123);
  r.set_xmm(1, 0x89ABCDEF01234567, 0x89ABCDEF01234567);
  CHECK(r.run({0x66, 0x0F, 0x72, 0xF1, 0x10}, "PSLLD_Udq_Ib") == ExecStatus::Ok);
  CHECK(r.lo(1) == 0xCDEF000045670000);
  CHECK(r.hi(1) == 0xCDEF000045670000);
  r.set_xmm(1, 0x89ABCDEF01234567, 0x0000000100000000);
  CHECK(r.run({0x66, 0x0F, 0x73, 0xD1, 0x20}, "PSRLQ_Udq_Ib") == ExecStatus::Ok);
  CHECK(r.lo(1) == 0x0000000089ABCDEF);
  CHECK(r.hi(1) == 0x0000000000000001);
}

TEST_CASE("simd: MOVDQU store to an unaligned address") {
  Rig r;
  r.poke64(0x1000, 0xEEEEEEEEEEEEEEEE);
  r.poke64(0x1008, 0xEEEEEEEEEEEEEEEE);
  r.poke64(0x1010, 0xEEEEEEEEEEEEEEEE);
  r.set_xmm(2, 0x0706050403020100, 0x0F0E0D0C0B0A0908);
  CHECK(r.run({0xF3, 0x0F, 0x7F, 0x15, 0x03, 0x10, 0x00, 0x00}, "MOVDQU_Wdq_Vdq") == ExecStatus::Ok);
  CHECK(r.peek(0x1000, 8) == 0x0403020100EEEEEE);
  CHECK(r.peek(0x1008, 8) == 0x0C0B0A0908070605);
  CHECK(r.peek(0x1010, 8) == 0xEEEEEEEEEE0F0E0D);
  // register form
  CHECK(r.run({0xF3, 0x0F, 0x7F, 0xD3}, "MOVDQU_Wdq_Vdq") == ExecStatus::Ok);  // movdqu xmm3, xmm2
  CHECK(r.lo(3) == 0x0706050403020100);
  CHECK(r.hi(3) == 0x0F0E0D0C0B0A0908);
}

// ---- the default CPU model ---------------------------------------------------------------------------------------------
// Real-mode programs run by the interpreter on the default model: CPUID advertises MMX,
// SSSE3, SSE4.2 and POPCNT, and MMX code runs with the reset CR0 (EM and TS clear).
TEST_CASE("simd: the default model advertises and runs MMX, SSSE3, SSE4.2, POPCNT") {
  auto owned_machine = test::new_machine(16ull << 20);
  auto& m = *owned_machine;
  interp::Interpreter it(m);
  CpuState& c = m.cpu();
  machine::load_segment_real(c, CS, 0);
  machine::load_segment_real(c, SS, 0);
  c.gpr[RSP] = 0x7000;
  c.rip = 0x7C00;
  const uint8_t cpuid_prog[] = {
      0x66, 0xB8, 0x01, 0x00, 0x00, 0x00,  // mov eax, 1
      0x0F, 0xA2,                          // cpuid
      0xF4,                                // hlt
  };
  m.bus().write(0x7C00, cpuid_prog, sizeof(cpuid_prog));
  CHECK(it.run(1000) == interp::StopReason::HaltedNoInterrupts);
  CHECK(((c.gpr[RDX] >> 23) & 1) == 1);  // MMX
  CHECK(((c.gpr[RCX] >> 9) & 1) == 1);   // SSSE3
  CHECK(((c.gpr[RCX] >> 20) & 1) == 1);  // SSE4.2
  CHECK(((c.gpr[RCX] >> 23) & 1) == 1);  // POPCNT
  const uint8_t mmx_prog[] = {
      0x66, 0xB8, 0x01, 0x02, 0x03, 0x04,  // mov eax, 0x04030201
      0x0F, 0x6E, 0xC0,                    // movd mm0, eax
      0x0F, 0xFC, 0xC0,                    // paddb mm0, mm0
      0x0F, 0x7E, 0xC3,                    // movd ebx, mm0
      0x0F, 0x77,                          // emms
      0x66, 0xF3, 0x0F, 0xB8, 0xCB,        // popcnt ecx, ebx
      0xF4,                                // hlt
  };
  m.bus().write(0x7D00, mmx_prog, sizeof(mmx_prog));
  c.rip = 0x7D00;
  c.halted = 0;
  c.ftw = 0;
  CHECK(it.run(1000) == interp::StopReason::HaltedNoInterrupts);
  CHECK(static_cast<uint32_t>(c.gpr[RBX]) == 0x08060402);
  CHECK(static_cast<uint32_t>(c.gpr[RCX]) == 5);
  CHECK(c.ftw == 0xFFFF);
  CHECK(c.ftop == 0);
}
