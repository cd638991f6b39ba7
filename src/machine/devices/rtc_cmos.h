// The MC146818 real-time clock and its CMOS RAM (ports 0x70/0x71, ISA IRQ 8).
//
// Time: the host's wall-clock time enters once, when the front end builds the
// machine (`start_unix_ns`); from then on the clock advances with the machine's
// virtual clock only (Machine::uptime_ns(), which keeps counting across resets, as
// the battery-backed chip does), so an instruction-counted run stays
// deterministic. The time registers are computed from that clock when read, in
// BCD or binary and 12- or 24-hour form as register B says; while B.SET is set
// they hold what was there or what the guest wrote, and clearing SET starts the
// clock from the written time. UIP (register A bit 7) is high during the last
// 244 us before each second's update.
//
// Interrupts (IRQ 8): the periodic (PF, rate from register A), alarm (AF, with
// "don't care" values >= 0xC0) and update-ended (UF) flags are worked out lazily
// from the clock when register C is read, and a timer on the virtual clock only
// runs while an enabled flag could raise the line. Reading C returns and clears
// the flags and drops the line. Bit 7 of a port 0x70 write is the NMI mask; it is
// kept (and readable through nmi_masked()) but nothing gates NMIs with it yet.
//
// The CMOS RAM holds what a BIOS would have set up (PC/AT CMOS layout, as QEMU and
// SeaBIOS use it): base and extended memory sizes (0x15-0x18, 0x30/0x31), memory
// above 16 MiB in 64 KiB units (0x34/0x35) and above 4 GiB (0x5B-0x5D), the
// equipment byte (0x14), no floppies (0x10), shutdown status (0x0F), century
// (0x32), CPU count - 1 (0x5F) and the checksum of 0x10-0x2D at 0x2E/0x2F.
//
// Reference: Motorola MC146818A data sheet (registers A-D, update cycle,
// interrupts); IBM PC/AT Technical Reference, "CMOS RAM Address Map".
#pragma once

#include <cstdint>

#include "machine/device.h"
#include "machine/irq.h"
#include "machine/port_bus.h"

namespace kestrel::machine {

class Machine;

class RtcCmos final : public Device, public PortDevice {
 public:
  static constexpr uint16_t kIndexPort = 0x70;
  static constexpr uint16_t kDataPort = 0x71;

  // Register numbers and bits.
  static constexpr uint8_t kRegA = 0x0A, kRegB = 0x0B, kRegC = 0x0C, kRegD = 0x0D;
  static constexpr uint8_t kAUip = 0x80;
  static constexpr uint8_t kBSet = 0x80, kBPie = 0x40, kBAie = 0x20, kBUie = 0x10, kBSqwe = 0x08,
                           kBBinary = 0x04, kB24h = 0x02, kBDse = 0x01;
  static constexpr uint8_t kCIrqf = 0x80, kCPf = 0x40, kCAf = 0x20, kCUf = 0x10;
  static constexpr uint8_t kCentury = 0x32;

  // 2024-01-01 00:00:00 UTC: the time of a machine whose front end gives none.
  static constexpr int64_t kDefaultStartUnixNs = 1704067200ll * 1'000'000'000;

  RtcCmos(Machine& m, IrqLine* irq8, int64_t start_unix_ns = kDefaultStartUnixNs);
  void attach(PortBus& ports);

  const char* name() const override { return "rtc-cmos"; }
  // The chip's RESET: clears PIE, AIE, UIE, SQWE and the flags; time and RAM stay.
  void reset() override;
  void save(StateWriter& w) const override;
  void load(StateReader& r) override;

  uint32_t port_in(uint16_t port, unsigned size) override;
  void port_out(uint16_t port, uint32_t value, unsigned size) override;

  // Register or RAM byte as the guest reads it (register C reads clear its flags).
  uint8_t read(uint8_t index);
  void write(uint8_t index, uint8_t value);
  // RAM without side effects (tests, firmware set-up).
  uint8_t peek(uint8_t index) const { return cmos_[index & 0x7F]; }
  void poke(uint8_t index, uint8_t value) { cmos_[index & 0x7F] = value; }
  // Recomputes the checksum at 0x2E/0x2F over 0x10-0x2D.
  void update_checksum();
  // The floppy drive types (CMOS 0x10: drive A in bits 7:4, B in 3:0; 4 = 1.44 MB,
  // 3 = 720 KB, 5 = 2.88 MB, 0 = none) and the equipment byte's floppy bits (0x14
  // bit 0 and bits 7:6, the drive count - 1), with the checksum.
  void set_floppy_types(uint8_t drive_a, uint8_t drive_b);
  // The boot order as QEMU's CMOS layout gives it to SeaBIOS: 0x3D bits 3:0 the
  // first device, 7:4 the second, 0x38 bits 7:4 the third (1 floppy, 2 hard disk,
  // 3 CD-ROM); `devices` lists up to three in order ('a', 'c', 'd').
  void set_boot_order(const char* devices);

  bool nmi_masked() const { return nmi_masked_; }
  // Wall-clock time now, in nanoseconds since 1970 (UTC).
  int64_t unix_ns() const;

 private:
  struct Fields {
    int64_t year;
    unsigned month, day, hour, minute, second, weekday;  // weekday 1 = Sunday
  };
  static Fields fields_at(int64_t unix_seconds);
  static int64_t seconds_of(const Fields& f);

  uint64_t uptime() const;
  uint8_t encode(unsigned v) const;
  unsigned decode(uint8_t v) const;
  uint8_t encode_hour(unsigned h) const;
  unsigned decode_hour(uint8_t v) const;
  // Time and century registers for `unix_seconds` in the current format.
  void store_time(int64_t unix_seconds);
  // Starts the clock from the time registers (SET cleared, or a register written).
  void load_time();
  bool alarm_matches(int64_t unix_seconds) const;
  unsigned periodic_shift() const;  // log2 of the period in 1/32768 s units, or 0 when off
  void catch_up();
  void update_irq();
  void schedule();
  void timer_fired();
  void init_ram();

  Machine& m_;
  IrqLine* irq_;
  int timer_ = -1;
  int64_t start_unix_ns_;
  uint8_t cmos_[128] = {};
  uint8_t index_ = 0;
  bool nmi_masked_ = false;
  uint8_t flags_ = 0;          // register C's PF, AF, UF
  int64_t base_ns_ = 0;        // wall-clock ns (since 1970) at machine uptime 0
  uint64_t checked_ns_ = 0;    // uptime up to which the flags are worked out
};

}  // namespace kestrel::machine
