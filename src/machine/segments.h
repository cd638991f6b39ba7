// Segment registers, descriptor caches and the CPU mode they imply.
#pragma once

#include <cstdint>

#include "machine/cpu_state.h"

namespace kestrel::machine {

// Recomputes a cache's valid-offset bounds and access rights from its limit and
// attributes for the current mode (real and virtual-8086 mode check only limits).
void refresh_segment(const CpuState& c, SegmentCache& s);
void refresh_all_segments(CpuState& c);

// Real and virtual-8086 mode load: selector and base only; the limit and
// attributes stay as they are in real mode, which is what makes "unreal" mode
// work (SDM Vol. 3 §20.1.1); virtual-8086 mode forces a 64 KiB writable segment.
void load_segment_real(CpuState& c, uint8_t seg, uint16_t selector);

// MOV Sreg / POP Sreg / LxS semantics in the current mode. False with an
// exception pending when the selector may not be loaded.
bool load_segment(CpuState& c, uint8_t seg, uint16_t selector);

// Loads a cache from an 8-byte descriptor (SDM Vol. 3 §3.4.5).
void load_descriptor(SegmentCache& s, uint16_t selector, uint64_t desc);

// Reads the descriptor for a selector from the GDT/LDT; false with #GP(sel) pending when
// the selector is outside the table.
bool read_descriptor(CpuState& c, uint16_t selector, uint64_t& desc, uint32_t error_vector = 13);

// Recomputes CpuState::mode from CR0.PE, EFLAGS.VM, EFER.LMA and CS.L/D.
void update_cpu_mode(CpuState& c);

// Address and operand-size defaults from the mode: 2, 4 or 8 bytes.
inline unsigned default_size(const CpuState& c) {
  switch (c.mode) {
    case CpuMode::Protected32: case CpuMode::Compat32: case CpuMode::Long64: return 4;
    default: return 2;
  }
}

// Stack pointer width from SS.B (or 8 in 64-bit mode).
inline unsigned stack_size(const CpuState& c) {
  if (c.mode == CpuMode::Long64) return 8;
  return (c.seg[SS].attr & kSegAttrD) ? 4 : 2;
}

}  // namespace kestrel::machine
