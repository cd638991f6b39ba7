// Case generation (see gen.h).
//
// For each case: pick one of the form's encodings (row or ALIAS) valid in the
// mode, random prefixes (66, 67, REX with random W/R/X/B, segment overrides, LOCK,
// REP for string forms), a register or memory r/m, and then a state: every GPR an
// edge value, RSP in the stack page, random arithmetic flags, a randomly filled
// data region and, for the FP and SIMD families, random x87/SSE state. Form-
// specific rules then pin what the form needs (shift counts, dividends, string
// pointers, selectors, branch targets...), a memory operand gets a target address
// in the region (sometimes straddling a page or the region's end) and the
// addressing mode is solved around the registers already pinned (base, index,
// scale, displacement, RIP-relative, 16-bit forms). Finally the bytes are
// assembled, the instruction placed in the code page (sometimes at its end, so
// the fetch of the instruction or of the int3 after it faults) and the fields
// that depend on the instruction's address (rel targets, RIP-relative
// displacements) patched.
#include "gen.h"

#include <algorithm>
#include <cstring>

#include "fpvalues.h"

namespace difftest {

namespace {

constexpr uint64_t kCF = 1, kPF = 4, kAF = 0x10, kZF = 0x40, kSF = 0x80, kTF = 0x100, kIF = 0x200, kDF = 0x400,
                   kOF = 0x800, kAC = 1u << 18, kID = 1u << 21;
constexpr uint64_t kArith = kCF | kPF | kAF | kZF | kSF | kOF;
enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI };
enum SegIdx { sES, sCS, sSS, sDS, sFS, sGS };
constexpr uint8_t kSegPrefix[6] = {0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65};

uint64_t mask(unsigned bits) { return bits >= 64 ? ~0ull : (1ull << bits) - 1; }

bool fits_s8(int64_t v) { return v >= -128 && v <= 127; }
bool fits_s32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

// Modular inverse of an odd number mod 2^64.
uint64_t inverse_odd(uint64_t a) {
  uint64_t x = a;
  for (int i = 0; i < 6; ++i) x *= 2 - a * x;
  return x;
}

bool has_token(const Form& f, const char* t) {
  for (const Operand& o : f.ops)
    if (o.token == t) return true;
  return false;
}

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

}  // namespace

void default_fx(uint8_t fx[512]) {
  std::memset(fx, 0, 512);
  fx[0] = 0x7F;  // FCW 0x037F
  fx[1] = 0x03;
  const uint32_t mx = 0x1F80, mask = 0xFFFF;
  std::memcpy(fx + 24, &mx, 4);
  std::memcpy(fx + 28, &mask, 4);
}

unsigned x87_tag_of(uint64_t sig, uint16_t se) {
  const unsigned e = se & 0x7FFF;
  if (e == 0x7FFF) return 2;
  if (e == 0) return sig == 0 ? 1 : 2;
  return (sig >> 63) ? 0 : 2;  // unnormals are special
}

// ---------------------------------------------------------------------------------------------
struct Generator::Impl {
  const Form& f;
  const bool m64;
  const HostInfo& host;
  Rng& r;
  GenCase& out;

  // ---- encoding ----
  Encoding enc{};
  uint8_t opcode = 0;
  unsigned opk = 0;  // opcode - enc.opcode (register / condition)
  std::vector<uint8_t> legacy;
  int mand = -1;
  bool rex = false;
  unsigned rw = 0, rr = 0, rx = 0, rb = 0;
  bool p66 = false, p67 = false, lock = false;
  int segov = -1;
  int rep = 0;  // 0xF3 / 0xF2
  unsigned osize = 4, asize = 4;
  bool has_modrm = false;
  unsigned mod = 3, reg = 0, rm = 0;  // reg and rm with the REX bits for register operands
  bool sib = false;
  unsigned sscale = 0, sindex = 4, sbase = 5;  // 4-bit register numbers (index 4 = none)
  int disp_size = 0;
  int64_t disp = 0;
  bool rip_rel = false;
  uint64_t rip_target = 0;
  std::vector<uint8_t> imm;
  int moffs_size = 0;
  uint64_t moffs = 0;
  // Relative branch: size 1, 2 or 4; the target is chosen once the instruction is placed.
  int rel_size = 0;
  // Absolute branch targets (register, memory or stack) also chosen once placed.
  enum class AbsTarget { None, Reg, Mem, Stack } abs_target = AbsTarget::None;
  unsigned abs_size = 8;

  // ---- state ----
  uint64_t val[16] = {};
  bool fixed[16] = {};
  uint64_t flags = 0x202;
  uint8_t* region = nullptr;
  uint8_t* fx = nullptr;

  // ---- memory operand ----
  bool mem = false;       // a ModRM memory operand
  bool mem_access = true; // accessed (LEA, NOP, prefetch are not)
  unsigned msize = 0;
  unsigned malign = 1;    // preferred alignment
  uint64_t T = 0;         // effective address (mod 2^asize)
  bool T_chosen = false;

  Impl(const Form& form, bool mode64, const HostInfo& h, Rng& rng, GenCase& o)
      : f(form), m64(mode64), host(h), r(rng), out(o) {}

  unsigned nregs() const { return m64 ? 16 : 8; }
  unsigned stack_size() const { return m64 ? (p66 && !rw ? 2 : 8) : (p66 ? 2 : 4); }
  uint64_t amask() const { return mask(asize * 8); }

  // ---- small helpers ----
  void put(uint64_t addr, const void* src, unsigned n) {
    const uint8_t* s = static_cast<const uint8_t*>(src);
    for (unsigned i = 0; i < n; ++i) {
      uint64_t a = addr + i;
      if (a >= kDataBase && a < kDataBase + kRegionSize) region[a - kDataBase] = s[i];
    }
  }
  void put_uint(uint64_t addr, uint64_t v, unsigned n) {
    uint8_t b[8];
    std::memcpy(b, &v, 8);
    put(addr, b, n > 8 ? 8 : n);
  }
  uint64_t get_uint(uint64_t addr, unsigned n) {
    uint64_t v = 0;
    for (unsigned i = 0; i < n && i < 8; ++i) {
      uint64_t a = addr + i;
      if (a >= kDataBase && a < kDataBase + kRegionSize) v |= static_cast<uint64_t>(region[a - kDataBase]) << (8 * i);
    }
    return v;
  }

  uint64_t reg_value() {
    static const unsigned kBits[] = {8, 16, 32, 64};
    unsigned bits = kBits[r.below(m64 ? 4 : 3)];
    uint64_t lo = edge_int(r, bits);
    if (r.chance(25)) lo = (lo & 0xFF) | (edge_int(r, 8) << 8) | (lo & ~0xFFFFull);  // AH..BH edges
    uint64_t hi;
    switch (r.below(4)) {
      case 0: hi = 0; break;
      case 1: hi = ~0ull; break;
      case 2: hi = (lo >> (bits - 1)) & 1 ? ~0ull : 0; break;
      default: hi = r.next(); break;
    }
    uint64_t v = (lo & mask(bits)) | (bits < 64 ? hi & ~mask(bits) : 0);
    return m64 ? v : v & 0xFFFFFFFF;
  }

  uint64_t stack_pointer() {
    uint64_t sp = kStackBase + static_cast<uint64_t>(r.range(0x180, 0xF00));
    if (r.chance(85)) sp &= m64 ? ~7ull : ~3ull;
    return sp;
  }

  // Sets a general register operand (4-bit number as encoded) of `size` bytes.
  void set_gpr(unsigned n, unsigned size, uint64_t v) {
    if (size == 1 && !rex && n >= 4 && n < 8) {
      val[n - 4] = (val[n - 4] & ~0xFF00ull) | ((v & 0xFF) << 8);
      fixed[n - 4] = true;
      return;
    }
    val[n] = (val[n] & ~mask(size * 8)) | (v & mask(size * 8));
    fixed[n] = true;
  }
  uint64_t get_gpr(unsigned n, unsigned size) const {
    if (size == 1 && !rex && n >= 4 && n < 8) return (val[n - 4] >> 8) & 0xFF;
    return val[n] & mask(size * 8);
  }

  // ---- encoding choice ----
  bool pick_encoding() {
    std::vector<const Encoding*> ok;
    for (const Encoding& e : f.encodings) {
      if (e.mod == 3 && !m64) continue;
      if (e.mod == 4 && m64) continue;
      ok.push_back(&e);
    }
    if (ok.empty()) return false;
    // The row itself most of the time, its aliases sometimes.
    enc = *ok[ok.size() == 1 || r.chance(70) ? 0 : 1 + r.below(ok.size() - 1)];
    opk = static_cast<unsigned>(r.below(enc.count));
    opcode = static_cast<uint8_t>(enc.opcode + opk);
    return true;
  }

  bool rm_allows_reg() const {
    if (enc.mod == 1) return false;
    bool any_rm = false, any_nonmem = false;
    for (const Operand& o : f.ops) {
      switch (o.kind) {
        case OpKind::RmGpr: case OpKind::RmGprReg: case OpKind::RmMmx: case OpKind::RmMmxReg: case OpKind::RmXmm:
        case OpKind::RmXmmReg: case OpKind::X87Sti:
          any_rm = any_nonmem = true;
          break;
        case OpKind::Mem:
          any_rm = true;
          break;
        default:
          break;
      }
    }
    return !any_rm || any_nonmem;
  }
  bool rm_requires_reg() const {
    if (enc.mod == 2 || enc.reg >= 0x40) return true;
    bool mem_ok = enc.mod != 2;
    for (const Operand& o : f.ops)
      if (o.kind == OpKind::Mem || o.kind == OpKind::RmGpr || o.kind == OpKind::RmMmx || o.kind == OpKind::RmXmm)
        return !mem_ok;
    // Only register-only r/m kinds (R, N, U, STi) or none with a reg-only encoding.
    for (const Operand& o : f.ops)
      if (o.kind == OpKind::RmGprReg || o.kind == OpKind::RmMmxReg || o.kind == OpKind::RmXmmReg ||
          o.kind == OpKind::X87Sti)
        return true;
    return false;
  }

  void pick_prefixes() {
    const bool intf = f.family == Family::Int;
    const std::string& mn = f.mnemonic;
    // Mandatory prefix.
    if (enc.pfx == 2) mand = 0x66;
    else if (enc.pfx == 3) mand = 0xF3;
    else if (enc.pfx == 4) mand = 0xF2;
    const bool pnp = enc.pfx == 1;
    if (intf) {
      if (enc.pfx == 0 && r.chance(22)) p66 = true;
    } else if (f.family == Family::X87) {
      if (r.chance(15)) p66 = true;
    }
    if (mand == 0x66) p66 = true;
    if (m64 && r.chance(intf ? 55 : 45)) {
      rex = true;
      rw = r.chance(50);
      rr = r.below(2);
      rx = r.below(2);
      rb = r.below(2);
    }
    unsigned p67_pct = f.is_string || mn == "XLAT" || mn == "LOOP" || mn == "LOOPE" || mn == "LOOPNE" || mn == "JCXZ" ||
                               (!f.ops.empty() && f.ops.back().kind == OpKind::Moffs) ||
                               (f.ops.size() > 1 && f.ops[0].kind == OpKind::Moffs)
                           ? 25
                           : 10;
    if (r.chance(p67_pct)) p67 = true;
    if (r.chance(intf ? 4 : 2)) lock = true;
    if (f.is_string && r.chance(60)) rep = (mn.rfind("CMPS", 0) == 0 || mn.rfind("SCAS", 0) == 0) && r.chance(50) ? 0xF2 : 0xF3;
    if (pnp) rep = 0;
    (void)pnp;
  }

  void compute_sizes() {
    if (m64) {
      osize = rw ? 8 : p66 ? 2 : 4;
      asize = p67 ? 4 : 8;
    } else {
      osize = p66 ? 2 : 4;
      asize = p67 ? 2 : 4;
    }
  }

  // Size in bytes of the r/m memory operand.
  unsigned rm_mem_size() const {
    if (f.mnemonic == "FXSAVE" || f.mnemonic == "FXRSTOR") return 512;
    for (const Operand& o : f.ops) {
      switch (o.kind) {
        case OpKind::RmGpr: case OpKind::Mem: case OpKind::RmMmx: case OpKind::RmXmm: {
          int s = o.size;
          if (s > 0) return static_cast<unsigned>(s);
          switch (s) {
            case 0: return osize;
            case -2: return rw ? 8 : 4;
            case -3: return osize == 2 ? 2 : 4;
            case -4: return osize + 2;
            case -5: return osize * 2;
            case -6: return m64 ? 10 : 6;
            case -7: return osize == 2 ? 14 : 28;
            case -8: return osize == 2 ? 94 : 108;
            default: return 1;
          }
        }
        default:
          break;
      }
    }
    return osize;
  }

  // ---- memory targets ----
  uint64_t pick_target(unsigned size, unsigned align) {
    const unsigned span = size ? size : 1;
    uint64_t t;
    unsigned k = static_cast<unsigned>(r.below(100));
    if (k < 82 || span > 64) {
      t = kDataBase + r.below(kRegionSize - std::min(span, kRegionSize - 1u) + 1);
      if (align > 1 && r.chance(75)) t &= ~static_cast<uint64_t>(align - 1);
    } else if (k < 89) {  // straddles the data/stack page boundary (both mapped)
      t = kStackBase - static_cast<uint64_t>(r.range(1, span > 1 ? span - 1 : 1));
    } else if (k < 95) {  // runs off the top of the region
      t = kStackBase + kPageSize - static_cast<uint64_t>(r.range(1, span));
    } else if (k < 98 || m64) {  // starts below the region
      t = kDataBase - static_cast<uint64_t>(r.range(1, span));
    } else {  // 32-bit: wraps around the top of the 4-GiB address space (unmapped there and at 0)
      t = 0x100000000ull - static_cast<uint64_t>(r.range(1, span));
    }
    return t;
  }

  // ---- addressing solver: picks base/index/scale/disp so that the EA is T ----
  bool reg_usable(unsigned n) const { return n < nregs() && (n < 8 || rex); }

  uint64_t upper_random(uint64_t v) {
    if (asize >= 8) return v;
    uint64_t hi = r.chance(50) ? 0 : r.next();
    if (!m64) hi &= 0xFFFFFFFF;
    return (v & amask()) | (hi & ~amask());
  }

  int64_t pick_disp(int ds) {
    if (ds == 1) {
      static const int64_t v[] = {0, -1, 1, 127, -128, 8, -8, 64};
      return r.chance(50) ? v[r.below(8)] : static_cast<int8_t>(r.next());
    }
    if (ds == 2) return static_cast<int16_t>(r.next());
    if (r.chance(30)) return static_cast<int32_t>(r.range(-300, 300));
    if (r.chance(30)) {
      static const int64_t v[] = {0, -1, INT32_MAX, INT32_MIN, 0x1000, -0x1000};
      return v[r.below(6)];
    }
    return static_cast<int32_t>(r.next());
  }

  bool disp_fits(int ds, int64_t d) const {
    if (ds == 0) return (static_cast<uint64_t>(d) & amask()) == 0;
    if (ds == 1) return fits_s8(d);
    if (ds == 2) return true;  // mod 2^16
    return asize == 8 ? fits_s32(d) : true;
  }

  // Solves base + (index << s) + disp == T (mod 2^asize). base/index may be -1 (absent).
  bool solve(int base, int index, unsigned s, int ds) {
    const uint64_t am = amask();
    int64_t d = ds ? pick_disp(ds) : 0;
    if (base >= 0 && base == index) {
      const uint64_t mult = 1 + (1ull << s);
      if (fixed[base]) {
        int64_t need = static_cast<int64_t>((T - val[base] * mult) & am);
        if (asize < 8) need = static_cast<int64_t>(static_cast<uint64_t>(need) << (64 - asize * 8)) >> (64 - asize * 8);
        if (!disp_fits(ds, need)) return false;
        disp = need;
        return true;
      }
      uint64_t rest = (T - static_cast<uint64_t>(d)) & am;
      uint64_t v;
      if (s == 0) {
        if (rest & 1) {
          if (ds == 0) return false;
          d += 1;
          if (!disp_fits(ds, d)) d -= 2;
          rest = (T - static_cast<uint64_t>(d)) & am;
        }
        v = (rest >> 1) | (r.chance(50) ? (1ull << (asize * 8 - 1)) : 0);
      } else {
        v = (rest * inverse_odd(mult)) & am;
      }
      val[base] = upper_random(v);
      fixed[base] = true;
      disp = d;
      return true;
    }
    uint64_t idx_part = 0;
    if (index >= 0) {
      if (!fixed[index]) {
        if (base >= 0 && fixed[base]) {
          // Index carries the rest: disp absorbs the low bits the scale cannot express.
          uint64_t rest = (T - val[base] - static_cast<uint64_t>(d)) & am;
          uint64_t low = rest & ((1ull << s) - 1);
          if (low) {
            if (ds == 0) return false;
            d += static_cast<int64_t>(low);
            if (!disp_fits(ds, d)) return false;
            rest -= low;
          }
          uint64_t v = (rest >> s) | (s ? (r.next() << (asize * 8 - s)) : 0);
          val[index] = upper_random(v & am);
          fixed[index] = true;
          disp = d;
          return true;
        }
        static const int64_t kIdx[] = {0, 1, -1, 2, -2, 16, -16, 255, 0x100, -0x80};
        uint64_t v = r.chance(60) ? static_cast<uint64_t>(kIdx[r.below(10)]) : (r.next() & 0xFFF);
        val[index] = upper_random(v & am);
        fixed[index] = true;
      }
      idx_part = (val[index] << s) & am;
    }
    if (base >= 0) {
      if (!fixed[base]) {
        val[base] = upper_random((T - idx_part - static_cast<uint64_t>(d)) & am);
        fixed[base] = true;
        disp = d;
        return true;
      }
      int64_t need = static_cast<int64_t>((T - val[base] - idx_part) & am);
      if (asize < 8) need = static_cast<int64_t>(static_cast<uint64_t>(need) << (64 - asize * 8)) >> (64 - asize * 8);
      if (!disp_fits(ds, need)) return false;
      disp = need;
      return true;
    }
    // No base: disp32 carries the address.
    int64_t need = static_cast<int64_t>((T - idx_part) & am);
    if (asize < 8) need = static_cast<int64_t>(static_cast<uint64_t>(need) << (64 - asize * 8)) >> (64 - asize * 8);
    if (!disp_fits(ds, need)) return false;
    disp = need;
    return true;
  }

  void solve_addressing() {
    uint64_t saved_val[16];
    bool saved_fixed[16];
    std::memcpy(saved_val, val, sizeof val);
    std::memcpy(saved_fixed, fixed, sizeof fixed);
    for (int attempt = 0; attempt < 64; ++attempt) {
      std::memcpy(val, saved_val, sizeof val);
      std::memcpy(fixed, saved_fixed, sizeof fixed);
      sib = false;
      rip_rel = false;
      if (asize == 2) {
        // 16-bit forms: rm 0..7 = BX+SI BX+DI BP+SI BP+DI SI DI BP/disp16 BX.
        static const int kB[8] = {RBX, RBX, RBP, RBP, RSI, RDI, RBP, RBX};
        static const int kI[8] = {RSI, RDI, RSI, RDI, -1, -1, -1, -1};
        unsigned m = static_cast<unsigned>(r.below(3));
        unsigned rmv = static_cast<unsigned>(r.below(8));
        int base = kB[rmv], index = kI[rmv];
        int ds = m == 0 ? 0 : m == 1 ? 1 : 2;
        if (m == 0 && rmv == 6) {
          base = -1;
          ds = 2;
        }
        if (!solve(base, index, 0, ds)) continue;
        mod = m;
        rm = rmv;
        disp_size = ds;
        return;
      }
      const unsigned k = static_cast<unsigned>(r.below(100));
      if (k < 8) {  // RIP-relative (64-bit) or [disp32] (32-bit)
        mod = 0;
        rm = 5;
        disp_size = 4;
        if (m64) {
          rip_rel = true;
          rip_target = T;
          return;
        }
        if (!solve(-1, -1, 0, 4)) continue;
        return;
      }
      if (k < 45) {  // no SIB: [base], [base+d8], [base+d32]
        unsigned b = static_cast<unsigned>(r.below(nregs()));
        if (!reg_usable(b) || (b & 7) == 4) continue;
        unsigned m = static_cast<unsigned>(r.below(3));
        if (m == 0 && (b & 7) == 5) m = 1;
        int ds = m == 0 ? 0 : m == 1 ? 1 : 4;
        if (!solve(static_cast<int>(b), -1, 0, ds)) continue;
        mod = m;
        rm = b;  // REX.B from bit 3
        disp_size = ds;
        return;
      }
      // SIB forms.
      unsigned m = static_cast<unsigned>(r.below(3));
      bool no_base = m == 0 && r.chance(15);
      unsigned b = no_base ? 5 : static_cast<unsigned>(r.below(nregs()));
      if (!reg_usable(b)) continue;
      if (!no_base && m == 0 && (b & 7) == 5) m = 1;
      bool no_index = r.chance(20);
      unsigned x = no_index ? 4 : static_cast<unsigned>(r.below(nregs()));
      if (!reg_usable(x) || (!no_index && x == 4)) continue;
      unsigned s = static_cast<unsigned>(r.below(4));
      int ds = no_base ? 4 : m == 0 ? 0 : m == 1 ? 1 : 4;
      if (!solve(no_base ? -1 : static_cast<int>(b), no_index ? -1 : static_cast<int>(x), s, ds)) continue;
      mod = no_base ? 0 : m;
      rm = 4;
      sib = true;
      sbase = no_base ? 5 : b;
      sindex = no_index ? 4 : x;
      sscale = s;
      disp_size = ds;
      return;
    }
    // Fallback: [disp32] through SIB (no base, no index), always encodable.
    std::memcpy(val, saved_val, sizeof val);
    std::memcpy(fixed, saved_fixed, sizeof fixed);
    if (asize == 2) {
      mod = 0;
      rm = 6;
      disp_size = 2;
      disp = static_cast<int16_t>(T & 0xFFFF);
      return;
    }
    mod = 0;
    rm = 4;
    sib = true;
    sbase = 5;
    sindex = 4;
    sscale = 0;
    disp_size = 4;
    disp = static_cast<int32_t>(T & 0xFFFFFFFF);
  }

  // ---- selectors, branch targets ----
  uint16_t pick_selector() {
    static const uint16_t kSel[] = {0x2B, 0x2B, 0x2B, 0x00, 0x03, 0x23, 0x33, 0x28, 0x29, 0x2A, 0x18,
                                    0x1B, 0x10, 0x08, 0x40, 0x43, 0x50, 0x63, 0x6B, 0x7C, 0x2F, 0x80, 0xFFF8, 0x38};
    uint16_t s = kSel[r.below(sizeof kSel / sizeof kSel[0])];
    if (r.chance(10)) s = static_cast<uint16_t>(r.below(0x78));  // anywhere below the CPU-number entry
    if ((s & ~7u) == 0x78) s = 0x2B;  // entry 15 holds the host CPU number: never compared
    return s;
  }

  // A branch target: never inside the instruction (which would run its own bytes as code).
  uint64_t pick_abs_target(uint64_t start, uint64_t end, bool allow_noncanonical) {
    for (;;) {
      unsigned k = static_cast<unsigned>(r.below(100));
      uint64_t t;
      if (k < 60) t = kCodePage + r.below(kPageSize);
      else if (k < 68) t = end;
      else if (k < 78) t = (r.chance(50) ? kCodePage - kPageSize : kCodePage + kPageSize) + r.below(kPageSize);
      else if (k < 84) t = kDataBase + r.below(kRegionSize);  // mapped, not executable
      else if (k < 90 && allow_noncanonical && m64) t = 0x8000000000000000ull | (r.next() & 0xFFFFFFF) | (r.chance(50) ? 0x0000800000000000ull : 0);
      else t = 0x1000 + r.below(kCodePage - 0x2000);  // unmapped low memory
      if (t >= start && t < end) continue;
      return t;
    }
  }

  // ---- the form-specific rules ----
  unsigned op_bits_v() const { return osize * 8; }

  void shift_count_value(unsigned bits, uint64_t& c) {
    static const unsigned kCounts[] = {0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 255};
    if (r.chance(75)) {
      c = kCounts[r.below(sizeof kCounts / sizeof kCounts[0])];
      if (r.chance(40)) c = r.chance(50) ? bits - 1 : bits;
    } else {
      c = r.below(256);
    }
  }

  unsigned masked_count(uint64_t c) const {
    return static_cast<unsigned>(c & (osize == 8 && !shift8_ ? 63 : 31));
  }
  bool shift8_ = false;
  uint64_t count_ = 0;

  void rule_shift(const std::string& mn) {
    const bool b8 = has_token(f, "Eb");
    shift8_ = b8;
    const unsigned bits = b8 ? 8 : osize * 8;
    const Operand& last = f.ops.back();
    uint64_t c = 1;
    if (last.token == "Ib") {
      shift_count_value(bits, c);
      imm.push_back(static_cast<uint8_t>(c));
    } else if (last.token == "CL") {
      shift_count_value(bits, c);
      set_gpr(RCX, 1, c);
    }
    count_ = c;
    const unsigned mc = static_cast<unsigned>(c & ((!b8 && osize == 8) ? 63 : 31));
    Meta& m = out.meta;
    if (mc == 0) return;
    if (mn == "SHLD" || mn == "SHRD") {
      if (mc > bits) {
        m.flags_undef |= kArith;
        dest_undefined_ = true;
      } else {
        m.flags_undef |= kAF;
        if (mc != 1) m.flags_undef |= kOF;
      }
      return;
    }
    if (mn == "ROL" || mn == "ROR" || mn == "RCL" || mn == "RCR") {
      if (mc != 1) m.flags_undef |= kOF;
      return;
    }
    m.flags_undef |= kAF;
    if (mc != 1) m.flags_undef |= kOF;
    if ((mn == "SHL" || mn == "SAL" || mn == "SHR") && mc >= bits) m.flags_undef |= kCF;
  }
  bool dest_undefined_ = false;

  // DIV/IDIV: a planned dividend and divisor (quotient in range, divide by zero, overflow).
  uint64_t divisor_ = 0;
  bool have_divisor_ = false;
  void rule_div(bool is_signed) {
    const unsigned s = has_token(f, "Eb") ? 1 : osize;
    const unsigned bits = s * 8;
    const uint64_t m = mask(bits);
    unsigned k = static_cast<unsigned>(r.below(100));
    unsigned __int128 dividend;
    uint64_t d;
    if (k < 12) {
      d = 0;
      dividend = (static_cast<unsigned __int128>(edge_int(r, bits)) << bits) | edge_int(r, bits);
    } else if (k < 27) {  // overflow
      d = edge_int(r, bits);
      if (d == 0) d = 1;
      if (is_signed) {
        if (r.chance(50)) {  // most negative / -1
          d = m;
          dividend = static_cast<unsigned __int128>(1) << (2 * bits - 1);
        } else {
          dividend = (static_cast<unsigned __int128>(edge_int(r, bits - 1) | (1ull << (bits - 2))) << bits) | edge_int(r, bits);
          if (r.chance(50)) dividend = (static_cast<unsigned __int128>(0) - dividend) & ((static_cast<unsigned __int128>(1) << (2 * bits)) - 1);
        }
      } else {
        uint64_t hi = d + r.below(4);
        if (hi < d) hi = d;
        dividend = (static_cast<unsigned __int128>(hi & m) << bits) | edge_int(r, bits);
        if ((hi & m) < d) dividend = (static_cast<unsigned __int128>(d) << bits);
      }
    } else {  // in range
      d = edge_int(r, bits);
      if (d == 0) d = 1 + r.below(m);
      if (is_signed) {
        __int128 sd = static_cast<int64_t>(d << (64 - bits)) >> (64 - bits);
        __int128 qmax = (static_cast<__int128>(1) << (bits - 1)) - 1;
        __int128 q = static_cast<int64_t>(edge_int(r, bits) << (64 - bits)) >> (64 - bits);
        if (q > qmax || q < -qmax - 1) q = 0;
        if (r.chance(40)) q = static_cast<int64_t>(r.range(-3, 3));
        __int128 absd = sd < 0 ? -sd : sd;
        __int128 rem = absd > 1 ? static_cast<__int128>(r.below(static_cast<uint64_t>(absd))) : 0;
        __int128 dv = q * sd;
        if (dv < 0 || (dv == 0 && r.chance(50))) rem = -rem;
        dv += rem;
        dividend = static_cast<unsigned __int128>(dv) & ((static_cast<unsigned __int128>(1) << (2 * bits)) - 1);
      } else {
        uint64_t q = edge_int(r, bits);
        if (r.chance(30)) q = r.below(4);
        uint64_t rem = d > 1 ? r.below(d) : 0;
        dividend = static_cast<unsigned __int128>(q) * d + rem;
      }
    }
    if (s == 1) {
      val[RAX] = (val[RAX] & ~0xFFFFull) | static_cast<uint64_t>(dividend & 0xFFFF);
    } else {
      val[RAX] = (val[RAX] & ~m) | static_cast<uint64_t>(dividend & m);
      val[RDX] = (val[RDX] & ~m) | static_cast<uint64_t>((dividend >> bits) & m);
    }
    if (!m64) {
      val[RAX] &= 0xFFFFFFFF;
      val[RDX] &= 0xFFFFFFFF;
    }
    fixed[RAX] = fixed[RDX] = true;
    divisor_ = d;
    have_divisor_ = true;
    if (mod == 3) set_gpr(rm, s, d);
    out.meta.flags_undef |= kArith;
  }

  void set_string_regs(unsigned esize) {
    const uint64_t am = amask();
    uint64_t count = 1;
    if (rep) {
      static const uint64_t kCnt[] = {0, 1, 2, 3, 4, 5, 7, 8, 16};
      count = r.chance(70) ? kCnt[r.below(9)] : r.below(33);
      val[RCX] = (upper_random(count) & ~am) | count;
      if (!m64) val[RCX] &= 0xFFFFFFFF;
      fixed[RCX] = true;
    }
    const bool down = flags & kDF;
    const uint64_t span = (count ? count : 1) * esize;
    auto pick = [&]() -> uint64_t {
      uint64_t a;
      if (r.chance(88)) {
        uint64_t lo = kDataBase + (down ? span : 0), hi = kDataBase + kRegionSize - (down ? esize : span);
        if (hi <= lo) hi = lo + 1;
        a = lo + r.below(hi - lo);
        if (r.chance(60)) a &= ~static_cast<uint64_t>(esize - 1);
      } else {
        a = r.chance(50) ? kDataBase + static_cast<uint64_t>(r.range(0, 24)) : kDataBase + kRegionSize - static_cast<uint64_t>(r.range(1, 24));
      }
      return a;
    };
    const std::string& mn = f.mnemonic;
    uint64_t si = pick(), di = pick();
    auto set_ptr = [&](unsigned reg, uint64_t a) {
      val[reg] = upper_random(a & am);
      if (!m64) val[reg] &= 0xFFFFFFFF;
      fixed[reg] = true;
    };
    set_ptr(RSI, si);
    set_ptr(RDI, di);
    // Compare forms: equal data sometimes, so REPE runs on.
    if ((starts_with(mn, "CMPS")) && r.chance(50)) {
      for (uint64_t i = 0; i < span && i < 256; ++i) {
        uint64_t sa = down ? si + esize - span + i : si + i, da = down ? di + esize - span + i : di + i;
        uint8_t b = static_cast<uint8_t>(get_uint(sa, 1));
        if (r.chance(97)) put(da, &b, 1);
      }
    }
    if (starts_with(mn, "SCAS") && r.chance(50)) {
      for (uint64_t i = 0; i < count + 1 && i < 40; ++i) {
        uint64_t a = down ? di - i * esize : di + i * esize;
        if (r.chance(90)) put_uint(a, val[RAX], esize);
      }
    }
  }

  uint64_t rel_target_ = 0;
  int64_t rel8_ = 0;
  bool rel8_fixed_ = false;

  bool rules_pre() {
    const std::string& mn = f.mnemonic;
    const std::string& nm = f.name;
    Meta& m = out.meta;
    // Immediates for generic forms (specific rules below may replace them).
    auto push_imm = [&](unsigned n, uint64_t v) {
      for (unsigned i = 0; i < n; ++i) imm.push_back(static_cast<uint8_t>(v >> (8 * i)));
    };
    auto generic_imm = [&](const Operand& o) {
      if (o.kind != OpKind::Imm) return;
      unsigned n = o.size == 1 ? 1 : o.size == 2 ? 2 : o.size == -3 ? (osize == 2 ? 2 : 4) : o.size == 0 ? osize : 1;
      push_imm(n, edge_int(r, n * 8));
    };

    if (mn == "ROL" || mn == "ROR" || mn == "RCL" || mn == "RCR" || mn == "SHL" || mn == "SHR" || mn == "SAL" ||
        mn == "SAR" || mn == "SHLD" || mn == "SHRD") {
      rule_shift(mn);
      return true;
    }
    if (mn == "DIV" || mn == "IDIV") {
      rule_div(mn == "IDIV");
      return true;
    }
    if (mn == "MUL" || mn == "IMUL") m.flags_undef |= kSF | kZF | kAF | kPF;
    if (mn == "AND" || mn == "OR" || mn == "XOR" || mn == "TEST") m.flags_undef |= kAF;
    if (mn == "DAA" || mn == "DAS") m.flags_undef |= kOF;
    if (mn == "AAA" || mn == "AAS") m.flags_undef |= kOF | kSF | kZF | kPF;
    if (mn == "AAM" || mn == "AAD") {
      m.flags_undef |= kOF | kAF | kCF;
      static const uint8_t kBase[] = {10, 10, 10, 0, 16, 1, 2, 0xFF, 7};
      imm.push_back(r.chance(70) ? kBase[r.below(9)] : static_cast<uint8_t>(r.next()));
      return true;
    }
    if (mn == "BT" || mn == "BTS" || mn == "BTR" || mn == "BTC") {
      m.flags_undef |= kOF | kSF | kAF | kPF;
      if (nm.find("_Ib") != std::string::npos) {
        static const uint8_t kOff[] = {0, 1, 7, 8, 15, 16, 31, 32, 63, 64, 255, 0x80};
        imm.push_back(r.chance(70) ? kOff[r.below(12)] : static_cast<uint8_t>(r.next()));
      } else if (mod != 3) {
        // The bit offset (reg operand) moves the access: pick the final address, then EA.
        const unsigned sh = osize == 2 ? 4 : osize == 4 ? 5 : 6;
        int64_t off;
        if (r.chance(60)) off = r.range(-(1 << 14), 1 << 14);
        else {
          static const int64_t kOff[] = {0, 1, -1, 15, 16, 31, 32, 63, 64, -32, -64, -65};
          off = kOff[r.below(12)];
        }
        uint64_t fin = kDataBase + r.below(kRegionSize - osize + 1);
        if (r.chance(60)) fin &= ~static_cast<uint64_t>(osize - 1);
        if (r.chance(5)) fin = kDataBase + kRegionSize - r.below(osize) ;
        set_gpr(reg, osize, static_cast<uint64_t>(off));
        int64_t so = static_cast<int64_t>(get_gpr(reg, osize) << (64 - osize * 8)) >> (64 - osize * 8);
        T = (fin - static_cast<uint64_t>((so >> sh) * static_cast<int64_t>(osize))) & amask();
        T_chosen = true;
        p67 = false;  // (already sized; the EA arithmetic below stays in asize)
      }
      return true;
    }
    if (mn == "BSF" || mn == "BSR") {
      m.flags_undef |= kCF | kOF | kSF | kAF | kPF;
      if (r.chance(25)) {
        if (mod == 3) set_gpr(rm, osize, 0);
        else zero_src_ = true;
      }
      return true;
    }
    if (mn == "BSWAP" && osize == 2) {
      m.gpr_undef[opk | (rb << 3)] |= 0xFFFF;  // BSWAP r16: undefined (SDM Vol. 2A, BSWAP)
      return true;
    }
    if (mn == "CMPXCHG") {
      const unsigned s = has_token(f, "Eb") ? 1 : osize;
      if (r.chance(50)) {
        if (mod == 3) set_gpr(RAX, s, get_gpr(rm, s));
        else equal_acc_ = s;
      }
      return true;
    }
    if (mn == "CMPXCHG8B") {
      if (r.chance(50)) equal_acc_ = rw ? 16 : 8;
      return true;
    }
    if (mn == "MASKMOVQ" || mn == "MASKMOVDQU") {  // implicit destination DS:rDI
      // A #PF may be raised for bytes the mask leaves alone (SDM Vol. 2B MASKMOVDQU):
      // which byte CR2 names is the CPU's choice.
      out.meta.cr2_page_only = true;
      uint64_t fin = pick_target(mn == "MASKMOVQ" ? 8 : 16, 1);
      val[RDI] = upper_random(fin & amask());
      if (!m64) val[RDI] &= 0xFFFFFFFF;
      fixed[RDI] = true;
      for (const Operand& o : f.ops) generic_imm(o);
      return true;
    }
    if (mn == "XLAT") {
      uint64_t fin = pick_target(1, 1);
      uint64_t al = val[RAX] & 0xFF;
      val[RBX] = upper_random((fin - al) & amask());
      if (!m64) val[RBX] &= 0xFFFFFFFF;
      fixed[RBX] = true;
      return true;
    }
    if (f.is_string) {
      const unsigned es = mn.back() == 'B' ? 1 : osize;
      // A REP CMPS/SCAS that faults after some iterations: the host keeps the flags
      // from before the instruction, the SDM says nothing of them (the registers
      // are what allows the restart).
      if (rep && (starts_with(mn, "CMPS") || starts_with(mn, "SCAS"))) out.meta.flags_undef_on_fault = kArith;
      set_string_regs(es);
      return true;
    }
    if (!f.ops.empty() && (f.ops[0].kind == OpKind::Moffs || f.ops.back().kind == OpKind::Moffs)) {
      const unsigned s = (f.ops[0].token == "AL" || f.ops[0].token == "Ob") ? 1 : osize;
      uint64_t t = pick_target(s, s);
      moffs_size = static_cast<int>(asize);
      moffs = t & amask();
      return true;
    }
    if (mn == "ENTER") {
      static const uint8_t kLevel[] = {0, 0, 1, 2, 3, 4, 31, 32, 33, 255};
      uint16_t frame = r.chance(50) ? static_cast<uint16_t>(r.below(64) * 8) : static_cast<uint16_t>(edge_int(r, 16));
      push_imm(2, frame);
      imm.push_back(r.chance(70) ? kLevel[r.below(10)] : static_cast<uint8_t>(r.below(32)));
      val[RBP] = kStackBase + static_cast<uint64_t>(r.range(0x100, 0xFF0));
      if (r.chance(80)) val[RBP] &= ~7ull;
      fixed[RBP] = true;
      return true;
    }
    if (mn == "LEAVE") {
      val[RBP] = kStackBase + static_cast<uint64_t>(r.range(0x100, 0xFF0));
      if (r.chance(85)) val[RBP] &= ~7ull;
      if (r.chance(10)) val[RBP] = kStackBase + kPageSize - static_cast<uint64_t>(r.range(1, 8));
      fixed[RBP] = true;
      return true;
    }
    if (nm == "POP_ES" || nm == "POP_SS" || nm == "POP_DS" || nm == "POP_FS" || nm == "POP_GS") {
      put_uint(val[RSP], pick_selector(), 2);
      return true;
    }
    if (mn == "POPF") {
      uint64_t v = edge_int(r, 32) & ~(kTF | kAC);
      put_uint(val[RSP], v, 8);
      return true;
    }
    if (mn == "POPA") return true;
    if ((nm == "PUSH_ES" || nm == "PUSH_CS" || nm == "PUSH_SS" || nm == "PUSH_DS" || nm == "PUSH_FS" ||
         nm == "PUSH_GS") && stack_size() > 2) {
      // SDM Vol. 2B PUSH: with a segment register and a 32/64-bit operand size the
      // processor either pushes the zero-extended selector or writes 16 bits and
      // leaves the rest of the slot: the upper bytes are not defined.
      uint64_t slot = val[RSP] - stack_size();
      if (slot + 2 >= kDataBase && slot + stack_size() <= kDataBase + kRegionSize) {
        out.meta.region_undef_off = static_cast<uint32_t>(slot + 2 - kDataBase);
        out.meta.region_undef_len = stack_size() - 2;
      }
      return true;
    }
    if (nm == "Jcc_Jb" || nm == "JMP_Jb" || mn == "LOOP" || mn == "LOOPE" || mn == "LOOPNE" || mn == "JCXZ") {
      rel_size = 1;
      if (mn == "LOOP" || mn == "LOOPE" || mn == "LOOPNE" || mn == "JCXZ") {
        static const uint64_t kC[] = {0, 1, 2, 0x10000, 0x10001, 0x100000000ull, 0x100000001ull};
        uint64_t c = r.chance(60) ? kC[r.below(7)] : val[RCX];
        val[RCX] = m64 ? c : c & 0xFFFFFFFF;
        fixed[RCX] = true;
      }
      return true;
    }
    if (nm == "Jcc_Jz" || nm == "JMP_Jz" || nm == "CALL_Jz") {
      rel_size = m64 ? 4 : (osize == 2 ? 2 : 4);
      return true;
    }
    if (nm == "JMP_Ev" || nm == "CALL_Ev") {
      abs_target = mod == 3 ? AbsTarget::Reg : AbsTarget::Mem;
      abs_size = m64 ? 8 : osize;
      return true;
    }
    if (nm == "RET" || nm == "RET_Iw") {
      abs_target = AbsTarget::Stack;
      abs_size = m64 ? 8 : stack_size();  // Intel ignores 66 on near branches in 64-bit mode
      if (nm == "RET_Iw") push_imm(2, r.chance(50) ? r.below(5) * 8 : edge_int(r, 16));
      return true;
    }
    if (nm == "INT_Ib") {
      static const uint8_t kV[] = {3, 4, 0, 1, 2, 5, 6, 8, 13, 14, 0x21, 0x2E, 0x81, 0xFF};
      uint8_t v = r.chance(60) ? kV[r.below(14)] : static_cast<uint8_t>(r.next());
      if (v == 0x80) v = 0x81;  // INT 0x80 is a host system call
      imm.push_back(v);
      return true;
    }
    if (nm == "MOV_Sw_Ew" || nm == "MOV_Ev_Sw") {
      // ModRM.reg names the segment register: 0-5, and 6/7 (#UD).
      static const unsigned kLoad64[] = {0, 1, 2, 3, 5, 6, 7}, kLoad32[] = {0, 1, 2, 3, 4, 6, 7};
      if (nm == "MOV_Sw_Ew") reg = m64 ? kLoad64[r.below(7)] : kLoad32[r.below(7)];
      else reg = static_cast<unsigned>(r.below(8));
      if (nm == "MOV_Sw_Ew") {
        uint16_t s = pick_selector();
        if (mod == 3) set_gpr(rm, 2, s);
        else sel_at_T_ = s, sel_off_ = 0;
      }
      return true;
    }
    if (mn == "LES" || mn == "LDS" || mn == "LSS" || mn == "LFS" || mn == "LGS") {
      sel_at_T_ = pick_selector();
      sel_off_ = osize;
      return true;
    }
    if (mn == "LAR" || mn == "LSL" || mn == "VERR" || mn == "VERW") {
      uint16_t s = pick_selector();
      if (mod == 3) set_gpr(rm, 2, s);
      else sel_at_T_ = s, sel_off_ = 0;
      return true;
    }
    if (mn == "BOUND") {
      bound_ = true;
      const unsigned bits = osize * 8;
      bound_idx_ = edge_int(r, bits);
      set_gpr(reg, osize, bound_idx_);
      // Both bounds in mapped memory: which of the two reads comes first is the CPU's affair.
      T = kDataBase + r.below(kRegionSize - 2 * osize + 1);
      T_chosen = true;
      return true;
    }
    if (nm == "MOV_Rd_Cd" || nm == "MOV_Cd_Rd" || nm == "MOV_Rd_Dd" || nm == "MOV_Dd_Rd") return true;
    if (mn == "LEA" || mn == "NOP" || mn == "UD0" || mn == "UD1") {
      mem_access = false;
      for (const Operand& o : f.ops) generic_imm(o);
      return true;
    }
    for (const Operand& o : f.ops) generic_imm(o);
    return true;
  }
  bool zero_src_ = false;
  unsigned equal_acc_ = 0;
  int sel_at_T_ = -1;
  unsigned sel_off_ = 0;
  bool bound_ = false;
  uint64_t bound_idx_ = 0;

  // After the memory operand is placed: contents that depend on T.
  void rules_post() {
    if (!mem) return;
    if (have_divisor_) put_uint(T, divisor_, has_token(f, "Eb") ? 1 : osize);
    if (zero_src_) put_uint(T, 0, osize);
    if (equal_acc_ == 16) {
      put_uint(T, val[RAX], 8);
      put_uint(T + 8, val[RDX], 8);
    } else if (equal_acc_ == 8 && f.mnemonic == "CMPXCHG8B") {
      put_uint(T, val[RAX], 4);
      put_uint(T + 4, val[RDX], 4);
    } else if (equal_acc_) {
      put_uint(T, get_gpr(RAX, equal_acc_), equal_acc_);
    }
    if (sel_at_T_ >= 0) put_uint(T + sel_off_, static_cast<uint64_t>(sel_at_T_), 2);
    if (bound_) {
      const unsigned s = osize;
      const unsigned bits = s * 8;
      int64_t lo = static_cast<int64_t>(edge_int(r, bits) << (64 - bits)) >> (64 - bits);
      int64_t hi = static_cast<int64_t>(edge_int(r, bits) << (64 - bits)) >> (64 - bits);
      if (r.chance(60) && lo > hi) std::swap(lo, hi);
      put_uint(T, static_cast<uint64_t>(lo), s);
      put_uint(T + s, static_cast<uint64_t>(hi), s);
      // Bounds around the index register's value (set before the addressing was solved,
      // since it may be the base or index register too).
      const int64_t idx = static_cast<int64_t>(get_gpr(reg, s) << (64 - bits)) >> (64 - bits);
      unsigned k = static_cast<unsigned>(r.below(6));
      if (k == 0) lo = idx;
      else if (k == 1) hi = idx;
      else if (k == 2) lo = idx + 1;
      else if (k == 3) hi = idx - 1;
      else if (k == 4) { lo = idx - static_cast<int64_t>(r.below(100)); hi = idx + static_cast<int64_t>(r.below(100)); }
      put_uint(T, static_cast<uint64_t>(lo), s);
      put_uint(T + s, static_cast<uint64_t>(hi), s);
    }
  }

  // ---- floating-point state ----
  void random_fx() {
    default_fx(fx);
    // x87: TOP, tags, registers, control and status words.
    const unsigned top = r.chance(30) ? 0 : static_cast<unsigned>(r.below(8));
    uint8_t ftw = 0;
    uint64_t sig[8];
    uint16_t se[8];
    const bool mmx = f.family == Family::Simd && has_mmx_operand();
    for (unsigned i = 0; i < 8; ++i) {
      bool empty = r.chance(mmx ? 10 : 22);
      if (mmx) {
        sig[i] = edge_int(r, 64);
        se[i] = r.chance(80) ? 0xFFFF : static_cast<uint16_t>(r.next());
      } else {
        edge_f80(r, sig[i], se[i]);
      }
      if (!empty) ftw |= static_cast<uint8_t>(1u << i);
    }
    // Tie partners between ST0 and a neighbour, now and then.
    if (!mmx && r.chance(25)) {
      unsigned a = top, b = (top + 1 + r.below(7)) & 7;
      tie_partner_f80(r, sig[a], se[a], sig[b], se[b]);
    }
    for (unsigned st = 0; st < 8; ++st) {
      unsigned phys = (top + st) & 7;
      std::memcpy(fx + 32 + st * 16, &sig[phys], 8);
      std::memcpy(fx + 32 + st * 16 + 8, &se[phys], 2);
    }
    fx[4] = ftw;
    uint16_t fcw = 0x0040 | 0x3F;
    if (r.chance(18)) fcw = static_cast<uint16_t>((fcw & ~0x3F) | r.below(64));
    static const uint16_t kPc[] = {3, 3, 2, 0, 0, 1};  // 64, 53, 24 bits; 01 is reserved
    fcw |= static_cast<uint16_t>(kPc[r.below(6)] << 8);
    fcw |= static_cast<uint16_t>(r.below(4) << 10);
    if (r.chance(10)) fcw |= 0x1000;  // infinity control (ignored since the 287)
    uint16_t fsw = static_cast<uint16_t>(r.below(16) << 8) & 0x4700;  // C0-C3
    fsw = static_cast<uint16_t>((r.chance(50) ? 0x0100 : 0) | (r.chance(50) ? 0x0200 : 0) |
                                (r.chance(50) ? 0x0400 : 0) | (r.chance(50) ? 0x4000 : 0));
    if (r.chance(30)) fsw |= static_cast<uint16_t>(r.below(64));  // sticky exception flags
    if (r.chance(10)) fsw |= 0x40;                                 // SF
    // ES/B summarize the unmasked pending exceptions (a pending one raises #MF).
    if (fsw & ~fcw & 0x3F) {
      if (r.chance(70)) fsw &= static_cast<uint16_t>(~(~fcw & 0x3F));
      else fsw |= 0x8080;
    }
    fsw = static_cast<uint16_t>((fsw & ~0x3800) | (top << 11));
    std::memcpy(fx + 0, &fcw, 2);
    std::memcpy(fx + 2, &fsw, 2);
    // MXCSR: rounding, FTZ, DAZ, masks, sticky flags.
    uint32_t mx = 0x1F80;
    if (r.chance(20)) mx = (mx & ~0x1F80u) | static_cast<uint32_t>(r.below(64) << 7);
    if (r.chance(30)) mx |= static_cast<uint32_t>(r.below(64));
    mx |= static_cast<uint32_t>(r.below(4) << 13);
    if (r.chance(35)) mx |= 0x8000;  // FTZ
    if (r.chance(35)) mx |= 0x40;    // DAZ
    std::memcpy(fx + 24, &mx, 4);
    // XMM registers by the form's lane type.
    const unsigned nx = m64 ? 16 : 8;
    for (unsigned i = 0; i < nx; ++i) fill_vec(fx + 160 + i * 16, 16);
    if (r.chance(25)) {  // tie partners between xmm[reg] and xmm[rm] lanes
      unsigned a = reg & (nx - 1), b = rm & (nx - 1);
      tie_vec(fx + 160 + a * 16, fx + 160 + b * 16, 16);
    }
  }
  bool has_mmx_operand() const {
    for (const Operand& o : f.ops)
      if (o.kind == OpKind::RegMmx || o.kind == OpKind::RmMmx || o.kind == OpKind::RmMmxReg) return true;
    return false;
  }
  // Lane type from the mnemonic: 1 f32, 2 f64, 0 integer, 3 mixed.
  int lane_type() const {
    const std::string& mn = f.mnemonic;
    if (f.family == Family::Simd) return 0;
    if (mn.find("CVT") != std::string::npos) return 3;
    auto ends = [&](const char* s) { size_t n = std::strlen(s); return mn.size() >= n && mn.compare(mn.size() - n, n, s) == 0; };
    if (ends("PS") || ends("SS")) return 1;
    if (ends("PD") || ends("SD")) return 2;
    if (mn.find("PS") != std::string::npos || mn.find("SS") != std::string::npos) return 1;
    if (mn.find("PD") != std::string::npos || mn.find("SD") != std::string::npos) return 2;
    return 3;
  }
  void fill_vec(uint8_t* p, unsigned n) {
    int t = lane_type();
    for (unsigned off = 0; off < n;) {
      int tt = t == 3 ? static_cast<int>(r.below(3)) : t;
      if (tt == 1 && off + 4 <= n) {
        uint32_t v = edge_f32(r);
        std::memcpy(p + off, &v, 4);
        off += 4;
      } else if (tt == 2 && off + 8 <= n) {
        uint64_t v = edge_f64(r);
        std::memcpy(p + off, &v, 8);
        off += 8;
      } else {
        static const unsigned kW[] = {1, 2, 4, 8};
        unsigned w = kW[r.below(4)];
        while (off + w > n) w /= 2;
        uint64_t v = edge_int(r, w * 8);
        std::memcpy(p + off, &v, w);
        off += w;
      }
    }
  }
  void tie_vec(const uint8_t* a, uint8_t* b, unsigned n) {
    int t = lane_type();
    if (t == 1) {
      for (unsigned off = 0; off + 4 <= n; off += 4) {
        uint32_t x;
        std::memcpy(&x, a + off, 4);
        uint32_t y = tie_partner_f32(r, x);
        std::memcpy(b + off, &y, 4);
      }
    } else if (t == 2) {
      for (unsigned off = 0; off + 8 <= n; off += 8) {
        uint64_t x;
        std::memcpy(&x, a + off, 8);
        uint64_t y = tie_partner_f64(r, x);
        std::memcpy(b + off, &y, 8);
      }
    }
  }

  // FP memory operand contents by token.
  void fp_mem_value() {
    const Operand* o = nullptr;
    for (const Operand& x : f.ops)
      if (x.kind == OpKind::Mem || x.kind == OpKind::RmXmm || x.kind == OpKind::RmMmx || x.kind == OpKind::RmGpr) o = &x;
    if (!o) return;
    const std::string& t = o->token;
    uint8_t buf[512];
    const unsigned n = msize > 512 ? 512 : msize;
    if (t == "m32fp") { uint32_t v = edge_f32(r); std::memcpy(buf, &v, 4); }
    else if (t == "m64fp") { uint64_t v = edge_f64(r); std::memcpy(buf, &v, 8); }
    else if (t == "m80fp") {
      uint64_t s; uint16_t e;
      edge_f80(r, s, e);
      if (r.chance(25)) {  // a tie partner of ST0
        uint64_t s0; uint16_t e0;
        unsigned top = (fx[3] >> 3) & 7; (void)top;
        std::memcpy(&s0, fx + 32, 8);
        std::memcpy(&e0, fx + 40, 2);
        tie_partner_f80(r, s0, e0, s, e);
      }
      std::memcpy(buf, &s, 8);
      std::memcpy(buf + 8, &e, 2);
    } else if (t == "m16int") { uint64_t v = edge_int(r, 16); std::memcpy(buf, &v, 2); }
    else if (t == "m32int") { uint64_t v = edge_int(r, 32); std::memcpy(buf, &v, 4); }
    else if (t == "m64int") { uint64_t v = edge_int(r, 64); std::memcpy(buf, &v, 8); }
    else if (t == "m80bcd" || t == "m80dec") edge_bcd(r, buf);
    else if (t == "m2byte") {
      uint16_t cw = static_cast<uint16_t>(0x0040 | r.below(64) | (r.below(4) << 8) | (r.below(4) << 10));
      if (r.chance(70)) cw |= 0x3F;
      if (r.chance(10)) cw = static_cast<uint16_t>(r.next());
      std::memcpy(buf, &cw, 2);
    } else if (t == "m14_28byte" || t == "m94_108byte") {
      env_image(buf, n);
    } else if (t == "m512byte" || (f.mnemonic == "FXRSTOR" && r.chance(70))) {
      std::memcpy(buf, fx, 512);
      // Shuffle some content: another random state.
      uint8_t save[512];
      std::memcpy(save, fx, 512);
      random_fx();
      std::memcpy(buf, fx, 512);
      std::memcpy(fx, save, 512);
      if (r.chance(5)) buf[26] = static_cast<uint8_t>(r.next());  // MXCSR reserved bits: #GP
      for (unsigned i = 416; i < 512; ++i) buf[i] = static_cast<uint8_t>(r.next());
    } else {
      fill_vec(buf, n);
    }
    put(T, buf, n);
  }
  void env_image(uint8_t* buf, unsigned n) {
    for (unsigned i = 0; i < n; ++i) buf[i] = static_cast<uint8_t>(r.next());
    const bool w16 = osize == 2;
    const unsigned step = w16 ? 2 : 4;
    uint16_t cw = static_cast<uint16_t>(0x0040 | 0x3F | (r.below(4) << 8) | (r.below(4) << 10));
    if (r.chance(15)) cw = static_cast<uint16_t>((cw & ~0x3F) | r.below(64));
    uint16_t sw = static_cast<uint16_t>(r.next() & 0x47FF & ~0x80);
    if (sw & ~cw & 0x3F) sw = static_cast<uint16_t>(r.chance(60) ? (sw & ~0x3F) : (sw | 0x8080));
    sw = static_cast<uint16_t>((sw & ~0x3800) | (r.below(8) << 11));
    uint16_t tw = static_cast<uint16_t>(r.next());
    if (r.chance(30)) tw = 0xFFFF;
    std::memcpy(buf, &cw, 2);
    std::memcpy(buf + step, &sw, 2);
    std::memcpy(buf + 2 * step, &tw, 2);
    if (!w16) {  // reserved upper halves: commonly ones
      uint16_t ones = 0xFFFF;
      if (r.chance(80)) {
        std::memcpy(buf + 2, &ones, 2);
        std::memcpy(buf + 6, &ones, 2);
        std::memcpy(buf + 10, &ones, 2);
      }
    }
    // FRSTOR: the eight registers follow the environment (ST order).
    const unsigned env = w16 ? 14 : 28;
    for (unsigned i = 0; env + i * 10 + 10 <= n; ++i) {
      uint64_t s; uint16_t e;
      edge_f80(r, s, e);
      std::memcpy(buf + env + i * 10, &s, 8);
      std::memcpy(buf + env + i * 10 + 8, &e, 2);
    }
  }

  // x87 condition codes the SDM leaves undefined after each instruction.
  void x87_undefined() {
    const std::string& mn = f.mnemonic;
    // SDM Vol. 1 §8.3.10: the transcendental instructions are accurate to within 1 ulp;
    // which of the two neighbours (and so C1, the round-up bit) is the CPU's choice.
    static const char* kTranscendental[] = {"F2XM1", "FYL2X", "FYL2XP1", "FPTAN", "FPATAN", "FSIN", "FCOS", "FSINCOS"};
    for (const char* s : kTranscendental)
      if (mn == s) out.meta.x87_ulp = true;
    static const char* kDefinedAll[] = {"FCOM", "FCOMP", "FCOMPP", "FUCOM", "FUCOMP", "FUCOMPP", "FICOM", "FICOMP",
                                        "FTST", "FXAM", "FPREM", "FPREM1", "FLDENV", "FRSTOR", "FNSAVE", "FNINIT",
                                        "FCOMI", "FCOMIP", "FUCOMI", "FUCOMIP", "FXRSTOR", "FXSAVE", "FNSTSW",
                                        "FNSTCW", "FNSTENV", "FWAIT", "WAIT"};
    for (const char* s : kDefinedAll)
      if (mn == s) {
        // FNSTSW/FNSTCW/FNSTENV: the manual says C0-C3 are undefined after them.
        if (mn == "FNSTSW" || mn == "FNSTCW" || mn == "FNSTENV") out.meta.fsw_undef = 0x4700;
        return;
      }
    if (mn == "FNOP" || mn == "FFREE" || mn == "FFREEP" || mn == "FLDCW" || mn == "FNCLEX" || mn == "FNENI" ||
        mn == "FNDISI" || mn == "FNSETPM") {
      out.meta.fsw_undef = 0x4700;
      return;
    }
    if (mn == "FPTAN" || mn == "FSIN" || mn == "FCOS" || mn == "FSINCOS") {
      out.meta.fsw_undef = 0x4100;  // C2 reports the range check
      return;
    }
    out.meta.fsw_undef = 0x4500;  // C0, C2, C3; C1 defined
  }

  // ---- assembly ----
  std::vector<uint8_t> assemble(size_t& rel_pos, size_t& disp_pos) {
    std::vector<uint8_t> b;
    // Legacy prefixes in random order, the mandatory prefix last.
    std::vector<uint8_t> pf;
    if (p66 && mand != 0x66) pf.push_back(0x66);
    if (p67) pf.push_back(0x67);
    if (lock) pf.push_back(0xF0);
    if (rep) pf.push_back(static_cast<uint8_t>(rep));
    if (segov >= 0) pf.push_back(kSegPrefix[segov]);
    for (size_t i = pf.size(); i > 1; --i) std::swap(pf[i - 1], pf[r.below(i)]);
    b.insert(b.end(), pf.begin(), pf.end());
    if (mand >= 0) b.push_back(static_cast<uint8_t>(mand));
    if (rex) b.push_back(static_cast<uint8_t>(0x40 | (rw << 3) | (rr << 2) | (rx << 1) | rb));
    if (enc.map == 1) b.push_back(0x0F);
    if (enc.map == 2) { b.push_back(0x0F); b.push_back(0x38); }
    if (enc.map == 3) { b.push_back(0x0F); b.push_back(0x3A); }
    b.push_back(opcode);
    disp_pos = ~size_t{0};
    if (has_modrm) {
      b.push_back(static_cast<uint8_t>((mod << 6) | ((reg & 7) << 3) | (rm & 7)));
      if (sib) b.push_back(static_cast<uint8_t>((sscale << 6) | ((sindex & 7) << 3) | (sbase & 7)));
      if (mod != 3) {
        disp_pos = b.size();
        for (int i = 0; i < disp_size; ++i) b.push_back(static_cast<uint8_t>(static_cast<uint64_t>(disp) >> (8 * i)));
      }
    }
    for (int i = 0; i < moffs_size; ++i) b.push_back(static_cast<uint8_t>(moffs >> (8 * i)));
    b.insert(b.end(), imm.begin(), imm.end());
    rel_pos = b.size();
    for (int i = 0; i < rel_size; ++i) b.push_back(0);
    return b;
  }

  bool run() {
    if (!pick_encoding()) return false;
    pick_prefixes();
    const std::string& mn = f.mnemonic;
    const std::string& nm = f.name;
    // Forms whose memory operand is fixed-size but accept 67; shifts of bit offsets skip 67 below.
    compute_sizes();

    // ModRM fields.
    has_modrm = f.has_modrm;
    if (has_modrm) {
      if (enc.reg >= 0x40) {
        mod = 3;
        reg = enc.reg & 7;
        rm = (enc.reg >> 3) & 7;
      } else {
        bool regform = rm_requires_reg() || (rm_allows_reg() && r.chance(f.family == Family::Int ? 45 : 50));
        if (f.rm_is_mem_only && !rm_requires_reg()) regform = false;
        if (nm == "MOV_Rd_Cd" || nm == "MOV_Cd_Rd" || nm == "MOV_Rd_Dd" || nm == "MOV_Dd_Rd") regform = true;
        mod = regform ? 3 : 0;
        reg = enc.reg >= 0 ? static_cast<unsigned>(enc.reg) : static_cast<unsigned>(r.below(8)) | (rr << 3);
        if (nm == "MOV_Rd_Dd" || nm == "MOV_Dd_Rd") reg &= 7;
        rm = static_cast<unsigned>(r.below(8)) | (rb << 3);
      }
    }
    mem = has_modrm && mod != 3;
    // (ARPL writes only when it adjusts the RPL; whether a CS override faults when it
    // does not write, the SDM leaves open: no CS override for it.)
    if (mem && r.chance(f.family == Family::Int ? 10 : 5) && mn != "ARPL") {
      static const int kSeg64[] = {sES, sCS, sSS, sDS};
      static const int kSeg32[] = {sES, sCS, sSS, sDS, sFS};
      segov = m64 ? kSeg64[r.below(4)] : kSeg32[r.below(host.sel[sFS] == 0 ? 5 : 4)];
    }
    if (f.is_string && r.chance(10)) segov = m64 ? static_cast<int>(r.below(4)) : static_cast<int>(r.below(4));
    // BT*_Ev_Gv with memory: keep the bit-offset arithmetic in the default address size.
    if (mem && (mn == "BT" || mn == "BTS" || mn == "BTR" || mn == "BTC") && nm.find("_Gv") != std::string::npos) {
      p67 = false;
      compute_sizes();
    }

    // State.
    for (unsigned i = 0; i < 16; ++i) val[i] = i < nregs() ? reg_value() : 0;
    val[RSP] = stack_pointer();
    fixed[RSP] = true;
    flags = 0x202;
    for (uint64_t bit : {kCF, kPF, kAF, kZF, kSF, kOF})
      if (r.chance(50)) flags |= bit;
    if (r.chance(f.is_string ? 50 : 15)) flags |= kDF;
    if (r.chance(10)) flags |= kID;
    // The region: random words with runs of zeros and ones and some edge values
    // (one generator draw per word; the memory operand itself is set below).
    for (unsigned i = 0; i < kRegionSize; i += 8) {
      uint64_t v = r.next();
      switch (v & 15) {
        case 0: v = 0; break;
        case 1: v = ~0ull; break;
        case 2: v = 0x8000000000000000ull >> ((v >> 8) & 63); break;
        case 3: v = (v >> 4) & 0xFF; break;
        case 4: v = ~((v >> 4) & 0xFF); break;
        default: break;
      }
      std::memcpy(region + i, &v, 8);
    }
    if (f.family == Family::Int) default_fx(fx);
    else random_fx();
    if (f.family == Family::X87) x87_undefined();
    // Environment and state images are read and written in pieces, in an order the SDM
    // does not give: on a #PF inside one, only the page of CR2 is compared.
    for (const Operand& o : f.ops)
      if (o.kind == OpKind::Mem && (o.size == -7 || o.size == -8 || o.size == 512)) out.meta.cr2_page_only = true;

    if (!rules_pre()) return false;

    // Memory operand.
    if (mem) {
      msize = rm_mem_size();
      malign = 1;
      while (malign < msize && malign < 16) malign <<= 1;
      if (!mem_access) {
        T = r.chance(50) ? pick_target(msize, 1) : r.next() & amask();
      } else if (!T_chosen) {
        T = pick_target(msize, malign) & amask();
      }
      solve_addressing();
      // REX.B / REX.X follow the registers the solver chose.
      if (m64 && asize != 2) {
        if (sib) {
          rx = (sindex >> 3) & 1;
          if (!(mod == 0 && (sbase & 7) == 5)) rb = (sbase >> 3) & 1;
        } else if (!(mod == 0 && (rm & 7) == 5)) {
          rb = (rm >> 3) & 1;
        }
        if (rx || rb) rex = true;
      }
      if (mem_access && f.family != Family::Int) fp_mem_value();
      else if (mem_access && msize <= 8 && !T_chosen) put_uint(T, edge_int(r, msize * 8), msize);
      rules_post();
    }
    if (dest_undefined_) {
      if (mod == 3) out.meta.gpr_undef[rm] |= mask(osize * 8);
      else {
        uint64_t t = T;
        if (t >= kDataBase && t < kDataBase + kRegionSize) {
          out.meta.region_undef_off = static_cast<uint32_t>(t - kDataBase);
          out.meta.region_undef_len = osize;
        }
      }
    }

    // Assemble and place.
    size_t rel_pos = 0, disp_pos = 0;
    std::vector<uint8_t> bytes = assemble(rel_pos, disp_pos);
    if (bytes.size() > 15) {
      // Too long: drop prefixes and retry once without the optional ones.
      return false;
    }
    const unsigned len = static_cast<unsigned>(bytes.size());
    unsigned off;
    unsigned k = static_cast<unsigned>(r.below(100));
    if (k < 3) off = kPageSize - len;                                   // int3 fetch faults
    else if (k < 5 && len > 1) off = kPageSize - len + static_cast<unsigned>(r.range(1, len - 1));  // instruction straddles
    else off = 0x40 + static_cast<unsigned>(r.below(kPageSize - 0x80 - 16));
    const uint64_t start = kCodePage + off, end = start + len;
    const uint64_t am = amask();
    // Late fields.
    if (rip_rel) {
      int64_t d = static_cast<int64_t>(rip_target - end);
      if (asize == 4) d = static_cast<int32_t>(static_cast<uint32_t>(rip_target - end));
      for (int i = 0; i < 4; ++i) bytes[disp_pos + i] = static_cast<uint8_t>(static_cast<uint64_t>(d) >> (8 * i));
    }
    if (rel_size == 1) {
      int64_t rel;
      do {
        static const int64_t kRel[] = {0, 1, -2, 127, -128, 2, -1};
        rel = r.chance(30) ? kRel[r.below(7)] : static_cast<int8_t>(r.next());
      } while (rel < 0 && static_cast<uint64_t>(-rel) <= len);
      bytes[rel_pos] = static_cast<uint8_t>(rel);
    } else if (rel_size) {
      uint64_t t = pick_abs_target(start, end, false);
      uint64_t rel = t - end;
      if (rel_size == 2) rel = static_cast<uint64_t>(r.next());  // 16-bit IP: lands below 64 KiB (unmapped)
      for (int i = 0; i < rel_size; ++i) bytes[rel_pos + i] = static_cast<uint8_t>(rel >> (8 * i));
    }
    if (abs_target != AbsTarget::None) {
      // CALL to a non-canonical target: the host writes the return address before it
      // raises #GP (the SDM's CALL checks the target first and pushes nothing), and with
      // RSP itself the target it raises #SS first. Neither is Kestrel's to match: the
      // slot below RSP is not compared then, and RSP never holds a non-canonical target.
      const bool is_call = f.mnemonic == "CALL";
      uint64_t t = pick_abs_target(start, end, !(abs_target == AbsTarget::Reg && rm == RSP));
      if (is_call && m64 && static_cast<uint64_t>((static_cast<int64_t>(t) >> 47) + 1) > 1) {
        uint64_t slot = val[RSP] - 8;
        if (slot >= kDataBase && slot + 8 <= kDataBase + kRegionSize) {
          out.meta.region_undef_off = static_cast<uint32_t>(slot - kDataBase);
          out.meta.region_undef_len = 8;
        }
      }
      if (abs_size == 2) t = r.chance(50) ? (t & 0xFFFF) : static_cast<uint64_t>(r.next() & 0xFFFF);
      if (abs_size == 4) t &= 0xFFFFFFFF;
      if (abs_target == AbsTarget::Reg) {
        uint64_t v = (val[rm] & ~mask(abs_size * 8)) | (t & mask(abs_size * 8));
        val[rm] = m64 ? v : v & 0xFFFFFFFF;
      } else if (abs_target == AbsTarget::Mem) {
        put_uint(T, t, abs_size);
      } else {
        put_uint(val[RSP], t, abs_size);
      }
    }
    (void)am;

    CaseIn& in = out.in;
    std::memcpy(in.fx, fx, 512);
    for (unsigned i = 0; i < 16; ++i) in.gpr[i] = m64 ? val[i] : (i < 8 ? val[i] & 0xFFFFFFFF : 0);
    in.rflags = flags;
    in.code_off = off;
    in.len = len;
    in.flags = f.family == Family::Int ? 0u : static_cast<uint32_t>(kCaseFp);
    std::memset(in.code, 0, sizeof in.code);
    std::memcpy(in.code, bytes.data(), len);
    return true;
  }
};

Generator::Generator(const Form& f, bool mode64, const HostInfo& host, uint64_t seed)
    : form_(f), mode64_(mode64), host_(host), rng_(seed) {}

bool Generator::generate(GenCase& out) {
  out.meta = Meta{};
  for (int attempt = 0; attempt < 8; ++attempt) {
    Impl g(form_, mode64_, host_, rng_, out);
    g.region = out.in.region;
    g.fx = out.in.fx;
    out.meta = Meta{};
    if (g.run()) return true;
    if (!g.pick_encoding()) return false;
  }
  return false;
}

}  // namespace difftest
