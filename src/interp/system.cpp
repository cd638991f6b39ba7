// Flag control, HLT, NOPs, CPUID, RDTSC, the undefined-opcode instructions, and
// the system instructions real-mode code uses to reach protected mode and back
// (LGDT/LIDT/SGDT/SIDT, SMSW/LMSW, CLTS, MOV to/from CR0-CR4, WBINVD/INVD).
#include <fmt/format.h>

#include "interp/handlers.h"
#include "interp/operands.h"
#include "interp/x87/x87_state.h"
#include "machine/cpu_model.h"
#include "machine/machine.h"
#include "machine/msr.h"
#include "machine/paging.h"

namespace kestrel::interp::handlers {

namespace {

bool privileged(const CpuState& c) { return c.mode == m::CpuMode::Real || c.cpl == 0; }

// CLI/STI sensitivity: allowed when CPL <= IOPL (SDM Vol. 2A, CLI "Operation").
bool if_change_allowed(CpuState& c) {
  if (c.mode == m::CpuMode::Real) return true;
  unsigned iopl = (m::materialize_flags(c) & m::kIOPL) >> 12;
  if (c.mode == m::CpuMode::Virtual8086) return iopl == 3;
  return c.cpl <= iopl;
}

enum : uint64_t { kCr4Tsd = 1u << 2, kCr4Pae = 1u << 5, kCr4Pse = 1u << 4, kCr4Pge = 1u << 7 };

}  // namespace

ExecStatus CLC(CpuState& c, const DecodedInsn&) { m::set_arith_flags(c, 0, m::kCF); return ExecStatus::Ok; }
ExecStatus STC(CpuState& c, const DecodedInsn&) { m::set_arith_flags(c, m::kCF, m::kCF); return ExecStatus::Ok; }
ExecStatus CMC(CpuState& c, const DecodedInsn&) {
  m::set_arith_flags(c, m::get_cf(c) ? 0 : m::kCF, m::kCF);
  return ExecStatus::Ok;
}
ExecStatus CLD(CpuState& c, const DecodedInsn&) { c.rflags &= ~m::kDF; return ExecStatus::Ok; }
ExecStatus STD(CpuState& c, const DecodedInsn&) { c.rflags |= m::kDF; return ExecStatus::Ok; }

ExecStatus CLI(CpuState& c, const DecodedInsn&) {
  if (!if_change_allowed(c)) return m::raise_gp(c, 0);
  c.rflags &= ~m::kIF;
  return ExecStatus::Ok;
}

// STI: interrupts stay held until after the next instruction when IF was clear
// (SDM Vol. 2B, STI).
ExecStatus STI(CpuState& c, const DecodedInsn& d) {
  if (!if_change_allowed(c)) return m::raise_gp(c, 0);
  if (!(c.rflags & m::kIF)) c.interrupt_shadow = m::kShadowSti;
  c.rflags |= m::kIF;
  c.rip = next_ip(c, d);
  return ExecStatus::Branch;
}

ExecStatus HLT(CpuState& c, const DecodedInsn& d) {
  if (!privileged(c)) return m::raise_gp(c, 0);
  c.rip = next_ip(c, d);
  return ExecStatus::Halt;
}

ExecStatus NOP(CpuState&, const DecodedInsn&) { return ExecStatus::Ok; }

// WAIT/FWAIT: #NM when CR0.MP and CR0.TS are both set (SDM Vol. 3 §2.5, Table 2-2),
// then a pending unmasked x87 exception is signalled (#MF or FERR#).
ExecStatus WAIT(CpuState& c, const DecodedInsn&) { return x87_fwait(c); }

ExecStatus CPUID(CpuState& c, const DecodedInsn&) {
  uint32_t r[4];
  c.machine->cpu_model().cpuid(static_cast<uint32_t>(c.gpr[m::RAX]), static_cast<uint32_t>(c.gpr[m::RCX]), r, c.cr4);
  c.gpr[m::RAX] = r[0];
  c.gpr[m::RBX] = r[1];
  c.gpr[m::RCX] = r[2];
  c.gpr[m::RDX] = r[3];
  return ExecStatus::Ok;
}

// RDTSC: the TSC comes from the machine's one virtual clock.
ExecStatus RDTSC(CpuState& c, const DecodedInsn&) {
  if ((c.cr4 & kCr4Tsd) && !privileged(c)) return m::raise_gp(c, 0);
  uint64_t tsc = c.machine->clock().tsc(c.icount) + c.tsc_offset;
  c.gpr[m::RAX] = static_cast<uint32_t>(tsc);
  c.gpr[m::RDX] = tsc >> 32;
  return ExecStatus::Ok;
}

ExecStatus UD2(CpuState& c, const DecodedInsn&) { return m::raise_ud(c); }
ExecStatus UD1(CpuState& c, const DecodedInsn&) { return m::raise_ud(c); }
ExecStatus UD0(CpuState& c, const DecodedInsn&) { return m::raise_ud(c); }

// ---- descriptor-table registers (SDM Vol. 2A, LGDT/LIDT and SGDT/SIDT) ---------------------

namespace {

ExecStatus load_dtr(CpuState& c, const DecodedInsn& d, m::DescriptorTable& t) {
  if (!privileged(c)) return m::raise_gp(c, 0);
  uint64_t ea = effective_address(c, d);
  uint16_t limit;
  KESTREL_TRY(m::read_mem(c, d.seg, ea, limit));
  uint64_t base;
  if (c.mode == m::CpuMode::Long64) {
    KESTREL_TRY(m::read_mem(c, d.seg, (ea + 2) & addr_mask(d), base));
  } else {
    uint32_t b;
    KESTREL_TRY(m::read_mem(c, d.seg, (ea + 2) & addr_mask(d), b));
    base = d.osize == 2 ? (b & 0xFFFFFF) : b;  // a 16-bit operand loads 24 bits of base
  }
  t.base = base;
  t.limit = limit;
  return ExecStatus::Ok;
}

ExecStatus store_dtr(CpuState& c, const DecodedInsn& d, const m::DescriptorTable& t) {
  uint64_t ea = effective_address(c, d);
  unsigned base_size = c.mode == m::CpuMode::Long64 ? 8 : 4;
  KESTREL_TRY(m::probe_write(c, d.seg, ea, 2 + base_size));
  KESTREL_TRY(m::write_mem<uint16_t>(c, d.seg, ea, static_cast<uint16_t>(t.limit)));
  if (base_size == 8) KESTREL_TRY(m::write_mem<uint64_t>(c, d.seg, (ea + 2) & addr_mask(d), t.base));
  else KESTREL_TRY(m::write_mem<uint32_t>(c, d.seg, (ea + 2) & addr_mask(d), static_cast<uint32_t>(t.base)));
  return ExecStatus::Ok;
}

}  // namespace

ExecStatus LGDT_Ms(CpuState& c, const DecodedInsn& d) { return load_dtr(c, d, c.gdtr); }
ExecStatus LIDT_Ms(CpuState& c, const DecodedInsn& d) { return load_dtr(c, d, c.idtr); }
ExecStatus SGDT_Ms(CpuState& c, const DecodedInsn& d) { return store_dtr(c, d, c.gdtr); }
ExecStatus SIDT_Ms(CpuState& c, const DecodedInsn& d) { return store_dtr(c, d, c.idtr); }

// ---- CR0 and friends ------------------------------------------------------------------------

namespace {

// Writes CR0 with the checks of SDM Vol. 2B "MOV—Move to/from Control Registers":
// PG without PE, or NW without CD, raise #GP(0). PE or PG changes recompute the mode.
ExecStatus write_cr0(CpuState& c, uint64_t v) {
  if (v >> 32) return m::raise_gp(c, 0);
  if ((v & m::kCr0PG) && !(v & m::kCr0PE)) return m::raise_gp(c, 0);
  if ((v & m::kCr0NW) && !(v & m::kCr0CD)) return m::raise_gp(c, 0);
  v |= m::kCr0ET;  // hard-wired on the P6 family
  uint64_t changed = c.cr0 ^ v;
  // Long-mode activation and deactivation (SDM Vol. 3 §9.8.5).
  if ((changed & m::kCr0PG) && (v & m::kCr0PG) && (c.efer & m::kEferLme)) {
    if (!(c.cr4 & kCr4Pae) || (c.seg[m::CS].attr & m::kSegAttrL)) return m::raise_gp(c, 0);
    c.efer |= m::kEferLma;
  } else if ((changed & m::kCr0PG) && !(v & m::kCr0PG) && (c.efer & m::kEferLma)) {
    if (c.mode == m::CpuMode::Long64) return m::raise_gp(c, 0);
    c.efer &= ~m::kEferLma;
  }
  if ((c.efer & m::kEferLma) && !(v & m::kCr0PE)) return m::raise_gp(c, 0);
  const uint64_t old_cr0 = c.cr0, old_efer = c.efer;
  c.cr0 = v;
  if ((changed & m::kCr0PG) && m::pae_pdptes_in_use(c) && !m::load_pae_pdptes(c)) {
    c.cr0 = old_cr0;
    c.efer = old_efer;
    return m::raise_gp(c, 0);
  }
  if (changed & (m::kCr0PG | m::kCr0WP | m::kCr0PE)) m::tlb_flush(c);
  if (changed & (m::kCr0PE | m::kCr0PG)) m::update_cpu_mode(c);
  return ExecStatus::Ok;
}

}  // namespace

ExecStatus SMSW_Ew(CpuState& c, const DecodedInsn& d) {
  if (d.mod == 3) {
    set_reg_sized(c, d.rm, d.osize, c.cr0 & m::size_mask(d.osize));
    return ExecStatus::Ok;
  }
  KESTREL_TRY(write_rm<uint16_t>(c, d, static_cast<uint16_t>(c.cr0)));
  return ExecStatus::Ok;
}

// LMSW loads PE, MP, EM and TS; it can set PE but never clear it (SDM Vol. 2A, LMSW).
ExecStatus LMSW_Ew(CpuState& c, const DecodedInsn& d) {
  if (!privileged(c)) return m::raise_gp(c, 0);
  uint16_t v;
  KESTREL_TRY(read_rm(c, d, v));
  uint64_t cr0 = (c.cr0 & ~0xEull) | (v & 0xF);
  if (c.cr0 & m::kCr0PE) cr0 |= m::kCr0PE;
  KESTREL_TRY(write_cr0(c, cr0) == ExecStatus::Ok);
  c.rip = next_ip(c, d);
  return ExecStatus::Branch;
}

ExecStatus CLTS(CpuState& c, const DecodedInsn&) {
  if (!privileged(c)) return m::raise_gp(c, 0);
  c.cr0 &= ~m::kCr0TS;
  return ExecStatus::Ok;
}

ExecStatus MOV_Rd_Cd(CpuState& c, const DecodedInsn& d) {
  if (!privileged(c) || c.mode == m::CpuMode::Virtual8086) return m::raise_gp(c, 0);
  uint64_t v;
  switch (d.reg) {
    case 0: v = c.cr0; break;
    case 2: v = c.cr2; break;
    case 3: v = c.cr3; break;
    case 4: v = c.cr4; break;
    case 8:
      if (c.mode != m::CpuMode::Long64) return m::raise_ud(c);
      v = c.machine->read_cr8();  // the local APIC's TPR[7:4]
      break;
    default: return m::raise_ud(c);
  }
  if (c.mode == m::CpuMode::Long64) c.gpr[d.rm] = v;
  else c.gpr[d.rm] = static_cast<uint32_t>(v);
  return ExecStatus::Ok;
}

ExecStatus MOV_Cd_Rd(CpuState& c, const DecodedInsn& d) {
  if (!privileged(c) || c.mode == m::CpuMode::Virtual8086) return m::raise_gp(c, 0);
  uint64_t v = c.mode == m::CpuMode::Long64 ? c.gpr[d.rm] : static_cast<uint32_t>(c.gpr[d.rm]);
  switch (d.reg) {
    case 0:
      KESTREL_TRY(write_cr0(c, v) == ExecStatus::Ok);
      break;
    case 2:
      c.cr2 = v;
      break;
    case 3:
      // Bits above the physical-address width are reserved in long mode.
      if ((c.efer & m::kEferLma) && (v >> 52)) return m::raise_gp(c, 0);
      {
        uint64_t old = c.cr3;
        c.cr3 = v;
        if (m::pae_pdptes_in_use(c) && !m::load_pae_pdptes(c)) {
          c.cr3 = old;
          return m::raise_gp(c, 0);
        }
      }
      // Global translations stay while CR4.PGE is set (SDM Vol. 3 §4.10.4.1).
      m::tlb_flush_for_cr3_load(c);
      break;
    case 4: {
      // Only the bits the model implements may be set (SDM Vol. 3 §2.5).
      uint64_t allowed = kCr4Tsd | (1u << 3) /*DE*/;
      const auto& model = c.machine->cpu_model();
      if (model.has(m::Feature::Vme)) allowed |= 3;  // VME, PVI
      if (model.has(m::Feature::Pse)) allowed |= kCr4Pse;
      if (model.has(m::Feature::Pae)) allowed |= kCr4Pae;
      if (model.has(m::Feature::Mce)) allowed |= 1u << 6;
      if (model.has(m::Feature::Pge)) allowed |= kCr4Pge;
      if (model.has(m::Feature::Fxsr)) allowed |= 1u << 9;    // OSFXSR
      if (model.has(m::Feature::Sse)) allowed |= 1u << 10;    // OSXMMEXCPT
      if (model.has(m::Feature::Xsave)) allowed |= 1u << 18;  // OSXSAVE
      if (v & ~allowed) return m::raise_gp(c, 0);
      if ((c.efer & m::kEferLma) && !(v & kCr4Pae)) return m::raise_gp(c, 0);
      {
        uint64_t old = c.cr4;
        c.cr4 = v;
        if (((old ^ v) & (kCr4Pae | kCr4Pse | kCr4Pge)) && m::pae_pdptes_in_use(c) && !m::load_pae_pdptes(c)) {
          c.cr4 = old;
          return m::raise_gp(c, 0);
        }
        // A change of PGE flushes the global translations too (SDM Vol. 3 §4.10.4.1):
        // Linux toggles it to drop them.
        if ((old ^ v) & (kCr4Pae | kCr4Pse | kCr4Pge)) m::tlb_flush(c);
      }
      break;
    }
    case 8:
      if (c.mode != m::CpuMode::Long64) return m::raise_ud(c);
      if (v >> 4) return m::raise_gp(c, 0);
      c.machine->write_cr8(v);  // sets the APIC's TPR; a pending interrupt may now be taken
      break;
    default:
      return m::raise_ud(c);
  }
  c.rip = next_ip(c, d);
  return ExecStatus::Branch;
}

ExecStatus WBINVD(CpuState& c, const DecodedInsn&) {
  if (!privileged(c)) return m::raise_gp(c, 0);
  return ExecStatus::Ok;
}

ExecStatus INVD(CpuState& c, const DecodedInsn&) {
  if (!privileged(c)) return m::raise_gp(c, 0);
  return ExecStatus::Ok;
}

}  // namespace kestrel::interp::handlers
