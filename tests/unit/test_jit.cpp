// The JIT tier runs hot blocks as host code with exactly the interpreter's
// results, and self-modifying code invalidates translated blocks.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "interp/interpreter.h"
#include "machine/machine.h"
#include "machine/segments.h"
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

struct Run {
  uint64_t ax, bx, cx, icount, native_runs;
};

Run run(bool with_jit) {
  machine::MachineConfig cfg;
  cfg.ram_bytes = 2 << 20;
  machine::Machine m(cfg);
  std::string err;
  REQUIRE(m.init(err));
  m.bus().write(0x7C00, kProgram.data(), kProgram.size());
  machine::load_segment_real(m.cpu(), machine::CS, 0);
  m.cpu().rip = 0x7C00;
  interp::Interpreter it(m);
  jit::Jit j;
  if (with_jit) it.set_compiler(&j, 4);
  CHECK(it.run(1'000'000) == interp::StopReason::HaltedNoInterrupts);
  const auto& c = m.cpu();
  return {c.gpr[machine::RAX] & 0xFFFF, c.gpr[machine::RBX] & 0xFFFF, c.gpr[machine::RCX] & 0xFFFF, c.icount,
          it.stats().native_runs};
}

}  // namespace

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
