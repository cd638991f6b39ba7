#include "machine/segments.h"

#include "machine/exceptions.h"
#include "machine/machine.h"
#include "machine/memory.h"

namespace kestrel::machine {

namespace {
void derive_offsets_and_rights(const CpuState& c, SegmentCache& s) {
  if (c.mode == CpuMode::Real || c.mode == CpuMode::Virtual8086 || !(c.cr0 & kCr0PE)) {
    s.lo = 0;
    s.hi = s.limit;
    s.rights = kSegReadable | kSegWritable | kSegUsable;
    return;
  }
  s.rights = 0;
  if (!(s.attr & kSegAttrP) || !(s.attr & kSegAttrS)) {
    s.lo = 1; s.hi = 0;  // a null or system selector in a data register: no access
    return;
  }
  uint16_t type = s.attr & kSegAttrType;
  s.rights = kSegUsable;
  if (type & 8) {  // code: readable when bit 1 set; never writable
    if (type & 2) s.rights |= kSegReadable;
    s.lo = 0; s.hi = s.limit;
  } else {
    s.rights |= kSegReadable;
    if (type & 2) s.rights |= kSegWritable;
    if (type & 4) {  // expand-down: valid offsets are limit+1 .. 0xFFFF or 0xFFFFFFFF
      s.lo = s.limit + 1;
      s.hi = (s.attr & kSegAttrD) ? 0xFFFFFFFFu : 0xFFFFu;
    } else {
      s.lo = 0; s.hi = s.limit;
    }
  }
}

}  // namespace

void refresh_segment(const CpuState& c, SegmentCache& s) {
  derive_offsets_and_rights(c, s);
  s.flat = (s.base == 0 && s.lo == 0 && s.hi == 0xFFFFFFFFu) ? s.rights : 0;
}

void refresh_all_segments(CpuState& c) {
  for (auto& s : c.seg) refresh_segment(c, s);
}

void load_segment_real(CpuState& c, uint8_t seg, uint16_t selector) {
  SegmentCache& s = c.seg[seg];
  s.selector = selector;
  s.base = static_cast<uint64_t>(selector) << 4;
  if (c.mode == CpuMode::Virtual8086) {
    s.limit = 0xFFFF;
    s.attr = 0xF3 | (seg == CS ? 0x8 : 0);  // DPL 3, present, accessed read/write
  }
  refresh_segment(c, s);
}

void load_descriptor(SegmentCache& s, uint16_t selector, uint64_t d) {
  s.selector = selector;
  s.base = ((d >> 16) & 0xFFFFFF) | (((d >> 56) & 0xFF) << 24);
  uint32_t limit = static_cast<uint32_t>((d & 0xFFFF) | (((d >> 48) & 0xF) << 16));
  s.attr = static_cast<uint16_t>(((d >> 40) & 0xFF) | (((d >> 52) & 0xF) << 8));
  if (s.attr & kSegAttrG) limit = (limit << 12) | 0xFFF;
  s.limit = limit;
}

bool read_descriptor(CpuState& c, uint16_t selector, uint64_t& desc, uint32_t vector) {
  const bool ldt = selector & 4;
  uint64_t base = ldt ? c.ldtr.base : c.gdtr.base;
  uint32_t limit = ldt ? c.ldtr.limit : c.gdtr.limit;
  uint32_t index = selector & ~7u;
  if ((ldt && !(c.ldtr.attr & kSegAttrP)) || index + 7 > limit) {
    raise_exception(c, static_cast<uint8_t>(vector), selector & 0xFFFC);
    return false;
  }
  uint64_t lin = base + index;
  if (c.mode != CpuMode::Long64) lin &= 0xFFFFFFFF;
  // Descriptor-table reads are supervisor accesses whatever the CPL.
  uint64_t phys;
  if (!translate_linear(c, lin, Access::Read, false, phys)) return false;
  desc = c.machine->bus().read_uint(phys, 8);
  return true;
}

// Protected-mode data/stack segment load (SDM Vol. 2B, MOV — "Operation").
bool load_segment(CpuState& c, uint8_t seg, uint16_t selector) {
  if (c.mode == CpuMode::Real || c.mode == CpuMode::Virtual8086) {
    load_segment_real(c, seg, selector);
    return true;
  }
  SegmentCache& s = c.seg[seg];
  uint8_t rpl = selector & 3;
  if ((selector & ~3u) == 0) {
    // Null selector: allowed for data registers (faults on use), and for SS only
    // in 64-bit mode at CPL < 3 with RPL == CPL.
    if (seg == SS && !(c.mode == CpuMode::Long64 && c.cpl != 3 && rpl == c.cpl)) return raise_gp(c, 0), false;
    s.selector = selector;
    s.base = 0;
    s.limit = 0;
    s.attr = seg == SS ? static_cast<uint16_t>((c.cpl << 5) | 0x93 | kSegAttrD) : 0;
    refresh_segment(c, s);
    if (seg == SS) s.rights = kSegReadable | kSegWritable | kSegUsable;
    return true;
  }
  uint64_t d;
  if (!read_descriptor(c, selector, d)) return false;
  uint16_t attr = static_cast<uint16_t>(((d >> 40) & 0xFF));
  uint8_t dpl = (attr >> 5) & 3;
  uint8_t type = attr & 0xF;
  bool is_seg = attr & kSegAttrS;
  bool code = type & 8;
  if (seg == SS) {
    if (rpl != c.cpl || !is_seg || code || !(type & 2) || dpl != c.cpl) return raise_gp(c, selector & 0xFFFC), false;
    if (!(attr & kSegAttrP)) return raise_ss(c, selector & 0xFFFC), false;
  } else {
    if (!is_seg || (code && !(type & 2))) return raise_gp(c, selector & 0xFFFC), false;
    bool conforming = code && (type & 4);
    if (!conforming && (rpl > dpl || c.cpl > dpl)) return raise_gp(c, selector & 0xFFFC), false;
    if (!(attr & kSegAttrP)) return raise_exception(c, kVecNP, selector & 0xFFFC), false;
  }
  // Set the accessed bit in the descriptor (SDM Vol. 3 §3.4.5.1).
  if (!(type & 1)) {
    const bool ldt = selector & 4;
    uint64_t lin = (ldt ? c.ldtr.base : c.gdtr.base) + (selector & ~7u) + 5;
    uint64_t phys;
    if (translate_linear(c, lin & (c.mode == CpuMode::Long64 ? ~0ull : 0xFFFFFFFFull), Access::Write, false, phys))
      c.machine->bus().write_uint(phys, ((d >> 40) & 0xFF) | 1, 1);
    d |= 1ull << 40;
  }
  load_descriptor(s, selector, d);
  refresh_segment(c, s);
  return true;
}

void update_cpu_mode(CpuState& c) {
  const SegmentCache& cs = c.seg[CS];
  CpuMode m;
  if (!(c.cr0 & kCr0PE)) m = CpuMode::Real;
  else if (c.rflags & kVM) m = CpuMode::Virtual8086;
  else if (c.efer & (1u << 10)) m = (cs.attr & kSegAttrL) ? CpuMode::Long64
                                     : (cs.attr & kSegAttrD) ? CpuMode::Compat32 : CpuMode::Compat16;
  else m = (cs.attr & kSegAttrD) ? CpuMode::Protected32 : CpuMode::Protected16;
  if (m != c.mode) {
    c.mode = m;
    refresh_all_segments(c);
  }
  if (m == CpuMode::Real) c.cpl = 0;
  else if (m == CpuMode::Virtual8086) c.cpl = 3;
}

}  // namespace kestrel::machine
