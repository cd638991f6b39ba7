#include "cli/trace.h"

#include <iterator>

#include <fmt/format.h>

#include "machine/exceptions.h"
#include "machine/flags.h"
#include "machine/machine.h"

namespace kestrel::cli {

using machine::CpuMode;
using machine::CpuState;

namespace {

// CS:IP with the IP as wide as the code that runs there, then the linear address.
void format_location(fmt::memory_buffer& buf, const CpuState& c) {
  const uint16_t cs = c.seg[machine::CS].selector;
  if (c.mode == CpuMode::Long64) {
    fmt::format_to(std::back_inserter(buf), "{:04x}:{:016x} ({:016x})", cs, c.rip, c.rip);
    return;
  }
  const uint64_t lin = (c.seg[machine::CS].base + c.rip) & 0xFFFFFFFFull;
  const bool wide = c.mode == CpuMode::Protected32 || c.mode == CpuMode::Compat32 || c.rip > 0xFFFF;
  if (wide) fmt::format_to(std::back_inserter(buf), "{:04x}:{:08x} ({:08x})", cs, c.rip, lin);
  else fmt::format_to(std::back_inserter(buf), "{:04x}:{:04x} ({:08x})", cs, c.rip, lin);
}

const char* vector_name(uint8_t v) {
  static const char* kNames[32] = {"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#MP",
                                   "#TS", "#NP", "#SS", "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM",
                                   "#VE", "#CP", "#22", "#23", "#24", "#25", "#26", "#27", "#HV", "#VC",
                                   "#SX", "#31"};
  return v < 32 ? kNames[v] : "INTR";
}

}  // namespace

TraceWriter::TraceWriter(std::FILE* out, const frontend::Decoder& decoder, machine::Machine& m, TraceCategories what)
    : out_(out), decoder_(decoder), m_(m), what_(what) {}

TraceWriter::~TraceWriter() { std::fflush(out_); }

void TraceWriter::attach(interp::Interpreter& interp) {
  if (what_.io) m_.ports().set_trace(&TraceWriter::port_hook, this);
  if (what_.insn || what_.exc) interp.set_tracer(this);
}

void TraceWriter::detach(interp::Interpreter& interp) {
  m_.ports().set_trace(nullptr, nullptr);
  interp.set_tracer(nullptr);
  std::fflush(out_);
}

void TraceWriter::instruction(const CpuState& c, const frontend::DecodedInsn& d, const uint8_t* bytes) {
  if (!what_.insn) return;
  fmt::memory_buffer buf;
  auto it = std::back_inserter(buf);
  format_location(buf, c);
  fmt::format_to(it, "  ");
  const size_t bytes_start = buf.size();
  for (unsigned i = 0; i < d.len; ++i) {
    if (i) buf.push_back(' ');
    fmt::format_to(it, "{:02x}", bytes[i]);
  }
  // Pad to eight bytes' width so most disassembly lines up; longer encodings push it right.
  for (size_t w = buf.size() - bytes_start; w < 23; ++w) buf.push_back(' ');
  fmt::format_to(it, "  {:<32} |", decoder_.disassemble(c.mode, bytes, d.len, c.rip));
  // The flags as the instruction will see them, derived without touching the CPU's
  // lazy-flags record (copying the whole CpuState per instruction would cost its TLB).
  const uint64_t fl = (c.rflags & ~machine::kArithFlags) | machine::compute_arith_flags(c);
  static const char* kRegs[16] = {"ax", "cx", "dx", "bx", "sp", "bp", "si", "di",
                                  "8",  "9",  "10", "11", "12", "13", "14", "15"};
  if (c.mode == CpuMode::Long64) {
    for (int i = 0; i < 16; ++i) fmt::format_to(it, " r{}={:016x}", kRegs[i], c.gpr[i]);
    fmt::format_to(it, " rfl={:08x}", fl);
  } else {
    for (int i = 0; i < 8; ++i) fmt::format_to(it, " e{}={:08x}", kRegs[i], static_cast<uint32_t>(c.gpr[i]));
    fmt::format_to(it, " efl={:08x}", fl);
  }
  fmt::format_to(it, " ds={:04x} es={:04x} ss={:04x}\n", c.seg[machine::DS].selector, c.seg[machine::ES].selector,
                 c.seg[machine::SS].selector);
  std::fwrite(buf.data(), 1, buf.size(), out_);
}

void TraceWriter::exception(const CpuState& c, const machine::PendingException& e) {
  if (!what_.exc) return;
  fmt::memory_buffer buf;
  auto it = std::back_inserter(buf);
  if (e.is_software) {
    // INT n / INT3 / INTO: CS:IP is already the return address (the next instruction).
    fmt::format_to(it, "int: 0x{:02x} return to ", e.vector);
  } else {
    fmt::format_to(it, "exc: {}", vector_name(e.vector));
    if (e.has_error) fmt::format_to(it, "({:#x})", e.error);
    fmt::format_to(it, " vector {} at ", e.vector);
  }
  format_location(buf, c);
  // #PF also reports the faulting linear address (SDM Vol. 3 §4.7).
  if (!e.is_software && e.vector == machine::kVecPF) fmt::format_to(it, " cr2={:x}", c.cr2);
  buf.push_back('\n');
  std::fwrite(buf.data(), 1, buf.size(), out_);
}

void TraceWriter::port_hook(void* ctx, bool is_out, uint16_t port, uint32_t value, unsigned size) {
  auto* self = static_cast<TraceWriter*>(ctx);
  fmt::memory_buffer buf;
  auto it = std::back_inserter(buf);
  const unsigned digits = size * 2;
  if (is_out) fmt::format_to(it, "io: out port {:#06x} <- {:#0{}x} ({} byte{}) at ", port, value, digits + 2, size,
                             size == 1 ? "" : "s");
  else fmt::format_to(it, "io: in  port {:#06x} -> {:#0{}x} ({} byte{}) at ", port, value, digits + 2, size,
                      size == 1 ? "" : "s");
  format_location(buf, self->m_.cpu());
  buf.push_back('\n');
  std::fwrite(buf.data(), 1, buf.size(), self->out_);
}

}  // namespace kestrel::cli
