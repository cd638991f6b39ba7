#include "machine/devices/uart16550.h"

#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

#include "machine/machine.h"

namespace kestrel::machine {

namespace {

// LSR bits.
constexpr uint8_t kLsrDr = 0x01, kLsrOe = 0x02, kLsrPe = 0x04, kLsrFe = 0x08, kLsrBi = 0x10, kLsrThre = 0x20,
                  kLsrTemt = 0x40, kLsrFifoErr = 0x80;
constexpr uint8_t kLsrErrors = kLsrOe | kLsrPe | kLsrFe | kLsrBi;
// IER bits.
constexpr uint8_t kIerRdi = 0x01, kIerThri = 0x02, kIerRlsi = 0x04, kIerMsi = 0x08;
// MCR bits.
constexpr uint8_t kMcrDtr = 0x01, kMcrRts = 0x02, kMcrOut1 = 0x04, kMcrOut2 = 0x08, kMcrLoop = 0x10;
// MSR bits.
constexpr uint8_t kMsrDcts = 0x01, kMsrTeri = 0x04, kMsrCts = 0x10, kMsrDsr = 0x20, kMsrRi = 0x40,
                  kMsrDcd = 0x80;
// IIR interrupt identification, highest priority first (data sheet table IV).
constexpr uint8_t kIirNone = 0x01, kIirRls = 0x06, kIirRdi = 0x04, kIirCti = 0x0C, kIirThri = 0x02, kIirMsi = 0x00;
constexpr uint8_t kIirFifoEnabled = 0xC0;

// 9600 baud at the PC's 1.8432 MHz clock: what the BIOS leaves and what QEMU resets to.
constexpr uint16_t kResetDivisor = 12;
// The baud rate with divisor 1 (1.8432 MHz / 16).
constexpr uint64_t kBaseBaud = 115200;
constexpr size_t kFifoSize = 16;

}  // namespace

Uart16550::Uart16550(Machine& m, uint16_t base)
    : m_(m), base_(base), name_(fmt::format("uart16550@{:x}", base)) {
  timer_ = m_.timers().create([this](uint64_t) { update_irq(); });
  reset();
}

void Uart16550::attach(PortBus& ports) { ports.map(base_, 8, this); }

void Uart16550::reset() {
  // Master reset (data sheet table III); the divisor and SCR are not reset by the
  // chip, but a machine reset starts from the power-on values.
  ier_ = lcr_ = mcr_ = fcr_ = scr_ = 0;
  dll_ = kResetDivisor & 0xFF;
  dlm_ = kResetDivisor >> 8;
  lsr_errors_ = 0;
  rbr_ = 0;
  thr_ipending_ = false;
  rx_.clear();
  rx_activity_ns_ = 0;
  msr_ = modem_lines();
  update_irq();
}

void Uart16550::save(StateWriter& w) const {
  w.begin(name_);
  w.put(ier_); w.put(lcr_); w.put(mcr_); w.put(fcr_); w.put(scr_);
  w.put(dll_); w.put(dlm_); w.put(lsr_errors_); w.put(msr_); w.put(rbr_);
  w.put<uint8_t>(thr_ipending_);
  w.put<uint32_t>(static_cast<uint32_t>(rx_.size()));
  for (uint8_t b : rx_) w.put(b);
  w.put(rx_activity_ns_);
}

void Uart16550::load(StateReader& r) {
  r.begin(name_);
  r.get(ier_); r.get(lcr_); r.get(mcr_); r.get(fcr_); r.get(scr_);
  r.get(dll_); r.get(dlm_); r.get(lsr_errors_); r.get(msr_); r.get(rbr_);
  thr_ipending_ = r.get<uint8_t>() != 0;
  uint32_t n = r.get<uint32_t>();
  if (n > kInputCapacity) throw std::runtime_error("snapshot: " + name_ + " input queue too long");
  rx_.clear();
  for (uint32_t i = 0; i < n; ++i) rx_.push_back(r.get<uint8_t>());
  r.get(rx_activity_ns_);
  update_irq();
}

uint32_t Uart16550::port_in(uint16_t port, unsigned size) {
  // An 8-bit chip: a wider access reads consecutive registers (the bus only gives us
  // one when all its ports are ours).
  uint32_t v = 0;
  for (unsigned i = 0; i < size; ++i) v |= uint32_t{read_reg((port - base_ + i) & 7)} << (8 * i);
  return v;
}

void Uart16550::port_out(uint16_t port, uint32_t value, unsigned size) {
  for (unsigned i = 0; i < size; ++i) write_reg((port - base_ + i) & 7, static_cast<uint8_t>(value >> (8 * i)));
}

void Uart16550::push_input(std::string_view bytes) {
  for (char ch : bytes) receive(static_cast<uint8_t>(ch));
  update_irq();
}

size_t Uart16550::fifo_level() const { return std::min(rx_.size(), fifo_on() ? kFifoSize : size_t{1}); }

size_t Uart16550::trigger_level() const {
  static constexpr size_t kLevels[4] = {1, 4, 8, 14};
  return kLevels[fcr_ >> 6];
}

uint64_t Uart16550::char_time_ns() const {
  uint64_t divisor = dll_ | (uint64_t{dlm_} << 8);
  if (divisor == 0) divisor = 0x10000;
  // Start bit, 5-8 data bits, optional parity, 1 or 2 stop bits (1.5 counted as 2).
  const uint64_t bits = 1 + (5 + (lcr_ & 3)) + ((lcr_ & 0x08) ? 1 : 0) + ((lcr_ & 0x04) ? 2 : 1);
  return bits * divisor * 1'000'000'000ull / kBaseBaud;
}

bool Uart16550::rx_timeout() const {
  return fifo_on() && !rx_.empty() && m_.now_ns() >= rx_activity_ns_ + 4 * char_time_ns();
}

void Uart16550::rx_activity() { rx_activity_ns_ = m_.now_ns(); }

void Uart16550::schedule_timeout() {
  // Only needed while the time-out could raise an interrupt it has not raised yet.
  if (fifo_on() && (ier_ & kIerRdi) && !rx_.empty() && fifo_level() < trigger_level() && !rx_timeout())
    m_.timers().arm(timer_, rx_activity_ns_ + 4 * char_time_ns());
  else if (m_.timers().armed(timer_))
    m_.timers().disarm(timer_);
}

uint8_t Uart16550::read_reg(unsigned off) {
  uint8_t v = 0;
  switch (off) {
    case kRbrThr:
      if (dlab()) return dll_;
      if (!rx_.empty()) {
        rbr_ = rx_.front();
        rx_.pop_front();
        rx_activity();  // a byte left the FIFO (and the next one from the line moved in)
      }
      v = rbr_;
      break;
    case kIer:
      return dlab() ? dlm_ : ier_;
    case kIirFcr:
      v = iir();
      // Reading IIR acknowledges a THRE interrupt when it is the one reported (table IV).
      if ((v & 0x0F) == kIirThri) thr_ipending_ = false;
      break;
    case kLcr:
      return lcr_;
    case kMcr:
      return mcr_;
    case kLsr:
      v = lsr();
      lsr_errors_ = 0;  // error bits clear on read
      break;
    case kMsr:
      v = msr_;
      msr_ &= 0xF0;  // delta bits clear on read
      break;
    case kScr:
      return scr_;
  }
  update_irq();
  return v;
}

void Uart16550::write_reg(unsigned off, uint8_t v) {
  switch (off) {
    case kRbrThr:
      if (dlab()) {
        dll_ = v;
        return;
      }
      transmit(v);
      break;
    case kIer:
      if (dlab()) {
        dlm_ = v;
        return;
      }
      // Enabling the THRE interrupt while THR is empty raises it at once (the Linux
      // 8250 driver's THRE test relies on this); disabling it drops the pending one.
      if ((v & kIerThri) && !(ier_ & kIerThri)) thr_ipending_ = true;
      if (!(v & kIerThri)) thr_ipending_ = false;
      ier_ = v & 0x0F;
      break;
    case kIirFcr:
      // Toggling FIFO enable clears both FIFOs; bits 1 and 2 clear them and self-clear.
      // Only what is in the receive FIFO is lost: later bytes are still on the line.
      if (((v ^ fcr_) & 0x01) || (v & 0x02)) {
        rx_.erase(rx_.begin(), rx_.begin() + static_cast<long>(fifo_level()));
        rx_activity();
      }
      fcr_ = (v & 0x01) ? (v & 0xC9) : 0;
      break;
    case kLcr:
      lcr_ = v;
      return;
    case kMcr:
      set_mcr(v & 0x1F);
      break;
    case kLsr:
    case kMsr:
      return;  // read-only here (LSR writes are a factory test mode)
    case kScr:
      scr_ = v;
      return;
  }
  update_irq();
}

void Uart16550::transmit(uint8_t v) {
  if (mcr_ & kMcrLoop) {
    // Loopback: the serial output is wired back to the receiver, nothing leaves the chip.
    receive(v);
  } else {
    if (output_hook_) {
      output_hook_(v);
      thr_ipending_ = (ier_ & kIerThri) != 0;
      return;
    }
    std::FILE* out = m_.console();
    if (out != tty_checked_for_) {
      tty_checked_for_ = out;
      console_is_tty_ = isatty(fileno(out));
    }
    std::fputc(v, out);
    // An interactive console must show prompts that end without a newline; a file or
    // pipe is flushed per line to keep the cost down.
    if (console_is_tty_ || v == '\n') std::fflush(out);
  }
  // The byte leaves at once, so THR is empty again: a THRE interrupt is pending anew.
  thr_ipending_ = (ier_ & kIerThri) != 0;
}

void Uart16550::receive(uint8_t v) {
  if (rx_.size() >= kInputCapacity) {
    lsr_errors_ |= kLsrOe;
    return;
  }
  // A byte that lands in the FIFO (not behind it on the line) restarts the time-out.
  if (fifo_level() < (fifo_on() ? kFifoSize : 1)) rx_activity();
  rx_.push_back(v);
}

uint8_t Uart16550::lsr() const {
  uint8_t v = kLsrThre | kLsrTemt | lsr_errors_;
  if (!rx_.empty()) v |= kLsrDr;
  if ((fcr_ & 0x01) && (lsr_errors_ & kLsrErrors)) v |= kLsrFifoErr;
  return v;
}

uint8_t Uart16550::iir() const {
  uint8_t id = kIirNone;
  // Received data: at the trigger level with the FIFOs on (any byte without), or
  // the character time-out for fewer bytes left waiting (data sheet table IV).
  const bool rx_ready = fifo_on() ? fifo_level() >= trigger_level() : !rx_.empty();
  if ((ier_ & kIerRlsi) && (lsr_errors_ & kLsrErrors)) id = kIirRls;
  else if ((ier_ & kIerRdi) && rx_ready) id = kIirRdi;
  else if ((ier_ & kIerRdi) && rx_timeout()) id = kIirCti;
  else if ((ier_ & kIerThri) && thr_ipending_) id = kIirThri;
  else if ((ier_ & kIerMsi) && (msr_ & 0x0F)) id = kIirMsi;
  return id | ((fcr_ & 0x01) ? kIirFifoEnabled : 0);
}

uint8_t Uart16550::modem_lines() const {
  if (mcr_ & kMcrLoop) {
    // Loopback wires RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD (data sheet, MCR bit 4).
    uint8_t v = 0;
    if (mcr_ & kMcrRts) v |= kMsrCts;
    if (mcr_ & kMcrDtr) v |= kMsrDsr;
    if (mcr_ & kMcrOut1) v |= kMsrRi;
    if (mcr_ & kMcrOut2) v |= kMsrDcd;
    return v;
  }
  // Otherwise a terminal that is always connected and ready.
  return kMsrDcd | kMsrDsr | kMsrCts;
}

void Uart16550::set_mcr(uint8_t v) {
  mcr_ = v;
  const uint8_t old = msr_ & 0xF0, now = modem_lines();
  uint8_t delta = 0;
  if ((old ^ now) & kMsrCts) delta |= kMsrDcts;
  if ((old ^ now) & kMsrDsr) delta |= 0x02;
  if ((old & kMsrRi) && !(now & kMsrRi)) delta |= kMsrTeri;  // trailing edge only
  if ((old ^ now) & kMsrDcd) delta |= 0x08;
  msr_ = now | (msr_ & 0x0F) | delta;
}

bool Uart16550::irq_level() const {
  // On a PC, OUT2 gates the UART's interrupt output onto the ISA IRQ line.
  return (mcr_ & kMcrOut2) && !(iir() & 0x01);
}

void Uart16550::update_irq() {
  schedule_timeout();
  bool level = irq_level();
  if (level != irq_reported_) {
    irq_reported_ = level;
    if (irq_hook_) irq_hook_(level);
  }
}

}  // namespace kestrel::machine
