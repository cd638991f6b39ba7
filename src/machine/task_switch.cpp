// Task switch, following SDM Vol. 3 §7.3 step by step. 32-bit TSS layout §7.2.1
// (Figure 7-2), 16-bit §7.6 (Figure 7-11).
#include "machine/task_switch.h"

#include "machine/exceptions.h"
#include "machine/flags.h"
#include "machine/machine.h"
#include "machine/memory.h"
#include "machine/paging.h"
#include "machine/segments.h"

namespace kestrel::machine {

namespace {

struct TssImage {
  uint32_t cr3 = 0, eip = 0, eflags = 0;
  uint32_t gpr[8] = {};
  uint16_t seg[6] = {};  // ES CS SS DS FS GS
  uint16_t ldt = 0;
  uint16_t trap = 0;
};

bool is32(const Descriptor& d) { return d.type() == kTss32Avail || d.type() == kTss32Busy; }

bool read_tss(CpuState& c, uint64_t base, bool wide, TssImage& t) {
  if (wide) {
    uint8_t b[0x68];
    if (!sys_read(c, base, b, sizeof b)) return false;
    auto u32 = [&](unsigned o) { uint32_t v; std::memcpy(&v, b + o, 4); return v; };
    auto u16 = [&](unsigned o) { uint16_t v; std::memcpy(&v, b + o, 2); return v; };
    t.cr3 = u32(0x1C);
    t.eip = u32(0x20);
    t.eflags = u32(0x24);
    for (int i = 0; i < 8; ++i) t.gpr[i] = u32(0x28 + 4 * i);
    for (int i = 0; i < 6; ++i) t.seg[i] = u16(0x48 + 4 * i);
    t.ldt = u16(0x60);
    t.trap = u16(0x64);
  } else {
    uint8_t b[0x2C];
    if (!sys_read(c, base, b, sizeof b)) return false;
    auto u16 = [&](unsigned o) { uint16_t v; std::memcpy(&v, b + o, 2); return v; };
    t.eip = u16(0x0E);
    t.eflags = u16(0x10);
    for (int i = 0; i < 8; ++i) t.gpr[i] = u16(0x12 + 2 * i);
    t.seg[ES] = u16(0x22);
    t.seg[CS] = u16(0x24);
    t.seg[SS] = u16(0x26);
    t.seg[DS] = u16(0x28);
    t.ldt = u16(0x2A);
  }
  return true;
}

// Stores the dynamic fields of the outgoing task (SDM Vol. 3 §7.2.1: the static
// fields — stacks, CR3, LDT — are not written back).
bool save_tss(CpuState& c, uint64_t base, bool wide, uint32_t eflags) {
  if (wide) {
    uint8_t b[0x60 - 0x20];
    auto put32 = [&](unsigned o, uint32_t v) { std::memcpy(b + o - 0x20, &v, 4); };
    put32(0x20, static_cast<uint32_t>(c.rip));
    put32(0x24, eflags);
    for (int i = 0; i < 8; ++i) put32(0x28 + 4 * i, static_cast<uint32_t>(c.gpr[i]));
    for (int i = 0; i < 6; ++i) put32(0x48 + 4 * i, c.seg[i].selector);
    // Segment slots are 16 bits wide with a reserved upper half: write only the low words.
    if (!sys_write(c, base + 0x20, b, 0x48 - 0x20)) return false;
    for (int i = 0; i < 6; ++i)
      if (!sys_write(c, base + 0x48 + 4 * i, &c.seg[i].selector, 2)) return false;
    return true;
  }
  uint16_t w[(0x2A - 0x0E) / 2];
  w[0] = static_cast<uint16_t>(c.rip);
  w[1] = static_cast<uint16_t>(eflags);
  for (int i = 0; i < 8; ++i) w[2 + i] = static_cast<uint16_t>(c.gpr[i]);
  w[10] = c.seg[ES].selector;
  w[11] = c.seg[CS].selector;
  w[12] = c.seg[SS].selector;
  w[13] = c.seg[DS].selector;
  return sys_write(c, base + 0x0E, w, sizeof w);
}

// Loads a segment register of the new task with the checks of SDM Vol. 3 §7.3
// step 13 / Table 7-1; every failure is #TS(selector) except not-present (#NP, #SS).
bool load_task_segment(CpuState& c, uint8_t seg, uint16_t sel, uint32_t ext) {
  unsigned rpl = sel & 3;
  if ((sel & ~3u) == 0) {
    if (seg == CS || seg == SS) return raise_exception(c, kVecTS, ext), false;
    c.seg[seg] = SegmentCache{};
    c.seg[seg].selector = sel;
    refresh_segment(c, c.seg[seg]);
    return true;
  }
  Descriptor d;
  if (!fetch_descriptor(c, sel, d, kVecTS, ext)) return false;
  uint32_t err = (sel & 0xFFFC) | ext;
  if (seg == CS) {
    if (!d.is_code() || (d.conforming() ? d.dpl() > rpl : d.dpl() != rpl)) return raise_exception(c, kVecTS, err), false;
    if (!d.present()) return raise_exception(c, kVecNP, err), false;
  } else if (seg == SS) {
    if (!d.writable() || rpl != c.cpl || d.dpl() != c.cpl) return raise_exception(c, kVecTS, err), false;
    if (!d.present()) return raise_exception(c, kVecSS, err), false;
  } else {
    if (!d.is_segment() || !d.readable()) return raise_exception(c, kVecTS, err), false;
    if (!d.conforming() && (d.dpl() < c.cpl || d.dpl() < rpl)) return raise_exception(c, kVecTS, err), false;
    if (!d.present()) return raise_exception(c, kVecNP, err), false;
  }
  set_accessed(c, sel, d);
  cache_from_descriptor(c, c.seg[seg], sel, d);
  return true;
}

}  // namespace

bool task_switch(CpuState& c, uint16_t selector, Descriptor tss, TaskSwitchSource source, bool has_error,
                 uint32_t error, uint32_t ext) {
  const bool new32 = is32(tss);
  // Step 5-6: present and long enough (SDM Vol. 3 §7.3 steps 5, 6).
  if (!tss.present()) return raise_exception(c, kVecNP, (selector & 0xFFFC) | ext), false;
  if (tss.limit() < (new32 ? 0x67u : 0x2Bu)) return raise_exception(c, kVecTS, (selector & 0xFFFC) | ext), false;

  // Read the new task's image before changing anything (a #PF here leaves the old task intact).
  TssImage next;
  if (!read_tss(c, tss.base(), new32, next)) return false;

  // Step 7-9: the old task's busy bit, NT, and its saved state.
  const bool old32 = (c.tr.attr & 0xF) == kTss32Busy || (c.tr.attr & 0xF) == kTss32Avail;
  uint32_t eflags = static_cast<uint32_t>(materialize_flags(c));
  if (source == TaskSwitchSource::Jmp || source == TaskSwitchSource::Iret) {
    if (!set_busy(c, c.tr.selector, false)) return false;
  }
  if (source == TaskSwitchSource::Iret) eflags &= ~static_cast<uint32_t>(kNT);
  if (!save_tss(c, c.tr.base, old32, eflags)) return false;

  // Step 10: the back link and NT for nested switches.
  if (source == TaskSwitchSource::Call || source == TaskSwitchSource::Interrupt) {
    if (!sys_write(c, tss.base(), &c.tr.selector, 2)) return false;
    next.eflags |= kNT;
  }
  // Step 11: the new task's busy bit (already set for IRET).
  if (source != TaskSwitchSource::Iret && !set_busy(c, selector, true)) return false;
  tss.lo |= 2ull << 40;

  // Step 12: TR, CR0.TS, and the new task's state.
  cache_from_descriptor(c, c.tr, selector, tss);
  c.cr0 |= kCr0TS;
  if (new32 && (c.cr0 & kCr0PG)) {
    c.cr3 = next.cr3;
    if (pae_pdptes_in_use(c) && !load_pae_pdptes(c)) return raise_gp(c, 0), false;
    tlb_flush_for_cr3_load(c);  // like MOV to CR3: global translations stay (SDM Vol. 3 §4.10.4.1)
  }
  c.rip = next.eip;
  uint32_t keep_bits = new32 ? 0 : (eflags & 0xFFFF0000u);
  c.lf_kind = static_cast<uint8_t>(FlagKind::None);
  c.rflags = (keep_bits | next.eflags | kFlagsFixed1) & (new32 ? 0x003F7FD7u : 0xFFFF7FD7u);
  for (int i = 0; i < 8; ++i) {
    if (new32) c.gpr[i] = next.gpr[i];
    else c.gpr[i] = (c.gpr[i] & ~0xFFFFull) | (next.gpr[i] & 0xFFFF);
  }
  // Selectors are loaded first without checks, then each descriptor is checked in
  // the new task's context (step 13).
  for (int i = 0; i < 6; ++i) c.seg[i].selector = next.seg[i];
  if (!new32) c.seg[FS].selector = c.seg[GS].selector = 0;
  c.ldtr.selector = next.ldt;
  c.ldtr.attr = 0;

  if (c.rflags & kVM) {
    c.cpl = 3;
    update_cpu_mode(c);
    for (int i = 0; i < 6; ++i) load_segment_real(c, static_cast<uint8_t>(i), next.seg[i]);
  } else {
    c.cpl = next.seg[CS] & 3;
    // The LDT first: it must be a present LDT descriptor in the GDT.
    if ((next.ldt & ~3u) != 0) {
      Descriptor ld;
      if ((next.ldt & 4) || !fetch_descriptor(c, next.ldt & ~4u, ld, kVecTS, ext)) {
        if (next.ldt & 4) raise_exception(c, kVecTS, (next.ldt & 0xFFFC) | ext);
        return false;
      }
      if (ld.is_segment() || ld.type() != kLdtType) return raise_exception(c, kVecTS, (next.ldt & 0xFFFC) | ext), false;
      if (!ld.present()) return raise_exception(c, kVecTS, (next.ldt & 0xFFFC) | ext), false;
      cache_from_descriptor(c, c.ldtr, next.ldt, ld);
    } else {
      c.ldtr = SegmentCache{};
    }
    update_cpu_mode(c);
    if (!load_task_segment(c, CS, next.seg[CS], ext)) return false;
    update_cpu_mode(c);
    if (!load_task_segment(c, SS, next.seg[SS], ext)) return false;
    for (uint8_t s : {ES, DS, FS, GS})
      if (!load_task_segment(c, s, c.seg[s].selector, ext)) return false;
  }
  refresh_all_segments(c);

  // The new task's instruction pointer must lie within its code segment (#GP(0)).
  if (c.rip > c.seg[CS].limit) return raise_gp(c, 0), false;

  if (has_error) {
    unsigned sz = new32 ? 4 : 2;
    uint64_t mask = (c.seg[SS].attr & kSegAttrD) ? 0xFFFFFFFFull : 0xFFFFull;
    uint64_t sp = (c.gpr[RSP] - sz) & mask;
    bool ok = sz == 4 ? write_mem<uint32_t>(c, SS, sp, error) : write_mem<uint16_t>(c, SS, sp, static_cast<uint16_t>(error));
    if (!ok) return false;
    c.gpr[RSP] = (c.gpr[RSP] & ~mask) | sp;
  }
  // Debug trap on task switch (the TSS T bit) is reported through DR6.BT.
  if (new32 && (next.trap & 1)) c.dr[6] |= 1u << 15;
  return true;
}

}  // namespace kestrel::machine
