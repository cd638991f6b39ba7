// Paging: the page walk behind the soft TLB (SDM Vol. 3 chapter 4).
#pragma once

#include <cstdint>

#include "machine/cpu_state.h"

namespace kestrel::machine {

enum class Access : uint8_t;

// Translates a linear address with paging on; on a fault sets #PF with its
// error code and CR2 and returns false.
bool page_walk(CpuState& c, uint64_t lin, Access kind, bool user, uint64_t& phys);


// PAE paging (outside long mode) caches the four PDPTEs when CR3 is loaded, paging
// is enabled or CR4's paging bits change. False when a present PDPTE has a reserved
// bit set: the MOV that caused the load raises #GP(0) and changes nothing.
bool load_pae_pdptes(CpuState& c);
bool pae_pdptes_in_use(const CpuState& c);

}  // namespace kestrel::machine
