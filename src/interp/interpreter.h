// The tier-0 interpreter: finds (or decodes) the block at CS:RIP and runs its
// handlers, delivering exceptions and interrupts between instructions.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "frontend-x86/decoder.h"
#include "interp/block_cache.h"
#include "interp/tier.h"
#include "machine/machine.h"
#include "machine/phys_bus.h"

namespace kestrel::interp {

// Receives one call per executed instruction and per delivered exception (--trace).
class Tracer {
 public:
  virtual ~Tracer() = default;
  virtual void instruction(const machine::CpuState& c, const frontend::DecodedInsn& d, const uint8_t* bytes) = 0;
  virtual void exception(const machine::CpuState& c, const machine::PendingException& e) = 0;
};

enum class StopReason { Stopped, HaltedNoInterrupts, InstructionLimit };


class Interpreter : public machine::CodeWriteListener {
 public:
  explicit Interpreter(machine::Machine& m);
  ~Interpreter() override;

  // Runs until the machine stops, the CPU halts for good, or `max_insns` retire.
  StopReason run(uint64_t max_insns = ~0ull);

  void set_tracer(Tracer* t) { tracer_ = t; }

  // A compiling tier for hot blocks (the JIT): a block runs natively once it has
  // run `threshold` times in the interpreter. Null keeps everything interpreted.
  void set_compiler(BlockCompiler* compiler, uint32_t threshold = 16);
  // --jit verify: every native block run is undone and re-run in the interpreter,
  // and the first difference stops the machine with a report on stderr. The
  // compiler must journal its native stores (jit::Jit(true)).
  // every_nth > 1 samples: each block's first kVerifyFirstRuns native runs are
  // checked, then one native run in every_nth (for long guests such as a Linux boot).
  void set_verify(bool on, uint32_t every_nth = 1) {
    verify_ = on;
    verify_every_ = every_nth ? every_nth : 1;
  }
  static constexpr uint64_t kVerifyFirstRuns = 8;

  // Counters for --stats.
  struct Stats {
    uint64_t native_runs = 0;       // native block runs started by the run loop
    uint64_t interpreted_runs = 0;  // block executions in the interpreter
    uint64_t native_insns = 0;      // instructions retired in host code
    uint64_t verified_runs = 0;     // --jit verify: native runs checked against the interpreter
    uint64_t lookup_hits = 0;       // native exits that found their block through native_lookup (C++)
    uint64_t inline_hits = 0;       // ... through native code's own probe of the jump cache
    uint64_t checked_entries = 0;   // --stats: native block starts through a chained jump or a lookup
    // --stats: interpreter handlers called by native code, per instruction form:
    // [InsnId] forms without native code, [kInsnCount + InsnId] native forms' slow paths.
    std::array<uint64_t, 2 * frontend::kInsnCount> handler_calls{};
    // Native runs that came back to the run loop: their lookup found no block, an
    // event or the instruction budget stopped them, or a fault/HLT/other status.
    uint64_t back_lookup_miss = 0, back_event = 0, back_status = 0;
    uint64_t chains = 0;            // direct exits patched to jump to their target block
    uint64_t cache_flushes = 0;     // translation cache flushes (the size cap)
    uint64_t native_ticks = 0;      // time in each tier (TSC ticks; --stats only)
    uint64_t interp_ticks = 0;
  };
  // Measure the time in each tier (costs two TSC reads per block run).
  void set_timing(bool on);
  // Count native block starts by chained jumps and lookups (Stats::checked_entries);
  // call after set_compiler, before running.
  void set_count_entries(bool on);
  // Seconds spent in native code and in the interpreter (each with the run loop's
  // work between its blocks) since set_timing(true).
  void tier_seconds(double& native, double& interpreted);
  // The translation cache's size cap in bytes of host code: past it, every block is dropped.
  void set_code_cap(uint64_t bytes) { code_cap_ = bytes; }
  const Stats& stats() const;
  const frontend::Decoder& decoder() const { return decoder_; }
  BlockCache& cache() { return cache_; }

  void code_page_written(uint64_t page_addr) override;

  // Human-readable register dump (used at exit and by traces).
  static std::string format_state(const machine::CpuState& c);

 private:
  Block* find_block();
  Block* decode_block(uint64_t lin, uint64_t phys, uint64_t key);
  // Runs the instructions of a block (or just one); false when the run must stop.
  // stop_on_events: leave between instructions when an event is pending (off for
  // --jit verify's re-run, which must go exactly as far as the native run).
  void execute(Block* b, bool single_step, size_t max_insns = ~size_t{0}, bool stop_on_events = true);
  uint64_t execute_native(Block* b);  // returns the NativeExit status
  // Called by native code for indirect branches (NativeLookupFn).
  static const void* native_lookup(void* self, machine::CpuState* c, ChainExit* exit);
  // translate_linear for an instruction fetch, leaving no fault behind (false: the
  // run loop will raise it).
  bool translate_quietly(uint64_t lin, uint64_t& phys);
  // Points a direct exit at the block it leads to, when that is safe.
  void try_chain(ChainExit* e, Block* to);
  void unchain(Block& b);
  // The instruction limit for chained native code (CpuState::icount_limit).
  void set_icount_limit(uint64_t remaining);
  void verify_native(Block* b);
  void deliver();
  // Takes a pending NMI or maskable interrupt if the CPU may; false when nothing
  // is pending any more (the event bit can be cleared).
  bool service_interrupts();
  // A halted CPU waits for the next timer; false when nothing can ever wake it.
  bool wait_while_halted();
  uint32_t mode_key() const;

  // The jump cache (interp/tier.h). A TLB generation change (CR3 write, INVLPG)
  // does not drop an entry: the next lookup re-translates CS:RIP and keeps the
  // entry if the physical page is the same.
  static unsigned jc_index(uint64_t lin) { return JumpCache::index(lin); }
  // Invalidates every jump-cache entry at once.
  void bump_cache_generation();
  bool linear_rip(uint64_t& lin) const;

  machine::Machine& m_;
  machine::CpuState& c_;
  frontend::Decoder decoder_;
  BlockCache cache_;
  Tracer* tracer_ = nullptr;
  BlockCompiler* compiler_ = nullptr;
  uint32_t threshold_ = 16;
  bool verify_ = false;
  uint32_t verify_every_ = 1;
  uint64_t verify_tick_ = 0;
  mutable Stats stats_;  // inline_hits is copied from the jump cache when read
  Block* running_ = nullptr;
  bool in_native_ = false;
  bool timing_ = false;
  enum class Tier { None, Native, Interpreted };
  Tier tier_ = Tier::None;
  uint64_t tier_since_ = 0;
  void switch_tier(Tier t);
  uint64_t timing_ticks0_ = 0;
  uint64_t timing_ns0_ = 0;
  uint64_t code_cap_ = 64ull << 20;
  ChainExit* last_exit_ = nullptr;  // the unchained exit the last native run left through
  NativeEnterFn enter_ = nullptr;
  uint64_t faults_ = 0;  // delivered exceptions: they count toward run()'s budget
  std::unique_ptr<JumpCache> jc_;
};

}  // namespace kestrel::interp
