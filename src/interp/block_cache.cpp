#include "interp/block_cache.h"

namespace kestrel::interp {

Block* BlockCache::insert(std::unique_ptr<Block> b, uint64_t page1, uint64_t page2) {
  Block* raw = b.get();
  auto& slot = map_[b->key];
  if (slot) drop(std::move(slot));
  slot = std::move(b);
  by_page_[page1].push_back(raw->key);
  if (page2 != ~0ull && page2 != page1) by_page_[page2].push_back(raw->key);
  ++decoded_;
  return raw;
}

bool BlockCache::invalidate_page(uint64_t page) {
  auto it = by_page_.find(page);
  if (it == by_page_.end()) return false;
  std::vector<uint64_t> keys = std::move(it->second);
  by_page_.erase(it);
  for (uint64_t key : keys) {
    auto m = map_.find(key);
    if (m == map_.end()) continue;
    Block* b = m->second.get();
    uint64_t first_page = (key & ((1ull << 52) - 1)) & ~0xFFFull;
    if (first_page != page && b->phys_page2 != page) continue;  // a newer block under a stale key
    drop(std::move(m->second));
    map_.erase(m);
  }
  return true;
}

void BlockCache::flush() {
  for (auto& [k, b] : map_) drop(std::move(b));
  map_.clear();
  ++flushes_;
  by_page_.clear();
}

}  // namespace kestrel::interp
