#include "jit/jit.h"

#include <asmjit/x86.h>

#include <cstddef>

#include "frontend-x86/insn.h"
#include "machine/cpu_state.h"
#include "machine/exceptions.h"

namespace kestrel::jit {

namespace {

using namespace asmjit;
using machine::CpuState;

// Field offsets the generated code uses (CpuState is standard layout).
constexpr int32_t kOffRip = offsetof(CpuState, rip);
constexpr int32_t kOffIcount = offsetof(CpuState, icount);
constexpr int32_t kOffEvents = offsetof(CpuState, event_pending);
constexpr int32_t kOffMode = offsetof(CpuState, mode);
static_assert(kOffRip == 128);

}  // namespace

struct Jit::Impl {
  JitRuntime rt;
};

Jit::Jit() : impl_(std::make_unique<Impl>()) {}
Jit::~Jit() = default;

bool available() { return true; }

interp::NativeBlockFn Jit::compile(const interp::Block& b) {
  if (b.insns.empty()) return nullptr;
  CodeHolder code;
  code.init(impl_->rt.environment());
  x86::Assembler a(&code);
  const x86::Gp state = x86::rbx;  // CpuState*, callee-saved across the handler calls

  // The block's mode is fixed by its key: in 64-bit mode RIP is not truncated.
  const bool long64 = static_cast<machine::CpuMode>((b.key >> 52) & 7) == machine::CpuMode::Long64;

  Label exit_status = a.newLabel();
  Label exit_fell = a.newLabel();
  a.push(state);  // also aligns the stack to 16 bytes for the calls
  a.mov(state, x86::rdi);
  for (size_t i = 0; i < b.insns.size(); ++i) {
    const frontend::DecodedInsn& d = b.insns[i];
    a.mov(x86::rdi, state);
    a.mov(x86::rsi, imm(reinterpret_cast<uint64_t>(&d)));
    a.mov(x86::rax, imm(reinterpret_cast<uint64_t>(d.fn)));
    a.call(x86::rax);
    // ExecStatus::Ok is 0: anything else leaves the block with that status.
    static_assert(static_cast<int>(machine::ExecStatus::Ok) == 0);
    a.test(x86::al, x86::al);
    a.jnz(exit_status);
    // RIP += length (32-bit wrap outside 64-bit mode), one more retired instruction.
    if (long64) {
      a.add(x86::qword_ptr(state, kOffRip), d.len);
    } else {
      a.mov(x86::eax, x86::dword_ptr(state, kOffRip));
      a.add(x86::eax, d.len);
      a.mov(x86::qword_ptr(state, kOffRip), x86::rax);
    }
    a.inc(x86::qword_ptr(state, kOffIcount));
    if (i + 1 < b.insns.size()) {
      // Stop between instructions when something needs the run loop (an interrupt,
      // a write into this block's code, a stop request).
      a.cmp(x86::dword_ptr(state, kOffEvents), 0);
      a.jnz(exit_fell);
    }
  }
  a.bind(exit_fell);
  a.mov(x86::eax, interp::kNativeFellThrough);
  a.pop(state);
  a.ret();
  a.bind(exit_status);
  a.movzx(x86::eax, x86::al);
  a.pop(state);
  a.ret();
  (void)kOffMode;

  interp::NativeBlockFn fn = nullptr;
  if (impl_->rt.add(&fn, &code) != kErrorOk) return nullptr;
  ++blocks_;
  bytes_ += code.codeSize();
  return fn;
}

void Jit::release(interp::NativeBlockFn fn) {
  if (fn) impl_->rt.release(fn);
}

}  // namespace kestrel::jit
