// machine/flags: the lazy arithmetic-flag record, materialize_flags() and
// eval_condition() (SDM Vol. 1 §3.4.3.1, Appendix A and Appendix B).
#include <doctest/doctest.h>

#include <cstdint>

#include "machine/cpu_state.h"
#include "machine/flags.h"

using namespace kestrel::machine;

namespace {

CpuState fresh(uint64_t rflags = kFlagsFixed1) {
  CpuState c{};
  c.rflags = rflags;
  c.lf_kind = static_cast<uint8_t>(FlagKind::None);
  return c;
}

uint64_t arith(CpuState c) { return materialize_flags(c) & kArithFlags; }

// A record as an ADD / SUB / ADC / SBB handler leaves it: the operands and the result.
CpuState add(unsigned bytes, uint64_t a, uint64_t b, unsigned cin = 0, uint64_t rflags = kFlagsFixed1) {
  CpuState c = fresh(rflags);
  set_flags_lazy(c, cin ? FlagKind::Adc : FlagKind::Add, bytes, a + b + cin, a, b);
  return c;
}
CpuState sub(unsigned bytes, uint64_t a, uint64_t b, unsigned bin = 0, uint64_t rflags = kFlagsFixed1) {
  CpuState c = fresh(rflags);
  set_flags_lazy(c, bin ? FlagKind::Sbb : FlagKind::Sub, bytes, a - b - bin, a, b);
  return c;
}
// INC/DEC: the record keeps the CF from before the instruction in lf_aux.
CpuState incdec(bool inc, unsigned bytes, uint64_t a, bool cf_before) {
  CpuState c = fresh(kFlagsFixed1 | (cf_before ? kCF : 0));
  c.lf_aux = cf_before;
  set_flags_lazy(c, inc ? FlagKind::Inc : FlagKind::Dec, bytes, inc ? a + 1 : a - 1, 0, 0);
  return c;
}

}  // namespace

TEST_CASE("flags: ADD") {
  CHECK(arith(add(1, 0x7F, 1)) == (kOF | kSF | kAF));             // 0x80: one bit set -> PF clear
  CHECK(arith(add(1, 0xFF, 1)) == (kCF | kZF | kAF | kPF));        // wraps to 0
  CHECK(arith(add(1, 0x80, 0x80)) == (kCF | kZF | kOF | kPF));
  CHECK(arith(add(1, 0x01, 0x02)) == kPF);                          // 3: two bits
  CHECK(arith(add(2, 0x7FFF, 1)) == (kOF | kSF | kAF | kPF));      // low byte 0x00 -> PF
  CHECK(arith(add(4, 0xFFFFFFFF, 1)) == (kCF | kZF | kAF | kPF));
  CHECK(arith(add(4, 0x80000000, 0x80000000)) == (kCF | kZF | kOF | kPF));
  CHECK(arith(add(8, 0x7FFFFFFFFFFFFFFFull, 1)) == (kOF | kSF | kAF | kPF));
  CHECK(arith(add(8, ~0ull, 1)) == (kCF | kZF | kAF | kPF));
  // PF looks at the low byte only.
  CHECK((arith(add(2, 0x0100, 0x0003)) & kPF) != 0);                // 0x0103: 0x03 -> even
  CHECK((arith(add(2, 0x0100, 0x0001)) & kPF) == 0);                // 0x0101: 0x01 -> odd
}

TEST_CASE("flags: ADC uses the carry in") {
  CHECK(arith(add(1, 0xFF, 0x00, 1)) == (kCF | kZF | kAF | kPF));
  CHECK(arith(add(1, 0xFF, 0xFF, 1)) == (kCF | kSF | kAF | kPF));  // 0x1FF -> 0xFF
  CHECK(arith(add(1, 0x7F, 0x00, 1)) == (kOF | kSF | kAF));
  CHECK(arith(add(1, 0x0F, 0x00, 1)) == kAF);                       // 0x10: one bit -> PF clear
  CHECK(arith(add(4, 0xFFFFFFFF, 0, 1)) == (kCF | kZF | kAF | kPF));
}

TEST_CASE("flags: SUB, CMP, NEG") {
  CHECK(arith(sub(1, 0, 1)) == (kCF | kSF | kAF | kPF));           // 0xFF
  CHECK(arith(sub(1, 0x80, 1)) == (kOF | kAF));                     // 0x7F: seven bits -> odd
  CHECK(arith(sub(1, 5, 5)) == (kZF | kPF));
  CHECK(arith(sub(1, 0x10, 1)) == (kAF | kPF));                     // 0x0F
  CHECK(arith(sub(2, 0x8000, 1)) == (kOF | kAF | kPF));            // 0x7FFF: low byte 0xFF even
  CHECK(arith(sub(4, 1, 2)) == (kCF | kSF | kAF | kPF));
  CHECK(arith(sub(4, 0x80000000, 1)) == (kOF | kAF | kPF));
  CHECK(arith(sub(8, 0, 1)) == (kCF | kSF | kAF | kPF));
  // NEG x is recorded as 0 - x: CF set unless x is 0.
  CHECK(arith(sub(1, 0, 0)) == (kZF | kPF));
  CHECK(arith(sub(1, 0, 0x80)) == (kCF | kOF | kSF));              // NEG 0x80 = 0x80
}

TEST_CASE("flags: SBB uses the borrow in") {
  CHECK(arith(sub(1, 0, 0, 1)) == (kCF | kSF | kAF | kPF));
  CHECK(arith(sub(1, 5, 5, 1)) == (kCF | kSF | kAF | kPF));
  CHECK(arith(sub(1, 0x80, 0x7F, 1)) == (kOF | kZF | kAF | kPF));  // 0x80 - 0x80 = 0
  CHECK(arith(sub(4, 0x80000000, 0x7FFFFFFF, 1)) == (kOF | kZF | kAF | kPF));
}

TEST_CASE("flags: logic operations clear CF and OF") {
  CpuState c = fresh(kFlagsFixed1 | kCF | kOF);
  set_flags_lazy(c, FlagKind::Logic, 1, 0x80, 0, 0);
  CHECK((materialize_flags(c) & (kCF | kOF | kSF | kZF | kPF)) == kSF);
  set_flags_lazy(c, FlagKind::Logic, 4, 0, 0, 0);
  CHECK((materialize_flags(c) & (kCF | kOF | kSF | kZF | kPF)) == (kZF | kPF));
}

TEST_CASE("flags: INC and DEC keep CF") {
  CHECK(arith(incdec(true, 1, 0xFF, true)) == (kCF | kZF | kAF | kPF));
  CHECK(arith(incdec(true, 1, 0xFF, false)) == (kZF | kAF | kPF));
  CHECK(arith(incdec(true, 1, 0x7F, false)) == (kOF | kSF | kAF));
  CHECK(arith(incdec(true, 2, 0x7FFF, true)) == (kCF | kOF | kSF | kAF | kPF));
  CHECK(arith(incdec(false, 1, 0x80, true)) == (kCF | kOF | kAF));  // 0x7F
  CHECK(arith(incdec(false, 1, 0x00, false)) == (kSF | kAF | kPF)); // 0xFF
  CHECK(arith(incdec(false, 4, 0x80000000, false)) == (kOF | kAF | kPF));
  CHECK(arith(incdec(false, 1, 0x01, true)) == (kCF | kZF | kPF));
}

TEST_CASE("flags: materialize_flags keeps the non-arithmetic bits and clears the record") {
  CpuState c = add(1, 0x7F, 1, 0, kFlagsFixed1 | kIF | kDF | kTF | kCF | kZF);
  uint64_t f = materialize_flags(c);
  CHECK(f == (kFlagsFixed1 | kIF | kDF | kTF | kOF | kSF | kAF));
  CHECK(c.lf_kind == static_cast<uint8_t>(FlagKind::None));
  CHECK(c.rflags == f);
  CHECK(materialize_flags(c) == f);  // idempotent
  // With no record, rflags is authoritative.
  CpuState n = fresh(kFlagsFixed1 | kCF | kPF);
  CHECK(materialize_flags(n) == (kFlagsFixed1 | kCF | kPF));
}

TEST_CASE("flags: get_cf / get_zf agree with the materialized flags") {
  struct {
    CpuState c;
  } cases[] = {{add(1, 0xFF, 1)}, {add(2, 1, 2)}, {sub(4, 1, 2)}, {sub(4, 2, 2)},
               {incdec(true, 1, 0xFF, true)}, {incdec(false, 2, 5, false)}, {add(1, 0x0F, 0, 1)},
               {sub(8, 0, 0, 1)}};
  for (auto& k : cases) {
    uint64_t f = arith(k.c);
    CHECK(get_cf(k.c) == ((f & kCF) != 0));
    CHECK(get_zf(k.c) == ((f & kZF) != 0));
  }
}

// Condition codes (SDM Vol. 1 Appendix B, Table B-1), cc = low nibble of Jcc.
namespace {
bool expected_condition(uint64_t f, unsigned cc) {
  bool cf = f & kCF, zf = f & kZF, sf = f & kSF, of = f & kOF, pf = f & kPF;
  bool r = false;
  switch (cc >> 1) {
    case 0: r = of; break;                   // O
    case 1: r = cf; break;                   // B/C/NAE
    case 2: r = zf; break;                   // E/Z
    case 3: r = cf || zf; break;             // BE/NA
    case 4: r = sf; break;                   // S
    case 5: r = pf; break;                   // P/PE
    case 6: r = sf != of; break;             // L/NGE
    case 7: r = zf || (sf != of); break;     // LE/NG
  }
  return (cc & 1) ? !r : r;
}
}  // namespace

TEST_CASE("flags: every condition code against explicit rflags values") {
  // All 64 combinations of OF SF ZF PF CF (and AF, which no condition reads).
  const uint64_t bits[] = {kCF, kPF, kZF, kSF, kOF, kAF};
  for (unsigned m = 0; m < 64; ++m) {
    uint64_t f = kFlagsFixed1;
    for (unsigned i = 0; i < 6; ++i)
      if (m & (1u << i)) f |= bits[i];
    CpuState c = fresh(f);
    for (unsigned cc = 0; cc < 16; ++cc) {
      CAPTURE(f);
      CAPTURE(cc);
      CHECK(eval_condition(c, cc) == expected_condition(f, cc));
    }
  }
}

TEST_CASE("flags: condition codes straight from lazy records") {
  // CMP a, b for signed and unsigned orderings: each record against the table.
  const struct { unsigned bytes; uint64_t a, b; } cmps[] = {
      {1, 1, 2}, {1, 2, 1}, {1, 5, 5}, {1, 0x80, 1}, {1, 1, 0x80}, {1, 0x7F, 0xFF},
      {2, 0x8000, 0x7FFF}, {4, 0, 0xFFFFFFFF}, {4, 0x80000000, 0x80000000}, {8, 1, ~0ull}};
  for (const auto& k : cmps) {
    CpuState c = sub(k.bytes, k.a, k.b);
    uint64_t f = arith(c);
    for (unsigned cc = 0; cc < 16; ++cc) {
      CAPTURE(k.a);
      CAPTURE(k.b);
      CAPTURE(cc);
      CHECK(eval_condition(c, cc) == expected_condition(f, cc));
    }
  }
  // Signed versus unsigned: 0x80 vs 1 (8-bit): below? no; less? yes.
  CpuState c = sub(1, 0x80, 1);
  CHECK(!eval_condition(c, 0x2));  // B
  CHECK(eval_condition(c, 0x7));   // A
  CHECK(eval_condition(c, 0xC));   // L
  CHECK(!eval_condition(c, 0xF));  // G
  // The other record kinds.
  CpuState i = incdec(true, 1, 0x7F, true);  // 0x80, OF, CF kept
  CHECK(eval_condition(i, 0x0));   // O
  CHECK(eval_condition(i, 0x2));   // B (the kept CF)
  CHECK(eval_condition(i, 0x8));   // S
  CHECK(!eval_condition(i, 0xC));  // L: SF == OF
  CpuState a = add(1, 0xFF, 0, 1);
  CHECK(eval_condition(a, 0x2));   // carry out of ADC
  CHECK(eval_condition(a, 0x4));   // Z
  CpuState l = fresh(kFlagsFixed1 | kCF | kOF);
  set_flags_lazy(l, FlagKind::Logic, 2, 0x8000, 0, 0);
  CHECK(!eval_condition(l, 0x2));  // CF cleared
  CHECK(!eval_condition(l, 0x0));  // OF cleared
  CHECK(eval_condition(l, 0xC));   // L: SF=1, OF=0
}
