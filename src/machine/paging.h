// Paging: the page walk behind the soft TLB (SDM Vol. 3 chapter 4).
#pragma once

#include <cstdint>

#include "machine/cpu_state.h"

namespace kestrel::machine {

enum class Access : uint8_t;

// Translates a linear address with paging on; on a fault sets #PF with its
// error code and CR2 and returns false.
bool page_walk(CpuState& c, uint64_t lin, Access kind, bool user, uint64_t& phys);


}  // namespace kestrel::machine
