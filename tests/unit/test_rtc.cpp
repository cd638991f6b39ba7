// machine/devices/rtc_cmos: the MC146818 time registers in BCD/binary and 12/24-hour
// form, SET and writes, UIP, the periodic, alarm and update-ended interrupts on IRQ 8,
// register C, the NMI mask bit and the CMOS memory-size bytes.
#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <string>

#include "machine/board.h"
#include "machine/devices/rtc_cmos.h"
#include "machine/machine.h"
#include "test_machine.h"

using namespace kestrel::machine;

namespace {

constexpr uint64_t kSec = 1'000'000'000;

// A board whose RTC starts at 2024-01-01 00:00:00 UTC (a Monday) plus `offset_ns`.
struct Rig {
  std::unique_ptr<Machine> m;
  BoardDevices b;
  explicit Rig(uint64_t ram = 256ull << 20, int64_t offset_ns = 0) {
    m = kestrel::test::new_machine(ram);
    BoardOptions opt;
    opt.rtc_start_unix_ns = RtcCmos::kDefaultStartUnixNs + offset_ns;
    b = build_basic_board(*m, opt);
  }
  uint8_t rd(uint8_t index) {
    m->ports().out(0x70, index, 1);
    return static_cast<uint8_t>(m->ports().in(0x71, 1));
  }
  void wr(uint8_t index, uint8_t v) {
    m->ports().out(0x70, index, 1);
    m->ports().out(0x71, v, 1);
  }
  // Lets guest time pass (the clock counts instructions: 1 ns each) and fires timers.
  void advance(uint64_t ns) {
    m->cpu().icount += ns;
    m->timers().run_expired(m->now_ns());
  }
  bool irq8() { return m->isa_irq(8).level(); }
};

}  // namespace

TEST_CASE("rtc: time registers in BCD, 24-hour, from the start time") {
  Rig r;
  CHECK(r.rd(0x00) == 0x00);
  CHECK(r.rd(0x02) == 0x00);
  CHECK(r.rd(0x04) == 0x00);
  CHECK(r.rd(0x06) == 0x02);  // Monday (1 = Sunday)
  CHECK(r.rd(0x07) == 0x01);
  CHECK(r.rd(0x08) == 0x01);
  CHECK(r.rd(0x09) == 0x24);
  CHECK(r.rd(0x32) == 0x20);
  CHECK(r.rd(0x0A) == 0x26);
  CHECK(r.rd(0x0B) == 0x02);
  CHECK(r.rd(0x0D) == 0x80);
  r.advance(13 * 3600 * kSec + 59 * 60 * kSec + 58 * kSec);
  CHECK(r.rd(0x04) == 0x13);
  CHECK(r.rd(0x02) == 0x59);
  CHECK(r.rd(0x00) == 0x58);
}

TEST_CASE("rtc: binary and 12-hour modes") {
  Rig r(256ull << 20, (13 * 3600 + 5 * 60 + 9) * int64_t{kSec});
  r.wr(0x0B, 0x06);  // binary, 24-hour
  CHECK(r.rd(0x04) == 13);
  CHECK(r.rd(0x02) == 5);
  CHECK(r.rd(0x09) == 24);
  CHECK(r.rd(0x32) == 20);
  r.wr(0x0B, 0x04);  // binary, 12-hour: 1 PM
  CHECK(r.rd(0x04) == (0x80 | 1));
  r.wr(0x0B, 0x00);  // BCD, 12-hour
  CHECK(r.rd(0x04) == 0x81);
}

TEST_CASE("rtc: midnight and noon in 12-hour mode") {
  Rig r;
  r.wr(0x0B, 0x00);
  CHECK(r.rd(0x04) == 0x12);  // 12 AM
  r.advance(12 * 3600 * kSec);
  CHECK(r.rd(0x04) == 0x92);  // 12 PM
}

TEST_CASE("rtc: SET freezes the clock and starts it from the written time") {
  Rig r;
  r.wr(0x0B, 0x82);  // SET, 24-hour, BCD
  r.advance(5 * kSec);
  CHECK(r.rd(0x00) == 0x00);  // frozen
  r.wr(0x00, 0x56);
  r.wr(0x02, 0x34);
  r.wr(0x04, 0x12);
  r.wr(0x07, 0x15);
  r.wr(0x08, 0x06);
  r.wr(0x09, 0x30);
  r.wr(0x0B, 0x02);  // run
  CHECK(r.rd(0x00) == 0x56);
  CHECK(r.rd(0x06) == 0x07);  // 2030-06-15 is a Saturday
  r.advance(kSec);
  CHECK(r.rd(0x00) == 0x57);
  CHECK(r.rd(0x02) == 0x34);
  CHECK(r.rd(0x09) == 0x30);
  CHECK(r.rd(0x32) == 0x20);
}

TEST_CASE("rtc: a write to a running time register changes the time") {
  Rig r;
  r.wr(0x02, 0x45);  // minutes
  CHECK(r.rd(0x02) == 0x45);
  r.advance(60 * kSec);
  CHECK(r.rd(0x02) == 0x46);
  CHECK(r.rd(0x04) == 0x00);
}

TEST_CASE("rtc: UIP is high in the last 244 us before an update") {
  Rig r;
  r.advance(kSec / 2);
  CHECK((r.rd(0x0A) & 0x80) == 0);
  r.advance(kSec / 2 - 100'000);  // 100 us before the next second
  CHECK((r.rd(0x0A) & 0x80) == 0x80);
  r.advance(200'000);
  CHECK((r.rd(0x0A) & 0x80) == 0);
}

TEST_CASE("rtc: periodic interrupt on IRQ 8, register C read clears it") {
  Rig r;
  r.rd(0x0C);
  r.wr(0x0A, 0x26);  // 1024 Hz
  r.wr(0x0B, 0x42);  // PIE
  CHECK_FALSE(r.irq8());
  r.advance(1'000'000);  // 1 ms: one period of 976.5625 us passed
  CHECK(r.irq8());
  CHECK(r.rd(0x0C) == 0xC0);  // IRQF | PF
  CHECK_FALSE(r.irq8());
  CHECK(r.rd(0x0C) == 0x00);
  r.advance(1'000'000);
  CHECK(r.irq8());
  r.wr(0x0B, 0x02);  // PIE off: the line drops; PF still latches
  CHECK_FALSE(r.irq8());
  CHECK(r.rd(0x0C) == 0x40);
}

TEST_CASE("rtc: update-ended and alarm interrupts") {
  Rig r;
  r.rd(0x0C);
  r.wr(0x0B, 0x12);  // UIE
  r.advance(kSec / 2);
  CHECK_FALSE(r.irq8());
  r.advance(kSec / 2 + 1);
  CHECK(r.irq8());
  CHECK((r.rd(0x0C) & 0x90) == 0x90);  // IRQF | UF
  // Alarm at 00:00:05; don't-care hours.
  r.wr(0x01, 0x05);
  r.wr(0x03, 0x00);
  r.wr(0x05, 0xC0);
  r.wr(0x0B, 0x22);  // AIE only
  r.rd(0x0C);
  r.advance(3 * kSec);
  CHECK_FALSE(r.irq8());
  r.advance(kSec);
  CHECK(r.irq8());
  CHECK((r.rd(0x0C) & 0xA0) == 0xA0);  // IRQF | AF
}

TEST_CASE("rtc: NMI mask bit of port 0x70") {
  Rig r;
  r.m->ports().out(0x70, 0x80 | 0x0B, 1);
  CHECK(r.b.rtc->nmi_masked());
  CHECK(r.m->ports().in(0x71, 1) == 0x02);
  r.m->ports().out(0x70, 0x0B, 1);
  CHECK_FALSE(r.b.rtc->nmi_masked());
}

TEST_CASE("rtc: CMOS memory sizes, equipment and checksum") {
  SUBCASE("256 MiB") {
    Rig r;
    CHECK((r.rd(0x15) | r.rd(0x16) << 8) == 640);
    CHECK((r.rd(0x17) | r.rd(0x18) << 8) == 0xFFFF);  // capped
    CHECK((r.rd(0x30) | r.rd(0x31) << 8) == 0xFFFF);
    CHECK((r.rd(0x34) | r.rd(0x35) << 8) == (240u << 20) / 65536);
    CHECK((r.rd(0x5B) | r.rd(0x5C) << 8 | r.rd(0x5D) << 16) == 0);
    CHECK(r.rd(0x0F) == 0);
    CHECK(r.rd(0x10) == 0);
    CHECK(r.rd(0x5F) == 0);
    unsigned sum = 0;
    for (unsigned i = 0x10; i <= 0x2D; ++i) sum += r.rd(static_cast<uint8_t>(i));
    CHECK((r.rd(0x2E) << 8 | r.rd(0x2F)) == sum);
  }
  SUBCASE("16 MiB: 15 MiB above 1 MiB, nothing above 16 MiB") {
    Rig r(16ull << 20);
    CHECK((r.rd(0x17) | r.rd(0x18) << 8) == 15 * 1024);
    CHECK((r.rd(0x34) | r.rd(0x35) << 8) == 0);
  }
  SUBCASE("4 GiB: RAM above 4 GiB in 64 KiB units") {
    Rig r(4ull << 30);
    CHECK((r.rd(0x5B) | r.rd(0x5C) << 8 | r.rd(0x5D) << 16) == ((4ull << 30) - 0xE0000000ull) / 65536);
    CHECK((r.rd(0x34) | r.rd(0x35) << 8) == (0xE0000000u - (16u << 20)) / 65536);
  }
}

TEST_CASE("rtc: the clock keeps running across a machine reset; RAM survives") {
  Rig r;
  r.wr(0x40, 0x5A);
  r.wr(0x0B, 0x72);  // PIE | AIE | UIE
  r.advance(90 * kSec);
  r.m->reset();
  CHECK(r.rd(0x02) == 0x01);
  CHECK(r.rd(0x00) == 0x30);
  CHECK(r.rd(0x40) == 0x5A);
  CHECK(r.rd(0x0B) == 0x02);  // RESET clears PIE, AIE, UIE
}
