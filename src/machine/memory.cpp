#include <algorithm>

#include "machine/memory.h"

#include "machine/machine.h"
#include "machine/paging.h"

namespace kestrel::machine {

bool segment_access_fault(CpuState& c, uint8_t seg, uint64_t off, unsigned size, Access kind) {
  // SDM Vol. 3 §6.15: limit or type violations raise #SS(0) for stack-segment
  // references and #GP(0) for the others; a non-canonical address does the same
  // in 64-bit mode (Vol. 3 §3.3.7.1).
  (void)off; (void)size; (void)kind;
  if (seg == SS) return raise_ss(c, 0), false;
  return raise_gp(c, 0), false;
}

bool translate_linear(CpuState& c, uint64_t lin, Access kind, bool user, uint64_t& phys) {
  if (c.cr0 & kCr0PG) return page_walk(c, lin, kind, user, phys);
  c.walk_flags = 0;
  phys = lin & 0xFFFFFFFFull;
  if (!c.a20_enabled) phys &= ~(1ull << 20);
  return true;
}

// Fills the TLB entry for one page after a successful translation (`flags`: what
// translate_linear left in CpuState::walk_flags).
static void tlb_fill(CpuState& c, uint64_t lin, uint64_t phys, Access kind, bool user, uint8_t flags) {
  PhysBus& bus = c.machine->bus();
  uint64_t lpage = lin & kPageMask, ppage = phys & kPageMask;
  const unsigned i = Tlb::index(lin);
  TlbEntry& e = c.tlb.entry[user][i];
  // An entry for a different page, or for the same page now mapped elsewhere (one
  // entry, one translation), starts over; the same translation gains a permission.
  auto holds = [lpage](uint64_t tag) { return (tag & kPageMask) == lpage && !(tag & kTlbInvalid); };
  bool same = (holds(e.tag_read) || holds(e.tag_write) || holds(e.tag_code)) && c.tlb.phys[user][i] == ppage;
  if (!same) e = TlbEntry{kTlbInvalid, kTlbInvalid, kTlbInvalid, 0};
  c.tlb.phys[user][i] = ppage;
  // An entry that gains a permission stays global only if both translations were
  // (a CR3 load must not keep a non-global part), and is a large-page piece if either was.
  uint8_t& f = c.tlb.flags[user][i];
  f = same ? static_cast<uint8_t>(((f | flags) & kTlbLarge) | (f & flags & kTlbGlobal)) : flags;
  if (kind == Access::Exec) {
    // Fetches read through PhysBus (ROM and RAM alike): only the physical page counts.
    e.tag_code = lpage;
    return;
  }
  uint8_t* rp = bus.page_for_read(ppage);
  if (kind == Access::Write) {
    uint8_t* wp = bus.page_for_write(ppage);
    if (!wp || bus.is_code_page(ppage)) {
      e.tag_write = lpage | kTlbSlow;
    } else {
      e.tag_write = lpage;
      e.addend = reinterpret_cast<uintptr_t>(wp) - lpage;
    }
    return;
  }
  if (!rp) {
    e.tag_read = lpage | kTlbSlow;
    return;
  }
  // A RAM page and a ROM page can both be readable; the addend must match the
  // one used for writes when both are set, which only RAM pages allow.
  uintptr_t addend = reinterpret_cast<uintptr_t>(rp) - lpage;
  if (!(e.tag_write & (kTlbInvalid | kTlbSlow)) && e.addend != addend) e.tag_write = kTlbInvalid;
  e.addend = addend;
  e.tag_read = lpage;
}

bool translate_code(CpuState& c, uint64_t lin, bool user, uint64_t& phys) {
  const unsigned i = Tlb::index(lin);
  if (c.tlb.entry[user][i].tag_code == (lin & kPageMask)) [[likely]] {
    phys = c.tlb.phys[user][i] | (lin & 0xFFF);
    return true;
  }
  if (!translate_linear(c, lin, Access::Exec, user, phys)) return false;
  tlb_fill(c, lin, phys, Access::Exec, user, c.walk_flags);
  return true;
}

// One piece of an access that does not cross a page.
static bool access_page(CpuState& c, uint64_t lin, uint8_t* buf, unsigned n, Access kind, bool user,
                        uint64_t& phys) {
  if (!translate_linear(c, lin, kind, user, phys)) return false;
  tlb_fill(c, lin, phys, kind, user, c.walk_flags);
  return true;
}

bool read_linear_slow(CpuState& c, uint64_t lin, void* out, unsigned size, bool user) {
  if (c.mode != CpuMode::Long64) lin &= 0xFFFFFFFFull;
  auto* dst = static_cast<uint8_t*>(out);
  unsigned first = static_cast<unsigned>(std::min<uint64_t>(size, 4096 - (lin & 0xFFF)));
  uint64_t p0, p1 = 0;
  if (!access_page(c, lin, dst, first, Access::Read, user, p0)) return false;
  uint64_t lin2 = lin + first;
  if (c.mode != CpuMode::Long64) lin2 &= 0xFFFFFFFFull;
  if (first < size && !access_page(c, lin2, dst + first, size - first, Access::Read, user, p1)) return false;
  PhysBus& bus = c.machine->bus();
  bus.read(p0, dst, first);
  if (first < size) bus.read(p1, dst + first, size - first);
  return true;
}

bool write_linear_slow(CpuState& c, uint64_t lin, const void* in, unsigned size, bool user) {
  if (c.mode != CpuMode::Long64) lin &= 0xFFFFFFFFull;
  const auto* src = static_cast<const uint8_t*>(in);
  unsigned first = static_cast<unsigned>(std::min<uint64_t>(size, 4096 - (lin & 0xFFF)));
  uint64_t p0, p1 = 0;
  // Both pages are checked before either is written (no partial writes on a fault).
  if (!translate_linear(c, lin, Access::Write, user, p0)) return false;
  const uint8_t flags0 = c.walk_flags;
  uint64_t lin2 = lin + first;
  if (c.mode != CpuMode::Long64) lin2 &= 0xFFFFFFFFull;
  if (first < size && !translate_linear(c, lin2, Access::Write, user, p1)) return false;
  PhysBus& bus = c.machine->bus();
  bus.write(p0, src, first);  // invalidates code on the page, if any
  if (first < size) bus.write(p1, src + first, size - first);
  tlb_fill(c, lin, p0, Access::Write, user, flags0);
  if (first < size) tlb_fill(c, lin2, p1, Access::Write, user, c.walk_flags);
  return true;
}

bool read_linear_rmw_slow(CpuState& c, uint64_t lin, void* out, unsigned size, bool user) {
  if (c.mode != CpuMode::Long64) lin &= 0xFFFFFFFFull;
  unsigned first = static_cast<unsigned>(std::min<uint64_t>(size, 4096 - (lin & 0xFFF)));
  uint64_t p0, p1 = 0;
  if (!translate_linear(c, lin, Access::Write, user, p0)) return false;
  const uint8_t flags0 = c.walk_flags;
  uint64_t lin2 = lin + first;
  if (c.mode != CpuMode::Long64) lin2 &= 0xFFFFFFFFull;
  if (first < size && !translate_linear(c, lin2, Access::Write, user, p1)) return false;
  auto* dst = static_cast<uint8_t*>(out);
  c.machine->bus().read(p0, dst, first);
  if (first < size) c.machine->bus().read(p1, dst + first, size - first);
  tlb_fill(c, lin, p0, Access::Write, user, flags0);
  return true;
}

uint8_t* host_page(CpuState& c, uint64_t lin, Access kind, bool user) {
  const uint64_t page = lin & kPageMask;
  const TlbEntry& e = c.tlb.entry[user][Tlb::index(lin)];
  const uint64_t tag = kind == Access::Write ? e.tag_write : e.tag_read;
  if (tag != page) {
    if (tag == (page | kTlbSlow)) return nullptr;  // known not plain RAM
    const PendingException exc = c.exc;
    const uint64_t cr2 = c.cr2;
    uint64_t phys;
    if (!translate_linear(c, lin, kind, user, phys)) {
      c.exc = exc;
      c.cr2 = cr2;
      return nullptr;
    }
    tlb_fill(c, lin, phys, kind, user, c.walk_flags);
    if ((kind == Access::Write ? e.tag_write : e.tag_read) != page) return nullptr;
  }
  return reinterpret_cast<uint8_t*>(page + e.addend);
}

bool probe_write(CpuState& c, uint8_t seg, uint64_t off, unsigned size) {
  uint64_t lin = 0, phys;
  if (!segment_to_linear(c, seg, off, size, Access::Write, lin)) return false;
  bool user = user_access(c);
  if (!translate_linear(c, lin, Access::Write, user, phys)) return false;
  uint64_t last = lin + size - 1;
  if (c.mode != CpuMode::Long64) last &= 0xFFFFFFFFull;
  // A page-crossing access faults (CR2) at the first byte of the second page.
  uint64_t second = (lin | 0xFFF) + 1;
  if (c.mode != CpuMode::Long64) second &= 0xFFFFFFFFull;
  if ((last & kPageMask) != (lin & kPageMask) && !translate_linear(c, second, Access::Write, user, phys)) return false;
  return true;
}

unsigned fetch_code(CpuState& c, uint64_t lin, uint8_t* out, unsigned want) {
  unsigned got = 0;
  bool user = user_access(c);
  while (got < want) {
    uint64_t a = lin + got;
    if (c.mode != CpuMode::Long64) a &= 0xFFFFFFFFull;
    uint64_t phys;
    if (!translate_code(c, a, user, phys)) return got;
    unsigned n = static_cast<unsigned>(std::min<uint64_t>(want - got, 4096 - (a & 0xFFF)));
    c.machine->bus().read(phys, out + got, n);
    got += n;
  }
  return got;
}

void tlb_protect_code_page(CpuState& c, uint64_t phys_page) {
  PhysBus& bus = c.machine->bus();
  uint64_t off = bus.ram_offset(phys_page);
  if (off == ~0ull) return;
  uintptr_t host = reinterpret_cast<uintptr_t>(bus.ram() + off);
  for (auto& cls : c.tlb.entry)
    for (auto& e : cls)
      if (!(e.tag_write & (kTlbInvalid | kTlbSlow)) && e.tag_write + e.addend == host) e.tag_write |= kTlbSlow;
}

void journal_host_write(CpuState& c, const void* host, unsigned size) {
  if (WriteJournal* j = c.machine->bus().journal()) {
    auto* p = static_cast<uint8_t*>(const_cast<void*>(host));
    for (unsigned i = 0; i < size; ++i) j->bytes.emplace_back(p + i, p[i]);
  }
}

void tlb_flush(CpuState& c) {
  c.tlb.flush();
  c.tlb_has_large = 0;
  ++c.tlb_generation;
}

void tlb_flush_for_cr3_load(CpuState& c) {
  constexpr uint64_t kCr4Pge = 1u << 7;
  if (!(c.cr4 & kCr4Pge)) return tlb_flush(c);
  c.tlb.flush_non_global();
  ++c.tlb_generation;  // tlb_has_large stays: global large-page pieces may remain
}

void tlb_flush_page(CpuState& c, uint64_t lin) {
  ++c.tlb_generation;
  const uint64_t page = lin & kPageMask;
  auto holds = [](const TlbEntry& e, auto&& match) {
    return (!(e.tag_read & kTlbInvalid) && match(e.tag_read & kPageMask)) ||
           (!(e.tag_write & kTlbInvalid) && match(e.tag_write & kPageMask)) ||
           (!(e.tag_code & kTlbInvalid) && match(e.tag_code & kPageMask));
  };
  for (auto& cls : c.tlb.entry) {
    TlbEntry& e = cls[Tlb::index(lin)];
    if (holds(e, [page](uint64_t p) { return p == page; })) e = TlbEntry{kTlbInvalid, kTlbInvalid, kTlbInvalid, 0};
  }
  if (!c.tlb_has_large) return;
  // INVLPG of an address in a large page drops the whole page's translation (SDM
  // Vol. 3 §4.10.4.1). The TLB holds 4 KiB pieces of it at other indexes: drop every
  // piece cached from a large page in the 1 GiB-aligned region around `lin` (every
  // large page containing `lin` lies inside it), and keep the rest of the TLB.
  const uint64_t region = lin >> 30;
  for (unsigned u = 0; u < 2; ++u)
    for (unsigned i = 0; i < Tlb::kSize; ++i) {
      if (!(c.tlb.flags[u][i] & kTlbLarge)) continue;
      TlbEntry& e = c.tlb.entry[u][i];
      if (holds(e, [region](uint64_t p) { return (p >> 30) == region; })) e = TlbEntry{kTlbInvalid, kTlbInvalid, kTlbInvalid, 0};
    }
}

}  // namespace kestrel::machine
