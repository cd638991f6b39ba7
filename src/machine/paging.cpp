// The page walk (SDM Vol. 3 §4.3 32-bit paging, §4.4 PAE, §4.5 4-level), with
// permission checks (§4.6), accessed/dirty updates (§4.8) and #PF error codes (§4.7).
#include "machine/paging.h"

#include "machine/cpu_model.h"
#include "machine/exceptions.h"
#include "machine/machine.h"
#include "machine/memory.h"

namespace kestrel::machine {

namespace {

enum : uint64_t {
  kPteP = 1, kPteRW = 2, kPteUS = 4, kPteA = 0x20, kPteD = 0x40, kPtePS = 0x80, kPteG = 0x100, kPteNX = 1ull << 63,
};
enum : uint64_t { kCr4PSE = 1u << 4, kCr4PAE = 1u << 5, kCr4PGE = 1u << 7, kCr4SMEP = 1u << 20, kCr4SMAP = 1u << 21 };
enum : uint64_t { kEferNXE = 1u << 11, kEferLMA = 1u << 10 };
constexpr uint32_t kPfP = 1, kPfW = 2, kPfU = 4, kPfRsvd = 8, kPfI = 16;

bool page_fault(CpuState& c, uint64_t lin, uint32_t error) {
  c.cr2 = lin;
  raise_exception(c, kVecPF, error);
  return false;
}

}  // namespace

bool page_walk(CpuState& c, uint64_t lin, Access kind, bool user, uint64_t& phys) {
  PhysBus& bus = c.machine->bus();
  const bool write = kind == Access::Write, fetch = kind == Access::Exec;
  const bool nxe = (c.efer & kEferNXE) != 0;
  uint32_t err_base = (write ? kPfW : 0) | (user ? kPfU : 0);

  // Walk state: up to four levels of entries, each (physical address, value).
  uint64_t entry_addr[4];
  uint64_t entry_val[4];
  unsigned levels = 0;
  uint64_t page_base, page_mask;
  bool pae = (c.cr4 & kCr4PAE) != 0;
  // Bits at and above the model's physical-address width are reserved (SDM Vol. 3 §4.4.2, §4.5).
  const uint64_t maxphys_mask = ((1ull << c.machine->cpu_model().phys_bits) - 1) & ~0xFFFull;
  uint64_t rsvd_nx = nxe ? 0 : static_cast<uint64_t>(kPteNX);

  auto read_entry = [&](uint64_t addr, bool wide) -> uint64_t {
    return bus.read_uint(addr, wide ? 8 : 4);
  };

  if (!pae) {
    uint64_t pde_addr = (c.cr3 & 0xFFFFF000ull) + ((lin >> 22) & 0x3FF) * 4;
    uint64_t pde = read_entry(pde_addr, false);
    entry_addr[levels] = pde_addr; entry_val[levels++] = pde;
    if (!(pde & kPteP)) return page_fault(c, lin, err_base | (fetch && (c.cr4 & kCr4SMEP) ? kPfI : 0));
    if ((pde & kPtePS) && (c.cr4 & kCr4PSE)) {
      // 4 MiB page; bits 20:13 give physical bits 39:32 (PSE-36), bit 21 is reserved.
      if (pde & (1u << 21)) return page_fault(c, lin, err_base | kPfP | kPfRsvd);
      page_base = (pde & 0xFFC00000ull) | (((pde >> 13) & 0xFF) << 32);
      page_mask = 0x3FFFFF;
    } else {
      uint64_t pte_addr = (pde & 0xFFFFF000ull) + ((lin >> 12) & 0x3FF) * 4;
      uint64_t pte = read_entry(pte_addr, false);
      entry_addr[levels] = pte_addr; entry_val[levels++] = pte;
      if (!(pte & kPteP)) return page_fault(c, lin, err_base);
      page_base = pte & 0xFFFFF000ull;
      page_mask = 0xFFF;
    }
  } else {
    bool long_mode = (c.efer & kEferLMA) != 0;
    const uint64_t below_phys = (1ull << c.machine->cpu_model().phys_bits) - 1;
    const uint64_t addr_rsvd_4level = ((1ull << 52) - 1) & ~below_phys;
    const uint64_t addr_rsvd_pae = 0x7FFFFFFFFFFFFFFFull & ~below_phys;
    uint64_t table;
    int top;
    if (long_mode) {
      table = c.cr3 & maxphys_mask;
      top = 3;
    } else {
      // PAE uses the PDPTEs loaded by MOV CR3/CR0/CR4, not memory (SDM Vol. 3 §4.4.1);
      // their reserved bits were checked at that load (#GP).
      uint64_t pdpte = c.pae_pdpte[(lin >> 30) & 3];
      if (!(pdpte & kPteP)) return page_fault(c, lin, err_base | (fetch && nxe ? kPfI : 0));
      table = pdpte & maxphys_mask;
      top = 1;
    }
    page_base = 0;
    page_mask = 0xFFF;
    for (int level = top; level >= 0; --level) {
      uint64_t addr = table + ((lin >> (12 + 9 * level)) & 0x1FF) * 8;
      uint64_t e = read_entry(addr, true);
      entry_addr[levels] = addr; entry_val[levels++] = e;
      uint32_t ifetch = fetch && nxe ? kPfI : 0;
      if (!(e & kPteP)) return page_fault(c, lin, err_base | ifetch);
      // Address bits from MAXPHYADDR up are reserved: to bit 51 with 4-level paging
      // (52-62 are ignored there), to bit 62 with PAE (SDM Vol. 3 Tables 4-11, 4-15..4-20).
      uint64_t rsvd = (e & (long_mode ? addr_rsvd_4level : addr_rsvd_pae)) | (e & rsvd_nx);
      // PS is reserved in the PML4E, and in the PDPTE while 1 GiB pages are not advertised.
      bool large = level > 0 && (e & kPtePS);
      if ((level == 3 || level == 2) && (e & kPtePS)) rsvd |= kPtePS;
      if (level == 1 && large) rsvd |= e & 0x1FE000ull;  // 2 MiB page: bits 20:13
      if (rsvd) return page_fault(c, lin, err_base | kPfP | kPfRsvd | ifetch);
      if (level == 0 || large) {
        if (level == 0) { page_base = e & maxphys_mask; page_mask = 0xFFF; }
        else if (level == 1) { page_base = e & maxphys_mask & ~0x1FFFFFull; page_mask = 0x1FFFFF; }
        else { page_base = e & maxphys_mask & ~0x3FFFFFFFull; page_mask = 0x3FFFFFFF; }
        break;
      }
      table = e & maxphys_mask;
    }
  }

  // Permissions combine over every level (SDM Vol. 3 §4.6.1).
  bool all_rw = true, all_us = true, any_nx = false;
  for (unsigned i = 0; i < levels; ++i) {
    all_rw &= (entry_val[i] & kPteRW) != 0;
    all_us &= (entry_val[i] & kPteUS) != 0;
    any_nx |= pae && nxe && (entry_val[i] & kPteNX);
  }
  uint32_t perr = err_base | kPfP | (fetch && pae && nxe ? kPfI : 0);
  if (user && !all_us) return page_fault(c, lin, perr);
  if (write && !all_rw && (user || (c.cr0 & kCr0WP))) return page_fault(c, lin, perr);
  if (fetch && any_nx) return page_fault(c, lin, perr);
  if (fetch && !user && all_us && (c.cr4 & kCr4SMEP)) return page_fault(c, lin, perr);

  // Accessed on every level; dirty on the final entry for a write.
  for (unsigned i = 0; i < levels; ++i) {
    uint64_t want = entry_val[i] | kPteA;
    if (i == levels - 1 && write) want |= kPteD;
    if (want != entry_val[i]) bus.write_uint(entry_addr[i], want, pae ? 8 : 4);
  }
  if (page_mask != 0xFFF) c.tlb_has_large = 1;
  // G counts in the entry that maps the page, and only while CR4.PGE = 1 (SDM Vol. 3
  // §4.10.2.4); it is ignored in the entries above.
  const bool global = (c.cr4 & kCr4PGE) && (entry_val[levels - 1] & kPteG);
  c.walk_flags = static_cast<uint8_t>((page_mask != 0xFFF ? kTlbLarge : 0) | (global ? kTlbGlobal : 0));
  phys = page_base | (lin & page_mask);
  return true;
}

bool load_pae_pdptes(CpuState& c) {
  uint64_t e[4];
  c.machine->bus().read(c.cr3 & 0xFFFFFFE0ull, e, sizeof e);
  const uint64_t below_phys = (1ull << c.machine->cpu_model().phys_bits) - 1;
  // PAE PDPTEs have no R/W, U/S or NX bits: bits 1, 2, 5-8 and MAXPHYADDR-63 are reserved.
  const uint64_t rsvd = 0x1E6ull | ~below_phys;
  for (uint64_t v : e)
    if ((v & kPteP) && (v & rsvd)) return false;
  for (int i = 0; i < 4; ++i) c.pae_pdpte[i] = e[i];
  return true;
}

bool pae_pdptes_in_use(const CpuState& c) {
  return (c.cr0 & kCr0PG) && (c.cr4 & kCr4PAE) && !(c.efer & kEferLMA);
}

}  // namespace kestrel::machine
