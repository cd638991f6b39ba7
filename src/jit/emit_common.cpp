#include <cstring>

#include "jit/emit.h"
#include "machine/machine.h"

namespace kestrel::jit {

namespace {
// Called by code compiled for --jit verify before a native store: journals the
// bytes about to change, as PhysBus does for writes through the bus.
void journal_store(CpuState* c, uint8_t* p, uint64_t n) {
  if (machine::WriteJournal* j = c->machine->bus().journal())
    for (uint64_t i = 0; i < n; ++i) j->bytes.emplace_back(p + i, p[i]);
}
}  // namespace

// ---- guest registers and host memory ------------------------------------------------------
// Loads a guest register of `bytes` into a host register, zero-extended (moves
// only: the host flags survive).
void load_reg(Emitter& a, const x86::Gp& state, const x86::Gp& dst64, unsigned n, unsigned bytes) {
  a.rc.note_use(n);
  if (a.rc.has(n)) {
    const Gp h = a.rc.host(n);
    switch (bytes) {
      case 2: a.movzx(dst64.r32(), h.r16()); break;
      case 4: a.mov(dst64.r32(), h.r32()); break;
      default: a.mov(dst64, h); break;
    }
    return;
  }
  switch (bytes) {
    case 2: a.movzx(dst64.r32(), x86::word_ptr(state, gpr_off(n))); break;
    case 4: a.mov(dst64.r32(), x86::dword_ptr(state, gpr_off(n))); break;
    default: a.mov(dst64, x86::qword_ptr(state, gpr_off(n))); break;
  }
}

// Stores with the x86-64 rule: 32-bit writes zero-extend, 16-bit writes merge.
void store_reg(Emitter& a, const x86::Gp& state, const x86::Gp& src64, unsigned n, unsigned bytes) {
  a.rc.note_use(n);
  if (a.rc.has(n)) {
    const Gp h = a.rc.host(n);
    switch (bytes) {
      case 2: a.mov(h.r16(), src64.r16()); break;
      case 4: a.mov(h.r32(), src64.r32()); break;
      default: a.mov(h, src64); break;
    }
    a.rc.dirty |= static_cast<uint16_t>(1u << n);
    return;
  }
  switch (bytes) {
    case 2: a.mov(x86::word_ptr(state, gpr_off(n)), src64.r16()); break;
    case 4: a.mov(src64.r32(), src64.r32()); a.mov(x86::qword_ptr(state, gpr_off(n)), src64); break;
    default: a.mov(x86::qword_ptr(state, gpr_off(n)), src64); break;
  }
}

// Adds `delta` to a guest register of `bytes` (4 or 8): a 4-byte add changes the
// low half alone, as a 32-bit stack pointer update does (set_sp). Clobbers the
// host flags and `scratch`.
void add_reg_imm(Emitter& a, const Gp& state, unsigned n, unsigned bytes, int32_t delta, const Gp& scratch) {
  a.rc.note_use(n);
  if (a.rc.has(n)) {
    const Gp h = a.rc.host(n);
    if (bytes == 8) {
      a.add(h, delta);
    } else {
      a.mov(scratch, h);
      a.shr(scratch, 32);
      a.shl(scratch, 32);
      a.lea(h.r32(), x86::ptr(h, delta));
      a.or_(h, scratch);
    }
    a.rc.dirty |= static_cast<uint16_t>(1u << n);
    return;
  }
  if (bytes == 8) a.add(x86::qword_ptr(state, gpr_off(n)), delta);
  else a.add(x86::dword_ptr(state, gpr_off(n)), delta);
}

void emit_writeback(Emitter& a, const Gp& state) {
  for (unsigned n = 0; n < 16; ++n)
    if ((a.rc.dirty & a.rc.cached) >> n & 1) a.mov(x86::qword_ptr(state, gpr_off(n)), a.rc.host(n));
  a.rc.dirty = 0;
}

void emit_reload(Emitter& a, const Gp& state) {
  for (unsigned n = 0; n < 16; ++n)
    if (a.rc.has(n)) a.mov(a.rc.host(n), x86::qword_ptr(state, gpr_off(n)));
  a.rc.dirty = 0;
}

// Computes the effective address of d's memory operand into rsi (clobbers rcx),
// truncated to the address size: one LEA over the base and index (cached guest
// registers used in place). Only MOV, MOVZX and LEA, so the host flags survive (a
// flag consumer may follow). The sum of 64-bit registers truncated to 32 or 16
// bits is the 32- or 16-bit sum, whatever their upper halves hold.
void emit_ea(Emitter& a, const x86::Gp& state, const DecodedInsn& d, const Ctx& cx) {
  const x86::Gp ea = x86::rsi;
  int64_t disp = d.disp;
  Gp base, index;
  bool has_base = false, has_index = false;
  if (d.base == frontend::kRipBase) {
    a.mov(ea, kRipReg);
    disp += static_cast<int64_t>(cx.pending_len + d.len);
    base = ea;
    has_base = true;
  } else if (d.base != frontend::kNoReg) {
    if (a.rc.has(d.base)) {
      a.rc.note_use(d.base);
      base = a.rc.host(d.base);
    } else {
      load_reg(a, state, ea, d.base, 8);
      base = ea;
    }
    has_base = true;
  }
  if (d.index != frontend::kNoReg) {
    if (a.rc.has(d.index)) {
      a.rc.note_use(d.index);
      index = a.rc.host(d.index);
    } else {
      load_reg(a, state, x86::rcx, d.index, 8);
      index = x86::rcx;
    }
    has_index = true;
  }
  if (!has_base && !has_index) {
    // An absolute address (moffs or disp32): the constant, truncated.
    if (d.asize == 8) a.mov(ea, imm(disp));
    else a.mov(ea.r32(), imm(static_cast<uint32_t>(disp) & (d.asize == 2 ? 0xFFFFu : 0xFFFFFFFFu)));
    return;
  }
  if (!has_base) {  // index only: the displacement is the base
    a.mov(ea, imm(disp));
    base = ea;
    disp = 0;
  }
  if (disp != static_cast<int32_t>(disp)) {  // RIP-relative near the ends of the address space
    a.mov(x86::rax, imm(disp));
    if (base != ea) a.mov(ea, base);
    a.add(ea, x86::rax);
    base = ea;
    disp = 0;
  }
  const x86::Mem m = has_index ? x86::ptr(base, index, d.scale, static_cast<int32_t>(disp))
                               : x86::ptr(base, static_cast<int32_t>(disp));
  if (d.asize == 8) {
    a.lea(ea, m);
  } else {
    a.lea(ea.r32(), m);
    if (d.asize == 2) a.movzx(ea.r32(), ea.r16());
  }
}

// From the offset in rsi to a host pointer in rdx for an access of `size` bytes,
// or a jump to `slow`: the segment's bounds and rights, then the soft TLB's tag
// compare — the same checks as the interpreter's segment_to_linear and
// read_linear/write_linear fast paths. Clobbers rax, rcx and rdx; rsi is kept.
void emit_translate(Emitter& a, const x86::Gp& state, const DecodedInsn& d, const Ctx& cx, unsigned size,
                    bool write, Label slow, const Gp& dst) {
  const x86::Gp off = x86::rsi;
  Gp lin = off;
  const int32_t seg = kOffSeg + d.seg * 32;
  if (cx.long64) {
    if (d.seg >= machine::FS) {
      a.mov(x86::rdx, off);
      a.add(x86::rdx, x86::qword_ptr(state, seg + kSegBase));
      lin = x86::rdx;
    }
    // No canonical check (SDM Vol. 3 §3.3.7.1) is needed here: the TLB holds
    // canonical pages only and is compared on all 64 bits of the last byte's page,
    // and an entry holds a page of its own index, which the first byte picks; so an
    // access that is not canonical, or runs out of canonical space, misses.
  } else if ((write ? cx.flat_write : cx.flat_read) >> d.seg & 1) {
    // The segment was flat when the block was translated (base 0, every offset
    // valid, the rights needed): the offset is the linear address. If it no
    // longer is, the slow path does the checks. An access past 4 GiB - 1 wraps,
    // which the TLB compare below sends to the slow path.
    a.test(x86::byte_ptr(state, seg + kSegFlat), write ? machine::kSegWritable : machine::kSegReadable);
    a.jz(slow);
  } else {
    Label flat = a.newLabel(), tlb = a.newLabel();
    a.test(x86::byte_ptr(state, seg + kSegFlat), write ? machine::kSegWritable : machine::kSegReadable);
    a.jnz(flat);
    uint8_t need = write ? (machine::kSegWritable | machine::kSegUsable) : (machine::kSegReadable | machine::kSegUsable);
    a.movzx(x86::eax, x86::byte_ptr(state, seg + kSegRights));
    a.and_(x86::eax, need);
    a.cmp(x86::eax, need);
    a.jne(slow);
    a.mov(x86::eax, x86::dword_ptr(state, seg + kSegLo));
    a.cmp(off, x86::rax);
    a.jb(slow);
    a.lea(x86::rcx, x86::ptr(off, static_cast<int32_t>(size - 1)));
    a.mov(x86::eax, x86::dword_ptr(state, seg + kSegHi));
    a.cmp(x86::rcx, x86::rax);
    a.ja(slow);
    a.mov(x86::rdx, x86::qword_ptr(state, seg + kSegBase));
    a.add(x86::rdx, off);
    a.mov(x86::edx, x86::edx);
    a.jmp(tlb);
    a.bind(flat);
    a.mov(x86::edx, off.r32());
    a.bind(tlb);
    lin = x86::rdx;
  }
  // TLB entry: index by the first byte ((lin >> 12) % kSize entries of 32 bytes),
  // compare the tag with the last byte's page.
  static_assert(machine::Tlb::kSize == 256 && sizeof(machine::TlbEntry) == 32);
  const int32_t table = kOffTlb + (cx.user ? machine::Tlb::kSize * 32 : 0);
  a.mov(x86::rcx, lin);
  a.shr(x86::rcx, 7);
  a.and_(x86::ecx, (machine::Tlb::kSize - 1) << 5);
  if (cx.long64) {
    a.lea(x86::rax, x86::ptr(lin, static_cast<int32_t>(size - 1)));
    a.and_(x86::rax, imm(static_cast<int64_t>(machine::kPageMask)));
  } else {
    a.lea(x86::eax, x86::ptr(lin, static_cast<int32_t>(size - 1)));  // wraps at 4 GiB
    a.and_(x86::eax, 0xFFFFF000u);
  }
  a.cmp(x86::rax, x86::qword_ptr(state, x86::rcx, 0, table + (write ? kTagWrite : kTagRead)));
  a.jne(slow);
  if (lin == dst) {
    a.add(dst, x86::qword_ptr(state, x86::rcx, 0, table + kAddend));
  } else {
    a.mov(dst, x86::qword_ptr(state, x86::rcx, 0, table + kAddend));
    a.add(dst, lin);
  }
}

// ---- native forms ------------------------------------------------------------------------------
// Each form below has exactly its handler's effect on CpuState (registers, memory,
// the lazy-flags record or RFLAGS); the JIT-versus-interpreter tests and --jit
// verify check that. A memory operand goes through emit_ea + emit_translate, with
// the handler as the out-of-line slow path (`slow`). Scratch registers: rax, rcx,
// rdx, rsi (the translation), rdi, r8 (host pointer), r9-r11 (values).

// A guest 8-bit register in CpuState (without REX, 4-7 are AH, CH, DH, BH).
x86::Mem reg8_mem(const Gp& state, unsigned n, bool rex) {
  if (!rex && n >= 4 && n < 8) return x86::byte_ptr(state, gpr_off(n - 4) + 1);
  return x86::byte_ptr(state, gpr_off(n));
}

namespace {
// The guest register holding 8-bit register n, and whether it is its bits 8-15;
// counts the access (RegCache's recording).
unsigned reg8_owner(RegCache& rc, unsigned n, bool rex, bool& high) {
  high = !rex && n >= 4 && n < 8;
  const unsigned owner = high ? n - 4 : n;
  rc.note_use(owner);
  if (high) rc.high_byte |= static_cast<uint16_t>(1u << owner);
  return owner;
}
}  // namespace

// 8-bit registers: a cached guest register's low byte is its host register's; the
// high bytes (AH..BH) go through CpuState, the host register written back around
// the access (moves only, so the host flags survive either way).
void load_gpr(Emitter& a, const Gp& state, const Gp& dst, unsigned n, unsigned bytes, bool rex) {
  if (bytes != 1) {
    load_reg(a, state, dst, n, bytes);
    return;
  }
  bool high = false;
  const unsigned owner = reg8_owner(a.rc, n, rex, high);
  if (a.rc.has(owner) && !high) {
    a.movzx(dst.r32(), a.rc.host(owner).r8());
    return;
  }
  if (a.rc.has(owner)) a.mov(x86::qword_ptr(state, gpr_off(owner)), a.rc.host(owner));
  a.movzx(dst.r32(), reg8_mem(state, n, rex));
}

void store_gpr(Emitter& a, const Gp& state, const Gp& src, unsigned n, unsigned bytes, bool rex) {
  if (bytes != 1) {
    store_reg(a, state, src, n, bytes);
    return;
  }
  bool high = false;
  const unsigned owner = reg8_owner(a.rc, n, rex, high);
  if (!a.rc.has(owner)) {
    a.mov(reg8_mem(state, n, rex), src.r8());
    return;
  }
  const Gp h = a.rc.host(owner);
  if (high) {
    a.mov(x86::qword_ptr(state, gpr_off(owner)), h);
    a.mov(reg8_mem(state, n, rex), src.r8());
    a.mov(h, x86::qword_ptr(state, gpr_off(owner)));
  } else {
    a.mov(h.r8(), src.r8());
  }
  a.rc.dirty |= static_cast<uint16_t>(1u << owner);
}

// SETcc to an 8-bit guest register from the host flags.
void emit_setcc_reg8(Emitter& a, const Gp& state, unsigned cc, unsigned n, bool rex) {
  bool high = false;
  const unsigned owner = reg8_owner(a.rc, n, rex, high);
  const auto c = static_cast<x86::CondCode>(cc);
  if (!a.rc.has(owner)) {
    a.set(c, reg8_mem(state, n, rex));
    return;
  }
  const Gp h = a.rc.host(owner);
  if (high) {
    a.mov(x86::qword_ptr(state, gpr_off(owner)), h);
    a.set(c, reg8_mem(state, n, rex));
    a.mov(h, x86::qword_ptr(state, gpr_off(owner)));
  } else {
    a.set(c, h.r8());
  }
  a.rc.dirty |= static_cast<uint16_t>(1u << owner);
}

void load_host(Emitter& a, const Gp& dst, const Gp& p, unsigned bytes) {
  switch (bytes) {
    case 1: a.movzx(dst.r32(), x86::byte_ptr(p)); break;
    case 2: a.movzx(dst.r32(), x86::word_ptr(p)); break;
    case 4: a.mov(dst.r32(), x86::dword_ptr(p)); break;
    default: a.mov(dst, x86::qword_ptr(p)); break;
  }
}

void store_host(Emitter& a, const Gp& p, const Gp& src, unsigned bytes) {
  switch (bytes) {
    case 1: a.mov(x86::byte_ptr(p), src.r8()); break;
    case 2: a.mov(x86::word_ptr(p), src.r16()); break;
    case 4: a.mov(x86::dword_ptr(p), src.r32()); break;
    default: a.mov(x86::qword_ptr(p), src); break;
  }
}

// --jit verify: journals the `bytes` at the host pointer in r8 before a store.
// The value registers r9-r11 survive the call too: a form may compute its value
// before the store's address (SETcc's condition in r10).
void emit_journal(Emitter& a, const Gp& state, unsigned bytes) {
  a.push(x86::r8);
  a.push(x86::r9);
  a.push(x86::r10);
  a.push(x86::r11);  // four pushes keep the stack 16-byte aligned for the call
  a.mov(x86::rdi, state);
  a.mov(x86::rsi, x86::r8);
  a.mov(x86::edx, bytes);
  a.mov(x86::rax, imm(reinterpret_cast<uint64_t>(&journal_store)));
  a.call(x86::rax);
  a.pop(x86::r11);
  a.pop(x86::r10);
  a.pop(x86::r9);
  a.pop(x86::r8);
}

// d's memory operand as a host pointer in r8 for an access of `bytes`.
void emit_mem_ptr(Emitter& a, const Gp& state, const DecodedInsn& d, const Ctx& cx, unsigned bytes, bool write,
                  Label slow) {
  emit_ea(a, state, d, cx);
  emit_translate(a, state, d, cx, bytes, write, slow, x86::r8);
  if (write && cx.journal) emit_journal(a, state, bytes);
}

// Writes the lazy-flags record as set_flags_lazy does (moves only: the host
// flags survive).
void emit_record(Emitter& a, const Gp& state, machine::FlagKind kind, unsigned bytes, const Gp& res,
                 const Gp* s1, const Gp* s2) {
  a.mov(x86::word_ptr(state, kOffLfKind), imm(static_cast<unsigned>(kind) | (size_code(bytes) << 8)));
  a.mov(x86::qword_ptr(state, kOffLfRes), res);
  // A logic record's flags come from the result alone (compute_arith_flags): its
  // sources are never read, so they are not written.
  if (s1) a.mov(x86::qword_ptr(state, kOffLfSrc1), *s1);
  if (s2) a.mov(x86::qword_ptr(state, kOffLfSrc2), *s2);
}

// r11 holds the six arithmetic flags: RFLAGS takes them and the record is cleared
// (set_arith_flags with every arithmetic flag written).
void emit_set_arith(Emitter& a, const Gp& state) {
  a.mov(x86::rax, x86::qword_ptr(state, kOffRflags));
  a.and_(x86::rax, imm(static_cast<int64_t>(~machine::kArithFlags)));
  a.or_(x86::rax, x86::r11);
  a.mov(x86::qword_ptr(state, kOffRflags), x86::rax);
  a.mov(x86::byte_ptr(state, kOffLfKind), 0);
}

// Re-creates host flags from which host condition `cc` (the same encoding as the
// guest's) gives the guest condition; false when it cannot for this source.
bool emit_host_flags(Emitter& a, const Gp& state, const FlagSource& f, unsigned cc) {
  using machine::FlagKind;
  const Gp s1 = x86::rax, s2 = x86::rcx;
  const bool uses_cf = (cc >> 1) == 1 || (cc >> 1) == 3;  // B/AE, BE/A
  if (f.host) return true;
  switch (f.kind) {
    case static_cast<unsigned>(FlagKind::Logic):
      a.mov(s1, x86::qword_ptr(state, kOffLfRes));
      a.test(sized(s1, f.size), sized(s1, f.size));
      return true;
    case static_cast<unsigned>(FlagKind::Add):
    case static_cast<unsigned>(FlagKind::Sub):
      a.mov(s1, x86::qword_ptr(state, kOffLfSrc1));
      a.mov(s2, x86::qword_ptr(state, kOffLfSrc2));
      if (f.kind == static_cast<unsigned>(FlagKind::Add)) a.add(sized(s1, f.size), sized(s2, f.size));
      else a.cmp(sized(s1, f.size), sized(s2, f.size));
      return true;
    case static_cast<unsigned>(FlagKind::Inc):
    case static_cast<unsigned>(FlagKind::Dec):
      if (uses_cf) return false;  // CF is the preserved one
      // OF, SF, ZF and PF of res = a +/- 1, from a recomputed.
      a.mov(s1, x86::qword_ptr(state, kOffLfRes));
      if (f.kind == static_cast<unsigned>(FlagKind::Inc)) {
        a.sub(sized(s1, f.size), 1);
        a.add(sized(s1, f.size), 1);
      } else {
        a.add(sized(s1, f.size), 1);
        a.sub(sized(s1, f.size), 1);
      }
      return true;
    case kEager:
      // Only the arithmetic flags reach the host's RFLAGS (TF, DF and IF stay clear).
      a.mov(s1, x86::qword_ptr(state, kOffRflags));
      a.and_(s1.r32(), static_cast<uint32_t>(machine::kArithFlags));
      a.push(s1);
      a.popfq();
      return true;
    default:
      return false;
  }
}

// A guest condition as the handlers evaluate it, from the lazy record.
bool condition_thunk(const CpuState* c, unsigned cc) { return machine::eval_condition(*c, cc); }
bool carry_thunk(const CpuState* c) { return machine::get_cf(*c); }

// The guest condition `cc` as 0/1 in r10d. Comes first in a form: the call clobbers
// every scratch register.
void emit_condition_r10(Emitter& a, const Gp& state, const FlagSource& f, unsigned cc) {
  if (emit_host_flags(a, state, f, cc)) {
    a.set(static_cast<x86::CondCode>(cc), x86::r10b);
    a.movzx(x86::r10d, x86::r10b);
    return;
  }
  a.mov(x86::rdi, state);
  a.mov(x86::esi, cc);
  a.mov(x86::rax, imm(reinterpret_cast<uint64_t>(&condition_thunk)));
  a.call(x86::rax);
  a.movzx(x86::r10d, x86::al);
}

// The r/m operand of d (register or memory) into `dst`, zero-extended.
void emit_load_rm(Emitter& a, const Gp& state, const DecodedInsn& d, const Ctx& cx, unsigned bytes,
                  const Gp& dst, Label slow, bool& uses_slow) {
  if (d.mod == 3) {
    load_gpr(a, state, dst, d.rm, bytes, has_rex(d));
    return;
  }
  emit_mem_ptr(a, state, d, cx, bytes, false, slow);
  load_host(a, dst, x86::r8, bytes);
  uses_slow = true;
}

// The stack slot at RSP + delta for `bytes` (8 in 64-bit mode, where SS has no
// base; 4 with a 32-bit stack, SS.B set, else the handler): host pointer in rdx.
void emit_stack_ptr(Emitter& a, const Gp& state, const DecodedInsn& d, const Ctx& cx, int32_t delta,
                    unsigned bytes, bool write, Label slow) {
  DecodedInsn ss = d;
  ss.seg = machine::SS;
  if (cx.long64) {
    load_reg(a, state, x86::rsi, machine::RSP, 8);
    if (delta) a.add(x86::rsi, delta);
  } else {
    a.test(x86::word_ptr(state, kOffSeg + machine::SS * 32 + kSegAttr), machine::kSegAttrD);
    a.jz(slow);
    load_reg(a, state, x86::rsi, machine::RSP, 4);
    if (delta) a.add(x86::esi, delta);  // the 32-bit stack pointer wraps
  }
  emit_translate(a, state, ss, cx, bytes, write, slow);
}

// The stack width native PUSH/POP/CALL/RET handle in this block's mode: 8 in
// 64-bit mode, 4 in 32-bit code (with a 32-bit stack, checked at run time); 0: none.
// In 64-bit mode these default to 64 bits without REX.W (the decoder's osize is
// then 4); only a 66h prefix makes them 16-bit (SDM Vol. 1 §3.6.1, Vol. 2A §2.2.1.3).
unsigned native_stack_width(const Ctx& cx, const DecodedInsn& d, bool flat32) {
  if (cx.long64) return d.osize == 2 ? 0 : 8;
  return flat32 && d.osize == 4 ? 4 : 0;
}

}  // namespace kestrel::jit
