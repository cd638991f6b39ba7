// The local APIC of our one CPU, in xAPIC mode (memory-mapped at the base in
// IA32_APIC_BASE, 0xFEE00000 after reset).
//
// It is the CPU's interrupt controller: the run loop asks it for the next vector.
// Interrupts reach it from the IOAPIC (deliver()), from its own LVT sources (the
// timer, LINT0/LINT1, errors) and from self-IPIs; it keeps them in IRR, moves the
// highest one to ISR when the CPU acknowledges it and the priority rules allow
// (PPR, SDM Vol. 3 §10.8.3.1), and on EOI clears the highest ISR bit and tells the
// IOAPIC about level-triggered vectors. The 8259 pair's INT output is wired to
// LINT0; with LINT0 in ExtINT mode the vector comes from the PIC's acknowledge cycle.
//
// The 8259 outside the APIC (virtual wire): when the APIC is globally disabled
// (IA32_APIC_BASE[11] = 0) the processor behaves as one without an APIC and LINT0
// is its INTR pin (SDM Vol. 3 §10.4.3). After a reset, until software first sets or
// clears the APIC's software-enable bit, the PIC's requests also reach the core
// directly: §10.4.7.1 leaves the LVTs masked and the APIC software-disabled at
// reset, yet a BIOS or a DOS that never touches the APIC must still see the PIC,
// as on real boards. Once software enables the APIC, LINT0's LVT decides; once it
// explicitly disables it, every LVT entry is masked and stays masked
// (§10.4.7.2), so only NMI reaches the core.
//
// The timer counts at the core crystal clock (kTimerHz, CPUID leaf 0x15), divided
// by the divide configuration; one-shot, periodic and TSC-deadline modes
// (§10.5.4), all on the machine's virtual clock. With one CPU, IPIs to others
// (INIT, SIPI, fixed to another APIC ID) go nowhere, so a BIOS counting CPUs
// finds one.
//
// Reference: Intel SDM Vol. 3A chapter 10 (APIC), Vol. 4 for IA32_APIC_BASE and
// IA32_TSC_DEADLINE.
#pragma once

#include <cstdint>
#include <functional>

#include "machine/device.h"
#include "machine/irq.h"
#include "machine/phys_bus.h"

namespace kestrel::machine {

class Machine;

// An interrupt message on the APIC bus (from the IOAPIC or an IPI).
struct ApicMessage {
  uint8_t vector = 0;
  uint8_t delivery_mode = 0;  // ApicDelivery
  bool logical = false;       // destination mode
  uint8_t dest = 0;           // APIC ID (physical) or logical destination
  bool level = false;         // level-triggered (fixed and lowest-priority only)
};

enum ApicDelivery : uint8_t {
  kDeliverFixed = 0, kDeliverLowest = 1, kDeliverSmi = 2, kDeliverNmi = 4, kDeliverInit = 5,
  kDeliverStartup = 6, kDeliverExtInt = 7,
};

class Lapic final : public Device, public MmioDevice, public IrqSink, public InterruptController {
 public:
  static constexpr uint64_t kDefaultBase = 0xFEE00000;
  static constexpr uint32_t kVersion = 0x00050014;  // integrated APIC, 6 LVT entries (max LVT index 5)
  // The timer's input: the core crystal clock of CPUID leaf 0x15 (25 MHz, 40 ns).
  static constexpr uint64_t kTimerHz = 25'000'000;
  static constexpr uint64_t kTimerTickNs = 1'000'000'000 / kTimerHz;

  // IA32_APIC_BASE bits.
  static constexpr uint64_t kBaseBsp = 1u << 8, kBaseExtd = 1u << 10, kBaseEnable = 1u << 11;

  // Register offsets (SDM Vol. 3 Table 10-1).
  enum Reg : uint32_t {
    kRegId = 0x20, kRegVersion = 0x30, kRegTpr = 0x80, kRegApr = 0x90, kRegPpr = 0xA0, kRegEoi = 0xB0,
    kRegRrd = 0xC0, kRegLdr = 0xD0, kRegDfr = 0xE0, kRegSvr = 0xF0, kRegIsr = 0x100, kRegTmr = 0x180,
    kRegIrr = 0x200, kRegEsr = 0x280, kRegIcrLo = 0x300, kRegIcrHi = 0x310, kRegLvtTimer = 0x320,
    kRegLvtThermal = 0x330, kRegLvtPerf = 0x340, kRegLvtLint0 = 0x350, kRegLvtLint1 = 0x360,
    kRegLvtError = 0x370, kRegTimerInitial = 0x380, kRegTimerCurrent = 0x390, kRegTimerDivide = 0x3E0,
  };
  enum Lvt : unsigned { kLvtTimer, kLvtThermal, kLvtPerf, kLvtLint0, kLvtLint1, kLvtError, kLvtCount };
  static constexpr uint32_t kLvtMasked = 1u << 16;

  Lapic(Machine& m, uint8_t apic_id = 0);

  const char* name() const override { return "lapic"; }
  void reset() override;
  void save(StateWriter& w) const override;
  void load(StateReader& r) override;

  uint64_t mmio_read(uint64_t offset, unsigned size) override;
  void mmio_write(uint64_t offset, uint64_t value, unsigned size) override;

  // LINT0 (pin 0, the 8259's INT output on a PC) and LINT1 (pin 1).
  void set_irq(unsigned pin, bool level) override;

  // The CPU's side.
  bool interrupt_pending() override;
  uint8_t acknowledge() override;

  // Where ExtINT vectors come from (the 8259 pair's acknowledge cycle).
  void set_extint_source(InterruptController* pic) { extint_ = pic; }
  // Called with the vector of each EOI for a level-triggered interrupt (the IOAPIC listens).
  void set_eoi_hook(std::function<void(uint8_t vector)> hook) { eoi_hook_ = std::move(hook); }

  // An interrupt message from the bus (IOAPIC, IPI). Returns whether this APIC took
  // it (a destination match in an enabled APIC; an IOAPIC keeps a level-triggered
  // pin's remote IRR clear when it was not taken).
  bool deliver(const ApicMessage& msg);
  // Whether the message's destination names this APIC (SDM Vol. 3 §10.6.2).
  bool matches(bool logical, uint8_t dest) const;

  // IA32_APIC_BASE writes (already checked for reserved bits by the MSR code):
  // relocation, global enable and disable.
  void write_apic_base(uint64_t value);
  // CR8 is TPR[7:4] (SDM Vol. 3 §10.8.6.1).
  uint64_t read_cr8() const { return tpr_ >> 4; }
  void write_cr8(uint64_t v);
  // IA32_TSC_DEADLINE (MSR 0x6E0).
  uint64_t read_tsc_deadline() const;
  void write_tsc_deadline(uint64_t tsc);

  // State for tests and front ends.
  bool globally_enabled() const;
  bool software_enabled() const { return svr_ & 0x100; }
  uint64_t base() const { return mapped_base_; }
  uint8_t id() const { return id_; }
  uint8_t tpr() const { return tpr_; }
  uint8_t ppr() const;
  bool irr_bit(uint8_t v) const { return bit(irr_, v); }
  bool isr_bit(uint8_t v) const { return bit(isr_, v); }
  uint32_t lvt(Lvt i) const { return lvt_[i]; }
  uint32_t timer_current_count();
  // The virtual time of the next timer interrupt, or ~0.
  uint64_t timer_deadline_ns() const;

 private:
  static bool bit(const uint32_t* v, uint8_t n) { return (v[n >> 5] >> (n & 31)) & 1; }
  static void set_bit(uint32_t* v, uint8_t n) { v[n >> 5] |= 1u << (n & 31); }
  static void clear_bit(uint32_t* v, uint8_t n) { v[n >> 5] &= ~(1u << (n & 31)); }
  static int highest(const uint32_t* v);  // highest set bit of 256, or -1

  uint32_t read_reg(uint32_t reg);
  void write_reg(uint32_t reg, uint32_t v);
  void write_lvt(Lvt i, uint32_t v);
  void write_svr(uint32_t v);
  void write_icr(uint32_t lo);
  void eoi();
  // Sets the vector in IRR (and TMR for level); false for an illegal vector or a disabled APIC.
  bool accept(uint8_t vector, bool level);
  void local_interrupt(Lvt i);  // an LVT source fired
  void raise_error(uint32_t esr_bit);
  bool pic_direct() const;      // the PIC reaches the core without the LVT (see the header comment)
  bool extint_pending() const;  // LINT0 in ExtINT mode with the PIC asserting INT
  void changed();               // something may have become deliverable

  // Timer.
  unsigned timer_mode() const { return (lvt_[kLvtTimer] >> 17) & 3; }  // 0 one-shot, 1 periodic, 2 TSC deadline
  uint64_t timer_tick_ns() const;
  void start_timer(uint64_t now);
  void schedule_timer();
  void timer_fired(uint64_t now);

  void map_at(uint64_t base);
  void unmap();

  Machine& m_;
  InterruptController* extint_ = nullptr;
  std::function<void(uint8_t)> eoi_hook_;
  int timer_ = -1;
  uint64_t mapped_base_ = ~0ull;  // where the MMIO window is, ~0 when unmapped

  // Register state (saved).
  uint8_t id_ = 0;
  uint8_t initial_id_ = 0;
  uint8_t tpr_ = 0;
  uint32_t ldr_ = 0, dfr_ = 0xFFFFFFFF, svr_ = 0xFF;
  uint32_t irr_[8] = {}, isr_[8] = {}, tmr_[8] = {};
  uint32_t esr_ = 0, esr_pending_ = 0;
  uint32_t icr_lo_ = 0, icr_hi_ = 0;
  uint32_t lvt_[kLvtCount] = {};
  uint32_t timer_initial_ = 0, timer_divide_ = 0;
  uint64_t timer_start_ns_ = 0;   // when the current count was last (re)loaded
  bool timer_running_ = false;    // one-shot or periodic count in progress
  uint64_t tsc_deadline_ = 0;     // IA32_TSC_DEADLINE, 0 = disarmed
  bool power_up_state_ = true;    // software has not touched SVR.8 since reset
  uint8_t lint_level_[2] = {};
};

}  // namespace kestrel::machine
