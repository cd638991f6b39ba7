#include "machine/devices/pit8254.h"

#include "machine/machine.h"

namespace kestrel::machine {

namespace {
constexpr uint64_t kNsPerSec = 1'000'000'000;
uint64_t ns_to_ticks(uint64_t ns) { return static_cast<uint64_t>(static_cast<unsigned __int128>(ns) * Pit8254::kInputHz / kNsPerSec); }
uint64_t ticks_to_ns(uint64_t t) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(t) * kNsPerSec + Pit8254::kInputHz - 1) / Pit8254::kInputHz);
}
}  // namespace

Pit8254::Pit8254(Machine& m, IrqLine* irq0) : m_(m), irq0_(irq0) {
  timer_ = m_.timers().create([this](uint64_t now) { irq0_fire(now); });
  reset();
}

void Pit8254::attach(PortBus& ports) {
  ports.map(0x40, 4, this);
  ports.map(0x61, 1, this);
}

void Pit8254::reset() {
  for (auto& c : ch_) c = Channel{};
  ch_[2].gate = 0;  // port 0x61 bit 0 starts clear
  port61_ = 0;
  m_.timers().disarm(timer_);
}

void Pit8254::save(StateWriter& w) const {
  w.begin(name());
  for (const auto& c : ch_) w.put(c);
  w.put(port61_);
}

void Pit8254::load(StateReader& r) {
  r.begin(name());
  for (auto& c : ch_) r.get(c);
  r.get(port61_);
  schedule_irq0();
}

uint64_t Pit8254::ticks(const Channel& c, uint64_t now) const {
  if (!c.counting) return 0;
  if (!c.gate) return (c.mode == 0 || c.mode == 4) ? c.frozen_ticks : 0;
  return c.frozen_ticks + ns_to_ticks(now >= c.load_ns ? now - c.load_ns : 0);
}

uint16_t Pit8254::current_count(unsigned i, uint64_t now) {
  const Channel& c = ch_[i];
  if (!c.counting) return static_cast<uint16_t>(c.count);
  uint64_t d = ticks(c, now);
  uint64_t n = c.count;
  switch (c.mode) {
    case 2: return static_cast<uint16_t>(n - d % n);
    case 3: return static_cast<uint16_t>((n - (2 * d) % n) & 0xFFFE);
    default: return static_cast<uint16_t>((n - d) & 0xFFFF);  // 0, 1, 4, 5 wrap after terminal count
  }
}

bool Pit8254::out_at(const Channel& c, uint64_t now) const {
  if (!c.counting) return c.mode != 0;  // mode 0 drives OUT low from the control word on
  if (!c.gate && c.mode != 0 && c.mode != 4) return true;
  uint64_t d = ticks(c, now), n = c.count;
  switch (c.mode) {
    case 0: case 1: return d >= n;
    case 2: return d % n != n - 1;
    case 3: return d % n < (n + 1) / 2;
    default: return d != n;  // 4, 5: one low clock at terminal count
  }
}

bool Pit8254::output(unsigned i) { return out_at(ch_[i], m_.now_ns()); }

void Pit8254::schedule_irq0() {
  const Channel& c = ch_[0];
  m_.timers().disarm(timer_);
  if (!c.counting || !c.gate || !irq0_) return;
  uint64_t now = m_.now_ns();
  uint64_t d = ticks(c, now), n = c.count, edge;
  switch (c.mode) {
    case 0: if (d >= n) return; edge = n; break;
    case 2: case 3: edge = (d / n + 1) * n; break;
    case 4: if (d > n) return; edge = n + 1; break;
    default: return;
  }
  m_.timers().arm(timer_, c.load_ns + ticks_to_ns(edge - c.frozen_ticks));
}

void Pit8254::irq0_fire(uint64_t) {
  irq0_->pulse();  // IRQ 0 is edge-triggered at the PIC and the IOAPIC
  schedule_irq0();
}

void Pit8254::load_count(unsigned i, uint32_t value) {
  Channel& c = ch_[i];
  c.count = value == 0 ? 0x10000 : value;
  c.load_ns = m_.now_ns();
  c.frozen_ticks = 0;
  c.counting = 1;
  c.null_count = 0;
  if (i == 0) schedule_irq0();
}

void Pit8254::latch_count(unsigned i) {
  Channel& c = ch_[i];
  if (c.count_latched) return;  // a second latch before the read is ignored
  c.latched_count = current_count(i, m_.now_ns());
  c.count_latched = c.rw_mode;
}

void Pit8254::set_gate(unsigned i, bool level) {
  Channel& c = ch_[i];
  if (c.gate == level) return;
  uint64_t now = m_.now_ns();
  if (level) {
    // Modes 1, 2, 3 and 5 (re)start on the rising edge; 0 and 4 resume.
    if (c.mode == 0 || c.mode == 4) {
      c.load_ns = now;
    } else {
      c.load_ns = now;
      c.frozen_ticks = 0;
    }
  } else if (c.mode == 0 || c.mode == 4) {
    c.frozen_ticks = ticks(c, now);
  }
  c.gate = level;
  if (i == 0) schedule_irq0();
}

uint32_t Pit8254::port_in(uint16_t port, unsigned) {
  uint64_t now = m_.now_ns();
  if (port == 0x61) {
    // Bit 4 toggles with each DRAM refresh request (every 15.085 us); bit 5 is OUT2.
    uint8_t v = port61_ & 0x0F;
    if ((now / 15085) & 1) v |= 0x10;
    if (out_at(ch_[2], now)) v |= 0x20;
    return v;
  }
  if (port == 0x43) return 0xFF;  // the control register is write-only
  unsigned i = port - 0x40;
  Channel& c = ch_[i];
  if (c.status_latched) {
    c.status_latched = 0;
    return c.status;
  }
  if (c.count_latched) {
    uint8_t v;
    switch (c.count_latched) {
      case 1: v = c.latched_count & 0xFF; c.count_latched = 0; break;
      case 2: v = c.latched_count >> 8; c.count_latched = 0; break;
      default: v = c.latched_count & 0xFF; c.count_latched = 2; break;  // LSB then MSB
    }
    return v;
  }
  uint16_t cnt = current_count(i, now);
  switch (c.rw_mode) {
    case 1: return cnt & 0xFF;
    case 2: return cnt >> 8;
    default:
      c.read_hi ^= 1;
      return c.read_hi ? (cnt & 0xFF) : (cnt >> 8);
  }
}

void Pit8254::port_out(uint16_t port, uint32_t value, unsigned) {
  uint8_t v = static_cast<uint8_t>(value);
  if (port == 0x61) {
    port61_ = v & 0x0F;
    set_gate(2, v & 1);
    return;
  }
  if (port == 0x43) {
    unsigned sel = v >> 6;
    if (sel == 3) {
      // Read-back command: bit 5 clear latches counts, bit 4 clear latches status.
      uint64_t now = m_.now_ns();
      for (unsigned i = 0; i < 3; ++i) {
        if (!(v & (2u << i))) continue;
        Channel& c = ch_[i];
        if (!(v & 0x20)) latch_count(i);
        if (!(v & 0x10) && !c.status_latched) {
          c.status = static_cast<uint8_t>((out_at(c, now) ? 0x80 : 0) | (c.null_count ? 0x40 : 0) |
                                          (c.rw_mode << 4) | (c.mode << 1) | c.bcd);
          c.status_latched = 1;
        }
      }
      return;
    }
    unsigned rw = (v >> 4) & 3;
    if (rw == 0) {
      latch_count(sel);
      return;
    }
    Channel& c = ch_[sel];
    c.rw_mode = static_cast<uint8_t>(rw);
    c.mode = (v >> 1) & 7;
    if (c.mode > 5) c.mode -= 4;  // 6 and 7 alias 2 and 3
    c.bcd = v & 1;
    c.counting = 0;
    c.null_count = 1;
    c.read_hi = c.write_hi = 0;
    c.count_latched = c.status_latched = 0;
    if (sel == 0) schedule_irq0();
    return;
  }
  unsigned i = port - 0x40;
  Channel& c = ch_[i];
  switch (c.rw_mode) {
    case 1: load_count(i, v); break;
    case 2: load_count(i, static_cast<uint32_t>(v) << 8); break;
    default:
      if (!c.write_hi) {
        c.write_lo = v;
        c.write_hi = 1;
        if (c.mode == 0) c.counting = 0;  // mode 0: the first byte stops the count
      } else {
        c.write_hi = 0;
        load_count(i, c.write_lo | (static_cast<uint32_t>(v) << 8));
      }
      break;
  }
}

}  // namespace kestrel::machine
