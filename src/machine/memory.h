// Guest memory access for both tiers: segmentation, then the soft TLB, then the
// shared slow path (page walk, A/D bits, faults, MMIO, code-page watch).
//
// Every function returns false with an exception pending in CpuState::exc when
// the access faults; nothing is written by a faulting access.
#pragma once

#include <cstdint>
#include <cstring>

#include "machine/cpu_state.h"
#include "machine/exceptions.h"

namespace kestrel::machine {

enum class Access : uint8_t { Read = 0, Write = 1, Exec = 2 };

// ---- slow paths (memory.cpp) ----------------------------------------------------------------
bool read_linear_slow(CpuState& c, uint64_t lin, void* out, unsigned size, bool user);
bool write_linear_slow(CpuState& c, uint64_t lin, const void* in, unsigned size, bool user);
bool segment_access_fault(CpuState& c, uint8_t seg, uint64_t off, unsigned size, Access kind);
// Linear to physical for an access, with the page walk when paging is on.
bool translate_linear(CpuState& c, uint64_t lin, Access kind, bool user, uint64_t& phys);
// Linear to physical for an instruction fetch or a block lookup at `lin` (already
// wrapped to 32 bits outside 64-bit mode): the TLB's code translation, or a page walk
// for execution that fills it.
bool translate_code(CpuState& c, uint64_t lin, bool user, uint64_t& phys);
// Downgrade every TLB entry that writes to this physical page (it now holds code).
void tlb_protect_code_page(CpuState& c, uint64_t phys_page);
// Every translation, global or not (CR4.PGE/PAE/PSE changes, CR0.PG/WP, EFER.NXE, resets).
void tlb_flush(CpuState& c);
// A CR3 load (MOV to CR3, a task switch): keeps the global translations while CR4.PGE
// is set (SDM Vol. 3 §4.10.4.1).
void tlb_flush_for_cr3_load(CpuState& c);
// --jit verify: records the bytes a fast-path write is about to change.
void journal_host_write(CpuState& c, const void* host, unsigned size);
// The host address of the start of `lin`'s page for plain RAM accesses of `kind` (Read
// or Write), through the TLB and filling it on a miss; null when the page is not plain
// RAM for that access (MMIO, ROM, a watched code page for writes) or when the
// translation would fault (nothing is raised then: the caller's own access raises it).
// For bulk accesses that need two pages at once, whatever the TLB can hold together.
uint8_t* host_page(CpuState& c, uint64_t lin, Access kind, bool user);
// INVLPG: drops the translation of one linear page.
void tlb_flush_page(CpuState& c, uint64_t lin);

inline bool user_access(const CpuState& c) { return c.cpl == 3; }

// ---- linear accesses ----------------------------------------------------------------------
template <class T>
inline bool read_linear(CpuState& c, uint64_t lin, T& out, bool user) {
  const TlbEntry& e = c.tlb.entry[user][Tlb::index(lin)];
  if (e.tag_read == ((lin + sizeof(T) - 1) & kPageMask)) [[likely]] {
    std::memcpy(&out, reinterpret_cast<const void*>(lin + e.addend), sizeof(T));
    return true;
  }
  return read_linear_slow(c, lin, &out, sizeof(T), user);
}

// Read half of a read-modify-write: translated as a write, so a page fault
// reports a write access (SDM Vol. 3 §4.7) and the dirty bit is set.
bool read_linear_rmw_slow(CpuState& c, uint64_t lin, void* out, unsigned size, bool user);
template <class T>
inline bool read_linear_rmw(CpuState& c, uint64_t lin, T& out, bool user) {
  const TlbEntry& e = c.tlb.entry[user][Tlb::index(lin)];
  if (e.tag_write == ((lin + sizeof(T) - 1) & kPageMask)) [[likely]] {
    std::memcpy(&out, reinterpret_cast<const void*>(lin + e.addend), sizeof(T));
    return true;
  }
  return read_linear_rmw_slow(c, lin, &out, sizeof(T), user);
}

template <class T>
inline bool write_linear(CpuState& c, uint64_t lin, T value, bool user) {
  const TlbEntry& e = c.tlb.entry[user][Tlb::index(lin)];
  if (e.tag_write == ((lin + sizeof(T) - 1) & kPageMask)) [[likely]] {
    if (c.journal_writes) [[unlikely]] journal_host_write(c, reinterpret_cast<void*>(lin + e.addend), sizeof(T));
    std::memcpy(reinterpret_cast<void*>(lin + e.addend), &value, sizeof(T));
    return true;
  }
  return write_linear_slow(c, lin, &value, sizeof(T), user);
}

// ---- segmented accesses -------------------------------------------------------------------
// Offset to linear address with the segment's limit and rights checks (SDM Vol. 3 §5.3),
// or the canonical check in 64-bit mode (SDM Vol. 3 §3.3.7.1).
inline bool segment_to_linear(CpuState& c, uint8_t seg, uint64_t off, unsigned size, Access kind,
                              uint64_t& lin) {
  const SegmentCache& s = c.seg[seg];
  if (c.mode == CpuMode::Long64) {
    lin = off + (seg >= FS ? s.base : 0);
    if (static_cast<uint64_t>((static_cast<int64_t>(lin) >> 47) + 1) > 1 ||
        static_cast<uint64_t>((static_cast<int64_t>(lin + size - 1) >> 47) + 1) > 1) [[unlikely]]
      return segment_access_fault(c, seg, off, size, kind);
    return true;
  }
  uint8_t need = kind == Access::Write ? (kSegWritable | kSegUsable) : (kSegReadable | kSegUsable);
  // A 4 GiB expand-up segment wraps around the top of the address space (the
  // last byte's offset is taken modulo 2^32) rather than failing the limit check.
  if (off < s.lo || (off + size - 1 > s.hi && s.hi != 0xFFFFFFFFu) || (s.rights & need) != need) [[unlikely]]
    return segment_access_fault(c, seg, off, size, kind);
  lin = (s.base + off) & 0xFFFFFFFFull;
  return true;
}

template <class T>
inline bool read_mem(CpuState& c, uint8_t seg, uint64_t off, T& out) {
  uint64_t lin = 0;
  return segment_to_linear(c, seg, off, sizeof(T), Access::Read, lin) && read_linear(c, lin, out, user_access(c));
}

template <class T>
inline bool write_mem(CpuState& c, uint8_t seg, uint64_t off, T value) {
  uint64_t lin = 0;
  return segment_to_linear(c, seg, off, sizeof(T), Access::Write, lin) &&
         write_linear(c, lin, value, user_access(c));
}

// Checks that a write would succeed (segment and page) without writing: used by
// instructions that must not change state before all their writes are known good.
bool probe_write(CpuState& c, uint8_t seg, uint64_t off, unsigned size);

// Reads code bytes for the decoder: up to `want` bytes from `lin`, stopping at a
// fault. Returns the number of bytes read; on 0 an exception is pending.
unsigned fetch_code(CpuState& c, uint64_t lin, uint8_t* out, unsigned want);

}  // namespace kestrel::machine
