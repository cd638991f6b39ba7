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

// Host code for a block from the JIT tier: returns how the block ended (see
// interp/tier.h). Null until the block is hot and translated.
using NativeBlockFn = uint32_t (*)(machine::CpuState*);

struct Block {
  uint64_t key;         // physical address | mode key << 52
  uint64_t lin;         // linear address of the first instruction
  uint64_t phys_page2;  // physical page of a last instruction that straddles a page, or ~0
  uint64_t exec_count = 0;
  bool valid = true;
  bool native_failed = false;  // the JIT declined it: stay in the interpreter
  NativeBlockFn native = nullptr;
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

  size_t size() const { return map_.size(); }
  uint64_t blocks_decoded() const { return decoded_; }

 private:
  std::unordered_map<uint64_t, std::unique_ptr<Block>> map_;
  std::unordered_map<uint64_t, std::vector<uint64_t>> by_page_;  // page -> block keys (may be stale)
  std::vector<std::unique_ptr<Block>> graveyard_;
  std::function<void(Block&)> on_free_;
  uint64_t decoded_ = 0;
};

}  // namespace kestrel::interp
