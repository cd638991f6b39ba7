// Guest exceptions as values (see docs/ARCHITECTURE.md): a handler that hits a
// fault records it in CpuState::exc and returns ExecStatus::Fault; the run loop
// delivers it. No setjmp/longjmp, so both tiers see the same control flow.
#pragma once

#include <cstdint>

#include "machine/cpu_state.h"

namespace kestrel::machine {

// Exception and interrupt vectors (SDM Vol. 3 §6.3.1).
enum Vector : uint8_t {
  kDE = 0, kDB = 1, kNMI = 2, kBP = 3, kOF = 4, kBR = 5, kUD = 6, kNM = 7, kDF = 8,
  kTS = 10, kNP = 11, kSS = 12, kGP = 13, kPF = 14, kMF = 16, kAC = 17, kMC = 18, kXM = 19,
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

inline ExecStatus raise_ud(CpuState& c) { return raise_exception(c, kUD); }
inline ExecStatus raise_gp(CpuState& c, uint32_t error = 0) { return raise_exception(c, kGP, error); }
inline ExecStatus raise_ss(CpuState& c, uint32_t error = 0) { return raise_exception(c, kSS, error); }

// Memory helpers return bool (false = exception pending); TRY turns that into a Fault.
#define KESTREL_TRY(expr)                                              \
  do {                                                                 \
    if (!(expr)) [[unlikely]] return ::kestrel::machine::ExecStatus::Fault; \
  } while (0)

}  // namespace kestrel::machine
