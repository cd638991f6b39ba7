#include "machine/cpu_model.h"

#include <cstring>

namespace kestrel::machine {

namespace {

struct CpuidBit {
  Feature f;
  uint32_t leaf;
  int reg;  // 0 eax, 1 ebx, 2 ecx, 3 edx
  int bit;
  uint32_t subleaf = 0;  // leaf 7 only: the subleaf that holds the bit
};

// SDM Vol. 2A, CPUID, Tables 3-10/3-11 and the extended leaves.
constexpr CpuidBit kBits[] = {
    {Feature::Fpu, 1, 3, 0},     {Feature::Vme, 1, 3, 1},      {Feature::De, 1, 3, 2},
    {Feature::Pse, 1, 3, 3},     {Feature::Tsc, 1, 3, 4},      {Feature::Msr, 1, 3, 5},
    {Feature::Pae, 1, 3, 6},     {Feature::Mce, 1, 3, 7},      {Feature::Cx8, 1, 3, 8},
    {Feature::Apic, 1, 3, 9},    {Feature::Sep, 1, 3, 11},     {Feature::Mtrr, 1, 3, 12},
    {Feature::Pge, 1, 3, 13},    {Feature::Mca, 1, 3, 14},     {Feature::Cmov, 1, 3, 15},
    {Feature::Pat, 1, 3, 16},    {Feature::Pse36, 1, 3, 17},   {Feature::Clfsh, 1, 3, 19},
    {Feature::Mmx, 1, 3, 23},    {Feature::Fxsr, 1, 3, 24},    {Feature::Sse, 1, 3, 25},
    {Feature::Sse2, 1, 3, 26},   {Feature::Sse3, 1, 2, 0},     {Feature::Pclmul, 1, 2, 1},
    {Feature::Ssse3, 1, 2, 9},   {Feature::Cx16, 1, 2, 13},    {Feature::Sse41, 1, 2, 19},
    {Feature::Sse42, 1, 2, 20},  {Feature::Movbe, 1, 2, 22},   {Feature::Popcnt, 1, 2, 23},
    {Feature::Xsave, 1, 2, 26},  {Feature::Syscall, 0x80000001, 3, 11},
    {Feature::Nx, 0x80000001, 3, 20}, {Feature::Rdtscp, 0x80000001, 3, 27},
    {Feature::Lm, 0x80000001, 3, 29}, {Feature::Lahf64, 0x80000001, 2, 0},
    {Feature::TscDeadline, 1, 2, 24}, {Feature::Arat, 6, 0, 2},
    {Feature::InvariantTsc, 0x80000007, 3, 8},
    {Feature::IbrsIbpb, 7, 3, 26},    {Feature::ArchCapabilities, 7, 3, 29},
    {Feature::BhiCtrl, 7, 3, 4, 2},
};

std::vector<CpuModel> make_models() {
  std::vector<CpuModel> m;
  // The default grows as the implementation does: it advertises only what runs.
  // One feature per line: each family's handlers add their features here when complete.
  CpuModel x64{"default", "x86-64 core: integer, system, x87, MMX, SSE-SSE4.2", 6, 0x3A, 9,
                "GenuineIntel", "Kestrel virtual x86-64 CPU",
                {
                    Feature::Fpu,
                    Feature::I386,
                    Feature::I486,
                    Feature::Cpuid,
                    Feature::De,
                    Feature::Pse,
                    Feature::Tsc,
                    Feature::Msr,
                    Feature::Pae,
                    Feature::Cx8,
                    Feature::Sep,
                    Feature::Mtrr,
                    Feature::Pge,
                    Feature::Cmov,
                    Feature::Pat,
                    Feature::Pse36,
                    Feature::Clfsh,
                    Feature::Cx16,
                    Feature::Syscall,
                    Feature::Nx,
                    Feature::Lm,
                    Feature::Lahf64,
                    Feature::Rdtscp,
                    Feature::Apic,
                    Feature::TscDeadline,
                    Feature::Arat,
                    Feature::InvariantTsc,
                    Feature::Mmx,
                    Feature::Ssse3,
                    Feature::Sse42,
                    Feature::Popcnt,
                    Feature::Fxsr,
                    Feature::Sse,
                    Feature::Sse2,
                    Feature::Sse3,
                    Feature::Sse41,
                    Feature::Xsave,
                    // Speculation controls: the model executes in order and never
                    // predicts, so it can truthfully say it is immune (msr.cpp).
                    Feature::IbrsIbpb,
                    Feature::ArchCapabilities,
                    Feature::BhiCtrl,
                }};
  x64.phys_bits = 40;
  x64.max_basic_leaf = 0x16;
  x64.virt_bits = 48;
  m.push_back(x64);
  m.push_back(CpuModel{"486", "Intel 486DX-class integer core (no x87 yet)", 4, 8, 0, "GenuineIntel", "",
                       {Feature::I386, Feature::I486, Feature::Cpuid}});
  for (auto& x : m) x.finalize();
  return m;
}

}  // namespace

void CpuModel::finalize() {
  feature_bits = 0;
  for (Feature f : features) feature_bits |= 1ull << static_cast<unsigned>(f);
}

bool CpuModel::has(Feature f) const {
  return f == Feature::None || (feature_bits >> static_cast<unsigned>(f)) & 1;
}

uint32_t CpuModel::signature() const {
  uint32_t fam = family > 15 ? 15 : family, ext_fam = family > 15 ? family - 15 : 0;
  return (ext_fam << 20) | ((model >> 4) << 16) | (fam << 8) | ((model & 15) << 4) | stepping;
}

void CpuModel::cpuid(uint32_t leaf, uint32_t subleaf, uint32_t out[4], uint64_t cr4) const {
  out[0] = out[1] = out[2] = out[3] = 0;
  // Leaf 0xD (XSAVE) is the highest basic leaf a model with XSAVE needs; leaves 2-0xC
  // then read as zeros (no cache descriptors, no topology) except the speculation-control
  // bits of leaf 7.
  uint32_t max_basic = has(Feature::Xsave) ? 0xD : 1;
  if (max_basic_leaf > max_basic) max_basic = max_basic_leaf;  // up to 0x16: TSC and crystal frequencies
  uint32_t max_ext = has(Feature::Lm) ? 0x80000008 : !brand.empty() ? 0x80000004 : 0;
  if (leaf >= 0x80000000 && max_ext == 0) leaf = max_basic;  // out of range: highest basic leaf
  else if (leaf >= 0x80000000 && leaf > max_ext) leaf = max_basic;
  else if (leaf < 0x80000000 && leaf > max_basic) leaf = max_basic;
  // Leaf 7 spreads its feature flags over subleaves; the other leaves here have none.
  for (const auto& b : kBits)
    if (b.leaf == leaf && (leaf != 7 || subleaf == b.subleaf) && has(b.f)) out[b.reg] |= 1u << b.bit;
  switch (leaf) {
    case 0: {
      out[0] = max_basic;
      std::memcpy(&out[1], vendor.data() + 0, 4);
      std::memcpy(&out[3], vendor.data() + 4, 4);
      std::memcpy(&out[2], vendor.data() + 8, 4);
      break;
    }
    case 1:
      out[0] = signature();
      if (has(Feature::Clfsh)) out[1] = 8u << 8;  // CLFLUSH line size in 8-byte units
      // OSXSAVE (ECX bit 27) mirrors CR4.OSXSAVE (bit 18).
      if (has(Feature::Xsave) && (cr4 & (1u << 18))) out[2] |= 1u << 27;
      break;
    case 7:
      // Subleaf 0 EAX: the highest subleaf (2 holds BHI_CTRL).
      if (subleaf == 0) out[0] = has(Feature::BhiCtrl) ? 2 : 0;
      break;
    case 0xD:
      // XSAVE state components (SDM Vol. 1 §13.2): x87 and SSE only, both in the 512-byte
      // legacy region, so the area is 512 + the 64-byte header whatever XCR0 enables.
      // Subleaf 1 (XSAVEOPT/XSAVEC/XGETBV1/XSAVES) and the component subleaves are zero.
      if (subleaf == 0) {
        out[0] = 3;    // XCR0 bits that may be set
        out[1] = 576;  // size for the components enabled in XCR0
        out[2] = 576;  // size for all supported components
      }
      break;
    case 0x15:
      // TSC / core crystal clock (SDM Vol. 2A CPUID leaf 15H): TSC = ECX * EBX / EAX.
      out[0] = 1;
      out[1] = kTscCrystalRatio;
      out[2] = static_cast<uint32_t>(kCoreCrystalHz);
      break;
    case 0x16:
      // Base and maximum frequency in MHz (the 1 GHz TSC rate), bus reference 100 MHz.
      out[0] = static_cast<uint32_t>(kCoreCrystalHz * kTscCrystalRatio / 1'000'000);
      out[1] = out[0];
      out[2] = 100;
      break;
    case 0x80000000:
      out[0] = max_ext;
      break;
    case 0x80000008:
      out[0] = phys_bits | (virt_bits << 8);
      break;
    case 0x80000002:
    case 0x80000003:
    case 0x80000004: {
      char buf[48] = {};
      std::memcpy(buf, brand.data(), brand.size() < 47 ? brand.size() : 47);
      std::memcpy(out, buf + (leaf - 0x80000002) * 16, 16);
      break;
    }
    default:
      break;
  }
}

const std::vector<CpuModel>& cpu_models() {
  static const std::vector<CpuModel> models = make_models();
  return models;
}

const CpuModel* find_cpu_model(const std::string& name) {
  for (const auto& m : cpu_models())
    if (m.name == name) return &m;
  return nullptr;
}

}  // namespace kestrel::machine
