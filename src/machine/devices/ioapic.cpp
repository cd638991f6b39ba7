#include "machine/devices/ioapic.h"

#include "machine/devices/lapic.h"
#include "machine/machine.h"

namespace kestrel::machine {

IoApic::IoApic(Machine& m, Lapic* lapic, uint8_t id) : m_(m), lapic_(lapic), initial_id_(id) { reset(); }

void IoApic::attach(PhysBus& bus, uint64_t base) { bus.map_mmio(base, 0x1000, this, "ioapic"); }

void IoApic::reset() {
  // Data sheet §3.2: every entry masked, the rest 0. The input levels are wires, not state.
  id_ = initial_id_;
  ioregsel_ = 0;
  for (auto& e : rte_) e = kRteMasked;
}

void IoApic::save(StateWriter& w) const {
  w.begin(name());
  w.put(id_);
  w.put(ioregsel_);
  w.put_bytes(rte_, sizeof rte_);
  w.put(pin_level_);
}

void IoApic::load(StateReader& r) {
  r.begin(name());
  r.get(id_);
  r.get(ioregsel_);
  r.get_bytes(rte_, sizeof rte_);
  r.get(pin_level_);
}

uint64_t IoApic::mmio_read(uint64_t offset, unsigned size) {
  uint32_t v;
  switch (offset & ~3ull) {
    case 0x00: v = ioregsel_; break;
    case 0x10: v = read_reg(static_cast<uint8_t>(ioregsel_)); break;
    default: v = 0; break;
  }
  v >>= 8 * (offset & 3);
  return size >= 4 ? v : v & ((1u << (8 * size)) - 1);
}

void IoApic::mmio_write(uint64_t offset, uint64_t value, unsigned size) {
  if (offset & 3) return;  // the registers take aligned 32-bit accesses
  const uint32_t v = static_cast<uint32_t>(value);
  switch (offset) {
    case 0x00: ioregsel_ = v & 0xFF; break;
    case 0x10: write_reg(static_cast<uint8_t>(ioregsel_), v); break;
    default: break;
  }
}

uint32_t IoApic::read_reg(uint8_t index) const {
  switch (index) {
    case 0x00: return static_cast<uint32_t>(id_) << 24;
    case 0x01: return kVersion;
    case 0x02: return static_cast<uint32_t>(id_) << 24;  // arbitration ID follows the ID
    default:
      if (index >= 0x10 && index < 0x10 + 2 * kPins) {
        const uint64_t e = rte_[(index - 0x10) >> 1];
        return static_cast<uint32_t>(index & 1 ? e >> 32 : e);
      }
      return 0;
  }
}

void IoApic::write_reg(uint8_t index, uint32_t v) {
  if (index == 0x00) {
    id_ = (v >> 24) & 0x0F;  // a 4-bit APIC ID
    return;
  }
  if (index < 0x10 || index >= 0x10 + 2 * kPins) return;  // version, arbitration ID: read-only
  const unsigned pin = (index - 0x10) >> 1;
  uint64_t& e = rte_[pin];
  if (index & 1) {
    e = (e & 0x00000000FFFFFFFFull) | (static_cast<uint64_t>(v & 0xFF000000) << 32);  // destination
  } else {
    // Delivery status and Remote IRR are read-only.
    constexpr uint64_t kWritable = 0xFFF | kRteActiveLow | kRteLevel | kRteMasked;
    e = (e & ~0xFFFFFFFFull) | (v & kWritable) | (e & (kRteDeliveryStatus | kRteRemoteIrr));
    // Remote IRR has no meaning for edge pins; switching a pin to edge and back is
    // how software clears a stuck one on IOAPICs without an EOI register (Linux does).
    if (!(e & kRteLevel)) e &= ~kRteRemoteIrr;
  }
  service(pin);
}

bool IoApic::asserted(unsigned pin) const {
  const bool level = (pin_level_ >> pin) & 1;
  return level != static_cast<bool>(rte_[pin] & kRteActiveLow);
}

void IoApic::set_irq(unsigned pin, bool level) {
  if (pin >= kPins) return;
  const bool was = asserted(pin);
  if (level) pin_level_ |= 1u << pin;
  else pin_level_ &= ~(1u << pin);
  const bool now = asserted(pin);
  const uint64_t e = rte_[pin];
  if (e & kRteLevel) {
    service(pin);
  } else if (now && !was && !(e & kRteMasked)) {
    send(pin);  // an edge while masked is lost
  }
}

void IoApic::service(unsigned pin) {
  uint64_t& e = rte_[pin];
  if (!(e & kRteLevel) || (e & (kRteMasked | kRteRemoteIrr)) || !asserted(pin)) return;
  const unsigned mode = (e >> 8) & 7;
  if (send(pin) && (mode == kDeliverFixed || mode == kDeliverLowest)) e |= kRteRemoteIrr;
}

bool IoApic::send(unsigned pin) {
  if (!lapic_) return false;
  const uint64_t e = rte_[pin];
  ApicMessage msg;
  msg.vector = static_cast<uint8_t>(e);
  msg.delivery_mode = static_cast<uint8_t>((e >> 8) & 7);
  msg.logical = e & (1u << 11);
  msg.dest = static_cast<uint8_t>(e >> 56);
  msg.level = e & kRteLevel;
  // Fixed and lowest priority go to the matching APICs; with one CPU, lowest
  // priority picks it whenever it is named.
  return lapic_->deliver(msg);
}

void IoApic::eoi(uint8_t vector) {
  for (unsigned pin = 0; pin < kPins; ++pin) {
    uint64_t& e = rte_[pin];
    if ((e & kRteLevel) && (e & kRteRemoteIrr) && static_cast<uint8_t>(e) == vector) {
      e &= ~kRteRemoteIrr;
      service(pin);  // still asserted: the next message goes out at once
    }
  }
}

}  // namespace kestrel::machine
