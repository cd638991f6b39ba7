// Descriptor-table access shared by segment loads, far transfers, interrupt
// delivery and task switches (SDM Vol. 3 §3.4-3.5, §5.8, §6.10-6.14, §7).
#pragma once

#include <cstdint>

#include "machine/cpu_state.h"

namespace kestrel::machine {

// Supervisor-mode linear accesses (descriptor tables, the TSS, gates): they
// ignore CPL but not paging, and raise #PF on a missing page.
bool sys_read(CpuState& c, uint64_t lin, void* out, unsigned n);
bool sys_write(CpuState& c, uint64_t lin, const void* in, unsigned n);

// An 8-byte descriptor (and its upper half for 16-byte long-mode system descriptors).
struct Descriptor {
  uint64_t lo = 0;
  uint64_t hi = 0;

  uint8_t type() const { return (lo >> 40) & 0xF; }
  bool is_segment() const { return (lo >> 44) & 1; }  // S: code/data rather than system
  bool is_code() const { return is_segment() && (type() & 8); }
  bool is_data() const { return is_segment() && !(type() & 8); }
  bool conforming() const { return is_code() && (type() & 4); }
  bool readable() const { return is_code() ? (type() & 2) : true; }
  bool writable() const { return is_data() && (type() & 2); }
  unsigned dpl() const { return (lo >> 45) & 3; }
  bool present() const { return (lo >> 47) & 1; }
  bool long_code() const { return (lo >> 53) & 1; }
  bool big() const { return (lo >> 54) & 1; }  // D/B
  uint32_t limit() const {
    uint32_t l = static_cast<uint32_t>((lo & 0xFFFF) | (((lo >> 48) & 0xF) << 16));
    return ((lo >> 55) & 1) ? (l << 12) | 0xFFF : l;
  }
  uint64_t base() const {
    return ((lo >> 16) & 0xFFFFFF) | (((lo >> 56) & 0xFF) << 24) | ((hi & 0xFFFFFFFF) << 32);
  }
  // Gates: target selector and offset (64-bit gates carry offset bits 63:32 in hi).
  uint16_t gate_selector() const { return static_cast<uint16_t>(lo >> 16); }
  uint64_t gate_offset() const { return (lo & 0xFFFF) | ((lo >> 32) & 0xFFFF0000ull) | ((hi & 0xFFFFFFFF) << 32); }
  unsigned gate_param_count() const { return (lo >> 32) & 0x1F; }
  unsigned gate_ist() const { return (lo >> 32) & 7; }
};

// System descriptor types (SDM Vol. 3 Table 3-2).
enum : uint8_t {
  kTss16Avail = 1, kLdtType = 2, kTss16Busy = 3, kCallGate16 = 4, kTaskGate = 5, kIntGate16 = 6,
  kTrapGate16 = 7, kTss32Avail = 9, kTss32Busy = 11, kCallGate32 = 12, kIntGate32 = 14, kTrapGate32 = 15,
};

inline bool long_mode_active(const CpuState& c) { return (c.efer >> 10) & 1; }

// Reads the descriptor a selector names. On a selector outside its table raises
// `vector` with error code (selector & ~3) | ext; `wide` reads 16 bytes (long-mode
// system descriptors).
bool fetch_descriptor(CpuState& c, uint16_t selector, Descriptor& d, uint8_t vector, uint32_t ext, bool wide = false);

// Linear address of the descriptor's bytes (for accessed/busy bit updates).
uint64_t descriptor_address(const CpuState& c, uint16_t selector);
void set_accessed(CpuState& c, uint16_t selector, Descriptor& d);
bool set_busy(CpuState& c, uint16_t selector, bool busy);

// Loads a cache from a descriptor (selector with the given RPL already applied).
void cache_from_descriptor(CpuState& c, SegmentCache& s, uint16_t selector, const Descriptor& d);

// Loads CS from a checked code descriptor and sets CPL; recomputes the mode.
void load_cs(CpuState& c, uint16_t selector, const Descriptor& d, unsigned cpl);

// Loads SS for a stack switch: the checks of SDM Vol. 3 §6.12.1 / §5.8.5 with
// #TS(selector | ext), or #SS when not present. In 64-bit mode a null selector
// (with RPL = cpl) is allowed.
bool load_stack_segment(CpuState& c, uint16_t selector, unsigned cpl, uint32_t ext);

// IA-32e inner-privilege transfers (interrupts, call gates) load SS with a null
// selector whose RPL is the new CPL (SDM Vol. 3 §6.14.4), from any old mode.
void load_null_ss_64(CpuState& c, unsigned cpl);

// Reads the stack for privilege level `dpl` from the current TSS (16-, 32- or
// 64-bit; `ist` selects an interrupt stack in 64-bit mode). #TS on a TSS too short.
bool tss_stack(CpuState& c, unsigned dpl, unsigned ist, uint16_t& ss, uint64_t& sp, uint32_t ext);

// After a return to an outer privilege level, data segment registers the new
// CPL may not use are nulled (SDM Vol. 3 §5.8.6, RET step 4 / IRET).
void null_inaccessible_segments(CpuState& c);

}  // namespace kestrel::machine
