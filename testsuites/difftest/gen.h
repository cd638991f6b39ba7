// Case generation: for one form and mode, random but edge-heavy instruction
// encodings, register, flag, memory and x87/SSE states (see gen.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "forms.h"
#include "layout.h"

namespace difftest {

// What the comparison must leave out for one case: what the SDM calls undefined.
struct Meta {
  uint64_t flags_undef = 0;            // RFLAGS bits
  uint64_t gpr_undef[16] = {};         // bits of each register
  uint32_t region_undef_off = 0;       // bytes of the data region [off, off+len)
  uint32_t region_undef_len = 0;
  uint16_t fsw_undef = 0;              // x87 status word bits (C0-C3 after most instructions)
  uint64_t flags_undef_on_fault = 0;   // RFLAGS bits left out when the instruction faults
  bool cr2_page_only = false;          // #PF inside a multi-part access: only the page of CR2
  bool x87_ulp = false;                // transcendental results: within 1 ulp (and C1)
};

struct GenCase {
  CaseIn in;
  Meta meta;
};

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (auto& v : s_) v = splitmix(seed);
  }
  uint64_t next() {
    const uint64_t r = rotl(s_[1] * 5, 7) * 9, t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return r;
  }
  uint64_t below(uint64_t n) { return n ? next() % n : 0; }
  bool chance(unsigned percent) { return below(100) < percent; }
  int64_t range(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo + 1))); }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t splitmix(uint64_t& x) {
    uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t s_[4];
};

// Host facts the generator needs (from the native runner's hello).
struct HostInfo {
  uint16_t sel[6] = {};  // ES CS SS DS FS GS of the runner
};

class Generator {
 public:
  Generator(const Form& f, bool mode64, const HostInfo& host, uint64_t seed);
  // One case; false when the form has no encoding in this mode.
  bool generate(GenCase& out);
  // FP and SIMD forms load their x87/SSE state from the case.
  bool fp() const { return form_.family != Family::Int; }

 private:
  struct Impl;
  const Form& form_;
  bool mode64_;
  HostInfo host_;
  Rng rng_;
};

// The default x87/SSE state (FNINIT, MXCSR 0x1F80) as an FXSAVE image.
void default_fx(uint8_t fx[512]);

// Classifies an 80-bit value for the full tag word: 0 valid, 1 zero, 2 special.
unsigned x87_tag_of(uint64_t sig, uint16_t sign_exp);

}  // namespace difftest
