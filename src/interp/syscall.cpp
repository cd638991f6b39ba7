// Fast system calls and MSR access: RDMSR WRMSR SYSCALL SYSRET SYSENTER SYSEXIT
// SWAPGS RDTSCP (SDM Vol. 2B, each instruction's "Operation"; Vol. 3 §5.8.7-5.8.8).
#include "interp/handlers.h"
#include "interp/operands.h"
#include "machine/cpu_model.h"
#include "machine/machine.h"
#include "machine/descriptors.h"
#include "machine/msr.h"

namespace kestrel::interp::handlers {

namespace {

bool canonical(uint64_t a) { return static_cast<uint64_t>((static_cast<int64_t>(a) >> 47) + 1) <= 1; }

// The fixed flat segments SYSCALL/SYSENTER and their returns load: the descriptor
// tables are not read (SDM Vol. 2B, SYSCALL "Operation").
void load_flat(CpuState& c, uint8_t seg, uint16_t sel, bool code, unsigned dpl, bool long_code) {
  m::SegmentCache& s = c.seg[seg];
  s.selector = sel;
  s.base = 0;
  s.limit = 0xFFFFFFFF;
  uint16_t attr = static_cast<uint16_t>((code ? 0x9B : 0x93) | (dpl << 5) | m::kSegAttrG);
  if (long_code) attr |= m::kSegAttrL;
  else attr |= m::kSegAttrD;
  s.attr = attr;
}

void finish_mode_change(CpuState& c, unsigned cpl) {
  c.cpl = static_cast<uint8_t>(cpl);
  m::update_cpu_mode(c);
  m::refresh_all_segments(c);
}

}  // namespace

ExecStatus RDMSR(CpuState& c, const DecodedInsn&) {
  if (c.mode == m::CpuMode::Virtual8086 || (c.mode != m::CpuMode::Real && c.cpl != 0)) return m::raise_gp(c, 0);
  uint64_t v;
  KESTREL_TRY(m::read_msr(c, static_cast<uint32_t>(c.gpr[m::RCX]), v));
  c.gpr[m::RAX] = static_cast<uint32_t>(v);
  c.gpr[m::RDX] = v >> 32;
  return ExecStatus::Ok;
}

ExecStatus WRMSR(CpuState& c, const DecodedInsn& d) {
  if (c.mode == m::CpuMode::Virtual8086 || (c.mode != m::CpuMode::Real && c.cpl != 0)) return m::raise_gp(c, 0);
  uint64_t v = (c.gpr[m::RDX] << 32) | static_cast<uint32_t>(c.gpr[m::RAX]);
  KESTREL_TRY(m::write_msr(c, static_cast<uint32_t>(c.gpr[m::RCX]), v));
  c.rip = next_ip(c, d);
  return ExecStatus::Branch;
}

// SYSCALL: Intel processors support it only in 64-bit mode.
ExecStatus SYSCALL(CpuState& c, const DecodedInsn& d) {
  if (c.mode != m::CpuMode::Long64 || !(c.efer & m::kEferSce)) return m::raise_ud(c);
  uint64_t flags = m::materialize_flags(c);
  c.gpr[m::RCX] = c.rip + d.len;
  c.gpr[m::R11] = flags & ~static_cast<uint64_t>(m::kRF);
  uint16_t cs = static_cast<uint16_t>((c.msr_star >> 32) & 0xFFFC);
  load_flat(c, m::CS, cs, true, 0, true);
  load_flat(c, m::SS, static_cast<uint16_t>(cs + 8), false, 0, false);
  c.rflags = (flags & ~(c.msr_sfmask | m::kRF)) | m::kFlagsFixed1;
  c.rip = c.msr_lstar;
  finish_mode_change(c, 0);
  return ExecStatus::Branch;
}

ExecStatus SYSRET(CpuState& c, const DecodedInsn& d) {
  if (c.mode != m::CpuMode::Long64 || !(c.efer & m::kEferSce)) return m::raise_ud(c);
  if (c.cpl != 0) return m::raise_gp(c, 0);
  const bool to64 = d.osize == 8;
  if (to64 && !canonical(c.gpr[m::RCX])) return m::raise_gp(c, 0);
  uint16_t base = static_cast<uint16_t>((c.msr_star >> 48) & 0xFFFF);
  if (to64) {
    load_flat(c, m::CS, static_cast<uint16_t>((base + 16) | 3), true, 3, true);
    c.rip = c.gpr[m::RCX];
  } else {
    load_flat(c, m::CS, static_cast<uint16_t>(base | 3), true, 3, false);
    c.rip = static_cast<uint32_t>(c.gpr[m::RCX]);
  }
  // SS's selector comes from STAR; its cached attributes stay those of a flat
  // DPL 3 data segment (SDM Vol. 2B, SYSRET).
  load_flat(c, m::SS, static_cast<uint16_t>((base + 8) | 3), false, 3, false);
  c.lf_kind = 0;
  c.rflags = (c.gpr[m::R11] & 0x3C7FD7ull) | m::kFlagsFixed1;
  finish_mode_change(c, 3);
  return ExecStatus::Branch;
}

ExecStatus SYSENTER(CpuState& c, const DecodedInsn&) {
  if (c.mode == m::CpuMode::Real || (c.msr_sysenter_cs & 0xFFFC) == 0) return m::raise_gp(c, 0);
  const bool lm = m::long_mode_active(c);
  uint16_t cs = static_cast<uint16_t>(c.msr_sysenter_cs & 0xFFFC);
  m::materialize_flags(c);
  c.rflags &= ~(m::kVM | m::kIF | m::kRF);
  load_flat(c, m::CS, cs, true, 0, lm);
  load_flat(c, m::SS, static_cast<uint16_t>(cs + 8), false, 0, false);
  c.rip = lm ? c.msr_sysenter_eip : static_cast<uint32_t>(c.msr_sysenter_eip);
  c.gpr[m::RSP] = lm ? c.msr_sysenter_esp : static_cast<uint32_t>(c.msr_sysenter_esp);
  finish_mode_change(c, 0);
  return ExecStatus::Branch;
}

ExecStatus SYSEXIT(CpuState& c, const DecodedInsn& d) {
  if (c.mode == m::CpuMode::Real || c.mode == m::CpuMode::Virtual8086 || c.cpl != 0 ||
      (c.msr_sysenter_cs & 0xFFFC) == 0)
    return m::raise_gp(c, 0);
  const bool to64 = d.osize == 8;
  uint16_t base = static_cast<uint16_t>(c.msr_sysenter_cs & 0xFFFF);
  if (to64) {
    if (!canonical(c.gpr[m::RDX]) || !canonical(c.gpr[m::RCX])) return m::raise_gp(c, 0);
    load_flat(c, m::CS, static_cast<uint16_t>((base + 32) | 3), true, 3, true);
    load_flat(c, m::SS, static_cast<uint16_t>((base + 40) | 3), false, 3, false);
    c.rip = c.gpr[m::RDX];
    c.gpr[m::RSP] = c.gpr[m::RCX];
  } else {
    load_flat(c, m::CS, static_cast<uint16_t>((base + 16) | 3), true, 3, false);
    load_flat(c, m::SS, static_cast<uint16_t>((base + 24) | 3), false, 3, false);
    c.rip = static_cast<uint32_t>(c.gpr[m::RDX]);
    c.gpr[m::RSP] = static_cast<uint32_t>(c.gpr[m::RCX]);
  }
  finish_mode_change(c, 3);
  return ExecStatus::Branch;
}

ExecStatus SWAPGS(CpuState& c, const DecodedInsn&) {
  if (c.mode != m::CpuMode::Long64) return m::raise_ud(c);
  if (c.cpl != 0) return m::raise_gp(c, 0);
  std::swap(c.seg[m::GS].base, c.msr_kernel_gs_base);
  return ExecStatus::Ok;
}

ExecStatus RDTSCP(CpuState& c, const DecodedInsn& d) {
  ExecStatus st = RDTSC(c, d);
  if (st != ExecStatus::Ok) return st;
  c.gpr[m::RCX] = static_cast<uint32_t>(c.msr_tsc_aux);
  return ExecStatus::Ok;
}

}  // namespace kestrel::interp::handlers
