// Stack: PUSH/POP (registers, memory, immediates, segment registers), PUSHA/POPA,
// PUSHF/POPF, ENTER/LEAVE (SDM Vol. 2B, each instruction's "Operation").
#include "interp/handlers.h"
#include "interp/operands.h"

namespace kestrel::interp::handlers {

ExecStatus PUSH_Zv(CpuState& c, const DecodedInsn& d) {
  unsigned sz = stack_osize(c, d);
  KESTREL_TRY(push_value(c, c.gpr[d.reg], sz));
  return ExecStatus::Ok;
}

ExecStatus POP_Zv(CpuState& c, const DecodedInsn& d) {
  unsigned sz = stack_osize(c, d);
  uint64_t v;
  KESTREL_TRY(peek_value(c, 0, sz, v));
  set_sp(c, get_sp(c) + sz);
  set_reg_sized(c, d.reg, sz, v);  // POP SP: the popped value wins
  return ExecStatus::Ok;
}

ExecStatus PUSH_Ev(CpuState& c, const DecodedInsn& d) {
  unsigned sz = stack_osize(c, d);
  uint64_t v;
  KESTREL_TRY(read_rm_sized(c, d, sz, v));
  KESTREL_TRY(push_value(c, v, sz));
  return ExecStatus::Ok;
}

// POP r/m: the destination's address is computed after RSP is incremented
// (SDM Vol. 2B, POP: "If the ESP register is used as a base register...").
ExecStatus POP_Ev(CpuState& c, const DecodedInsn& d) {
  unsigned sz = stack_osize(c, d);
  uint64_t v;
  KESTREL_TRY(peek_value(c, 0, sz, v));
  uint64_t old_sp = c.gpr[m::RSP];
  set_sp(c, get_sp(c) + sz);
  bool ok;
  switch (sz) {
    case 2: ok = write_rm<uint16_t>(c, d, static_cast<uint16_t>(v)); break;
    case 4: ok = write_rm<uint32_t>(c, d, static_cast<uint32_t>(v)); break;
    default: ok = write_rm<uint64_t>(c, d, v); break;
  }
  if (!ok) {
    c.gpr[m::RSP] = old_sp;
    return ExecStatus::Fault;
  }
  return ExecStatus::Ok;
}

ExecStatus PUSH_Iz(CpuState& c, const DecodedInsn& d) {
  KESTREL_TRY(push_value(c, d.imm, stack_osize(c, d)));
  return ExecStatus::Ok;
}

ExecStatus PUSH_Ib(CpuState& c, const DecodedInsn& d) {
  KESTREL_TRY(push_value(c, d.imm, stack_osize(c, d)));
  return ExecStatus::Ok;
}

// ---- segment registers ---------------------------------------------------------------------------

namespace {

// With a 32- or 64-bit operand, the selector is written with a 16-bit store and
// the stack pointer still moves by the operand size (recent Intel processors;
// SDM Vol. 2B, PUSH).
ExecStatus push_seg(CpuState& c, const DecodedInsn& d, uint8_t s) {
  unsigned sz = stack_osize(c, d);
  uint64_t sp = (get_sp(c) - sz) & stack_mask(c);
  KESTREL_TRY(m::probe_write(c, m::SS, sp, sz));
  KESTREL_TRY(m::write_mem<uint16_t>(c, m::SS, sp, c.seg[s].selector));
  set_sp(c, sp);
  return ExecStatus::Ok;
}

ExecStatus pop_seg(CpuState& c, const DecodedInsn& d, uint8_t s) {
  unsigned sz = stack_osize(c, d);
  uint64_t v;
  KESTREL_TRY(peek_value(c, 0, sz, v));
  KESTREL_TRY(m::load_segment(c, s, static_cast<uint16_t>(v)));
  set_sp(c, get_sp(c) + sz);
  if (s == m::SS) {
    c.interrupt_shadow = m::kShadowSs;
    c.rip = next_ip(c, d);
    return ExecStatus::Branch;
  }
  return ExecStatus::Ok;
}

}  // namespace

ExecStatus PUSH_ES(CpuState& c, const DecodedInsn& d) { return push_seg(c, d, m::ES); }
ExecStatus PUSH_CS(CpuState& c, const DecodedInsn& d) { return push_seg(c, d, m::CS); }
ExecStatus PUSH_SS(CpuState& c, const DecodedInsn& d) { return push_seg(c, d, m::SS); }
ExecStatus PUSH_DS(CpuState& c, const DecodedInsn& d) { return push_seg(c, d, m::DS); }
ExecStatus PUSH_FS(CpuState& c, const DecodedInsn& d) { return push_seg(c, d, m::FS); }
ExecStatus PUSH_GS(CpuState& c, const DecodedInsn& d) { return push_seg(c, d, m::GS); }
ExecStatus POP_ES(CpuState& c, const DecodedInsn& d) { return pop_seg(c, d, m::ES); }
ExecStatus POP_SS(CpuState& c, const DecodedInsn& d) { return pop_seg(c, d, m::SS); }
ExecStatus POP_DS(CpuState& c, const DecodedInsn& d) { return pop_seg(c, d, m::DS); }
ExecStatus POP_FS(CpuState& c, const DecodedInsn& d) { return pop_seg(c, d, m::FS); }
ExecStatus POP_GS(CpuState& c, const DecodedInsn& d) { return pop_seg(c, d, m::GS); }

// ---- PUSHA / POPA ----------------------------------------------------------------------------------

// PUSHA stores AX CX DX BX (original) SP BP SI DI; the stores are checked before
// any is made, so a fault leaves memory and SP unchanged.
ExecStatus PUSHA(CpuState& c, const DecodedInsn& d) {
  unsigned sz = d.osize;
  uint64_t sp = get_sp(c);
  uint64_t top = (sp - 8 * sz) & stack_mask(c);
  for (unsigned i = 0; i < 8; ++i)
    KESTREL_TRY(m::probe_write(c, m::SS, (sp - (i + 1) * sz) & stack_mask(c), sz));
  for (unsigned i = 0; i < 8; ++i) {
    uint64_t a = (sp - (i + 1) * sz) & stack_mask(c);
    uint64_t v = c.gpr[i];
    if (sz == 2) KESTREL_TRY(m::write_mem<uint16_t>(c, m::SS, a, static_cast<uint16_t>(v)));
    else KESTREL_TRY(m::write_mem<uint32_t>(c, m::SS, a, static_cast<uint32_t>(v)));
  }
  set_sp(c, top);
  return ExecStatus::Ok;
}

ExecStatus POPA(CpuState& c, const DecodedInsn& d) {
  unsigned sz = d.osize;
  uint64_t vals[8];
  for (unsigned i = 0; i < 8; ++i) KESTREL_TRY(peek_value(c, i * sz, sz, vals[7 - i]));
  for (unsigned i = 0; i < 8; ++i)
    if (i != m::RSP) set_reg_sized(c, i, sz, vals[i]);
  set_sp(c, get_sp(c) + 8 * sz);
  return ExecStatus::Ok;
}

// ---- flags -------------------------------------------------------------------------------------------

// PUSHF stores the flags with VM and RF clear (SDM Vol. 2B, PUSHF). In
// virtual-8086 mode with IOPL < 3 it faults.
ExecStatus PUSHF(CpuState& c, const DecodedInsn& d) {
  uint64_t f = m::materialize_flags(c);
  if (c.mode == m::CpuMode::Virtual8086 && ((f & m::kIOPL) >> 12) < 3) return m::raise_gp(c, 0);
  unsigned sz = stack_osize(c, d);
  f &= ~(m::kVM | m::kRF);
  KESTREL_TRY(push_value(c, f, sz));
  return ExecStatus::Ok;
}

// POPF: which bits may change depends on CPL and IOPL (SDM Vol. 2B, POPF "Operation").
ExecStatus POPF(CpuState& c, const DecodedInsn& d) {
  uint64_t f = m::materialize_flags(c);
  unsigned iopl = (f & m::kIOPL) >> 12;
  if (c.mode == m::CpuMode::Virtual8086 && iopl < 3) return m::raise_gp(c, 0);
  unsigned sz = stack_osize(c, d);
  uint64_t v;
  KESTREL_TRY(pop_value(c, v, sz));
  uint64_t modifiable = m::kArithFlags | m::kTF | m::kDF | m::kNT | m::kAC | m::kID;
  if (c.cpl == 0 && c.mode != m::CpuMode::Virtual8086) modifiable |= m::kIOPL;
  if (c.cpl <= iopl) modifiable |= m::kIF;
  if (sz == 2) modifiable &= 0xFFFF;
  c.rflags = (f & ~modifiable) | (v & modifiable) | m::kFlagsFixed1;
  c.rflags &= ~m::kRF;
  c.rip = next_ip(c, d);
  return ExecStatus::Branch;
}

// ---- ENTER / LEAVE -----------------------------------------------------------------------------------

ExecStatus ENTER_Iw_Ib(CpuState& c, const DecodedInsn& d) {
  unsigned sz = stack_osize(c, d);
  uint16_t alloc = static_cast<uint16_t>(d.imm);
  unsigned level = d.imm2 & 31;
  uint64_t saved_rsp = c.gpr[m::RSP], saved_rbp = c.gpr[m::RBP];
  auto fail = [&]() {
    c.gpr[m::RSP] = saved_rsp;
    c.gpr[m::RBP] = saved_rbp;
    return ExecStatus::Fault;
  };
  if (!push_value(c, c.gpr[m::RBP], sz)) return fail();
  uint64_t frame = get_sp(c);
  if (level > 0) {
    uint64_t bp = c.gpr[m::RBP] & stack_mask(c);
    for (unsigned i = 1; i < level; ++i) {
      bp = (bp - sz) & stack_mask(c);
      uint64_t v;
      uint64_t sp_copy = c.gpr[m::RSP];
      c.gpr[m::RSP] = bp;  // read [SS:BP] through the stack-size rules
      bool ok = peek_value(c, 0, sz, v);
      c.gpr[m::RSP] = sp_copy;
      if (!ok || !push_value(c, v, sz)) return fail();
    }
    if (!push_value(c, frame, sz)) return fail();
  }
  // The final stack pointer must be writable too (SDM: #SS if it would exceed the limit).
  uint64_t new_sp = (get_sp(c) - alloc) & stack_mask(c);
  if (alloc && !m::probe_write(c, m::SS, new_sp, 1)) return fail();
  set_reg_sized(c, m::RBP, sz, frame);
  set_sp(c, new_sp);
  return ExecStatus::Ok;
}

ExecStatus LEAVE(CpuState& c, const DecodedInsn& d) {
  unsigned sz = stack_osize(c, d);
  uint64_t saved = c.gpr[m::RSP];
  set_sp(c, c.gpr[m::RBP]);
  uint64_t v;
  if (!pop_value(c, v, sz)) {
    c.gpr[m::RSP] = saved;
    return ExecStatus::Fault;
  }
  set_reg_sized(c, m::RBP, sz, v);
  return ExecStatus::Ok;
}

}  // namespace kestrel::interp::handlers
