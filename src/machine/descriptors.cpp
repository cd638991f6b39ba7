#include "machine/descriptors.h"

#include "machine/exceptions.h"
#include "machine/machine.h"
#include "machine/memory.h"
#include "machine/segments.h"

namespace kestrel::machine {

namespace {
uint64_t wrap(const CpuState& c, uint64_t lin) { return c.mode == CpuMode::Long64 || long_mode_active(c) ? lin : lin & 0xFFFFFFFFull; }
}  // namespace

bool sys_read(CpuState& c, uint64_t lin, void* out, unsigned n) {
  auto* p = static_cast<uint8_t*>(out);
  while (n) {
    uint64_t a = wrap(c, lin);
    unsigned chunk = static_cast<unsigned>(std::min<uint64_t>(n, 4096 - (a & 0xFFF)));
    uint64_t phys;
    if (!translate_linear(c, a, Access::Read, false, phys)) return false;
    c.machine->bus().read(phys, p, chunk);
    p += chunk; lin += chunk; n -= chunk;
  }
  return true;
}

bool sys_write(CpuState& c, uint64_t lin, const void* in, unsigned n) {
  // Translate every page first so nothing is written on a fault.
  uint64_t phys[2];
  uint64_t a0 = wrap(c, lin);
  unsigned first = static_cast<unsigned>(std::min<uint64_t>(n, 4096 - (a0 & 0xFFF)));
  if (!translate_linear(c, a0, Access::Write, false, phys[0])) return false;
  if (first < n && !translate_linear(c, wrap(c, lin + first), Access::Write, false, phys[1])) return false;
  const auto* p = static_cast<const uint8_t*>(in);
  c.machine->bus().write(phys[0], p, first);
  if (first < n) c.machine->bus().write(phys[1], p + first, n - first);
  return true;
}

uint64_t descriptor_address(const CpuState& c, uint16_t selector) {
  return ((selector & 4) ? c.ldtr.base : c.gdtr.base) + (selector & ~7u);
}

bool fetch_descriptor(CpuState& c, uint16_t selector, Descriptor& d, uint8_t vector, uint32_t ext, bool wide) {
  const bool ldt = selector & 4;
  uint32_t limit = ldt ? c.ldtr.limit : c.gdtr.limit;
  uint32_t index = selector & ~7u;
  if ((ldt && ((c.ldtr.selector & ~3u) == 0 || !(c.ldtr.attr & kSegAttrP))) || index + (wide ? 15 : 7) > limit) {
    raise_exception(c, vector, (selector & 0xFFFC) | ext);
    return false;
  }
  uint64_t lin = descriptor_address(c, selector);
  d.hi = 0;
  if (!sys_read(c, lin, &d.lo, 8)) return false;
  if (wide && !sys_read(c, lin + 8, &d.hi, 8)) return false;
  return true;
}

void set_accessed(CpuState& c, uint16_t selector, Descriptor& d) {
  if (!d.is_segment() || (d.lo & (1ull << 40))) return;
  d.lo |= 1ull << 40;
  uint8_t b = static_cast<uint8_t>(d.lo >> 40);
  sys_write(c, descriptor_address(c, selector) + 5, &b, 1);
}

bool set_busy(CpuState& c, uint16_t selector, bool busy) {
  uint64_t lin = descriptor_address(c, selector) + 5;
  uint8_t b;
  if (!sys_read(c, lin, &b, 1)) return false;
  b = busy ? (b | 2) : (b & ~2);
  return sys_write(c, lin, &b, 1);
}

void cache_from_descriptor(CpuState& c, SegmentCache& s, uint16_t selector, const Descriptor& d) {
  load_descriptor(s, selector, d.lo);
  if (d.hi && !d.is_segment()) s.base |= (d.hi & 0xFFFFFFFF) << 32;
  refresh_segment(c, s);
}

void load_cs(CpuState& c, uint16_t selector, const Descriptor& d, unsigned cpl) {
  cache_from_descriptor(c, c.seg[CS], static_cast<uint16_t>((selector & ~3u) | cpl), d);
  c.cpl = static_cast<uint8_t>(cpl);
  update_cpu_mode(c);
  refresh_all_segments(c);
}

void load_null_ss_64(CpuState& c, unsigned cpl) {
  // A null SS stays usable in 64-bit mode (SDM Vol. 3 §6.14.4).
  SegmentCache& s = c.seg[SS];
  s.selector = static_cast<uint16_t>(cpl);
  s.base = 0;
  s.limit = 0xFFFFFFFF;
  s.attr = static_cast<uint16_t>(0x93 | (cpl << 5) | kSegAttrD | kSegAttrG);
  refresh_segment(c, s);
}

bool load_stack_segment(CpuState& c, uint16_t selector, unsigned cpl, uint32_t ext) {
  if ((selector & ~3u) == 0) {
    if (long_mode_active(c) && c.seg[CS].attr & kSegAttrL) {
      load_null_ss_64(c, cpl);
      return true;
    }
    raise_exception(c, kVecTS, ext);
    return false;
  }
  Descriptor d;
  if (!fetch_descriptor(c, selector, d, kVecTS, ext)) return false;
  if ((selector & 3) != cpl || d.dpl() != cpl || !d.writable()) {
    raise_exception(c, kVecTS, (selector & 0xFFFC) | ext);
    return false;
  }
  if (!d.present()) {
    raise_exception(c, kVecSS, (selector & 0xFFFC) | ext);
    return false;
  }
  set_accessed(c, selector, d);
  cache_from_descriptor(c, c.seg[SS], selector, d);
  return true;
}

bool tss_stack(CpuState& c, unsigned dpl, unsigned ist, uint16_t& ss, uint64_t& sp, uint32_t ext) {
  const SegmentCache& tr = c.tr;
  unsigned type = tr.attr & 0xF;
  auto too_short = [&]() {
    raise_exception(c, kVecTS, (tr.selector & 0xFFFC) | ext);
    return false;
  };
  if (long_mode_active(c)) {
    uint32_t off = ist ? 0x24 + (ist - 1) * 8 : 4 + dpl * 8;
    if (off + 7 > tr.limit) return too_short();
    if (!sys_read(c, tr.base + off, &sp, 8)) return false;
    ss = static_cast<uint16_t>(dpl);  // null selector with RPL = new CPL
    return true;
  }
  if (type == kTss32Avail || type == kTss32Busy) {
    uint32_t off = 4 + dpl * 8;
    if (off + 5 > tr.limit) return too_short();
    uint32_t esp;
    if (!sys_read(c, tr.base + off, &esp, 4) || !sys_read(c, tr.base + off + 4, &ss, 2)) return false;
    sp = esp;
    return true;
  }
  uint32_t off = 2 + dpl * 4;
  if (off + 3 > tr.limit) return too_short();
  uint16_t sp16;
  if (!sys_read(c, tr.base + off, &sp16, 2) || !sys_read(c, tr.base + off + 2, &ss, 2)) return false;
  sp = sp16;
  return true;
}

void null_inaccessible_segments(CpuState& c) {
  for (uint8_t s : {ES, DS, FS, GS}) {
    SegmentCache& sc = c.seg[s];
    bool conforming_code = (sc.attr & kSegAttrS) && (sc.attr & 8) && (sc.attr & 4);
    unsigned dpl = (sc.attr >> 5) & 3;
    if ((sc.selector & ~3u) == 0 && !(sc.rights & kSegUsable)) continue;
    if (!conforming_code && dpl < c.cpl) {
      sc.selector = 0;
      sc.attr = 0;
      sc.base = 0;
      sc.limit = 0;
      refresh_segment(c, sc);
    }
  }
}

}  // namespace kestrel::machine
