// --trace: one text line per executed instruction, delivered exception or port
// access, written to one stream so the three interleave in execution order.
#pragma once

#include <cstdint>
#include <cstdio>

#include "cli/options.h"
#include "interp/interpreter.h"

namespace kestrel::cli {

class TraceWriter final : public interp::Tracer {
 public:
  // `out` stays owned by the caller.
  TraceWriter(std::FILE* out, const frontend::Decoder& decoder, machine::Machine& m, TraceCategories what);
  ~TraceWriter() override;

  // Hooks the io category into the machine's port bus (no-op unless io is traced),
  // and the rest into the interpreter (no-op unless insn or exc is traced, since an
  // attached tracer makes the interpreter run one instruction at a time).
  void attach(interp::Interpreter& interp);
  void detach(interp::Interpreter& interp);

  void instruction(const machine::CpuState& c, const frontend::DecodedInsn& d, const uint8_t* bytes) override;
  void exception(const machine::CpuState& c, const machine::PendingException& e) override;

 private:
  static void port_hook(void* ctx, bool is_out, uint16_t port, uint32_t value, unsigned size);

  std::FILE* out_;
  const frontend::Decoder& decoder_;
  machine::Machine& m_;
  TraceCategories what_;
};

}  // namespace kestrel::cli
