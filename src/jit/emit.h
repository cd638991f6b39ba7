// Shared pieces of the JIT's code generation (src/jit): CpuState field offsets,
// the translation context, guest-register and host-memory moves, the inline
// effective-address + segment + soft-TLB path, and the lazy-flags record writers.
// jit.cpp drives a block's translation; emit_forms.cpp holds the native forms.
#pragma once

#include <asmjit/x86.h>

#include <cstddef>
#include <cstdint>

#include "frontend-x86/insn.h"
#include "machine/cpu_state.h"
#include "machine/flags.h"

namespace kestrel::jit {

using machine::CpuState;
namespace x86 = asmjit::x86;
using asmjit::imm;
using asmjit::Label;
using x86::Gp;

// Field offsets the generated code uses (CpuState is standard layout).
constexpr int32_t kOffRip = offsetof(CpuState, rip);
constexpr int32_t kOffIcount = offsetof(CpuState, icount);
constexpr int32_t kOffEvents = offsetof(CpuState, event_pending);
constexpr int32_t kOffIcountLimit = offsetof(CpuState, icount_limit);
constexpr int32_t kOffIcountBudget = offsetof(CpuState, icount_budget);
constexpr int32_t kOffMode = offsetof(CpuState, mode);
constexpr int32_t kOffLfRes = offsetof(CpuState, lf_res);
constexpr int32_t kOffLfSrc1 = offsetof(CpuState, lf_src1);
constexpr int32_t kOffLfSrc2 = offsetof(CpuState, lf_src2);
constexpr int32_t kOffLfKind = offsetof(CpuState, lf_kind);
constexpr int32_t kOffLfAux = offsetof(CpuState, lf_aux);
constexpr int32_t kOffRflags = offsetof(CpuState, rflags);
constexpr int32_t kOffSeg = offsetof(CpuState, seg);
constexpr int32_t kOffTlb = offsetof(CpuState, tlb);
static_assert(kOffRip == 128);
static_assert(offsetof(CpuState, lf_size) == offsetof(CpuState, lf_kind) + 1);
static_assert(sizeof(machine::SegmentCache) == 32 && sizeof(machine::TlbEntry) == 32);
constexpr int32_t kSegAttr = offsetof(machine::SegmentCache, attr);
constexpr int32_t kSegBase = offsetof(machine::SegmentCache, base), kSegLo = offsetof(machine::SegmentCache, lo),
                  kSegHi = offsetof(machine::SegmentCache, hi), kSegRights = offsetof(machine::SegmentCache, rights),
                  kSegFlat = offsetof(machine::SegmentCache, flat);
constexpr int32_t kTagRead = offsetof(machine::TlbEntry, tag_read), kTagWrite = offsetof(machine::TlbEntry, tag_write),
                  kAddend = offsetof(machine::TlbEntry, addend);

using frontend::DecodedInsn;
using frontend::InsnId;

inline int32_t gpr_off(unsigned n) { return static_cast<int32_t>(n * 8); }

// What the translator knows that the fast paths need.
struct Ctx {
  bool long64;
  bool flat32 = false;   // 32-bit code segment (protected or compatibility mode)
  bool user;             // CPL 3: the user half of the TLB
  uint64_t pending_len;  // RIP bytes not yet written back (for RIP-relative operands)
  bool journal;          // --jit verify: record native stores in the bus's write journal
  uint32_t live_out = frontend::F_ALL;  // flags read after this instruction (flag_liveness)
  // Outside 64-bit mode: the segments (bit per SegReg) that were flat for reads /
  // writes when the block was translated. Their accesses test the flat byte alone
  // and leave anything else to the slow path; the others get the full checks inline.
  uint8_t flat_read = 0, flat_write = 0;
};

// What the translator knows about the guest's arithmetic flags at a point of the
// block, so a consumer (Jcc, CMOVcc, SETcc, ADC/SBB, INC/DEC's CF) reads them on
// the host. kind/size describe the lazy record in CpuState: a FlagKind, kEager
// (RFLAGS holds the flags, lf_kind None), or 0 (unknown: ask a thunk). host: the
// host's RFLAGS hold the guest's six arithmetic flags right now (set by a native
// setter whose host instruction produced them; anything that clobbers the host
// flags clears it). A setter whose flags are dead keeps the older record (and its
// kind) in memory, since no reader of its own flags exists.
constexpr unsigned kEager = 100;
struct FlagSource {
  unsigned kind = 0;
  unsigned size = 0;
  bool host = false;
};

// Host registers native code keeps for itself (callee-saved, so calls keep them):
// the CpuState pointer, the retired-instruction count (CpuState::icount) and RIP
// (CpuState::rip: kept current over native instructions, stored back before
// handler calls, lookups and exits, reloaded after handler calls). In memory, each
// block's update of the count or RIP would wait on the previous block's store.
const x86::Gp kStateReg = x86::rbx;
const x86::Gp kIcountReg = x86::r12;
const x86::Gp kRipReg = x86::r15;

// Guest general registers a block keeps in host registers while it runs (the
// callee-saved rbp, r13, r14, which the trampoline saves): loaded at the block's
// body, written back before every handler call and exit. The emitters reach guest
// registers only through load_reg/store_reg and their kin below, which use the
// host register when the guest one is cached.
constexpr unsigned kCacheSlots = 3;
struct RegCache {
  int8_t slot[16] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
  uint16_t cached = 0;  // guest registers held in host registers
  uint16_t dirty = 0;   // written since the last write-back (a superset is harmless)
  // Recording (the scan before translation): accesses per guest register, and the
  // ones reached as AH/CH/DH/BH (a host register r13..r15/rbp has no such part).
  uint16_t uses[16] = {};
  uint16_t high_byte = 0;

  bool has(unsigned n) const { return n < 16 && (cached >> n) & 1; }
  void note_use(unsigned n) {
    if (n < 16 && uses[n] < 0xFFFF) ++uses[n];
  }
  Gp host(unsigned n) const;
};

// The assembler the translator emits with, carrying the block's register cache.
class Emitter : public x86::Assembler {
 public:
  using x86::Assembler::Assembler;
  RegCache rc;
};

inline Gp RegCache::host(unsigned n) const {
  static const Gp kHost[kCacheSlots] = {x86::r13, x86::r14, x86::rbp};
  return kHost[slot[n]];
}

inline Gp sized(const Gp& r, unsigned bytes) {
  switch (bytes) {
    case 1: return r.r8();
    case 2: return r.r16();
    case 4: return r.r32();
    default: return r.r64();
  }
}
inline uint64_t mask_of(unsigned bytes) { return bytes >= 8 ? ~0ull : (1ull << (bytes * 8)) - 1; }
inline unsigned size_code(unsigned bytes) { return bytes == 1 ? 0 : bytes == 2 ? 1 : bytes == 4 ? 2 : 3; }
inline bool has_rex(const DecodedInsn& d) { return d.pfx & frontend::kPfxRex; }

// ---- guest registers and host memory ----
// Loads a guest register of `bytes` into a host register, zero-extended.
void load_reg(Emitter& a, const Gp& state, const Gp& dst64, unsigned n, unsigned bytes);
// Stores with the x86-64 rule: 32-bit writes zero-extend, 16-bit writes merge.
void store_reg(Emitter& a, const Gp& state, const Gp& src64, unsigned n, unsigned bytes);
// A guest 8-bit register in CpuState (without REX, 4-7 are AH, CH, DH, BH).
x86::Mem reg8_mem(const Gp& state, unsigned n, bool rex);
void load_gpr(Emitter& a, const Gp& state, const Gp& dst, unsigned n, unsigned bytes, bool rex);
void store_gpr(Emitter& a, const Gp& state, const Gp& src, unsigned n, unsigned bytes, bool rex);
// SETcc to an 8-bit guest register from the host flags.
void emit_setcc_reg8(Emitter& a, const Gp& state, unsigned cc, unsigned n, bool rex);
// Adds `delta` to a guest register of 4 or 8 bytes; a 4-byte add changes the low
// half alone (a 32-bit stack pointer). Clobbers the host flags and `scratch`.
void add_reg_imm(Emitter& a, const Gp& state, unsigned n, unsigned bytes, int32_t delta, const Gp& scratch);
// The cached guest registers written since the last write-back, into CpuState.
void emit_writeback(Emitter& a, const Gp& state);
// Every cached guest register from CpuState (after a handler ran).
void emit_reload(Emitter& a, const Gp& state);
void load_host(Emitter& a, const Gp& dst, const Gp& p, unsigned bytes);
void store_host(Emitter& a, const Gp& p, const Gp& src, unsigned bytes);

// ---- memory operands ----
// Computes the effective address of d's memory operand into rsi (clobbers rcx).
void emit_ea(Emitter& a, const Gp& state, const DecodedInsn& d, const Ctx& cx);
// From the offset in rsi to a host pointer in `dst` (rdx or r8) for an access of
// `size` bytes, or a jump to `slow` (segment checks, then the soft TLB's tag compare).
void emit_translate(Emitter& a, const Gp& state, const DecodedInsn& d, const Ctx& cx, unsigned size,
                    bool write, Label slow, const Gp& dst = x86::rdx);
// --jit verify: journals the `bytes` at the host pointer in r8 before a store.
void emit_journal(Emitter& a, const Gp& state, unsigned bytes);
// d's memory operand as a host pointer in r8 for an access of `bytes`.
void emit_mem_ptr(Emitter& a, const Gp& state, const DecodedInsn& d, const Ctx& cx, unsigned bytes, bool write,
                  Label slow);
// The r/m operand of d (register or memory) into `dst`, zero-extended.
void emit_load_rm(Emitter& a, const Gp& state, const DecodedInsn& d, const Ctx& cx, unsigned bytes,
                  const Gp& dst, Label slow, bool& uses_slow);
// The stack slot at RSP + delta for `bytes`: host pointer in rdx.
void emit_stack_ptr(Emitter& a, const Gp& state, const DecodedInsn& d, const Ctx& cx, int32_t delta,
                    unsigned bytes, bool write, Label slow);
// The stack width native PUSH/POP/CALL/RET handle in this block's mode (0: none).
unsigned native_stack_width(const Ctx& cx, const DecodedInsn& d, bool flat32);

// ---- flags ----
// Writes the lazy-flags record as set_flags_lazy does.
void emit_record(Emitter& a, const Gp& state, machine::FlagKind kind, unsigned bytes, const Gp& res,
                 const Gp* s1, const Gp* s2);
// r11 holds the six arithmetic flags: RFLAGS takes them and the record is cleared.
void emit_set_arith(Emitter& a, const Gp& state);
// Re-creates host flags from which host condition `cc` gives the guest condition
// (nothing to do when f.host); false when it cannot for this source.
bool emit_host_flags(Emitter& a, const Gp& state, const FlagSource& f, unsigned cc);
// The guest condition `cc` as 0/1 in r10d (a call may clobber every scratch register).
void emit_condition_r10(Emitter& a, const Gp& state, const FlagSource& f, unsigned cc);
// A guest condition / CF as the handlers evaluate them, from the lazy record.
bool condition_thunk(const CpuState* c, unsigned cc);
bool carry_thunk(const CpuState* c);

// Native forms (emit_forms.cpp); false leaves d to its handler.
bool emit_fast(Emitter& a, const Gp& state, const DecodedInsn& d, const Ctx& cx, Label slow, bool& uses_slow,
               FlagSource& flags);
// The further native forms (emit_forms_ext.cpp: one-operand MUL/IMUL, DIV/IDIV, bit
// tests and scans, exchanges, XADD, CMPXCHG, SHLD/SHRD, LEAVE, PUSHF, CLI), tried by
// emit_fast for what it does not handle itself; `in` describes the flags before d.
bool emit_fast_ext(Emitter& a, const Gp& state, const DecodedInsn& d, const Ctx& cx, Label slow, bool& uses_slow,
                   FlagSource& flags, const FlagSource& in);
// Integer SSE forms with register operands (emit_forms_simd.cpp), tried by emit_fast_ext.
bool emit_fast_simd(Emitter& a, const Gp& state, const DecodedInsn& d, const Ctx& cx, Label slow,
                    bool& uses_slow, FlagSource& flags, const FlagSource& in);

// ---- helpers the native forms share (emit_forms.cpp) ----
// The r/m destination of a read-modify-write form into `v` (r8: the host pointer of
// a memory operand, translated for writing); returns whether it is in memory.
bool load_rmw(Emitter& a, const Gp& state, const DecodedInsn& d, const Ctx& cx, unsigned sz, const Gp& v,
              Label slow, bool& uses_slow);
void store_rmw(Emitter& a, const Gp& state, const DecodedInsn& d, unsigned sz, const Gp& v, bool mem);
// After an eager setter: r11 holds the six flags for RFLAGS (the record is cleared).
void finish_eager(Emitter& a, const Gp& state, FlagSource& flags, unsigned sz, bool host_ok);
// The instruction's flags are dead: the older record stays (unknown with a slow path).
void flags_dead(FlagSource& flags, const FlagSource& in, bool mem, bool host_ok);
// For forms that change some flags and keep the others (the older ones needed whole):
// step 1, first in the form (it may call): fold a record the host cannot re-create
// into RFLAGS; step 2 (no calls; clobbers rax, rcx and the host flags): the older
// six flags into r11.
void old_flags_prepare(Emitter& a, const Gp& state, const FlagSource& in);
void old_flags_r11(Emitter& a, const Gp& state, const FlagSource& in);

}  // namespace kestrel::jit
