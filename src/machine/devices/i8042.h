// The PC/AT keyboard controller (an Intel 8042 running IBM's firmware, ports
// 0x60/0x64) with a PS/2 keyboard on its first port and an empty auxiliary port.
//
// Enough for firmware and Linux's i8042 and atkbd drivers to probe without
// hanging or complaining: the controller commands (command byte, self-test and
// interface tests, enable/disable of both ports, the output port with the A20
// gate and the reset line, 0xD2/0xD3 loopback writes, pulse-output commands), a
// keyboard that acknowledges its commands (reset answers 0xAA, identify answers
// the MF2 id), and an auxiliary port that passes its loopback and interface tests
// but has no mouse behind it: bytes sent to it (0xD4) come back as 0xFE with the
// time-out bit, as on a PS/2 machine with nothing plugged in.
//
// The keyboard sends scan code set 2 by default (set 1 when selected with 0xF0);
// with the command byte's translate bit (set after POST) the controller turns
// every byte from the keyboard into set 1 through IBM's translation table
// (ps2_scancodes.h), as the 8042 does: key codes and command answers alike.
// Host keys arrive through key_event(); a keyboard with scanning disabled (0xF5)
// drops them. LED and typematic settings are kept (and acknowledged).
//
// The controller has one output buffer; bytes from the controller, the keyboard
// and the aux port queue behind it in arrival order. IRQ 1 (keyboard) or IRQ 12
// (aux) follows "output buffer full with a byte of that source, and its interrupt
// enabled in the command byte", as the 8042's OBF/MOBF pins do.
//
// References: IBM PC/AT Technical Reference, "Keyboard Controller"; IBM PS/2
// Hardware Interface Technical Reference, "Keyboard/Auxiliary Device Controller";
// Linux drivers/input/serio/i8042.[ch] and libps2 for what the driver checks.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>

#include "machine/device.h"
#include "machine/devices/ps2_scancodes.h"
#include "machine/irq.h"
#include "machine/port_bus.h"

namespace kestrel::machine {

class Machine;

class I8042 final : public Device, public PortDevice {
 public:
  static constexpr uint16_t kDataPort = 0x60;
  static constexpr uint16_t kCommandPort = 0x64;

  // Status register bits.
  static constexpr uint8_t kStOutFull = 0x01, kStInFull = 0x02, kStSys = 0x04, kStCommand = 0x08,
                           kStUnlocked = 0x10, kStAuxData = 0x20, kStTimeout = 0x40, kStParity = 0x80;
  // Command byte ("CTR") bits.
  static constexpr uint8_t kCtrKbdInt = 0x01, kCtrAuxInt = 0x02, kCtrSys = 0x04, kCtrKbdDis = 0x10,
                           kCtrAuxDis = 0x20, kCtrXlate = 0x40;
  // Output port bits.
  static constexpr uint8_t kOutReset = 0x01, kOutA20 = 0x02;

  // `kbd_irq` and `aux_irq` are ISA IRQ 1 and 12.
  I8042(Machine& m, IrqLine* kbd_irq, IrqLine* aux_irq);
  void attach(PortBus& ports);

  const char* name() const override { return "i8042"; }
  void reset() override;
  void save(StateWriter& w) const override;
  void load(StateReader& r) override;

  uint32_t port_in(uint16_t port, unsigned size) override;
  void port_out(uint16_t port, uint32_t value, unsigned size) override;

  // A byte from the keyboard as it sends it (translated if the command byte says so).
  void key_input(uint8_t code) { push(code, kFromKbd); }
  // A key pressed or released: the keyboard sends its codes in the current scan
  // code set, unless scanning is disabled.
  void key_event(ps2::Key key, bool pressed);
  // Bytes from the keyboard not yet read by the guest (the host paces its keys by this).
  bool keyboard_bytes_waiting() const;
  uint8_t leds() const { return kbd_leds_; }
  uint8_t scan_set() const { return kbd_scan_set_; }

  uint8_t command_byte() const { return ctr_; }
  uint8_t status() const;

 private:
  enum Source : uint8_t { kFromCtl = 0, kFromKbd = 1, kFromAux = 2 };
  struct Byte {
    uint8_t value;
    Source src;
    bool timeout;
    bool forced;  // written by the guest through 0xD2/0xD3: not held back by a disabled port
  };

  void controller_command(uint8_t cmd);
  void write_data(uint8_t v);
  void keyboard_command(uint8_t v);
  void set_output_port(uint8_t v);
  void push(uint8_t v, Source src, bool timeout = false, bool forced = false);
  void update_irqs();
  bool deliverable(const Byte& b) const;

  Machine& m_;
  IrqLine* kbd_irq_;
  IrqLine* aux_irq_;

  uint8_t ctr_ = 0;
  uint8_t out_port_ = 0;
  uint8_t last_was_command_ = 0;  // status bit 3: the last write went to port 0x64
  uint8_t pending_cmd_ = 0;       // controller command waiting for its data byte, or 0
  uint8_t kbd_pending_cmd_ = 0;   // keyboard command waiting for its argument, or 0
  uint8_t kbd_scanning_ = 1;
  uint8_t kbd_scan_set_ = 2;
  uint8_t kbd_leds_ = 0;          // 0xED: bit 0 Scroll, 1 Num, 2 Caps Lock
  uint8_t kbd_typematic_ = 0x2B;  // 0xF3: 10.9 characters/s after 500 ms (the default)
  uint8_t xlate_break_ = 0;       // the translator swallowed an 0xF0: the next byte is a break
  uint8_t ram_[32] = {};          // controller RAM 0x20-0x3F (byte 0 is the command byte)
  uint8_t last_read_ = 0;         // an empty output buffer reads the last byte again
  std::deque<Byte> out_;          // out_.front() is the output buffer when deliverable
};

}  // namespace kestrel::machine
