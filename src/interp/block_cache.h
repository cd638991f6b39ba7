// Decoded blocks, keyed by physical address plus the mode bits that change how
// bytes decode, and invalidated page by page when the guest (or a device)
// writes to a page that holds code.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "frontend-x86/insn.h"

namespace kestrel::interp {

struct Block {
  uint64_t key;         // physical address | mode key << 52
  uint64_t lin;         // linear address of the first instruction
  uint64_t phys_page2;  // physical page of a last instruction that straddles a page, or ~0
  uint64_t exec_count = 0;
  bool valid = true;
  std::vector<frontend::DecodedInsn> insns;
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
  void collect() { graveyard_.clear(); }

  size_t size() const { return map_.size(); }
  uint64_t blocks_decoded() const { return decoded_; }

 private:
  std::unordered_map<uint64_t, std::unique_ptr<Block>> map_;
  std::unordered_map<uint64_t, std::vector<uint64_t>> by_page_;  // page -> block keys (may be stale)
  std::vector<std::unique_ptr<Block>> graveyard_;
  uint64_t decoded_ = 0;
};

}  // namespace kestrel::interp
