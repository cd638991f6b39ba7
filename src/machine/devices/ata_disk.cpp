// The ATA command set of an IDE hard disk (ATA/ATAPI-6, T13/1410D, chapter 8): PIO
// reads and writes of single sectors and of MULTIPLE blocks, bus-master DMA, LBA28,
// LBA48 and CHS addressing, IDENTIFY DEVICE, and the housekeeping commands BIOSes
// and Linux's libata issue. Data comes from and goes to the DiskImage at once.
#include <algorithm>
#include <cstring>
#include <string_view>

#include "machine/devices/ide_channel.h"
#include "machine/devices/ide_commands.h"
#include "machine/storage/disk_image.h"

namespace kestrel::machine {

using namespace ata;

namespace {

constexpr uint32_t kSector = 512;
constexpr uint16_t kMaxMultiple = 16;  // IDENTIFY word 47: sectors per READ/WRITE MULTIPLE block
constexpr uint32_t kDmaChunkSectors = 128;

// ATA strings are words with the first character in the high byte (ATA-6 §8.15.10).
void put_string(uint16_t* words, unsigned first, unsigned count, std::string_view s) {
  for (unsigned i = 0; i < count; ++i) {
    const char hi = 2 * i < s.size() ? s[2 * i] : ' ';
    const char lo = 2 * i + 1 < s.size() ? s[2 * i + 1] : ' ';
    words[first + i] = static_cast<uint16_t>(static_cast<uint8_t>(hi) << 8 | static_cast<uint8_t>(lo));
  }
}

uint64_t sectors_of(const IdeDevice& d) { return d.image ? d.image->sectors() : 0; }

}  // namespace

// The geometry a BIOS expects for a disk of this size: 16 heads and 63 sectors per
// track, as many cylinders as fit, at most 16383 (ATA-6 §6.2.1 and Annex B).
void AtaCommands::init_geometry(IdeDevice& d) {
  const uint64_t total = sectors_of(d);
  d.heads = 16;
  d.spt = 63;
  d.cyls = static_cast<uint16_t>(std::clamp<uint64_t>(total / (16 * 63), 1, 16383));
  d.cur_cyls = d.cyls;
  d.cur_heads = d.heads;
  d.cur_spt = d.spt;
}

namespace {

void identify(IdeChannel& ch, IdeDevice& d, std::vector<uint8_t>& out) {
  uint16_t w[256] = {};
  const uint64_t total = sectors_of(d);
  w[0] = 0x0040;  // fixed device, not removable
  w[1] = d.cyls;
  w[3] = d.heads;
  w[4] = static_cast<uint16_t>(kSector * d.spt);  // obsolete: bytes per track
  w[5] = kSector;                                 // obsolete: bytes per sector
  w[6] = d.spt;
  put_string(w, 10, 10, "KESTREL0000000000001");
  w[20] = 3;    // obsolete: buffer type
  w[21] = 512;  // obsolete: buffer size
  put_string(w, 23, 4, "1.0");
  put_string(w, 27, 20, "Kestrel HARDDISK");
  w[47] = 0x8000 | kMaxMultiple;
  w[49] = 0x0300;  // LBA, DMA
  w[50] = 0x4000;
  w[51] = 0x0200;  // PIO timing mode 2 (obsolete)
  w[52] = 0x0200;
  w[53] = 0x0007;  // words 54-58, 64-70 and 88 are valid
  w[54] = d.cur_cyls;
  w[55] = d.cur_heads;
  w[56] = d.cur_spt;
  const uint32_t chs_cap = static_cast<uint32_t>(d.cur_cyls) * d.cur_heads * d.cur_spt;
  w[57] = static_cast<uint16_t>(chs_cap);
  w[58] = static_cast<uint16_t>(chs_cap >> 16);
  w[59] = d.multiple ? static_cast<uint16_t>(0x0100 | d.multiple) : 0;
  const uint32_t lba28 = static_cast<uint32_t>(std::min<uint64_t>(total, 0x0FFFFFFF));
  w[60] = static_cast<uint16_t>(lba28);
  w[61] = static_cast<uint16_t>(lba28 >> 16);
  // Multiword DMA modes 0-2 supported; the selected one in bits 10:8.
  w[63] = 0x0007 | ((d.xfer_mode & 0xF8) == 0x20 ? (0x100 << (d.xfer_mode & 7)) : 0);
  w[64] = 0x0003;  // PIO modes 3 and 4
  w[65] = w[66] = w[67] = w[68] = 120;  // cycle times (ns)
  w[80] = 0x00F0;  // ATA-4 to ATA-7
  w[81] = 0x0016;
  w[82] = 0x4020 | (d.write_cache ? 0 : 0);  // NOP, write cache supported
  w[83] = 0x7400;  // LBA48, FLUSH CACHE, FLUSH CACHE EXT
  w[84] = 0x4000;
  w[85] = 0x4000 | (d.write_cache ? 0x0020 : 0);
  w[86] = 0x3400;
  w[87] = 0x4000;
  // Ultra DMA modes 0-5 supported; the selected one in bits 13:8.
  w[88] = 0x003F | ((d.xfer_mode & 0xF8) == 0x40 ? (0x100 << (d.xfer_mode & 7)) : 0);
  w[93] = 0x6001 | (0 << 8);  // hardware reset result: device 0 passed, 80-conductor cable
  w[100] = static_cast<uint16_t>(total);
  w[101] = static_cast<uint16_t>(total >> 16);
  w[102] = static_cast<uint16_t>(total >> 32);
  w[103] = static_cast<uint16_t>(total >> 48);
  out.resize(512);
  for (unsigned i = 0; i < 256; ++i) {
    out[2 * i] = static_cast<uint8_t>(w[i]);
    out[2 * i + 1] = static_cast<uint8_t>(w[i] >> 8);
  }
  (void)ch;
}

// The command's address and count: LBA48 for the EXT commands, else LBA28 or CHS
// by the Device register's LBA bit. False (with IDNF reported) for a CHS address
// outside the current geometry.
bool decode(IdeDevice& d, bool ext, uint64_t& lba, uint32_t& count) {
  if (ext) {
    lba = static_cast<uint64_t>(d.hob_lba_high) << 40 | static_cast<uint64_t>(d.hob_lba_mid) << 32 |
          static_cast<uint64_t>(d.hob_lba_low) << 24 | static_cast<uint64_t>(d.lba_high) << 16 |
          static_cast<uint64_t>(d.lba_mid) << 8 | d.lba_low;
    count = static_cast<uint32_t>(d.hob_count) << 8 | d.count;
    if (count == 0) count = 65536;
    return true;
  }
  count = d.count ? d.count : 256;
  if (d.device & kDevLba) {
    lba = static_cast<uint64_t>(d.device & 0x0F) << 24 | static_cast<uint64_t>(d.lba_high) << 16 |
          static_cast<uint64_t>(d.lba_mid) << 8 | d.lba_low;
    return true;
  }
  const uint32_t cyl = static_cast<uint32_t>(d.lba_high) << 8 | d.lba_mid;
  const uint32_t head = d.device & 0x0F;
  const uint32_t sector = d.lba_low;
  if (sector == 0 || sector > d.cur_spt || head >= d.cur_heads || cyl >= d.cur_cyls) return false;
  lba = (static_cast<uint64_t>(cyl) * d.cur_heads + head) * d.cur_spt + sector - 1;
  return true;
}

// Puts `lba` in the task file as the command's addressing mode reads it (for errors).
void report_address(IdeDevice& d, uint64_t lba, bool ext) {
  if (ext) {
    d.lba_low = static_cast<uint8_t>(lba); d.lba_mid = static_cast<uint8_t>(lba >> 8);
    d.lba_high = static_cast<uint8_t>(lba >> 16); d.hob_lba_low = static_cast<uint8_t>(lba >> 24);
    d.hob_lba_mid = static_cast<uint8_t>(lba >> 32); d.hob_lba_high = static_cast<uint8_t>(lba >> 40);
  } else if ((d.device & kDevLba) || !d.cur_spt || !d.cur_heads) {
    d.lba_low = static_cast<uint8_t>(lba); d.lba_mid = static_cast<uint8_t>(lba >> 8);
    d.lba_high = static_cast<uint8_t>(lba >> 16);
    d.device = static_cast<uint8_t>((d.device & 0xF0) | ((lba >> 24) & 0x0F));
  } else {
    const uint64_t cyl = lba / (static_cast<uint64_t>(d.cur_heads) * d.cur_spt);
    const uint64_t rest = lba % (static_cast<uint64_t>(d.cur_heads) * d.cur_spt);
    d.lba_mid = static_cast<uint8_t>(cyl); d.lba_high = static_cast<uint8_t>(cyl >> 8);
    d.device = static_cast<uint8_t>((d.device & 0xF0) | (rest / d.cur_spt));
    d.lba_low = static_cast<uint8_t>(rest % d.cur_spt + 1);
  }
}

void error_out(IdeChannel& ch, IdeDevice& d, uint8_t error) {
  d.pio = IdeDevice::Pio::None;
  d.dma = IdeDevice::Dma::None;
  d.pos = d.end = 0;
  d.status = kDrdy | kDsc | kErr;
  d.error = error;
  d.intrq = true;
  (void)ch;
}

}  // namespace

namespace {

void fail(IdeChannel& ch, IdeDevice& d, uint8_t error) {
  error_out(ch, d, error);
  IdeAccess::raise(ch, d);
}

void read_block(IdeChannel& ch, IdeDevice& d) {
  const uint32_t n = std::min(d.block, d.remaining);
  if (d.buf.size() < n * kSector) d.buf.resize(n * kSector);
  if (!d.image->read_sectors(d.lba, n, d.buf.data())) {
    report_address(d, d.lba, false);
    fail(ch, d, kErrUnc);
    return;
  }
  d.lba += n;
  d.remaining -= n;
  IdeAccess::pio_in(ch, d, n * kSector, IdeDevice::Pio::AtaRead, true);
}

}  // namespace

void AtaCommands::pio_read_next(IdeChannel& ch, IdeDevice& d) {
  if (d.remaining == 0) {
    IdeAccess::complete(ch, d, false);  // no interrupt after the last block of a read (§9.7)
    return;
  }
  read_block(ch, d);
}

void AtaCommands::pio_write_next(IdeChannel& ch, IdeDevice& d) {
  const uint32_t n = d.end / kSector;
  if (!d.image->write_sectors(d.lba, n, d.buf.data())) {
    report_address(d, d.lba, false);
    fail(ch, d, kErrAbrt);
    return;
  }
  d.lba += n;
  d.remaining -= n;
  if (d.remaining == 0) {
    IdeAccess::complete(ch, d, true);
    return;
  }
  IdeAccess::pio_out(ch, d, std::min(d.block, d.remaining) * kSector, IdeDevice::Pio::AtaWrite, true);
}

void AtaCommands::run_dma(IdeChannel& ch, IdeDevice& d) {
  IdeDmaEngine* e = IdeAccess::engine(ch);
  const bool to_memory = d.dma == IdeDevice::Dma::AtaRead;
  if (d.buf.size() < kDmaChunkSectors * kSector) d.buf.resize(kDmaChunkSectors * kSector);
  while (d.remaining) {
    const uint32_t n = std::min(kDmaChunkSectors, d.remaining);
    const size_t bytes = n * kSector;
    if (to_memory && !d.image->read_sectors(d.lba, n, d.buf.data())) {
      report_address(d, d.lba, false);
      e->dma_finished(false);
      fail(ch, d, kErrUnc);
      return;
    }
    const size_t moved = e->dma_transfer(d.buf.data(), bytes, to_memory);
    if (moved < bytes) {
      // The PRD table is shorter than the command: the host's error (PIIX data
      // sheet §2.7.3 "the IDE device would hang"); report it as an aborted command.
      e->dma_finished(true);
      fail(ch, d, kErrAbrt);
      return;
    }
    if (!to_memory && !d.image->write_sectors(d.lba, n, d.buf.data())) {
      report_address(d, d.lba, false);
      e->dma_finished(false);
      fail(ch, d, kErrAbrt);
      return;
    }
    d.lba += n;
    d.remaining -= n;
  }
  e->dma_finished(false);
  IdeAccess::complete(ch, d, true);
}

void AtaCommands::execute(IdeChannel& ch, IdeDevice& d, uint8_t cmd) {
  const uint64_t total = sectors_of(d);
  // Address, count and range check for the data commands; false when reported.
  auto address = [&](bool ext, uint64_t& lba, uint32_t& count) {
    if (!decode(d, ext, lba, count)) {
      fail(ch, d, kErrIdnf | kErrAbrt);
      return false;
    }
    if (lba >= total || count > total - lba) {
      report_address(d, std::min(lba, total), ext);
      fail(ch, d, kErrIdnf);
      return false;
    }
    return true;
  };
  uint64_t lba = 0;
  uint32_t count = 0;
  switch (cmd) {
    case 0xEC: {  // IDENTIFY DEVICE
      identify(ch, d, d.buf);
      IdeAccess::pio_in(ch, d, 512, IdeDevice::Pio::Identify, true);
      return;
    }
    case 0x20: case 0x21: case 0x24:  // READ SECTORS (EXT)
    case 0xC4: case 0x29: {           // READ MULTIPLE (EXT)
      const bool multiple = cmd == 0xC4 || cmd == 0x29;
      if (multiple && !d.multiple) return IdeAccess::abort(ch, d);
      if (!address(cmd == 0x24 || cmd == 0x29, lba, count)) return;
      d.lba = lba;
      d.remaining = count;
      d.block = multiple ? d.multiple : 1;
      read_block(ch, d);
      return;
    }
    case 0x30: case 0x31: case 0x34:  // WRITE SECTORS (EXT)
    case 0xC5: case 0x39: {           // WRITE MULTIPLE (EXT)
      const bool multiple = cmd == 0xC5 || cmd == 0x39;
      if (multiple && !d.multiple) return IdeAccess::abort(ch, d);
      if (!address(cmd == 0x34 || cmd == 0x39, lba, count)) return;
      d.lba = lba;
      d.remaining = count;
      d.block = multiple ? d.multiple : 1;
      // The first block needs no interrupt: the host polls for DRQ (§9.8).
      IdeAccess::pio_out(ch, d, std::min(d.block, d.remaining) * kSector, IdeDevice::Pio::AtaWrite, false);
      return;
    }
    case 0xC8: case 0xC9: case 0x25:    // READ DMA (EXT)
    case 0xCA: case 0xCB: case 0x35: {  // WRITE DMA (EXT)
      const bool read = cmd == 0xC8 || cmd == 0xC9 || cmd == 0x25;
      if (!IdeAccess::engine(ch)) return IdeAccess::abort(ch, d);
      if (!address(cmd == 0x25 || cmd == 0x35, lba, count)) return;
      d.lba = lba;
      d.remaining = count;
      d.dma = read ? IdeDevice::Dma::AtaRead : IdeDevice::Dma::AtaWrite;
      d.status = kDrdy | kDsc | kDrq;
      IdeAccess::run_dma(ch, d);  // at once if the bus master is already started
      return;
    }
    case 0x40: case 0x41: case 0x42:  // READ VERIFY SECTORS (EXT)
      if (!address(cmd == 0x42, lba, count)) return;
      return IdeAccess::complete(ch, d);
    case 0x70: case 0x71: case 0x72: case 0x73: case 0x74: case 0x75: case 0x76: case 0x77:
    case 0x78: case 0x79: case 0x7A: case 0x7B: case 0x7C: case 0x7D: case 0x7E: case 0x7F:  // SEEK
      if (!decode(d, false, lba, count) || lba >= total) return fail(ch, d, kErrIdnf);
      return IdeAccess::complete(ch, d);
    case 0x10: case 0x11: case 0x12: case 0x13: case 0x14: case 0x15: case 0x16: case 0x17:
    case 0x18: case 0x19: case 0x1A: case 0x1B: case 0x1C: case 0x1D: case 0x1E: case 0x1F:  // RECALIBRATE
      return IdeAccess::complete(ch, d);
    case 0x91: {  // INITIALIZE DEVICE PARAMETERS: the CHS translation (§8.16)
      const uint8_t heads = static_cast<uint8_t>((d.device & 0x0F) + 1);
      const uint8_t spt = d.count;
      if (spt == 0) return IdeAccess::abort(ch, d);
      d.cur_heads = heads;
      d.cur_spt = spt;
      d.cur_cyls = static_cast<uint16_t>(std::min<uint64_t>(std::min<uint64_t>(total, 16514064) / (heads * spt), 65535));
      return IdeAccess::complete(ch, d);
    }
    case 0xC6:  // SET MULTIPLE MODE: a power of two up to the IDENTIFY word 47 maximum, 0 disables
      if (d.count > kMaxMultiple || (d.count & (d.count - 1))) return IdeAccess::abort(ch, d);
      d.multiple = d.count;
      return IdeAccess::complete(ch, d);
    case 0xEF:  // SET FEATURES (§8.37)
      switch (d.feature) {
        case 0x03: {  // transfer mode: PIO default/0-4, multiword DMA 0-2, Ultra DMA 0-5
          const uint8_t m = d.count;
          const bool ok = m == 0x00 || m == 0x01 || (m >= 0x08 && m <= 0x0C) || (m >= 0x20 && m <= 0x22) ||
                          (m >= 0x40 && m <= 0x45);
          if (!ok) return IdeAccess::abort(ch, d);
          d.xfer_mode = m;
          return IdeAccess::complete(ch, d);
        }
        case 0x02: d.write_cache = true; return IdeAccess::complete(ch, d);
        case 0x82: d.write_cache = false; return IdeAccess::complete(ch, d);
        case 0x55: case 0xAA: case 0x66: case 0xCC: return IdeAccess::complete(ch, d);  // look-ahead, defaults
        default: return IdeAccess::abort(ch, d);
      }
    case 0xE7: case 0xEA:  // FLUSH CACHE (EXT)
      if (!d.image->flush()) return fail(ch, d, kErrAbrt);
      return IdeAccess::complete(ch, d);
    case 0xE5: case 0x98:  // CHECK POWER MODE: active or idle
      d.count = 0xFF;
      return IdeAccess::complete(ch, d);
    case 0xE0: case 0xE1: case 0xE2: case 0xE3: case 0x94: case 0x95: case 0x96: case 0x97:  // standby/idle
      return IdeAccess::complete(ch, d);
    default:  // NOP (00h) aborts by definition; everything else is not supported
      return IdeAccess::abort(ch, d);
  }
}

}  // namespace kestrel::machine
