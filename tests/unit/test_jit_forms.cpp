// The JIT's native forms against the interpreter: random straight-line programs
// built from the forms the JIT emits natively (ALU with every operand shape and
// size, ADC/SBB, INC/DEC, NOT/NEG, shifts and rotates by 1, an immediate and CL,
// IMUL, MOV/MOVZX/MOVSX/MOVSXD, CBW/CWD, BSWAP, CMOVcc, SETcc, and emit_forms_ext's
// MUL/IMUL/DIV/IDIV r/m, BT*, BSF/BSR, XCHG, XADD, CMPXCHG, SHLD/SHRD, LEAVE,
// PUSHF, CLI, MOV r/m from Sreg, the fences), mixed with flag consumers that end
// blocks (Jcc over an instruction) and handler calls that read the lazy flags
// (LAHF, PUSHF/POP, RCL), so flag liveness and the host-flag paths are exercised.
// Some programs end with a fault (#DE from a division, #GP from a memory operand)
// taken through an IDT whose gates lead to HLT. Every block is translated at once
// (threshold 0); the final registers, flags, data memory and stack must equal the
// interpreter's.
#include <doctest/doctest.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "interp/interpreter.h"
#include "machine/flags.h"
#include "machine/machine.h"
#include "random_machine.h"
#ifdef KESTREL_HAVE_JIT
#include "jit/jit.h"
#endif
#include "test_machine.h"

using namespace kestrel;

#ifdef KESTREL_HAVE_JIT
namespace {

constexpr uint64_t kCode = 0x20000, kData = 0x10000, kFaultHandler = 0x30000, kStackTop = 0x18000;

// Emits one random instruction. Register operands avoid rSP and rBP (rBP is the
// base of every memory operand, [rBP + disp8] inside the data buffer).
struct Gen {
  std::mt19937_64& rng;
  bool long64;
  std::vector<uint8_t>& out;

  unsigned pick(unsigned n) { return static_cast<unsigned>(rng() % n); }
  unsigned reg() {
    static const unsigned kRegs[] = {0, 1, 2, 3, 6, 7};
    return kRegs[pick(6)];
  }
  // Prefixes: a 16-bit operand size sometimes; in 64-bit mode REX.W sometimes and
  // REX.R for r8-r15 in the reg field (REX.B would make the base r13).
  bool word = false;  // 16-bit operands (66 without REX.W): 2-byte immediates
  void prefixes(bool& rexw, unsigned& rexrb) {
    rexw = false;
    rexrb = 0;
    word = pick(5) == 0;
    if (word) out.push_back(0x66);
    if (long64) {
      unsigned rex = 0;
      if (pick(2)) rexw = true, rex |= 8;
      if (pick(4) == 0) rexrb |= 4;  // R
      rex |= rexrb;
      if (rexw) word = false;
      if (rex || pick(8) == 0) out.push_back(static_cast<uint8_t>(0x40 | rex));
    }
  }
  // ModRM: a register r/m or [rBP + disp8] (mod 01, rm 101).
  void modrm(unsigned regfield, bool allow_mem = true) {
    if (allow_mem && pick(3) == 0) {
      out.push_back(static_cast<uint8_t>(0x40 | (regfield << 3) | 5));
      out.push_back(static_cast<uint8_t>(pick(120)));
    } else {
      out.push_back(static_cast<uint8_t>(0xC0 | (regfield << 3) | reg()));
    }
  }
  void imm8() { out.push_back(static_cast<uint8_t>(rng())); }
  void imm32(bool word) {
    uint32_t v = static_cast<uint32_t>(rng());
    if (pick(4) == 0) v = pick(3) == 0 ? 0 : 0xFFFFFFFFu;
    for (int i = 0; i < (word ? 2 : 4); ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }

  void one() {
    bool w;
    unsigned rb;
    const size_t start = out.size();
    switch (pick(31)) {
      case 0: case 1: case 2: {  // ALU r/m, reg / reg, r/m (byte and full size)
        prefixes(w, rb);
        out.push_back(static_cast<uint8_t>(pick(8) * 8 + pick(4)));
        modrm(reg());
        break;
      }
      case 3: {  // ALU AL/eAX, imm
        prefixes(w, rb);
        const bool byte = pick(2);
        out.push_back(static_cast<uint8_t>(pick(8) * 8 + (byte ? 4 : 5)));
        if (byte) imm8();
        else imm32(word);
        break;
      }
      case 4: case 5: {  // ALU r/m, imm (80, 81, 83)
        prefixes(w, rb);
        const unsigned op = pick(3);
        out.push_back(static_cast<uint8_t>(op == 0 ? 0x80 : op == 1 ? 0x81 : 0x83));
        modrm(pick(8));
        if (op == 1) imm32(word);
        else imm8();
        break;
      }
      case 6: {  // TEST
        prefixes(w, rb);
        switch (pick(3)) {
          case 0: out.push_back(static_cast<uint8_t>(0x84 + pick(2))); modrm(reg()); break;
          case 1: out.push_back(0xF6); modrm(0); imm8(); break;
          default: out.push_back(0xF7); modrm(0); imm32(word); break;
        }
        break;
      }
      case 7: {  // INC/DEC (FE/FF), NOT/NEG (F6/F7)
        prefixes(w, rb);
        if (pick(2)) {
          out.push_back(static_cast<uint8_t>(0xFE + pick(2)));
          modrm(pick(2));
        } else {
          out.push_back(static_cast<uint8_t>(0xF6 + pick(2)));
          modrm(2 + pick(2));
        }
        break;
      }
      case 8: case 9: {  // shifts and rotates: C0/C1 imm, D0/D1 by 1, D2/D3 by CL
        prefixes(w, rb);
        const unsigned form = pick(3);
        out.push_back(static_cast<uint8_t>((form == 0 ? 0xC0 : form == 1 ? 0xD0 : 0xD2) + pick(2)));
        modrm(pick(8));
        if (form == 0) out.push_back(static_cast<uint8_t>(pick(4) == 0 ? rng() : pick(3) == 0 ? 0 : 1 + pick(20)));
        break;
      }
      case 10: {  // MOV ECX, small (shift counts: 0, 1, widths, large)
        static const uint8_t kCounts[] = {0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 0xFF};
        out.push_back(0xB1);  // mov cl, imm8
        out.push_back(kCounts[pick(sizeof kCounts)]);
        break;
      }
      case 11: {  // IMUL
        prefixes(w, rb);
        switch (pick(3)) {
          case 0: out.push_back(0x0F); out.push_back(0xAF); modrm(reg()); break;
          case 1: out.push_back(0x69); modrm(reg()); imm32(word); break;
          default: out.push_back(0x6B); modrm(reg()); imm8(); break;
        }
        break;
      }
      case 12: {  // MOV forms
        prefixes(w, rb);
        switch (pick(4)) {
          case 0: out.push_back(static_cast<uint8_t>(0x88 + pick(4))); modrm(reg()); break;
          case 1: out.push_back(0xC7); modrm(0); imm32(word); break;
          case 2: out.push_back(0xC6); modrm(0); imm8(); break;
          default: out.push_back(static_cast<uint8_t>(0xB8 + reg())); imm32(word); if (w) imm32(false); break;
        }
        break;
      }
      case 13: {  // MOVZX/MOVSX, MOVSXD
        prefixes(w, rb);
        if (long64 && pick(3) == 0) {
          out.push_back(0x63);
        } else {
          out.push_back(0x0F);
          out.push_back(static_cast<uint8_t>(pick(2) ? 0xB6 + pick(2) : 0xBE + pick(2)));
        }
        modrm(reg());
        break;
      }
      case 14: {  // CBW/CWD, BSWAP
        prefixes(w, rb);
        if (pick(2)) {
          out.push_back(static_cast<uint8_t>(0x98 + pick(2)));
        } else {
          if (out.size() > start && out[start] == 0x66) out.erase(out.begin() + static_cast<long>(start));
          out.push_back(0x0F);
          out.push_back(static_cast<uint8_t>(0xC8 + reg()));
        }
        break;
      }
      case 15: {  // CMOVcc
        prefixes(w, rb);
        out.push_back(0x0F);
        out.push_back(static_cast<uint8_t>(0x40 + pick(16)));
        modrm(reg());
        break;
      }
      case 16: {  // SETcc
        out.push_back(0x0F);
        out.push_back(static_cast<uint8_t>(0x90 + pick(16)));
        modrm(0);
        break;
      }
      case 17: case 18: {  // Jcc over a 2-byte NOT EAX: ends the block on a condition
        out.push_back(static_cast<uint8_t>(0x70 + pick(16)));
        out.push_back(2);
        out.push_back(0xF7);
        out.push_back(0xD0);
        break;
      }
      case 19: {  // handlers that read the lazy flags
        switch (pick(3)) {
          case 0: out.push_back(0x9F); break;  // LAHF
          case 1: out.push_back(0x9C); out.push_back(0x5E); break;  // PUSHF; POP rSI
          default: out.push_back(0xD1); out.push_back(static_cast<uint8_t>(0xD0 | reg())); break;  // RCL r, 1
        }
        break;
      }
      case 20: {  // ADC/SBB right after a setter
        prefixes(w, rb);
        out.push_back(static_cast<uint8_t>(pick(2) ? 0x11 : 0x19));
        modrm(reg());
        break;
      }
      case 22: {  // MOVS/STOS/LODS without REP between rSI/rDI inside the data buffer, either direction
        out.push_back(0xBE);  // mov esi, imm32
        const uint32_t si = static_cast<uint32_t>(kData + 16 + pick(200)), di = static_cast<uint32_t>(kData + 16 + pick(200));
        for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(si >> (8 * i)));
        out.push_back(0xBF);  // mov edi, imm32
        for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(di >> (8 * i)));
        out.push_back(pick(2) ? 0xFC : 0xFD);  // cld / std
        for (unsigned k = 1 + pick(3); k > 0; --k) {
          prefixes(w, rb);
          static const uint8_t kOps[] = {0xA4, 0xA5, 0xAA, 0xAB, 0xAC, 0xAD};
          out.push_back(kOps[pick(6)]);
        }
        out.push_back(0xFC);  // cld
        break;
      }
      case 23: {  // MUL/IMUL/DIV/IDIV r/m (F6/F7 /4-/7); a division mostly with a dividend that fits
        prefixes(w, rb);
        const bool byte = pick(2);
        const unsigned op = 4 + pick(4);
        if (op >= 6 && pick(4)) {
          const size_t at = out.size();
          if (byte) {
            // mov ah, 0 (DIV) or CBW (IDIV): the quotient fits but for -128 / -1
            if (op == 6) out.insert(out.begin() + static_cast<long>(start), {0xB4, 0x00});
            else out.insert(out.begin() + static_cast<long>(start), {0x66, 0x98});
          } else if (op == 6) {
            // xor edx, edx (clears all of RDX) before the prefixes
            out.insert(out.begin() + static_cast<long>(start), {0x31, 0xD2});
          } else {
            // CWD/CDQ/CQO with the division's own prefixes
            std::vector<uint8_t> pre(out.begin() + static_cast<long>(start), out.begin() + static_cast<long>(at));
            pre.push_back(0x99);
            out.insert(out.begin() + static_cast<long>(start), pre.begin(), pre.end());
          }
        }
        out.push_back(byte ? 0xF6 : 0xF7);
        modrm(op);
        break;
      }
      case 24: {  // BT/BTS/BTR/BTC: register offsets on registers or memory, immediates on either
        if (pick(3) == 0) {
          // [rBP + disp8] with a bit offset in ECX of up to 100 bytes, either sign
          // (the data buffer has room on both sides of the operand's start)
          // (negative only below REX.W: MOV ECX zero-extends into RCX)
          const bool wide = long64 && pick(2);
          const int32_t bits = static_cast<int32_t>(pick(800)) - (!wide && pick(4) == 0 ? 250 : 0);
          out.push_back(0xB9);  // mov ecx, imm32
          for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(static_cast<uint32_t>(bits) >> (8 * i)));
          if (!wide && pick(4) == 0) out.push_back(0x66);
          if (wide) out.push_back(0x48);
          out.insert(out.end(), {0x0F, static_cast<uint8_t>(0xA3 + 8 * pick(4)), 0x4D,
                                 static_cast<uint8_t>(32 + pick(88))});
          break;
        }
        prefixes(w, rb);
        out.push_back(0x0F);
        if (pick(2)) {
          out.push_back(static_cast<uint8_t>(0xA3 + 8 * pick(4)));
          modrm(reg(), false);
        } else {
          out.push_back(0xBA);
          modrm(4 + pick(4));
          imm8();
        }
        break;
      }
      case 25: {  // BSF/BSR, sometimes of a zero source
        const bool zero = pick(3) == 0;
        if (zero) out.insert(out.end(), {0x31, 0xC9});  // xor ecx, ecx
        prefixes(w, rb);
        out.push_back(0x0F);
        out.push_back(static_cast<uint8_t>(0xBC + pick(2)));
        if (zero) out.push_back(static_cast<uint8_t>(0xC0 | (reg() << 3) | 1));
        else modrm(reg());
        break;
      }
      case 26: {  // XCHG, XADD, CMPXCHG (sometimes with rAX equal to the operand)
        const unsigned disp = pick(120), r = reg();
        const bool mem = pick(2);
        const unsigned form = pick(4);
        if (form == 3 && pick(2)) {  // mov rAX, the r/m operand
          if (long64 && pick(2)) out.push_back(0x48);
          out.push_back(0x8B);
          if (mem) out.insert(out.end(), {0x45, static_cast<uint8_t>(disp)});
          else out.push_back(static_cast<uint8_t>(0xC0 | r));
        }
        prefixes(w, rb);
        switch (form) {
          case 0: out.push_back(static_cast<uint8_t>(0x86 + pick(2))); break;
          case 1: out.push_back(static_cast<uint8_t>(0x90 + reg())); break;
          case 2: out.push_back(0x0F); out.push_back(static_cast<uint8_t>(0xC0 + pick(2))); break;
          default: out.push_back(0x0F); out.push_back(static_cast<uint8_t>(0xB0 + pick(2))); break;
        }
        if (form != 1) {
          const unsigned g = reg();
          if (mem) out.insert(out.end(), {static_cast<uint8_t>(0x45 | (g << 3)), static_cast<uint8_t>(disp)});
          else out.push_back(static_cast<uint8_t>(0xC0 | (g << 3) | r));
        }
        break;
      }
      case 27: {  // SHLD/SHRD by an immediate or CL
        prefixes(w, rb);
        out.push_back(0x0F);
        const bool by_cl = pick(2);
        out.push_back(static_cast<uint8_t>((pick(2) ? 0xA4 : 0xAC) + (by_cl ? 1 : 0)));
        modrm(reg());
        if (!by_cl) out.push_back(static_cast<uint8_t>(pick(4) == 0 ? rng() : pick(40)));
        break;
      }
      case 28: {  // PUSH rBP; MOV rBP, rSP; LEAVE (rBP back as it was)
        out.push_back(0x55);
        if (long64) out.push_back(0x48);
        out.insert(out.end(), {0x89, 0xE5, 0xC9});
        break;
      }
      case 29: {  // PUSHF; STI; CLI; PUSHF; POP rDI; POPF (IF seen after CLI), or PUSHF; POP rDI
        if (pick(2)) out.insert(out.end(), {0x9C, 0xFB, 0xFA, 0x9C, 0x5F, 0x9D});
        else out.insert(out.end(), {0x9C, 0x5F});
        break;
      }
      case 30: {  // MOV r/m, Sreg; the fences
        if (pick(3)) {
          prefixes(w, rb);
          out.push_back(0x8C);
          modrm(pick(6));
        } else {
          out.insert(out.end(), {0x0F, 0xAE, static_cast<uint8_t>(0xE8 + 8 * pick(3))});
        }
        break;
      }
      default: {  // INC/DEC after a setter (CF preserved)
        prefixes(w, rb);
        out.push_back(0xFF);
        modrm(pick(2), false);
        break;
      }
    }
  }
};

// A last instruction that faults: a division by zero (#DE), or a native memory
// form whose operand is non-canonical (64-bit: #GP) or in a null FS (32-bit: #GP).
void faulting_end(Gen& g) {
  std::vector<uint8_t>& out = g.out;
  if (g.pick(2)) {
    out.insert(out.end(), {0x31, 0xC9, 0xF7, 0xF1});  // xor ecx, ecx; div ecx
    return;
  }
  if (g.long64) {
    out.insert(out.end(), {0x48, 0xBE, 0, 0, 0, 0, 0, 0, 0, 0x80});  // mov rsi, 0x8000000000000000
  } else {
    // xor eax, eax; mov fs, ax (a null selector); lea esi, [ebp+16]; then an FS prefix
    out.insert(out.end(), {0x31, 0xC0, 0x8E, 0xE0, 0x8D, 0x75, 0x10, 0x64});
  }
  // One of the extended forms on [rSI]: xchg, xadd, cmpxchg, bts imm, mul, shld.
  static const std::vector<uint8_t> kForms[] = {{0x87, 0x06}, {0x0F, 0xC1, 0x06}, {0x0F, 0xB1, 0x06},
                                                {0x0F, 0xBA, 0x2E, 0x05}, {0xF7, 0x26}, {0x0F, 0xA4, 0x06, 0x03}};
  const auto& f = kForms[g.pick(6)];
  out.insert(out.end(), f.begin(), f.end());
}

// Gates for vectors 0-31 that lead to a HLT, so a fault ends the program where
// both tiers can be compared (the exception frame is on the compared stack).
void install_fault_idt(machine::Machine& m, int mode) {
  auto& c = m.cpu();
  const uint8_t hlt = 0xF4;
  m.bus().write(kFaultHandler, &hlt, 1);
  const uint64_t gate = (kFaultHandler & 0xFFFF) | (uint64_t{mode == 2 ? 0x18u : 0x08u} << 16) |
                        (uint64_t{0x8E00} << 32) | ((kFaultHandler >> 16) << 48);
  const unsigned size = mode == 2 ? 16 : 8;
  for (unsigned v = 0; v < 32; ++v) {
    const uint64_t high = 0;
    m.bus().write(0x600 + v * size, &gate, 8);
    if (mode == 2) m.bus().write(0x600 + v * size + 8, &high, 8);
  }
  c.idtr = {0x600, 32 * size - 1};
}

struct Outcome {
  uint64_t gpr[16], rip, flags, icount;
  std::vector<uint8_t> data, stack;
  interp::StopReason stop;
};

Outcome run_program(const std::vector<uint8_t>& code, int mode, uint64_t seed, bool with_jit) {
  std::mt19937_64 rng(seed);
  auto owned_machine = test::new_machine(2 << 20);
  auto& m = *owned_machine;
  std::vector<uint8_t> data(256);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  m.bus().write(kData, data.data(), data.size());
  m.bus().write(kCode, code.data(), code.size());
  auto& c = m.cpu();
  test::setup_random_mode(m, mode, rng);
  install_fault_idt(m, mode);
  c.gpr[machine::RBP] = kData;
  c.gpr[machine::RSP] = kStackTop;
  c.rip = kCode;
  interp::Interpreter it(m);
  jit::Jit j;
  if (with_jit) it.set_compiler(&j, 0);  // translate every block at once
  Outcome o{};
  o.stop = it.run(100000);
  for (int i = 0; i < 16; ++i) o.gpr[i] = c.gpr[i];
  o.rip = c.rip;
  o.flags = machine::materialize_flags(c);
  o.icount = c.icount;
  o.data.resize(data.size());
  m.bus().read(kData, o.data.data(), o.data.size());
  o.stack.resize(256);
  m.bus().read(kStackTop - o.stack.size(), o.stack.data(), o.stack.size());
  if (with_jit) CHECK(it.stats().native_runs > 0);
  return o;
}

}  // namespace

TEST_CASE("JIT: random programs of the native forms match the interpreter (32- and 64-bit code)") {
  for (int mode = 1; mode <= 2; ++mode) {
    for (uint64_t seed = 1; seed <= 300; ++seed) {
      std::mt19937_64 rng(seed * 7919 + static_cast<uint64_t>(mode));
      std::vector<uint8_t> code;
      Gen g{rng, mode == 2, code};
      for (int n = 0; n < 60; ++n) g.one();
      if (seed % 4 == 0) faulting_end(g);
      code.push_back(0xF4);  // hlt (IF is clear)
      const Outcome a = run_program(code, mode, seed, false), b = run_program(code, mode, seed, true);
      INFO("mode " << mode << " seed " << seed);
      CHECK(a.stop == interp::StopReason::HaltedNoInterrupts);
      CHECK(b.stop == a.stop);
      for (int i = 0; i < 16; ++i) CHECK(a.gpr[i] == b.gpr[i]);
      CHECK(a.rip == b.rip);
      CHECK(a.flags == b.flags);
      CHECK(a.icount == b.icount);
      CHECK(a.data == b.data);
      CHECK(a.stack == b.stack);
    }
  }
}
#endif
