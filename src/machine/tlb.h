// The soft TLB (see docs/ARCHITECTURE.md, "Memory").
//
// Direct-mapped, one array per privilege class (supervisor, user) so that a
// CPL change needs no flush. A hit is one compare: the tag holds the linear
// page address, and any low bit set in a tag (not present, MMIO, code page)
// makes the compare fail and sends the access to the shared slow path. The
// compare value is the page of the access's last byte, indexed by its first
// byte, so an access that crosses a page never hits.
#pragma once

#include <cstdint>

namespace kestrel::machine {

enum : uint64_t {
  kTlbInvalid = 1,   // entry holds nothing
  kTlbSlow = 2,      // MMIO, ROM write or write-watched code page: always the slow path
  kPageMask = ~0xFFFull,
};

struct TlbEntry {
  uint64_t tag_read;
  uint64_t tag_write;
  uint64_t tag_code;
  uintptr_t addend;  // host pointer = linear address + addend
};
static_assert(sizeof(TlbEntry) == 32);

struct Tlb {
  static constexpr unsigned kBits = 8;
  static constexpr unsigned kSize = 1u << kBits;
  TlbEntry entry[2][kSize];  // [0] supervisor accesses, [1] user (CPL 3) accesses
  // Entries filled from a large page (a 4 KiB piece of it): INVLPG of any address in
  // that page must drop them too, wherever they are indexed.
  uint8_t large[2][kSize];

  void flush() {
    for (auto& cls : entry)
      for (auto& e : cls) e = TlbEntry{kTlbInvalid, kTlbInvalid, kTlbInvalid, 0};
    for (auto& cls : large)
      for (auto& l : cls) l = 0;
  }
  static unsigned index(uint64_t lin) { return (lin >> 12) & (kSize - 1); }
};

}  // namespace kestrel::machine
