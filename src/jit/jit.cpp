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
constexpr int32_t kOffSeg = offsetof(CpuState, seg);
constexpr int32_t kOffTlb = offsetof(CpuState, tlb);
static_assert(kOffRip == 128);
static_assert(offsetof(CpuState, lf_size) == offsetof(CpuState, lf_kind) + 1);
static_assert(sizeof(machine::SegmentCache) == 32 && sizeof(machine::TlbEntry) == 32);
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

enum class Alu { None, Add, Sub, Cmp, And, Or, Xor, Test, Mov };
enum class Form { None, Gv_Ev, Ev_Gv, Ev_I, rAX_I, Zv_Iv };

struct Fast {
  Alu op = Alu::None;
  Form form = Form::None;
};

Fast classify(InsnId id) {
  switch (id) {
#define ALU_CASES(NAME, OP)                                              \
  case InsnId::NAME##_Gv_Ev: return {Alu::OP, Form::Gv_Ev};              \
  case InsnId::NAME##_Ev_Gv: return {Alu::OP, Form::Ev_Gv};              \
  case InsnId::NAME##_Ev_Iz: case InsnId::NAME##_Ev_Ib: return {Alu::OP, Form::Ev_I}; \
  case InsnId::NAME##_rAX_Iz: return {Alu::OP, Form::rAX_I};
    ALU_CASES(ADD, Add)
    ALU_CASES(SUB, Sub)
    ALU_CASES(CMP, Cmp)
    ALU_CASES(AND, And)
    ALU_CASES(OR, Or)
    ALU_CASES(XOR, Xor)
#undef ALU_CASES
    case InsnId::TEST_Ev_Gv: return {Alu::Test, Form::Ev_Gv};
    case InsnId::TEST_rAX_Iz: return {Alu::Test, Form::rAX_I};
    case InsnId::MOV_Gv_Ev: return {Alu::Mov, Form::Gv_Ev};
    case InsnId::MOV_Ev_Gv: return {Alu::Mov, Form::Ev_Gv};
    case InsnId::MOV_Ev_Iz: return {Alu::Mov, Form::Ev_I};
    case InsnId::MOV_Zv_Iv: return {Alu::Mov, Form::Zv_Iv};
    default: return {};
  }
}

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

// A conditional branch whose flags come from a handler: the condition from the
// lazy record, as the Jcc handler evaluates it.
bool condition_thunk(const CpuState* c, unsigned cc) { return machine::eval_condition(*c, cc); }

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

// Register-only forms, and MOV loads/stores through the TLB fast path. Returns
// false when the form is left to its handler. `slow` is bound by the caller to
// a call of the handler, used when a memory fast path misses.
// The flag-setting operation most recently emitted natively in the block, so a
// following Jcc can evaluate its condition on the host (kind 0: unknown).
struct FlagSource {
  unsigned kind = 0;
  unsigned size = 0;
};

bool emit_fast(x86::Assembler& a, const x86::Gp& state, const DecodedInsn& d, const Ctx& cx, Label slow,
               bool& uses_slow, FlagSource& flags) {
  uses_slow = false;
  if (d.mod != 3 && (d.id == InsnId::MOV_Gv_Ev || d.id == InsnId::MOV_Ev_Gv) &&
      (d.osize == 2 || d.osize == 4 || d.osize == 8)) {
    const bool store = d.id == InsnId::MOV_Ev_Gv;
    emit_ea(a, state, d, cx);
    emit_translate(a, state, d, cx, d.osize, store, slow);
    uses_slow = true;
    const x86::Gp v = x86::rax;
    if (store && cx.journal) {
      a.push(x86::rdx);
      a.sub(x86::rsp, 8);  // keep the stack 16-byte aligned for the call
      a.mov(x86::rdi, state);
      a.mov(x86::rsi, x86::rdx);
      a.mov(x86::edx, d.osize);
      a.mov(x86::rax, imm(reinterpret_cast<uint64_t>(&journal_store)));
      a.call(x86::rax);
      a.add(x86::rsp, 8);
      a.pop(x86::rdx);
    }
    if (store) {
      load_reg(a, state, v, d.reg, d.osize);
      switch (d.osize) {
        case 2: a.mov(x86::word_ptr(x86::rdx), v.r16()); break;
        case 4: a.mov(x86::dword_ptr(x86::rdx), v.r32()); break;
        default: a.mov(x86::qword_ptr(x86::rdx), v); break;
      }
    } else {
      switch (d.osize) {
        case 2: a.movzx(v.r32(), x86::word_ptr(x86::rdx)); break;
        case 4: a.mov(v.r32(), x86::dword_ptr(x86::rdx)); break;
        default: a.mov(v, x86::qword_ptr(x86::rdx)); break;
      }
      store_reg(a, state, v, d.reg, d.osize);
    }
    return true;
  }
  Fast f = classify(d.id);
  if (f.op == Alu::None) return false;
  const unsigned sz = d.osize;
  if (sz != 2 && sz != 4 && sz != 8) return false;
  if (f.form != Form::Zv_Iv && f.form != Form::rAX_I && d.mod != 3) return false;  // memory operand
  const uint64_t mask = sz == 8 ? ~0ull : (1ull << (sz * 8)) - 1;
  const x86::Gp ra = x86::rax, rc = x86::rcx;

  unsigned dst;
  bool src_imm = false;
  uint64_t imm_val = 0;
  unsigned src = 0;
  switch (f.form) {
    case Form::Gv_Ev: dst = d.reg; src = d.rm; break;
    case Form::Ev_Gv: dst = d.rm; src = d.reg; break;
    case Form::Ev_I: dst = d.rm; src_imm = true; imm_val = d.imm & mask; break;
    case Form::rAX_I: dst = 0; src_imm = true; imm_val = d.imm & mask; break;
    case Form::Zv_Iv: dst = d.reg; src_imm = true; imm_val = d.imm & mask; break;
    default: return false;
  }

  if (f.op == Alu::Mov) {
    if (src_imm) a.mov(ra, imm(imm_val));
    else load_reg(a, state, ra, src, sz);
    store_reg(a, state, ra, dst, sz);
    return true;
  }

  // ALU: a = dst, b = src; record (kind, size, res, src1, src2) as the handler does.
  load_reg(a, state, ra, dst, sz);
  if (src_imm) a.mov(rc, imm(imm_val));
  else load_reg(a, state, rc, src, sz);
  const x86::Gp res = x86::rdx;
  a.mov(res, ra);
  switch (f.op) {
    case Alu::Add: a.add(res, rc); break;
    case Alu::Sub: case Alu::Cmp: a.sub(res, rc); break;
    case Alu::And: case Alu::Test: a.and_(res, rc); break;
    case Alu::Or: a.or_(res, rc); break;
    case Alu::Xor: a.xor_(res, rc); break;
    default: return false;
  }
  if (sz != 8) {
    // Truncate the result to the operand size (the operands already are).
    if (sz == 4) a.mov(res.r32(), res.r32());
    else a.movzx(res.r32(), res.r16());
  }
  if (f.op != Alu::Cmp && f.op != Alu::Test) store_reg(a, state, res, dst, sz);
  const unsigned size_code = sz == 2 ? 1 : sz == 4 ? 2 : 3;
  unsigned kind;
  switch (f.op) {
    case Alu::Add: kind = static_cast<unsigned>(machine::FlagKind::Add); break;
    case Alu::Sub: case Alu::Cmp: kind = static_cast<unsigned>(machine::FlagKind::Sub); break;
    default: kind = static_cast<unsigned>(machine::FlagKind::Logic); break;
  }
  a.mov(x86::word_ptr(state, kOffLfKind), imm(kind | (size_code << 8)));
  flags = FlagSource{kind, sz};
  a.mov(x86::qword_ptr(state, kOffLfRes), res);
  if (kind == static_cast<unsigned>(machine::FlagKind::Logic)) {
    a.xor_(ra.r32(), ra.r32());
    a.mov(x86::qword_ptr(state, kOffLfSrc1), ra);
    a.mov(x86::qword_ptr(state, kOffLfSrc2), ra);
  } else {
    a.mov(x86::qword_ptr(state, kOffLfSrc1), ra);
    a.mov(x86::qword_ptr(state, kOffLfSrc2), rc);
  }
  return true;
}

// Re-creates the host flags of the recorded operation from the lazy record, so the
// host's own Jcc evaluates the guest condition (the cc encodings are the same).
void emit_flags_from_record(x86::Assembler& a, const x86::Gp& state, const FlagSource& f) {
  const x86::Gp s1 = x86::rax, s2 = x86::rcx;
  auto sized = [&](const x86::Gp& r) -> x86::Gp {
    if (f.size == 2) return r.r16();
    if (f.size == 4) return r.r32();
    return r.r64();
  };
  if (f.kind == static_cast<unsigned>(machine::FlagKind::Logic)) {
    a.mov(s1, x86::qword_ptr(state, kOffLfRes));
    a.test(sized(s1), sized(s1));
    return;
  }
  a.mov(s1, x86::qword_ptr(state, kOffLfSrc1));
  a.mov(s2, x86::qword_ptr(state, kOffLfSrc2));
  if (f.kind == static_cast<unsigned>(machine::FlagKind::Add)) a.add(sized(s1), sized(s2));
  else a.cmp(sized(s1), sized(s2));
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
      if (flags.kind) {
        emit_flags_from_record(a, state, flags);
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
    Ctx cx{long64, user, pending_len, journal_stores_};
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
