// Decoded blocks, keyed by physical address plus the mode bits that change how
// bytes decode, and invalidated page by page when the guest (or a device)
// writes to a page that holds code.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "frontend-x86/insn.h"
#include "machine/cpu_state.h"

namespace kestrel::interp {

struct Block;

// A direct exit of a translated block (a branch with a known target, or the fall
// through to the next instruction): a patchable `jmp rel32` that leads to an exit
// stub until the run loop chains it to the target block's code (interp/tier.h).
struct ChainExit {
  uint8_t* site = nullptr;  // the jmp's opcode byte
  uint8_t* stub = nullptr;  // where it jumps while unchained
  uint64_t target_lin = 0;  // linear address of the guest code it leads to
  Block* from = nullptr;
  Block* to = nullptr;      // the chained block, or null
};

struct Block {
  uint64_t key;         // physical address | mode key << 52
  uint64_t lin;         // linear address of the first instruction
  uint64_t phys_page2;  // physical page of a last instruction that straddles a page, or ~0
  uint64_t exec_count = 0;
  uint32_t native_runs_seen = 0;  // --jit verify with sampling: native runs entered from the run loop
  bool valid = true;
  bool native_failed = false;  // the JIT declined it: stay in the interpreter
  // Host code from the JIT tier, null until the block is hot and translated.
  // native_entry checks CpuState::event_pending and icount_limit first (chained
  // jumps and the indirect-branch lookup land there); native_body follows those
  // checks (the run loop has made them).
  const void* native_entry = nullptr;
  const void* native_body = nullptr;
  uint32_t native_bytes = 0;   // size of the host code
  bool jc_aliased = false;     // the jump cache holds it under a linear address other than `lin`
  ChainExit exits[2];          // direct exits of the native code (see ChainExit)
  std::vector<ChainExit*> incoming;  // other blocks' exits chained to this one
  std::vector<frontend::DecodedInsn> insns;  // fixed after decoding: native code points into it
};

class BlockCache {
 public:
  static uint64_t make_key(uint64_t phys, uint32_t mode_key) { return phys | (static_cast<uint64_t>(mode_key) << 52); }

  Block* find(uint64_t key) const {
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : it->second.get();
  }
  Block* insert(std::unique_ptr<Block> b, uint64_t page1, uint64_t page2);

  // Drops every block on the page; returns true if any was dropped.
  bool invalidate_page(uint64_t page);
  void flush();
  // Frees dropped blocks; only when no block is executing.
  void collect() {
    if (graveyard_.empty()) return;
    if (on_free_)
      for (auto& b : graveyard_) on_free_(*b);
    graveyard_.clear();
  }
  // Called for each block as it is freed (the JIT releases its host code).
  void set_on_free(std::function<void(Block&)> f) { on_free_ = std::move(f); }
  // Called for each block as it is dropped (before it is freed): chained jumps
  // into and out of it are undone, so stale code is never reached.
  void set_on_invalidate(std::function<void(Block&)> f) { on_invalidate_ = std::move(f); }

  size_t size() const { return map_.size(); }
  uint64_t blocks_decoded() const { return decoded_; }
  uint64_t flushes() const { return flushes_; }

 private:
  std::unordered_map<uint64_t, std::unique_ptr<Block>> map_;
  std::unordered_map<uint64_t, std::vector<uint64_t>> by_page_;  // page -> block keys (may be stale)
  std::vector<std::unique_ptr<Block>> graveyard_;
  std::function<void(Block&)> on_free_;
  std::function<void(Block&)> on_invalidate_;
  uint64_t decoded_ = 0;
  uint64_t flushes_ = 0;

  void drop(std::unique_ptr<Block> b) {
    b->valid = false;
    if (on_invalidate_) on_invalidate_(*b);
    graveyard_.push_back(std::move(b));
  }
};

}  // namespace kestrel::interp
