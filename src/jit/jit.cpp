#include "jit/jit.h"

#include <asmjit/x86.h>

#include <cstddef>
#include <cstring>
#include <vector>

#include "frontend-x86/insn.h"
#include "machine/cpu_state.h"
#include "machine/exceptions.h"
#include "machine/flags.h"
#include "machine/machine.h"

namespace kestrel::jit {

namespace {

using namespace asmjit;
using machine::CpuState;

// Field offsets the generated code uses (CpuState is standard layout).
constexpr int32_t kOffRip = offsetof(CpuState, rip);
constexpr int32_t kOffIcount = offsetof(CpuState, icount);
constexpr int32_t kOffEvents = offsetof(CpuState, event_pending);
constexpr int32_t kOffIcountLimit = offsetof(CpuState, icount_limit);
constexpr int32_t kOffMode = offsetof(CpuState, mode);
constexpr int32_t kOffLfRes = offsetof(CpuState, lf_res);
constexpr int32_t kOffLfSrc1 = offsetof(CpuState, lf_src1);
constexpr int32_t kOffLfSrc2 = offsetof(CpuState, lf_src2);
constexpr int32_t kOffLfKind = offsetof(CpuState, lf_kind);
constexpr int32_t kOffLfAux = offsetof(CpuState, lf_aux);
constexpr int32_t kOffRflags = offsetof(CpuState, rflags);
constexpr int32_t kOffSeg = offsetof(CpuState, seg);
constexpr int32_t kOffTlb = offsetof(CpuState, tlb);
static_assert(kOffRip == 128);
static_assert(offsetof(CpuState, lf_size) == offsetof(CpuState, lf_kind) + 1);
static_assert(sizeof(machine::SegmentCache) == 32 && sizeof(machine::TlbEntry) == 32);
constexpr int32_t kSegAttr = offsetof(machine::SegmentCache, attr);
constexpr int32_t kSegBase = offsetof(machine::SegmentCache, base), kSegLo = offsetof(machine::SegmentCache, lo),
                  kSegHi = offsetof(machine::SegmentCache, hi), kSegRights = offsetof(machine::SegmentCache, rights);
constexpr int32_t kTagRead = offsetof(machine::TlbEntry, tag_read), kTagWrite = offsetof(machine::TlbEntry, tag_write),
                  kAddend = offsetof(machine::TlbEntry, addend);

using frontend::DecodedInsn;
using frontend::InsnId;

int32_t gpr_off(unsigned n) { return static_cast<int32_t>(n * 8); }

// ---- native fast paths ------------------------------------------------------------------------
// Register-only forms that cannot fault are emitted as host code; their effect on
// CpuState (registers and the lazy-flags record) is exactly the handler's, which
// the JIT-versus-interpreter differential test checks.

// Loads a guest register of `bytes` into a host register, zero-extended.
void load_reg(x86::Assembler& a, const x86::Gp& state, const x86::Gp& dst64, unsigned n, unsigned bytes) {
  switch (bytes) {
    case 2: a.movzx(dst64.r32(), x86::word_ptr(state, gpr_off(n))); break;
    case 4: a.mov(dst64.r32(), x86::dword_ptr(state, gpr_off(n))); break;
    default: a.mov(dst64, x86::qword_ptr(state, gpr_off(n))); break;
  }
}

// Stores with the x86-64 rule: 32-bit writes zero-extend, 16-bit writes merge.
void store_reg(x86::Assembler& a, const x86::Gp& state, const x86::Gp& src64, unsigned n, unsigned bytes) {
  switch (bytes) {
    case 2: a.mov(x86::word_ptr(state, gpr_off(n)), src64.r16()); break;
    case 4: a.mov(src64.r32(), src64.r32()); a.mov(x86::qword_ptr(state, gpr_off(n)), src64); break;
    default: a.mov(x86::qword_ptr(state, gpr_off(n)), src64); break;
  }
}

// What the translator knows that the fast paths need.
struct Ctx {
  bool long64;
  bool flat32 = false;   // 32-bit code segment (protected or compatibility mode)
  bool user;             // CPL 3: the user half of the TLB
  uint64_t pending_len;  // RIP bytes not yet written back (for RIP-relative operands)
  bool journal;          // --jit verify: record native stores in the bus's write journal
};

// Called by code compiled for --jit verify before a native store: journals the
// bytes about to change, as PhysBus does for writes through the bus.
void journal_store(CpuState* c, uint8_t* p, uint64_t n) {
  if (machine::WriteJournal* j = c->machine->bus().journal())
    for (uint64_t i = 0; i < n; ++i) j->bytes.emplace_back(p + i, p[i]);
}

// Computes the effective address of d's memory operand into rsi (clobbers rcx).
void emit_ea(x86::Assembler& a, const x86::Gp& state, const DecodedInsn& d, const Ctx& cx) {
  const x86::Gp ea = x86::rsi;
  if (d.base == frontend::kRipBase) {
    a.mov(ea, x86::qword_ptr(state, kOffRip));
    a.add(ea, imm(static_cast<int64_t>(cx.pending_len + d.len) + d.disp));
  } else {
    a.mov(ea, imm(static_cast<int64_t>(d.disp)));
    if (d.base != frontend::kNoReg) a.add(ea, x86::qword_ptr(state, gpr_off(d.base)));
  }
  if (d.index != frontend::kNoReg) {
    a.mov(x86::rcx, x86::qword_ptr(state, gpr_off(d.index)));
    if (d.scale) a.shl(x86::rcx, d.scale);
    a.add(ea, x86::rcx);
  }
  if (d.asize == 4) a.mov(ea.r32(), ea.r32());
  else if (d.asize == 2) a.movzx(ea.r32(), ea.r16());
}

// From the offset in rsi to a host pointer in rdx for an access of `size` bytes,
// or a jump to `slow`: the segment's bounds and rights (the canonical check in
// 64-bit mode), then the soft TLB's tag compare — the same checks as the
// interpreter's segment_to_linear and read_linear/write_linear fast paths.
void emit_translate(x86::Assembler& a, const x86::Gp& state, const DecodedInsn& d, const Ctx& cx, unsigned size,
                    bool write, Label slow) {
  const x86::Gp off = x86::rsi, lin = x86::rdx;
  const int32_t seg = kOffSeg + d.seg * 32;
  if (cx.long64) {
    a.mov(lin, off);
    if (d.seg >= machine::FS) a.add(lin, x86::qword_ptr(state, seg + kSegBase));
    for (unsigned k : {0u, size - 1}) {
      a.lea(x86::rax, x86::ptr(lin, static_cast<int32_t>(k)));
      a.sar(x86::rax, 47);
      a.add(x86::rax, 1);
      a.cmp(x86::rax, 1);
      a.ja(slow);
    }
  } else {
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
    a.mov(lin, x86::qword_ptr(state, seg + kSegBase));
    a.add(lin, off);
    a.mov(lin.r32(), lin.r32());
  }
  // TLB entry: index by the first byte, compare the tag with the last byte's page.
  a.mov(x86::rcx, lin);
  a.shr(x86::rcx, 12);
  a.and_(x86::ecx, machine::Tlb::kSize - 1);
  a.shl(x86::ecx, 5);
  a.lea(x86::rcx, x86::ptr(state, x86::rcx, 0, kOffTlb + (cx.user ? machine::Tlb::kSize * 32 : 0)));
  a.lea(x86::rax, x86::ptr(lin, static_cast<int32_t>(size - 1)));
  if (!cx.long64) a.mov(x86::eax, x86::eax);
  a.and_(x86::rax, imm(static_cast<int64_t>(machine::kPageMask)));
  a.cmp(x86::rax, x86::qword_ptr(x86::rcx, write ? kTagWrite : kTagRead));
  a.jne(slow);
  a.add(lin, x86::qword_ptr(x86::rcx, kAddend));
}

// ---- native forms ------------------------------------------------------------------------------
// Each form below has exactly its handler's effect on CpuState (registers, memory,
// the lazy-flags record or RFLAGS); the JIT-versus-interpreter tests and --jit
// verify check that. A memory operand goes through emit_ea + emit_translate, with
// the handler as the out-of-line slow path (`slow`). Scratch registers: rax, rcx,
// rdx, rsi (the translation), rdi, r8 (host pointer), r9-r11 (values).

// The flag-setting operation most recently emitted natively in the block, so a
// later consumer (Jcc, CMOVcc, SETcc, INC/DEC's CF) can read it on the host.
// kind: a FlagKind, kEager (RFLAGS holds the flags, lf_kind None), or 0 (unknown).
constexpr unsigned kEager = 100;
struct FlagSource {
  unsigned kind = 0;
  unsigned size = 0;
};

using x86::Gp;

Gp sized(const Gp& r, unsigned bytes) {
  switch (bytes) {
    case 1: return r.r8();
    case 2: return r.r16();
    case 4: return r.r32();
    default: return r.r64();
  }
}

uint64_t mask_of(unsigned bytes) { return bytes >= 8 ? ~0ull : (1ull << (bytes * 8)) - 1; }
unsigned size_code(unsigned bytes) { return bytes == 1 ? 0 : bytes == 2 ? 1 : bytes == 4 ? 2 : 3; }
bool has_rex(const DecodedInsn& d) { return d.pfx & frontend::kPfxRex; }

// A guest 8-bit register (without REX, 4-7 are AH, CH, DH, BH).
x86::Mem reg8_mem(const Gp& state, unsigned n, bool rex) {
  if (!rex && n >= 4 && n < 8) return x86::byte_ptr(state, gpr_off(n - 4) + 1);
  return x86::byte_ptr(state, gpr_off(n));
}

void load_gpr(x86::Assembler& a, const Gp& state, const Gp& dst, unsigned n, unsigned bytes, bool rex) {
  if (bytes == 1) a.movzx(dst.r32(), reg8_mem(state, n, rex));
  else load_reg(a, state, dst, n, bytes);
}

void store_gpr(x86::Assembler& a, const Gp& state, const Gp& src, unsigned n, unsigned bytes, bool rex) {
  if (bytes == 1) a.mov(reg8_mem(state, n, rex), src.r8());
  else store_reg(a, state, src, n, bytes);
}

void load_host(x86::Assembler& a, const Gp& dst, const Gp& p, unsigned bytes) {
  switch (bytes) {
    case 1: a.movzx(dst.r32(), x86::byte_ptr(p)); break;
    case 2: a.movzx(dst.r32(), x86::word_ptr(p)); break;
    case 4: a.mov(dst.r32(), x86::dword_ptr(p)); break;
    default: a.mov(dst, x86::qword_ptr(p)); break;
  }
}

void store_host(x86::Assembler& a, const Gp& p, const Gp& src, unsigned bytes) {
  switch (bytes) {
    case 1: a.mov(x86::byte_ptr(p), src.r8()); break;
    case 2: a.mov(x86::word_ptr(p), src.r16()); break;
    case 4: a.mov(x86::dword_ptr(p), src.r32()); break;
    default: a.mov(x86::qword_ptr(p), src); break;
  }
}

// --jit verify: journals the `bytes` at the host pointer in r8 before a store.
void emit_journal(x86::Assembler& a, const Gp& state, unsigned bytes) {
  a.push(x86::r8);
  a.sub(x86::rsp, 8);  // keep the stack 16-byte aligned for the call
  a.mov(x86::rdi, state);
  a.mov(x86::rsi, x86::r8);
  a.mov(x86::edx, bytes);
  a.mov(x86::rax, imm(reinterpret_cast<uint64_t>(&journal_store)));
  a.call(x86::rax);
  a.add(x86::rsp, 8);
  a.pop(x86::r8);
}

// d's memory operand as a host pointer in r8 for an access of `bytes`.
void emit_mem_ptr(x86::Assembler& a, const Gp& state, const DecodedInsn& d, const Ctx& cx, unsigned bytes, bool write,
                  Label slow) {
  emit_ea(a, state, d, cx);
  emit_translate(a, state, d, cx, bytes, write, slow);
  a.mov(x86::r8, x86::rdx);
  if (write && cx.journal) emit_journal(a, state, bytes);
}

// Writes the lazy-flags record as set_flags_lazy does.
void emit_record(x86::Assembler& a, const Gp& state, machine::FlagKind kind, unsigned bytes, const Gp& res,
                 const Gp* s1, const Gp* s2) {
  a.mov(x86::word_ptr(state, kOffLfKind), imm(static_cast<unsigned>(kind) | (size_code(bytes) << 8)));
  a.mov(x86::qword_ptr(state, kOffLfRes), res);
  if (!s1 || !s2) a.xor_(x86::eax, x86::eax);
  a.mov(x86::qword_ptr(state, kOffLfSrc1), s1 ? *s1 : x86::rax);
  a.mov(x86::qword_ptr(state, kOffLfSrc2), s2 ? *s2 : x86::rax);
}

// r11 holds the six arithmetic flags: RFLAGS takes them and the record is cleared
// (set_arith_flags with every arithmetic flag written).
void emit_set_arith(x86::Assembler& a, const Gp& state) {
  a.mov(x86::rax, x86::qword_ptr(state, kOffRflags));
  a.and_(x86::rax, imm(static_cast<int64_t>(~machine::kArithFlags)));
  a.or_(x86::rax, x86::r11);
  a.mov(x86::qword_ptr(state, kOffRflags), x86::rax);
  a.mov(x86::byte_ptr(state, kOffLfKind), 0);
}

// Re-creates host flags from which host condition `cc` (the same encoding as the
// guest's) gives the guest condition; false when it cannot for this source.
bool emit_host_flags(x86::Assembler& a, const Gp& state, const FlagSource& f, unsigned cc) {
  using machine::FlagKind;
  const Gp s1 = x86::rax, s2 = x86::rcx;
  const bool uses_cf = (cc >> 1) == 1 || (cc >> 1) == 3;  // B/AE, BE/A
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
void emit_condition_r10(x86::Assembler& a, const Gp& state, const FlagSource& f, unsigned cc) {
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

// The r/m operand of d (register or memory) into `dst`, zero-extended.
void emit_load_rm(x86::Assembler& a, const Gp& state, const DecodedInsn& d, const Ctx& cx, unsigned bytes,
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
void emit_stack_ptr(x86::Assembler& a, const Gp& state, const DecodedInsn& d, const Ctx& cx, int32_t delta,
                    unsigned bytes, bool write, Label slow) {
  DecodedInsn ss = d;
  ss.seg = machine::SS;
  if (cx.long64) {
    a.mov(x86::rsi, x86::qword_ptr(state, gpr_off(machine::RSP)));
    if (delta) a.add(x86::rsi, delta);
  } else {
    a.test(x86::word_ptr(state, kOffSeg + machine::SS * 32 + kSegAttr), machine::kSegAttrD);
    a.jz(slow);
    a.mov(x86::esi, x86::dword_ptr(state, gpr_off(machine::RSP)));
    if (delta) a.add(x86::esi, delta);  // the 32-bit stack pointer wraps
  }
  emit_translate(a, state, ss, cx, bytes, write, slow);
}

// The stack width native PUSH/POP/CALL/RET handle in this block's mode: 8 in
// 64-bit mode, 4 in 32-bit code (with a 32-bit stack, checked at run time); 0: none.
unsigned native_stack_width(const Ctx& cx, const DecodedInsn& d, bool flat32) {
  if (cx.long64) return d.osize == 8 ? 8 : 0;
  return flat32 && d.osize == 4 ? 4 : 0;
}

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

}  // namespace

struct Jit::Impl {
  JitRuntime rt;
  interp::NativeEnterFn enter = nullptr;
  interp::NativeLookupFn lookup = nullptr;
  void* lookup_ctx = nullptr;
};

Jit::Jit(bool journal_stores) : impl_(std::make_unique<Impl>()), journal_stores_(journal_stores) {
  // The trampoline: pins the state in rbx (callee-saved, so handler calls keep
  // it) and jumps to the code; blocks end with `pop rbx; ret`. The one push also
  // aligns the stack to 16 bytes for the calls blocks make.
  CodeHolder code;
  code.init(impl_->rt.environment());
  x86::Assembler a(&code);
  a.push(x86::rbx);
  a.mov(x86::rbx, x86::rdi);
  a.jmp(x86::rsi);
  if (impl_->rt.add(&impl_->enter, &code) != kErrorOk) impl_->enter = nullptr;
}
Jit::~Jit() = default;

bool available() { return true; }

interp::NativeEnterFn Jit::enter_fn() const { return impl_->enter; }

void Jit::set_lookup(interp::NativeLookupFn fn, void* ctx) {
  impl_->lookup = fn;
  impl_->lookup_ctx = ctx;
}

bool Jit::patch(interp::ChainExit& e, const void* dest) {
  const uint8_t* to = dest ? static_cast<const uint8_t*>(dest) : e.stub;
  int64_t rel = reinterpret_cast<intptr_t>(to) - reinterpret_cast<intptr_t>(e.site + 5);
  if (rel != static_cast<int32_t>(rel)) return false;
  int32_t r32 = static_cast<int32_t>(rel);
  std::memcpy(e.site + 1, &r32, 4);  // the code is in writable memory (asmjit's RWX pages)
  return true;
}

bool Jit::compile(interp::Block& b) {
  if (b.insns.empty() || !impl_->enter) return false;
  CodeHolder code;
  code.init(impl_->rt.environment());
  x86::Assembler a(&code);
  const x86::Gp state = x86::rbx;  // CpuState*, callee-saved across the handler calls

  // The block's mode is fixed by its key: in 64-bit mode RIP is not truncated.
  const machine::CpuMode mode = static_cast<machine::CpuMode>((b.key >> 52) & 7);
  const bool long64 = mode == machine::CpuMode::Long64;
  const bool user = ((b.key >> 55) & 3) == 3;  // the mode key holds the CPL in bits 3-4
  const bool flat32 = mode == machine::CpuMode::Protected32 || mode == machine::CpuMode::Compat32;
  const uint64_t lin_mask = long64 ? ~0ull : 0xFFFFFFFFull;

  Label exit_status = a.newLabel();
  Label exit_fell = a.newLabel();
  Label body = a.newLabel();
  // Entry from a chained jump or the indirect-branch lookup: leave (nothing done,
  // RIP on the block) when the run loop has something to do or the budget is up.
  a.cmp(x86::dword_ptr(state, kOffEvents), 0);
  a.jne(exit_fell);
  a.mov(x86::rax, x86::qword_ptr(state, kOffIcount));
  a.cmp(x86::rax, x86::qword_ptr(state, kOffIcountLimit));
  a.jae(exit_fell);
  a.bind(body);
  // RIP and the retired count advance lazily over native instructions and are
  // brought up to date before every handler call (handlers read RIP) and exit.
  uint64_t pending_len = 0, pending_count = 0;
  auto flush = [&]() {
    if (!pending_count) return;
    if (long64) {
      a.add(x86::qword_ptr(state, kOffRip), imm(pending_len));
    } else {
      a.mov(x86::eax, x86::dword_ptr(state, kOffRip));
      a.add(x86::eax, imm(pending_len));
      a.mov(x86::qword_ptr(state, kOffRip), x86::rax);
    }
    a.add(x86::qword_ptr(state, kOffIcount), imm(pending_count));
    pending_len = pending_count = 0;
  };
  auto call_handler = [&](const frontend::DecodedInsn& d) {
    a.mov(x86::rdi, state);
    a.mov(x86::rsi, imm(reinterpret_cast<uint64_t>(&d)));
    a.mov(x86::rax, imm(reinterpret_cast<uint64_t>(d.fn)));
    a.call(x86::rax);
  };
  // Calls the handler of d, leaving the block on a status other than Ok.
  auto emit_call = [&](const frontend::DecodedInsn& d) {
    call_handler(d);
    // ExecStatus::Ok is 0: anything else leaves the block with that status.
    static_assert(static_cast<int>(machine::ExecStatus::Ok) == 0);
    a.test(x86::al, x86::al);
    a.jnz(exit_status);
  };
  auto add_rip = [&](int64_t n) {
    if (long64) {
      a.add(x86::qword_ptr(state, kOffRip), imm(n));
    } else {
      a.mov(x86::eax, x86::dword_ptr(state, kOffRip));
      a.add(x86::eax, imm(n));
      a.mov(x86::qword_ptr(state, kOffRip), x86::rax);
    }
  };
  // Leaving with RIP and icount complete: to the block at CS:RIP through the
  // lookup (the jump cache), else back to the run loop.
  auto emit_lookup_exit = [&](interp::ChainExit* e) {
    if (impl_->lookup) {
      a.mov(x86::rdi, imm(reinterpret_cast<uint64_t>(impl_->lookup_ctx)));
      a.mov(x86::rsi, state);
      a.mov(x86::rdx, imm(reinterpret_cast<uint64_t>(e)));
      a.mov(x86::rax, imm(reinterpret_cast<uint64_t>(impl_->lookup)));
      a.call(x86::rax);
      a.test(x86::rax, x86::rax);
      Label none = a.newLabel();
      a.jz(none);
      a.jmp(x86::rax);
      a.bind(none);
    }
    a.mov(x86::eax, interp::kNativeFellThrough);
    a.mov(x86::rdx, imm(reinterpret_cast<uint64_t>(e)));
    a.pop(state);
    a.ret();
  };
  // A direct exit to guest code at `target` (linear): a patchable jmp when the
  // target can be chained (same linear page as the block, whose translation the
  // lookup that entered the chain validated; a mode whose branch targets do not
  // depend on the CS base), else the lookup.
  struct PendingExit {
    Label site, stub;
    unsigned k;
  };
  std::vector<PendingExit> chain_exits;
  auto emit_direct_exit = [&](uint64_t target, bool chainable) {
    target &= lin_mask;
    if (chainable && chain_exits.size() < 2 && (target & machine::kPageMask) == (b.lin & machine::kPageMask)) {
      PendingExit pe{a.newLabel(), a.newLabel(), static_cast<unsigned>(chain_exits.size())};
      b.exits[pe.k] = interp::ChainExit{nullptr, nullptr, target, &b, nullptr};
      a.bind(pe.site);
      a.db(0xE9);  // jmp rel32, pointed at the stub below until chained
      a.dd(0);
      chain_exits.push_back(pe);
      return;
    }
    emit_lookup_exit(nullptr);
  };
  // Out-of-line slow paths of memory fast paths: the handler runs the whole
  // instruction (it repeats every check, so nothing is done twice).
  struct SlowStub {
    Label slow, resume;
    const frontend::DecodedInsn* d;
    uint64_t p_len, p_count;  // RIP/icount not yet written back when the stub is entered
  };
  std::vector<SlowStub> stubs;
  FlagSource flags;
  Label taken_slow = a.newLabel();
  const frontend::DecodedInsn* native_jcc = nullptr;
  uint64_t insn_lin = b.lin;  // linear address of the instruction being translated
  bool ended = false;
  for (size_t i = 0; i < b.insns.size(); ++i) {
    const frontend::DecodedInsn& d = b.insns[i];
    const bool last = i + 1 == b.insns.size();
    const uint64_t next_lin = insn_lin + d.len;
    // Branch targets are chained only where they do not depend on the CS base:
    // 32-bit and 64-bit operand sizes (16-bit targets wrap at 64 KiB of IP).
    const unsigned bosize = long64 ? 8 : d.osize;
    const bool target_chainable = long64 || (flat32 && bosize == 4);
    const uint64_t branch_target = next_lin + static_cast<uint64_t>(static_cast<int64_t>(d.imm));
    // A block-ending conditional branch: the condition on the host (from the host
    // flags of a natively emitted setter, else from the lazy record through a
    // call), then RIP as the handler would set it, and one exit per outcome.
    if ((d.id == InsnId::Jcc_Jb || d.id == InsnId::Jcc_Jz) && last) {
      native_jcc = &d;
      flush();
      Label taken = a.newLabel();
      if (emit_host_flags(a, state, flags, d.op & 0xF)) {
        a.j(static_cast<x86::CondCode>(d.op & 0xF), taken);
      } else {
        a.mov(x86::rdi, state);
        a.mov(x86::esi, d.op & 0xF);
        a.mov(x86::rax, imm(reinterpret_cast<uint64_t>(&condition_thunk)));
        a.call(x86::rax);
        a.test(x86::al, x86::al);
        a.jnz(taken);
      }
      add_rip(d.len);
      a.inc(x86::qword_ptr(state, kOffIcount));
      emit_direct_exit(next_lin, long64);
      a.bind(taken);
      // Target = next IP + displacement, truncated to the operand size; beyond the
      // CS limit (or non-canonical) the handler raises the #GP.
      a.mov(x86::rax, x86::qword_ptr(state, kOffRip));
      a.add(x86::rax, imm(static_cast<int64_t>(d.len) + static_cast<int64_t>(d.imm)));
      if (bosize == 4) a.mov(x86::eax, x86::eax);
      else if (bosize == 2) a.movzx(x86::eax, x86::ax);
      if (long64) {
        a.mov(x86::rcx, x86::rax);
        a.sar(x86::rcx, 47);
        a.add(x86::rcx, 1);
        a.cmp(x86::rcx, 1);
        a.ja(taken_slow);
      } else {
        a.mov(x86::ecx, x86::dword_ptr(state, kOffSeg + machine::CS * 32 + static_cast<int32_t>(offsetof(machine::SegmentCache, limit))));
        a.cmp(x86::rax, x86::rcx);
        a.ja(taken_slow);
      }
      a.mov(x86::qword_ptr(state, kOffRip), x86::rax);
      a.inc(x86::qword_ptr(state, kOffIcount));
      emit_direct_exit(branch_target, target_chainable);
      ended = true;
      break;
    }
    Ctx cx{long64, flat32, user, pending_len, journal_stores_};
    Label slow = a.newLabel();
    bool uses_slow = false;
    if (emit_fast(a, state, d, cx, slow, uses_slow, flags)) {
      if (uses_slow) {
        Label resume = a.newLabel();
        a.bind(resume);
        stubs.push_back(SlowStub{slow, resume, &d, pending_len, pending_count});
      }
      pending_len += d.len;
      ++pending_count;
      insn_lin = next_lin;
      continue;
    }
    flush();
    const unsigned sw = native_stack_width(Ctx{long64, flat32, user, 0, journal_stores_}, d, flat32);
    if (last && sw && (d.id == InsnId::CALL_Jz || d.id == InsnId::RET)) {
      // Near CALL and RET (64-bit mode, or 32-bit code with a 32-bit stack): the
      // stack access through the TLB, the target's canonical or CS limit check;
      // anything else (a miss, a fault) is the handler's, below. RSP, the return
      // address and RIP change only once every check has passed.
      Label generic = a.newLabel();
      Ctx cx{long64, flat32, user, 0, journal_stores_};
      const x86::Gp ra = x86::r9, target = x86::r10;
      if (d.id == InsnId::CALL_Jz) {
        emit_stack_ptr(a, state, d, cx, -static_cast<int32_t>(sw), sw, true, generic);
        a.mov(x86::r8, x86::rdx);
        a.mov(ra, x86::qword_ptr(state, kOffRip));
        a.add(ra, d.len);
        if (sw == 4) a.mov(ra.r32(), ra.r32());
        a.mov(target, ra);
        a.add(target, imm(static_cast<int64_t>(d.imm)));
        if (sw == 4) a.mov(target.r32(), target.r32());
      } else {
        emit_stack_ptr(a, state, d, cx, 0, sw, false, generic);
        load_host(a, target, x86::rdx, sw);
      }
      if (sw == 8) {
        a.mov(x86::rax, target);
        a.sar(x86::rax, 47);
        a.add(x86::rax, 1);
        a.cmp(x86::rax, 1);
        a.ja(generic);
      } else {
        a.mov(x86::eax, x86::dword_ptr(state, kOffSeg + machine::CS * 32 + static_cast<int32_t>(offsetof(machine::SegmentCache, limit))));
        a.cmp(target, x86::rax);
        a.ja(generic);
      }
      if (d.id == InsnId::CALL_Jz) {
        if (journal_stores_) {
          a.push(target);
          a.push(ra);
          emit_journal(a, state, sw);
          a.pop(ra);
          a.pop(target);
        }
        store_host(a, x86::r8, ra, sw);
        if (sw == 8) a.sub(x86::qword_ptr(state, gpr_off(machine::RSP)), 8);
        else a.sub(x86::dword_ptr(state, gpr_off(machine::RSP)), 4);
      } else {
        if (sw == 8) a.add(x86::qword_ptr(state, gpr_off(machine::RSP)), 8);
        else a.add(x86::dword_ptr(state, gpr_off(machine::RSP)), 4);
      }
      a.mov(x86::qword_ptr(state, kOffRip), target);
      a.inc(x86::qword_ptr(state, kOffIcount));
      if (d.id == InsnId::CALL_Jz) emit_direct_exit(branch_target, target_chainable);
      else emit_lookup_exit(nullptr);
      a.bind(generic);
    }
    if (last) {
      // The block's last instruction: Ok falls through, Branch leaves through the
      // branch's exit; anything else goes back to the run loop.
      call_handler(d);
      Label not_ok = a.newLabel();
      a.test(x86::al, x86::al);
      a.jnz(not_ok);
      add_rip(d.len);
      a.inc(x86::qword_ptr(state, kOffIcount));
      // Fall through: chained only in 64-bit mode (no CS limit to re-check) after
      // an instruction that cannot change the mode (kEnd forms other than branches).
      // Unconditional direct branches: Branch means the target. (LOOP and JCXZ
      // return Branch either way, so they leave through the lookup.)
      bool is_branch = false, is_cond = false;
      switch (d.id) {
        case InsnId::JMP_Jb: case InsnId::JMP_Jz: case InsnId::CALL_Jz:
          is_branch = true;
          break;
        case InsnId::LOOP_Jb: case InsnId::LOOPE_Jb: case InsnId::LOOPNE_Jb: case InsnId::JCXZ_Jb:
          is_cond = true;
          break;
        default:
          break;
      }
      const bool mode_safe = is_branch || is_cond || !(frontend::insn_info(d.id).attrs & frontend::kEnd);
      if (mode_safe) emit_direct_exit(next_lin, long64);
      else emit_lookup_exit(nullptr);
      a.bind(not_ok);
      static_assert(static_cast<int>(machine::ExecStatus::Branch) == 1);
      a.cmp(x86::al, static_cast<uint32_t>(machine::ExecStatus::Branch));
      a.jne(exit_status);
      a.inc(x86::qword_ptr(state, kOffIcount));
      if (is_branch) emit_direct_exit(branch_target, target_chainable);
      else emit_lookup_exit(nullptr);
      ended = true;
      break;
    }
    emit_call(d);
    flags = FlagSource{};  // a handler may have set any flags
    pending_len = d.len;
    pending_count = 1;
    insn_lin = next_lin;
    flush();
    // Stop between instructions when something needs the run loop (an interrupt,
    // a write into this block's code, a stop request).
    a.cmp(x86::dword_ptr(state, kOffEvents), 0);
    a.jnz(exit_fell);
  }
  if (!ended) {
    // The block ended on a native instruction (page end or the block size limit).
    flush();
    emit_direct_exit(insn_lin, long64);
  }
  if (native_jcc) {
    // The taken branch's target failed its check: the handler raises the fault.
    a.bind(taken_slow);
    emit_call(*native_jcc);
    a.jmp(exit_fell);  // not reached: it faults
  }
  for (const SlowStub& st : stubs) {
    a.bind(st.slow);
    // Bring RIP/icount up to the instruction, run its handler, account for it; leave
    // if it raised an event (e.g. wrote into this block's code); else undo the
    // write-back, since the code after `resume` still counts these as pending.
    add_rip(static_cast<int64_t>(st.p_len));
    if (st.p_count) a.add(x86::qword_ptr(state, kOffIcount), imm(st.p_count));
    emit_call(*st.d);
    add_rip(st.d->len);
    a.inc(x86::qword_ptr(state, kOffIcount));
    a.cmp(x86::dword_ptr(state, kOffEvents), 0);
    a.jnz(exit_fell);
    add_rip(-static_cast<int64_t>(st.p_len + st.d->len));
    a.sub(x86::qword_ptr(state, kOffIcount), imm(st.p_count + 1));
    a.jmp(st.resume);
  }
  // Unchained direct exits: try the lookup (which may chain the exit), else return.
  for (const PendingExit& pe : chain_exits) {
    a.bind(pe.stub);
    emit_lookup_exit(&b.exits[pe.k]);
  }
  a.bind(exit_fell);
  a.mov(x86::eax, interp::kNativeFellThrough);
  a.xor_(x86::edx, x86::edx);
  a.pop(state);
  a.ret();
  a.bind(exit_status);
  a.movzx(x86::eax, x86::al);
  a.xor_(x86::edx, x86::edx);
  a.pop(state);
  a.ret();
  (void)kOffMode;

  void* fn = nullptr;
  if (impl_->rt.add(&fn, &code) != kErrorOk) return false;
  auto* base = static_cast<uint8_t*>(fn);
  for (const PendingExit& pe : chain_exits) {
    interp::ChainExit& e = b.exits[pe.k];
    e.site = base + code.labelOffset(pe.site);
    e.stub = base + code.labelOffset(pe.stub);
    patch(e, nullptr);
  }
  b.native_entry = base;
  b.native_body = base + code.labelOffset(body);
  b.native_bytes = static_cast<uint32_t>(code.codeSize());
  ++blocks_;
  bytes_ += code.codeSize();
  live_ += code.codeSize();
  return true;
}

void Jit::release(interp::Block& b) {
  if (!b.native_entry) return;
  impl_->rt.release(const_cast<void*>(b.native_entry));
  live_ -= b.native_bytes;
  b.native_entry = b.native_body = nullptr;
}

}  // namespace kestrel::jit
