#include "machine/devices/pic8259.h"

#include "machine/machine.h"

namespace kestrel::machine {

namespace {

// Rank of the highest-priority bit of `mask` given the rotation (0 = highest), or 8.
int priority_of(uint8_t mask, uint8_t priority_add) {
  if (!mask) return 8;
  int p = 0;
  while (!(mask & (1u << ((p + priority_add) & 7)))) ++p;
  return p;
}

}  // namespace

Pic8259Pair::Pic8259Pair(Machine& m) : m_(m) { reset(); }

void Pic8259Pair::attach(PortBus& ports) {
  ports.map(0x20, 2, this);
  ports.map(0xA0, 2, this);
  ports.map(0x4D0, 2, this);
}

void Pic8259Pair::reset() {
  for (int i = 0; i < 2; ++i) {
    chip_[i] = Chip{};
    chip_[i].elcr_mask = i == 0 ? 0xF8 : 0xDE;  // IRQ 0, 1, 2, 8 and 13 are always edge-triggered
  }
  if (out_sink_ && out_level_) out_sink_->set_irq(out_pin_, false);
  out_level_ = false;
  int_pending_ = false;
}

void Pic8259Pair::save(StateWriter& w) const {
  w.begin(name());
  for (const Chip& p : chip_) w.put(p);
}

void Pic8259Pair::load(StateReader& r) {
  r.begin(name());
  for (Chip& p : chip_) r.get(p);
  update();
}

void Pic8259Pair::set_chip_irq(Chip& p, unsigned irq, bool level) {
  uint8_t bit = static_cast<uint8_t>(1u << irq);
  if (p.elcr & bit) {
    // Level-triggered: the request follows the input.
    if (level) p.irr |= bit;
    else p.irr &= ~bit;
  } else if (level && !(p.last_level & bit)) {
    p.irr |= bit;  // rising edge
  }
  if (level) p.last_level |= bit;
  else p.last_level &= ~bit;
}

void Pic8259Pair::set_irq(unsigned pin, bool level) {
  if (pin >= 16) return;
  set_chip_irq(chip_[pin >> 3], pin & 7, level);
  update();
}

int Pic8259Pair::pending_irq(const Chip& p) const {
  int prio = priority_of(p.irr & ~p.imr, p.priority_add);
  if (prio == 8) return -1;
  // An in-service IR of equal or higher priority blocks it (fully nested mode);
  // special mask mode ignores masked in-service IRs; special fully nested mode lets
  // the slave's cascade input interrupt its own service.
  uint8_t in_service = p.isr;
  if (p.special_mask) in_service &= ~p.imr;
  if (&p == &chip_[0] && p.special_fully_nested) in_service &= ~0x04;
  int cur = priority_of(in_service, p.priority_add);
  return prio < cur ? (prio + p.priority_add) & 7 : -1;
}

void Pic8259Pair::update() {
  set_chip_irq(chip_[0], 2, pending_irq(chip_[1]) >= 0);
  const bool out = pending_irq(chip_[0]) >= 0;
  int_pending_ = out;
  if (out_sink_ && out != out_level_) {
    out_level_ = out;
    out_sink_->set_irq(out_pin_, out);
  }
  if (out) m_.signal_interrupt();
}

bool Pic8259Pair::interrupt_pending() { return int_pending_; }

int Pic8259Pair::ack_chip(Chip& p, unsigned irq) {
  uint8_t bit = static_cast<uint8_t>(1u << irq);
  if (p.auto_eoi) {
    if (p.rotate_on_aeoi) p.priority_add = (irq + 1) & 7;
  } else {
    p.isr |= bit;
  }
  if (!(p.elcr & bit)) p.irr &= ~bit;
  return static_cast<int>(irq);
}

uint8_t Pic8259Pair::acknowledge() {
  Chip& master = chip_[0];
  Chip& slave = chip_[1];
  int irq = pending_irq(master);
  uint8_t vector;
  if (irq < 0) {
    vector = master.vector_base | 7;  // spurious IRQ 7
  } else if (irq == 2 && !master.single) {
    int irq2 = pending_irq(slave);
    if (irq2 >= 0) {
      ack_chip(slave, static_cast<unsigned>(irq2));
      vector = static_cast<uint8_t>(slave.vector_base | irq2);
    } else {
      vector = slave.vector_base | 7;  // spurious IRQ 15
    }
    ack_chip(master, 2);
  } else {
    ack_chip(master, static_cast<unsigned>(irq));
    vector = static_cast<uint8_t>(master.vector_base | irq);
  }
  update();
  return vector;
}

uint8_t Pic8259Pair::poll(Chip& p, bool is_master) {
  p.poll = false;
  int irq = pending_irq(p);
  if (irq < 0) return 0;
  ack_chip(p, static_cast<unsigned>(irq));
  if (!is_master) {
    // The slave's request also went through the master's IR2.
    chip_[0].irr &= ~0x04;
  }
  update();
  return static_cast<uint8_t>(0x80 | irq);
}

void Pic8259Pair::write_command(Chip& p, uint8_t v) {
  if (v & 0x10) {
    // ICW1: start initialisation (the input levels stay as they are).
    uint8_t elcr = p.elcr, mask = p.elcr_mask, levels = p.last_level;
    p = Chip{};
    p.elcr = elcr;
    p.elcr_mask = mask;
    p.last_level = levels;
    p.icw_step = 2;
    p.icw4_needed = v & 1;
    p.single = v & 2;
    return;
  }
  if (v & 0x08) {
    // OCW3.
    if (v & 0x04) p.poll = true;
    if (v & 0x02) p.read_isr = v & 1;
    if (v & 0x40) p.special_mask = (v >> 5) & 1;
    return;
  }
  // OCW2: end of interrupt, rotation, priority.
  unsigned cmd = v >> 5;
  switch (cmd) {
    case 0: p.rotate_on_aeoi = false; break;
    case 4: p.rotate_on_aeoi = true; break;
    case 1: case 5: {  // non-specific EOI (with rotation for 5)
      int prio = priority_of(p.isr, p.priority_add);
      if (prio != 8) {
        unsigned irq = (prio + p.priority_add) & 7;
        p.isr &= ~(1u << irq);
        if (cmd == 5) p.priority_add = (irq + 1) & 7;
      }
      break;
    }
    case 3: p.isr &= ~(1u << (v & 7)); break;  // specific EOI
    case 7:  // rotate on specific EOI
      p.isr &= ~(1u << (v & 7));
      p.priority_add = ((v & 7) + 1) & 7;
      break;
    case 6: p.priority_add = ((v & 7) + 1) & 7; break;  // set priority
    default: break;
  }
}

void Pic8259Pair::write_data(Chip& p, uint8_t v) {
  switch (p.icw_step) {
    case 2:
      p.vector_base = v & 0xF8;
      p.icw_step = p.single ? (p.icw4_needed ? 4 : 0) : 3;
      return;
    case 3:  // cascade wiring: fixed on a PC
      p.icw_step = p.icw4_needed ? 4 : 0;
      return;
    case 4:
      p.auto_eoi = v & 2;
      p.special_fully_nested = v & 0x10;
      p.icw_step = 0;
      return;
    default:
      p.imr = v;  // OCW1
      return;
  }
}

uint32_t Pic8259Pair::port_in(uint16_t port, unsigned) {
  if (port == 0x4D0 || port == 0x4D1) return chip_[port - 0x4D0].elcr;
  const bool is_master = port < 0x80;
  Chip& p = chip_[is_master ? 0 : 1];
  if (p.poll) return poll(p, is_master);
  if (port & 1) return p.imr;
  return p.read_isr ? p.isr : p.irr;
}

void Pic8259Pair::port_out(uint16_t port, uint32_t value, unsigned) {
  uint8_t v = static_cast<uint8_t>(value);
  if (port == 0x4D0 || port == 0x4D1) {
    Chip& p = chip_[port - 0x4D0];
    p.elcr = v & p.elcr_mask;
  } else {
    Chip& p = chip_[port < 0x80 ? 0 : 1];
    if (port & 1) write_data(p, v);
    else write_command(p, v);
  }
  update();
}

}  // namespace kestrel::machine
