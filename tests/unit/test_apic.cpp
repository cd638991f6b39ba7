// machine/devices/lapic and ioapic: registers after reset, IA32_APIC_BASE
// (relocation, global disable), CR8 and TPR, the priority rules, the timer in its
// three modes on the virtual clock, self-IPIs, IOAPIC routing (edge, level with
// remote IRR and EOI), the 8259 through LINT0, and interrupts taken by the run loop.
#include <doctest/doctest.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "interp/interpreter.h"
#include "jit/jit.h"
#include "machine/board.h"
#include "machine/cpu_model.h"
#include "machine/devices/ioapic.h"
#include "machine/devices/lapic.h"
#include "machine/devices/pic8259.h"
#include "machine/devices/pit8254.h"
#include "machine/machine.h"
#include "machine/msr.h"
#include "machine/segments.h"
#include "test_machine.h"

using namespace kestrel;
using namespace kestrel::machine;

namespace {

constexpr uint64_t kApic = Lapic::kDefaultBase;
constexpr uint64_t kIoApic = IoApic::kDefaultBase;

// A 16 MiB PC board (default CPU model: it has an APIC) with an interpreter.
struct Board {
  std::unique_ptr<Machine> m;
  BoardDevices dev;
  std::unique_ptr<interp::Interpreter> it;

  Board() {
    m = test::new_machine(16ull << 20);
    dev = build_basic_board(*m);
    REQUIRE(dev.lapic);
    REQUIRE(dev.ioapic);
    it = std::make_unique<interp::Interpreter>(*m);
  }
  CpuState& cpu() { return m->cpu(); }
  Lapic& apic() { return *dev.lapic; }
  uint32_t rd(uint32_t reg) { return static_cast<uint32_t>(m->bus().read_uint(kApic + reg, 4)); }
  void wr(uint32_t reg, uint32_t v) { m->bus().write_uint(kApic + reg, v, 4); }
  uint32_t io_rd(uint8_t index) {
    m->bus().write_uint(kIoApic, index, 4);
    return static_cast<uint32_t>(m->bus().read_uint(kIoApic + 0x10, 4));
  }
  void io_wr(uint8_t index, uint32_t v) {
    m->bus().write_uint(kIoApic, index, 4);
    m->bus().write_uint(kIoApic + 0x10, v, 4);
  }
  void rte(unsigned pin, uint32_t lo, uint8_t dest = 0) {
    io_wr(static_cast<uint8_t>(0x11 + 2 * pin), static_cast<uint32_t>(dest) << 24);
    io_wr(static_cast<uint8_t>(0x10 + 2 * pin), lo);
  }
  void enable() { wr(Lapic::kRegSvr, 0x1FF); }  // software-enabled, spurious vector 0xFF
  // Lets virtual time pass (as a halted CPU does) and fires the timers that are due.
  void advance_to(uint64_t ns) {
    m->clock().idle_until(ns, cpu().icount);
    m->timers().run_expired(m->now_ns());
  }
  void advance(uint64_t ns) { advance_to(m->now_ns() + ns); }
  // Acknowledge as the CPU does, then EOI.
  int take() {
    if (!apic().interrupt_pending()) return -1;
    return apic().acknowledge();
  }
  void poke(uint64_t addr, std::initializer_list<uint8_t> bytes) {
    std::vector<uint8_t> b(bytes);
    m->bus().write(addr, b.data(), b.size());
  }
};

}  // namespace

TEST_CASE("lapic: power-up state and the register window") {
  Board b;
  CHECK(b.cpu().msr_apic_base == 0xFEE00900);
  CHECK(b.apic().base() == kApic);
  CHECK(b.rd(Lapic::kRegId) == 0);
  CHECK(b.rd(Lapic::kRegVersion) == 0x00050014);
  CHECK(b.rd(Lapic::kRegSvr) == 0xFF);
  CHECK(b.rd(Lapic::kRegDfr) == 0xFFFFFFFF);
  CHECK(b.rd(Lapic::kRegTpr) == 0);
  for (uint32_t reg = Lapic::kRegLvtTimer; reg <= Lapic::kRegLvtError; reg += 0x10)
    CHECK(b.rd(reg) == Lapic::kLvtMasked);
  // Bytes 4-15 of a register read as zero; a byte read sees the register's low byte.
  CHECK(b.m->bus().read_uint(kApic + Lapic::kRegVersion + 4, 4) == 0);
  CHECK(b.m->bus().read_uint(kApic + Lapic::kRegVersion, 1) == 0x14);
  // The IOAPIC: ID 0, 24 entries, all masked.
  CHECK(b.io_rd(0x01) == 0x00170011);
  CHECK(b.io_rd(0x00) == 0);
  CHECK(b.io_rd(0x10) == 0x10000);
  CHECK(b.io_rd(0x10 + 2 * 23) == 0x10000);
  // The machine's interrupt controller is the local APIC.
  CHECK(b.m->interrupt_controller() == &b.apic());
}

TEST_CASE("lapic: CPUID advertises the APIC, TSC-deadline, ARAT and the TSC frequency") {
  Board b;
  const CpuModel& model = b.m->cpu_model();
  uint32_t r[4];
  model.cpuid(0, 0, r);
  CHECK(r[0] >= 0x16);
  model.cpuid(1, 0, r);
  CHECK((r[3] >> 9 & 1) == 1);   // APIC
  CHECK((r[2] >> 24 & 1) == 1);  // TSC_DEADLINE
  CHECK((r[2] >> 21 & 1) == 0);  // no x2APIC
  model.cpuid(6, 0, r);
  CHECK((r[0] >> 2 & 1) == 1);   // ARAT
  model.cpuid(0x15, 0, r);
  REQUIRE(r[0] != 0);
  CHECK(r[2] == Lapic::kTimerHz);                                         // crystal = APIC timer clock
  CHECK(static_cast<uint64_t>(r[2]) * r[1] / r[0] == Clock::kTscHz);     // TSC = crystal * EBX / EAX
  model.cpuid(0x16, 0, r);
  CHECK(r[0] == Clock::kTscHz / 1'000'000);
  model.cpuid(0x80000007, 0, r);
  CHECK((r[3] >> 8 & 1) == 1);   // invariant TSC
}

TEST_CASE("lapic: IA32_APIC_BASE relocation, reserved bits and global disable") {
  Board b;
  CpuState& c = b.cpu();
  uint64_t v = 0;
  REQUIRE(read_msr(c, kMsrApicBase, v));
  CHECK(v == 0xFEE00900);
  // Reserved bits: bit 10 (x2APIC, not offered), bits above the physical-address width.
  CHECK_FALSE(write_msr(c, kMsrApicBase, 0xFEE00900 | (1u << 10)));
  CHECK(c.exc.vector == kVecGP);
  CHECK_FALSE(write_msr(c, kMsrApicBase, 0xFEE00900 | (1ull << 45)));

  // Relocate: the registers follow, RAM-less space behind the old window reads all-ones.
  b.wr(Lapic::kRegTpr, 0x20);
  REQUIRE(write_msr(c, kMsrApicBase, 0xFED00000 | 0x800));
  REQUIRE(read_msr(c, kMsrApicBase, v));
  CHECK(v == 0xFED00900);  // the BSP flag is read-only
  CHECK(b.apic().base() == 0xFED00000);
  CHECK(b.m->bus().read_uint(0xFED00000 + Lapic::kRegTpr, 4) == 0x20);
  CHECK(b.m->bus().read_uint(kApic + Lapic::kRegTpr, 4) == 0xFFFFFFFF);
  // Into RAM (16 MiB board): the window hides the RAM page while it is there.
  b.m->bus().write_uint(0x800000, 0x12345678, 4);
  REQUIRE(write_msr(c, kMsrApicBase, 0x800000 | 0x800));
  CHECK(b.m->bus().read_uint(0x800000 + Lapic::kRegVersion, 4) == Lapic::kVersion);
  REQUIRE(write_msr(c, kMsrApicBase, kApic | 0x800));
  CHECK(b.m->bus().read_uint(0x800000, 4) == 0x12345678);

  // Global disable: no registers, the power-up state again on re-enable.
  b.enable();
  REQUIRE(write_msr(c, kMsrApicBase, kApic));
  CHECK_FALSE(b.apic().globally_enabled());
  CHECK(b.m->bus().read_uint(kApic + Lapic::kRegVersion, 4) == 0xFFFFFFFF);
  REQUIRE(write_msr(c, kMsrApicBase, kApic | 0x800));
  CHECK(b.rd(Lapic::kRegSvr) == 0xFF);
  CHECK(b.rd(Lapic::kRegTpr) == 0);
}

TEST_CASE("lapic: CR8 is TPR[7:4]") {
  Board b;
  b.wr(Lapic::kRegTpr, 0x5A);
  CHECK(b.m->read_cr8() == 5);
  CHECK(b.cpu().cr8 == 5);
  b.m->write_cr8(0xC);
  CHECK(b.rd(Lapic::kRegTpr) == 0xC0);
  CHECK(b.apic().tpr() == 0xC0);
}

TEST_CASE("lapic: priority rules, acknowledge and EOI") {
  Board b;
  b.enable();
  // Self-IPIs through the ICR: shorthand "self", fixed.
  auto self_ipi = [&](uint8_t vector) { b.wr(Lapic::kRegIcrLo, (1u << 18) | (1u << 14) | vector); };
  self_ipi(0x45);
  self_ipi(0x61);
  CHECK(b.apic().irr_bit(0x45));
  CHECK(b.apic().irr_bit(0x61));
  CHECK(b.rd(Lapic::kRegIrr + 0x20) == (1u << 5));  // vector 0x45: word 2, bit 5
  // TPR 0x50 holds back class 4 and below.
  b.wr(Lapic::kRegTpr, 0x50);
  CHECK(b.take() == 0x61);
  CHECK(b.apic().isr_bit(0x61));
  CHECK(b.rd(Lapic::kRegPpr) == 0x60);
  CHECK_FALSE(b.apic().interrupt_pending());  // 0x45 waits: PPR 0x60
  b.wr(Lapic::kRegEoi, 0);
  CHECK_FALSE(b.apic().isr_bit(0x61));
  CHECK(b.rd(Lapic::kRegPpr) == 0x50);
  CHECK_FALSE(b.apic().interrupt_pending());  // TPR still 0x50
  b.m->write_cr8(4);                          // TPR 0x40: class 4 still blocked (needs > PPR)
  CHECK_FALSE(b.apic().interrupt_pending());
  b.m->write_cr8(3);
  CHECK(b.take() == 0x45);
  b.wr(Lapic::kRegEoi, 0);
  CHECK(b.take() == -1);

  // Nested: a higher class interrupts a lower one in service; EOI clears the highest ISR bit.
  b.m->write_cr8(0);
  self_ipi(0x30);
  CHECK(b.take() == 0x30);
  self_ipi(0x31);                             // same class as the one in service: waits
  CHECK_FALSE(b.apic().interrupt_pending());
  self_ipi(0x80);
  CHECK(b.take() == 0x80);
  b.wr(Lapic::kRegEoi, 0);                    // ends 0x80
  CHECK(b.apic().isr_bit(0x30));
  b.wr(Lapic::kRegEoi, 0);                    // ends 0x30
  CHECK(b.take() == 0x31);

  // Illegal vectors: not accepted, ESR reports after a write.
  self_ipi(0x05);
  CHECK_FALSE(b.apic().irr_bit(0x05));
  b.wr(Lapic::kRegEsr, 0);
  CHECK((b.rd(Lapic::kRegEsr) & (1u << 5)) != 0);  // send illegal vector
  b.wr(Lapic::kRegEsr, 0);
  CHECK(b.rd(Lapic::kRegEsr) == 0);

  // IPIs to nobody (INIT/SIPI to all but self, a fixed IPI to APIC ID 3) go nowhere.
  b.wr(Lapic::kRegIcrLo, 0x000C4500);
  b.wr(Lapic::kRegIcrLo, 0x000C4608);
  b.wr(Lapic::kRegIcrHi, 3u << 24);
  b.wr(Lapic::kRegIcrLo, 0x4070);
  CHECK_FALSE(b.apic().irr_bit(0x70));
  CHECK((b.rd(Lapic::kRegIcrLo) & (1u << 12)) == 0);  // delivery status idle
}

TEST_CASE("lapic: software disable masks the LVT and refuses new interrupts") {
  Board b;
  b.enable();
  b.wr(Lapic::kRegLvtTimer, 0x40);
  CHECK(b.rd(Lapic::kRegLvtTimer) == 0x40);
  b.wr(Lapic::kRegSvr, 0xFF);  // explicit software disable
  CHECK(b.rd(Lapic::kRegLvtTimer) == (Lapic::kLvtMasked | 0x40));
  b.wr(Lapic::kRegLvtTimer, 0x41);  // the mask stays set
  CHECK(b.rd(Lapic::kRegLvtTimer) == (Lapic::kLvtMasked | 0x41));
  b.wr(Lapic::kRegIcrLo, (1u << 18) | 0x50);
  CHECK_FALSE(b.apic().irr_bit(0x50));
}

TEST_CASE("lapic: one-shot timer fires at initial count x divisor x 40 ns") {
  Board b;
  b.enable();
  b.wr(Lapic::kRegLvtTimer, 0x40);
  b.wr(Lapic::kRegTimerDivide, 0xB);  // divide by 1
  const uint64_t t0 = b.m->now_ns();
  b.wr(Lapic::kRegTimerInitial, 1000);
  CHECK(b.apic().timer_deadline_ns() == t0 + 1000 * Lapic::kTimerTickNs);
  b.advance_to(t0 + 400 * Lapic::kTimerTickNs);
  CHECK(b.rd(Lapic::kRegTimerCurrent) == 600);
  CHECK_FALSE(b.apic().irr_bit(0x40));
  b.advance_to(t0 + 1000 * Lapic::kTimerTickNs - 1);
  CHECK_FALSE(b.apic().irr_bit(0x40));
  b.advance_to(t0 + 1000 * Lapic::kTimerTickNs);
  CHECK(b.apic().irr_bit(0x40));
  CHECK(b.rd(Lapic::kRegTimerCurrent) == 0);
  CHECK(b.take() == 0x40);
  b.advance(10'000'000);
  CHECK_FALSE(b.apic().irr_bit(0x40));  // one shot only

  // Divide by 16 (Linux's choice): 16 x 40 ns per count.
  b.wr(Lapic::kRegEoi, 0);
  b.wr(Lapic::kRegTimerDivide, 0x3);
  const uint64_t t1 = b.m->now_ns();
  b.wr(Lapic::kRegTimerInitial, 100);
  CHECK(b.apic().timer_deadline_ns() == t1 + 100 * 16 * Lapic::kTimerTickNs);
  // Writing 0 stops it.
  b.wr(Lapic::kRegTimerInitial, 0);
  b.advance(1'000'000);
  CHECK_FALSE(b.apic().irr_bit(0x40));
}

TEST_CASE("lapic: periodic timer reloads") {
  Board b;
  b.enable();
  b.wr(Lapic::kRegLvtTimer, (1u << 17) | 0x41);
  b.wr(Lapic::kRegTimerDivide, 0x0);  // divide by 2
  const uint64_t t0 = b.m->now_ns();
  const uint64_t period = 500 * 2 * Lapic::kTimerTickNs;
  b.wr(Lapic::kRegTimerInitial, 500);
  int fired = 0;
  for (int i = 1; i <= 5; ++i) {
    b.advance_to(t0 + i * period - 1);
    CHECK_FALSE(b.apic().irr_bit(0x41));
    b.advance_to(t0 + i * period);
    if (b.take() == 0x41) ++fired;
    b.wr(Lapic::kRegEoi, 0);
  }
  CHECK(fired == 5);
  b.advance_to(t0 + 5 * period + period / 2);
  CHECK(b.rd(Lapic::kRegTimerCurrent) == 250);
  // A masked timer keeps counting but raises nothing.
  b.wr(Lapic::kRegLvtTimer, Lapic::kLvtMasked | (1u << 17) | 0x41);
  b.advance(3 * period);
  CHECK_FALSE(b.apic().irr_bit(0x41));
}

TEST_CASE("lapic: TSC-deadline mode") {
  Board b;
  CpuState& c = b.cpu();
  b.enable();
  uint64_t v = 1;
  // Outside TSC-deadline mode the MSR reads 0 and ignores writes.
  REQUIRE(write_msr(c, kMsrTscDeadline, 12345));
  REQUIRE(read_msr(c, kMsrTscDeadline, v));
  CHECK(v == 0);
  b.wr(Lapic::kRegLvtTimer, (2u << 17) | 0x42);
  CHECK(b.rd(Lapic::kRegLvtTimer) == ((2u << 17) | 0x42));
  uint64_t tsc = 0;
  REQUIRE(read_msr(c, kMsrTsc, tsc));
  const uint64_t t0 = b.m->now_ns();
  REQUIRE(write_msr(c, kMsrTscDeadline, tsc + 5000));
  REQUIRE(read_msr(c, kMsrTscDeadline, v));
  CHECK(v == tsc + 5000);
  CHECK(b.apic().timer_deadline_ns() == t0 + 5000);  // 1 GHz TSC
  CHECK(b.rd(Lapic::kRegTimerCurrent) == 0);
  b.wr(Lapic::kRegTimerInitial, 1000);               // ignored in this mode
  CHECK(b.rd(Lapic::kRegTimerInitial) == 0);
  b.advance_to(t0 + 4999);
  CHECK_FALSE(b.apic().irr_bit(0x42));
  b.advance_to(t0 + 5000);
  CHECK(b.apic().irr_bit(0x42));
  REQUIRE(read_msr(c, kMsrTscDeadline, v));
  CHECK(v == 0);  // disarmed once it fired
  CHECK(b.take() == 0x42);
  b.wr(Lapic::kRegEoi, 0);
  // A deadline in the past fires at once; 0 disarms.
  REQUIRE(read_msr(c, kMsrTsc, tsc));
  REQUIRE(write_msr(c, kMsrTscDeadline, tsc - 10));
  b.advance(0);
  CHECK(b.apic().irr_bit(0x42));
  b.take();
  b.wr(Lapic::kRegEoi, 0);
  REQUIRE(write_msr(c, kMsrTscDeadline, tsc + 100000));
  REQUIRE(write_msr(c, kMsrTscDeadline, 0));
  b.advance(200000);
  CHECK_FALSE(b.apic().irr_bit(0x42));
  // A written TSC moves the deadline's meaning with it.
  REQUIRE(write_msr(c, kMsrTsc, 1'000'000'000));
  const uint64_t t1 = b.m->now_ns();
  REQUIRE(write_msr(c, kMsrTscDeadline, 1'000'000'000 + 7000));
  CHECK(b.apic().timer_deadline_ns() == t1 + 7000);
  // Leaving TSC-deadline mode disarms it.
  b.wr(Lapic::kRegLvtTimer, 0x42);
  b.advance(10000);
  CHECK_FALSE(b.apic().irr_bit(0x42));
}

TEST_CASE("ioapic: ISA lines reach their pins; edge and level delivery") {
  Board b;
  b.enable();
  // IRQ 0 arrives on pin 2 (the MADT's override).
  b.rte(2, 0x30);
  b.m->isa_irq(0).pulse();
  CHECK(b.take() == 0x30);
  b.wr(Lapic::kRegEoi, 0);
  // IRQ 4 on pin 4, physical destination 0; an edge while masked is lost.
  b.rte(4, IoApic::kRteMasked | 0x34);
  b.m->isa_irq(4).pulse();
  b.rte(4, 0x34);
  CHECK(b.take() == -1);
  b.m->isa_irq(4).pulse();
  CHECK(b.take() == 0x34);
  CHECK_FALSE(b.apic().irr_bit(0x34));
  b.wr(Lapic::kRegEoi, 0);
  // A destination that is not our APIC: nothing arrives.
  b.rte(4, 0x34, 5);
  b.m->isa_irq(4).pulse();
  CHECK(b.take() == -1);
  // Logical destination (flat model): LDR bit 0 matches destination 0x01.
  b.wr(Lapic::kRegLdr, 0x01000000);
  b.rte(4, (1u << 11) | 0x35, 0x01);
  b.m->isa_irq(4).pulse();
  CHECK(b.take() == 0x35);
  b.wr(Lapic::kRegEoi, 0);

  // Level pin 9: remote IRR until the EOI; still asserted after the EOI: again.
  b.rte(9, IoApic::kRteLevel | 0x39);
  b.m->isa_irq(9).raise();
  CHECK((b.dev.ioapic->redirection(9) & IoApic::kRteRemoteIrr) != 0);
  CHECK(b.take() == 0x39);
  CHECK((b.rd(Lapic::kRegTmr + 0x10) >> (0x39 - 32) & 1) == 1);  // TMR says level
  b.wr(Lapic::kRegEoi, 0);
  CHECK(b.apic().irr_bit(0x39));  // redelivered: the line is still high
  CHECK(b.take() == 0x39);
  b.m->isa_irq(9).lower();
  b.wr(Lapic::kRegEoi, 0);
  CHECK((b.dev.ioapic->redirection(9) & IoApic::kRteRemoteIrr) == 0);
  CHECK(b.take() == -1);
  // Unmasking an asserted level pin delivers; edge-then-level clears a stuck remote IRR.
  b.rte(9, IoApic::kRteMasked | IoApic::kRteLevel | 0x39);
  b.m->isa_irq(9).raise();
  CHECK(b.take() == -1);
  b.rte(9, IoApic::kRteLevel | 0x39);
  CHECK(b.take() == 0x39);
  b.rte(9, IoApic::kRteMasked | 0x39);
  CHECK((b.dev.ioapic->redirection(9) & IoApic::kRteRemoteIrr) == 0);
  // Active-low polarity inverts the (active-high) line.
  b.m->isa_irq(9).lower();
  b.wr(Lapic::kRegEoi, 0);
  b.rte(10, IoApic::kRteActiveLow | IoApic::kRteLevel | 0x3A);
  CHECK(b.take() == 0x3A);  // the idle line reads as asserted
}

TEST_CASE("lapic: the 8259 reaches the CPU through LINT0") {
  Board b;
  Pic8259Pair& pic = *b.dev.pic;
  // Initialise the master PIC: vectors 0x08-0x0F, unmask IRQ 1.
  PortBus& io = b.m->ports();
  io.out(0x20, 0x11, 1);
  io.out(0x21, 0x08, 1);
  io.out(0x21, 0x04, 1);
  io.out(0x21, 0x01, 1);
  io.out(0x21, 0xFD, 1);
  io.out(0xA0, 0x11, 1);
  io.out(0xA1, 0x70, 1);
  io.out(0xA1, 0x02, 1);
  io.out(0xA1, 0x01, 1);
  io.out(0xA1, 0xFF, 1);
  (void)pic;
  // Power-up state: the PIC's requests reach the core although LINT0 is masked.
  b.m->isa_irq(1).pulse();
  CHECK(b.apic().interrupt_pending());
  CHECK(b.apic().acknowledge() == 0x09);
  io.out(0x20, 0x20, 1);  // EOI at the PIC
  // Software-enabled with LINT0 masked: the PIC is cut off.
  b.enable();
  b.m->isa_irq(1).pulse();
  CHECK_FALSE(b.apic().interrupt_pending());
  // LINT0 as ExtINT (virtual wire, what a BIOS sets up): the PIC's vector, ignoring TPR.
  b.wr(Lapic::kRegLvtLint0, 0x8700);
  CHECK(b.apic().interrupt_pending());
  b.m->write_cr8(15);
  CHECK(b.apic().interrupt_pending());
  CHECK(b.apic().acknowledge() == 0x09);
  io.out(0x20, 0x20, 1);
  CHECK_FALSE(b.apic().interrupt_pending());
  // Globally disabled: the PIC is wired straight to INTR.
  REQUIRE(write_msr(b.cpu(), kMsrApicBase, kApic));
  b.m->isa_irq(1).pulse();
  CHECK(b.apic().interrupt_pending());
  CHECK(b.apic().acknowledge() == 0x09);
}

TEST_CASE("lapic: the run loop takes a timer interrupt at the programmed virtual time") {
  Board b;
  CpuState& c = b.cpu();
  // Real mode at 0000:7C00: STI; HLT; JMP back to HLT. The handler for vector 0x40
  // stores AL+1 at 0x500 and IRETs.
  load_segment_real(c, CS, 0);
  load_segment_real(c, SS, 0);
  load_segment_real(c, DS, 0);
  c.gpr[RSP] = 0x7000;
  c.rip = 0x7C00;
  b.poke(0x7C00, {0xFB, 0xF4, 0xEB, 0xFD});
  b.poke(0x8000, {0xFE, 0x06, 0x00, 0x05, 0xCF});  // inc byte [0x500]; iret
  b.m->bus().write_uint(0x40 * 4, 0x8000, 2);
  b.m->bus().write_uint(0x40 * 4 + 2, 0, 2);
  b.enable();
  b.wr(Lapic::kRegLvtTimer, 0x40);
  b.wr(Lapic::kRegTimerDivide, 0xB);
  const uint64_t deadline = b.m->now_ns() + 250'000 * Lapic::kTimerTickNs;  // 10 ms
  b.wr(Lapic::kRegTimerInitial, 250'000);
  const interp::StopReason why = b.it->run(100000);
  CHECK(why == interp::StopReason::HaltedNoInterrupts);  // back in HLT, nothing else armed
  CHECK(b.m->bus().read_uint(0x500, 1) == 1);
  CHECK(b.apic().isr_bit(0x40));  // the handler did not EOI
  const uint64_t now = b.m->now_ns();
  CHECK(now >= deadline);
  CHECK(now < deadline + 100);  // a few instructions after the deadline
}

TEST_CASE("lapic: the PIT's IRQ 0 through the IOAPIC and through the 8259") {
  Board b;
  PortBus& io = b.m->ports();
  // PIT channel 0, mode 2, count 1193 (about 1 ms).
  io.out(0x43, 0x34, 1);
  io.out(0x40, 1193 & 0xFF, 1);
  io.out(0x40, 1193 >> 8, 1);
  b.enable();
  b.rte(2, 0x50);
  b.advance(1'000'000);
  CHECK(b.take() == 0x50);
  b.wr(Lapic::kRegEoi, 0);
  b.advance(1'000'000);
  CHECK(b.take() == 0x50);
}

TEST_CASE("lapic: guest code programs a periodic timer through MMIO and EOIs in its handler") {
  Board b;
  jit::Jit jit;
  SUBCASE("interpreter") {}
  SUBCASE("jit") { b.it->set_compiler(&jit, 0); }
  CpuState& c = b.cpu();
  // Real mode with a 4 GiB DS limit ("unreal"), so 0x67-prefixed stores reach 0xFEE00000.
  load_segment_real(c, CS, 0);
  load_segment_real(c, SS, 0);
  load_segment_real(c, DS, 0);
  c.seg[DS].limit = 0xFFFFFFFF;
  refresh_segment(c, c.seg[DS]);
  c.gpr[RSP] = 0x7000;
  c.rip = 0x7C00;
  b.poke(0x7C00, {0x66, 0x67, 0xC7, 0x05, 0xF0, 0x00, 0xE0, 0xFE, 0xFF, 0x01, 0x00, 0x00,   // SVR = 0x1FF
                  0x66, 0x67, 0xC7, 0x05, 0xE0, 0x03, 0xE0, 0xFE, 0x0B, 0x00, 0x00, 0x00,   // divide by 1
                  0x66, 0x67, 0xC7, 0x05, 0x20, 0x03, 0xE0, 0xFE, 0x40, 0x00, 0x02, 0x00,   // LVT: periodic, 0x40
                  0x66, 0x67, 0xC7, 0x05, 0x80, 0x03, 0xE0, 0xFE, 0xC4, 0x09, 0x00, 0x00,   // count 2500 (100 us)
                  0xFB,                                                                     // sti
                  0xF4,                                                                     // hlt
                  0x80, 0x3E, 0x00, 0x05, 0x05,                                             // cmp byte [0x500], 5
                  0x72, 0xF8,                                                               // jb hlt
                  0xFA,                                                                     // cli
                  0x66, 0x67, 0xC7, 0x05, 0x80, 0x03, 0xE0, 0xFE, 0x00, 0x00, 0x00, 0x00,   // count 0: stop
                  0xF4});                                                                   // hlt
  b.poke(0x8000, {0xFE, 0x06, 0x00, 0x05,                                                   // inc byte [0x500]
                  0x66, 0x67, 0xC7, 0x05, 0xB0, 0x00, 0xE0, 0xFE, 0x00, 0x00, 0x00, 0x00,   // EOI
                  0xCF});                                                                   // iret
  b.m->bus().write_uint(0x40 * 4, 0x8000, 2);
  b.m->bus().write_uint(0x40 * 4 + 2, 0, 2);
  CHECK(b.it->run(100000) == interp::StopReason::HaltedNoInterrupts);
  CHECK(b.m->bus().read_uint(0x500, 1) == 5);
  CHECK_FALSE(b.apic().isr_bit(0x40));
  const uint64_t now = b.m->now_ns();
  CHECK(now >= 5 * 100'000);
  CHECK(now < 5 * 100'000 + 200);
  CHECK(b.rd(Lapic::kRegTimerCurrent) == 0);
}
