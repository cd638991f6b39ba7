// The Kestrel side of the difftest (see kestrel_run.h).
//
// System structures live at 1 MiB and up, mapped for the supervisor only (the
// tests never reach them): page tables, a GDT laid out like Linux's x86-64 GDT
// (entries the native runner can see at CPL 3 are rebuilt from its LAR/LSL
// answers, so segment loads and LAR/LSL/VERR/VERW agree), a TSS whose I/O map
// lies beyond its limit, and an IDT whose gates are DPL 0 except #BP, #OF and
// 0x80 (as in Linux), each pointing at its own HLT stub. The first exception is
// delivered there (the gate clears IF, so the HLT ends the run): the stub names
// the vector, the interrupt frame on the kernel stack gives the error code, RIP,
// CS, RFLAGS, RSP and SS at the exception, the registers are as the exception
// left them. This is Kestrel's own delivery at work, privilege checks included
// (INT n through a DPL-0 gate raises #GP, as natively).
#include "kestrel_run.h"

#include <algorithm>
#include <cstring>

#include "gen.h"
#ifdef KESTREL_HAVE_JIT
#include "jit/jit.h"
#endif
#include "machine/cpu_model.h"
#include "machine/descriptors.h"
#include "machine/flags.h"
#include "machine/memory.h"
#include "machine/paging.h"
#include "machine/segments.h"

namespace difftest {

namespace km = kestrel::machine;
namespace ki = kestrel::interp;

namespace {

constexpr uint64_t kPml4 = 0x100000;  // PML4 (64-bit) or the PAE PDPT (32-bit)
constexpr uint64_t kPdpt = 0x101000;
constexpr uint64_t kPd = 0x102000;
constexpr uint64_t kPt = 0x103000;
constexpr uint64_t kGdt = 0x104000;
constexpr uint64_t kTss = 0x105000;
constexpr uint64_t kIdt = 0x106000;
constexpr uint64_t kStubs = 0x107000;
constexpr uint64_t kKstack = 0x108000;
constexpr uint64_t kP = 1, kRW = 2, kUS = 4, kNX = 1ull << 63;
constexpr uint16_t kTssSel = 0x40;

uint64_t make_desc(uint32_t base, uint32_t limit_raw, uint8_t access, uint8_t flags4) {
  return (limit_raw & 0xFFFFull) | (static_cast<uint64_t>(base & 0xFFFFFF) << 16) |
         (static_cast<uint64_t>(access) << 40) | (static_cast<uint64_t>((limit_raw >> 16) & 0xF) << 48) |
         (static_cast<uint64_t>(flags4 & 0xF) << 52) | (static_cast<uint64_t>(base >> 24) << 56);
}

}  // namespace

void fx_to_cpu(const uint8_t fx[512], km::CpuState& c, bool mode64) {
  uint16_t fsw;
  std::memcpy(&c.fcw, fx + 0, 2);
  std::memcpy(&fsw, fx + 2, 2);
  c.ftop = static_cast<uint8_t>((fsw >> 11) & 7);
  c.fsw = static_cast<uint16_t>(fsw & ~0x3800);
  const uint8_t abridged = fx[4];
  uint16_t ftw = 0;
  for (unsigned phys = 0; phys < 8; ++phys) {
    unsigned st = (phys - c.ftop) & 7;
    km::X87Reg& reg = c.fpr[phys];
    std::memcpy(&reg.sig, fx + 32 + st * 16, 8);
    std::memcpy(&reg.sign_exp, fx + 32 + st * 16 + 8, 2);
    reg.pad[0] = reg.pad[1] = reg.pad[2] = 0;
    unsigned tag = (abridged >> phys) & 1 ? x87_tag_of(reg.sig, reg.sign_exp) : 3;
    ftw |= static_cast<uint16_t>(tag << (2 * phys));
  }
  c.ftw = ftw;
  std::memcpy(&c.fop, fx + 6, 2);
  c.fop &= 0x7FF;
  if (mode64) {
    std::memcpy(&c.fip, fx + 8, 8);
    std::memcpy(&c.fdp, fx + 16, 8);
    c.fcs = c.fds = 0;
  } else {
    uint32_t ip, dp;
    std::memcpy(&ip, fx + 8, 4);
    std::memcpy(&c.fcs, fx + 12, 2);
    std::memcpy(&dp, fx + 16, 4);
    std::memcpy(&c.fds, fx + 20, 2);
    c.fip = ip;
    c.fdp = dp;
  }
  std::memcpy(&c.mxcsr, fx + 24, 4);
  for (unsigned i = 0; i < 16; ++i) {
    if (i < (mode64 ? 16u : 8u)) std::memcpy(&c.xmm[i], fx + 160 + i * 16, 16);
    else c.xmm[i] = km::Xmm{};
  }
}

void cpu_to_fx(const km::CpuState& c, uint8_t fx[512], bool mode64) {
  std::memset(fx, 0, 512);
  const uint16_t fsw = static_cast<uint16_t>((c.fsw & ~0x3800) | ((c.ftop & 7) << 11));
  std::memcpy(fx + 0, &c.fcw, 2);
  std::memcpy(fx + 2, &fsw, 2);
  uint8_t abridged = 0;
  for (unsigned phys = 0; phys < 8; ++phys)
    if (((c.ftw >> (2 * phys)) & 3) != 3) abridged |= static_cast<uint8_t>(1u << phys);
  fx[4] = abridged;
  std::memcpy(fx + 6, &c.fop, 2);
  if (mode64) {
    std::memcpy(fx + 8, &c.fip, 8);
    std::memcpy(fx + 16, &c.fdp, 8);
  } else {
    uint32_t ip = static_cast<uint32_t>(c.fip), dp = static_cast<uint32_t>(c.fdp);
    std::memcpy(fx + 8, &ip, 4);
    std::memcpy(fx + 12, &c.fcs, 2);
    std::memcpy(fx + 16, &dp, 4);
    std::memcpy(fx + 20, &c.fds, 2);
  }
  std::memcpy(fx + 24, &c.mxcsr, 4);
  for (unsigned st = 0; st < 8; ++st) {
    const km::X87Reg& reg = c.fpr[(c.ftop + st) & 7];
    std::memcpy(fx + 32 + st * 16, &reg.sig, 8);
    std::memcpy(fx + 32 + st * 16 + 8, &reg.sign_exp, 2);
  }
  for (unsigned i = 0; i < (mode64 ? 16u : 8u); ++i) std::memcpy(fx + 160 + i * 16, &c.xmm[i], 16);
}

KestrelRunner::KestrelRunner(bool mode64, const ShmHeader& host, int jit)
    : mode64_(mode64), host_(host), jit_mode_(jit) {}
KestrelRunner::~KestrelRunner() {
  interp_.reset();
  jit_.reset();
  machine_.reset();
}

bool KestrelRunner::init(std::string& error) {
  km::MachineConfig cfg;
  cfg.ram_bytes = 4ull << 20;
  machine_ = std::make_unique<km::Machine>(cfg);
  if (!machine_->init(error)) return false;
  interp_ = std::make_unique<ki::Interpreter>(*machine_);
  if (jit_mode_) {
#ifdef KESTREL_HAVE_JIT
    // Threshold 0: the case's block (the instruction and the int3) is translated on
    // its first run, so the native forms and their slow paths meet the host CPU.
    jit_ = std::make_unique<kestrel::jit::Jit>(jit_mode_ == 2);
    interp_->set_compiler(jit_.get(), 0);
    interp_->set_verify(jit_mode_ == 2);
#else
    error = "difftest: this build has no JIT (--jit needs an x86-64 host with asmjit)";
    return false;
#endif
  }
  km::PhysBus& bus = machine_->bus();
  km::CpuState& c = machine_->cpu();

  // Page tables: 4 KiB pages below 2 MiB.
  std::vector<uint8_t> zero(0x10000, 0);
  bus.write(kPml4, zero.data(), 0x9000);
  auto pte = [&](uint64_t page, uint64_t bits) { bus.write_uint(kPt + (page >> 12) * 8, page | bits, 8); };
  pte(kCodePage, kP | kUS);  // read-only and executable, as natively
  pte(kDataBase, kP | kRW | kUS | kNX);
  pte(kStackBase, kP | kRW | kUS | kNX);
  for (uint64_t p : {kPml4, kPdpt, kPd, kPt, kGdt, kTss, kIdt, kKstack}) pte(p, kP | kRW | kNX);
  pte(kStubs, kP | kRW);
  bus.write_uint(kPd, kPt | kP | kRW | kUS, 8);
  if (mode64_) {
    bus.write_uint(kPml4, kPdpt | kP | kRW | kUS, 8);
    bus.write_uint(kPdpt, kPd | kP | kRW | kUS, 8);
  } else {
    bus.write_uint(kPml4, kPd | kP, 8);  // PAE PDPTE: only P (RW/US are reserved there)
  }

  // GDT (Linux x86-64 layout).
  uint64_t gdt[16] = {};
  gdt[1] = 0x00CF9B000000FFFFull;  // kernel CS32 (0x08)
  gdt[2] = 0x00AF9B000000FFFFull;  // kernel CS64 (0x10)
  gdt[3] = 0x00CF93000000FFFFull;  // kernel DS (0x18)
  gdt[4] = 0x00CFFB000000FFFFull;  // user CS32 (0x23)
  gdt[5] = 0x00CFF3000000FFFFull;  // user DS (0x2b)
  gdt[6] = 0x00AFFB000000FFFFull;  // user CS64 (0x33)
  for (unsigned i = 1; i < 16; ++i) {
    if (i == 8 || i == 9 || !host_.lar[i]) continue;
    const uint32_t ar = host_.lar[i], lim = host_.lsl[i];
    const uint8_t access = static_cast<uint8_t>(ar >> 8), fl = static_cast<uint8_t>((ar >> 20) & 0xF);
    const uint32_t raw = (fl & 8) ? lim >> 12 : lim;
    gdt[i] = make_desc(0, raw, access, fl);
  }
  // TSS (busy, loaded in TR): RSP0/ESP0 at the kernel stack, I/O map base past the limit.
  gdt[8] = make_desc(static_cast<uint32_t>(kTss), 0x67, 0x8B, 0);
  gdt[9] = 0;
  bus.write(kGdt, gdt, sizeof gdt);
  uint8_t tss[0x68] = {};
  const uint64_t ktop = kKstack + kPageSize;
  std::memcpy(tss + 4, &ktop, mode64_ ? 8 : 4);
  if (!mode64_) {
    uint16_t ss0 = 0x18;
    std::memcpy(tss + 8, &ss0, 2);
  }
  uint16_t iomap = 0x68;
  std::memcpy(tss + 0x66, &iomap, 2);
  bus.write(kTss, tss, sizeof tss);

  // IDT: HLT stubs; DPL 3 for #BP, #OF and 0x80 as in Linux.
  std::vector<uint8_t> stubs(kPageSize, 0xF4);
  bus.write(kStubs, stubs.data(), stubs.size());
  for (unsigned v = 0; v < 256; ++v) {
    const uint64_t off = kStubs + v;
    const unsigned dpl = (v == 3 || v == 4 || v == 0x80) ? 3 : 0;
    const uint64_t attr = 0x80 | (dpl << 5) | 0xE;
    const uint64_t sel = mode64_ ? 0x10 : 0x08;
    uint64_t lo = (off & 0xFFFF) | (sel << 16) | (attr << 40) | (((off >> 16) & 0xFFFF) << 48);
    if (mode64_) {
      uint64_t hi = off >> 32;
      bus.write_uint(kIdt + v * 16, lo, 8);
      bus.write_uint(kIdt + v * 16 + 8, hi, 8);
    } else {
      bus.write_uint(kIdt + v * 8, lo, 8);
    }
  }

  // Control registers as Linux sets them (CR0 0x80050033: PE MP ET NE WP AM PG).
  c.cr0 = 0x80050033;
  c.cr4 = (1u << 3) | (1u << 5) | (1u << 9) | (1u << 10);  // DE PAE OSFXSR OSXMMEXCPT
  if (machine_->cpu_model().has(km::Feature::Xsave)) c.cr4 |= 1u << 18;  // OSXSAVE, as Linux sets it
  c.cr3 = kPml4;
  c.efer = mode64_ ? ((1u << 0) | (1u << 8) | (1u << 10) | (1u << 11)) : (1u << 11);  // SCE LME LMA NXE / NXE
  c.gdtr = {kGdt, 0x7F};
  c.idtr = {kIdt, mode64_ ? 0xFFFu : 0x7FFu};
  c.rflags = 0x202;
  if (!mode64_ && !km::load_pae_pdptes(c)) {
    error = "difftest: the PAE PDPTEs did not load";
    return false;
  }
  km::tlb_flush(c);
  // No LDT, as in Linux (LLDT 0): LDT selectors fault with #GP(selector).
  c.ldtr = km::SegmentCache{};
  km::Descriptor tssd{gdt[8], 0};
  km::cache_from_descriptor(c, c.tr, kTssSel, tssd);
  const uint16_t cs = mode64_ ? 0x33 : 0x23;
  km::Descriptor csd{gdt[cs >> 3], 0};
  km::load_cs(c, cs, csd, 3);
  static const uint8_t kSegs[] = {km::ES, km::SS, km::DS, km::FS, km::GS};
  for (uint8_t s : kSegs) {
    uint16_t sel = host_.host_sel[s];
    if (!km::load_segment(c, s, sel)) {
      error = "difftest: cannot load the host's selector " + std::to_string(sel) + " in Kestrel";
      return false;
    }
  }
  c.exc = km::PendingException{};
  mode_ = c.mode;
  if (mode_ != (mode64_ ? km::CpuMode::Long64 : km::CpuMode::Protected32)) {
    error = "difftest: the Kestrel machine is not in the expected mode";
    return false;
  }
  std::memcpy(seg_init_, c.seg, sizeof seg_init_);
  std::memset(page_, kFiller, sizeof page_);
  return true;
}

void KestrelRunner::run(const CaseIn& in, CaseOut& out) {
  km::PhysBus& bus = machine_->bus();
  km::CpuState& c = machine_->cpu();
  std::memset(page_, kFiller, sizeof page_);
  // An instruction that straddles the page end continues on the unmapped page.
  const uint32_t n = std::min<uint32_t>(in.len, kPageSize - in.code_off);
  std::memcpy(page_ + in.code_off, in.code, n);
  // Straight into guest RAM (PhysBus::write goes byte by byte); the interpreter is
  // told about the code page so that its decoded blocks are dropped.
  uint8_t* code = bus.page_for_write(kCodePage);
  uint8_t* data = bus.page_for_write(kDataBase);
  uint8_t* stack = bus.page_for_write(kStackBase);
  if (code && data && stack) {
    if (std::memcmp(code, page_, kPageSize) != 0) {
      std::memcpy(code, page_, kPageSize);
      interp_->code_page_written(kCodePage);
    }
    std::memcpy(data, in.region, kPageSize);
    std::memcpy(stack, in.region + kPageSize, kPageSize);
  } else {
    bus.write(kCodePage, page_, kPageSize);
    bus.write(kDataBase, in.region, kRegionSize);
  }
  for (unsigned i = 0; i < 16; ++i) c.gpr[i] = mode64_ ? in.gpr[i] : (i < 8 ? in.gpr[i] & 0xFFFFFFFF : 0);
  c.rip = kCodePage + in.code_off;
  c.rflags = in.rflags;
  c.lf_kind = static_cast<uint8_t>(km::FlagKind::None);
  std::memcpy(c.seg, seg_init_, sizeof seg_init_);
  c.cpl = 3;
  c.mode = mode_;
  fx_to_cpu(in.fx, c, mode64_);
  c.exc = km::PendingException{};
  c.halted = 0;
  c.interrupt_shadow = 0;
  c.nmi_blocked = 0;
  c.cr2 = 0;
  c.dr[6] = 0xFFFF0FF0;
  c.dr[7] = 0x400;
  std::memset(&out, 0, offsetof(CaseOut, region));
  interp_->run(1000);
  machine_->clear_stop();
  // Delivered exceptions end in a HLT stub (one per vector) with the interrupt frame
  // on the kernel stack: the frame tells the state at the exception, as the signal
  // frame does natively.
  for (unsigned i = 0; i < 16; ++i) out.gpr[i] = mode64_ ? c.gpr[i] : (i < 8 ? c.gpr[i] & 0xFFFFFFFF : 0);
  out.rflags = km::materialize_flags(c);
  for (unsigned s = 0; s < 6; ++s) out.sel[s] = c.seg[s].selector;
  cpu_to_fx(c, out.fx, mode64_);
  out.rip = c.rip;
  const uint64_t top = kKstack + kPageSize;
  if (c.halted && c.rip > kStubs && c.rip <= kStubs + 256) {
    out.status = kStatusException;
    out.vector = static_cast<uint32_t>(c.rip - 1 - kStubs);
    const unsigned w = mode64_ ? 8 : 4;
    const uint64_t sp = mode64_ ? c.gpr[km::RSP] : c.gpr[km::RSP] & 0xFFFFFFFF;
    const bool has_error = sp == top - 6 * w;
    auto slot = [&](unsigned k) { return bus.read_uint(top - k * w, w); };  // k-th slot from the top
    out.error = has_error ? static_cast<uint32_t>(slot(6)) : 0;
    out.rip = slot(5);
    out.sel[km::CS] = static_cast<uint16_t>(slot(4));
    out.rflags = slot(3);
    out.gpr[km::RSP] = slot(2);
    out.sel[km::SS] = static_cast<uint16_t>(slot(1));
    out.cr2 = out.vector == km::kVecPF ? c.cr2 : 0;
  } else {
    out.status = kStatusNoStop;
  }
  const uint8_t* rd = bus.page_for_read(kDataBase);
  const uint8_t* rs = bus.page_for_read(kStackBase);
  if (rd && rs) {
    std::memcpy(out.region, rd, kPageSize);
    std::memcpy(out.region + kPageSize, rs, kPageSize);
  } else {
    bus.read(kDataBase, out.region, kRegionSize);
  }
}

}  // namespace difftest
