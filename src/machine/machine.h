// Machine: one emulated PC board. Owns the CPU state, the buses, the clock and
// every device; nothing in Kestrel is global, so one process may run several.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "machine/clock.h"
#include "machine/cpu_state.h"
#include "machine/device.h"
#include "machine/irq.h"
#include "machine/phys_bus.h"
#include "machine/port_bus.h"
#include "machine/timer_queue.h"

namespace kestrel::machine {

struct CpuModel;
class Lapic;

// The front end's part in a halted CPU's wait: host input (a terminal or a pipe
// feeding a UART) must be able to end it, so the run loop hands its idle time here
// instead of sleeping.
class IdleHandler {
 public:
  virtual ~IdleHandler() = default;
  // Waits up to `max_ns` of host time for host input (0: only look), hands what
  // came to the devices, and returns true; false when no input can come any more.
  virtual bool idle_wait(uint64_t max_ns) = 0;
};

// What a triple fault (the CPU's shutdown cycle, SDM Vol. 3 §6.15 "Interrupt 8")
// does to the board: stop the run, or reset the machine as a PC's chipset does.
enum class TripleFaultAction { Stop, Reset };

struct MachineConfig {
  uint64_t ram_bytes = 256ull << 20;
  std::string cpu_model = "default";
  Clock::Source clock = Clock::Source::Icount;
  TripleFaultAction on_triple_fault = TripleFaultAction::Stop;
};

class Machine {
 public:
  explicit Machine(const MachineConfig& cfg);
  ~Machine();
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  // Reserves RAM and builds the board; false with a message on failure.
  bool init(std::string& error);

  CpuState& cpu() { return *cpu_; }
  PhysBus& bus() { return bus_; }
  PortBus& ports() { return ports_; }
  Clock& clock() { return clock_; }
  TimerQueue& timers() { return timers_; }
  // Guest time now, in nanoseconds since reset (the one virtual clock).
  uint64_t now_ns() const { return clock_.now_ns(cpu_->icount); }
  // Guest time since the machine was created: unlike now_ns() it keeps counting
  // across resets (the battery-backed RTC follows it).
  uint64_t uptime_ns() const { return time_before_reset_ns_ + now_ns(); }

  // The 16 ISA interrupt lines; the board wires each to the PIC pair (and the IOAPIC).
  IrqLine& isa_irq(unsigned n) { return isa_irqs_[n]; }

  // The CPU's interrupt controller (LAPIC, or the 8259 pair without one).
  void set_interrupt_controller(InterruptController* ic) { intc_ = ic; }
  InterruptController* interrupt_controller() const { return intc_; }
  // The CPU's local APIC, when the board has one (MSRs and CR8 reach it through here).
  void set_lapic(Lapic* apic) { lapic_ = apic; }
  Lapic* lapic() const { return lapic_; }
  // CR8 is the local APIC's TPR[7:4] (SDM Vol. 3 §10.8.6.1); without an APIC, a plain register.
  uint64_t read_cr8() const;
  void write_cr8(uint64_t v);
  // The A20 gate (port 0x92, the keyboard controller): the bus, the CPU's copy and the TLB together.
  void set_a20(bool on);
  // What [base, base + size) of the physical address space decodes to has changed (a
  // PCI BAR moved, the PAM registers switched shadow RAM): cached translations and
  // decoded or translated code from those pages must go.
  void memory_map_changed(uint64_t base, uint64_t size);
  // Devices call this when an interrupt may have become pending; the run loop
  // then asks the controller at the next instruction boundary.
  void signal_interrupt();
  void raise_nmi();
  bool take_nmi() {
    bool n = nmi_pending_;
    nmi_pending_ = false;
    return n;
  }
  bool nmi_pending() const { return nmi_pending_; }

  // The CPU's FERR# output (x87 errors with CR0.NE = 0, SDM Vol. 1 §8.7 and
  // Appendix D): the x87 code asserts it at the waiting instruction after an
  // unmasked exception and drops it when the exception summary (FSW.ES) is cleared.
  // On a PC it reaches IRQ 13 of the 8259 pair: the board connects ferr_line() to
  // that input (and port F0h's write, which clears the latch, lowers it).
  void set_ferr(bool asserted) { ferr_line_.set(asserted); }
  bool ferr() const { return ferr_line_.level(); }
  IrqLine& ferr_line() { return ferr_line_; }
  // The CPU's IGNNE# input (SDM Vol. 1 §8.7): while asserted, a pending x87 error
  // with CR0.NE = 0 is ignored instead of freezing the CPU before the next waiting
  // x87 instruction. The PC's coprocessor-error latch drives it (port F0h).
  void set_ignne(bool asserted) { ignne_ = asserted; }
  bool ignne() const { return ignne_; }
  const MachineConfig& config() const { return cfg_; }
  const CpuModel& cpu_model() const { return *model_; }

  // Devices are owned by the machine; returns the raw pointer for wiring.
  template <class D, class... Args>
  D* add_device(Args&&... args) {
    auto d = std::make_unique<D>(std::forward<Args>(args)...);
    D* raw = d.get();
    devices_.push_back(std::move(d));
    return raw;
  }
  const std::vector<std::unique_ptr<Device>>& devices() const { return devices_; }

  // Full reset: CPU to its power-on state (SDM Vol. 3 §9.1.1), devices reset.
  void reset();

  // A device or instruction asks the run loop to stop with this exit status.
  void request_stop(int exit_status, std::string reason);
  bool stop_requested() const { return stop_requested_; }
  int exit_status() const { return exit_status_; }
  const std::string& stop_reason() const { return stop_reason_; }
  void clear_stop() { stop_requested_ = false; }

  // A reset request (triple fault with TripleFaultAction::Reset; later the reset
  // ports): the run loop stops as for request_stop(0, reason), and whoever owns the
  // run loop calls reset(), re-boots (loaders, entry state) and runs on. reset()
  // clears the request.
  void request_reset(std::string reason);
  bool reset_requested() const { return reset_requested_; }
  // A guest-initiated reboot (reset ports 0xCF9 and 0x92, the ACPI reset register, the
  // keyboard controller's pulse): the same path as the triple-fault reset.
  void request_reboot(std::string reason) { request_reset(std::move(reason)); }

  // Exception delivery calls this when the CPU shuts down (a fault while delivering
  // #DF). Stop: request_stop(1, "triple fault") and triple_faulted() turns true;
  // Reset: request_reset(). The last pending exception is kept for the report.
  void triple_fault();
  bool triple_faulted() const { return triple_faulted_; }
  // "#GP(0x10)": the exception that was being raised when the CPU shut down.
  const std::string& triple_fault_detail() const { return triple_fault_detail_; }
  uint64_t triple_fault_count() const { return triple_fault_count_; }

  // Reports a problem (unimplemented instruction, unhandled MSR...) once per key on stderr.
  void report_once(const std::string& key, const std::string& message);

  // Host input while the CPU is halted (see IdleHandler); none by default.
  void set_idle_handler(IdleHandler* h) { idle_handler_ = h; }
  IdleHandler* idle_handler() const { return idle_handler_; }

  // Where guest console output goes (debug port, UART); stdout by default.
  std::FILE* console() const { return console_; }
  void set_console(std::FILE* f) { console_ = f; }

 private:
  MachineConfig cfg_;
  const CpuModel* model_;
  PhysBus bus_;
  PortBus ports_;
  Clock clock_;
  TimerQueue timers_;
  InterruptController* intc_ = nullptr;
  Lapic* lapic_ = nullptr;
  IrqLine isa_irqs_[16];
  bool nmi_pending_ = false;
  IrqLine ferr_line_;
  bool ignne_ = false;
  std::unique_ptr<CpuState> cpu_;
  std::vector<std::unique_ptr<Device>> devices_;
  std::set<std::string> reported_;
  std::FILE* console_ = stdout;
  IdleHandler* idle_handler_ = nullptr;
  bool stop_requested_ = false;
  int exit_status_ = 0;
  std::string stop_reason_;
  bool reset_requested_ = false;
  bool triple_faulted_ = false;
  std::string triple_fault_detail_;
  uint64_t triple_fault_count_ = 0;  // since construction, across resets
  uint64_t time_before_reset_ns_ = 0;  // guest time of the runs before the last reset
};

}  // namespace kestrel::machine
