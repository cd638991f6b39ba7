// The JIT tier in protected mode, where translated blocks chain to each other:
// precise state on a page fault in the middle of a block, self-modifying code
// across chained blocks and by a device, and an interrupt that arrives while a
// chained loop spins. Each program also runs interpreted and both must agree.
#include <doctest/doctest.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "interp/interpreter.h"
#include "machine/board.h"
#include "machine/devices/lapic.h"
#include "machine/flags.h"
#include "machine/machine.h"
#include "machine/segments.h"
#ifdef KESTREL_HAVE_JIT
#include "jit/jit.h"
#endif
#include "test_machine.h"

using namespace kestrel;
using namespace kestrel::machine;

#ifdef KESTREL_HAVE_JIT
namespace {

// A machine in flat 32-bit protected mode (CPL 0): GDT at 0x500, IDT at 0x1000
// (vector v's gate points at `handler`), stack at 0x7000. Optionally 32-bit paging
// identity-mapping the first 4 MiB except the page at 0x200000 (not present).
struct Flat32 {
  std::unique_ptr<Machine> m;
  BoardDevices dev;
  std::unique_ptr<interp::Interpreter> it;
  jit::Jit jit;

  explicit Flat32(bool with_jit, bool paging = false, bool board = false) {
    m = test::new_machine(8ull << 20);
    if (board) dev = build_basic_board(*m);
    CpuState& c = m->cpu();
    uint64_t gdt[3] = {0, 0x00CF9A000000FFFFull, 0x00CF92000000FFFFull};
    m->bus().write(0x500, gdt, sizeof gdt);
    c.gdtr = {0x500, 23};
    c.idtr = {0x1000, 0x7FF};
    c.cr0 |= kCr0PE;
    for (auto& s : c.seg) load_descriptor(s, 0x10, gdt[2]);
    load_descriptor(c.seg[CS], 0x08, gdt[1]);
    if (paging) {
      for (uint32_t i = 0; i < 1024; ++i) {
        uint32_t pte = i == 0x200 ? 0 : (i << 12) | 3;
        m->bus().write_uint(0x11000 + i * 4, pte, 4);
      }
      m->bus().write_uint(0x10000, 0x11003, 4);
      c.cr3 = 0x10000;
      c.cr0 |= kCr0PG;
    }
    update_cpu_mode(c);
    refresh_all_segments(c);
    c.gpr[RSP] = 0x7000;
    c.rflags = 2;
    it = std::make_unique<interp::Interpreter>(*m);
    if (with_jit) it->set_compiler(&jit, 0);  // translate every block at once
  }
  CpuState& cpu() { return m->cpu(); }
  void poke(uint64_t addr, std::initializer_list<uint8_t> bytes) {
    std::vector<uint8_t> v(bytes);
    m->bus().write(addr, v.data(), v.size());
  }
  // A 32-bit interrupt gate for `vector` to `handler` (code selector 0x08).
  void gate(unsigned vector, uint32_t handler) {
    uint64_t g = (handler & 0xFFFFull) | (0x08ull << 16) | (0x8Eull << 40) | (static_cast<uint64_t>(handler >> 16) << 48);
    m->bus().write_uint(0x1000 + vector * 8, g, 8);
  }
  uint32_t rd32(uint64_t addr) { return static_cast<uint32_t>(m->bus().read_uint(addr, 4)); }
};

}  // namespace

TEST_CASE("JIT: a page fault in the middle of a translated block leaves the interpreter's precise state") {
  struct Result {
    uint64_t gpr[8], rip, cr2, icount;
    uint32_t stack[4];
  };
  auto run = [](bool with_jit) {
    Flat32 f(with_jit, true);
    f.gate(14, 0x9000);
    f.poke(0x9000, {0xF4});  // the #PF handler: hlt (IF is clear: the run ends)
    f.poke(0x8000, {0xB8, 0x01, 0x00, 0x00, 0x00,         // mov eax, 1
                    0xBB, 0x02, 0x00, 0x00, 0x00,         // mov ebx, 2
                    0x01, 0xD8,                           // add eax, ebx
                    0x8B, 0x0D, 0x10, 0x00, 0x20, 0x00,   // mov ecx, [0x200010]  (#PF: not present)
                    0xBA, 0x07, 0x00, 0x00, 0x00,         // mov edx, 7
                    0xF4});                               // hlt
    CpuState& c = f.cpu();
    c.gpr[RCX] = 0xC0C0;
    c.gpr[RDX] = 0xD0D0;
    c.rip = 0x8000;
    CHECK(f.it->run(1000) == interp::StopReason::HaltedNoInterrupts);
    if (with_jit) CHECK(f.it->stats().native_runs > 0);
    Result r{};
    for (int i = 0; i < 8; ++i) r.gpr[i] = c.gpr[i];
    r.rip = c.rip;
    r.cr2 = c.cr2;
    r.icount = c.icount;
    for (int i = 0; i < 4; ++i) r.stack[i] = f.rd32(c.gpr[RSP] + 4 * i);
    return r;
  };
  Result i = run(false), j = run(true);
  CHECK(j.gpr[RAX] == 3);
  CHECK(j.gpr[RBX] == 2);
  CHECK(j.gpr[RCX] == 0xC0C0);  // the faulting load wrote nothing
  CHECK(j.gpr[RDX] == 0xD0D0);  // nothing after it ran
  CHECK(j.cr2 == 0x200010);
  CHECK(j.stack[0] == 0);       // error code: not present, read, supervisor
  CHECK(j.stack[1] == 0x800C);  // EIP of the faulting instruction
  CHECK(j.stack[2] == 0x08);
  CHECK((j.stack[3] & kArithFlags) == kPF);  // the ADD's flags (3: even parity)
  for (int k = 0; k < 8; ++k) CHECK(j.gpr[k] == i.gpr[k]);
  CHECK(j.rip == i.rip);
  CHECK(j.icount == i.icount);
  for (int k = 0; k < 4; ++k) CHECK(j.stack[k] == i.stack[k]);
}

TEST_CASE("JIT: a translated load through a flat DS checks the bounds again once DS has a limit") {
  // The loop first runs natively through flat DS (the bounds checks skipped), then
  // DS gets a 1 MiB limit (as a MOV DS would load it) and the same translated loop
  // must raise #GP(0) at the load that crosses it, with the interpreter's state.
  struct Result {
    uint64_t rbx, rcx, icount;
    uint32_t stack[3];
  };
  auto run = [](bool with_jit) {
    Flat32 f(with_jit);
    f.gate(13, 0x9000);
    f.poke(0x9000, {0xF4});                            // #GP handler: hlt
    f.poke(0x8000, {0x8B, 0x03,                        // loop: mov eax, [ebx]
                    0x83, 0xC3, 0x04,                  //       add ebx, 4
                    0x49,                              //       dec ecx
                    0x75, 0xF8,                        //       jnz loop
                    0xF4});                            //       hlt
    CpuState& c = f.cpu();
    CHECK((c.seg[DS].flat & kSegReadable) != 0);
    c.gpr[RBX] = 0x100000;
    c.gpr[RCX] = 1000;
    c.rip = 0x8000;
    CHECK(f.it->run(100000) == interp::StopReason::HaltedNoInterrupts);
    CHECK(c.gpr[RBX] == 0x100000 + 4000);
    c.halted = 0;
    load_descriptor(c.seg[DS], 0x10, 0x004F92000000FFFFull);  // base 0, limit 0xFFFFF bytes, data r/w
    refresh_segment(c, c.seg[DS]);
    CHECK(c.seg[DS].flat == 0);
    c.gpr[RBX] = 0xFFF00;
    c.gpr[RCX] = 1000;
    c.rip = 0x8000;
    CHECK(f.it->run(100000) == interp::StopReason::HaltedNoInterrupts);
    if (with_jit) CHECK(f.it->stats().native_insns > 200);  // the loop ran as host code up to the fault
    Result r{c.gpr[RBX], c.gpr[RCX], c.icount, {}};
    for (int i = 0; i < 3; ++i) r.stack[i] = f.rd32(c.gpr[RSP] + 4 * i);
    return r;
  };
  Result i = run(false), j = run(true);
  CHECK(j.rbx == 0x100000);           // the load at 0xFFFFD..0x100000 would pass the limit
  CHECK(j.stack[0] == 0);             // error code 0
  CHECK(j.stack[1] == 0x8000);        // EIP of the load
  CHECK(j.rbx == i.rbx);
  CHECK(j.rcx == i.rcx);
  CHECK(j.icount == i.icount);
  for (int k = 0; k < 3; ++k) CHECK(j.stack[k] == i.stack[k]);
}

TEST_CASE("JIT: a block that rewrites the next (chained) block's code runs the new code") {
  auto run = [](bool with_jit) {
    Flat32 f(with_jit);
    f.poke(0x8000, {0xB9, 0x32, 0x00, 0x00, 0x00,        // mov ecx, 50
                    0x31, 0xD2,                          // xor edx, edx
                    0x89, 0x0D, 0x15, 0x80, 0x00, 0x00,  // L: mov [0x8015], ecx   (B's immediate)
                    0xEB, 0x05,                          // jmp B
                    0x90, 0x90, 0x90, 0x90, 0x90,
                    0xB8, 0x00, 0x00, 0x00, 0x00,        // B: mov eax, imm32
                    0x01, 0xC2,                          // add edx, eax
                    0x49,                                // dec ecx
                    0x75, 0xE9,                          // jnz L
                    0xF4});                              // hlt
    f.cpu().rip = 0x8000;
    CHECK(f.it->run(100000) == interp::StopReason::HaltedNoInterrupts);
    return f.cpu().gpr[RDX];
  };
  CHECK(run(false) == 1275);  // 50 + 49 + ... + 1
  CHECK(run(true) == 1275);
}

TEST_CASE("JIT: a device write into a spinning chained loop's code is seen") {
  auto run = [](bool with_jit, uint64_t& when) {
    Flat32 f(with_jit);
    f.poke(0x8000, {0xB8, 0x11, 0x11, 0x11, 0x11,  // L: mov eax, 0x11111111
                    0x3D, 0x22, 0x22, 0x22, 0x22,  // cmp eax, 0x22222222
                    0x75, 0xF4,                    // jne L
                    0xF4});                        // hlt
    f.cpu().rip = 0x8000;
    Machine& m = *f.m;
    // At t = 200 us a "device" (DMA) rewrites the immediate: the loop must end.
    int id = m.timers().create([&m](uint64_t) {
      const uint8_t imm[4] = {0x22, 0x22, 0x22, 0x22};
      m.bus().dma_write(0x8001, imm, 4);
    });
    m.timers().arm(id, 200'000);
    CHECK(f.it->run(10'000'000) == interp::StopReason::HaltedNoInterrupts);
    CHECK(f.cpu().gpr[RAX] == 0x22222222);
    if (with_jit) CHECK(f.it->stats().chains > 0);
    when = f.cpu().icount;
  };
  uint64_t ti = 0, tj = 0;
  run(false, ti);
  run(true, tj);
  CHECK(tj >= 200'000);
  CHECK(tj < 200'000 + 100);  // the write is seen within a few instructions
  CHECK(tj == ti);
}

TEST_CASE("JIT: an interrupt arriving during a long chained loop is taken on time") {
  auto run = [](bool with_jit) {
    Flat32 f(with_jit, false, true);
    REQUIRE(f.dev.lapic);
    f.gate(0x40, 0x9000);
    f.poke(0x9000, {0xC7, 0x05, 0x00, 0x06, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,  // mov dword [0x600], 1
                    0xFA, 0xF4});                                                // cli; hlt
    f.poke(0x8000, {0xFB,          // sti
                    0x41,          // L: inc ecx
                    0xEB, 0xFD});  // jmp L
    f.cpu().rip = 0x8000;
    Machine& m = *f.m;
    // Software-enable the local APIC and arm a one-shot timer for vector 0x40.
    auto wr = [&m](uint32_t reg, uint32_t v) { m.bus().write_uint(0xFEE00000ull + reg, v, 4); };
    wr(Lapic::kRegSvr, 0x1FF);
    wr(Lapic::kRegLvtTimer, 0x40);
    wr(Lapic::kRegTimerDivide, 0xB);
    const uint64_t deadline = m.now_ns() + 25'000 * Lapic::kTimerTickNs;  // 1 ms
    wr(Lapic::kRegTimerInitial, 25'000);
    CHECK(f.it->run(100'000'000) == interp::StopReason::HaltedNoInterrupts);
    CHECK(f.rd32(0x600) == 1);
    const uint64_t now = m.now_ns();
    CHECK(now >= deadline);
    CHECK(now < deadline + 100);
    if (with_jit) CHECK(f.it->stats().chains > 0);
    return f.cpu().gpr[RCX];
  };
  uint64_t i = run(false), j = run(true);
  CHECK(j == i);  // the same number of loop iterations before the interrupt
}

// Direct exits are chained in 32-bit code too; the CS limit can shrink (a far jump
// to a code segment with a lower limit, same mode key) after a chain was made, and
// the chained jump must still raise the #GP the interpreter raises at the limit.
TEST_CASE("JIT: a chained 32-bit exit past a shrunken CS limit raises #GP") {
  struct Result {
    uint64_t rbx, rcx, icount;
    uint32_t stack[3];
    uint64_t chains;
  };
  auto run = [](bool with_jit) {
    Flat32 f(with_jit);
    // Selector 0x18: a 32-bit code segment, base 0, byte-granular limit 0x8012.
    f.m->bus().write_uint(0x518, 0x00409A0000008012ull, 8);
    f.cpu().gdtr.limit = 31;
    f.gate(13, 0x9000);
    f.poke(0x9000, {0xF4});  // the #GP handler: hlt (IF is clear: the run ends)
    f.poke(0x8000, {0x31, 0xC9,                                // xor ecx, ecx
                    0xEB, 0x09,                                // jmp L
                    0x31, 0xC9,                                // R: xor ecx, ecx  (entered through 0x18)
                    0x43,                                      // inc ebx
                    0xEB, 0x04,                                // jmp L
                    0x90, 0x90, 0x90, 0x90,
                    0x41,                                      // L (0x800D): inc ecx
                    0x83, 0xF9, 0x32,                          // cmp ecx, 50
                    0x73, 0x02,                                // jae D
                    0xEB, 0xF8,                                // 0x8013: jmp L  (beyond the new limit)
                    0xEA, 0x04, 0x80, 0x00, 0x00, 0x18, 0x00}); // D: jmp far 0x18:R
    CpuState& c = f.cpu();
    c.gpr[RBX] = 0;
    c.rip = 0x8000;
    CHECK(f.it->run(100000) == interp::StopReason::HaltedNoInterrupts);
    Result r{c.gpr[RBX], c.gpr[RCX], c.icount, {}, f.it->stats().chains};
    for (int i = 0; i < 3; ++i) r.stack[i] = f.rd32(c.gpr[RSP] + 4 * i);
    return r;
  };
  Result i = run(false), j = run(true);
  CHECK(i.rbx == 1);
  CHECK(i.rcx == 1);
  CHECK(i.stack[0] == 0);       // error code
  CHECK(i.stack[1] == 0x8013);  // the EIP beyond the limit
  CHECK(i.stack[2] == 0x18);
  CHECK(j.chains > 0);
  CHECK(j.rbx == i.rbx);
  CHECK(j.rcx == i.rcx);
  CHECK(j.icount == i.icount);
  for (int k = 0; k < 3; ++k) CHECK(j.stack[k] == i.stack[k]);
}

// RET finds its target through native code's own probe of the jump cache; after
// the return address's page is mapped elsewhere (PTE write + INVLPG) the probe
// must not reach the block translated from the old page.
TEST_CASE("JIT: a RET into a page whose mapping changed runs the new page's code") {
  auto run = [](bool with_jit, uint64_t& inline_hits) {
    Flat32 f(with_jit, true);
    // Linear 0x300000 maps to physical 0x300000; physical 0x301000 holds the same
    // loop with a different ADD at the return address.
    const std::initializer_list<uint8_t> loop = {0xE8, 0xFB, 0x7F, 0xD0, 0xFF,  // L: call 0x8000
                                                  0x83, 0xC2, 0x01,              // add edx, 1
                                                  0x49,                          // dec ecx
                                                  0x75, 0xF5,                    // jnz L
                                                  0xF4};                         // hlt
    f.poke(0x300000, loop);
    f.poke(0x301000, loop);
    f.poke(0x301007, {0x40});  // add edx, 0x40
    f.poke(0x8000, {0x83, 0xF9, 0x05,                                        // cmp ecx, 5
                    0x75, 0x11,                                              // jne ret
                    0xC7, 0x05, 0x00, 0x1C, 0x01, 0x00, 0x03, 0x10, 0x30, 0x00,  // mov [PTE 0x300], 0x301003
                    0x0F, 0x01, 0x3D, 0x00, 0x00, 0x30, 0x00,                // invlpg [0x300000]
                    0xC3});                                                  // ret
    CpuState& c = f.cpu();
    c.gpr[RCX] = 10;
    c.gpr[RDX] = 0;
    c.rip = 0x300000;
    CHECK(f.it->run(100000) == interp::StopReason::HaltedNoInterrupts);
    inline_hits = f.it->stats().inline_hits;
    return c.gpr[RDX];
  };
  uint64_t hits_i = 0, hits_j = 0;
  CHECK(run(false, hits_i) == 5 + 5 * 0x40);
  CHECK(run(true, hits_j) == 5 + 5 * 0x40);
  CHECK(hits_j > 0);  // the RETs before the remap found their block inline
}

// The translation cache's size cap: with a tiny cap every translation flushes the
// cache, and a program with calls, returns and chained loops still computes what
// the interpreter computes.
TEST_CASE("JIT: the code-cache cap flushes while calls, returns and chains keep working") {
  auto run = [](bool with_jit, uint64_t& flushes) {
    Flat32 f(with_jit);
    f.it->set_code_cap(1);  // past the first block, every translation flushes
    f.poke(0x8000, {0xB9, 0xC8, 0x00, 0x00, 0x00,  // mov ecx, 200
                    0x31, 0xD2,                    // xor edx, edx
                    0xE8, 0xF4, 0x0F, 0x00, 0x00,  // L: call 0x9000
                    0x01, 0xC2,                    // add edx, eax
                    0x49,                          // dec ecx
                    0x75, 0xF6,                    // jnz L
                    0xF4});                        // hlt
    f.poke(0x9000, {0x89, 0xC8,                    // mov eax, ecx
                    0xD1, 0xE0,                    // shl eax, 1
                    0xA8, 0x02,                    // test al, 2
                    0x74, 0x01,                    // jz skip
                    0x40,                          // inc eax
                    0xC3});                        // skip: ret
    f.cpu().rip = 0x8000;
    CHECK(f.it->run(1'000'000) == interp::StopReason::HaltedNoInterrupts);
    flushes = f.it->stats().cache_flushes;
    return f.cpu().gpr[RDX];
  };
  uint64_t fi = 0, fj = 0;
  const uint64_t want = run(false, fi);
  CHECK(want == 200 * 201 + 100);  // sum of 2n, plus 1 for each odd n
  CHECK(run(true, fj) == want);
  CHECK(fj > 100);
}

// A TLB flush (MOV CR3) makes every jump-cache entry stale; the C++ lookup behind
// native code's probe re-validates the entry with a page walk (or finds the block by
// its physical address) instead of going back to the run loop.
TEST_CASE("JIT: returns after a CR3 reload find their block without the run loop") {
  auto run = [](bool with_jit, uint64_t& misses) {
    Flat32 f(with_jit, true);
    f.poke(0x8000, {0xB9, 0xF4, 0x01, 0x00, 0x00,  // mov ecx, 500
                    0xE8, 0xF6, 0x0F, 0x00, 0x00,  // L: call 0x9000
                    0x01, 0xC2,                    // add edx, eax
                    0x49,                          // dec ecx
                    0x75, 0xF6,                    // jnz L
                    0xF4});                        // hlt
    f.poke(0x9000, {0x0F, 0x20, 0xD8,              // mov eax, cr3
                    0x0F, 0x22, 0xD8,              // mov cr3, eax  (flushes the TLB)
                    0x89, 0xC8,                    // mov eax, ecx
                    0xC3});                        // ret
    f.cpu().rip = 0x8000;
    f.cpu().gpr[RDX] = 0;
    f.it->set_count_entries(true);
    CHECK(f.it->run(1'000'000) == interp::StopReason::HaltedNoInterrupts);
    misses = f.it->stats().back_lookup_miss;
    return f.cpu().gpr[RDX];
  };
  uint64_t mi = 0, mj = 0;
  CHECK(run(false, mi) == 500 * 501 / 2);
  CHECK(run(true, mj) == 500 * 501 / 2);
  CHECK(mj < 50);  // not once per call
}
#endif
