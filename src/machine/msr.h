// Model-specific registers (SDM Vol. 4). Only the MSRs the CPU model has exist:
// any other index raises #GP(0), as the kernels' rdmsr_safe paths expect.
#pragma once

#include <cstdint>

#include "machine/cpu_state.h"

namespace kestrel::machine {

struct CpuModel;

enum : uint32_t {
  kMsrTsc = 0x10, kMsrPlatformId = 0x17, kMsrApicBase = 0x1B, kMsrSpecCtrl = 0x48, kMsrPredCmd = 0x49,
  kMsrBiosSignId = 0x8B, kMsrMtrrCap = 0xFE, kMsrArchCapabilities = 0x10A,
  kMsrSysenterCs = 0x174, kMsrSysenterEsp = 0x175, kMsrSysenterEip = 0x176, kMsrMiscEnable = 0x1A0,
  kMsrMtrrPhysBase0 = 0x200, kMsrMtrrFix64k = 0x250, kMsrMtrrFix16k80 = 0x258, kMsrMtrrFix16kA0 = 0x259,
  kMsrMtrrFix4kC0 = 0x268, kMsrPat = 0x277, kMsrMtrrDefType = 0x2FF, kMsrTscDeadline = 0x6E0,
  kMsrEfer = 0xC0000080, kMsrStar = 0xC0000081, kMsrLstar = 0xC0000082, kMsrCstar = 0xC0000083,
  kMsrSfmask = 0xC0000084, kMsrFsBase = 0xC0000100, kMsrGsBase = 0xC0000101, kMsrKernelGsBase = 0xC0000102,
  kMsrTscAux = 0xC0000103,
};

// IA32_ARCH_CAPABILITIES bits (SDM Vol. 4 Table 2-2, MSR 10AH).
enum : uint64_t {
  kArchCapRdclNo = 1ull << 0,           // not susceptible to rogue data cache load (Meltdown)
  kArchCapIbrsAll = 1ull << 1,          // enhanced IBRS
  kArchCapSkipL1dflVmentry = 1ull << 3, // no L1D flush needed on VM entry
  kArchCapSsbNo = 1ull << 4,            // not susceptible to speculative store bypass
  kArchCapMdsNo = 1ull << 5,            // not susceptible to microarchitectural data sampling
  kArchCapPschangeMcNo = 1ull << 6,     // no machine check on a page-size change without INVLPG
  kArchCapTaaNo = 1ull << 8,            // not susceptible to TSX asynchronous abort
  kArchCapSbdrSsdpNo = 1ull << 13,      // MMIO stale data: not susceptible to SBDR and SSDP
  kArchCapFbsdpNo = 1ull << 14,         //   nor to FBSDP
  kArchCapPsdpNo = 1ull << 15,          //   nor to PSDP
  kArchCapBhiNo = 1ull << 20,           // not susceptible to branch history injection
  kArchCapPbrsbNo = 1ull << 24,         // no post-barrier return stack buffer predictions
  kArchCapGdsNo = 1ull << 26,           // not susceptible to gather data sampling
  kArchCapRfdsNo = 1ull << 27,          // not susceptible to register file data sampling
};
inline constexpr uint64_t kSpecCtrlIbrs = 1u << 0, kSpecCtrlBhiDisS = 1u << 10, kPredCmdIbpb = 1u << 0;

// What the model's IA32_ARCH_CAPABILITIES reads (0 when it has none).
uint64_t arch_capabilities(const CpuModel& model);

inline constexpr uint64_t kEferSce = 1u << 0, kEferLme = 1u << 8, kEferLma = 1u << 10, kEferNxe = 1u << 11;

// False with #GP(0) pending when the MSR does not exist or the value is invalid.
bool read_msr(CpuState& c, uint32_t index, uint64_t& value);
bool write_msr(CpuState& c, uint32_t index, uint64_t value);

}  // namespace kestrel::machine
