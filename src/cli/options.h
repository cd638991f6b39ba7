// The kestrel command line: what the user asked for, parsed and checked, but not
// yet applied to a machine (main.cpp does that). The value parsers are separate
// functions so unit tests can reach them without a process.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kestrel::cli {

// Exit statuses of the kestrel command (also listed in --help).
inline constexpr int kExitOk = 0;
inline constexpr int kExitTripleFault = 1;  // with --on-triple-fault stop
inline constexpr int kExitUsage = 2;        // bad option, unreadable file, image does not fit
inline constexpr int kExitInsnLimit = 3;    // --max-insns reached

inline constexpr uint64_t kMinRam = 1ull << 20;
inline constexpr uint64_t kMaxRam = 1ull << 40;
inline constexpr uint64_t kDefaultRam = 256ull << 20;

struct LoadSpec {
  std::string path;
  uint64_t addr = 0;
};

// Where a --load-only run starts, in real mode.
struct EntryPoint {
  uint16_t cs = 0;
  uint16_t ip = 0;
};

struct TraceCategories {
  bool insn = false;
  bool exc = false;
  bool io = false;
  bool any() const { return insn || exc || io; }
};

// A --module: a multiboot boot module and its string.
struct ModuleSpec {
  std::string path;
  std::string cmdline;
};

// What a triple fault does (--on-triple-fault).
enum class TripleFaultPolicy { Stop, Reset };

// Where COM1's input comes from (--serial-input).
enum class SerialInput { Auto, None };

// Which tiers run the guest (--jit).
enum class JitMode { On, Off, Verify };

// The host end of COM1 (--serial): standard input/output, an output file, or nothing.
enum class SerialMode { Stdio, File, None };

// The virtual clock's source (--clock).
enum class ClockChoice { Icount, Host };

// The firmware --bios defaults to when a drive is given (Debian's seabios package).
inline constexpr const char* kDefaultBios = "/usr/share/seabios/bios.bin";

// The drives and the boot device (--hda, --hdb, --cdrom, --fda, --boot).
struct DriveOptions {
  std::string hda;    // primary IDE master: a raw hard-disk image
  std::string hdb;    // primary IDE slave
  std::string cdrom;  // secondary IDE master: an ISO 9660 image (read-only)
  std::string fda;    // floppy drive A: (a 360K/720K/1.2M/1.44M/2.88M image)
  char boot = 0;      // 'c', 'd' or 'a'; 0 until parse_command_line picks the default
  bool any() const { return !hda.empty() || !hdb.empty() || !cdrom.empty() || !fda.empty(); }
};
// The VGA's expansion ROM when a BIOS runs (Debian's seabios package; QEMU's -vga std).
inline constexpr const char* kDefaultVgaRom = "/usr/share/seabios/vgabios-stdvga.bin";

// What shows the VGA's screen (--display): Auto is text when the board has a VGA
// and COM1 is not the console on standard output (--serial is not stdio), else none.
enum class DisplayMode { Auto, None, Text };

struct Options {
  uint64_t ram_bytes = kDefaultRam;
  std::string cpu_model = "default";
  bool list_cpus = false;          // --cpu help
  std::string bios;                // empty: none
  std::vector<LoadSpec> loads;
  std::optional<EntryPoint> entry; // from --entry, or the first load without --bios
  TraceCategories trace;
  std::string trace_file;          // empty: stderr
  uint64_t max_insns = 0;          // 0: no limit
  std::string kernel;              // --kernel: a multiboot kernel, bzImage or PVH ELF; empty: none
  std::string append;              // --append: its arguments
  std::string initrd;              // --initrd: a Linux kernel's initial RAM disk
  std::vector<ModuleSpec> modules; // --module
  bool debug_exit = false;         // --debug-exit [PORT[,SIZE]]
  uint16_t debug_exit_port = 0xF4;
  uint16_t debug_exit_size = 4;
  TripleFaultPolicy on_triple_fault = TripleFaultPolicy::Stop;
  SerialInput serial_input = SerialInput::Auto;
  JitMode jit = JitMode::On;       // --jit on|off|verify (the JIT exists on x86-64 hosts only)
  uint32_t jit_verify_every = 1;   // --jit-verify-every N: sampled verification
  uint32_t jit_regs = 3;           // --jit-regs N: guest registers a translated block keeps in host registers
  bool stats = false;              // --stats: counters at exit
  bool perf_map = false;           // --perf-map: /tmp/perf-PID.map names JIT code for perf
  std::string jit_log;             // --jit-log FILE: every translated block's host code
  SerialMode serial = SerialMode::Stdio;
  std::string serial_path;         // --serial file:PATH
  bool no_reboot = false;          // --no-reboot: a guest reset ends the run (status 0)
  ClockChoice clock = ClockChoice::Icount;
  DriveOptions drives;
  bool vga = true;                 // --vga std|none
  std::string vga_rom;             // --vga-rom FILE: the VGA BIOS; empty: kDefaultVgaRom when a BIOS runs
  DisplayMode display = DisplayMode::Auto;
  std::string screenshot;          // --screenshot FILE.png: the screen at exit; empty: none
  std::string keys;                // --keys: bytes to type on the PS/2 keyboard (escapes already turned)
  std::string keys_after;          // --keys-after: type them once the text screen shows this
  uint64_t keys_delay_ms = 0;      // --keys-delay: and not before this much guest time
  std::string stop_on_screen;      // --stop-on-screen: end the run once the text screen shows this
};

// The display the run gets once Auto is resolved (None or Text).
DisplayMode effective_display(const Options& opt);

// Parses argv. Returns an exit status when the process should end now (--help,
// --version, or an error already printed as "kestrel: error: ..."), else nullopt.
std::optional<int> parse_command_line(int argc, char** argv, Options& out);

// Value parsers: true on success, else false with a message (without the
// "kestrel: error:" prefix) in `error`.
//
// An unsigned number, 0x-prefixed hex or decimal.
bool parse_number(const std::string& text, uint64_t& out);
// A RAM size: bytes, or a number with K, M, G or T (binary units, optional "B"/"iB").
bool parse_memory_size(const std::string& text, uint64_t& out, std::string& error);
// FILE@ADDR (the last '@' splits, so file names may contain '@').
bool parse_load_spec(const std::string& text, LoadSpec& out, std::string& error);
// SEG:OFF in hex (0x optional), or a linear address below 1 MiB (hex 0x... or decimal).
bool parse_entry(const std::string& text, EntryPoint& out, std::string& error);
// The real-mode CS:IP for a linear address: CS = addr >> 4, IP = addr & 0xF.
bool entry_from_linear(uint64_t addr, EntryPoint& out, std::string& error);
// FILE or FILE,CMDLINE (the first ',' splits; without one the module's string is FILE).
bool parse_module_spec(const std::string& text, ModuleSpec& out, std::string& error);
// PORT or PORT,SIZE for --debug-exit (hex 0x... or decimal); empty text keeps the defaults.
bool parse_debug_exit(const std::string& text, uint16_t& port, uint16_t& size, std::string& error);
// stdio, file:PATH or none for --serial.
bool parse_serial(const std::string& text, SerialMode& mode, std::string& path, std::string& error);
// --boot: c (first hard disk), d (CD-ROM) or a (floppy), checked against the drives
// given; empty text picks the first present drive of c, d, a.
bool parse_boot_device(const std::string& text, DriveOptions& drives, std::string& error);
// none or text for --display.
bool parse_display(const std::string& text, DisplayMode& out, std::string& error);
// A comma-separated list of insn, exc, io, all; may be given several times.
bool parse_trace_categories(const std::vector<std::string>& items, TraceCategories& out, std::string& error);

}  // namespace kestrel::cli
