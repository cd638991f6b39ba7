#include "machine/devices/acpi_pm.h"

#include <fmt/format.h>

#include "machine/machine.h"

namespace kestrel::machine {

namespace {
constexpr uint64_t kNsPerSec = 1'000'000'000;
constexpr uint16_t kStatusBits = AcpiPm::kTmr | AcpiPm::kBm | AcpiPm::kGbl | AcpiPm::kPwrBtn | AcpiPm::kSlpBtn |
                                 AcpiPm::kRtc | AcpiPm::kPciExpWake | AcpiPm::kWak;
constexpr uint16_t kEnableBits =
    AcpiPm::kTmr | AcpiPm::kGbl | AcpiPm::kPwrBtn | AcpiPm::kSlpBtn | AcpiPm::kRtc | AcpiPm::kPciExpWake;
// Status bits that raise the SCI when enabled (PCIEXP_WAKE_DIS is a disable bit, WAK_STS has no enable).
constexpr uint16_t kSciSources = AcpiPm::kTmr | AcpiPm::kGbl | AcpiPm::kPwrBtn | AcpiPm::kSlpBtn | AcpiPm::kRtc;
constexpr unsigned kTimerMsb = 31;  // 32-bit timer (FADT TMR_VAL_EXT)
}  // namespace

AcpiPm::AcpiPm(Machine& m, IrqLine* sci, uint16_t base) : m_(m), sci_(sci), base_(base) {
  timer_ = m_.timers().create([this](uint64_t) {
    update_sci();
    schedule_timer_overflow();
  });
  reset();
}

void AcpiPm::attach(PortBus& ports) {
  ports.map(base_, kSize, this);
  attached_ = true;
}

void AcpiPm::relocate(PortBus& ports, uint16_t base, bool enabled) {
  if (attached_ && base == base_ && enabled) return;
  if (attached_)
    for (unsigned i = 0; i < kSize; ++i)
      if (ports.owner(static_cast<uint16_t>(base_ + i)) == this) ports.unmap(static_cast<uint16_t>(base_ + i), 1);
  attached_ = false;
  base_ = base;
  if (enabled) attach(ports);
}

void AcpiPm::reset() {
  sts_ = 0;
  en_ = 0;
  cnt_ = kSciEn;  // no SMI_CMD: always in ACPI mode
  tmr_epoch_ = 0;
  m_.timers().disarm(timer_);
  update_sci();
}

void AcpiPm::save(StateWriter& w) const {
  w.begin(name());
  w.put(sts_);
  w.put(en_);
  w.put(cnt_);
  w.put(tmr_epoch_);
}

void AcpiPm::load(StateReader& r) {
  r.begin(name());
  r.get(sts_);
  r.get(en_);
  r.get(cnt_);
  r.get(tmr_epoch_);
  update_sci();
  schedule_timer_overflow();
}

uint64_t AcpiPm::ticks() const {
  return static_cast<uint64_t>(static_cast<unsigned __int128>(m_.now_ns()) * kTimerHz / kNsPerSec);
}

uint32_t AcpiPm::timer_value() const { return static_cast<uint32_t>(ticks()); }

uint16_t AcpiPm::status() const {
  uint16_t s = sts_;
  if ((ticks() >> kTimerMsb) != tmr_epoch_) s |= kTmr;
  return s;
}

bool AcpiPm::sci_level() const { return (cnt_ & kSciEn) && (status() & en_ & kSciSources); }

void AcpiPm::update_sci() {
  if (sci_) sci_->set(sci_level());
}

void AcpiPm::schedule_timer_overflow() {
  // With TMR_EN set and TMR_STS clear, the SCI comes when bit 31 next changes.
  if (!(en_ & kTmr) || (status() & kTmr)) {
    m_.timers().disarm(timer_);
    return;
  }
  const uint64_t next_tick = (tmr_epoch_ + 1) << kTimerMsb;
  const uint64_t ns = static_cast<uint64_t>(
      (static_cast<unsigned __int128>(next_tick) * kNsPerSec + kTimerHz - 1) / kTimerHz);
  m_.timers().arm(timer_, ns);
}

void AcpiPm::press_power_button() {
  sts_ |= kPwrBtn;
  update_sci();
}

uint32_t AcpiPm::port_in(uint16_t port, unsigned size) {
  // The registers as bytes: PM1_STS, PM1_EN, PM1_CNT, reserved, PM_TMR (read-only).
  const uint16_t s = status(), c = static_cast<uint16_t>(cnt_ & ~(kSlpEn | kGblRls));  // write-only bits read 0
  const uint32_t t = timer_value();
  const uint8_t image[kSize] = {static_cast<uint8_t>(s), static_cast<uint8_t>(s >> 8),
                                static_cast<uint8_t>(en_), static_cast<uint8_t>(en_ >> 8),
                                static_cast<uint8_t>(c), static_cast<uint8_t>(c >> 8), 0, 0,
                                static_cast<uint8_t>(t), static_cast<uint8_t>(t >> 8),
                                static_cast<uint8_t>(t >> 16), static_cast<uint8_t>(t >> 24)};
  uint32_t v = 0;
  const unsigned off = port - base_;
  for (unsigned i = 0; i < size; ++i)
    v |= static_cast<uint32_t>(off + i < kSize ? image[off + i] : 0xFF) << (8 * i);
  return v;
}

void AcpiPm::port_out(uint16_t port, uint32_t value, unsigned size) {
  const unsigned off = port - base_;
  for (unsigned i = 0; i < size; ++i) write_byte(off + i, static_cast<uint8_t>(value >> (8 * i)));
  update_sci();
  schedule_timer_overflow();
}

void AcpiPm::write_byte(unsigned offset, uint8_t v) {
  const unsigned shift = 8 * (offset & 1);
  const uint16_t bits = static_cast<uint16_t>(v << shift);
  switch (offset) {
    case 0: case 1:
      // Status bits are cleared by writing 1 (ACPI 6.4 §4.8.3.1).
      if (bits & kTmr) tmr_epoch_ = ticks() >> kTimerMsb;
      sts_ &= ~(bits & kStatusBits);
      break;
    case 2: case 3:
      en_ = static_cast<uint16_t>((en_ & ~(0xFF << shift)) | (bits & kEnableBits));
      break;
    case 4:
      cnt_ = static_cast<uint16_t>((cnt_ & 0xFF00) | (v & (kSciEn | kBmRld)));  // GBL_RLS: no firmware to tell
      break;
    case 5: {
      const uint16_t slp_typ_mask = 7u << 10;
      cnt_ = static_cast<uint16_t>((cnt_ & 0x00FF) | (bits & slp_typ_mask));
      if (bits & kSlpEn) {
        const unsigned type = (bits >> 10) & 7;
        if (type == kS5SleepType) {
          m_.request_stop(0, "ACPI S5 power off");
        } else {
          // Sleep states other than S5 are not offered (the DSDT names only \_S5):
          // the machine "wakes" at once.
          m_.report_once(fmt::format("acpi-slp-typ-{}", type),
                         fmt::format("ACPI: sleep type {} is not supported; waking at once", type));
          sts_ |= kWak;
        }
      }
      break;
    }
    default:
      break;  // reserved bytes and the read-only timer
  }
}

}  // namespace kestrel::machine
