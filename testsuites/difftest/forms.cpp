// The instruction table as a list of forms (see forms.h). The operand tokens come
// from the form names, which follow the SDM's operand notation (Vol. 2D Appendix
// A.2): ADD_Ev_Gv, MOV_AL_Ob, FADD_m32fp, PADDB_Vdq_Wdq.
#include "forms.h"

#include <algorithm>
#include <set>

namespace difftest {

using kestrel::frontend::InsnId;
using kestrel::machine::Feature;

namespace {

// The table's column symbols (the same values as the decoder's).
enum : uint8_t { M1 = 0, M0F = 1, M38 = 2, M3A = 3 };
enum : uint8_t { P_ = 0, PNP = 1, P66 = 2, PF3 = 3, PF2 = 4 };
enum : uint8_t { A = 0, M = 1, R = 2, A64 = 3, ANo64 = 4 };
constexpr int8_t R_ = -1;
using kestrel::frontend::F_NONE;
using kestrel::frontend::F_CF;
using kestrel::frontend::F_PF;
using kestrel::frontend::F_AF;
using kestrel::frontend::F_ZF;
using kestrel::frontend::F_SF;
using kestrel::frontend::F_OF;
using kestrel::frontend::F_ALL;
using kestrel::frontend::F_OSZAP;
using kestrel::frontend::kEnd;
using kestrel::frontend::kRep;

struct Row {
  InsnId id;
  const char* name;
  Encoding enc;
  Feature feature;
  uint8_t attrs;
};

const Row kRows[] = {
#define X(id, map, op, n, reg, pfx, mod, feat, fr, fw, attrs) \
  {InsnId::id, #id, {map, op, n, static_cast<int8_t>(reg), pfx, mod}, Feature::feat, attrs},
#include "frontend-x86/insn_table.def"
#undef X
};

struct AliasRow {
  InsnId id;
  Encoding enc;
};
const AliasRow kAliases[] = {
#define X(id, map, op, n, reg, pfx, mod, feat, fr, fw, attrs)
#define ALIAS(id, map, op, reg, pfx, mod) {InsnId::id, {map, op, 1, static_cast<int8_t>(reg), pfx, mod}},
#include "frontend-x86/insn_table.def"
#undef X
    {InsnId::Invalid, {}},
};

// Rows of each family file, to tell the FP/SIMD forms from the integer ones.
#define X(id, map, op, n, reg, pfx, mod, feat, fr, fw, attrs) InsnId::id,
#define ALIAS(id, map, op, reg, pfx, mod)
const InsnId kX87Ids[] = {
#include "frontend-x86/insn_table_x87.def"
    InsnId::Invalid};
#undef ALIAS
#define ALIAS(id, map, op, reg, pfx, mod)
const InsnId kSseIds[] = {
#include "frontend-x86/insn_table_sse.def"
    InsnId::Invalid};
#undef ALIAS
#define ALIAS(id, map, op, reg, pfx, mod)
const InsnId kSimdIds[] = {
#include "frontend-x86/insn_table_simd.def"
    InsnId::Invalid};
#undef ALIAS
#undef X

int simd_size(const std::string& s) {
  if (s == "dq" || s == "ps" || s == "pd" || s == "x" || s == "o") return 16;
  if (s == "q" || s == "sd" || s == "pi") return 8;
  if (s == "d" || s == "ss") return 4;
  if (s == "w") return 2;
  if (s == "b") return 1;
  if (s == "y") return -2;
  if (s == "v") return 0;
  return -1;
}

int gpr_size(char c) {
  switch (c) {
    case 'b': return 1;
    case 'w': return 2;
    case 'd': return 4;
    case 'q': return 8;
    case 'v': return 0;
    case 'y': return -2;
    case 'z': return -3;
    default: return -1;
  }
}

Operand parse_token(const std::string& t) {
  Operand o;
  o.token = t;
  static const std::set<std::string> kFixed = {"AL", "rAX", "eAX", "AX", "CL", "DX", "1",
                                              "ES", "CS",  "SS",  "DS", "FS", "GS"};
  if (kFixed.count(t)) {
    o.kind = OpKind::Fixed;
    return o;
  }
  if (t == "ST0") return o.kind = OpKind::X87St0, o;
  if (t == "STi") return o.kind = OpKind::X87Sti, o;
  if (t[0] == 'm') {  // x87 / system memory operands: m32fp, m16int, m14_28byte, m
    o.kind = OpKind::Mem;
    static const struct { const char* t; int size; } kMem[] = {
        {"m32fp", 4},   {"m64fp", 8},   {"m80fp", 10},  {"m16int", 2},  {"m32int", 4},     {"m64int", 8},
        {"m80bcd", 10}, {"m80dec", 10}, {"m2byte", 2},  {"m14_28byte", -7}, {"m94_108byte", -8},
        {"m512byte", 512}, {"m8", 1}, {"m16", 2}, {"m32", 4}, {"m64", 8}, {"m128", 16}, {"m", -1}};
    for (const auto& m : kMem)
      if (t == m.t) o.size = m.size;
    return o;
  }
  const std::string rest = t.substr(1);
  switch (t[0]) {
    case 'E': o.kind = OpKind::RmGpr; o.size = gpr_size(rest.empty() ? '?' : rest[0]); break;
    case 'G': o.kind = OpKind::RegGpr; o.size = gpr_size(rest.empty() ? '?' : rest[0]); break;
    case 'R': o.kind = OpKind::RmGprReg; o.size = gpr_size(rest.empty() ? '?' : rest[0]); break;
    case 'M':
      o.kind = OpKind::Mem;
      if (rest.empty()) o.size = -1;
      else if (rest == "p") o.size = -4;
      else if (rest == "a") o.size = -5;
      else if (rest == "s") o.size = -6;
      else o.size = rest.size() == 1 ? gpr_size(rest[0]) : simd_size(rest);
      break;
    case 'S': o.kind = OpKind::SegReg; o.size = 2; break;
    case 'C': o.kind = OpKind::CtlReg; break;
    case 'D': o.kind = OpKind::DbgReg; break;
    case 'I': o.kind = OpKind::Imm; o.size = rest == "b" ? 1 : rest == "w" ? 2 : rest == "z" ? -3 : rest == "v" ? 0 : -1; break;
    case 'J': o.kind = OpKind::Rel; o.size = rest == "b" ? 1 : -3; break;
    case 'O': o.kind = OpKind::Moffs; o.size = gpr_size(rest.empty() ? '?' : rest[0]); break;
    case 'A': o.kind = OpKind::FarPtr; break;
    case 'Z': o.kind = OpKind::OpReg; o.size = gpr_size(rest.empty() ? '?' : rest[0]); break;
    case 'Q': o.kind = OpKind::RmMmx; o.size = simd_size(rest); break;
    case 'P': o.kind = OpKind::RegMmx; o.size = simd_size(rest); break;
    case 'N': o.kind = OpKind::RmMmxReg; o.size = simd_size(rest); break;
    case 'W': o.kind = OpKind::RmXmm; o.size = simd_size(rest); break;
    case 'V': o.kind = OpKind::RegXmm; o.size = simd_size(rest); break;
    case 'U': o.kind = OpKind::RmXmmReg; o.size = simd_size(rest); break;
    default: o.kind = OpKind::None; break;
  }
  return o;
}

bool is_rm_kind(OpKind k) {
  switch (k) {
    case OpKind::RmGpr: case OpKind::RmGprReg: case OpKind::Mem: case OpKind::RmMmx: case OpKind::RmMmxReg:
    case OpKind::RmXmm: case OpKind::RmXmmReg: case OpKind::X87Sti:
      return true;
    default:
      return false;
  }
}

bool needs_modrm(OpKind k) {
  return is_rm_kind(k) || k == OpKind::RegGpr || k == OpKind::SegReg || k == OpKind::CtlReg ||
         k == OpKind::DbgReg || k == OpKind::RegMmx || k == OpKind::RegXmm;
}

std::vector<Form> build() {
  std::set<InsnId> x87(std::begin(kX87Ids), std::end(kX87Ids)), sse(std::begin(kSseIds), std::end(kSseIds)),
      simd(std::begin(kSimdIds), std::end(kSimdIds));
  std::vector<Form> out;
  for (const Row& r : kRows) {
    Form f;
    f.id = r.id;
    f.name = r.name;
    f.feature = r.feature;
    f.family = x87.count(r.id) ? Family::X87 : sse.count(r.id) ? Family::Sse : simd.count(r.id) ? Family::Simd
                                                                                               : Family::Int;
    f.encodings.push_back(r.enc);
    for (const AliasRow& a : kAliases)
      if (a.id == r.id) f.encodings.push_back(a.enc);
    f.is_string = r.attrs & kRep;
    // Split the name: MNEMONIC_tok_tok...; x87 memory tokens may contain '_' (m14_28byte).
    std::vector<std::string> parts;
    size_t p = 0;
    while (p <= f.name.size()) {
      size_t q = f.name.find('_', p);
      if (q == std::string::npos) q = f.name.size();
      parts.push_back(f.name.substr(p, q - p));
      p = q + 1;
    }
    f.mnemonic = parts[0];
    for (size_t i = 1; i < parts.size(); ++i) {
      std::string t = parts[i];
      if (t.empty()) continue;
      if (i + 1 < parts.size() && t[0] == 'm' && parts[i + 1].find("byte") != std::string::npos &&
          parts[i + 1][0] >= '0' && parts[i + 1][0] <= '9') {
        t += "_" + parts[i + 1];
        ++i;
      }
      f.ops.push_back(parse_token(t));
    }
    const Encoding& e = r.enc;
    f.has_modrm = e.reg != R_ || f.family == Family::X87;
    for (const Operand& o : f.ops)
      if (needs_modrm(o.kind)) f.has_modrm = true;
    // Forms without operand tokens that still take ModRM: the hint NOPs, UD0/UD1.
    if (f.name == "NOP" || f.name == "UD0" || f.name == "UD1") f.has_modrm = true;
    f.rm_is_mem_only = e.mod == M;
    for (const Operand& o : f.ops)
      if (o.kind == OpKind::Mem) f.rm_is_mem_only = true;
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace

const std::vector<Form>& all_forms() {
  static const std::vector<Form> forms = build();
  return forms;
}

const Form* find_form(const std::string& name) {
  for (const Form& f : all_forms())
    if (f.name == name) return &f;
  return nullptr;
}

}  // namespace difftest
