#include "machine/phys_bus.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace kestrel::machine {

PhysBus::~PhysBus() {
  if (ram_) munmap(ram_, map_size_);
}

bool PhysBus::init_ram(uint64_t bytes, std::string& error) {
  if (bytes < (1u << 20) || (bytes & 0xFFF)) {
    error = fmt::format("RAM size {} is not a whole number of 4 KiB pages of at least 1 MiB", bytes);
    return false;
  }
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    error = fmt::format("cannot reserve {} MiB of guest RAM: {}", bytes >> 20, std::strerror(errno));
    return false;
  }
  ram_ = static_cast<uint8_t*>(p);
  ram_size_ = map_size_ = bytes;
  code_pages_.assign(bytes >> 12, 0);
  rebuild_overlay();
  return true;
}

void PhysBus::rebuild_overlay() {
  overlay_pages_.assign(low_ram_size() >> 12, 0);
  for (const auto& r : regions_) {
    if (r.base >= low_ram_size()) continue;
    uint64_t end = std::min<uint64_t>(r.base + r.size, low_ram_size());
    for (uint64_t p = r.base >> 12; p < (end + 0xFFF) >> 12; ++p) overlay_pages_[p] = 1;
  }
  // The shadow-RAM window (PAM) decides per page: always the full path.
  for (uint64_t p = kShadowBase >> 12; p < kShadowEnd >> 12 && p < overlay_pages_.size(); ++p) overlay_pages_[p] = 1;
}

void PhysBus::map_rom(uint64_t base, const std::vector<uint8_t>& data, std::string name) {
  rom_images_.push_back(data);
  regions_.insert(regions_.begin(), Region{base, data.size(), rom_images_.back().data(), nullptr, std::move(name)});
  // rom_images_ may have reallocated: refresh the pointers of every ROM region.
  size_t i = rom_images_.size();
  for (auto& r : regions_)
    if (r.rom) r.rom = rom_images_[--i].data();
  rebuild_overlay();
}

void PhysBus::map_mmio(uint64_t base, uint64_t size, MmioDevice* device, std::string name) {
  regions_.insert(regions_.begin(), Region{base, size, nullptr, device, std::move(name)});
  rebuild_overlay();
}

void PhysBus::unmap_mmio(MmioDevice* device) {
  std::erase_if(regions_, [device](const Region& r) { return r.device == device; });
  rebuild_overlay();
}

const PhysBus::Region* PhysBus::find_region(uint64_t addr) const {
  for (const auto& r : regions_)
    if (addr - r.base < r.size) return &r;
  return nullptr;
}

bool PhysBus::set_shadow(uint64_t base, uint64_t size, bool read_ram, bool write_ram) {
  const uint8_t mode = kShadowOn | (read_ram ? kShadowRead : 0) | (write_ram ? kShadowWrite : 0);
  bool changed = false;
  for (uint64_t a = base & ~0xFFFull; a < base + size; a += 4096) {
    if (a < kShadowBase || a >= kShadowEnd) continue;
    uint8_t& s = shadow_[(a - kShadowBase) >> 12];
    changed |= s != mode;
    s = mode;
  }
  return changed;
}

void PhysBus::notify_code_pages(uint64_t base, uint64_t size) {
  if (!code_listener_) return;
  for (uint64_t a = base & ~0xFFFull; a < base + size; a += 4096)
    if (is_code_page(a)) code_listener_->code_page_written(a);
}

uint64_t PhysBus::ram_offset(uint64_t addr) const {
  if (addr < low_ram_size()) return addr;
  if (addr >= kHighRamBase && ram_size_ > kLowRamLimit && addr - kHighRamBase < ram_size_ - kLowRamLimit)
    return addr - kHighRamBase + kLowRamLimit;
  return ~0ull;
}

static bool overlaps_page(uint64_t base, uint64_t size, uint64_t page) {
  return base < page + 4096 && page < base + size;
}

uint8_t* PhysBus::page_for_read(uint64_t page_addr) {
  if (const uint8_t sh = shadow_of(page_addr)) {
    if (sh & kShadowRead) return ram_ + ram_offset(page_addr);
    const Region* r = find_region(page_addr);
    if (r && r->rom && r->base <= page_addr && page_addr + 4096 <= r->base + r->size)
      return const_cast<uint8_t*>(r->rom) + (page_addr - r->base);
    return nullptr;  // nothing there: the slow path reads all-ones
  }
  for (const auto& r : regions_) {
    if (!overlaps_page(r.base, r.size, page_addr)) continue;
    if (r.rom && r.base <= page_addr && page_addr + 4096 <= r.base + r.size)
      return const_cast<uint8_t*>(r.rom) + (page_addr - r.base);
    return nullptr;  // MMIO, or a page only partly covered
  }
  uint64_t off = ram_offset(page_addr);
  return off == ~0ull ? nullptr : ram_ + off;
}

uint8_t* PhysBus::page_for_write(uint64_t page_addr) {
  if (const uint8_t sh = shadow_of(page_addr)) return (sh & kShadowWrite) ? ram_ + ram_offset(page_addr) : nullptr;
  for (const auto& r : regions_)
    if (overlaps_page(r.base, r.size, page_addr)) return nullptr;
  uint64_t off = ram_offset(page_addr);
  return off == ~0ull ? nullptr : ram_ + off;
}

void PhysBus::read(uint64_t addr, void* out, size_t size) {
  // The common case (page walks, code fetch, slow-path data): plain RAM in one page.
  if (const uint8_t* p = plain_ram(addr, size)) [[likely]] {
    std::memcpy(out, p, size);
    return;
  }
  auto* dst = static_cast<uint8_t*>(out);
  while (size) {
    if (const uint8_t sh = shadow_of(addr)) {
      if (sh & kShadowRead) {
        *dst = ram_[ram_offset(addr)];
      } else {
        const Region* r = find_region(addr);
        *dst = r && r->rom ? r->rom[addr - r->base] : 0xFF;
      }
      ++dst; ++addr; --size;
      continue;
    }
    const Region* r = find_region(addr);
    if (r && r->device) {
      // Split MMIO accesses into naturally sized pieces within the region.
      unsigned n = size >= 8 && !(addr & 7) ? 8 : size >= 4 && !(addr & 3) ? 4 : size >= 2 && !(addr & 1) ? 2 : 1;
      if (addr - r->base + n > r->size) n = 1;
      if (journal_) journal_->side_effects = true;
      uint64_t v = r->device->mmio_read(addr - r->base, n);
      std::memcpy(dst, &v, n);
      dst += n; addr += n; size -= n;
      continue;
    }
    if (r && r->rom) {
      size_t n = std::min<uint64_t>(size, r->base + r->size - addr);
      std::memcpy(dst, r->rom + (addr - r->base), n);
      dst += n; addr += n; size -= n;
      continue;
    }
    uint64_t off = ram_offset(addr);
    *dst = off == ~0ull ? 0xFF : ram_[off];
    ++dst; ++addr; --size;
  }
}

void PhysBus::write(uint64_t addr, const void* in, size_t size) {
  if (!journal_) {
    if (uint8_t* p = plain_ram(addr, size); p && !code_pages_[addr >> 12]) [[likely]] {
      std::memcpy(p, in, size);
      return;
    }
  }
  const auto* src = static_cast<const uint8_t*>(in);
  while (size) {
    if (const uint8_t sh = shadow_of(addr); sh && !(sh & kShadowWrite)) {
      ++src; ++addr; --size;  // write-protected shadow: the write goes to the ROM, which ignores it
      continue;
    }
    const Region* r = shadow_of(addr) ? nullptr : find_region(addr);
    if (r && r->device) {
      unsigned n = size >= 8 && !(addr & 7) ? 8 : size >= 4 && !(addr & 3) ? 4 : size >= 2 && !(addr & 1) ? 2 : 1;
      if (addr - r->base + n > r->size) n = 1;
      uint64_t v = 0;
      std::memcpy(&v, src, n);
      if (journal_) journal_->side_effects = true;
      r->device->mmio_write(addr - r->base, v, n);
      src += n; addr += n; size -= n;
      continue;
    }
    if (r && r->rom) {  // writes to ROM are ignored
      size_t n = std::min<uint64_t>(size, r->base + r->size - addr);
      src += n; addr += n; size -= n;
      continue;
    }
    uint64_t off = ram_offset(addr);
    if (off != ~0ull) {
      if (code_pages_[off >> 12] && code_listener_) code_listener_->code_page_written(addr & ~0xFFFull);
      if (journal_) journal_->bytes.emplace_back(ram_ + off, ram_[off]);
      ram_[off] = *src;
    }
    ++src; ++addr; --size;
  }
}

uint64_t PhysBus::read_uint(uint64_t addr, unsigned size) {
  uint64_t v = 0;
  read(addr, &v, size);
  return v;
}

void PhysBus::write_uint(uint64_t addr, uint64_t value, unsigned size) { write(addr, &value, size); }

void PhysBus::mark_code_page(uint64_t page_addr) {
  uint64_t off = ram_offset(page_addr);
  if (off != ~0ull) code_pages_[off >> 12] = 1;
}

void PhysBus::clear_code_page(uint64_t page_addr) {
  uint64_t off = ram_offset(page_addr);
  if (off != ~0ull) code_pages_[off >> 12] = 0;
}

bool PhysBus::is_code_page(uint64_t page_addr) const {
  uint64_t off = ram_offset(page_addr);
  return off != ~0ull && code_pages_[off >> 12];
}

}  // namespace kestrel::machine
