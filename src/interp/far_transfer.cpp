// Far transfers: JMP/CALL far (direct, through call gates, to a TSS or task
// gate), RET far, and IRET, in every mode (SDM Vol. 2A "CALL", "JMP", "IRET",
// Vol. 2B "RET"; Vol. 3 §5.8 privilege-level changes, §7.3 task switching).
//
// Every path checks what it can before changing state; a fault after the first
// change restores the saved registers, so the faulting instruction restarts.
#include "interp/handlers.h"
#include "interp/operands.h"
#include "machine/descriptors.h"
#include "machine/machine.h"
#include "machine/task_switch.h"

namespace kestrel::interp {

using m::Descriptor;

namespace {

bool canonical(uint64_t a) { return static_cast<uint64_t>((static_cast<int64_t>(a) >> 47) + 1) <= 1; }

// Saved state for a rollback after a partial far transfer.
struct Snapshot {
  m::SegmentCache seg[6];
  uint64_t rsp, rip, rflags;
  uint8_t cpl;
  m::CpuMode mode;
  explicit Snapshot(const CpuState& c)
      : rsp(c.gpr[m::RSP]), rip(c.rip), rflags(c.rflags), cpl(c.cpl), mode(c.mode) {
    for (int i = 0; i < 6; ++i) seg[i] = c.seg[i];
  }
  ExecStatus restore(CpuState& c) const {
    for (int i = 0; i < 6; ++i) c.seg[i] = seg[i];
    c.gpr[m::RSP] = rsp;
    c.rip = rip;
    c.rflags = rflags;
    c.cpl = cpl;
    c.mode = mode;
    return ExecStatus::Fault;
  }
};

// Stack pushes/pops with an explicit width and the current SS.
bool push_sized(CpuState& c, uint64_t v, unsigned sz) { return push_value(c, v, sz); }

// Offset check for the target code segment: the limit in legacy and compatibility
// mode, canonical form for 64-bit code (#GP(0) either way).
bool target_ok(const CpuState& c, const Descriptor& cd, uint64_t off) {
  if (m::long_mode_active(c) && cd.long_code()) return canonical(off);
  return off <= cd.limit();
}

ExecStatus real_mode_far(CpuState& c, const DecodedInsn& d, uint16_t sel, uint64_t off, bool call) {
  unsigned sz = d.osize;
  off &= m::size_mask(sz);
  if (off > c.seg[m::CS].limit) return m::raise_gp(c, 0);
  if (call) {
    Snapshot snap(c);
    if (!push_sized(c, c.seg[m::CS].selector, sz) || !push_sized(c, next_ip(c, d), sz)) return snap.restore(c);
  }
  m::load_segment_real(c, m::CS, sel);
  c.rip = off;
  return ExecStatus::Branch;
}

ExecStatus switch_task(CpuState& c, const DecodedInsn& d, uint16_t tss_sel, const Descriptor& tss, bool call) {
  uint16_t old_tr = c.tr.selector;
  uint64_t here = c.rip;
  c.rip = next_ip(c, d);  // the outgoing task resumes after the JMP/CALL
  if (!m::task_switch(c, tss_sel, tss, call ? m::TaskSwitchSource::Call : m::TaskSwitchSource::Jmp, false, 0, 0)) {
    if (c.tr.selector == old_tr) c.rip = here;
    return ExecStatus::Fault;
  }
  return ExecStatus::Branch;
}

// Far JMP or CALL in protected, compatibility or 64-bit mode.
ExecStatus protected_far(CpuState& c, const DecodedInsn& d, uint16_t sel, uint64_t off, bool call) {
  const unsigned rpl = sel & 3;
  const uint32_t esel = sel & 0xFFFC;
  if ((sel & ~3u) == 0) return m::raise_gp(c, 0);
  Descriptor desc;
  KESTREL_TRY(m::fetch_descriptor(c, sel, desc, m::kVecGP, 0, false));
  const bool lm = m::long_mode_active(c);
  unsigned sz = d.osize;

  if (desc.is_segment()) {
    if (!desc.is_code()) return m::raise_gp(c, esel);
    if (desc.conforming() ? desc.dpl() > c.cpl : (rpl > c.cpl || desc.dpl() != c.cpl)) return m::raise_gp(c, esel);
    if (!desc.present()) return m::raise_exception(c, m::kVecNP, esel);
    if (!(lm && desc.long_code())) off &= m::size_mask(sz);
    if (!target_ok(c, desc, off)) return m::raise_gp(c, 0);
    Snapshot snap(c);
    if (call && (!push_sized(c, c.seg[m::CS].selector, sz) || !push_sized(c, next_ip(c, d), sz)))
      return snap.restore(c);
    m::set_accessed(c, sel, desc);
    m::load_cs(c, sel, desc, c.cpl);
    c.rip = off;
    return ExecStatus::Branch;
  }

  switch (desc.type()) {
    case m::kTss16Avail: case m::kTss32Avail:
      if (lm) return m::raise_gp(c, esel);
      if (desc.dpl() < c.cpl || desc.dpl() < rpl) return m::raise_gp(c, esel);
      if (!desc.present()) return m::raise_exception(c, m::kVecNP, esel);
      return switch_task(c, d, sel, desc, call);
    case m::kTaskGate: {
      if (lm) return m::raise_gp(c, esel);
      if (desc.dpl() < c.cpl || desc.dpl() < rpl) return m::raise_gp(c, esel);
      if (!desc.present()) return m::raise_exception(c, m::kVecNP, esel);
      uint16_t tsel = desc.gate_selector();
      Descriptor tss;
      if (tsel & 4) return m::raise_gp(c, tsel & 0xFFFC);
      KESTREL_TRY(m::fetch_descriptor(c, tsel, tss, m::kVecGP, 0));
      if (tss.is_segment() || (tss.type() != m::kTss16Avail && tss.type() != m::kTss32Avail))
        return m::raise_gp(c, tsel & 0xFFFC);
      if (!tss.present()) return m::raise_exception(c, m::kVecNP, tsel & 0xFFFC);
      return switch_task(c, d, tsel, tss, call);
    }
    case m::kCallGate16: case m::kCallGate32:
      break;
    default:
      return m::raise_gp(c, esel);
  }

  // Call gates (SDM Vol. 3 §5.8.4). In long mode only 16-byte 64-bit gates exist (type 12).
  if (lm && desc.type() != m::kCallGate32) return m::raise_gp(c, esel);
  if (lm) KESTREL_TRY(m::fetch_descriptor(c, sel, desc, m::kVecGP, 0, true));
  if (lm && ((desc.hi >> 40) & 0x1F) != 0) return m::raise_gp(c, esel);  // upper type field must be 0
  if (desc.dpl() < c.cpl || desc.dpl() < rpl) return m::raise_gp(c, esel);
  if (!desc.present()) return m::raise_exception(c, m::kVecNP, esel);
  const bool gate16 = desc.type() == m::kCallGate16;
  const uint16_t csel = desc.gate_selector();
  uint64_t target = lm ? desc.gate_offset() : gate16 ? (desc.lo & 0xFFFF) : (desc.gate_offset() & 0xFFFFFFFFull);
  if ((csel & ~3u) == 0) return m::raise_gp(c, 0);
  Descriptor cd;
  KESTREL_TRY(m::fetch_descriptor(c, csel, cd, m::kVecGP, 0));
  const uint32_t ecsel = csel & 0xFFFC;
  if (!cd.is_code() || cd.dpl() > c.cpl) return m::raise_gp(c, ecsel);
  if (lm && !(cd.long_code() && !cd.big())) return m::raise_gp(c, ecsel);
  if (!call && !cd.conforming() && cd.dpl() != c.cpl) return m::raise_gp(c, ecsel);
  if (!cd.present()) return m::raise_exception(c, m::kVecNP, ecsel);
  if (!target_ok(c, cd, target)) return m::raise_gp(c, 0);

  Snapshot snap(c);
  if (!call) {
    m::load_cs(c, csel, cd, c.cpl);
    c.rip = target;
    return ExecStatus::Branch;
  }
  const unsigned gsz = lm ? 8 : gate16 ? 2 : 4;
  const uint16_t old_cs = c.seg[m::CS].selector, old_ss = c.seg[m::SS].selector;
  const uint64_t old_sp = c.gpr[m::RSP], ret = next_ip(c, d);
  if (!cd.conforming() && cd.dpl() < c.cpl) {
    // Inner privilege: the new stack comes from the TSS; parameters are copied from
    // the old stack (legacy gates only).
    const unsigned new_cpl = cd.dpl();
    uint16_t nss;
    uint64_t nsp;
    if (!m::tss_stack(c, new_cpl, 0, nss, nsp, 0)) return snap.restore(c);
    unsigned nparams = lm ? 0 : desc.gate_param_count();
    uint64_t params[32];
    for (unsigned i = 0; i < nparams; ++i)
      if (!peek_value(c, i * gsz, gsz, params[i])) return snap.restore(c);
    c.cpl = static_cast<uint8_t>(new_cpl);
    if (lm) {
      m::load_null_ss_64(c, new_cpl);
      c.mode = m::CpuMode::Long64;  // pushes use the 64-bit stack rules
    } else if (!m::load_stack_segment(c, nss, new_cpl, 0)) {
      return snap.restore(c);
    }
    c.gpr[m::RSP] = nsp;
    if (!push_sized(c, old_ss, gsz) || !push_sized(c, old_sp, gsz)) return snap.restore(c);
    for (unsigned i = nparams; i-- > 0;)
      if (!push_sized(c, params[i], gsz)) return snap.restore(c);
    if (!push_sized(c, old_cs, gsz) || !push_sized(c, ret, gsz)) return snap.restore(c);
    m::load_cs(c, csel, cd, new_cpl);
  } else {
    if (lm) c.mode = m::CpuMode::Long64;
    if (!push_sized(c, old_cs, gsz) || !push_sized(c, ret, gsz)) return snap.restore(c);
    m::load_cs(c, csel, cd, c.cpl);
  }
  c.rip = target;
  return ExecStatus::Branch;
}

ExecStatus far_jmp_call(CpuState& c, const DecodedInsn& d, uint16_t sel, uint64_t off, bool call) {
  if (c.mode == m::CpuMode::Real || c.mode == m::CpuMode::Virtual8086) return real_mode_far(c, d, sel, off, call);
  return protected_far(c, d, sel, off, call);
}

// Reads a far pointer m16:16/m16:32/m16:64 (offset first).
ExecStatus read_far_pointer(CpuState& c, const DecodedInsn& d, uint64_t& off, uint16_t& sel) {
  uint64_t ea = effective_address(c, d);
  switch (d.osize) {
    case 2: { uint16_t v; KESTREL_TRY(m::read_mem(c, d.seg, ea, v)); off = v; break; }
    case 4: { uint32_t v; KESTREL_TRY(m::read_mem(c, d.seg, ea, v)); off = v; break; }
    default: KESTREL_TRY(m::read_mem(c, d.seg, ea, off)); break;
  }
  KESTREL_TRY(m::read_mem(c, d.seg, (ea + d.osize) & addr_mask(d), sel));
  return ExecStatus::Ok;
}

// Checks a return CS (RETF / IRET, SDM Vol. 2B RET "PROTECTED-MODE").
ExecStatus check_return_cs(CpuState& c, uint16_t sel, Descriptor& cd) {
  if ((sel & ~3u) == 0) return m::raise_gp(c, 0);
  KESTREL_TRY(m::fetch_descriptor(c, sel, cd, m::kVecGP, 0));
  unsigned rpl = sel & 3;
  uint32_t esel = sel & 0xFFFC;
  if (!cd.is_code() || rpl < c.cpl) return m::raise_gp(c, esel);
  if (cd.conforming() ? cd.dpl() > rpl : cd.dpl() != rpl) return m::raise_gp(c, esel);
  if (!cd.present()) return m::raise_exception(c, m::kVecNP, esel);
  return ExecStatus::Ok;
}

// Checks the SS popped for a return to an outer level.
ExecStatus check_return_ss(CpuState& c, uint16_t ss, unsigned rpl, const Descriptor& cd, Descriptor& sd, bool& null_ok) {
  null_ok = false;
  if ((ss & ~3u) == 0) {
    // A null SS is allowed only for a return to 64-bit code below CPL 3.
    if (m::long_mode_active(c) && cd.long_code() && rpl != 3) {
      null_ok = true;
      return ExecStatus::Ok;
    }
    return m::raise_gp(c, 0);
  }
  KESTREL_TRY(m::fetch_descriptor(c, ss, sd, m::kVecGP, 0));
  if ((ss & 3u) != rpl || !sd.writable() || sd.dpl() != rpl) return m::raise_gp(c, ss & 0xFFFC);
  if (!sd.present()) return m::raise_exception(c, m::kVecSS, ss & 0xFFFC);
  return ExecStatus::Ok;
}

void load_outer_ss(CpuState& c, uint16_t ss, unsigned rpl, Descriptor& sd, bool null_ss) {
  if (null_ss) {
    m::SegmentCache& s = c.seg[m::SS];
    s.selector = ss;
    s.base = 0;
    s.limit = 0xFFFFFFFF;
    s.attr = static_cast<uint16_t>(0x93 | (rpl << 5) | m::kSegAttrD | m::kSegAttrG);
    m::refresh_segment(c, s);
    return;
  }
  m::set_accessed(c, ss, sd);
  m::cache_from_descriptor(c, c.seg[m::SS], ss, sd);
}

ExecStatus far_return(CpuState& c, const DecodedInsn& d, uint16_t release) {
  unsigned sz = d.osize;
  uint64_t ip, cs;
  KESTREL_TRY(peek_value(c, 0, sz, ip));
  KESTREL_TRY(peek_value(c, sz, sz, cs));
  if (c.mode == m::CpuMode::Real || c.mode == m::CpuMode::Virtual8086) {
    ip &= m::size_mask(sz);
    if (ip > c.seg[m::CS].limit) return m::raise_gp(c, 0);
    m::load_segment_real(c, m::CS, static_cast<uint16_t>(cs));
    c.rip = ip;
    set_sp(c, get_sp(c) + 2 * sz + release);
    return ExecStatus::Branch;
  }
  uint16_t sel = static_cast<uint16_t>(cs);
  Descriptor cd;
  KESTREL_TRY(check_return_cs(c, sel, cd) == ExecStatus::Ok);
  const unsigned rpl = sel & 3;
  const bool to64 = m::long_mode_active(c) && cd.long_code();
  if (!to64) ip &= m::size_mask(sz);
  if (rpl == c.cpl) {
    if (!target_ok(c, cd, ip)) return m::raise_gp(c, 0);
    Snapshot snap(c);
    m::load_cs(c, sel, cd, rpl);
    c.rip = ip;
    set_sp(c, snap.rsp + 2 * sz + release);  // SS is unchanged: its stack size still applies
    return ExecStatus::Branch;
  }
  // Return to an outer privilege level: SS:SP follow the parameters.
  uint64_t nsp, nss;
  KESTREL_TRY(peek_value(c, 2 * sz + release, sz, nsp));
  KESTREL_TRY(peek_value(c, 3 * sz + release, sz, nss));
  Descriptor sd;
  bool null_ss;
  KESTREL_TRY(check_return_ss(c, static_cast<uint16_t>(nss), rpl, cd, sd, null_ss) == ExecStatus::Ok);
  // The new SS is checked before the return address (SDM Vol. 2B, RET, return to outer level).
  if (!target_ok(c, cd, ip)) return m::raise_gp(c, 0);
  m::load_cs(c, sel, cd, rpl);
  load_outer_ss(c, static_cast<uint16_t>(nss), rpl, sd, null_ss);
  c.rip = ip;
  if (c.mode == m::CpuMode::Long64) c.gpr[m::RSP] = nsp + release;
  else set_sp(c, nsp + release);
  m::null_inaccessible_segments(c);
  return ExecStatus::Branch;
}

// Which EFLAGS bits IRET may change (SDM Vol. 2A IRET "Operation").
uint64_t iret_flags(const CpuState& c, uint64_t old, uint64_t popped, unsigned sz) {
  unsigned iopl = (old & m::kIOPL) >> 12;
  uint64_t mask = m::kArithFlags | m::kTF | m::kDF | m::kNT | m::kRF | m::kAC | m::kID;
  if (c.cpl <= iopl) mask |= m::kIF;
  if (c.cpl == 0) mask |= m::kIOPL | m::kVIF | m::kVIP;
  if (sz == 2) mask &= 0xFFFF;
  return ((old & ~mask) | (popped & mask) | m::kFlagsFixed1) & ~static_cast<uint64_t>(m::kVM);
}

}  // namespace

namespace handlers {

ExecStatus JMPF_Ap(CpuState& c, const DecodedInsn& d) { return far_jmp_call(c, d, d.imm2, d.imm, false); }
ExecStatus CALLF_Ap(CpuState& c, const DecodedInsn& d) { return far_jmp_call(c, d, d.imm2, d.imm, true); }

ExecStatus JMPF_Mp(CpuState& c, const DecodedInsn& d) {
  uint64_t off;
  uint16_t sel;
  ExecStatus st = read_far_pointer(c, d, off, sel);
  if (st != ExecStatus::Ok) return st;
  return far_jmp_call(c, d, sel, off, false);
}

ExecStatus CALLF_Mp(CpuState& c, const DecodedInsn& d) {
  uint64_t off;
  uint16_t sel;
  ExecStatus st = read_far_pointer(c, d, off, sel);
  if (st != ExecStatus::Ok) return st;
  return far_jmp_call(c, d, sel, off, true);
}

ExecStatus RETF(CpuState& c, const DecodedInsn& d) { return far_return(c, d, 0); }
ExecStatus RETF_Iw(CpuState& c, const DecodedInsn& d) { return far_return(c, d, static_cast<uint16_t>(d.imm)); }

ExecStatus IRET(CpuState& c, const DecodedInsn& d) {
  c.nmi_blocked = 0;  // IRET ends NMI blocking, even if it then faults (SDM Vol. 3 §6.7.1)
  unsigned sz = d.osize;
  const uint64_t f = m::materialize_flags(c);
  const bool lm = m::long_mode_active(c);

  if (c.mode == m::CpuMode::Real || c.mode == m::CpuMode::Virtual8086) {
    // Real mode, and virtual-8086 mode with IOPL 3 (SDM Vol. 2A IRET "REAL-ADDRESS-MODE").
    if (c.mode == m::CpuMode::Virtual8086 && ((f & m::kIOPL) >> 12) < 3) return m::raise_gp(c, 0);
    uint64_t ip, cs, fl;
    KESTREL_TRY(peek_value(c, 0, sz, ip));
    KESTREL_TRY(peek_value(c, sz, sz, cs));
    KESTREL_TRY(peek_value(c, 2 * sz, sz, fl));
    if ((ip & m::size_mask(sz)) > c.seg[m::CS].limit) return m::raise_gp(c, 0);
    uint64_t take = sz == 4 ? 0x257FD5ull : 0x7FD5ull;  // VM, RF, VIP, VIF and reserved bits stay
    if (c.mode == m::CpuMode::Virtual8086) take &= ~static_cast<uint64_t>(m::kIOPL);
    set_sp(c, get_sp(c) + 3 * sz);
    m::load_segment_real(c, m::CS, static_cast<uint16_t>(cs));
    c.rip = ip & m::size_mask(sz);
    c.rflags = (f & ~take) | (fl & take) | m::kFlagsFixed1;
    return ExecStatus::Branch;
  }

  // Nested task: return to the task in the back link (not in long mode: #GP(0)).
  if (f & m::kNT) {
    if (lm) return m::raise_gp(c, 0);
    uint16_t link;
    KESTREL_TRY(m::sys_read(c, c.tr.base, &link, 2));
    if (link & 4) return m::raise_exception(c, m::kVecTS, link & 0xFFFC);
    Descriptor tss;
    KESTREL_TRY(m::fetch_descriptor(c, link, tss, m::kVecTS, 0));
    if (tss.is_segment() || (tss.type() != m::kTss16Busy && tss.type() != m::kTss32Busy))
      return m::raise_exception(c, m::kVecTS, link & 0xFFFC);
    uint64_t here = c.rip;
    uint16_t old_tr = c.tr.selector;
    c.rip = next_ip(c, d);
    if (!m::task_switch(c, link, tss, m::TaskSwitchSource::Iret, false, 0, 0)) {
      if (c.tr.selector == old_tr) c.rip = here;
      return ExecStatus::Fault;
    }
    return ExecStatus::Branch;
  }

  uint64_t ip, cs, fl;
  KESTREL_TRY(peek_value(c, 0, sz, ip));
  KESTREL_TRY(peek_value(c, sz, sz, cs));
  KESTREL_TRY(peek_value(c, 2 * sz, sz, fl));

  // Return to virtual-8086 mode (from CPL 0, 32-bit IRET, SDM Vol. 3 §20.3.1.2).
  if (!lm && sz == 4 && (fl & m::kVM) && c.cpl == 0) {
    uint64_t v[6];  // ESP SS ES DS FS GS
    for (int i = 0; i < 6; ++i) KESTREL_TRY(peek_value(c, (3 + i) * 4, 4, v[i]));
    c.rflags = (fl & 0x3F7FD5ull) | m::kFlagsFixed1 | m::kVM;
    c.lf_kind = 0;
    c.cpl = 3;
    m::update_cpu_mode(c);
    m::load_segment_real(c, m::CS, static_cast<uint16_t>(cs));
    m::load_segment_real(c, m::SS, static_cast<uint16_t>(v[1]));
    m::load_segment_real(c, m::ES, static_cast<uint16_t>(v[2]));
    m::load_segment_real(c, m::DS, static_cast<uint16_t>(v[3]));
    m::load_segment_real(c, m::FS, static_cast<uint16_t>(v[4]));
    m::load_segment_real(c, m::GS, static_cast<uint16_t>(v[5]));
    c.gpr[m::RSP] = static_cast<uint32_t>(v[0]);
    c.rip = ip & 0xFFFF;
    return ExecStatus::Branch;
  }

  uint16_t sel = static_cast<uint16_t>(cs);
  Descriptor cd;
  KESTREL_TRY(check_return_cs(c, sel, cd) == ExecStatus::Ok);
  const unsigned rpl = sel & 3;
  const bool to64 = lm && cd.long_code();
  if (!to64) ip &= m::size_mask(sz);
  // 64-bit mode always pops SS:RSP; otherwise only on a return to an outer level.
  const bool pop_stack = c.mode == m::CpuMode::Long64 || rpl > c.cpl;
  uint64_t new_flags = iret_flags(c, f, fl, sz);
  if (!pop_stack) {
    if (!target_ok(c, cd, ip)) return m::raise_gp(c, 0);
    m::load_cs(c, sel, cd, rpl);
    set_sp(c, get_sp(c) + 3 * sz);
    c.rip = ip;
    c.lf_kind = 0;
    c.rflags = new_flags;
    return ExecStatus::Branch;
  }
  uint64_t nsp, nss;
  KESTREL_TRY(peek_value(c, 3 * sz, sz, nsp));
  KESTREL_TRY(peek_value(c, 4 * sz, sz, nss));
  Descriptor sd;
  bool null_ss;
  if (rpl == c.cpl && c.mode == m::CpuMode::Long64 && (nss & ~3u) == 0 && rpl != 3) {
    null_ss = true;  // same-level 64-bit IRET with a null SS
  } else {
    KESTREL_TRY(check_return_ss(c, static_cast<uint16_t>(nss), rpl, cd, sd, null_ss) == ExecStatus::Ok);
  }
  // The popped SS is checked before the return address (SDM Vol. 2A, IRET).
  if (!target_ok(c, cd, ip)) return m::raise_gp(c, 0);
  const bool outer = rpl > c.cpl;
  c.lf_kind = 0;
  c.rflags = new_flags;
  m::load_cs(c, sel, cd, rpl);
  load_outer_ss(c, static_cast<uint16_t>(nss), rpl, sd, null_ss);
  c.rip = ip;
  if (c.mode == m::CpuMode::Long64) c.gpr[m::RSP] = nsp;
  else set_sp(c, nsp);
  if (outer) m::null_inaccessible_segments(c);
  return ExecStatus::Branch;
}

}  // namespace handlers
}  // namespace kestrel::interp
