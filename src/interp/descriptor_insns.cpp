// Descriptor-table and protection instructions: LLDT LTR SLDT STR VERR VERW LAR
// LSL ARPL (and MOVSXD, which takes ARPL's opcode in 64-bit mode), MOV to/from
// debug registers, INVLPG (SDM Vol. 2A/2B, each instruction's "Operation").
#include "interp/handlers.h"
#include "interp/operands.h"
#include "machine/cpu_model.h"
#include "machine/descriptors.h"
#include "machine/machine.h"

namespace kestrel::interp::handlers {

using m::Descriptor;

namespace {

bool protected_mode(const CpuState& c) { return c.mode != m::CpuMode::Real && c.mode != m::CpuMode::Virtual8086; }

// Reads the 16-bit selector operand of LLDT/LTR/VERR/VERW/LAR/LSL.
bool read_selector(CpuState& c, const DecodedInsn& d, uint16_t& sel) { return read_rm(c, d, sel); }

// Looks a selector up for LAR/LSL/VERR/VERW, which report failure in ZF instead of
// faulting (only a page fault on the table itself faults).
enum class Lookup { Ok, Invalid, Fault };
Lookup lookup_quiet(CpuState& c, uint16_t sel, Descriptor& d, bool wide) {
  if ((sel & ~3u) == 0) return Lookup::Invalid;
  const bool ldt = sel & 4;
  uint32_t limit = ldt ? c.ldtr.limit : c.gdtr.limit;
  if ((ldt && ((c.ldtr.selector & ~3u) == 0 || !(c.ldtr.attr & m::kSegAttrP))) || (sel & ~7u) + (wide ? 15u : 7u) > limit)
    return Lookup::Invalid;
  uint64_t lin = m::descriptor_address(c, sel);
  if (!m::sys_read(c, lin, &d.lo, 8)) return Lookup::Fault;
  if (wide && !m::sys_read(c, lin + 8, &d.hi, 8)) return Lookup::Fault;
  return Lookup::Ok;
}

// Privilege visibility for LAR/LSL/VERR/VERW: conforming code ignores it.
bool visible(const CpuState& c, const Descriptor& d, uint16_t sel) {
  if (d.conforming()) return true;
  return d.dpl() >= c.cpl && d.dpl() >= (sel & 3u);
}

void set_zf(CpuState& c, bool z) { m::set_arith_flags(c, z ? m::kZF : 0, m::kZF); }

}  // namespace

ExecStatus LLDT_Ew(CpuState& c, const DecodedInsn& d) {
  if (!protected_mode(c)) return m::raise_ud(c);
  if (c.cpl != 0) return m::raise_gp(c, 0);
  uint16_t sel;
  KESTREL_TRY(read_selector(c, d, sel));
  if ((sel & ~3u) == 0) {
    c.ldtr = m::SegmentCache{};
    c.ldtr.selector = sel;
    return ExecStatus::Ok;
  }
  if (sel & 4) return m::raise_gp(c, sel & 0xFFFC);
  Descriptor desc;
  const bool lm = m::long_mode_active(c);
  KESTREL_TRY(m::fetch_descriptor(c, sel, desc, m::kVecGP, 0, lm));
  if (desc.is_segment() || desc.type() != m::kLdtType) return m::raise_gp(c, sel & 0xFFFC);
  if (!desc.present()) return m::raise_exception(c, m::kVecNP, sel & 0xFFFC);
  m::cache_from_descriptor(c, c.ldtr, sel, desc);
  return ExecStatus::Ok;
}

ExecStatus LTR_Ew(CpuState& c, const DecodedInsn& d) {
  if (!protected_mode(c)) return m::raise_ud(c);
  if (c.cpl != 0) return m::raise_gp(c, 0);
  uint16_t sel;
  KESTREL_TRY(read_selector(c, d, sel));
  if ((sel & ~3u) == 0 || (sel & 4)) return m::raise_gp(c, sel & 0xFFFC);
  Descriptor desc;
  const bool lm = m::long_mode_active(c);
  KESTREL_TRY(m::fetch_descriptor(c, sel, desc, m::kVecGP, 0, lm));
  bool ok = !desc.is_segment() && (desc.type() == m::kTss32Avail || (!lm && desc.type() == m::kTss16Avail));
  if (!ok) return m::raise_gp(c, sel & 0xFFFC);
  if (!desc.present()) return m::raise_exception(c, m::kVecNP, sel & 0xFFFC);
  KESTREL_TRY(m::set_busy(c, sel, true));
  desc.lo |= 2ull << 40;
  m::cache_from_descriptor(c, c.tr, sel, desc);
  return ExecStatus::Ok;
}

namespace {
// SLDT/STR: a register destination takes the zero-extended selector, memory 16 bits.
ExecStatus store_selector(CpuState& c, const DecodedInsn& d, uint16_t sel) {
  if (!protected_mode(c)) return m::raise_ud(c);
  if (d.mod == 3) {
    set_reg_sized(c, d.rm, d.osize, sel);
    return ExecStatus::Ok;
  }
  KESTREL_TRY(write_rm<uint16_t>(c, d, sel));
  return ExecStatus::Ok;
}

// What LAR, LSL, VERR and VERW share: #UD outside protected mode, the selector
// from r/m and its descriptor looked up without faulting on a bad selector (those
// instructions only clear ZF). False with the exception pending when reading the
// operand or the table faults; otherwise `found` says whether there is a
// descriptor and it is visible at the CPL and the selector's RPL.
bool probe_selector(CpuState& c, const DecodedInsn& d, Descriptor& desc, bool& found) {
  if (!protected_mode(c)) {
    m::raise_ud(c);
    return false;
  }
  uint16_t sel;
  if (!read_selector(c, d, sel)) return false;
  const Lookup l = lookup_quiet(c, sel, desc, false);
  if (l == Lookup::Fault) return false;
  found = l == Lookup::Ok && visible(c, desc, sel);
  return true;
}

ExecStatus verify(CpuState& c, const DecodedInsn& d, bool write) {
  Descriptor desc;
  bool found;
  KESTREL_TRY(probe_selector(c, d, desc, found));
  set_zf(c, found && desc.is_segment() && (write ? desc.writable() : desc.readable()));
  return ExecStatus::Ok;
}
}  // namespace

ExecStatus SLDT_Ev(CpuState& c, const DecodedInsn& d) { return store_selector(c, d, c.ldtr.selector); }
ExecStatus STR_Ev(CpuState& c, const DecodedInsn& d) { return store_selector(c, d, c.tr.selector); }
ExecStatus VERR_Ew(CpuState& c, const DecodedInsn& d) { return verify(c, d, false); }
ExecStatus VERW_Ew(CpuState& c, const DecodedInsn& d) { return verify(c, d, true); }

// LAR: access rights of a visible descriptor of an allowed type (SDM Vol. 2A, LAR Table 3-53).
ExecStatus LAR_Gv_Ew(CpuState& c, const DecodedInsn& d) {
  Descriptor desc;
  bool ok;
  KESTREL_TRY(probe_selector(c, d, desc, ok));
  if (ok && !desc.is_segment()) {
    unsigned t = desc.type();
    ok = m::long_mode_active(c) ? (t == 2 || t == 9 || t == 11 || t == 12)
                                : (t == 1 || t == 2 || t == 3 || t == 4 || t == 5 || t == 9 || t == 11 || t == 12);
  }
  if (ok) set_reg_sized(c, d.reg, d.osize, (desc.lo >> 32) & (d.osize == 2 ? 0xFF00 : 0x00FFFF00));
  set_zf(c, ok);
  return ExecStatus::Ok;
}

// LSL: the byte-granular limit (SDM Vol. 2A, LSL Table 3-63).
ExecStatus LSL_Gv_Ew(CpuState& c, const DecodedInsn& d) {
  Descriptor desc;
  bool ok;
  KESTREL_TRY(probe_selector(c, d, desc, ok));
  if (ok && !desc.is_segment()) {
    unsigned t = desc.type();
    ok = m::long_mode_active(c) ? (t == 2 || t == 9 || t == 11) : (t == 1 || t == 2 || t == 3 || t == 9 || t == 11);
  }
  if (ok) set_reg_sized(c, d.reg, d.osize, desc.limit());
  set_zf(c, ok);
  return ExecStatus::Ok;
}

ExecStatus ARPL_Ew_Gw(CpuState& c, const DecodedInsn& d) {
  if (!protected_mode(c)) return m::raise_ud(c);
  uint16_t dst;
  KESTREL_TRY(read_rm(c, d, dst));  // a read: the write happens only when RPL changes
  uint16_t src = get_reg<uint16_t>(c, d.reg);
  if ((dst & 3) < (src & 3)) {
    KESTREL_TRY(write_rm<uint16_t>(c, d, static_cast<uint16_t>((dst & ~3u) | (src & 3))));
    set_zf(c, true);
  } else {
    set_zf(c, false);
  }
  return ExecStatus::Ok;
}

// MOVSXD: sign-extends a doubleword; without REX.W it is a plain 32-bit move.
ExecStatus MOVSXD_Gv_Ed(CpuState& c, const DecodedInsn& d) {
  if (d.osize == 2) {  // with 66 it moves a word
    uint16_t w;
    KESTREL_TRY(read_rm(c, d, w));
    set_reg<uint16_t>(c, d.reg, w);
    return ExecStatus::Ok;
  }
  uint32_t v;
  KESTREL_TRY(read_rm(c, d, v));
  if (d.osize == 8) c.gpr[d.reg] = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(v)));
  else set_reg_sized(c, d.reg, d.osize, v);
  return ExecStatus::Ok;
}

// ---- debug registers (SDM Vol. 3 §18.2) ----------------------------------------------------

namespace {
constexpr uint64_t kCr4De = 1u << 3;
// General detect (DR7.GD): any MOV to or from a debug register is a #DB fault
// with DR6.BD set, and the handler starts with GD clear (SDM Vol. 3 §17.2.4).
bool general_detect(CpuState& c) {
  if (!(c.dr[7] & (1u << 13))) return false;
  c.dr[6] |= 1u << 13;
  c.dr[7] &= ~(1ull << 13);
  m::raise_exception(c, m::kVecDB);
  return true;
}

// DR4/DR5 alias DR6/DR7 unless CR4.DE is set, when they are #UD.
bool debug_reg_index(CpuState& c, unsigned& n) {
  if (n == 4 || n == 5) {
    if (c.cr4 & kCr4De) return false;
    n += 2;
  }
  return n < 8;
}
}  // namespace

ExecStatus MOV_Rd_Dd(CpuState& c, const DecodedInsn& d) {
  if (c.mode == m::CpuMode::Virtual8086 || (c.mode != m::CpuMode::Real && c.cpl != 0)) return m::raise_gp(c, 0);
  unsigned n = d.reg;
  if (!debug_reg_index(c, n)) return m::raise_ud(c);
  if (general_detect(c)) return ExecStatus::Fault;
  uint64_t v = c.dr[n];
  if (n == 6) v = (v & 0x0000E00Full) | 0xFFFF0FF0ull;
  if (n == 7) v = (v & 0xFFFF2FFFull) | 0x400;
  if (c.mode == m::CpuMode::Long64) c.gpr[d.rm] = v;
  else c.gpr[d.rm] = static_cast<uint32_t>(v);
  return ExecStatus::Ok;
}

ExecStatus MOV_Dd_Rd(CpuState& c, const DecodedInsn& d) {
  if (c.mode == m::CpuMode::Virtual8086 || (c.mode != m::CpuMode::Real && c.cpl != 0)) return m::raise_gp(c, 0);
  unsigned n = d.reg;
  if (!debug_reg_index(c, n)) return m::raise_ud(c);
  if (general_detect(c)) return ExecStatus::Fault;
  uint64_t v = c.mode == m::CpuMode::Long64 ? c.gpr[d.rm] : static_cast<uint32_t>(c.gpr[d.rm]);
  if ((n == 6 || n == 7) && (v >> 32)) return m::raise_gp(c, 0);
  c.dr[n] = v;
  c.rip = next_ip(c, d);
  return ExecStatus::Branch;
}

ExecStatus INVLPG_M(CpuState& c, const DecodedInsn& d) {
  if (c.mode == m::CpuMode::Virtual8086 || (c.mode != m::CpuMode::Real && c.cpl != 0)) return m::raise_gp(c, 0);
  uint64_t off = effective_address(c, d);
  uint64_t lin = c.mode == m::CpuMode::Long64 ? off + (d.seg >= m::FS ? c.seg[d.seg].base : 0)
                                               : (c.seg[d.seg].base + off) & 0xFFFFFFFFull;
  m::tlb_flush_page(c, lin);
  c.rip = next_ip(c, d);
  return ExecStatus::Branch;
}

}  // namespace kestrel::interp::handlers
