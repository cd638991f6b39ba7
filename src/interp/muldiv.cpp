// MUL, IMUL (one-, two- and three-operand forms), DIV, IDIV
// (SDM Vol. 2A/2B, each instruction's "Operation" and "Flags Affected").
//
// After MUL/IMUL only CF and OF are defined; SF, ZF and PF follow the low half
// of the result and AF is cleared, as the P6 family does. DIV/IDIV leave the
// (undefined) flags as they were.
#include <limits>

#include "interp/handlers.h"
#include "interp/operands.h"

namespace kestrel::interp::handlers {

namespace {

using u128 = unsigned __int128;
using s128 = __int128;

template <class T>
void mul_flags(CpuState& c, T low, bool overflow) {
  uint64_t f = 0;
  if (overflow) f |= m::kCF | m::kOF;
  if (low == 0) f |= m::kZF;
  if (low & msb_of<T>()) f |= m::kSF;
  if (m::parity_even(low)) f |= m::kPF;
  m::set_arith_flags(c, f);
}

// Double-width product through the accumulator pair (AX, DX:AX, EDX:EAX, RDX:RAX).
template <class T, bool is_signed>
ExecStatus mul_acc(CpuState& c, const DecodedInsn& d) {
  T src;
  KESTREL_TRY(read_rm(c, d, src));
  constexpr unsigned bits = sizeof(T) * 8;
  T a = get_reg<T>(c, m::RAX);
  T lo, hi;
  bool overflow;
  if constexpr (is_signed) {
    using S = std::make_signed_t<T>;
    s128 p = static_cast<s128>(static_cast<S>(a)) * static_cast<S>(src);
    lo = static_cast<T>(p);
    hi = static_cast<T>(p >> bits);
    overflow = p != static_cast<s128>(static_cast<S>(lo));
  } else {
    u128 p = static_cast<u128>(a) * src;
    lo = static_cast<T>(p);
    hi = static_cast<T>(p >> bits);
    overflow = hi != 0;
  }
  if constexpr (sizeof(T) == 1) {
    set_reg<uint16_t>(c, m::RAX, static_cast<uint16_t>(lo | (hi << 8)));
  } else {
    set_reg<T>(c, m::RAX, lo);
    set_reg<T>(c, m::RDX, hi);
  }
  mul_flags<T>(c, lo, overflow);
  return ExecStatus::Ok;
}

template <class T>
ExecStatus imul_trunc(CpuState& c, const DecodedInsn& d, T a, T b) {
  using S = std::make_signed_t<T>;
  s128 p = static_cast<s128>(static_cast<S>(a)) * static_cast<S>(b);
  T lo = static_cast<T>(p);
  set_greg<T>(c, d, lo);
  mul_flags<T>(c, lo, p != static_cast<s128>(static_cast<S>(lo)));
  return ExecStatus::Ok;
}

// Division: #DE on a zero divisor or a quotient that does not fit (SDM Vol. 2A, DIV).
template <class T, bool is_signed>
ExecStatus div_acc(CpuState& c, const DecodedInsn& d) {
  T src;
  KESTREL_TRY(read_rm(c, d, src));
  if (src == 0) return m::raise_exception(c, m::kVecDE);
  constexpr unsigned bits = sizeof(T) * 8;
  u128 dividend;
  if constexpr (sizeof(T) == 1) dividend = get_reg<uint16_t>(c, m::RAX);
  else dividend = (static_cast<u128>(get_reg<T>(c, m::RDX)) << bits) | get_reg<T>(c, m::RAX);
  T q, r;
  if constexpr (is_signed) {
    using S = std::make_signed_t<T>;
    // Sign-extend the 2*bits dividend.
    s128 n = static_cast<s128>(dividend << (128 - 2 * bits)) >> (128 - 2 * bits);
    s128 dv = static_cast<S>(src);
    s128 quot = n / dv, rem = n % dv;
    if (quot > std::numeric_limits<S>::max() || quot < std::numeric_limits<S>::min())
      return m::raise_exception(c, m::kVecDE);
    q = static_cast<T>(quot);
    r = static_cast<T>(rem);
  } else {
    u128 quot = dividend / src, rem = dividend % src;
    if (quot >> bits) return m::raise_exception(c, m::kVecDE);
    q = static_cast<T>(quot);
    r = static_cast<T>(rem);
  }
  if constexpr (sizeof(T) == 1) {
    set_reg<uint16_t>(c, m::RAX, static_cast<uint16_t>(q | (r << 8)));
  } else {
    set_reg<T>(c, m::RAX, q);
    set_reg<T>(c, m::RDX, r);
  }
  return ExecStatus::Ok;
}

}  // namespace

ExecStatus MUL_Eb(CpuState& c, const DecodedInsn& d) { return mul_acc<uint8_t, false>(c, d); }
ExecStatus IMUL_Eb(CpuState& c, const DecodedInsn& d) { return mul_acc<uint8_t, true>(c, d); }
ExecStatus DIV_Eb(CpuState& c, const DecodedInsn& d) { return div_acc<uint8_t, false>(c, d); }
ExecStatus IDIV_Eb(CpuState& c, const DecodedInsn& d) { return div_acc<uint8_t, true>(c, d); }
ExecStatus MUL_Ev(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() { return mul_acc<T, false>(c, d); });
}
ExecStatus IMUL_Ev(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() { return mul_acc<T, true>(c, d); });
}
ExecStatus DIV_Ev(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() { return div_acc<T, false>(c, d); });
}
ExecStatus IDIV_Ev(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() { return div_acc<T, true>(c, d); });
}

ExecStatus IMUL_Gv_Ev(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() {
    T b;
    KESTREL_TRY(read_rm(c, d, b));
    return imul_trunc<T>(c, d, get_greg<T>(c, d), b);
  });
}

ExecStatus IMUL_Gv_Ev_Iz(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() {
    T a;
    KESTREL_TRY(read_rm(c, d, a));
    return imul_trunc<T>(c, d, a, imm_as<T>(d));
  });
}

ExecStatus IMUL_Gv_Ev_Ib(CpuState& c, const DecodedInsn& d) { return IMUL_Gv_Ev_Iz(c, d); }

}  // namespace kestrel::interp::handlers
