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

// Tlb::flags bits.
enum : uint8_t {
  // A 4 KiB piece of a large page: INVLPG of any address in that page must drop it
  // too, wherever it is indexed.
  kTlbLarge = 1,
  // From a global translation (G set in the final paging-structure entry while
  // CR4.PGE = 1): a CR3 load keeps it (SDM Vol. 3 §4.10.2.4, §4.10.4.1).
  kTlbGlobal = 2,
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
  // Per entry, what the translation came from (kTlbLarge, kTlbGlobal).
  uint8_t flags[2][kSize];
  // Per entry, the physical page the linear page maps to: what instruction fetches and
  // block lookups need (tag_code), whatever kind of memory the page is.
  uint64_t phys[2][kSize];

  void flush() {
    for (auto& cls : entry)
      for (auto& e : cls) e = TlbEntry{kTlbInvalid, kTlbInvalid, kTlbInvalid, 0};
    for (auto& cls : flags)
      for (auto& f : cls) f = 0;
  }
  // A CR3 load with CR4.PGE set: every entry goes except the global ones.
  void flush_non_global() {
    for (unsigned u = 0; u < 2; ++u)
      for (unsigned i = 0; i < kSize; ++i)
        if (!(flags[u][i] & kTlbGlobal)) {
          entry[u][i] = TlbEntry{kTlbInvalid, kTlbInvalid, kTlbInvalid, 0};
          flags[u][i] = 0;
        }
  }
  static unsigned index(uint64_t lin) { return (lin >> 12) & (kSize - 1); }
};

}  // namespace kestrel::machine
