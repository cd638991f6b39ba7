#include "frontend-x86/decoder.h"

#include <Zydis/Zydis.h>

#include <array>
#include <vector>

namespace kestrel::frontend {

using machine::CpuMode;

namespace {

enum Map : uint8_t { M1 = 0, M0F = 1, M38 = 2, M3A = 3 };
enum Pfx : uint8_t { P_ = 0, PNP = 1, P66 = 2, PF3 = 3, PF2 = 4 };
enum ModC : uint8_t { A = 0, M = 1, R = 2, A64 = 3, ANo64 = 4 };
constexpr int8_t R_ = -1;

struct Encoding {
  InsnId id;
  uint8_t map, op, count;
  int8_t reg;
  uint8_t pfx, mod;
};

constexpr InsnInfo kInfo[] = {
#define X(id, map, op, n, reg, pfx, mod, feat, fr, fw, attrs) \
  {#id, machine::Feature::feat, fr, fw, attrs},
#include "frontend-x86/insn_table.def"
#undef X
    {"(unimplemented)", machine::Feature::None, F_ALL, F_ALL, kEnd},
    {"(invalid)", machine::Feature::None, F_ALL, F_ALL, kEnd},
};
static_assert(std::size(kInfo) == kInsnCount);

const Encoding kEncodings[] = {
#define X(id, map, op, n, reg, pfx, mod, feat, fr, fw, attrs) {InsnId::id, map, op, n, reg, pfx, mod},
#define ALIAS(id, map, op, reg, pfx, mod) {InsnId::id, map, op, 1, reg, pfx, mod},
#include "frontend-x86/insn_table.def"
#undef X
};

ZydisMachineMode zydis_mode(CpuMode m) {
  switch (m) {
    // Real and virtual-8086 mode decode as 16-bit legacy code: Zydis's real-mode
    // filter drops instructions (SYSENTER, LAR, ARPL...) whose real-mode behaviour is
    // a specific fault the handlers raise themselves (#GP, #UD), not a decode failure.
    case CpuMode::Real: case CpuMode::Virtual8086:
    case CpuMode::Protected16: return ZYDIS_MACHINE_MODE_LEGACY_16;
    case CpuMode::Protected32: return ZYDIS_MACHINE_MODE_LEGACY_32;
    case CpuMode::Long64: return ZYDIS_MACHINE_MODE_LONG_64;
    case CpuMode::Compat16: return ZYDIS_MACHINE_MODE_LONG_COMPAT_16;
    case CpuMode::Compat32: return ZYDIS_MACHINE_MODE_LONG_COMPAT_32;
  }
  return ZYDIS_MACHINE_MODE_LEGACY_32;
}

ZydisStackWidth zydis_stack(CpuMode m) {
  switch (m) {
    case CpuMode::Long64: return ZYDIS_STACK_WIDTH_64;
    case CpuMode::Protected32: case CpuMode::Compat32: return ZYDIS_STACK_WIDTH_32;
    default: return ZYDIS_STACK_WIDTH_16;
  }
}

// One-byte opcodes that legacy modes have and 64-bit mode does not (SDM Vol. 2D
// Appendix A.2.5, the "i64" entries: PUSH/POP of ES/CS/SS/DS, DAA/DAS/AAA/AAS,
// PUSHA/POPA, 82 (the alias of 80), far CALL/JMP ptr16:32, INTO, AAM, AAD, SALC).
// C4/C5/62 are the VEX/EVEX prefixes there and 40-4F REX, so they are not listed.
bool invalid_in_64(uint8_t op) {
  switch (op) {
    case 0x06: case 0x07: case 0x0E: case 0x16: case 0x17: case 0x1E: case 0x1F: case 0x27: case 0x2F:
    case 0x37: case 0x3F: case 0x60: case 0x61: case 0x82: case 0x9A: case 0xCE: case 0xD4: case 0xD5:
    case 0xD6: case 0xEA:
      return true;
    default:
      return false;
  }
}

bool is_legacy_prefix(uint8_t b) {
  switch (b) {
    case 0x26: case 0x2E: case 0x36: case 0x3E: case 0x64: case 0x65: case 0x66: case 0x67: case 0xF0:
    case 0xF2: case 0xF3:
      return true;
    default:
      return false;
  }
}

}  // namespace

const InsnInfo& insn_info(InsnId id) { return kInfo[static_cast<unsigned>(id)]; }

struct Decoder::Impl {
  std::array<ZydisDecoder, 7> dec;
  ZydisFormatter fmt;
  std::array<std::vector<const Encoding*>, 4 * 256> by_opcode;
};

Decoder::Decoder() : impl_(std::make_unique<Impl>()) {
  for (int m = 0; m < 7; ++m) {
    auto mode = static_cast<CpuMode>(m);
    ZydisDecoderInit(&impl_->dec[m], zydis_mode(mode), zydis_stack(mode));
    // No CET: a 3E prefix on an indirect branch is the DS override it is on the CPUs
    // we model, not NOTRACK (and ENDBR decodes as the hint NOP it is without CET).
    ZydisDecoderEnableMode(&impl_->dec[m], ZYDIS_DECODER_MODE_CET, ZYAN_FALSE);
    // No MPX either: 0F 1A/1B are the hint NOPs they are on CPUs without it.
    ZydisDecoderEnableMode(&impl_->dec[m], ZYDIS_DECODER_MODE_MPX, ZYAN_FALSE);
  }
  ZydisFormatterInit(&impl_->fmt, ZYDIS_FORMATTER_STYLE_INTEL);
  for (const auto& e : kEncodings)
    for (unsigned i = 0; i < e.count; ++i) impl_->by_opcode[e.map * 256 + e.op + i].push_back(&e);
}

Decoder::~Decoder() = default;

// An opcode invalid in 64-bit mode (invalid_in_64) still has the length the legacy
// decoder gives it, and the processor fetches all of it before raising #UD: at the
// end of a page followed by an unmapped one, 82 /r ib, AAM ib or EA ptr16:32 raise
// #PF on the next page (measured on the host by testsuites/difftest). The length is
// the 32-bit mode one: ModRM/SIB/displacement have the same shape for 64- and
// 32-bit addressing, so 67 does not change it; 66 shortens a far pointer to
// ptr16:16. NeedMore while bytes are missing, so the caller fetches (and faults).
static DecodeStatus invalid_in_64_length(const ZydisDecoder& dec32, const uint8_t* bytes, size_t n, DecodedInsn& d) {
  size_t k = 0;
  bool opsize = false;
  while (k < n && k < ZYDIS_MAX_INSTRUCTION_LENGTH && (is_legacy_prefix(bytes[k]) || (bytes[k] & 0xF0) == 0x40)) {
    opsize |= bytes[k] == 0x66;
    ++k;
  }
  if (k >= ZYDIS_MAX_INSTRUCTION_LENGTH) return DecodeStatus::TooLong;
  if (k == n) return DecodeStatus::NeedMore;
  if (!invalid_in_64(bytes[k])) return DecodeStatus::Ok;
  uint8_t legacy[ZYDIS_MAX_INSTRUCTION_LENGTH + 1];
  size_t m = 0;
  if (opsize) legacy[m++] = 0x66;
  for (size_t i = k; i < n && m < sizeof legacy; ++i) legacy[m++] = bytes[i];
  ZydisDecodedInstruction zi;
  ZydisDecoderContext ctx;
  const ZyanStatus st = ZydisDecoderDecodeInstruction(&dec32, &ctx, legacy, m, &zi);
  if (st == ZYDIS_STATUS_NO_MORE_DATA)
    return n >= ZYDIS_MAX_INSTRUCTION_LENGTH ? DecodeStatus::TooLong : DecodeStatus::NeedMore;
  if (!ZYAN_SUCCESS(st)) return DecodeStatus::Ok;  // not expected: #UD on the first byte
  const size_t len = k + zi.length - (opsize ? 1 : 0);
  if (len > ZYDIS_MAX_INSTRUCTION_LENGTH) return DecodeStatus::TooLong;
  d.len = static_cast<uint8_t>(len);
  return DecodeStatus::Ok;
}

DecodeStatus Decoder::decode(CpuMode mode, const machine::CpuModel& model, const uint8_t* bytes, size_t n,
                             DecodedInsn& d) const {
  ZydisDecodedInstruction zi;
  ZydisDecoderContext ctx;
  ZyanStatus st = ZydisDecoderDecodeInstruction(&impl_->dec[static_cast<int>(mode)], &ctx, bytes, n, &zi);
  d = DecodedInsn{};
  d.base = d.index = kNoReg;
  if (st == ZYDIS_STATUS_NO_MORE_DATA) return n >= ZYDIS_MAX_INSTRUCTION_LENGTH ? DecodeStatus::TooLong : DecodeStatus::NeedMore;
  if (st == ZYDIS_STATUS_INSTRUCTION_TOO_LONG) return DecodeStatus::TooLong;
  if (!ZYAN_SUCCESS(st)) {
    d.id = InsnId::Invalid;
    d.len = 1;
    if (mode == CpuMode::Long64)
      return invalid_in_64_length(impl_->dec[static_cast<int>(CpuMode::Protected32)], bytes, n, d);
    return DecodeStatus::Ok;
  }
  d.len = zi.length;
  d.op = zi.opcode;

  const bool is64 = mode == CpuMode::Long64;
  const uint64_t attr = zi.attributes;
  const bool has_rex = (attr & ZYDIS_ATTRIB_HAS_REX) != 0;
  const uint8_t rex_w = has_rex ? zi.raw.rex.W : 0, rex_r = has_rex ? zi.raw.rex.R : 0,
                rex_x = has_rex ? zi.raw.rex.X : 0, rex_b = has_rex ? zi.raw.rex.B : 0;

  // Prefixes: the last of F2/F3 decides REP versus REPNE (as on hardware).
  uint8_t mandatory = 0;
  for (unsigned i = 0; i < zi.raw.prefix_count; ++i) {
    uint8_t v = zi.raw.prefixes[i].value;
    if (zi.raw.prefixes[i].type == ZYDIS_PREFIX_TYPE_MANDATORY) mandatory = v;
    if (v == 0xF3) d.pfx = (d.pfx & ~kPfxRepne) | kPfxRep;
    else if (v == 0xF2) d.pfx = (d.pfx & ~kPfxRep) | kPfxRepne;
    else if (v == 0xF0) d.pfx |= kPfxLock;
    else if (v == 0x66) d.pfx |= kPfxOpsize;
    else if (v == 0x67) d.pfx |= kPfxAddrsize;
  }
  if (has_rex) d.pfx |= kPfxRex;

  // Sizes (SDM Vol. 1 §3.6, Vol. 2A §2.2.1.2).
  unsigned def = (mode == CpuMode::Protected32 || mode == CpuMode::Compat32 || is64) ? 4 : 2;
  d.osize = rex_w ? 8 : (d.pfx & kPfxOpsize) ? (def == 2 ? 4 : 2) : def;
  d.asize = is64 ? ((d.pfx & kPfxAddrsize) ? 4 : 8) : (d.pfx & kPfxAddrsize) ? (def == 2 ? 4 : 2) : def;

  // Register fields and the memory operand.
  const bool has_modrm = (attr & ZYDIS_ATTRIB_HAS_MODRM) != 0;
  d.seg = machine::DS;
  if (has_modrm) {
    d.mod = zi.raw.modrm.mod;
    d.reg = zi.raw.modrm.reg | (rex_r << 3);
    d.rm = zi.raw.modrm.rm | (rex_b << 3);
    if (d.mod != 3) {
      d.disp = static_cast<int32_t>(zi.raw.disp.value);
      if (d.asize == 2) {
        static constexpr uint8_t kBase[8] = {machine::RBX, machine::RBX, machine::RBP, machine::RBP,
                                             machine::RSI, machine::RDI, machine::RBP, machine::RBX};
        static constexpr uint8_t kIndex[8] = {machine::RSI, machine::RDI, machine::RSI, machine::RDI,
                                              kNoReg, kNoReg, kNoReg, kNoReg};
        uint8_t rm = zi.raw.modrm.rm;
        if (d.mod == 0 && rm == 6) {
          d.base = kNoReg;
        } else {
          d.base = kBase[rm];
          d.index = kIndex[rm];
          if (d.base == machine::RBP) d.seg = machine::SS;
        }
      } else if (zi.raw.modrm.rm == 4) {
        uint8_t b = zi.raw.sib.base | (rex_b << 3);
        uint8_t x = zi.raw.sib.index | (rex_x << 3);
        d.index = x == 4 ? kNoReg : x;
        d.scale = zi.raw.sib.scale;
        if ((b & 7) == 5 && d.mod == 0) {
          d.base = kNoReg;
        } else {
          d.base = b;
          if (b == machine::RSP || b == machine::RBP) d.seg = machine::SS;
        }
      } else if (zi.raw.modrm.rm == 5 && d.mod == 0) {
        d.base = is64 ? kRipBase : kNoReg;
      } else {
        d.base = d.rm;
        if (d.rm == machine::RBP) d.seg = machine::SS;
      }
    }
  } else {
    d.mod = 3;
    d.reg = d.rm = (zi.opcode & 7) | (rex_b << 3);
  }
  if (attr & ZYDIS_ATTRIB_HAS_SEGMENT) {
    d.pfx |= kPfxSegOver;
    if (attr & ZYDIS_ATTRIB_HAS_SEGMENT_ES) d.seg = machine::ES;
    else if (attr & ZYDIS_ATTRIB_HAS_SEGMENT_CS) d.seg = machine::CS;
    else if (attr & ZYDIS_ATTRIB_HAS_SEGMENT_SS) d.seg = machine::SS;
    else if (attr & ZYDIS_ATTRIB_HAS_SEGMENT_DS) d.seg = machine::DS;
    else if (attr & ZYDIS_ATTRIB_HAS_SEGMENT_FS) d.seg = machine::FS;
    else if (attr & ZYDIS_ATTRIB_HAS_SEGMENT_GS) d.seg = machine::GS;
  }

  // Immediates: relative and signed ones sign-extended, others zero-extended.
  if (zi.raw.imm[0].size) {
    const auto& im = zi.raw.imm[0];
    d.imm = im.is_signed || im.is_relative ? static_cast<uint64_t>(im.value.s) : im.value.u;
    if (!(im.is_signed || im.is_relative) && im.size < 64) d.imm &= (1ull << im.size) - 1;
  }
  if (zi.raw.imm[1].size) d.imm2 = static_cast<uint16_t>(zi.raw.imm[1].value.u);
  // Direct far pointers (EA, 9A): offset then selector.
  if (zi.opcode_map == ZYDIS_OPCODE_MAP_DEFAULT && (zi.opcode == 0xEA || zi.opcode == 0x9A)) {
    d.imm = zi.raw.imm[0].value.u & ((1ull << zi.raw.imm[0].size) - 1);
    d.imm2 = static_cast<uint16_t>(zi.raw.imm[1].value.u);
  }
  // moffs forms (A0-A3) carry the address in the displacement.
  if (zi.opcode_map == ZYDIS_OPCODE_MAP_DEFAULT && zi.opcode >= 0xA0 && zi.opcode <= 0xA3)
    d.imm = zi.raw.disp.size >= 64 ? static_cast<uint64_t>(zi.raw.disp.value)
                                   : static_cast<uint64_t>(zi.raw.disp.value) & ((1ull << zi.raw.disp.size) - 1);

  // Table lookup.
  d.id = InsnId::Unimplemented;
  // VEX, EVEX, XOP and 3DNow! encodings: none of the models has AVX or AMD's
  // extensions, so they are invalid opcodes (#UD), not missing handlers.
  if (zi.encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY || zi.opcode_map > ZYDIS_OPCODE_MAP_0F3A) {
    d.id = InsnId::Invalid;
    return DecodeStatus::Ok;
  }
  uint8_t want_pfx = mandatory == 0x66 ? P66 : mandatory == 0xF3 ? PF3 : mandatory == 0xF2 ? PF2 : PNP;
  for (const Encoding* e : impl_->by_opcode[zi.opcode_map * 256 + zi.opcode]) {
    if (e->reg >= 0 && e->reg < 8 && (!has_modrm || e->reg != zi.raw.modrm.reg)) continue;
    if (e->reg >= 0x40 && (!has_modrm || d.mod != 3 || (e->reg & 7) != zi.raw.modrm.reg ||
                           ((e->reg >> 3) & 7) != zi.raw.modrm.rm))
      continue;
    if (e->pfx != P_ && e->pfx != want_pfx) continue;
    if (e->mod == M && d.mod == 3) continue;
    if (e->mod == R && d.mod != 3) continue;
    if (e->mod == A64 && !is64) continue;
    if (e->mod == ANo64 && is64) continue;
    d.id = model.has(kInfo[static_cast<unsigned>(e->id)].feature) ? e->id : InsnId::Invalid;
    break;
  }
  return DecodeStatus::Ok;
}

std::string Decoder::disassemble(CpuMode mode, const uint8_t* bytes, size_t n, uint64_t rip) const {
  ZydisDecodedInstruction zi;
  ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
  if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&impl_->dec[static_cast<int>(mode)], bytes, n, &zi, ops)))
    return "(bad)";
  char buf[256];
  if (!ZYAN_SUCCESS(ZydisFormatterFormatInstruction(&impl_->fmt, &zi, ops, zi.operand_count_visible, buf,
                                                    sizeof(buf), rip, nullptr)))
    return "(bad)";
  return buf;
}

}  // namespace kestrel::frontend
