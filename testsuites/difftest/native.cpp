// The native runner (PLATFORM-NOTES.md, "Differential testing against the host CPU").
//
// The code page and the data region are mapped at the fixed addresses of
// layout.h. For each case the runner copies the instruction into a page of int3
// bytes and the data/stack bytes into the region, loads the x87/SSE state with
// FXRSTOR, RFLAGS with POPF and every general register (RSP last), and jumps to
// the instruction. The code page is read-only for the test (written through an
// alias). The first signal ends the case: the handler (on an alternate
// stack, because RSP is a test value) copies the registers, the vector
// (REG_TRAPNO), error code (REG_ERR), CR2 and the FXSAVE image from the
// ucontext and the region from memory, then longjmps back into the loop.
//
// Built twice: into the x86-64 driver (run in a forked child) and, with -m32, as
// difftest-child32, where it runs in a 32-bit process (compatibility mode under
// the x86-64 kernel). Nothing here may use more than libc.
#include "native.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <ucontext.h>
#include <unistd.h>

#include <cpuid.h>

#include <initializer_list>

#include "layout.h"

namespace difftest {

// The register block dt_enter loads from (offsets used by the assembly below).
struct alignas(64) EnterCtx {
  uint64_t gpr[16];  // 0
  uint64_t rflags;   // 128
  uint64_t target;   // 136
  uint64_t fx_ptr;   // 144
};
static_assert(offsetof(EnterCtx, rflags) == 128 && offsetof(EnterCtx, target) == 136 &&
              offsetof(EnterCtx, fx_ptr) == 144);

}  // namespace difftest

extern "C" {
__attribute__((visibility("hidden"))) difftest::EnterCtx dt_ctx;
void dt_enter();
}

#if defined(__x86_64__)
asm(R"(
  .text
  .globl dt_enter
  .hidden dt_enter
  .type dt_enter,@function
dt_enter:
  movq dt_ctx+144(%rip), %rax
  fxrstor64 (%rax)
  pushq dt_ctx+128(%rip)
  popfq
  movq dt_ctx+0(%rip), %rax
  movq dt_ctx+8(%rip), %rcx
  movq dt_ctx+16(%rip), %rdx
  movq dt_ctx+24(%rip), %rbx
  movq dt_ctx+40(%rip), %rbp
  movq dt_ctx+48(%rip), %rsi
  movq dt_ctx+56(%rip), %rdi
  movq dt_ctx+64(%rip), %r8
  movq dt_ctx+72(%rip), %r9
  movq dt_ctx+80(%rip), %r10
  movq dt_ctx+88(%rip), %r11
  movq dt_ctx+96(%rip), %r12
  movq dt_ctx+104(%rip), %r13
  movq dt_ctx+112(%rip), %r14
  movq dt_ctx+120(%rip), %r15
  movq dt_ctx+32(%rip), %rsp
  jmpq *dt_ctx+136(%rip)
  .size dt_enter, .-dt_enter
)");
#elif defined(__i386__)
asm(R"(
  .text
  .globl dt_enter
  .type dt_enter,@function
dt_enter:
  movl dt_ctx+144, %eax
  fxrstor (%eax)
  pushl dt_ctx+128
  popfl
  movl dt_ctx+0, %eax
  movl dt_ctx+8, %ecx
  movl dt_ctx+16, %edx
  movl dt_ctx+24, %ebx
  movl dt_ctx+40, %ebp
  movl dt_ctx+48, %esi
  movl dt_ctx+56, %edi
  movl dt_ctx+32, %esp
  jmp *dt_ctx+136
  .size dt_enter, .-dt_enter
)");
#else
#error "the native difftest runner needs an x86 host"
#endif

namespace difftest {
namespace {

jmp_buf g_env;
volatile int g_in_test = 0;
CaseOut* g_out = nullptr;
alignas(64) uint8_t g_fx[512];
uint8_t* g_altstack = nullptr;
uint16_t g_sel[6];  // the runner's selectors at start-up (ES CS SS DS FS GS)
uint8_t* g_code_rw = nullptr;  // writable view of the code page

void fail(const char* what) {
  char buf[256];
  int n = snprintf(buf, sizeof buf, "difftest runner: %s (errno %d)\n", what, errno);
  if (n > 0) (void)!write(2, buf, static_cast<size_t>(n));
  _exit(2);
}

void handler(int sig, siginfo_t* si, void* ucv) {
  // The test may have left AC set in RFLAGS: clear it before touching memory.
#if defined(__x86_64__)
  asm volatile("pushfq; andq $~0x40000, (%%rsp); popfq" ::: "memory", "cc");
#else
  asm volatile("pushfl; andl $~0x40000, (%%esp); popfl" ::: "memory", "cc");
#endif
  if (!g_in_test) {
    char buf[160];
    const greg_t* gr = static_cast<ucontext_t*>(ucv)->uc_mcontext.gregs;
#if defined(__x86_64__)
    long long ip = gr[REG_RIP], tn = gr[REG_TRAPNO];
#else
    long long ip = gr[REG_EIP], tn = gr[REG_TRAPNO];
#endif
    int n = snprintf(buf, sizeof buf, "difftest runner: signal %d outside a test case (ip %#llx, trap %lld, addr %p)\n",
                     sig, ip, tn, si->si_addr);
    if (n > 0) (void)!write(2, buf, static_cast<size_t>(n));
    _exit(3);
  }
  g_in_test = 0;
  ucontext_t* uc = static_cast<ucontext_t*>(ucv);
  CaseOut& o = *g_out;
  const greg_t* g = uc->uc_mcontext.gregs;
#if defined(__x86_64__)
  static const int kRegs[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
                                REG_R8,  REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15};
  for (int i = 0; i < 16; ++i) o.gpr[i] = static_cast<uint64_t>(g[kRegs[i]]);
  o.rip = static_cast<uint64_t>(g[REG_RIP]);
  o.rflags = static_cast<uint64_t>(g[REG_EFL]);
  o.vector = static_cast<uint32_t>(g[REG_TRAPNO]);
  o.error = static_cast<uint32_t>(g[REG_ERR]);
  o.cr2 = static_cast<uint64_t>(g[REG_CR2]);
  uint64_t csgsfs = static_cast<uint64_t>(g[REG_CSGSFS]);
  memset(o.sel, 0, sizeof o.sel);
  o.sel[1] = static_cast<uint16_t>(csgsfs);
  o.sel[2] = static_cast<uint16_t>(csgsfs >> 48);  // "ss" (UC_SIGCONTEXT_SS)
  if (uc->uc_mcontext.fpregs) memcpy(o.fx, uc->uc_mcontext.fpregs, 512);
  else memset(o.fx, 0, 512);
#else
  static const int kRegs[8] = {REG_EAX, REG_ECX, REG_EDX, REG_EBX, REG_ESP, REG_EBP, REG_ESI, REG_EDI};
  for (int i = 0; i < 8; ++i) o.gpr[i] = static_cast<uint32_t>(g[kRegs[i]]);
  for (int i = 8; i < 16; ++i) o.gpr[i] = 0;
  o.rip = static_cast<uint32_t>(g[REG_EIP]);
  o.rflags = static_cast<uint32_t>(g[REG_EFL]);
  o.vector = static_cast<uint32_t>(g[REG_TRAPNO]);
  o.error = static_cast<uint32_t>(g[REG_ERR]);
  o.cr2 = static_cast<uint32_t>(uc->uc_mcontext.cr2);
  o.sel[0] = static_cast<uint16_t>(g[REG_ES]);
  o.sel[1] = static_cast<uint16_t>(g[REG_CS]);
  o.sel[2] = static_cast<uint16_t>(g[REG_SS]);
  o.sel[3] = static_cast<uint16_t>(g[REG_DS]);
  o.sel[4] = static_cast<uint16_t>(g[REG_FS]);
  o.sel[5] = static_cast<uint16_t>(g[REG_GS]);
  // i386 frame: the FNSAVE-format header (112 bytes, magic 0 at offset 110 when
  // FXSR data follows), then the FXSAVE image.
  const uint8_t* fp = reinterpret_cast<const uint8_t*>(uc->uc_mcontext.fpregs);
  if (fp && fp[110] == 0 && fp[111] == 0) memcpy(o.fx, fp + 112, 512);
  else memset(o.fx, 0, 512);
#endif
  o.signo = static_cast<uint32_t>(sig);
  o.status = kStatusException;
  (void)si;
  memcpy(o.region, reinterpret_cast<void*>(static_cast<uintptr_t>(kDataBase)), kRegionSize);
  _longjmp(g_env, 1);
}

bool mapped(uintptr_t page) {
  unsigned char v;
  return mincore(reinterpret_cast<void*>(page), kPageSize, &v) == 0 || errno != ENOMEM;
}

void setup() {
  // The code page is read-only and executable for the test (as in Kestrel); the
  // runner writes it through a second, writable mapping of the same memory.
  int code_fd = memfd_create("difftest-code", 0);
  if (code_fd < 0 || ftruncate(code_fd, kPageSize) != 0) fail("cannot create the code page");
  void* code = mmap(reinterpret_cast<void*>(static_cast<uintptr_t>(kCodePage)), kPageSize, PROT_READ | PROT_EXEC,
                    MAP_SHARED | MAP_FIXED_NOREPLACE, code_fd, 0);
  if (code != reinterpret_cast<void*>(static_cast<uintptr_t>(kCodePage))) fail("cannot map the code page");
  g_code_rw = static_cast<uint8_t*>(mmap(nullptr, kPageSize, PROT_READ | PROT_WRITE, MAP_SHARED, code_fd, 0));
  if (g_code_rw == MAP_FAILED) fail("cannot map the code page for writing");
  close(code_fd);
  void* data = mmap(reinterpret_cast<void*>(static_cast<uintptr_t>(kDataBase)), kRegionSize, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (data != reinterpret_cast<void*>(static_cast<uintptr_t>(kDataBase))) fail("cannot map the data region");
  const uintptr_t guards[] = {kCodePage - kPageSize, kCodePage + kPageSize, kStackBase + kPageSize};
  for (uintptr_t p : guards)
    if (mapped(p)) fail("a guard page next to the test region is mapped");
  memset(g_code_rw, kFiller, kPageSize);
  memset(data, 0, kRegionSize);

  const size_t alt_size = 1 << 18;
  g_altstack = static_cast<uint8_t*>(mmap(nullptr, alt_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (g_altstack == MAP_FAILED) fail("cannot map the signal stack");
  stack_t ss{};
  ss.ss_sp = g_altstack;
  ss.ss_size = alt_size;
  if (sigaltstack(&ss, nullptr) != 0) fail("sigaltstack");
  struct sigaction sa {};
  sa.sa_sigaction = handler;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  for (int s : {SIGTRAP, SIGSEGV, SIGBUS, SIGFPE, SIGILL})
    if (sigaction(s, &sa, nullptr) != 0) fail("sigaction");
}

void hello(ShmHeader& h) {
  uint16_t s[6];
  asm volatile("mov %%es, %0" : "=r"(s[0]));
  asm volatile("mov %%cs, %0" : "=r"(s[1]));
  asm volatile("mov %%ss, %0" : "=r"(s[2]));
  asm volatile("mov %%ds, %0" : "=r"(s[3]));
  asm volatile("mov %%fs, %0" : "=r"(s[4]));
  asm volatile("mov %%gs, %0" : "=r"(s[5]));
  memcpy(h.host_sel, s, sizeof s);
  memcpy(g_sel, s, sizeof s);
  unsigned a, b, c, d;
  __cpuid(1, a, b, c, d);
  h.cpuid1_ecx = c;
  h.cpuid1_edx = d;
  __cpuid_count(7, 0, a, b, c, d);
  h.cpuid7_ebx = b;
  for (unsigned i = 0; i < 16; ++i) {
    uint32_t sel = i * 8 + 3, ar = 0, lim = 0;
    unsigned char ok = 0;
    asm volatile("lar %2, %0; setz %1" : "=r"(ar), "=q"(ok) : "r"(sel) : "cc");
    h.lar[i] = ok ? ar : 0;
    ok = 0;
    asm volatile("lsl %2, %0; setz %1" : "=r"(lim), "=q"(ok) : "r"(sel) : "cc");
    h.lsl[i] = ok ? lim : 0;
  }
}

// Tests load segment registers (MOV Sreg, POP Sreg, LxS): give every case the
// start-up selectors. FS is the 64-bit runner's TLS base register and is never
// loaded by a test there, so it is left alone.
void restore_selectors() {
  asm volatile("mov %0, %%es" ::"r"(g_sel[0]));
  asm volatile("mov %0, %%ds" ::"r"(g_sel[3]));
#if defined(__x86_64__)
  asm volatile("mov %0, %%gs" ::"r"(g_sel[5]));
#else
  asm volatile("mov %0, %%fs" ::"r"(g_sel[4]));
#endif
}

uint32_t g_prev_off = 0, g_prev_len = kPageSize;  // code bytes of the previous case

void run_case(const CaseIn& in, CaseOut& out) {
  uint8_t* code = g_code_rw;
  memset(code + g_prev_off, kFiller, g_prev_len);  // the rest of the page is still int3 (tests cannot write it)
  // An instruction that straddles the page end continues on the unmapped page.
  uint32_t n = in.len > 16 ? 16 : in.len;
  if (in.code_off + n > kPageSize) n = kPageSize - in.code_off;
  memcpy(code + in.code_off, in.code, n);
  g_prev_off = in.code_off;
  g_prev_len = n;
  memcpy(reinterpret_cast<void*>(static_cast<uintptr_t>(kDataBase)), in.region, kRegionSize);
  memcpy(g_fx, in.fx, 512);
  for (int i = 0; i < 16; ++i) dt_ctx.gpr[i] = in.gpr[i];
  dt_ctx.rflags = in.rflags;
  dt_ctx.target = kCodePage + in.code_off;
  dt_ctx.fx_ptr = reinterpret_cast<uintptr_t>(g_fx);
  memset(&out, 0, offsetof(CaseOut, region));
  g_out = &out;
  restore_selectors();
  if (_setjmp(g_env) == 0) {
    g_in_test = 1;
    dt_enter();
    __builtin_unreachable();
  }
  // Back from the signal handler (with its FPU state): restore a clean state.
  asm volatile("cld; fninit" ::: "memory", "cc");
  uint32_t mx = 0x1F80;
  asm volatile("ldmxcsr %0" ::"m"(mx));
}

}  // namespace

int native_runner_main(int cmd_fd, int reply_fd, void* shm) {
  ShmHeader& h = *static_cast<ShmHeader*>(shm);
  CaseIn* cases = reinterpret_cast<CaseIn*>(static_cast<uint8_t*>(shm) + kShmCasesOffset);
  CaseOut* results = reinterpret_cast<CaseOut*>(static_cast<uint8_t*>(shm) + kShmResultsOffset);
  setup();
  hello(h);
  for (;;) {
    uint32_t cmd = 0;
    ssize_t n = read(cmd_fd, &cmd, sizeof cmd);
    if (n == 0) return 0;
    if (n != sizeof cmd) fail("command pipe");
    if (cmd == kCmdQuit) return 0;
    if (cmd == kCmdHello) {
      hello(h);
    } else if (cmd == kCmdRun) {
      if (h.magic != kShmMagic || h.count > kBatchMax) fail("bad shared block");
      for (uint32_t i = h.start; i < h.count; ++i) {
        run_case(cases[i], results[i]);
        __atomic_store_n(&h.done, i + 1, __ATOMIC_RELEASE);
      }
    }
    uint32_t ack = cmd;
    if (write(reply_fd, &ack, sizeof ack) != sizeof ack) fail("reply pipe");
  }
}

}  // namespace difftest
