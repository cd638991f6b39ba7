// Runs difftest cases in Kestrel: a Machine set up like the host process the
// native runner lives in (CPL 3, flat segments with the host's selectors, paging
// that maps only the code page and the data region for the user), one instruction
// and the int3 after it (with --jit, as a translated block), stopped at the first exception (delivered through an IDT
// whose handlers are HLT stubs).
#pragma once

#include <memory>
#include <string>

#include "interp/interpreter.h"
#include "interp/tier.h"
#include "layout.h"
#include "machine/machine.h"

namespace difftest {

class KestrelRunner {
 public:
  // mode64: 64-bit mode (long mode, CS.L=1); else 32-bit protected mode with PAE paging.
  // `host` carries the native runner's selectors and GDT access rights (its hello).
  // jit: 0 interpreter only; 1 every block translated on its first run (--jit on);
  // 2 translated and checked against the interpreter (--jit verify).
  KestrelRunner(bool mode64, const ShmHeader& host, int jit = 0);
  ~KestrelRunner();
  bool init(std::string& error);
  void run(const CaseIn& in, CaseOut& out);

  const kestrel::machine::CpuModel& model() const { return machine_->cpu_model(); }
  const kestrel::frontend::Decoder& decoder() const { return interp_->decoder(); }
  kestrel::machine::CpuMode mode() const { return mode_; }
  const kestrel::interp::Interpreter::Stats& stats() const { return interp_->stats(); }

 private:
  bool mode64_;
  ShmHeader host_;
  int jit_mode_;
  std::unique_ptr<kestrel::interp::BlockCompiler> jit_;
  std::unique_ptr<kestrel::machine::Machine> machine_;
  std::unique_ptr<kestrel::interp::Interpreter> interp_;
  kestrel::machine::SegmentCache seg_init_[6];
  kestrel::machine::CpuMode mode_{};
  uint8_t page_[kPageSize];
};

// FXSAVE image <-> CpuState x87/SSE fields.
void fx_to_cpu(const uint8_t fx[512], kestrel::machine::CpuState& c, bool mode64);
void cpu_to_fx(const kestrel::machine::CpuState& c, uint8_t fx[512], bool mode64);

}  // namespace difftest
