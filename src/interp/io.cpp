// IN and OUT, and the I/O permission check behind them and INS/OUTS.
#include "interp/io.h"

#include "interp/handlers.h"
#include "interp/operands.h"
#include "machine/machine.h"

namespace kestrel::interp {

bool io_permitted(CpuState& c, uint16_t port, unsigned size) {
  if (c.mode == m::CpuMode::Real) return true;
  unsigned iopl = (m::materialize_flags(c) & m::kIOPL) >> 12;
  if (c.mode != m::CpuMode::Virtual8086 && c.cpl <= iopl) return true;
  // The bitmap lives in a 32-bit (or 64-bit) TSS at the offset stored at TSS+0x66.
  const m::SegmentCache& tr = c.tr;
  unsigned type = tr.attr & 0xF;
  if (!(tr.attr & m::kSegAttrP) || (type != 9 && type != 11) || tr.limit < 0x67) return m::raise_gp(c, 0), false;
  uint64_t phys;
  uint64_t lin = tr.base + 0x66;
  if (!m::translate_linear(c, lin, m::Access::Read, false, phys)) return false;
  uint16_t base = static_cast<uint16_t>(c.machine->bus().read_uint(phys, 2));
  uint32_t byte_off = base + port / 8u;
  if (byte_off + 1 > tr.limit) return m::raise_gp(c, 0), false;
  lin = tr.base + byte_off;
  if (!m::translate_linear(c, lin, m::Access::Read, false, phys)) return false;
  uint64_t phys2;
  if (!m::translate_linear(c, lin + 1, m::Access::Read, false, phys2)) return false;
  uint16_t bits = static_cast<uint16_t>(c.machine->bus().read_uint(phys, 1) | (c.machine->bus().read_uint(phys2, 1) << 8));
  uint16_t mask = static_cast<uint16_t>(((1u << size) - 1) << (port & 7));
  if (bits & mask) return m::raise_gp(c, 0), false;
  return true;
}

uint32_t port_in(CpuState& c, uint16_t port, unsigned size) { return c.machine->ports().in(port, size); }

void port_out(CpuState& c, uint16_t port, uint32_t value, unsigned size) {
  c.machine->ports().out(port, value, size);
}

namespace handlers {

namespace {
unsigned io_size(const DecodedInsn& d) { return d.osize == 2 ? 2 : 4; }

ExecStatus do_in(CpuState& c, uint16_t port, unsigned size) {
  if (!io_permitted(c, port, size)) return ExecStatus::Fault;
  uint32_t v = port_in(c, port, size);
  set_reg_sized(c, m::RAX, size, v);
  return ExecStatus::Ok;
}

ExecStatus do_out(CpuState& c, uint16_t port, unsigned size) {
  if (!io_permitted(c, port, size)) return ExecStatus::Fault;
  port_out(c, port, static_cast<uint32_t>(c.gpr[m::RAX] & m::size_mask(size)), size);
  return ExecStatus::Ok;
}
}  // namespace

ExecStatus IN_AL_Ib(CpuState& c, const DecodedInsn& d) { return do_in(c, d.imm & 0xFF, 1); }
ExecStatus IN_eAX_Ib(CpuState& c, const DecodedInsn& d) { return do_in(c, d.imm & 0xFF, io_size(d)); }
ExecStatus IN_AL_DX(CpuState& c, const DecodedInsn&) { return do_in(c, c.gpr[m::RDX] & 0xFFFF, 1); }
ExecStatus IN_eAX_DX(CpuState& c, const DecodedInsn& d) { return do_in(c, c.gpr[m::RDX] & 0xFFFF, io_size(d)); }
ExecStatus OUT_Ib_AL(CpuState& c, const DecodedInsn& d) { return do_out(c, d.imm & 0xFF, 1); }
ExecStatus OUT_Ib_eAX(CpuState& c, const DecodedInsn& d) { return do_out(c, d.imm & 0xFF, io_size(d)); }
ExecStatus OUT_DX_AL(CpuState& c, const DecodedInsn&) { return do_out(c, c.gpr[m::RDX] & 0xFFFF, 1); }
ExecStatus OUT_DX_eAX(CpuState& c, const DecodedInsn& d) { return do_out(c, c.gpr[m::RDX] & 0xFFFF, io_size(d)); }

}  // namespace handlers
}  // namespace kestrel::interp
