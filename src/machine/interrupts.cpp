#include "machine/interrupts.h"

#include <fmt/format.h>

#include "machine/exceptions.h"
#include "machine/flags.h"
#include "machine/machine.h"
#include "machine/memory.h"
#include "machine/segments.h"

namespace kestrel::machine {

namespace {

// Exception classes for the double-fault rules (SDM Vol. 3 §6.15, Table 6-5).
enum class Class { Benign, Contributory, PageFault };

Class classify(uint8_t v) {
  switch (v) {
    case kVecDE: case kVecTS: case kVecNP: case kVecSS: case kVecGP: return Class::Contributory;
    case kVecPF: return Class::PageFault;
    default: return Class::Benign;
  }
}

bool push16(CpuState& c, uint16_t v) {
  uint64_t mask = (c.seg[SS].attr & kSegAttrD) ? 0xFFFFFFFFull : 0xFFFFull;
  uint64_t sp = (c.gpr[RSP] - 2) & mask;
  if (!write_mem<uint16_t>(c, SS, sp, v)) return false;
  c.gpr[RSP] = (c.gpr[RSP] & ~mask) | sp;
  return true;
}

// Real-mode delivery through the IVT at IDTR.base (SDM Vol. 3 §20.1.4).
bool deliver_real(CpuState& c, uint8_t vector) {
  uint32_t off = vector * 4u;
  if (off + 3 > c.idtr.limit) {
    raise_gp(c, vector * 8 + 2);
    return false;
  }
  uint64_t flags = materialize_flags(c);
  uint64_t saved_sp = c.gpr[RSP];
  if (!push16(c, static_cast<uint16_t>(flags)) || !push16(c, c.seg[CS].selector) ||
      !push16(c, static_cast<uint16_t>(c.rip))) {
    c.gpr[RSP] = saved_sp;
    return false;
  }
  uint64_t phys;
  uint64_t lin = (c.idtr.base + off) & 0xFFFFFFFF;
  if (!translate_linear(c, lin, Access::Read, false, phys)) return false;
  uint32_t vec = static_cast<uint32_t>(c.machine->bus().read_uint(phys, 4));
  c.rflags &= ~(kIF | kTF | kAC | kRF);
  load_segment_real(c, CS, static_cast<uint16_t>(vec >> 16));
  c.rip = vec & 0xFFFF;
  return true;
}

bool deliver_vector(CpuState& c, uint8_t vector) {
  if (c.mode == CpuMode::Real) return deliver_real(c, vector);
  c.machine->report_once("pm-delivery", fmt::format(
      "exception/interrupt delivery in {} mode is not implemented yet (vector {})",
      c.mode == CpuMode::Long64 ? "long" : "protected", vector));
  c.machine->request_stop(1, "interrupt delivery outside real mode is not implemented");
  return false;
}

}  // namespace

bool deliver_exception(CpuState& c) {
  PendingException first = c.exc;
  if (deliver_vector(c, first.vector)) return true;
  if (c.machine->stop_requested()) return false;
  // Delivery raised a second exception: the double-fault rules decide.
  PendingException second = c.exc;
  Class a = classify(first.vector), b = classify(second.vector);
  bool df = (a == Class::Contributory && b == Class::Contributory) ||
            (a == Class::PageFault && b != Class::Benign);
  if (first.vector == kVecDF) {
    c.machine->request_stop(1, "triple fault");
    return false;
  }
  if (df) {
    c.exc = PendingException{kVecDF, true, false, 0, 0};
    if (deliver_vector(c, kVecDF)) return true;
    c.machine->request_stop(1, "triple fault");
    return false;
  }
  return deliver_exception(c);  // benign: deliver the second one serially
}

bool deliver_interrupt(CpuState& c, uint8_t vector) {
  c.exc = PendingException{vector, false, false, 0, 0};
  return deliver_exception(c);
}

}  // namespace kestrel::machine
