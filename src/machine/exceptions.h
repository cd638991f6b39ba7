// Guest exceptions as values (see docs/ARCHITECTURE.md): a handler that hits a
// fault records it in CpuState::exc and returns ExecStatus::Fault; the run loop
// delivers it. No setjmp/longjmp, so both tiers see the same control flow.
#pragma once

#include <cstdint>

#include "machine/cpu_state.h"

namespace kestrel::machine {

// Exception and interrupt vectors (SDM Vol. 3 §6.3.1).
enum Vector : uint8_t {
  kVecDE = 0, kVecDB = 1, kVecNMI = 2, kVecBP = 3, kVecOF = 4, kVecBR = 5, kVecUD = 6, kVecNM = 7,
  kVecDF = 8, kVecTS = 10, kVecNP = 11, kVecSS = 12, kVecGP = 13, kVecPF = 14, kVecMF = 16,
  kVecAC = 17, kVecMC = 18, kVecXM = 19,
};

enum class ExecStatus : uint8_t {
  Ok,      // fall through: the run loop advances RIP by the instruction length
  Branch,  // the handler set RIP itself (or left it to repeat); the block ends
  Fault,   // CpuState::exc holds an exception to deliver; RIP is the faulting instruction
  Halt,    // HLT: RIP already points past it
  Stop,    // the machine asked to stop (debug exit, shutdown, triple fault)
};

inline ExecStatus raise_exception(CpuState& c, uint8_t vector) {
  c.exc = PendingException{vector, false, false, 0, 0};
  return ExecStatus::Fault;
}

inline ExecStatus raise_exception(CpuState& c, uint8_t vector, uint32_t error) {
  c.exc = PendingException{vector, true, false, 0, error};
  return ExecStatus::Fault;
}

inline ExecStatus raise_ud(CpuState& c) { return raise_exception(c, kVecUD); }
inline ExecStatus raise_gp(CpuState& c, uint32_t error = 0) { return raise_exception(c, kVecGP, error); }
inline ExecStatus raise_ss(CpuState& c, uint32_t error = 0) { return raise_exception(c, kVecSS, error); }

// Memory helpers return bool (false = exception pending); TRY turns that into a Fault.
#define KESTREL_TRY(expr)                                              \
  do {                                                                 \
    if (!(expr)) [[unlikely]] return ::kestrel::machine::ExecStatus::Fault; \
  } while (0)

}  // namespace kestrel::machine
