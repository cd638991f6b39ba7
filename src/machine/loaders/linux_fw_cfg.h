// Booting Linux through the BIOS (--bios with --kernel): the kernel, initrd and
// command line go into fw_cfg the way QEMU's pc machine offers them, and our own
// option ROM (firmware/linuxboot) copies them into place and runs the kernel's
// real-mode setup code, which then uses the BIOS (INT 15h E820, INT 10h...) as on a
// PC that booted from a disk.
//
// Layout (Linux boot protocol, Documentation/arch/x86/boot.rst, "Loading the rest of
// the kernel" for protocol >= 2.02): the boot sector and setup code at 0x10000 (the
// setup segment 0x1000), the real-mode heap up to 0x1FE00 (heap_end_ptr 0xFE00,
// CAN_USE_HEAP), the command line at 0x20000, the protected-mode kernel at 0x100000,
// the initrd page-aligned as high as initrd_addr_max and RAM allow, 1 MiB below the
// top of low RAM (where SeaBIOS keeps its own tables). fw_cfg items: SETUP_ADDR/
// SIZE/DATA (0x16-0x18, the header patched: type_of_loader 0xFF, loadflags, heap
// end, cmd_line_ptr, ramdisk_image/size), KERNEL_ADDR/SIZE/DATA (0x07, 0x08, 0x11),
// INITRD_ADDR/SIZE/DATA (0x0A, 0x0B, 0x12), CMDLINE_ADDR/SIZE/DATA (0x13-0x15, with
// the NUL) and KERNEL_CMDLINE (0x09, the address); the file
// "genroms/kestrel-linuxboot.bin" (the ROM, checksums fixed) and "bootorder" naming
// it first.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kestrel::machine {

class Machine;
class FwCfg;
struct LinuxBootSpec;

inline constexpr const char* kLinuxbootRomFile = "genroms/kestrel-linuxboot.bin";

// Stages a bzImage (boot protocol 2.02 or later, loaded high) for the BIOS path.
// False with a message naming the file (without "kestrel: error:").
bool stage_linux_in_fw_cfg(Machine& m, FwCfg& fw, const LinuxBootSpec& spec, std::string& error);

// The option ROM as fw_cfg serves it (padded to whole 512-byte blocks, PnP header and
// ROM checksums fixed).
std::vector<uint8_t> linuxboot_rom_image();

}  // namespace kestrel::machine
