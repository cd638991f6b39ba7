// The interface between the interpreter's run loop and a compiling tier (the JIT).
// The interpreter owns blocks and their lifetime; a compiler turns a hot block
// into host code with exactly the block's semantics (docs/ARCHITECTURE.md, "JIT").
#pragma once

#include <cstdint>

#include "interp/block_cache.h"

namespace kestrel::interp {

// What a native block returns: the ExecStatus of the instruction that ended it
// (Branch, Fault, Halt, Stop) in the low byte, or kNativeFellThrough when every
// instruction returned Ok (RIP and icount are then already advanced), including
// an early stop because CpuState::event_pending became set.
inline constexpr uint32_t kNativeFellThrough = 0xFF;

class BlockCompiler {
 public:
  virtual ~BlockCompiler() = default;
  // Host code for the block, or nullptr if it cannot be translated.
  virtual NativeBlockFn compile(const Block& b) = 0;
  virtual void release(NativeBlockFn fn) = 0;
  // Blocks translated and bytes of host code, for --stats.
  virtual uint64_t blocks_compiled() const = 0;
  virtual uint64_t code_bytes() const = 0;
};

}  // namespace kestrel::interp
