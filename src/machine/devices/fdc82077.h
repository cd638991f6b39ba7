// The Intel 82077AA floppy disk controller in PC/AT mode (ports 0x3F0-0x3F5 and
// 0x3F7, ISA IRQ 6, DMA channel 2), with up to two 3.5"/5.25" drives whose media
// are DiskImages of one of the standard formats (storage/disk_image.h).
//
// Registers (82077AA data sheet §2): DOR (drive select, nRESET, DMA/IRQ gate,
// motors), TDR, MSR (RQM, DIO, CB) / DSR (data rate, software reset), the FIFO
// (commands in, results out) and DIR (disk change) / CCR (data rate). The FIFO's
// command phase collects the command bytes, the command runs at once (no motor,
// step or rotation time), and its result bytes are read back; an interrupt marks
// the result phase of a data command, and the end of a SEEK or RECALIBRATE (read
// back with SENSE INTERRUPT STATUS). Leaving reset raises the interrupt with the
// four polling statuses (ST0 = 0xC0 | drive).
//
// Commands (§5): READ DATA and WRITE DATA (MT multi-track, multi-sector, ending at
// EOT or at the DMA controller's terminal count), READ ID, FORMAT TRACK, SPECIFY,
// RECALIBRATE, SEEK, SENSE INTERRUPT STATUS, SENSE DRIVE STATUS, VERSION,
// CONFIGURE, LOCK, DUMPREG, PERPENDICULAR MODE; anything else is invalid (ST0 0x80).
// Data moves by DMA only (SPECIFY's non-DMA mode is not modelled: such a transfer
// ends with an overrun). A read or READ ID at a data rate other than the medium's
// finds no address mark, so a BIOS's media sense works as on hardware. A data
// command whose cylinder differs from the head's position seeks there first (the
// implied seek), so the result's cylinder is the one read.
#pragma once

#include <cstdint>
#include <memory>

#include "machine/device.h"
#include "machine/irq.h"
#include "machine/port_bus.h"

namespace kestrel::machine {

class DiskImage;
class Dma8237;
class Machine;

class Fdc82077 final : public Device, public PortDevice {
 public:
  static constexpr uint16_t kBase = 0x3F0;
  static constexpr unsigned kIrq = 6, kDmaChannel = 2;
  // MSR bits.
  static constexpr uint8_t kMsrRqm = 0x80, kMsrDio = 0x40, kMsrNdma = 0x20, kMsrCb = 0x10;
  // DOR bits.
  static constexpr uint8_t kDorReset = 0x04, kDorDma = 0x08;

  Fdc82077(Machine& m, IrqLine* irq, Dma8237* dma);
  void attach(PortBus& ports);
  // Inserts a medium in drive 0 or 1 (null: empty drive).
  void insert(unsigned drive, std::shared_ptr<DiskImage> image);

  const char* name() const override { return "fdc82077"; }
  void reset() override;
  void save(StateWriter& w) const override;
  void load(StateReader& r) override;
  uint32_t port_in(uint16_t port, unsigned size) override;
  void port_out(uint16_t port, uint32_t value, unsigned size) override;

  uint8_t track(unsigned drive) const { return drives_[drive & 3].track; }

 private:
  enum class Phase : uint8_t { Command, Result };
  struct Drive {
    std::shared_ptr<DiskImage> image;
    uint8_t track = 0;
    bool changed = true;  // the disk-change line (DIR bit 7), cleared by a step
  };

  void write_dor(uint8_t v);
  void enter_reset();
  void leave_reset();
  void write_fifo(uint8_t v);
  uint8_t read_fifo();
  void execute();
  void result(std::initializer_list<uint8_t> bytes, bool irq);
  void set_irq(bool on);
  void update_irq();
  unsigned command_length(uint8_t cmd) const;

  void read_write(bool write);
  void read_id();
  void format_track();
  void seek_done(unsigned drive, unsigned head, bool ok);
  bool medium_readable(const Drive& d) const;

  Machine& m_;
  IrqLine* irq_;
  Dma8237* dma_;
  Drive drives_[4];
  uint8_t dor_ = 0, tdr_ = 0, rate_ = 0;
  bool in_reset_ = true;
  Phase phase_ = Phase::Command;
  uint8_t cmd_[9] = {};
  unsigned cmd_len_ = 0, cmd_pos_ = 0;
  uint8_t res_[10] = {};
  unsigned res_len_ = 0, res_pos_ = 0;
  bool irq_pending_ = false;
  // SENSE INTERRUPT STATUS: polling statuses left after a reset, and the last seek's.
  unsigned reset_sense_ = 0;
  bool seek_pending_ = false;
  uint8_t seek_st0_ = 0, seek_drive_ = 0;
  // SPECIFY, CONFIGURE, LOCK, PERPENDICULAR MODE and the last EOT, for DUMPREG.
  uint8_t srt_hut_ = 0, hlt_nd_ = 0, config_ = 0x20, pretrk_ = 0, perpendicular_ = 0, last_eot_ = 0;
  bool lock_ = false;
};

}  // namespace kestrel::machine
