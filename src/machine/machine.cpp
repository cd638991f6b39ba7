#include "machine/machine.h"

#include <fmt/format.h>

#include "machine/cpu_model.h"
#include "machine/devices/lapic.h"
#include "machine/memory.h"
#include "machine/segments.h"

namespace kestrel::machine {

Machine::Machine(const MachineConfig& cfg) : cfg_(cfg), clock_(cfg.clock), cpu_(std::make_unique<CpuState>()) {
  model_ = find_cpu_model(cfg.cpu_model);
  if (!model_) model_ = &cpu_models().front();
  *cpu_ = CpuState{};
  cpu_->machine = this;
}

Machine::~Machine() = default;

bool Machine::init(std::string& error) {
  if (!find_cpu_model(cfg_.cpu_model)) {
    std::string names;
    for (const auto& m : cpu_models()) names += (names.empty() ? "" : ", ") + m.name;
    error = fmt::format("unknown CPU model '{}' (choose one of: {})", cfg_.cpu_model, names);
    return false;
  }
  if (!bus_.init_ram(cfg_.ram_bytes, error)) return false;
  reset();
  return true;
}

void Machine::reset() {
  // Power-on state, SDM Vol. 3 §9.1.1, Table 9-1.
  CpuState& c = *cpu_;
  time_before_reset_ns_ += now_ns();  // before the clock and icount restart
  Machine* self = c.machine;
  // Linear-keyed caches (the interpreter's jump cache) check tlb_generation: it must
  // move on across a reset, never restart from 0 and meet an old value again.
  const uint32_t tlb_generation = c.tlb_generation;
  c = CpuState{};
  c.machine = self;
  c.tlb_generation = tlb_generation + 1;
  c.rflags = kFlagsFixed1;
  c.rip = 0xFFF0;
  c.cr0 = 0x60000010;
  c.gpr[RDX] = model_->signature();
  for (auto& s : c.seg) {
    s.selector = 0;
    s.base = 0;
    s.limit = 0xFFFF;
    s.attr = 0x93;  // present, read/write, accessed
  }
  c.seg[CS].selector = 0xF000;
  c.seg[CS].base = 0xFFFF0000;
  c.gdtr = {0, 0xFFFF};
  c.idtr = {0, 0xFFFF};
  c.ldtr = SegmentCache{0, 0xFFFF, 0, 0xFFFF, 0, 0x82, 0, 0, {}};
  c.tr = SegmentCache{0, 0xFFFF, 0, 0xFFFF, 0, 0x8B, 0, 0, {}};
  c.dr[6] = 0xFFFF0FF0;
  // x87 and SSE power-on state (SDM Vol. 3 §9.1.1, Table 9-1): FINIT-like, MXCSR 0x1F80.
  c.fcw = 0x0040;
  c.ftw = 0x5555;  // registers hold +0.0 after power-on (tags "zero")
  c.mxcsr = 0x1F80;
  c.xcr0 = 1;
  c.dr[7] = 0x400;
  c.msr_pat = 0x0007040600070406ull;
  c.msr_apic_base = 0xFEE00900;
  c.mode = CpuMode::Real;
  c.a20_enabled = bus_.a20();
  refresh_all_segments(c);
  c.tlb.flush();
  clock_.reset();
  timers_.reset();
  nmi_pending_ = false;
  ferr_line_.set(false);
  ignne_ = false;
  for (auto& d : devices_) d->reset();
  stop_requested_ = false;
  reset_requested_ = false;
  triple_faulted_ = false;
}

uint64_t Machine::read_cr8() const { return lapic_ ? lapic_->read_cr8() : cpu_->cr8; }

void Machine::write_cr8(uint64_t v) {
  if (lapic_) lapic_->write_cr8(v);
  else cpu_->cr8 = v;
}

void Machine::set_a20(bool on) {
  if (bus_.a20() == on && cpu_->a20_enabled == on) return;
  bus_.set_a20(on);
  cpu_->a20_enabled = on;
  tlb_flush(*cpu_);  // cached translations carry the old physical bit 20
  // A20 is part of the blocks' mode key, which chained native code takes as fixed
  // along a chain: it returns to the run loop at its next check.
  raise_event(*cpu_, kEventCodeChanged);
}

void Machine::memory_map_changed(uint64_t base, uint64_t size) {
  bus_.notify_code_pages(base, size);
  tlb_flush(*cpu_);
}

void Machine::signal_interrupt() { raise_event(*cpu_, kEventInterrupt); }

void Machine::raise_nmi() {
  nmi_pending_ = true;
  raise_event(*cpu_, kEventInterrupt | kEventNmi);
}

void Machine::request_stop(int exit_status, std::string reason) {
  if (stop_requested_) return;
  stop_requested_ = true;
  exit_status_ = exit_status;
  stop_reason_ = std::move(reason);
  raise_event(*cpu_, kEventStop);
}

void Machine::request_reset(std::string reason) {
  if (stop_requested_) return;
  request_stop(0, std::move(reason));
  reset_requested_ = true;
}

void Machine::triple_fault() {
  ++triple_fault_count_;
  static const char* kNames[32] = {"DE", "DB", "NMI", "BP", "OF", "BR", "UD", "NM", "DF", nullptr, "TS",
                                   "NP", "SS", "GP", "PF", nullptr, "MF", "AC", "MC", "XM", "VE", "CP"};
  const PendingException& e = cpu_->exc;
  const char* name = e.vector < 32 ? kNames[e.vector] : nullptr;
  std::string vec = name ? fmt::format("#{}", name) : fmt::format("vector 0x{:x}", e.vector);
  triple_fault_detail_ = e.has_error ? fmt::format("{}(0x{:x})", vec, e.error) : vec;
  if (cfg_.on_triple_fault == TripleFaultAction::Reset) {
    request_reset(fmt::format("triple fault (last exception {})", triple_fault_detail_));
  } else {
    const bool first = !stop_requested_;  // an earlier stop request keeps its own report
    request_stop(1, "triple fault");
    triple_faulted_ = first;
  }
}

void Machine::report_once(const std::string& key, const std::string& message) {
  if (reported_.insert(key).second) fmt::print(stderr, "kestrel: {}\n", message);
}

}  // namespace kestrel::machine
