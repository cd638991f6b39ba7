#include "machine/devices/ide_busmaster.h"

#include <algorithm>

#include "machine/phys_bus.h"

namespace kestrel::machine {

IdeBusMaster::IdeBusMaster(PhysBus& bus, IdeChannel& channel, const char* name)
    : bus_(bus), channel_(channel), name_(name) {
  reset();
}

void IdeBusMaster::attach(PortBus& ports, uint16_t base) {
  if (attached_) detach(ports);
  base_ = base;
  ports.map(base_, 8, this);
  attached_ = true;
}

void IdeBusMaster::detach(PortBus& ports) {
  if (attached_) ports.unmap(base_, 8);
  attached_ = false;
}

void IdeBusMaster::reset() {
  command_ = 0;
  status_ = 0;  // the drive-capable bits are the BIOS's to set
  prd_table_ = 0;
  next_entry_ = cur_addr_ = cur_left_ = 0;
  last_entry_ = exhausted_ = false;
}

uint8_t IdeBusMaster::read_reg(unsigned offset) {
  switch (offset) {
    case 0: return command_;
    case 2: return status_;
    case 4: case 5: case 6: case 7: return static_cast<uint8_t>(prd_table_ >> (8 * (offset - 4)));
    default: return 0;
  }
}

void IdeBusMaster::write_reg(unsigned offset, uint8_t v) {
  switch (offset) {
    case 0: {
      const bool was = command_ & kCmdStart;
      // The direction bit cannot change while the engine is active.
      const uint8_t dir = (status_ & kStActive) ? (command_ & kCmdWrite) : (v & kCmdWrite);
      command_ = static_cast<uint8_t>((v & kCmdStart) | dir);
      if (!was && (v & kCmdStart)) {
        // Start: the walk begins at the table's first entry.
        status_ |= kStActive;
        next_entry_ = cur_addr_ = cur_left_ = 0;
        last_entry_ = exhausted_ = false;
        channel_.dma_started();
      } else if (was && !(v & kCmdStart)) {
        status_ &= ~kStActive;  // stop (or abort) the transfer
      }
      break;
    }
    case 2:
      status_ = static_cast<uint8_t>((status_ & (kStActive | 0x80)) | (status_ & ~v & (kStError | kStInterrupt)) |
                                     (v & (kStDrive0 | kStDrive1)));
      break;
    case 4: case 5: case 6: case 7: {
      const unsigned shift = 8 * (offset - 4);
      prd_table_ = (prd_table_ & ~(0xFFu << shift)) | (static_cast<uint32_t>(v) << shift);
      prd_table_ &= ~3u;  // dword-aligned
      break;
    }
    default: break;
  }
}

uint32_t IdeBusMaster::port_in(uint16_t port, unsigned size) {
  uint32_t v = 0;
  for (unsigned i = 0; i < size; ++i) v |= static_cast<uint32_t>(read_reg((port - base_ + i) & 7)) << (8 * i);
  return v;
}

void IdeBusMaster::port_out(uint16_t port, uint32_t value, unsigned size) {
  // The PRD pointer written as a dword lands whole; byte order does not matter elsewhere.
  for (unsigned i = 0; i < size; ++i) write_reg((port - base_ + i) & 7, static_cast<uint8_t>(value >> (8 * i)));
}

size_t IdeBusMaster::dma_transfer(uint8_t* buf, size_t len, bool to_memory) {
  size_t moved = 0;
  while (moved < len) {
    if (cur_left_ == 0) {
      if (last_entry_ || next_entry_ >= kMaxPrdEntries) {
        exhausted_ = true;
        break;
      }
      uint8_t e[8];
      bus_.read(static_cast<uint64_t>(prd_table_) + 8ull * next_entry_, e, 8);
      ++next_entry_;
      cur_addr_ = (static_cast<uint32_t>(e[0]) | e[1] << 8 | e[2] << 16 | static_cast<uint32_t>(e[3]) << 24) & ~1u;
      const uint32_t count = (e[4] | e[5] << 8) & ~1u;
      cur_left_ = count ? count : 0x10000;
      last_entry_ = e[7] & 0x80;
    }
    const size_t n = std::min<size_t>(len - moved, cur_left_);
    if (to_memory) bus_.dma_write(cur_addr_, buf + moved, n);
    else bus_.read(cur_addr_, buf + moved, n);
    moved += n;
    cur_addr_ += static_cast<uint32_t>(n);
    cur_left_ -= static_cast<uint32_t>(n);
  }
  if (cur_left_ == 0 && last_entry_) exhausted_ = true;
  return moved;
}

void IdeBusMaster::dma_finished(bool short_prd) {
  if (short_prd) {
    status_ = static_cast<uint8_t>((status_ & ~kStActive) | kStError);
    return;
  }
  if (exhausted_) status_ &= ~kStActive;
}

void IdeBusMaster::save(StateWriter& w) const {
  w.begin(name_);
  w.put(base_); w.put<uint8_t>(attached_); w.put<uint8_t>(master_enabled_);
  w.put(command_); w.put(status_); w.put(prd_table_);
  w.put(next_entry_); w.put(cur_addr_); w.put(cur_left_); w.put<uint8_t>(last_entry_); w.put<uint8_t>(exhausted_);
}

void IdeBusMaster::load(StateReader& r) {
  r.begin(name_);
  r.get(base_); attached_ = r.get<uint8_t>() != 0; master_enabled_ = r.get<uint8_t>() != 0;
  r.get(command_); r.get(status_); r.get(prd_table_);
  r.get(next_entry_); r.get(cur_addr_); r.get(cur_left_);
  last_entry_ = r.get<uint8_t>() != 0; exhausted_ = r.get<uint8_t>() != 0;
}

}  // namespace kestrel::machine
