// Booting Linux directly, without a BIOS: a bzImage by the Linux/x86 boot protocol
// (Documentation/arch/x86/boot.rst, protocol 2.06 or later), or an uncompressed
// ELF kernel (vmlinux) through its PVH entry point (pvh.h).
//
// bzImage: the setup header (file bytes 0x1F1 to 0x202 + byte[0x201]) is copied
// into a zeroed 4 KiB boot_params ("zero page") and filled in as a boot loader
// does: type_of_loader 0xFF, LOADED_HIGH, no real-mode heap, the command line, the
// initrd and the e820 memory map. The protected-mode kernel (the file after its
// (setup_sects + 1) * 512 bytes of real-mode setup) goes to pref_address when the
// kernel is relocatable, else to 0x100000; the real-mode setup code never runs.
// Entry: with XLF_KERNEL_64 (and a CPU with long mode) the 64-bit entry point at
// load address + 0x200, in long mode with the first 4 GiB identity-mapped by
// 2 MiB pages; otherwise the 32-bit entry at the load address, paging off. Both
// get a GDT whose 0x10 is flat code and 0x18 flat data, interrupts off, and
// RSI/ESI = boot_params.
//
// Guest memory used below 1 MiB (Linux reserves that area itself):
//   0x01000  GDT                 0x02000  PML4, 0x03000 PDPT, 0x04000-0x07FFF PDs
//   0x0FFF0  initial stack top   0x10000  boot_params / hvm_start_info
//   0x20000  command line (up to 64 KiB)
// The initrd goes as high as the kernel allows (initrd_addr_max), page-aligned,
// in RAM below 4 GiB, clear of the kernel's init_size, firmware tables and the
// other images.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace kestrel::machine {

class Machine;
class PhysBus;

enum class KernelFormat { Unknown, BzImage, Multiboot, PvhElf };

// What a kernel file is, in QEMU's order: a Linux setup header ("HdrS" at 0x202)
// first, then a multiboot header in the first 8 KiB, then an ELF file with a PVH
// entry note (XEN_ELFNOTE_PHYS32_ENTRY).
KernelFormat detect_kernel_format(const std::vector<uint8_t>& file);
// The same for a file on the host; false with a message when it cannot be read.
bool read_kernel_format(const std::string& path, KernelFormat& out, std::string& error);
const char* kernel_format_name(KernelFormat f);

// e820 memory types (ACPI 6.4 §15, "System Address Map Interfaces").
enum : uint32_t { kE820Ram = 1, kE820Reserved = 2, kE820Acpi = 3, kE820Nvs = 4 };

struct E820Entry {
  uint64_t addr, size;
  uint32_t type;
};

// Guest RAM the board's firmware tables occupy (the ACPI tables): reported with
// `type` in the memory map instead of as RAM, and kept clear of everything loaded.
struct FirmwareRegion {
  uint64_t start, end;  // [start, end)
  uint32_t type = kE820Acpi;
};

// The memory map of a PC without a BIOS in the way: usable 0-0x9FC00, the EBDA
// 0x9FC00-0xA0000 and the BIOS area 0xE0000-0x100000 reserved, usable from 1 MiB
// to the end of low RAM except the firmware regions, the IOAPIC and local APIC
// pages reserved, and RAM above 4 GiB when there is some. Sorted, no overlaps.
std::vector<E820Entry> build_e820(const PhysBus& bus, const std::vector<FirmwareRegion>& firmware);

struct LinuxBootSpec {
  std::string kernel_path;
  std::string initrd_path;  // empty: none
  std::string cmdline;
  // Physical ranges [first, end) already in use (--load images): kept clear.
  std::vector<std::pair<uint64_t, uint64_t>> reserved;
  // Firmware tables in RAM; see FirmwareRegion.
  std::vector<FirmwareRegion> firmware;
  uint64_t rsdp_addr = 0;  // ACPI RSDP for boot_params.acpi_rsdp_addr / PVH; 0: the kernel scans for it
};

enum class LinuxEntry { Long64, Protected32, Pvh };

// Where things went; enter_linux() needs it.
struct LinuxBootImage {
  LinuxEntry entry = LinuxEntry::Long64;
  uint64_t entry_point = 0;  // RIP / EIP (physical)
  uint64_t info_addr = 0;    // boot_params (RSI/ESI) or hvm_start_info (EBX)
  uint64_t kernel_start = 0, kernel_end = 0;  // the loaded image, or [load, load + init_size)
  uint64_t initrd_start = 0, initrd_size = 0;
  uint64_t cmdline_addr = 0;
  uint16_t protocol = 0;  // boot protocol version of a bzImage (0x20F = 2.15)
};

// Loads a bzImage or a PVH ELF kernel, the initrd and the boot information. On
// failure returns false with a message naming the file (without "kestrel: error:").
bool load_linux(Machine& m, const LinuxBootSpec& spec, LinuxBootImage& out, std::string& error);

// Sets the CPU to the entry state of the image's entry kind (see the top of this file
// and pvh.h) and writes the GDT and page tables it needs.
void enter_linux(Machine& m, const LinuxBootImage& img);

// Fixed guest addresses of the boot data (see the top of this file).
inline constexpr uint64_t kLinuxGdtAddr = 0x1000;
inline constexpr uint64_t kLinuxPml4Addr = 0x2000;
inline constexpr uint64_t kLinuxStackTop = 0xFFF0;
inline constexpr uint64_t kLinuxInfoAddr = 0x10000;
inline constexpr uint64_t kLinuxCmdlineAddr = 0x20000;
inline constexpr uint64_t kLinuxCmdlineMax = 0x10000;
inline constexpr uint16_t kLinuxBootCs = 0x10;
inline constexpr uint16_t kLinuxBootDs = 0x18;

// Shared with the PVH loader: reads and places the initrd as high as possible below
// `limit` (exclusive), clear of `used`; records it in `out` and in `used`.
struct UsedRange {
  uint64_t first, end;
};
bool load_initrd(Machine& m, const std::string& path, uint64_t limit, std::vector<UsedRange>& used,
                 LinuxBootImage& out, std::string& error);
// Writes the command line (NUL-terminated) at kLinuxCmdlineAddr; `max_len` bytes
// without the NUL are allowed.
bool write_cmdline(Machine& m, const std::string& path, const std::string& cmdline, uint64_t max_len,
                   LinuxBootImage& out, std::string& error);
// The ranges loaders must keep clear: low boot data, --load images, firmware tables.
std::vector<UsedRange> initial_used_ranges(const LinuxBootSpec& spec);

}  // namespace kestrel::machine
