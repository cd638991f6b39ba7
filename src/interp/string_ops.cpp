// String instructions: MOVS CMPS STOS LODS SCAS INS OUTS with REP/REPE/REPNE
// (SDM Vol. 2B, "REP/REPE/REPZ/REPNE/REPNZ" and each instruction).
//
// A repeated instruction runs a bounded chunk of iterations per execution and
// then returns with RIP still on itself, so pending interrupts are taken between
// iterations as on hardware; a fault leaves the registers of the completed
// iterations, so the instruction restarts where it stopped.
#include <algorithm>
#include <cstring>

#include "interp/handlers.h"
#include "interp/io.h"
#include "interp/operands.h"
#include "machine/memory.h"

namespace kestrel::interp::handlers {

namespace {

constexpr unsigned kChunk = 4096;
// Iterations one execution may do through the bulk path (whole page runs).
constexpr uint64_t kBulkChunk = 64 * 1024;

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

// The bulk path of REP MOVS/STOS: a run of iterations whose source and
// destination each stay inside one page of plain RAM (for the destination: without
// translated code) and inside their segments, done with one memcpy/memset. It
// checks everything first and returns 0 (the per-iteration path then runs, and
// faults at the exact element) when a run is not possible: a page or segment edge,
// an offset wrap, a page that would fault or is not plain RAM, or --jit verify's
// write journal. Overlapping MOVS runs copy element by element in the
// instruction's direction, which is what the iterations would do.
bool run_linear(const CpuState& c, uint8_t seg, uint64_t off, uint64_t bytes, m::Access kind, uint64_t& lin) {
  const m::SegmentCache& s = c.seg[seg];
  if (c.mode == m::CpuMode::Long64) {
    lin = off + (seg >= m::FS ? s.base : 0);
    auto canonical = [](uint64_t a) { return static_cast<uint64_t>((static_cast<int64_t>(a) >> 47) + 1) <= 1; };
    return canonical(lin) && canonical(lin + bytes - 1);
  }
  const uint8_t need = kind == m::Access::Write ? (m::kSegWritable | m::kSegUsable) : (m::kSegReadable | m::kSegUsable);
  if (off < s.lo || off + bytes - 1 > s.hi || (s.rights & need) != need) return false;
  lin = s.base + off;
  return lin + bytes - 1 <= 0xFFFFFFFFull;  // no wrap of the linear address
}

// Elements of `size` from offset `off` (linear `lin`) in direction `step` that stay
// inside the first element's page and do not wrap the offset mask `am`.
uint64_t room(uint64_t off, uint64_t lin, int64_t step, unsigned size, uint64_t am) {
  const uint64_t in_page = lin & 0xFFF;
  if (in_page + size > 0x1000 || off + size - 1 > am) return 0;
  if (step > 0) return std::min((0x1000 - in_page) / size, (am - off - (size - 1)) / size + 1);
  return std::min(in_page / size + 1, off / size + 1);
}

template <Str op, class T>
uint64_t bulk(CpuState& c, const DecodedInsn& d, int64_t step, uint64_t am, uint64_t max_iters) {
  static_assert(op == Str::Movs || op == Str::Stos);
  if (c.journal_writes) return 0;
  constexpr unsigned size = sizeof(T);
  const bool user = m::user_access(c);
  const uint64_t di = c.gpr[m::RDI] & am, si = c.gpr[m::RSI] & am;
  uint64_t n = std::min(c.gpr[m::RCX] & am, max_iters);
  uint64_t dlin0 = 0, slin0 = 0;
  if (!run_linear(c, m::ES, di, size, m::Access::Write, dlin0)) return 0;
  n = std::min(n, room(di, dlin0, step, size, am));
  if constexpr (op == Str::Movs) {
    if (!run_linear(c, d.seg, si, size, m::Access::Read, slin0)) return 0;
    n = std::min(n, room(si, slin0, step, size, am));
  }
  if (n == 0) return 0;
  const uint64_t bytes = n * size;
  const uint64_t back = step < 0 ? (n - 1) * size : 0;  // the run's lowest element
  uint64_t dlin = 0, slin = 0;
  if (!run_linear(c, m::ES, di - back, bytes, m::Access::Write, dlin)) return 0;
  // Both host pages are taken before copying, the source's first as the first
  // iteration reads before it writes (a walk sets accessed/dirty bits): the second
  // TLB fill may evict the first (same index), which must not send every element of
  // such a copy to the slow path.
  const uint8_t* src = nullptr;
  if constexpr (op == Str::Movs) {
    if (!run_linear(c, d.seg, si - back, bytes, m::Access::Read, slin)) return 0;
    const uint8_t* const spage = m::host_page(c, slin, m::Access::Read, user);
    if (!spage) return 0;
    src = spage + (slin & 0xFFF);
  }
  uint8_t* const dpage = m::host_page(c, dlin, m::Access::Write, user);
  if (!dpage) return 0;
  auto* dst = dpage + (dlin & 0xFFF);
  if constexpr (op == Str::Movs) {
    if (dst + bytes <= src || src + bytes <= dst) {
      std::memcpy(dst, src, bytes);
    } else if (step > 0) {
      for (uint64_t k = 0; k < n; ++k) std::memmove(dst + k * size, src + k * size, size);
    } else {
      for (uint64_t k = n; k-- > 0;) std::memmove(dst + k * size, src + k * size, size);
    }
    advance(c, m::RSI, d, step * static_cast<int64_t>(n));
  } else {
    const T v = get_reg<T>(c, m::RAX);
    if constexpr (size == 1) {
      std::memset(dst, v, bytes);
    } else {
      for (uint64_t k = 0; k < n; ++k) std::memcpy(dst + k * size, &v, size);
    }
  }
  advance(c, m::RDI, d, step * static_cast<int64_t>(n));
  set_reg_sized(c, m::RCX, d.asize, (c.gpr[m::RCX] - n) & am);
  return n;
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
  uint64_t bulk_budget = kBulkChunk;
  for (unsigned n = 0; n < kChunk; ++n) {
    if ((c.gpr[m::RCX] & am) == 0) {
      c.rip = next_ip(c, d);
      return ExecStatus::Branch;
    }
    if constexpr (op == Str::Movs || op == Str::Stos) {
      if (bulk_budget && !(c.rflags & m::kTF)) {
        if (const uint64_t k = bulk<op, T>(c, d, step, am, bulk_budget)) {
          bulk_budget -= k;
          if (c.event_pending) break;
          --n;  // a bulk run counts against its own budget
          continue;
        }
      }
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
