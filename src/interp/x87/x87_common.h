// Shared by the x87 handler files: the instruction prologue (availability, pending
// exceptions, last-instruction pointers), exception recording, stack faults and
// memory operands of the x87 sizes.
#pragma once

#include <cstdint>

#include "interp/fpu/softfloat.h"
#include "interp/handlers.h"
#include "interp/operands.h"
#include "interp/x87/x87_state.h"

namespace kestrel::interp::x87 {

using fpu::f80;

// What the prologue does besides the #NM check.
enum Prologue : unsigned {
  kNoWait = 0,     // FNINIT, FNCLEX, FNSTCW, FNSTSW, FNSTENV, FNSAVE: no pending-exception check
  kWait = 1,       // a waiting instruction: a pending unmasked exception is taken first
  kRecord = 2,     // a non-control instruction: FIP/FCS, FOP and (memory forms) FDP/FDS
  kData = kWait | kRecord,
};

// The prologue of every x87 instruction (SDM Vol. 3 §2.5 Table 2-2, Vol. 1 §8.1.8,
// §8.6). False with an exception pending.
bool begin(CpuState& c, const DecodedInsn& d, unsigned how = kData);

// The rounding/precision/mask context from the FCW.
inline fpu::Context context(const CpuState& c) { return fpu::Context::from_fcw(c.fcw); }

inline void set_c1(CpuState& c, bool v) { c.fsw = static_cast<uint16_t>((c.fsw & ~kFswC1) | (v ? kFswC1 : 0)); }
inline void set_cc(CpuState& c, uint16_t cc) {  // C0 C1 C2 C3 from the kFswC* bits of cc
  c.fsw = static_cast<uint16_t>((c.fsw & ~kFswCC) | (cc & kFswCC));
}

// Records a resolved result's flags in FSW (sticky), with ES and B when one was unmasked.
inline void record(CpuState& c, const fpu::Resolution& r) {
  c.fsw |= r.flags;
  if (r.trap) c.fsw |= kFswES | kFswB;
}

// Stack overflow / underflow (SDM Vol. 1 §8.5.1.1): IE and SF, C1 = 1 for overflow and
// 0 for underflow. True when IE is masked, and the caller then applies the masked
// response (real indefinite); false: nothing else changes (TOP included).
inline bool stack_fault(CpuState& c, bool overflow) {
  c.fsw = static_cast<uint16_t>((c.fsw & ~kFswC1) | kFswIE | kFswSF | (overflow ? kFswC1 : 0));
  if (c.fcw & kFswIE) return true;
  c.fsw |= kFswES | kFswB;
  return false;
}

// For the forms whose result goes to ST(0) and whose register operands are ST(0)
// (count 1) or ST(0) and ST(1) (count 2): false when one of them is empty, after the
// stack-underflow response (masked: ST(0) takes the real indefinite), and the
// instruction then ends.
inline bool operands_present(CpuState& c, unsigned count) {
  if (!x87_st_empty(c, 0) && (count < 2 || !x87_st_empty(c, 1))) return true;
  if (stack_fault(c, false)) x87_set_st(c, 0, fpu::kF80DefaultNaN);
  return false;
}

// A register result at ST(dst) from one library operation: resolves the raised flags
// against the masks, writes the result when allowed and sets C1 (rounded up). True
// when written (the caller then pops if the form pops).
inline bool commit(CpuState& c, unsigned dst, f80 v, const fpu::Context& ctx,
                   fpu::X87Kind kind = fpu::X87Kind::Arith) {
  const fpu::Resolution r = fpu::x87_resolve(ctx.flags, ctx.masks, kind);
  record(c, r);
  if (r.write) x87_set_st(c, dst, v);
  set_c1(c, r.write && ctx.c1);
  return r.write;
}

// ---- memory operands ----------------------------------------------------------------------

// Reads n bytes of the memory operand at offset `off` (segment-checked for all n first).
bool read_bytes(CpuState& c, uint8_t seg, uint64_t off, uint8_t* out, unsigned n);
// Writes n bytes: every byte is checked writable (segment and page) before any is written.
bool write_bytes(CpuState& c, uint8_t seg, uint64_t off, const uint8_t* in, unsigned n);

// A 10-byte store (FSTP m80fp, FBSTP): the low 8 bytes, then the upper 2 (a fault
// on the second write leaves the first done, as on hardware).
bool write_10_bytes(CpuState& c, uint8_t seg, uint64_t off, const uint8_t* in);

bool read_m80(CpuState& c, const DecodedInsn& d, f80& v);
bool write_m80(CpuState& c, const DecodedInsn& d, f80 v);

// Checks a memory destination of `size` bytes is writable (before the stack changes).
inline bool probe_dest(CpuState& c, const DecodedInsn& d, unsigned size) {
  return m::probe_write(c, d.seg, effective_address(c, d), size);
}

}  // namespace kestrel::interp::x87
