// CpuState: the architectural state of one x86 CPU, laid out for both tiers.
//
// Standard layout, no virtuals. Hot fields come first (GPRs, RIP, lazy flags,
// segment caches) so the JIT reaches them with short displacements from the one
// host register that pins the state; it addresses fields through offsetof and
// the static_asserts at the bottom keep those offsets honest.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

#include "machine/tlb.h"

static_assert(std::endian::native == std::endian::little,
              "Kestrel keeps guest registers and memory in host byte order; a little-endian host is required");

namespace kestrel::machine {

class Machine;

enum Gpr : uint8_t { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };
enum SegReg : uint8_t { ES, CS, SS, DS, FS, GS, kSegCount, kNoSeg = 0xFF };

// RFLAGS bits (SDM Vol. 1 §3.4.3).
inline constexpr uint64_t kCF = 1u << 0;
inline constexpr uint64_t kPF = 1u << 2;
inline constexpr uint64_t kAF = 1u << 4;
inline constexpr uint64_t kZF = 1u << 6;
inline constexpr uint64_t kSF = 1u << 7;
inline constexpr uint64_t kTF = 1u << 8;
inline constexpr uint64_t kIF = 1u << 9;
inline constexpr uint64_t kDF = 1u << 10;
inline constexpr uint64_t kOF = 1u << 11;
inline constexpr uint64_t kIOPL = 3u << 12;
inline constexpr uint64_t kNT = 1u << 14;
inline constexpr uint64_t kRF = 1u << 16;
inline constexpr uint64_t kVM = 1u << 17;
inline constexpr uint64_t kAC = 1u << 18;
inline constexpr uint64_t kVIF = 1u << 19;
inline constexpr uint64_t kVIP = 1u << 20;
inline constexpr uint64_t kID = 1u << 21;
inline constexpr uint64_t kArithFlags = kCF | kPF | kAF | kZF | kSF | kOF;
inline constexpr uint64_t kFlagsFixed1 = 1u << 1;

// CR0 / CR4 / EFER bits used across the tree.
inline constexpr uint64_t kCr0PE = 1u << 0, kCr0MP = 1u << 1, kCr0EM = 1u << 2, kCr0TS = 1u << 3,
                          kCr0ET = 1u << 4, kCr0NE = 1u << 5, kCr0WP = 1u << 16, kCr0AM = 1u << 18,
                          kCr0NW = 1u << 29, kCr0CD = 1u << 30, kCr0PG = 1ull << 31;

// A segment register with its hidden descriptor cache (SDM Vol. 3 §3.4.3).
struct SegmentCache {
  uint64_t base;
  uint32_t limit;    // byte-granular effective limit
  uint32_t lo;       // lowest valid offset (limit+1 for expand-down data segments)
  uint32_t hi;       // highest valid offset
  uint16_t selector;
  uint16_t attr;     // descriptor bits 40..47 and 52..55 packed as (type|S|DPL|P) | (AVL|L|D|G)<<8
  uint8_t rights;    // kSegReadable | kSegWritable | kSegUsable, derived by refresh_segment()
  uint8_t flat;      // `rights` when base 0 and offsets 0..4 GiB-1 are valid, else 0 (the JIT's
                     // one-test path; derived by refresh_segment())
  uint8_t pad[6];
};
static_assert(sizeof(SegmentCache) == 32);

enum : uint8_t { kSegReadable = 1, kSegWritable = 2, kSegUsable = 4 };

enum : uint16_t {
  kSegAttrType = 0x0F, kSegAttrS = 0x10, kSegAttrDpl = 0x60, kSegAttrP = 0x80,
  kSegAttrAvl = 0x100, kSegAttrL = 0x200, kSegAttrD = 0x400, kSegAttrG = 0x800,
};

struct DescriptorTable {
  uint64_t base;
  uint32_t limit;
};

// Lazy flags: the last flag-setting ALU operation is recorded instead of
// computing all six arithmetic flags at once. kind<<2 | size-code.
enum class FlagKind : uint8_t {
  None = 0,  // rflags holds the arithmetic flags
  Add,       // res = src1 + src2 (+ CF): carry/overflow derived from operands and result
  Sub,       // res = src1 - src2 (- CF)
  Logic,     // CF=OF=0, AF=0
  Inc,       // like Add with src2=1, CF preserved in lf_aux
  Dec,       // like Sub with src2=1, CF preserved in lf_aux
  Adc,       // Add with a carry-in: the same formulas, but no shortcuts for conditions
  Sbb,       // Sub with a borrow-in
};

// Bits of CpuState::event_pending: reasons for the run loop to look up from the
// current block at the next instruction boundary. kEventInterrupt alone (a maskable
// request, no NMI) cannot be taken while IF is clear: translated blocks keep
// running then and leave after a handler that may set IF (STI, POPF, IRET...).
enum : uint32_t { kEventStop = 1, kEventCodeChanged = 2, kEventInterrupt = 4, kEventNmi = 8 };

// True when the pending events need the run loop now: anything but a maskable
// interrupt request that IF holds off.
inline bool events_need_run_loop(uint32_t events, uint64_t rflags) {
  return events != kEventInterrupt || (rflags & kIF);
}

// Interrupt shadows (SDM Vol. 3 §6.8.3): STI holds off interrupts; MOV SS and POP SS
// also hold off debug traps such as the single-step trap.
enum : uint8_t { kShadowNone = 0, kShadowSti = 1, kShadowSs = 2 };

// An x87 data register as FXSAVE lays it out: 64-bit significand, sign and exponent.
struct X87Reg {
  uint64_t sig;
  uint16_t sign_exp;
  uint16_t pad[3];
};
static_assert(sizeof(X87Reg) == 16);

// An XMM register; lanes are read through the accessors of the SSE code.
struct alignas(16) Xmm {
  uint64_t q[2];
};

// Pending guest exception, set by a handler that returns ExecStatus::Fault.
struct PendingException {
  uint8_t vector;
  bool has_error;
  bool is_software;   // INT n / INT3 / INTO: gate DPL is checked, EXT is 0 in error codes
  uint8_t trap_len;   // traps: bytes from RIP to the return address (the trapping instruction's length)
  uint32_t error;
};

// CPU operating mode: decides decoder mode and addressing rules.
enum class CpuMode : uint8_t { Real, Protected16, Protected32, Virtual8086, Long64, Compat16, Compat32 };

struct CpuState {
  // ---- hot: GPRs, RIP, lazy flags -------------------------------------------------------
  uint64_t gpr[16];
  uint64_t rip;
  uint64_t rflags;     // authoritative for every bit except the arithmetic ones while lf_kind != None
  uint64_t lf_res;
  uint64_t lf_src1;
  uint64_t lf_src2;
  uint8_t lf_kind;     // FlagKind
  uint8_t lf_size;     // 0..3 = 8,16,32,64 bits
  uint8_t lf_aux;      // preserved CF for Inc/Dec
  uint8_t cpl;
  CpuMode mode;
  uint8_t a20_enabled; // mirrors the board's A20 gate, used to mask physical addresses
  uint8_t interrupt_shadow; // kShadowSti / kShadowSs: events held until after the next instruction
  uint8_t halted;
  uint8_t nmi_blocked;      // an NMI handler runs: further NMIs wait for IRET (SDM Vol. 3 §6.7.1)

  // Set by devices or the run loop when something needs attention at the next
  // instruction boundary (interrupt request, timer event, stop request).
  uint32_t event_pending;
  uint32_t pad0;
  // Translated blocks chained to each other check this at entry: a block starts
  // only while icount is below it. The run loop sets it from the instruction
  // budget and the next timer deadline (icount_budget), so chains return in time;
  // raising an event (raise_event) or arming an earlier timer sets it to 0, so the
  // one compare also sees events. Past it, a block looks at event_pending: a
  // maskable request alone that IF holds off lets it run on up to icount_budget.
  uint64_t icount_limit;
  uint64_t icount_budget;

  SegmentCache seg[kSegCount];
  SegmentCache ldtr;
  SegmentCache tr;
  DescriptorTable gdtr;
  DescriptorTable idtr;

  // ---- control ----------------------------------------------------------------------------
  uint64_t cr0, cr2, cr3, cr4, cr8;
  uint64_t dr[8];
  uint64_t efer;
  uint64_t tsc_offset;
  uint64_t msr_star, msr_lstar, msr_cstar, msr_sfmask, msr_kernel_gs_base;
  uint64_t msr_sysenter_cs, msr_sysenter_esp, msr_sysenter_eip;
  uint64_t msr_apic_base, msr_pat, msr_misc_enable, msr_tsc_aux;
  uint64_t msr_spec_ctrl;   // IA32_SPEC_CTRL: kept for reads, no effect (nothing speculates)
  uint64_t mtrr_def_type;
  uint64_t mtrr_fixed[11];  // 0x250, 0x258, 0x259, 0x268-0x26F
  uint64_t mtrr_var[16];    // 0x200-0x20F: base/mask pairs
  uint8_t tlb_has_large;    // a 2 MiB / 4 MiB / 1 GiB page was cached since the last flush
  uint8_t walk_flags;       // the last successful translation's kTlbLarge / kTlbGlobal
  uint64_t pae_pdpte[4];    // PDPTE registers of PAE paging (loaded with CR3)
  uint8_t journal_writes;     // --jit verify: RAM writes are recorded in the bus's journal
  uint32_t tlb_generation;  // bumped by every TLB flush: linear-keyed caches check it

  // ---- x87, MMX and SSE (SDM Vol. 1 chapters 8-12) --------------------------------------
  // x87 physical registers R0..R7 in 80-bit form; ST(i) is R[(ftop + i) & 7]. MMX
  // register i is the significand of R[i] (SDM Vol. 1 §9.5).
  X87Reg fpr[8];
  uint16_t fcw;    // control word
  uint16_t fsw;    // status word without TOP (bits 11-13 live in ftop)
  uint16_t ftw;    // full tag word, 2 bits per physical register (00 valid, 01 zero, 10 special, 11 empty)
  uint16_t fop;    // last non-control instruction's opcode (11 bits)
  uint8_t ftop;    // TOP of the register stack
  uint8_t pad_fpu[3];
  uint32_t mxcsr;
  uint64_t fip, fdp;  // last instruction / operand pointers (offsets)
  uint16_t fcs, fds;  // and their selectors
  uint32_t pad_fpu2;
  uint64_t xcr0;   // XSAVE feature mask (XGETBV/XSETBV)
  Xmm xmm[16];

  PendingException exc;

  // Instruction counter: retired guest instructions (the virtual clock can follow it).
  uint64_t icount;

  Machine* machine;    // owning board: buses, devices, clock (cold)

  // ---- the soft TLB (cold for the interpreter, hot for the JIT's inline path) -----------
  Tlb tlb;
};

// Raises events for the run loop: translated code sees them at its next block
// entry through icount_limit.
inline void raise_event(CpuState& c, uint32_t bits) {
  c.event_pending |= bits;
  c.icount_limit = 0;
}


// Offsets the JIT depends on.
static_assert(offsetof(CpuState, gpr) == 0);
static_assert(offsetof(CpuState, rip) == 128);
static_assert(offsetof(CpuState, rflags) == 136);

// Operand-size helpers.
inline constexpr uint64_t size_mask(unsigned bytes) {
  return bytes >= 8 ? ~0ull : ((1ull << (bytes * 8)) - 1);
}

}  // namespace kestrel::machine
