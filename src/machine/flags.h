// Lazy arithmetic flags: one representation and one materialize_flags(), shared
// by the interpreter, the JIT and exception delivery.
//
// A flag-setting ALU operation records (kind, size, result, operands) instead
// of computing six flags; whoever reads a flag derives it from the record. The
// formulas follow SDM Vol. 1 §3.4.3.1 and Appendix A (EFLAGS cross-reference).
#pragma once

#include <bit>
#include <cstdint>

#include "machine/cpu_state.h"

namespace kestrel::machine {

inline unsigned size_bits_code(unsigned bytes) { return bytes == 1 ? 0 : bytes == 2 ? 1 : bytes == 4 ? 2 : 3; }

inline void set_flags_lazy(CpuState& c, FlagKind kind, unsigned bytes, uint64_t res, uint64_t s1, uint64_t s2) {
  c.lf_kind = static_cast<uint8_t>(kind);
  c.lf_size = static_cast<uint8_t>(size_bits_code(bytes));
  c.lf_res = res;
  c.lf_src1 = s1;
  c.lf_src2 = s2;
}

inline bool parity_even(uint64_t v) { return (std::popcount(static_cast<uint8_t>(v)) & 1) == 0; }

// Computes the six arithmetic flags from the lazy record.
inline uint64_t compute_arith_flags(const CpuState& c) {
  const unsigned bits = 8u << c.lf_size;
  const uint64_t mask = bits == 64 ? ~0ull : (1ull << bits) - 1;
  const uint64_t msb = 1ull << (bits - 1);
  const uint64_t r = c.lf_res & mask, a = c.lf_src1 & mask, b = c.lf_src2 & mask;
  uint64_t f = 0;
  if (parity_even(r)) f |= kPF;
  if (r == 0) f |= kZF;
  if (r & msb) f |= kSF;
  switch (static_cast<FlagKind>(c.lf_kind)) {
    case FlagKind::Add:
    case FlagKind::Adc:
      if (((a & b) | ((a | b) & ~r)) & msb) f |= kCF;
      if ((a ^ b ^ r) & 0x10) f |= kAF;
      if ((a ^ r) & (b ^ r) & msb) f |= kOF;
      break;
    case FlagKind::Sub:
    case FlagKind::Sbb:
      if (((~a & b) | (~(a ^ b) & r)) & msb) f |= kCF;
      if ((a ^ b ^ r) & 0x10) f |= kAF;
      if ((a ^ b) & (a ^ r) & msb) f |= kOF;
      break;
    case FlagKind::Logic:
      break;
    case FlagKind::Inc:
      if (c.lf_aux) f |= kCF;
      if ((r & 0xF) == 0) f |= kAF;
      if (r == msb) f |= kOF;
      break;
    case FlagKind::Dec:
      if (c.lf_aux) f |= kCF;
      if ((r & 0xF) == 0xF) f |= kAF;
      if (r == msb - 1) f |= kOF;
      break;
    case FlagKind::None:
      return c.rflags & kArithFlags;
  }
  return f;
}

// Folds the lazy record into rflags and returns the whole register.
inline uint64_t materialize_flags(CpuState& c) {
  if (c.lf_kind != static_cast<uint8_t>(FlagKind::None)) {
    c.rflags = (c.rflags & ~kArithFlags) | compute_arith_flags(c);
    c.lf_kind = static_cast<uint8_t>(FlagKind::None);
  }
  return c.rflags;
}

// Sets the arithmetic flags eagerly (shifts, BCD, bit ops...).
inline void set_arith_flags(CpuState& c, uint64_t flags, uint64_t which = kArithFlags) {
  materialize_flags(c);
  c.rflags = (c.rflags & ~which) | (flags & which);
}

inline bool get_cf(const CpuState& c) {
  switch (static_cast<FlagKind>(c.lf_kind)) {
    case FlagKind::None: return c.rflags & kCF;
    case FlagKind::Logic: return false;
    case FlagKind::Inc: case FlagKind::Dec: return c.lf_aux;
    default: return compute_arith_flags(c) & kCF;
  }
}

inline bool get_zf(const CpuState& c) {
  if (c.lf_kind == static_cast<uint8_t>(FlagKind::None)) return c.rflags & kZF;
  const unsigned bits = 8u << c.lf_size;
  const uint64_t mask = bits == 64 ? ~0ull : (1ull << bits) - 1;
  return (c.lf_res & mask) == 0;
}

// Conditions straight from a SUB/CMP record: a compare followed by Jcc is the
// commonest pair, and the operands answer it without building RFLAGS.
inline bool eval_condition_sub(const CpuState& c, unsigned cc, bool& result) {
  const unsigned shift = 64 - (8u << c.lf_size);
  const uint64_t a = c.lf_src1 << shift, b = c.lf_src2 << shift;  // operands at the top of 64 bits
  const int64_t sa = static_cast<int64_t>(a), sb = static_cast<int64_t>(b);
  bool r;
  switch (cc >> 1) {
    case 1: r = a < b; break;                 // B
    case 2: r = a == b; break;                // E
    case 3: r = a <= b; break;                // BE
    case 6: r = sa < sb; break;               // L
    case 7: r = sa <= sb; break;              // LE
    default: return false;
  }
  result = r != (cc & 1);
  return true;
}

// Condition codes (SDM Vol. 1 Appendix B): cc is the low nibble of Jcc/SETcc/CMOVcc.
inline bool eval_condition(const CpuState& c, unsigned cc) {
  if (c.lf_kind == static_cast<uint8_t>(FlagKind::Sub)) {
    bool r;
    if (eval_condition_sub(c, cc, r)) return r;
  }
  uint64_t f;
  switch (cc >> 1) {
    case 1: f = get_cf(c); break;               // B / AE
    case 2: f = get_zf(c); break;               // E / NE
    default: {
      uint64_t fl = c.lf_kind == static_cast<uint8_t>(FlagKind::None) ? c.rflags : compute_arith_flags(c);
      switch (cc >> 1) {
        case 0: f = fl & kOF; break;                                      // O / NO
        case 3: f = fl & (kCF | kZF); break;                              // BE / A
        case 4: f = fl & kSF; break;                                      // S / NS
        case 5: f = fl & kPF; break;                                      // P / NP
        case 6: f = !(fl & kSF) != !(fl & kOF); break;                    // L / GE
        default: f = (fl & kZF) || (!(fl & kSF) != !(fl & kOF)); break;  // LE / G
      }
    }
  }
  return (f != 0) != (cc & 1);
}

}  // namespace kestrel::machine
