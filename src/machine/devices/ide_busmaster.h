// The bus-master IDE DMA engine of one channel of the PIIX IDE function (Intel
// 82371SB PIIX3 / 82371AB PIIX4 data sheets, "Bus Master IDE Registers" and "IDE
// Bus Master Operation"): eight I/O ports at BAR4 (+8 for the secondary channel)
// holding Command (start bit 0, direction bit 3: 1 = write to memory), Status
// (Active bit 0, Error bit 1 and Interrupt bit 2 cleared by writing 1, drive DMA
// capable bits 5/6) and the PRD table pointer.
//
// The physical region descriptor table is in guest memory: 8-byte entries of a
// 32-bit buffer address, a 16-bit byte count (0 = 64 KiB) and end-of-table in bit
// 31 of the second dword. Every access goes through PhysBus (bounds-checked; a
// write into a page holding translated code invalidates it like a CPU store), and
// a table without end-of-table stops at its 64 KiB limit (8192 entries).
//
// Completion (data sheet table "Bus Master IDE Status Register"): Interrupt is set
// when the channel's INTRQ rises; Active clears when the table ran out exactly at
// the end of the data, and stays set when the table was longer. A table shorter
// than the data ends the transfer with Error set (the real chip would leave the
// drive hung; the command is aborted instead).
#pragma once

#include <cstdint>

#include "machine/device.h"
#include "machine/devices/ide_channel.h"
#include "machine/port_bus.h"

namespace kestrel::machine {

class PhysBus;

class IdeBusMaster final : public Device, public PortDevice, public IdeDmaEngine {
 public:
  static constexpr uint8_t kCmdStart = 0x01, kCmdWrite = 0x08;
  static constexpr uint8_t kStActive = 0x01, kStError = 0x02, kStInterrupt = 0x04, kStDrive0 = 0x20,
                           kStDrive1 = 0x40;
  static constexpr unsigned kMaxPrdEntries = 8192;

  IdeBusMaster(PhysBus& bus, IdeChannel& channel, const char* name);
  // Maps the eight registers at `base` (BAR4 or BAR4 + 8); detach() unmaps them.
  void attach(PortBus& ports, uint16_t base);
  void detach(PortBus& ports);
  bool attached() const { return attached_; }
  uint16_t base() const { return base_; }
  // Bus mastering off (PCI command bit 2 clear): the engine moves nothing.
  void set_master_enabled(bool on) { master_enabled_ = on; }

  const char* name() const override { return name_; }
  void reset() override;
  void save(StateWriter& w) const override;
  void load(StateReader& r) override;
  uint32_t port_in(uint16_t port, unsigned size) override;
  void port_out(uint16_t port, uint32_t value, unsigned size) override;

  // IdeDmaEngine.
  bool dma_running() const override { return (command_ & kCmdStart) && master_enabled_; }
  size_t dma_transfer(uint8_t* buf, size_t len, bool to_memory) override;
  void dma_finished(bool short_prd) override;
  void irq_raised() override { status_ |= kStInterrupt; }

  uint8_t command() const { return command_; }
  uint8_t status() const { return status_; }
  uint32_t prd_table() const { return prd_table_; }

  uint8_t read_reg(unsigned offset);
  void write_reg(unsigned offset, uint8_t v);

 private:
  PhysBus& bus_;
  IdeChannel& channel_;
  const char* name_;
  uint16_t base_ = 0;
  bool attached_ = false;
  bool master_enabled_ = true;
  uint8_t command_ = 0, status_ = 0;
  uint32_t prd_table_ = 0;
  // Walk state: the next entry, and what is left of the current one.
  uint32_t next_entry_ = 0;
  uint32_t cur_addr_ = 0, cur_left_ = 0;
  bool last_entry_ = false;  // the current entry had end-of-table
  bool exhausted_ = false;   // ... and is used up
};

}  // namespace kestrel::machine
