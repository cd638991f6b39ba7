// CPU models: one coherent description per --cpu choice. CPUID is generated from
// the model's feature set, and the instruction table gates instructions on the
// same features, so CPUID advertises exactly what is implemented.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kestrel::machine {

// Features as CPUID bits: (leaf register << 5 | bit) grouped by leaf.
enum class Feature : uint16_t {
  None = 0,
  // CPUID.1:EDX
  Fpu, Vme, De, Pse, Tsc, Msr, Pae, Mce, Cx8, Apic, Sep, Mtrr, Pge, Mca, Cmov, Pat, Pse36, Clfsh,
  Mmx, Fxsr, Sse, Sse2,
  // CPUID.1:ECX
  Sse3, Pclmul, Ssse3, Cx16, Sse41, Sse42, Movbe, Popcnt, Xsave, Osxsave,
  // CPUID.80000001
  Syscall, Nx, Lm, Lahf64, Rdtscp,
  // Timekeeping: CPUID.1:ECX.TSC_DEADLINE, CPUID.6:EAX.ARAT (the APIC timer runs in
  // every C-state), CPUID.80000007:EDX invariant TSC
  TscDeadline, Arat, InvariantTsc,
  // CPUID.(EAX=7,ECX=0):EDX: IBRS/IBPB (IA32_SPEC_CTRL.IBRS, IA32_PRED_CMD.IBPB) and
  // IA32_ARCH_CAPABILITIES (see msr.cpp for the bits it reports); CPUID.(EAX=7,ECX=2):EDX:
  // BHI_CTRL (IA32_SPEC_CTRL.BHI_DIS_S)
  IbrsIbpb, ArchCapabilities, BhiCtrl,
  // implementation-level (no CPUID bit)
  I386,  // 32-bit operand/address sizes, 0F-map 386 instructions
  I486,  // BSWAP, XADD, CMPXCHG, INVLPG
  Cpuid, // CPUID instruction itself
  Count,
};

// The core crystal clock CPUID leaf 0x15 reports (TSC = crystal x 40 = 1 GHz, the
// virtual clock's TSC rate); the local APIC timer counts at this rate.
inline constexpr uint64_t kCoreCrystalHz = 25'000'000;
inline constexpr uint32_t kTscCrystalRatio = 40;

struct CpuModel {
  std::string name;
  std::string description;
  uint32_t family, model, stepping;
  std::string vendor;  // 12 characters
  std::string brand;   // up to 48 characters
  std::vector<Feature> features;
  unsigned phys_bits = 36;  // physical-address width (CPUID 0x80000008; reserved bits in paging)
  unsigned virt_bits = 32;
  uint32_t max_basic_leaf = 1;  // leaves up to 0x16 (TSC and crystal frequencies) exist when raised

  bool has(Feature f) const;
  // cr4: the CPU's CR4, for the bits that mirror it (CPUID.1:ECX.OSXSAVE = CR4.OSXSAVE).
  void cpuid(uint32_t leaf, uint32_t subleaf, uint32_t out[4], uint64_t cr4 = 0) const;
  uint32_t signature() const;  // CPUID.1:EAX, also EDX after reset

  uint64_t feature_bits = 0;   // filled by finalize()
  void finalize();
};

// The models --cpu accepts, default first.
const std::vector<CpuModel>& cpu_models();
const CpuModel* find_cpu_model(const std::string& name);

}  // namespace kestrel::machine
