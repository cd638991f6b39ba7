// The PC/AT DMA controllers: two Intel 8237A chips with their page registers.
//
// DMA1 (ports 0x00-0x0F) serves the 8-bit channels 0-3; DMA2 (0xC0-0xDF, registers
// on even ports) the 16-bit channels 4-7, channel 4 being the cascade from DMA1.
// The page registers at 0x80-0x8F give address bits 23:16 (0x87, 0x83, 0x81, 0x82
// for channels 0-3; 0x8B, 0x89, 0x8A for 5-7); the other ports there are plain
// latches (0x80 is the POST-code port BIOSes and Linux write to for delays).
//
// Registers (8237A data sheet): base/current address and count per channel through
// the byte-pointer flip-flop, mode (transfer type, auto-initialize, decrement, mode),
// the mask bits (single, all, clear), request bits, the command register, and the
// status register (terminal count bits 3:0 cleared by reading it, request bits
// 7:4). Master clear resets a chip.
//
// Devices move data with transfer(): the controller copies between the device's
// buffer and guest memory through PhysBus (ISA: 24-bit addresses, the page never
// carries; writes invalidate translated code like a CPU store), counts down and
// sets terminal count when the count wraps, re-loading the base values under
// auto-initialize. A channel that is masked moves nothing.
#pragma once

#include <cstddef>
#include <cstdint>

#include "machine/device.h"
#include "machine/port_bus.h"

namespace kestrel::machine {

class PhysBus;

class Dma8237 final : public Device, public PortDevice {
 public:
  explicit Dma8237(PhysBus& bus);
  void attach(PortBus& ports);

  const char* name() const override { return "dma8237"; }
  void reset() override;
  void save(StateWriter& w) const override;
  void load(StateReader& r) override;
  uint32_t port_in(uint16_t port, unsigned size) override;
  void port_out(uint16_t port, uint32_t value, unsigned size) override;

  // Whether `channel` (0-7) is unmasked and could move data now.
  bool ready(unsigned channel) const;
  // Moves up to `len` bytes for `channel`: device-to-memory when the channel's mode
  // is a write transfer, memory-to-device for a read transfer; a verify transfer
  // only counts. `to_memory` is the device's direction: when it disagrees with the
  // mode nothing is copied (the bytes still count, as on the bus). Returns the bytes
  // counted; fewer than `len` when terminal count ended the transfer. `*tc` (when
  // given) tells whether this call reached terminal count.
  size_t transfer(unsigned channel, uint8_t* buf, size_t len, bool to_memory, bool* tc = nullptr);
  // Terminal count reached since the status register was last read.
  bool terminal_count(unsigned channel) const;

 private:
  struct Channel {
    uint16_t base_addr = 0, base_count = 0, cur_addr = 0, cur_count = 0;
    uint8_t mode = 0, page = 0;
  };
  struct Chip {
    Channel ch[4];
    uint8_t command = 0, status = 0, mask = 0x0F, request = 0, temp = 0;
    bool flip_flop = false;
  };
  void chip_write(unsigned chip, unsigned reg, uint8_t v);
  uint8_t chip_read(unsigned chip, unsigned reg);
  void master_clear(Chip& c);

  PhysBus& bus_;
  Chip chips_[2];
  uint8_t page_latch_[16] = {};
};

}  // namespace kestrel::machine
