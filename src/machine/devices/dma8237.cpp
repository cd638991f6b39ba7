#include "machine/devices/dma8237.h"

#include <algorithm>

#include "machine/phys_bus.h"

namespace kestrel::machine {

namespace {

// Page register port (0x80-0x8F, low nibble) of each channel; 0 for channel 4 (none).
constexpr uint8_t kPagePort[8] = {0x7, 0x3, 0x1, 0x2, 0xF, 0xB, 0x9, 0xA};

constexpr uint8_t kModeType = 0x0C, kModeVerify = 0x00, kModeWrite = 0x04, kModeRead = 0x08;
constexpr uint8_t kModeAutoinit = 0x10, kModeDecrement = 0x20;

}  // namespace

Dma8237::Dma8237(PhysBus& bus) : bus_(bus) { reset(); }

void Dma8237::attach(PortBus& ports) {
  ports.map(0x00, 16, this);
  ports.map(0x80, 16, this);
  ports.map(0xC0, 32, this);
}

void Dma8237::master_clear(Chip& c) {
  c.command = c.status = c.request = c.temp = 0;
  c.mask = 0x0F;
  c.flip_flop = false;
}

void Dma8237::reset() {
  for (Chip& c : chips_) {
    master_clear(c);
    for (Channel& ch : c.ch) ch = Channel{};
  }
  for (auto& p : page_latch_) p = 0;
}

uint8_t Dma8237::chip_read(unsigned chip, unsigned reg) {
  Chip& c = chips_[chip];
  if (reg < 8) {
    Channel& ch = c.ch[reg >> 1];
    const uint16_t v = (reg & 1) ? ch.cur_count : ch.cur_addr;
    const uint8_t b = static_cast<uint8_t>(c.flip_flop ? v >> 8 : v);
    c.flip_flop = !c.flip_flop;
    return b;
  }
  switch (reg) {
    case 8: {  // status: reading clears the terminal-count bits
      const uint8_t s = static_cast<uint8_t>(c.status | (c.request << 4));
      c.status = 0;
      return s;
    }
    case 13: return c.temp;
    case 15: return static_cast<uint8_t>(0xF0 | c.mask);  // the mask bits (as later PC chipsets let them be read)
    default: return 0xFF;
  }
}

void Dma8237::chip_write(unsigned chip, unsigned reg, uint8_t v) {
  Chip& c = chips_[chip];
  if (reg < 8) {
    Channel& ch = c.ch[reg >> 1];
    uint16_t& base = (reg & 1) ? ch.base_count : ch.base_addr;
    uint16_t& cur = (reg & 1) ? ch.cur_count : ch.cur_addr;
    base = c.flip_flop ? static_cast<uint16_t>((base & 0x00FF) | v << 8) : static_cast<uint16_t>((base & 0xFF00) | v);
    cur = base;  // a write loads the base and the current register together
    c.flip_flop = !c.flip_flop;
    return;
  }
  switch (reg) {
    case 8: c.command = v; break;
    case 9:
      if (v & 4) c.request |= static_cast<uint8_t>(1 << (v & 3));
      else c.request &= static_cast<uint8_t>(~(1 << (v & 3)));
      break;
    case 10:
      if (v & 4) c.mask |= static_cast<uint8_t>(1 << (v & 3));
      else c.mask &= static_cast<uint8_t>(~(1 << (v & 3)));
      break;
    case 11: c.ch[v & 3].mode = static_cast<uint8_t>(v & 0xFC); break;
    case 12: c.flip_flop = false; break;
    case 13: master_clear(c); break;
    case 14: c.mask = 0; break;
    case 15: c.mask = v & 0x0F; break;
  }
}

uint32_t Dma8237::port_in(uint16_t port, unsigned size) {
  uint32_t v = 0;
  for (unsigned i = 0; i < size; ++i) {
    const uint16_t p = static_cast<uint16_t>(port + i);
    uint8_t b = 0xFF;
    if (p < 0x10) b = chip_read(0, p);
    else if (p >= 0x80 && p < 0x90) b = page_latch_[p & 0xF];
    else if (p >= 0xC0 && p < 0xE0 && !(p & 1)) b = chip_read(1, (p - 0xC0) >> 1);
    v |= static_cast<uint32_t>(b) << (8 * i);
  }
  return v;
}

void Dma8237::port_out(uint16_t port, uint32_t value, unsigned size) {
  for (unsigned i = 0; i < size; ++i) {
    const uint16_t p = static_cast<uint16_t>(port + i);
    const auto b = static_cast<uint8_t>(value >> (8 * i));
    if (p < 0x10) {
      chip_write(0, p, b);
    } else if (p >= 0x80 && p < 0x90) {
      page_latch_[p & 0xF] = b;
      for (unsigned n = 0; n < 8; ++n)
        if (n != 4 && kPagePort[n] == (p & 0xF)) chips_[n >> 2].ch[n & 3].page = b;
    } else if (p >= 0xC0 && p < 0xE0 && !(p & 1)) {
      chip_write(1, (p - 0xC0) >> 1, b);
    }
  }
}

bool Dma8237::ready(unsigned channel) const {
  if (channel >= 8 || channel == 4) return false;
  const Chip& c = chips_[channel >> 2];
  if (c.command & 0x04) return false;  // controller disabled
  if (channel < 4 && (chips_[1].mask & 1)) return false;  // the cascade channel 4 is masked
  return !(c.mask & (1u << (channel & 3)));
}

bool Dma8237::terminal_count(unsigned channel) const {
  return channel < 8 && (chips_[channel >> 2].status & (1u << (channel & 3)));
}

size_t Dma8237::transfer(unsigned channel, uint8_t* buf, size_t len, bool to_memory, bool* tc) {
  if (tc) *tc = false;
  if (!ready(channel)) return 0;
  Chip& c = chips_[channel >> 2];
  Channel& ch = c.ch[channel & 3];
  const bool wide = channel >= 4;
  const unsigned unit = wide ? 2 : 1;
  const uint8_t type = ch.mode & kModeType;
  const bool copy = (type == kModeWrite && to_memory) || (type == kModeRead && !to_memory);
  size_t done = 0;
  while (done + unit <= len) {
    // ISA addresses: 8-bit channels A23:16 from the page, 16-bit channels address
    // words (A16:1 from the address register, A23:17 from the page).
    const uint64_t addr = wide ? (static_cast<uint64_t>(ch.page & 0xFE) << 16 | static_cast<uint64_t>(ch.cur_addr) << 1)
                               : (static_cast<uint64_t>(ch.page) << 16 | ch.cur_addr);
    if (copy) {
      if (to_memory) bus_.dma_write(addr, buf + done, unit);
      else bus_.read(addr, buf + done, unit);
    }
    done += unit;
    ch.cur_addr = static_cast<uint16_t>(ch.cur_addr + ((ch.mode & kModeDecrement) ? -1 : 1));
    const uint16_t was = ch.cur_count--;
    if (was == 0) {  // the count wrapped from 0 to FFFF: terminal count
      c.status |= static_cast<uint8_t>(1u << (channel & 3));
      if (tc) *tc = true;
      c.request &= static_cast<uint8_t>(~(1u << (channel & 3)));
      if (ch.mode & kModeAutoinit) {
        ch.cur_addr = ch.base_addr;
        ch.cur_count = ch.base_count;
      } else {
        c.mask |= static_cast<uint8_t>(1u << (channel & 3));  // EOP masks the channel
      }
      break;
    }
  }
  return done;
}

void Dma8237::save(StateWriter& w) const {
  w.begin(name());
  for (const Chip& c : chips_) {
    for (const Channel& ch : c.ch) {
      w.put(ch.base_addr); w.put(ch.base_count); w.put(ch.cur_addr); w.put(ch.cur_count); w.put(ch.mode); w.put(ch.page);
    }
    w.put(c.command); w.put(c.status); w.put(c.mask); w.put(c.request); w.put(c.temp); w.put<uint8_t>(c.flip_flop);
  }
  w.put_bytes(page_latch_, sizeof page_latch_);
}

void Dma8237::load(StateReader& r) {
  r.begin(name());
  for (Chip& c : chips_) {
    for (Channel& ch : c.ch) {
      r.get(ch.base_addr); r.get(ch.base_count); r.get(ch.cur_addr); r.get(ch.cur_count); r.get(ch.mode); r.get(ch.page);
    }
    r.get(c.command); r.get(c.status); r.get(c.mask); r.get(c.request); r.get(c.temp);
    c.flip_flop = r.get<uint8_t>() != 0;
  }
  r.get_bytes(page_latch_, sizeof page_latch_);
}

}  // namespace kestrel::machine
