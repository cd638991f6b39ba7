// Hardware task switching (SDM Vol. 3 chapter 7): JMP/CALL to a TSS or task
// gate, interrupts through a task gate, and IRET with NT set.
#pragma once

#include <cstdint>

#include "machine/cpu_state.h"
#include "machine/descriptors.h"

namespace kestrel::machine {

enum class TaskSwitchSource { Jmp, Call, Interrupt, Iret };

// Switches to the task whose TSS descriptor is `tss` (already fetched, type
// checked by the caller for its source). RIP must hold the address the old task
// resumes at. For interrupts with an error code, it is pushed on the new task's
// stack. False with an exception pending (delivered in whichever task context the
// fault occurred, as on hardware).
bool task_switch(CpuState& c, uint16_t selector, Descriptor tss, TaskSwitchSource source, bool has_error,
                 uint32_t error, uint32_t ext);

}  // namespace kestrel::machine
