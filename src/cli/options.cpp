#include "cli/options.h"

#include <cctype>
#include <cstdio>
#include <string_view>

#include <CLI/CLI.hpp>
#include "cli/host_keyboard.h"
#include <fmt/format.h>

namespace kestrel::cli {

namespace {

constexpr const char* kDescription =
    "Kestrel: a pure-software x86 PC emulator.\n"
    "Runs a BIOS image from the reset vector, flat binaries loaded into RAM and\n"
    "started in real mode, a multiboot kernel started in 32-bit protected mode, or\n"
    "a Linux kernel (bzImage, or vmlinux through PVH) booted directly, or boots\n"
    "from IDE disks, an ATAPI CD-ROM or a floppy through a BIOS (Debian's SeaBIOS\n"
    "by default).\n"
    "Guest output on the debug port (0xE9, also 0x402) and on COM1 (16550 UART at\n"
    "0x3F8) goes to standard output; COM1 reads standard input (a terminal in raw\n"
    "mode, or a pipe or file).";

constexpr const char* kFooter = R"(Examples:
  kestrel --load boot.bin@0x7c00
      copy boot.bin to 0x7C00 and start there (CS:IP = 07C0:0000)
  kestrel --load prog.bin@0x10000 --entry 1000:0100 --trace insn,exc
      start at CS=1000h IP=0100h and log every instruction and exception
  kestrel --bios rom.bin -m 512M
      run a firmware image from the reset vector with 512 MiB of RAM
  kestrel --load test.bin@0x7c00 --max-insns 1000000 --trace io --trace-file io.log
  kestrel --kernel kernel.elf --append "console=ttyS0 verbose" --debug-exit
      boot a multiboot kernel; a write of V to port 0xF4 ends the run with
      exit status (V<<1)|1, as QEMU's isa-debug-exit,iobase=0xf4,iosize=4
  echo hello | kestrel --kernel echo.elf
      the kernel reads "hello\n" from COM1
  kestrel --kernel bzImage --initrd initrd.gz --append console=ttyS0
      boot Linux with its console on COM1 (the terminal: Ctrl-A X quits)
  kestrel --hda disk.img --cdrom install.iso --boot d
      SeaBIOS boots the CD-ROM; the disk is the primary IDE master

A --load-only run starts in real mode with the other registers as after reset
(EDX = CPU signature, SS:SP = 0000:0000): set up a stack before using it.

A multiboot --kernel starts as the Multiboot specification (v0.6.96, section
3.2) says: EAX = 0x2BADB002, EBX = address of the multiboot information
(memory sizes, memory map, command line, modules, boot loader name "kestrel"),
32-bit protected mode without paging, CS = 0x08 and DS = ES = FS = GS = SS =
0x10 flat 4 GiB segments from a valid GDT in low memory, A20 on, EFLAGS = 0x2
(IF = 0), IDTR limit 0, ESP = 0x7000 (the spec leaves it undefined), other
registers 0. The information structure sits in the first free page from 0x8000
(else after the kernel and modules); modules are loaded page-aligned after the
kernel.

A --kernel that is a Linux bzImage (Linux boot protocol 2.06 or later) is
loaded as a boot loader would: the protected-mode kernel at its preferred
address (0x1000000 when relocatable, else 0x100000), boot_params at 0x10000
with the e820 memory map, the command line (--append) at 0x20000, the --initrd
as high in RAM as the kernel allows. A 64-bit kernel starts at its 64-bit entry
(load address + 0x200) in long mode with the first 4 GiB identity-mapped, else
at its 32-bit entry with paging off; RSI/ESI = boot_params, interrupts off. An
ELF vmlinux with a PVH note starts at that entry in 32-bit protected mode with
EBX = the hvm_start_info (command line, initrd as module 0, memory map).

Serial console (--serial stdio, the default): COM1's output goes to standard
output. When standard input is a terminal it is put in raw mode (and restored
however kestrel ends) and every key goes to COM1; Ctrl-A is the escape key:
Ctrl-A X quits, Ctrl-A H lists the keys, Ctrl-A Ctrl-A sends Ctrl-A. When it is
a pipe or a file, its bytes are fed to COM1's receiver as the guest reads them.
--serial-input none leaves standard input alone; --serial file:PATH writes
COM1's output to PATH and --serial none discards it (neither reads input).

Display (--vga std, the default): a standard VGA with the Bochs VBE interface.
--display text prints its text screen to standard output whenever it has stayed
the same for 100 ms of guest time and differs from the one printed last (a
screen that keeps changing: after 1 s without a print), and once more at exit:
a line "--- kestrel screen COLSxROWS ---", then every row with trailing spaces
trimmed (code page 437 as UTF-8). Graphics modes print nothing; --screenshot
FILE.png writes the picture at exit in any mode.

Keyboard: when COM1 does not read standard input (--serial file:PATH or none),
standard input types on the PS/2 keyboard (a terminal in raw mode with the
Ctrl-A keys, or a pipe), as a US keyboard; --keys types text as well.

Reset (a guest reboot through the keyboard controller, port 0x92 or 0xCF9, or
a triple fault with --on-triple-fault reset): the machine is reset and booted
again as at the start: --load, --kernel and --initrd images are copied in again
from their files and the start state is set again; with only --bios, the CPU
restarts at the reset vector. RAM not covered by an image keeps its contents;
--max-insns counts across resets. With --no-reboot a reset ends the run with
exit status 0 instead.

Exit status:
  0  the guest executed HLT and nothing can wake it (interrupts disabled, or no
     interrupt source on this board yet); the CPU state is printed on stderr.
     Also: the guest powered off (ACPI S5), rebooted under --no-reboot, or
     Ctrl-A X was typed
  1  triple fault (with --on-triple-fault stop); the CPU state is printed
  2  bad option, unreadable file, an image that does not fit, or a kernel that
     is not a loadable multiboot, bzImage or PVH image
  3  --max-insns instructions ran
  N  the status a device asked for: (V<<1)|1 for a write of V to --debug-exit)";

std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

bool parse_hex16(const std::string& text, uint16_t& out) {
  std::string t = lower(text);
  if (t.rfind("0x", 0) == 0) t = t.substr(2);
  if (t.empty() || t.size() > 4) return false;
  uint32_t v = 0;
  for (char ch : t) {
    if (!std::isxdigit(static_cast<unsigned char>(ch))) return false;
    v = v * 16 + static_cast<uint32_t>(std::isdigit(static_cast<unsigned char>(ch)) ? ch - '0' : ch - 'a' + 10);
  }
  out = static_cast<uint16_t>(v);
  return true;
}

}  // namespace

bool parse_number(const std::string& text, uint64_t& out) {
  std::string t = lower(text);
  unsigned base = 10;
  if (t.rfind("0x", 0) == 0) {
    base = 16;
    t = t.substr(2);
  }
  if (t.empty() || t.size() > 20) return false;
  uint64_t v = 0;
  for (char ch : t) {
    unsigned d;
    if (ch >= '0' && ch <= '9') d = static_cast<unsigned>(ch - '0');
    else if (base == 16 && ch >= 'a' && ch <= 'f') d = static_cast<unsigned>(ch - 'a' + 10);
    else return false;
    if (v > (~0ull - d) / base) return false;  // overflow
    v = v * base + d;
  }
  out = v;
  return true;
}

bool parse_memory_size(const std::string& text, uint64_t& out, std::string& error) {
  uint64_t value = 0;
  unsigned shift = 0;
  bool ok;
  if (lower(text).rfind("0x", 0) == 0) {
    ok = parse_number(text, value);  // hex: plain bytes, no unit
  } else {
    size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
    ok = digits > 0;
    // All digits but too many for 64 bits: a size, just far too large.
    if (ok && !parse_number(text.substr(0, digits), value)) value = ~0ull;
    const std::string unit = lower(text.substr(digits));
    if (ok && !unit.empty()) {
      static constexpr std::string_view kUnits = "kmgt";
      const size_t u = kUnits.find(unit[0]);
      const std::string rest = unit.substr(1);
      ok = u != std::string_view::npos && (rest.empty() || rest == "b" || rest == "ib");
      if (ok) shift = 10 * static_cast<unsigned>(u + 1);
    }
  }
  if (!ok) {
    error = fmt::format("-m/--memory: '{}' is not a size; write bytes or a number with K, M, G or T (e.g. 256M, 1G)",
                        text);
    return false;
  }
  if (value > (kMaxRam >> shift)) value = kMaxRam + 1;  // saturate: reported as too large below
  else value <<= shift;
  if (value < kMinRam) {
    error = fmt::format("-m/--memory: {} is too small; a PC needs at least 1M of RAM", text);
    return false;
  }
  if (value > kMaxRam) {
    error = fmt::format("-m/--memory: {} is more than the 1T Kestrel allows", text);
    return false;
  }
  if (value % 4096) {
    error = fmt::format("-m/--memory: {} is not a whole number of 4 KiB pages", text);
    return false;
  }
  out = value;
  return true;
}

bool parse_load_spec(const std::string& text, LoadSpec& out, std::string& error) {
  const size_t at = text.rfind('@');
  if (at == std::string::npos || at == 0 || at + 1 == text.size()) {
    error = fmt::format("--load: '{}' is not FILE@ADDR (e.g. --load boot.bin@0x7c00)", text);
    return false;
  }
  out.path = text.substr(0, at);
  const std::string addr = text.substr(at + 1);
  if (!parse_number(addr, out.addr)) {
    error = fmt::format("--load: '{}' in '{}' is not an address; write hex 0x... or decimal", addr, text);
    return false;
  }
  return true;
}

bool entry_from_linear(uint64_t addr, EntryPoint& out, std::string& error) {
  if (addr >= (1u << 20)) {
    error = fmt::format("entry point 0x{:x} is not below 1 MiB, so real mode cannot start there; "
                        "give --entry SEG:OFF or load the code lower",
                        addr);
    return false;
  }
  out.cs = static_cast<uint16_t>(addr >> 4);
  out.ip = static_cast<uint16_t>(addr & 0xF);
  return true;
}

bool parse_entry(const std::string& text, EntryPoint& out, std::string& error) {
  const size_t colon = text.find(':');
  if (colon != std::string::npos) {
    if (!parse_hex16(text.substr(0, colon), out.cs) || !parse_hex16(text.substr(colon + 1), out.ip)) {
      error = fmt::format("--entry: '{}' is not SEG:OFF with two hex numbers up to FFFF (e.g. 0000:7c00)", text);
      return false;
    }
    return true;
  }
  uint64_t addr;
  if (!parse_number(text, addr)) {
    error = fmt::format("--entry: '{}' is not SEG:OFF (hex) or a linear address (0x... or decimal)", text);
    return false;
  }
  if (!entry_from_linear(addr, out, error)) {
    error = "--entry: " + error;
    return false;
  }
  return true;
}

bool parse_module_spec(const std::string& text, ModuleSpec& out, std::string& error) {
  const size_t comma = text.find(',');
  out.path = text.substr(0, comma);
  if (out.path.empty()) {
    error = fmt::format("--module: '{}' names no file (write FILE or FILE,CMDLINE)", text);
    return false;
  }
  out.cmdline = comma == std::string::npos ? out.path : text.substr(comma + 1);
  return true;
}

bool parse_debug_exit(const std::string& text, uint16_t& port, uint16_t& size, std::string& error) {
  if (text.empty()) return true;
  const size_t comma = text.find(',');
  const std::string port_text = text.substr(0, comma);
  uint64_t p = 0, n = size;
  if (!parse_number(port_text, p) || p > 0xFFFF) {
    error = fmt::format("--debug-exit: '{}' is not a port number 0-0xffff (write PORT or PORT,SIZE, e.g. 0xf4,4)",
                        port_text);
    return false;
  }
  if (comma != std::string::npos) {
    const std::string size_text = text.substr(comma + 1);
    if (!parse_number(size_text, n) || n < 1 || n > 16) {
      error = fmt::format("--debug-exit: '{}' is not a size of 1 to 16 ports", size_text);
      return false;
    }
  }
  if (p + n > 0x10000) {
    error = fmt::format("--debug-exit: {} ports from 0x{:x} run past port 0xffff", n, p);
    return false;
  }
  port = static_cast<uint16_t>(p);
  size = static_cast<uint16_t>(n);
  return true;
}

bool parse_serial(const std::string& text, SerialMode& mode, std::string& path, std::string& error) {
  const std::string l = lower(text);
  if (l == "stdio") {
    mode = SerialMode::Stdio;
  } else if (l == "none") {
    mode = SerialMode::None;
  } else if (l.rfind("file:", 0) == 0 && text.size() > 5) {
    mode = SerialMode::File;
    path = text.substr(5);
  } else {
    error = fmt::format("--serial: '{}' is not stdio, file:PATH or none", text);
    return false;
  }
  return true;
}

bool parse_boot_device(const std::string& text, DriveOptions& drives, std::string& error) {
  if (text.empty()) {
    drives.boot = !drives.hda.empty() || !drives.hdb.empty() ? 'c' : !drives.cdrom.empty() ? 'd'
                  : !drives.fda.empty()                        ? 'a'
                                                               : 0;
    return true;
  }
  const std::string l = lower(text);
  if (l != "c" && l != "d" && l != "a") {
    error = fmt::format("--boot: '{}' is not c (hard disk), d (CD-ROM) or a (floppy)", text);
    return false;
  }
  const bool present = l == "c" ? !drives.hda.empty() || !drives.hdb.empty() : l == "d" ? !drives.cdrom.empty()
                                                                                         : !drives.fda.empty();
  if (!present) {
    error = fmt::format("--boot {}: there is no {} to boot from; add {}", l,
                        l == "c" ? "hard disk" : l == "d" ? "CD-ROM" : "floppy",
                        l == "c" ? "--hda FILE" : l == "d" ? "--cdrom FILE.iso" : "--fda FILE");
    return false;
  }
  drives.boot = l[0];
  return true;
}

bool parse_display(const std::string& text, DisplayMode& out, std::string& error) {
  const std::string l = lower(text);
  if (l == "none") out = DisplayMode::None;
  else if (l == "text") out = DisplayMode::Text;
  else {
    error = fmt::format("--display: '{}' is neither none nor text", text);
    return false;
  }
  return true;
}

DisplayMode effective_display(const Options& opt) {
  if (!opt.vga) return DisplayMode::None;
  if (opt.display != DisplayMode::Auto) return opt.display;
  return opt.serial == SerialMode::Stdio ? DisplayMode::None : DisplayMode::Text;
}

bool parse_trace_categories(const std::vector<std::string>& items, TraceCategories& out, std::string& error) {
  for (const std::string& raw : items) {
    const std::string item = lower(raw);
    if (item.empty()) continue;
    if (item == "insn") out.insn = true;
    else if (item == "exc") out.exc = true;
    else if (item == "io") out.io = true;
    else if (item == "all") out.insn = out.exc = out.io = true;
    else {
      error = fmt::format("--trace: unknown category '{}' (choose from insn, exc, io, all)", raw);
      return false;
    }
  }
  return true;
}

std::optional<int> parse_command_line(int argc, char** argv, Options& out) {
  CLI::App app{kDescription, "kestrel"};
  app.footer(kFooter);
  app.set_version_flag("--version", "kestrel " KESTREL_VERSION);
  app.get_formatter()->column_width(28);

  std::string boot_device;
  std::string memory = "256M", max_insns, entry, triple_fault = "stop", serial_input = "auto", jit = "on",
              serial = "stdio", clock = "icount", vga = "std", display, keys, keys_delay;
  std::vector<std::string> loads, trace, modules, debug_exit;
  // Descriptions are broken by hand: CLI11 indents continuation lines but does not wrap.
  app.add_option("-m,--memory", memory,
                 "Guest RAM: bytes, or a number with K, M, G or T\n"
                 "(binary units: 512K, 256M, 1G); at least 1M, at\n"
                 "most 1T, whole 4 KiB pages. RAM beyond 3.5G sits\n"
                 "above 4 GiB, as on a PC")
      ->type_name("SIZE")
      ->capture_default_str();
  app.add_option("--cpu", out.cpu_model, "CPU model; '--cpu help' lists them")
      ->type_name("MODEL")
      ->capture_default_str();
  app.add_option("--bios", out.bios,
                 "Firmware image, mapped read-only at the top of\n"
                 "4 GiB and its last 128 KiB also at 0xE0000-0xFFFFF;\n"
                 "a multiple of 64 KiB, at most 16 MiB. The CPU\n"
                 "starts at the reset vector F000:FFF0. 'seabios':\n"
                 "Debian's SeaBIOS (/usr/share/seabios/bios.bin).\n"
                 "With --kernel (a bzImage), Linux boots through\n"
                 "the BIOS (fw_cfg and Kestrel's linuxboot ROM)")
      ->type_name("FILE");
  app.add_option("--hda", out.drives.hda,
                 "Raw hard-disk image as the primary IDE master\n"
                 "(whole 512-byte sectors; opened read-write: guest\n"
                 "writes go to the file)")
      ->type_name("FILE");
  app.add_option("--hdb", out.drives.hdb, "Raw hard-disk image as the primary IDE slave")->type_name("FILE");
  app.add_option("--cdrom", out.drives.cdrom,
                 "ISO 9660 image in an ATAPI CD-ROM drive, the\n"
                 "secondary IDE master (read-only)")
      ->type_name("FILE.iso");
  app.add_option("--fda", out.drives.fda,
                 "Floppy image in drive A: (82077AA controller):\n"
                 "360K, 720K, 1.2M, 1.44M or 2.88M by its size;\n"
                 "opened read-write")
      ->type_name("FILE");
  app.add_option("--boot", boot_device,
                 "Boot from c (hard disk), d (CD-ROM) or a (floppy);\n"
                 "default: the first of c, d, a that is present.\n"
                 "With any drive, --bios defaults to Debian's SeaBIOS\n"
                 "(/usr/share/seabios/bios.bin)")
      ->type_name("c|d|a");
  app.add_option("--load", loads,
                 "Copy FILE into guest RAM at ADDR (hex 0x... or\n"
                 "decimal); repeatable. Without --bios or --kernel\n"
                 "at least one is required, and the first one's ADDR\n"
                 "is where the CPU starts unless --entry says otherwise")
      ->type_name("FILE@ADDR")
      ->allow_extra_args(false);
  app.add_option("--entry", entry,
                 "Start here, in real mode: SEG:OFF in hex (e.g.\n"
                 "0000:7c00), or a linear address below 1 MiB\n"
                 "(CS = ADDR>>4, IP = ADDR&0xF)")
      ->type_name("SEG:OFF|ADDR");
  app.add_option("--trace", trace,
                 "Comma-separated categories, repeatable:\n"
                 "  insn  each instruction before it runs: CS:IP,\n"
                 "        linear address, bytes, disassembly, registers\n"
                 "  exc   each exception and software interrupt\n"
                 "        delivered (vector, error code, CS:IP)\n"
                 "  io    each port read and write\n"
                 "  all   all three\n"
                 "insn and exc make the CPU run one instruction at a\n"
                 "time, which is much slower")
      ->type_name("LIST")
      ->delimiter(',')
      ->allow_extra_args(false);
  app.add_option("--trace-file", out.trace_file, "Write traces to FILE (replaced) instead of stderr")
      ->type_name("FILE");
  app.add_option("--max-insns", max_insns, "Stop after N instructions (exit status 3)")->type_name("N");
  app.add_option("--kernel", out.kernel,
                 "Boot a kernel, by its format: a Linux bzImage, a\n"
                 "multiboot (v1) kernel (a 32-bit ELF executable, or\n"
                 "any image whose multiboot header gives load\n"
                 "addresses), or an ELF vmlinux with a PVH entry;\n"
                 "see below for how each starts")
      ->type_name("FILE");
  app.add_option("--append", out.append,
                 "The kernel's arguments: a Linux command line\n"
                 "(e.g. console=ttyS0); a multiboot command line is\n"
                 "\"FILE ARGS\", as GRUB and QEMU pass it")
      ->type_name("ARGS");
  app.add_option("--initrd", out.initrd,
                 "A Linux kernel's initial RAM disk (initramfs),\n"
                 "loaded high in RAM below 4 GiB")
      ->type_name("FILE");
  app.add_option("--module", modules,
                 "Load FILE as a multiboot module, page-aligned after\n"
                 "the kernel; its string is CMDLINE (everything after\n"
                 "the first comma), else FILE. Repeatable, in order")
      ->type_name("FILE[,CMDLINE]")
      ->allow_extra_args(false);
  app.add_option("--debug-exit", debug_exit,
                 "Add QEMU's isa-debug-exit device at PORT (default\n"
                 "0xf4) spanning SIZE ports (default 4): a guest\n"
                 "write of V ends the run with exit status (V<<1)|1")
      ->type_name("[PORT[,SIZE]]")
      ->expected(0, 1)
      ->allow_extra_args(false);
  app.add_option("--on-triple-fault", triple_fault,
                 "stop: end the run with exit status 1 and print the\n"
                 "CPU state; reset: reset the machine and boot again\n"
                 "(see below)")
      ->type_name("stop|reset")
      ->capture_default_str();
  app.add_flag("--no-reboot", out.no_reboot,
               "A guest reboot (or a triple fault under\n"
               "--on-triple-fault reset) ends the run with exit\n"
               "status 0 instead of resetting the machine");
  app.add_option("--serial", serial,
                 "COM1's host end: stdio (standard output, and\n"
                 "standard input: a terminal in raw mode or a pipe),\n"
                 "file:PATH (output only) or none")
      ->type_name("stdio|file:PATH|none")
      ->capture_default_str();
  app.add_option("--clock", clock,
                 "Guest time: icount (one instruction = 1 ns,\n"
                 "deterministic; a halted CPU skips to its next timer)\n"
                 "or host (follows the host's clock in real time)")
      ->type_name("icount|host")
      ->capture_default_str();
  app.add_option("--serial-input", serial_input,
                 "auto: COM1 reads standard input (with --serial\n"
                 "stdio): a terminal in raw mode, a pipe or a file;\n"
                 "none: leave standard input alone")
      ->type_name("auto|none")
      ->capture_default_str();
  app.add_option("--jit", jit,
                 "on: hot blocks run as host code translated by the JIT\n"
                 "(x86-64 hosts); off: everything runs in the interpreter;\n"
                 "verify: every native block run is undone and re-run in\n"
                 "the interpreter, and the first difference stops the run\n"
                 "with both states on stderr (slow; for debugging)")
      ->type_name("on|off|verify")
      ->capture_default_str();
  app.add_option("--jit-verify-every", out.jit_verify_every,
                 "With --jit verify: check each translated block's first 8\n"
                 "runs, then one run in N (default 1: every run); makes\n"
                 "verify affordable for long guests such as a Linux boot")
      ->type_name("N")
      ->check(CLI::Range(1u, 1000000000u));
  app.add_option("--jit-regs", out.jit_regs,
                 "How many guest registers a translated block keeps in\n"
                 "host registers while it runs (0-3, default 3; 0 keeps\n"
                 "every guest register in memory, for debugging)")
      ->type_name("N")
      ->check(CLI::Range(0u, 3u));
  app.add_option("--vga", vga,
                 "std: a standard VGA with the Bochs VBE interface\n"
                 "(16 MiB of video memory, LFB at 0xE0000000 when no\n"
                 "PCI BAR places it); none: no display adapter (SeaBIOS\n"
                 "then says \"No VGA found\" and runs no VGA BIOS)")
      ->type_name("std|none")
      ->capture_default_str();
  app.add_option("--vga-rom", out.vga_rom,
                 "The VGA's option ROM (its PCI expansion ROM), which\n"
                 "the BIOS runs; default with --bios:\n"
                 "/usr/share/seabios/vgabios-stdvga.bin")
      ->type_name("FILE");
  app.add_option("--display", display,
                 "none: the VGA's screen is not shown; text: its text\n"
                 "screen is printed to standard output each time it\n"
                 "settles (see below). Default: text when --serial is\n"
                 "not stdio, else none. Either way the VGA is there\n"
                 "and the BIOS runs its VGA BIOS: the guest draws its\n"
                 "screen (--screenshot, --stop-on-screen read it)")
      ->type_name("none|text");
  app.add_option("--screenshot", out.screenshot,
                 "At exit, write the VGA's picture (text or graphics)\n"
                 "to FILE as a PNG")
      ->type_name("FILE.png");
  app.add_option("--keys", keys,
                 "Type TEXT on the PS/2 keyboard (US layout), one key\n"
                 "every 5 ms of guest time as the guest reads them;\n"
                 "\\n Enter, \\t Tab, \\b Backspace, \\e Esc, \\\\ a\n"
                 "backslash; terminal escape sequences for arrows\n"
                 "and F-keys (\\e[A, \\eOP) work too")
      ->type_name("TEXT");
  app.add_option("--keys-after", out.keys_after,
                 "Start typing --keys once the VGA text screen shows\n"
                 "TEXT (e.g. a prompt)")
      ->type_name("TEXT");
  app.add_option("--keys-delay", keys_delay, "Start typing --keys after MS milliseconds of\nguest time (default 0)")
      ->type_name("MS");
  app.add_option("--stop-on-screen", out.stop_on_screen,
                 "End the run (exit status 0) once the VGA text screen\n"
                 "shows TEXT")
      ->type_name("TEXT");
  app.add_flag("--perf-map", out.perf_map,
               "Write /tmp/perf-PID.map (one line per translated\n"
               "block: host address, size, kestrel:guest-lin-ADDR),\n"
               "so `perf report` names samples in JIT code by the\n"
               "guest's linear address");
  app.add_option("--jit-log", out.jit_log,
                 "Write every translated block to FILE: its guest linear\n"
                 "address, the guest registers it keeps in host registers\n"
                 "and the host code (for debugging the JIT)")
      ->type_name("FILE");
  app.add_flag("--stats", out.stats,
               "At exit, print to stderr: instructions retired, blocks\n"
               "decoded and translated, runs in each tier, wall time");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "kestrel: error: {}\nRun 'kestrel --help' for the options.\n", e.what());
    return kExitUsage;
  }

  std::string error;
  auto fail = [&]() -> std::optional<int> {
    fmt::print(stderr, "kestrel: error: {}\n", error);
    return kExitUsage;
  };
  if (!parse_memory_size(memory, out.ram_bytes, error)) return fail();
  out.list_cpus = lower(out.cpu_model) == "help";
  for (const std::string& l : loads) {
    LoadSpec spec;
    if (!parse_load_spec(l, spec, error)) return fail();
    out.loads.push_back(std::move(spec));
  }
  if (!entry.empty()) {
    EntryPoint ep;
    if (!parse_entry(entry, ep, error)) return fail();
    out.entry = ep;
  }
  if (!parse_trace_categories(trace, out.trace, error)) return fail();
  if (!max_insns.empty()) {
    if (!parse_number(max_insns, out.max_insns) || out.max_insns == 0) {
      error = fmt::format("--max-insns: '{}' is not a positive number of instructions", max_insns);
      return fail();
    }
  }
  for (const std::string& mtext : modules) {
    ModuleSpec spec;
    if (!parse_module_spec(mtext, spec, error)) return fail();
    out.modules.push_back(std::move(spec));
  }
  if (app.count("--debug-exit")) {
    out.debug_exit = true;
    if (!parse_debug_exit(debug_exit.empty() ? std::string() : debug_exit.front(), out.debug_exit_port,
                          out.debug_exit_size, error))
      return fail();
  }
  if (lower(triple_fault) == "stop") out.on_triple_fault = TripleFaultPolicy::Stop;
  else if (lower(triple_fault) == "reset") out.on_triple_fault = TripleFaultPolicy::Reset;
  else {
    error = fmt::format("--on-triple-fault: '{}' is neither stop nor reset", triple_fault);
    return fail();
  }
  if (!parse_serial(serial, out.serial, out.serial_path, error)) return fail();
  if (lower(clock) == "icount") out.clock = ClockChoice::Icount;
  else if (lower(clock) == "host") out.clock = ClockChoice::Host;
  else {
    error = fmt::format("--clock: '{}' is neither icount nor host", clock);
    return fail();
  }
  if (lower(serial_input) == "auto") out.serial_input = SerialInput::Auto;
  else if (lower(serial_input) == "none") out.serial_input = SerialInput::None;
  else {
    error = fmt::format("--serial-input: '{}' is neither auto nor none", serial_input);
    return fail();
  }
  if (lower(jit) == "on") out.jit = JitMode::On;
  else if (lower(jit) == "off") out.jit = JitMode::Off;
  else if (lower(jit) == "verify") out.jit = JitMode::Verify;
  else {
    error = fmt::format("--jit: '{}' is not on, off or verify", jit);
    return fail();
  }
  if (out.jit_verify_every != 1 && out.jit != JitMode::Verify) {
    error = "--jit-verify-every needs --jit verify";
    return fail();
  }
  if (lower(vga) == "std") out.vga = true;
  else if (lower(vga) == "none") out.vga = false;
  else {
    error = fmt::format("--vga: '{}' is neither std nor none", vga);
    return fail();
  }
  if (app.count("--display") && !parse_display(display, out.display, error)) return fail();
  if (!out.vga && !out.vga_rom.empty()) {
    error = "--vga-rom: there is no display adapter (--vga none)";
    return fail();
  }
  if (!out.vga && (out.display == DisplayMode::Text || !out.screenshot.empty())) {
    error = fmt::format("{}: there is no display adapter (--vga none)",
                        out.display == DisplayMode::Text ? "--display text" : "--screenshot");
    return fail();
  }
  if (!keys.empty() && !HostKeyboard::unescape(keys, out.keys, error)) return fail();
  if (!keys_delay.empty() && !parse_number(keys_delay, out.keys_delay_ms)) {
    error = fmt::format("--keys-delay: '{}' is not a number of milliseconds", keys_delay);
    return fail();
  }
  if ((!out.keys_after.empty() || !keys_delay.empty()) && keys.empty()) {
    error = fmt::format("{}: there are no --keys to type", out.keys_after.empty() ? "--keys-delay" : "--keys-after");
    return fail();
  }
  if (!out.stop_on_screen.empty() && !out.vga) {
    error = "--stop-on-screen: there is no text screen to watch (--vga none)";
    return fail();
  }
  if (!out.keys_after.empty() && !out.vga) {
    error = "--keys-after: there is no text screen to watch (--vga none)";
    return fail();
  }
  if (out.list_cpus) return std::nullopt;
  if (out.kernel.empty() && (app.count("--append") || !out.modules.empty() || !out.initrd.empty())) {
    error = fmt::format("{}: only a kernel takes arguments, modules or an initrd; add --kernel FILE",
                        app.count("--append") ? "--append" : !out.modules.empty() ? "--module" : "--initrd");
    return fail();
  }
  if (!out.initrd.empty() && !out.modules.empty()) {
    error = "--initrd is for a Linux kernel and --module for a multiboot kernel; give only one kind";
    return fail();
  }
  if (!out.kernel.empty() && out.entry) {
    error = "--entry starts the CPU in real mode, --kernel in protected mode at the kernel's entry point; "
            "give only one of them";
    return fail();
  }
  if (!out.trace_file.empty() && !out.trace.any()) {
    error = "--trace-file: nothing to trace; add --trace insn, exc or io";
    return fail();
  }
  if (!parse_boot_device(boot_device, out.drives, error)) return fail();
  if (out.drives.any() && out.bios.empty() && out.loads.empty() && out.kernel.empty()) out.bios = kDefaultBios;
  if (out.bios == "seabios") out.bios = kDefaultBios;
  if (out.bios.empty() && out.loads.empty() && out.kernel.empty()) {
    error = "nothing to run: give --bios FILE, --load FILE@ADDR, --kernel FILE or a drive (--hda, --cdrom, --fda; see 'kestrel --help')";
    return fail();
  }
  if (out.bios.empty() && out.kernel.empty() && !out.entry) {
    EntryPoint ep;
    if (!entry_from_linear(out.loads.front().addr, ep, error)) {
      error = fmt::format("--load {}: {}", out.loads.front().path, error);
      return fail();
    }
    out.entry = ep;
  }
  return std::nullopt;
}

}  // namespace kestrel::cli
