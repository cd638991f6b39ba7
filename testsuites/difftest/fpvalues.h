// Edge-heavy floating-point and integer operand values for the difftest generator:
// signed zeros, denormals, the normal range's ends, infinities, quiet and signalling
// NaNs with payloads, values on rounding boundaries (ties and their neighbours),
// integers at conversion limits, and for the x87 format the unsupported encodings
// (unnormals, pseudo-denormals, pseudo-NaN/infinity).
#pragma once

#include <cstdint>

#include "gen.h"

namespace difftest {

uint64_t edge_int(Rng& r, unsigned bits);
uint32_t edge_f32(Rng& r);
uint64_t edge_f64(Rng& r);
// 80-bit: significand and sign/exponent.
void edge_f80(Rng& r, uint64_t& sig, uint16_t& se);

// A second operand that puts a sum/difference/product of `a` on or next to a
// rounding boundary of the destination format.
uint32_t tie_partner_f32(Rng& r, uint32_t a);
uint64_t tie_partner_f64(Rng& r, uint64_t a);
void tie_partner_f80(Rng& r, uint64_t a_sig, uint16_t a_se, uint64_t& sig, uint16_t& se);

// Packed BCD (m80bcd): mostly valid digits, sometimes invalid nibbles.
void edge_bcd(Rng& r, uint8_t out[10]);

}  // namespace difftest
