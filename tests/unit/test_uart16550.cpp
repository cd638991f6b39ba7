// machine/devices/uart16550: the receive FIFO's trigger levels, the character
// time-out interrupt on the virtual clock, FIFO clearing, and the IRQ line as the
// board wires it (COM1 on IRQ 4, COM2 on IRQ 3, gated by MCR.OUT2).
#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <string>

#include "machine/board.h"
#include "machine/devices/uart16550.h"
#include "machine/machine.h"
#include "test_machine.h"

using namespace kestrel::machine;

namespace {

struct Rig {
  std::unique_ptr<Machine> m;
  BoardDevices b;
  uint16_t base;
  explicit Rig(uint16_t base_port = Uart16550::kCom1) : base(base_port) {
    m = kestrel::test::new_machine(16ull << 20);
    b = build_basic_board(*m);
  }
  Uart16550& uart() { return base == Uart16550::kCom1 ? *b.com1 : *b.com2; }
  uint8_t rd(unsigned reg) { return static_cast<uint8_t>(m->ports().in(static_cast<uint16_t>(base + reg), 1)); }
  void wr(unsigned reg, uint8_t v) { m->ports().out(static_cast<uint16_t>(base + reg), v, 1); }
  void advance(uint64_t ns) {
    m->cpu().icount += ns;
    m->timers().run_expired(m->now_ns());
  }
  // 115200 baud, 8N1: a character takes 10 bits = 86.8 us; the time-out is 4 of them.
  void setup(uint8_t fcr) {
    wr(3, 0x80);
    wr(0, 1);
    wr(1, 0);
    wr(3, 0x03);
    wr(2, fcr);
    wr(4, 0x08);  // OUT2: interrupts reach the PIC
    wr(1, 0x01);  // received-data interrupt
  }
};

constexpr uint64_t kTimeoutNs = 4 * 10 * 1'000'000'000ull / 115200;

}  // namespace

TEST_CASE("uart: FIFO trigger level and character time-out") {
  Rig r;
  r.setup(0x81);  // FIFO on, trigger 8
  r.uart().push_input("abc");
  CHECK(r.rd(2) == 0xC1);  // below the trigger: nothing yet
  CHECK_FALSE(r.m->isa_irq(4).level());
  CHECK((r.rd(5) & 0x01) == 0x01);  // but the data is there
  r.advance(kTimeoutNs + 1000);
  CHECK(r.m->isa_irq(4).level());
  CHECK(r.rd(2) == 0xCC);  // character time-out
  CHECK(r.rd(0) == 'a');   // reading restarts the time-out
  CHECK(r.rd(2) == 0xC1);
  CHECK_FALSE(r.m->isa_irq(4).level());
  r.advance(kTimeoutNs + 1000);
  CHECK(r.rd(2) == 0xCC);
  CHECK(r.rd(0) == 'b');
  CHECK(r.rd(0) == 'c');
  CHECK(r.rd(2) == 0xC1);
  r.uart().push_input("0123456789");  // 10 >= 8: at once
  CHECK(r.rd(2) == 0xC4);
  CHECK(r.m->isa_irq(4).level());
}

TEST_CASE("uart: trigger levels 1, 4 and 14") {
  Rig r;
  r.setup(0x01);
  r.uart().push_input("x");
  CHECK(r.rd(2) == 0xC4);
  r.rd(0);
  r.wr(2, 0x41);  // trigger 4
  r.uart().push_input("xyz");
  CHECK(r.rd(2) == 0xC1);
  r.uart().push_input("w");
  CHECK(r.rd(2) == 0xC4);
  r.wr(2, 0xC3);  // trigger 14, clear the receive FIFO
  CHECK((r.rd(5) & 0x01) == 0);
  r.uart().push_input(std::string(13, 'q'));
  CHECK(r.rd(2) == 0xC1);
  r.uart().push_input("q");
  CHECK(r.rd(2) == 0xC4);
}

TEST_CASE("uart: without FIFOs any byte interrupts at once") {
  Rig r;
  r.setup(0x00);
  r.uart().push_input("z");
  CHECK(r.rd(2) == 0x04);
  CHECK(r.m->isa_irq(4).level());
  CHECK(r.rd(0) == 'z');
  CHECK(r.rd(2) == 0x01);
}

TEST_CASE("uart: clearing the receive FIFO drops 16 bytes, not what is still on the line") {
  Rig r;
  r.setup(0x01);
  r.uart().push_input(std::string(20, 'a') + "b");
  r.wr(2, 0x03);
  CHECK(r.uart().input_pending() == 5);
}

TEST_CASE("uart: COM2 interrupts on IRQ 3, gated by OUT2") {
  Rig r(Uart16550::kCom2);
  r.setup(0x00);
  r.uart().push_input("k");
  CHECK(r.m->isa_irq(3).level());
  r.wr(4, 0x00);
  CHECK_FALSE(r.m->isa_irq(3).level());
}
