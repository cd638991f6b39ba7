#include "machine/devices/i8042.h"

#include <fmt/format.h>

#include "machine/machine.h"

namespace kestrel::machine {

namespace {

// Controller commands (port 0x64).
constexpr uint8_t kCmdReadCtr = 0x20, kCmdWriteCtr = 0x60, kCmdVersion = 0xA1, kCmdAuxDisable = 0xA7,
                  kCmdAuxEnable = 0xA8, kCmdAuxTest = 0xA9, kCmdSelfTest = 0xAA, kCmdKbdTest = 0xAB,
                  kCmdKbdDisable = 0xAD, kCmdKbdEnable = 0xAE, kCmdReadInput = 0xC0, kCmdReadOutput = 0xD0,
                  kCmdWriteOutput = 0xD1, kCmdWriteKbdBuf = 0xD2, kCmdWriteAuxBuf = 0xD3, kCmdWriteAux = 0xD4,
                  kCmdA20Off = 0xDD, kCmdA20On = 0xDF, kCmdReadTest = 0xE0;

// Keyboard commands and answers.
constexpr uint8_t kKbdAck = 0xFA, kKbdResend = 0xFE, kKbdSelfTestOk = 0xAA, kKbdEcho = 0xEE;

// The output port after reset: reset line inactive (high), A20 on, both clock and
// data lines idle high (bits 4-7 reflect the buffers; computed on read).
constexpr uint8_t kOutPortReset = 0x01 | 0x02;

// After the BIOS's POST: keyboard interrupt on, system flag, scan-code translation;
// the aux port disabled until a driver asks for it.
constexpr uint8_t kCtrAfterPost = 0x01 | 0x04 | 0x20 | 0x40;

}  // namespace

I8042::I8042(Machine& m, IrqLine* kbd_irq, IrqLine* aux_irq) : m_(m), kbd_irq_(kbd_irq), aux_irq_(aux_irq) {
  reset();
}

void I8042::attach(PortBus& ports) {
  ports.map(kDataPort, 1, this);
  ports.map(kCommandPort, 1, this);
}

void I8042::reset() {
  ctr_ = kCtrAfterPost;
  out_port_ = kOutPortReset;
  last_was_command_ = 0;
  pending_cmd_ = 0;
  kbd_pending_cmd_ = 0;
  kbd_scanning_ = 1;
  kbd_scan_set_ = 2;
  kbd_leds_ = 0;
  kbd_typematic_ = 0x2B;
  xlate_break_ = 0;
  for (auto& b : ram_) b = 0;
  last_read_ = 0;
  out_.clear();
  update_irqs();
}

void I8042::save(StateWriter& w) const {
  w.begin(name());
  w.put(ctr_); w.put(out_port_); w.put(last_was_command_); w.put(pending_cmd_); w.put(kbd_pending_cmd_);
  w.put(kbd_scanning_); w.put(kbd_scan_set_); w.put(kbd_leds_); w.put(kbd_typematic_); w.put(xlate_break_);
  w.put_bytes(ram_, sizeof ram_);
  w.put(last_read_);
  w.put<uint32_t>(static_cast<uint32_t>(out_.size()));
  for (const Byte& b : out_) w.put(b);
}

void I8042::load(StateReader& r) {
  r.begin(name());
  r.get(ctr_); r.get(out_port_); r.get(last_was_command_); r.get(pending_cmd_); r.get(kbd_pending_cmd_);
  r.get(kbd_scanning_); r.get(kbd_scan_set_); r.get(kbd_leds_); r.get(kbd_typematic_); r.get(xlate_break_);
  r.get_bytes(ram_, sizeof ram_);
  r.get(last_read_);
  const uint32_t n = r.get<uint32_t>();
  if (n > 4096) throw std::runtime_error("snapshot: i8042 output queue too long");
  out_.clear();
  for (uint32_t i = 0; i < n; ++i) out_.push_back(r.get<Byte>());
  update_irqs();
}

bool I8042::deliverable(const Byte& b) const {
  // A disabled port holds its device's bytes back (its clock line is held low); the
  // controller's own bytes and the loopback writes (0xD2/0xD3) never wait.
  if (b.forced) return true;
  if (b.src == kFromKbd) return !(ctr_ & kCtrKbdDis);
  if (b.src == kFromAux) return !(ctr_ & kCtrAuxDis);
  return true;
}

uint8_t I8042::status() const {
  uint8_t st = kStUnlocked | (last_was_command_ ? kStCommand : 0) | ((ctr_ & kCtrSys) ? kStSys : 0);
  for (const Byte& b : out_) {
    if (!deliverable(b)) continue;
    st |= kStOutFull;
    if (b.src == kFromAux) st |= kStAuxData;
    if (b.timeout) st |= kStTimeout;
    break;
  }
  return st;
}

uint32_t I8042::port_in(uint16_t port, unsigned) {
  if (port == kCommandPort) return status();
  for (auto it = out_.begin(); it != out_.end(); ++it) {
    if (!deliverable(*it)) continue;
    const uint8_t v = it->value;
    last_read_ = v;
    out_.erase(it);
    // The IRQ output drops with OBF; the next byte raises it again (a new edge).
    if (kbd_irq_) kbd_irq_->lower();
    if (aux_irq_) aux_irq_->lower();
    update_irqs();
    return v;
  }
  return last_read_;
}

void I8042::port_out(uint16_t port, uint32_t value, unsigned) {
  const uint8_t v = static_cast<uint8_t>(value);
  if (port == kCommandPort) {
    last_was_command_ = 1;
    controller_command(v);
  } else {
    last_was_command_ = 0;
    write_data(v);
  }
  update_irqs();
}

void I8042::push(uint8_t v, Source src, bool timeout, bool forced) {
  if (out_.size() >= 256) return;  // a guest that never reads: drop, as a full keyboard buffer does
  if (src == kFromKbd && !forced && (ctr_ & kCtrXlate)) {
    // Set 2 -> set 1: a break prefix is swallowed and marks the next byte.
    if (v == 0xF0) {
      xlate_break_ = 1;
      return;
    }
    v = static_cast<uint8_t>(ps2::translate_set2(v) | (xlate_break_ ? 0x80 : 0));
    xlate_break_ = 0;
  }
  out_.push_back(Byte{v, src, timeout, forced});
  update_irqs();
}

void I8042::key_event(ps2::Key key, bool pressed) {
  if (!kbd_scanning_) return;
  for (uint8_t b : ps2::key_bytes(key, pressed, kbd_scan_set_ == 1 ? 1 : 2)) push(b, kFromKbd);
}

bool I8042::keyboard_bytes_waiting() const {
  for (const Byte& b : out_)
    if (b.src == kFromKbd) return true;
  return false;
}

void I8042::update_irqs() {
  bool kbd = false, aux = false;
  for (const Byte& b : out_) {
    if (!deliverable(b)) continue;
    if (b.src == kFromAux) aux = (ctr_ & kCtrAuxInt) != 0;
    else kbd = (ctr_ & kCtrKbdInt) != 0;
    break;
  }
  if (kbd_irq_) kbd_irq_->set(kbd);
  if (aux_irq_) aux_irq_->set(aux);
}

void I8042::set_output_port(uint8_t v) {
  out_port_ = v;
  m_.set_a20((v & kOutA20) != 0);
  // The reset line is active low: writing bit 0 clear resets the CPU.
  if (!(v & kOutReset))
    m_.request_reboot("the guest reset the machine through the keyboard controller (output port bit 0)");
}

void I8042::controller_command(uint8_t cmd) {
  pending_cmd_ = 0;
  if (cmd >= 0x20 && cmd <= 0x3F) {  // read controller RAM; byte 0 is the command byte
    push(cmd == kCmdReadCtr ? ctr_ : ram_[cmd - 0x20], kFromCtl);
    return;
  }
  if (cmd >= 0x60 && cmd <= 0x7F) {  // write controller RAM: the byte follows on port 0x60
    pending_cmd_ = cmd;
    return;
  }
  if (cmd >= 0xF0) {
    // Pulse output port bits 0-3 low for 6 us where the command's bit is clear:
    // bit 0 is the reset line (0xFE is the classic reboot).
    if (!(cmd & 0x01))
      m_.request_reboot("the guest reset the machine through the keyboard controller (command 0xfe)");
    return;
  }
  switch (cmd) {
    case kCmdVersion: push(0x00, kFromCtl); break;
    case kCmdAuxDisable: ctr_ |= kCtrAuxDis; break;
    case kCmdAuxEnable: ctr_ &= ~kCtrAuxDis; break;
    case kCmdAuxTest: push(0x00, kFromCtl); break;  // 0: no clock or data line stuck
    case kCmdSelfTest:
      // Passes; the controller comes out of its test as after reset, with the
      // system flag set (as IBM's firmware and QEMU do).
      ctr_ |= kCtrSys;
      push(0x55, kFromCtl);
      break;
    case kCmdKbdTest: push(0x00, kFromCtl); break;
    case kCmdKbdDisable: ctr_ |= kCtrKbdDis; break;
    case kCmdKbdEnable: ctr_ &= ~kCtrKbdDis; break;
    case kCmdReadInput: push(0xBF, kFromCtl); break;  // bit 7: keyboard not inhibited; bit 6: colour display
    case kCmdReadOutput: {
      uint8_t v = out_port_ & 0x0F;
      const uint8_t st = status();
      if ((st & kStOutFull) && !(st & kStAuxData)) v |= 0x10;  // keyboard OBF
      if ((st & kStOutFull) && (st & kStAuxData)) v |= 0x20;   // aux OBF
      v |= 0xC0;                                                // keyboard clock and data idle high
      push(v, kFromCtl);
      break;
    }
    case kCmdWriteOutput:
    case kCmdWriteKbdBuf:
    case kCmdWriteAuxBuf:
    case kCmdWriteAux:
      pending_cmd_ = cmd;
      break;
    case kCmdA20Off: m_.set_a20(false); out_port_ &= ~kOutA20; break;
    case kCmdA20On: m_.set_a20(true); out_port_ |= kOutA20; break;
    case kCmdReadTest: push(0x00, kFromCtl); break;
    default:
      m_.report_once(fmt::format("i8042-cmd-{:02x}", cmd),
                     fmt::format("i8042: unknown controller command 0x{:02x} ignored", cmd));
      break;
  }
}

void I8042::write_data(uint8_t v) {
  const uint8_t cmd = pending_cmd_;
  pending_cmd_ = 0;
  if (cmd >= 0x60 && cmd <= 0x7F) {
    if (cmd == kCmdWriteCtr) ctr_ = v;
    else ram_[cmd - 0x60] = v;
    return;
  }
  switch (cmd) {
    case kCmdWriteOutput: set_output_port(v); return;
    case kCmdWriteKbdBuf: push(v, kFromKbd, false, true); return;
    case kCmdWriteAuxBuf: push(v, kFromAux, false, true); return;
    case kCmdWriteAux:
      // Nothing is plugged into the aux port: the transmission times out.
      ctr_ &= ~kCtrAuxDis;  // sending to the device enables its clock line
      push(kKbdResend, kFromAux, true);
      return;
    default: break;
  }
  // No controller command pending: the byte goes to the keyboard, which also
  // re-enables the keyboard interface.
  ctr_ &= ~kCtrKbdDis;
  keyboard_command(v);
}

void I8042::keyboard_command(uint8_t v) {
  if (kbd_pending_cmd_) {
    const uint8_t cmd = kbd_pending_cmd_;
    kbd_pending_cmd_ = 0;
    if (cmd == 0xF0) {  // select scan-code set: 0 asks for the current one
      push(kKbdAck, kFromKbd);
      if (v == 0) {
        // The answer goes through the translator too: set 2 reads as 0x41 there.
        push(kbd_scan_set_, kFromKbd);
      } else if (v <= 3) {
        kbd_scan_set_ = v;
      }
      return;
    }
    if (cmd == 0xED) kbd_leds_ = v & 0x07;
    else kbd_typematic_ = v & 0x7F;
    push(kKbdAck, kFromKbd);
    return;
  }
  switch (v) {
    case 0xED:  // set LEDs
    case 0xF3:  // typematic rate and delay
    case 0xF0:  // scan-code set
      kbd_pending_cmd_ = v;
      push(kKbdAck, kFromKbd);
      break;
    case 0xEE: push(kKbdEcho, kFromKbd); break;
    case 0xF2:  // identify: an MF2 keyboard, 0xAB 0x83 (0xAB 0x41 through the translator)
      push(kKbdAck, kFromKbd);
      push(0xAB, kFromKbd);
      push(0x83, kFromKbd);
      break;
    case 0xF4: kbd_scanning_ = 1; push(kKbdAck, kFromKbd); break;
    case 0xF5:  // disable scanning and restore the defaults
      kbd_scanning_ = 0;
      kbd_typematic_ = 0x2B;
      push(kKbdAck, kFromKbd);
      break;
    case 0xF6:  // restore the defaults
      kbd_scanning_ = 1;
      kbd_typematic_ = 0x2B;
      push(kKbdAck, kFromKbd);
      break;
    case 0xF7: case 0xF8: case 0xF9: case 0xFA: case 0xFB: case 0xFC: case 0xFD:
      push(kKbdAck, kFromKbd);
      break;
    case 0xFE: push(kKbdAck, kFromKbd); break;  // resend: nothing was lost
    case 0xFF:  // reset: acknowledge, self-test passed, defaults
      kbd_scanning_ = 1;
      kbd_scan_set_ = 2;
      kbd_leds_ = 0;
      kbd_typematic_ = 0x2B;
      push(kKbdAck, kFromKbd);
      push(kKbdSelfTestOk, kFromKbd);
      break;
    default: push(kKbdResend, kFromKbd); break;  // not a command: ask again
  }
}

}  // namespace kestrel::machine
