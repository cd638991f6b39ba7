// PVH direct boot of an ELF kernel (Xen's "PVH" entry, also QEMU's -kernel vmlinux
// path; xen/include/public/arch-x86/hvm/start_info.h, docs/misc/pvh.pandoc).
//
// An ELF kernel (32- or 64-bit) that carries an XEN_ELFNOTE_PHYS32_ENTRY note
// (name "Xen", type 18) is loaded by its PT_LOAD program headers at their physical
// addresses and entered at the note's 32-bit physical address in 32-bit protected
// mode, paging off, flat CS/DS/ES/SS, TR a 32-bit TSS with base 0 and limit 0x67,
// EFLAGS.IF = 0, with EBX = the physical address of a struct hvm_start_info
// (magic 0x336EC578, version 1): the command line, the initrd as module 0, the
// e820-style memory map (version 1 fields) and the ACPI RSDP when the board has one.
// Linux's uncompressed vmlinux has the note when built with CONFIG_PVH.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kestrel::machine {

class Machine;
struct LinuxBootSpec;
struct LinuxBootImage;

inline constexpr uint32_t kXenElfnotePhys32Entry = 18;
inline constexpr uint32_t kHvmStartMagic = 0x336EC578;

// Finds the PVH entry note of an ELF file. False with the reason in `why` when
// the file is not ELF, is malformed, or has no such note.
bool find_pvh_entry(const std::vector<uint8_t>& file, uint64_t& entry, std::string& why);

// Loads an ELF kernel with a PVH note (`file` is its contents), the initrd, the
// command line and the start info; used by load_linux().
bool load_pvh(Machine& m, const LinuxBootSpec& spec, const std::vector<uint8_t>& file, LinuxBootImage& out,
              std::string& error);

}  // namespace kestrel::machine
