// interp/x87: the register stack, tags and condition codes, stack faults, pending
// exceptions (#MF, FERR#), #NM, the environment layouts and a few values of each
// family, on small real-mode programs run to HLT. Value correctness of the
// arithmetic is the library's difftest's (tests/fpu); the transcendentals are
// measured against the host by tests/fpu/x87_difftest.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "interp/interpreter.h"
#include "interp/x87/x87_state.h"
#include "machine/cpu_model.h"
#include "machine/cpu_state.h"
#include "machine/flags.h"
#include "machine/machine.h"
#include "machine/segments.h"
#include "real_mode_rig.h"

using namespace kestrel;
using interp::StopReason;
using machine::CpuState;

namespace {

// The real-mode rig (0000:7C00, SS:SP = 0000:7000). Vectors 0..31 point at one-byte
// HLT stubs at 0x7E00 + vector, so the stop address tells which exception was
// delivered (vector_taken()).
struct Rig : test::RealModeRig {
  Rig() {
    for (unsigned v = 0; v < 32; ++v) {
      m->bus().write_uint(v * 4, 0x7E00 + v, 2);
      m->bus().write_uint(v * 4 + 2, 0, 2);
      m->bus().write_uint(0x7E00 + v, 0xF4, 1);
    }
  }
  void poke_u(uint64_t addr, uint64_t v, unsigned size) { m->bus().write_uint(addr, v, size); }
  uint16_t ax() { return static_cast<uint16_t>(cpu().gpr[machine::RAX]); }
  // The vector whose HLT stub stopped the run, or -1 when the program's own HLT did.
  int vector_taken() {
    uint64_t ip = cpu().rip - 1;
    return ip >= 0x7E00 && ip < 0x7E20 ? static_cast<int>(ip - 0x7E00) : -1;
  }
  interp::fpu::f80 st(unsigned i) { return interp::x87_st(cpu(), i); }
  uint16_t fsw() { return interp::x87_fsw(cpu()); }
};

using namespace machine;
using interp::fpu::f80;
constexpr f80 kIndefinite{0xC000000000000000ull, 0xFFFF};
constexpr f80 kOneF80{0x8000000000000000ull, 0x3FFF};
constexpr uint16_t IE = 1, DE = 2, ZE = 4, OE = 8, UE = 0x10, PE = 0x20, SF = 0x40, ESUM = 0x80, C0 = 0x100,
                   C1 = 0x200, C2 = 0x400, C3 = 0x4000, B = 0x8000;
uint16_t top_of(uint16_t fsw) { return (fsw >> 11) & 7; }

}  // namespace

TEST_CASE("x87 state: tags, TOP, the status word, abridged tags, MMX aliasing") {
  CpuState c{};
  c.ftw = 0xFFFF;
  CHECK(interp::x87_tag_of(f80{0, 0}) == interp::kTagZero);
  CHECK(interp::x87_tag_of(f80{0, 0x8000}) == interp::kTagZero);
  CHECK(interp::x87_tag_of(kOneF80) == interp::kTagValid);
  CHECK(interp::x87_tag_of(f80{1, 0}) == interp::kTagSpecial);                      // denormal
  CHECK(interp::x87_tag_of(f80{0x8000000000000000ull, 0}) == interp::kTagSpecial);  // pseudo-denormal
  CHECK(interp::x87_tag_of(f80{0x4000000000000000ull, 0x3FFF}) == interp::kTagSpecial);  // unnormal
  CHECK(interp::x87_tag_of(kIndefinite) == interp::kTagSpecial);
  CHECK(interp::x87_tag_of(f80{0x8000000000000000ull, 0x7FFF}) == interp::kTagSpecial);  // infinity

  interp::x87_push(c, kOneF80);  // R7
  interp::x87_push(c, f80{0, 0});  // R6
  CHECK(c.ftop == 6);
  CHECK(interp::x87_phys(c, 0) == 6);
  CHECK(interp::x87_phys(c, 1) == 7);
  CHECK(c.ftw == 0x1FFF);  // R7 valid (00), R6 zero (01), the rest empty
  CHECK(interp::x87_fsw(c) == (6 << 11));
  CHECK(interp::x87_st_empty(c, 2));
  CHECK(!interp::x87_st_empty(c, 1));
  CHECK(interp::ftw_to_abridged(c.ftw) == 0xC0);
  CHECK(interp::abridged_to_ftw(c, 0xC0) == 0x1FFF);
  interp::x87_pop(c);
  CHECK(c.ftop == 7);
  CHECK(c.ftw == 0x3FFF);
  interp::x87_set_fsw(c, 0x3800 | 0x41);
  CHECK(c.ftop == 7);
  CHECK(c.fsw == 0x41);

  // MMX: TOP = 0 and all tags valid; a write sets the exponent field to all ones.
  interp::x87_enter_mmx(c);
  interp::x87_mmx_write(c, 3, 0x1122334455667788ull);
  CHECK(c.ftop == 0);
  CHECK(c.ftw == 0);
  CHECK(c.fpr[3].sig == 0x1122334455667788ull);
  CHECK(c.fpr[3].sign_exp == 0xFFFF);
  CHECK(interp::x87_tag_word(c) != 0);  // stored tags come from the contents (R3 is special)
  interp::x87_emms(c);
  CHECK(c.ftw == 0xFFFF);
}

TEST_CASE("x87: loads, arithmetic and stores in every format") {
  Rig r;
  r.poke_u(0x2040, 0xFFFF, 2);  // m16int -1
  r.poke(0x7C00, {
      0xDB, 0xE3,                             // fninit
      0xD9, 0xE8,                             // fld1
      0xD9, 0xE8,                             // fld1
      0xDE, 0xC1,                             // faddp st1, st0
      0xD9, 0x16, 0x00, 0x20,                 // fst dword [0x2000]
      0xDD, 0x16, 0x08, 0x20,                 // fst qword [0x2008]
      0xD9, 0xC0,                             // fld st0
      0xDB, 0x3E, 0x10, 0x20,                 // fstp tword [0x2010]
      0xDE, 0x06, 0x40, 0x20,                 // fiadd word [0x2040]
      0xDF, 0x1E, 0x20, 0x20,                 // fistp word [0x2020]
      0xDF, 0x06, 0x40, 0x20,                 // fild word [0x2040]
      0xD9, 0xE0,                             // fchs
      0xD9, 0xEE,                             // fldz
      0xDE, 0xE1,                             // fsubrp st1, st0
      0xDB, 0x16, 0x24, 0x20,                 // fist dword [0x2024]
      0xDF, 0xE0,                             // fnstsw ax
      0xF4,                                   // hlt
  });
  CHECK(r.run() == StopReason::HaltedNoInterrupts);
  CHECK(r.vector_taken() == -1);
  CHECK(r.peek(0x2000, 4) == 0x40000000);
  CHECK(r.peek(0x2008, 8) == 0x4000000000000000ull);
  CHECK(r.peek(0x2010, 8) == 0x8000000000000000ull);
  CHECK(r.peek(0x2018, 2) == 0x4000);
  CHECK(r.peek(0x2020, 2) == 1);       // 2 + (-1)
  CHECK(r.peek(0x2024, 4) == 0xFFFFFFFF);  // 0 - 1 with FSUBRP: ST(1) = ST(0) - ST(1)... = 0 - 1
  CHECK(top_of(r.ax()) == 7);
  CHECK((r.ax() & 0x3F) == 0);
  CHECK(r.cpu().ftw == 0x3FFF);  // R7 holds the one value left
}

TEST_CASE("x87: the ST(i) forms of FSUB/FDIV and their reversed and popping forms") {
  Rig r;
  r.poke_u(0x2040, 12, 2);
  r.poke_u(0x2042, 3, 2);
  r.poke_u(0x2044, 20, 2);
  r.poke(0x7C00, {
      0xDB, 0xE3,                             // fninit
      0xDF, 0x06, 0x40, 0x20,                 // fild word [0x2040]
      0xDF, 0x06, 0x42, 0x20,                 // fild word [0x2042]
      0xDC, 0xE9,                             // fsub st1, st0
      0xDC, 0xE1,                             // fsubr st1, st0
      0xD8, 0xF9,                             // fdivr st0, st1
      0xDF, 0x16, 0x00, 0x20,                 // fist word [0x2000]
      0xDC, 0xF9,                             // fdiv st1, st0
      0xD9, 0xC9,                             // fxch st1
      0xDF, 0x16, 0x02, 0x20,                 // fist word [0x2002]
      0xD9, 0xC9,                             // fxch st1
      0xDE, 0xE1,                             // fsubrp st1, st0
      0xDF, 0x16, 0x04, 0x20,                 // fist word [0x2004]
      0xDF, 0x06, 0x44, 0x20,                 // fild word [0x2044]
      0xDE, 0xF1,                             // fdivrp st1, st0
      0xDF, 0x1E, 0x06, 0x20,                 // fistp word [0x2006]
      0xF4,                                   // hlt
  });
  // ST1 = 12, ST0 = 3: FSUB ST(1),ST(0): ST1 = 12 - 3 = 9; FSUBR ST(1),ST(0): ST1 = 3 - 9 = -6;
  // FDIVR ST(0),ST(1): ST0 = -6 / 3 = -2; FDIV ST(1),ST(0): ST1 = -6 / -2 = 3;
  // FSUBRP ST(1),ST(0): ST1 = -2 - 3 = -5, pop; FDIVRP ST(1),ST(0): ST1 = 20 / -5 = -4, pop.
  CHECK(r.run() == StopReason::HaltedNoInterrupts);
  CHECK(r.peek(0x2000, 2) == 0xFFFE);
  CHECK(r.peek(0x2002, 2) == 3);
  CHECK(r.peek(0x2004, 2) == 0xFFFB);
  CHECK(r.peek(0x2006, 2) == 0xFFFC);
  CHECK(r.cpu().ftop == 0);
  CHECK(r.cpu().ftw == 0xFFFF);
}

TEST_CASE("x87: stack overflow, masked and unmasked") {
  SUBCASE("masked: the real indefinite is pushed, IE SF C1") {
    Rig r;
    r.poke(0x7C00, {
        0xDB, 0xE3,                             // fninit
        0xD9, 0xE8,                             // fld1
        0xD9, 0xE8,                             // fld1
        0xD9, 0xE8,                             // fld1
        0xD9, 0xE8,                             // fld1
        0xD9, 0xE8,                             // fld1
        0xD9, 0xE8,                             // fld1
        0xD9, 0xE8,                             // fld1
        0xD9, 0xE8,                             // fld1
        0xD9, 0xEB,                             // fldpi
        0xDF, 0xE0,                             // fnstsw ax
        0xF4,                                   // hlt
    });
    CHECK(r.run() == StopReason::HaltedNoInterrupts);
    CHECK(r.ax() == (IE | SF | C1 | (7 << 11)));
    CHECK(r.st(0) == kIndefinite);
    CHECK(r.st(1) == kOneF80);
  }
  SUBCASE("unmasked: nothing changes, ES and B are set") {
    Rig r;
    r.poke_u(0x2000, 0x037E, 2);
    r.poke(0x7C00, {
        0xDB, 0xE3,                             // fninit
        0xD9, 0x2E, 0x00, 0x20,                 // fldcw [0x2000]
        0xD9, 0xE8,                             // fld1
        0xD9, 0xE8,                             // fld1
        0xD9, 0xE8,                             // fld1
        0xD9, 0xE8,                             // fld1
        0xD9, 0xE8,                             // fld1
        0xD9, 0xE8,                             // fld1
        0xD9, 0xE8,                             // fld1
        0xD9, 0xE8,                             // fld1
        0xD9, 0xEB,                             // fldpi
        0xDF, 0xE0,                             // fnstsw ax
        0xF4,                                   // hlt
    });
    CHECK(r.run() == StopReason::HaltedNoInterrupts);
    CHECK(r.ax() == (IE | SF | C1 | ESUM | B | (0 << 11)));
    CHECK(r.st(0) == kOneF80);
    CHECK(r.cpu().ftw == 0);
  }
}

TEST_CASE("x87: stack underflow on arithmetic, stores and FXCH") {
  SUBCASE("masked") {
    Rig r;
    r.poke_u(0x2000, 0x12345678, 4);
    r.poke(0x7C00, {
        0xDB, 0xE3,                             // fninit
        0xD8, 0xC3,                             // fadd st0, st3
        0xDF, 0xE0,                             // fnstsw ax
        0x89, 0xC3,                             // mov bx, ax
        0xD9, 0x1E, 0x00, 0x20,                 // fstp dword [0x2000]
        0xDB, 0xE2,                             // fnclex
        0xD9, 0xE8,                             // fld1
        0xD9, 0xCA,                             // fxch st2
        0xDF, 0xE0,                             // fnstsw ax
        0xF4,                                   // hlt
    });
    CHECK(r.run() == StopReason::HaltedNoInterrupts);
    CHECK(r.cpu().gpr[RBX] == (IE | SF));  // C1 = 0 for underflow; the indefinite went to ST(0)
    CHECK(r.peek(0x2000, 4) == 0xFFC00000);  // FSTP of the indefinite (no new fault: ST(0) was full)
    CHECK(r.ax() == (IE | SF));     // TOP back at 0: FSTP popped, FLD1 pushed
    CHECK(r.st(0) == kIndefinite);  // the empty ST(2) read as the indefinite
    CHECK(r.st(2) == kOneF80);
  }
  SUBCASE("unmasked: no store, no pop") {
    Rig r;
    r.poke_u(0x2000, 0x12345678, 4);
    r.poke_u(0x2004, 0x037E, 2);
    r.poke(0x7C00, {
        0xDB, 0xE3,                             // fninit
        0xD9, 0x2E, 0x04, 0x20,                 // fldcw [0x2004]
        0xD9, 0x1E, 0x00, 0x20,                 // fstp dword [0x2000]
        0xDF, 0xE0,                             // fnstsw ax
        0xF4,                                   // hlt
    });
    CHECK(r.run() == StopReason::HaltedNoInterrupts);
    CHECK(r.peek(0x2000, 4) == 0x12345678);
    CHECK(r.ax() == (IE | SF | ESUM | B));
    CHECK(r.cpu().ftop == 0);
  }
}

TEST_CASE("x87: compare condition codes, FCOMI EFLAGS, FTST, FXAM") {
  Rig r;
  r.poke(0x7C00, {
      0xDB, 0xE3,                             // fninit
      0xD9, 0xE5,                             // fxam
      0xDF, 0xE0,                             // fnstsw ax
      0xA3, 0x00, 0x20,                       // mov [0x2000], ax
      0xD9, 0xE8,                             // fld1
      0xD9, 0xEE,                             // fldz
      0xD8, 0xD1,                             // fcom st1
      0xDF, 0xE0,                             // fnstsw ax
      0xA3, 0x02, 0x20,                       // mov [0x2002], ax
      0xD9, 0xC9,                             // fxch st1
      0xD8, 0xD1,                             // fcom st1
      0xDF, 0xE0,                             // fnstsw ax
      0xA3, 0x04, 0x20,                       // mov [0x2004], ax
      0xDB, 0xF1,                             // fcomi st0, st1
      0x9C,                                   // pushf
      0x8F, 0x06, 0x06, 0x20,                 // pop word [0x2006]
      0xD9, 0xC0,                             // fld st0
      0xDF, 0xE9,                             // fucomip st0, st1
      0x9C,                                   // pushf
      0x8F, 0x06, 0x08, 0x20,                 // pop word [0x2008]
      0xD9, 0xE4,                             // ftst
      0xDF, 0xE0,                             // fnstsw ax
      0xA3, 0x0A, 0x20,                       // mov [0x200a], ax
      0xD9, 0xE0,                             // fchs
      0xD9, 0xE5,                             // fxam
      0xDF, 0xE0,                             // fnstsw ax
      0xA3, 0x0C, 0x20,                       // mov [0x200c], ax
      0xDE, 0xD9,                             // fcompp
      0xDF, 0xE0,                             // fnstsw ax
      0xA3, 0x0E, 0x20,                       // mov [0x200e], ax
      0xF4,                                   // hlt
  });
  CHECK(r.run() == StopReason::HaltedNoInterrupts);
  CHECK((r.peek(0x2000, 2) & (C3 | C2 | C0)) == (C3 | C0));   // FXAM: empty
  CHECK((r.peek(0x2002, 2) & (C3 | C2 | C1 | C0)) == C0);     // 0 < 1
  CHECK((r.peek(0x2004, 2) & (C3 | C2 | C1 | C0)) == 0);      // 1 > 0
  CHECK((r.peek(0x2006, 2) & (kZF | kPF | kCF)) == 0);        // FCOMI: greater
  CHECK((r.peek(0x2008, 2) & (kZF | kPF | kCF)) == kZF);      // FUCOMIP: equal
  CHECK((r.peek(0x200a, 2) & (C3 | C2 | C0)) == 0);           // FTST: 1 > 0
  CHECK((r.peek(0x200c, 2) & (C3 | C2 | C1 | C0)) == (C2 | C1));  // FXAM: -1 is a negative normal
  CHECK((r.peek(0x200e, 2) & (C3 | C2 | C0)) == C0);          // -1 < 0
  CHECK(top_of(static_cast<uint16_t>(r.peek(0x200e, 2))) == 0);  // FCOMPP popped both
  CHECK(r.cpu().ftw == 0xFFFF);
}

TEST_CASE("x87: FUCOM with a QNaN is quiet, FCOM is not") {
  Rig r;
  r.poke_u(0x2010, 0x7FC00000, 4);  // QNaN m32
  r.poke(0x7C00, {
      0xDB, 0xE3,                             // fninit
      0xD9, 0x06, 0x10, 0x20,                 // fld dword [0x2010]
      0xD9, 0xEE,                             // fldz
      0xDD, 0xE1,                             // fucom st1
      0xDF, 0xE0,                             // fnstsw ax
      0xA3, 0x00, 0x20,                       // mov [0x2000], ax
      0xD8, 0xD1,                             // fcom st1
      0xDF, 0xE0,                             // fnstsw ax
      0xA3, 0x02, 0x20,                       // mov [0x2002], ax
      0xF4,                                   // hlt
  });
  CHECK(r.run() == StopReason::HaltedNoInterrupts);
  CHECK((r.peek(0x2000, 2) & (0x3F | C3 | C2 | C0)) == (C3 | C2 | C0));
  CHECK((r.peek(0x2002, 2) & (0x3F | C3 | C2 | C0)) == (IE | C3 | C2 | C0));
}

TEST_CASE("x87: an unmasked exception is taken at the next waiting instruction (#MF, CR0.NE = 1)") {
  Rig r;
  r.cpu().cr0 |= kCr0NE;
  r.poke_u(0x2000, 0x037B, 2);  // ZE unmasked
  r.poke(0x7C00, {
      0xDB, 0xE3,                             // fninit
      0xD9, 0x2E, 0x00, 0x20,                 // fldcw [0x2000]
      0xD9, 0xEE,                             // fldz
      0xD9, 0xE8,                             // fld1
      0xD8, 0xF1,                             // fdiv st0, st1
      0xDF, 0xE0,                             // fnstsw ax
      0xD9, 0xE8,                             // fld1
      0xF4,                                   // hlt
  });
  CHECK(r.run() == StopReason::HaltedNoInterrupts);
  CHECK(r.vector_taken() == 16);
  CHECK(r.ax() == (ZE | ESUM | B | (6 << 11)));  // the division wrote nothing
  CHECK(r.st(0) == kOneF80);
  CHECK(r.peek(0x6FFA, 2) == 0x7C0E);  // #MF is a fault on the FLD1 after FNSTSW
  CHECK(r.cpu().ftop == 6);            // the faulting FLD1 did not run
  CHECK(r.cpu().fip == 0x7C0A);        // FIP still names the FDIV
  CHECK(r.cpu().fop == ((0xD8 & 7) << 8 | 0xF1));
}

TEST_CASE("x87: CR0.NE = 0 asserts FERR# and freezes before the next waiting instruction; IGNNE# lets it run; FNCLEX drops FERR#") {
  Rig r;
  r.poke_u(0x2000, 0x037B, 2);
  r.poke(0x7C00, {
      0xDB, 0xE3,                             // fninit
      0xD9, 0x2E, 0x00, 0x20,                 // fldcw [0x2000]
      0xD9, 0xEE,                             // fldz
      0xD9, 0xE8,                             // fld1
      0xD8, 0xF1,                             // fdiv st0, st1
      0xD9, 0xE8,                             // fld1
      0xF4,                                   // hlt
  });
  // SDM Vol. 1 §8.7: frozen just before the FLD1, waiting for an interrupt (IF = 0 here,
  // so the run ends as for HLT).
  CHECK(r.run() == StopReason::HaltedNoInterrupts);
  CHECK(r.vector_taken() == -1);
  CHECK(r.m->ferr());
  CHECK(r.cpu().rip == 0x7C0C);
  CHECK(r.cpu().ftop == 6);  // the FLD1 has not run
  CHECK(r.cpu().fip == 0x7C0A);  // FIP still names the FDIV
  // IGNNE# (port F0h on a PC): the error is ignored and the FLD1 runs.
  r.m->set_ignne(true);
  r.cpu().halted = 0;
  CHECK(r.run() == StopReason::HaltedNoInterrupts);
  CHECK(r.cpu().rip == 0x7C0F);
  CHECK(r.cpu().ftop == 5);
  CHECK(r.m->ferr());
  r.poke(0x7D00, {
      0xDB, 0xE2,                             // fnclex
      0xF4,                                   // hlt
  });
  r.cpu().halted = 0;
  r.cpu().rip = 0x7D00;
  CHECK(r.run() == StopReason::HaltedNoInterrupts);
  CHECK(!r.m->ferr());
  CHECK((r.fsw() & (ESUM | B | ZE)) == 0);
}

TEST_CASE("x87: FLDCW unmasking a pending flag sets ES; FNSTENV masks and clears it") {
  Rig r;
  r.cpu().cr0 |= kCr0NE;
  r.poke_u(0x2000, 0x037B, 2);
  r.poke(0x7C00, {
      0xDB, 0xE3,                             // fninit
      0xD9, 0xEE,                             // fldz
      0xD9, 0xE8,                             // fld1
      0xD8, 0xF1,                             // fdiv st0, st1
      0xDF, 0xE0,                             // fnstsw ax
      0x89, 0xC3,                             // mov bx, ax
      0xD9, 0x2E, 0x00, 0x20,                 // fldcw [0x2000]
      0xD9, 0x3E, 0x02, 0x20,                 // fnstcw [0x2002]
      0xD9, 0x36, 0x10, 0x20,                 // fnstenv [0x2010]
      0xDF, 0xE0,                             // fnstsw ax
      0xD9, 0xD0,                             // fnop
      0xF4,                                   // hlt
  });
  CHECK(r.run() == StopReason::HaltedNoInterrupts);
  CHECK(r.cpu().gpr[RBX] == (ZE | (6 << 11)));  // masked ZE: +inf written, no ES
  CHECK(r.peek(0x2002, 2) == 0x037B);
  CHECK(r.peek(0x2010, 2) == 0x037B);
  CHECK(r.peek(0x2012, 2) == (ZE | ESUM | B | (6 << 11)));  // FLDCW unmasked the pending ZE
  CHECK(r.cpu().fcw == 0x037F);               // FNSTENV masked everything afterwards,
  CHECK(r.ax() == (ZE | (6 << 11)));          // which clears ES and B (hardware),
  CHECK(r.vector_taken() == -1);              // so FNOP takes no #MF
}

TEST_CASE("x87: #NM with CR0.EM or CR0.TS; WAIT only with MP and TS") {
  for (uint64_t bits : {kCr0EM, kCr0TS, kCr0EM | kCr0TS}) {
    Rig r;
    r.cpu().cr0 |= bits;
    r.poke(0x7C00, {
        0xDF, 0xE0,                             // fnstsw ax
        0xF4,                                   // hlt
    });
    CHECK(r.run() == StopReason::HaltedNoInterrupts);
    CHECK(r.vector_taken() == 7);
    CHECK(r.peek(0x6FFA, 2) == 0x7C00);
  }
  Rig r;
  r.cpu().cr0 |= kCr0TS;
  CHECK(interp::x87_fwait(r.cpu()) == ExecStatus::Ok);
  r.cpu().cr0 |= kCr0MP;
  CHECK(interp::x87_fwait(r.cpu()) == ExecStatus::Fault);
  CHECK(r.cpu().exc.vector == kVecNM);
  r.cpu().cr0 &= ~kCr0TS;
  r.cpu().cr0 |= kCr0NE;
  r.cpu().fsw = ESUM | ZE;
  CHECK(interp::x87_fwait(r.cpu()) == ExecStatus::Fault);
  CHECK(r.cpu().exc.vector == kVecMF);
}

TEST_CASE("x87: FNSTENV/FLDENV real-mode layouts, FIP/FDP/FOP") {
  Rig r;
  r.poke(0x7C00, {
      0xDB, 0xE3,                             // fninit
      0xD9, 0xE8,                             // fld1
      0xD9, 0x1E, 0x00, 0x20,                 // fstp dword [0x2000]
      0xD9, 0x36, 0x00, 0x21,                 // fnstenv [0x2100]
      0x66, 0xD9, 0x36, 0x00, 0x22,           // o32 fnstenv [0x2200]
      0xD9, 0xEB,                             // fldpi
      0xD9, 0x26, 0x00, 0x21,                 // fldenv [0x2100]
      0xDF, 0xE0,                             // fnstsw ax
      0xF4,                                   // hlt
  });
  CHECK(r.run() == StopReason::HaltedNoInterrupts);
  // 16-bit real-mode layout (SDM Vol. 1 Figure 8-11... 8-12): FCW FSW FTW IP15..0
  // IP19..16|FOP DP15..0 DP19..16.
  CHECK(r.peek(0x2100, 2) == 0x037F);
  CHECK(r.peek(0x2102, 2) == 0);
  CHECK(r.peek(0x2104, 2) == 0xFFFF);
  CHECK(r.peek(0x2106, 2) == 0x7C04);  // the FSTP (linear address)
  CHECK(r.peek(0x2108, 2) == ((0xD9 & 7) << 8 | 0x1E));
  CHECK(r.peek(0x210A, 2) == 0x2000);
  CHECK(r.peek(0x210C, 2) == 0);
  // 32-bit real-mode layout.
  CHECK(r.peek(0x2200, 4) == 0xFFFF037F);
  CHECK(r.peek(0x2204, 4) == 0xFFFF0000);
  CHECK(r.peek(0x2208, 4) == 0xFFFFFFFF);
  CHECK(r.peek(0x220C, 4) == 0xFFFF7C04);
  CHECK(r.peek(0x2210, 4) == ((0xD9 & 7) << 8 | 0x1E));
  CHECK(r.peek(0x2214, 4) == 0xFFFF2000);
  CHECK(r.peek(0x2218, 4) == 0);
  // FLDENV restored TOP 0 and the empty tags: the FLDPI is gone.
  CHECK(r.ax() == 0);
  CHECK(r.cpu().ftw == 0xFFFF);
}

TEST_CASE("x87: FNSAVE reinitialises, FRSTOR restores stack order and TOP") {
  Rig r;
  r.poke(0x7C00, {
      0xDB, 0xE3,                             // fninit
      0xD9, 0xE8,                             // fld1
      0xD9, 0xEB,                             // fldpi
      0xDD, 0x36, 0x00, 0x21,                 // fnsave [0x2100]
      0xDF, 0xE0,                             // fnstsw ax
      0x89, 0xC3,                             // mov bx, ax
      0xDD, 0x26, 0x00, 0x21,                 // frstor [0x2100]
      0xDF, 0xE0,                             // fnstsw ax
      0xF4,                                   // hlt
  });
  CHECK(r.run() == StopReason::HaltedNoInterrupts);
  CHECK(r.cpu().gpr[RBX] == 0);
  CHECK(r.peek(0x2102, 2) == (6 << 11));
  CHECK(r.peek(0x2104, 2) == 0x0FFF);  // R6, R7 valid
  CHECK(r.peek(0x210E, 8) == 0xC90FDAA22168C235ull);  // ST(0) = pi first
  CHECK(r.peek(0x2116, 2) == 0x4000);
  CHECK(r.peek(0x2118, 8) == 0x8000000000000000ull);  // then ST(1) = 1
  CHECK(r.ax() == (6 << 11));
  CHECK(r.st(1) == kOneF80);
  CHECK(r.cpu().ftw == 0x0FFF);
}

TEST_CASE("x87: constants follow the rounding control") {
  Rig r;
  r.poke_u(0x2000, 0x077F, 2);  // RC = down
  r.poke_u(0x2002, 0x0B7F, 2);  // RC = up
  r.poke(0x7C00, {
      0xDB, 0xE3,                             // fninit
      0xD9, 0x2E, 0x00, 0x20,                 // fldcw [0x2000]
      0xD9, 0xEB,                             // fldpi
      0xD9, 0xE9,                             // fldl2t
      0xD9, 0x2E, 0x02, 0x20,                 // fldcw [0x2002]
      0xD9, 0xEB,                             // fldpi
      0xD9, 0xE9,                             // fldl2t
      0xF4,                                   // hlt
  });
  CHECK(r.run() == StopReason::HaltedNoInterrupts);
  CHECK(r.st(3) == f80{0xC90FDAA22168C234ull, 0x4000});
  CHECK(r.st(2) == f80{0xD49A784BCD1B8AFEull, 0x4000});
  CHECK(r.st(1) == f80{0xC90FDAA22168C235ull, 0x4000});
  CHECK(r.st(0) == f80{0xD49A784BCD1B8AFFull, 0x4000});
}

TEST_CASE("x87: packed BCD, FIST rounding and the integer indefinite") {
  Rig r;
  r.poke_u(0x2000, static_cast<uint16_t>(-1234), 2);
  r.poke_u(0x2002, 0x0F7F, 2);  // RC = toward zero
  r.poke_u(0x2010, 0x3FE0000000000000ull, 8);  // 0.5
  r.poke(0x7C00, {
      0xDB, 0xE3,                             // fninit
      0xDF, 0x06, 0x00, 0x20,                 // fild word [0x2000]
      0xDF, 0x36, 0x00, 0x21,                 // fbstp [0x2100]
      0xDF, 0x26, 0x00, 0x21,                 // fbld [0x2100]
      0xDB, 0x1E, 0x10, 0x21,                 // fistp dword [0x2110]
      0xDD, 0x06, 0x10, 0x20,                 // fld qword [0x2010]
      0xDF, 0x16, 0x14, 0x21,                 // fist word [0x2114]
      0xD9, 0x2E, 0x02, 0x20,                 // fldcw [0x2002]
      0xD9, 0xE8,                             // fld1
      0xD8, 0xC1,                             // fadd st0, st1
      0xDF, 0x1E, 0x16, 0x21,                 // fistp word [0x2116]
      0xD9, 0xE8,                             // fld1
      0xD9, 0xEE,                             // fldz
      0xDE, 0xF9,                             // fdivp st1, st0
      0xDB, 0x1E, 0x18, 0x21,                 // fistp dword [0x2118]
      0xDF, 0xE0,                             // fnstsw ax
      0xF4,                                   // hlt
  });
  CHECK(r.run() == StopReason::HaltedNoInterrupts);
  CHECK(r.peek(0x2100, 8) == 0x1234);
  CHECK(r.peek(0x2108, 2) == 0x8000);
  CHECK(r.peek(0x2110, 4) == static_cast<uint32_t>(-1234));
  CHECK(r.peek(0x2114, 2) == 0);           // 0.5 to nearest even: 0 (PE)
  CHECK(r.peek(0x2116, 2) == 1);           // 1.5 toward zero
  CHECK(r.peek(0x2118, 4) == 0x80000000);  // inf: the integer indefinite, IE
  CHECK((r.ax() & 0x3F) == (IE | ZE | PE));
}

TEST_CASE("x87: FPREM quotient bits, FSCALE, FXTRACT, FRNDINT, FSQRT") {
  Rig r;
  r.poke_u(0x2000, 3, 2);
  r.poke_u(0x2002, 11, 2);
  r.poke(0x7C00, {
      0xDB, 0xE3,                             // fninit
      0xDF, 0x06, 0x00, 0x20,                 // fild word [0x2000]
      0xDF, 0x06, 0x02, 0x20,                 // fild word [0x2002]
      0xD9, 0xF8,                             // fprem
      0xDF, 0xE0,                             // fnstsw ax
      0x89, 0xC3,                             // mov bx, ax
      0xDF, 0x1E, 0x10, 0x20,                 // fistp word [0x2010]
      0xD9, 0xF4,                             // fxtract
      0xDF, 0x1E, 0x12, 0x20,                 // fistp word [0x2012]
      0xDF, 0x1E, 0x14, 0x20,                 // fistp word [0x2014]
      0xD9, 0xE8,                             // fld1
      0xD9, 0xE8,                             // fld1
      0xDC, 0xC0,                             // fadd st0, st0
      0xD9, 0xFD,                             // fscale
      0xD9, 0xFA,                             // fsqrt
      0xDF, 0x1E, 0x16, 0x20,                 // fistp word [0x2016]
      0xD9, 0xE8,                             // fld1
      0xDC, 0xC0,                             // fadd st0, st0
      0xD9, 0xFA,                             // fsqrt
      0xD9, 0xFC,                             // frndint
      0xDF, 0x1E, 0x18, 0x20,                 // fistp word [0x2018]
      0xF4,                                   // hlt
  });
  CHECK(r.run() == StopReason::HaltedNoInterrupts);
  // 11 = 3 * 3 + 2: Q = 3 -> C0 = Q2 = 0, C3 = Q1 = 1, C1 = Q0 = 1; C2 = 0 (complete)
  CHECK((r.cpu().gpr[RBX] & (C3 | C2 | C1 | C0)) == (C3 | C1));
  CHECK(r.peek(0x2010, 2) == 2);
  CHECK(r.peek(0x2012, 2) == 2);  // 3 = 1.5 * 2^1: significand 1.5 -> 2 (nearest even)
  CHECK(r.peek(0x2014, 2) == 1);  // exponent 1
  CHECK(r.peek(0x2016, 2) == 2);  // sqrt(2 * 2^1)
  CHECK(r.peek(0x2018, 2) == 1);  // frndint(sqrt(2))
  CHECK(r.cpu().ftw == 0x3FFF);   // FSCALE leaves ST(1): one value is left in R7
}

TEST_CASE("x87: transcendentals: values, the 66-bit pi, C2 out of range") {
  Rig r;
  r.poke_u(0x2000, 0x43E0000000000000ull, 8);  // 2^63
  r.poke(0x7C00, {
      0xDB, 0xE3,                             // fninit
      0xD9, 0xEB,                             // fldpi
      0xD9, 0xFE,                             // fsin
      0xD9, 0xE8,                             // fld1
      0xD9, 0xE8,                             // fld1
      0xD9, 0xF3,                             // fpatan
      0xDD, 0x06, 0x00, 0x20,                 // fld qword [0x2000]
      0xD9, 0xFF,                             // fcos
      0xDF, 0xE0,                             // fnstsw ax
      0x89, 0xC3,                             // mov bx, ax
      0xD9, 0xE8,                             // fld1
      0xD9, 0xF0,                             // f2xm1
      0xD9, 0xEE,                             // fldz
      0xD9, 0xF2,                             // fptan
      0xDF, 0xE0,                             // fnstsw ax
      0xF4,                                   // hlt
  });
  CHECK(r.run() == StopReason::HaltedNoInterrupts);
  CHECK((r.cpu().gpr[RBX] & C2) == C2);  // 2^63: out of range, ST(0) unchanged
  CHECK(r.st(0) == kOneF80);             // FPTAN pushed 1.0
  CHECK(r.st(1) == f80{0, 0});           // tan(+0) = +0
  CHECK(r.st(2) == kOneF80);             // F2XM1(1) = 1
  CHECK(r.st(3) == f80{0x8000000000000000ull, 0x403E});
  CHECK(r.st(4) == f80{0xC90FDAA22168C235ull, 0x3FFE});  // atan(1/1) = pi/4
  CHECK(r.st(5) == f80{0x8000000000000000ull, 0xBFBF});  // sin(FLDPI) = -2^-64 with the 66-bit pi
  CHECK((r.ax() & C2) == 0);
}

TEST_CASE("x87: FCMOVcc, FFREE, FINCSTP/FDECSTP, FST ST(i)") {
  Rig r;
  r.poke(0x7C00, {
      0xDB, 0xE3,                             // fninit
      0xD9, 0xE8,                             // fld1
      0xD9, 0xEE,                             // fldz
      0xF9,                                   // stc
      0xDA, 0xC1,                             // fcmovb st0, st1
      0xD9, 0x16, 0x00, 0x20,                 // fst dword [0x2000]
      0xDD, 0xD2,                             // fst st2
      0xD9, 0xF7,                             // fincstp
      0xDF, 0xE0,                             // fnstsw ax
      0x89, 0xC3,                             // mov bx, ax
      0xD9, 0xF6,                             // fdecstp
      0xDD, 0xC1,                             // ffree st1
      0xF8,                                   // clc
      0xDB, 0xC1,                             // fcmovnb st0, st1
      0xDF, 0xE0,                             // fnstsw ax
      0xF4,                                   // hlt
  });
  CHECK(r.run() == StopReason::HaltedNoInterrupts);
  CHECK(r.peek(0x2000, 4) == 0x3F800000);  // CF was set: ST(1) = 1.0 moved
  CHECK(top_of(static_cast<uint16_t>(r.cpu().gpr[RBX])) == 7);
  CHECK(r.st(2) == kOneF80);  // FST ST(2)
  CHECK(interp::x87_st_empty(r.cpu(), 1));
  CHECK(r.ax() == (IE | SF | (6 << 11)));  // the FCMOVNB read the empty ST(1)
  CHECK(r.st(0) == kIndefinite);
}

TEST_CASE("x87: FISTTP truncates (SSE3), or is #UD without SSE3") {
  Rig r;
  r.poke_u(0x2000, 0x3FF8000000000000ull, 8);  // 1.5
  r.poke(0x7C00, {
      0xDB, 0xE3,                             // fninit
      0xDD, 0x06, 0x00, 0x20,                 // fld qword [0x2000]
      0xDF, 0x0E, 0x10, 0x20,                 // fisttp word [0x2010]
      0xF4,                                   // hlt
  });
  CHECK(r.run() == StopReason::HaltedNoInterrupts);
  if (r.m->cpu_model().has(Feature::Sse3)) {
    CHECK(r.vector_taken() == -1);
    CHECK(r.peek(0x2010, 2) == 1);
    CHECK(r.cpu().ftw == 0xFFFF);
  } else {
    CHECK(r.vector_taken() == 6);
  }
}

namespace {
// Flat protected mode: CS = 0x08 (32-bit code), DS = ES = SS = 0x10 (4 GiB data).
void enter_protected32(Rig& r) {
  CpuState& c = r.cpu();
  uint64_t gdt[3] = {0, 0x00CF9A000000FFFFull, 0x00CF92000000FFFFull};
  r.m->bus().write(0x500, gdt, sizeof gdt);
  c.gdtr = {0x500, 23};
  c.cr0 |= kCr0PE;
  for (auto& s : c.seg) load_descriptor(s, 0x10, gdt[2]);
  load_descriptor(c.seg[CS], 0x08, gdt[1]);
  update_cpu_mode(c);
  refresh_all_segments(c);
}
}  // namespace

TEST_CASE("x87: FNSTENV/FLDENV protected-mode layouts (32- and 16-bit operand size)") {
  Rig r;
  enter_protected32(r);
  REQUIRE(r.cpu().mode == CpuMode::Protected32);
  r.poke(0x7C00, {
      0xDB, 0xE3,                             // fninit
      0xD9, 0xE8,                             // fld1
      0xD9, 0x1D, 0x00, 0x20, 0x00, 0x00,     // fstp dword [0x2000]
      0xD9, 0x35, 0x00, 0x21, 0x00, 0x00,     // fnstenv [0x2100]
      0x66, 0xD9, 0x35, 0x00, 0x22, 0x00, 0x00,// o16 fnstenv [0x2200]
      0xD9, 0xEB,                             // fldpi
      0x66, 0xD9, 0x25, 0x00, 0x22, 0x00, 0x00,// o16 fldenv [0x2200]
      0xDF, 0xE0,                             // fnstsw ax
      0xF4,                                   // hlt
  });
  CHECK(r.run() == StopReason::HaltedNoInterrupts);
  CHECK(r.vector_taken() == -1);
  // 32-bit protected-mode layout (SDM Vol. 1 Figure 8-9): offsets and selectors.
  CHECK(r.peek(0x2100, 4) == 0xFFFF037F);
  CHECK(r.peek(0x2104, 4) == 0xFFFF0000);
  CHECK(r.peek(0x2108, 4) == 0xFFFFFFFF);
  CHECK(r.peek(0x210C, 4) == 0x7C04);                                  // FIP
  CHECK(r.peek(0x2110, 4) == (0x08u | ((0xD9u & 7) << 8 | 0x1D) << 16));  // FCS, FOP
  CHECK(r.peek(0x2114, 4) == 0x2000);                                  // FDP
  CHECK(r.peek(0x2118, 4) == 0xFFFF0010);                              // FDS
  // 16-bit protected-mode layout (Figure 8-10): FIP, FCS, FDP, FDS; no FOP.
  CHECK(r.peek(0x2200, 2) == 0x037F);
  CHECK(r.peek(0x2204, 2) == 0xFFFF);
  CHECK(r.peek(0x2206, 2) == 0x7C04);
  CHECK(r.peek(0x2208, 2) == 0x08);
  CHECK(r.peek(0x220A, 2) == 0x2000);
  CHECK(r.peek(0x220C, 2) == 0x10);
  CHECK(r.ax() == 0);
  CHECK(r.cpu().ftw == 0xFFFF);
  CHECK(r.cpu().fcs == 0x08);
  CHECK(r.cpu().fip == 0x7C04);
}
