// Handler dispatch: one entry per table form, in table order. A form without a
// handler is a link error, so the table and the interpreter cannot drift.
#include <fmt/format.h>

#include "frontend-x86/decoder.h"
#include "interp/handlers.h"
#include "machine/machine.h"
#include "machine/memory.h"

namespace kestrel::interp {

namespace {
constexpr frontend::Handler kHandlers[] = {
#define X(id, map, op, n, reg, pfx, mod, feat, fr, fw, attrs) &handlers::id,
#include "frontend-x86/insn_table.def"
#undef X
    &handlers::Unimplemented,
    &handlers::Invalid,
};
static_assert(std::size(kHandlers) == frontend::kInsnCount);
}  // namespace

frontend::Handler handler_for(frontend::InsnId id) { return kHandlers[static_cast<unsigned>(id)]; }

namespace handlers {

ExecStatus Unimplemented(CpuState& c, const DecodedInsn& d) {
  uint8_t bytes[16] = {};
  uint64_t lin = c.mode == machine::CpuMode::Long64 ? c.rip : (c.seg[machine::CS].base + c.rip) & 0xFFFFFFFF;
  machine::PendingException saved = c.exc;
  machine::fetch_code(c, lin, bytes, d.len);
  c.exc = saved;
  frontend::Decoder dec;
  std::string text = dec.disassemble(c.mode, bytes, d.len, c.rip);
  std::string hex;
  for (unsigned i = 0; i < d.len; ++i) hex += fmt::format("{:02x}", bytes[i]);
  c.machine->report_once("unimpl:" + text.substr(0, text.find(' ')),
                         fmt::format("unimplemented instruction '{}' ({}) at {:04x}:{:x}: raising #UD", text, hex,
                                     c.seg[machine::CS].selector, c.rip));
  return machine::raise_ud(c);
}

ExecStatus Invalid(CpuState& c, const DecodedInsn&) { return machine::raise_ud(c); }

}  // namespace handlers
}  // namespace kestrel::interp
