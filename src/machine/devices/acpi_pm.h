// The ACPI fixed-feature hardware: the PM1a event block (status and enable), the
// PM1a control block and the power-management timer, laid out as on the PIIX4
// (PM base + 0, + 2, + 4 and + 8; base 0x600 on our board, as QEMU's).
//
// - The PM timer counts at 3.579545 MHz from the machine's virtual clock, 32 bits
//   wide (the FADT sets TMR_VAL_EXT); TMR_STS is set each time bit 31 changes.
// - The SCI is a level-triggered interrupt on an ISA line (IRQ 9, active high, as
//   the MADT's override says): asserted while SCI_EN is set and an enabled status
//   bit (timer, global lock, power button, sleep button, RTC) is set.
// - The machine has no SMM: the FADT's SMI_CMD is 0, so the system is always in
//   ACPI mode and SCI_EN starts set (ACPI 6.4 §4.8.2.5, "hardware-only" mode).
// - Writing SLP_EN with the S5 sleep type of the DSDT's \_S5 powers the machine
//   off (request_stop with status 0); other sleep types wake at once (WAK_STS).
//
// Reference: ACPI 6.4 §4.8 (fixed hardware registers), Tables 4.13-4.16.
#pragma once

#include <cstdint>

#include "machine/device.h"
#include "machine/irq.h"
#include "machine/port_bus.h"

namespace kestrel::machine {

class Machine;

class AcpiPm final : public Device, public PortDevice {
 public:
  static constexpr uint16_t kDefaultBase = 0x600;
  static constexpr uint16_t kPm1EvtOffset = 0, kPm1CntOffset = 4, kPmTmrOffset = 8, kSize = 12;
  static constexpr uint64_t kTimerHz = 3'579'545;
  static constexpr uint8_t kS5SleepType = 5;  // the DSDT's \_S5 package says the same
  // PM1 status / enable bits (ACPI 6.4 Tables 4.13, 4.14).
  static constexpr uint16_t kTmr = 1u << 0, kBm = 1u << 4, kGbl = 1u << 5, kPwrBtn = 1u << 8, kSlpBtn = 1u << 9,
                            kRtc = 1u << 10, kPciExpWake = 1u << 14, kWak = 1u << 15;
  // PM1 control bits (Table 4.16).
  static constexpr uint16_t kSciEn = 1u << 0, kBmRld = 1u << 1, kGblRls = 1u << 2, kSlpEn = 1u << 13;

  AcpiPm(Machine& m, IrqLine* sci, uint16_t base = kDefaultBase);
  void attach(PortBus& ports);
  // Moves the block to `base` (the PIIX4's PMBASE), or takes it off the bus (`enabled` false,
  // PMREGMISC.PMIOSE clear). Ports are only released while this block still owns them.
  void relocate(PortBus& ports, uint16_t base, bool enabled);
  uint16_t base() const { return base_; }
  bool attached() const { return attached_; }

  const char* name() const override { return "acpi-pm"; }
  void reset() override;
  void save(StateWriter& w) const override;
  void load(StateReader& r) override;

  uint32_t port_in(uint16_t port, unsigned size) override;
  void port_out(uint16_t port, uint32_t value, unsigned size) override;

  // The fixed-feature power button was pressed (the host asks the guest to shut down).
  void press_power_button();

  uint32_t timer_value() const;  // the PM timer now
  uint16_t status() const;       // PM1 status with TMR_STS brought up to date
  uint16_t enable() const { return en_; }
  uint16_t control() const { return cnt_; }
  bool sci_level() const;

 private:
  uint64_t ticks() const;  // PM timer ticks since reset
  void write_byte(unsigned offset, uint8_t v);
  void update_sci();
  void schedule_timer_overflow();

  Machine& m_;
  IrqLine* sci_;
  uint16_t base_;
  bool attached_ = false;
  int timer_ = -1;
  uint16_t sts_ = 0, en_ = 0, cnt_ = 0;
  uint64_t tmr_epoch_ = 0;  // ticks >> 31 when TMR_STS was last cleared
};

}  // namespace kestrel::machine
