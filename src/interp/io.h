// I/O permission (SDM Vol. 1 §19.5, Vol. 3 §20.2.8): shared by IN/OUT and INS/OUTS.
#pragma once

#include <cstdint>

#include "machine/cpu_state.h"

namespace kestrel::interp {

// True when the current privilege may access `size` bytes at `port`; otherwise
// #GP(0) is pending. Real mode always may; protected mode with CPL <= IOPL may;
// otherwise (and always in virtual-8086 mode) the TSS I/O permission bitmap decides.
bool io_permitted(machine::CpuState& c, uint16_t port, unsigned size);

uint32_t port_in(machine::CpuState& c, uint16_t port, unsigned size);
void port_out(machine::CpuState& c, uint16_t port, uint32_t value, unsigned size);

}  // namespace kestrel::interp
