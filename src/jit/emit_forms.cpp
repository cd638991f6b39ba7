// The native forms: instructions emitted as host code instead of a handler call.
#include "jit/emit.h"

namespace kestrel::jit {

namespace {

enum class Alu { None, Add, Sub, Cmp, And, Or, Xor, Test };
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

bool emit_alu(x86::Assembler& a, const Gp& state, const DecodedInsn& d, const Ctx& cx, Label slow, bool& uses_slow,
              FlagSource& flags, const AluForm& f) {
  const unsigned sz = f.byte ? 1 : d.osize;
  if (sz != 1 && sz != 2 && sz != 4 && sz != 8) return false;
  const bool rex = has_rex(d);
  const bool writes = f.op != Alu::Cmp && f.op != Alu::Test;
  const bool rm_dest = f.form == Form::Ev_Gv || f.form == Form::Ev_I;
  const bool rm_src = f.form == Form::Gv_Ev;
  const bool mem = (rm_dest || rm_src) && d.mod != 3;
  const Gp A = x86::r9, B = x86::r10, R = x86::r11;
  if (mem) {
    emit_mem_ptr(a, state, d, cx, sz, writes && rm_dest, slow);
    uses_slow = true;
  }
  // A = destination operand, B = source operand.
  if (rm_dest) {
    if (mem) load_host(a, A, x86::r8, sz);
    else load_gpr(a, state, A, d.rm, sz, rex);
  } else {
    load_gpr(a, state, A, f.form == Form::rAX_I ? 0 : d.reg, sz, rex);
  }
  if (f.form == Form::Ev_I || f.form == Form::rAX_I) a.mov(B, imm(d.imm & mask_of(sz)));
  else if (rm_src) {
    if (mem) load_host(a, B, x86::r8, sz);
    else load_gpr(a, state, B, d.rm, sz, rex);
  } else {
    load_gpr(a, state, B, d.reg, sz, rex);
  }
  a.mov(R, A);
  switch (f.op) {
    case Alu::Add: a.add(R, B); break;
    case Alu::Sub: case Alu::Cmp: a.sub(R, B); break;
    case Alu::And: case Alu::Test: a.and_(R, B); break;
    case Alu::Or: a.or_(R, B); break;
    case Alu::Xor: a.xor_(R, B); break;
    default: return false;
  }
  if (sz == 4) a.mov(R.r32(), R.r32());
  else if (sz == 2) a.movzx(R.r32(), R.r16());
  else if (sz == 1) a.movzx(R.r32(), R.r8());
  if (writes) {
    if (rm_dest && mem) store_host(a, x86::r8, R, sz);
    else store_gpr(a, state, R, rm_dest ? d.rm : f.form == Form::rAX_I ? 0 : d.reg, sz, rex);
  }
  machine::FlagKind kind = f.op == Alu::Add ? machine::FlagKind::Add
                           : (f.op == Alu::Sub || f.op == Alu::Cmp) ? machine::FlagKind::Sub
                                                                    : machine::FlagKind::Logic;
  if (kind == machine::FlagKind::Logic) emit_record(a, state, kind, sz, R, nullptr, nullptr);
  else emit_record(a, state, kind, sz, R, &A, &B);
  flags = FlagSource{static_cast<unsigned>(kind), sz};
  return true;
}

}  // namespace

// Native forms; false leaves d to its handler.
bool emit_fast(x86::Assembler& a, const Gp& state, const DecodedInsn& d, const Ctx& cx, Label slow, bool& uses_slow,
               FlagSource& flags) {
  uses_slow = false;
  const unsigned os = d.osize;
  const bool osv = os == 2 || os == 4 || os == 8;
  const bool rex = has_rex(d);
  const Gp V = x86::r9;
  switch (d.id) {
    case InsnId::MOV_Gv_Ev: case InsnId::MOV_Gb_Eb: {
      const unsigned sz = d.id == InsnId::MOV_Gb_Eb ? 1 : os;
      if (sz != 1 && !osv) return false;
      emit_load_rm(a, state, d, cx, sz, V, slow, uses_slow);
      store_gpr(a, state, V, d.reg, sz, rex);
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
      }
      if (from_imm) a.mov(V, imm(d.imm & mask_of(sz)));
      else load_gpr(a, state, V, d.reg, sz, rex);
      if (d.mod != 3) store_host(a, x86::r8, V, sz);
      else store_gpr(a, state, V, d.rm, sz, rex);
      return true;
    }
    case InsnId::MOV_Zv_Iv:
      if (!osv) return false;
      a.mov(V, imm(d.imm & mask_of(os)));
      store_reg(a, state, V, d.reg, os);
      return true;
    case InsnId::MOVZX_Gv_Eb: case InsnId::MOVZX_Gv_Ew: case InsnId::MOVSX_Gv_Eb: case InsnId::MOVSX_Gv_Ew: {
      if (!osv) return false;
      const unsigned src = (d.id == InsnId::MOVZX_Gv_Eb || d.id == InsnId::MOVSX_Gv_Eb) ? 1 : 2;
      emit_load_rm(a, state, d, cx, src, V, slow, uses_slow);
      if (d.id == InsnId::MOVSX_Gv_Eb) a.movsx(V, V.r8());
      else if (d.id == InsnId::MOVSX_Gv_Ew) a.movsx(V, V.r16());
      store_reg(a, state, V, d.reg, os);
      return true;
    }
    case InsnId::LEA_Gv_M:
      if (!osv || d.mod == 3) return false;
      emit_ea(a, state, d, cx);
      store_reg(a, state, x86::rsi, d.reg, os);
      return true;
    case InsnId::INC_Zv: case InsnId::DEC_Zv: case InsnId::INC_Ev: case InsnId::DEC_Ev: case InsnId::INC_Eb:
    case InsnId::DEC_Eb: {
      const bool inc = d.id == InsnId::INC_Zv || d.id == InsnId::INC_Ev || d.id == InsnId::INC_Eb;
      const bool byte = d.id == InsnId::INC_Eb || d.id == InsnId::DEC_Eb;
      const bool zv = d.id == InsnId::INC_Zv || d.id == InsnId::DEC_Zv;
      const unsigned sz = byte ? 1 : os;
      if (sz != 1 && !osv) return false;
      // CF is preserved in lf_aux: first, as the thunk's call clobbers every scratch register.
      using machine::FlagKind;
      if (flags.kind == static_cast<unsigned>(FlagKind::Logic)) {
        a.mov(x86::byte_ptr(state, kOffLfAux), 0);
      } else if (flags.kind == static_cast<unsigned>(FlagKind::Add) ||
                 flags.kind == static_cast<unsigned>(FlagKind::Sub) || flags.kind == kEager) {
        emit_host_flags(a, state, flags, 2);
        a.setc(x86::byte_ptr(state, kOffLfAux));
      } else if (flags.kind != static_cast<unsigned>(FlagKind::Inc) &&
                 flags.kind != static_cast<unsigned>(FlagKind::Dec)) {
        a.mov(x86::rdi, state);
        a.mov(x86::rax, imm(reinterpret_cast<uint64_t>(&carry_thunk)));
        a.call(x86::rax);
        a.mov(x86::byte_ptr(state, kOffLfAux), x86::al);
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
      if (inc) a.add(sized(V, sz), 1);
      else a.sub(sized(V, sz), 1);
      if (sz == 2) a.movzx(V.r32(), V.r16());
      else if (sz == 1) a.movzx(V.r32(), V.r8());
      if (mem) store_host(a, x86::r8, V, sz);
      else store_gpr(a, state, V, r, sz, zv ? false : rex);
      a.mov(x86::byte_ptr(state, kOffLfKind), static_cast<unsigned>(inc ? FlagKind::Inc : FlagKind::Dec));
      a.mov(x86::byte_ptr(state, kOffLfKind + 1), size_code(sz));
      a.mov(x86::qword_ptr(state, kOffLfRes), V);
      a.xor_(x86::eax, x86::eax);
      a.mov(x86::qword_ptr(state, kOffLfSrc1), x86::rax);
      a.mov(x86::qword_ptr(state, kOffLfSrc2), x86::rax);
      flags = FlagSource{static_cast<unsigned>(inc ? FlagKind::Inc : FlagKind::Dec), sz};
      return true;
    }
    case InsnId::SHL_Ev_Ib: case InsnId::SHL_Ev_1: case InsnId::SAL_Ev_Ib: case InsnId::SAL_Ev_1:
    case InsnId::SHR_Ev_Ib: case InsnId::SHR_Ev_1: case InsnId::SAR_Ev_Ib: case InsnId::SAR_Ev_1: {
      if (!osv) return false;
      const bool one = d.id == InsnId::SHL_Ev_1 || d.id == InsnId::SAL_Ev_1 || d.id == InsnId::SHR_Ev_1 ||
                       d.id == InsnId::SAR_Ev_1;
      const unsigned bits = os * 8;
      const unsigned count = (one ? 1u : static_cast<unsigned>(d.imm & 0xFF)) & (os == 8 ? 0x3F : 0x1F);
      if (count == 0 || count >= bits) return false;  // the handler's special cases
      const bool left = d.id == InsnId::SHL_Ev_Ib || d.id == InsnId::SHL_Ev_1 || d.id == InsnId::SAL_Ev_Ib ||
                        d.id == InsnId::SAL_Ev_1;
      const bool sar = d.id == InsnId::SAR_Ev_Ib || d.id == InsnId::SAR_Ev_1;
      const bool mem = d.mod != 3;
      if (mem) {
        emit_mem_ptr(a, state, d, cx, os, true, slow);
        uses_slow = true;
        load_host(a, V, x86::r8, os);
      } else {
        load_gpr(a, state, V, d.rm, os, rex);
      }
      a.mov(x86::r10, V);  // the original value (SHR's OF)
      if (left) a.shl(sized(V, os), count);
      else if (sar) a.sar(sized(V, os), count);
      else a.shr(sized(V, os), count);
      // CF, PF, ZF, SF from the host; OF as the handler defines it for any count; AF clear.
      a.pushfq();
      a.pop(x86::r11);
      a.and_(x86::r11d, static_cast<uint32_t>(machine::kCF | machine::kPF | machine::kZF | machine::kSF));
      if (left) {  // OF = MSB(result) ^ CF
        a.mov(x86::rax, V);
        a.shr(x86::rax, bits - 1);
        a.xor_(x86::eax, x86::r11d);
        a.and_(x86::eax, 1);
        a.shl(x86::eax, 11);
        a.or_(x86::r11d, x86::eax);
      } else if (!sar) {  // OF = MSB(original)
        a.shr(x86::r10, bits - 1);
        a.and_(x86::r10d, 1);
        a.shl(x86::r10d, 11);
        a.or_(x86::r11d, x86::r10d);
      }
      if (mem) store_host(a, x86::r8, V, os);
      else store_gpr(a, state, V, d.rm, os, rex);
      emit_set_arith(a, state);
      flags = FlagSource{kEager, os};
      return true;
    }
    case InsnId::IMUL_Gv_Ev: case InsnId::IMUL_Gv_Ev_Iz: case InsnId::IMUL_Gv_Ev_Ib: {
      if (!osv) return false;
      emit_load_rm(a, state, d, cx, os, V, slow, uses_slow);
      if (d.id == InsnId::IMUL_Gv_Ev) load_reg(a, state, x86::r10, d.reg, os);
      else a.mov(x86::r10, imm(d.imm & mask_of(os)));
      a.imul(sized(V, os), sized(x86::r10, os));
      a.seto(x86::al);
      a.movzx(x86::eax, x86::al);
      a.imul(x86::eax, x86::eax, static_cast<uint32_t>(machine::kCF | machine::kOF));
      a.test(sized(V, os), sized(V, os));  // ZF, SF and PF of the truncated product
      a.pushfq();
      a.pop(x86::r11);
      a.and_(x86::r11d, static_cast<uint32_t>(machine::kPF | machine::kZF | machine::kSF));
      a.or_(x86::r11d, x86::eax);
      store_reg(a, state, V, d.reg, os);
      emit_set_arith(a, state);
      flags = FlagSource{kEager, os};
      return true;
    }
    case InsnId::CMOVcc_Gv_Ev: {
      if (!osv) return false;
      emit_condition_r10(a, state, flags, d.op & 0xF);
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
      if (w == 8) a.sub(x86::qword_ptr(state, gpr_off(machine::RSP)), 8);
      else a.sub(x86::dword_ptr(state, gpr_off(machine::RSP)), 4);
      return true;
    }
    case InsnId::POP_Zv: {
      // RSP moves before the register is written, so POP RSP keeps the loaded value.
      const unsigned w = native_stack_width(cx, d, cx.flat32);
      if (!w) return false;
      emit_stack_ptr(a, state, d, cx, 0, w, false, slow);
      uses_slow = true;
      load_host(a, V, x86::rdx, w);
      if (w == 8) a.add(x86::qword_ptr(state, gpr_off(machine::RSP)), 8);
      else a.add(x86::dword_ptr(state, gpr_off(machine::RSP)), 4);
      store_reg(a, state, V, d.reg, w);
      return true;
    }
    case InsnId::SETcc_Eb:
      emit_condition_r10(a, state, flags, d.op & 0xF);
      if (d.mod != 3) {
        emit_mem_ptr(a, state, d, cx, 1, true, slow);
        uses_slow = true;
        store_host(a, x86::r8, x86::r10, 1);
      } else {
        store_gpr(a, state, x86::r10, d.rm, 1, rex);
      }
      return true;
    default:
      break;
  }
  AluForm f = classify_alu(d.id);
  if (f.op == Alu::None) return false;
  return emit_alu(a, state, d, cx, slow, uses_slow, flags, f);
}

}  // namespace kestrel::jit
