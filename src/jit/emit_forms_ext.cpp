// Further native forms (emit_fast tries them after its own): one-operand MUL/IMUL,
// DIV/IDIV, BT/BTS/BTR/BTC, BSF/BSR, XCHG, XADD, CMPXCHG, SHLD/SHRD, LEAVE, PUSHF,
// CLI, MOV r/m from a segment register and the fences. Each has exactly its handler's effect on CpuState (src/interp: muldiv,
// bitops, datamov, shift, stack, system), undefined flags included; whatever the
// host cannot do the same way (a divide that would raise #DE, a bit offset that
// reaches outside a memory operand, 16-bit double shifts) goes to the handler.
// Guest registers only through load_reg/store_reg and their kin (emit.h), which
// know the block's register cache. Scratch: rax, rcx, rdx, rsi, rdi, r8-r11.
#include "jit/emit.h"

namespace kestrel::jit {

namespace {

using machine::FlagKind;
constexpr int32_t kOffCpl = offsetof(CpuState, cpl);

bool operand_size_ok(unsigned sz) { return sz == 1 || sz == 2 || sz == 4 || sz == 8; }

// ---- MUL / IMUL r/m (F6/F7 /4 /5) --------------------------------------------------------------
// AX = AL * r/m8, else rDX:rAX = rAX * r/m. Flags (muldiv.cpp's mul_flags): CF = OF
// = the product does not fit the low half (the host's), SF/ZF/PF of the low half,
// AF clear.
bool emit_mul_acc(Emitter& a, const Gp& state, const DecodedInsn& d, const Ctx& cx, Label slow, bool& uses_slow,
                  FlagSource& flags, const FlagSource& in, unsigned sz, bool is_signed) {
  if (!operand_size_ok(sz)) return false;
  const Gp src = x86::r9;
  emit_load_rm(a, state, d, cx, sz, src, slow, uses_slow);
  if (sz == 1) {
    load_reg(a, state, x86::rax, machine::RAX, 8);  // AL in the low byte
    if (is_signed) a.imul(x86::ax, src.r8());
    else a.mul(x86::ax, src.r8());
  } else {
    load_reg(a, state, x86::rax, machine::RAX, sz);
    if (is_signed) a.imul(sized(x86::rdx, sz), sized(x86::rax, sz), sized(src, sz));
    else a.mul(sized(x86::rdx, sz), sized(x86::rax, sz), sized(src, sz));
  }
  const bool live = cx.live_out & frontend::F_ALL;
  if (live) a.seto(x86::r10b);
  if (sz == 1) {
    store_reg(a, state, x86::rax, machine::RAX, 2);
  } else {
    store_reg(a, state, x86::rax, machine::RAX, sz);
    store_reg(a, state, x86::rdx, machine::RDX, sz);
  }
  if (!live) {
    flags_dead(flags, in, d.mod != 3, false);
    return true;
  }
  a.test(sized(x86::rax, sz), sized(x86::rax, sz));  // the low half's ZF, SF, PF
  a.pushfq();
  a.pop(x86::r11);
  a.and_(x86::r11d, static_cast<uint32_t>(machine::kPF | machine::kZF | machine::kSF));
  a.movzx(x86::r10d, x86::r10b);
  a.imul(x86::r10d, x86::r10d, static_cast<uint32_t>(machine::kCF | machine::kOF));
  a.or_(x86::r11d, x86::r10d);
  finish_eager(a, state, flags, sz, false);
  return true;
}

// ---- DIV / IDIV r/m (F6/F7 /6 /7) --------------------------------------------------------------
// AL, AH = AX / r/m8, else rAX, rDX = rDX:rAX / r/m: quotient and remainder. A zero
// divisor or a quotient that does not fit raises #DE (SDM Vol. 2A, DIV/IDIV): those
// go to the handler before the host divides (which would fault in the emulator
// itself), as does IDIV by -1 of 32/64-bit operands and a 64-bit IDIV dividend that
// is more than RAX sign-extended. The flags stay as they were (the handler leaves
// them), so the record's kind survives even the slow path.
bool emit_div_acc(Emitter& a, const Gp& state, const DecodedInsn& d, const Ctx& cx, Label slow, bool& uses_slow,
                  FlagSource& flags, const FlagSource& in, unsigned sz, bool is_signed) {
  if (!operand_size_ok(sz)) return false;
  const Gp src = x86::r9;
  emit_load_rm(a, state, d, cx, sz, src, slow, uses_slow);
  uses_slow = true;
  a.test(sized(src, sz), sized(src, sz));
  a.jz(slow);
  if (!is_signed) {
    // The quotient fits when the dividend's high half is below the divisor.
    if (sz == 1) {
      load_reg(a, state, x86::rax, machine::RAX, 2);
      a.mov(x86::ecx, x86::eax);
      a.shr(x86::ecx, 8);
      a.cmp(x86::cl, src.r8());
      a.jae(slow);
      a.div(x86::ax, src.r8());
      store_reg(a, state, x86::rax, machine::RAX, 2);
    } else {
      load_reg(a, state, x86::rax, machine::RAX, sz);
      load_reg(a, state, x86::rdx, machine::RDX, sz);
      a.cmp(sized(x86::rdx, sz), sized(src, sz));
      a.jae(slow);
      a.div(sized(x86::rdx, sz), sized(x86::rax, sz), sized(src, sz));
      store_reg(a, state, x86::rax, machine::RAX, sz);
      store_reg(a, state, x86::rdx, machine::RDX, sz);
    }
  } else if (sz < 8) {
    // The dividend as a signed 64-bit value divided on the host at 64 bits (it
    // cannot overflow there unless the dividend is INT64_MIN and the divisor -1),
    // then the quotient must fit the operand size.
    switch (sz) {
      case 1:
        load_reg(a, state, x86::rax, machine::RAX, 2);
        a.movsx(x86::rax, x86::ax);
        a.movsx(x86::rcx, src.r8());
        break;
      case 2:
        load_reg(a, state, x86::rax, machine::RAX, 2);
        load_reg(a, state, x86::rcx, machine::RDX, 2);
        a.shl(x86::ecx, 16);
        a.or_(x86::eax, x86::ecx);
        a.movsxd(x86::rax, x86::eax);
        a.movsx(x86::rcx, src.r16());
        break;
      default:
        load_reg(a, state, x86::rax, machine::RAX, 4);
        load_reg(a, state, x86::rcx, machine::RDX, 4);
        a.shl(x86::rcx, 32);
        a.or_(x86::rax, x86::rcx);
        a.movsxd(x86::rcx, src.r32());
        a.cmp(x86::rcx, -1);
        a.je(slow);
        break;
    }
    a.cqo(x86::rdx, x86::rax);
    a.idiv(x86::rdx, x86::rax, x86::rcx);
    if (sz == 1) a.movsx(x86::r10, x86::al);
    else if (sz == 2) a.movsx(x86::r10, x86::ax);
    else a.movsxd(x86::r10, x86::eax);
    a.cmp(x86::r10, x86::rax);
    a.jne(slow);
    if (sz == 1) {  // AL = quotient, AH = remainder
      a.movzx(x86::eax, x86::al);
      a.movzx(x86::edx, x86::dl);
      a.shl(x86::edx, 8);
      a.or_(x86::eax, x86::edx);
      store_reg(a, state, x86::rax, machine::RAX, 2);
    } else {
      store_reg(a, state, x86::rax, machine::RAX, sz);
      store_reg(a, state, x86::rdx, machine::RDX, sz);
    }
  } else {
    load_reg(a, state, x86::rax, machine::RAX, 8);
    load_reg(a, state, x86::rdx, machine::RDX, 8);
    a.mov(x86::rcx, x86::rax);
    a.sar(x86::rcx, 63);
    a.cmp(x86::rcx, x86::rdx);
    a.jne(slow);
    a.cmp(src, -1);
    a.je(slow);
    a.idiv(x86::rdx, x86::rax, src);
    store_reg(a, state, x86::rax, machine::RAX, 8);
    store_reg(a, state, x86::rdx, machine::RDX, 8);
  }
  flags = in;
  flags.host = false;
  return true;
}

// ---- BT / BTS / BTR / BTC (0F A3/AB/B3/BB, 0F BA /4-/7) -----------------------------------------
// CF = the selected bit; BTS/BTR/BTC write the operand with it set, cleared or
// flipped; the other flags stay (bitops.cpp: set_arith_flags with CF alone).
enum class BitOp { Test, Set, Reset, Complement };

bool emit_bit_op(Emitter& a, const Gp& state, const DecodedInsn& d, const Ctx& cx, Label slow, bool& uses_slow,
                 FlagSource& flags, const FlagSource& in, BitOp op, bool from_reg) {
  const unsigned sz = d.osize;
  if (sz != 2 && sz != 4 && sz != 8) return false;
  const bool bit_base = from_reg && d.mod != 3;
  const bool cf_live = cx.live_out & frontend::F_CF;
  const bool keep_others = cf_live && (cx.live_out & frontend::F_OSZAP);
  if (keep_others) old_flags_prepare(a, state, in);
  const Gp V = x86::r9, off = x86::r10;
  bool mem;
  if (bit_base) {
    // A memory operand with a register offset: the offset is a signed bit index from
    // the operand's address, which moves by (offset >> log2(width)) whole operands at
    // the address size; the bit is the offset modulo the width (SDM Vol. 2A, BT,
    // "bit base"; bitops.cpp).
    emit_ea(a, state, d, cx);
    load_reg(a, state, x86::rax, d.reg, sz);
    if (sz == 2) a.movsx(x86::rax, x86::ax);
    else if (sz == 4) a.movsxd(x86::rax, x86::eax);
    a.sar(x86::rax, sz == 2 ? 4 : sz == 4 ? 5 : 6);
    a.lea(x86::rsi, x86::ptr(x86::rsi, x86::rax, size_code(sz)));  // + words * sz
    if (d.asize == 4) a.mov(x86::esi, x86::esi);
    else if (d.asize == 2) a.movzx(x86::esi, x86::si);
    emit_translate(a, state, d, cx, sz, op != BitOp::Test, slow);
    a.mov(x86::r8, x86::rdx);
    if (op != BitOp::Test && cx.journal) emit_journal(a, state, sz);
    uses_slow = true;
    load_host(a, V, x86::r8, sz);
    mem = true;
  } else if (op == BitOp::Test) {
    emit_load_rm(a, state, d, cx, sz, V, slow, uses_slow);
    mem = d.mod != 3;
  } else {
    mem = load_rmw(a, state, d, cx, sz, V, slow, uses_slow);
  }
  const Gp v = sized(V, sz);
  if (from_reg) {
    // The host takes a register offset modulo the operand's width, as the guest does.
    load_reg(a, state, off, d.reg, sz);
    const Gp o = sized(off, sz);
    switch (op) {
      case BitOp::Test: a.bt(v, o); break;
      case BitOp::Set: a.bts(v, o); break;
      case BitOp::Reset: a.btr(v, o); break;
      case BitOp::Complement: a.btc(v, o); break;
    }
  } else {
    const auto bit = imm(static_cast<unsigned>(d.imm) & (sz * 8 - 1));
    switch (op) {
      case BitOp::Test: a.bt(v, bit); break;
      case BitOp::Set: a.bts(v, bit); break;
      case BitOp::Reset: a.btr(v, bit); break;
      case BitOp::Complement: a.btc(v, bit); break;
    }
  }
  if (cf_live) a.setc(x86::dl);
  if (op != BitOp::Test) store_rmw(a, state, d, sz, V, mem);
  if (!cf_live) {
    // Only CF changes and nobody reads it: the older record stands for the rest.
    flags_dead(flags, in, mem, false);
    return true;
  }
  a.movzx(x86::edx, x86::dl);
  if (keep_others) {
    old_flags_r11(a, state, in);
    a.and_(x86::r11d, ~static_cast<uint32_t>(machine::kCF));
    a.or_(x86::r11d, x86::edx);
  } else {
    a.mov(x86::r11d, x86::edx);
  }
  finish_eager(a, state, flags, sz, false);
  return true;
}

// ---- BSF / BSR (0F BC/BD) --------------------------------------------------------------------------
// A zero source sets ZF and leaves the destination alone (not even a 32-bit
// register's upper half is cleared); otherwise the index of the lowest/highest set
// bit is written and ZF cleared. The other flags stay (bitops.cpp).
bool emit_bit_scan(Emitter& a, const Gp& state, const DecodedInsn& d, const Ctx& cx, Label slow, bool& uses_slow,
                   FlagSource& flags, const FlagSource& in, bool reverse) {
  const unsigned sz = d.osize;
  if (sz != 2 && sz != 4 && sz != 8) return false;
  const bool zf_live = cx.live_out & frontend::F_ZF;
  const bool keep_others = zf_live && (cx.live_out & (frontend::F_ALL & ~frontend::F_ZF));
  if (keep_others) old_flags_prepare(a, state, in);
  const Gp V = x86::r9, idx = x86::r10;
  emit_load_rm(a, state, d, cx, sz, V, slow, uses_slow);
  if (reverse) a.bsr(sized(idx, sz), sized(V, sz));
  else a.bsf(sized(idx, sz), sized(V, sz));
  if (zf_live) a.setz(x86::dl);
  Label zero = a.newLabel();
  a.jz(zero);
  store_reg(a, state, idx, d.reg, sz);
  a.bind(zero);
  const bool mem = d.mod != 3;
  if (!zf_live) {
    flags_dead(flags, in, mem, false);
    return true;
  }
  a.movzx(x86::edx, x86::dl);
  a.shl(x86::edx, 6);  // ZF
  if (keep_others) {
    old_flags_r11(a, state, in);
    a.and_(x86::r11d, ~static_cast<uint32_t>(machine::kZF));
    a.or_(x86::r11d, x86::edx);
  } else {
    a.mov(x86::r11d, x86::edx);
  }
  finish_eager(a, state, flags, sz, false);
  return true;
}

// ---- XCHG (86/87, 90+r) ----------------------------------------------------------------------------
// r/m takes the register's value, then the register takes r/m's (datamov.cpp); no flags.
bool emit_xchg(Emitter& a, const Gp& state, const DecodedInsn& d, const Ctx& cx, Label slow, bool& uses_slow,
               FlagSource& flags, const FlagSource& in) {
  const Gp A = x86::r9, B = x86::r10;
  if (d.id == InsnId::XCHG_Zv_rAX) {
    const unsigned sz = d.osize;
    if ((sz != 2 && sz != 4 && sz != 8) || d.reg == machine::RAX) return false;  // 90: NOP (jit.cpp)
    load_reg(a, state, A, d.reg, sz);
    load_reg(a, state, B, machine::RAX, sz);
    store_reg(a, state, B, d.reg, sz);
    store_reg(a, state, A, machine::RAX, sz);
    flags = in;
    return true;
  }
  const unsigned sz = d.id == InsnId::XCHG_Eb_Gb ? 1 : d.osize;
  if (!operand_size_ok(sz)) return false;
  const bool rex = has_rex(d);
  const bool mem = load_rmw(a, state, d, cx, sz, A, slow, uses_slow);
  load_gpr(a, state, B, d.reg, sz, rex);
  store_rmw(a, state, d, sz, B, mem);
  store_gpr(a, state, A, d.reg, sz, rex);
  flags = in;
  flags.host = in.host && !mem;  // the handler leaves the flags alone too: the kind stays
  return true;
}

// ---- XADD (0F C0/C1) --------------------------------------------------------------------------------
// sum = dst + src; the register takes dst and r/m the sum (a register r/m last, so
// XADD r, r with one register leaves the sum); an Add record (sum, dst, src).
bool emit_xadd(Emitter& a, const Gp& state, const DecodedInsn& d, const Ctx& cx, Label slow, bool& uses_slow,
               FlagSource& flags, const FlagSource& in) {
  const unsigned sz = d.id == InsnId::XADD_Eb_Gb ? 1 : d.osize;
  if (!operand_size_ok(sz)) return false;
  const bool rex = has_rex(d);
  const Gp A = x86::r9, B = x86::r10, R = x86::r11;
  const bool mem = load_rmw(a, state, d, cx, sz, A, slow, uses_slow);
  load_gpr(a, state, B, d.reg, sz, rex);
  a.mov(R, A);
  a.add(sized(R, sz), sized(B, sz));  // 8/16-bit: R's upper bits are A's, zero
  if (mem) {
    store_host(a, x86::r8, R, sz);
    store_gpr(a, state, A, d.reg, sz, rex);
  } else {
    store_gpr(a, state, A, d.reg, sz, rex);
    store_gpr(a, state, R, d.rm, sz, rex);
  }
  if (cx.live_out & frontend::F_ALL) {
    emit_record(a, state, FlagKind::Add, sz, R, &A, &B);
    flags = FlagSource{static_cast<unsigned>(FlagKind::Add), sz, !mem};
  } else {
    flags_dead(flags, in, mem, false);
  }
  return true;
}

// ---- CMPXCHG (0F B0/B1) ------------------------------------------------------------------------------
// Compares the accumulator with r/m (a Sub record: acc - dst): equal, r/m takes the
// register; unequal, the accumulator takes r/m (a memory operand is rewritten with
// its own value, which nothing can tell from no write) and a register r/m is left
// alone (datamov.cpp).
bool emit_cmpxchg(Emitter& a, const Gp& state, const DecodedInsn& d, const Ctx& cx, Label slow, bool& uses_slow,
                  FlagSource& flags, const FlagSource& in) {
  const unsigned sz = d.id == InsnId::CMPXCHG_Eb_Gb ? 1 : d.osize;
  if (!operand_size_ok(sz)) return false;
  const bool rex = has_rex(d);
  const Gp A = x86::r9, B = x86::r10, R = x86::r11, src = x86::rdx;
  const bool mem = load_rmw(a, state, d, cx, sz, A, slow, uses_slow);
  load_gpr(a, state, B, machine::RAX, sz, false);
  load_gpr(a, state, src, d.reg, sz, rex);
  a.mov(R, B);
  a.sub(sized(R, sz), sized(A, sz));  // the host flags are the guest's from here on
  Label unequal = a.newLabel(), done = a.newLabel();
  a.jne(unequal);
  store_rmw(a, state, d, sz, src, mem);
  a.jmp(done);
  a.bind(unequal);
  store_gpr(a, state, A, machine::RAX, sz, false);
  a.bind(done);
  if (cx.live_out & frontend::F_ALL) {
    emit_record(a, state, FlagKind::Sub, sz, R, &B, &A);
    flags = FlagSource{static_cast<unsigned>(FlagKind::Sub), sz, !mem};
  } else {
    flags_dead(flags, in, mem, false);
  }
  return true;
}

// ---- SHLD / SHRD (0F A4/A5/AC/AD), 32- and 64-bit operands -------------------------------------------
// The count masked to 5 bits (6 for 64-bit operands); a zero count changes nothing
// (a 32-bit register still has its upper half cleared). Flags (shift.cpp's shxd):
// CF, PF, ZF, SF as the host gives them, OF = the sign changed (for any count), AF
// clear. 16-bit operands (counts past 16 shift through dest:src:dest) stay with the
// handler.
bool emit_double_shift(Emitter& a, const Gp& state, const DecodedInsn& d, const Ctx& cx, Label slow,
                       bool& uses_slow, FlagSource& flags, const FlagSource& in, bool left, bool by_cl) {
  const unsigned sz = d.osize;
  if (sz != 4 && sz != 8) return false;
  const unsigned bits = sz * 8, cmask = sz == 8 ? 0x3F : 0x1F;
  const bool live = cx.live_out & frontend::F_ALL;
  const Gp V = x86::r9, src = x86::r10, orig = x86::rdi;
  const Gp v = sized(V, sz), s = sized(src, sz);
  unsigned count = 0;
  if (!by_cl) {
    count = static_cast<unsigned>(d.imm) & cmask;
    if (count == 0) return false;  // the handler's no-change case (rare)
  }
  const bool mem = load_rmw(a, state, d, cx, sz, V, slow, uses_slow);
  load_reg(a, state, src, d.reg, sz);
  Label done = a.newLabel();
  if (by_cl) {
    load_gpr(a, state, x86::rcx, machine::RCX, 1, false);
    if (live) {
      // A zero count leaves the flags (and the older record): nothing but a 32-bit
      // register's write.
      a.and_(x86::ecx, cmask);
      if (sz == 4 && !mem) {
        Label nonzero = a.newLabel();
        a.jnz(nonzero);
        store_rmw(a, state, d, sz, V, mem);
        a.jmp(done);
        a.bind(nonzero);
      } else {
        a.jz(done);
      }
    }
  }
  a.mov(orig, V);
  if (by_cl) {
    if (left) a.shld(v, s, x86::cl);
    else a.shrd(v, s, x86::cl);
  } else {
    if (left) a.shld(v, s, count);
    else a.shrd(v, s, count);
  }
  if (!live) {
    // A zero count from CL stores the value unchanged: invisible (the handler
    // writes a 32-bit register the same way; a memory operand was probed for writing).
    store_rmw(a, state, d, sz, V, mem);
    flags_dead(flags, in, mem, false);
    return true;
  }
  a.pushfq();
  a.pop(x86::r11);
  a.and_(x86::r11d, static_cast<uint32_t>(machine::kCF | machine::kPF | machine::kZF | machine::kSF));
  a.xor_(orig, V);  // OF: the sign bit changed
  a.shr(orig, bits - 1);
  a.and_(x86::edi, 1);
  a.shl(x86::edi, 11);
  a.or_(x86::r11d, x86::edi);
  store_rmw(a, state, d, sz, V, mem);
  emit_set_arith(a, state);
  a.bind(done);
  // By CL, a zero count left the older record: the kind in memory is unknown here.
  flags = by_cl ? FlagSource{} : FlagSource{kEager, sz, false};
  return true;
}

// ---- LEAVE (C9) ---------------------------------------------------------------------------------------
// rSP = rBP, then rBP = the popped value (stack.cpp); 64-bit mode, or 32-bit code
// with a 32-bit stack (ESP changes, the upper half of RSP stays). The slot is
// translated before anything changes.
bool emit_leave_insn(Emitter& a, const Gp& state, const DecodedInsn& d, const Ctx& cx, Label slow, bool& uses_slow,
                     FlagSource& flags, const FlagSource& in) {
  const unsigned w = native_stack_width(cx, d, cx.flat32);
  if (!w) return false;
  DecodedInsn ss = d;
  ss.seg = machine::SS;
  uses_slow = true;
  if (!cx.long64) {
    a.test(x86::word_ptr(state, kOffSeg + machine::SS * 32 + kSegAttr), machine::kSegAttrD);
    a.jz(slow);
  }
  load_reg(a, state, x86::rsi, machine::RBP, w);
  emit_translate(a, state, ss, cx, w, false, slow);
  load_host(a, x86::r9, x86::rdx, w);
  load_reg(a, state, x86::r10, machine::RBP, w);
  if (w == 8) {
    a.add(x86::r10, 8);
  } else {
    a.add(x86::r10d, 4);  // the 32-bit stack pointer wraps; RSP's upper half stays
    load_reg(a, state, x86::rax, machine::RSP, 8);
    a.shr(x86::rax, 32);
    a.shl(x86::rax, 32);
    a.or_(x86::r10, x86::rax);
  }
  store_reg(a, state, x86::r10, machine::RSP, 8);
  store_reg(a, state, x86::r9, machine::RBP, w);
  flags = in;
  flags.host = false;
  return true;
}

// ---- PUSHF (9C) ------------------------------------------------------------------------------------------
// Pushes RFLAGS (the lazy record folded in, as the handler leaves it too) without
// VM and RF; 64-bit mode or 32-bit code with a 32-bit stack (no virtual-8086 IOPL
// check there).
bool emit_pushf(Emitter& a, const Gp& state, const DecodedInsn& d, const Ctx& cx, Label slow, bool& uses_slow,
                FlagSource& flags, const FlagSource& in) {
  const unsigned w = native_stack_width(cx, d, cx.flat32);
  if (!w) return false;
  old_flags_prepare(a, state, in);  // may call: first
  emit_stack_ptr(a, state, d, cx, -static_cast<int32_t>(w), w, true, slow);
  uses_slow = true;
  a.mov(x86::r8, x86::rdx);
  if (cx.journal) emit_journal(a, state, w);
  old_flags_r11(a, state, in);
  emit_set_arith(a, state);  // RFLAGS whole, the record cleared (materialize_flags)
  a.mov(x86::r9, x86::qword_ptr(state, kOffRflags));
  a.and_(x86::r9, imm(static_cast<int64_t>(~(machine::kVM | machine::kRF))));
  store_host(a, x86::r8, x86::r9, w);
  add_reg_imm(a, state, machine::RSP, w, -static_cast<int32_t>(w), x86::rax);
  flags = FlagSource{kEager, 4, false};  // the handler folds the record as well
  return true;
}

// ---- CLI (FA) ------------------------------------------------------------------------------------------------
// At CPL 0 always allowed (CPL <= IOPL; real mode runs at CPL 0): IF cleared.
// Elsewhere the handler decides (IOPL, virtual-8086 mode, #GP).
bool emit_cli(Emitter& a, const Gp& state, Label slow, bool& uses_slow, FlagSource& flags, const FlagSource& in) {
  a.cmp(x86::byte_ptr(state, kOffCpl), 0);
  a.jne(slow);
  uses_slow = true;
  a.and_(x86::qword_ptr(state, kOffRflags), imm(static_cast<int32_t>(~static_cast<uint32_t>(machine::kIF))));
  // The handler folds the record into RFLAGS (through its IOPL check): after the
  // slow path the kind in memory is not the older one.
  flags_dead(flags, in, true, false);
  return true;
}

// ---- MOV r/m, Sreg (8C) ----------------------------------------------------------------------------------
// The selector: to memory as a word, to a register at the operand size (zero-extended
// to 32/64 bits; a 16-bit register keeps its upper bits). ModRM.reg 6 and 7 are #UD
// (the handler's).
bool emit_mov_from_sreg(Emitter& a, const Gp& state, const DecodedInsn& d, const Ctx& cx, Label slow,
                        bool& uses_slow, FlagSource& flags, const FlagSource& in) {
  const unsigned s = d.reg & 7, os = d.osize;
  if (s >= machine::kSegCount || (os != 2 && os != 4 && os != 8)) return false;
  constexpr int32_t kSegSelector = offsetof(machine::SegmentCache, selector);
  const int32_t sel = kOffSeg + static_cast<int32_t>(s) * 32 + kSegSelector;
  if (d.mod != 3) {
    emit_mem_ptr(a, state, d, cx, 2, true, slow);
    uses_slow = true;
    a.movzx(x86::r9d, x86::word_ptr(state, sel));
    store_host(a, x86::r8, x86::r9, 2);
    flags = in;  // the handler leaves the flags alone too: the kind stays
    flags.host = false;
    return true;
  }
  a.movzx(x86::r9d, x86::word_ptr(state, sel));
  store_reg(a, state, x86::r9, d.rm, os);
  flags = in;
  return true;
}

}  // namespace

bool emit_fast_ext(Emitter& a, const Gp& state, const DecodedInsn& d, const Ctx& cx, Label slow, bool& uses_slow,
                   FlagSource& flags, const FlagSource& in) {
  switch (d.id) {
    case InsnId::MUL_Eb: return emit_mul_acc(a, state, d, cx, slow, uses_slow, flags, in, 1, false);
    case InsnId::IMUL_Eb: return emit_mul_acc(a, state, d, cx, slow, uses_slow, flags, in, 1, true);
    case InsnId::MUL_Ev: return emit_mul_acc(a, state, d, cx, slow, uses_slow, flags, in, d.osize, false);
    case InsnId::IMUL_Ev: return emit_mul_acc(a, state, d, cx, slow, uses_slow, flags, in, d.osize, true);
    case InsnId::DIV_Eb: return emit_div_acc(a, state, d, cx, slow, uses_slow, flags, in, 1, false);
    case InsnId::IDIV_Eb: return emit_div_acc(a, state, d, cx, slow, uses_slow, flags, in, 1, true);
    case InsnId::DIV_Ev: return emit_div_acc(a, state, d, cx, slow, uses_slow, flags, in, d.osize, false);
    case InsnId::IDIV_Ev: return emit_div_acc(a, state, d, cx, slow, uses_slow, flags, in, d.osize, true);
    case InsnId::BT_Ev_Gv: return emit_bit_op(a, state, d, cx, slow, uses_slow, flags, in, BitOp::Test, true);
    case InsnId::BTS_Ev_Gv: return emit_bit_op(a, state, d, cx, slow, uses_slow, flags, in, BitOp::Set, true);
    case InsnId::BTR_Ev_Gv: return emit_bit_op(a, state, d, cx, slow, uses_slow, flags, in, BitOp::Reset, true);
    case InsnId::BTC_Ev_Gv: return emit_bit_op(a, state, d, cx, slow, uses_slow, flags, in, BitOp::Complement, true);
    case InsnId::BT_Ev_Ib: return emit_bit_op(a, state, d, cx, slow, uses_slow, flags, in, BitOp::Test, false);
    case InsnId::BTS_Ev_Ib: return emit_bit_op(a, state, d, cx, slow, uses_slow, flags, in, BitOp::Set, false);
    case InsnId::BTR_Ev_Ib: return emit_bit_op(a, state, d, cx, slow, uses_slow, flags, in, BitOp::Reset, false);
    case InsnId::BTC_Ev_Ib:
      return emit_bit_op(a, state, d, cx, slow, uses_slow, flags, in, BitOp::Complement, false);
    case InsnId::BSF_Gv_Ev: return emit_bit_scan(a, state, d, cx, slow, uses_slow, flags, in, false);
    case InsnId::BSR_Gv_Ev: return emit_bit_scan(a, state, d, cx, slow, uses_slow, flags, in, true);
    case InsnId::XCHG_Eb_Gb: case InsnId::XCHG_Ev_Gv: case InsnId::XCHG_Zv_rAX:
      return emit_xchg(a, state, d, cx, slow, uses_slow, flags, in);
    case InsnId::XADD_Eb_Gb: case InsnId::XADD_Ev_Gv: return emit_xadd(a, state, d, cx, slow, uses_slow, flags, in);
    case InsnId::CMPXCHG_Eb_Gb: case InsnId::CMPXCHG_Ev_Gv:
      return emit_cmpxchg(a, state, d, cx, slow, uses_slow, flags, in);
    case InsnId::SHLD_Ev_Gv_Ib: return emit_double_shift(a, state, d, cx, slow, uses_slow, flags, in, true, false);
    case InsnId::SHLD_Ev_Gv_CL: return emit_double_shift(a, state, d, cx, slow, uses_slow, flags, in, true, true);
    case InsnId::SHRD_Ev_Gv_Ib: return emit_double_shift(a, state, d, cx, slow, uses_slow, flags, in, false, false);
    case InsnId::SHRD_Ev_Gv_CL: return emit_double_shift(a, state, d, cx, slow, uses_slow, flags, in, false, true);
    case InsnId::LEAVE: return emit_leave_insn(a, state, d, cx, slow, uses_slow, flags, in);
    case InsnId::PUSHF: return emit_pushf(a, state, d, cx, slow, uses_slow, flags, in);
    case InsnId::CLI: return emit_cli(a, state, slow, uses_slow, flags, in);
    case InsnId::MOV_Ev_Sw: return emit_mov_from_sreg(a, state, d, cx, slow, uses_slow, flags, in);
    // The fences order memory between processors and devices; Kestrel's accesses
    // happen in program order, so their handlers do nothing and so does this.
    case InsnId::LFENCE: case InsnId::SFENCE: case InsnId::MFENCE:
      flags = in;
      return true;
    default: return emit_fast_simd(a, state, d, cx, slow, uses_slow, flags, in);
  }
}

}  // namespace kestrel::jit
