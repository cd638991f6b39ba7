// The board's ACPI tables for a BIOS, through fw_cfg: QEMU's "linker/loader" interface
// that SeaBIOS (romfile_loader.c) executes. Three files:
// - etc/acpi/rsdp: the RSDP, which the BIOS allocates in the F segment;
// - etc/acpi/tables: every other table (laid out by build_acpi_tables with base 0, so
//   each pointer field holds its target's offset in this file), allocated high;
// - etc/table-loader: 128-byte commands: ALLOCATE (1: file[56], align u32, zone u8:
//   1 high, 2 F segment), ADD_POINTER (2: dest[56], src[56], offset u32, size u8: add
//   the src file's address to the little-endian field), ADD_CHECKSUM (3: file[56],
//   offset u32, start u32, length u32: fix the byte so the range sums to 0).
// The BIOS then finds the RSDP it placed and hands it to the OS, and its own ACPI
// generator stays unused.
#pragma once

#include <cstdint>
#include <vector>

#include "machine/acpi/acpi_tables.h"

namespace kestrel::machine {

class FwCfg;

struct AcpiLoaderFiles {
  std::vector<uint8_t> rsdp, tables, loader;
};

AcpiLoaderFiles build_acpi_loader_files(const AcpiConfig& cfg);
// Adds the three files to fw_cfg.
void add_acpi_tables_to_fw_cfg(FwCfg& fw, const AcpiConfig& cfg);

}  // namespace kestrel::machine
