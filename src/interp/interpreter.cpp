// The run loop (see docs/ARCHITECTURE.md, "Execution").
//
// RIP always holds the address of the instruction being executed: a handler
// that returns Ok leaves it there and the loop adds the length; a handler that
// branches sets it; a fault leaves it on the faulting instruction, which is
// what exception delivery pushes (SDM Vol. 3 §6.5: faults are restartable).
#include "interp/interpreter.h"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <ctime>
#include <chrono>
#include <map>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include <fmt/format.h>

#include "interp/handlers.h"
#include "machine/cpu_model.h"
#include "machine/exceptions.h"
#include "machine/flags.h"
#include "machine/interrupts.h"
#include "machine/memory.h"
#include "machine/segments.h"

namespace kestrel::interp {

using namespace machine;
using frontend::DecodedInsn;
using frontend::DecodeStatus;
using frontend::InsnId;

namespace {
constexpr unsigned kMaxBlockInsns = 64;

// A cheap timestamp for --stats' time per tier (converted to seconds by the caller).
uint64_t ticks() {
#if defined(__x86_64__)
  return __rdtsc();
#else
  return std::chrono::steady_clock::now().time_since_epoch().count();
#endif
}
}  // namespace

Interpreter::Interpreter(Machine& m)
    : m_(m), c_(m.cpu()), jc_(std::make_unique<JumpCache>()) {
  m_.bus().set_code_listener(this);
  cache_.set_on_invalidate([this](Block& b) {
    unchain(b);
    // Drop the block's jump-cache entry; one held under another linear address
    // (an alias) is not findable cheaply, so then every entry goes.
    JumpCacheEntry& jc = jc_->entry[jc_index(b.lin)];
    if (jc.block == &b) jc = JumpCacheEntry{};
    if (b.jc_aliased) bump_cache_generation();
  });
}

void Interpreter::bump_cache_generation() {
  jc_->gen_tag += 1u << 8;
  if (jc_->gen_tag == 0) {
    // The 24-bit generation wrapped: an old entry could match again, so all go.
    for (JumpCacheEntry& e : jc_->entry) e = JumpCacheEntry{};
    jc_->gen_tag = 1u << 8;
  }
}

Interpreter::~Interpreter() {
  m_.bus().set_code_listener(nullptr);
  m_.timers().set_deadline_watch(nullptr, nullptr);
}

void Interpreter::code_page_written(uint64_t page_addr) {
  bool dropped = cache_.invalidate_page(page_addr);
  m_.bus().clear_code_page(page_addr);
  // Native code may be running a chain of blocks: any dropped block may be one of
  // them, so it returns to the run loop at its next check.
  if ((running_ && !running_->valid) || (dropped && in_native_)) raise_event(c_, kEventCodeChanged);
}

uint32_t Interpreter::mode_key() const {
  return static_cast<uint32_t>(c_.mode) | (c_.cpl << 3) | ((c_.cr0 & kCr0PG) ? 0x20 : 0) |
         (c_.a20_enabled ? 0x40 : 0);
}

bool Interpreter::linear_rip(uint64_t& lin) const {
  if (c_.mode == CpuMode::Long64) {
    lin = c_.rip;
    return static_cast<uint64_t>((static_cast<int64_t>(lin) >> 47) + 1) <= 1;
  }
  if (c_.rip > c_.seg[CS].limit) return false;
  lin = (c_.seg[CS].base + c_.rip) & 0xFFFFFFFFull;
  return true;
}

Block* Interpreter::find_block() {
  uint64_t lin = 0;
  if (!linear_rip(lin)) return raise_gp(c_, 0), nullptr;
  const uint32_t mk = mode_key();
  JumpCacheEntry& jc = jc_->entry[jc_index(lin)];
  uint64_t phys;
  if (jc.lin == lin && jc.tag == (jc_->gen_tag | mk)) {
    if (jc.tlb_gen == c_.tlb_generation) return jc.block;
    // The TLB was flushed (CR3 write, INVLPG): keep the entry if CS:RIP still maps
    // to the block's physical address.
    if (!translate_code(c_, lin, user_access(c_), phys)) return nullptr;
    if (BlockCache::make_key(phys, mk) == jc.block->key) {
      jc.tlb_gen = c_.tlb_generation;
      return jc.block;
    }
  } else if (!translate_code(c_, lin, user_access(c_), phys)) {
    return nullptr;
  }
  uint64_t key = BlockCache::make_key(phys, mk);
  Block* b = cache_.find(key);
  if (b) {
    bool ok = true;
    if (b->phys_page2 != ~0ull) {
      uint64_t lin2 = (lin & kPageMask) + 0x1000, phys2;
      if (c_.mode != CpuMode::Long64) lin2 &= 0xFFFFFFFFull;
      ok = translate_code(c_, lin2, user_access(c_), phys2) && (phys2 & kPageMask) == b->phys_page2;
      if (!ok && c_.exc.vector == kVecPF) c_.exc = PendingException{};  // re-decode will fault if it must
    }
    if (!ok) b = nullptr;
  }
  if (!b) b = decode_block(lin, phys, key);
  // Cache only blocks on one page: a straddling block's second page is re-checked each time.
  if (b && b->phys_page2 == ~0ull) {
    jc = JumpCacheEntry{lin, c_.tlb_generation, jc_->gen_tag | mk, b->native_entry, b};
    if (lin != b->lin) b->jc_aliased = true;
  }
  return b;
}

Block* Interpreter::decode_block(uint64_t lin, uint64_t phys, uint64_t key) {
  auto b = std::make_unique<Block>();
  b->key = key;
  b->lin = lin;
  b->phys_page2 = ~0ull;
  const SegmentCache& cs = c_.seg[CS];
  const bool long64 = c_.mode == CpuMode::Long64;
  uint64_t page_left = 0x1000 - (lin & 0xFFF);
  uint64_t off = 0;
  while (b->insns.size() < kMaxBlockInsns) {
    bool first = b->insns.empty();
    uint64_t ip = c_.rip + off;
    uint64_t limit_left = long64 ? 15 : (ip > cs.limit ? 0 : cs.limit - ip + 1);
    if (limit_left == 0) {
      if (first) return raise_gp(c_, 0), nullptr;
      break;
    }
    uint64_t cur = lin + off;
    if (!long64) cur &= 0xFFFFFFFFull;
    uint8_t buf[16];
    // Fetch within the page first, so no fault is raised for bytes the instruction does not need.
    unsigned want = static_cast<unsigned>(std::min<uint64_t>({15, limit_left, page_left - off}));
    unsigned n = fetch_code(c_, cur, buf, want);
    DecodedInsn d;
    DecodeStatus st = decoder_.decode(c_.mode, m_.cpu_model(), buf, n, d);
    if (st == DecodeStatus::NeedMore && n == want && want < std::min<uint64_t>(15, limit_left)) {
      // The instruction continues on the next page.
      unsigned want2 = static_cast<unsigned>(std::min<uint64_t>(15, limit_left));
      unsigned n2 = fetch_code(c_, cur, buf, want2);
      if (n2 < want2 && n2 == n) {
        if (first) return nullptr;  // #PF on the second page is pending
        c_.exc = PendingException{};
        break;
      }
      n = n2;
      st = decoder_.decode(c_.mode, m_.cpu_model(), buf, n, d);
      if (st == DecodeStatus::NeedMore && n < want2) {
        if (first) return nullptr;
        c_.exc = PendingException{};
        break;
      }
    }
    if (st == DecodeStatus::NeedMore) {
      // Ran into the CS limit inside the instruction: #GP(0) (SDM Vol. 3 §5.3).
      if (first) return raise_gp(c_, 0), nullptr;
      break;
    }
    if (st == DecodeStatus::TooLong) {
      if (first) return raise_gp(c_, 0), nullptr;
      break;
    }
    d.fn = handler_for(d.id);
    bool crosses = off + d.len > page_left;
    if (crosses) {
      uint64_t lin2 = (lin & kPageMask) + 0x1000, phys2;
      if (!long64) lin2 &= 0xFFFFFFFFull;
      if (!translate_code(c_, lin2, user_access(c_), phys2)) {
        if (first) return nullptr;
        c_.exc = PendingException{};
        break;
      }
      b->phys_page2 = phys2 & kPageMask;
    }
    b->insns.push_back(d);
    off += d.len;
    if ((frontend::insn_info(d.id).attrs & frontend::kEnd) || crosses || off >= page_left) break;
  }
  uint64_t page1 = phys & kPageMask;
  m_.bus().mark_code_page(page1);
  tlb_protect_code_page(c_, page1);
  if (b->phys_page2 != ~0ull) {
    m_.bus().mark_code_page(b->phys_page2);
    tlb_protect_code_page(c_, b->phys_page2);
  }
  uint64_t p2 = b->phys_page2;
  return cache_.insert(std::move(b), page1, p2);
}

void Interpreter::set_compiler(BlockCompiler* compiler, uint32_t threshold) {
  compiler_ = compiler;
  threshold_ = threshold;
  cache_.set_on_free([this](Block& b) {
    if (compiler_) compiler_->release(b);
  });
  if (compiler_) {
    compiler_->set_lookup(&Interpreter::native_lookup, this, jc_.get());
    enter_ = compiler_->enter_fn();
    m_.timers().set_deadline_watch(&c_.icount_limit, &c_.icount_budget);
  }
}

void Interpreter::unchain(Block& b) {
  if (last_exit_ && last_exit_->from == &b) last_exit_ = nullptr;
  for (ChainExit* e : b.incoming) {
    if (compiler_) compiler_->patch(*e, nullptr);
    e->to = nullptr;
  }
  b.incoming.clear();
  for (ChainExit& e : b.exits) {
    if (!e.to) continue;
    std::erase(e.to->incoming, &e);
    e.to = nullptr;
  }
}

void Interpreter::try_chain(ChainExit* e, Block* to) {
  Block* from = e->from;
  if (verify_ || e->to || !e->site || !from->valid || !to->valid || !to->native_entry) return;
  // Same linear page, same physical page, same mode: the translation the lookup
  // that entered the chain validated covers the target too.
  if (e->target_lin != to->lin || to->phys_page2 != ~0ull || from->phys_page2 != ~0ull) return;
  constexpr uint64_t kPhysPage = ((1ull << 52) - 1) & kPageMask;
  if ((from->key >> 52) != (to->key >> 52) || (from->key & kPhysPage) != (to->key & kPhysPage)) return;
  if ((from->lin & kPageMask) != (to->lin & kPageMask)) return;
  if (!compiler_->patch(*e, to->native_entry)) return;
  e->to = to;
  to->incoming.push_back(e);
  ++stats_.chains;
}

bool Interpreter::translate_quietly(uint64_t lin, uint64_t& phys) {
  const PendingException exc = c_.exc;
  const uint64_t cr2 = c_.cr2;
  if (translate_code(c_, lin, user_access(c_), phys)) return true;
  c_.exc = exc;  // the run loop raises the fault when it gets there
  c_.cr2 = cr2;
  return false;
}

const void* Interpreter::native_lookup(void* self, CpuState* c, ChainExit* exit) {
  auto* it = static_cast<Interpreter*>(self);
  if (it->verify_ || it->tracer_ || c->interrupt_shadow || (c->rflags & kTF)) return nullptr;
  uint64_t lin;
  if (!it->linear_rip(lin)) return nullptr;
  const uint32_t mk = it->mode_key();
  JumpCacheEntry& jc = it->jc_->entry[jc_index(lin)];
  Block* b = nullptr;
  uint64_t phys = ~0ull;
  if (jc.lin == lin && jc.tag == (it->jc_->gen_tag | mk)) {
    if (jc.tlb_gen == c->tlb_generation) {
      b = jc.block;
    } else {
      // The TLB was flushed since the entry was made: keep it if CS:RIP still maps there.
      if (!it->translate_quietly(lin, phys)) return nullptr;
      if (BlockCache::make_key(phys, mk) == jc.block->key) {
        jc.tlb_gen = c->tlb_generation;
        b = jc.block;
      }
    }
  }
  if (!b) {
    // Not in the jump cache (never looked up, or evicted): the translated block by
    // its physical address, as find_block finds it, without decoding anything.
    if (phys == ~0ull && !it->translate_quietly(lin, phys)) return nullptr;
    b = it->cache_.find(BlockCache::make_key(phys, mk));
    if (!b || !b->native_entry) return nullptr;
    if (b->phys_page2 != ~0ull) {
      // A block straddling two pages is never in the jump cache: its second page is
      // checked each time.
      uint64_t lin2 = ((lin & kPageMask) + 0x1000) & (c->mode == CpuMode::Long64 ? ~0ull : 0xFFFFFFFFull), phys2;
      if (!it->translate_quietly(lin2, phys2) || (phys2 & kPageMask) != b->phys_page2) return nullptr;
      ++it->stats_.lookup_hits;
      return b->native_entry;
    }
    jc = JumpCacheEntry{lin, c->tlb_generation, it->jc_->gen_tag | mk, b->native_entry, b};
    if (lin != b->lin) b->jc_aliased = true;
  }
  if (!b->native_entry) return nullptr;
  jc.native = b->native_entry;  // an entry made before the block was translated
  if (exit) it->try_chain(exit, b);
  ++it->stats_.lookup_hits;
  return b->native_entry;
}

namespace {
uint64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

void Interpreter::set_timing(bool on) {
  timing_ = on;
  timing_ticks0_ = tier_since_ = ticks();
  timing_ns0_ = steady_ns();
  tier_ = Tier::None;
}

const Interpreter::Stats& Interpreter::stats() const {
  stats_.inline_hits = jc_->inline_hits;
  return stats_;
}

void Interpreter::set_count_entries(bool on) {
  if (compiler_)
    compiler_->count_entries(on ? &stats_.checked_entries : nullptr, on ? stats_.handler_calls.data() : nullptr);
}

void Interpreter::switch_tier(Tier t) {
  // Time is charged to the tier of the blocks that ran (with the run loop's work
  // between them), read only when the tier changes: a TSC read per block would
  // cost the interpreter a third of its speed.
  const uint64_t now = ticks();
  if (tier_ == Tier::Native) stats_.native_ticks += now - tier_since_;
  else if (tier_ == Tier::Interpreted) stats_.interp_ticks += now - tier_since_;
  tier_ = t;
  tier_since_ = now;
}

void Interpreter::tier_seconds(double& native, double& interpreted) {
  if (timing_) switch_tier(tier_);
  // Ticks to seconds: the tick rate measured over the whole timed run.
  const double dt = static_cast<double>(ticks() - timing_ticks0_);
  const double secs = static_cast<double>(steady_ns() - timing_ns0_) / 1e9;
  const double per_tick = dt > 0 ? secs / dt : 0;
  native = static_cast<double>(stats_.native_ticks) * per_tick;
  interpreted = static_cast<double>(stats_.interp_ticks) * per_tick;
}

void Interpreter::set_icount_limit(uint64_t remaining) {
  // Chained blocks start only below the limit, so a whole block (at most
  // kMaxBlockInsns) still fits in the budget, and none starts after a timer is due.
  uint64_t limit = remaining > kMaxBlockInsns ? c_.icount + (remaining - kMaxBlockInsns) : c_.icount;
  uint64_t next = m_.timers().next_deadline();
  if (next != TimerQueue::kNever) {
    if (m_.clock().source() == Clock::Source::Icount) limit = std::min(limit, m_.clock().icount_at(next));
    else limit = std::min(limit, c_.icount + 20'000);  // host time: look at the clock now and then
  }
  c_.icount_budget = limit;
  c_.icount_limit = c_.event_pending ? 0 : limit;
}

uint64_t Interpreter::execute_native(Block* b) {
  running_ = b;
  in_native_ = true;
  ++stats_.native_runs;
  uint64_t before = c_.icount;
  if (timing_ && tier_ != Tier::Native) switch_tier(Tier::Native);
  NativeExit ex = enter_(&c_, b->native_body);
  in_native_ = false;
  stats_.native_insns += c_.icount - before;
  last_exit_ = nullptr;
  switch (ex.status) {
    case kNativeLookupMiss:
      ++stats_.back_lookup_miss;
      last_exit_ = ex.exit;
      ex.status = kNativeFellThrough;
      break;
    case kNativeFellThrough:
      ++stats_.back_event;
      last_exit_ = ex.exit;
      break;
    case static_cast<uint32_t>(ExecStatus::Branch):
      ++stats_.back_status;
      ++c_.icount;
      ++stats_.native_insns;
      break;
    case static_cast<uint32_t>(ExecStatus::Halt):
      ++stats_.back_status;
      ++c_.icount;
      ++stats_.native_insns;
      c_.halted = 1;
      break;
    case static_cast<uint32_t>(ExecStatus::Fault):
      ++stats_.back_status;
      if (c_.exc.is_software) ++c_.icount;
      deliver();
      break;
    default:  // Stop
      ++stats_.back_status;
      break;
  }
  running_ = nullptr;
  return ex.status;
}

namespace {

bool is_port_io(frontend::InsnId id) {
  using frontend::InsnId;
  switch (id) {
    case InsnId::IN_AL_Ib: case InsnId::IN_eAX_Ib: case InsnId::IN_AL_DX: case InsnId::IN_eAX_DX:
    case InsnId::OUT_Ib_AL: case InsnId::OUT_Ib_eAX: case InsnId::OUT_DX_AL: case InsnId::OUT_DX_eAX:
    case InsnId::INSB: case InsnId::INSv: case InsnId::OUTSB: case InsnId::OUTSv:
      return true;
    default:
      return false;
  }
}

// The architectural state two runs of a block must agree on.
std::string compare_states(const CpuState& native, const CpuState& interp) {
  std::string diff;
  auto field = [&](const char* name, uint64_t a, uint64_t b) {
    if (a != b) diff += fmt::format("  {}: native {:#x}, interpreter {:#x}\n", name, a, b);
  };
  static const char* kGpr[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                 "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
  for (int i = 0; i < 16; ++i) field(kGpr[i], native.gpr[i], interp.gpr[i]);
  field("rip", native.rip, interp.rip);
  CpuState a = native, b = interp;
  field("rflags", materialize_flags(a), materialize_flags(b));
  field("icount", native.icount, interp.icount);
  field("halted", native.halted, interp.halted);
  field("cpl", native.cpl, interp.cpl);
  for (int i = 0; i < 6; ++i) {
    field("selector", native.seg[i].selector, interp.seg[i].selector);
    field("segment base", native.seg[i].base, interp.seg[i].base);
  }
  field("cr0", native.cr0, interp.cr0);
  field("cr2", native.cr2, interp.cr2);
  field("cr3", native.cr3, interp.cr3);
  field("cr4", native.cr4, interp.cr4);
  field("efer", native.efer, interp.efer);
  return diff;
}

}  // namespace

void Interpreter::verify_native(Block* b) {
  for (const auto& d : b->insns)
    if (is_port_io(d.id)) {  // a port access cannot be undone: run it once
      execute_native(b);
      return;
    }
  PhysBus& bus = m_.bus();
  // Registers and control state are everything before the TLB; copying just that
  // part keeps the double run affordable (the TLB is flushed between the runs).
  constexpr size_t kStateBytes = offsetof(CpuState, tlb);
  auto before = std::make_unique<CpuState>();
  std::memcpy(static_cast<void*>(before.get()), &c_, kStateBytes);
  // Both runs record every RAM byte they change: writes through the bus, the
  // interpreter's TLB fast path (journal_writes) and native stores (compiled in).
  WriteJournal native_writes;
  bus.set_journal(&native_writes);
  c_.journal_writes = 1;
  const uint64_t native_status = execute_native(b);
  c_.journal_writes = 0;
  bus.set_journal(nullptr);
  if (native_writes.side_effects || m_.stop_requested()) return;  // a device saw it: keep it
  // It wrote into code: the blocks it dropped and the code pages it unmarked make a
  // re-run differ (its REP stops at the event, a re-run would not): keep it.
  if (c_.event_pending & kEventCodeChanged) return;

  auto native = std::make_unique<CpuState>();
  std::memcpy(static_cast<void*>(native.get()), &c_, kStateBytes);
  std::vector<uint8_t> native_bytes;
  native_bytes.reserve(native_writes.bytes.size());
  for (auto& [p, old] : native_writes.bytes) native_bytes.push_back(*p);
  for (auto it = native_writes.bytes.rbegin(); it != native_writes.bytes.rend(); ++it) *it->first = it->second;

  // The interpreter's run from the same state.
  const uint32_t generation = std::max(c_.tlb_generation, before->tlb_generation);
  std::memcpy(static_cast<void*>(&c_), before.get(), kStateBytes);
  c_.tlb_generation = generation;
  // The TLB goes: the native run's page walks set accessed/dirty bits that the
  // undo cleared, and the interpreter's run must walk (and set them) again.
  tlb_flush(c_);
  WriteJournal interp_writes;
  bus.set_journal(&interp_writes);
  c_.journal_writes = 1;
  // Native code may leave early (a write to a code page, an event): the
  // interpreter runs as many instructions.
  const uint64_t native_count = native->icount - before->icount;
  // Native code looks at pending events only at block entry and after handler calls
  // (where a handler, e.g. a REP string, may also stop early on one), while the
  // interpreter looks after every instruction: the re-run goes exactly as far as the
  // native run, with the same events visible to the handlers.
  execute(b, false, native_status == kNativeFellThrough && native_count < b->insns.size() ? native_count : ~size_t{0},
          /*stop_on_events=*/false);
  c_.journal_writes = 0;
  bus.set_journal(nullptr);
  ++stats_.verified_runs;

  std::string diff = compare_states(*native, c_);
  // Memory: every byte either run wrote must end up the same.
  std::map<uint8_t*, uint8_t> native_final, original;
  for (size_t i = 0; i < native_writes.bytes.size(); ++i) {
    native_final[native_writes.bytes[i].first] = native_bytes[i];
    original.emplace(native_writes.bytes[i].first, native_writes.bytes[i].second);
  }
  for (auto& [p, old] : interp_writes.bytes) original.emplace(p, old);
  for (auto& [p, orig] : original) {
    auto it = native_final.find(p);
    uint8_t nv = it != native_final.end() ? it->second : orig;
    if (nv != *p) {
      // Name the byte by its guest-physical address when it is in RAM.
      const uint8_t* ram = bus.ram();
      if (ram && p >= ram && static_cast<uint64_t>(p - ram) < bus.ram_size())
        diff += fmt::format("  memory at RAM offset {:#x}: native {:#04x}, interpreter {:#04x}\n",
                            static_cast<uint64_t>(p - ram), nv, *p);
      else
        diff += fmt::format("  memory at host {}: native {:#04x}, interpreter {:#04x}\n", static_cast<void*>(p), nv, *p);
      break;
    }
  }
  if (diff.empty()) return;
  // The block's disassembly (its bytes read back from guest memory, as the tracer does).
  std::string listing;
  {
    const PendingException saved = c_.exc;
    const uint64_t cr2 = c_.cr2;
    uint64_t lin = b->lin, rip = before->rip;
    for (const auto& d : b->insns) {
      uint8_t bytes[16] = {};
      unsigned n = fetch_code(c_, lin, bytes, d.len);
      listing += fmt::format("  {:#010x}  {}\n", rip,
                             n == d.len ? decoder_.disassemble(before->mode, bytes, n, rip) : frontend::insn_info(d.id).name);
      lin += d.len;
      rip += d.len;
    }
    c_.exc = saved;
    c_.cr2 = cr2;
  }
  fmt::print(stderr,
             "kestrel: jit verify: the block at {:#x} (linear) differs from the interpreter:\n{}first difference:\n{}"
             "native state:\n{}\ninterpreter state:\n{}\n",
             b->lin, listing, diff, format_state(*native), format_state(c_));
  m_.request_stop(1, "jit verify: native code differs from the interpreter");
}

void Interpreter::deliver() {
  ++faults_;
  if (tracer_) tracer_->exception(c_, c_.exc);
  deliver_exception(c_);
}

void Interpreter::execute(Block* b, bool single_step, size_t max_insns, bool stop_on_events) {
  running_ = b;
  const size_t n = std::min(single_step ? 1 : b->insns.size(), max_insns);
  ++b->exec_count;
  for (size_t i = 0; i < n; ++i) {
    const DecodedInsn& d = b->insns[i];
    const bool tf = (c_.rflags & kTF) != 0;
    if (tracer_) {
      uint8_t bytes[16] = {};
      uint64_t lin = c_.mode == CpuMode::Long64 ? c_.rip : (c_.seg[CS].base + c_.rip) & 0xFFFFFFFFull;
      PendingException saved = c_.exc;
      uint64_t cr2 = c_.cr2;
      fetch_code(c_, lin, bytes, d.len);
      c_.exc = saved;
      c_.cr2 = cr2;
      tracer_->instruction(c_, d, bytes);
    }
    c_.interrupt_shadow = kShadowNone;
    ExecStatus st = d.fn(c_, d);
    switch (st) {
      case ExecStatus::Ok:
        c_.rip = c_.mode == CpuMode::Long64 ? c_.rip + d.len : (c_.rip + d.len) & 0xFFFFFFFFull;
        ++c_.icount;
        break;
      case ExecStatus::Branch:
        ++c_.icount;
        i = n;
        break;
      case ExecStatus::Fault:
        if (c_.exc.is_software) ++c_.icount;
        deliver();
        running_ = nullptr;
        return;
      case ExecStatus::Halt:
        ++c_.icount;
        c_.halted = 1;
        i = n;
        break;
      case ExecStatus::Stop:
        running_ = nullptr;
        return;
    }
    if (tf && c_.interrupt_shadow != kShadowSs) {
      // Single-step trap after the instruction (SDM Vol. 3 §17.3.1.4).
      c_.dr[6] |= 1u << 14;
      c_.exc = PendingException{kVecDB, false, false, 0, 0};
      deliver();
      break;
    }
    if (c_.event_pending && i < n && stop_on_events) {
      const uint32_t ev = c_.event_pending & ~kEventCodeChanged;
      if (!b->valid || (ev && events_need_run_loop(ev, c_.rflags))) break;
    }
  }
  running_ = nullptr;
}

bool Interpreter::service_interrupts() {
  if (m_.nmi_pending() && !c_.nmi_blocked && !c_.interrupt_shadow) {
    m_.take_nmi();
    c_.event_pending &= ~kEventNmi;
    c_.halted = 0;
    c_.nmi_blocked = 1;
    c_.exc = PendingException{kVecNMI, false, false, 0, 0};
    deliver();
    return true;
  }
  InterruptController* ic = m_.interrupt_controller();
  if (!ic || !ic->interrupt_pending()) return m_.nmi_pending();
  if (!(c_.rflags & kIF) || c_.interrupt_shadow) return true;  // still pending: ask again later
  uint8_t vector = ic->acknowledge();
  c_.halted = 0;
  c_.exc = PendingException{vector, false, false, 0, 0};
  if (tracer_) tracer_->exception(c_, c_.exc);
  deliver_exception(c_);
  return true;
}

bool Interpreter::wait_while_halted() {
  TimerQueue& timers = m_.timers();
  uint64_t next = timers.next_deadline();
  // Host input (the front end's idle handler) can wake the CPU even when no timer will.
  machine::IdleHandler* idle = m_.idle_handler();
  constexpr uint64_t kMaxSleepNs = 10'000'000;  // stay responsive to input and signals
  if (next == TimerQueue::kNever) {
    if (!idle) return false;
    return idle->idle_wait(kMaxSleepNs);
  }
  Clock& clock = m_.clock();
  if (clock.source() == Clock::Source::Icount) {
    // Deterministic time jumps to the deadline; input that is already there goes first.
    if (idle) idle->idle_wait(0);
    if (c_.event_pending & kEventInterrupt) return true;
    clock.idle_until(next, c_.icount);
  } else {
    uint64_t now = m_.now_ns();
    if (next > now) {
      uint64_t ns = std::min<uint64_t>(next - now, kMaxSleepNs);
      if (idle) {
        idle->idle_wait(ns);
      } else {
        timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
        nanosleep(&ts, nullptr);
      }
    }
  }
  timers.run_expired(m_.now_ns());
  return true;
}

StopReason Interpreter::run(uint64_t max_insns) {
  // The budget counts retired instructions and delivered exceptions, so a guest
  // stuck re-faulting still comes back.
  const uint64_t base_faults = faults_;
  const uint64_t base_icount = c_.icount;
  auto used = [&]() { return (c_.icount - base_icount) + (faults_ - base_faults); };
  TimerQueue& timers = m_.timers();
  for (;;) {
    if (timers.next_deadline() != TimerQueue::kNever) timers.run_expired(m_.now_ns());
    if (c_.event_pending) {
      if (m_.stop_requested()) return StopReason::Stopped;
      c_.event_pending &= ~kEventCodeChanged;
      cache_.collect();
      if ((c_.event_pending & kEventInterrupt) && !service_interrupts()) c_.event_pending &= ~kEventInterrupt;
    }
    if (c_.halted) {
      // Only an interrupt the CPU can take (or an NMI) ends HLT.
      bool can_wake = (c_.rflags & kIF) || m_.nmi_pending();
      if (!can_wake || !wait_while_halted()) return StopReason::HaltedNoInterrupts;
      if (used() >= max_insns) return StopReason::InstructionLimit;
      continue;
    }
    if (used() >= max_insns) return StopReason::InstructionLimit;
    Block* b = find_block();
    if (!b) {
      last_exit_ = nullptr;
      deliver();
      continue;
    }
    bool single = (c_.rflags & kTF) || c_.interrupt_shadow || tracer_;
    bool partial = single || max_insns - used() < b->insns.size();
    if (compiler_ && !partial) {
      if (!b->native_body && !b->native_failed && b->exec_count >= threshold_) {
        if (compiler_->live_bytes() > code_cap_) {
          // The translation cache is full: drop every block (freed once no code runs).
          cache_.flush();
          ++stats_.cache_flushes;
          bump_cache_generation();
          last_exit_ = nullptr;
          c_.event_pending |= kEventCodeChanged;
          continue;
        }
        b->native_failed = !compiler_->compile(*b, c_);
        JumpCacheEntry& jc = jc_->entry[jc_index(b->lin)];
        if (jc.block == b) jc.native = b->native_entry;
      }
      if (b->native_body) {
        if (last_exit_) try_chain(last_exit_, b);
        ++b->exec_count;
        set_icount_limit(max_insns - used());
        if (verify_ && (verify_every_ == 1 || b->native_runs_seen++ < kVerifyFirstRuns ||
                        ++verify_tick_ % verify_every_ == 0))
          verify_native(b);
        else
          execute_native(b);
        continue;
      }
    }
    last_exit_ = nullptr;
    ++stats_.interpreted_runs;
    if (timing_ && tier_ != Tier::Interpreted) switch_tier(Tier::Interpreted);
    execute(b, partial);
  }
}

std::string Interpreter::format_state(const CpuState& c) {
  CpuState copy = c;
  uint64_t fl = materialize_flags(copy);
  static const char* kNames[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                   "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
  std::string s;
  bool wide = c.mode == CpuMode::Long64;
  for (int i = 0; i < (wide ? 16 : 8); ++i) {
    if (wide) s += fmt::format("{}={:016x}{}", kNames[i], c.gpr[i], i % 4 == 3 ? "\n" : " ");
    else s += fmt::format("e{}={:08x}{}", kNames[i] + 1, static_cast<uint32_t>(c.gpr[i]), i % 4 == 3 ? "\n" : " ");
  }
  s += fmt::format("rip={:08x} rflags={:08x} [{}{}{}{}{}{}{}{}{}]\n", c.rip, fl, fl & kOF ? 'O' : '-',
                   fl & kDF ? 'D' : '-', fl & kIF ? 'I' : '-', fl & kTF ? 'T' : '-', fl & kSF ? 'S' : '-',
                   fl & kZF ? 'Z' : '-', fl & kAF ? 'A' : '-', fl & kPF ? 'P' : '-', fl & kCF ? 'C' : '-');
  static const char* kSeg[6] = {"es", "cs", "ss", "ds", "fs", "gs"};
  for (int i = 0; i < 6; ++i)
    s += fmt::format("{}={:04x}[{:08x},{:x}]{}", kSeg[i], c.seg[i].selector, c.seg[i].base, c.seg[i].limit,
                     i == 2 || i == 5 ? "\n" : " ");
  s += fmt::format("cr0={:08x} cr2={:x} cr3={:x} cr4={:x} efer={:x} cpl={} icount={}", c.cr0, c.cr2, c.cr3, c.cr4,
                   c.efer, c.cpl, c.icount);
  return s;
}

}  // namespace kestrel::interp
