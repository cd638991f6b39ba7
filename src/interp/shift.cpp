// Shifts and rotates: ROL ROR RCL RCR SHL/SAL SHR SAR, SHLD SHRD
// (SDM Vol. 2B, "RCL/RCR/ROL/ROR", "SAL/SAR/SHL/SHR", "SHLD", "SHRD").
//
// The count is masked to 5 bits (6 with a 64-bit operand). A masked count of 0
// changes nothing, flags included. OF is defined only for a count of 1; for other
// counts we produce what the 1-bit formula gives, which tests mask as undefined.
#include "interp/handlers.h"
#include "interp/operands.h"

namespace kestrel::interp::handlers {

namespace {

enum class Sh { Rol, Ror, Rcl, Rcr, Shl, Shr, Sal, Sar };

template <class T>
constexpr unsigned kBits = sizeof(T) * 8;

// Computes the result and the new arithmetic flags; returns false when the
// masked count is 0 (no change at all).
template <Sh op, class T>
bool shift(CpuState& c, T a, unsigned count, T& r, uint64_t& flags, uint64_t& which) {
  constexpr unsigned bits = kBits<T>;
  count &= sizeof(T) == 8 ? 0x3F : 0x1F;
  if (count == 0) return false;
  const T msb = msb_of<T>();
  uint64_t f = m::materialize_flags(c) & m::kArithFlags;
  bool cf = f & m::kCF;
  bool of;
  which = m::kCF | m::kOF;
  switch (op) {
    case Sh::Rol: {
      unsigned n = count % bits;
      r = n ? static_cast<T>((a << n) | (a >> (bits - n))) : a;
      cf = r & 1;
      of = ((r & msb) != 0) != cf;
      break;
    }
    case Sh::Ror: {
      unsigned n = count % bits;
      r = n ? static_cast<T>((a >> n) | (a << (bits - n))) : a;
      cf = (r & msb) != 0;
      of = ((r & msb) != 0) != ((r & (msb >> 1)) != 0);
      break;
    }
    case Sh::Rcl: {
      unsigned n = bits < 32 ? count % (bits + 1) : count;
      r = a;
      for (unsigned i = 0; i < n; ++i) {
        bool out = (r & msb) != 0;
        r = static_cast<T>((r << 1) | (cf ? 1 : 0));
        cf = out;
      }
      of = ((r & msb) != 0) != cf;
      break;
    }
    case Sh::Rcr: {
      unsigned n = bits < 32 ? count % (bits + 1) : count;
      r = a;
      of = ((a & msb) != 0) != cf;  // computed before the rotation
      for (unsigned i = 0; i < n; ++i) {
        bool out = r & 1;
        r = static_cast<T>((r >> 1) | (cf ? msb : 0));
        cf = out;
      }
      break;
    }
    case Sh::Shl: case Sh::Sal: {
      r = count < bits ? static_cast<T>(a << count) : 0;
      cf = count <= bits ? ((a >> (bits - count)) & 1) : 0;
      of = ((r & msb) != 0) != cf;
      which = m::kArithFlags;
      break;
    }
    case Sh::Shr: {
      r = count < bits ? static_cast<T>(a >> count) : 0;
      cf = count <= bits ? ((a >> (count - 1)) & 1) : 0;
      of = (a & msb) != 0;
      which = m::kArithFlags;
      break;
    }
    case Sh::Sar: {
      using S = std::make_signed_t<T>;
      S s = static_cast<S>(a);
      r = count < bits ? static_cast<T>(s >> count) : static_cast<T>(s < 0 ? ~T(0) : 0);
      cf = count <= bits ? ((s >> (count - 1)) & 1) : (s < 0);
      of = false;
      which = m::kArithFlags;
      break;
    }
  }
  f &= ~(m::kCF | m::kOF);
  if (cf) f |= m::kCF;
  if (of) f |= m::kOF;
  if (which == m::kArithFlags) {
    f &= m::kCF | m::kOF;
    if (r == 0) f |= m::kZF;
    if (r & msb) f |= m::kSF;
    if (m::parity_even(r)) f |= m::kPF;
    // AF is undefined for shifts; the P6 family leaves it clear.
  }
  flags = f;
  return true;
}

template <Sh op, class T>
ExecStatus shift_E(CpuState& c, const DecodedInsn& d, unsigned count) {
  T a, r;
  KESTREL_TRY(read_rm_for_write(c, d, a));
  uint64_t flags, which;
  if (!shift<op, T>(c, a, count, r, flags, which)) {
    // A masked count of 0 changes nothing, but a 32-bit register is still written
    // (its upper half cleared) in 64-bit mode.
    if constexpr (sizeof(T) == 4)
      if (d.mod == 3) set_reg<T>(c, d.rm, a);
    return ExecStatus::Ok;
  }
  KESTREL_TRY(write_rm(c, d, r));
  m::set_arith_flags(c, flags, which);
  return ExecStatus::Ok;
}

template <Sh op>
ExecStatus shift_Eb(CpuState& c, const DecodedInsn& d, unsigned count) { return shift_E<op, uint8_t>(c, d, count); }

template <Sh op>
ExecStatus shift_Ev(CpuState& c, const DecodedInsn& d, unsigned count) {
  return dispatch_v(d, [&]<class T>() { return shift_E<op, T>(c, d, count); });
}

}  // namespace

#define SHIFT_HANDLERS(NAME, OP)                                                                                  \
  ExecStatus NAME##_Eb_Ib(CpuState& c, const DecodedInsn& d) { return shift_Eb<Sh::OP>(c, d, d.imm & 0xFF); }     \
  ExecStatus NAME##_Ev_Ib(CpuState& c, const DecodedInsn& d) { return shift_Ev<Sh::OP>(c, d, d.imm & 0xFF); }     \
  ExecStatus NAME##_Eb_1(CpuState& c, const DecodedInsn& d) { return shift_Eb<Sh::OP>(c, d, 1); }                 \
  ExecStatus NAME##_Ev_1(CpuState& c, const DecodedInsn& d) { return shift_Ev<Sh::OP>(c, d, 1); }                 \
  ExecStatus NAME##_Eb_CL(CpuState& c, const DecodedInsn& d) { return shift_Eb<Sh::OP>(c, d, c.gpr[m::RCX] & 0xFF); } \
  ExecStatus NAME##_Ev_CL(CpuState& c, const DecodedInsn& d) { return shift_Ev<Sh::OP>(c, d, c.gpr[m::RCX] & 0xFF); }
SHIFT_HANDLERS(ROL, Rol)
SHIFT_HANDLERS(ROR, Ror)
SHIFT_HANDLERS(RCL, Rcl)
SHIFT_HANDLERS(RCR, Rcr)
SHIFT_HANDLERS(SHL, Shl)
SHIFT_HANDLERS(SHR, Shr)
SHIFT_HANDLERS(SAL, Sal)
SHIFT_HANDLERS(SAR, Sar)
#undef SHIFT_HANDLERS

// ---- SHLD / SHRD ------------------------------------------------------------------------------

namespace {

// Double-precision shift. With a 16-bit operand and a count above 16 the result is
// undefined (SDM); we shift through the 32-bit concatenation dest:src:dest, as the
// P6 family does.
template <bool left, class T>
ExecStatus shxd(CpuState& c, const DecodedInsn& d, unsigned count) {
  constexpr unsigned bits = sizeof(T) * 8;
  count &= sizeof(T) == 8 ? 0x3F : 0x1F;
  T a;
  KESTREL_TRY(read_rm_for_write(c, d, a));
  if (count == 0) {
    if constexpr (sizeof(T) == 4)
      if (d.mod == 3) set_reg<T>(c, d.rm, a);
    return ExecStatus::Ok;
  }
  T src = get_greg<T>(c, d);
  T r;
  bool cf;
  if constexpr (bits == 16) {
    if (left) {
      uint64_t wide = (static_cast<uint64_t>(a) << 32) | (static_cast<uint64_t>(src) << 16) | a;
      r = static_cast<T>(wide >> (32 - count));
      cf = (wide >> (48 - count)) & 1;
    } else {
      uint64_t wide = a | (static_cast<uint64_t>(src) << 16) | (static_cast<uint64_t>(a) << 32);
      r = static_cast<T>(wide >> count);
      cf = (wide >> (count - 1)) & 1;
    }
  } else {
    if (left) {
      r = static_cast<T>((a << count) | (src >> (bits - count)));
      cf = (a >> (bits - count)) & 1;
    } else {
      r = static_cast<T>((a >> count) | (src << (bits - count)));
      cf = (a >> (count - 1)) & 1;
    }
  }
  KESTREL_TRY(write_rm(c, d, r));
  const T msb = msb_of<T>();
  uint64_t f = 0;
  if (cf) f |= m::kCF;
  if (((r ^ a) & msb) != 0) f |= m::kOF;
  if (r == 0) f |= m::kZF;
  if (r & msb) f |= m::kSF;
  if (m::parity_even(r)) f |= m::kPF;
  m::set_arith_flags(c, f);
  return ExecStatus::Ok;
}

}  // namespace

ExecStatus SHLD_Ev_Gv_Ib(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() { return shxd<true, T>(c, d, d.imm & 0xFF); });
}
ExecStatus SHLD_Ev_Gv_CL(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() { return shxd<true, T>(c, d, c.gpr[m::RCX] & 0xFF); });
}
ExecStatus SHRD_Ev_Gv_Ib(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() { return shxd<false, T>(c, d, d.imm & 0xFF); });
}
ExecStatus SHRD_Ev_Gv_CL(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() { return shxd<false, T>(c, d, c.gpr[m::RCX] & 0xFF); });
}

}  // namespace kestrel::interp::handlers
