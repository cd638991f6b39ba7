// An ATAPI CD-ROM drive on an IDE channel: the PACKET protocol (ATA/ATAPI-6 §9.9
// and §9.10, T13/1410D) carrying the MMC commands (T10 MMC-3/MMC-5, SPC-3) that
// SeaBIOS's El Torito boot, Linux's sr/cdrom drivers and libata issue. The medium is
// an ISO image of 2048-byte sectors presented as one data track in one session.
//
// A packet arrives after the PACKET command in the PIO buffer (12 bytes, the
// interrupt reason CoD=1 IO=0). Data goes back either through the bus master (the
// PACKET command's Features bit 0) or in PIO blocks of at most the byte count the
// host put in the LBA Mid/High registers (rounded down to even when it is less
// than what is left), each announced by an interrupt with the length in the same
// registers and IO=1 CoD=0; the status phase is IO=1 CoD=1. An error is CHECK
// CONDITION: ERR in Status, the sense key in Error[7:4], the sense data kept for
// REQUEST SENSE.
#include <algorithm>
#include <cstring>
#include <string_view>

#include "machine/devices/ide_channel.h"
#include "machine/devices/ide_commands.h"
#include "machine/storage/disk_image.h"

namespace kestrel::machine {

using namespace ata;

namespace {

constexpr uint32_t kBlock = 2048;
// More sectors than an 80-minute CD holds: the medium is a DVD.
constexpr uint64_t kCdMaxSectors = 360000;

// Sense keys and additional sense codes (SPC-3 §4.5.6, MMC-5 Annex F).
constexpr uint8_t kNotReady = 0x02, kMediumError = 0x03, kIllegalRequest = 0x05;
constexpr uint8_t kAscMediumNotPresent = 0x3A, kAscInvalidOpcode = 0x20, kAscLbaOutOfRange = 0x21,
                  kAscInvalidField = 0x24, kAscReadError = 0x11, kAscRemovalPrevented = 0x53;

void put_be16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void put_be32(uint8_t* p, uint32_t v) {
  put_be16(p, v >> 16);
  put_be16(p + 2, v);
}
uint32_t be16(const uint8_t* p) { return static_cast<uint32_t>(p[0]) << 8 | p[1]; }
uint32_t be32(const uint8_t* p) { return be16(p) << 16 | be16(p + 2); }

void put_string(uint16_t* words, unsigned first, unsigned count, std::string_view s) {
  for (unsigned i = 0; i < count; ++i) {
    const char hi = 2 * i < s.size() ? s[2 * i] : ' ';
    const char lo = 2 * i + 1 < s.size() ? s[2 * i + 1] : ' ';
    words[first + i] = static_cast<uint16_t>(static_cast<uint8_t>(hi) << 8 | static_cast<uint8_t>(lo));
  }
}

bool has_medium(const IdeDevice& d) { return d.image && !d.tray_open; }
uint64_t blocks(const IdeDevice& d) { return has_medium(d) ? d.image->sectors() : 0; }

// A CD address as minutes/seconds/frames: LBA 0 is 00:02:00 (MMC-5 §4.2.3.3).
void put_msf(uint8_t* p, uint64_t lba) {
  const uint64_t f = lba + 150;
  p[0] = 0;
  p[1] = static_cast<uint8_t>(f / (75 * 60));
  p[2] = static_cast<uint8_t>(f / 75 % 60);
  p[3] = static_cast<uint8_t>(f % 75);
}
void put_address(uint8_t* p, uint64_t lba, bool msf) {
  if (msf) put_msf(p, lba);
  else put_be32(p, static_cast<uint32_t>(lba));
}

void identify_packet(IdeDevice& d, std::vector<uint8_t>& out) {
  uint16_t w[256] = {};
  // ATAPI, CD-ROM/DVD device type, removable, DRQ within 50 us, 12-byte packets.
  w[0] = 0x85C0;
  put_string(w, 10, 10, "KESTREL0000000000002");
  put_string(w, 23, 4, "1.0");
  put_string(w, 27, 20, "Kestrel DVD-ROM");
  w[49] = 0x0300;  // LBA, DMA
  w[53] = 0x0007;
  w[63] = 0x0007 | ((d.xfer_mode & 0xF8) == 0x20 ? (0x100 << (d.xfer_mode & 7)) : 0);
  w[64] = 0x0003;
  w[65] = w[66] = w[67] = w[68] = 0xB4;
  w[71] = w[72] = 30;
  w[80] = 0x001E;  // ATA/ATAPI-1 to -4
  w[82] = 0x4010;  // NOP, PACKET feature set
  w[85] = 0x4010;
  w[88] = 0x003F | ((d.xfer_mode & 0xF8) == 0x40 ? (0x100 << (d.xfer_mode & 7)) : 0);
  w[93] = 0x6001;
  out.resize(512);
  for (unsigned i = 0; i < 256; ++i) {
    out[2 * i] = static_cast<uint8_t>(w[i]);
    out[2 * i + 1] = static_cast<uint8_t>(w[i] >> 8);
  }
}

// The status phase: command done, IO=1 CoD=1, interrupt.
void status_good(IdeChannel& ch, IdeDevice& d) {
  d.pio = IdeDevice::Pio::None;
  d.dma = IdeDevice::Dma::None;
  d.pos = d.end = 0;
  d.status = kDrdy | kDsc;
  d.error = 0;
  d.count = kIrIo | kIrCoD;
  IdeAccess::raise(ch, d);
}

void check_condition(IdeChannel& ch, IdeDevice& d, uint8_t key, uint8_t asc, uint8_t ascq = 0) {
  d.sense_key = key;
  d.asc = asc;
  d.ascq = ascq;
  d.pio = IdeDevice::Pio::None;
  d.dma = IdeDevice::Dma::None;
  d.pos = d.end = 0;
  d.status = kDrdy | kDsc | kErr;
  d.error = static_cast<uint8_t>(key << 4 | kErrAbrt);
  d.count = kIrIo | kIrCoD;
  IdeAccess::raise(ch, d);
}

void not_ready(IdeChannel& ch, IdeDevice& d) {
  // 3A/02: tray open; 3A/01: tray closed, no medium.
  check_condition(ch, d, kNotReady, kAscMediumNotPresent, d.tray_open ? 0x02 : 0x01);
}

// Fills `n` bytes of the data phase from the reply or the image; false on a read error.
bool fill(IdeDevice& d, uint8_t* dst, uint32_t n) {
  if (d.data_from_image) {
    if (!d.image || !d.image->read(d.data_offset, dst, n)) return false;
    d.data_offset += n;
  } else {
    std::memcpy(dst, d.reply.data() + d.data_offset, n);
    d.data_offset += n;
  }
  d.data_left -= n;
  return true;
}

void next_chunk(IdeChannel& ch, IdeDevice& d) {
  // The byte count limit (0 means the largest even count); an odd limit that is
  // less than what is left transfers one byte less (ATA-6 §9.10).
  uint32_t limit = d.byte_limit ? d.byte_limit : 0xFFFE;
  uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(d.data_left, limit));
  if (n < d.data_left && (n & 1)) --n;
  if (d.buf.size() < n) d.buf.resize(n);
  if (!fill(d, d.buf.data(), n)) return check_condition(ch, d, kMediumError, kAscReadError);
  d.lba_mid = static_cast<uint8_t>(n);
  d.lba_high = static_cast<uint8_t>(n >> 8);
  d.count = kIrIo;
  IdeAccess::pio_in(ch, d, n, IdeDevice::Pio::AtapiData, true);
}

void begin_data(IdeChannel& ch, IdeDevice& d) {
  if (d.data_left == 0) return status_good(ch, d);
  if (d.feature & 1) {  // DMA: wait for (or use) the bus master
    d.dma = IdeDevice::Dma::AtapiRead;
    d.status = kDrdy | kDsc | kDrq;
    d.count = kIrIo;
    IdeAccess::run_dma(ch, d);
    return;
  }
  next_chunk(ch, d);
}

// Sends `data` (at most `alloc` bytes of it: the command's allocation length).
void reply(IdeChannel& ch, IdeDevice& d, std::vector<uint8_t> data, uint32_t alloc) {
  if (data.size() > alloc) data.resize(alloc);
  d.reply = std::move(data);
  d.data_from_image = false;
  d.data_offset = 0;
  d.data_left = d.reply.size();
  begin_data(ch, d);
}

void read_blocks(IdeChannel& ch, IdeDevice& d, uint64_t lba, uint64_t count) {
  if (!has_medium(d)) return not_ready(ch, d);
  const uint64_t total = blocks(d);
  if (lba > total || count > total - lba) return check_condition(ch, d, kIllegalRequest, kAscLbaOutOfRange);
  d.data_from_image = true;
  d.data_offset = lba * kBlock;
  d.data_left = count * kBlock;
  begin_data(ch, d);
}

// MODE SENSE pages (MMC-5 §7): read error recovery (01h) and capabilities (2Ah).
void mode_page(IdeDevice& d, uint8_t page, bool changeable, std::vector<uint8_t>& out) {
  if (page == 0x01) {
    uint8_t p[8] = {0x01, 0x06, 0x00, 0x05, 0, 0, 0, 0};
    if (changeable) std::memset(p + 2, 0, 6);
    out.insert(out.end(), p, p + sizeof p);
  } else if (page == 0x2A) {
    uint8_t p[22] = {};
    p[0] = 0x2A;
    p[1] = 20;
    if (!changeable) {
      p[2] = 0x3B;  // reads CD-R, CD-RW, method 2, DVD-ROM, DVD-R
      p[3] = 0x00;  // writes nothing
      p[4] = 0x71;  // audio play, mode 2 form 1 and 2, multi-session
      p[5] = 0xFF;  // CD-DA commands, accurate stream, sub-channel, UPC/ISRC
      p[6] = static_cast<uint8_t>(0x29 | (d.locked ? 0x02 : 0));  // tray, eject, lock (and its state)
      p[7] = 0x03;  // separate volume and channel mute
      put_be16(p + 8, 706 * 8);  // maximum speed (kB/s)
      put_be16(p + 10, 256);     // volume levels
      put_be16(p + 12, 512);     // buffer size (KiB)
      put_be16(p + 14, 706 * 8);  // current speed
    }
    out.insert(out.end(), p, p + sizeof p);
  }
}

void mode_sense(IdeChannel& ch, IdeDevice& d, bool ten) {
  const uint8_t* p = d.packet;
  const uint8_t page = p[2] & 0x3F, control = p[2] >> 6;
  const uint32_t alloc = ten ? be16(p + 7) : p[4];
  if (control == 3) return check_condition(ch, d, kIllegalRequest, 0x39);  // saved values not supported
  std::vector<uint8_t> pages;
  if (page == 0x3F) {
    mode_page(d, 0x01, control == 1, pages);
    mode_page(d, 0x2A, control == 1, pages);
  } else if (page == 0x01 || page == 0x2A) {
    mode_page(d, page, control == 1, pages);
  } else {
    return check_condition(ch, d, kIllegalRequest, kAscInvalidField);
  }
  // Medium type (MMC-2 §5.5.10): 0x70 no disc with the door closed, 0x71 door open,
  // 0x01 a 120 mm CD-ROM data disc.
  const uint8_t medium = !d.image ? 0x70 : d.tray_open ? 0x71 : 0x01;
  std::vector<uint8_t> out;
  if (ten) {
    out.assign(8, 0);
    put_be16(out.data(), static_cast<uint32_t>(6 + pages.size()));
    out[2] = medium;
  } else {
    out.assign(4, 0);
    out[0] = static_cast<uint8_t>(3 + pages.size());
    out[1] = medium;
  }
  out.insert(out.end(), pages.begin(), pages.end());
  reply(ch, d, std::move(out), alloc);
}

void read_toc(IdeChannel& ch, IdeDevice& d) {
  const uint8_t* p = d.packet;
  if (!has_medium(d)) return not_ready(ch, d);
  const bool msf = p[1] & 0x02;
  unsigned format = p[2] & 0x0F;
  if (format == 0 && (p[9] >> 6)) format = p[9] >> 6;  // the older SFF-8020 place of the format
  const uint8_t track = p[6];
  const uint32_t alloc = be16(p + 7);
  const uint64_t leadout = blocks(d);
  std::vector<uint8_t> out(4, 0);
  switch (format) {
    case 0: {  // formatted TOC: track 1 and the lead-out (AAh)
      if (track > 1 && track != 0xAA) return check_condition(ch, d, kIllegalRequest, kAscInvalidField);
      out[2] = 1;
      out[3] = 1;
      auto descriptor = [&](uint8_t number, uint64_t lba) {
        uint8_t t[8] = {0, 0x14, number, 0};  // ADR 1, control 4: a data track
        put_address(t + 4, lba, msf);
        out.insert(out.end(), t, t + 8);
      };
      if (track <= 1) descriptor(1, 0);
      descriptor(0xAA, leadout);
      break;
    }
    case 1: {  // multi-session information: one session, starting at track 1
      out[2] = 1;
      out[3] = 1;
      uint8_t t[8] = {0, 0x14, 1, 0};
      put_address(t + 4, 0, msf);
      out.insert(out.end(), t, t + 8);
      break;
    }
    case 2: {  // raw TOC: the A0/A1/A2 points and track 1 of session 1, in MSF
      out[2] = 1;
      out[3] = 1;
      auto point = [&](uint8_t pt, uint8_t pmin, uint8_t psec, uint8_t pframe) {
        uint8_t t[11] = {1, 0x14, 0, pt, 0, 0, 0, 0, pmin, psec, pframe};
        out.insert(out.end(), t, t + 11);
      };
      uint8_t m[4];
      point(0xA0, 1, 0x00, 0);  // first track 1, disc type CD-ROM
      point(0xA1, 1, 0, 0);     // last track 1
      put_msf(m, leadout);
      point(0xA2, m[1], m[2], m[3]);
      put_msf(m, 0);
      point(1, m[1], m[2], m[3]);
      break;
    }
    default:
      return check_condition(ch, d, kIllegalRequest, kAscInvalidField);
  }
  put_be16(out.data(), static_cast<uint32_t>(out.size() - 2));
  reply(ch, d, std::move(out), alloc);
}

void get_configuration(IdeChannel& ch, IdeDevice& d) {
  const uint8_t* p = d.packet;
  const unsigned rt = p[1] & 0x03;
  const uint32_t start = be16(p + 2), alloc = be16(p + 7);
  const bool medium = has_medium(d);
  const bool dvd = medium && blocks(d) > kCdMaxSectors;
  const uint16_t current = !medium ? 0 : dvd ? 0x0010 : 0x0008;
  std::vector<uint8_t> out(8, 0);
  put_be16(out.data() + 6, current);
  auto feature = [&](uint16_t code, bool is_current, std::vector<uint8_t> body, uint8_t version) {
    if (rt == 2 ? code != start : code < start) return;
    if (rt == 1 && !is_current) return;
    uint8_t h[4];
    put_be16(h, code);
    h[2] = static_cast<uint8_t>(version << 2 | 0x02 | (is_current ? 1 : 0));  // persistent
    h[3] = static_cast<uint8_t>(body.size());
    out.insert(out.end(), h, h + 4);
    out.insert(out.end(), body.begin(), body.end());
  };
  // Profile list: DVD-ROM and CD-ROM, the medium's one current.
  feature(0x0000, true, {0x00, 0x10, static_cast<uint8_t>(current == 0x10), 0,
                         0x00, 0x08, static_cast<uint8_t>(current == 0x08), 0}, 0);
  feature(0x0001, true, {0, 0, 0, 2, 0, 0, 0, 0}, 1);  // core: ATAPI interface
  feature(0x0002, true, {0x02, 0, 0, 0}, 1);            // morphing: polled event status
  feature(0x0003, true, {0x29, 0, 0, 0}, 0);            // removable medium: tray, eject, lock
  feature(0x0010, medium, {0, 0, 0x08, 0, 0x01, 0, 0, 0}, 0);  // random readable: 2048-byte blocks
  feature(0x001E, medium && !dvd, {0, 0, 0, 0}, 2);             // CD read
  feature(0x001F, medium && dvd, {0, 0, 0, 0}, 0);              // DVD read
  put_be32(out.data(), static_cast<uint32_t>(out.size() - 4));
  reply(ch, d, std::move(out), alloc);
}

void event_status(IdeChannel& ch, IdeDevice& d) {
  const uint8_t* p = d.packet;
  if (!(p[1] & 1)) return check_condition(ch, d, kIllegalRequest, kAscInvalidField);  // only polled mode
  const uint8_t classes = p[4];
  const uint32_t alloc = be16(p + 7);
  std::vector<uint8_t> out(4, 0);
  out[3] = 0x10;  // supported: media
  if (classes & 0x10) {
    out[2] = 0x04;  // media class
    uint8_t e[4] = {0, 0, 0, 0};
    if (d.media_event) e[0] = has_medium(d) ? 0x02 : 0x03;  // new media / media removal
    e[1] = static_cast<uint8_t>((has_medium(d) ? 0x02 : 0) | (d.tray_open ? 0x01 : 0));
    out.insert(out.end(), e, e + 4);
    d.media_event = false;
  } else {
    out[2] = 0x80;  // no event available
  }
  put_be16(out.data(), static_cast<uint32_t>(out.size() - 2));
  reply(ch, d, std::move(out), alloc);
}

}  // namespace

void AtapiCommands::execute(IdeChannel& ch, IdeDevice& d, uint8_t cmd) {
  switch (cmd) {
    case 0xA0:  // PACKET
      if ((d.feature & 1) && !IdeAccess::engine(ch)) return IdeAccess::abort(ch, d);
      d.byte_limit = static_cast<uint16_t>(d.lba_high << 8 | d.lba_mid);
      IdeAccess::pio_out(ch, d, 12, IdeDevice::Pio::Packet, false);
      d.count = kIrCoD;
      return;
    case 0xA1:  // IDENTIFY PACKET DEVICE
      identify_packet(d, d.buf);
      IdeAccess::pio_in(ch, d, 512, IdeDevice::Pio::Identify, true);
      return;
    case 0x08:  // DEVICE RESET: the signature, no interrupt (ATA-6 §8.10)
      IdeAccess::set_signature(ch, d);
      d.status = 0;
      d.error = 0x01;
      return;
    case 0xEF:  // SET FEATURES
      if (d.feature == 0x03) {
        const uint8_t m = d.count;
        if (!(m <= 0x01 || (m >= 0x08 && m <= 0x0C) || (m >= 0x20 && m <= 0x22) || (m >= 0x40 && m <= 0x45)))
          return IdeAccess::abort(ch, d);
        d.xfer_mode = m;
      }
      return IdeAccess::complete(ch, d);
    case 0xE5:
      d.count = 0xFF;
      return IdeAccess::complete(ch, d);
    case 0xE0: case 0xE1: case 0xE2: case 0xE3:
      return IdeAccess::complete(ch, d);
    default:
      // An ATA command a packet device does not take: abort, with the signature in
      // the task file so that the host can tell what it talks to (§8.15, §9.12).
      IdeAccess::abort(ch, d);
      IdeAccess::set_signature(ch, d);
      return;
  }
}

void AtapiCommands::packet_received(IdeChannel& ch, IdeDevice& d) {
  std::memcpy(d.packet, d.buf.data(), 12);
  const uint8_t* p = d.packet;
  switch (p[0]) {
    case 0x00:  // TEST UNIT READY
      if (!has_medium(d)) return not_ready(ch, d);
      return status_good(ch, d);
    case 0x03: {  // REQUEST SENSE: fixed-format sense data, then the sense is cleared
      std::vector<uint8_t> s(18, 0);
      s[0] = 0x70;
      s[2] = d.sense_key;
      s[7] = 10;
      s[12] = d.asc;
      s[13] = d.ascq;
      d.sense_key = d.asc = d.ascq = 0;
      return reply(ch, d, std::move(s), p[4]);
    }
    case 0x12: {  // INQUIRY (standard data only: no vital product data pages)
      if (p[1] & 1) return check_condition(ch, d, kIllegalRequest, kAscInvalidField);
      std::vector<uint8_t> s(36, 0);
      s[0] = 0x05;  // CD/DVD device
      s[1] = 0x80;  // removable
      s[2] = 0x00;
      s[3] = 0x21;  // ATAPI, response data format 1
      s[4] = 31;
      std::memcpy(s.data() + 8, "KESTREL ", 8);
      std::memcpy(s.data() + 16, "Kestrel DVD-ROM ", 16);
      std::memcpy(s.data() + 32, "1.0 ", 4);
      return reply(ch, d, std::move(s), be16(p + 3));
    }
    case 0x25: {  // READ CAPACITY: the last block and the block size
      if (!has_medium(d)) return not_ready(ch, d);
      std::vector<uint8_t> s(8, 0);
      put_be32(s.data(), static_cast<uint32_t>(blocks(d) - 1));
      put_be32(s.data() + 4, kBlock);
      return reply(ch, d, std::move(s), 8);
    }
    case 0x28:  // READ(10)
      return read_blocks(ch, d, be32(p + 2), be16(p + 7));
    case 0xA8:  // READ(12)
      return read_blocks(ch, d, be32(p + 2), be32(p + 6));
    case 0x2B:  // SEEK(10)
      if (!has_medium(d)) return not_ready(ch, d);
      if (be32(p + 2) >= blocks(d)) return check_condition(ch, d, kIllegalRequest, kAscLbaOutOfRange);
      return status_good(ch, d);
    case 0x1A: return mode_sense(ch, d, false);
    case 0x5A: return mode_sense(ch, d, true);
    case 0x43: return read_toc(ch, d);
    case 0x46: return get_configuration(ch, d);
    case 0x4A: return event_status(ch, d);
    case 0x1B: {  // START STOP UNIT: LoEj opens (Start=0) or closes (Start=1) the tray
      if (p[4] & 0x02) {
        if (!(p[4] & 0x01)) {
          if (d.locked) return check_condition(ch, d, kNotReady, kAscRemovalPrevented, 0x02);
          if (!d.tray_open) d.media_event = d.image != nullptr;
          d.tray_open = true;
        } else {
          if (d.tray_open) d.media_event = d.image != nullptr;
          d.tray_open = false;
        }
      }
      return status_good(ch, d);
    }
    case 0x1E:  // PREVENT ALLOW MEDIUM REMOVAL
      d.locked = p[4] & 0x01;
      return status_good(ch, d);
    case 0xBD: {  // MECHANISM STATUS: no changer, the tray's state
      std::vector<uint8_t> s(8, 0);
      s[1] = d.tray_open ? 0x10 : 0x00;
      return reply(ch, d, std::move(s), be16(p + 8));
    }
    case 0x51: {  // READ DISC INFORMATION: a complete, finalized disc with one session
      if (!has_medium(d)) return not_ready(ch, d);
      std::vector<uint8_t> s(34, 0);
      put_be16(s.data(), 32);
      s[2] = 0x0E;  // last session complete, disc complete
      s[3] = 1;     // first track
      s[4] = 1;     // sessions
      s[5] = 1;     // first track of the last session
      s[6] = 1;     // last track of the last session
      s[7] = 0x20;  // unrestricted use
      return reply(ch, d, std::move(s), be16(p + 7));
    }
    case 0x35:  // SYNCHRONIZE CACHE
    case 0xBB:  // SET CD SPEED
      return status_good(ch, d);
    default:
      return check_condition(ch, d, kIllegalRequest, kAscInvalidOpcode);
  }
}

void AtapiCommands::data_next(IdeChannel& ch, IdeDevice& d) {
  if (d.data_left == 0) return status_good(ch, d);
  next_chunk(ch, d);
}

void AtapiCommands::run_dma(IdeChannel& ch, IdeDevice& d) {
  IdeDmaEngine* e = IdeAccess::engine(ch);
  constexpr uint32_t kChunk = 32 * kBlock;
  if (d.buf.size() < kChunk) d.buf.resize(kChunk);
  while (d.data_left) {
    const auto n = static_cast<uint32_t>(std::min<uint64_t>(d.data_left, kChunk));
    if (!fill(d, d.buf.data(), n)) {
      e->dma_finished(false);
      return check_condition(ch, d, kMediumError, kAscReadError);
    }
    if (e->dma_transfer(d.buf.data(), n, true) < n) {
      e->dma_finished(true);
      return check_condition(ch, d, kIllegalRequest, kAscInvalidField);
    }
  }
  e->dma_finished(false);
  status_good(ch, d);
}

}  // namespace kestrel::machine
