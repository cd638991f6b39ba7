#include "machine/devices/ide_channel.h"

#include <algorithm>
#include <cstring>

#include "machine/devices/ide_commands.h"
#include "machine/machine.h"
#include "machine/storage/disk_image.h"

namespace kestrel::machine {

using namespace ata;

IdeChannel::IdeChannel(Machine& m, std::string name, uint16_t cmd_base, uint16_t ctl_port, IrqLine* irq)
    : m_(m), name_(std::move(name)), cmd_base_(cmd_base), ctl_port_(ctl_port), irq_(irq) {
  reset();
}

void IdeChannel::attach(PortBus& ports) {
  ports.map(cmd_base_, 8, this);
  ports.map(ctl_port_, 1, this);
}

void IdeChannel::detach(PortBus& ports) {
  ports.unmap(cmd_base_, 8);
  ports.unmap(ctl_port_, 1);
}

void IdeChannel::attach_disk(unsigned unit, std::shared_ptr<DiskImage> image) {
  IdeDevice& d = dev_[unit & 1];
  d = IdeDevice{};
  d.kind = IdeDevice::Kind::Disk;
  d.image = std::move(image);
  AtaCommands::init_geometry(d);
  reset();
}

void IdeChannel::attach_cdrom(unsigned unit, std::shared_ptr<DiskImage> image) {
  IdeDevice& d = dev_[unit & 1];
  d = IdeDevice{};
  d.kind = IdeDevice::Kind::Cdrom;
  d.image = std::move(image);
  reset();
}

// Power-on / hardware reset: both devices show their signatures, the master is
// selected, interrupts are enabled (ATA-6 §9.1).
void IdeChannel::reset() {
  control_ = 0;
  for (IdeDevice& d : dev_) {
    d.device = 0;
    soft_reset(d);
    d.multiple = 0;
    d.cur_cyls = d.cyls;
    d.cur_heads = d.heads;
    d.cur_spt = d.spt;
    d.xfer_mode = 0x08;
    d.write_cache = true;
    d.locked = false;
    d.tray_open = false;
    d.sense_key = d.asc = d.ascq = 0;
    d.media_event = d.kind == IdeDevice::Kind::Cdrom && d.image;
  }
  update_irq();
}

// What SRST (and reset) leave in a device: the signature and the post-diagnostic
// status, no transfer (ATA-6 §9.12: ATAPI devices clear DRDY).
void IdeChannel::soft_reset(IdeDevice& d) {
  d.pio = IdeDevice::Pio::None;
  d.dma = IdeDevice::Dma::None;
  d.pos = d.end = 0;
  d.intrq = false;
  d.feature = d.hob_feature = d.hob_count = d.hob_lba_low = d.hob_lba_mid = d.hob_lba_high = 0;
  d.device &= kDevDev;
  set_signature(d);
  d.error = 0x01;  // diagnostics passed
  d.status = d.kind == IdeDevice::Kind::Disk ? (kDrdy | kDsc) : 0;
}

void IdeChannel::set_signature(IdeDevice& d) {
  d.count = 1;
  d.lba_low = 1;
  const bool atapi = d.kind == IdeDevice::Kind::Cdrom;
  d.lba_mid = atapi ? 0x14 : 0x00;
  d.lba_high = atapi ? 0xEB : 0x00;
  d.device &= kDevDev;
}

bool IdeChannel::irq_level() const {
  const IdeDevice& s = dev_[(dev_[0].device & kDevDev) ? 1 : 0];
  return s.present() && s.intrq && !(control_ & kCtlNien);
}

void IdeChannel::update_irq() {
  const bool level = irq_level();
  const bool rising = level && !irq_->level();
  irq_->set(level);
  if (rising && dma_) dma_->irq_raised();
}

void IdeChannel::raise_irq(IdeDevice& d) {
  d.intrq = true;
  update_irq();
}

void IdeChannel::complete(IdeDevice& d, bool irq) {
  d.pio = IdeDevice::Pio::None;
  d.dma = IdeDevice::Dma::None;
  d.pos = d.end = 0;
  d.status = kDrdy | kDsc;
  d.error = 0;
  if (irq) raise_irq(d);
}

void IdeChannel::abort(IdeDevice& d) {
  d.pio = IdeDevice::Pio::None;
  d.dma = IdeDevice::Dma::None;
  d.pos = d.end = 0;
  d.status = kDrdy | kDsc | kErr;
  d.error = kErrAbrt;
  raise_irq(d);
}

void IdeChannel::start_pio_in(IdeDevice& d, uint32_t bytes, IdeDevice::Pio next, bool irq) {
  if (d.buf.size() < bytes) d.buf.resize(bytes);
  d.pos = 0;
  d.end = bytes;
  d.pio = next;
  d.status = kDrdy | kDsc | kDrq;
  if (irq) raise_irq(d);
}

void IdeChannel::start_pio_out(IdeDevice& d, uint32_t bytes, IdeDevice::Pio next, bool irq) {
  if (d.buf.size() < bytes) d.buf.resize(bytes);
  d.pos = 0;
  d.end = bytes;
  d.pio = next;
  d.status = kDrdy | kDsc | kDrq;
  if (irq) raise_irq(d);
}

uint8_t IdeChannel::read_register(unsigned reg) {
  if (!dev_[0].present() && !dev_[1].present()) return 0xFF;  // nothing drives the bus
  IdeDevice& d = sel();
  if (!d.present()) return 0;  // device 0 answers for an absent device 1 with zeros
  const bool hob = control_ & kCtlHob;
  switch (reg) {
    case 1: return hob ? d.hob_feature : d.error;
    case 2: return hob ? d.hob_count : d.count;
    case 3: return hob ? d.hob_lba_low : d.lba_low;
    case 4: return hob ? d.hob_lba_mid : d.lba_mid;
    case 5: return hob ? d.hob_lba_high : d.lba_high;
    case 6: return d.device | 0xA0;  // bits 7 and 5 are obsolete and read as 1 on most devices
    case 7:
      d.intrq = false;
      update_irq();
      return d.status;
  }
  return 0xFF;
}

void IdeChannel::write_register(unsigned reg, uint8_t v) {
  control_ &= ~kCtlHob;  // a task-file write clears HOB (ATA-6 §7.9)
  for (IdeDevice& d : dev_) {
    switch (reg) {
      case 1: d.hob_feature = d.feature; d.feature = v; break;
      case 2: d.hob_count = d.count; d.count = v; break;
      case 3: d.hob_lba_low = d.lba_low; d.lba_low = v; break;
      case 4: d.hob_lba_mid = d.lba_mid; d.lba_mid = v; break;
      case 5: d.hob_lba_high = d.lba_high; d.lba_high = v; break;
      case 6: d.device = v & 0x5F; break;
    }
  }
  if (reg == 6) update_irq();  // INTRQ now follows the newly selected device
}

void IdeChannel::write_control(uint8_t v) {
  const bool was_srst = control_ & kCtlSrst;
  control_ = v & (kCtlNien | kCtlSrst | kCtlHob);
  if (v & kCtlSrst) {
    for (IdeDevice& d : dev_) {
      d.pio = IdeDevice::Pio::None;
      d.dma = IdeDevice::Dma::None;
      d.intrq = false;
      d.status = kBsy;
    }
  } else if (was_srst) {
    for (IdeDevice& d : dev_) {
      d.device = 0;
      soft_reset(d);
    }
  }
  update_irq();
}

void IdeChannel::write_command(uint8_t cmd) {
  if (control_ & kCtlSrst) return;
  // EXECUTE DEVICE DIAGNOSTIC goes to both devices; device 0 reports (ATA-6 §8.11).
  if (cmd == 0x90) {
    for (IdeDevice& d : dev_)
      if (d.present()) soft_reset(d);
    dev_[0].device = dev_[1].device = 0;
    if (dev_[0].present()) {
      dev_[0].error = 0x01;
      raise_irq(dev_[0]);
    }
    return;
  }
  IdeDevice& d = sel();
  if (!d.present()) return;
  if (d.status & kBsy) return;
  d.intrq = false;
  update_irq();
  d.pio = IdeDevice::Pio::None;
  d.dma = IdeDevice::Dma::None;
  if (d.kind == IdeDevice::Kind::Disk) AtaCommands::execute(*this, d, cmd);
  else AtapiCommands::execute(*this, d, cmd);
}

uint32_t IdeChannel::read_data(unsigned size) {
  IdeDevice& d = sel();
  const bool reading = d.pio == IdeDevice::Pio::AtaRead || d.pio == IdeDevice::Pio::Identify ||
                       d.pio == IdeDevice::Pio::AtapiData;
  if (!d.present() || !reading || !(d.status & kDrq)) return size == 4 ? 0xFFFFFFFFu : size == 2 ? 0xFFFFu : 0xFFu;
  uint32_t v = 0;
  for (unsigned i = 0; i < size && d.pos < d.end; ++i) v |= static_cast<uint32_t>(d.buf[d.pos++]) << (8 * i);
  if (d.pos >= d.end) buffer_done(d);
  return v;
}

void IdeChannel::write_data(uint32_t value, unsigned size) {
  IdeDevice& d = sel();
  const bool writing = d.pio == IdeDevice::Pio::AtaWrite || d.pio == IdeDevice::Pio::Packet;
  if (!d.present() || !writing || !(d.status & kDrq)) return;
  for (unsigned i = 0; i < size && d.pos < d.end; ++i) d.buf[d.pos++] = static_cast<uint8_t>(value >> (8 * i));
  if (d.pos >= d.end) buffer_done(d);
}

void IdeChannel::buffer_done(IdeDevice& d) {
  switch (d.pio) {
    case IdeDevice::Pio::AtaRead: AtaCommands::pio_read_next(*this, d); break;
    case IdeDevice::Pio::AtaWrite: AtaCommands::pio_write_next(*this, d); break;
    case IdeDevice::Pio::Identify: complete(d, false); break;  // no interrupt after the last word (§8.15)
    case IdeDevice::Pio::Packet: AtapiCommands::packet_received(*this, d); break;
    case IdeDevice::Pio::AtapiData: AtapiCommands::data_next(*this, d); break;
    case IdeDevice::Pio::None: break;
  }
}

void IdeChannel::dma_started() { run_dma(sel()); }

void IdeChannel::run_dma(IdeDevice& d) {
  if (d.dma == IdeDevice::Dma::None || !dma_ || !dma_->dma_running()) return;
  if (d.kind == IdeDevice::Kind::Disk) AtaCommands::run_dma(*this, d);
  else AtapiCommands::run_dma(*this, d);
}

uint32_t IdeChannel::port_in(uint16_t port, unsigned size) {
  if (port == ctl_port_) {  // Alternate Status: no side effects
    if (!dev_[0].present() && !dev_[1].present()) return 0xFF;
    const IdeDevice& d = sel();
    return d.present() ? d.status : 0;
  }
  const unsigned reg = port - cmd_base_;
  if (reg == 0) return read_data(size);
  uint32_t v = read_register(reg);
  // A wide access to a task-file register reads the following registers too.
  for (unsigned i = 1; i < size && reg + i < 8; ++i) v |= static_cast<uint32_t>(read_register(reg + i)) << (8 * i);
  return v;
}

void IdeChannel::port_out(uint16_t port, uint32_t value, unsigned size) {
  if (port == ctl_port_) {
    write_control(static_cast<uint8_t>(value));
    return;
  }
  const unsigned reg = port - cmd_base_;
  if (reg == 0) {
    write_data(value, size);
    return;
  }
  for (unsigned i = 0; i < size && reg + i < 8; ++i) {
    const auto b = static_cast<uint8_t>(value >> (8 * i));
    if (reg + i == 7) write_command(b);
    else write_register(reg + i, b);
  }
}

void IdeChannel::save(StateWriter& w) const {
  w.begin(name_);
  w.put(control_);
  for (const IdeDevice& d : dev_) {
    w.put(d.feature); w.put(d.count); w.put(d.lba_low); w.put(d.lba_mid); w.put(d.lba_high);
    w.put(d.hob_feature); w.put(d.hob_count); w.put(d.hob_lba_low); w.put(d.hob_lba_mid); w.put(d.hob_lba_high);
    w.put(d.device); w.put(d.status); w.put(d.error); w.put<uint8_t>(d.intrq);
    w.put(d.cur_cyls); w.put(d.cur_heads); w.put(d.cur_spt); w.put(d.multiple); w.put(d.xfer_mode);
    w.put<uint8_t>(d.write_cache);
    w.put(static_cast<uint32_t>(d.buf.size()));
    w.put_bytes(d.buf.data(), d.buf.size());
    w.put(d.pos); w.put(d.end); w.put(d.pio); w.put(d.dma); w.put(d.lba); w.put(d.remaining); w.put(d.block);
    w.put(d.sense_key); w.put(d.asc); w.put(d.ascq);
    w.put<uint8_t>(d.tray_open); w.put<uint8_t>(d.locked); w.put<uint8_t>(d.media_event);
    w.put(static_cast<uint32_t>(d.reply.size()));
    w.put_bytes(d.reply.data(), d.reply.size());
    w.put<uint8_t>(d.data_from_image); w.put(d.data_offset); w.put(d.data_left); w.put(d.byte_limit);
    w.put_bytes(d.packet, sizeof d.packet);
  }
}

void IdeChannel::load(StateReader& r) {
  r.begin(name_);
  r.get(control_);
  for (IdeDevice& d : dev_) {
    r.get(d.feature); r.get(d.count); r.get(d.lba_low); r.get(d.lba_mid); r.get(d.lba_high);
    r.get(d.hob_feature); r.get(d.hob_count); r.get(d.hob_lba_low); r.get(d.hob_lba_mid); r.get(d.hob_lba_high);
    r.get(d.device); r.get(d.status); r.get(d.error); d.intrq = r.get<uint8_t>() != 0;
    r.get(d.cur_cyls); r.get(d.cur_heads); r.get(d.cur_spt); r.get(d.multiple); r.get(d.xfer_mode);
    d.write_cache = r.get<uint8_t>() != 0;
    d.buf.resize(r.get<uint32_t>());
    r.get_bytes(d.buf.data(), d.buf.size());
    r.get(d.pos); r.get(d.end); r.get(d.pio); r.get(d.dma); r.get(d.lba); r.get(d.remaining); r.get(d.block);
    if (d.end > d.buf.size() || d.pos > d.end) throw std::runtime_error("snapshot: bad IDE buffer state");
    r.get(d.sense_key); r.get(d.asc); r.get(d.ascq);
    d.tray_open = r.get<uint8_t>() != 0; d.locked = r.get<uint8_t>() != 0; d.media_event = r.get<uint8_t>() != 0;
    d.reply.resize(r.get<uint32_t>());
    r.get_bytes(d.reply.data(), d.reply.size());
    d.data_from_image = r.get<uint8_t>() != 0; r.get(d.data_offset); r.get(d.data_left); r.get(d.byte_limit);
    r.get_bytes(d.packet, sizeof d.packet);
  }
  update_irq();
}

}  // namespace kestrel::machine
