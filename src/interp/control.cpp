// Control transfer: Jcc, JMP, CALL, RET (near and far), LOOPcc, JCXZ, INT n,
// INT3, INTO, INT1, IRET, BOUND (SDM Vol. 2A/2B, each instruction's "Operation").
//
// Far transfers here cover real and virtual-8086 mode and protected-mode
// transfers to a code segment at the same privilege; gates, task switches and
// privilege changes belong to the system architecture (docs/ARCHITECTURE.md).
#include <fmt/format.h>

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

// Loads CS for a far JMP/CALL/RET and sets RIP (SDM Vol. 3 §5.8.1, direct calls and
// jumps to a code segment without a privilege change).
ExecStatus far_transfer(CpuState& c, uint16_t sel, uint64_t offset, unsigned osize, bool is_return) {
  if (c.mode == m::CpuMode::Real || c.mode == m::CpuMode::Virtual8086) {
    offset &= m::size_mask(osize);
    if (offset > c.seg[m::CS].limit) return m::raise_gp(c, 0);
    m::load_segment_real(c, m::CS, sel);
    c.rip = offset;
    m::update_cpu_mode(c);
    return ExecStatus::Branch;
  }
  if ((sel & ~3u) == 0) return m::raise_gp(c, 0);
  uint64_t desc;
  KESTREL_TRY(m::read_descriptor(c, sel, desc));
  uint16_t attr = static_cast<uint16_t>((desc >> 40) & 0xFF);
  unsigned dpl = (attr >> 5) & 3, rpl = sel & 3;
  if (!(attr & m::kSegAttrS) || !(attr & 8)) {
    c.machine->report_once("far-gate", fmt::format(
        "far transfer through a system descriptor (type {:#x}) is not implemented yet", attr & 0xF));
    return m::raise_gp(c, sel & 0xFFFC);
  }
  bool conforming = attr & 4;
  unsigned new_cpl = c.cpl;
  if (is_return) {
    if (rpl < c.cpl) return m::raise_gp(c, sel & 0xFFFC);
    if (rpl > c.cpl) {
      c.machine->report_once("far-ret-outer", "far return to an outer privilege level is not implemented yet");
      return m::raise_gp(c, sel & 0xFFFC);
    }
    if (conforming ? dpl > rpl : dpl != rpl) return m::raise_gp(c, sel & 0xFFFC);
  } else if (conforming ? dpl > c.cpl : (rpl > c.cpl || dpl != c.cpl)) {
    return m::raise_gp(c, sel & 0xFFFC);
  }
  if (!(attr & m::kSegAttrP)) return m::raise_exception(c, m::kVecNP, sel & 0xFFFC);
  m::SegmentCache cs;
  m::load_descriptor(cs, static_cast<uint16_t>((sel & ~3u) | new_cpl), desc);
  bool long_cs = (c.efer & (1u << 10)) && (cs.attr & m::kSegAttrL);
  if (!long_cs) {
    offset &= m::size_mask(osize);
    if (offset > cs.limit) return m::raise_gp(c, 0);
  }
  c.seg[m::CS] = cs;
  m::refresh_segment(c, c.seg[m::CS]);
  c.rip = offset;
  m::update_cpu_mode(c);
  return ExecStatus::Branch;
}

// Reads a far pointer m16:16/m16:32/m16:64 (offset first).
ExecStatus read_far_pointer(CpuState& c, const DecodedInsn& d, uint64_t& off, uint16_t& sel) {
  uint64_t ea = effective_address(c, d);
  switch (d.osize) {
    case 2: { uint16_t v; KESTREL_TRY(m::read_mem(c, d.seg, ea, v)); off = v; break; }
    case 4: { uint32_t v; KESTREL_TRY(m::read_mem(c, d.seg, ea, v)); off = v; break; }
    default: KESTREL_TRY(m::read_mem(c, d.seg, ea, off)); break;
  }
  KESTREL_TRY(m::read_mem(c, d.seg, (ea + d.osize) & addr_mask(d), sel));
  return ExecStatus::Ok;
}

ExecStatus far_call(CpuState& c, const DecodedInsn& d, uint16_t sel, uint64_t off) {
  unsigned sz = d.osize;
  uint64_t ret = next_ip(c, d);
  uint16_t old_cs = c.seg[m::CS].selector;
  uint64_t saved_rsp = c.gpr[m::RSP];
  m::SegmentCache saved_cs = c.seg[m::CS];
  uint64_t saved_rip = c.rip;
  // Check the stack first: both pushes must fit before CS changes.
  uint64_t sp = get_sp(c);
  KESTREL_TRY(m::probe_write(c, m::SS, (sp - 2 * sz) & stack_mask(c), 2 * sz));
  ExecStatus st = far_transfer(c, sel, off, sz, false);
  if (st != ExecStatus::Branch) return st;
  if (!push_value(c, old_cs, sz) || !push_value(c, ret, sz)) {
    c.gpr[m::RSP] = saved_rsp;
    c.seg[m::CS] = saved_cs;
    c.rip = saved_rip;
    m::update_cpu_mode(c);
    return ExecStatus::Fault;
  }
  return ExecStatus::Branch;
}

ExecStatus far_return(CpuState& c, const DecodedInsn& d, uint16_t release) {
  unsigned sz = d.osize;
  uint64_t ip, cs;
  KESTREL_TRY(peek_value(c, 0, sz, ip));
  KESTREL_TRY(peek_value(c, sz, sz, cs));
  uint64_t saved_rsp = c.gpr[m::RSP];
  ExecStatus st = far_transfer(c, static_cast<uint16_t>(cs), ip, sz, true);
  if (st != ExecStatus::Branch) {
    c.gpr[m::RSP] = saved_rsp;
    return st;
  }
  set_sp(c, get_sp(c) + 2 * sz + release);
  return ExecStatus::Branch;
}

// Software interrupts are traps: the pushed return address is the next instruction.
ExecStatus software_interrupt(CpuState& c, const DecodedInsn& d, uint8_t vector) {
  c.rip = next_ip(c, d);
  c.exc = m::PendingException{vector, false, true, 0, 0};
  return ExecStatus::Fault;
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
  switch (sz) {
    case 2: { uint16_t v; KESTREL_TRY(read_rm(c, d, v)); t = v; break; }
    case 4: { uint32_t v; KESTREL_TRY(read_rm(c, d, v)); t = v; break; }
    default: KESTREL_TRY(read_rm(c, d, t)); break;
  }
  return near_branch(c, t, sz);
}

ExecStatus CALL_Jz(CpuState& c, const DecodedInsn& d) {
  unsigned sz = branch_osize(c, d);
  uint64_t ret = next_ip(c, d);
  uint64_t target = (ret + d.imm) & (c.mode == m::CpuMode::Long64 ? ~0ull : m::size_mask(sz));
  uint64_t saved_rip = c.rip;
  ExecStatus st = near_branch(c, target, sz);  // checks the target before the push
  if (st != ExecStatus::Branch) return st;
  if (!push_value(c, ret, sz)) {
    c.rip = saved_rip;
    return ExecStatus::Fault;
  }
  return ExecStatus::Branch;
}

ExecStatus CALL_Ev(CpuState& c, const DecodedInsn& d) {
  unsigned sz = branch_osize(c, d);
  uint64_t t;
  switch (sz) {
    case 2: { uint16_t v; KESTREL_TRY(read_rm(c, d, v)); t = v; break; }
    case 4: { uint32_t v; KESTREL_TRY(read_rm(c, d, v)); t = v; break; }
    default: KESTREL_TRY(read_rm(c, d, t)); break;
  }
  uint64_t ret = next_ip(c, d);
  uint64_t saved_rip = c.rip;
  ExecStatus st = near_branch(c, t, sz);
  if (st != ExecStatus::Branch) return st;
  if (!push_value(c, ret, sz)) {
    c.rip = saved_rip;
    return ExecStatus::Fault;
  }
  return ExecStatus::Branch;
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

ExecStatus JMPF_Ap(CpuState& c, const DecodedInsn& d) { return far_transfer(c, d.imm2, d.imm, d.osize, false); }

ExecStatus JMPF_Mp(CpuState& c, const DecodedInsn& d) {
  uint64_t off;
  uint16_t sel;
  ExecStatus st = read_far_pointer(c, d, off, sel);
  if (st != ExecStatus::Ok) return st;
  return far_transfer(c, sel, off, d.osize, false);
}

ExecStatus CALLF_Ap(CpuState& c, const DecodedInsn& d) { return far_call(c, d, d.imm2, d.imm); }

ExecStatus CALLF_Mp(CpuState& c, const DecodedInsn& d) {
  uint64_t off;
  uint16_t sel;
  ExecStatus st = read_far_pointer(c, d, off, sel);
  if (st != ExecStatus::Ok) return st;
  return far_call(c, d, sel, off);
}

ExecStatus RETF(CpuState& c, const DecodedInsn& d) { return far_return(c, d, 0); }
ExecStatus RETF_Iw(CpuState& c, const DecodedInsn& d) { return far_return(c, d, static_cast<uint16_t>(d.imm)); }

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
  c.rip = next_ip(c, d);
  c.exc = m::PendingException{m::kVecDB, false, false, 0, 0};
  return ExecStatus::Fault;
}

// IRET in real mode (SDM Vol. 2A, IRET "REAL-ADDRESS-MODE"); virtual-8086 mode
// with IOPL 3 behaves the same.
ExecStatus IRET(CpuState& c, const DecodedInsn& d) {
  unsigned sz = d.osize;
  uint64_t f = m::materialize_flags(c);
  if (c.mode == m::CpuMode::Virtual8086 && ((f & m::kIOPL) >> 12) < 3) return m::raise_gp(c, 0);
  if (c.mode != m::CpuMode::Real && c.mode != m::CpuMode::Virtual8086) {
    c.machine->report_once("iret-pm", "IRET in protected or long mode is not implemented yet: raising #GP");
    return m::raise_gp(c, 0);
  }
  uint64_t ip, cs, fl;
  KESTREL_TRY(peek_value(c, 0, sz, ip));
  KESTREL_TRY(peek_value(c, sz, sz, cs));
  KESTREL_TRY(peek_value(c, 2 * sz, sz, fl));
  if ((ip & m::size_mask(sz)) > c.seg[m::CS].limit && sz == 4) return m::raise_gp(c, 0);
  uint64_t keep, take;
  if (sz == 4) {
    take = 0x257FD5;  // VM, RF, VIP and VIF stay as they are
    keep = f & 0x1A0000;
  } else {
    take = 0xFFFF;
    keep = f & ~0xFFFFull;
  }
  if (c.mode == m::CpuMode::Virtual8086) take &= ~m::kIOPL, keep |= f & m::kIOPL;
  set_sp(c, get_sp(c) + 3 * sz);
  m::load_segment_real(c, m::CS, static_cast<uint16_t>(cs));
  c.rip = ip & m::size_mask(sz);
  c.rflags = keep | (fl & take) | m::kFlagsFixed1;
  return ExecStatus::Branch;
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
