#include "machine/devices/lapic.h"

#include <algorithm>

#include <fmt/format.h>

#include "machine/cpu_model.h"
#include "machine/machine.h"
#include "machine/memory.h"

namespace kestrel::machine {

namespace {

// Error status register bits (SDM Vol. 3 §10.5.3).
constexpr uint32_t kEsrSendIllegalVector = 1u << 5, kEsrReceiveIllegalVector = 1u << 6,
                   kEsrIllegalRegister = 1u << 7;
// LVT bits.
constexpr uint32_t kLvtDeliveryStatus = 1u << 12, kLvtActiveLow = 1u << 13, kLvtRemoteIrr = 1u << 14,
                   kLvtLevel = 1u << 15;
constexpr uint32_t kSvrEnable = 1u << 8;

static_assert(Lapic::kTimerHz * Lapic::kTimerTickNs == 1'000'000'000, "the timer period must be whole nanoseconds");
static_assert(Lapic::kTimerHz == kCoreCrystalHz, "the APIC timer runs at the crystal clock CPUID 0x15 reports");
static_assert(kCoreCrystalHz * kTscCrystalRatio == Clock::kTscHz, "CPUID 0x15 must describe the virtual TSC");

}  // namespace

Lapic::Lapic(Machine& m, uint8_t apic_id) : m_(m), initial_id_(apic_id) {
  timer_ = m_.timers().create([this](uint64_t now) { timer_fired(now); });
  reset();
}

bool Lapic::globally_enabled() const { return m_.cpu().msr_apic_base & kBaseEnable; }

void Lapic::reset() {
  // Power-up state, SDM Vol. 3 §10.4.7.1. IA32_APIC_BASE itself was reset with the CPU.
  id_ = initial_id_;
  tpr_ = 0;
  ldr_ = 0;
  dfr_ = 0xFFFFFFFF;
  svr_ = 0xFF;
  for (int i = 0; i < 8; ++i) irr_[i] = isr_[i] = tmr_[i] = 0;
  esr_ = esr_pending_ = 0;
  icr_lo_ = icr_hi_ = 0;
  for (auto& l : lvt_) l = kLvtMasked;
  timer_initial_ = timer_divide_ = 0;
  timer_start_ns_ = 0;
  timer_running_ = false;
  tsc_deadline_ = 0;
  power_up_state_ = true;
  m_.timers().disarm(timer_);
  m_.cpu().cr8 = 0;
  if (globally_enabled()) map_at(m_.cpu().msr_apic_base & ~0xFFFull);
  else unmap();
}

void Lapic::save(StateWriter& w) const {
  w.begin(name());
  w.put(id_);
  w.put(tpr_);
  w.put(ldr_);
  w.put(dfr_);
  w.put(svr_);
  w.put_bytes(irr_, sizeof irr_);
  w.put_bytes(isr_, sizeof isr_);
  w.put_bytes(tmr_, sizeof tmr_);
  w.put(esr_);
  w.put(esr_pending_);
  w.put(icr_lo_);
  w.put(icr_hi_);
  w.put_bytes(lvt_, sizeof lvt_);
  w.put(timer_initial_);
  w.put(timer_divide_);
  w.put(timer_start_ns_);
  w.put(timer_running_);
  w.put(tsc_deadline_);
  w.put(power_up_state_);
  w.put_bytes(lint_level_, sizeof lint_level_);
}

void Lapic::load(StateReader& r) {
  r.begin(name());
  r.get(id_);
  r.get(tpr_);
  r.get(ldr_);
  r.get(dfr_);
  r.get(svr_);
  r.get_bytes(irr_, sizeof irr_);
  r.get_bytes(isr_, sizeof isr_);
  r.get_bytes(tmr_, sizeof tmr_);
  r.get(esr_);
  r.get(esr_pending_);
  r.get(icr_lo_);
  r.get(icr_hi_);
  r.get_bytes(lvt_, sizeof lvt_);
  r.get(timer_initial_);
  r.get(timer_divide_);
  r.get(timer_start_ns_);
  r.get(timer_running_);
  r.get(tsc_deadline_);
  r.get(power_up_state_);
  r.get_bytes(lint_level_, sizeof lint_level_);
  if (globally_enabled()) map_at(m_.cpu().msr_apic_base & ~0xFFFull);
  else unmap();
  schedule_timer();
  changed();
}

// ---- the MMIO window ---------------------------------------------------------------------------

void Lapic::map_at(uint64_t base) {
  if (mapped_base_ == base) return;
  unmap();
  m_.bus().map_mmio(base, 0x1000, this, "lapic");
  mapped_base_ = base;
  tlb_flush(m_.cpu());  // RAM pages cached in the TLB may now be the APIC's
}

void Lapic::unmap() {
  if (mapped_base_ == ~0ull) return;
  m_.bus().unmap_mmio(this);
  mapped_base_ = ~0ull;
  tlb_flush(m_.cpu());
}

void Lapic::write_apic_base(uint64_t value) {
  CpuState& c = m_.cpu();
  const bool was = c.msr_apic_base & kBaseEnable;
  c.msr_apic_base = (value & ~kBaseBsp) | (c.msr_apic_base & kBaseBsp);  // BSP is read-only
  const bool now = c.msr_apic_base & kBaseEnable;
  if (was && !now) {
    // Globally disabled: the APIC returns to its power-up state (SDM Vol. 3 §10.4.3)
    // and LINT0 becomes the INTR pin.
    reset();
  } else if (now) {
    map_at(c.msr_apic_base & ~0xFFFull);
  }
  changed();
}

uint64_t Lapic::mmio_read(uint64_t offset, unsigned size) {
  // Registers are 32 bits wide on 16-byte boundaries; the other 12 bytes read as 0.
  const unsigned in_reg = offset & 0xF;
  if (in_reg >= 4) return 0;
  uint64_t v = read_reg(static_cast<uint32_t>(offset & 0xFF0)) >> (8 * in_reg);
  return size >= 8 ? v : v & ((1ull << (8 * size)) - 1);
}

void Lapic::mmio_write(uint64_t offset, uint64_t value, unsigned size) {
  // Only aligned 32-bit stores are defined (SDM Vol. 3 §10.4.1); a narrower store at a
  // register's start is taken as the register write zero-extended.
  if (offset & 0xF) return;
  write_reg(static_cast<uint32_t>(offset & 0xFF0), static_cast<uint32_t>(value));
}

// ---- registers ---------------------------------------------------------------------------------

int Lapic::highest(const uint32_t* v) {
  for (int i = 7; i >= 0; --i)
    if (v[i]) return i * 32 + 31 - __builtin_clz(v[i]);
  return -1;
}

uint8_t Lapic::ppr() const {
  // SDM Vol. 3 §10.8.3.1: PPR = TPR if TPR[7:4] >= ISRV[7:4], else ISRV[7:4]:0.
  int isrv = highest(isr_);
  uint8_t in_service = isrv < 0 ? 0 : static_cast<uint8_t>(isrv);
  return (tpr_ >> 4) >= (in_service >> 4) ? tpr_ : (in_service & 0xF0);
}

uint32_t Lapic::read_reg(uint32_t reg) {
  if (reg >= kRegIsr && reg < kRegIsr + 0x80) return isr_[(reg - kRegIsr) >> 4];
  if (reg >= kRegTmr && reg < kRegTmr + 0x80) return tmr_[(reg - kRegTmr) >> 4];
  if (reg >= kRegIrr && reg < kRegIrr + 0x80) return irr_[(reg - kRegIrr) >> 4];
  if (reg >= kRegLvtTimer && reg <= kRegLvtError) {
    const unsigned i = (reg - kRegLvtTimer) >> 4;
    return lvt_[i];
  }
  switch (reg) {
    case kRegId: return static_cast<uint32_t>(id_) << 24;
    case kRegVersion: return kVersion;
    case kRegTpr: return tpr_;
    case kRegApr: {
      // P6-family arbitration priority (SDM Vol. 3 §10.6.2.4, Figure 10-15 note).
      int irrv = highest(irr_), isrv = highest(isr_);
      uint8_t rq = irrv < 0 ? 0 : static_cast<uint8_t>(irrv), sv = isrv < 0 ? 0 : static_cast<uint8_t>(isrv);
      if ((tpr_ >> 4) >= (rq >> 4) && (tpr_ >> 4) > (sv >> 4)) return tpr_;
      uint8_t m = std::max({static_cast<uint8_t>(tpr_ & 0xF0), static_cast<uint8_t>(sv & 0xF0),
                            static_cast<uint8_t>(rq & 0xF0)});
      return m;
    }
    case kRegPpr: return ppr();
    case kRegEoi: return 0;
    case kRegRrd: return 0;
    case kRegLdr: return ldr_;
    case kRegDfr: return dfr_;
    case kRegSvr: return svr_;
    case kRegEsr: return esr_;
    case kRegIcrLo: return icr_lo_;
    case kRegIcrHi: return icr_hi_;
    case kRegTimerInitial: return timer_initial_;
    case kRegTimerCurrent: return timer_current_count();
    case kRegTimerDivide: return timer_divide_;
    default:
      raise_error(kEsrIllegalRegister);
      return 0;
  }
}

void Lapic::write_reg(uint32_t reg, uint32_t v) {
  if (reg >= kRegLvtTimer && reg <= kRegLvtError) {
    write_lvt(static_cast<Lvt>((reg - kRegLvtTimer) >> 4), v);
    return;
  }
  if ((reg >= kRegIsr && reg < kRegIrr + 0x80)) return;  // ISR, TMR and IRR are read-only
  switch (reg) {
    case kRegId: id_ = static_cast<uint8_t>(v >> 24); break;
    case kRegVersion: case kRegApr: case kRegPpr: case kRegRrd: case kRegTimerCurrent: break;  // read-only
    case kRegTpr:
      tpr_ = static_cast<uint8_t>(v);
      m_.cpu().cr8 = tpr_ >> 4;
      changed();
      break;
    case kRegEoi: eoi(); break;
    case kRegLdr: ldr_ = v & 0xFF000000; break;
    case kRegDfr: dfr_ = (v & 0xF0000000) | 0x0FFFFFFF; break;
    case kRegSvr: write_svr(v); break;
    case kRegEsr:
      // A write latches the errors seen since the last one (SDM Vol. 3 §10.5.3).
      esr_ = esr_pending_;
      esr_pending_ = 0;
      break;
    case kRegIcrHi: icr_hi_ = v & 0xFF000000; break;
    case kRegIcrLo: write_icr(v); break;
    case kRegTimerInitial: {
      if (timer_mode() == 2) break;  // ignored in TSC-deadline mode (SDM Vol. 3 §10.5.4.1)
      timer_initial_ = v;
      if (v == 0) {
        timer_running_ = false;
        schedule_timer();
      } else {
        start_timer(m_.now_ns());
      }
      break;
    }
    case kRegTimerDivide: {
      // Keep the current count across a change of the divisor.
      const uint64_t now = m_.now_ns();
      const uint32_t cur = timer_running_ ? timer_current_count() : 0;
      timer_divide_ = v & 0xB;
      if (timer_running_ && timer_mode() != 2) {
        timer_start_ns_ = now - static_cast<uint64_t>(timer_initial_ - cur) * timer_tick_ns();
        schedule_timer();
      }
      break;
    }
    default: raise_error(kEsrIllegalRegister); break;
  }
}

void Lapic::write_svr(uint32_t v) {
  // Bits 0-7 spurious vector (all writable on P4 and later), bit 8 software enable.
  // Focus checking (bit 9) is reserved on xAPICs; EOI-broadcast suppression (bit 12)
  // is not offered (version bit 24 clear).
  svr_ = v & 0x1FF;
  power_up_state_ = false;
  if (!(svr_ & kSvrEnable)) {
    // Software-disabled: every LVT entry is masked (SDM Vol. 3 §10.4.7.2).
    for (auto& l : lvt_) l |= kLvtMasked;
  }
  changed();
}

void Lapic::write_lvt(Lvt i, uint32_t v) {
  const uint32_t old = lvt_[i];
  uint32_t writable;
  switch (i) {
    case kLvtTimer:
      writable = 0xFF | kLvtMasked | (1u << 17);
      if (m_.cpu_model().has(Feature::TscDeadline)) writable |= 1u << 18;
      break;
    case kLvtThermal: case kLvtPerf: writable = 0xFF | 0x700 | kLvtMasked; break;
    case kLvtLint0: case kLvtLint1: writable = 0xFF | 0x700 | kLvtActiveLow | kLvtLevel | kLvtMasked; break;
    default: writable = 0xFF | kLvtMasked; break;  // error
  }
  uint32_t nv = (v & writable) | (old & (kLvtRemoteIrr | kLvtDeliveryStatus));
  if (!(svr_ & kSvrEnable) && !power_up_state_) nv |= kLvtMasked;  // SDM Vol. 3 §10.4.7.2
  // Remote IRR means nothing outside fixed level-triggered LINT inputs.
  if ((i == kLvtLint0 || i == kLvtLint1) && (((nv >> 8) & 7) != kDeliverFixed || !(nv & kLvtLevel)))
    nv &= ~kLvtRemoteIrr;
  lvt_[i] = nv;
  if (i == kLvtTimer) {
    const unsigned old_mode = (old >> 17) & 3, new_mode = (nv >> 17) & 3;
    if ((old_mode == 2) != (new_mode == 2)) {
      // Moving into or out of TSC-deadline mode disarms the timer (SDM Vol. 3 §10.5.4.1).
      timer_running_ = false;
      timer_initial_ = 0;
      tsc_deadline_ = 0;
    }
    schedule_timer();
  }
  if (i == kLvtLint0 || i == kLvtLint1) {
    // A level-triggered input already asserted when unmasked.
    const unsigned pin = i == kLvtLint0 ? 0 : 1;
    if (lint_level_[pin]) set_irq(pin, true);
  }
  changed();
}

// ---- interrupt acceptance and delivery to the core ---------------------------------------------

bool Lapic::pic_direct() const { return !globally_enabled() || power_up_state_; }

bool Lapic::extint_pending() const {
  const uint32_t l = lvt_[kLvtLint0];
  return extint_ && !(l & kLvtMasked) && ((l >> 8) & 7) == kDeliverExtInt && extint_->interrupt_pending();
}

void Lapic::changed() { m_.signal_interrupt(); }

bool Lapic::accept(uint8_t vector, bool level) {
  // A software-disabled APIC takes no new interrupts; what IRR holds stays (SDM Vol. 3 §10.4.7.2).
  if (!(svr_ & kSvrEnable) || !globally_enabled()) return false;
  if (vector < 16) {
    raise_error(kEsrReceiveIllegalVector);
    return false;
  }
  set_bit(irr_, vector);
  if (level) set_bit(tmr_, vector);
  else clear_bit(tmr_, vector);
  changed();
  return true;
}

bool Lapic::interrupt_pending() {
  // pic_direct() and extint_pending() spelled out: the run loop asks at every block
  // while an interrupt waits for IF (memtest86+ runs with IRQ 0 pending and IF clear).
  const bool enabled = m_.cpu().msr_apic_base & kBaseEnable;
  if (!enabled || power_up_state_) return extint_ && extint_->interrupt_pending();
  const uint32_t lint0 = lvt_[kLvtLint0];
  if (extint_ && !(lint0 & kLvtMasked) && ((lint0 >> 8) & 7) == kDeliverExtInt && extint_->interrupt_pending())
    return true;  // ExtINT ignores the priority rules
  const int v = highest(irr_);
  return v >= 0 && (v & 0xF0) > (ppr() & 0xF0);
}

uint8_t Lapic::acknowledge() {
  if (pic_direct() || extint_pending()) return extint_ ? extint_->acknowledge() : static_cast<uint8_t>(svr_);
  const int v = highest(irr_);
  if (v < 0 || (v & 0xF0) <= (ppr() & 0xF0)) {
    // The request went away (or was masked by TPR) between INTR and INTA: the
    // spurious vector, with no ISR bit set (SDM Vol. 3 §10.9).
    return static_cast<uint8_t>(svr_);
  }
  clear_bit(irr_, static_cast<uint8_t>(v));
  set_bit(isr_, static_cast<uint8_t>(v));
  return static_cast<uint8_t>(v);
}

void Lapic::eoi() {
  const int v = highest(isr_);
  if (v < 0) return;
  const uint8_t vec = static_cast<uint8_t>(v);
  clear_bit(isr_, vec);
  if (bit(tmr_, vec)) {
    // A level-triggered LINT input waits for this EOI (its remote IRR).
    for (Lvt i : {kLvtLint0, kLvtLint1}) {
      uint32_t& l = lvt_[i];
      if ((l & kLvtRemoteIrr) && (l & 0xFF) == vec) {
        l &= ~kLvtRemoteIrr;
        const unsigned pin = i == kLvtLint0 ? 0 : 1;
        if (lint_level_[pin]) set_irq(pin, true);
      }
    }
    // The EOI message goes to the IOAPICs for level-triggered vectors (SDM Vol. 3 §10.8.5).
    if (eoi_hook_) eoi_hook_(vec);
  }
  changed();
}

void Lapic::raise_error(uint32_t esr_bit) {
  esr_pending_ |= esr_bit;
  local_interrupt(kLvtError);
}

void Lapic::local_interrupt(Lvt i) {
  const uint32_t l = lvt_[i];
  if (l & kLvtMasked) return;
  const unsigned mode = (i == kLvtTimer || i == kLvtError) ? unsigned{kDeliverFixed} : (l >> 8) & 7;
  switch (mode) {
    case kDeliverFixed: {
      const bool level = (i == kLvtLint0 || i == kLvtLint1) && (l & kLvtLevel);
      const uint8_t vector = static_cast<uint8_t>(l);
      if (vector < 16) {
        // An illegal vector in an LVT entry: an error, but no error interrupt loop.
        if (i != kLvtError) raise_error(kEsrReceiveIllegalVector);
        else esr_pending_ |= kEsrReceiveIllegalVector;
        return;
      }
      if (accept(vector, level) && level) lvt_[i] |= kLvtRemoteIrr;
      break;
    }
    case kDeliverNmi: m_.raise_nmi(); break;
    case kDeliverExtInt: changed(); break;  // the vector comes from the PIC when the CPU acknowledges
    default:
      m_.report_once("lapic-lvt-mode", fmt::format("local APIC: LVT delivery mode {} is not modelled", mode));
      break;
  }
}

void Lapic::set_irq(unsigned pin, bool level) {
  if (pin > 1) return;
  const bool old = lint_level_[pin];
  lint_level_[pin] = level;
  if (!globally_enabled()) {
    // No APIC: LINT0 is INTR (the run loop asks the PIC through us), LINT1 is NMI.
    if (pin == 0 && level) changed();
    if (pin == 1 && level && !old) m_.raise_nmi();
    return;
  }
  if (pin == 0 && pic_direct()) {
    if (level) changed();
    return;
  }
  const Lvt i = pin == 0 ? kLvtLint0 : kLvtLint1;
  const uint32_t l = lvt_[i];
  const unsigned mode = (l >> 8) & 7;
  if (mode == kDeliverExtInt) {
    if (level) changed();  // always level-sensitive: interrupt_pending() asks the PIC
    return;
  }
  const bool active_low = l & kLvtActiveLow;
  const bool asserted = level != active_low, was = old != active_low;
  if (mode == kDeliverFixed && (l & kLvtLevel)) {
    if (asserted && !(l & kLvtRemoteIrr)) local_interrupt(i);
  } else if (asserted && !was) {
    local_interrupt(i);  // NMI, SMI, INIT and edge-triggered fixed inputs
  }
}

bool Lapic::matches(bool logical, uint8_t dest) const {
  if (!logical) return dest == 0xFF || dest == id_;
  if (dest == 0xFF) return true;
  const uint8_t ldr = static_cast<uint8_t>(ldr_ >> 24);
  if ((dfr_ >> 28) == 0xF) return (ldr & dest) != 0;  // flat model
  // Cluster model: bits 7:4 name the cluster, 3:0 the members (SDM Vol. 3 §10.6.2.2).
  return (dest >> 4) == (ldr >> 4) && (dest & ldr & 0xF) != 0;
}

bool Lapic::deliver(const ApicMessage& msg) {
  if (!globally_enabled() || !matches(msg.logical, msg.dest)) return false;
  switch (msg.delivery_mode) {
    case kDeliverFixed:
    case kDeliverLowest:
      return accept(msg.vector, msg.level);
    case kDeliverNmi:
      m_.raise_nmi();
      return true;
    default:
      m_.report_once(fmt::format("lapic-msg-{}", msg.delivery_mode),
                     fmt::format("local APIC: interrupt messages with delivery mode {} are ignored", msg.delivery_mode));
      return false;
  }
}

void Lapic::write_icr(uint32_t lo) {
  // Delivery status always reads idle: delivery is immediate.
  icr_lo_ = lo & ~kLvtDeliveryStatus;
  const uint8_t vector = static_cast<uint8_t>(lo);
  const unsigned mode = (lo >> 8) & 7;
  const bool logical = lo & (1u << 11);
  const unsigned shorthand = (lo >> 18) & 3;
  const uint8_t dest = static_cast<uint8_t>(icr_hi_ >> 24);
  if ((mode == kDeliverFixed || mode == kDeliverLowest) && vector < 16) {
    raise_error(kEsrSendIllegalVector);
    return;
  }
  bool to_self;
  switch (shorthand) {
    case 1: case 2: to_self = true; break;  // self; all including self
    case 3: to_self = false; break;         // all excluding self: nobody else here
    default: to_self = matches(logical, dest); break;
  }
  // Other CPUs do not exist: INIT and SIPI to them go nowhere, so a BIOS counts one CPU.
  if (!to_self) return;
  switch (mode) {
    case kDeliverFixed:
    case kDeliverLowest:
      accept(vector, false);  // IPIs are edge-triggered
      break;
    case kDeliverNmi: m_.raise_nmi(); break;
    default:
      m_.report_once(fmt::format("lapic-ipi-self-{}", mode),
                     fmt::format("local APIC: an IPI to itself with delivery mode {} is ignored", mode));
      break;
  }
}

void Lapic::write_cr8(uint64_t v) {
  tpr_ = static_cast<uint8_t>((v & 0xF) << 4);
  m_.cpu().cr8 = v & 0xF;
  changed();
}

// ---- the timer ---------------------------------------------------------------------------------

uint64_t Lapic::timer_tick_ns() const {
  // Divide configuration bits 3, 1, 0 (SDM Vol. 3 Figure 10-10): 000 = 2 ... 110 = 128, 111 = 1.
  const unsigned code = ((timer_divide_ >> 1) & 4) | (timer_divide_ & 3);
  const uint64_t divisor = code == 7 ? 1 : 2ull << code;
  return kTimerTickNs * divisor;
}

void Lapic::start_timer(uint64_t now) {
  timer_start_ns_ = now;
  timer_running_ = true;
  schedule_timer();
}

uint32_t Lapic::timer_current_count() {
  if (!timer_running_ || timer_mode() == 2 || timer_initial_ == 0) return 0;
  const uint64_t now = m_.now_ns();
  const uint64_t ticks = now > timer_start_ns_ ? (now - timer_start_ns_) / timer_tick_ns() : 0;
  if (timer_mode() == 1) return static_cast<uint32_t>(timer_initial_ - ticks % timer_initial_);
  return ticks >= timer_initial_ ? 0 : static_cast<uint32_t>(timer_initial_ - ticks);
}

uint64_t Lapic::timer_deadline_ns() const { return m_.timers().deadline(timer_); }

void Lapic::schedule_timer() {
  TimerQueue& q = m_.timers();
  if (timer_mode() == 2) {
    if (!tsc_deadline_) {
      q.disarm(timer_);
      return;
    }
    const CpuState& c = m_.cpu();
    const uint64_t now = m_.now_ns();
    const uint64_t tsc_now = m_.clock().tsc(c.icount) + c.tsc_offset;
    // The TSC counts 1 per ns (Clock::kTscHz): the deadline is that many ns away.
    q.arm(timer_, tsc_deadline_ > tsc_now ? now + (tsc_deadline_ - tsc_now) : now);
    return;
  }
  if (!timer_running_ || timer_initial_ == 0) {
    q.disarm(timer_);
    return;
  }
  const uint64_t period = static_cast<uint64_t>(timer_initial_) * timer_tick_ns();
  if (timer_mode() == 1) {
    const uint64_t now = m_.now_ns();
    const uint64_t k = now > timer_start_ns_ ? (now - timer_start_ns_) / period : 0;
    q.arm(timer_, timer_start_ns_ + (k + 1) * period);
  } else {
    q.arm(timer_, timer_start_ns_ + period);
  }
}

void Lapic::timer_fired(uint64_t now) {
  if (timer_mode() == 2) {
    if (!tsc_deadline_) return;
    tsc_deadline_ = 0;  // the MSR reads 0 once the timer has fired (SDM Vol. 3 §10.5.4.1)
    local_interrupt(kLvtTimer);
    return;
  }
  if (!timer_running_ || timer_initial_ == 0) return;
  if (timer_mode() == 1) {
    // Periodic: the count reloads; late callbacks catch up to the latest reload.
    const uint64_t period = static_cast<uint64_t>(timer_initial_) * timer_tick_ns();
    if (now > timer_start_ns_) timer_start_ns_ += (now - timer_start_ns_) / period * period;
    local_interrupt(kLvtTimer);
    schedule_timer();
  } else {
    timer_running_ = false;  // one-shot: the count stays at 0
    local_interrupt(kLvtTimer);
  }
}

uint64_t Lapic::read_tsc_deadline() const { return timer_mode() == 2 ? tsc_deadline_ : 0; }

void Lapic::write_tsc_deadline(uint64_t tsc) {
  // Outside TSC-deadline mode writes are ignored (SDM Vol. 3 §10.5.4.1).
  if (timer_mode() != 2) return;
  tsc_deadline_ = tsc;
  schedule_timer();
}

}  // namespace kestrel::machine
