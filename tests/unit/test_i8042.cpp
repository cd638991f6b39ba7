// machine/devices/i8042 and reset_a20: the keyboard controller's commands, the
// keyboard's answers, the aux port without a mouse, IRQ 1/12, the A20 gate and
// the reset lines (i8042 output port, port 0x92, port 0xCF9).
#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "machine/board.h"
#include "machine/devices/i8042.h"
#include "machine/machine.h"
#include "test_machine.h"

using namespace kestrel::machine;

namespace {

struct Rig {
  std::unique_ptr<Machine> m;
  BoardDevices b;
  Rig() {
    m = kestrel::test::new_machine(16ull << 20);
    b = build_basic_board(*m);
  }
  uint8_t status() { return static_cast<uint8_t>(m->ports().in(0x64, 1)); }
  uint8_t data() { return static_cast<uint8_t>(m->ports().in(0x60, 1)); }
  void cmd(uint8_t c) { m->ports().out(0x64, c, 1); }
  void out(uint8_t v) { m->ports().out(0x60, v, 1); }
  // Reads the output buffer until it is empty.
  std::vector<uint8_t> drain() {
    std::vector<uint8_t> got;
    while (status() & I8042::kStOutFull) got.push_back(data());
    return got;
  }
  bool irq1() { return m->isa_irq(1).level(); }
  bool irq12() { return m->isa_irq(12).level(); }
};

using Bytes = std::vector<uint8_t>;

}  // namespace

TEST_CASE("i8042: self-test, interface tests, status") {
  Rig r;
  CHECK((r.status() & (I8042::kStOutFull | I8042::kStInFull)) == 0);
  CHECK((r.status() & I8042::kStUnlocked) != 0);  // no keylock
  r.cmd(0xAD);  // keyboard off: IRQ 1 would otherwise announce the answers
  r.cmd(0xAA);
  CHECK((r.status() & I8042::kStCommand) != 0);
  CHECK(r.drain() == Bytes{0x55});
  CHECK((r.status() & I8042::kStSys) != 0);
  r.cmd(0xAB);
  CHECK(r.drain() == Bytes{0x00});
  r.cmd(0xA9);
  CHECK(r.drain() == Bytes{0x00});
  r.out(0x00);
  CHECK((r.status() & I8042::kStCommand) == 0);
}

TEST_CASE("i8042: command byte read and write; keyboard and aux enable bits") {
  Rig r;
  r.cmd(0x20);
  const uint8_t ctr = r.drain().at(0);
  CHECK(ctr == (I8042::kCtrKbdInt | I8042::kCtrSys | I8042::kCtrAuxDis | I8042::kCtrXlate));
  r.cmd(0x60);
  r.out(0x44);
  CHECK(r.b.i8042->command_byte() == 0x44);
  r.cmd(0xAD);
  r.cmd(0xA8);
  r.cmd(0x20);
  CHECK(r.drain() == Bytes{0x54});  // keyboard disabled, aux enabled
  r.cmd(0xAE);
  r.cmd(0xA7);
  r.cmd(0x20);
  CHECK(r.drain() == Bytes{0x64});
}

TEST_CASE("i8042: keyboard answers, IRQ 1 follows the output buffer") {
  Rig r;
  r.cmd(0x60);
  r.out(0x41);  // KBDINT | XLATE, keyboard enabled
  CHECK_FALSE(r.irq1());
  r.out(0xFF);  // reset
  CHECK(r.irq1());
  CHECK(r.data() == 0xFA);
  CHECK(r.irq1());  // the next byte raises it again
  CHECK(r.data() == 0xAA);
  CHECK_FALSE(r.irq1());
  r.out(0xF2);  // identify, through the translator
  CHECK(r.drain() == Bytes{0xFA, 0xAB, 0x41});
  r.cmd(0x60);
  r.out(0x01);  // no translation
  r.out(0xF2);
  CHECK(r.drain() == Bytes{0xFA, 0xAB, 0x83});
  r.out(0xED);  // LEDs + argument
  r.out(0x07);
  CHECK(r.drain() == Bytes{0xFA, 0xFA});
  r.out(0xF0);  // scan-code set query
  r.out(0x00);
  CHECK(r.drain() == Bytes{0xFA, 0xFA, 0x02});
  r.out(0xEE);
  CHECK(r.drain() == Bytes{0xEE});
  r.out(0xF4);
  CHECK(r.drain() == Bytes{0xFA});
  r.out(0x12);  // not a command
  CHECK(r.drain() == Bytes{0xFE});
}

TEST_CASE("i8042: a disabled keyboard holds its bytes; controller answers pass") {
  Rig r;
  r.cmd(0x60);
  r.out(0x00);  // interrupts off
  r.b.i8042->key_input(0x1E);
  r.cmd(0xAD);
  CHECK((r.status() & I8042::kStOutFull) == 0);
  r.cmd(0x20);
  CHECK(r.drain() == Bytes{0x10});
  r.cmd(0xAE);
  CHECK(r.drain() == Bytes{0x1E});
}

TEST_CASE("i8042: aux port loopback, IRQ 12, and no mouse behind it") {
  Rig r;
  r.cmd(0x60);
  r.out(0x02);  // AUXINT, both ports enabled
  r.cmd(0xD3);
  r.out(0x5A);
  CHECK((r.status() & (I8042::kStOutFull | I8042::kStAuxData)) == (I8042::kStOutFull | I8042::kStAuxData));
  CHECK(r.irq12());
  CHECK_FALSE(r.irq1());
  CHECK(r.data() == 0x5A);
  CHECK_FALSE(r.irq12());
  r.cmd(0xD4);
  r.out(0xFF);  // reset the mouse: nobody answers
  const uint8_t st = r.status();
  CHECK((st & I8042::kStAuxData) != 0);
  CHECK((st & I8042::kStTimeout) != 0);
  CHECK(r.data() == 0xFE);
  r.cmd(0xD2);
  r.out(0x33);  // as if from the keyboard
  CHECK((r.status() & I8042::kStAuxData) == 0);
  CHECK(r.drain() == Bytes{0x33});
}

TEST_CASE("i8042: loopback writes pass a disabled aux port (Linux's AUX_LOOP test)") {
  Rig r;
  r.cmd(0x20);
  CHECK((r.drain().at(0) & I8042::kCtrAuxDis) != 0);
  r.cmd(0xD3);
  r.out(0x5A);
  CHECK((r.status() & (I8042::kStOutFull | I8042::kStAuxData)) == (I8042::kStOutFull | I8042::kStAuxData));
  CHECK(r.data() == 0x5A);
}

TEST_CASE("i8042: output port A20 and reset") {
  Rig r;
  CHECK(r.m->bus().a20());
  r.cmd(0xD0);
  CHECK((r.drain().at(0) & 0x03) == 0x03);
  r.cmd(0xD1);
  r.out(0x01);  // A20 off, reset line inactive
  CHECK_FALSE(r.m->bus().a20());
  CHECK(r.m->cpu().a20_enabled == 0);
  CHECK_FALSE(r.m->reset_requested());
  r.cmd(0xDF);
  CHECK(r.m->bus().a20());
  r.cmd(0xD1);
  r.out(0x02);  // bit 0 clear: reset
  CHECK(r.m->reset_requested());
}

TEST_CASE("i8042: command 0xFE pulses the reset line, 0xFF does nothing") {
  Rig r;
  r.cmd(0xFF);
  CHECK_FALSE(r.m->reset_requested());
  r.cmd(0xFE);
  CHECK(r.m->reset_requested());
  r.m->reset();
  CHECK_FALSE(r.m->reset_requested());
}

TEST_CASE("port 0x92: fast A20 and reset") {
  Rig r;
  CHECK(r.m->ports().in(0x92, 1) == 0x02);
  r.m->ports().out(0x92, 0x00, 1);
  CHECK_FALSE(r.m->bus().a20());
  CHECK(r.m->ports().in(0x92, 1) == 0x00);
  r.m->ports().out(0x92, 0x02, 1);
  CHECK(r.m->bus().a20());
  CHECK_FALSE(r.m->reset_requested());
  r.m->ports().out(0x92, 0x03, 1);
  CHECK(r.m->reset_requested());
  r.m->reset();
  CHECK(r.m->bus().a20());  // on again after reset
}

TEST_CASE("port 0xCF9: reset control") {
  Rig r;
  r.m->ports().out(0xCF9, 0x02, 1);
  CHECK(r.m->ports().in(0xCF9, 1) == 0x02);
  CHECK_FALSE(r.m->reset_requested());
  r.m->ports().out(0xCF9, 0x06, 1);
  CHECK(r.m->reset_requested());
}

TEST_CASE("i8042: key events in set 2, translated to set 1 by the controller") {
  Rig r;
  using kestrel::machine::ps2::Key;
  // After POST the controller translates: 'A' (set 2 1C, F0 1C) reads as 1E, 9E.
  r.b.i8042->key_event(Key{0x1E, false}, true);
  r.b.i8042->key_event(Key{0x1E, false}, false);
  CHECK(r.drain() == Bytes{0x1E, 0x9E});
  // An extended key keeps its E0 prefix: Up is E0 75 / E0 F0 75 -> E0 48 / E0 C8.
  r.b.i8042->key_event(Key{0x48, true}, true);
  r.b.i8042->key_event(Key{0x48, true}, false);
  CHECK(r.drain() == Bytes{0xE0, 0x48, 0xE0, 0xC8});
  // F7 is set 2's 0x83, the one code above 0x7F the translator maps.
  r.b.i8042->key_event(Key{0x41, false}, true);
  CHECK(r.drain() == Bytes{0x41});
  // Without translation the guest sees set 2.
  r.cmd(0x60);
  r.out(0x01);
  r.b.i8042->key_event(Key{0x1E, false}, true);
  r.b.i8042->key_event(Key{0x1E, false}, false);
  CHECK(r.drain() == Bytes{0x1C, 0xF0, 0x1C});
  // Set 1 selected on the keyboard: its own codes.
  r.out(0xF0);
  r.out(0x01);
  CHECK(r.drain() == Bytes{0xFA, 0xFA});
  r.b.i8042->key_event(Key{0x1C, false}, false);
  CHECK(r.drain() == Bytes{0x9C});
  r.out(0xF0);
  r.out(0x00);
  CHECK(r.drain() == Bytes{0xFA, 0xFA, 0x01});
  CHECK(r.b.i8042->scan_set() == 1);
  // Scanning disabled (0xF5): keys are dropped; 0xF4 enables them again.
  r.out(0xF5);
  CHECK(r.drain() == Bytes{0xFA});
  r.b.i8042->key_event(Key{0x1E, false}, true);
  CHECK(r.drain().empty());
  r.out(0xF4);
  CHECK(r.drain() == Bytes{0xFA});
  // The LEDs are kept; reset (0xFF) restores set 2 and clears them.
  r.out(0xED);
  r.out(0x05);
  CHECK(r.drain() == Bytes{0xFA, 0xFA});
  CHECK(r.b.i8042->leds() == 0x05);
  r.out(0xFF);
  CHECK(r.drain() == Bytes{0xFA, 0xAA});
  CHECK(r.b.i8042->leds() == 0);
  CHECK(r.b.i8042->scan_set() == 2);
  // With translation on again, the scan-set answer goes through the translator.
  r.cmd(0x60);
  r.out(0x41);
  r.out(0xF0);
  r.out(0x00);
  CHECK(r.drain() == Bytes{0xFA, 0xFA, 0x41});
}
