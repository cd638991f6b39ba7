#include "jit/jit.h"

#include <asmjit/x86.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <vector>

#include <fmt/format.h>
#include <unistd.h>

#include "frontend-x86/insn.h"
#include "jit/emit.h"
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
  std::FILE* perf_map = nullptr;  // --perf-map

  ~Impl() {
    if (perf_map) std::fclose(perf_map);
  }
  void perf_map_line(const void* code, size_t size, const char* what, uint64_t lin) {
    if (!perf_map) return;
    fmt::print(perf_map, "{:x} {:x} kestrel:{}{:x}\n", reinterpret_cast<uintptr_t>(code), size, what, lin);
    std::fflush(perf_map);  // perf may read it while the guest still runs
  }
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
  impl_->perf_map_line(base, code.codeSize(), "guest-lin-", b.lin);
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
