// Operand access shared by every handler family: registers by size, the ModRM
// r/m operand (register or memory), effective addresses, the stack, and the
// instruction-pointer arithmetic. Templates on the operand type keep each
// handler one body for all sizes.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "frontend-x86/insn.h"
#include "machine/cpu_state.h"
#include "machine/exceptions.h"
#include "machine/flags.h"
#include "machine/memory.h"
#include "machine/segments.h"

namespace kestrel::interp {

using frontend::DecodedInsn;
using machine::CpuState;
using machine::ExecStatus;
namespace m = machine;

// ---- registers ------------------------------------------------------------------------------

// 8-bit register n: without REX, 4..7 are AH, CH, DH, BH (SDM Vol. 1 §3.7.2.1).
inline uint8_t* reg8_ptr(CpuState& c, unsigned n, bool rex) {
  if (!rex && n >= 4 && n < 8) return reinterpret_cast<uint8_t*>(&c.gpr[n - 4]) + 1;
  return reinterpret_cast<uint8_t*>(&c.gpr[n]);
}

template <class T>
inline T get_reg(CpuState& c, unsigned n, bool rex = false) {
  if constexpr (sizeof(T) == 1) return *reg8_ptr(c, n, rex);
  else return static_cast<T>(c.gpr[n]);
}

// Writes follow the x86-64 rule: a 32-bit write zero-extends into the full register,
// 8- and 16-bit writes leave the upper bits alone.
template <class T>
inline void set_reg(CpuState& c, unsigned n, T v, bool rex = false) {
  if constexpr (sizeof(T) == 1) *reg8_ptr(c, n, rex) = v;
  else if constexpr (sizeof(T) == 2) std::memcpy(&c.gpr[n], &v, 2);
  else c.gpr[n] = static_cast<uint64_t>(v);
}

// Register by size in bytes (for code that switches on d.osize at run time).
inline uint64_t get_reg_sized(CpuState& c, unsigned n, unsigned bytes) {
  return c.gpr[n] & m::size_mask(bytes);
}
inline void set_reg_sized(CpuState& c, unsigned n, unsigned bytes, uint64_t v) {
  switch (bytes) {
    case 1: *reg8_ptr(c, n, true) = static_cast<uint8_t>(v); break;
    case 2: set_reg<uint16_t>(c, n, static_cast<uint16_t>(v)); break;
    case 4: set_reg<uint32_t>(c, n, static_cast<uint32_t>(v)); break;
    default: c.gpr[n] = v; break;
  }
}

inline bool has_rex(const DecodedInsn& d) { return d.pfx & frontend::kPfxRex; }

// ---- effective addresses ----------------------------------------------------------------------

inline uint64_t addr_mask(const DecodedInsn& d) { return m::size_mask(d.asize); }

// Effective address of the ModRM memory operand (SDM Vol. 2A §2.1.5), truncated to the
// address size.
inline uint64_t effective_address(const CpuState& c, const DecodedInsn& d) {
  uint64_t a = static_cast<uint64_t>(static_cast<int64_t>(d.disp));
  if (d.base != frontend::kNoReg) a += d.base == frontend::kRipBase ? c.rip + d.len : c.gpr[d.base];
  if (d.index != frontend::kNoReg) a += c.gpr[d.index] << d.scale;
  return a & addr_mask(d);
}

// ---- the r/m operand ----------------------------------------------------------------------------

template <class T>
inline bool read_rm(CpuState& c, const DecodedInsn& d, T& v) {
  if (d.mod == 3) {
    v = get_reg<T>(c, d.rm, has_rex(d));
    return true;
  }
  return m::read_mem(c, d.seg, effective_address(c, d), v);
}

template <class T>
inline bool write_rm(CpuState& c, const DecodedInsn& d, T v) {
  if (d.mod == 3) {
    set_reg<T>(c, d.rm, v, has_rex(d));
    return true;
  }
  return m::write_mem(c, d.seg, effective_address(c, d), v);
}

// Read-modify-write: the write permission is checked before the read so that a
// faulting write leaves nothing changed (the value is written after the computation).
template <class T>
inline bool read_rm_for_write(CpuState& c, const DecodedInsn& d, T& v) {
  if (d.mod == 3) {
    v = get_reg<T>(c, d.rm, has_rex(d));
    return true;
  }
  uint64_t off = effective_address(c, d);
  uint64_t lin = 0;
  if (!m::segment_to_linear(c, d.seg, off, sizeof(T), m::Access::Write, lin)) return false;
  return m::read_linear_rmw(c, lin, v, m::user_access(c));
}

// The r/m operand read at `bytes` (2, 4 or 8), zero-extended: for PUSH r/m and the
// near branches through r/m, whose size follows the mode rather than d.osize alone.
inline bool read_rm_sized(CpuState& c, const DecodedInsn& d, unsigned bytes, uint64_t& v) {
  switch (bytes) {
    case 2: { uint16_t x; if (!read_rm(c, d, x)) return false; v = x; return true; }
    case 4: { uint32_t x; if (!read_rm(c, d, x)) return false; v = x; return true; }
    default: return read_rm(c, d, v);
  }
}

template <class T>
inline T get_greg(CpuState& c, const DecodedInsn& d) { return get_reg<T>(c, d.reg, has_rex(d)); }
template <class T>
inline void set_greg(CpuState& c, const DecodedInsn& d, T v) { set_reg<T>(c, d.reg, v, has_rex(d)); }

// ---- instruction pointer ---------------------------------------------------------------------------

// IP/EIP/RIP width follows the operand size of the transfer (SDM Vol. 2A, JMP/CALL "Operation").
inline uint64_t ip_mask(unsigned osize) { return m::size_mask(osize); }

inline uint64_t next_ip(const CpuState& c, const DecodedInsn& d) {
  uint64_t n = c.rip + d.len;
  return c.mode == m::CpuMode::Long64 ? n : n & 0xFFFFFFFF;
}

// Sets RIP for a near transfer to `target`; #GP(0) if it lies beyond the CS limit
// or (64-bit mode) is not canonical.
ExecStatus near_branch(CpuState& c, uint64_t target, unsigned osize);

// Operand size of near branches: 64 bits in 64-bit mode, where Intel processors
// ignore a 66 prefix on CALL/JMP/Jcc/RET (SDM Vol. 2A, JMP/CALL "64-bit mode").
inline unsigned branch_osize(const CpuState& c, const DecodedInsn& d) {
  if (c.mode == m::CpuMode::Long64) return 8;
  return d.osize;
}

// Operand size of PUSH/POP and the other stack operations: 64-bit mode uses 8,
// or 2 with a 66 prefix.
inline unsigned stack_osize(const CpuState& c, const DecodedInsn& d) {
  if (c.mode == m::CpuMode::Long64) return d.osize == 2 ? 2 : 8;
  return d.osize;
}

// ---- the stack --------------------------------------------------------------------------------------

inline uint64_t stack_mask(const CpuState& c) { return m::size_mask(m::stack_size(c)); }

inline uint64_t get_sp(const CpuState& c) { return c.gpr[m::RSP] & stack_mask(c); }
inline void set_sp(CpuState& c, uint64_t v) {
  uint64_t mk = stack_mask(c);
  c.gpr[m::RSP] = (c.gpr[m::RSP] & ~mk) | (v & mk);
}

// Push of `bytes` (2, 4, 8): the store happens before RSP changes, so a fault leaves RSP intact.
inline bool push_value(CpuState& c, uint64_t v, unsigned bytes) {
  uint64_t sp = (get_sp(c) - bytes) & stack_mask(c);
  bool ok;
  switch (bytes) {
    case 2: ok = m::write_mem<uint16_t>(c, m::SS, sp, static_cast<uint16_t>(v)); break;
    case 4: ok = m::write_mem<uint32_t>(c, m::SS, sp, static_cast<uint32_t>(v)); break;
    default: ok = m::write_mem<uint64_t>(c, m::SS, sp, v); break;
  }
  if (ok) set_sp(c, sp);
  return ok;
}

// Reads the value `offset` bytes above the stack top without popping.
inline bool peek_value(CpuState& c, uint64_t offset, unsigned bytes, uint64_t& v) {
  uint64_t sp = (get_sp(c) + offset) & stack_mask(c);
  switch (bytes) {
    case 2: { uint16_t x; if (!m::read_mem(c, m::SS, sp, x)) return false; v = x; return true; }
    case 4: { uint32_t x; if (!m::read_mem(c, m::SS, sp, x)) return false; v = x; return true; }
    default: return m::read_mem(c, m::SS, sp, v);
  }
}

inline bool pop_value(CpuState& c, uint64_t& v, unsigned bytes) {
  if (!peek_value(c, 0, bytes, v)) return false;
  set_sp(c, get_sp(c) + bytes);
  return true;
}

// ---- sized dispatch ------------------------------------------------------------------------------------

// Calls f.template operator()<T>() with T = uint16_t / uint32_t / uint64_t per d.osize.
template <class F>
inline ExecStatus dispatch_v(const DecodedInsn& d, F&& f) {
  switch (d.osize) {
    case 2: return f.template operator()<uint16_t>();
    case 4: return f.template operator()<uint32_t>();
    default: return f.template operator()<uint64_t>();
  }
}

template <class T>
inline constexpr T msb_of() { return static_cast<T>(T(1) << (sizeof(T) * 8 - 1)); }

// Immediate truncated / sign-extended to the operand type (Iz is at most 32 bits and
// sign-extends to 64; the decoder already sign-extended signed immediates).
template <class T>
inline T imm_as(const DecodedInsn& d) { return static_cast<T>(d.imm); }

}  // namespace kestrel::interp
