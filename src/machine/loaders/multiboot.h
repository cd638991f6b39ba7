// Multiboot (version 1, spec 0.6.96) kernels: what GRUB and QEMU's -kernel boot.
//
// The loader finds the multiboot header in the first 8192 bytes of the file,
// loads the kernel (a 32-bit ELF executable by its PT_LOAD program headers, or
// any file by the header's "a.out kludge" addresses when flag bit 16 is set),
// loads boot modules page-aligned after it, and builds the Multiboot information
// structure, its memory map and strings in guest RAM, next to a small flat GDT.
// enter_multiboot() then sets the CPU up as the spec's §3.2 "Machine state" asks.
//
// Like QEMU, a 64-bit ELF kernel is refused unless its header uses the a.out
// kludge (multiboot v1 knows only 32-bit ELF); and like QEMU and GRUB 2, an ELF entry point that lies in a segment whose
// virtual and physical addresses differ (a higher-half kernel) is translated to
// the physical address, since paging is off at entry.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace kestrel::machine {

class Machine;

inline constexpr uint32_t kMultibootHeaderMagic = 0x1BADB002;
inline constexpr uint32_t kMultibootBootloaderMagic = 0x2BADB002;  // EAX at entry
inline constexpr uint32_t kMultibootSearchBytes = 8192;

// The guest's view at entry (documented in kestrel --help and docs).
inline constexpr uint32_t kMultibootEntryStack = 0x7000;  // ESP; the spec leaves it undefined
inline constexpr uint16_t kMultibootCodeSelector = 0x08;  // flat 32-bit code, DPL 0
inline constexpr uint16_t kMultibootDataSelector = 0x10;  // flat 32-bit data, DPL 0
// The information structure, GDT and strings go in the first free gap of this
// window below 1 MiB, else after everything loaded.
inline constexpr uint32_t kMultibootLowInfoBase = 0x8000;
inline constexpr uint32_t kMultibootLowInfoEnd = 0x9FC00;

struct MultibootModuleSpec {
  std::string path;
  std::string cmdline;  // the module's string in the information structure
};

struct MultibootSpec {
  std::string kernel_path;
  // Appended to the kernel's path, as GRUB and QEMU build the command line
  // ("/path/kernel ARGS"): kernels that parse argv take the first word as argv[0].
  std::string append;
  std::vector<MultibootModuleSpec> modules;
  // Physical ranges [first, end) already in use (other images): the modules and
  // the information structure are placed around them.
  std::vector<std::pair<uint64_t, uint64_t>> reserved;
};

// Where things went; enter_multiboot() needs it.
struct MultibootImage {
  uint32_t entry = 0;        // physical entry point (EIP)
  uint32_t info_addr = 0;    // the Multiboot information structure (EBX)
  uint32_t gdt_addr = 0;     // three descriptors: null, code 0x08, data 0x10
  uint32_t kernel_start = 0;  // lowest and end of the highest byte loaded (bss included)
  uint32_t kernel_end = 0;
  bool elf = false;          // loaded by ELF program headers, else by the a.out kludge
};

// Offset of the first valid multiboot header (magic, 4-byte aligned, checksum)
// within the first 8192 bytes, or -1. `bad_checksum` tells whether a magic with a
// wrong checksum was seen.
long find_multiboot_header(const std::vector<uint8_t>& file, bool* bad_checksum = nullptr);

// Loads kernel and modules and writes the information structure. On failure
// returns false with a message naming the file (without "kestrel: error:").
bool load_multiboot(Machine& m, const MultibootSpec& spec, MultibootImage& out, std::string& error);

// Sets the CPU to the Multiboot §3.2 entry state: EAX = 0x2BADB002, EBX = info,
// 32-bit protected mode with paging off, CS = 0x08 and DS/ES/FS/GS/SS = 0x10 flat
// (from a GDT in guest memory, so reloading them works), A20 on, EFLAGS = 2
// (IF = VM = 0), IDTR limit 0, ESP = 0x7000, other GPRs 0.
void enter_multiboot(Machine& m, const MultibootImage& img);

}  // namespace kestrel::machine
