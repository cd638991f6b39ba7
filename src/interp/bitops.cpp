// Bit test and scan: BT BTS BTR BTC (register and immediate offsets), BSF BSR, BSWAP
// (SDM Vol. 2A "BT", "BSF", "BSR", "BSWAP").
#include "interp/handlers.h"
#include "interp/operands.h"

namespace kestrel::interp::handlers {

namespace {

enum class BitOp { Test, Set, Reset, Complement };

// With a memory operand and a register offset, the offset is a signed bit index
// that may reach outside the operand: the address moves by whole operands
// (SDM Vol. 2A, BT, "bit base" addressing).
template <BitOp op, class T>
ExecStatus bit_op(CpuState& c, const DecodedInsn& d, uint64_t offset, bool from_register) {
  constexpr unsigned bits = sizeof(T) * 8;
  T v;
  unsigned bit;
  if (d.mod == 3) {
    v = get_reg<T>(c, d.rm);
    bit = offset & (bits - 1);
  } else {
    uint64_t ea = effective_address(c, d);
    if (from_register) {
      // Sign-extend the offset from the operand size, then split it.
      int64_t off = static_cast<int64_t>(static_cast<std::make_signed_t<T>>(static_cast<T>(offset)));
      int64_t words = off >> (sizeof(T) == 2 ? 4 : sizeof(T) == 4 ? 5 : 6);
      ea = (ea + static_cast<uint64_t>(words * static_cast<int64_t>(sizeof(T)))) & addr_mask(d);
      bit = static_cast<unsigned>(off & (bits - 1));
    } else {
      bit = offset & (bits - 1);
    }
    if constexpr (op == BitOp::Test) {
      KESTREL_TRY(m::read_mem(c, d.seg, ea, v));
    } else {
      KESTREL_TRY(m::probe_write(c, d.seg, ea, sizeof(T)));
      KESTREL_TRY(m::read_mem(c, d.seg, ea, v));
    }
    T mask = static_cast<T>(T(1) << bit);
    bool cf = v & mask;
    if constexpr (op != BitOp::Test) {
      T nv = op == BitOp::Set ? (v | mask) : op == BitOp::Reset ? (v & ~mask) : (v ^ mask);
      KESTREL_TRY(m::write_mem(c, d.seg, ea, static_cast<T>(nv)));
    }
    m::set_arith_flags(c, cf ? m::kCF : 0, m::kCF);
    return ExecStatus::Ok;
  }
  T mask = static_cast<T>(T(1) << bit);
  bool cf = v & mask;
  if constexpr (op != BitOp::Test) {
    T nv = op == BitOp::Set ? (v | mask) : op == BitOp::Reset ? (v & ~mask) : (v ^ mask);
    set_reg<T>(c, d.rm, static_cast<T>(nv));
  }
  m::set_arith_flags(c, cf ? m::kCF : 0, m::kCF);
  return ExecStatus::Ok;
}

template <BitOp op>
ExecStatus bit_Gv(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() { return bit_op<op, T>(c, d, get_greg<T>(c, d), true); });
}

template <BitOp op>
ExecStatus bit_Ib(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() { return bit_op<op, T>(c, d, d.imm & 0xFF, false); });
}

}  // namespace

ExecStatus BT_Ev_Gv(CpuState& c, const DecodedInsn& d) { return bit_Gv<BitOp::Test>(c, d); }
ExecStatus BTS_Ev_Gv(CpuState& c, const DecodedInsn& d) { return bit_Gv<BitOp::Set>(c, d); }
ExecStatus BTR_Ev_Gv(CpuState& c, const DecodedInsn& d) { return bit_Gv<BitOp::Reset>(c, d); }
ExecStatus BTC_Ev_Gv(CpuState& c, const DecodedInsn& d) { return bit_Gv<BitOp::Complement>(c, d); }
ExecStatus BT_Ev_Ib(CpuState& c, const DecodedInsn& d) { return bit_Ib<BitOp::Test>(c, d); }
ExecStatus BTS_Ev_Ib(CpuState& c, const DecodedInsn& d) { return bit_Ib<BitOp::Set>(c, d); }
ExecStatus BTR_Ev_Ib(CpuState& c, const DecodedInsn& d) { return bit_Ib<BitOp::Reset>(c, d); }
ExecStatus BTC_Ev_Ib(CpuState& c, const DecodedInsn& d) { return bit_Ib<BitOp::Complement>(c, d); }

namespace {
// BSF/BSR: a zero source sets ZF and leaves the destination unchanged (what Intel
// and AMD processors do; the SDM calls the destination undefined); otherwise the
// destination takes INDEX(source), the index of the bit the scan finds.
template <class Index>
ExecStatus bit_scan(CpuState& c, const DecodedInsn& d, Index index) {
  return dispatch_v(d, [&]<class T>() {
    T v;
    KESTREL_TRY(read_rm(c, d, v));
    if (v == 0) {
      m::set_arith_flags(c, m::kZF, m::kZF);
    } else {
      set_greg<T>(c, d, static_cast<T>(index(v)));
      m::set_arith_flags(c, 0, m::kZF);
    }
    return ExecStatus::Ok;
  });
}
}  // namespace

ExecStatus BSF_Gv_Ev(CpuState& c, const DecodedInsn& d) {
  return bit_scan(c, d, [](auto v) { return std::countr_zero(v); });
}

ExecStatus BSR_Gv_Ev(CpuState& c, const DecodedInsn& d) {
  return bit_scan(c, d, [](auto v) { return static_cast<int>(sizeof(v) * 8) - 1 - std::countl_zero(v); });
}

// BSWAP with a 16-bit operand is undefined; Intel processors clear the low word.
ExecStatus BSWAP_Zv(CpuState& c, const DecodedInsn& d) {
  switch (d.osize) {
    case 2: set_reg<uint16_t>(c, d.reg, 0); break;
    case 4: set_reg<uint32_t>(c, d.reg, __builtin_bswap32(get_reg<uint32_t>(c, d.reg))); break;
    default: c.gpr[d.reg] = __builtin_bswap64(c.gpr[d.reg]); break;
  }
  return ExecStatus::Ok;
}

}  // namespace kestrel::interp::handlers
