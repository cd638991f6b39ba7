// REP MOVS/STOS take whole page runs at once (interp/string_ops.cpp, the bulk
// path); the result must be exactly the iterations' one after the other:
// overlapping copies in both directions, every element size, runs across pages,
// and a segment-limit fault in the middle that leaves the registers of the
// completed iterations. Checked against a byte-level model of the iterations.
#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "interp/interpreter.h"
#include "machine/machine.h"
#include "machine/segments.h"
#include "random_machine.h"
#include "test_machine.h"

using namespace kestrel;

namespace {

constexpr uint32_t kRegion = 0x40000, kRegionSize = 0x6000, kCode = 0x20000;

struct Case {
  bool movs;
  unsigned size;  // 1, 2, 4
  bool down;      // DF
  uint32_t si, di, count;
  uint32_t es_limit;  // 0xFFFFFFFF: flat
};

struct Result {
  uint32_t esi, edi, ecx;
  std::vector<uint8_t> region;
  bool faulted;
};

// The iterations one by one on a copy of the region (addresses are inside it).
Result model(const Case& k, const std::vector<uint8_t>& start, uint32_t eax) {
  Result r{k.si, k.di, k.count, start, false};
  const int64_t step = k.down ? -static_cast<int64_t>(k.size) : k.size;
  while (r.ecx) {
    if (static_cast<uint64_t>(r.edi) + k.size - 1 > k.es_limit) {
      r.faulted = true;
      break;
    }
    uint8_t v[4];
    if (k.movs) std::memcpy(v, &r.region[r.esi - kRegion], k.size);
    else std::memcpy(v, &eax, k.size);
    std::memcpy(&r.region[r.edi - kRegion], v, k.size);
    if (k.movs) r.esi = static_cast<uint32_t>(r.esi + step);
    r.edi = static_cast<uint32_t>(r.edi + step);
    --r.ecx;
  }
  return r;
}

// ES with a byte-granular LIMIT (0xFFFFFFFF: flat), loaded the way MOV ES loads it:
// a writable data descriptor in the GDT slot after setup_random_mode's four (GDT at
// 0x500), so the cache's derived bounds, rights and flat byte follow the limit.
void load_es_with_limit(machine::Machine& m, uint32_t limit) {
  auto& c = m.cpu();
  const bool pages = limit > 0xFFFFF;  // G=1: 4 KiB units, the low 12 bits read as ones
  REQUIRE((!pages || (limit & 0xFFF) == 0xFFF));
  const uint32_t units = pages ? limit >> 12 : limit;
  const uint64_t desc = (units & 0xFFFF) | (uint64_t{0x92} << 40) | (uint64_t{(units >> 16) & 0xF} << 48) |
                        (uint64_t{pages ? 0xCu : 0x4u} << 52);
  constexpr uint16_t kSelector = 4 * 8;
  m.bus().write(c.gdtr.base + kSelector, &desc, sizeof desc);
  c.gdtr.limit = kSelector + 7;
  REQUIRE(machine::load_segment(c, machine::ES, kSelector));
  REQUIRE(c.seg[machine::ES].hi == limit);
  REQUIRE((c.seg[machine::ES].flat != 0) == (limit == 0xFFFFFFFFu));
}

Result run(const Case& k, const std::vector<uint8_t>& start, uint32_t eax, uint64_t seed) {
  std::mt19937_64 rng(seed);
  test::QuietMachine qm(2 << 20);
  auto& m = qm.machine();
  m.bus().write(kRegion, start.data(), start.size());
  auto& c = m.cpu();
  test::setup_random_mode(m, 1, rng);
  std::vector<uint8_t> code;
  code.push_back(0xF3);  // rep
  if (k.size == 2) code.push_back(0x66);
  code.push_back(static_cast<uint8_t>((k.movs ? 0xA4 : 0xAA) + (k.size == 1 ? 0 : 1)));
  code.push_back(0xF4);  // hlt
  m.bus().write(kCode, code.data(), code.size());
  c.rip = kCode;
  c.rflags = 2 | (k.down ? machine::kDF : 0);
  c.gpr[machine::RSI] = k.si;
  c.gpr[machine::RDI] = k.di;
  c.gpr[machine::RCX] = k.count;
  c.gpr[machine::RAX] = eax;
  c.idtr.limit = 0;  // a fault ends the run (triple fault: stop)
  load_es_with_limit(m, k.es_limit);
  interp::Interpreter it(m);
  const auto stop = it.run(1'000'000);
  Result r{static_cast<uint32_t>(c.gpr[machine::RSI]), static_cast<uint32_t>(c.gpr[machine::RDI]),
           static_cast<uint32_t>(c.gpr[machine::RCX]), std::vector<uint8_t>(start.size()),
           stop != interp::StopReason::HaltedNoInterrupts};
  m.bus().read(kRegion, r.region.data(), r.region.size());
  return r;
}

}  // namespace

TEST_CASE("REP MOVS/STOS in page runs equal the iterations one by one (overlap, DF, sizes, a limit fault)") {
  std::mt19937_64 rng(2026);
  for (int i = 0; i < 400; ++i) {
    Case k{};
    k.movs = rng() % 3 != 0;
    k.size = 1u << (rng() % 3);
    k.down = rng() % 3 == 0;
    k.count = static_cast<uint32_t>(rng() % 5000);
    // Keep every element inside the region whatever the direction.
    const uint32_t span = k.count * k.size;
    const uint32_t lo = kRegion + (k.down ? span : 0), hi = kRegion + kRegionSize - (k.down ? 0 : span) - k.size;
    if (lo > hi) continue;
    k.di = lo + static_cast<uint32_t>(rng() % (hi - lo + 1));
    // Sources near the destination often, so runs overlap in both directions.
    if (rng() % 2) {
      int32_t delta = static_cast<int32_t>(rng() % 17) - 8;
      k.si = static_cast<uint32_t>(static_cast<int64_t>(k.di) + delta);
      if (k.si < lo || k.si > hi) k.si = k.di;
    } else {
      k.si = lo + static_cast<uint32_t>(rng() % (hi - lo + 1));
    }
    k.es_limit = rng() % 4 == 0 ? static_cast<uint32_t>(kRegion + rng() % kRegionSize) : 0xFFFFFFFFu;
    std::vector<uint8_t> start(kRegionSize);
    for (auto& b : start) b = static_cast<uint8_t>(rng());
    const uint32_t eax = static_cast<uint32_t>(rng());
    const Result want = model(k, start, eax), got = run(k, start, eax, static_cast<uint64_t>(i));
    INFO("case " << i << (k.movs ? " movs" : " stos") << " size " << k.size << (k.down ? " down" : " up") << " si "
                 << k.si << " di " << k.di << " count " << k.count << " limit " << k.es_limit);
    CHECK(got.faulted == want.faulted);
    CHECK(got.ecx == want.ecx);
    CHECK(got.edi == want.edi);
    if (k.movs) CHECK(got.esi == want.esi);
    CHECK(got.region == want.region);
  }
}
