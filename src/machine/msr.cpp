#include "machine/msr.h"

#include "machine/cpu_model.h"
#include "machine/devices/lapic.h"
#include "machine/exceptions.h"
#include "machine/machine.h"
#include "machine/memory.h"
#include "machine/segments.h"

namespace kestrel::machine {

namespace {

bool canonical(uint64_t a) { return static_cast<uint64_t>((static_cast<int64_t>(a) >> 47) + 1) <= 1; }

// The MTRR indices that exist: 8 variable pairs and the 11 fixed-range registers.
uint64_t* mtrr_slot(CpuState& c, uint32_t i) {
  if (i >= kMsrMtrrPhysBase0 && i < kMsrMtrrPhysBase0 + 16) return &c.mtrr_var[i - kMsrMtrrPhysBase0];
  if (i == kMsrMtrrFix64k) return &c.mtrr_fixed[0];
  if (i == kMsrMtrrFix16k80) return &c.mtrr_fixed[1];
  if (i == kMsrMtrrFix16kA0) return &c.mtrr_fixed[2];
  if (i >= kMsrMtrrFix4kC0 && i < kMsrMtrrFix4kC0 + 8) return &c.mtrr_fixed[3 + i - kMsrMtrrFix4kC0];
  if (i == kMsrMtrrDefType) return &c.mtrr_def_type;
  return nullptr;
}

}  // namespace

// Kestrel executes one instruction at a time, in order: no speculative execution, no
// branch or return predictors, no caches, fill or store buffers shared between contexts.
// Each bit below claims immunity to a speculation or stale-data attack, which is true of
// such a machine; the bits that announce a control MSR (TSX_CTRL, FB_CLEAR_CTRL,
// GDS_CTRL, ...) or a vulnerability (RSBA, RRSBA) stay clear. IBRS_ALL needs the
// IA32_SPEC_CTRL MSR (CPUID.7.0:EDX[26]): with nothing predicted, IBRS set once
// restricts every prediction, as enhanced IBRS promises. (Linux 6.1.13x and later treat
// every eIBRS part as exposed to branch history injection whatever BHI_NO says, and
// without BHI_CTRL clear the history in software on every system call: BHI_DIS_S, as
// vacuous here as IBRS, spares the guest that loop.)
uint64_t arch_capabilities(const CpuModel& model) {
  if (!model.has(Feature::ArchCapabilities)) return 0;
  uint64_t v = kArchCapRdclNo | kArchCapSkipL1dflVmentry | kArchCapSsbNo | kArchCapMdsNo | kArchCapPschangeMcNo |
               kArchCapTaaNo | kArchCapSbdrSsdpNo | kArchCapFbsdpNo | kArchCapPsdpNo | kArchCapBhiNo |
               kArchCapPbrsbNo | kArchCapGdsNo | kArchCapRfdsNo;
  if (model.has(Feature::IbrsIbpb)) v |= kArchCapIbrsAll;
  return v;
}

bool read_msr(CpuState& c, uint32_t i, uint64_t& v) {
  const CpuModel& model = c.machine->cpu_model();
  const bool lm = model.has(Feature::Lm);
  switch (i) {
    case kMsrTsc: v = c.machine->clock().tsc(c.icount) + c.tsc_offset; return true;
    case kMsrBiosSignId: v = 0; return true;
    case kMsrSpecCtrl: if (!model.has(Feature::IbrsIbpb)) break; v = c.msr_spec_ctrl; return true;
    // IA32_PRED_CMD is write-only: RDMSR raises #GP (SDM Vol. 4 Table 2-2).
    case kMsrArchCapabilities: if (!model.has(Feature::ArchCapabilities)) break; v = arch_capabilities(model); return true;
    // IA32_PLATFORM_ID: every Intel P6-family and later CPU has it (Linux's microcode
    // driver reads it without the _safe accessor); platform 0, no microcode slots.
    case kMsrPlatformId: if (model.vendor != "GenuineIntel" || model.family < 6) break; v = 0; return true;
    case kMsrMiscEnable: v = c.msr_misc_enable; return true;
    case kMsrPat: if (!model.has(Feature::Pat)) break; v = c.msr_pat; return true;
    case kMsrApicBase: if (!model.has(Feature::Apic)) break; v = c.msr_apic_base; return true;
    case kMsrTscDeadline:
      if (!model.has(Feature::TscDeadline)) break;
      v = c.machine->lapic() ? c.machine->lapic()->read_tsc_deadline() : 0;
      return true;
    case kMsrSysenterCs: if (!model.has(Feature::Sep)) break; v = c.msr_sysenter_cs; return true;
    case kMsrSysenterEsp: if (!model.has(Feature::Sep)) break; v = c.msr_sysenter_esp; return true;
    case kMsrSysenterEip: if (!model.has(Feature::Sep)) break; v = c.msr_sysenter_eip; return true;
    case kMsrMtrrCap: if (!model.has(Feature::Mtrr)) break; v = 0x508; return true;  // WC, fixed ranges, 8 variable
    case kMsrEfer: if (!lm && !model.has(Feature::Nx) && !model.has(Feature::Syscall)) break; v = c.efer; return true;
    case kMsrStar: if (!model.has(Feature::Syscall)) break; v = c.msr_star; return true;
    case kMsrLstar: if (!lm) break; v = c.msr_lstar; return true;
    case kMsrCstar: if (!lm) break; v = c.msr_cstar; return true;
    case kMsrSfmask: if (!lm) break; v = c.msr_sfmask; return true;
    case kMsrFsBase: if (!lm) break; v = c.seg[FS].base; return true;
    case kMsrGsBase: if (!lm) break; v = c.seg[GS].base; return true;
    case kMsrKernelGsBase: if (!lm) break; v = c.msr_kernel_gs_base; return true;
    case kMsrTscAux: if (!model.has(Feature::Rdtscp)) break; v = c.msr_tsc_aux; return true;
    default:
      if (model.has(Feature::Mtrr))
        if (uint64_t* p = mtrr_slot(c, i)) {
          v = *p;
          return true;
        }
      break;
  }
  raise_gp(c, 0);
  return false;
}

bool write_msr(CpuState& c, uint32_t i, uint64_t v) {
  const CpuModel& model = c.machine->cpu_model();
  const bool lm = model.has(Feature::Lm);
  auto gp = [&]() {
    raise_gp(c, 0);
    return false;
  };
  switch (i) {
    case kMsrTsc:
      c.tsc_offset = v - c.machine->clock().tsc(c.icount);
      return true;
    case kMsrBiosSignId: return true;
    case kMsrPlatformId: break;  // read-only: a write raises #GP
    // IA32_SPEC_CTRL has IBRS and, with BHI_CTRL, BHI_DIS_S (no STIBP, no SSBD); other
    // bits are reserved (#GP). Nothing predicts, so the value only needs reading back.
    case kMsrSpecCtrl: {
      if (!model.has(Feature::IbrsIbpb)) break;
      const uint64_t valid = kSpecCtrlIbrs | (model.has(Feature::BhiCtrl) ? kSpecCtrlBhiDisS : 0);
      if (v & ~valid) return gp();
      c.msr_spec_ctrl = v;
      return true;
    }
    // IBPB: a barrier against predictions made before it; there are none to discard.
    case kMsrPredCmd: if (!model.has(Feature::IbrsIbpb) || (v & ~kPredCmdIbpb)) break; return true;
    case kMsrArchCapabilities: break;  // read-only
    case kMsrMiscEnable: c.msr_misc_enable = v; return true;
    case kMsrPat:
      if (!model.has(Feature::Pat)) break;
      for (int b = 0; b < 8; ++b) {
        unsigned t = (v >> (8 * b)) & 0xFF;
        if (t == 2 || t == 3 || t > 7) return gp();  // reserved memory types
      }
      c.msr_pat = v;
      return true;
    case kMsrApicBase: {
      if (!model.has(Feature::Apic)) break;
      // Reserved: bits 0-7, 9, EXTD (bit 10: no x2APIC) and the bits above the
      // physical-address width (SDM Vol. 3 §10.4.4, Figure 10-5).
      const uint64_t reserved = 0x6FFull | ~((1ull << model.phys_bits) - 1);
      if (v & reserved & ~Lapic::kBaseBsp) return gp();
      if (Lapic* apic = c.machine->lapic()) apic->write_apic_base(v);  // relocation, enable/disable
      else c.msr_apic_base = (v & ~Lapic::kBaseBsp) | (c.msr_apic_base & Lapic::kBaseBsp);  // BSP is read-only
      return true;
    }
    case kMsrTscDeadline:
      if (!model.has(Feature::TscDeadline)) break;
      if (Lapic* apic = c.machine->lapic()) apic->write_tsc_deadline(v);
      return true;
    case kMsrSysenterCs: if (!model.has(Feature::Sep)) break; c.msr_sysenter_cs = v & 0xFFFF; return true;
    case kMsrSysenterEsp:
      if (!model.has(Feature::Sep)) break;
      if (lm && !canonical(v)) return gp();
      c.msr_sysenter_esp = v;
      return true;
    case kMsrSysenterEip:
      if (!model.has(Feature::Sep)) break;
      if (lm && !canonical(v)) return gp();
      c.msr_sysenter_eip = v;
      return true;
    case kMsrMtrrCap: break;  // read-only
    case kMsrEfer: {
      if (!lm && !model.has(Feature::Nx) && !model.has(Feature::Syscall)) break;
      uint64_t allowed = (model.has(Feature::Syscall) ? kEferSce : 0) | (lm ? kEferLme : 0) |
                         (model.has(Feature::Nx) ? kEferNxe : 0);
      if (v & ~(allowed | kEferLma)) return gp();
      // LME may not change while paging is on (SDM Vol. 3 §9.8.5).
      if ((c.cr0 & kCr0PG) && ((v ^ c.efer) & kEferLme)) return gp();
      uint64_t nv = (v & allowed) | (c.efer & kEferLma);
      if ((nv ^ c.efer) & kEferNxe) tlb_flush(c);
      c.efer = nv;
      return true;
    }
    case kMsrStar: if (!model.has(Feature::Syscall)) break; c.msr_star = v; return true;
    case kMsrLstar: if (!lm) break; if (!canonical(v)) return gp(); c.msr_lstar = v; return true;
    case kMsrCstar: if (!lm) break; if (!canonical(v)) return gp(); c.msr_cstar = v; return true;
    case kMsrSfmask: if (!lm) break; c.msr_sfmask = v & 0xFFFFFFFF; return true;
    case kMsrFsBase: if (!lm) break; if (!canonical(v)) return gp(); c.seg[FS].base = v; refresh_segment(c, c.seg[FS]); return true;
    case kMsrGsBase: if (!lm) break; if (!canonical(v)) return gp(); c.seg[GS].base = v; refresh_segment(c, c.seg[GS]); return true;
    case kMsrKernelGsBase: if (!lm) break; if (!canonical(v)) return gp(); c.msr_kernel_gs_base = v; return true;
    case kMsrTscAux: if (!model.has(Feature::Rdtscp)) break; if (v >> 32) return gp(); c.msr_tsc_aux = v; return true;
    default:
      if (model.has(Feature::Mtrr))
        if (uint64_t* p = mtrr_slot(c, i)) {
          *p = v;
          return true;
        }
      break;
  }
  return gp();
}

}  // namespace kestrel::machine
