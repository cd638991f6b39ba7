// Exception and interrupt delivery (SDM Vol. 3 chapter 6; real mode §20.1.4).
#pragma once

#include <cstdint>

#include "machine/cpu_state.h"

namespace kestrel::machine {

// Delivers CpuState::exc. RIP must hold the address to return to: the faulting
// instruction for faults, the next instruction for traps and software interrupts.
// Returns false when delivery itself failed past recovery (triple fault): the
// machine has then been asked to stop or reset.
bool deliver_exception(CpuState& c);

// Delivers an external (hardware) interrupt with this vector.
bool deliver_interrupt(CpuState& c, uint8_t vector);

}  // namespace kestrel::machine
