// The JIT tier runs hot blocks as host code with exactly the interpreter's
// results, and self-modifying code invalidates translated blocks.
#include <doctest/doctest.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "interp/interpreter.h"
#include "machine/flags.h"
#include "machine/machine.h"
#include "machine/segments.h"
#include "random_machine.h"
#include "test_machine.h"
#ifdef KESTREL_HAVE_JIT
#include "jit/jit.h"
#endif

using namespace kestrel;

#ifdef KESTREL_HAVE_JIT
namespace {

// Real mode at 0000:7C00: sum 1..1000 into AX in a hot loop, then patch the loop's
// ADD into SUB and run it again, which brings AX back to 0.
const std::vector<uint8_t> kProgram = {
    0xB9, 0xE8, 0x03,              // 7C00 mov cx, 1000
    0x31, 0xC0,                    // 7C03 xor ax, ax
    0x01, 0xC8,                    // 7C05 add ax, cx   (patched to 29 C8: sub ax, cx)
    0x49,                          // 7C07 dec cx
    0x75, 0xFB,                    // 7C08 jnz 7C05
    0xC6, 0x06, 0x05, 0x7C, 0x29,  // 7C0A mov byte [7C05], 0x29
    0x81, 0xFB, 0x00, 0x00,        // 7C0F cmp bx, 0
    0x75, 0x06,                    // 7C13 jnz 7C1B
    0x43,                          // 7C15 inc bx
    0xB9, 0xE8, 0x03,              // 7C16 mov cx, 1000
    0xEB, 0xEA,                    // 7C19 jmp 7C05
    0xFA, 0xF4,                    // 7C1B cli; hlt
};

// A hot loop of word loads and stores through the TLB fast path, starting at an
// odd address so that one access straddles a page (the slow path).
const std::vector<uint8_t> kMemoryLoop = {
    0xB9, 0xE8, 0x03,  // 7C00 mov cx, 1000
    0xBE, 0xF1, 0x0F,  // 7C03 mov si, 0x0FF1
    0x8B, 0x04,        // 7C06 mov ax, [si]
    0x01, 0xC8,        // 7C08 add ax, cx
    0x89, 0x44, 0x02,  // 7C0A mov [si+2], ax
    0x83, 0xC6, 0x02,  // 7C0D add si, 2
    0x49,              // 7C10 dec cx
    0x75, 0xF3,        // 7C11 jnz 7C06
    0x8B, 0x04,        // 7C13 mov ax, [si]
    0xFA, 0xF4,        // 7C15 cli; hlt
};

// The same loop closed by SUB + JNZ, a pair the JIT evaluates on the host.
const std::vector<uint8_t> kMemoryLoopSub = {
    0xB9, 0xE8, 0x03,  // 7C00 mov cx, 1000
    0xBE, 0xF1, 0x0F,  // 7C03 mov si, 0x0FF1
    0x8B, 0x04,        // 7C06 mov ax, [si]
    0x01, 0xC8,        // 7C08 add ax, cx
    0x89, 0x44, 0x02,  // 7C0A mov [si+2], ax
    0x83, 0xC6, 0x02,  // 7C0D add si, 2
    0x83, 0xE9, 0x01,  // 7C10 sub cx, 1
    0x75, 0xF1,        // 7C13 jnz 7C06
    0x8B, 0x04,        // 7C15 mov ax, [si]
    0xFA, 0xF4,        // 7C17 cli; hlt
};

// SETcc to memory in a hot loop: only the byte at 0x2000 + 500 becomes 1. Under
// --jit verify the store is journaled by a call made after the condition is in a
// register, which must survive it.
const std::vector<uint8_t> kSetccLoop = {
    0xB9, 0xE8, 0x03,        // 7C00 mov cx, 1000
    0xBE, 0x00, 0x20,        // 7C03 mov si, 0x2000
    0x81, 0xF9, 0xF4, 0x01,  // 7C06 cmp cx, 500
    0x0F, 0x94, 0x04,        // 7C0A setz [si]
    0x46,                    // 7C0D inc si
    0x49,                    // 7C0E dec cx
    0x75, 0xF5,              // 7C0F jnz 7C06
    0xA0, 0xF4, 0x21,        // 7C11 mov al, [0x21F4]
    0x02, 0x06, 0xF3, 0x21,  // 7C14 add al, [0x21F3]
    0x02, 0x06, 0xF5, 0x21,  // 7C18 add al, [0x21F5]
    0xFA, 0xF4,              // 7C1C cli; hlt
};

struct Run {
  uint64_t ax, bx, cx, icount, native_runs;
};

Run run(bool with_jit, const std::vector<uint8_t>& program = kProgram, bool verify = false) {
  auto owned_machine = test::new_machine(2 << 20);
  auto& m = *owned_machine;
  m.bus().write(0x7C00, program.data(), program.size());
  machine::load_segment_real(m.cpu(), machine::CS, 0);
  m.cpu().rip = 0x7C00;
  interp::Interpreter it(m);
  jit::Jit j(verify);
  if (with_jit) it.set_compiler(&j, 4);
  it.set_verify(verify);
  it.set_count_entries(true);
  CHECK(it.run(1'000'000) == interp::StopReason::HaltedNoInterrupts);
  CHECK(!m.stop_requested());  // --jit verify found no difference
  if (verify) CHECK(it.stats().verified_runs > 100);
  const auto& c = m.cpu();
  // Native block runs: started by the run loop, or by a chained jump or a lookup.
  return {c.gpr[machine::RAX] & 0xFFFF, c.gpr[machine::RBX] & 0xFFFF, c.gpr[machine::RCX] & 0xFFFF, c.icount,
          it.stats().native_runs + it.stats().checked_entries};
}

}  // namespace

TEST_CASE("JIT: memory fast paths (TLB hits, a page-straddling access) match the interpreter") {
  Run i = run(false, kMemoryLoop), j = run(true, kMemoryLoop);
  CHECK(i.ax == 0xA314);  // sum of 1..1000 modulo 2^16
  CHECK(j.ax == i.ax);
  CHECK(j.cx == i.cx);
  CHECK(j.icount == i.icount);
  CHECK(j.native_runs > 900);
  Run i2 = run(false, kMemoryLoopSub), j2 = run(true, kMemoryLoopSub);
  Run v2 = run(true, kMemoryLoopSub, true);
  CHECK(v2.ax == i2.ax);
  CHECK(v2.icount == i2.icount);
  CHECK(i2.ax == 0xA314);
  CHECK(j2.ax == i2.ax);
  CHECK(j2.icount == i2.icount);
  CHECK(j2.native_runs > 900);
}

TEST_CASE("JIT: SETcc to memory, also under --jit verify (the journal call keeps the condition)") {
  Run i = run(false, kSetccLoop), j = run(true, kSetccLoop), v = run(true, kSetccLoop, true);
  CHECK((i.ax & 0xFF) == 1);
  CHECK(j.ax == i.ax);
  CHECK(v.ax == i.ax);
  CHECK(j.icount == i.icount);
  CHECK(j.native_runs > 900);
}

TEST_CASE("JIT: hot loops run natively with the interpreter's results, and SMC re-translates") {
  Run interp_only = run(false);
  Run jitted = run(true);
  CHECK(interp_only.ax == 0);
  CHECK(interp_only.bx == 1);
  CHECK(interp_only.native_runs == 0);
  CHECK(jitted.ax == interp_only.ax);
  CHECK(jitted.bx == interp_only.bx);
  CHECK(jitted.cx == interp_only.cx);
  CHECK(jitted.icount == interp_only.icount);
  CHECK(jitted.native_runs > 1000);
}
#endif

#ifdef KESTREL_HAVE_JIT
// Real-mode branches are chained within a page, but a 16-bit IP wraps at 64 KiB:
// the same block entered through another CS:IP alias (same linear address) can
// branch to a different linear page, which a chained jump must not assume away.
TEST_CASE("JIT: a chained 16-bit JMP entered through an alias where IP wraps goes where the CPU goes") {
  auto run = [](bool with_jit) {
    auto owned_machine = test::new_machine(2 << 20);
    auto& m = *owned_machine;
    const std::vector<uint8_t> main = {
        0xB9, 0x00, 0x00,              // 7C00 mov cx, 0
        0xBE, 0x14, 0x00,              // 7C03 mov si, 20
        0x9A, 0x00, 0x00, 0x00, 0x12,  // 7C06 call far 1200:0000
        0x4E,                          // 7C0B dec si
        0x75, 0xF8,                    // 7C0C jnz 7C06
        0x9A, 0xF0, 0xFF, 0x01, 0x02,  // 7C0E call far 0201:FFF0 (linear 0x12000 again)
        0xFA, 0xF4};                   // 7C13 cli; hlt
    m.bus().write(0x7C00, main.data(), main.size());
    const std::vector<uint8_t> jmp = {0xEB, 0x10};  // jmp short IP+0x12
    m.bus().write(0x12000, jmp.data(), jmp.size());
    const std::vector<uint8_t> near = {0x41, 0xCB};  // inc cx; retf
    m.bus().write(0x12012, near.data(), near.size());
    // 0201:FFF0 + 0x12 wraps to 0201:0002 = linear 0x2012.
    const std::vector<uint8_t> wrapped = {0x81, 0xC1, 0x00, 0x01, 0xCB};  // add cx, 0x100; retf
    m.bus().write(0x2012, wrapped.data(), wrapped.size());
    machine::load_segment_real(m.cpu(), machine::CS, 0);
    m.cpu().rip = 0x7C00;
    m.cpu().gpr[machine::RSP] = 0x7000;
    interp::Interpreter it(m);
    jit::Jit j;
    if (with_jit) it.set_compiler(&j, 2);
    CHECK(it.run(100000) == interp::StopReason::HaltedNoInterrupts);
    if (with_jit) CHECK(it.stats().chains > 0);
    return m.cpu().gpr[machine::RCX] & 0xFFFF;
  };
  CHECK(run(false) == 20 + 0x100);
  CHECK(run(true) == 20 + 0x100);
}
#endif

#ifdef KESTREL_HAVE_JIT
// In 64-bit mode PUSH, POP, CALL and RET are 64-bit without REX.W: their native
// forms must cover them (they once fell back to the handlers on every run).
TEST_CASE("JIT: 64-bit PUSH/POP/CALL/RET run natively, without handler calls") {
  auto run = [](bool with_jit, uint64_t& handler_calls) {
    auto owned_machine = test::new_machine(2 << 20);
    auto& m = *owned_machine;
    std::mt19937_64 rng(1);
    test::setup_random_mode(m, 2, rng);
    const std::vector<uint8_t> prog = {
        0xB9, 0xE8, 0x03, 0x00, 0x00,  // 10000 mov ecx, 1000
        0x51,                          // 10005 L: push rcx
        0xE8, 0x06, 0x00, 0x00, 0x00,  // 10006 call F
        0x59,                          // 1000B pop rcx
        0xFF, 0xC9,                    // 1000C dec ecx
        0x75, 0xF5,                    // 1000E jnz L
        0xF4,                          // 10010 hlt
        0x48, 0x01, 0xC8,              // 10011 F: add rax, rcx
        0xC3};                         // 10014 ret
    m.bus().write(0x10000, prog.data(), prog.size());
    auto& c = m.cpu();
    c.rip = 0x10000;
    c.gpr[machine::RSP] = 0x80000;
    c.gpr[machine::RAX] = 0;
    c.rflags = 2;
    interp::Interpreter it(m);
    jit::Jit j;
    if (with_jit) it.set_compiler(&j, 0);
    it.set_count_entries(true);
    CHECK(it.run(100000) == interp::StopReason::HaltedNoInterrupts);
    handler_calls = 0;
    for (uint64_t n : it.stats().handler_calls) handler_calls += n;
    CHECK(c.gpr[machine::RSP] == 0x80000);
    return c.gpr[machine::RAX];
  };
  uint64_t calls_i = 0, calls_j = 0;
  CHECK(run(false, calls_i) == 500500);
  CHECK(run(true, calls_j) == 500500);
  CHECK(calls_j < 100);  // the loop's 4,000 stack operations ran natively
}
#endif

#ifdef KESTREL_HAVE_JIT
// The NOP family (0F 1F, PAUSE, 90) costs no handler call (Linux pads every
// function with a 5-byte NOP); under --jit verify it still matches the interpreter.
TEST_CASE("JIT: NOP, PAUSE and 90 run natively") {
  auto run = [](bool with_jit, bool verify, uint64_t& handler_calls) {
    auto owned_machine = test::new_machine(2 << 20);
    auto& m = *owned_machine;
    std::mt19937_64 rng(2);
    test::setup_random_mode(m, 1, rng);
    const std::vector<uint8_t> prog = {
        0xB9, 0xE8, 0x03, 0x00, 0x00,        // 10000 mov ecx, 1000
        0x0F, 0x1F, 0x44, 0x00, 0x00,        // 10005 L: nop dword [eax+eax]
        0xF3, 0x90,                          // 1000A pause
        0x90,                                // 1000C nop
        0x66, 0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00,  // 1000D nop word [eax+eax+0]
        0x40,                                // 10016 inc eax
        0x49,                                // 10017 dec ecx
        0x75, 0xEB,                          // 10018 jnz L
        0xF4};                               // 1001A hlt
    m.bus().write(0x10000, prog.data(), prog.size());
    auto& c = m.cpu();
    c.rip = 0x10000;
    c.gpr[machine::RAX] = 0;
    c.rflags = 2;
    interp::Interpreter it(m);
    jit::Jit j(verify);
    if (with_jit) it.set_compiler(&j, 0);
    it.set_verify(verify);
    it.set_count_entries(true);
    CHECK(it.run(100000) == interp::StopReason::HaltedNoInterrupts);
    CHECK(!m.stop_requested());
    handler_calls = 0;
    for (uint64_t n : it.stats().handler_calls) handler_calls += n;
    return c.gpr[machine::RAX] + c.icount;
  };
  uint64_t calls_i = 0, calls_j = 0, calls_v = 0;
  const uint64_t want = run(false, false, calls_i);
  CHECK(want == 1000 + 1 + 7 * 1000 + 1);
  CHECK(run(true, false, calls_j) == want);
  CHECK(run(true, true, calls_v) == want);
  CHECK(calls_j < 100);
}
#endif

#ifdef KESTREL_HAVE_JIT
namespace {

// One random machine: random bytes as code in real, 32-bit protected or 64-bit
// mode, random registers. Returns the state after `budget` instructions.
struct Outcome {
  uint64_t gpr[16], rip, flags, icount;
  uint16_t sel[6];
  uint64_t ram_hash;
};

Outcome run_random(uint64_t seed, bool with_jit) {
  std::mt19937_64 rng(seed);
  test::QuietMachine qm(2 << 20);
  auto& m = qm.machine();
  // Code that loops often: short random snippets repeated, so blocks get hot.
  std::vector<uint8_t> ram(1 << 20);
  for (auto& b : ram) b = static_cast<uint8_t>(rng());
  m.bus().write(0, ram.data(), ram.size());
  auto& c = m.cpu();
  test::setup_random_mode(m, static_cast<int>(seed % 3), rng);
  interp::Interpreter it(m);
  jit::Jit j;
  if (with_jit) it.set_compiler(&j, 0);  // translate every block at once
  it.run(2000);
  Outcome o{};
  for (int i = 0; i < 16; ++i) o.gpr[i] = c.gpr[i];
  o.rip = c.rip;
  o.flags = machine::materialize_flags(c);
  o.icount = c.icount;
  for (int i = 0; i < 6; ++i) o.sel[i] = c.seg[i].selector;
  m.bus().read(0, ram.data(), ram.size());
  uint64_t h = 1469598103934665603ull;
  for (uint8_t b : ram) h = (h ^ b) * 1099511628211ull;
  o.ram_hash = h;
  return o;
}

}  // namespace

TEST_CASE("JIT: random code gives the same state and memory as the interpreter") {
  for (uint64_t seed = 1; seed <= 150; ++seed) {
    Outcome a = run_random(seed, false), b = run_random(seed, true);
    INFO("seed " << seed);
    for (int i = 0; i < 16; ++i) CHECK(a.gpr[i] == b.gpr[i]);
    CHECK(a.rip == b.rip);
    CHECK(a.flags == b.flags);
    CHECK(a.icount == b.icount);
    for (int i = 0; i < 6; ++i) CHECK(a.sel[i] == b.sel[i]);
    CHECK(a.ram_hash == b.ram_hash);
  }
}
#endif
