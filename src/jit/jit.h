// The JIT tier (issue 6, first stage): hot blocks are translated with asmjit into
// host code that calls each instruction's interpreter handler directly, with the
// run loop's bookkeeping (RIP, retired count, event check) inlined between the
// calls. The tiers share every handler, so they cannot drift apart; native fast
// paths for hot instructions come next, checked by --jit verify.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "interp/tier.h"

namespace kestrel::jit {

class Jit final : public interp::BlockCompiler {
 public:
  // journal_stores: compile native stores to record themselves in the bus's write
  // journal (for --jit verify, which undoes a block and re-runs it interpreted).
  explicit Jit(bool journal_stores = false);
  ~Jit() override;
  Jit(const Jit&) = delete;
  Jit& operator=(const Jit&) = delete;

  bool compile(interp::Block& b, const machine::CpuState& now) override;
  void release(interp::Block& b) override;
  interp::NativeEnterFn enter_fn() const override;
  void set_lookup(interp::NativeLookupFn fn, void* ctx, interp::JumpCache* jc) override;
  void count_entries(uint64_t* entries, uint64_t* handler_calls) override;
  bool patch(interp::ChainExit& e, const void* dest) override;
  uint64_t blocks_compiled() const override { return blocks_; }
  uint64_t code_bytes() const override { return bytes_; }
  uint64_t live_bytes() const override { return live_; }

  // --perf-map: appends "HOSTADDR SIZE kestrel:guest-lin-ADDR" for every translated
  // block (and the trampoline) to /tmp/perf-PID.map, the file `perf report` reads
  // to name samples in JIT code. False (with `error` set) if it cannot be created.
  bool enable_perf_map(std::string& error);

  // --jit-log FILE: writes each translated block (its guest address and the host
  // code asmjit emitted for it) to FILE. False (with `error` set) if it cannot be created.
  bool enable_log(const std::string& path, std::string& error);

  // --jit-regs N: how many guest registers a block keeps in host registers (0-3).
  void set_cached_regs(unsigned n) { cached_regs_ = n; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  bool journal_stores_;
  unsigned cached_regs_ = 3;
  uint64_t blocks_ = 0;
  uint64_t bytes_ = 0;
  uint64_t live_ = 0;
};

// True when this build has a JIT for the host (x86-64 with asmjit).
bool available();

}  // namespace kestrel::jit
