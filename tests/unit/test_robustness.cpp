// The guest must never crash the emulator: random memory executed as code in
// real, protected and long mode, with random registers and descriptor tables,
// runs to its instruction budget without a host crash or an assertion.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "interp/interpreter.h"
#include "machine/machine.h"
#include "machine/segments.h"
#include "random_machine.h"
#include "test_machine.h"

using namespace kestrel;


TEST_CASE("random code in every mode never crashes the emulator") {
  test::QuietMachine qm(4 << 20);
  auto& m = qm.machine();
  interp::Interpreter it(m);
  std::mt19937_64 rng(20261122);
  std::vector<uint8_t> junk(1 << 20);
  uint64_t retired = 0;
  for (int i = 0; i < 300; ++i) {
    m.reset();
    for (auto& b : junk) b = static_cast<uint8_t>(rng());
    m.bus().write(0, junk.data(), junk.size());
    test::setup_random_mode(m, i % 3, rng);
    m.cpu().tlb.flush();
    ++m.cpu().tlb_generation;
    uint64_t before = m.cpu().icount;
    it.run(300);
    retired += m.cpu().icount - before;
    m.clear_stop();
  }
  // The runs did execute code (not just fault at once every time).
  CHECK(retired > 1000);
}
