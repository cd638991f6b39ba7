#include "jit/jit.h"

#include <asmjit/x86.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <vector>

#include <fmt/format.h>
#include <unistd.h>

#include "frontend-x86/insn.h"
#include "jit/emit.h"
#include "jit/flag_liveness.h"
#include "machine/cpu_state.h"
#include "machine/exceptions.h"
#include "machine/flags.h"
#include "machine/machine.h"

namespace kestrel::jit {

using asmjit::CodeHolder;
using asmjit::JitRuntime;
using asmjit::kErrorOk;


struct Jit::Impl {
  JitRuntime rt;
  interp::NativeEnterFn enter = nullptr;
  interp::NativeLookupFn lookup = nullptr;
  void* lookup_ctx = nullptr;
  interp::JumpCache* jc = nullptr;   // probed inline (not in verify mode)
  uint64_t* entry_counter = nullptr;  // --stats: checked entries
  uint64_t* handler_counter = nullptr;  // --stats: handler calls, one counter per InsnId
  std::FILE* perf_map = nullptr;  // --perf-map
  std::FILE* log = nullptr;       // --jit-log

  ~Impl() {
    if (perf_map) std::fclose(perf_map);
    if (log) std::fclose(log);
  }
  void perf_map_line(const void* code, size_t size, const char* what, uint64_t lin) {
    if (!perf_map) return;
    fmt::print(perf_map, "{:x} {:x} kestrel:{}{:x}\n", reinterpret_cast<uintptr_t>(code), size, what, lin);
    std::fflush(perf_map);  // perf may read it while the guest still runs
  }
};

namespace {
// The callee-saved registers native code uses (state, count, RIP, the register
// cache), pushed by the trampoline in this order and popped by emit_leave.
const x86::Gp kSavedRegs[] = {x86::rbx, x86::r12, x86::r13, x86::r14, x86::r15, x86::rbp};
}  // namespace

Jit::Jit(bool journal_stores) : impl_(std::make_unique<Impl>()), journal_stores_(journal_stores) {
  // The trampoline: pins the state in rbx, the retired-instruction count in r12 and
  // RIP in r15 (emit.h's kStateReg, kIcountReg, kRipReg: callee-saved, so handler
  // calls keep them), saves r13, r14 and rbp (a block's cached guest registers,
  // RegCache) and jumps to the code; blocks leave through emit_leave. Six pushes
  // and 8 bytes align the stack to 16 for the calls blocks make.
  CodeHolder code;
  code.init(impl_->rt.environment());
  x86::Assembler a(&code);
  for (const x86::Gp& r : kSavedRegs) a.push(r);
  a.sub(x86::rsp, 8);
  a.mov(x86::rbx, x86::rdi);
  a.mov(kIcountReg, x86::qword_ptr(x86::rbx, kOffIcount));
  a.mov(kRipReg, x86::qword_ptr(x86::rbx, kOffRip));
  a.jmp(x86::rsi);
  if (impl_->rt.add(&impl_->enter, &code) != kErrorOk) impl_->enter = nullptr;
}
Jit::~Jit() = default;

bool available() { return true; }

bool Jit::enable_perf_map(std::string& error) {
  if (impl_->perf_map) return true;
  const std::string path = fmt::format("/tmp/perf-{}.map", static_cast<long>(getpid()));
  impl_->perf_map = std::fopen(path.c_str(), "a");
  if (!impl_->perf_map) {
    error = fmt::format("--perf-map: cannot create '{}': {}", path, std::strerror(errno));
    return false;
  }
  if (impl_->enter) impl_->perf_map_line(reinterpret_cast<const void*>(impl_->enter), 16, "trampoline-", 0);
  return true;
}

bool Jit::enable_log(const std::string& path, std::string& error) {
  if (impl_->log) std::fclose(impl_->log);
  impl_->log = std::fopen(path.c_str(), "w");
  if (!impl_->log) {
    error = fmt::format("--jit-log: cannot create '{}': {}", path, std::strerror(errno));
    return false;
  }
  return true;
}

interp::NativeEnterFn Jit::enter_fn() const { return impl_->enter; }

void Jit::set_lookup(interp::NativeLookupFn fn, void* ctx, interp::JumpCache* jc) {
  impl_->lookup = fn;
  impl_->lookup_ctx = ctx;
  impl_->jc = jc;
}

void Jit::count_entries(uint64_t* entries, uint64_t* handler_calls) {
  impl_->entry_counter = entries;
  impl_->handler_counter = handler_calls;
}

bool Jit::patch(interp::ChainExit& e, const void* dest) {
  const uint8_t* to = dest ? static_cast<const uint8_t*>(dest) : e.stub;
  int64_t rel = reinterpret_cast<intptr_t>(to) - reinterpret_cast<intptr_t>(e.site + 5);
  if (rel != static_cast<int32_t>(rel)) return false;
  int32_t r32 = static_cast<int32_t>(rel);
  std::memcpy(e.site + 1, &r32, 4);  // the code is in writable memory (asmjit's RWX pages)
  return true;
}

namespace {
// Leaves native code: the pinned count back into CpuState::icount, the trampoline's
// registers restored, RAX:RDX (the NativeExit) as the caller set them.
void emit_leave(x86::Assembler& a) {
  a.mov(x86::qword_ptr(x86::rbx, kOffIcount), kIcountReg);
  a.mov(x86::qword_ptr(x86::rbx, kOffRip), kRipReg);
  a.add(x86::rsp, 8);
  for (size_t i = std::size(kSavedRegs); i-- > 0;) a.pop(kSavedRegs[i]);
  a.ret();
}
constexpr int32_t kOffShadow = offsetof(machine::CpuState, interrupt_shadow);
constexpr int32_t kOffTlbGen = offsetof(machine::CpuState, tlb_generation);
constexpr int32_t kOffCsLimit = kOffSeg + machine::CS * 32 + static_cast<int32_t>(offsetof(machine::SegmentCache, limit));
constexpr int32_t kOffCsBase = kOffSeg + machine::CS * 32 + static_cast<int32_t>(offsetof(machine::SegmentCache, base));

// The block-ending branches whose outcome cannot change the mode key (CPU mode, CPL,
// paging, A20): their exits may probe the jump cache with the block's own mode key.
bool near_branch_form(InsnId id) {
  switch (id) {
    case InsnId::Jcc_Jb: case InsnId::Jcc_Jz: case InsnId::JMP_Jb: case InsnId::JMP_Jz: case InsnId::JMP_Ev:
    case InsnId::CALL_Jz: case InsnId::CALL_Ev: case InsnId::RET: case InsnId::RET_Iw:
    case InsnId::LOOP_Jb: case InsnId::LOOPE_Jb: case InsnId::LOOPNE_Jb: case InsnId::JCXZ_Jb:
      return true;
    default:
      return false;
  }
}

// The guest registers a block caches: the ones its native forms reach most (at
// least twice), none reached as AH..BH (those go through CpuState), up to `max`.
void choose_cached_regs(RegCache& rc, const RegCache& usage, unsigned nregs, unsigned max) {
  rc = RegCache{};
  for (unsigned k = 0; k < max && k < kCacheSlots; ++k) {
    int best = -1;
    for (unsigned n = 0; n < nregs; ++n) {
      if (rc.has(n) || usage.uses[n] < 2 || (usage.high_byte >> n & 1)) continue;
      if (best < 0 || usage.uses[n] > usage.uses[best]) best = static_cast<int>(n);
    }
    if (best < 0) break;
    rc.slot[best] = static_cast<int8_t>(k);
    rc.cached |= static_cast<uint16_t>(1u << best);
  }
}
}  // namespace

bool Jit::compile(interp::Block& b, const machine::CpuState& now) {
  if (b.insns.empty() || !impl_->enter) return false;
  CodeHolder code;
  code.init(impl_->rt.environment());
  asmjit::FileLogger logger(impl_->log);
  if (impl_->log) {
    logger.addFlags(asmjit::FormatFlags::kMachineCode);
    code.setLogger(&logger);
  }
  Emitter a(&code);
  const x86::Gp state = x86::rbx;  // CpuState*, callee-saved across the handler calls

  // The block's mode is fixed by its key: in 64-bit mode RIP is not truncated.
  const uint32_t mode_key = static_cast<uint32_t>(b.key >> 52);
  const machine::CpuMode mode = static_cast<machine::CpuMode>(mode_key & 7);
  const bool long64 = mode == machine::CpuMode::Long64;
  const bool user = ((mode_key >> 3) & 3) == 3;  // the mode key holds the CPL in bits 3-4
  const bool flat32 = mode == machine::CpuMode::Protected32 || mode == machine::CpuMode::Compat32;
  const uint64_t lin_mask = long64 ? ~0ull : 0xFFFFFFFFull;
  // Native code finds its successors itself (chained jumps, the inline probe of the
  // jump cache) except in verify mode, where every block runs alone.
  interp::JumpCache* const jc = journal_stores_ ? nullptr : impl_->jc;

  // Flag liveness, and the guest registers to keep in host registers.
  RegCache usage;
  Ctx base_cx{long64, flat32, user, 0, journal_stores_};
  for (unsigned sr = 0; sr < 6; ++sr) {
    if (now.seg[sr].flat & machine::kSegReadable) base_cx.flat_read |= static_cast<uint8_t>(1u << sr);
    if (now.seg[sr].flat & machine::kSegWritable) base_cx.flat_write |= static_cast<uint8_t>(1u << sr);
  }
  const std::vector<uint32_t> live_out = flag_liveness(b.insns, base_cx, &usage);
  choose_cached_regs(a.rc, usage, long64 ? 16 : 8, cached_regs_);
  if (impl_->log) {
    fmt::print(impl_->log, "; block at linear {:#x}, {} instructions; cached guest registers:", b.lin, b.insns.size());
    for (unsigned n = 0; n < 16; ++n)
      if (a.rc.has(n)) fmt::print(impl_->log, " r{}={}", n, a.rc.host(n) == x86::rbp ? "rbp" : fmt::format("r{}", a.rc.host(n).id()));
    fmt::print(impl_->log, "\n");
  }
  Label exit_status = a.newLabel();
  Label exit_fell = a.newLabel();
  Label body = a.newLabel();
  // Exits with RIP and icount final and the mode key unchanged: the jump cache
  // probed inline, then the C++ lookup. Exits after instructions that may change
  // the mode key go to `lookup` (the C++ lookup computes the key).
  Label indirect = a.newLabel();
  Label lookup = a.newLabel();
  bool uses_indirect = false, uses_lookup = false;
  // Entry from a chained jump or the indirect-branch lookup: leave (nothing done,
  // RIP on the block) when the run loop has something to do or the budget is up.
  if (impl_->entry_counter) {
    a.mov(x86::rax, imm(reinterpret_cast<uint64_t>(impl_->entry_counter)));
    a.inc(x86::qword_ptr(x86::rax));
  }
  // One compare covers the budget and the events (raise_event zeroes the limit);
  // past it, `limit_reached` tells them apart.
  Label limit_reached = a.newLabel();
  a.cmp(kIcountReg, x86::qword_ptr(state, kOffIcountLimit));
  a.jae(limit_reached);
  a.bind(body);
  // The cached guest registers into their host registers. A block that branches
  // back to its own start (and is not verified: each run is checked alone) jumps
  // to loop_body, past the loads: its registers stay in the host's.
  emit_reload(a, state);
  Label loop_body = a.newLabel();
  a.bind(loop_body);
  Label self_limit = a.newLabel();
  bool uses_self_loop = false;
  // RIP and the retired count advance lazily over native instructions and are
  // brought up to date before every handler call (handlers read RIP) and exit.
  uint64_t pending_len = 0, pending_count = 0;
  // Moves and LEA only: the host flags may carry the guest's to a Jcc after it.
  // RIP moves by `n` (LEA: the host flags survive), truncated outside 64-bit mode.
  auto add_rip = [&](int64_t n) {
    if (long64) a.lea(kRipReg, x86::ptr(kRipReg, static_cast<int32_t>(n)));
    else a.lea(kRipReg.r32(), x86::ptr(kRipReg, static_cast<int32_t>(n)));
  };
  auto flush = [&]() {
    if (!pending_count) return;
    add_rip(static_cast<int64_t>(pending_len));
    a.lea(kIcountReg, x86::ptr(kIcountReg, static_cast<int32_t>(pending_count)));
    pending_len = pending_count = 0;
  };
  // `slow_path`: the handler runs for a native form that could not finish (--stats
  // counts those apart from the forms without native code).
  auto call_handler = [&](const frontend::DecodedInsn& d, bool slow_path) {
    if (impl_->handler_counter) {
      const unsigned slot = static_cast<unsigned>(d.id) + (slow_path ? frontend::kInsnCount : 0);
      a.mov(x86::rax, imm(reinterpret_cast<uint64_t>(impl_->handler_counter + slot)));
      a.inc(x86::qword_ptr(x86::rax));
    }
    // Handlers (and the devices they reach) read and may move the count in memory,
    // and read and write the guest registers in CpuState.
    emit_writeback(a, state);
    a.mov(x86::qword_ptr(state, kOffIcount), kIcountReg);
    a.mov(x86::qword_ptr(state, kOffRip), kRipReg);
    a.mov(x86::rdi, state);
    a.mov(x86::rsi, imm(reinterpret_cast<uint64_t>(&d)));
    a.mov(x86::rax, imm(reinterpret_cast<uint64_t>(d.fn)));
    a.call(x86::rax);
    a.mov(kIcountReg, x86::qword_ptr(state, kOffIcount));
    a.mov(kRipReg, x86::qword_ptr(state, kOffRip));
    emit_reload(a, state);
  };
  // Calls the handler of d, leaving the block on a status other than Ok.
  auto emit_call = [&](const frontend::DecodedInsn& d, bool slow_path) {
    call_handler(d, slow_path);
    // ExecStatus::Ok is 0: anything else leaves the block with that status.
    static_assert(static_cast<int>(machine::ExecStatus::Ok) == 0);
    a.test(x86::al, x86::al);
    a.jnz(exit_status);
  };
  // Leaving with RIP and icount complete: to the block at CS:RIP through the
  // C++ lookup (the jump cache; it may chain exit `e`), else back to the run loop.
  auto emit_lookup_exit = [&](interp::ChainExit* e) {
    if (impl_->lookup) {
      a.mov(x86::qword_ptr(state, kOffIcount), kIcountReg);
      a.mov(x86::qword_ptr(state, kOffRip), kRipReg);
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
    a.mov(x86::eax, interp::kNativeLookupMiss);
    a.mov(x86::rdx, imm(reinterpret_cast<uint64_t>(e)));
    emit_leave(a);
  };
  // Every way out of the block writes the cached guest registers back first.
  auto goto_indirect = [&]() {
    emit_writeback(a, state);
    uses_indirect = true;
    a.jmp(indirect);
  };
  auto goto_lookup = [&]() {
    emit_writeback(a, state);
    uses_lookup = true;
    a.jmp(lookup);
  };
  // A direct exit (RIP and icount final) to guest code at `target` (linear, known
  // here): a patchable jmp when the target lies in the block's linear page (the
  // translation the lookup that entered the chain validated covers it, and blocks
  // reached through an alias keep their page offsets), else the inline probe.
  // Outside 64-bit mode the new RIP is first checked against the CS limit, which
  // may have shrunk since the target was decoded: beyond it, the lookup fails and
  // the run loop raises the #GP.
  struct PendingExit {
    Label site, stub;
    unsigned k;
  };
  std::vector<PendingExit> chain_exits;
  // `limit_checked`: the branch has just checked RIP against the current CS limit.
  auto emit_direct_exit = [&](uint64_t target, bool limit_checked) {
    target &= lin_mask;
    emit_writeback(a, state);
    if (!journal_stores_ && target == (b.lin & lin_mask)) {
      // Back to this block's start: the entry's checks (events, the budget; the CS
      // limit outside 64-bit mode), then the body without reloading the registers,
      // which the write-back above left equal to CpuState's.
      if (!long64 && !limit_checked) {
        a.cmp(kRipReg.r32(), x86::dword_ptr(state, kOffCsLimit));
        uses_indirect = true;
        a.ja(indirect);
      }
      a.cmp(kIcountReg, x86::qword_ptr(state, kOffIcountLimit));
      a.jae(self_limit);
      if (impl_->entry_counter) {  // --stats counts it as a chained entry
        a.mov(x86::rax, imm(reinterpret_cast<uint64_t>(impl_->entry_counter)));
        a.inc(x86::qword_ptr(x86::rax));
      }
      a.jmp(loop_body);
      uses_self_loop = true;
      return;
    }
    if (chain_exits.size() < 2 && (target & machine::kPageMask) == (b.lin & machine::kPageMask)) {
      if (!long64 && !limit_checked) {
        a.cmp(kRipReg.r32(), x86::dword_ptr(state, kOffCsLimit));
        uses_indirect = true;
        a.ja(indirect);
      }
      PendingExit pe{a.newLabel(), a.newLabel(), static_cast<unsigned>(chain_exits.size())};
      b.exits[pe.k] = interp::ChainExit{nullptr, nullptr, target, &b, nullptr};
      a.bind(pe.site);
      a.db(0xE9);  // jmp rel32, pointed at the stub below until chained
      a.dd(0);
      chain_exits.push_back(pe);
      return;
    }
    goto_indirect();
  };
  // A near relative branch taken (Jcc, JMP rel): target = next IP + displacement,
  // truncated to the operand size; beyond the CS limit (or non-canonical) the
  // handler raises the #GP at `fault`. With a 16-bit operand size a target that
  // wrapped around 64 KiB is not at the compile-time linear address: the probe finds it.
  auto emit_rel_taken = [&](const frontend::DecodedInsn& d, unsigned bosize, uint64_t target_lin, Label fault) {
    if (long64) {
      // CS's base is 0 in 64-bit mode: RIP is the linear address, so the target is
      // known here, and so is whether it is canonical (SDM Vol. 1 §3.3.7.1).
      const int64_t top = static_cast<int64_t>(target_lin) >> 47;
      if (top != 0 && top != -1) {
        a.jmp(fault);
        return;
      }
      a.mov(kRipReg, imm(target_lin));
      a.lea(kIcountReg, x86::ptr(kIcountReg, 1));
      emit_direct_exit(target_lin, true);
      return;
    }
    a.mov(x86::rax, kRipReg);
    a.add(x86::rax, imm(static_cast<int64_t>(d.len) + static_cast<int64_t>(d.imm)));
    if (bosize == 2) a.mov(x86::rdx, x86::rax);
    if (bosize == 4) a.mov(x86::eax, x86::eax);
    else if (bosize == 2) a.movzx(x86::eax, x86::ax);
    if (long64) {
      a.mov(x86::rcx, x86::rax);
      a.sar(x86::rcx, 47);
      a.add(x86::rcx, 1);
      a.cmp(x86::rcx, 1);
      a.ja(fault);
    } else {
      a.mov(x86::ecx, x86::dword_ptr(state, kOffCsLimit));
      a.cmp(x86::rax, x86::rcx);
      a.ja(fault);
    }
    a.mov(kRipReg, x86::rax);
    a.lea(kIcountReg, x86::ptr(kIcountReg, 1));
    if (bosize == 2) {
      a.cmp(x86::rax, x86::rdx);
      uses_indirect = true;
      a.jne(indirect);
    }
    emit_direct_exit(target_lin, true);
  };
  // Out-of-line slow paths of memory fast paths: the handler runs the whole
  // instruction (it repeats every check, so nothing is done twice).
  struct SlowStub {
    Label slow, resume;
    const frontend::DecodedInsn* d;
    uint64_t p_len, p_count;  // RIP/icount not yet written back when the stub is entered
    uint16_t dirty;           // cached guest registers not yet written back
  };
  std::vector<SlowStub> stubs;
  FlagSource flags;
  Label taken_slow = a.newLabel();
  const frontend::DecodedInsn* native_branch = nullptr;  // the handler raises its #GP at taken_slow
  uint64_t insn_lin = b.lin;  // linear address of the instruction being translated
  bool ended = false;
  for (size_t i = 0; i < b.insns.size(); ++i) {
    const frontend::DecodedInsn& d = b.insns[i];
    const bool last = i + 1 == b.insns.size();
    const uint64_t next_lin = insn_lin + d.len;
    const unsigned bosize = long64 ? 8 : d.osize;
    const uint64_t branch_target = next_lin + static_cast<uint64_t>(static_cast<int64_t>(d.imm));
    // A block-ending conditional branch: the condition on the host (from the host
    // flags of a natively emitted setter, else from the lazy record through a
    // call), then RIP as the handler would set it, and one exit per outcome.
    if ((d.id == InsnId::Jcc_Jb || d.id == InsnId::Jcc_Jz) && last) {
      native_branch = &d;
      flush();
      emit_writeback(a, state);  // before the branch: taken_slow's handler sees them
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
      a.lea(kIcountReg, x86::ptr(kIcountReg, 1));
      emit_direct_exit(next_lin, false);
      a.bind(taken);
      emit_rel_taken(d, bosize, branch_target, taken_slow);
      ended = true;
      break;
    }
    // JMP rel8/rel32: the same without a condition.
    if ((d.id == InsnId::JMP_Jb || d.id == InsnId::JMP_Jz) && last) {
      native_branch = &d;
      flush();
      emit_writeback(a, state);
      emit_rel_taken(d, bosize, branch_target, taken_slow);
      ended = true;
      break;
    }
    // The NOPs (0F 1F and the hint space, PAUSE, 90): nothing but RIP and the count.
    // Linux pads every function entry with a 5-byte NOP (ftrace), so they are hot.
    if (d.id == InsnId::NOP || d.id == InsnId::PAUSE || (d.id == InsnId::XCHG_Zv_rAX && d.reg == machine::RAX)) {
      pending_len += d.len;
      ++pending_count;
      insn_lin = next_lin;
      continue;
    }
    Ctx cx = base_cx;
    cx.pending_len = pending_len;
    cx.live_out = live_out[i];
    Label slow = a.newLabel();
    bool uses_slow = false;
    const uint16_t dirty_before = a.rc.dirty;  // what a jump to `slow` leaves unsaved
    if (emit_fast(a, state, d, cx, slow, uses_slow, flags)) {
      if (uses_slow) {
        Label resume = a.newLabel();
        a.bind(resume);
        stubs.push_back(SlowStub{slow, resume, &d, pending_len, pending_count, dirty_before});
      }
      pending_len += d.len;
      ++pending_count;
      insn_lin = next_lin;
      continue;
    }
    flush();
    const unsigned sw = native_stack_width(base_cx, d, flat32);
    const bool stack_form = d.id == InsnId::CALL_Jz || d.id == InsnId::CALL_Ev || d.id == InsnId::RET ||
                            d.id == InsnId::RET_Iw || d.id == InsnId::JMP_Ev;
    if (last && sw && stack_form) {
      // Near CALL, RET, RET imm16 and JMP r/m (64-bit mode, or 32-bit code with a
      // 32-bit stack): the stack and r/m accesses through the TLB, the target's
      // canonical or CS limit check; anything else (a miss, a fault) is the
      // handler's, below. RSP, the return address and RIP change only once every
      // check has passed.
      Label generic = a.newLabel();
      const uint16_t dirty_at_form = a.rc.dirty;
      const Ctx& cx = base_cx;
      const x86::Gp ra = x86::r9, target = x86::r10;
      bool unused = false;
      if (d.id == InsnId::CALL_Ev || d.id == InsnId::JMP_Ev) emit_load_rm(a, state, d, cx, sw, target, generic, unused);
      if (d.id == InsnId::CALL_Jz || d.id == InsnId::CALL_Ev) {
        emit_stack_ptr(a, state, d, cx, -static_cast<int32_t>(sw), sw, true, generic);
        a.mov(x86::r8, x86::rdx);
        a.mov(ra, kRipReg);
        a.add(ra, d.len);
        if (sw == 4) a.mov(ra.r32(), ra.r32());
        if (d.id == InsnId::CALL_Jz) {
          a.mov(target, ra);
          a.add(target, imm(static_cast<int64_t>(d.imm)));
          if (sw == 4) a.mov(target.r32(), target.r32());
        }
      } else if (d.id != InsnId::JMP_Ev) {
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
        a.mov(x86::eax, x86::dword_ptr(state, kOffCsLimit));
        a.cmp(target, x86::rax);
        a.ja(generic);
      }
      if (d.id == InsnId::CALL_Jz || d.id == InsnId::CALL_Ev) {
        if (journal_stores_) {
          a.push(target);
          a.push(ra);
          emit_journal(a, state, sw);
          a.pop(ra);
          a.pop(target);
        }
        store_host(a, x86::r8, ra, sw);
        add_reg_imm(a, state, machine::RSP, sw, -static_cast<int32_t>(sw), x86::rax);
      } else if (d.id != InsnId::JMP_Ev) {
        const int32_t pop = static_cast<int32_t>(sw + (d.id == InsnId::RET_Iw ? (d.imm & 0xFFFF) : 0));
        add_reg_imm(a, state, machine::RSP, sw, pop, x86::rax);
      }
      a.mov(kRipReg, target);
      a.lea(kIcountReg, x86::ptr(kIcountReg, 1));
      if (d.id == InsnId::CALL_Jz) emit_direct_exit(branch_target, true);  // checked above
      else goto_indirect();
      a.bind(generic);
      a.rc.dirty = dirty_at_form;  // the native path's write-back did not happen here
    }
    if (last) {
      // The block's last instruction: Ok falls through, Branch leaves through the
      // branch's exit; anything else goes back to the run loop.
      call_handler(d, sw && stack_form);  // after the native attempt of a stack form: its slow path
      Label not_ok = a.newLabel();
      a.test(x86::al, x86::al);
      a.jnz(not_ok);
      add_rip(d.len);
      a.lea(kIcountReg, x86::ptr(kIcountReg, 1));
      // Falling through after an instruction that cannot change the mode key: a
      // direct exit; after the others (kEnd forms other than branches), the lookup.
      const bool near = near_branch_form(d.id);
      const bool mode_safe = near || !(frontend::insn_info(d.id).attrs & frontend::kEnd);
      if (mode_safe) emit_direct_exit(next_lin, false);
      else goto_lookup();
      a.bind(not_ok);
      static_assert(static_cast<int>(machine::ExecStatus::Branch) == 1);
      a.cmp(x86::al, static_cast<uint32_t>(machine::ExecStatus::Branch));
      a.jne(exit_status);
      a.lea(kIcountReg, x86::ptr(kIcountReg, 1));
      // Branch: RIP is the target. CALL rel's is known here (the handler has checked
      // it; a 16-bit one may have wrapped); LOOP and JCXZ return Branch either way.
      if (d.id == InsnId::CALL_Jz && bosize != 2) emit_direct_exit(branch_target, true);  // the handler checked it
      else if (mode_safe) goto_indirect();
      else goto_lookup();
      ended = true;
      break;
    }
    emit_call(d, false);
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
    emit_direct_exit(insn_lin, false);
  }
  if (native_branch) {
    // The taken branch's target failed its check: the handler raises the fault.
    a.bind(taken_slow);
    a.rc.dirty = 0;  // written back before the branch
    emit_call(*native_branch, true);
    a.jmp(exit_fell);  // not reached: it faults
  }
  for (const SlowStub& st : stubs) {
    a.bind(st.slow);
    a.rc.dirty = st.dirty;
    // Bring RIP/icount up to the instruction, run its handler, account for it; leave
    // if it raised an event (e.g. wrote into this block's code); else undo the
    // write-back, since the code after `resume` still counts these as pending.
    add_rip(static_cast<int64_t>(st.p_len));
    if (st.p_count) a.lea(kIcountReg, x86::ptr(kIcountReg, static_cast<int32_t>(st.p_count)));
    emit_call(*st.d, true);
    add_rip(st.d->len);
    a.lea(kIcountReg, x86::ptr(kIcountReg, 1));
    a.cmp(x86::dword_ptr(state, kOffEvents), 0);
    a.jnz(exit_fell);
    add_rip(-static_cast<int64_t>(st.p_len + st.d->len));
    a.lea(kIcountReg, x86::ptr(kIcountReg, -static_cast<int32_t>(st.p_count + 1)));
    a.jmp(st.resume);
  }
  // Past the limit: leave for the run loop (nothing done in this run, RIP on the
  // block's start) unless the only event is a maskable interrupt request that IF
  // holds off (events_need_run_loop; a handler that may set IF is followed by a
  // strict check) and the budget is not used up.
  auto emit_limit_reached = [&](Label go_on) {
    a.mov(x86::eax, x86::dword_ptr(state, kOffEvents));
    a.cmp(x86::eax, machine::kEventInterrupt);
    a.jne(exit_fell);
    a.test(x86::dword_ptr(state, kOffRflags), static_cast<uint32_t>(machine::kIF));
    a.jnz(exit_fell);
    a.cmp(kIcountReg, x86::qword_ptr(state, kOffIcountBudget));
    a.jae(exit_fell);
    a.jmp(go_on);
  };
  if (uses_self_loop) {
    a.bind(self_limit);
    emit_limit_reached(loop_body);
  }
  a.bind(limit_reached);
  emit_limit_reached(body);
  // Unchained direct exits: try the lookup (which may chain the exit), else return.
  for (const PendingExit& pe : chain_exits) {
    a.bind(pe.stub);
    emit_lookup_exit(&b.exits[pe.k]);
  }
  if (uses_indirect) {
    a.bind(indirect);
    if (jc) {
      // The inline probe, with Interpreter::native_lookup's conditions: no single
      // step (TF), no interrupt shadow, CS:RIP within the limit (or canonical),
      // then the entry for the linear address, made under this TLB generation, the
      // current cache generation and this block's mode key, and translated. The
      // target's checked entry then looks at events and the instruction budget.
      Label miss = a.newLabel();
      a.test(x86::dword_ptr(state, kOffRflags), static_cast<uint32_t>(machine::kTF));
      a.jnz(miss);
      a.cmp(x86::byte_ptr(state, kOffShadow), 0);
      a.jne(miss);
      if (long64) {
        a.mov(x86::rax, kRipReg);  // canonical: checked by the branch
      } else {
        a.mov(x86::eax, kRipReg.r32());
        a.cmp(x86::eax, x86::dword_ptr(state, kOffCsLimit));
        a.ja(miss);
        a.add(x86::eax, x86::dword_ptr(state, kOffCsBase));
      }
      a.mov(x86::rcx, x86::rax);
      a.shr(x86::rcx, 12);
      a.xor_(x86::rcx, x86::rax);
      a.and_(x86::ecx, interp::JumpCache::kSize - 1);
      a.shl(x86::ecx, 5);
      a.mov(x86::rdx, imm(reinterpret_cast<uint64_t>(jc)));
      a.add(x86::rcx, x86::rdx);
      a.cmp(x86::rax, x86::qword_ptr(x86::rcx, offsetof(interp::JumpCacheEntry, lin)));
      a.jne(miss);
      a.mov(x86::eax, x86::dword_ptr(state, kOffTlbGen));
      a.cmp(x86::eax, x86::dword_ptr(x86::rcx, offsetof(interp::JumpCacheEntry, tlb_gen)));
      a.jne(miss);
      a.mov(x86::eax, x86::dword_ptr(x86::rdx, offsetof(interp::JumpCache, gen_tag)));
      a.or_(x86::eax, mode_key);
      a.cmp(x86::eax, x86::dword_ptr(x86::rcx, offsetof(interp::JumpCacheEntry, tag)));
      a.jne(miss);
      a.mov(x86::rax, x86::qword_ptr(x86::rcx, offsetof(interp::JumpCacheEntry, native)));
      a.test(x86::rax, x86::rax);
      a.jz(miss);
      a.inc(x86::qword_ptr(x86::rdx, offsetof(interp::JumpCache, inline_hits)));
      a.jmp(x86::rax);
      a.bind(miss);
    }
    uses_lookup = true;
  }
  if (uses_lookup) {
    a.bind(lookup);
    emit_lookup_exit(nullptr);
  }
  a.bind(exit_fell);
  a.mov(x86::eax, interp::kNativeFellThrough);
  a.xor_(x86::edx, x86::edx);
  emit_leave(a);
  a.bind(exit_status);
  a.movzx(x86::eax, x86::al);
  a.xor_(x86::edx, x86::edx);
  emit_leave(a);
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
  impl_->perf_map_line(base, code.codeSize(), "guest-lin-", b.lin);
  if (impl_->log) {
    fmt::print(impl_->log, "; host code at {}, {} bytes\n\n", fmt::ptr(base), code.codeSize());
    std::fflush(impl_->log);
  }
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
