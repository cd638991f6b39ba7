// The kestrel command: builds a machine from the command line, loads firmware or
// flat binaries, runs the interpreter and turns how the run ended into an exit
// status. Every host or configuration problem ends as one "kestrel: error:" line
// and status 2; the emulator never dies on bad input.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>

#include <fmt/format.h>

#include "cli/options.h"
#include "cli/trace.h"
#include "interp/interpreter.h"
#include "machine/board.h"
#include "machine/cpu_model.h"
#include "machine/loaders/flat_binary.h"
#include "machine/loaders/rom_image.h"
#include "machine/machine.h"
#include "machine/segments.h"

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

  machine::MachineConfig cfg;
  cfg.ram_bytes = opt.ram_bytes;
  cfg.cpu_model = opt.cpu_model;
  machine::Machine m(cfg);
  std::string error;
  if (!m.init(error)) return error_exit(fmt::format("-m/--memory: {}", error));
  machine::build_basic_board(m);

  if (!opt.bios.empty() && !machine::load_bios_image(m, opt.bios, error))
    return error_exit(fmt::format("--bios: {}", error));
  for (const LoadSpec& l : opt.loads) {
    uint64_t size = 0;
    if (!machine::load_flat_binary(m, l.path, l.addr, size, error)) return error_exit(fmt::format("--load: {}", error));
  }
  // With --bios the CPU starts at the reset vector that Machine::reset() set up.
  if (opt.entry) set_entry(m.cpu(), *opt.entry);

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
  std::unique_ptr<TraceWriter> tracer;
  if (trace_file) {
    tracer = std::make_unique<TraceWriter>(trace_file.get(), interp.decoder(), m, opt.trace);
    tracer->attach(interp);
  }

  const interp::StopReason why = interp.run(opt.max_insns ? opt.max_insns : ~0ull);

  if (tracer) tracer->detach(interp);
  std::fflush(m.console());

  const machine::CpuState& c = m.cpu();
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
      if (m.exit_status() != 0)
        fmt::print(stderr, "kestrel: {} (exit status {})\n",
                   m.stop_reason().empty() ? "the machine stopped" : m.stop_reason(), m.exit_status());
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
