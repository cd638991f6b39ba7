// String instructions: MOVS CMPS STOS LODS SCAS INS OUTS with REP/REPE/REPNE
// (SDM Vol. 2B, "REP/REPE/REPZ/REPNE/REPNZ" and each instruction).
//
// A repeated instruction runs a bounded chunk of iterations per execution and
// then returns with RIP still on itself, so pending interrupts are taken between
// iterations as on hardware; a fault leaves the registers of the completed
// iterations, so the instruction restarts where it stopped.
#include "interp/handlers.h"
#include "interp/io.h"
#include "interp/operands.h"

namespace kestrel::interp::handlers {

namespace {

constexpr unsigned kChunk = 4096;

enum class Str { Movs, Cmps, Stos, Lods, Scas, Ins, Outs };

inline void advance(CpuState& c, unsigned reg, const DecodedInsn& d, int64_t step) {
  set_reg_sized(c, reg, d.asize, (c.gpr[reg] + static_cast<uint64_t>(step)) & addr_mask(d));
}

template <Str op, class T>
ExecStatus iteration(CpuState& c, const DecodedInsn& d, int64_t step) {
  const uint64_t am = addr_mask(d);
  const uint64_t si = c.gpr[m::RSI] & am, di = c.gpr[m::RDI] & am;
  if constexpr (op == Str::Movs) {
    T v;
    KESTREL_TRY(m::read_mem(c, d.seg, si, v));
    KESTREL_TRY(m::write_mem(c, m::ES, di, v));
    advance(c, m::RSI, d, step);
    advance(c, m::RDI, d, step);
  } else if constexpr (op == Str::Cmps) {
    T a, b;
    KESTREL_TRY(m::read_mem(c, d.seg, si, a));
    KESTREL_TRY(m::read_mem(c, m::ES, di, b));
    m::set_flags_lazy(c, m::FlagKind::Sub, sizeof(T), static_cast<T>(a - b), a, b);
    advance(c, m::RSI, d, step);
    advance(c, m::RDI, d, step);
  } else if constexpr (op == Str::Stos) {
    KESTREL_TRY(m::write_mem(c, m::ES, di, get_reg<T>(c, m::RAX)));
    advance(c, m::RDI, d, step);
  } else if constexpr (op == Str::Lods) {
    T v;
    KESTREL_TRY(m::read_mem(c, d.seg, si, v));
    set_reg<T>(c, m::RAX, v);
    advance(c, m::RSI, d, step);
  } else if constexpr (op == Str::Scas) {
    T a = get_reg<T>(c, m::RAX), b;
    KESTREL_TRY(m::read_mem(c, m::ES, di, b));
    m::set_flags_lazy(c, m::FlagKind::Sub, sizeof(T), static_cast<T>(a - b), a, b);
    advance(c, m::RDI, d, step);
  } else if constexpr (op == Str::Ins) {
    uint16_t port = c.gpr[m::RDX] & 0xFFFF;
    if (!io_permitted(c, port, sizeof(T))) return ExecStatus::Fault;
    // The destination is checked before the port is read: a read may have side effects.
    KESTREL_TRY(m::probe_write(c, m::ES, di, sizeof(T)));
    T v = static_cast<T>(port_in(c, port, sizeof(T)));
    KESTREL_TRY(m::write_mem(c, m::ES, di, v));
    advance(c, m::RDI, d, step);
  } else {
    uint16_t port = c.gpr[m::RDX] & 0xFFFF;
    if (!io_permitted(c, port, sizeof(T))) return ExecStatus::Fault;
    T v;
    KESTREL_TRY(m::read_mem(c, d.seg, si, v));
    port_out(c, port, v, sizeof(T));
    advance(c, m::RSI, d, step);
  }
  return ExecStatus::Ok;
}

template <Str op, class T>
ExecStatus string_op(CpuState& c, const DecodedInsn& d) {
  const int64_t step = (c.rflags & m::kDF) ? -static_cast<int64_t>(sizeof(T)) : static_cast<int64_t>(sizeof(T));
  const bool rep = d.pfx & (frontend::kPfxRep | frontend::kPfxRepne);
  if (!rep) return iteration<op, T>(c, d, step);
  const uint64_t am = addr_mask(d);
  constexpr bool conditional = op == Str::Cmps || op == Str::Scas;
  if constexpr (op == Str::Ins || op == Str::Outs) {
    // The I/O permission is checked even when the count is 0.
    if (!io_permitted(c, c.gpr[m::RDX] & 0xFFFF, sizeof(T))) return ExecStatus::Fault;
  }
  if (d.asize == 4 && c.mode == m::CpuMode::Long64) {
    // With a 32-bit address size the counter and index registers are written as
    // 32-bit registers, which clears their upper halves even for a count of 0.
    // (Measured on Intel hardware: MOVS and STOS clear the index registers' upper
    // halves up front; LODS, CMPS and SCAS leave them until an iteration runs.)
    c.gpr[m::RCX] &= 0xFFFFFFFFull;
    if constexpr (op == Str::Movs) c.gpr[m::RSI] &= 0xFFFFFFFFull;
    if constexpr (op == Str::Movs || op == Str::Stos) c.gpr[m::RDI] &= 0xFFFFFFFFull;
  }
  const bool repne = d.pfx & frontend::kPfxRepne;
  for (unsigned n = 0; n < kChunk; ++n) {
    if ((c.gpr[m::RCX] & am) == 0) {
      c.rip = next_ip(c, d);
      return ExecStatus::Branch;
    }
    ExecStatus st = iteration<op, T>(c, d, step);
    if (st != ExecStatus::Ok) return st;
    set_reg_sized(c, m::RCX, d.asize, (c.gpr[m::RCX] - 1) & am);
    if constexpr (conditional) {
      if (m::get_zf(c) == repne) {
        c.rip = next_ip(c, d);
        return ExecStatus::Branch;
      }
    }
    // Interrupts and the single-step trap are taken between iterations
    // (SDM Vol. 2B, REP: "the processor ... services the interrupt" and the trap
    // occurs after each iteration with RIP on the instruction).
    if (c.event_pending || (c.rflags & m::kTF)) break;
  }
  if ((c.gpr[m::RCX] & am) == 0) c.rip = next_ip(c, d);
  return ExecStatus::Branch;
}

template <Str op>
ExecStatus string_v(CpuState& c, const DecodedInsn& d) {
  return dispatch_v(d, [&]<class T>() { return string_op<op, T>(c, d); });
}

// INS/OUTS move at most 32 bits.
template <Str op>
ExecStatus string_io_v(CpuState& c, const DecodedInsn& d) {
  return d.osize == 2 ? string_op<op, uint16_t>(c, d) : string_op<op, uint32_t>(c, d);
}

}  // namespace

ExecStatus MOVSB(CpuState& c, const DecodedInsn& d) { return string_op<Str::Movs, uint8_t>(c, d); }
ExecStatus MOVSv(CpuState& c, const DecodedInsn& d) { return string_v<Str::Movs>(c, d); }
ExecStatus CMPSB(CpuState& c, const DecodedInsn& d) { return string_op<Str::Cmps, uint8_t>(c, d); }
ExecStatus CMPSv(CpuState& c, const DecodedInsn& d) { return string_v<Str::Cmps>(c, d); }
ExecStatus STOSB(CpuState& c, const DecodedInsn& d) { return string_op<Str::Stos, uint8_t>(c, d); }
ExecStatus STOSv(CpuState& c, const DecodedInsn& d) { return string_v<Str::Stos>(c, d); }
ExecStatus LODSB(CpuState& c, const DecodedInsn& d) { return string_op<Str::Lods, uint8_t>(c, d); }
ExecStatus LODSv(CpuState& c, const DecodedInsn& d) { return string_v<Str::Lods>(c, d); }
ExecStatus SCASB(CpuState& c, const DecodedInsn& d) { return string_op<Str::Scas, uint8_t>(c, d); }
ExecStatus SCASv(CpuState& c, const DecodedInsn& d) { return string_v<Str::Scas>(c, d); }
ExecStatus INSB(CpuState& c, const DecodedInsn& d) { return string_op<Str::Ins, uint8_t>(c, d); }
ExecStatus INSv(CpuState& c, const DecodedInsn& d) { return string_io_v<Str::Ins>(c, d); }
ExecStatus OUTSB(CpuState& c, const DecodedInsn& d) { return string_op<Str::Outs, uint8_t>(c, d); }
ExecStatus OUTSv(CpuState& c, const DecodedInsn& d) { return string_io_v<Str::Outs>(c, d); }

}  // namespace kestrel::interp::handlers
