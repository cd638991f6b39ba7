// A National Semiconductor 16550A UART (the PC's COM ports), enough for a
// polled serial console in both directions and for Linux's 8250 probe.
//
// Transmit has no baud-rate timing: a byte written to THR is sent at once, so
// THR and the transmitter are always empty (LSR bits 5 and 6). Received bytes
// come from push_input() (the host side) or from the transmitter in loopback
// mode into a queue that stands for the serial line: the chip's receive FIFO is
// its first 16 bytes (1 with the FIFOs off), refilled as the guest reads, so the
// host side never overruns it (flow control at the host end). With the FIFOs on,
// the received-data interrupt waits for the trigger level FCR selects (1, 4, 8
// or 14 bytes), and fewer bytes raise the character time-out interrupt (IIR 0xC)
// once no byte has arrived or been read for four character times at the
// programmed divisor and frame (data sheet §8.6), timed on the virtual clock.
// The interrupt logic (IER, IIR priority, THRE pending, OUT2 gating on a PC)
// follows the data sheet; the board wires irq_level() to the ISA IRQ line.
//
// Reference: the PC16550D data sheet (National Semiconductor, 1995), tables II-IV.
#pragma once

#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <string>
#include <string_view>

#include "machine/device.h"
#include "machine/port_bus.h"

namespace kestrel::machine {

class Machine;

class Uart16550 final : public Device, public PortDevice {
 public:
  static constexpr uint16_t kCom1 = 0x3F8;
  static constexpr uint16_t kCom2 = 0x2F8;
  // Host-side input beyond this is dropped with an overrun error in LSR.
  static constexpr size_t kInputCapacity = 64 * 1024;

  Uart16550(Machine& m, uint16_t base);

  // Maps the eight registers at the base port.
  void attach(PortBus& ports);
  uint16_t base() const { return base_; }

  const char* name() const override { return name_.c_str(); }
  void reset() override;
  void save(StateWriter& w) const override;
  void load(StateReader& r) override;

  uint32_t port_in(uint16_t port, unsigned size) override;
  void port_out(uint16_t port, uint32_t value, unsigned size) override;

  // Queues bytes as if they arrived on the serial line.
  void push_input(std::string_view bytes);
  size_t input_pending() const { return rx_.size(); }

  // Where transmitted bytes go: the hook when set, else the machine's console.
  void set_output_hook(std::function<void(uint8_t)> hook) { output_hook_ = std::move(hook); }

  // The level of the interrupt output as a PC sees it (gated by MCR.OUT2), and a hook
  // called when it changes; nothing is wired to it until the board has a PIC.
  bool irq_level() const;
  void set_irq_hook(std::function<void(bool level)> hook) { irq_hook_ = std::move(hook); }

  // Register offsets from the base port.
  enum Reg : uint8_t { kRbrThr = 0, kIer = 1, kIirFcr = 2, kLcr = 3, kMcr = 4, kLsr = 5, kMsr = 6, kScr = 7 };

 private:
  uint8_t read_reg(unsigned off);
  void write_reg(unsigned off, uint8_t v);
  void transmit(uint8_t v);
  void receive(uint8_t v);
  uint8_t iir() const;
  uint8_t lsr() const;
  uint8_t modem_lines() const;
  void set_mcr(uint8_t v);
  void update_irq();
  bool dlab() const { return lcr_ & 0x80; }
  bool fifo_on() const { return fcr_ & 0x01; }
  size_t fifo_level() const;          // bytes in the receive FIFO (or RBR)
  size_t trigger_level() const;       // FCR bits 7:6 -> 1, 4, 8, 14
  uint64_t char_time_ns() const;      // one frame at the programmed divisor and format
  bool rx_timeout() const;            // character time-out condition now
  void rx_activity();                 // a byte arrived in or left the FIFO: restart the time-out
  void schedule_timeout();

  Machine& m_;
  uint16_t base_;
  std::string name_;

  uint8_t ier_ = 0, lcr_ = 0, mcr_ = 0, fcr_ = 0, scr_ = 0;
  uint8_t dll_ = 0, dlm_ = 0;
  uint8_t lsr_errors_ = 0;   // OE, PE, FE, BI: cleared by reading LSR
  uint8_t msr_ = 0;          // modem lines (bits 7:4) and their deltas (bits 3:0)
  uint8_t rbr_ = 0;          // last byte read, returned again when the queue is empty
  bool thr_ipending_ = false;
  std::deque<uint8_t> rx_;
  uint64_t rx_activity_ns_ = 0;  // last arrival into or read from the receive FIFO

  // Host side, not guest state: not saved.
  std::function<void(bool)> irq_hook_;
  std::function<void(uint8_t)> output_hook_;
  int timer_ = -1;
  bool irq_reported_ = false;
  std::FILE* tty_checked_for_ = nullptr;
  bool console_is_tty_ = false;
};

}  // namespace kestrel::machine
