// The command sets of the two kinds of IDE device, called by IdeChannel
// (ide_channel.h): ATA hard disks (ata_disk.cpp) and ATAPI CD-ROMs (atapi_cdrom.cpp).
#pragma once

#include <cstdint>

#include "machine/devices/ide_channel.h"

namespace kestrel::machine {

// The channel's protocol helpers (private to IdeChannel) for the command sets.
struct IdeAccess {
  static void raise(IdeChannel& ch, IdeDevice& d) { ch.raise_irq(d); }
  static void complete(IdeChannel& ch, IdeDevice& d, bool irq = true) { ch.complete(d, irq); }
  static void abort(IdeChannel& ch, IdeDevice& d) { ch.abort(d); }
  static void pio_in(IdeChannel& ch, IdeDevice& d, uint32_t n, IdeDevice::Pio p, bool irq) {
    ch.start_pio_in(d, n, p, irq);
  }
  static void pio_out(IdeChannel& ch, IdeDevice& d, uint32_t n, IdeDevice::Pio p, bool irq) {
    ch.start_pio_out(d, n, p, irq);
  }
  static void run_dma(IdeChannel& ch, IdeDevice& d) { ch.run_dma(d); }
  static void set_signature(IdeChannel& ch, IdeDevice& d) { ch.set_signature(d); }
  static IdeDmaEngine* engine(IdeChannel& ch) { return ch.dma_; }
};

struct AtaCommands {
  // Sets the default CHS geometry from the image size.
  static void init_geometry(IdeDevice& d);
  static void execute(IdeChannel& ch, IdeDevice& d, uint8_t cmd);
  // The PIO buffer of a READ/WRITE (MULTIPLE) command was emptied/filled.
  static void pio_read_next(IdeChannel& ch, IdeDevice& d);
  static void pio_write_next(IdeChannel& ch, IdeDevice& d);
  // The bus master is running: move the whole transfer.
  static void run_dma(IdeChannel& ch, IdeDevice& d);
};

struct AtapiCommands {
  static void execute(IdeChannel& ch, IdeDevice& d, uint8_t cmd);
  // The 12-byte packet arrived in the PIO buffer.
  static void packet_received(IdeChannel& ch, IdeDevice& d);
  // The host read a data block: the next one, or the status phase.
  static void data_next(IdeChannel& ch, IdeDevice& d);
  static void run_dma(IdeChannel& ch, IdeDevice& d);
};

}  // namespace kestrel::machine
