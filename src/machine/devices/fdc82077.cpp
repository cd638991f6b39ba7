#include "machine/devices/fdc82077.h"

#include <algorithm>
#include <vector>

#include "machine/devices/dma8237.h"
#include "machine/machine.h"
#include "machine/storage/disk_image.h"

namespace kestrel::machine {

namespace {

// Status register bits (82077AA data sheet §5.2, tables 5-5 to 5-8).
constexpr uint8_t kSt0Abnormal = 0x40, kSt0Invalid = 0x80, kSt0SeekEnd = 0x20, kSt0EquipCheck = 0x10,
                  kSt0NotReady = 0x08;
constexpr uint8_t kSt1EndOfCyl = 0x80, kSt1Overrun = 0x10, kSt1NoData = 0x04, kSt1NotWritable = 0x02,
                  kSt1MissingAm = 0x01;
constexpr uint8_t kSt3WriteProt = 0x40, kSt3Ready = 0x20, kSt3Track0 = 0x10, kSt3TwoSide = 0x08;
constexpr uint32_t kSector = 512;

}  // namespace

Fdc82077::Fdc82077(Machine& m, IrqLine* irq, Dma8237* dma) : m_(m), irq_(irq), dma_(dma) { reset(); }

void Fdc82077::attach(PortBus& ports) {
  ports.map(kBase, 6, this);     // 0x3F0-0x3F5
  ports.map(kBase + 7, 1, this); // 0x3F7 (0x3F6 is the IDE controller's)
}

void Fdc82077::insert(unsigned drive, std::shared_ptr<DiskImage> image) {
  drives_[drive & 3].image = std::move(image);
  drives_[drive & 3].changed = true;
}

// Hardware reset: DOR = 0 holds the controller in reset until software sets nRESET.
void Fdc82077::reset() {
  dor_ = 0;
  tdr_ = 0;
  rate_ = 0;
  lock_ = false;
  srt_hut_ = hlt_nd_ = 0;
  perpendicular_ = 0;
  for (Drive& d : drives_) {
    d.track = 0;
    d.changed = true;
  }
  enter_reset();
}

void Fdc82077::enter_reset() {
  in_reset_ = true;
  phase_ = Phase::Command;
  cmd_pos_ = cmd_len_ = res_pos_ = res_len_ = 0;
  reset_sense_ = 0;
  seek_pending_ = false;
  if (!lock_) {  // LOCK keeps the FIFO settings across a software reset (§5.3.4)
    config_ = 0x20;
    pretrk_ = 0;
  }
  set_irq(false);
}

// Leaving reset: the controller polls the drives and interrupts; four SENSE
// INTERRUPT STATUS commands read the polling results (§5.4.1).
void Fdc82077::leave_reset() {
  in_reset_ = false;
  reset_sense_ = 4;
  set_irq(true);
}

void Fdc82077::set_irq(bool on) {
  irq_pending_ = on;
  update_irq();
}

void Fdc82077::update_irq() {
  if (irq_) irq_->set(irq_pending_ && (dor_ & kDorDma));
}

void Fdc82077::write_dor(uint8_t v) {
  const bool was_reset = !(dor_ & kDorReset);
  dor_ = v;
  if (!(v & kDorReset)) {
    if (!was_reset || !in_reset_) enter_reset();
  } else if (in_reset_) {
    leave_reset();
  }
  update_irq();
}

uint32_t Fdc82077::port_in(uint16_t port, unsigned size) {
  (void)size;
  switch (port - kBase) {
    case 0: return 0xFF;  // SRA/SRB are PS/2-mode registers: not decoded in AT mode
    case 1: return 0xFF;
    case 2: return dor_;
    case 3: return tdr_;
    case 4: {  // MSR
      if (in_reset_) return 0x00;
      if (phase_ == Phase::Result) return kMsrRqm | kMsrDio | kMsrCb;
      return kMsrRqm | (cmd_pos_ ? kMsrCb : 0);
    }
    case 5: return read_fifo();
    case 7: {  // DIR: the selected drive's disk-change line in bit 7
      const Drive& d = drives_[dor_ & 3];
      return d.changed ? 0x80 : 0x00;
    }
  }
  return 0xFF;
}

void Fdc82077::port_out(uint16_t port, uint32_t value, unsigned size) {
  (void)size;
  const auto v = static_cast<uint8_t>(value);
  switch (port - kBase) {
    case 2: write_dor(v); break;
    case 3: tdr_ = v & 0x03; break;
    case 4:  // DSR: data rate; bit 7 is a self-clearing software reset
      rate_ = v & 0x03;
      if (v & 0x80) {
        enter_reset();
        if (dor_ & kDorReset) leave_reset();
      }
      break;
    case 5: write_fifo(v); break;
    case 7: rate_ = v & 0x03; break;  // CCR
  }
}

unsigned Fdc82077::command_length(uint8_t cmd) const {
  switch (cmd & 0x1F) {
    case 0x05: case 0x06: return 9;  // WRITE DATA, READ DATA (MT/MFM/SK in bits 7:5)
    case 0x0A: return 2;             // READ ID
    case 0x0D: return 6;             // FORMAT TRACK
    default: break;
  }
  switch (cmd) {
    case 0x03: return 3;  // SPECIFY
    case 0x04: return 2;  // SENSE DRIVE STATUS
    case 0x07: return 2;  // RECALIBRATE
    case 0x08: return 1;  // SENSE INTERRUPT STATUS
    case 0x0E: return 1;  // DUMPREG
    case 0x0F: case 0x8F: case 0xCF: return 3;  // SEEK (relative seeks treated as absolute)
    case 0x10: return 1;  // VERSION
    case 0x12: return 2;  // PERPENDICULAR MODE
    case 0x13: return 4;  // CONFIGURE
    case 0x14: case 0x94: return 1;  // LOCK
    default: return 1;    // invalid: answered with ST0 = 0x80
  }
}

void Fdc82077::write_fifo(uint8_t v) {
  if (in_reset_ || phase_ != Phase::Command) return;
  if (cmd_pos_ == 0) cmd_len_ = command_length(v);
  cmd_[cmd_pos_++] = v;
  if (cmd_pos_ >= cmd_len_) {
    cmd_pos_ = 0;
    execute();
  }
}

uint8_t Fdc82077::read_fifo() {
  if (in_reset_ || phase_ != Phase::Result) return 0xFF;
  // Reading the result clears the interrupt of a data command (§5.2).
  if (res_pos_ == 0) set_irq(false);
  const uint8_t v = res_[res_pos_++];
  if (res_pos_ >= res_len_) {
    phase_ = Phase::Command;
    res_pos_ = res_len_ = 0;
  }
  return v;
}

void Fdc82077::result(std::initializer_list<uint8_t> bytes, bool irq) {
  res_len_ = 0;
  for (uint8_t b : bytes) res_[res_len_++] = b;
  res_pos_ = 0;
  phase_ = res_len_ ? Phase::Result : Phase::Command;
  if (irq) set_irq(true);
}

bool Fdc82077::medium_readable(const Drive& d) const {
  return d.image && d.image->floppy_format() && d.image->floppy_format()->data_rate == rate_;
}

void Fdc82077::seek_done(unsigned drive, unsigned head, bool ok) {
  // A seek or recalibrate ends with an interrupt; SENSE INTERRUPT STATUS reads ST0 and PCN.
  reset_sense_ = 0;
  seek_pending_ = true;
  seek_drive_ = static_cast<uint8_t>(drive);
  seek_st0_ = static_cast<uint8_t>(kSt0SeekEnd | (ok ? 0 : kSt0Abnormal | kSt0EquipCheck) | head << 2 | drive);
  set_irq(true);
}

void Fdc82077::execute() {
  const uint8_t op = cmd_[0];
  switch (op & 0x1F) {
    case 0x06: return read_write(false);
    case 0x05: return read_write(true);
    case 0x0A: return read_id();
    case 0x0D: return format_track();
    default: break;
  }
  const unsigned drive = cmd_[1] & 3, head = (cmd_[1] >> 2) & 1;
  switch (op) {
    case 0x03:  // SPECIFY
      srt_hut_ = cmd_[1];
      hlt_nd_ = cmd_[2];
      return result({}, false);
    case 0x04: {  // SENSE DRIVE STATUS
      const Drive& d = drives_[drive];
      const bool wp = d.image && d.image->read_only();
      return result({static_cast<uint8_t>((wp ? kSt3WriteProt : 0) | kSt3Ready | (d.track == 0 ? kSt3Track0 : 0) |
                                          kSt3TwoSide | head << 2 | drive)},
                    false);
    }
    case 0x07: {  // RECALIBRATE
      Drive& d = drives_[drive];
      d.track = 0;
      if (d.image) d.changed = false;
      result({}, false);
      return seek_done(drive, 0, drive < 2);
    }
    case 0x0F: case 0x8F: case 0xCF: {  // SEEK
      Drive& d = drives_[drive];
      d.track = cmd_[2];
      if (d.image) d.changed = false;
      result({}, false);
      return seek_done(drive, head, true);
    }
    case 0x08:  // SENSE INTERRUPT STATUS
      if (reset_sense_) {
        const unsigned n = 4 - reset_sense_--;
        if (!reset_sense_) set_irq(false);
        return result({static_cast<uint8_t>(0xC0 | n), drives_[n].track}, false);
      }
      if (seek_pending_) {
        seek_pending_ = false;
        set_irq(false);
        return result({seek_st0_, drives_[seek_drive_].track}, false);
      }
      return result({kSt0Invalid}, false);
    case 0x0E:  // DUMPREG
      return result({drives_[0].track, drives_[1].track, drives_[2].track, drives_[3].track, srt_hut_, hlt_nd_,
                     last_eot_, static_cast<uint8_t>((lock_ ? 0x80 : 0) | perpendicular_), config_, pretrk_},
                    false);
    case 0x10:  // VERSION: an 82077AA (enhanced controller)
      return result({0x90}, false);
    case 0x12:  // PERPENDICULAR MODE: OW (bit 7) lets D3-D0 change; GAP and WGATE always
      perpendicular_ = static_cast<uint8_t>(((cmd_[1] & 0x80) ? (cmd_[1] & 0x3C) : (perpendicular_ & 0x3C)) |
                                            (cmd_[1] & 0x03));
      return result({}, false);
    case 0x13:  // CONFIGURE
      config_ = cmd_[2];
      pretrk_ = cmd_[3];
      return result({}, false);
    case 0x14: case 0x94:  // LOCK
      lock_ = op & 0x80;
      return result({static_cast<uint8_t>(lock_ ? 0x10 : 0)}, false);
    default:
      return result({kSt0Invalid}, false);
  }
}

// READ DATA / WRITE DATA (§5.1.1, §5.1.2): from sector R to EOT on the head, then
// with MT on to head 1; terminal count from the DMA controller ends the command
// normally, running off the end of the cylinder without it is an abnormal end.
void Fdc82077::read_write(bool write) {
  const bool mt = cmd_[0] & 0x80;
  const unsigned drive = cmd_[1] & 3;
  unsigned head = (cmd_[1] >> 2) & 1;
  uint8_t c = cmd_[2], h = cmd_[3], r = cmd_[4];
  const uint8_t n = cmd_[5], eot = cmd_[6];
  last_eot_ = eot;
  Drive& d = drives_[drive];
  auto finish = [&](uint8_t st0, uint8_t st1, uint8_t st2) {
    result({static_cast<uint8_t>(st0 | head << 2 | drive), st1, st2, c, h, r, n}, true);
  };
  if (!medium_readable(d)) return finish(kSt0Abnormal | (d.image ? 0 : kSt0NotReady), kSt1MissingAm, 0);
  const FloppyFormat& f = *d.image->floppy_format();
  if (n != 2 || h != head) return finish(kSt0Abnormal, kSt1NoData, 0);
  if (write && d.image->read_only()) return finish(kSt0Abnormal, kSt1NotWritable, 0);
  if (hlt_nd_ & 1) {
    m_.report_once("fdc-non-dma", "fdc82077: non-DMA transfers are not modelled; the command ends with an overrun");
    return finish(kSt0Abnormal, kSt1Overrun, 0);
  }
  d.track = c;  // implied seek
  std::vector<uint8_t> buf(kSector);
  for (;;) {
    if (r < 1 || r > f.sectors_per_track || c >= f.tracks) return finish(kSt0Abnormal, kSt1NoData, 0);
    const uint64_t lba = (static_cast<uint64_t>(c) * f.heads + head) * f.sectors_per_track + r - 1;
    bool tc = false;
    size_t moved;
    if (write) {
      moved = dma_ ? dma_->transfer(kDmaChannel, buf.data(), kSector, false, &tc) : 0;
      if (moved == kSector && !d.image->write_sectors(lba, 1, buf.data()))
        return finish(kSt0Abnormal, kSt1NoData, 0);
    } else {
      if (!d.image->read_sectors(lba, 1, buf.data())) return finish(kSt0Abnormal, kSt1NoData, 0);
      moved = dma_ ? dma_->transfer(kDmaChannel, buf.data(), kSector, true, &tc) : 0;
    }
    if (moved == 0 && !tc) return finish(kSt0Abnormal, kSt1Overrun, 0);  // DMA masked: no one took the data
    // The ID of the next sector (the result's C/H/R when the command ends here).
    bool continue_track = true;
    if (r == eot) {
      r = 1;
      if (mt && head == 0) {
        head = 1;
        h = 1;
      } else {
        ++c;
        if (mt) h = 0;  // MT on head 1: the head number's LSB wraps to 0
        continue_track = false;
      }
    } else {
      ++r;
    }
    if (tc) return finish(0, 0, 0);
    // Past the last sector of the cylinder without terminal count: "end of cylinder".
    if (!continue_track) return finish(kSt0Abnormal, kSt1EndOfCyl, 0);
  }
}

void Fdc82077::read_id() {
  const unsigned drive = cmd_[1] & 3, head = (cmd_[1] >> 2) & 1;
  const Drive& d = drives_[drive];
  if (!medium_readable(d))
    return result({static_cast<uint8_t>(kSt0Abnormal | (d.image ? 0 : kSt0NotReady) | head << 2 | drive),
                   kSt1MissingAm, 0, d.track, static_cast<uint8_t>(head), 1, 2},
                  true);
  result({static_cast<uint8_t>(head << 2 | drive), 0, 0, d.track, static_cast<uint8_t>(head), 1, 2}, true);
}

// FORMAT TRACK (§5.1.5): the DMA controller supplies C, H, R, N for each of SC
// sectors; each sector named is filled with D.
void Fdc82077::format_track() {
  const unsigned drive = cmd_[1] & 3, head = (cmd_[1] >> 2) & 1;
  const uint8_t n = cmd_[2], sc = cmd_[3], fill = cmd_[5];
  Drive& d = drives_[drive];
  auto finish = [&](uint8_t st0, uint8_t st1, uint8_t cc, uint8_t hh, uint8_t rr) {
    result({static_cast<uint8_t>(st0 | head << 2 | drive), st1, 0, cc, hh, rr, n}, true);
  };
  if (!medium_readable(d)) return finish(kSt0Abnormal | (d.image ? 0 : kSt0NotReady), kSt1MissingAm, d.track, 0, 1);
  if (d.image->read_only()) return finish(kSt0Abnormal, kSt1NotWritable, d.track, 0, 1);
  const FloppyFormat& f = *d.image->floppy_format();
  std::vector<uint8_t> data(kSector, fill);
  uint8_t id[4] = {d.track, static_cast<uint8_t>(head), 1, n};
  for (unsigned i = 0; i < sc; ++i) {
    bool tc = false;
    if (!dma_ || dma_->transfer(kDmaChannel, id, 4, false, &tc) < 4) return finish(kSt0Abnormal, kSt1Overrun, id[0], id[1], id[2]);
    // Only the image's own layout can be written: 512-byte sectors within the format.
    if (id[3] != 2 || id[0] >= f.tracks || id[1] >= f.heads || id[2] < 1 || id[2] > f.sectors_per_track)
      return finish(kSt0Abnormal, kSt1NoData, id[0], id[1], id[2]);
    const uint64_t lba = (static_cast<uint64_t>(id[0]) * f.heads + id[1]) * f.sectors_per_track + id[2] - 1;
    if (!d.image->write_sectors(lba, 1, data.data())) return finish(kSt0Abnormal, kSt1NoData, id[0], id[1], id[2]);
    if (tc && i + 1 < sc) break;
  }
  finish(0, 0, id[0], id[1], id[2]);
}

void Fdc82077::save(StateWriter& w) const {
  w.begin(name());
  for (const Drive& d : drives_) {
    w.put(d.track);
    w.put<uint8_t>(d.changed);
  }
  w.put(dor_); w.put(tdr_); w.put(rate_); w.put<uint8_t>(in_reset_); w.put(phase_);
  w.put_bytes(cmd_, sizeof cmd_); w.put(static_cast<uint8_t>(cmd_len_)); w.put(static_cast<uint8_t>(cmd_pos_));
  w.put_bytes(res_, sizeof res_); w.put(static_cast<uint8_t>(res_len_)); w.put(static_cast<uint8_t>(res_pos_));
  w.put<uint8_t>(irq_pending_); w.put(static_cast<uint8_t>(reset_sense_)); w.put<uint8_t>(seek_pending_);
  w.put(seek_st0_); w.put(seek_drive_);
  w.put(srt_hut_); w.put(hlt_nd_); w.put(config_); w.put(pretrk_); w.put(perpendicular_); w.put(last_eot_);
  w.put<uint8_t>(lock_);
}

void Fdc82077::load(StateReader& r) {
  r.begin(name());
  for (Drive& d : drives_) {
    r.get(d.track);
    d.changed = r.get<uint8_t>() != 0;
  }
  r.get(dor_); r.get(tdr_); r.get(rate_); in_reset_ = r.get<uint8_t>() != 0; r.get(phase_);
  r.get_bytes(cmd_, sizeof cmd_); cmd_len_ = std::min<unsigned>(r.get<uint8_t>(), 9); cmd_pos_ = std::min<unsigned>(r.get<uint8_t>(), 8);
  r.get_bytes(res_, sizeof res_); res_len_ = std::min<unsigned>(r.get<uint8_t>(), 10); res_pos_ = std::min<unsigned>(r.get<uint8_t>(), 9);
  irq_pending_ = r.get<uint8_t>() != 0; reset_sense_ = r.get<uint8_t>() & 7; seek_pending_ = r.get<uint8_t>() != 0;
  r.get(seek_st0_); r.get(seek_drive_);
  seek_drive_ &= 3;
  r.get(srt_hut_); r.get(hlt_nd_); r.get(config_); r.get(pretrk_); r.get(perpendicular_); r.get(last_eot_);
  lock_ = r.get<uint8_t>() != 0;
  update_irq();
}

}  // namespace kestrel::machine
