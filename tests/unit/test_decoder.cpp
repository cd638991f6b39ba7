// frontend-x86/decoder: guest bytes to DecodedInsn (SDM Vol. 2A chapter 2,
// "Instruction Format"; Vol. 2D appendix A, the opcode maps).
#include <doctest/doctest.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "frontend-x86/decoder.h"
#include "machine/cpu_model.h"
#include "machine/cpu_state.h"

using namespace kestrel;
using frontend::DecodedInsn;
using frontend::DecodeStatus;
using frontend::InsnId;
using frontend::kNoReg;
using frontend::kRipBase;
using machine::CpuMode;

namespace {

const machine::CpuModel& model(const char* name = "default") {
  const machine::CpuModel* m = machine::find_cpu_model(name);
  REQUIRE(m != nullptr);
  return *m;
}

struct Decoded {
  DecodeStatus status;
  DecodedInsn d;
};

Decoded decode(CpuMode mode, std::initializer_list<uint8_t> bytes, const char* model_name = "default") {
  static const frontend::Decoder decoder;
  std::vector<uint8_t> b(bytes);
  Decoded r{};
  r.status = decoder.decode(mode, model(model_name), b.data(), b.size(), r.d);
  return r;
}

const char* name(InsnId id) { return frontend::insn_info(id).name; }

}  // namespace

// doctest prints an InsnId by its table name.
template <>
struct doctest::StringMaker<InsnId> {
  static doctest::String convert(InsnId id) { return frontend::insn_info(id).name; }
};

TEST_CASE("decoder: 16-bit ModRM addressing in real mode") {
  SUBCASE("[bp+si+disp8] defaults to SS") {
    auto r = decode(CpuMode::Real, {0x00, 0x42, 0x05});  // add [bp+si+5], al
    REQUIRE(r.status == DecodeStatus::Ok);
    CHECK(r.d.id == InsnId::ADD_Eb_Gb);
    CHECK(r.d.len == 3);
    CHECK(r.d.osize == 2);
    CHECK(r.d.asize == 2);
    CHECK(r.d.mod == 1);
    CHECK(r.d.reg == machine::RAX);
    CHECK(r.d.base == machine::RBP);
    CHECK(r.d.index == machine::RSI);
    CHECK(r.d.seg == machine::SS);
    CHECK(r.d.disp == 5);
  }
  SUBCASE("[bx] defaults to DS") {
    auto r = decode(CpuMode::Real, {0x8B, 0x07});  // mov ax, [bx]
    CHECK(r.d.id == InsnId::MOV_Gv_Ev);
    CHECK(r.d.len == 2);
    CHECK(r.d.mod == 0);
    CHECK(r.d.base == machine::RBX);
    CHECK(r.d.index == kNoReg);
    CHECK(r.d.seg == machine::DS);
    CHECK(r.d.disp == 0);
  }
  SUBCASE("[bp+di-2] (disp8 sign-extended) defaults to SS") {
    auto r = decode(CpuMode::Real, {0x8B, 0x4B, 0xFE});  // mov cx, [bp+di-2]
    CHECK(r.d.id == InsnId::MOV_Gv_Ev);
    CHECK(r.d.reg == machine::RCX);
    CHECK(r.d.base == machine::RBP);
    CHECK(r.d.index == machine::RDI);
    CHECK(r.d.seg == machine::SS);
    CHECK(r.d.disp == -2);
  }
  SUBCASE("mod 00 rm 110 is [disp16], no base") {
    auto r = decode(CpuMode::Real, {0x8B, 0x06, 0x34, 0x12});  // mov ax, [0x1234]
    CHECK(r.d.id == InsnId::MOV_Gv_Ev);
    CHECK(r.d.len == 4);
    CHECK(r.d.base == kNoReg);
    CHECK(r.d.index == kNoReg);
    CHECK(r.d.seg == machine::DS);
    CHECK(static_cast<uint16_t>(r.d.disp) == 0x1234);
  }
  SUBCASE("[bp+disp16] with mod 10 defaults to SS") {
    auto r = decode(CpuMode::Real, {0x8B, 0x86, 0x00, 0x10});  // mov ax, [bp+0x1000]
    CHECK(r.d.base == machine::RBP);
    CHECK(r.d.index == kNoReg);
    CHECK(r.d.seg == machine::SS);
    CHECK(r.d.disp == 0x1000);
  }
  SUBCASE("register operand: mod 3") {
    auto r = decode(CpuMode::Real, {0x01, 0xD8});  // add ax, bx
    CHECK(r.d.id == InsnId::ADD_Ev_Gv);
    CHECK(r.d.mod == 3);
    CHECK(r.d.rm == machine::RAX);
    CHECK(r.d.reg == machine::RBX);
  }
}

TEST_CASE("decoder: 0x66 and 0x67 toggle the operand and address sizes") {
  SUBCASE("66 in real mode: 32-bit immediate") {
    auto r = decode(CpuMode::Real, {0x66, 0xB8, 0x78, 0x56, 0x34, 0x12});  // mov eax, 0x12345678
    CHECK(r.d.id == InsnId::MOV_Zv_Iv);
    CHECK(r.d.len == 6);
    CHECK(r.d.osize == 4);
    CHECK(r.d.asize == 2);
    CHECK(r.d.reg == machine::RAX);
    CHECK(r.d.imm == 0x12345678);
    CHECK((r.d.pfx & frontend::kPfxOpsize) != 0);
  }
  SUBCASE("67 in real mode: SIB with base, index and scale") {
    auto r = decode(CpuMode::Real, {0x67, 0x8B, 0x44, 0x8D, 0x10});  // mov ax, [ebp+ecx*4+0x10]
    CHECK(r.d.id == InsnId::MOV_Gv_Ev);
    CHECK(r.d.len == 5);
    CHECK(r.d.osize == 2);
    CHECK(r.d.asize == 4);
    CHECK(r.d.base == machine::RBP);
    CHECK(r.d.index == machine::RCX);
    CHECK(r.d.scale == 2);
    CHECK(r.d.seg == machine::SS);
    CHECK(r.d.disp == 0x10);
    CHECK((r.d.pfx & frontend::kPfxAddrsize) != 0);
  }
  SUBCASE("67 66 in real mode: SIB without base or index is [disp32]") {
    auto r = decode(CpuMode::Real, {0x67, 0x66, 0x8B, 0x04, 0x25, 0x00, 0x10, 0x00, 0x00});  // mov eax, [0x1000]
    CHECK(r.d.id == InsnId::MOV_Gv_Ev);
    CHECK(r.d.len == 9);
    CHECK(r.d.osize == 4);
    CHECK(r.d.asize == 4);
    CHECK(r.d.base == kNoReg);
    CHECK(r.d.index == kNoReg);
    CHECK(r.d.seg == machine::DS);
    CHECK(r.d.disp == 0x1000);
  }
  SUBCASE("67: EBP as an index does not make SS the default") {
    auto r = decode(CpuMode::Real, {0x67, 0x8B, 0x04, 0x2A});  // mov ax, [edx+ebp*1]
    CHECK(r.d.base == machine::RDX);
    CHECK(r.d.index == machine::RBP);
    CHECK(r.d.seg == machine::DS);
  }
  SUBCASE("protected 32: [esp+8] defaults to SS") {
    auto r = decode(CpuMode::Protected32, {0x8B, 0x44, 0x24, 0x08});  // mov eax, [esp+8]
    CHECK(r.d.id == InsnId::MOV_Gv_Ev);
    CHECK(r.d.len == 4);
    CHECK(r.d.osize == 4);
    CHECK(r.d.asize == 4);
    CHECK(r.d.base == machine::RSP);
    CHECK(r.d.index == kNoReg);
    CHECK(r.d.seg == machine::SS);
    CHECK(r.d.disp == 8);
  }
  SUBCASE("protected 32 with 66 67: 16-bit operand and address") {
    auto r = decode(CpuMode::Protected32, {0x66, 0x67, 0x8B, 0x00});  // mov ax, [bx+si]
    CHECK(r.d.osize == 2);
    CHECK(r.d.asize == 2);
    CHECK(r.d.base == machine::RBX);
    CHECK(r.d.index == machine::RSI);
  }
  SUBCASE("protected 32: mod 00 rm 101 is [disp32]") {
    auto r = decode(CpuMode::Protected32, {0x8B, 0x05, 0x78, 0x56, 0x34, 0x12});
    CHECK(r.d.len == 6);
    CHECK(r.d.base == kNoReg);
    CHECK(r.d.index == kNoReg);
    CHECK(r.d.disp == 0x12345678);
  }
  SUBCASE("protected 16 behaves like real mode") {
    auto r = decode(CpuMode::Protected16, {0x00, 0x42, 0x05});
    CHECK(r.d.osize == 2);
    CHECK(r.d.asize == 2);
    CHECK(r.d.base == machine::RBP);
    CHECK(r.d.index == machine::RSI);
  }
}

TEST_CASE("decoder: 64-bit mode") {
  SUBCASE("RIP-relative") {
    auto r = decode(CpuMode::Long64, {0x48, 0x8B, 0x05, 0x10, 0x00, 0x00, 0x00});  // mov rax, [rip+0x10]
    CHECK(r.d.id == InsnId::MOV_Gv_Ev);
    CHECK(r.d.len == 7);
    CHECK(r.d.osize == 8);
    CHECK(r.d.asize == 8);
    CHECK(r.d.base == kRipBase);
    CHECK(r.d.index == kNoReg);
    CHECK(r.d.disp == 0x10);
    CHECK((r.d.pfx & frontend::kPfxRex) != 0);
  }
  SUBCASE("default operand size 4, REX.W 8, 66 2") {
    CHECK(decode(CpuMode::Long64, {0x01, 0xD8}).d.osize == 4);
    CHECK(decode(CpuMode::Long64, {0x48, 0x01, 0xD8}).d.osize == 8);
    CHECK(decode(CpuMode::Long64, {0x66, 0x01, 0xD8}).d.osize == 2);
    CHECK(decode(CpuMode::Long64, {0x66, 0x48, 0x01, 0xD8}).d.osize == 8);  // REX.W wins over 66
  }
  SUBCASE("67 selects 32-bit addresses") {
    auto r = decode(CpuMode::Long64, {0x67, 0x8B, 0x00});  // mov eax, [eax]
    CHECK(r.d.asize == 4);
    CHECK(r.d.base == machine::RAX);
  }
  SUBCASE("REX.R/X/B extend reg, index and base") {
    auto r = decode(CpuMode::Long64, {0x4F, 0x8B, 0x0C, 0xC8});  // mov r9, [r8+r9*8]
    CHECK(r.d.id == InsnId::MOV_Gv_Ev);
    CHECK(r.d.osize == 8);
    CHECK(r.d.reg == machine::R9);
    CHECK(r.d.base == machine::R8);
    CHECK(r.d.index == machine::R9);
    CHECK(r.d.scale == 3);
  }
  SUBCASE("REX.B on [r12] (SIB base) and on +r opcodes") {
    auto r = decode(CpuMode::Long64, {0x41, 0x8B, 0x04, 0x24});  // mov eax, [r12]
    CHECK(r.d.base == machine::R12);
    CHECK(r.d.index == kNoReg);
    auto p = decode(CpuMode::Long64, {0x41, 0x50});  // push r8
    CHECK(p.d.id == InsnId::PUSH_Zv);
    CHECK(p.d.reg == machine::R8);
  }
  SUBCASE("82 is invalid in 64-bit mode") {
    CHECK(decode(CpuMode::Long64, {0x82, 0xC0, 0x05}).d.id == InsnId::Invalid);
  }
}

TEST_CASE("decoder: segment overrides") {
  auto es = decode(CpuMode::Real, {0x26, 0x8B, 0x07});  // mov ax, es:[bx]
  CHECK(es.d.seg == machine::ES);
  CHECK((es.d.pfx & frontend::kPfxSegOver) != 0);
  CHECK(es.d.len == 3);
  auto cs = decode(CpuMode::Real, {0x2E, 0x8B, 0x46, 0x00});  // mov ax, cs:[bp+0]: override beats SS
  CHECK(cs.d.seg == machine::CS);
  auto ds = decode(CpuMode::Real, {0x3E, 0x8B, 0x46, 0x00});  // ds:[bp+0]
  CHECK(ds.d.seg == machine::DS);
  auto fs = decode(CpuMode::Real, {0x64, 0x8B, 0x07});
  CHECK(fs.d.seg == machine::FS);
  auto gs = decode(CpuMode::Real, {0x65, 0x8B, 0x07});
  CHECK(gs.d.seg == machine::GS);
  auto ss = decode(CpuMode::Real, {0x36, 0x8B, 0x07});
  CHECK(ss.d.seg == machine::SS);
  auto none = decode(CpuMode::Real, {0x8B, 0x07});
  CHECK((none.d.pfx & frontend::kPfxSegOver) == 0);
}

TEST_CASE("decoder: opcode groups and special encodings") {
  SUBCASE("90 is XCHG rAX,rAX; F3 90 is PAUSE") {
    auto nop = decode(CpuMode::Real, {0x90});
    CHECK(nop.d.id == InsnId::XCHG_Zv_rAX);
    CHECK(nop.d.reg == machine::RAX);
    CHECK(decode(CpuMode::Real, {0xF3, 0x90}).d.id == InsnId::PAUSE);
    auto xchg = decode(CpuMode::Real, {0x93});  // xchg bx, ax
    CHECK(xchg.d.id == InsnId::XCHG_Zv_rAX);
    CHECK(xchg.d.reg == machine::RBX);
  }
  SUBCASE("80 /7 is CMP Eb,Ib") {
    auto r = decode(CpuMode::Real, {0x80, 0xF8, 0x05});  // cmp al, 5
    CHECK(r.d.id == InsnId::CMP_Eb_Ib);
    CHECK(r.d.mod == 3);
    CHECK(r.d.rm == machine::RAX);
    CHECK((r.d.imm & 0xFF) == 5);
  }
  SUBCASE("82 /0 in 16-bit code is ADD Eb,Ib") {
    auto r = decode(CpuMode::Real, {0x82, 0xC0, 0x05});
    CHECK(r.d.id == InsnId::ADD_Eb_Ib);
    CHECK(r.d.len == 3);
  }
  SUBCASE("F6 /0 and /1 are TEST Eb,Ib") {
    CHECK(decode(CpuMode::Real, {0xF6, 0xC0, 0x05}).d.id == InsnId::TEST_Eb_Ib);
    auto r = decode(CpuMode::Real, {0xF6, 0xC8, 0x05});
    CHECK(r.d.id == InsnId::TEST_Eb_Ib);
    CHECK(r.d.len == 3);
    CHECK(decode(CpuMode::Real, {0xF6, 0xD0}).d.id == InsnId::NOT_Eb);
    CHECK(decode(CpuMode::Real, {0xF7, 0xF1}).d.id == InsnId::DIV_Ev);
  }
  SUBCASE("FF group") {
    CHECK(decode(CpuMode::Real, {0xFF, 0x16, 0x34, 0x12}).d.id == InsnId::CALL_Ev);
    CHECK(decode(CpuMode::Real, {0xFF, 0x1E, 0x34, 0x12}).d.id == InsnId::CALLF_Mp);
    CHECK(decode(CpuMode::Real, {0xFF, 0x2E, 0x34, 0x12}).d.id == InsnId::JMPF_Mp);
    CHECK(decode(CpuMode::Real, {0xFF, 0x36, 0x34, 0x12}).d.id == InsnId::PUSH_Ev);
    CHECK(decode(CpuMode::Real, {0xFF, 0xC0}).d.id == InsnId::INC_Ev);
  }
  SUBCASE("immediates: signed ones sign-extended, far pointers split, ENTER's two") {
    auto add = decode(CpuMode::Real, {0x83, 0xC0, 0xFF});  // add ax, -1
    CHECK(add.d.id == InsnId::ADD_Ev_Ib);
    CHECK(static_cast<uint16_t>(add.d.imm) == 0xFFFF);
    auto jmpf = decode(CpuMode::Real, {0xEA, 0x34, 0x12, 0x00, 0xF0});  // jmp f000:1234
    CHECK(jmpf.d.id == InsnId::JMPF_Ap);
    CHECK(jmpf.d.len == 5);
    CHECK(jmpf.d.imm == 0x1234);
    CHECK(jmpf.d.imm2 == 0xF000);
    auto enter = decode(CpuMode::Real, {0xC8, 0x10, 0x00, 0x02});
    CHECK(enter.d.id == InsnId::ENTER_Iw_Ib);
    CHECK(enter.d.imm == 0x10);
    CHECK(enter.d.imm2 == 2);
    auto jz = decode(CpuMode::Real, {0x74, 0xFE});
    CHECK(jz.d.id == InsnId::Jcc_Jb);
    CHECK(jz.d.op == 0x74);
    CHECK(static_cast<int64_t>(jz.d.imm) == -2);
  }
  SUBCASE("moffs forms carry the address, sized by the address size") {
    auto a = decode(CpuMode::Real, {0xA1, 0x34, 0x12});
    CHECK(a.d.id == InsnId::MOV_rAX_Ov);
    CHECK(a.d.imm == 0x1234);
    auto b = decode(CpuMode::Real, {0x67, 0xA1, 0x78, 0x56, 0x34, 0x12});
    CHECK(b.d.len == 6);
    CHECK(b.d.imm == 0x12345678);
  }
  SUBCASE("REP prefixes: the last of F2/F3 wins") {
    auto movs = decode(CpuMode::Real, {0xF3, 0xA4});
    CHECK(movs.d.id == InsnId::MOVSB);
    CHECK((movs.d.pfx & frontend::kPfxRep) != 0);
    auto cmps = decode(CpuMode::Real, {0xF2, 0xA6});
    CHECK(cmps.d.id == InsnId::CMPSB);
    CHECK((cmps.d.pfx & frontend::kPfxRepne) != 0);
    auto both = decode(CpuMode::Real, {0xF3, 0xF2, 0xA6});
    CHECK((both.d.pfx & frontend::kPfxRepne) != 0);
    CHECK((both.d.pfx & frontend::kPfxRep) == 0);
  }
  SUBCASE("LOCK on a memory destination is kept") {
    auto r = decode(CpuMode::Real, {0xF0, 0x01, 0x18});  // lock add [bx+si], bx
    CHECK(r.d.id == InsnId::ADD_Ev_Gv);
    CHECK((r.d.pfx & frontend::kPfxLock) != 0);
  }
  SUBCASE("table facts") {
    CHECK(std::string(name(InsnId::ADD_Eb_Gb)) == "ADD_Eb_Gb");
    CHECK((frontend::insn_info(InsnId::MOVSB).attrs & frontend::kRep) != 0);
    CHECK((frontend::insn_info(InsnId::Jcc_Jb).attrs & frontend::kEnd) != 0);
    CHECK((frontend::insn_info(InsnId::ADD_Eb_Gb).attrs & frontend::kEnd) == 0);
    CHECK(frontend::insn_info(InsnId::ADC_Ev_Gv).flags_read == frontend::F_CF);
  }
}

TEST_CASE("decoder: invalid encodings decode to Invalid") {
  CHECK(decode(CpuMode::Real, {0x8D, 0xC3}).d.id == InsnId::Invalid);        // lea ax, bx
  CHECK(decode(CpuMode::Real, {0xFE, 0xF8}).d.id == InsnId::Invalid);        // FE /7
  CHECK(decode(CpuMode::Real, {0xFF, 0xD8}).d.id == InsnId::Invalid);        // call far with a register
  CHECK(decode(CpuMode::Real, {0xF0, 0x90}).d.id == InsnId::Invalid);        // lock nop
  CHECK(decode(CpuMode::Real, {0xF0, 0x01, 0xD8}).d.id == InsnId::Invalid);  // lock add ax, bx
  CHECK(decode(CpuMode::Real, {0x0F, 0x04}).d.id == InsnId::Invalid);        // undefined 0F 04
  auto r = decode(CpuMode::Real, {0x8D, 0xC3});
  CHECK(r.status == DecodeStatus::Ok);
  CHECK(r.d.len >= 1);
}

TEST_CASE("decoder: UD0/UD1/UD2 are their own forms") {
  CHECK(decode(CpuMode::Real, {0x0F, 0x0B}).d.id == InsnId::UD2);
  CHECK(decode(CpuMode::Real, {0x0F, 0xB9, 0xC0}).d.id == InsnId::UD1);
  CHECK(decode(CpuMode::Real, {0x0F, 0xFF, 0xC0}).d.id == InsnId::UD0);
}

TEST_CASE("decoder: CPU model feature gates") {
  // CMOV is P6; RDTSC is Pentium (TSC). The 486 model has neither.
  CHECK(decode(CpuMode::Real, {0x0F, 0x44, 0xC1}).d.id == InsnId::CMOVcc_Gv_Ev);
  CHECK(decode(CpuMode::Real, {0x0F, 0x44, 0xC1}, "486").d.id == InsnId::Invalid);
  CHECK(decode(CpuMode::Real, {0x0F, 0x31}).d.id == InsnId::RDTSC);
  CHECK(decode(CpuMode::Real, {0x0F, 0x31}, "486").d.id == InsnId::Invalid);
  // 486 instructions are on both.
  CHECK(decode(CpuMode::Real, {0x0F, 0xC8}, "486").d.id == InsnId::BSWAP_Zv);
  CHECK(decode(CpuMode::Real, {0x0F, 0xC1, 0xC3}, "486").d.id == InsnId::XADD_Ev_Gv);
}

TEST_CASE("decoder: truncated and over-long instructions") {
  CHECK(decode(CpuMode::Real, {0x8B}).status == DecodeStatus::NeedMore);
  CHECK(decode(CpuMode::Real, {0x66, 0xB8, 0x78, 0x56}).status == DecodeStatus::NeedMore);
  CHECK(decode(CpuMode::Real, {0x0F}).status == DecodeStatus::NeedMore);
  CHECK(decode(CpuMode::Real, {0x8B, 0x86, 0x00}).status == DecodeStatus::NeedMore);  // disp16 cut short
  // 14 prefixes + NOP = 15 bytes: the longest legal instruction.
  std::vector<uint8_t> ok(14, 0x66);
  ok.push_back(0x90);
  static const frontend::Decoder decoder;
  DecodedInsn d{};
  // No bytes at all (a valid buffer of length 0).
  CHECK(decoder.decode(CpuMode::Real, model(), ok.data(), 0, d) == DecodeStatus::NeedMore);
  REQUIRE(decoder.decode(CpuMode::Real, model(), ok.data(), ok.size(), d) == DecodeStatus::Ok);
  CHECK(d.len == 15);
  // 15 prefixes + NOP = 16 bytes: too long (#GP).
  std::vector<uint8_t> bad(15, 0x66);
  bad.push_back(0x90);
  CHECK(decoder.decode(CpuMode::Real, model(), bad.data(), bad.size(), d) == DecodeStatus::TooLong);
  // 16 bytes of prefixes and nothing else.
  std::vector<uint8_t> prefixes(16, 0x26);
  CHECK(decoder.decode(CpuMode::Real, model(), prefixes.data(), prefixes.size(), d) == DecodeStatus::TooLong);
}

TEST_CASE("decoder: opcodes invalid in 64-bit mode keep their legacy length") {
  // The processor fetches the whole legacy-length instruction before its #UD, so a
  // missing byte is NeedMore (the fetch then faults on the next page; testsuites/difftest).
  CHECK(decode(CpuMode::Long64, {0x82, 0xC7}).status == DecodeStatus::NeedMore);  // 82 /0 ib
  auto r = decode(CpuMode::Long64, {0x82, 0xC7, 0xDF});
  REQUIRE(r.status == DecodeStatus::Ok);
  CHECK(r.d.id == InsnId::Invalid);
  CHECK(r.d.len == 3);
  CHECK(decode(CpuMode::Long64, {0x48, 0xD4}).status == DecodeStatus::NeedMore);  // REX.W AAM ib
  CHECK(decode(CpuMode::Long64, {0x48, 0xD4, 0x0A}).d.len == 3);
  CHECK(decode(CpuMode::Long64, {0x9A, 1, 2, 3, 4, 5}).status == DecodeStatus::NeedMore);  // CALLF ptr16:32
  CHECK(decode(CpuMode::Long64, {0x9A, 1, 2, 3, 4, 5, 6}).d.len == 7);
  CHECK(decode(CpuMode::Long64, {0x66, 0xEA, 1, 2, 3, 4}).d.len == 6);                    // JMPF ptr16:16
  // 67 does not change the ModRM shape in 64-bit mode: [disp32] stays 4 bytes.
  CHECK(decode(CpuMode::Long64, {0x67, 0x82, 0x05, 1, 2, 3, 4}).status == DecodeStatus::NeedMore);
  CHECK(decode(CpuMode::Long64, {0x67, 0x82, 0x05, 1, 2, 3, 4, 5}).d.len == 8);
  // One-byte forms are Invalid with length 1 after their prefixes.
  CHECK(decode(CpuMode::Long64, {0x06}).d.len == 1);
  CHECK(decode(CpuMode::Long64, {0x41, 0x27}).d.len == 2);
}

TEST_CASE("decoder: disassembly for traces") {
  static const frontend::Decoder decoder;
  const uint8_t mov[] = {0xB8, 0x34, 0x12};
  std::string s = decoder.disassemble(CpuMode::Real, mov, sizeof mov, 0x7C00);
  CHECK(s.find("mov") != std::string::npos);
  CHECK(s.find("0x1234") != std::string::npos);
  const uint8_t bad[] = {0x0F};
  CHECK(decoder.disassemble(CpuMode::Real, bad, sizeof bad, 0) == "(bad)");
}
