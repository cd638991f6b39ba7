// An IDE (ATA/ATAPI) channel: the legacy task-file registers of one cable with a
// master and a slave device, as a PC's PIIX IDE function presents them.
//
// Primary channel: ports 0x1F0-0x1F7 and 0x3F6, ISA IRQ 14; secondary: 0x170-0x177
// and 0x376, IRQ 15 (0x3F7/0x377 belong to the floppy controller). Each device is a
// hard disk (ATA, ata_disk.cpp), an ATAPI CD-ROM (atapi_cdrom.cpp) or absent.
//
// Model (ATA/ATAPI-6, T13/1410D, chapters 5-9): both devices latch every
// task-file write (with the previous value kept for the LBA48 "HOB" reads, §6.20);
// reads come from the device selected by the Device register's DEV bit. Commands
// complete at once, in the OUT that issued them (no seek or rotation time): a PIO
// read has its first block ready with DRQ set and the interrupt asserted; a PIO
// write waits for each block in the data register; a DMA command waits for the bus
// master's start bit (IdeDmaEngine) and then moves all its data in one go. INTRQ
// follows the selected device's interrupt-pending flag gated by nIEN (Device
// Control bit 1); reading Status clears it, Alternate Status does not (§5.2).
// SRST (Device Control bit 2) resets both devices to their signatures (§9.12).
//
// Data moves through the data register in 16- or 32-bit accesses (the PIIX passes
// 32-bit I/O through as two words).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "machine/device.h"
#include "machine/irq.h"
#include "machine/port_bus.h"

namespace kestrel::machine {

class DiskImage;
class Machine;

// The bus-master DMA engine of a channel (the PIIX's, ide_busmaster.h). Devices
// call it from a DMA command once the engine is started.
class IdeDmaEngine {
 public:
  virtual ~IdeDmaEngine() = default;
  // The start bit is set: a waiting DMA command may run.
  virtual bool dma_running() const = 0;
  // Moves up to `len` bytes between `buf` and guest memory along the PRD table,
  // continuing where the previous call stopped; `to_memory` is a device-to-memory
  // (read) transfer. Returns the bytes moved: fewer when the table ends first.
  virtual size_t dma_transfer(uint8_t* buf, size_t len, bool to_memory) = 0;
  // The command's data phase is over (the device is about to interrupt); `short_prd`:
  // the table ended before the data did.
  virtual void dma_finished(bool short_prd) = 0;
  // The channel's INTRQ rose (the bus master's status Interrupt bit).
  virtual void irq_raised() = 0;
};

// Status register bits (ATA-6 §7.15.6), Error bits (§7.11), Device Control (§7.9).
namespace ata {
inline constexpr uint8_t kBsy = 0x80, kDrdy = 0x40, kDf = 0x20, kDsc = 0x10, kDrq = 0x08, kErr = 0x01;
inline constexpr uint8_t kErrAbrt = 0x04, kErrIdnf = 0x10, kErrUnc = 0x40, kErrMc = 0x20, kErrMcr = 0x08;
inline constexpr uint8_t kCtlNien = 0x02, kCtlSrst = 0x04, kCtlHob = 0x80;
inline constexpr uint8_t kDevLba = 0x40, kDevDev = 0x10;
// ATAPI interrupt reason (the Sector Count register during a packet command).
inline constexpr uint8_t kIrCoD = 0x01, kIrIo = 0x02;
}  // namespace ata

// One device on the channel. Its command set lives in ata_disk.cpp or
// atapi_cdrom.cpp; the channel owns the register file and the PIO buffer.
struct IdeDevice {
  enum class Kind : uint8_t { None, Disk, Cdrom };
  // What the end of the current PIO buffer leads to.
  enum class Pio : uint8_t { None, AtaRead, AtaWrite, Identify, Packet, AtapiData };
  // A DMA command waiting for (or using) the bus master.
  enum class Dma : uint8_t { None, AtaRead, AtaWrite, AtapiRead };

  Kind kind = Kind::None;
  std::shared_ptr<DiskImage> image;  // a Cdrom may have none (empty drive)

  // Task file (current values, and the previous ones for HOB reads).
  uint8_t feature = 0, count = 0, lba_low = 0, lba_mid = 0, lba_high = 0;
  uint8_t hob_feature = 0, hob_count = 0, hob_lba_low = 0, hob_lba_mid = 0, hob_lba_high = 0;
  uint8_t device = 0, status = 0, error = 0;
  bool intrq = false;  // interrupt pending (INTRQ before the nIEN gate)

  // ATA disk: default and current (INITIALIZE DEVICE PARAMETERS) CHS geometry.
  uint16_t cyls = 0, cur_cyls = 0;
  uint8_t heads = 0, spt = 0, cur_heads = 0, cur_spt = 0;
  uint16_t multiple = 0;        // READ/WRITE MULTIPLE block size in sectors; 0: not set
  uint8_t xfer_mode = 0x08;     // the SET FEATURES 03h transfer mode (PIO 0 flow control after reset)
  bool write_cache = true;

  // The PIO buffer and what follows it.
  std::vector<uint8_t> buf;
  uint32_t pos = 0, end = 0;
  Pio pio = Pio::None;
  Dma dma = Dma::None;
  // ATA transfers: next sector, sectors left, sectors per DRQ block.
  uint64_t lba = 0;
  uint32_t remaining = 0;
  uint32_t block = 1;

  // ATAPI: sense data, tray and lock, the data phase (a reply in `reply`, or a
  // range of the image from `data_offset`), the byte-count limit.
  uint8_t sense_key = 0, asc = 0, ascq = 0;
  bool tray_open = false, locked = false, media_event = false;
  std::vector<uint8_t> reply;
  bool data_from_image = false;
  uint64_t data_offset = 0;
  uint64_t data_left = 0;
  uint16_t byte_limit = 0;
  uint8_t packet[12] = {};

  bool present() const { return kind != Kind::None; }
};

class IdeChannel final : public Device, public PortDevice {
 public:
  static constexpr uint16_t kPrimaryCmd = 0x1F0, kPrimaryCtl = 0x3F6;
  static constexpr uint16_t kSecondaryCmd = 0x170, kSecondaryCtl = 0x376;
  static constexpr unsigned kPrimaryIrq = 14, kSecondaryIrq = 15;

  IdeChannel(Machine& m, std::string name, uint16_t cmd_base, uint16_t ctl_port, IrqLine* irq);
  void attach(PortBus& ports);
  void detach(PortBus& ports);

  // Puts a hard disk (an open DiskImage of kind HardDisk) or a CD-ROM drive (an
  // ISO image of kind Cdrom, or null for an empty drive) at unit 0 (master) or 1.
  void attach_disk(unsigned unit, std::shared_ptr<DiskImage> image);
  void attach_cdrom(unsigned unit, std::shared_ptr<DiskImage> image);
  void set_dma_engine(IdeDmaEngine* e) { dma_ = e; }
  // The bus master's start bit went from 0 to 1: a waiting DMA command runs.
  void dma_started();

  const char* name() const override { return name_.c_str(); }
  void reset() override;
  void save(StateWriter& w) const override;
  void load(StateReader& r) override;
  uint32_t port_in(uint16_t port, unsigned size) override;
  void port_out(uint16_t port, uint32_t value, unsigned size) override;

  const IdeDevice& device(unsigned unit) const { return dev_[unit & 1]; }
  uint16_t cmd_base() const { return cmd_base_; }
  uint16_t ctl_port() const { return ctl_port_; }
  bool irq_level() const;

 private:
  friend struct IdeAccess;

  IdeDevice& sel() { return dev_[(dev_[0].device & ata::kDevDev) ? 1 : 0]; }
  uint8_t read_register(unsigned reg);
  void write_register(unsigned reg, uint8_t v);
  void write_command(uint8_t cmd);
  void write_control(uint8_t v);
  uint32_t read_data(unsigned size);
  void write_data(uint32_t value, unsigned size);
  void buffer_done(IdeDevice& d);
  void soft_reset(IdeDevice& d);
  void run_dma(IdeDevice& d);

  // Helpers the command sets use.
  void set_signature(IdeDevice& d);
  void raise_irq(IdeDevice& d);
  void complete(IdeDevice& d, bool irq = true);  // ready, no data, interrupt
  void abort(IdeDevice& d);                         // ABRT error, interrupt
  void start_pio_in(IdeDevice& d, uint32_t bytes, IdeDevice::Pio next, bool irq = true);
  void start_pio_out(IdeDevice& d, uint32_t bytes, IdeDevice::Pio next, bool irq);
  void update_irq();

  Machine& m_;
  std::string name_;
  uint16_t cmd_base_, ctl_port_;
  IrqLine* irq_;
  IdeDmaEngine* dma_ = nullptr;
  IdeDevice dev_[2];
  uint8_t control_ = 0;
};

}  // namespace kestrel::machine
