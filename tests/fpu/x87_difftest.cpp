// Differential test of Kestrel's x87 against this host's x87 (x86-64 only).
//
// Part 1, sequences: random short programs of x87 instructions (every form but the
// transcendentals and FWAIT) start from a random
// FRSTOR image (control word with random masks, rounding and precision, random TOP
// and tags, edge-heavy register values) and random EFLAGS, with memory operands in a
// buffer of random edge values. Each runs natively (called from this process;
// #MF arrives as SIGFPE) and in a Kestrel machine in 64-bit mode (the same bytes;
// #MF through the IDT to a HLT stub). Compared: whether and where #MF was taken,
// FCW, FSW (with TOP), the tag word (recomputed from the contents as FNSAVE stores
// it), ST(0)..ST(7), the memory buffer and EFLAGS. Not compared: FIP/FDP/FCS/FDS
// (addresses differ) and FOP (recent Intel processors keep it only for unmasked
// exceptions), in the state and in the environment images FNSTENV/FNSAVE store.
//
// Sequences that end with a transcendental (stack faults, pushes, pops, C2 and
// unmasked exceptions of FPTAN, FSINCOS, FPATAN... from random states) compare
// register values to one ulp and ignore C1 and the memory buffer (see part 2).
//
// Part 2, transcendentals: F2XM1, FYL2X, FYL2XP1, FPTAN, FPATAN, FSIN, FCOS, FSINCOS
// of interp/fpu/transcendental.cpp against the host instruction, random and special
// operands in every rounding mode, and operands within a few ulps of multiples of the
// x87's 66-bit pi/2 (where a reduction with any other pi would be far off). The host's results are within ~0.5-0.9 ulp of
// the exact value but not correctly rounded, so results one ulp apart (and C1
// disagreeing where the exact value is very close to the result) are counted and
// reported as "near misses"; anything else (a wrong special case, a flag, more than
// one ulp) is a mismatch.
//
//   x87-difftest [--cases N] [--seed S] [--verbose] [--only seq|tseq|trans] [--jit on|verify]
//   (--jit: the Kestrel side translates each sequence with the JIT on its first run,
//   with verify also re-running it in the interpreter)
//   (N sequences, N/4 sequences with transcendentals, N/4 cases per
//   transcendental; default 50000)
//
// Last line: "x87-difftest: N cases, M mismatches".
#include <cinttypes>
#include <csetjmp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#if defined(__x86_64__)
#include <sys/mman.h>
#include <ucontext.h>
#endif

#include "frontend-x86/decoder.h"
#include "interp/fpu/softfloat.h"
#include "interp/fpu/transcendental.h"
#include "interp/interpreter.h"
#include "interp/x87/x87_state.h"
#ifdef KESTREL_HAVE_JIT
#include "jit/jit.h"
#endif
#include "machine/cpu_model.h"
#include "machine/flags.h"
#include "machine/machine.h"
#include "machine/segments.h"
#include "operand_gen.h"

using namespace kestrel;
using interp::fpu::f80;

namespace {

using fpu_test::Rng;  // the library difftest's splitmix64 generator

f80 mk(bool s, unsigned e, uint64_t sig) { return f80{sig, static_cast<uint16_t>((s ? 0x8000 : 0) | (e & 0x7FFF))}; }

// An edge-heavy 80-bit value.
f80 gen_f80(Rng& r) {
  const bool s = r.next() & 1;
  const uint64_t sig = r.next();
  switch (r.below(16)) {
    case 0: return mk(s, 0, 0);
    case 1: return mk(s, 0, sig >> r.below(64));                       // denormal
    case 2: return mk(s, 0, sig | (1ull << 63));                       // pseudo-denormal
    case 3: return mk(s, 0x7FFF, 1ull << 63);                          // infinity
    case 4: return mk(s, 0x7FFF, sig | (1ull << 63));                  // NaN
    case 5: return mk(s, 0x7FFF, (sig | (1ull << 63)) & ~(1ull << 62));  // SNaN (or inf)
    case 6: return mk(s, unsigned(r.below(0x7FFF)), sig & ~(1ull << 63));  // unnormal / pseudo-NaN
    case 7: return mk(s, 16383 + unsigned(r.below(64)), (sig | (1ull << 63)) & ~((1ull << r.below(64)) - 1));  // integer-ish
    case 8: return mk(s, unsigned(r.below(2) ? r.below(40) + 1 : 0x7FFE - r.below(40)), sig | (1ull << 63));  // extremes
    default: return mk(s, 16383 - 40 + unsigned(r.below(80)), sig | (1ull << 63));
  }
}

// The eight data registers of an FSAVE area (32-bit protected-mode layout: 10 bytes
// each from byte 28), in register order.
void gen_saved_registers(Rng& r, uint8_t* p) {
  for (int i = 0; i < 8; ++i) {
    const f80 v = gen_f80(r);
    std::memcpy(p + 28 + 10 * i, &v.sig, 8);
    std::memcpy(p + 36 + 10 * i, &v.sign_exp, 2);
  }
}

// An environment/FSAVE area (32-bit protected-mode layout) with plausible contents.
void gen_env(Rng& r, uint8_t* p) {
  for (int i = 0; i < 108; ++i) p[i] = static_cast<uint8_t>(r.next());
  uint16_t fcw = static_cast<uint16_t>(0x0040 | (r.next() & 0x0F00) | (r.chance(60) ? 0x3F : r.next() & 0x3F));
  uint16_t fsw = static_cast<uint16_t>(r.next() & (r.chance(20) ? 0xFFFF : 0x7F00));
  uint16_t ftw = static_cast<uint16_t>(r.next());
  std::memcpy(p, &fcw, 2);
  std::memcpy(p + 4, &fsw, 2);
  std::memcpy(p + 8, &ftw, 2);
  gen_saved_registers(r, p);
}

// Ten bytes of a random type for a memory slot.
void gen_slot(Rng& r, uint8_t* p) {
  for (int i = 0; i < 16; ++i) p[i] = static_cast<uint8_t>(r.next());
  const f80 v = gen_f80(r);
  switch (r.below(8)) {
    case 0: {  // f32 edges
      static const uint32_t k[] = {0, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0x7FA00001, 0x00000001,
                                   0x007FFFFF, 0x3F800000, 0x7F7FFFFF};
      uint32_t x = r.chance(50) ? k[r.below(10)] : static_cast<uint32_t>(r.next());
      std::memcpy(p, &x, 4);
      break;
    }
    case 1: {  // f64 edges
      static const uint64_t k[] = {0, 0x8000000000000000ull, 0x7FF0000000000000ull, 0x7FF8000000000000ull,
                                   0x7FF4000000000001ull, 1, 0x000FFFFFFFFFFFFFull, 0x3FF0000000000000ull,
                                   0x7FEFFFFFFFFFFFFFull, 0x4330000000000001ull};
      uint64_t x = r.chance(50) ? k[r.below(10)] : r.next();
      std::memcpy(p, &x, 8);
      break;
    }
    case 2: {  // small integers of every width
      int64_t x = static_cast<int64_t>(r.next()) >> r.below(64);
      std::memcpy(p, &x, 8);
      break;
    }
    case 3: {  // packed BCD (sometimes with invalid digits)
      for (int i = 0; i < 9; ++i) {
        unsigned lo = unsigned(r.below(10)), hi = unsigned(r.below(10));
        if (r.chance(5)) lo = unsigned(r.below(16));
        p[i] = static_cast<uint8_t>(hi << 4 | lo);
      }
      p[9] = r.chance(50) ? 0x80 : 0;
      break;
    }
    case 4: {  // a control word: random masks, rounding, precision
      uint16_t cw = static_cast<uint16_t>(0x0040 | (r.next() & 0x0F3F));
      if (r.chance(70)) cw |= 0x3F;
      std::memcpy(p, &cw, 2);
      break;
    }
    default:
      std::memcpy(p, &v.sig, 8);
      std::memcpy(p + 8, &v.sign_exp, 2);
      break;
  }
}

// ---- the instruction pool ------------------------------------------------------------------

struct Form {
  uint8_t op;
  int8_t reg;      // ModRM.reg, or -1 for a fixed second byte
  uint8_t second;  // the fixed ModRM byte
  char kind;       // 'r' register form (any ST(i)), 'm' memory form, 'f' fixed
  bool sse3 = false;
};

std::vector<Form> make_pool() {
  std::vector<Form> p;
  for (int reg = 0; reg < 8; ++reg) {
    p.push_back({0xD8, int8_t(reg), 0, 'r'});
    p.push_back({0xD8, int8_t(reg), 0, 'm'});
    p.push_back({0xDC, int8_t(reg), 0, 'r'});
    p.push_back({0xDC, int8_t(reg), 0, 'm'});
    p.push_back({0xDE, int8_t(reg), 0, 'r'});
    p.push_back({0xDE, int8_t(reg), 0, 'm'});
    p.push_back({0xDA, int8_t(reg), 0, 'm'});
  }
  for (int reg : {0, 2, 3, 5, 7}) p.push_back({0xD9, int8_t(reg), 0, 'm'});  // FLD/FST/FSTP m32, FLDCW, FNSTCW
  for (int reg : {0, 1, 3}) p.push_back({0xD9, int8_t(reg), 0, 'r'});        // FLD, FXCH, FSTP1 ST(i)
  for (int m : {0xD0, 0xE0, 0xE1, 0xE4, 0xE5, 0xE8, 0xE9, 0xEA, 0xEB, 0xEC, 0xED, 0xEE, 0xF4, 0xF5, 0xF6, 0xF7,
                0xF8, 0xFA, 0xFC, 0xFD})
    p.push_back({0xD9, -1, uint8_t(m), 'f'});
  for (int reg = 0; reg < 4; ++reg) p.push_back({0xDA, int8_t(reg), 0, 'r'});  // FCMOVB/E/BE/U
  p.push_back({0xDA, -1, 0xE9, 'f'});                                           // FUCOMPP
  for (int reg : {0, 2, 3, 5, 7}) p.push_back({0xDB, int8_t(reg), 0, 'm'});
  p.push_back({0xDB, 1, 0, 'm', true});                                          // FISTTP m32
  for (int reg : {0, 1, 2, 3, 5, 6}) p.push_back({0xDB, int8_t(reg), 0, 'r'});  // FCMOVNcc, FUCOMI, FCOMI
  for (int m : {0xE0, 0xE1, 0xE2, 0xE4}) p.push_back({0xDB, -1, uint8_t(m), 'f'});
  for (int reg : {0, 2, 3, 7}) p.push_back({0xDD, int8_t(reg), 0, 'm'});
  p.push_back({0xDD, 1, 0, 'm', true});                                          // FISTTP m64
  for (int reg : {0, 1, 2, 3, 4, 5}) p.push_back({0xDD, int8_t(reg), 0, 'r'});
  p.push_back({0xDE, -1, 0xD9, 'f'});                                            // FCOMPP
  for (int reg : {0, 2, 3, 4, 5, 6, 7}) p.push_back({0xDF, int8_t(reg), 0, 'm'});
  p.push_back({0xDF, 1, 0, 'm', true});                                          // FISTTP m16
  for (int reg : {0, 1, 2, 3, 5, 6}) p.push_back({0xDF, int8_t(reg), 0, 'r'});
  p.push_back({0xDF, -1, 0xE0, 'f'});                                            // FNSTSW AX
  // FNSTENV/FLDENV, FNSAVE/FRSTOR on the environment area, FNINIT, FNCLEX.
  p.push_back({0xD9, 4, 0, 'e'});
  p.push_back({0xD9, 6, 0, 'e'});
  p.push_back({0xDD, 4, 0, 'e'});
  p.push_back({0xDD, 6, 0, 'e'});
  p.push_back({0xDB, -1, 0xE3, 'f'});
  return p;
}

void emit(const Form& f, Rng& r, std::vector<uint8_t>& code) {
  code.push_back(f.op);
  switch (f.kind) {
    case 'r': code.push_back(static_cast<uint8_t>(0xC0 | (f.reg << 3) | r.below(8))); break;
    case 'm':
      code.push_back(static_cast<uint8_t>(0x40 | (f.reg << 3) | 7));  // [rdi + disp8]: a slot
      code.push_back(static_cast<uint8_t>(-128 + 16 * int(r.below(8))));
      break;
    case 'e':
      code.push_back(static_cast<uint8_t>(0x00 | (f.reg << 3) | 7));  // [rdi]: the environment area
      break;
    default: code.push_back(f.second); break;
  }
}

// ---- one observed end state -------------------------------------------------------------------

struct State {
  int trap = -1;  // byte offset of the instruction that took #MF, -1 when none; -2 other exception
  int vector = -1;
  uint16_t fcw = 0, fsw = 0, ftw = 0;
  f80 st[8];
  uint8_t data[256];
  uint64_t flags = 0;
};

uint16_t tag_word_from(const f80* st, unsigned top, uint8_t abridged_or_ff, const uint16_t* full) {
  // Either the abridged byte (FXSAVE layout) or a full tag word, recomputed from contents.
  uint16_t w = 0;
  for (unsigned p = 0; p < 8; ++p) {
    const bool empty = full ? ((*full >> (2 * p)) & 3) == 3 : !((abridged_or_ff >> p) & 1);
    const f80 v = st[(p - top) & 7];
    w |= static_cast<uint16_t>((empty ? 3u : interp::x87_tag_of(v)) << (2 * p));
  }
  return w;
}

void state_from_fnsave(const uint8_t* img, State& s) {
  std::memcpy(&s.fcw, img, 2);
  std::memcpy(&s.fsw, img + 4, 2);
  uint16_t ftw;
  std::memcpy(&ftw, img + 8, 2);
  for (int i = 0; i < 8; ++i) {
    std::memcpy(&s.st[i].sig, img + 28 + 10 * i, 8);
    std::memcpy(&s.st[i].sign_exp, img + 36 + 10 * i, 2);
  }
  s.ftw = tag_word_from(s.st, (s.fsw >> 11) & 7, 0, &ftw);
}

// ---- the Kestrel side -------------------------------------------------------------------------

constexpr uint64_t kCode = 0x100000, kImage = 0x200000, kData = 0x201000, kStack = 0x300000, kStubs = 0x9000;

struct Emu {
  int jit_mode = 0;  // --jit: 0 interpreter, 1 JIT (every block translated on its first run), 2 verify
  std::unique_ptr<machine::Machine> m;
  std::unique_ptr<interp::BlockCompiler> jit;
  std::unique_ptr<interp::Interpreter> it;

  ~Emu() { it.reset(); }  // before the compiler it points at

  bool init(std::string& err) {
    machine::MachineConfig cfg;
    cfg.ram_bytes = 8ull << 20;
    m = std::make_unique<machine::Machine>(cfg);
    if (!m->init(err)) return false;
    it = std::make_unique<interp::Interpreter>(*m);
    if (jit_mode) {
#ifdef KESTREL_HAVE_JIT
      jit = std::make_unique<jit::Jit>(jit_mode == 2);
      it->set_compiler(jit.get(), 0);
      it->set_verify(jit_mode == 2);
#else
      err = "x87-difftest: this build has no JIT";
      return false;
#endif
    }
    auto& c = m->cpu();
    uint64_t gdt[4] = {0, 0x00CF9A000000FFFFull, 0x00CF92000000FFFFull, 0x00AF9A000000FFFFull};
    m->bus().write(0x500, gdt, sizeof gdt);
    c.gdtr = {0x500, 31};
    // IDT at 0x4000: vector v -> the HLT at kStubs + v.
    for (uint64_t v = 0; v < 32; ++v) {
      const uint64_t off = kStubs + v;
      const uint64_t lo = (off & 0xFFFF) | (0x18ull << 16) | (0x8Eull << 40) | ((off >> 16) & 0xFFFF) << 48;
      const uint64_t hi = off >> 32;
      m->bus().write_uint(0x4000 + 16 * v, lo, 8);
      m->bus().write_uint(0x4008 + 16 * v, hi, 8);
      m->bus().write_uint(off, 0xF4, 1);
    }
    c.idtr = {0x4000, 32 * 16 - 1};
    uint64_t pml4 = 0x2003, pdpt = 0x3003;
    m->bus().write(0x1000, &pml4, 8);
    m->bus().write(0x2000, &pdpt, 8);
    for (uint64_t k = 0; k < 512; ++k) m->bus().write_uint(0x3000 + k * 8, (k << 21) | 0x87, 8);
    c.cr3 = 0x1000;
    c.cr4 = 0x20 | 0x200;  // PAE, OSFXSR
    c.efer = 0x500;
    c.cr0 |= machine::kCr0PE | machine::kCr0PG | machine::kCr0NE;
    c.cr0 &= ~(machine::kCr0EM | machine::kCr0TS);
    for (auto& s : c.seg) machine::load_descriptor(s, 0x10, gdt[2]);
    machine::load_descriptor(c.seg[machine::CS], 0x18, gdt[3]);
    machine::update_cpu_mode(c);
    machine::refresh_all_segments(c);
    c.tlb.flush();
    return true;
  }

  void run(const std::vector<uint8_t>& code, const uint8_t* image, const uint8_t* data, State& out) {
    auto& c = m->cpu();
    m->bus().write(kCode, code.data(), code.size());
    m->bus().write(kImage, image, 108);
    m->bus().write(kData, data, 256);
    c.gpr[machine::RSI] = kImage;
    c.gpr[machine::RDI] = kData + 128;
    c.gpr[machine::RSP] = kStack;
    c.rip = kCode;
    c.halted = 0;
    c.rflags = 2;
    c.lf_kind = 0;
    it->run(100000);
    m->clear_stop();
    const uint64_t stop = c.rip - 1;
    if (stop >= kStubs && stop < kStubs + 32) {
      out.vector = static_cast<int>(stop - kStubs);
      const uint64_t rip = m->bus().read_uint(c.gpr[machine::RSP], 8);
      out.trap = out.vector == machine::kVecMF ? static_cast<int>(rip - kCode) : -2;
      out.fcw = c.fcw;
      out.fsw = interp::x87_fsw(c);
      out.ftw = interp::x87_tag_word(c);
      for (int i = 0; i < 8; ++i) out.st[i] = interp::x87_st(c, i);
    } else {
      uint8_t img[108];
      m->bus().read(kImage + 0x70, img, 108);
      state_from_fnsave(img, out);
      out.flags = c.gpr[machine::RAX];
    }
    m->bus().read(kData, out.data, 256);
  }
};

#if defined(__x86_64__)
// ---- the host side ----------------------------------------------------------------------------

sigjmp_buf g_jmp;
volatile uint64_t g_fault_rip;
volatile int g_signal;
_libc_fpstate g_fp;

void on_signal(int sig, siginfo_t*, void* uc_v) {
  auto* uc = static_cast<ucontext_t*>(uc_v);
  g_fault_rip = uc->uc_mcontext.gregs[REG_RIP];
  g_signal = sig;
  if (uc->uc_mcontext.fpregs) std::memcpy(&g_fp, uc->uc_mcontext.fpregs, sizeof g_fp);
  siglongjmp(g_jmp, 1);
}

struct Host {
  uint8_t* page = nullptr;
  bool init() {
    page = static_cast<uint8_t*>(mmap(nullptr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (page == MAP_FAILED) return false;
    struct sigaction sa {};
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGFPE, &sa, nullptr);
    sigaction(SIGILL, &sa, nullptr);
    return true;
  }

  void run(const std::vector<uint8_t>& code, const uint8_t* image, const uint8_t* data, State& out) {
    alignas(16) static uint8_t img[256];
    alignas(16) static uint8_t buf[256];
    std::memcpy(img, image, 108);
    std::memcpy(buf, data, 256);
    std::memcpy(page, code.data(), code.size());
    page[code.size() - 1] = 0xC3;  // HLT -> RET
    uint64_t flags = 0;
    if (sigsetjmp(g_jmp, 1) == 0) {
      void* fn = page;
      asm volatile("call *%[f]"
                   : "=a"(flags)
                   : [f] "r"(fn), "S"(img), "D"(buf + 128)
                   : "rcx", "rdx", "r8", "r9", "r10", "r11", "memory", "cc", "st", "st(1)", "st(2)", "st(3)",
                     "st(4)", "st(5)", "st(6)", "st(7)");
      asm volatile("fninit");
      state_from_fnsave(img + 0x70, out);
      out.flags = flags;
    } else {
      asm volatile("fninit");
      out.vector = g_signal == SIGFPE ? 16 : 6;
      out.trap = g_signal == SIGFPE ? static_cast<int>(g_fault_rip - reinterpret_cast<uint64_t>(page)) : -2;
      out.fcw = g_fp.cwd;
      out.fsw = g_fp.swd;
      for (int i = 0; i < 8; ++i) {
        std::memcpy(&out.st[i].sig, &g_fp._st[i], 8);
        std::memcpy(&out.st[i].sign_exp, reinterpret_cast<const uint8_t*>(&g_fp._st[i]) + 8, 2);
      }
      out.ftw = tag_word_from(out.st, (out.fsw >> 11) & 7, static_cast<uint8_t>(g_fp.ftw), nullptr);
    }
    std::memcpy(out.data, buf, 256);
  }
};
#endif

std::string hex80(const f80& v) {
  char b[40];
  std::snprintf(b, sizeof b, "%04x:%016" PRIx64, v.sign_exp, v.sig);
  return b;
}

void print_state(const char* who, const State& s) {
  std::printf("    %s: trap=%d vec=%d fcw=%04x fsw=%04x ftw=%04x flags=%03" PRIx64 "\n", who, s.trap, s.vector, s.fcw,
              s.fsw, s.ftw, s.flags & 0x8D5);
  std::printf("      st:");
  for (int i = 0; i < 8; ++i) std::printf(" %s", hex80(s.st[i]).c_str());
  std::printf("\n");
}

int64_t ulp_distance(const f80& a, const f80& b);

// loose: the transcendentals are in the sequence; their results may be one ulp off
// the host's (see part 2), so register values may differ by one ulp and C1 may differ.
std::string diff(const State& a, const State& b, bool loose = false) {
  if (a.trap != b.trap || a.vector != b.vector) return "trap";
  if (a.fcw != b.fcw) return "fcw";
  const uint16_t c1 = loose ? 0x0200 : 0;
  if ((a.fsw & ~c1) != (b.fsw & ~c1)) return "fsw";
  if (a.ftw != b.ftw) return "ftw";
  for (int i = 0; i < 8; ++i)
    if (!(a.st[i] == b.st[i])) {
      // An empty register's contents are not architectural: compare non-empty ones only.
      const unsigned p = ((a.fsw >> 11) + i) & 7;
      if (((a.ftw >> (2 * p)) & 3) == 3) continue;
      const bool finite = (a.st[i].sign_exp & 0x7FFF) != 0x7FFF && (b.st[i].sign_exp & 0x7FFF) != 0x7FFF;
      if (loose && finite && std::llabs(ulp_distance(a.st[i], b.st[i])) <= 1) continue;
      return "st";
    }
  // (Loose: a value one ulp apart may have been stored; memory is not compared.)
  for (int i = 0; i < 256 && !loose; ++i)
    if (a.data[i] != b.data[i] && !(i >= 128 + 12 && i < 128 + 28)) return "memory";
  if (a.trap == -1 && (a.flags & 0x8D5) != (b.flags & 0x8D5)) return "eflags";
  return "";
}

// ---- part 1: sequences ------------------------------------------------------------------------

struct Totals {
  uint64_t cases = 0, mismatches = 0;
};

#if defined(__x86_64__)
void run_sequences(uint64_t n, uint64_t seed, bool verbose, int jit_mode, Totals& t, bool with_transcendentals = false) {
  Emu emu;
  emu.jit_mode = jit_mode;
  std::string err;
  if (!emu.init(err)) {
    std::printf("x87-difftest: machine: %s\n", err.c_str());
    t.mismatches++;
    return;
  }
  Host host;
  if (!host.init()) {
    std::printf("x87-difftest: no executable page\n");
    t.mismatches++;
    return;
  }
  const bool sse3 = emu.m->cpu_model().has(machine::Feature::Sse3);
  const auto pool = make_pool();
  frontend::Decoder dec;
  Rng r{seed};
  std::map<std::string, uint64_t> by_kind;
  int shown = 0;
  const uint64_t before = t.mismatches;
  for (uint64_t k = 0; k < n; ++k) {
    // Initial FRSTOR image, 32-bit protected-mode layout.
    uint8_t image[108] = {};
    uint16_t fcw = static_cast<uint16_t>(0x0040 | (r.below(4) << 10) | ((r.chance(90) ? (r.chance(50) ? 3 : 2) : r.below(2)) << 8));
    fcw |= r.chance(60) ? 0x3F : static_cast<uint16_t>(r.next() & 0x3F);
    const unsigned top = unsigned(r.below(8));
    uint16_t fsw = static_cast<uint16_t>(top << 11 | (r.next() & 0x4700));
    if (r.chance(10)) fsw |= static_cast<uint16_t>(r.next() & 0x7F);
    uint16_t ftw = 0;
    for (unsigned p = 0; p < 8; ++p) ftw |= static_cast<uint16_t>((r.chance(50) ? 3u : unsigned(r.below(3))) << (2 * p));
    const uint32_t w0 = 0xFFFF0000u | fcw, w1 = 0xFFFF0000u | fsw, w2 = 0xFFFF0000u | ftw;
    std::memcpy(image, &w0, 4);
    std::memcpy(image + 4, &w1, 4);
    std::memcpy(image + 8, &w2, 4);
    gen_saved_registers(r, image);
    uint8_t data[256];
    for (int s = 0; s < 8; ++s) gen_slot(r, data + 16 * s);
    gen_env(r, data + 128);
    for (int i = 128 + 108; i < 256; ++i) data[i] = static_cast<uint8_t>(r.next());

    std::vector<uint8_t> code = {0xDB, 0xE3, 0xDD, 0x26, 0x68};  // fninit; frstor [rsi]; push imm32
    const uint32_t fl = static_cast<uint32_t>(2 | (r.next() & 0x8D5));
    for (int i = 0; i < 4; ++i) code.push_back(static_cast<uint8_t>(fl >> (8 * i)));
    code.push_back(0x9D);  // popfq
    const size_t body = code.size();
    const int len = 1 + int(r.below(6)) - with_transcendentals;
    for (int i = 0; i < len; ++i) {
      const Form* f;
      do f = &pool[r.below(pool.size())];
      while (f->sse3 && !sse3);
      emit(*f, r, code);
    }
    // One transcendental last (a one-ulp difference fed to more arithmetic, FPTAN
    // near pi/2 say, could grow past what the loose comparison allows):
    // F2XM1 FYL2X FPTAN FPATAN FYL2XP1 FSINCOS FSIN FCOS.
    if (with_transcendentals) {
      static constexpr uint8_t kTrans[] = {0xF0, 0xF1, 0xF2, 0xF3, 0xF9, 0xFB, 0xFE, 0xFF};
      code.push_back(0xD9);
      code.push_back(kTrans[r.below(8)]);
    }
    const size_t body_end = code.size();
    // fnsave [rsi+0x70]; pushfq; pop rax; hlt (ret on the host)
    for (uint8_t b : {0xDD, 0x76, 0x70, 0x9C, 0x58, 0xF4}) code.push_back(b);

    State hs, es;
    host.run(code, image, data, hs);
    emu.run(code, image, data, es);
    ++t.cases;
    const std::string d = diff(hs, es, with_transcendentals);
    if (d.empty()) continue;
    ++t.mismatches;
    ++by_kind[d];
    if (shown < (verbose ? 200 : 12)) {
      ++shown;
      std::printf("mismatch (%s): fcw=%04x fsw=%04x ftw=%04x flags=%03x\n", d.c_str(), fcw, fsw, ftw, fl);
      std::printf("  init st:");
      for (int i = 0; i < 8; ++i) {
        f80 v;
        std::memcpy(&v.sig, image + 28 + 10 * i, 8);
        std::memcpy(&v.sign_exp, image + 36 + 10 * i, 2);
        std::printf(" %s", hex80(v).c_str());
      }
      std::printf("\n");
      for (size_t off = body; off < body_end;) {
        frontend::DecodedInsn di;
        dec.decode(machine::CpuMode::Long64, emu.m->cpu_model(), code.data() + off, body_end - off, di);
        const unsigned l = di.len ? di.len : 1;
        std::printf("  +%02zu %s\n", off, dec.disassemble(machine::CpuMode::Long64, code.data() + off, l, off).c_str());
        off += l;
      }
      print_state("host", hs);
      print_state("kestrel", es);
      if (d == "memory")
        for (int i = 0; i < 256; ++i)
          if (hs.data[i] != es.data[i]) std::printf("      data[%d]: host %02x kestrel %02x\n", i, hs.data[i], es.data[i]);
    }
  }
  std::printf("sequences%s: %" PRIu64 " cases, %" PRIu64 " mismatches", with_transcendentals ? " with transcendentals" : "", n, t.mismatches - before);
  for (auto& [k, v] : by_kind) std::printf(" %s:%" PRIu64, k.c_str(), v);
  std::printf("\n");
  if (jit_mode) {
    // The sequences must really have run as translated code.
    const auto& st = emu.it->stats();
    std::printf("  --jit %s: %" PRIu64 " block runs in host code (%" PRIu64 " verified), %" PRIu64 " interpreted\n",
                jit_mode == 2 ? "verify" : "on", st.native_runs, st.verified_runs, st.interpreted_runs);
    if (st.native_runs == 0) {
      std::printf("  --jit: no block ran in host code\n");
      ++t.mismatches;
    }
  }
}
#endif

// ---- part 2: transcendentals ------------------------------------------------------------------

enum TOp { kSin, kCos, kTan, kSinCos, kAtan, kYl2x, kYl2xp1, kF2xm1, kTOps };
const char* kTNames[] = {"fsin", "fcos", "fptan", "fsincos", "fpatan", "fyl2x", "fyl2xp1", "f2xm1"};

// x = ST(0), y = ST(1); results r1 (ST(1) after FPTAN/FSINCOS, else ST(0)) and r2.
void soft_trans(TOp op, uint16_t cw, f80 x, f80 y, f80& r1, f80& r2, uint16_t& sw) {
  using namespace interp::fpu;
  Context ctx = Context::from_fcw(cw);
  bool oor = false;
  r1 = r2 = f80{};
  switch (op) {
    case kSin: r1 = f80_sin(x, ctx, oor); break;
    case kCos: r1 = f80_cos(x, ctx, oor); break;
    case kTan: r1 = f80_tan(x, ctx, oor); r2 = f80_is_nan(r1) ? r1 : f80{1ull << 63, 0x3FFF}; break;
    case kSinCos: { const SinCos sc = f80_sincos(x, ctx, oor); r1 = sc.sin; r2 = sc.cos; break; }
    case kAtan: r1 = f80_atan2(y, x, ctx); break;
    case kYl2x: r1 = f80_yl2x(y, x, ctx); break;
    case kYl2xp1: r1 = f80_yl2xp1(y, x, ctx); break;
    default: r1 = f80_2xm1(x, ctx); break;
  }
  sw = static_cast<uint16_t>(ctx.flags | (ctx.c1 ? 0x200 : 0));
  if (oor) {  // nothing pushed: the host harness then reads ST(0) = x and an empty ST(1)
    sw = 0x400;
    r1 = x;
    r2 = f80{};
    if (op == kTan || op == kSinCos) {
      r2 = x;
      r1 = kF80DefaultNaN;
    }
  }
}

#if defined(__x86_64__)
#define TPRE "fninit\n\tfldcw %[cw]\n\t"
#define TCLOB "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)", "memory"
void host_trans(TOp op, uint16_t cw, f80 x, f80 y, f80& r1, f80& r2, uint16_t& sw) {
  r2 = f80{};
  switch (op) {
#define ONE(insn) \
  asm volatile(TPRE "fldt %[x]\n\t" insn "\n\tfnstsw %[sw]\n\tfstpt %[r]\n\tfninit" : [r] "=m"(r1), [sw] "=m"(sw) : [cw] "m"(cw), [x] "m"(x) : TCLOB)
#define TWO_OUT(insn) \
  asm volatile(TPRE "fldt %[x]\n\t" insn "\n\tfnstsw %[sw]\n\tfstpt %[r2]\n\tfstpt %[r]\n\tfninit" : [r] "=m"(r1), [r2] "=m"(r2), [sw] "=m"(sw) : [cw] "m"(cw), [x] "m"(x) : TCLOB)
#define TWO_IN(insn) \
  asm volatile(TPRE "fldt %[y]\n\tfldt %[x]\n\t" insn "\n\tfnstsw %[sw]\n\tfstpt %[r]\n\tfninit" : [r] "=m"(r1), [sw] "=m"(sw) : [cw] "m"(cw), [x] "m"(x), [y] "m"(y) : TCLOB)
    case kSin: ONE("fsin"); break;
    case kCos: ONE("fcos"); break;
    case kTan: TWO_OUT("fptan"); break;
    case kSinCos: TWO_OUT("fsincos"); break;
    case kAtan: TWO_IN("fpatan"); break;
    case kYl2x: TWO_IN("fyl2x"); break;
    case kYl2xp1: TWO_IN("fyl2xp1"); break;
    default: ONE("f2xm1"); break;
#undef ONE
#undef TWO_OUT
#undef TWO_IN
  }
}

// A value within a few ulps of k * pi66 / 2 (the x87's own reduction constant,
// 0xC90FDAA22168C234C * 2^-67), k up to 2^40: the hardest cases of the reduction.
f80 near_pi_multiple(Rng& r, bool sign) {
  using u128 = unsigned __int128;
  const u128 pi66 = (u128(0xC90FDAA22168C234ull) << 4) | 0xC;  // 68 bits
  const uint64_t k = 1 + r.below(uint64_t(1) << (1 + r.below(40)));
  const u128 p = pi66 * k;  // value = p * 2^-67, p of 69..108 bits
  const int e = 127 - __builtin_clzll(uint64_t(p >> 64));  // index of p's top bit
  // Keep the top 64 bits: value = sig * 2^(e - 63 - 67).
  const uint64_t sig = e >= 63 ? uint64_t(p >> (e - 63)) : uint64_t(p << (63 - e));
  const int64_t off = int64_t(r.below(2001)) - 1000;
  const uint64_t sig2 = sig + uint64_t(off);
  if (!(sig2 >> 63)) return mk(sign, unsigned(16383 + e - 67), sig);
  return mk(sign, unsigned(16383 + e - 67), sig2);
}

// A key whose difference between two finite values of one sign is their distance in ulps.
__int128 ulp_key(const f80& v) {
  const unsigned e = v.sign_exp & 0x7FFF;
  __int128 key = e == 0 ? static_cast<__int128>(v.sig) : (static_cast<__int128>(e) << 63) | (v.sig & 0x7FFFFFFFFFFFFFFFull);
  return (v.sign_exp & 0x8000) ? -key : key;
}
int64_t ulp_distance(const f80& a, const f80& b) {
  const __int128 d = ulp_key(a) - ulp_key(b);
  return d > INT64_MAX ? INT64_MAX : d < -INT64_MAX ? -INT64_MAX : static_cast<int64_t>(d);
}

void run_transcendentals(uint64_t n, uint64_t seed, bool verbose, Totals& t) {
  Rng r{seed ^ 0x7A5CE11Aull};
  uint64_t all_cases = 0, all_near = 0, all_exact = 0;
  for (int op = 0; op < kTOps; ++op) {
    std::map<int64_t, uint64_t> ulps;
    uint64_t exact = 0, c1_only = 0, bad = 0, cases = 0;
    int shown = 0;
    for (uint64_t i = 0; i < n; ++i) {
      const uint16_t cw = static_cast<uint16_t>(0x037F | (r.below(4) << 10) | (r.chance(20) ? r.below(3) << 8 : 0x300));
      const bool s = r.next() & 1;
      const uint64_t sig = r.next() | (1ull << 63);
      f80 x, y = mk(r.next() & 1, 16383 - 10 + unsigned(r.below(20)), r.next() | (1ull << 63));
      switch (op) {
        case kSin: case kCos: case kTan: case kSinCos:
          x = mk(s, 16383 - 20 + unsigned(r.below(84)), sig);
          if (r.chance(20)) x = near_pi_multiple(r, s);
          break;
        case kAtan: x = mk(s, 16383 - 20 + unsigned(r.below(40)), sig); break;
        case kYl2x: x = mk(false, r.chance(30) ? 16382 + unsigned(r.below(2)) : 16383 - 100 + unsigned(r.below(200)), sig); break;
        case kYl2xp1: x = mk(s, 16381 - unsigned(r.below(60)), sig); break;
        default: x = mk(s, 16382 - unsigned(r.below(70)), sig); break;
      }
      if (r.chance(15)) x = gen_f80(r);
      if (r.chance(10)) y = gen_f80(r);
      f80 h1, h2, s1, s2;
      uint16_t hsw, ssw;
      host_trans(TOp(op), cw, x, y, h1, h2, hsw);
      soft_trans(TOp(op), cw, x, y, s1, s2, ssw);
      ++cases;
      const uint16_t flags_mask = 0x3F | 0x400;
      const bool vmatch = h1 == s1 && h2 == s2;
      if (vmatch && (hsw & (flags_mask | 0x200)) == (ssw & (flags_mask | 0x200))) {
        ++exact;
        continue;
      }
      const int64_t d1 = ulp_distance(s1, h1), d2 = ulp_distance(s2, h2);
      const int64_t d = std::llabs(d1) > std::llabs(d2) ? d1 : d2;
      const bool near = (hsw & flags_mask) == (ssw & flags_mask) && (vmatch || std::llabs(d) <= 1);
      if (near) {
        if (vmatch) ++c1_only;
        else ++ulps[d];
        continue;
      }
      ++bad;
      if (shown < (verbose ? 50 : 5)) {
        ++shown;
        std::printf("mismatch %s cw=%04x x=%s y=%s: host %s %s sw=%04x, kestrel %s %s sw=%04x\n", kTNames[op], cw,
                    hex80(x).c_str(), hex80(y).c_str(), hex80(h1).c_str(), hex80(h2).c_str(), hsw & 0x47FF,
                    hex80(s1).c_str(), hex80(s2).c_str(), ssw);
      }
    }
    uint64_t one_ulp = 0;
    for (auto& [d, c] : ulps) one_ulp += c;
    std::printf("%-8s %" PRIu64 " cases: %" PRIu64 " bit-exact (%.2f%%), %" PRIu64 " one ulp apart (+1: %" PRIu64
                ", -1: %" PRIu64 "), %" PRIu64 " C1 only, %" PRIu64 " mismatches\n",
                kTNames[op], cases, exact, 100.0 * double(exact) / double(cases), one_ulp, ulps[1], ulps[-1], c1_only,
                bad);
    all_cases += cases;
    all_exact += exact;
    all_near += cases - exact - bad;
    t.cases += cases;
    t.mismatches += bad;
  }
  std::printf("transcendentals: %" PRIu64 " cases, %" PRIu64 " bit-exact, %" PRIu64 " near misses (1 ulp or C1)\n",
              all_cases, all_exact, all_near);
}
#endif

}  // namespace

int main(int argc, char** argv) {
  uint64_t cases = 50000, seed = 1;
  bool verbose = false;
  int jit_mode = 0;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--cases" && i + 1 < argc) cases = std::strtoull(argv[++i], nullptr, 0);
    else if (a == "--seed" && i + 1 < argc) seed = std::strtoull(argv[++i], nullptr, 0);
    else if (a == "--verbose") verbose = true;
    else if (a == "--only" && i + 1 < argc) only = argv[++i];
    else if (a == "--help" || a == "-h") {
      std::printf("usage: x87-difftest [--cases N] [--seed S] [--verbose] [--only seq|tseq|trans] [--jit on|verify]\n");
      return 0;
    } else if (a == "--jit" && i + 1 < argc && (std::string(argv[i + 1]) == "on" || std::string(argv[i + 1]) == "verify"))
      jit_mode = std::string(argv[++i]) == "on" ? 1 : 2;
    else {
      std::fprintf(stderr,
                   "usage: x87-difftest [--cases N] [--seed S] [--verbose] [--only seq|tseq|trans] [--jit on|verify]\n");
      return 2;
    }
  }
  Totals t;
#if defined(__x86_64__)
  if (only.empty() || only == "seq") run_sequences(cases, seed, verbose, jit_mode, t);
  if (only.empty() || only == "tseq") run_sequences(cases / 4, seed + 1, verbose, jit_mode, t, true);
  if (only.empty() || only == "trans") run_transcendentals(cases / 4, seed, verbose, t);
#else
  (void)cases, (void)seed, (void)verbose, (void)jit_mode;
  std::printf("x87-difftest: needs an x86-64 host\n");
#endif
  std::printf("x87-difftest: %" PRIu64 " cases, %" PRIu64 " mismatches\n", t.cases, t.mismatches);
  return t.mismatches == 0 ? 0 : 1;
}
