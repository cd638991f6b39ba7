// machine/devices/dma8237 and fdc82077: the 8237's registers, flip-flop, page
// registers, terminal count and masking; the floppy controller's reset and polling
// interrupts, SPECIFY/RECALIBRATE/SEEK/SENSE INTERRUPT, READ DATA and WRITE DATA by
// DMA (multi-sector, MT, terminal count and end of cylinder), READ ID at the right
// and wrong data rates, FORMAT TRACK, VERSION, CONFIGURE, LOCK, DUMPREG, invalid
// commands; and the board's CMOS floppy type.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "machine/board.h"
#include "machine/devices/dma8237.h"
#include "machine/devices/fdc82077.h"
#include "machine/devices/rtc_cmos.h"
#include "machine/machine.h"
#include "machine/storage/disk_image.h"
#include "test_machine.h"

using namespace kestrel::machine;

namespace {

struct TempImage {
  std::string path;
  explicit TempImage(size_t bytes, bool patterned = true) {
    char tmpl[] = "/tmp/kestrel-fdc-XXXXXX";
    const int fd = mkstemp(tmpl);
    REQUIRE(fd >= 0);
    path = tmpl;
    std::vector<uint8_t> v(bytes);
    if (patterned)
      for (size_t i = 0; i < bytes; ++i) v[i] = static_cast<uint8_t>(i / 512 * 3 + i % 512);
    REQUIRE(write(fd, v.data(), v.size()) == static_cast<ssize_t>(v.size()));
    close(fd);
  }
  ~TempImage() { unlink(path.c_str()); }
  uint8_t byte_at(size_t off) const {
    FILE* f = std::fopen(path.c_str(), "rb");
    std::fseek(f, static_cast<long>(off), SEEK_SET);
    const int c = std::fgetc(f);
    std::fclose(f);
    return static_cast<uint8_t>(c);
  }
};
uint8_t pattern(size_t lba, size_t i) { return static_cast<uint8_t>(lba * 3 + i); }

struct Rig {
  std::unique_ptr<Machine> m;
  BoardDevices b;
  explicit Rig(const std::string& floppy = "") {
    m = kestrel::test::new_machine(16ull << 20);
    BoardOptions opt;
    if (!floppy.empty()) {
      opt.drives.fda = std::make_shared<DiskImage>();
      std::string err;
      REQUIRE_MESSAGE(opt.drives.fda->open(floppy, DiskKind::Floppy, "--fda", err), err);
    }
    b = build_basic_board(*m, opt);
    // What a BIOS does first: channel 4 in cascade mode and unmasked, so DMA1's
    // requests reach the bus.
    out(0xD6, 0xC0);
    out(0xD4, 0x00);
  }
  void out(uint16_t p, uint8_t v) { m->ports().out(p, v, 1); }
  uint8_t in(uint16_t p) { return static_cast<uint8_t>(m->ports().in(p, 1)); }
  bool irq6() { return m->isa_irq(6).level(); }
  void cmd(std::initializer_list<uint8_t> bytes) {
    for (uint8_t v : bytes) {
      REQUIRE((in(0x3F4) & 0xC0) == 0x80);  // RQM, host to controller
      out(0x3F5, v);
    }
  }
  std::vector<uint8_t> results() {
    std::vector<uint8_t> r;
    while ((in(0x3F4) & 0xC0) == 0xC0) r.push_back(in(0x3F5));
    return r;
  }
  // Channel 2 for `bytes` at `addr` (mode 0x46 read into memory / 0x4A write from memory).
  void dma2(uint32_t addr, uint32_t bytes, bool to_memory) {
    out(0x0A, 0x06);
    out(0x0C, 0);
    out(0x04, static_cast<uint8_t>(addr));
    out(0x04, static_cast<uint8_t>(addr >> 8));
    out(0x0C, 0);
    out(0x05, static_cast<uint8_t>(bytes - 1));
    out(0x05, static_cast<uint8_t>((bytes - 1) >> 8));
    out(0x0B, to_memory ? 0x46 : 0x4A);
    out(0x81, static_cast<uint8_t>(addr >> 16));
    out(0x0A, 0x02);
  }
  void enable() {
    out(0x3F2, 0x00);
    out(0x3F2, 0x1C);  // nRESET, DMA/IRQ gate, motor A
    REQUIRE(irq6());
    for (unsigned d = 0; d < 4; ++d) {
      cmd({0x08});
      CHECK(results() == std::vector<uint8_t>{static_cast<uint8_t>(0xC0 | d), 0});
    }
    CHECK_FALSE(irq6());
  }
};

}  // namespace

TEST_CASE("8237: address and count through the flip-flop, page registers, terminal count and masking") {
  Rig r;
  r.out(0x0D, 0);  // master clear
  r.out(0x0C, 0);
  r.out(0x02, 0x34);
  r.out(0x02, 0x12);
  r.out(0x0C, 0);
  CHECK(r.in(0x02) == 0x34);
  CHECK(r.in(0x02) == 0x12);
  r.out(0x83, 0x05);
  CHECK(r.in(0x83) == 0x05);
  r.out(0x80, 0x42);  // the POST-code latch
  CHECK(r.in(0x80) == 0x42);
  r.dma2(0x23000, 16, true);
  CHECK(r.b.dma->ready(2));
  uint8_t buf[32];
  for (unsigned i = 0; i < 32; ++i) buf[i] = static_cast<uint8_t>(0xA0 + i);
  bool tc = false;
  CHECK(r.b.dma->transfer(2, buf, 32, true, &tc) == 16);  // terminal count after 16 bytes
  CHECK(tc);
  CHECK(r.m->bus().read_uint(0x23000, 1) == 0xA0);
  CHECK(r.m->bus().read_uint(0x2300F, 1) == 0xAF);
  CHECK(r.m->bus().read_uint(0x23010, 1) == 0x00);
  CHECK_FALSE(r.b.dma->ready(2));  // EOP masked the channel
  CHECK((r.in(0x08) & 0x04) != 0);  // TC2 in the status, cleared by reading it
  CHECK((r.in(0x08) & 0x04) == 0);
  // Memory to device, decrementing: the device reads bytes from high to low addresses.
  r.m->bus().write_uint(0x24000, 0x11223344, 4);
  r.dma2(0x24003, 4, false);
  r.out(0x0B, 0x6A);  // read transfer, decrement, channel 2
  CHECK(r.b.dma->transfer(2, buf, 4, false) == 4);
  CHECK(buf[0] == 0x11);
  CHECK(buf[3] == 0x44);
  // A 16-bit channel (5) addresses words: page 0x8B bits 7:1, address << 1.
  r.out(0xD8, 0);
  r.out(0xC4, 0x00);
  r.out(0xC4, 0x10);  // word 0x1000 = byte 0x2000
  r.out(0xD8, 0);
  r.out(0xC6, 1);
  r.out(0xC6, 0);     // 2 words
  r.out(0xD6, 0x45);  // write transfer, channel 5
  r.out(0x8B, 0x02);  // A23:17 -> 0x20000
  r.out(0xD4, 0x01);  // unmask channel 5
  buf[0] = 1; buf[1] = 2; buf[2] = 3; buf[3] = 4;
  CHECK(r.b.dma->transfer(5, buf, 4, true) == 4);
  CHECK(r.m->bus().read_uint(0x22000, 4) == 0x04030201);
}

TEST_CASE("82077AA: reset and its polling interrupts; VERSION, CONFIGURE, LOCK, DUMPREG, PERPENDICULAR, invalid") {
  Rig r;
  CHECK(r.in(0x3F4) == 0x00);  // held in reset by DOR = 0
  r.enable();
  CHECK(r.in(0x3F4) == 0x80);
  r.cmd({0x10});
  CHECK(r.results() == std::vector<uint8_t>{0x90});
  r.cmd({0x18});
  CHECK(r.results() == std::vector<uint8_t>{0x80});
  r.cmd({0x08});  // nothing pending
  CHECK(r.results() == std::vector<uint8_t>{0x80});
  r.cmd({0x03, 0xAF, 0x02});  // SPECIFY
  r.cmd({0x13, 0x00, 0x57, 0x05});  // CONFIGURE: implied seek, FIFO on, threshold 8
  r.cmd({0x12, 0x80 | 0x04});       // PERPENDICULAR: drive 0
  r.cmd({0x94});                    // LOCK
  CHECK(r.results() == std::vector<uint8_t>{0x10});
  r.cmd({0x0E});
  auto d = r.results();
  REQUIRE(d.size() == 10);
  CHECK(d[4] == 0xAF);
  CHECK(d[5] == 0x02);
  CHECK(d[7] == (0x80 | 0x04));
  CHECK(d[8] == 0x57);
  CHECK(d[9] == 0x05);
  // A software reset through the DSR keeps the locked CONFIGURE values.
  r.out(0x3F4, 0x80);
  for (int i = 0; i < 4; ++i) {
    r.cmd({0x08});
    r.results();
  }
  r.cmd({0x0E});
  CHECK(r.results()[8] == 0x57);
}

TEST_CASE("82077AA: RECALIBRATE and SEEK interrupt; SENSE INTERRUPT STATUS and SENSE DRIVE STATUS report them") {
  TempImage img(1474560);
  Rig r(img.path);
  CHECK(r.b.rtc->peek(0x10) == 0x40);  // drive A: 1.44 MB
  r.enable();
  CHECK((r.in(0x3F7) & 0x80) != 0);  // disk changed until the first step
  r.cmd({0x07, 0x00});
  CHECK(r.irq6());
  r.cmd({0x08});
  CHECK(r.results() == std::vector<uint8_t>{0x20, 0});
  CHECK_FALSE(r.irq6());
  CHECK((r.in(0x3F7) & 0x80) == 0);
  r.cmd({0x0F, 0x04, 33});  // head 1, cylinder 33
  CHECK(r.irq6());
  r.cmd({0x08});
  CHECK(r.results() == std::vector<uint8_t>{0x24, 33});
  r.cmd({0x04, 0x00});
  CHECK(r.results() == std::vector<uint8_t>{0x28});  // ready, two-sided, not track 0
}

TEST_CASE("82077AA: READ DATA by DMA across heads (MT), ending at terminal count; READ ID checks the data rate") {
  TempImage img(1474560);
  Rig r(img.path);
  r.enable();
  r.out(0x3F7, 0x00);  // 500 kb/s: a 1.44 MB medium
  r.cmd({0x4A, 0x00});
  CHECK(r.irq6());
  CHECK(r.results() == std::vector<uint8_t>{0x00, 0x00, 0x00, 0, 0, 1, 2});
  CHECK_FALSE(r.irq6());
  r.out(0x3F7, 0x02);  // 250 kb/s: nothing readable
  r.cmd({0x4A, 0x00});
  auto id = r.results();
  CHECK(id[0] == 0x40);
  CHECK(id[1] == 0x01);
  r.out(0x3F7, 0x00);
  // Cylinder 2, head 0, sectors 17-18 and head 1 sector 1: 3 sectors, TC after the third.
  r.cmd({0x07, 0x00});
  r.cmd({0x08});
  r.results();
  r.dma2(0x10000, 3 * 512, true);
  r.cmd({0xE6, 0x00, 2, 0, 17, 2, 18, 0x1B, 0xFF});
  CHECK(r.irq6());
  auto res = r.results();
  CHECK(res == std::vector<uint8_t>{0x04, 0x00, 0x00, 2, 1, 2, 2});  // ended on head 1; next sector: C2 H1 R2
  const size_t lba17 = (2 * 2 + 0) * 18 + 16, lba_h1 = (2 * 2 + 1) * 18;
  CHECK(r.m->bus().read_uint(0x10000, 1) == pattern(lba17, 0));
  CHECK(r.m->bus().read_uint(0x10000 + 512 + 7, 1) == pattern(lba17 + 1, 7));
  CHECK(r.m->bus().read_uint(0x10000 + 1024 + 9, 1) == pattern(lba_h1, 9));
  CHECK(r.b.fdc->track(0) == 2);
  // Without MT, running past EOT before terminal count ends with "end of cylinder".
  r.dma2(0x10000, 4 * 512, true);
  r.cmd({0x46, 0x00, 3, 0, 17, 2, 18, 0x1B, 0xFF});
  res = r.results();
  CHECK(res[0] == 0x40);
  CHECK(res[1] == 0x80);
  CHECK(res[3] == 4);  // C + 1
  CHECK(res[5] == 1);
  // DMA channel masked: nobody takes the data.
  r.out(0x0A, 0x06);
  r.cmd({0x46, 0x00, 3, 0, 1, 2, 18, 0x1B, 0xFF});
  res = r.results();
  CHECK(res[0] == 0x40);
  CHECK(res[1] == 0x10);
  // A sector number past the track's last sector: no data.
  r.dma2(0x10000, 512, true);
  r.cmd({0x46, 0x00, 3, 0, 19, 2, 19, 0x1B, 0xFF});
  res = r.results();
  CHECK(res[0] == 0x40);
  CHECK(res[1] == 0x04);
}

TEST_CASE("82077AA: WRITE DATA and FORMAT TRACK reach the image; a 720 KB medium at 250 kb/s") {
  TempImage img(737280);
  Rig r(img.path);
  CHECK(r.b.rtc->peek(0x10) == 0x30);
  r.enable();
  r.out(0x3F7, 0x02);
  for (unsigned i = 0; i < 1024; ++i) r.m->bus().write_uint(0x30000 + i, (i * 5) & 0xFF, 1);
  r.dma2(0x30000, 1024, false);
  r.cmd({0xC5, 0x04, 10, 1, 8, 2, 9, 0x1B, 0xFF});  // C10 H1 R8-9
  auto res = r.results();
  CHECK(res == std::vector<uint8_t>{0x04, 0, 0, 11, 0, 1, 2});  // TC at EOT of head 1 with MT: C+1, H wraps to 0
  const size_t lba = (10 * 2 + 1) * 9 + 7;
  CHECK(img.byte_at(lba * 512 + 3) == 15);
  CHECK(img.byte_at((lba + 1) * 512 + 511) == ((1023 * 5) & 0xFF));
  // FORMAT TRACK: cylinder 5 head 0, 9 sectors filled with 0xE5.
  r.cmd({0x0F, 0x00, 5});
  r.cmd({0x08});
  r.results();
  std::vector<uint8_t> ids;
  for (uint8_t s = 1; s <= 9; ++s) ids.insert(ids.end(), {5, 0, s, 2});
  for (size_t i = 0; i < ids.size(); ++i) r.m->bus().write_uint(0x31000 + i, ids[i], 1);
  r.dma2(0x31000, static_cast<uint32_t>(ids.size()), false);
  r.cmd({0x4D, 0x00, 2, 9, 0x54, 0xE5});
  res = r.results();
  CHECK(res[0] == 0x00);
  CHECK(img.byte_at((5 * 2) * 9 * 512) == 0xE5);
  CHECK(img.byte_at(((5 * 2) * 9 + 8) * 512 + 511) == 0xE5);
  CHECK(img.byte_at(((5 * 2) * 9 + 9) * 512) == pattern((5 * 2) * 9 + 9, 0));
}
