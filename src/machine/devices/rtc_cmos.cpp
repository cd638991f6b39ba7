#include "machine/devices/rtc_cmos.h"

#include <algorithm>

#include "machine/cpu_model.h"
#include "machine/machine.h"

namespace kestrel::machine {

namespace {

constexpr int64_t kNsPerSec = 1'000'000'000;
// UIP rises 244 us before the update cycle (MC146818A data sheet, "Update Cycle").
constexpr int64_t kUipNs = 244'000;
constexpr uint64_t kOneMiB = 1ull << 20, k16MiB = 16ull << 20, k64KiB = 64ull << 10;

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b) != 0 && ((a < 0) != (b < 0))); }

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = floor_div(y, 400);
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

}  // namespace

RtcCmos::RtcCmos(Machine& m, IrqLine* irq8, int64_t start_unix_ns)
    : m_(m), irq_(irq8), start_unix_ns_(start_unix_ns) {
  timer_ = m_.timers().create([this](uint64_t) { timer_fired(); });
  base_ns_ = start_unix_ns_ - static_cast<int64_t>(uptime());
  checked_ns_ = uptime();
  init_ram();
  reset();
}

void RtcCmos::attach(PortBus& ports) {
  ports.map(kIndexPort, 1, this);
  ports.map(kDataPort, 1, this);
}

void RtcCmos::init_ram() {
  for (auto& b : cmos_) b = 0;
  cmos_[kRegA] = 0x26;             // 32.768 kHz time base, 1024 Hz periodic rate
  cmos_[kRegB] = kB24h;            // BCD, 24-hour, no interrupts
  cmos_[kRegD] = 0x80;             // VRT: the battery is good
  const PhysBus& bus = m_.bus();
  const uint64_t low = bus.low_ram_size();
  const uint64_t high = bus.ram_size() - low;
  // Base memory: 640 KiB.
  cmos_[0x15] = 0x80;
  cmos_[0x16] = 0x02;
  // Extended memory above 1 MiB in KiB, at most 0xFFFF (63.99 MiB), twice.
  const uint64_t ext_k = std::min<uint64_t>(low > kOneMiB ? (low - kOneMiB) / 1024 : 0, 0xFFFF);
  cmos_[0x17] = cmos_[0x30] = static_cast<uint8_t>(ext_k);
  cmos_[0x18] = cmos_[0x31] = static_cast<uint8_t>(ext_k >> 8);
  // Memory above 16 MiB (below 4 GiB) in 64 KiB units, and above 4 GiB in 64 KiB units.
  const uint64_t above16 = std::min<uint64_t>(low > k16MiB ? (low - k16MiB) / k64KiB : 0, 0xFFFF);
  cmos_[0x34] = static_cast<uint8_t>(above16);
  cmos_[0x35] = static_cast<uint8_t>(above16 >> 8);
  const uint64_t above4g = std::min<uint64_t>(high / k64KiB, 0xFFFFFF);
  cmos_[0x5B] = static_cast<uint8_t>(above4g);
  cmos_[0x5C] = static_cast<uint8_t>(above4g >> 8);
  cmos_[0x5D] = static_cast<uint8_t>(above4g >> 16);
  cmos_[0x0F] = 0x00;  // shutdown status: a normal power-on
  cmos_[0x10] = 0x00;  // no floppy drives
  cmos_[0x12] = 0x00;  // no fixed disks
  // Equipment: no floppies, EGA/VGA display (bits 5:4 = 0), bit 1 = maths coprocessor.
  cmos_[0x14] = m_.cpu_model().has(Feature::Fpu) ? 0x02 : 0x00;
  cmos_[0x5F] = 0x00;  // CPUs - 1
  update_checksum();
  store_time(floor_div(unix_ns(), kNsPerSec));
}

void RtcCmos::update_checksum() {
  unsigned sum = 0;
  for (unsigned i = 0x10; i <= 0x2D; ++i) sum += cmos_[i];
  cmos_[0x2E] = static_cast<uint8_t>(sum >> 8);
  cmos_[0x2F] = static_cast<uint8_t>(sum);
}

void RtcCmos::set_floppy_types(uint8_t drive_a, uint8_t drive_b) {
  cmos_[0x10] = static_cast<uint8_t>((drive_a & 0x0F) << 4 | (drive_b & 0x0F));
  const unsigned drives = (drive_a ? 1 : 0) + (drive_b ? 1 : 0);
  cmos_[0x14] = static_cast<uint8_t>((cmos_[0x14] & 0x3E) | (drives ? 0x01 | ((drives - 1) << 6) : 0));
  update_checksum();
}

void RtcCmos::set_boot_order(const char* devices) {
  uint8_t code[3] = {0, 0, 0};
  for (unsigned i = 0; i < 3 && devices[i]; ++i)
    code[i] = devices[i] == 'a' ? 1 : devices[i] == 'c' ? 2 : devices[i] == 'd' ? 3 : 0;
  cmos_[0x3D] = static_cast<uint8_t>(code[1] << 4 | code[0]);
  cmos_[0x38] = static_cast<uint8_t>((cmos_[0x38] & 0x0F) | code[2] << 4);
}

void RtcCmos::reset() {
  catch_up();
  cmos_[kRegB] &= ~(kBPie | kBAie | kBUie | kBSqwe);
  flags_ = 0;
  index_ = 0;
  nmi_masked_ = false;
  update_irq();
  schedule();
}

void RtcCmos::save(StateWriter& w) const {
  w.begin(name());
  w.put_bytes(cmos_, sizeof cmos_);
  w.put(index_);
  w.put<uint8_t>(nmi_masked_);
  w.put(flags_);
  w.put(base_ns_);
  w.put(checked_ns_);
}

void RtcCmos::load(StateReader& r) {
  r.begin(name());
  r.get_bytes(cmos_, sizeof cmos_);
  r.get(index_);
  nmi_masked_ = r.get<uint8_t>() != 0;
  r.get(flags_);
  r.get(base_ns_);
  r.get(checked_ns_);
  update_irq();
  schedule();
}

uint64_t RtcCmos::uptime() const { return m_.uptime_ns(); }

int64_t RtcCmos::unix_ns() const { return base_ns_ + static_cast<int64_t>(uptime()); }

uint32_t RtcCmos::port_in(uint16_t port, unsigned) {
  if (port == kIndexPort) return 0xFF;  // the index register is write-only
  return read(index_);
}

void RtcCmos::port_out(uint16_t port, uint32_t value, unsigned) {
  const uint8_t v = static_cast<uint8_t>(value);
  if (port == kIndexPort) {
    index_ = v & 0x7F;
    nmi_masked_ = (v & 0x80) != 0;
    return;
  }
  write(index_, v);
}

// ---- calendar -----------------------------------------------------------------------------

RtcCmos::Fields RtcCmos::fields_at(int64_t t) {
  const int64_t days = floor_div(t, 86400);
  const int64_t secs = t - days * 86400;
  // H. Hinnant's civil_from_days.
  const int64_t z = days + 719468;
  const int64_t era = floor_div(z, 146097);
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  Fields f;
  f.day = doy - (153 * mp + 2) / 5 + 1;
  f.month = mp < 10 ? mp + 3 : mp - 9;
  f.year = static_cast<int64_t>(yoe) + era * 400 + (f.month <= 2);
  f.hour = static_cast<unsigned>(secs / 3600);
  f.minute = static_cast<unsigned>(secs / 60 % 60);
  f.second = static_cast<unsigned>(secs % 60);
  f.weekday = static_cast<unsigned>(((days + 4) % 7 + 7) % 7) + 1;  // 1970-01-01 was a Thursday
  return f;
}

int64_t RtcCmos::seconds_of(const Fields& f) {
  const unsigned month = std::clamp(f.month, 1u, 12u), day = std::clamp(f.day, 1u, 31u);
  return days_from_civil(f.year, month, day) * 86400 + int64_t{f.hour} * 3600 + int64_t{f.minute} * 60 +
         int64_t{f.second};
}

uint8_t RtcCmos::encode(unsigned v) const {
  if (cmos_[kRegB] & kBBinary) return static_cast<uint8_t>(v);
  return static_cast<uint8_t>(((v / 10 % 10) << 4) | (v % 10));
}

unsigned RtcCmos::decode(uint8_t v) const {
  if (cmos_[kRegB] & kBBinary) return v;
  return (v >> 4) * 10 + (v & 0x0F);
}

uint8_t RtcCmos::encode_hour(unsigned h) const {
  if (cmos_[kRegB] & kB24h) return encode(h);
  const unsigned h12 = h % 12 == 0 ? 12 : h % 12;
  return static_cast<uint8_t>(encode(h12) | (h >= 12 ? 0x80 : 0));
}

unsigned RtcCmos::decode_hour(uint8_t v) const {
  if (cmos_[kRegB] & kB24h) return decode(v);
  return decode(v & 0x7F) % 12 + ((v & 0x80) ? 12 : 0);
}

void RtcCmos::store_time(int64_t t) {
  const Fields f = fields_at(t);
  cmos_[0] = encode(f.second);
  cmos_[2] = encode(f.minute);
  cmos_[4] = encode_hour(f.hour);
  cmos_[6] = encode(f.weekday);
  cmos_[7] = encode(f.day);
  cmos_[8] = encode(f.month);
  cmos_[9] = encode(static_cast<unsigned>(((f.year % 100) + 100) % 100));
  cmos_[kCentury] = encode(static_cast<unsigned>(floor_div(f.year, 100)));
}

void RtcCmos::load_time() {
  Fields f;
  unsigned century = decode(cmos_[kCentury]);
  if (century < 19 || century > 99) century = 20;  // an unset century byte
  f.year = int64_t{century} * 100 + decode(cmos_[9]) % 100;
  f.month = decode(cmos_[8]);
  f.day = decode(cmos_[7]);
  f.hour = decode_hour(cmos_[4]) % 24;
  f.minute = decode(cmos_[2]) % 60;
  f.second = decode(cmos_[0]) % 60;
  f.weekday = 1;
  catch_up();
  // The divider chain restarts with the written second.
  base_ns_ = seconds_of(f) * kNsPerSec - static_cast<int64_t>(uptime());
}

bool RtcCmos::alarm_matches(int64_t t) const {
  const Fields f = fields_at(t);
  auto match = [](uint8_t alarm, uint8_t now) { return alarm >= 0xC0 || alarm == now; };
  return match(cmos_[1], encode(f.second)) && match(cmos_[3], encode(f.minute)) &&
         match(cmos_[5], encode_hour(f.hour));
}

// ---- registers ----------------------------------------------------------------------------

uint8_t RtcCmos::read(uint8_t index) {
  index &= 0x7F;
  const bool set = cmos_[kRegB] & kBSet;
  switch (index) {
    case 0: case 2: case 4: case 6: case 7: case 8: case 9: case kCentury:
      if (!set) store_time(floor_div(unix_ns(), kNsPerSec));
      return cmos_[index];
    case kRegA: {
      uint8_t v = cmos_[kRegA] & 0x7F;
      if (!set && (unix_ns() % kNsPerSec + kNsPerSec) % kNsPerSec >= kNsPerSec - kUipNs) v |= kAUip;
      return v;
    }
    case kRegC: {
      catch_up();
      uint8_t v = flags_;
      if (flags_ & cmos_[kRegB] & (kBPie | kBAie | kBUie)) v |= kCIrqf;
      flags_ = 0;
      update_irq();
      schedule();
      return v;
    }
    case kRegD:
      return 0x80;
    default:
      return cmos_[index];
  }
}

void RtcCmos::write(uint8_t index, uint8_t v) {
  index &= 0x7F;
  const bool set = cmos_[kRegB] & kBSet;
  switch (index) {
    case 0: case 2: case 4: case 6: case 7: case 8: case 9: case kCentury:
      if (set) {
        cmos_[index] = v;
      } else {
        // A write while the clock runs changes that register of the running time.
        store_time(floor_div(unix_ns(), kNsPerSec));
        cmos_[index] = index == 0 ? static_cast<uint8_t>(v & 0x7F) : v;
        load_time();
      }
      return;
    case kRegA:
      catch_up();
      cmos_[kRegA] = v & 0x7F;  // UIP is read-only
      schedule();
      return;
    case kRegB: {
      catch_up();
      if ((v & kBSet) && !set) store_time(floor_div(unix_ns(), kNsPerSec));  // freeze what reads showed
      if (v & kBSet) v &= ~kBUie;  // SET clears UIE (data sheet, register B bit 7)
      cmos_[kRegB] = v;
      if (!(v & kBSet) && set) load_time();
      update_irq();
      schedule();
      return;
    }
    case kRegC:
    case kRegD:
      return;  // read-only
    default:
      cmos_[index] = v;
      return;
  }
}

// ---- interrupts ---------------------------------------------------------------------------

unsigned RtcCmos::periodic_shift() const {
  unsigned rs = cmos_[kRegA] & 0x0F;
  if (rs == 0) return 0;
  if (rs <= 2) rs += 7;  // with the 32.768 kHz time base, rates 1 and 2 are 256 and 128 Hz
  return rs - 1;         // period = 2^(rs-1) / 32768 s
}

void RtcCmos::catch_up() {
  const uint64_t now = uptime();
  if (now <= checked_ns_) return;
  if (const unsigned shift = periodic_shift()) {
    auto period_index = [shift](uint64_t ns) {
      return static_cast<uint64_t>((static_cast<unsigned __int128>(ns) * 32768 / kNsPerSec) >> shift);
    };
    if (period_index(now) != period_index(checked_ns_)) flags_ |= kCPf;
  }
  if (!(cmos_[kRegB] & kBSet)) {
    const int64_t from = floor_div(base_ns_ + static_cast<int64_t>(checked_ns_), kNsPerSec);
    const int64_t to = floor_div(base_ns_ + static_cast<int64_t>(now), kNsPerSec);
    if (to > from) {
      flags_ |= kCUf;
      // Each update compares the alarm; a long gap checks the last day's worth.
      for (int64_t s = std::max(from + 1, to - 86400); s <= to; ++s) {
        if (alarm_matches(s)) {
          flags_ |= kCAf;
          break;
        }
      }
    }
  }
  checked_ns_ = now;
}

void RtcCmos::update_irq() {
  if (irq_) irq_->set((flags_ & cmos_[kRegB] & (kBPie | kBAie | kBUie)) != 0);
}

void RtcCmos::schedule() {
  m_.timers().disarm(timer_);
  // While the line is up nothing more can happen until the guest reads register C.
  if (irq_ && irq_->level()) return;
  const uint8_t b = cmos_[kRegB];
  const uint64_t now = uptime();
  uint64_t next = ~0ull;
  if (b & kBPie) {
    if (const unsigned shift = periodic_shift()) {
      const auto idx = static_cast<uint64_t>((static_cast<unsigned __int128>(now) * 32768 / kNsPerSec) >> shift);
      const auto ns = static_cast<uint64_t>(
          ((static_cast<unsigned __int128>(idx + 1) << shift) * kNsPerSec + 32767) / 32768);
      next = std::min(next, ns);
    }
  }
  if ((b & (kBAie | kBUie)) && !(b & kBSet)) {
    const int64_t sec = floor_div(base_ns_ + static_cast<int64_t>(now), kNsPerSec) + 1;
    next = std::min(next, static_cast<uint64_t>(sec * kNsPerSec - base_ns_));
  }
  if (next == ~0ull) return;
  // Timers run on now_ns(), which restarts at each machine reset; uptime does not.
  const uint64_t offset = now - m_.now_ns();
  m_.timers().arm(timer_, next - offset);
}

void RtcCmos::timer_fired() {
  catch_up();
  update_irq();
  schedule();
}

}  // namespace kestrel::machine
