// The native forms: instructions emitted as host code instead of a handler call.
#include <iterator>

#include "jit/emit.h"

namespace kestrel::jit {

namespace {

enum class Alu { None, Add, Adc, Sub, Sbb, Cmp, And, Or, Xor, Test };
enum class Form { None, Gv_Ev, Ev_Gv, Ev_I, rAX_I };

struct AluForm {
  Alu op = Alu::None;
  Form form = Form::None;
  bool byte = false;
};

AluForm classify_alu(InsnId id) {
  switch (id) {
#define ALU_CASES(NAME, OP)                                                                  \
  case InsnId::NAME##_Gv_Ev: return {Alu::OP, Form::Gv_Ev, false};                           \
  case InsnId::NAME##_Ev_Gv: return {Alu::OP, Form::Ev_Gv, false};                           \
  case InsnId::NAME##_Ev_Iz: case InsnId::NAME##_Ev_Ib: return {Alu::OP, Form::Ev_I, false}; \
  case InsnId::NAME##_rAX_Iz: return {Alu::OP, Form::rAX_I, false};                          \
  case InsnId::NAME##_Gb_Eb: return {Alu::OP, Form::Gv_Ev, true};                            \
  case InsnId::NAME##_Eb_Gb: return {Alu::OP, Form::Ev_Gv, true};                            \
  case InsnId::NAME##_Eb_Ib: return {Alu::OP, Form::Ev_I, true};                             \
  case InsnId::NAME##_AL_Ib: return {Alu::OP, Form::rAX_I, true};
    ALU_CASES(ADD, Add)
    ALU_CASES(SUB, Sub)
    ALU_CASES(ADC, Adc)
    ALU_CASES(SBB, Sbb)
    ALU_CASES(CMP, Cmp)
    ALU_CASES(AND, And)
    ALU_CASES(OR, Or)
    ALU_CASES(XOR, Xor)
#undef ALU_CASES
    case InsnId::TEST_Ev_Gv: return {Alu::Test, Form::Ev_Gv, false};
    case InsnId::TEST_Eb_Gb: return {Alu::Test, Form::Ev_Gv, true};
    case InsnId::TEST_Ev_Iz: return {Alu::Test, Form::Ev_I, false};
    case InsnId::TEST_Eb_Ib: return {Alu::Test, Form::Ev_I, true};
    case InsnId::TEST_rAX_Iz: return {Alu::Test, Form::rAX_I, false};
    case InsnId::TEST_AL_Ib: return {Alu::Test, Form::rAX_I, true};
    default: return {};
  }
}

// The host instruction of each operation, indexed by Alu: CMP computes as SUB and
// TEST as AND (the result feeds the record and is not stored).
constexpr x86::Inst::Id kHostAluOp[] = {
    x86::Inst::kIdNone, x86::Inst::kIdAdd, x86::Inst::kIdAdc, x86::Inst::kIdSub, x86::Inst::kIdSbb,
    x86::Inst::kIdSub,  x86::Inst::kIdAnd, x86::Inst::kIdOr,  x86::Inst::kIdXor, x86::Inst::kIdAnd};
static_assert(std::size(kHostAluOp) == static_cast<unsigned>(Alu::Test) + 1);

// Immediates as the host instruction takes them (sign-extended to the operand).
asmjit::Imm sized_imm(uint64_t v, unsigned sz) {
  switch (sz) {
    case 1: return imm(static_cast<int8_t>(v));
    case 2: return imm(static_cast<int16_t>(v));
    default: return imm(static_cast<int32_t>(v));
  }
}

void emit_carry_in(Emitter& a, const Gp& state, const FlagSource& in);

bool emit_alu(Emitter& a, const Gp& state, const DecodedInsn& d, const Ctx& cx, Label slow, bool& uses_slow,
              FlagSource& flags, const FlagSource& in, const AluForm& f) {
  const unsigned sz = f.byte ? 1 : d.osize;
  if (sz != 1 && sz != 2 && sz != 4 && sz != 8) return false;
  const bool rex = has_rex(d);
  const bool writes = f.op != Alu::Cmp && f.op != Alu::Test;
  const bool rm_dest = f.form == Form::Ev_Gv || f.form == Form::Ev_I;
  const bool rm_src = f.form == Form::Gv_Ev;
  const bool mem = (rm_dest || rm_src) && d.mod != 3;
  const bool from_imm = f.form == Form::Ev_I || f.form == Form::rAX_I;
  const machine::FlagKind kind = f.op == Alu::Add                         ? machine::FlagKind::Add
                                 : f.op == Alu::Adc                       ? machine::FlagKind::Adc
                                 : f.op == Alu::Sbb                       ? machine::FlagKind::Sbb
                                 : (f.op == Alu::Sub || f.op == Alu::Cmp) ? machine::FlagKind::Sub
                                                                          : machine::FlagKind::Logic;
  const bool carry_in = f.op == Alu::Adc || f.op == Alu::Sbb;
  // The record only when a later reader may see these flags (flag_liveness).
  const bool record = cx.live_out & frontend::F_ALL;
  const bool keep_sources = record && kind != machine::FlagKind::Logic;
  // An immediate the host instruction can carry (a 64-bit one sign-extends from 32).
  const bool imm_direct = from_imm && !keep_sources &&
                          (sz < 8 || static_cast<int64_t>(d.imm) == static_cast<int32_t>(d.imm));
  const Gp A = x86::r9, B = x86::r10, R = x86::r11;
  // A register destination the block keeps in a host register, at 32 or 64 bits:
  // the host instruction works on it in place (a 32-bit one zero-extends it, as the
  // guest's does). ADC/SBB take the guest CF first; the moves after keep it.
  const unsigned dest_reg = rm_dest ? d.rm : f.form == Form::rAX_I ? 0 : d.reg;
  if (writes && !mem && (sz == 4 || sz == 8) && a.rc.has(dest_reg)) {
    const Gp h = sized(a.rc.host(dest_reg), sz);
    if (carry_in) emit_carry_in(a, state, in);
    if (keep_sources) a.mov(sized(A, sz), h);  // src1, zero-extended
    asmjit::Operand src;
    if (from_imm) {
      if (imm_direct) src = sized_imm(d.imm, sz);
      else a.mov(B, imm(d.imm & mask_of(sz)));
    } else {
      load_reg(a, state, B, rm_src ? d.rm : d.reg, sz);
    }
    if (!src.isImm()) src = sized(B, sz);
    a.rc.note_use(dest_reg);
    a.rc.dirty |= static_cast<uint16_t>(1u << dest_reg);
    static const asmjit::InstId kOp[] = {x86::Inst::kIdNone, x86::Inst::kIdAdd, x86::Inst::kIdAdc, x86::Inst::kIdSub, x86::Inst::kIdSbb,
                                         x86::Inst::kIdNone, x86::Inst::kIdAnd, x86::Inst::kIdOr, x86::Inst::kIdXor};
    a.emit(kOp[static_cast<int>(f.op)], h, src);
    const Gp res = a.rc.host(dest_reg);
    if (record) {
      if (kind == machine::FlagKind::Logic) emit_record(a, state, kind, sz, res, nullptr, nullptr);
      else emit_record(a, state, kind, sz, res, &A, &B);
      flags = FlagSource{static_cast<unsigned>(kind), sz, true};
    } else {
      flags = in;
      flags.host = true;
    }
    return true;
  }
  if (mem) {
    emit_mem_ptr(a, state, d, cx, sz, writes && rm_dest, slow);
    uses_slow = true;
  }
  // ADC/SBB: the guest CF into the host CF (may call a thunk: before the loads).
  // Everything after it up to the operation is moves, which keep it.
  if (carry_in) emit_carry_in(a, state, mem ? FlagSource{in.kind, in.size, false} : in);
  // A = destination operand, B = source operand (zero-extended).
  if (rm_dest) {
    if (mem) load_host(a, A, x86::r8, sz);
    else load_gpr(a, state, A, d.rm, sz, rex);
  } else {
    load_gpr(a, state, A, f.form == Form::rAX_I ? 0 : d.reg, sz, rex);
  }
  if (from_imm) {
    if (!imm_direct) a.mov(B, imm(d.imm & mask_of(sz)));
  } else if (rm_src) {
    if (mem) load_host(a, B, x86::r8, sz);
    else load_gpr(a, state, B, d.rm, sz, rex);
  } else {
    load_gpr(a, state, B, d.reg, sz, rex);
  }
  // The operation at the operand size, so the host flags are the guest's. R keeps
  // the zero-extended result: a 32-bit operation clears the upper half, and 8- and
  // 16-bit ones leave A's upper bits, which are zero.
  const Gp r = sized(R, sz);
  a.mov(R, A);
  const x86::Inst::Id host_op = kHostAluOp[static_cast<unsigned>(f.op)];  // f.op is not None (emit_fast)
  if (imm_direct) a.emit(host_op, r, sized_imm(d.imm, sz));
  else a.emit(host_op, r, sized(B, sz));
  if (writes) {
    if (rm_dest && mem) store_host(a, x86::r8, R, sz);
    else store_gpr(a, state, R, rm_dest ? d.rm : f.form == Form::rAX_I ? 0 : d.reg, sz, rex);
  }
  if (record) {
    if (kind == machine::FlagKind::Logic) emit_record(a, state, kind, sz, R, nullptr, nullptr);
    else emit_record(a, state, kind, sz, R, &A, &B);
    flags = FlagSource{static_cast<unsigned>(kind), sz, !mem};
  } else {
    // Dead flags: the older record stays. With a slow path the handler writes
    // this instruction's record instead, so the kind in memory is unknown.
    flags = in;
    flags.host = !mem;
    if (mem) flags.kind = 0;
  }
  return true;
}

}  // namespace

namespace {

// The guest CF in the host's CF, from the flags before the instruction (`in`):
// the host's own when they are the guest's, else re-created from the lazy record
// or asked of carry_thunk. Keeps r8 (a host pointer already computed).
void emit_carry_in(Emitter& a, const Gp& state, const FlagSource& in) {
  if (in.host) return;
  if (emit_host_flags(a, state, FlagSource{in.kind, in.size, false}, 2)) return;
  a.push(x86::r8);
  a.sub(x86::rsp, 8);  // keep the stack 16-byte aligned for the call
  a.mov(x86::rdi, state);
  a.mov(x86::rax, imm(reinterpret_cast<uint64_t>(&carry_thunk)));
  a.call(x86::rax);
  a.add(x86::rsp, 8);
  a.pop(x86::r8);
  a.add(x86::al, 0xFF);  // CF = (al != 0)
}

}  // namespace

// The r/m destination of a read-modify-write form: loads it into `v` (r8 holds
// the host pointer for a memory operand). Returns whether it is in memory.
bool load_rmw(Emitter& a, const Gp& state, const DecodedInsn& d, const Ctx& cx, unsigned sz, const Gp& v,
              Label slow, bool& uses_slow) {
  if (d.mod == 3) {
    if (a.rc.has(d.rm) && v == a.rc.host(d.rm)) return false;  // worked on in place (rmw_value)
    load_gpr(a, state, v, d.rm, sz, has_rex(d));
    return false;
  }
  emit_mem_ptr(a, state, d, cx, sz, true, slow);
  uses_slow = true;
  load_host(a, v, x86::r8, sz);
  return true;
}

void store_rmw(Emitter& a, const Gp& state, const DecodedInsn& d, unsigned sz, const Gp& v, bool mem) {
  if (mem) {
    store_host(a, x86::r8, v, sz);
  } else if (a.rc.has(d.rm) && v == a.rc.host(d.rm)) {
    a.rc.dirty |= static_cast<uint16_t>(1u << d.rm);  // written in place
  } else {
    store_gpr(a, state, v, d.rm, sz, has_rex(d));
  }
}

// The register a read-modify-write form computes in: a cached guest register of
// 32 or 64 bits itself (the host's 32-bit operation zero-extends it as the guest's
// does; the form must write it on every path), else r9.
Gp rmw_value(const Emitter& a, const DecodedInsn& d, unsigned sz) {
  if (d.mod == 3 && (sz == 4 || sz == 8) && a.rc.has(d.rm)) return a.rc.host(d.rm);
  return x86::r9;
}

// After an eager setter (shifts, IMUL): r11 holds the six flags for RFLAGS.
void finish_eager(Emitter& a, const Gp& state, FlagSource& flags, unsigned sz, bool host_ok) {
  emit_set_arith(a, state);
  flags = FlagSource{kEager, sz, host_ok};
}

// The instruction's flags are dead: the older record stays in memory (or, with a
// slow path that writes this instruction's record, an unknown one).
void flags_dead(FlagSource& flags, const FlagSource& in, bool mem, bool host_ok) {
  flags = in;
  flags.host = host_ok && !mem;
  if (mem) flags.kind = 0;
}

namespace {

// lf_aux = CF of the lazy record whose kind is known only at run time (a block's
// start, after a handler): the commonest kinds inline (SUB/CMP at 32 and 64 bits,
// logic, folded, INC/DEC, whose lf_aux already holds it), the others through
// carry_thunk (get_cf).
void emit_carry_to_aux(Emitter& a, const Gp& state) {
  using machine::FlagKind;
  Label done = a.newLabel(), not_sub32 = a.newLabel(), not_sub64 = a.newLabel(), not_logic = a.newLabel(),
        not_none = a.newLabel();
  a.movzx(x86::eax, x86::word_ptr(state, kOffLfKind));  // kind | size code << 8
  a.cmp(x86::eax, static_cast<unsigned>(FlagKind::Sub) | (2u << 8));
  a.jne(not_sub32);
  a.mov(x86::ecx, x86::dword_ptr(state, kOffLfSrc1));
  a.cmp(x86::ecx, x86::dword_ptr(state, kOffLfSrc2));
  a.setb(x86::byte_ptr(state, kOffLfAux));
  a.jmp(done);
  a.bind(not_sub32);
  a.cmp(x86::eax, static_cast<unsigned>(FlagKind::Sub) | (3u << 8));
  a.jne(not_sub64);
  a.mov(x86::rcx, x86::qword_ptr(state, kOffLfSrc1));
  a.cmp(x86::rcx, x86::qword_ptr(state, kOffLfSrc2));
  a.setb(x86::byte_ptr(state, kOffLfAux));
  a.jmp(done);
  a.bind(not_sub64);
  a.cmp(x86::al, static_cast<unsigned>(FlagKind::Logic));
  a.jne(not_logic);
  a.mov(x86::byte_ptr(state, kOffLfAux), 0);
  a.jmp(done);
  a.bind(not_logic);
  a.test(x86::al, x86::al);  // FlagKind::None: RFLAGS holds CF
  a.jnz(not_none);
  a.mov(x86::eax, x86::dword_ptr(state, kOffRflags));
  a.and_(x86::eax, 1);
  a.mov(x86::byte_ptr(state, kOffLfAux), x86::al);
  a.jmp(done);
  a.bind(not_none);
  a.cmp(x86::al, static_cast<unsigned>(FlagKind::Inc));
  a.je(done);
  a.cmp(x86::al, static_cast<unsigned>(FlagKind::Dec));
  a.je(done);
  a.mov(x86::rdi, state);
  a.mov(x86::rax, imm(reinterpret_cast<uint64_t>(&carry_thunk)));
  a.call(x86::rax);
  a.mov(x86::byte_ptr(state, kOffLfAux), x86::al);
  a.bind(done);
}

// A flag helper call for a form whose older flags must be whole in RFLAGS.
void materialize_thunk(CpuState* c) { machine::materialize_flags(*c); }

}  // namespace

// Rotates with live CF/OF (SDM Vol. 2B, RCL/RCR/ROL/ROR "Flags Affected"): the
// other flags stay, so the older ones are needed whole. Step 1, before anything
// else (it may call): when the record cannot be re-created on the host, fold it
// into RFLAGS.
void old_flags_prepare(Emitter& a, const Gp& state, const FlagSource& in) {
  using machine::FlagKind;
  if (in.kind == kEager || in.kind == static_cast<unsigned>(FlagKind::Add) ||
      in.kind == static_cast<unsigned>(FlagKind::Sub) || in.kind == static_cast<unsigned>(FlagKind::Logic) ||
      in.kind == static_cast<unsigned>(FlagKind::Inc) || in.kind == static_cast<unsigned>(FlagKind::Dec))
    return;
  a.mov(x86::rdi, state);
  a.mov(x86::rax, imm(reinterpret_cast<uint64_t>(&materialize_thunk)));
  a.call(x86::rax);
}

// Step 2 (no calls; clobbers rax, rcx): the older six flags into r11.
void old_flags_r11(Emitter& a, const Gp& state, const FlagSource& in) {
  using machine::FlagKind;
  if (in.kind == static_cast<unsigned>(FlagKind::Add) || in.kind == static_cast<unsigned>(FlagKind::Sub) ||
      in.kind == static_cast<unsigned>(FlagKind::Logic)) {
    // The host's ADD/CMP at the record's size give all six (AF too); after TEST
    // only PF, ZF and SF count (a logic record has CF, OF and AF clear).
    emit_host_flags(a, state, FlagSource{in.kind, in.size, false}, 0);
    a.pushfq();
    a.pop(x86::r11);
    a.and_(x86::r11d, in.kind == static_cast<unsigned>(FlagKind::Logic)
                          ? static_cast<uint32_t>(machine::kPF | machine::kZF | machine::kSF)
                          : static_cast<uint32_t>(machine::kArithFlags));
    return;
  }
  if (in.kind == static_cast<unsigned>(FlagKind::Inc) || in.kind == static_cast<unsigned>(FlagKind::Dec)) {
    // The host's ADD/SUB of 1 that re-make the result give OF, SF, ZF, AF and PF as
    // INC/DEC defined them; CF is the preserved one in lf_aux.
    emit_host_flags(a, state, FlagSource{in.kind, in.size, false}, 0);
    a.pushfq();
    a.pop(x86::r11);
    a.and_(x86::r11d, static_cast<uint32_t>(machine::kArithFlags & ~machine::kCF));
    a.movzx(x86::eax, x86::byte_ptr(state, kOffLfAux));
    a.or_(x86::r11d, x86::eax);
    return;
  }
  a.mov(x86::r11, x86::qword_ptr(state, kOffRflags));  // kEager, or folded by step 1
  a.and_(x86::r11d, static_cast<uint32_t>(machine::kArithFlags));
}

namespace {

// Step 3, right after the host's ROL/ROR of V (sized `bits`): CF from the host,
// OF as the handler defines it for any count (ROL: MSB(r) ^ CF; ROR: the two top
// bits of r differ), merged into r11's older flags.
void rotate_flags_r11(Emitter& a, const Gp& V, unsigned bits, bool rol) {
  a.setc(x86::al);
  a.movzx(x86::eax, x86::al);  // CF
  a.mov(x86::rcx, V);
  if (rol) {
    a.shr(x86::rcx, bits - 1);
    a.xor_(x86::ecx, x86::eax);
  } else {
    a.mov(x86::rdx, V);
    a.shr(x86::rcx, bits - 1);
    a.shr(x86::rdx, bits - 2);
    a.xor_(x86::ecx, x86::edx);
  }
  a.and_(x86::ecx, 1);
  a.shl(x86::ecx, 11);  // OF
  a.or_(x86::eax, x86::ecx);
  a.and_(x86::r11d, ~static_cast<uint32_t>(machine::kCF | machine::kOF));
  a.or_(x86::r11d, x86::eax);
}

enum class Shift { Rol, Ror, Shl, Shr, Sar, Other };

struct ShiftForm {
  Shift op = Shift::Other;
  bool byte = false;
  int count = 0;  // -1: CL
};

ShiftForm classify_shift(const DecodedInsn& d) {
  ShiftForm f;
  switch (d.id) {
#define SHIFT_CASES(NAME, OP)                                                                                \
  case InsnId::NAME##_Eb_Ib: f = {Shift::OP, true, static_cast<int>(d.imm & 0xFF)}; break;                    \
  case InsnId::NAME##_Ev_Ib: f = {Shift::OP, false, static_cast<int>(d.imm & 0xFF)}; break;                   \
  case InsnId::NAME##_Eb_1: f = {Shift::OP, true, 1}; break;                                                  \
  case InsnId::NAME##_Ev_1: f = {Shift::OP, false, 1}; break;                                                 \
  case InsnId::NAME##_Eb_CL: f = {Shift::OP, true, -1}; break;                                                \
  case InsnId::NAME##_Ev_CL: f = {Shift::OP, false, -1}; break;
    SHIFT_CASES(ROL, Rol)
    SHIFT_CASES(ROR, Ror)
    SHIFT_CASES(SHL, Shl)
    SHIFT_CASES(SAL, Shl)
    SHIFT_CASES(SHR, Shr)
    SHIFT_CASES(SAR, Sar)
#undef SHIFT_CASES
    default: break;
  }
  return f;
}

// SHL/SHR/SAR/ROL/ROR by an immediate or CL. The handler's effect (shift.cpp):
// the count masked to 5 bits (6 for 64-bit operands); a masked count of 0 changes
// nothing but still writes a 32-bit register (its upper half cleared); shifts set
// CF, PF, ZF, SF, OF (MSB(r)^CF for SHL, MSB(a) for SHR, 0 for SAR, for any count)
// and clear AF; rotates set CF and OF alone. Where the flags are live and the host
// cannot give them cheaply (rotates, 8/16-bit counts from CL) the handler runs.
bool emit_shift(Emitter& a, const Gp& state, const DecodedInsn& d, const Ctx& cx, Label slow, bool& uses_slow,
                FlagSource& flags, const FlagSource& in, const ShiftForm& f) {
  const unsigned sz = f.byte ? 1 : d.osize;
  if (sz != 1 && sz != 2 && sz != 4 && sz != 8) return false;
  const unsigned bits = sz * 8;
  const unsigned cmask = sz == 8 ? 0x3F : 0x1F;
  const bool rotate = f.op == Shift::Rol || f.op == Shift::Ror;
  const bool live = cx.live_out & (rotate ? (frontend::F_CF | frontend::F_OF) : frontend::F_ALL);
  if (f.count >= 0) {
    const Gp V = rmw_value(a, d, sz);
    const unsigned count = static_cast<unsigned>(f.count) & cmask;
    if (count == 0) return false;  // the handler's no-change case (rare)
    if (rotate && live) {
      old_flags_prepare(a, state, in);
      const bool mem = load_rmw(a, state, d, cx, sz, V, slow, uses_slow);
      old_flags_r11(a, state, in);
      if (f.op == Shift::Rol) a.rol(sized(V, sz), count);
      else a.ror(sized(V, sz), count);
      rotate_flags_r11(a, V, bits, f.op == Shift::Rol);
      store_rmw(a, state, d, sz, V, mem);
      finish_eager(a, state, flags, sz, false);
      return true;
    }
    if (rotate) {
      const bool mem = load_rmw(a, state, d, cx, sz, V, slow, uses_slow);
      if (f.op == Shift::Rol) a.rol(sized(V, sz), count);
      else a.ror(sized(V, sz), count);
      store_rmw(a, state, d, sz, V, mem);
      flags_dead(flags, in, mem, false);
      return true;
    }
    if (count >= bits) return false;  // 8- and 16-bit counts past the width: the handler
    const bool mem = load_rmw(a, state, d, cx, sz, V, slow, uses_slow);
    if (!live) {
      if (f.op == Shift::Shl) a.shl(sized(V, sz), count);
      else if (f.op == Shift::Shr) a.shr(sized(V, sz), count);
      else a.sar(sized(V, sz), count);
      store_rmw(a, state, d, sz, V, mem);
      flags_dead(flags, in, mem, false);
      return true;
    }
    a.mov(x86::r10, V);  // the original value (SHR's OF)
    if (f.op == Shift::Shl) a.shl(sized(V, sz), count);
    else if (f.op == Shift::Sar) a.sar(sized(V, sz), count);
    else a.shr(sized(V, sz), count);
    // CF, PF, ZF, SF from the host; OF as the handler defines it for any count; AF clear.
    a.pushfq();
    a.pop(x86::r11);
    a.and_(x86::r11d, static_cast<uint32_t>(machine::kCF | machine::kPF | machine::kZF | machine::kSF));
    if (f.op == Shift::Shl) {  // OF = MSB(result) ^ CF
      a.mov(x86::rax, V);
      a.shr(x86::rax, bits - 1);
      a.xor_(x86::eax, x86::r11d);
      a.and_(x86::eax, 1);
      a.shl(x86::eax, 11);
      a.or_(x86::r11d, x86::eax);
    } else if (f.op == Shift::Shr) {  // OF = MSB(original)
      a.shr(x86::r10, bits - 1);
      a.and_(x86::r10d, 1);
      a.shl(x86::r10d, 11);
      a.or_(x86::r11d, x86::r10d);
    }
    store_rmw(a, state, d, sz, V, mem);
    finish_eager(a, state, flags, sz, false);
    return true;
  }
  // By CL (r9: a zero count must still write a 32-bit register). The host masks the count as the guest does for 32- and 64-bit operands
  // and gives the handler's results for 8- and 16-bit ones too (counts past the
  // width shift everything out, rotates go round modulo the width), and a zero
  // count leaves the value and the host flags alone.
  if (live && sz < 4) return false;
  const Gp V = x86::r9;
  if (live && rotate) {
    old_flags_prepare(a, state, in);
    const bool mem = load_rmw(a, state, d, cx, sz, V, slow, uses_slow);
    old_flags_r11(a, state, in);
    load_gpr(a, state, x86::rcx, machine::RCX, 1, false);
    Label done = a.newLabel();
    if (f.op == Shift::Rol) a.rol(sized(V, sz), x86::cl);
    else a.ror(sized(V, sz), x86::cl);
    // A zero (masked) count changes nothing: the value is stored unchanged (a
    // 32-bit register still gets its upper half cleared) and the flags stay.
    a.setc(x86::r10b);  // rotate_flags_r11 wants CF in the host flags: keep it over the test
    a.test(x86::cl, cmask);
    a.jz(done);
    a.bt(x86::r10d, 0);
    rotate_flags_r11(a, V, bits, f.op == Shift::Rol);
    emit_set_arith(a, state);
    a.bind(done);
    store_rmw(a, state, d, sz, V, mem);
    flags = FlagSource{};  // a zero count left the older record: the kind in memory is unknown
    return true;
  }
  const bool mem = load_rmw(a, state, d, cx, sz, V, slow, uses_slow);
  load_gpr(a, state, x86::rcx, machine::RCX, 1, false);
  if (!live) {
    switch (f.op) {
      case Shift::Rol: a.rol(sized(V, sz), x86::cl); break;
      case Shift::Ror: a.ror(sized(V, sz), x86::cl); break;
      case Shift::Shl: a.shl(sized(V, sz), x86::cl); break;
      case Shift::Shr: a.shr(sized(V, sz), x86::cl); break;
      default: a.sar(sized(V, sz), x86::cl); break;
    }
    // A zero count stores the value unchanged: invisible (the handler writes a
    // register operand the same way; a memory operand was probed for writing).
    store_rmw(a, state, d, sz, V, mem);
    flags_dead(flags, in, mem, false);
    return true;
  }
  // 32/64-bit shift with live flags: nothing changes for a zero count.
  Label done = a.newLabel();
  a.mov(x86::r10, V);
  a.and_(x86::ecx, cmask);
  if (sz == 4 && !mem) {
    Label nonzero = a.newLabel();
    a.jnz(nonzero);
    store_rmw(a, state, d, sz, V, mem);  // the upper half cleared
    a.jmp(done);
    a.bind(nonzero);
  } else {
    a.jz(done);
  }
  if (f.op == Shift::Shl) a.shl(sized(V, sz), x86::cl);
  else if (f.op == Shift::Sar) a.sar(sized(V, sz), x86::cl);
  else a.shr(sized(V, sz), x86::cl);
  a.pushfq();
  a.pop(x86::r11);
  a.and_(x86::r11d, static_cast<uint32_t>(machine::kCF | machine::kPF | machine::kZF | machine::kSF));
  if (f.op == Shift::Shl) {
    a.mov(x86::rax, V);
    a.shr(x86::rax, bits - 1);
    a.xor_(x86::eax, x86::r11d);
    a.and_(x86::eax, 1);
    a.shl(x86::eax, 11);
    a.or_(x86::r11d, x86::eax);
  } else if (f.op == Shift::Shr) {
    a.shr(x86::r10, bits - 1);
    a.and_(x86::r10d, 1);
    a.shl(x86::r10d, 11);
    a.or_(x86::r11d, x86::r10d);
  }
  store_rmw(a, state, d, sz, V, mem);
  emit_set_arith(a, state);
  a.bind(done);
  // A zero count left the older record: the kind in memory is unknown here.
  flags = FlagSource{};
  return true;
}

}  // namespace

// Native forms; false leaves d to its handler. `flags` comes in describing the
// flags before d and leaves describing them after it; cx.live_out says which of
// d's flags a later reader may see (the others need not be produced at all).
bool emit_fast(Emitter& a, const Gp& state, const DecodedInsn& d, const Ctx& cx, Label slow, bool& uses_slow,
               FlagSource& flags) {
  uses_slow = false;
  const FlagSource in = flags;
  flags.host = false;  // each form below that leaves the host flags alone says so
  const unsigned os = d.osize;
  const bool osv = os == 2 || os == 4 || os == 8;
  const bool rex = has_rex(d);
  const Gp V = x86::r9;
  using machine::FlagKind;
  switch (d.id) {
    case InsnId::MOV_Gv_Ev: case InsnId::MOV_Gb_Eb: {
      const unsigned sz = d.id == InsnId::MOV_Gb_Eb ? 1 : os;
      if (sz != 1 && !osv) return false;
      if ((sz == 4 || sz == 8) && a.rc.has(d.reg)) {
        // Straight into the cached destination (a 32-bit move zero-extends it).
        const Gp h = a.rc.host(d.reg);
        emit_load_rm(a, state, d, cx, sz, h, slow, uses_slow);
        a.rc.note_use(d.reg);
        a.rc.dirty |= static_cast<uint16_t>(1u << d.reg);
        flags.host = in.host && d.mod == 3;
        return true;
      }
      emit_load_rm(a, state, d, cx, sz, V, slow, uses_slow);
      store_gpr(a, state, V, d.reg, sz, rex);
      flags.host = in.host && d.mod == 3;
      return true;
    }
    case InsnId::MOV_Ev_Gv: case InsnId::MOV_Eb_Gb: case InsnId::MOV_Ev_Iz: case InsnId::MOV_Eb_Ib: {
      const bool byte = d.id == InsnId::MOV_Eb_Gb || d.id == InsnId::MOV_Eb_Ib;
      const bool from_imm = d.id == InsnId::MOV_Ev_Iz || d.id == InsnId::MOV_Eb_Ib;
      const unsigned sz = byte ? 1 : os;
      if (sz != 1 && !osv) return false;
      if (d.mod != 3) {
        emit_mem_ptr(a, state, d, cx, sz, true, slow);
        uses_slow = true;
        if (!from_imm && (sz == 4 || sz == 8) && a.rc.has(d.reg)) {  // straight from the cached source
          a.rc.note_use(d.reg);
          store_host(a, x86::r8, a.rc.host(d.reg), sz);
          flags.host = false;
          return true;
        }
      }
      if (from_imm) a.mov(V, imm(d.imm & mask_of(sz)));
      else load_gpr(a, state, V, d.reg, sz, rex);
      if (d.mod != 3) store_host(a, x86::r8, V, sz);
      else store_gpr(a, state, V, d.rm, sz, rex);
      flags.host = in.host && d.mod == 3;
      return true;
    }
    case InsnId::MOV_Zv_Iv:
      if (!osv) return false;
      a.mov(V, imm(d.imm & mask_of(os)));
      store_reg(a, state, V, d.reg, os);
      flags.host = in.host;
      return true;
    case InsnId::MOVZX_Gv_Eb: case InsnId::MOVZX_Gv_Ew: case InsnId::MOVSX_Gv_Eb: case InsnId::MOVSX_Gv_Ew: {
      if (!osv) return false;
      const unsigned src = (d.id == InsnId::MOVZX_Gv_Eb || d.id == InsnId::MOVSX_Gv_Eb) ? 1 : 2;
      emit_load_rm(a, state, d, cx, src, V, slow, uses_slow);
      if (d.id == InsnId::MOVSX_Gv_Eb) a.movsx(V, V.r8());
      else if (d.id == InsnId::MOVSX_Gv_Ew) a.movsx(V, V.r16());
      store_reg(a, state, V, d.reg, os);
      flags.host = in.host && d.mod == 3;
      return true;
    }
    case InsnId::MOVSXD_Gv_Ed: {
      if (os != 4 && os != 8) return false;
      emit_load_rm(a, state, d, cx, 4, V, slow, uses_slow);
      if (os == 8) a.movsxd(V, V.r32());
      store_reg(a, state, V, d.reg, os);
      flags.host = in.host && d.mod == 3;
      return true;
    }
    case InsnId::LEA_Gv_M:
      if (!osv || d.mod == 3) return false;
      emit_ea(a, state, d, cx);  // moves and LEA only
      store_reg(a, state, x86::rsi, d.reg, os);
      flags.host = in.host;
      return true;
    case InsnId::CBW:  // CBW / CWDE / CDQE
      if (!osv) return false;
      load_reg(a, state, V, machine::RAX, 8);
      if (os == 2) a.movsx(V.r32(), V.r8());
      else if (os == 4) a.movsx(V.r32(), V.r16());
      else a.movsxd(V, V.r32());
      store_reg(a, state, V, machine::RAX, os);
      flags.host = in.host;
      return true;
    case InsnId::CWD:  // CWD / CDQ / CQO: RDX = the sign of rAX
      if (!osv) return false;
      load_reg(a, state, V, machine::RAX, 8);
      if (os == 2) { a.movsx(V.r32(), V.r16()); a.sar(V.r32(), 16); }
      else if (os == 4) a.sar(V.r32(), 31);
      else a.sar(V, 63);
      store_reg(a, state, V, machine::RDX, os);
      return true;
    case InsnId::BSWAP_Zv:
      if (os != 4 && os != 8) return false;
      load_reg(a, state, V, d.reg, os);
      a.bswap(sized(V, os));
      store_reg(a, state, V, d.reg, os);
      flags.host = in.host;
      return true;
    case InsnId::NOT_Ev: case InsnId::NOT_Eb: {
      const unsigned sz = d.id == InsnId::NOT_Eb ? 1 : os;
      if (sz != 1 && !osv) return false;
      const bool mem = load_rmw(a, state, d, cx, sz, V, slow, uses_slow);
      a.not_(sized(V, sz));
      store_rmw(a, state, d, sz, V, mem);
      flags = in;
      flags.host = in.host && !mem;
      return true;
    }
    case InsnId::NEG_Ev: case InsnId::NEG_Eb: {  // flags of 0 - a: a Sub record (0, a)
      const unsigned sz = d.id == InsnId::NEG_Eb ? 1 : os;
      if (sz != 1 && !osv) return false;
      const bool mem = load_rmw(a, state, d, cx, sz, x86::r10, slow, uses_slow);
      a.mov(V, x86::r10);
      a.neg(sized(V, sz));
      if (sz < 4) a.movzx(V.r32(), sized(V, sz));
      store_rmw(a, state, d, sz, V, mem);
      if (cx.live_out & frontend::F_ALL) {
        a.mov(x86::word_ptr(state, kOffLfKind), imm(static_cast<unsigned>(FlagKind::Sub) | (size_code(sz) << 8)));
        a.mov(x86::qword_ptr(state, kOffLfRes), V);
        a.mov(x86::qword_ptr(state, kOffLfSrc1), 0);
        a.mov(x86::qword_ptr(state, kOffLfSrc2), x86::r10);
        flags = FlagSource{static_cast<unsigned>(FlagKind::Sub), sz, !mem};
      } else {
        flags_dead(flags, in, mem, true);
      }
      return true;
    }
    case InsnId::INC_Zv: case InsnId::DEC_Zv: case InsnId::INC_Ev: case InsnId::DEC_Ev: case InsnId::INC_Eb:
    case InsnId::DEC_Eb: {
      const bool inc = d.id == InsnId::INC_Zv || d.id == InsnId::INC_Ev || d.id == InsnId::INC_Eb;
      const bool byte = d.id == InsnId::INC_Eb || d.id == InsnId::DEC_Eb;
      const bool zv = d.id == InsnId::INC_Zv || d.id == InsnId::DEC_Zv;
      const unsigned sz = byte ? 1 : os;
      if (sz != 1 && !osv) return false;
      const bool record = cx.live_out & frontend::F_OSZAP;
      // CF is preserved in lf_aux: first, as the thunk's call clobbers every scratch
      // register. Only when the record is written and a later reader wants CF.
      if (record && (cx.live_out & frontend::F_CF)) {
        if (in.host) {
          a.setc(x86::byte_ptr(state, kOffLfAux));
        } else if (in.kind == static_cast<unsigned>(FlagKind::Logic)) {
          a.mov(x86::byte_ptr(state, kOffLfAux), 0);
        } else if (in.kind == static_cast<unsigned>(FlagKind::Add) || in.kind == static_cast<unsigned>(FlagKind::Sub) ||
                   in.kind == kEager) {
          emit_host_flags(a, state, in, 2);
          a.setc(x86::byte_ptr(state, kOffLfAux));
        } else if (in.kind != static_cast<unsigned>(FlagKind::Inc) && in.kind != static_cast<unsigned>(FlagKind::Dec)) {
          emit_carry_to_aux(a, state);
        }
      }
      const bool mem = !zv && d.mod != 3;
      const unsigned r = zv ? d.reg : d.rm;
      if (mem) {
        emit_mem_ptr(a, state, d, cx, sz, true, slow);
        uses_slow = true;
        load_host(a, V, x86::r8, sz);
      } else {
        load_gpr(a, state, V, r, sz, zv ? false : rex);
      }
      // The host's INC/DEC keep the host CF too: with host flags valid before, they stay valid.
      if (inc) a.inc(sized(V, sz));
      else a.dec(sized(V, sz));
      if (sz == 2) a.movzx(V.r32(), V.r16());
      else if (sz == 1) a.movzx(V.r32(), V.r8());
      if (mem) store_host(a, x86::r8, V, sz);
      else store_gpr(a, state, V, r, sz, zv ? false : rex);
      if (record) {
        a.mov(x86::word_ptr(state, kOffLfKind),
              imm(static_cast<unsigned>(inc ? FlagKind::Inc : FlagKind::Dec) | (size_code(sz) << 8)));
        a.mov(x86::qword_ptr(state, kOffLfRes), V);
        flags = FlagSource{static_cast<unsigned>(inc ? FlagKind::Inc : FlagKind::Dec), sz, in.host && !mem};
      } else {
        flags_dead(flags, in, mem, in.host);
      }
      return true;
    }
    case InsnId::IMUL_Gv_Ev: case InsnId::IMUL_Gv_Ev_Iz: case InsnId::IMUL_Gv_Ev_Ib: {
      if (!osv) return false;
      emit_load_rm(a, state, d, cx, os, V, slow, uses_slow);
      if (d.id == InsnId::IMUL_Gv_Ev) load_reg(a, state, x86::r10, d.reg, os);
      else a.mov(x86::r10, imm(d.imm & mask_of(os)));
      a.imul(sized(V, os), sized(x86::r10, os));
      if (!(cx.live_out & frontend::F_ALL)) {
        store_reg(a, state, V, d.reg, os);
        flags_dead(flags, in, d.mod != 3, false);
        return true;
      }
      a.seto(x86::al);
      a.movzx(x86::eax, x86::al);
      a.imul(x86::eax, x86::eax, static_cast<uint32_t>(machine::kCF | machine::kOF));
      a.test(sized(V, os), sized(V, os));  // ZF, SF and PF of the truncated product
      a.pushfq();
      a.pop(x86::r11);
      a.and_(x86::r11d, static_cast<uint32_t>(machine::kPF | machine::kZF | machine::kSF));
      a.or_(x86::r11d, x86::eax);
      store_reg(a, state, V, d.reg, os);
      finish_eager(a, state, flags, os, false);
      return true;
    }
    case InsnId::CMOVcc_Gv_Ev: {
      if (!osv) return false;
      if (d.mod == 3 && in.host) {
        // Host flags are the guest's: the host's CMOVcc (a 32-bit one zero-extends either way).
        load_reg(a, state, V, d.reg, os);
        load_reg(a, state, x86::r10, d.rm, os);
        a.cmov(static_cast<x86::CondCode>(d.op & 0xF), sized(V, os == 2 ? 4 : os), sized(x86::r10, os == 2 ? 4 : os));
        store_reg(a, state, V, d.reg, os);
        flags.host = true;
        return true;
      }
      emit_condition_r10(a, state, in, d.op & 0xF);
      emit_load_rm(a, state, d, cx, os, V, slow, uses_slow);
      Label skip = a.newLabel(), done = a.newLabel();
      a.test(x86::r10d, x86::r10d);
      a.jz(skip);
      store_reg(a, state, V, d.reg, os);
      a.jmp(done);
      a.bind(skip);
      if (os == 4) {  // a 32-bit destination is written (zero-extended) either way
        load_reg(a, state, V, d.reg, 4);
        store_reg(a, state, V, d.reg, 4);
      }
      a.bind(done);
      return true;
    }
    case InsnId::SETcc_Eb:
      if (d.mod == 3 && in.host) {
        emit_setcc_reg8(a, state, d.op & 0xF, d.rm, rex);
        flags.host = true;
        return true;
      }
      emit_condition_r10(a, state, in, d.op & 0xF);
      if (d.mod != 3) {
        emit_mem_ptr(a, state, d, cx, 1, true, slow);
        uses_slow = true;
        store_host(a, x86::r8, x86::r10, 1);
      } else {
        store_gpr(a, state, x86::r10, d.rm, 1, rex);
      }
      return true;
    case InsnId::MOVSB: case InsnId::MOVSv: case InsnId::STOSB: case InsnId::STOSv: case InsnId::LODSB:
    case InsnId::LODSv: {
      // One iteration without a REP prefix (string_ops.cpp's `iteration`): both
      // accesses are translated before anything changes, so a miss or a fault is
      // the handler's whole instruction; then rSI/rDI move up by the size at the
      // address size. DF set (moving down, rare) is the handler's too.
      if (d.pfx & (frontend::kPfxRep | frontend::kPfxRepne)) return false;
      const bool byte = d.id == InsnId::MOVSB || d.id == InsnId::STOSB || d.id == InsnId::LODSB;
      const unsigned sz = byte ? 1 : os;
      if (sz != 1 && !osv) return false;
      const bool movs = d.id == InsnId::MOVSB || d.id == InsnId::MOVSv;
      const bool lods = d.id == InsnId::LODSB || d.id == InsnId::LODSv;
      const unsigned as = d.asize;
      uses_slow = true;
      a.test(x86::dword_ptr(state, kOffRflags), static_cast<uint32_t>(machine::kDF));
      a.jnz(slow);
      if (!lods) {
        DecodedInsn es = d;
        es.seg = machine::ES;
        load_reg(a, state, x86::rsi, machine::RDI, as);
        emit_translate(a, state, es, cx, sz, true, slow);
        a.mov(x86::r8, x86::rdx);
        if (cx.journal) emit_journal(a, state, sz);
      }
      if (movs || lods) {
        load_reg(a, state, x86::rsi, machine::RSI, as);
        emit_translate(a, state, d, cx, sz, false, slow);
        load_host(a, V, x86::rdx, sz);
      } else {
        load_gpr(a, state, V, machine::RAX, sz, false);
      }
      if (lods) store_gpr(a, state, V, machine::RAX, sz, false);
      else store_host(a, x86::r8, V, sz);
      for (unsigned r : {static_cast<unsigned>(machine::RSI), static_cast<unsigned>(machine::RDI)}) {
        if (r == machine::RSI ? !(movs || lods) : lods) continue;
        load_reg(a, state, x86::rcx, r, 8);
        a.lea(x86::rcx, x86::ptr(x86::rcx, static_cast<int32_t>(sz)));
        store_reg(a, state, x86::rcx, r, as);
      }
      return true;
    }
    case InsnId::PUSH_Zv: case InsnId::PUSH_Iz: case InsnId::PUSH_Ib: {
      // Store at RSP - width first, then move RSP (a fault leaves RSP as it was);
      // PUSH RSP stores the old value. A 32-bit stack changes ESP only (set_sp).
      const unsigned w = native_stack_width(cx, d, cx.flat32);
      if (!w) return false;
      emit_stack_ptr(a, state, d, cx, -static_cast<int32_t>(w), w, true, slow);
      uses_slow = true;
      a.mov(x86::r8, x86::rdx);
      if (cx.journal) emit_journal(a, state, w);
      if (d.id == InsnId::PUSH_Zv) load_reg(a, state, V, d.reg, w);
      else a.mov(V, imm(d.imm & mask_of(w)));
      store_host(a, x86::r8, V, w);
      add_reg_imm(a, state, machine::RSP, w, -static_cast<int32_t>(w), x86::rax);
      return true;
    }
    case InsnId::POP_Zv: {
      // RSP moves before the register is written, so POP RSP keeps the loaded value.
      const unsigned w = native_stack_width(cx, d, cx.flat32);
      if (!w) return false;
      emit_stack_ptr(a, state, d, cx, 0, w, false, slow);
      uses_slow = true;
      load_host(a, V, x86::rdx, w);
      add_reg_imm(a, state, machine::RSP, w, static_cast<int32_t>(w), x86::rax);
      store_reg(a, state, V, d.reg, w);
      return true;
    }
    default:
      break;
  }
  const ShiftForm sf = classify_shift(d);
  if (sf.op != Shift::Other) return emit_shift(a, state, d, cx, slow, uses_slow, flags, in, sf);
  AluForm f = classify_alu(d.id);
  if (f.op == Alu::None) return emit_fast_ext(a, state, d, cx, slow, uses_slow, flags, in);
  return emit_alu(a, state, d, cx, slow, uses_slow, flags, in, f);
}

}  // namespace kestrel::jit
