// Control transfer: Jcc, JMP, CALL, RET (near and far), LOOPcc, JCXZ, INT n,
// INT3, INTO, INT1, BOUND (SDM Vol. 2A/2B, each instruction's "Operation").
//
// Far transfers and IRET live in far_transfer.cpp.
#include "interp/handlers.h"
#include "interp/operands.h"
#include "machine/machine.h"

namespace kestrel::interp {

ExecStatus near_branch(CpuState& c, uint64_t target, unsigned osize) {
  if (c.mode == m::CpuMode::Long64) {
    if (osize != 8) target &= m::size_mask(osize);
    if (static_cast<uint64_t>((static_cast<int64_t>(target) >> 47) + 1) > 1) return m::raise_gp(c, 0);
  } else {
    target &= m::size_mask(osize);
    if (target > c.seg[m::CS].limit) return m::raise_gp(c, 0);
  }
  c.rip = target;
  return ExecStatus::Branch;
}

namespace {

// Software interrupts are traps: the pushed return address is the next instruction.
// RIP stays on the instruction: if delivery faults, that fault points at it.
ExecStatus software_interrupt(CpuState& c, const DecodedInsn& d, uint8_t vector) {
  c.exc = m::PendingException{vector, false, true, d.len, 0};
  return ExecStatus::Fault;
}

// A near CALL to `target` pushing `ret`: the target is checked before the push, and
// a faulting push leaves RIP as it was (SDM Vol. 2A, CALL: the #GP for the target
// comes first; a #SS/#PF on the push leaves the state unchanged).
ExecStatus near_call(CpuState& c, uint64_t target, uint64_t ret, unsigned sz) {
  uint64_t saved_rip = c.rip;
  ExecStatus st = near_branch(c, target, sz);
  if (st != ExecStatus::Branch) return st;
  if (!push_value(c, ret, sz)) {
    c.rip = saved_rip;
    return ExecStatus::Fault;
  }
  return ExecStatus::Branch;
}

}  // namespace

namespace handlers {

ExecStatus Jcc_Jb(CpuState& c, const DecodedInsn& d) {
  if (!m::eval_condition(c, d.op & 0xF)) {
    c.rip = next_ip(c, d);
    return ExecStatus::Branch;
  }
  return near_branch(c, next_ip(c, d) + d.imm, branch_osize(c, d));
}

ExecStatus Jcc_Jz(CpuState& c, const DecodedInsn& d) { return Jcc_Jb(c, d); }

ExecStatus JMP_Jb(CpuState& c, const DecodedInsn& d) {
  return near_branch(c, next_ip(c, d) + d.imm, branch_osize(c, d));
}

ExecStatus JMP_Jz(CpuState& c, const DecodedInsn& d) { return JMP_Jb(c, d); }

ExecStatus JMP_Ev(CpuState& c, const DecodedInsn& d) {
  unsigned sz = branch_osize(c, d);
  uint64_t t;
  KESTREL_TRY(read_rm_sized(c, d, sz, t));
  return near_branch(c, t, sz);
}

ExecStatus CALL_Jz(CpuState& c, const DecodedInsn& d) {
  unsigned sz = branch_osize(c, d);
  uint64_t ret = next_ip(c, d);
  uint64_t target = (ret + d.imm) & (c.mode == m::CpuMode::Long64 ? ~0ull : m::size_mask(sz));
  return near_call(c, target, ret, sz);
}

ExecStatus CALL_Ev(CpuState& c, const DecodedInsn& d) {
  unsigned sz = branch_osize(c, d);
  uint64_t t;
  KESTREL_TRY(read_rm_sized(c, d, sz, t));
  uint64_t ret = next_ip(c, d);
  return near_call(c, t, ret, sz);
}

ExecStatus RET(CpuState& c, const DecodedInsn& d) {
  unsigned sz = branch_osize(c, d);
  uint64_t t;
  KESTREL_TRY(peek_value(c, 0, sz, t));
  ExecStatus st = near_branch(c, t, sz);
  if (st != ExecStatus::Branch) return st;
  set_sp(c, get_sp(c) + sz);
  return ExecStatus::Branch;
}

ExecStatus RET_Iw(CpuState& c, const DecodedInsn& d) {
  unsigned sz = branch_osize(c, d);
  uint64_t t;
  KESTREL_TRY(peek_value(c, 0, sz, t));
  ExecStatus st = near_branch(c, t, sz);
  if (st != ExecStatus::Branch) return st;
  set_sp(c, get_sp(c) + sz + (d.imm & 0xFFFF));
  return ExecStatus::Branch;
}

// ---- loops ---------------------------------------------------------------------------------------------

namespace {
// The counter is CX, ECX or RCX by address size (SDM Vol. 2A, LOOP).
template <int kind>  // 0 LOOP, 1 LOOPE, 2 LOOPNE
ExecStatus loop(CpuState& c, const DecodedInsn& d) {
  uint64_t cnt = (c.gpr[m::RCX] - 1) & addr_mask(d);
  set_reg_sized(c, m::RCX, d.asize, cnt);
  bool take = cnt != 0;
  if (kind == 1) take = take && m::get_zf(c);
  if (kind == 2) take = take && !m::get_zf(c);
  if (!take) {
    c.rip = next_ip(c, d);
    return ExecStatus::Branch;
  }
  return near_branch(c, next_ip(c, d) + d.imm, branch_osize(c, d));
}
}  // namespace

ExecStatus LOOP_Jb(CpuState& c, const DecodedInsn& d) { return loop<0>(c, d); }
ExecStatus LOOPE_Jb(CpuState& c, const DecodedInsn& d) { return loop<1>(c, d); }
ExecStatus LOOPNE_Jb(CpuState& c, const DecodedInsn& d) { return loop<2>(c, d); }

ExecStatus JCXZ_Jb(CpuState& c, const DecodedInsn& d) {
  if ((c.gpr[m::RCX] & addr_mask(d)) != 0) {
    c.rip = next_ip(c, d);
    return ExecStatus::Branch;
  }
  return near_branch(c, next_ip(c, d) + d.imm, branch_osize(c, d));
}

// ---- interrupts ---------------------------------------------------------------------------------------

ExecStatus INT3(CpuState& c, const DecodedInsn& d) { return software_interrupt(c, d, m::kVecBP); }

ExecStatus INT_Ib(CpuState& c, const DecodedInsn& d) {
  // Virtual-8086 mode with IOPL < 3 faults (without VME; SDM Vol. 3 §20.3.3).
  if (c.mode == m::CpuMode::Virtual8086 && ((m::materialize_flags(c) & m::kIOPL) >> 12) < 3)
    return m::raise_gp(c, 0);
  return software_interrupt(c, d, static_cast<uint8_t>(d.imm));
}

ExecStatus INTO(CpuState& c, const DecodedInsn& d) {
  if (!(m::materialize_flags(c) & m::kOF)) {
    c.rip = next_ip(c, d);
    return ExecStatus::Branch;
  }
  return software_interrupt(c, d, m::kVecOF);
}

// INT1 (ICEBP) raises #DB as a trap, delivered like a hardware exception.
ExecStatus INT1(CpuState& c, const DecodedInsn& d) {
  c.exc = m::PendingException{m::kVecDB, false, false, d.len, 0};
  return ExecStatus::Fault;
}

// BOUND: #BR (a fault) when the signed index lies outside [lower, upper].
ExecStatus BOUND_Gv_Ma(CpuState& c, const DecodedInsn& d) {
  uint64_t ea = effective_address(c, d);
  if (d.osize == 2) {
    uint16_t lo, hi;
    KESTREL_TRY(m::read_mem(c, d.seg, ea, lo));
    KESTREL_TRY(m::read_mem(c, d.seg, (ea + 2) & addr_mask(d), hi));
    int16_t v = static_cast<int16_t>(get_greg<uint16_t>(c, d));
    if (v < static_cast<int16_t>(lo) || v > static_cast<int16_t>(hi)) return m::raise_exception(c, m::kVecBR);
  } else {
    uint32_t lo, hi;
    KESTREL_TRY(m::read_mem(c, d.seg, ea, lo));
    KESTREL_TRY(m::read_mem(c, d.seg, (ea + 4) & addr_mask(d), hi));
    int32_t v = static_cast<int32_t>(get_greg<uint32_t>(c, d));
    if (v < static_cast<int32_t>(lo) || v > static_cast<int32_t>(hi)) return m::raise_exception(c, m::kVecBR);
  }
  return ExecStatus::Ok;
}

}  // namespace handlers
}  // namespace kestrel::interp
