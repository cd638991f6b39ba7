// Decimal and AL adjustments: DAA DAS AAA AAS AAM AAD SALC
// (SDM Vol. 2A, each instruction's "Operation"; the P6 behaviour of AAA/AAS
// adjusts AX as a whole, unlike the 8086/286, which adjusted AL and AH apart).
#include "interp/handlers.h"
#include "interp/operands.h"

namespace kestrel::interp::handlers {

namespace {

uint64_t szp(uint8_t v) {
  uint64_t f = 0;
  if (v == 0) f |= m::kZF;
  if (v & 0x80) f |= m::kSF;
  if (m::parity_even(v)) f |= m::kPF;
  return f;
}

}  // namespace

ExecStatus DAA(CpuState& c, const DecodedInsn&) {
  uint64_t fl = m::materialize_flags(c);
  uint8_t al = get_reg<uint8_t>(c, m::RAX), old_al = al;
  bool old_cf = fl & m::kCF, cf = false, af = false;
  if ((al & 0x0F) > 9 || (fl & m::kAF)) {
    cf = old_cf || al > 0xF9;
    al = static_cast<uint8_t>(al + 6);
    af = true;
  }
  if (old_al > 0x99 || old_cf) {
    al = static_cast<uint8_t>(al + 0x60);
    cf = true;
  }
  set_reg<uint8_t>(c, m::RAX, al);
  // OF is undefined; the P6 family computes it as for the final addition.
  m::set_arith_flags(c, szp(al) | (cf ? m::kCF : 0) | (af ? m::kAF : 0));
  return ExecStatus::Ok;
}

ExecStatus DAS(CpuState& c, const DecodedInsn&) {
  uint64_t fl = m::materialize_flags(c);
  uint8_t al = get_reg<uint8_t>(c, m::RAX), old_al = al;
  bool old_cf = fl & m::kCF, cf = false, af = false;
  if ((al & 0x0F) > 9 || (fl & m::kAF)) {
    cf = old_cf || al < 6;
    al = static_cast<uint8_t>(al - 6);
    af = true;
  }
  if (old_al > 0x99 || old_cf) {
    al = static_cast<uint8_t>(al - 0x60);
    cf = true;
  }
  set_reg<uint8_t>(c, m::RAX, al);
  m::set_arith_flags(c, szp(al) | (cf ? m::kCF : 0) | (af ? m::kAF : 0));
  return ExecStatus::Ok;
}

ExecStatus AAA(CpuState& c, const DecodedInsn&) {
  uint64_t fl = m::materialize_flags(c);
  uint16_t ax = get_reg<uint16_t>(c, m::RAX);
  bool adj = (ax & 0x0F) > 9 || (fl & m::kAF);
  if (adj) ax = static_cast<uint16_t>(ax + 0x106);
  ax &= 0xFF0F;
  set_reg<uint16_t>(c, m::RAX, ax);
  m::set_arith_flags(c, szp(static_cast<uint8_t>(ax)) | (adj ? m::kCF | m::kAF : 0));
  return ExecStatus::Ok;
}

ExecStatus AAS(CpuState& c, const DecodedInsn&) {
  uint64_t fl = m::materialize_flags(c);
  uint16_t ax = get_reg<uint16_t>(c, m::RAX);
  bool adj = (ax & 0x0F) > 9 || (fl & m::kAF);
  if (adj) {
    ax = static_cast<uint16_t>(ax - 6);
    ax = static_cast<uint16_t>(ax - 0x100);
  }
  ax &= 0xFF0F;
  set_reg<uint16_t>(c, m::RAX, ax);
  m::set_arith_flags(c, szp(static_cast<uint8_t>(ax)) | (adj ? m::kCF | m::kAF : 0));
  return ExecStatus::Ok;
}

ExecStatus AAM_Ib(CpuState& c, const DecodedInsn& d) {
  uint8_t base = d.imm & 0xFF;
  if (base == 0) return m::raise_exception(c, m::kVecDE);
  uint8_t al = get_reg<uint8_t>(c, m::RAX);
  uint8_t q = al / base, r = al % base;
  set_reg<uint16_t>(c, m::RAX, static_cast<uint16_t>((q << 8) | r));
  m::set_arith_flags(c, szp(r));
  return ExecStatus::Ok;
}

ExecStatus AAD_Ib(CpuState& c, const DecodedInsn& d) {
  uint8_t base = d.imm & 0xFF;
  uint16_t ax = get_reg<uint16_t>(c, m::RAX);
  uint8_t al = static_cast<uint8_t>((ax & 0xFF) + (ax >> 8) * base);
  set_reg<uint16_t>(c, m::RAX, al);
  m::set_arith_flags(c, szp(al));
  return ExecStatus::Ok;
}

// SALC (undocumented D6): AL = CF ? FF : 00.
ExecStatus SALC(CpuState& c, const DecodedInsn&) {
  set_reg<uint8_t>(c, m::RAX, m::get_cf(c) ? 0xFF : 0x00);
  return ExecStatus::Ok;
}

}  // namespace kestrel::interp::handlers
