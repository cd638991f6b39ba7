#include "machine/interrupts.h"

#include <fmt/format.h>

#include "machine/descriptors.h"
#include "machine/exceptions.h"
#include "machine/task_switch.h"
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
bool deliver_real(CpuState& c, uint8_t vector, uint8_t trap_len) {
  uint32_t off = vector * 4u;
  if (off + 3 > c.idtr.limit) {
    raise_gp(c, vector * 8 + 2);
    return false;
  }
  uint64_t flags = materialize_flags(c);
  uint64_t saved_sp = c.gpr[RSP];
  if (!push16(c, static_cast<uint16_t>(flags)) || !push16(c, c.seg[CS].selector) ||
      !push16(c, static_cast<uint16_t>(c.rip + trap_len))) {
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

// Protected-mode and long-mode delivery through the IDT (SDM Vol. 3 §6.10-6.14):
// interrupt, trap and task gates; stack switches from the TSS (and IST stacks in
// long mode); the virtual-8086 exit path; error codes with the EXT bit.
bool deliver_protected(CpuState& c, const PendingException& e) {
  const bool lm = long_mode_active(c);
  const uint32_t ext = e.is_software ? 0 : 1;
  const uint32_t idt_err = e.vector * 8u + 2u + ext;
  const unsigned entry = lm ? 16 : 8;
  if (e.vector * entry + entry - 1 > c.idtr.limit) return raise_gp(c, idt_err), false;
  Descriptor g;
  if (!sys_read(c, c.idtr.base + e.vector * entry, &g.lo, 8)) return false;
  if (lm && !sys_read(c, c.idtr.base + e.vector * entry + 8, &g.hi, 8)) return false;
  const uint8_t type = g.type();
  bool valid = !g.is_segment() && (lm ? (type == kIntGate32 || type == kTrapGate32)
                                      : (type == kTaskGate || type == kIntGate16 || type == kTrapGate16 ||
                                         type == kIntGate32 || type == kTrapGate32));
  if (!valid) return raise_gp(c, idt_err), false;
  if (e.is_software && g.dpl() < c.cpl) return raise_gp(c, idt_err), false;
  if (!g.present()) return raise_exception(c, kVecNP, idt_err), false;

  if (type == kTaskGate) {
    uint16_t tsel = g.gate_selector();
    Descriptor td;
    if (tsel & 4) return raise_exception(c, kVecTS, (tsel & 0xFFFC) | ext), false;
    if (!fetch_descriptor(c, tsel, td, kVecTS, ext)) return false;
    if (td.is_segment() || (td.type() != kTss16Avail && td.type() != kTss32Avail))
      return raise_exception(c, kVecTS, (tsel & 0xFFFC) | ext), false;
    // The outgoing task resumes after a trapping instruction (INT n, INTO, INT3).
    const uint64_t here = c.rip;
    const uint16_t old_tr = c.tr.selector;
    c.rip = c.mode == CpuMode::Long64 ? c.rip + e.trap_len : (c.rip + e.trap_len) & 0xFFFFFFFFull;
    if (task_switch(c, tsel, td, TaskSwitchSource::Interrupt, e.has_error, e.error, ext)) return true;
    if (c.tr.selector == old_tr) c.rip = here;
    return false;
  }

  const bool gate16 = type == kIntGate16 || type == kTrapGate16;
  const bool int_gate = type == kIntGate16 || type == kIntGate32;
  const uint16_t sel = g.gate_selector();
  uint64_t off = lm ? g.gate_offset() : gate16 ? (g.lo & 0xFFFF) : (g.gate_offset() & 0xFFFFFFFFull);
  if ((sel & ~3u) == 0) return raise_gp(c, ext), false;
  Descriptor cd;
  if (!fetch_descriptor(c, sel, cd, kVecGP, ext)) return false;
  if (!cd.is_code() || cd.dpl() > c.cpl) return raise_gp(c, (sel & 0xFFFC) | ext), false;
  if (!cd.present()) return raise_exception(c, kVecNP, (sel & 0xFFFC) | ext), false;
  if (lm && !(cd.long_code() && !cd.big())) return raise_gp(c, (sel & 0xFFFC) | ext), false;

  const bool v86 = (c.rflags & kVM) != 0;
  const bool inner = !cd.conforming() && cd.dpl() < c.cpl;
  const unsigned new_cpl = inner ? cd.dpl() : c.cpl;
  if (v86 && (!inner || cd.dpl() != 0)) return raise_gp(c, (sel & 0xFFFC) | ext), false;
  if (!lm && !inner && !cd.conforming() && cd.dpl() != c.cpl) return raise_gp(c, (sel & 0xFFFC) | ext), false;

  // Everything that may change, for a rollback when a push faults.
  const SegmentCache saved_seg[6] = {c.seg[0], c.seg[1], c.seg[2], c.seg[3], c.seg[4], c.seg[5]};
  const uint64_t saved_rsp = c.gpr[RSP];
  const uint8_t saved_cpl = c.cpl;
  const CpuMode saved_mode = c.mode;
  auto rollback = [&]() {
    for (int i = 0; i < 6; ++i) c.seg[i] = saved_seg[i];
    c.gpr[RSP] = saved_rsp;
    c.cpl = saved_cpl;
    c.mode = saved_mode;
    return false;
  };

  const uint64_t old_flags = materialize_flags(c);
  const uint16_t old_ss = c.seg[SS].selector, old_cs = c.seg[CS].selector;
  const uint64_t old_rsp = c.gpr[RSP];
  const uint64_t old_rip = c.mode == CpuMode::Long64 ? c.rip + e.trap_len : (c.rip + e.trap_len) & 0xFFFFFFFFull;
  const unsigned ist = lm ? g.gate_ist() : 0;

  if (inner || ist) {
    uint16_t nss;
    uint64_t nsp;
    if (!tss_stack(c, new_cpl, ist, nss, nsp, ext)) return rollback();
    c.cpl = static_cast<uint8_t>(new_cpl);
    if (lm) {
      if (inner) load_null_ss_64(c, new_cpl);
    } else if (!load_stack_segment(c, nss, new_cpl, ext)) {
      return rollback();
    }
    c.gpr[RSP] = nsp;
  }

  // Pushes at the new privilege. Long mode: 8-byte slots on a 16-byte aligned flat
  // stack; otherwise the gate size and SS.B decide.
  const unsigned sz = lm ? 8 : gate16 ? 2 : 4;
  if (lm) c.gpr[RSP] &= ~0xFull;
  const uint64_t sp_mask = lm ? ~0ull : (c.seg[SS].attr & kSegAttrD) ? 0xFFFFFFFFull : 0xFFFFull;
  auto push = [&](uint64_t v) {
    uint64_t sp = (c.gpr[RSP] - sz) & sp_mask;
    bool ok;
    if (lm) {
      if (static_cast<uint64_t>((static_cast<int64_t>(sp) >> 47) + 1) > 1) return raise_ss(c, 0), false;
      ok = write_linear<uint64_t>(c, sp, v, c.cpl == 3);
    } else if (sz == 4) {
      ok = write_mem<uint32_t>(c, SS, sp, static_cast<uint32_t>(v));
    } else {
      ok = write_mem<uint16_t>(c, SS, sp, static_cast<uint16_t>(v));
    }
    if (ok) c.gpr[RSP] = (c.gpr[RSP] & ~sp_mask) | sp;
    return ok;
  };
  bool ok = true;
  if (v86) {
    ok = push(c.seg[GS].selector) && push(c.seg[FS].selector) && push(c.seg[DS].selector) && push(c.seg[ES].selector);
  }
  if (ok && (inner || lm)) ok = push(old_ss) && push(old_rsp);
  ok = ok && push(old_flags) && push(old_cs) && push(old_rip);
  if (ok && e.has_error) ok = push(e.error);
  if (!ok) return rollback();

  if (v86) {
    for (uint8_t s : {ES, DS, FS, GS}) {
      c.seg[s] = SegmentCache{};
      refresh_segment(c, c.seg[s]);
    }
  }
  c.rflags &= ~(kTF | kNT | kRF | kVM);
  if (int_gate) c.rflags &= ~kIF;
  load_cs(c, sel, cd, new_cpl);
  if (!lm) {
    if (off > c.seg[CS].limit) {
      rollback();
      c.rflags = old_flags;
      update_cpu_mode(c);
      return raise_gp(c, 0), false;
    }
  } else if (static_cast<uint64_t>((static_cast<int64_t>(off) >> 47) + 1) > 1) {
    rollback();
    c.rflags = old_flags;
    update_cpu_mode(c);
    return raise_gp(c, 0), false;
  }
  c.rip = off;
  return true;
}

bool deliver_vector(CpuState& c, const PendingException& e) {
  if (c.mode == CpuMode::Real) return deliver_real(c, e.vector, e.trap_len);
  return deliver_protected(c, e);
}

}  // namespace

bool deliver_exception(CpuState& c) {
  PendingException first = c.exc;
  if (deliver_vector(c, first)) return true;
  if (c.machine->stop_requested()) return false;
  // Delivery raised a second exception: the double-fault rules decide.
  PendingException second = c.exc;
  Class a = classify(first.vector), b = classify(second.vector);
  // INT n (even INT 8 or INT 14) is not an exception: a fault while delivering it
  // is simply delivered (SDM Vol. 3 §6.15, the table covers exceptions only).
  bool df = !first.is_software && ((a == Class::Contributory && b == Class::Contributory) ||
                                   (a == Class::PageFault && b != Class::Benign));
  if (first.vector == kVecDF && !first.is_software) {
    c.machine->triple_fault();
    return false;
  }
  if (df) {
    c.exc = PendingException{kVecDF, true, false, 0, 0};
    if (deliver_vector(c, c.exc)) return true;
    c.machine->triple_fault();
    return false;
  }
  return deliver_exception(c);  // benign: deliver the second one serially
}

bool deliver_interrupt(CpuState& c, uint8_t vector) {
  c.exc = PendingException{vector, false, false, 0, 0};
  return deliver_exception(c);
}

}  // namespace kestrel::machine
