#include "compare.h"

#include <cstring>

#include <fmt/format.h>

namespace difftest {

namespace {

const char* const kGpr64[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
const char* const kGpr32[8] = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"};
const char* const kSeg[6] = {"es", "cs", "ss", "ds", "fs", "gs"};

// RFLAGS bits compared: all architectural ones except RF, which the delivery of a
// fault sets in the saved image (SDM Vol. 3 §6.12.1), not the instruction.
constexpr uint64_t kFlagsCompared = 0x3E7FD5;

bool has_error_code(unsigned v) { return v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21; }

uint16_t u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
uint32_t u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint64_t u64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

std::string vec_name(unsigned v) {
  static const char* kNames[32] = {"DE", "DB", "NMI", "BP", "OF", "BR", "UD", "NM", "DF", "09", "TS",
                                   "NP", "SS", "GP", "PF", "15", "MF", "AC", "MC", "XM", "VE", "CP"};
  if (v < 22) return fmt::format("#{}", kNames[v]);
  return fmt::format("vec{:#x}", v);
}

std::string outcome_head(const CaseOut& o) {
  if (o.status == kStatusCrash) return "crashed";
  if (o.status == kStatusNoStop) return "no-stop";
  if (o.status == kStatusOther) return fmt::format("signal{}", o.signo);
  std::string s = vec_name(o.vector);
  if (o.vector == 3) s = "int3";
  if (has_error_code(o.vector)) s += fmt::format("({:#x})", o.error);
  if (o.vector == 14) s += fmt::format("@{:#x}", o.cr2);
  return s;
}

// Two 80-bit values at most one unit in the last place apart (same sign).
bool within_ulp(const uint8_t* a, const uint8_t* b) {
  uint64_t sa = u64(a), sb = u64(b);
  uint16_t ea = u16(a + 8), eb = u16(b + 8);
  if ((ea ^ eb) & 0x8000) return false;
  // As one 79-bit magnitude: exponent then significand (integer bit included for normals).
  unsigned __int128 ma = (static_cast<unsigned __int128>(ea & 0x7FFF) << 63) | (sa & 0x7FFFFFFFFFFFFFFFull);
  unsigned __int128 mb = (static_cast<unsigned __int128>(eb & 0x7FFF) << 63) | (sb & 0x7FFFFFFFFFFFFFFFull);
  if ((sa >> 63) != (sb >> 63) && (ea & 0x7FFF) == (eb & 0x7FFF)) return false;
  unsigned __int128 d = ma > mb ? ma - mb : mb - ma;
  return d <= 1;
}

}  // namespace

std::string compare_outcomes(const CaseOut& h, const CaseOut& k, const Meta& meta, bool m64) {
  std::string d;
  auto add = [&](const std::string& s) {
    if (!d.empty()) d += "; ";
    d += s;
  };
  if (h.status != kStatusException || k.status != kStatusException) {
    if (h.status != k.status || h.status != kStatusException)
      add(fmt::format("outcome host={} kestrel={}", outcome_head(h), outcome_head(k)));
    if (h.status == kStatusCrash) return d;
  }
  // Linux reports a user-mode #PF on a kernel-half address as a protection fault
  // (arch/x86/mm/fault.c, set_signal_archinfo): the host's P bit says nothing there.
  uint32_t err_mask = ~0u;
  if (h.vector == 14 && h.cr2 >= 0x00007FFFFFFFF000ull) err_mask = ~1u;
  const uint64_t cr2_mask = meta.cr2_page_only ? ~0xFFFull : ~0ull;
  if (h.vector != k.vector || (has_error_code(h.vector) && (h.error & err_mask) != (k.error & err_mask)) ||
      (h.vector == 14 && (h.cr2 & cr2_mask) != (k.cr2 & cr2_mask)))
    add(fmt::format("exception host={} kestrel={}", outcome_head(h), outcome_head(k)));
  const uint64_t wmask = m64 ? ~0ull : 0xFFFFFFFFull;
  if ((h.rip & wmask) != (k.rip & wmask)) add(fmt::format("rip host={:#x} kestrel={:#x}", h.rip, k.rip));
  const unsigned n = m64 ? 16 : 8;
  for (unsigned i = 0; i < n; ++i) {
    uint64_t m = wmask & ~meta.gpr_undef[i];
    if ((h.gpr[i] & m) != (k.gpr[i] & m))
      add(fmt::format("{} host={:#x} kestrel={:#x}", m64 ? kGpr64[i] : kGpr32[i], h.gpr[i] & wmask, k.gpr[i] & wmask));
  }
  uint64_t fm = kFlagsCompared & ~meta.flags_undef;
  if (h.status == kStatusException && h.vector != 3) fm &= ~meta.flags_undef_on_fault;
  if ((h.rflags & fm) != (k.rflags & fm))
    add(fmt::format("rflags host={:#x} kestrel={:#x} (diff {:#x})", h.rflags & kFlagsCompared,
                    k.rflags & kFlagsCompared, (h.rflags ^ k.rflags) & fm));
  for (unsigned s = 0; s < 6; ++s) {
    if (m64 && s != 1 && s != 2) continue;  // the 64-bit signal frame has CS and SS only
    if (h.sel[s] != k.sel[s]) add(fmt::format("{} host={:#x} kestrel={:#x}", kSeg[s], h.sel[s], k.sel[s]));
  }
  // Data region, minus the bytes the SDM leaves undefined.
  if (std::memcmp(h.region, k.region, kRegionSize) != 0) {
    unsigned first = ~0u, count = 0;
    for (unsigned i = 0; i < kRegionSize; ++i) {
      if (i >= meta.region_undef_off && i < meta.region_undef_off + meta.region_undef_len) continue;
      if (h.region[i] != k.region[i]) {
        if (first == ~0u) first = i;
        ++count;
      }
    }
    if (count) {
      std::string hb, kb;
      for (unsigned i = first; i < first + 16 && i < kRegionSize; ++i) {
        hb += fmt::format("{:02x}", h.region[i]);
        kb += fmt::format("{:02x}", k.region[i]);
      }
      add(fmt::format("memory {} bytes differ from {:#x}: host={} kestrel={}", count, kDataBase + first, hb, kb));
    }
  }
  // x87/SSE state.
  const uint16_t fsw_mask = static_cast<uint16_t>(~meta.fsw_undef & (meta.x87_ulp ? ~0x0200 : 0xFFFF));
  if (u16(h.fx) != u16(k.fx)) add(fmt::format("fcw host={:#06x} kestrel={:#06x}", u16(h.fx), u16(k.fx)));
  if ((u16(h.fx + 2) & fsw_mask) != (u16(k.fx + 2) & fsw_mask))
    add(fmt::format("fsw host={:#06x} kestrel={:#06x}", u16(h.fx + 2), u16(k.fx + 2)));
  if (h.fx[4] != k.fx[4]) add(fmt::format("ftw host={:#04x} kestrel={:#04x}", h.fx[4], k.fx[4]));
  if (u32(h.fx + 24) != u32(k.fx + 24))
    add(fmt::format("mxcsr host={:#x} kestrel={:#x}", u32(h.fx + 24), u32(k.fx + 24)));
  for (unsigned st = 0; st < 8; ++st) {
    const uint8_t* a = h.fx + 32 + st * 16;
    const uint8_t* b = k.fx + 32 + st * 16;
    if (std::memcmp(a, b, 10) != 0 && !(meta.x87_ulp && within_ulp(a, b)))
      add(fmt::format("st{} host={:04x}:{:016x} kestrel={:04x}:{:016x}", st, u16(a + 8), u64(a), u16(b + 8), u64(b)));
  }
  for (unsigned i = 0; i < n; ++i) {
    const uint8_t* a = h.fx + 160 + i * 16;
    const uint8_t* b = k.fx + 160 + i * 16;
    if (std::memcmp(a, b, 16) != 0)
      add(fmt::format("xmm{} host={:016x}{:016x} kestrel={:016x}{:016x}", i, u64(a + 8), u64(a), u64(b + 8), u64(b)));
  }
  return d;
}

std::string describe_input(const CaseIn& in, bool m64) {
  std::string s;
  const unsigned n = m64 ? 16 : 8;
  for (unsigned i = 0; i < n; ++i)
    s += m64 ? fmt::format("{}={:x} ", kGpr64[i], in.gpr[i]) : fmt::format("{}={:x} ", kGpr32[i], in.gpr[i] & 0xFFFFFFFF);
  s += fmt::format("rflags={:x}", in.rflags);
  if (in.flags & kCaseFp) {
    s += fmt::format(" fcw={:04x} fsw={:04x} ftw={:02x} mxcsr={:x}", u16(in.fx), u16(in.fx + 2), in.fx[4], u32(in.fx + 24));
    for (unsigned st = 0; st < 8; ++st)
      s += fmt::format(" st{}={:04x}:{:016x}", st, u16(in.fx + 40 + st * 16), u64(in.fx + 32 + st * 16));
    for (unsigned i = 0; i < n; ++i)
      s += fmt::format(" xmm{}={:016x}{:016x}", i, u64(in.fx + 168 + i * 16), u64(in.fx + 160 + i * 16));
  }
  return s;
}

std::string describe_outcome(const CaseOut& o, bool m64, bool with_fp) {
  std::string s = outcome_head(o) + fmt::format(" rip={:x} ", o.rip);
  const unsigned n = m64 ? 16 : 8;
  for (unsigned i = 0; i < n; ++i)
    s += m64 ? fmt::format("{}={:x} ", kGpr64[i], o.gpr[i]) : fmt::format("{}={:x} ", kGpr32[i], o.gpr[i] & 0xFFFFFFFF);
  s += fmt::format("rflags={:x}", o.rflags);
  if (with_fp) {
    s += fmt::format(" fcw={:04x} fsw={:04x} ftw={:02x} mxcsr={:x}", u16(o.fx), u16(o.fx + 2), o.fx[4], u32(o.fx + 24));
    for (unsigned st = 0; st < 8; ++st)
      s += fmt::format(" st{}={:04x}:{:016x}", st, u16(o.fx + 40 + st * 16), u64(o.fx + 32 + st * 16));
    for (unsigned i = 0; i < n; ++i)
      s += fmt::format(" xmm{}={:016x}{:016x}", i, u64(o.fx + 168 + i * 16), u64(o.fx + 160 + i * 16));
  }
  return s;
}

}  // namespace difftest
