// The kestrel command: builds a machine from the command line, loads firmware,
// flat binaries, a multiboot kernel or a Linux kernel, runs the interpreter and
// turns how the run ended into an exit status. Every host or configuration problem
// ends as one "kestrel: error:" line and status 2; the emulator never dies on bad
// input.
//
// The interpreter runs in slices of kSlice instructions; between slices the CLI
// feeds host input to COM1 (host_serial.h; a halted CPU also waits for it there)
// and performs resets the machine asked for (a reset boots again: the images are
// loaded anew and the start state set again), or ends the run under --no-reboot.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include <chrono>

#include "cli/display_text.h"
#include "cli/host_keyboard.h"
#include "cli/host_serial.h"
#include "cli/screenshot.h"
#include "cli/options.h"
#include "cli/trace.h"
#include "interp/interpreter.h"
#ifdef KESTREL_HAVE_JIT
#include "jit/jit.h"
#endif
#include "machine/acpi/acpi_tables.h"
#include "machine/board.h"
#include "machine/cpu_model.h"
#include "machine/devices/i8042.h"
#include "machine/devices/uart16550.h"
#include "machine/devices/vga/vga.h"
#include "machine/devices/vga/vga_render.h"
#include "machine/loaders/file.h"
#include "machine/loaders/flat_binary.h"
#include "machine/loaders/linux_boot.h"
#include "machine/loaders/linux_fw_cfg.h"
#include "machine/loaders/multiboot.h"
#include "machine/loaders/rom_image.h"
#include "machine/machine.h"
#include "machine/segments.h"
#include "machine/storage/disk_image.h"

namespace kestrel::cli {
namespace {

int error_exit(const std::string& message) {
  fmt::print(stderr, "kestrel: error: {}\n", message);
  return kExitUsage;
}

void list_cpu_models() {
  fmt::print("CPU models for --cpu (the first is the default):\n");
  for (const auto& m : machine::cpu_models()) fmt::print("  {:<10} {}\n", m.name, m.description);
}

// Where a --load-only run begins: real mode, CS:IP from the options.
void set_entry(machine::CpuState& c, const EntryPoint& e) {
  machine::load_segment_real(c, machine::CS, e.cs);
  c.rip = e.ip;
}

// Instructions per interpreter slice: between slices stdin is polled.
constexpr uint64_t kSlice = 1u << 20;
// Resets reported one by one on stderr before the rest go unreported.
constexpr uint64_t kResetsReported = 10;

// Opens and checks the drive images (before the machine exists, so a bad image ends
// the run before anything starts). False with a message on failure.
bool open_drives(const DriveOptions& d, machine::BoardDrives& out, std::string& error) {
  auto open = [&](const std::string& path, machine::DiskKind kind, const char* what,
                  std::shared_ptr<machine::DiskImage>& slot) {
    if (path.empty()) return true;
    auto img = std::make_shared<machine::DiskImage>();
    if (!img->open(path, kind, what, error)) return false;
    slot = std::move(img);
    return true;
  };
  if (!open(d.hda, machine::DiskKind::HardDisk, "--hda", out.hda)) return false;
  if (!open(d.hdb, machine::DiskKind::HardDisk, "--hdb", out.hdb)) return false;
  if (!open(d.cdrom, machine::DiskKind::Cdrom, "--cdrom", out.cdrom)) return false;
  if (!open(d.fda, machine::DiskKind::Floppy, "--fda", out.fda)) return false;
  out.cdrom_drive = out.cdrom != nullptr;
  out.boot = d.boot;
  return true;
}

// The board's firmware tables for the Linux loaders: the ACPI tables' RSDP goes
// into boot_params.acpi_rsdp_addr / hvm_start_info.rsdp_paddr, and their range into
// the e820 map as ACPI data unless it lies in the BIOS area below 1 MiB, which the
// map reserves anyway.
void add_firmware_tables(const machine::BoardDevices& board, machine::LinuxBootSpec& spec) {
  if (!board.acpi_tables) return;
  spec.rsdp_addr = board.acpi_tables->rsdp_address();
  if (board.acpi_tables->first() >= (1u << 20))
    spec.firmware.push_back({board.acpi_tables->first(), board.acpi_tables->end(), machine::kE820Acpi});
}

// Copies the images in and sets the start state; used at power-on and after every
// reset. False with a message (without the "kestrel: error:" prefix) on failure.
bool boot(machine::Machine& m, const Options& opt, const machine::BoardDevices& board,
          machine::KernelFormat kernel_format, std::string& error) {
  std::vector<std::pair<uint64_t, uint64_t>> loaded;
  for (const LoadSpec& l : opt.loads) {
    uint64_t size = 0;
    if (!machine::load_flat_binary(m, l.path, l.addr, size, error)) {
      error = "--load: " + error;
      return false;
    }
    loaded.emplace_back(l.addr, l.addr + std::max<uint64_t>(size, 1));
  }
  // With a BIOS, a bzImage boots through it: fw_cfg offers the parts and our option ROM
  // loads them (loaders/linux_fw_cfg.h); the CPU starts at the reset vector.
  if (!opt.bios.empty() && kernel_format == machine::KernelFormat::BzImage && board.fw_cfg) {
    machine::LinuxBootSpec spec;
    spec.kernel_path = opt.kernel;
    spec.initrd_path = opt.initrd;
    spec.cmdline = opt.append;
    if (!machine::stage_linux_in_fw_cfg(m, *board.fw_cfg, spec, error)) {
      if (error.rfind("--", 0) != 0) error = "--kernel: " + error;
      return false;
    }
    return true;
  }
  if (kernel_format == machine::KernelFormat::BzImage || kernel_format == machine::KernelFormat::PvhElf) {
    machine::LinuxBootSpec spec;
    spec.kernel_path = opt.kernel;
    spec.initrd_path = opt.initrd;
    spec.cmdline = opt.append;
    spec.reserved = loaded;
    add_firmware_tables(board, spec);
    machine::LinuxBootImage img;
    if (!machine::load_linux(m, spec, img, error)) {
      error = "--kernel: " + error;
      return false;
    }
    machine::enter_linux(m, img);
    return true;
  }
  if (!opt.kernel.empty()) {
    machine::MultibootSpec spec;
    spec.kernel_path = opt.kernel;
    spec.append = opt.append;
    for (const ModuleSpec& ms : opt.modules) spec.modules.push_back({ms.path, ms.cmdline});
    spec.reserved = loaded;
    machine::MultibootImage img;
    if (!machine::load_multiboot(m, spec, img, error)) {
      error = "--kernel: " + error;
      if (kernel_format == machine::KernelFormat::Unknown)
        error += " (nor is it a Linux bzImage or an ELF kernel with a PVH entry note)";
      return false;
    }
    machine::enter_multiboot(m, img);
    return true;
  }
  // With --bios the CPU starts at the reset vector that Machine::reset() set up.
  if (opt.entry) set_entry(m.cpu(), *opt.entry);
  return true;
}

struct TraceFileCloser {
  void operator()(std::FILE* f) const {
    if (f && f != stderr) std::fclose(f);
  }
};

int run(const Options& opt) {
  if (opt.list_cpus) {
    list_cpu_models();
    return kExitOk;
  }
  if (!machine::find_cpu_model(opt.cpu_model)) {
    std::string names;
    for (const auto& m : machine::cpu_models()) names += (names.empty() ? "" : ", ") + m.name;
    return error_exit(fmt::format("--cpu: unknown model '{}' (choose one of: {}; '--cpu help' describes them)",
                                  opt.cpu_model, names));
  }

  if (opt.debug_exit) {
    for (unsigned i = 0; i < opt.debug_exit_size; ++i) {
      const auto port = static_cast<uint16_t>(opt.debug_exit_port + i);
      if (const char* owner = machine::basic_board_port_owner(port))
        return error_exit(fmt::format("--debug-exit: port 0x{:x} belongs to {}; choose another port", port, owner));
    }
  }

  // What --kernel is decides the loader (and which of --initrd/--module fit it).
  machine::KernelFormat kernel_format = machine::KernelFormat::Unknown;
  if (!opt.kernel.empty()) {
    std::string error;
    if (!machine::read_kernel_format(opt.kernel, kernel_format, error))
      return error_exit(fmt::format("--kernel: {}", error));
    const bool is_linux =
        kernel_format == machine::KernelFormat::BzImage || kernel_format == machine::KernelFormat::PvhElf;
    if (is_linux && !opt.modules.empty())
      return error_exit(fmt::format("--module: '{}' is a {}, which takes an --initrd, not multiboot modules",
                                    opt.kernel, machine::kernel_format_name(kernel_format)));
    if (!is_linux && !opt.initrd.empty()) {
      if (kernel_format == machine::KernelFormat::Multiboot)
        return error_exit(fmt::format("--initrd: '{}' is a multiboot kernel; pass its files with --module",
                                      opt.kernel));
      return error_exit(fmt::format("--initrd: '{}' is not a Linux kernel (no bzImage header, no PVH note)",
                                    opt.kernel));
    }
  }

  machine::BoardDrives drives;
  {
    std::string error;
    if (!open_drives(opt.drives, drives, error)) return error_exit(error);
  }
  if (!opt.drives.fda.empty() && !opt.drives.hda.empty() && opt.drives.hda == opt.drives.fda)
    return error_exit("--hda and --fda name the same image");

  // Through a BIOS only a bzImage boots (its setup code uses the BIOS); a PVH or
  // multiboot kernel would start on a chipset nobody configured.
  if (!opt.bios.empty() && !opt.kernel.empty() && kernel_format != machine::KernelFormat::BzImage)
    return error_exit(fmt::format("--kernel: '{}' is {}; with --bios only a Linux bzImage boots through the BIOS "
                                  "(leave out --bios to boot it directly)", opt.kernel,
                                  kernel_format == machine::KernelFormat::Unknown
                                      ? std::string("not a Linux bzImage")
                                      : fmt::format("a {}", machine::kernel_format_name(kernel_format))));

  machine::MachineConfig cfg;
  cfg.ram_bytes = opt.ram_bytes;
  cfg.clock = opt.clock == ClockChoice::Host ? machine::Clock::Source::Host : machine::Clock::Source::Icount;
  cfg.cpu_model = opt.cpu_model;
  cfg.on_triple_fault = opt.on_triple_fault == TripleFaultPolicy::Reset ? machine::TripleFaultAction::Reset
                                                                        : machine::TripleFaultAction::Stop;
  machine::Machine m(cfg);
  std::string error;
  if (!m.init(error)) return error_exit(fmt::format("-m/--memory: {}", error));
  machine::BoardOptions board_opt;
  board_opt.debug_exit = opt.debug_exit;
  board_opt.debug_exit_port = opt.debug_exit_port;
  board_opt.debug_exit_size = opt.debug_exit_size;
  board_opt.drives = drives;
  board_opt.vga = opt.vga;
  // The VGA BIOS: SeaBIOS finds it as the VGA's PCI expansion ROM and runs it.
  if (opt.vga && (!opt.vga_rom.empty() || !opt.bios.empty())) {
    const std::string rom = opt.vga_rom.empty() ? kDefaultVgaRom : opt.vga_rom;
    std::string rom_error;
    if (!machine::read_host_file(rom, 1u << 20, "an expansion ROM's 1 MiB", board_opt.vga_rom, rom_error)) {
      if (!opt.vga_rom.empty()) return error_exit(fmt::format("--vga-rom: {}", rom_error));
      fmt::print(stderr, "kestrel: warning: no VGA BIOS ({}); the screen stays blank (give --vga-rom FILE)\n",
                 rom_error);
    }
  }
  board_opt.firmware = !opt.bios.empty();
  // fw_cfg's no-graphics flag: without a display SeaBIOS uses the serial console.
  board_opt.no_graphics = effective_display(opt) == DisplayMode::None;
  // The one place host time enters the machine: the RTC's time at power-on.
  board_opt.rtc_start_unix_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
  const machine::BoardDevices board = machine::build_basic_board(m, board_opt);

  // The BIOS is ROM: mapped once, it survives resets.
  if (!opt.bios.empty() && !machine::load_bios_image(m, opt.bios, error))
    return error_exit(fmt::format("--bios: {}", error));
  if (!boot(m, opt, board, kernel_format, error)) return error_exit(error);

  std::unique_ptr<std::FILE, TraceFileCloser> trace_file;
  if (opt.trace.any()) {
    if (opt.trace_file.empty()) {
      trace_file.reset(stderr);
    } else {
      trace_file.reset(std::fopen(opt.trace_file.c_str(), "w"));
      if (!trace_file)
        return error_exit(fmt::format("--trace-file: cannot create '{}': {}", opt.trace_file, std::strerror(errno)));
      // Traces are large: write them in big chunks.
      std::setvbuf(trace_file.get(), nullptr, _IOFBF, 1 << 20);
    }
  }

  interp::Interpreter interp(m);
#ifdef KESTREL_HAVE_JIT
  std::unique_ptr<jit::Jit> jit;
  if (opt.jit != JitMode::Off) {
    const bool verify = opt.jit == JitMode::Verify;
    jit = std::make_unique<jit::Jit>(verify);
    jit->set_cached_regs(opt.jit_regs);
    std::string perf_error;
    if (opt.perf_map && !jit->enable_perf_map(perf_error)) return error_exit(perf_error);
    if (!opt.jit_log.empty() && !jit->enable_log(opt.jit_log, perf_error)) return error_exit(perf_error);
    interp.set_compiler(jit.get());
    interp.set_verify(verify, opt.jit_verify_every);
  }
#endif
  const auto started = std::chrono::steady_clock::now();
  if (opt.stats) {
    interp.set_timing(true);
    interp.set_count_entries(true);
  }
  std::unique_ptr<TraceWriter> tracer;
  if (trace_file) {
    tracer = std::make_unique<TraceWriter>(trace_file.get(), interp.decoder(), m, opt.trace);
    tracer->attach(interp);
  }

  HostSerial serial(m, board.com1);
  std::unique_ptr<HostKeyboard> keyboard;
  if (board.i8042) {
    keyboard = std::make_unique<HostKeyboard>(*board.i8042);
    serial.set_keyboard(keyboard.get());
  }
  if (!serial.open(opt, error)) return error_exit(error);
  std::unique_ptr<TextDisplay> text_display;
  if (board.vga && effective_display(opt) == DisplayMode::Text)
    text_display = std::make_unique<TextDisplay>(*board.vga, stdout);
  // --keys waits for its time and, with --keys-after, for its text on the screen.
  std::string script = keyboard ? opt.keys : std::string();
  std::unique_ptr<ScreenWatch> keys_after, stop_on;
  if (board.vga && !opt.keys_after.empty()) keys_after = std::make_unique<ScreenWatch>(*board.vga, opt.keys_after);
  if (board.vga && !opt.stop_on_screen.empty())
    stop_on = std::make_unique<ScreenWatch>(*board.vga, opt.stop_on_screen);
  // Between slices and while the CPU is halted: the display and the keyboard.
  auto tick = [&]() {
    const uint64_t now = m.uptime_ns();
    if (text_display) text_display->poll(now);
    if (!script.empty() && now >= opt.keys_delay_ms * 1'000'000 && (!keys_after || keys_after->seen())) {
      keyboard->type(script);
      script.clear();
    }
    if (keyboard) keyboard->service(now);
    if (stop_on && !m.stop_requested() && stop_on->seen())
      m.request_stop(0, fmt::format("the screen shows '{}' (--stop-on-screen)", opt.stop_on_screen));
  };
  serial.set_idle_hook(tick);
  m.set_idle_handler(&serial);
  uint64_t retired_before = 0;  // instructions of earlier boots: icount restarts at reset
  uint64_t resets = 0;
  bool ended_by_reboot = false;  // a reset request under --no-reboot
  interp::StopReason why;
  for (;;) {
    serial.service();
    uint64_t slice = kSlice;
    if (opt.max_insns) {
      const uint64_t done = retired_before + m.cpu().icount;
      if (done >= opt.max_insns) {
        why = interp::StopReason::InstructionLimit;
        break;
      }
      slice = std::min(slice, opt.max_insns - done);
    }
    why = interp.run(slice);
    tick();
    if (why == interp::StopReason::InstructionLimit) continue;  // slice done (the limit is checked above)
    if (why == interp::StopReason::Stopped && m.reset_requested()) {
      if (opt.no_reboot) {
        ended_by_reboot = true;
        break;
      }
      if (++resets <= kResetsReported)
        fmt::print(stderr, "kestrel: {}: resetting the machine{}\n", m.stop_reason(),
                   resets == kResetsReported ? " (further resets are not reported)" : "");
      retired_before += m.cpu().icount;
      std::fflush(m.console());
      m.reset();
      if (!boot(m, opt, board, kernel_format, error)) {
        if (tracer) tracer->detach(interp);
        return error_exit(fmt::format("after a reset: {}", error));
      }
      continue;
    }
    break;
  }

  if (tracer) tracer->detach(interp);
  std::fflush(m.console());
  if (text_display) text_display->finish();
  m.set_idle_handler(nullptr);
  // Messages below go to a terminal in its normal mode again.
  serial.restore_terminal();
  if (serial.interactive() || serial.quit_requested()) fmt::print(stderr, "\n");

  if (!opt.screenshot.empty() && board.vga) {
    machine::vga::Image img;
    machine::vga::render_screen(*board.vga, img);
    if (!write_png(opt.screenshot, img, error)) return error_exit(error);
  }

  const machine::CpuState& c = m.cpu();
  if (opt.stats) {
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const auto& st = interp.stats();
    uint64_t insns = retired_before + c.icount;
    fmt::print(stderr,
               "kestrel: stats: {} instructions in {:.3f} s ({:.1f} MIPS); blocks decoded {}; "
               "block runs: {} interpreted, {} native ({} instructions native)",
               insns, secs, secs > 0 ? insns / secs / 1e6 : 0.0, interp.cache().blocks_decoded(),
               st.interpreted_runs, st.native_runs + st.checked_entries, st.native_insns);
    if (st.verified_runs) fmt::print(stderr, "; {} native runs verified", st.verified_runs);
#ifdef KESTREL_HAVE_JIT
    if (jit) {
      // Native block starts: from the run loop, or from native code through the
      // lookups or a chained jump, a block's jump to its own start included (the
      // checked entries that no lookup accounts for).
      const uint64_t looked_up = st.lookup_hits + st.inline_hits;
      fmt::print(stderr,
                 " = {} from the run loop + {} chained + {} looked up ({} inline, {} by a call); "
                 "back to the run loop: {} lookup misses, {} events or budget, {} faults/other; "
                 "blocks translated {} ({} KiB of host code), {} exits chained, {} cache flushes",
                 st.native_runs, st.checked_entries >= looked_up ? st.checked_entries - looked_up : 0, looked_up,
                 st.inline_hits, st.lookup_hits, st.back_lookup_miss, st.back_event, st.back_status,
                 jit->blocks_compiled(), jit->code_bytes() / 1024, st.chains, st.cache_flushes);
      // The instruction forms native code most often leaves to their handlers, then
      // the native forms whose slow path (a TLB miss, a fault...) ran most often.
      for (unsigned part = 0; part < 2; ++part) {
        std::vector<std::pair<uint64_t, unsigned>> calls;
        uint64_t total_calls = 0;
        for (unsigned id = 0; id < frontend::kInsnCount; ++id)
          if (const uint64_t n = st.handler_calls[part * frontend::kInsnCount + id]) {
            calls.emplace_back(n, id);
            total_calls += n;
          }
        std::sort(calls.rbegin(), calls.rend());
        if (part) fmt::print(stderr, "; {} slow paths of native forms", total_calls);
        else fmt::print(stderr, "; {} handler calls from native code", total_calls);
        for (size_t k = 0; k < calls.size() && k < 10; ++k)
          fmt::print(stderr, "{} {} {}", k ? "," : ":",
                     frontend::insn_info(static_cast<frontend::InsnId>(calls[k].second)).name, calls[k].first);
      }
    }
#endif
    double native_s = 0, interp_s = 0;
    interp.tier_seconds(native_s, interp_s);
    fmt::print(stderr, "; time (each with its run-loop share): native {:.3f} s, interpreter {:.3f} s, other {:.3f} s\n",
               native_s, interp_s, std::max(0.0, secs - native_s - interp_s));
  }
  if (ended_by_reboot) {
    fmt::print(stderr, "kestrel: {}; ending the run (--no-reboot)\n", m.stop_reason());
    return kExitOk;
  }
  switch (why) {
    case interp::StopReason::HaltedNoInterrupts:
      if (c.rflags & machine::kIF)
        fmt::print(stderr, "kestrel: CPU halted with interrupts enabled, but no device can raise one yet\n");
      else
        fmt::print(stderr, "kestrel: CPU halted with interrupts disabled\n");
      fmt::print(stderr, "{}\n", interp::Interpreter::format_state(c));
      return kExitOk;
    case interp::StopReason::InstructionLimit:
      fmt::print(stderr, "kestrel: stopped after {} instructions (--max-insns)\n{}\n", opt.max_insns,
                 interp::Interpreter::format_state(c));
      return kExitInsnLimit;
    case interp::StopReason::Stopped:
      if (m.triple_faulted()) {
        fmt::print(stderr, "kestrel: triple fault (last exception {})\n{}\n", m.triple_fault_detail(),
                   interp::Interpreter::format_state(c));
        return kExitTripleFault;
      }
      if (m.exit_status() != 0)
        fmt::print(stderr, "kestrel: {} (exit status {})\n",
                   m.stop_reason().empty() ? "the machine stopped" : m.stop_reason(), m.exit_status());
      else if (!m.stop_reason().empty())
        fmt::print(stderr, "kestrel: {}\n", m.stop_reason());
      return m.exit_status();
  }
  return kExitOk;
}

}  // namespace
}  // namespace kestrel::cli

int main(int argc, char** argv) {
  using namespace kestrel::cli;
  try {
    Options opt;
    if (auto status = parse_command_line(argc, argv, opt)) return *status;
    return run(opt);
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "kestrel: error: out of host memory; try a smaller -m\n");
    return kExitUsage;
  } catch (const std::exception& e) {
    // Not a user error but an emulator bug: still end cleanly, and say so.
    fmt::print(stderr, "kestrel: internal error: {}\n", e.what());
    return kExitUsage;
  }
}
