// The default CPU model's speculation controls (machine/cpu_model, machine/msr): CPUID
// leaf 7 enumerates IBRS/IBPB, IA32_ARCH_CAPABILITIES and BHI_CTRL in the right
// subleaves; IA32_ARCH_CAPABILITIES says "not affected" for the attacks an in-order,
// non-speculating machine cannot suffer (what makes Linux leave out page-table
// isolation, VERW buffer clearing, retpolines and the BHB clearing loop) and nothing
// else; IA32_SPEC_CTRL and IA32_PRED_CMD follow the SDM's access rules.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "machine/cpu_model.h"
#include "machine/exceptions.h"
#include "machine/machine.h"
#include "machine/msr.h"

using namespace kestrel;
using namespace kestrel::machine;

namespace {

struct Cpu {
  Machine m;
  explicit Cpu(const char* model = "default") : m(config(model)) {
    std::string err;
    REQUIRE_MESSAGE(m.init(err), err);
  }
  static MachineConfig config(const char* model) {
    MachineConfig cfg;
    cfg.ram_bytes = 1 << 20;
    cfg.cpu_model = model;
    return cfg;
  }
};

}  // namespace

TEST_CASE("speculation: CPUID leaf 7 has IBRS/IBPB and ARCH_CAPABILITIES in subleaf 0, BHI_CTRL in subleaf 2") {
  Cpu cpu;
  const CpuModel& model = cpu.m.cpu_model();
  uint32_t r[4];
  model.cpuid(0, 0, r);
  REQUIRE(r[0] >= 7);
  model.cpuid(7, 0, r);
  CHECK(r[0] == 2);                 // highest subleaf
  CHECK(r[1] == 0);                 // no EBX features (no SMEP, FSGSBASE, ...)
  CHECK(r[2] == 0);
  CHECK(r[3] == ((1u << 26) | (1u << 29)));  // IBRS/IBPB, IA32_ARCH_CAPABILITIES; no STIBP, no SSBD
  model.cpuid(7, 1, r);
  CHECK((r[0] | r[1] | r[2] | r[3]) == 0);
  model.cpuid(7, 2, r);
  CHECK(r[0] == 0);
  CHECK(r[3] == (1u << 4));         // BHI_CTRL
  model.cpuid(7, 3, r);
  CHECK((r[0] | r[1] | r[2] | r[3]) == 0);
}

TEST_CASE("speculation: IA32_ARCH_CAPABILITIES reports the immunities and is read-only") {
  Cpu cpu;
  CpuState& c = cpu.m.cpu();
  uint64_t v = 0;
  REQUIRE(read_msr(c, kMsrArchCapabilities, v));
  // RDCL_NO (Meltdown: no PTI), IBRS_ALL (enhanced IBRS: no retpolines),
  // SKIP_L1DFL_VMENTRY, SSB_NO, MDS_NO (no VERW on kernel exit), IF_PSCHANGE_MC_NO,
  // TAA_NO, SBDR_SSDP_NO/FBSDP_NO/PSDP_NO (MMIO stale data), BHI_NO, PBRSB_NO, GDS_NO,
  // RFDS_NO. Clear: RSBA (2), TSX_CTRL (7), the control-MSR bits, FB_CLEAR (17),
  // RRSBA (19), GDS_CTRL (25), RFDS_CLEAR (28).
  CHECK(v == 0x0D10E17Bull);
  CHECK_FALSE(write_msr(c, kMsrArchCapabilities, v));
  CHECK(c.exc.vector == kVecGP);

  // A model without the MSR: #GP(0), as Linux's CPUID check expects.
  Cpu old("486");
  CHECK_FALSE(read_msr(old.m.cpu(), kMsrArchCapabilities, v));
  CHECK(old.m.cpu().exc.vector == kVecGP);
  uint32_t r[4];
  old.m.cpu_model().cpuid(7, 0, r);
  CHECK((r[3] >> 29 & 1) == 0);
}

TEST_CASE("speculation: IA32_SPEC_CTRL keeps IBRS and BHI_DIS_S, rejects other bits; IA32_PRED_CMD is write-only") {
  Cpu cpu;
  CpuState& c = cpu.m.cpu();
  uint64_t v = 1;
  REQUIRE(read_msr(c, kMsrSpecCtrl, v));
  CHECK(v == 0);  // reset value
  REQUIRE(write_msr(c, kMsrSpecCtrl, kSpecCtrlIbrs | kSpecCtrlBhiDisS));
  REQUIRE(read_msr(c, kMsrSpecCtrl, v));
  CHECK(v == (kSpecCtrlIbrs | kSpecCtrlBhiDisS));
  for (uint64_t bad : {1ull << 1 /*STIBP*/, 1ull << 2 /*SSBD*/, 1ull << 6 /*RRSBA_DIS_S*/, 1ull << 63}) {
    c.exc = PendingException{};
    CHECK_FALSE(write_msr(c, kMsrSpecCtrl, kSpecCtrlIbrs | bad));
    CHECK(c.exc.vector == kVecGP);
  }
  REQUIRE(read_msr(c, kMsrSpecCtrl, v));
  CHECK(v == (kSpecCtrlIbrs | kSpecCtrlBhiDisS));  // a rejected write changes nothing

  c.exc = PendingException{};
  CHECK(write_msr(c, kMsrPredCmd, kPredCmdIbpb));
  CHECK(write_msr(c, kMsrPredCmd, 0));
  CHECK_FALSE(write_msr(c, kMsrPredCmd, 1u << 7));  // SBPB is AMD's
  CHECK(c.exc.vector == kVecGP);
  c.exc = PendingException{};
  CHECK_FALSE(read_msr(c, kMsrPredCmd, v));
  CHECK(c.exc.vector == kVecGP);

  // A reset clears IA32_SPEC_CTRL.
  cpu.m.reset();
  REQUIRE(read_msr(cpu.m.cpu(), kMsrSpecCtrl, v));
  CHECK(v == 0);
}
