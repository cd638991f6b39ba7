// x87 control: the instruction prologue shared by every x87 handler, pending
// exceptions (#MF / FERR#), FWAIT, and the control instructions FNINIT, FNCLEX,
// FLDCW, FNSTCW, FNSTSW, FNSTENV, FLDENV, FNSAVE, FRSTOR, FINCSTP, FDECSTP, FFREE,
// FFREEP, FNOP and the 8087/287 leftovers FNENI, FNDISI, FNSETPM.
//
// Design (SDM Vol. 1 chapter 8):
// - Every x87 instruction first raises #NM when CR0.EM or CR0.TS is set (Vol. 3
//   §2.5, Table 2-2); WAIT only when CR0.MP and CR0.TS are both set.
// - An unmasked exception is not taken by the instruction that raised it: it sets
//   FSW.ES (and B), and the next waiting x87 instruction (every one but the FN*
//   forms) takes it before doing anything (§8.6): #MF with CR0.NE = 1, otherwise
//   the FERR# output is asserted (Machine::set_ferr, IRQ 13 on a PC) and the
//   instruction runs. FERR# drops when ES is cleared.
// - Non-control instructions record FCS:FIP, FOP and, with a memory operand,
//   FDS:FDP (§8.1.8, §8.1.9). Internally the pointers are offsets and selectors in
//   every mode; the real-mode environment layouts store linear addresses built from
//   them (selector * 16 + offset).
#include <cstring>

#include "interp/x87/x87_common.h"
#include "machine/machine.h"

namespace kestrel::interp {

bool x87_check_pending(CpuState& c) {
  if (!(c.fsw & kFswES)) return true;
  if (c.cr0 & m::kCr0NE) return m::raise_exception(c, m::kVecMF), false;
  // CR0.NE = 0: the PC-compatible path through FERR# (SDM Vol. 1 §8.7, Appendix D):
  // the processor freezes just before this instruction until an interrupt (IRQ 13
  // from FERR#, normally) is taken, unless IGNNE# tells it to ignore the error.
  if (!c.machine) return true;
  c.machine->set_ferr(true);
  if (c.machine->ignne()) return true;
  c.halted = 1;
  return false;
}

ExecStatus x87_fwait(CpuState& c) {
  if ((c.cr0 & m::kCr0MP) && (c.cr0 & m::kCr0TS)) return m::raise_exception(c, m::kVecNM);
  if (!x87_check_pending(c)) return x87_blocked(c);
  return ExecStatus::Ok;
}

void x87_update_summary(CpuState& c) {
  if (c.fsw & ~c.fcw & kFswFlags) {
    c.fsw |= kFswES | kFswB;
  } else {
    c.fsw &= ~(kFswES | kFswB);
    if (c.machine) c.machine->set_ferr(false);
  }
}

namespace x87 {

bool begin(CpuState& c, const DecodedInsn& d, unsigned how) {
  if (c.cr0 & (m::kCr0EM | m::kCr0TS)) return m::raise_exception(c, m::kVecNM), false;
  if ((how & kWait) && !x87_check_pending(c)) return false;
  if (how & kRecord) {
    c.fop = static_cast<uint16_t>(((d.op & 7u) << 8) | (unsigned(d.mod) << 6) | ((d.reg & 7u) << 3) | (d.rm & 7u));
    c.fip = c.rip;
    c.fcs = c.seg[m::CS].selector;
    if (d.mod != 3) {
      c.fdp = effective_address(c, d);
      c.fds = c.seg[d.seg].selector;
    }
  }
  return true;
}

bool read_bytes(CpuState& c, uint8_t seg, uint64_t off, uint8_t* out, unsigned n) {
  uint64_t lin = 0;
  if (!m::segment_to_linear(c, seg, off, n, m::Access::Read, lin)) return false;
  return m::read_linear_slow(c, lin, out, n, m::user_access(c));
}

bool write_bytes(CpuState& c, uint8_t seg, uint64_t off, const uint8_t* in, unsigned n) {
  uint64_t lin = 0;
  if (!m::segment_to_linear(c, seg, off, n, m::Access::Write, lin)) return false;
  return m::write_linear_slow(c, lin, in, n, m::user_access(c));
}

bool read_m80(CpuState& c, const DecodedInsn& d, f80& v) {
  uint8_t b[10];
  if (!read_bytes(c, d.seg, effective_address(c, d), b, 10)) return false;
  std::memcpy(&v.sig, b, 8);
  std::memcpy(&v.sign_exp, b + 8, 2);
  return true;
}

// The processor stores a 10-byte operand as two writes, the low 8 bytes first and
// then the upper 2 (measured on the host: with only the page of the last bytes
// missing, FSTP m80fp and FBSTP leave the low 8 bytes written and fault on the
// second page; with the first 8 bytes crossing into the missing page nothing is
// written). The segment check covers all 10 bytes before either write.
bool write_10_bytes(CpuState& c, uint8_t seg, uint64_t off, const uint8_t* in) {
  uint64_t lin = 0;
  if (!m::segment_to_linear(c, seg, off, 10, m::Access::Write, lin)) return false;
  const bool user = m::user_access(c);
  if (!m::write_linear_slow(c, lin, in, 8, user)) return false;
  return m::write_linear_slow(c, lin + 8, in + 8, 2, user);  // wraps at 4 GiB outside 64-bit mode
}

bool write_m80(CpuState& c, const DecodedInsn& d, f80 v) {
  uint8_t b[10];
  std::memcpy(b, &v.sig, 8);
  std::memcpy(b + 8, &v.sign_exp, 2);
  return write_10_bytes(c, d.seg, effective_address(c, d), b);
}

namespace {

// The FNINIT state (SDM Vol. 2A, FINIT/FNINIT "Operation").
void init_state(CpuState& c) {
  c.fcw = kFcwInit;
  c.fsw = 0;
  c.ftop = 0;
  c.ftw = 0xFFFF;
  c.fip = c.fdp = 0;
  c.fcs = c.fds = 0;
  c.fop = 0;
  if (c.machine) c.machine->set_ferr(false);
}

// A loaded control word keeps its defined bits (masks, PC, RC, and the 287's X bit
// 12); bit 6 reads as 1 and bits 7, 13-15 as 0 (as Intel processors store it).
uint16_t fcw_value(uint16_t v) { return static_cast<uint16_t>((v & 0x1F3F) | 0x0040); }

bool real_layout(const CpuState& c) { return c.mode == m::CpuMode::Real || c.mode == m::CpuMode::Virtual8086; }

void put16(uint8_t* b, unsigned off, uint32_t v) { uint16_t x = static_cast<uint16_t>(v); std::memcpy(b + off, &x, 2); }
void put32(uint8_t* b, unsigned off, uint32_t v) { std::memcpy(b + off, &v, 4); }
uint32_t get16(const uint8_t* b, unsigned off) { uint16_t x; std::memcpy(&x, b + off, 2); return x; }
uint32_t get32(const uint8_t* b, unsigned off) { uint32_t x; std::memcpy(&x, b + off, 4); return x; }

// The environment image of FNSTENV/FNSAVE (SDM Vol. 1 §8.1.10, Figures 8-9 to 8-12):
// 14 bytes with a 16-bit operand size, 28 otherwise; the real-mode layouts (also
// virtual-8086 mode) hold 20/32-bit linear instruction and operand addresses and
// FOP, the protected-mode ones offsets and selectors. Reserved halves of the 32-bit
// layouts are stored as ones (as Intel processors do).
unsigned env_size(const DecodedInsn& d) { return d.osize == 2 ? 14 : 28; }

void store_env(const CpuState& c, const DecodedInsn& d, uint8_t* b) {
  const uint32_t fcw = c.fcw, fsw = x87_fsw(c), ftw = x87_tag_word(c);
  const uint32_t fop = c.fop & 0x7FF;
  if (d.osize == 2) {
    put16(b, 0, fcw);
    put16(b, 2, fsw);
    put16(b, 4, ftw);
    if (real_layout(c)) {
      const uint32_t ip = (uint32_t(c.fcs) << 4) + static_cast<uint32_t>(c.fip);
      const uint32_t dp = (uint32_t(c.fds) << 4) + static_cast<uint32_t>(c.fdp);
      put16(b, 6, ip);
      put16(b, 8, ((ip >> 16) & 0xF) << 12 | fop);
      put16(b, 10, dp);
      put16(b, 12, ((dp >> 16) & 0xF) << 12);
    } else {
      put16(b, 6, static_cast<uint32_t>(c.fip));
      put16(b, 8, c.fcs);
      put16(b, 10, static_cast<uint32_t>(c.fdp));
      put16(b, 12, c.fds);
    }
    return;
  }
  put32(b, 0, 0xFFFF0000u | fcw);
  put32(b, 4, 0xFFFF0000u | fsw);
  put32(b, 8, 0xFFFF0000u | ftw);
  if (real_layout(c)) {
    const uint32_t ip = (uint32_t(c.fcs) << 4) + static_cast<uint32_t>(c.fip);
    const uint32_t dp = (uint32_t(c.fds) << 4) + static_cast<uint32_t>(c.fdp);
    put32(b, 12, 0xFFFF0000u | (ip & 0xFFFF));
    put32(b, 16, (ip >> 16) << 12 | fop);
    put32(b, 20, 0xFFFF0000u | (dp & 0xFFFF));
    put32(b, 24, (dp >> 16) << 12);
  } else {
    put32(b, 12, static_cast<uint32_t>(c.fip));
    put32(b, 16, c.fcs | fop << 16);
    put32(b, 20, static_cast<uint32_t>(c.fdp));
    put32(b, 24, 0xFFFF0000u | c.fds);
  }
}

// Loads the environment; the tag word last (its non-empty tags are recomputed from
// the registers, which FRSTOR loads first), then ES/B from the loaded flags and masks.
void load_env(CpuState& c, const DecodedInsn& d, const uint8_t* b) {
  uint16_t ftw;
  if (d.osize == 2) {
    c.fcw = fcw_value(static_cast<uint16_t>(get16(b, 0)));
    x87_set_fsw(c, static_cast<uint16_t>(get16(b, 2)));
    ftw = static_cast<uint16_t>(get16(b, 4));
    if (real_layout(c)) {
      c.fip = get16(b, 6) | (get16(b, 8) >> 12) << 16;
      c.fop = static_cast<uint16_t>(get16(b, 8) & 0x7FF);
      c.fdp = get16(b, 10) | (get16(b, 12) >> 12) << 16;
      c.fcs = c.fds = 0;
    } else {
      c.fip = get16(b, 6);
      c.fcs = static_cast<uint16_t>(get16(b, 8));
      c.fdp = get16(b, 10);
      c.fds = static_cast<uint16_t>(get16(b, 12));
    }
  } else {
    c.fcw = fcw_value(static_cast<uint16_t>(get32(b, 0)));
    x87_set_fsw(c, static_cast<uint16_t>(get32(b, 4)));
    ftw = static_cast<uint16_t>(get32(b, 8));
    if (real_layout(c)) {
      c.fip = (get32(b, 12) & 0xFFFF) | ((get32(b, 16) >> 12) & 0xFFFF) << 16;
      c.fop = static_cast<uint16_t>(get32(b, 16) & 0x7FF);
      c.fdp = (get32(b, 20) & 0xFFFF) | ((get32(b, 24) >> 12) & 0xFFFF) << 16;
      c.fcs = c.fds = 0;
    } else {
      c.fip = get32(b, 12);
      c.fcs = static_cast<uint16_t>(get32(b, 16));
      c.fop = static_cast<uint16_t>((get32(b, 16) >> 16) & 0x7FF);
      c.fdp = get32(b, 20);
      c.fds = static_cast<uint16_t>(get32(b, 24));
    }
  }
  x87_load_tag_word(c, ftw);
  x87_update_summary(c);
}

}  // namespace
}  // namespace x87

namespace handlers {

using namespace x87;

// FINIT/FNINIT (SDM Vol. 2A): FCW 037Fh, FSW 0, all tags empty, pointers and FOP 0.
ExecStatus FNINIT(CpuState& c, const DecodedInsn& d) {
  if (!begin(c, d, kNoWait)) return x87_blocked(c);
  init_state(c);
  return ExecStatus::Ok;
}

// FCLEX/FNCLEX: clears the exception flags, SF, ES and B; C0-C3 are left alone.
ExecStatus FNCLEX(CpuState& c, const DecodedInsn& d) {
  if (!begin(c, d, kNoWait)) return x87_blocked(c);
  c.fsw &= ~(kFswFlags | kFswSF | kFswES | kFswB);
  if (c.machine) c.machine->set_ferr(false);
  return ExecStatus::Ok;
}

// 8087/287 control forms: no operation on a 387 or later (SDM Vol. 2A, FINIT notes;
// they do not wait).
ExecStatus FNENI(CpuState& c, const DecodedInsn& d) { return begin(c, d, kNoWait) ? ExecStatus::Ok : x87_blocked(c); }
ExecStatus FNDISI(CpuState& c, const DecodedInsn& d) { return begin(c, d, kNoWait) ? ExecStatus::Ok : x87_blocked(c); }
ExecStatus FNSETPM(CpuState& c, const DecodedInsn& d) { return begin(c, d, kNoWait) ? ExecStatus::Ok : x87_blocked(c); }

// FLDCW: a newly unmasked pending flag sets ES (taken at the next waiting instruction).
ExecStatus FLDCW_m2byte(CpuState& c, const DecodedInsn& d) {
  if (!begin(c, d, kWait)) return x87_blocked(c);
  uint16_t v;
  KESTREL_TRY(m::read_mem(c, d.seg, effective_address(c, d), v));
  c.fcw = fcw_value(v);
  x87_update_summary(c);
  return ExecStatus::Ok;
}

ExecStatus FNSTCW_m2byte(CpuState& c, const DecodedInsn& d) {
  if (!begin(c, d, kNoWait)) return x87_blocked(c);
  KESTREL_TRY(m::write_mem<uint16_t>(c, d.seg, effective_address(c, d), c.fcw));
  return ExecStatus::Ok;
}

ExecStatus FNSTSW_m2byte(CpuState& c, const DecodedInsn& d) {
  if (!begin(c, d, kNoWait)) return x87_blocked(c);
  KESTREL_TRY(m::write_mem<uint16_t>(c, d.seg, effective_address(c, d), x87_fsw(c)));
  return ExecStatus::Ok;
}

ExecStatus FNSTSW_AX(CpuState& c, const DecodedInsn& d) {
  if (!begin(c, d, kNoWait)) return x87_blocked(c);
  set_reg<uint16_t>(c, m::RAX, x87_fsw(c));
  return ExecStatus::Ok;
}

// FSTENV/FNSTENV: stores the environment, then masks every exception, which also
// clears ES and B (a pending exception is no longer unmasked).
ExecStatus FNSTENV_m14_28byte(CpuState& c, const DecodedInsn& d) {
  if (!begin(c, d, kNoWait)) return x87_blocked(c);
  uint8_t b[28];
  store_env(c, d, b);
  KESTREL_TRY(write_bytes(c, d.seg, effective_address(c, d), b, env_size(d)));
  c.fcw |= kFcwMasks;
  x87_update_summary(c);  // nothing is unmasked now: ES and B clear (hardware)
  return ExecStatus::Ok;
}

ExecStatus FLDENV_m14_28byte(CpuState& c, const DecodedInsn& d) {
  if (!begin(c, d, kWait)) return x87_blocked(c);
  uint8_t b[28];
  KESTREL_TRY(read_bytes(c, d.seg, effective_address(c, d), b, env_size(d)));
  load_env(c, d, b);
  return ExecStatus::Ok;
}

// FSAVE/FNSAVE: the environment, then ST(0)..ST(7) (10 bytes each, stack order),
// then the FNINIT state.
ExecStatus FNSAVE_m94_108byte(CpuState& c, const DecodedInsn& d) {
  if (!begin(c, d, kNoWait)) return x87_blocked(c);
  uint8_t b[108];
  const unsigned env = env_size(d);
  store_env(c, d, b);
  for (unsigned i = 0; i < 8; ++i) {
    const m::X87Reg& r = c.fpr[x87_phys(c, i)];
    std::memcpy(b + env + 10 * i, &r.sig, 8);
    std::memcpy(b + env + 10 * i + 8, &r.sign_exp, 2);
  }
  KESTREL_TRY(write_bytes(c, d.seg, effective_address(c, d), b, env + 80));
  init_state(c);
  return ExecStatus::Ok;
}

ExecStatus FRSTOR_m94_108byte(CpuState& c, const DecodedInsn& d) {
  if (!begin(c, d, kWait)) return x87_blocked(c);
  uint8_t b[108];
  const unsigned env = env_size(d);
  KESTREL_TRY(read_bytes(c, d.seg, effective_address(c, d), b, env + 80));
  // TOP comes from the image's status word: registers are stored in stack order.
  const uint16_t fsw = static_cast<uint16_t>(d.osize == 2 ? get16(b, 2) : get32(b, 4));
  const unsigned top = (fsw >> 11) & 7;
  for (unsigned i = 0; i < 8; ++i) {
    m::X87Reg& r = c.fpr[(top + i) & 7];
    std::memcpy(&r.sig, b + env + 10 * i, 8);
    std::memcpy(&r.sign_exp, b + env + 10 * i + 8, 2);
  }
  load_env(c, d, b);
  return ExecStatus::Ok;
}

// FINCSTP/FDECSTP: TOP moves, tags and contents stay; C1 = 0.
ExecStatus FINCSTP(CpuState& c, const DecodedInsn& d) {
  if (!begin(c, d)) return x87_blocked(c);
  c.ftop = (c.ftop + 1) & 7;
  set_c1(c, false);
  return ExecStatus::Ok;
}

ExecStatus FDECSTP(CpuState& c, const DecodedInsn& d) {
  if (!begin(c, d)) return x87_blocked(c);
  c.ftop = (c.ftop - 1) & 7;
  set_c1(c, false);
  return ExecStatus::Ok;
}

// FFREE ST(i): tag empty, TOP unchanged, C1 cleared (hardware; the SDM leaves C1
// undefined). FFREEP (DF C0+i, undocumented): the same, then pops.
ExecStatus FFREE_STi(CpuState& c, const DecodedInsn& d) {
  if (!begin(c, d)) return x87_blocked(c);
  x87_set_tag(c, x87_phys(c, d.rm & 7), kTagEmpty);
  set_c1(c, false);  // hardware
  return ExecStatus::Ok;
}

ExecStatus FFREEP_STi(CpuState& c, const DecodedInsn& d) {
  if (!begin(c, d)) return x87_blocked(c);
  x87_set_tag(c, x87_phys(c, d.rm & 7), kTagEmpty);
  x87_pop(c);
  set_c1(c, false);  // hardware
  return ExecStatus::Ok;
}

ExecStatus FNOP(CpuState& c, const DecodedInsn& d) {
  if (!begin(c, d)) return x87_blocked(c);
  return ExecStatus::Ok;
}

}  // namespace handlers
}  // namespace kestrel::interp
