// Integer ALU: ADD OR ADC SBB AND SUB XOR CMP TEST, INC DEC NOT NEG
// (SDM Vol. 2, each instruction's "Operation" and "Flags Affected").
//
// Results are computed first, written second, and flags recorded last, so an
// instruction whose memory write faults leaves the flags untouched.
#include "interp/handlers.h"
#include "interp/operands.h"

namespace kestrel::interp::handlers {

namespace {

using m::FlagKind;

enum class Op { Add, Or, Adc, Sbb, And, Sub, Xor, Cmp };

constexpr bool writes_result(Op op) { return op != Op::Cmp; }

template <Op op, class T>
struct Alu {
  T a, b, r;
  bool cin;
  static Alu compute(CpuState& c, T a, T b) {
    Alu x{a, b, 0, false};
    switch (op) {
      case Op::Add: x.r = static_cast<T>(a + b); break;
      case Op::Adc: x.cin = m::get_cf(c); x.r = static_cast<T>(a + b + x.cin); break;
      case Op::Sub: case Op::Cmp: x.r = static_cast<T>(a - b); break;
      case Op::Sbb: x.cin = m::get_cf(c); x.r = static_cast<T>(a - b - x.cin); break;
      case Op::And: x.r = a & b; break;
      case Op::Or: x.r = a | b; break;
      case Op::Xor: x.r = a ^ b; break;
    }
    return x;
  }
  void set_flags(CpuState& c) const {
    switch (op) {
      case Op::Add: m::set_flags_lazy(c, FlagKind::Add, sizeof(T), r, a, b); break;
      case Op::Adc: m::set_flags_lazy(c, FlagKind::Adc, sizeof(T), r, a, b); break;
      case Op::Sub: case Op::Cmp: m::set_flags_lazy(c, FlagKind::Sub, sizeof(T), r, a, b); break;
      case Op::Sbb: m::set_flags_lazy(c, FlagKind::Sbb, sizeof(T), r, a, b); break;
      default: m::set_flags_lazy(c, FlagKind::Logic, sizeof(T), r, 0, 0); break;
    }
  }
};

// dest = r/m operand.
template <Op op, class T>
ExecStatus alu_E(CpuState& c, const DecodedInsn& d, T src) {
  T a;
  if constexpr (writes_result(op)) KESTREL_TRY(read_rm_for_write(c, d, a));
  else KESTREL_TRY(read_rm(c, d, a));
  auto x = Alu<op, T>::compute(c, a, src);
  if constexpr (writes_result(op)) KESTREL_TRY(write_rm(c, d, x.r));
  x.set_flags(c);
  return ExecStatus::Ok;
}

// dest = register n.
template <Op op, class T>
ExecStatus alu_R(CpuState& c, unsigned n, bool rex, T src) {
  T a = get_reg<T>(c, n, rex);
  auto x = Alu<op, T>::compute(c, a, src);
  if constexpr (writes_result(op)) set_reg<T>(c, n, x.r, rex);
  x.set_flags(c);
  return ExecStatus::Ok;
}

template <Op op>
ExecStatus Eb_Gb(CpuState& c, const DecodedInsn& d) { return alu_E<op, uint8_t>(c, d, get_greg<uint8_t>(c, d)); }

template <Op op>
ExecStatus Ev_Gv(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() { return alu_E<op, T>(c, d, get_greg<T>(c, d)); });
}

template <Op op>
ExecStatus Gb_Eb(CpuState& c, const DecodedInsn& d) {
  uint8_t s;
  KESTREL_TRY(read_rm(c, d, s));
  return alu_R<op, uint8_t>(c, d.reg, has_rex(d), s);
}

template <Op op>
ExecStatus Gv_Ev(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() {
    T s;
    KESTREL_TRY(read_rm(c, d, s));
    return alu_R<op, T>(c, d.reg, false, s);
  });
}

template <Op op>
ExecStatus AL_Ib(CpuState& c, const DecodedInsn& d) { return alu_R<op, uint8_t>(c, m::RAX, false, imm_as<uint8_t>(d)); }

template <Op op>
ExecStatus rAX_Iz(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() { return alu_R<op, T>(c, m::RAX, false, imm_as<T>(d)); });
}

template <Op op>
ExecStatus Eb_Ib(CpuState& c, const DecodedInsn& d) { return alu_E<op, uint8_t>(c, d, imm_as<uint8_t>(d)); }

template <Op op>
ExecStatus Ev_I(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() { return alu_E<op, T>(c, d, imm_as<T>(d)); });
}

}  // namespace

#define ALU_HANDLERS(NAME, OP)                                                                       \
  ExecStatus NAME##_Eb_Gb(CpuState& c, const DecodedInsn& d) { return Eb_Gb<Op::OP>(c, d); }         \
  ExecStatus NAME##_Ev_Gv(CpuState& c, const DecodedInsn& d) { return Ev_Gv<Op::OP>(c, d); }         \
  ExecStatus NAME##_Gb_Eb(CpuState& c, const DecodedInsn& d) { return Gb_Eb<Op::OP>(c, d); }         \
  ExecStatus NAME##_Gv_Ev(CpuState& c, const DecodedInsn& d) { return Gv_Ev<Op::OP>(c, d); }         \
  ExecStatus NAME##_AL_Ib(CpuState& c, const DecodedInsn& d) { return AL_Ib<Op::OP>(c, d); }         \
  ExecStatus NAME##_rAX_Iz(CpuState& c, const DecodedInsn& d) { return rAX_Iz<Op::OP>(c, d); }       \
  ExecStatus NAME##_Eb_Ib(CpuState& c, const DecodedInsn& d) { return Eb_Ib<Op::OP>(c, d); }         \
  ExecStatus NAME##_Ev_Iz(CpuState& c, const DecodedInsn& d) { return Ev_I<Op::OP>(c, d); }          \
  ExecStatus NAME##_Ev_Ib(CpuState& c, const DecodedInsn& d) { return Ev_I<Op::OP>(c, d); }
ALU_HANDLERS(ADD, Add)
ALU_HANDLERS(OR, Or)
ALU_HANDLERS(ADC, Adc)
ALU_HANDLERS(SBB, Sbb)
ALU_HANDLERS(AND, And)
ALU_HANDLERS(SUB, Sub)
ALU_HANDLERS(XOR, Xor)
ALU_HANDLERS(CMP, Cmp)
#undef ALU_HANDLERS

// TEST is AND without the write.
ExecStatus TEST_Eb_Gb(CpuState& c, const DecodedInsn& d) {
  uint8_t a;
  KESTREL_TRY(read_rm(c, d, a));
  m::set_flags_lazy(c, m::FlagKind::Logic, 1, a & get_greg<uint8_t>(c, d), 0, 0);
  return ExecStatus::Ok;
}

ExecStatus TEST_Ev_Gv(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() {
    T a;
    KESTREL_TRY(read_rm(c, d, a));
    m::set_flags_lazy(c, m::FlagKind::Logic, sizeof(T), a & get_greg<T>(c, d), 0, 0);
    return ExecStatus::Ok;
  });
}

ExecStatus TEST_AL_Ib(CpuState& c, const DecodedInsn& d) {
  m::set_flags_lazy(c, m::FlagKind::Logic, 1, get_reg<uint8_t>(c, m::RAX) & imm_as<uint8_t>(d), 0, 0);
  return ExecStatus::Ok;
}

ExecStatus TEST_rAX_Iz(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() {
    m::set_flags_lazy(c, m::FlagKind::Logic, sizeof(T), get_reg<T>(c, m::RAX) & imm_as<T>(d), 0, 0);
    return ExecStatus::Ok;
  });
}

ExecStatus TEST_Eb_Ib(CpuState& c, const DecodedInsn& d) {
  uint8_t a;
  KESTREL_TRY(read_rm(c, d, a));
  m::set_flags_lazy(c, m::FlagKind::Logic, 1, a & imm_as<uint8_t>(d), 0, 0);
  return ExecStatus::Ok;
}

ExecStatus TEST_Ev_Iz(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() {
    T a;
    KESTREL_TRY(read_rm(c, d, a));
    m::set_flags_lazy(c, m::FlagKind::Logic, sizeof(T), a & imm_as<T>(d), 0, 0);
    return ExecStatus::Ok;
  });
}

// ---- INC / DEC: CF is preserved (SDM Vol. 2A, INC "Flags Affected") -------------------------

namespace {

template <class T, bool inc>
void incdec_flags(CpuState& c, T r) {
  c.lf_aux = m::get_cf(c);
  m::set_flags_lazy(c, inc ? m::FlagKind::Inc : m::FlagKind::Dec, sizeof(T), r, 0, 0);
}

template <class T, bool inc>
ExecStatus incdec_E(CpuState& c, const DecodedInsn& d) {
  T a;
  KESTREL_TRY(read_rm_for_write(c, d, a));
  T r = static_cast<T>(inc ? a + 1 : a - 1);
  KESTREL_TRY(write_rm(c, d, r));
  incdec_flags<T, inc>(c, r);
  return ExecStatus::Ok;
}

}  // namespace

ExecStatus INC_Zv(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() {
    T r = static_cast<T>(get_reg<T>(c, d.reg) + 1);
    set_reg<T>(c, d.reg, r);
    incdec_flags<T, true>(c, r);
    return ExecStatus::Ok;
  });
}

ExecStatus DEC_Zv(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() {
    T r = static_cast<T>(get_reg<T>(c, d.reg) - 1);
    set_reg<T>(c, d.reg, r);
    incdec_flags<T, false>(c, r);
    return ExecStatus::Ok;
  });
}

ExecStatus INC_Eb(CpuState& c, const DecodedInsn& d) { return incdec_E<uint8_t, true>(c, d); }
ExecStatus DEC_Eb(CpuState& c, const DecodedInsn& d) { return incdec_E<uint8_t, false>(c, d); }
ExecStatus INC_Ev(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() { return incdec_E<T, true>(c, d); });
}
ExecStatus DEC_Ev(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() { return incdec_E<T, false>(c, d); });
}

// ---- NOT / NEG ----------------------------------------------------------------------------------

namespace {

template <class T>
ExecStatus not_E(CpuState& c, const DecodedInsn& d) {
  T a;
  KESTREL_TRY(read_rm_for_write(c, d, a));
  KESTREL_TRY(write_rm(c, d, static_cast<T>(~a)));
  return ExecStatus::Ok;
}

template <class T>
ExecStatus neg_E(CpuState& c, const DecodedInsn& d) {
  T a;
  KESTREL_TRY(read_rm_for_write(c, d, a));
  T r = static_cast<T>(0 - a);
  KESTREL_TRY(write_rm(c, d, r));
  m::set_flags_lazy(c, m::FlagKind::Sub, sizeof(T), r, 0, a);
  return ExecStatus::Ok;
}

}  // namespace

ExecStatus NOT_Eb(CpuState& c, const DecodedInsn& d) { return not_E<uint8_t>(c, d); }
ExecStatus NOT_Ev(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() { return not_E<T>(c, d); });
}
ExecStatus NEG_Eb(CpuState& c, const DecodedInsn& d) { return neg_E<uint8_t>(c, d); }
ExecStatus NEG_Ev(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() { return neg_E<T>(c, d); });
}

}  // namespace kestrel::interp::handlers
