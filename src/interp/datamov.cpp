// Data movement: MOV (all integer forms), MOV Sreg, LEA, LxS, XCHG, MOVZX/MOVSX,
// CBW/CWD families, XLAT, LAHF/SAHF, CMOVcc, SETcc, XADD, CMPXCHG, CMPXCHG8B.
#include "interp/handlers.h"
#include "interp/operands.h"
#include "machine/cpu_model.h"
#include "machine/machine.h"

namespace kestrel::interp::handlers {

ExecStatus MOV_Eb_Gb(CpuState& c, const DecodedInsn& d) {
  KESTREL_TRY(write_rm<uint8_t>(c, d, get_greg<uint8_t>(c, d)));
  return ExecStatus::Ok;
}

ExecStatus MOV_Ev_Gv(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() {
    KESTREL_TRY(write_rm<T>(c, d, get_greg<T>(c, d)));
    return ExecStatus::Ok;
  });
}

ExecStatus MOV_Gb_Eb(CpuState& c, const DecodedInsn& d) {
  uint8_t v;
  KESTREL_TRY(read_rm(c, d, v));
  set_greg<uint8_t>(c, d, v);
  return ExecStatus::Ok;
}

ExecStatus MOV_Gv_Ev(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() {
    T v;
    KESTREL_TRY(read_rm(c, d, v));
    set_greg<T>(c, d, v);
    return ExecStatus::Ok;
  });
}

// MOV r/m, Sreg: a register destination takes the zero-extended selector; memory
// always takes 16 bits (SDM Vol. 2B, MOV, note on segment registers).
ExecStatus MOV_Ev_Sw(CpuState& c, const DecodedInsn& d) {
  unsigned s = d.reg & 7;
  if (s >= m::kSegCount) return m::raise_ud(c);
  uint16_t sel = c.seg[s].selector;
  if (d.mod == 3) {
    set_reg_sized(c, d.rm, d.osize, sel);
    return ExecStatus::Ok;
  }
  KESTREL_TRY(write_rm<uint16_t>(c, d, sel));
  return ExecStatus::Ok;
}

// MOV Sreg, r/m: CS cannot be loaded this way (#UD); loading SS holds off
// interrupts and debug traps for one instruction (SDM Vol. 3 §6.8.3).
ExecStatus MOV_Sw_Ew(CpuState& c, const DecodedInsn& d) {
  unsigned s = d.reg & 7;
  if (s >= m::kSegCount || s == m::CS) return m::raise_ud(c);
  uint16_t sel;
  KESTREL_TRY(read_rm(c, d, sel));
  KESTREL_TRY(m::load_segment(c, static_cast<uint8_t>(s), sel));
  if (s == m::SS) c.interrupt_shadow = m::kShadowSs;
  c.rip = next_ip(c, d);
  return ExecStatus::Branch;
}

ExecStatus MOV_AL_Ob(CpuState& c, const DecodedInsn& d) {
  uint8_t v;
  KESTREL_TRY(m::read_mem(c, d.seg, d.imm & addr_mask(d), v));
  set_reg<uint8_t>(c, m::RAX, v);
  return ExecStatus::Ok;
}

ExecStatus MOV_rAX_Ov(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() {
    T v;
    KESTREL_TRY(m::read_mem(c, d.seg, d.imm & addr_mask(d), v));
    set_reg<T>(c, m::RAX, v);
    return ExecStatus::Ok;
  });
}

ExecStatus MOV_Ob_AL(CpuState& c, const DecodedInsn& d) {
  KESTREL_TRY(m::write_mem<uint8_t>(c, d.seg, d.imm & addr_mask(d), get_reg<uint8_t>(c, m::RAX)));
  return ExecStatus::Ok;
}

ExecStatus MOV_Ov_rAX(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() {
    KESTREL_TRY(m::write_mem<T>(c, d.seg, d.imm & addr_mask(d), get_reg<T>(c, m::RAX)));
    return ExecStatus::Ok;
  });
}

ExecStatus MOV_Zb_Ib(CpuState& c, const DecodedInsn& d) {
  set_reg<uint8_t>(c, d.reg, static_cast<uint8_t>(d.imm), has_rex(d));
  return ExecStatus::Ok;
}

ExecStatus MOV_Zv_Iv(CpuState& c, const DecodedInsn& d) {
  set_reg_sized(c, d.reg, d.osize, d.imm);
  return ExecStatus::Ok;
}

ExecStatus MOV_Eb_Ib(CpuState& c, const DecodedInsn& d) {
  KESTREL_TRY(write_rm<uint8_t>(c, d, static_cast<uint8_t>(d.imm)));
  return ExecStatus::Ok;
}

ExecStatus MOV_Ev_Iz(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() {
    KESTREL_TRY(write_rm<T>(c, d, imm_as<T>(d)));
    return ExecStatus::Ok;
  });
}

ExecStatus LEA_Gv_M(CpuState& c, const DecodedInsn& d) {
  set_reg_sized(c, d.reg, d.osize, effective_address(c, d));
  return ExecStatus::Ok;
}

// LDS/LES/LFS/LGS/LSS: offset then selector from memory (SDM Vol. 2A, LDS/LES/...).
namespace {
ExecStatus load_far_pointer(CpuState& c, const DecodedInsn& d, uint8_t seg) {
  uint64_t ea = effective_address(c, d);
  uint64_t off = 0;
  uint16_t sel;
  switch (d.osize) {
    case 2: { uint16_t v; KESTREL_TRY(m::read_mem(c, d.seg, ea, v)); off = v; break; }
    case 4: { uint32_t v; KESTREL_TRY(m::read_mem(c, d.seg, ea, v)); off = v; break; }
    default: KESTREL_TRY(m::read_mem(c, d.seg, ea, off)); break;
  }
  KESTREL_TRY(m::read_mem(c, d.seg, (ea + d.osize) & addr_mask(d), sel));
  KESTREL_TRY(m::load_segment(c, seg, sel));
  set_reg_sized(c, d.reg, d.osize, off);
  if (seg == m::SS) {
    // The stack changed: end the block (LSS, unlike MOV SS, opens no interrupt shadow).
    c.rip = next_ip(c, d);
    return ExecStatus::Branch;
  }
  return ExecStatus::Ok;
}
}  // namespace

ExecStatus LES_Gv_Mp(CpuState& c, const DecodedInsn& d) { return load_far_pointer(c, d, m::ES); }
ExecStatus LDS_Gv_Mp(CpuState& c, const DecodedInsn& d) { return load_far_pointer(c, d, m::DS); }
ExecStatus LSS_Gv_Mp(CpuState& c, const DecodedInsn& d) { return load_far_pointer(c, d, m::SS); }
ExecStatus LFS_Gv_Mp(CpuState& c, const DecodedInsn& d) { return load_far_pointer(c, d, m::FS); }
ExecStatus LGS_Gv_Mp(CpuState& c, const DecodedInsn& d) { return load_far_pointer(c, d, m::GS); }

// ---- exchange -----------------------------------------------------------------------------------

ExecStatus XCHG_Eb_Gb(CpuState& c, const DecodedInsn& d) {
  uint8_t a;
  KESTREL_TRY(read_rm_for_write(c, d, a));
  uint8_t b = get_greg<uint8_t>(c, d);
  KESTREL_TRY(write_rm<uint8_t>(c, d, b));
  set_greg<uint8_t>(c, d, a);
  return ExecStatus::Ok;
}

ExecStatus XCHG_Ev_Gv(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() {
    T a;
    KESTREL_TRY(read_rm_for_write(c, d, a));
    T b = get_greg<T>(c, d);
    KESTREL_TRY(write_rm<T>(c, d, b));
    set_greg<T>(c, d, a);
    return ExecStatus::Ok;
  });
}

// 90 without REX.B is NOP, even with a 32-bit operand in 64-bit mode (no zero-extension).
ExecStatus XCHG_Zv_rAX(CpuState& c, const DecodedInsn& d) {
  if (d.reg == m::RAX) return ExecStatus::Ok;
  return dispatch_v(d, [&]<class T>() {
    T a = get_reg<T>(c, d.reg), b = get_reg<T>(c, m::RAX);
    set_reg<T>(c, d.reg, b);
    set_reg<T>(c, m::RAX, a);
    return ExecStatus::Ok;
  });
}

ExecStatus PAUSE(CpuState&, const DecodedInsn&) { return ExecStatus::Ok; }

// ---- widening ------------------------------------------------------------------------------------

ExecStatus MOVZX_Gv_Eb(CpuState& c, const DecodedInsn& d) {
  uint8_t v;
  KESTREL_TRY(read_rm(c, d, v));
  set_reg_sized(c, d.reg, d.osize, v);
  return ExecStatus::Ok;
}

ExecStatus MOVZX_Gv_Ew(CpuState& c, const DecodedInsn& d) {
  uint16_t v;
  KESTREL_TRY(read_rm(c, d, v));
  set_reg_sized(c, d.reg, d.osize, v);
  return ExecStatus::Ok;
}

ExecStatus MOVSX_Gv_Eb(CpuState& c, const DecodedInsn& d) {
  uint8_t v;
  KESTREL_TRY(read_rm(c, d, v));
  set_reg_sized(c, d.reg, d.osize, static_cast<uint64_t>(static_cast<int64_t>(static_cast<int8_t>(v))));
  return ExecStatus::Ok;
}

ExecStatus MOVSX_Gv_Ew(CpuState& c, const DecodedInsn& d) {
  uint16_t v;
  KESTREL_TRY(read_rm(c, d, v));
  set_reg_sized(c, d.reg, d.osize, static_cast<uint64_t>(static_cast<int64_t>(static_cast<int16_t>(v))));
  return ExecStatus::Ok;
}

// CBW / CWDE / CDQE.
ExecStatus CBW(CpuState& c, const DecodedInsn& d) {
  switch (d.osize) {
    case 2: set_reg<uint16_t>(c, m::RAX, static_cast<uint16_t>(static_cast<int8_t>(c.gpr[m::RAX]))); break;
    case 4: set_reg<uint32_t>(c, m::RAX, static_cast<uint32_t>(static_cast<int16_t>(c.gpr[m::RAX]))); break;
    default: c.gpr[m::RAX] = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(c.gpr[m::RAX]))); break;
  }
  return ExecStatus::Ok;
}

// CWD / CDQ / CQO.
ExecStatus CWD(CpuState& c, const DecodedInsn& d) {
  switch (d.osize) {
    case 2: set_reg<uint16_t>(c, m::RDX, (c.gpr[m::RAX] & 0x8000) ? 0xFFFF : 0); break;
    case 4: set_reg<uint32_t>(c, m::RDX, (c.gpr[m::RAX] & 0x80000000u) ? 0xFFFFFFFFu : 0); break;
    default: c.gpr[m::RDX] = (c.gpr[m::RAX] >> 63) ? ~0ull : 0; break;
  }
  return ExecStatus::Ok;
}

ExecStatus XLAT(CpuState& c, const DecodedInsn& d) {
  uint64_t a = (c.gpr[m::RBX] + (c.gpr[m::RAX] & 0xFF)) & addr_mask(d);
  uint8_t v;
  KESTREL_TRY(m::read_mem(c, d.seg, a, v));
  set_reg<uint8_t>(c, m::RAX, v);
  return ExecStatus::Ok;
}

// LAHF: AH = SF ZF 0 AF 0 PF 1 CF.
ExecStatus LAHF(CpuState& c, const DecodedInsn&) {
  if (c.mode == m::CpuMode::Long64 && !c.machine->cpu_model().has(m::Feature::Lahf64)) return m::raise_ud(c);
  uint64_t f = m::materialize_flags(c);
  uint8_t ah = static_cast<uint8_t>((f & (m::kSF | m::kZF | m::kAF | m::kPF | m::kCF)) | 2);
  *reg8_ptr(c, 4, false) = ah;
  return ExecStatus::Ok;
}

ExecStatus SAHF(CpuState& c, const DecodedInsn&) {
  if (c.mode == m::CpuMode::Long64 && !c.machine->cpu_model().has(m::Feature::Lahf64)) return m::raise_ud(c);
  uint8_t ah = *reg8_ptr(c, 4, false);
  m::set_arith_flags(c, ah, m::kSF | m::kZF | m::kAF | m::kPF | m::kCF);
  return ExecStatus::Ok;
}

// ---- conditional moves and sets ----------------------------------------------------------------

// CMOVcc reads its source whatever the condition; a 32-bit destination is
// zero-extended in 64-bit mode even when the condition is false.
ExecStatus CMOVcc_Gv_Ev(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() {
    T v;
    KESTREL_TRY(read_rm(c, d, v));
    if (m::eval_condition(c, d.op & 0xF)) set_greg<T>(c, d, v);
    else if constexpr (sizeof(T) == 4) set_greg<T>(c, d, get_greg<T>(c, d));
    return ExecStatus::Ok;
  });
}

ExecStatus SETcc_Eb(CpuState& c, const DecodedInsn& d) {
  KESTREL_TRY(write_rm<uint8_t>(c, d, m::eval_condition(c, d.op & 0xF) ? 1 : 0));
  return ExecStatus::Ok;
}

// ---- XADD / CMPXCHG ------------------------------------------------------------------------------

namespace {

template <class T>
ExecStatus xadd(CpuState& c, const DecodedInsn& d) {
  T dst;
  KESTREL_TRY(read_rm_for_write(c, d, dst));
  T src = get_greg<T>(c, d);
  T sum = static_cast<T>(dst + src);
  if (d.mod == 3) {
    set_greg<T>(c, d, dst);
    set_reg<T>(c, d.rm, sum, has_rex(d));
  } else {
    KESTREL_TRY(write_rm<T>(c, d, sum));
    set_greg<T>(c, d, dst);
  }
  m::set_flags_lazy(c, m::FlagKind::Add, sizeof(T), sum, dst, src);
  return ExecStatus::Ok;
}

// The destination is always written (with its old value when unequal), as the
// locked bus cycle does (SDM Vol. 2A, CMPXCHG).
template <class T>
ExecStatus cmpxchg(CpuState& c, const DecodedInsn& d) {
  T dst;
  KESTREL_TRY(read_rm_for_write(c, d, dst));
  T acc = get_reg<T>(c, m::RAX);
  T diff = static_cast<T>(acc - dst);
  if (acc == dst) {
    KESTREL_TRY(write_rm<T>(c, d, get_greg<T>(c, d)));
  } else {
    if (d.mod != 3) KESTREL_TRY(write_rm<T>(c, d, dst));
    set_reg<T>(c, m::RAX, dst);
  }
  m::set_flags_lazy(c, m::FlagKind::Sub, sizeof(T), diff, acc, dst);
  return ExecStatus::Ok;
}

}  // namespace

ExecStatus XADD_Eb_Gb(CpuState& c, const DecodedInsn& d) { return xadd<uint8_t>(c, d); }
ExecStatus XADD_Ev_Gv(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() { return xadd<T>(c, d); });
}
ExecStatus CMPXCHG_Eb_Gb(CpuState& c, const DecodedInsn& d) { return cmpxchg<uint8_t>(c, d); }
ExecStatus CMPXCHG_Ev_Gv(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() { return cmpxchg<T>(c, d); });
}

// CMPXCHG8B m64 (and CMPXCHG16B m128 with REX.W, which needs 16-byte alignment).
ExecStatus CMPXCHG8B_Mq(CpuState& c, const DecodedInsn& d) {
  uint64_t ea = effective_address(c, d);
  if (d.osize == 8) {
    // CMPXCHG16B: needs CPUID.CX16 and a 16-byte aligned operand (SDM Vol. 2A).
    if (!c.machine->cpu_model().has(m::Feature::Cx16)) return m::raise_ud(c);
    if (ea & 15) return m::raise_gp(c, 0);
    uint64_t lin = 0;
    KESTREL_TRY(m::segment_to_linear(c, d.seg, ea, 16, m::Access::Write, lin));
    KESTREL_TRY(m::probe_write(c, d.seg, ea, 16));
    uint64_t lo, hi;
    KESTREL_TRY(m::read_linear(c, lin, lo, m::user_access(c)));
    KESTREL_TRY(m::read_linear(c, lin + 8, hi, m::user_access(c)));
    if (lo == c.gpr[m::RAX] && hi == c.gpr[m::RDX]) {
      KESTREL_TRY(m::write_linear(c, lin, c.gpr[m::RBX], m::user_access(c)));
      KESTREL_TRY(m::write_linear(c, lin + 8, c.gpr[m::RCX], m::user_access(c)));
      m::set_arith_flags(c, m::kZF, m::kZF);
    } else {
      KESTREL_TRY(m::write_linear(c, lin, lo, m::user_access(c)));
      KESTREL_TRY(m::write_linear(c, lin + 8, hi, m::user_access(c)));
      c.gpr[m::RAX] = lo;
      c.gpr[m::RDX] = hi;
      m::set_arith_flags(c, 0, m::kZF);
    }
    return ExecStatus::Ok;
  }
  uint64_t lin = 0;
  KESTREL_TRY(m::segment_to_linear(c, d.seg, ea, 8, m::Access::Write, lin));
  uint64_t cur;
  KESTREL_TRY(m::read_linear_rmw(c, lin, cur, m::user_access(c)));  // a locked RMW: faults as a write
  uint64_t want = (c.gpr[m::RDX] << 32) | static_cast<uint32_t>(c.gpr[m::RAX]);
  if (cur == want) {
    uint64_t nv = (c.gpr[m::RCX] << 32) | static_cast<uint32_t>(c.gpr[m::RBX]);
    KESTREL_TRY(m::write_linear(c, lin, nv, m::user_access(c)));
    m::set_arith_flags(c, m::kZF, m::kZF);
  } else {
    KESTREL_TRY(m::write_linear(c, lin, cur, m::user_access(c)));
    set_reg<uint32_t>(c, m::RAX, static_cast<uint32_t>(cur));
    set_reg<uint32_t>(c, m::RDX, static_cast<uint32_t>(cur >> 32));
    m::set_arith_flags(c, 0, m::kZF);
  }
  return ExecStatus::Ok;
}

}  // namespace kestrel::interp::handlers
