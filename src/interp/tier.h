// The interface between the interpreter's run loop and a compiling tier (the JIT).
// The interpreter owns blocks and their lifetime; a compiler turns a hot block
// into host code with exactly the block's semantics (docs/ARCHITECTURE.md, "JIT").
#pragma once

#include <cstddef>
#include <cstdint>

#include "interp/block_cache.h"

namespace kestrel::interp {

// How native code returns to the run loop: `status` is the ExecStatus of the
// instruction that ended it (Fault, Halt, Stop) or kNativeFellThrough when every
// instruction completed (RIP and icount are then up to date, branches included);
// `exit` is the unchained direct exit it left through, if any, which the run loop
// may chain to the block it finds next. Two words: returned in RAX:RDX.
struct NativeExit {
  uint64_t status;
  ChainExit* exit;
};
inline constexpr uint64_t kNativeFellThrough = 0xFF;
// Like kNativeFellThrough, from an exit whose lookup found no translated block
// (a cold or untranslated target, a changed mapping or mode): counted apart in --stats.
inline constexpr uint64_t kNativeLookupMiss = 0xFE;

// Native code (entry of a block) run through the compiler's trampoline.
using NativeEnterFn = NativeExit (*)(machine::CpuState*, const void* code);
// Called by native code after an indirect branch (RET, JMP/CALL r/m, a branch to
// another page, an unchained direct exit `exit`): the checked entry of the
// translated block at CS:RIP if the jump cache has it, else null (the run loop
// takes over). It may chain `exit` to that block. Must not raise anything.
using NativeLookupFn = const void* (*)(void* ctx, machine::CpuState*, ChainExit* exit);

// The jump cache: linear CS:RIP -> block, in front of the physical lookup. Native
// code probes it inline after indirect branches (RET, JMP/CALL r/m) and for direct
// branches to other pages; the run loop and Interpreter::native_lookup fill it.
// An entry is good while the TLB generation (linear -> physical mappings) and the
// tag (cache generation: blocks dropped; the mode key) are the ones it was made under.
struct JumpCacheEntry {
  uint64_t lin = ~0ull;
  uint32_t tlb_gen = 0;
  uint32_t tag = 0;                // JumpCache::gen_tag | mode key (7 bits)
  const void* native = nullptr;    // the block's checked native entry, null if not translated
  Block* block = nullptr;
};
static_assert(sizeof(JumpCacheEntry) == 32, "native code indexes the jump cache by lin hash << 5");
static_assert(offsetof(JumpCacheEntry, lin) == 0 && offsetof(JumpCacheEntry, tlb_gen) == 8 &&
              offsetof(JumpCacheEntry, tag) == 12 && offsetof(JumpCacheEntry, native) == 16);

struct JumpCache {
  static constexpr unsigned kSize = 4096;
  static unsigned index(uint64_t lin) { return static_cast<unsigned>((lin ^ (lin >> 12)) & (kSize - 1)); }
  JumpCacheEntry entry[kSize];
  // The cache generation << 8 (bumped when every entry must go: a flush, a dropped
  // aliased block); the low 8 bits of an entry's tag are the mode key.
  uint32_t gen_tag = 1u << 8;
  uint32_t pad = 0;
  uint64_t inline_hits = 0;  // native code's own lookups that found their block
};

class BlockCompiler {
 public:
  virtual ~BlockCompiler() = default;
  // Translates the block: sets native_entry, native_body and the exits. False if
  // it cannot be translated. `now` is the CPU as the block is about to run: a hint
  // for laying out fast paths (which segments are flat), never an assumption.
  virtual bool compile(Block& b, const machine::CpuState& now) = 0;
  virtual void release(Block& b) = 0;
  // The trampoline that runs native code with the state pinned.
  virtual NativeEnterFn enter_fn() const = 0;
  // Compiled code calls `fn(ctx, state)` after indirect branches when its inline probe
  // of `jc` (may be null: no inline probe) misses; set before compiling.
  virtual void set_lookup(NativeLookupFn fn, void* ctx, JumpCache* jc) = 0;
  // --stats: blocks count their checked entries (chained jumps and lookups) in
  // *entries and the interpreter handlers they call in handler_calls: [InsnId] for
  // forms without native code, [kInsnCount + InsnId] for the slow paths of native
  // forms (a TLB miss, a fault, a segment that is no longer flat); 2 * kInsnCount
  // counters, null: no counting. Set before compiling.
  virtual void count_entries(uint64_t* entries, uint64_t* handler_calls) = 0;
  // Points the exit's jump at `dest` (a block's native_entry), or back at its stub
  // (dest null). False when the target is out of the jump's reach.
  virtual bool patch(ChainExit& e, const void* dest) = 0;
  // Blocks translated and bytes of host code, for --stats.
  virtual uint64_t blocks_compiled() const = 0;
  virtual uint64_t code_bytes() const = 0;
  // Bytes of host code currently allocated (the cache cap flushes on it).
  virtual uint64_t live_bytes() const = 0;
};

}  // namespace kestrel::interp
