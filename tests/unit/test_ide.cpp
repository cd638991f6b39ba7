// machine/storage/disk_image and the IDE devices (devices/ide_channel, ata_disk,
// atapi_cdrom, ide_busmaster): image checks, the ATA task file and its signatures,
// IDENTIFY, PIO reads and writes (single, MULTIPLE, LBA28/LBA48/CHS), errors, SRST
// and nIEN, bus-master DMA through a PRD table in guest RAM, and the ATAPI packet
// protocol with the MMC commands.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "machine/board.h"
#include "machine/devices/ide_busmaster.h"
#include "machine/devices/ide_piix.h"
#include "machine/devices/ioapic.h"
#include "machine/devices/lapic.h"
#include "machine/devices/rtc_cmos.h"
#include "machine/devices/ide_channel.h"
#include "machine/machine.h"
#include "machine/storage/disk_image.h"
#include "test_machine.h"

using namespace kestrel::machine;

namespace {

// A temporary file that disappears with the object.
struct TempFile {
  std::string path;
  explicit TempFile(const std::vector<uint8_t>& bytes) {
    char tmpl[] = "/tmp/kestrel-ide-XXXXXX";
    const int fd = mkstemp(tmpl);
    REQUIRE(fd >= 0);
    path = tmpl;
    if (!bytes.empty()) REQUIRE(write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
    close(fd);
  }
  ~TempFile() { unlink(path.c_str()); }
  std::vector<uint8_t> contents() const {
    std::vector<uint8_t> out;
    FILE* f = std::fopen(path.c_str(), "rb");
    int c;
    while ((c = std::fgetc(f)) != EOF) out.push_back(static_cast<uint8_t>(c));
    std::fclose(f);
    return out;
  }
};

// Sector s byte i holds a value that names both.
uint8_t pattern(uint64_t sector, unsigned i) { return static_cast<uint8_t>(sector * 7 + i * 13 + (sector >> 8)); }
std::vector<uint8_t> patterned(uint64_t sectors, unsigned sector_size = 512) {
  std::vector<uint8_t> v(sectors * sector_size);
  for (uint64_t s = 0; s < sectors; ++s)
    for (unsigned i = 0; i < sector_size; ++i) v[s * sector_size + i] = pattern(s, i);
  return v;
}

// An image that must open; OPTION names it in the error message.
std::shared_ptr<DiskImage> open_image(const std::string& path, DiskKind kind, const char* option) {
  auto img = std::make_shared<DiskImage>();
  std::string err;
  REQUIRE_MESSAGE(img->open(path, kind, option, err), err);
  return img;
}

struct IrqRecorder : IrqSink {
  int rises = 0;
  bool level = false;
  void set_irq(unsigned, bool l) override {
    if (l && !level) ++rises;
    level = l;
  }
};

constexpr uint16_t kCmd = 0x1F0, kCtl = 0x3F6, kBm = 0xC000;
// Status of a device that finished its command: DRDY and DSC, nothing else.
constexpr uint8_t kReady = ata::kDrdy | ata::kDsc;

// A machine with one IDE channel at the primary ports and its bus master at 0xC000.
struct Rig {
  std::unique_ptr<Machine> m;
  IrqLine line;
  IrqRecorder irq;
  IdeChannel* ch;
  IdeBusMaster* bm;
  Rig() {
    m = kestrel::test::new_machine(16ull << 20);
    line.connect(&irq, 0);
    ch = m->add_device<IdeChannel>(*m, "ide0", kCmd, kCtl, &line);
    ch->attach(m->ports());
    bm = m->add_device<IdeBusMaster>(m->bus(), *ch, "ide0-bm");
    bm->attach(m->ports(), kBm);
    ch->set_dma_engine(bm);
  }
  std::shared_ptr<DiskImage> open(const std::string& path, DiskKind kind) { return open_image(path, kind, "--test"); }
  uint8_t in(unsigned reg) { return static_cast<uint8_t>(m->ports().in(static_cast<uint16_t>(kCmd + reg), 1)); }
  void out(unsigned reg, uint8_t v) { m->ports().out(static_cast<uint16_t>(kCmd + reg), v, 1); }
  uint8_t alt() { return static_cast<uint8_t>(m->ports().in(kCtl, 1)); }
  uint16_t data16() { return static_cast<uint16_t>(m->ports().in(kCmd, 2)); }
  void write16(uint16_t v) { m->ports().out(kCmd, v, 2); }
  std::vector<uint8_t> read_bytes(size_t n) {
    std::vector<uint8_t> v;
    for (size_t i = 0; i < n; i += 2) {
      uint16_t w = data16();
      v.push_back(static_cast<uint8_t>(w));
      v.push_back(static_cast<uint8_t>(w >> 8));
    }
    return v;
  }
  void lba28(uint32_t lba, uint8_t count, unsigned unit = 0) {
    out(6, static_cast<uint8_t>(0xE0 | (unit << 4) | ((lba >> 24) & 0xF)));
    out(2, count);
    out(3, static_cast<uint8_t>(lba));
    out(4, static_cast<uint8_t>(lba >> 8));
    out(5, static_cast<uint8_t>(lba >> 16));
  }
  // CHS addressing: cylinder, head and 1-based sector, COUNT sectors (the device
  // register without the LBA bit).
  void chs(uint16_t cylinder, uint8_t head, uint8_t sector, uint8_t count) {
    out(6, static_cast<uint8_t>(0xA0 | head));
    out(2, count);
    out(3, sector);
    out(4, static_cast<uint8_t>(cylinder));
    out(5, static_cast<uint8_t>(cylinder >> 8));
  }
  void lba48(uint64_t lba, uint16_t count) {
    out(6, 0x40);
    out(2, static_cast<uint8_t>(count >> 8));
    out(3, static_cast<uint8_t>(lba >> 24));
    out(4, static_cast<uint8_t>(lba >> 32));
    out(5, static_cast<uint8_t>(lba >> 40));
    out(2, static_cast<uint8_t>(count));
    out(3, static_cast<uint8_t>(lba));
    out(4, static_cast<uint8_t>(lba >> 8));
    out(5, static_cast<uint8_t>(lba >> 16));
  }
  void command(uint8_t cmd) { out(7, cmd); }
  // A command without a data phase: the Status it leaves (reading it clears INTRQ).
  uint8_t status_after(uint8_t cmd) {
    command(cmd);
    return in(7);
  }
  std::vector<uint16_t> identify(uint8_t cmd = 0xEC) {
    command(cmd);
    std::vector<uint16_t> w;
    for (int i = 0; i < 256; ++i) w.push_back(data16());
    return w;
  }
  // A PRD table at 0x1000 with the given (address, bytes) regions; starts the engine.
  void prd(const std::vector<std::pair<uint32_t, uint32_t>>& regions, bool to_memory) {
    for (size_t i = 0; i < regions.size(); ++i) {
      const uint32_t flags = i + 1 == regions.size() ? 0x80000000u : 0;
      m->bus().write_uint(0x1000 + 8 * i, regions[i].first, 4);
      m->bus().write_uint(0x1004 + 8 * i, (regions[i].second & 0xFFFF) | flags, 4);
    }
    m->ports().out(kBm + 4, 0x1000, 4);
    m->ports().out(kBm + 2, 0x06, 1);  // clear Interrupt and Error
    m->ports().out(kBm, to_memory ? 0x08 : 0x00, 1);
  }
  void bm_start(bool to_memory) { m->ports().out(kBm, to_memory ? 0x09 : 0x01, 1); }
  uint8_t bm_status() { return static_cast<uint8_t>(m->ports().in(kBm + 2, 1)); }
  // Sends a 12-byte ATAPI packet (PIO unless dma) with a byte-count limit.
  void packet(std::vector<uint8_t> p, uint16_t limit = 0xFFFE, bool dma = false) {
    p.resize(12, 0);
    out(1, dma ? 1 : 0);
    out(4, static_cast<uint8_t>(limit));
    out(5, static_cast<uint8_t>(limit >> 8));
    command(0xA0);
    CHECK((alt() & ata::kDrq) != 0);
    CHECK(in(2) == ata::kIrCoD);
    for (int i = 0; i < 12; i += 2) write16(static_cast<uint16_t>(p[i] | p[i + 1] << 8));
  }
  // Reads a whole PIO data phase; returns the bytes, checks the block sizes.
  std::vector<uint8_t> atapi_data(unsigned max_block = 0xFFFE) {
    std::vector<uint8_t> all;
    while (alt() & ata::kDrq) {
      CHECK(in(2) == ata::kIrIo);
      const unsigned n = in(4) | in(5) << 8;
      CHECK(n <= max_block);
      REQUIRE(n > 0);
      auto part = read_bytes(n);
      all.insert(all.end(), part.begin(), part.begin() + n);
    }
    return all;
  }
};

// A machine for the board tests: build_basic_board with a 64-sector hard disk as
// --hda and, after add_cdrom(), a 20-block ISO in the CD-ROM drive as --cdrom; the
// test sets further options before build().
struct BoardRig {
  std::unique_ptr<Machine> owned_machine = kestrel::test::new_machine(16ull << 20);
  Machine& m = *owned_machine;
  TempFile disk{patterned(64)};
  TempFile iso{patterned(20, 2048)};
  BoardOptions opt;
  BoardRig() { opt.drives.hda = open_image(disk.path, DiskKind::HardDisk, "--hda"); }
  void add_cdrom() {
    opt.drives.cdrom = open_image(iso.path, DiskKind::Cdrom, "--cdrom");
    opt.drives.cdrom_drive = true;
  }
  BoardDevices build() { return build_basic_board(m, opt); }
};

std::string ata_string(const std::vector<uint16_t>& w, unsigned first, unsigned count) {
  std::string s;
  for (unsigned i = 0; i < count; ++i) {
    s += static_cast<char>(w[first + i] >> 8);
    s += static_cast<char>(w[first + i] & 0xFF);
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

}  // namespace

TEST_CASE("disk images: missing, empty, odd-sized and truncated images are refused with a message") {
  DiskImage img;
  std::string err;
  CHECK_FALSE(img.open("/nonexistent/disk.img", DiskKind::HardDisk, "--hda", err));
  CHECK(err.find("--hda") != std::string::npos);
  CHECK(err.find("/nonexistent/disk.img") != std::string::npos);
  TempFile empty({});
  CHECK_FALSE(img.open(empty.path, DiskKind::HardDisk, "--hda", err));
  CHECK(err.find("empty") != std::string::npos);
  TempFile odd(std::vector<uint8_t>(1000));
  CHECK_FALSE(img.open(odd.path, DiskKind::HardDisk, "--hda", err));
  CHECK(err.find("512-byte sectors") != std::string::npos);
  TempFile short_floppy(std::vector<uint8_t>(737280 - 512));
  CHECK_FALSE(img.open(short_floppy.path, DiskKind::Floppy, "--fda", err));
  CHECK(err.find("no floppy format") != std::string::npos);
  TempFile tiny_iso(std::vector<uint8_t>(2048 * 4));
  CHECK_FALSE(img.open(tiny_iso.path, DiskKind::Cdrom, "--cdrom", err));
  CHECK(err.find("ISO 9660") != std::string::npos);
  CHECK_FALSE(img.open("/tmp", DiskKind::HardDisk, "--hda", err));
  CHECK(err.find("not a regular file") != std::string::npos);
  if (geteuid() != 0) {  // root opens anything
    TempFile ro(std::vector<uint8_t>(512));
    chmod(ro.path.c_str(), 0444);
    CHECK_FALSE(img.open(ro.path, DiskKind::HardDisk, "--hda", err));
    CHECK(err.find("writing") != std::string::npos);
  }
}

TEST_CASE("disk images: floppy formats by size; accesses are range-checked; writes reach the file") {
  TempFile f(std::vector<uint8_t>(1474560));
  DiskImage img;
  std::string err;
  REQUIRE(img.open(f.path, DiskKind::Floppy, "--fda", err));
  REQUIRE(img.floppy_format());
  CHECK(img.floppy_format()->sectors_per_track == 18);
  CHECK(img.floppy_format()->cmos_type == 4);
  CHECK(floppy_format_for_size(737280)->sectors_per_track == 9);
  CHECK(floppy_format_for_size(2949120)->cmos_type == 5);
  uint8_t buf[512];
  CHECK_FALSE(img.read_sectors(2880, 1, buf));
  CHECK_FALSE(img.read_sectors(2879, 2, buf));
  CHECK_FALSE(img.read_sectors(~0ull, 2, buf));
  std::memset(buf, 0xA5, sizeof buf);
  CHECK(img.write_sectors(2879, 1, buf));
  img.close();
  auto bytes = f.contents();
  CHECK(bytes[2879 * 512] == 0xA5);
  CHECK(bytes[2879 * 512 + 511] == 0xA5);
  CHECK(bytes[2878 * 512 + 511] == 0x00);
}

TEST_CASE("ATA: signatures, IDENTIFY DEVICE, an absent slave and an empty channel") {
  Rig r;
  // No device at all: the bus floats high.
  CHECK(r.in(7) == 0xFF);
  TempFile f(patterned(20160));  // 10 MiB: 20 cylinders of 16 heads x 63 sectors
  r.ch->attach_disk(0, r.open(f.path, DiskKind::HardDisk));
  CHECK(r.in(2) == 1);
  CHECK(r.in(3) == 1);
  CHECK(r.in(4) == 0);
  CHECK(r.in(5) == 0);
  CHECK(r.in(7) == kReady);
  auto w = r.identify();
  CHECK(w[0] == 0x0040);
  CHECK(w[1] == 20);
  CHECK(w[3] == 16);
  CHECK(w[6] == 63);
  CHECK(ata_string(w, 27, 20) == "Kestrel HARDDISK");
  CHECK((w[49] & 0x0200) != 0);                           // LBA
  CHECK((w[60] | static_cast<uint32_t>(w[61]) << 16) == 20160);
  CHECK((w[83] & 0x0400) != 0);                           // LBA48
  CHECK(w[100] == 20160);
  CHECK((w[47] & 0xFF) == 16);
  CHECK(r.in(7) == kReady);  // DRQ gone after the last word
  // The slave is absent: its registers read 0 and it ignores commands.
  r.out(6, 0xB0);
  CHECK(r.in(7) == 0);
  CHECK(r.in(2) == 0);
  r.command(0xEC);
  CHECK(r.alt() == 0);
}

TEST_CASE("ATA: PIO READ SECTORS (LBA28) interrupts before each sector; nIEN masks INTRQ") {
  Rig r;
  TempFile f(patterned(2048));
  r.ch->attach_disk(0, r.open(f.path, DiskKind::HardDisk));
  r.lba28(100, 3);
  r.command(0x20);
  for (uint64_t s = 100; s < 103; ++s) {
    CHECK(r.irq.level);
    CHECK((r.in(7) & ata::kDrq) != 0);  // reading Status clears INTRQ
    CHECK_FALSE(r.irq.level);
    auto data = r.read_bytes(512);
    bool ok = true;
    for (unsigned i = 0; i < 512; ++i) ok &= data[i] == pattern(s, i);
    CHECK_MESSAGE(ok, "sector " << s);
  }
  CHECK(r.alt() == kReady);
  CHECK_FALSE(r.irq.level);  // no interrupt after the last block of a read
  CHECK(r.irq.rises == 3);
  // With nIEN the device still completes, but INTRQ stays low.
  r.m->ports().out(kCtl, ata::kCtlNien, 1);
  r.lba28(5, 1);
  r.command(0x20);
  CHECK_FALSE(r.irq.level);
  CHECK(r.read_bytes(512)[0] == pattern(5, 0));
  // 32-bit data accesses read two words at a time.
  r.lba28(6, 1);
  r.command(0x20);
  const uint32_t d = r.m->ports().in(kCmd, 4);
  CHECK((d & 0xFF) == pattern(6, 0));
  CHECK(((d >> 24) & 0xFF) == pattern(6, 3));
}

TEST_CASE("ATA: WRITE SECTORS and WRITE MULTIPLE go to the image; READ MULTIPLE blocks") {
  Rig r;
  TempFile f(patterned(256));
  r.ch->attach_disk(0, r.open(f.path, DiskKind::HardDisk));
  r.lba28(10, 2);
  r.command(0x30);
  CHECK((r.alt() & ata::kDrq) != 0);
  CHECK_FALSE(r.irq.level);  // no interrupt before the first block of a write
  for (int i = 0; i < 256; ++i) r.write16(0x1111);
  CHECK(r.irq.level);
  CHECK((r.in(7) & ata::kDrq) != 0);
  for (int i = 0; i < 256; ++i) r.write16(0x2222);
  CHECK(r.in(7) == kReady);
  // READ MULTIPLE before SET MULTIPLE is aborted.
  r.lba28(0, 1);
  CHECK(r.status_after(0xC4) == (kReady | ata::kErr));
  CHECK(r.in(1) == ata::kErrAbrt);
  r.out(2, 3);  // not a power of two
  CHECK((r.status_after(0xC6) & ata::kErr) != 0);
  r.out(2, 4);
  CHECK(r.status_after(0xC6) == kReady);
  CHECK((r.identify()[59]) == 0x0104);
  // WRITE MULTIPLE of 6 sectors: blocks of 4 and 2.
  r.lba28(20, 6);
  r.command(0xC5);
  for (int i = 0; i < 4 * 256; ++i) r.write16(0x3333);
  CHECK((r.in(7) & ata::kDrq) != 0);
  for (int i = 0; i < 2 * 256; ++i) r.write16(0x4444);
  CHECK(r.in(7) == kReady);
  // READ MULTIPLE of 6 sectors from 9: one interrupt per block (4 + 2).
  r.lba28(9, 6);
  r.command(0xC4);
  CHECK(r.irq.level);
  CHECK((r.in(7) & ata::kDrq) != 0);
  auto a = r.read_bytes(4 * 512);
  CHECK(r.irq.level);  // the second block's interrupt
  CHECK((r.in(7) & ata::kDrq) != 0);
  auto b = r.read_bytes(2 * 512);
  CHECK_FALSE(r.irq.level);
  CHECK(a[0] == pattern(9, 0));
  CHECK(a[512] == 0x11);
  CHECK(a[1024] == 0x22);
  CHECK(a[1536] == pattern(12, 0));
  CHECK(b[0] == pattern(13, 0));
  auto bytes = f.contents();
  CHECK(bytes[10 * 512] == 0x11);
  CHECK(bytes[11 * 512 + 511] == 0x22);
  CHECK(bytes[20 * 512] == 0x33);
  CHECK(bytes[23 * 512 + 511] == 0x33);
  CHECK(bytes[24 * 512] == 0x44);
  CHECK(bytes[25 * 512 + 511] == 0x44);
  CHECK(bytes[26 * 512] == pattern(26, 0));
}

TEST_CASE("ATA: LBA48 and CHS addressing; out-of-range sectors report IDNF; HOB reads") {
  Rig r;
  TempFile f(patterned(20160));
  r.ch->attach_disk(0, r.open(f.path, DiskKind::HardDisk));
  r.lba48(20000, 2);
  r.m->ports().out(kCtl, ata::kCtlHob, 1);
  CHECK(r.in(2) == 0);   // the high count byte
  CHECK(r.in(3) == 0);   // LBA bits 31:24
  r.m->ports().out(kCtl, 0, 1);
  CHECK(r.in(2) == 2);
  r.command(0x24);
  CHECK(r.read_bytes(512)[1] == pattern(20000, 1));
  CHECK(r.read_bytes(512)[1] == pattern(20001, 1));
  // A sector past the end.
  r.lba48(20159, 2);
  CHECK(r.status_after(0x24) == (kReady | ata::kErr));
  CHECK(r.in(1) == ata::kErrIdnf);
  // CHS: cylinder 2, head 3, sector 4 = (2*16+3)*63+3.
  r.chs(2, 3, 4, 1);
  r.command(0x20);
  CHECK(r.read_bytes(512)[0] == pattern((2 * 16 + 3) * 63 + 3, 0));
  // INITIALIZE DEVICE PARAMETERS: 4 heads, 17 sectors; then C/H/S 1/2/5 = (1*4+2)*17+4.
  r.out(6, 0xA3);
  r.out(2, 17);
  CHECK(r.status_after(0x91) == kReady);
  r.chs(1, 2, 5, 1);
  r.command(0x20);
  CHECK(r.read_bytes(512)[0] == pattern((1 * 4 + 2) * 17 + 4, 0));
  // Sector 0 does not exist in CHS.
  r.out(6, 0xA0);
  r.out(3, 0);
  CHECK((r.status_after(0x20) & ata::kErr) != 0);
  CHECK((r.in(1) & ata::kErrIdnf) != 0);
  // READ VERIFY, SEEK, FLUSH CACHE, SET FEATURES, CHECK POWER MODE; an unknown command aborts.
  r.lba28(7, 4);
  CHECK(r.status_after(0x40) == kReady);
  CHECK(r.status_after(0x70) == kReady);
  CHECK(r.status_after(0xE7) == kReady);
  r.out(1, 0x03);
  r.out(2, 0x22);  // multiword DMA 2
  CHECK(r.status_after(0xEF) == kReady);
  CHECK((r.identify()[63] & 0x0400) != 0);
  r.out(1, 0x03);
  r.out(2, 0x50);
  r.command(0xEF);
  CHECK(r.in(1) == ata::kErrAbrt);
  r.command(0xE5);
  CHECK(r.in(2) == 0xFF);
  r.command(0x00);
  CHECK(r.in(1) == ata::kErrAbrt);
}

TEST_CASE("ATA: SRST resets both devices to their signatures; EXECUTE DEVICE DIAGNOSTIC") {
  Rig r;
  TempFile f(patterned(64));
  TempFile iso(std::vector<uint8_t>(2048 * 32));
  r.ch->attach_disk(0, r.open(f.path, DiskKind::HardDisk));
  r.ch->attach_cdrom(1, r.open(iso.path, DiskKind::Cdrom));
  r.lba28(1, 2);
  r.command(0x20);
  CHECK((r.alt() & ata::kDrq) != 0);
  r.m->ports().out(kCtl, ata::kCtlSrst, 1);
  CHECK(r.alt() == ata::kBsy);
  r.m->ports().out(kCtl, 0, 1);
  CHECK(r.alt() == kReady);
  CHECK(r.in(1) == 0x01);
  CHECK(r.in(3) == 1);
  r.out(6, 0x10);
  CHECK(r.in(4) == 0x14);
  CHECK(r.in(5) == 0xEB);
  CHECK(r.alt() == 0);  // an ATAPI device clears DRDY after reset
  r.command(0x90);
  CHECK(r.in(6) == 0xA0);  // device 0 selected again
  CHECK(r.in(1) == 0x01);
  CHECK(r.irq.level);
}

TEST_CASE("ATA: READ DMA and WRITE DMA through the bus master's PRD table") {
  Rig r;
  TempFile f(patterned(512));
  r.ch->attach_disk(0, r.open(f.path, DiskKind::HardDisk));
  // 3 sectors into two regions: 1000 bytes at 0x20000, 536 bytes at 0x30000.
  r.prd({{0x20000, 1000}, {0x30000, 536}}, true);
  r.lba28(40, 3);
  r.command(0xC8);
  CHECK_FALSE(r.irq.level);  // waits for the start bit
  CHECK((r.bm_status() & IdeBusMaster::kStActive) == 0);
  r.bm_start(true);
  CHECK(r.irq.level);
  CHECK(r.bm_status() == (IdeBusMaster::kStInterrupt));  // table ran out exactly
  CHECK(r.in(7) == kReady);
  CHECK(r.m->bus().read_uint(0x20000, 1) == pattern(40, 0));
  CHECK(r.m->bus().read_uint(0x20000 + 999, 1) == pattern(41, 999 - 512));
  CHECK(r.m->bus().read_uint(0x30000, 1) == pattern(41, 1000 - 512));
  CHECK(r.m->bus().read_uint(0x30000 + 535, 1) == pattern(42, 511));
  r.m->ports().out(kBm, 0x08, 1);  // stop
  // A longer table than the data: Active stays set (PIIX data sheet).
  r.prd({{0x40000, 4096}}, true);
  r.bm_start(true);  // started first, command second
  r.lba28(1, 1);
  r.command(0xC8);
  CHECK(r.bm_status() == (IdeBusMaster::kStInterrupt | IdeBusMaster::kStActive));
  CHECK(r.m->bus().read_uint(0x40000, 1) == pattern(1, 0));
  r.m->ports().out(kBm, 0x08, 1);
  // WRITE DMA from memory to sectors 100-101.
  for (unsigned i = 0; i < 1024; ++i) r.m->bus().write_uint(0x50000 + i, (i * 3) & 0xFF, 1);
  r.prd({{0x50000, 1024}}, false);
  r.lba28(100, 2);
  r.command(0xCA);
  r.bm_start(false);
  CHECK(r.in(7) == kReady);
  auto bytes = f.contents();
  CHECK(bytes[100 * 512 + 5] == 15);
  CHECK(bytes[101 * 512 + 511] == ((1023 * 3) & 0xFF));
  r.m->ports().out(kBm, 0x00, 1);
  // A table shorter than the data: Error set, the command aborted.
  r.prd({{0x60000, 512}}, true);
  r.lba28(0, 2);
  r.command(0xC8);
  r.bm_start(true);
  CHECK((r.bm_status() & IdeBusMaster::kStError) != 0);
  CHECK((r.in(7) & ata::kErr) != 0);
}

TEST_CASE("ATA DMA: a write into a page holding code tells the code listener") {
  struct Listener : CodeWriteListener {
    std::vector<uint64_t> pages;
    void code_page_written(uint64_t page) override { pages.push_back(page); }
  } listener;
  Rig r;
  TempFile f(patterned(8));
  r.ch->attach_disk(0, r.open(f.path, DiskKind::HardDisk));
  r.m->bus().set_code_listener(&listener);
  r.m->bus().mark_code_page(0x7000);
  r.prd({{0x7C00, 512}}, true);
  r.lba28(0, 1);
  r.command(0xC8);
  r.bm_start(true);
  REQUIRE_FALSE(listener.pages.empty());
  CHECK(listener.pages[0] == 0x7000);
  r.m->bus().set_code_listener(nullptr);
}

TEST_CASE("ATAPI: IDENTIFY DEVICE aborts with the signature; IDENTIFY PACKET DEVICE; INQUIRY") {
  Rig r;
  TempFile iso(patterned(64, 2048));
  r.ch->attach_cdrom(0, r.open(iso.path, DiskKind::Cdrom));
  CHECK((r.status_after(0xEC) & ata::kErr) != 0);
  CHECK(r.in(4) == 0x14);
  CHECK(r.in(5) == 0xEB);
  auto w = r.identify(0xA1);
  CHECK(w[0] == 0x85C0);
  CHECK(ata_string(w, 27, 20) == "Kestrel DVD-ROM");
  r.packet({0x12, 0, 0, 0, 36});
  auto inq = r.atapi_data();
  REQUIRE(inq.size() == 36);
  CHECK(inq[0] == 0x05);
  CHECK(inq[1] == 0x80);
  CHECK(std::string(inq.begin() + 8, inq.begin() + 16) == "KESTREL ");
  CHECK(r.in(2) == (ata::kIrIo | ata::kIrCoD));
  CHECK(r.in(7) == kReady);
  // An allocation length shorter than the data truncates it.
  r.packet({0x12, 0, 0, 0, 5});
  CHECK(r.atapi_data().size() == 5);
}

TEST_CASE("ATAPI: READ CAPACITY, READ(10) in PIO blocks of the byte-count limit, READ(12) by DMA") {
  Rig r;
  TempFile iso(patterned(100, 2048));
  r.ch->attach_cdrom(0, r.open(iso.path, DiskKind::Cdrom));
  r.packet({0x25});
  auto cap = r.atapi_data();
  REQUIRE(cap.size() == 8);
  CHECK(cap[3] == 99);
  CHECK(cap[6] == 0x08);
  // 3 blocks with a limit of 5001 bytes: 5000, 1144 (an odd limit drops a byte).
  r.packet({0x28, 0, 0, 0, 0, 10, 0, 0, 3}, 5001);
  std::vector<unsigned> sizes;
  std::vector<uint8_t> all;
  while (r.alt() & ata::kDrq) {
    const unsigned n = r.in(4) | r.in(5) << 8;
    sizes.push_back(n);
    auto part = r.read_bytes(n);
    all.insert(all.end(), part.begin(), part.begin() + n);
  }
  CHECK(sizes == std::vector<unsigned>{5000, 1144});
  REQUIRE(all.size() == 3 * 2048);
  bool ok = true;
  for (unsigned i = 0; i < all.size(); ++i) ok &= all[i] == pattern(10 + i / 2048, i % 2048);
  CHECK(ok);
  CHECK(r.in(7) == kReady);
  // Past the end: ILLEGAL REQUEST, LBA out of range.
  r.packet({0x28, 0, 0, 0, 0, 99, 0, 0, 2});
  CHECK((r.in(7) & ata::kErr) != 0);
  CHECK((r.in(1) >> 4) == 0x05);
  r.packet({0x03, 0, 0, 0, 18});
  auto sense = r.atapi_data();
  CHECK(sense[2] == 0x05);
  CHECK(sense[12] == 0x21);
  // READ(12) of 2 blocks by DMA.
  r.prd({{0x80000, 4096}}, true);
  r.packet({0xA8, 0, 0, 0, 0, 50, 0, 0, 0, 2}, 0xFFFE, true);
  CHECK((r.alt() & ata::kDrq) != 0);
  r.bm_start(true);
  CHECK(r.in(7) == kReady);
  CHECK(r.in(2) == (ata::kIrIo | ata::kIrCoD));
  CHECK(r.m->bus().read_uint(0x80000, 1) == pattern(50, 0));
  CHECK(r.m->bus().read_uint(0x80000 + 4095, 1) == pattern(51, 2047));
  CHECK((r.bm_status() & IdeBusMaster::kStInterrupt) != 0);
}

TEST_CASE("ATAPI: READ TOC formats 0, 1 and 2 in LBA and MSF; GET CONFIGURATION; event status; MODE SENSE") {
  Rig r;
  TempFile iso(patterned(300, 2048));
  r.ch->attach_cdrom(0, r.open(iso.path, DiskKind::Cdrom));
  r.packet({0x43, 0, 0, 0, 0, 0, 0, 0, 100});
  auto toc = r.atapi_data();
  REQUIRE(toc.size() == 20);
  CHECK(toc[1] == 18);
  CHECK(toc[2] == 1);
  CHECK(toc[3] == 1);
  CHECK(toc[5] == 0x14);
  CHECK(toc[6] == 1);
  CHECK(toc[14] == 0xAA);
  CHECK((toc[18] << 8 | toc[19]) == 300);
  r.packet({0x43, 0x02, 0, 0, 0, 0, 0, 0, 100});  // MSF
  toc = r.atapi_data();
  CHECK(toc[9] == 0);  // 00:02:00
  CHECK(toc[10] == 2);
  CHECK(toc[11] == 0);
  CHECK(toc[17] == 0);  // lead-out at 300 + 150 frames = 00:06:00
  CHECK(toc[18] == 6);
  CHECK(toc[19] == 0);
  r.packet({0x43, 0, 1, 0, 0, 0, 0, 0, 12});
  toc = r.atapi_data();
  REQUIRE(toc.size() == 12);
  CHECK(toc[1] == 10);
  CHECK(toc[6] == 1);
  r.packet({0x43, 0x02, 2, 0, 0, 0, 0, 0, 200});
  toc = r.atapi_data();
  REQUIRE(toc.size() == 4 + 4 * 11);
  CHECK(toc[4 + 3] == 0xA0);
  CHECK(toc[4 + 2 * 11 + 3] == 0xA2);
  CHECK(toc[4 + 2 * 11 + 9] == 6);
  r.packet({0x46, 0, 0, 0, 0, 0, 0, 0, 255});
  auto conf = r.atapi_data();
  REQUIRE(conf.size() > 8);
  CHECK((conf[6] << 8 | conf[7]) == 0x0008);  // CD-ROM profile current
  CHECK((conf[0] << 24 | conf[1] << 16 | conf[2] << 8 | conf[3]) == conf.size() - 4);
  // GET EVENT STATUS NOTIFICATION: the new medium once, then no change.
  r.packet({0x4A, 1, 0, 0, 0x10, 0, 0, 0, 8});
  auto ev = r.atapi_data();
  REQUIRE(ev.size() == 8);
  CHECK(ev[2] == 0x04);
  CHECK(ev[4] == 0x02);
  CHECK(ev[5] == 0x02);
  r.packet({0x4A, 1, 0, 0, 0x10, 0, 0, 0, 8});
  CHECK(r.atapi_data()[4] == 0x00);
  r.packet({0x4A, 0, 0, 0, 0x10, 0, 0, 0, 8});  // asynchronous: not supported
  CHECK((r.in(1) >> 4) == 0x05);
  r.packet({0x5A, 0, 0x2A, 0, 0, 0, 0, 0, 64});
  auto ms = r.atapi_data();
  REQUIRE(ms.size() == 30);
  CHECK(ms[8] == 0x2A);
  r.packet({0x5A, 0, 0x05, 0, 0, 0, 0, 0, 64});  // no such page
  CHECK((r.in(1) >> 4) == 0x05);
  r.packet({0xFF});
  CHECK((r.in(7) & ata::kErr) != 0);
  r.packet({0x03, 0, 0, 0, 18});
  CHECK(r.atapi_data()[12] == 0x20);  // invalid command operation code
}

TEST_CASE("ATAPI: an empty drive is NOT READY; the tray, the lock and START STOP UNIT") {
  Rig r;
  r.ch->attach_cdrom(0, nullptr);
  r.packet({0x00});
  CHECK((r.in(7) & ata::kErr) != 0);
  CHECK((r.in(1) >> 4) == 0x02);
  r.packet({0x03, 0, 0, 0, 18});
  auto sense = r.atapi_data();
  CHECK(sense[2] == 0x02);
  CHECK(sense[12] == 0x3A);
  Rig r2;
  TempFile iso(patterned(40, 2048));
  r2.ch->attach_cdrom(0, r2.open(iso.path, DiskKind::Cdrom));
  r2.packet({0x00});
  CHECK(r2.in(7) == kReady);
  r2.packet({0x1E, 0, 0, 0, 1});  // prevent removal
  r2.packet({0x1B, 0, 0, 0, 0x02});  // eject: refused while locked
  CHECK((r2.in(7) & ata::kErr) != 0);
  r2.packet({0x1E, 0, 0, 0, 0});
  r2.packet({0x1B, 0, 0, 0, 0x02});
  CHECK(r2.in(7) == kReady);
  r2.packet({0x00});
  CHECK((r2.in(1) >> 4) == 0x02);  // tray open
  r2.packet({0x1B, 0, 0, 0, 0x03});  // load
  r2.packet({0x00});
  CHECK(r2.in(7) == kReady);
}

TEST_CASE("board: IDE drives on the legacy channels; the CMOS boot order and floppy types for SeaBIOS") {
  BoardRig rig;
  rig.add_cdrom();
  rig.opt.drives.boot = 'd';
  Machine& m = rig.m;
  BoardDevices b = rig.build();
  REQUIRE(b.ide[0]);
  REQUIRE(b.ide[1]);
  CHECK(m.ports().in(0x1F7, 1) == kReady);
  CHECK(m.ports().in(0x174, 1) == 0x14);  // the ATAPI signature on the secondary master
  CHECK(m.ports().in(0x175, 1) == 0xEB);
  CHECK(b.rtc->peek(0x3D) == 0x23);  // CD-ROM first, then the hard disk
  CHECK((b.rtc->peek(0x38) >> 4) == 1);
  b.rtc->set_floppy_types(3, 0);
  CHECK(b.rtc->peek(0x10) == 0x30);
  CHECK((b.rtc->peek(0x14) & 0xC1) == 0x01);
  const unsigned sum = b.rtc->peek(0x2E) << 8 | b.rtc->peek(0x2F);
  unsigned want = 0;
  for (unsigned i = 0x10; i <= 0x2D; ++i) want += b.rtc->peek(static_cast<uint8_t>(i));
  CHECK(sum == want);
}

// Linux under ACPI (or with pci=noacpi) takes IRQ 14 and 15 through the IOAPIC as ISA
// edges: every command must give a new rising edge, also when the guest issues the next
// command without reading Status first (the command write drops INTRQ, ATA-6 §5.2.2).
TEST_CASE("board: the IDE channels' INTRQ reach IOAPIC pins 14 and 15 as one edge per command") {
  BoardRig rig;
  rig.add_cdrom();
  Machine& m = rig.m;
  BoardDevices b = rig.build();
  REQUIRE(b.lapic);
  REQUIRE(b.ioapic);
  REQUIRE(b.ide_function);
  m.bus().write_uint(Lapic::kDefaultBase + Lapic::kRegSvr, 0x1FF, 4);
  auto rte = [&](unsigned pin, uint32_t lo) {
    m.bus().write_uint(IoApic::kDefaultBase, 0x11 + 2 * pin, 4);
    m.bus().write_uint(IoApic::kDefaultBase + 0x10, 0, 4);
    m.bus().write_uint(IoApic::kDefaultBase, 0x10 + 2 * pin, 4);
    m.bus().write_uint(IoApic::kDefaultBase + 0x10, lo, 4);
  };
  rte(14, 0x3E);  // edge, active high, fixed, physical APIC 0: as Linux programs ISA IRQs
  rte(15, 0x3F);
  auto take = [&]() -> int {
    if (!b.lapic->interrupt_pending()) return -1;
    const int v = b.lapic->acknowledge();
    m.bus().write_uint(Lapic::kDefaultBase + Lapic::kRegEoi, 0, 4);
    return v;
  };
  // IDENTIFY DEVICE on the primary master.
  m.ports().out(0x1F6, 0xA0, 1);
  m.ports().out(0x1F7, 0xEC, 1);
  CHECK(take() == 0x3E);
  CHECK(take() == -1);
  for (int i = 0; i < 256; ++i) m.ports().in(0x1F0, 2);
  // The next command without a Status read in between: a new edge all the same.
  m.ports().out(0x1F7, 0xEC, 1);
  CHECK(take() == 0x3E);
  for (int i = 0; i < 256; ++i) m.ports().in(0x1F0, 2);
  CHECK((m.ports().in(0x1F7, 1) & ata::kErr) == 0);  // the read lowers the line
  CHECK_FALSE(m.isa_irq(14).level());
  // IDENTIFY PACKET DEVICE on the secondary master: pin 15, and never pin 14.
  m.ports().out(0x176, 0xA0, 1);
  m.ports().out(0x177, 0xA1, 1);
  CHECK(take() == 0x3F);
  CHECK(take() == -1);
  CHECK_FALSE(m.isa_irq(14).level());
  CHECK(m.isa_irq(15).level());
}

TEST_CASE("PIIX IDE function 00:01.1: identity, IDETIM decode enable, BAR4 bus-master registers and DMA") {
  BoardRig rig;
  rig.opt.firmware = true;  // as after a hardware reset: the BIOS sets the function up
  Machine& m = rig.m;
  BoardDevices b = rig.build();
  REQUIRE(b.ide_function);
  auto cfg_read = [&](unsigned off, unsigned size) {
    m.ports().out(0xCF8, 0x80000000u | (1u << 11) | (1u << 8) | (off & 0xFC), 4);
    return m.ports().in(static_cast<uint16_t>(0xCFC + (off & 3)), size);
  };
  auto cfg_write = [&](unsigned off, uint32_t v, unsigned size) {
    m.ports().out(0xCF8, 0x80000000u | (1u << 11) | (1u << 8) | (off & 0xFC), 4);
    m.ports().out(static_cast<uint16_t>(0xCFC + (off & 3)), v, size);
  };
  CHECK(cfg_read(0, 4) == 0x70108086u);
  CHECK((cfg_read(0x08, 4) >> 8) == 0x010180u);
  CHECK(cfg_read(0x3D, 1) == 0);  // no INTx#: compatibility-mode IRQs 14 and 15
  // Not decoding yet: the legacy ports float.
  CHECK(m.ports().in(0x1F7, 1) == 0xFF);
  cfg_write(0x40, 0x8000, 2);
  cfg_write(0x42, 0x8000, 2);
  CHECK(m.ports().in(0x1F7, 1) == 0xFF);  // I/O space still off
  cfg_write(0x20, 0xFFFFFFFF, 4);
  CHECK(cfg_read(0x20, 4) == 0xFFFFFFF1u);  // 16 I/O ports
  cfg_write(0x20, 0xC040, 4);
  cfg_write(0x04, pci_cfg::kCmdIo | pci_cfg::kCmdBusMaster, 2);
  CHECK(m.ports().in(0x1F7, 1) == kReady);
  CHECK(m.ports().in(0x177, 1) == 0xFF);  // an empty secondary channel floats
  // Clearing the primary's decode enable takes it off the bus.
  cfg_write(0x40, 0x0000, 2);
  CHECK(m.ports().in(0x1F7, 1) == 0xFF);
  cfg_write(0x40, 0x8000, 2);
  // A DMA read through BAR4.
  m.bus().write_uint(0x1000, 0x20000, 4);
  m.bus().write_uint(0x1004, 0x80000000u | 512, 4);
  m.ports().out(0xC044, 0x1000, 4);
  m.ports().out(0xC040, 0x08, 1);
  m.ports().out(0x1F6, 0xE0, 1);
  m.ports().out(0x1F2, 1, 1);
  m.ports().out(0x1F3, 5, 1);
  m.ports().out(0x1F4, 0, 1);
  m.ports().out(0x1F5, 0, 1);
  m.ports().out(0x1F7, 0xC8, 1);
  m.ports().out(0xC040, 0x09, 1);
  CHECK(m.ports().in(0xC042, 1) == IdeBusMaster::kStInterrupt);
  CHECK(m.bus().read_uint(0x20000, 1) == pattern(5, 0));
  CHECK(m.isa_irq(14).level());
  // With bus mastering off in the command register the engine moves nothing.
  m.ports().out(0xC040, 0x08, 1);
  cfg_write(0x04, pci_cfg::kCmdIo, 2);
  m.bus().write_uint(0x20000, 0, 4);
  m.ports().out(0x1F7, 0xC8, 1);
  m.ports().out(0xC040, 0x09, 1);
  CHECK(m.bus().read_uint(0x20000, 4) == 0);
}
