// Model-specific registers (SDM Vol. 4). Only the MSRs the CPU model has exist:
// any other index raises #GP(0), as the kernels' rdmsr_safe paths expect.
#pragma once

#include <cstdint>

#include "machine/cpu_state.h"

namespace kestrel::machine {

enum : uint32_t {
  kMsrTsc = 0x10, kMsrPlatformId = 0x17, kMsrApicBase = 0x1B, kMsrBiosSignId = 0x8B, kMsrMtrrCap = 0xFE,
  kMsrSysenterCs = 0x174, kMsrSysenterEsp = 0x175, kMsrSysenterEip = 0x176, kMsrMiscEnable = 0x1A0,
  kMsrMtrrPhysBase0 = 0x200, kMsrMtrrFix64k = 0x250, kMsrMtrrFix16k80 = 0x258, kMsrMtrrFix16kA0 = 0x259,
  kMsrMtrrFix4kC0 = 0x268, kMsrPat = 0x277, kMsrMtrrDefType = 0x2FF, kMsrTscDeadline = 0x6E0,
  kMsrEfer = 0xC0000080, kMsrStar = 0xC0000081, kMsrLstar = 0xC0000082, kMsrCstar = 0xC0000083,
  kMsrSfmask = 0xC0000084, kMsrFsBase = 0xC0000100, kMsrGsBase = 0xC0000101, kMsrKernelGsBase = 0xC0000102,
  kMsrTscAux = 0xC0000103,
};

inline constexpr uint64_t kEferSce = 1u << 0, kEferLme = 1u << 8, kEferLma = 1u << 10, kEferNxe = 1u << 11;

// False with #GP(0) pending when the MSR does not exist or the value is invalid.
bool read_msr(CpuState& c, uint32_t index, uint64_t& value);
bool write_msr(CpuState& c, uint32_t index, uint64_t value);

}  // namespace kestrel::machine
