// Interpreter handlers: one per form in the instruction table, named after it.
#pragma once

#include "frontend-x86/insn.h"
#include "machine/cpu_state.h"
#include "machine/exceptions.h"

namespace kestrel::interp::handlers {

using frontend::DecodedInsn;
using machine::CpuState;
using machine::ExecStatus;

#define X(id, map, op, n, reg, pfx, mod, feat, fr, fw, attrs) ExecStatus id(CpuState&, const DecodedInsn&);
#include "frontend-x86/insn_table.def"
#undef X
ExecStatus Unimplemented(CpuState&, const DecodedInsn&);
ExecStatus Invalid(CpuState&, const DecodedInsn&);

}  // namespace kestrel::interp::handlers

namespace kestrel::interp {
// The handler of each instruction id.
frontend::Handler handler_for(frontend::InsnId id);
}  // namespace kestrel::interp
