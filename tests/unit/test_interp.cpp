// interp/interpreter: small real-mode programs run to HLT on a whole Machine,
// checking registers, flags, memory, exception delivery through the IVT and the
// decoded-block cache's reaction to writes into code.
#include <doctest/doctest.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "interp/interpreter.h"
#include "machine/cpu_state.h"
#include "machine/flags.h"
#include "machine/machine.h"
#include "machine/memory.h"
#include "machine/segments.h"
#include "real_mode_rig.h"

using namespace kestrel;
using interp::StopReason;
using machine::CpuState;

namespace {

// The real-mode rig (0000:7C00, SS:SP = 0000:7000, interrupts disabled) with
// register, flag and IVT helpers.
struct Rig : test::RealModeRig {
  uint16_t reg16(unsigned r) { return static_cast<uint16_t>(cpu().gpr[r]); }
  uint32_t reg32(unsigned r) { return static_cast<uint32_t>(cpu().gpr[r]); }
  uint64_t flags() { return machine::materialize_flags(cpu()); }
  // An IVT entry: vector -> seg:off.
  void vector(unsigned v, uint16_t seg, uint16_t off) {
    m->bus().write_uint(v * 4, off, 2);
    m->bus().write_uint(v * 4 + 2, seg, 2);
  }
};

using namespace machine;  // register names, flag bits

}  // namespace

TEST_CASE("interp: straight-line code to HLT") {
  Rig r;
  r.poke(0x7C00, {
      0xB8, 0x34, 0x12,        // mov ax, 0x1234
      0x05, 0x01, 0x00,        // add ax, 1
      0x89, 0xC3,              // mov bx, ax
      0x66, 0xB9, 0x78, 0x56, 0x34, 0x12,  // mov ecx, 0x12345678
      0xF4,                    // hlt
  });
  CHECK(r.run() == StopReason::HaltedNoInterrupts);
  CHECK(r.reg16(RAX) == 0x1235);
  CHECK(r.reg16(RBX) == 0x1235);
  CHECK(r.reg32(RCX) == 0x12345678);
  CHECK(r.cpu().rip == 0x7C0F);  // past the HLT
  CHECK(r.cpu().icount == 5);
}

TEST_CASE("interp: flags from an 8-bit ADD") {
  Rig r;
  r.poke(0x7C00, {0xB0, 0x7F, 0x04, 0x01, 0xF4});  // mov al, 0x7f; add al, 1; hlt
  CHECK(r.run() == StopReason::HaltedNoInterrupts);
  CHECK((r.reg16(RAX) & 0xFF) == 0x80);
  CHECK((r.flags() & kArithFlags) == (kOF | kSF | kAF));
}

TEST_CASE("interp: memory, the stack and a loop") {
  Rig r;
  r.poke(0x7C00, {
      0xC7, 0x06, 0x00, 0x20, 0xEF, 0xBE,  // mov word [0x2000], 0xBEEF
      0xB9, 0x0A, 0x00,                    // mov cx, 10
      0x31, 0xC0,                          // xor ax, ax
      0x01, 0xC8,                          // l: add ax, cx
      0xE2, 0xFC,                          // loop l
      0x50,                                // push ax
      0x8F, 0x06, 0x02, 0x20,              // pop word [0x2002]
      0xF4,
  });
  CHECK(r.run() == StopReason::HaltedNoInterrupts);
  CHECK(r.peek(0x2000, 2) == 0xBEEF);
  CHECK(r.reg16(RAX) == 55);
  CHECK(r.peek(0x2002, 2) == 55);
  CHECK(r.reg16(RSP) == 0x7000);
  CHECK(r.peek(0x6FFE, 2) == 55);
}

TEST_CASE("interp: the instruction limit") {
  Rig r;
  r.poke(0x7C00, {0x40, 0x40, 0x40, 0x40, 0x40, 0xF4});  // inc ax x5; hlt
  CHECK(r.run(3) == StopReason::InstructionLimit);
  CHECK(r.reg16(RAX) == 3);
  CHECK(r.cpu().rip == 0x7C03);
  CHECK(r.run() == StopReason::HaltedNoInterrupts);
  CHECK(r.reg16(RAX) == 5);
}

TEST_CASE("interp: self-modifying code inside the block being executed") {
  SUBCASE("patch the immediate of the next instruction") {
    Rig r;
    r.poke(0x7C00, {
        0xC6, 0x06, 0x06, 0x7C, 0x77,  // mov byte [0x7c06], 0x77
        0xB0, 0x00,                    // mov al, 0x00   (imm at 0x7c06)
        0xF4,
    });
    CHECK(r.run() == StopReason::HaltedNoInterrupts);
    CHECK((r.reg16(RAX) & 0xFF) == 0x77);
  }
  SUBCASE("patch an opcode a few instructions ahead, changing instruction boundaries") {
    Rig r;
    r.poke(0x7C00, {
        0xB8, 0x05, 0x00,              // mov ax, 5
        0xC7, 0x06, 0x0B, 0x7C, 0x40, 0x40,  // mov word [0x7c0b], 0x4040 (inc ax; inc ax)
        0x90, 0x90,                    // nop; nop
        0xB0, 0x11,                    // mov al, 0x11 -> inc ax; inc ax
        0xF4,
    });
    CHECK(r.run() == StopReason::HaltedNoInterrupts);
    CHECK(r.reg16(RAX) == 7);
  }
  SUBCASE("a loop patching an instruction it already ran") {
    Rig r;
    r.poke(0x7C00, {
        0x31, 0xDB,                    // xor bx, bx
        0xB9, 0x04, 0x00,              // mov cx, 4
        0x83, 0xC3, 0x01,              // l: add bx, 1 (imm at 0x7c07)
        0xFE, 0x06, 0x07, 0x7C,        // inc byte [0x7c07]
        0xE2, 0xF7,                    // loop l
        0xF4,
    });
    CHECK(r.run() == StopReason::HaltedNoInterrupts);
    CHECK(r.reg16(RBX) == 1 + 2 + 3 + 4);
  }
  SUBCASE("REP STOSB over the rest of the block") {
    Rig r;
    r.poke(0x7C00, {
        0xBF, 0x0B, 0x7C,              // mov di, 0x7c0b
        0xB0, 0x90,                    // mov al, 0x90
        0xB9, 0x03, 0x00,              // mov cx, 3
        0xF3, 0xAA,                    // rep stosb
        0x90,                          // nop
        0xB8, 0xAD, 0xDE,              // mov ax, 0xdead -> nop nop nop
        0xF4,
    });
    CHECK(r.run() == StopReason::HaltedNoInterrupts);
    CHECK(r.reg16(RAX) == 0x0090);
  }
}

TEST_CASE("interp: a write from outside (DMA, the host) invalidates decoded code") {
  Rig r;
  r.poke(0x7C00, {0xB8, 0x11, 0x11, 0xF4});  // mov ax, 0x1111; hlt
  CHECK(r.run() == StopReason::HaltedNoInterrupts);
  CHECK(r.reg16(RAX) == 0x1111);
  r.m->bus().dma_write(0x7C01, "\x22\x22", 2);
  r.start(0, 0x7C00);
  CHECK(r.run() == StopReason::HaltedNoInterrupts);
  CHECK(r.reg16(RAX) == 0x2222);
}

TEST_CASE("interp: data writes to other pages do not throw away decoded code") {
  Rig r;
  r.poke(0x7C00, {
      0xB9, 0xE8, 0x03,              // mov cx, 1000
      0xBF, 0x00, 0x20,              // mov di, 0x2000
      0x89, 0x0D,                    // l: mov [di], cx
      0x47,                          // inc di
      0xE2, 0xFB,                    // loop l
      0xF4,
  });
  CHECK(r.run() == StopReason::HaltedNoInterrupts);
  CHECK(r.peek(0x2000, 1) == 0xE8);  // low byte of the first CX (1000)
  CHECK(r.peek(0x23E7, 2) == 1);     // the last store: CX = 1 at 0x2000 + 999
  CHECK(r.it->cache().blocks_decoded() < 10);
}

TEST_CASE("interp: an instruction straddling a page boundary") {
  Rig r;
  // 66 B8 imm32 at 0x7FFD: the opcode on page 0x7000, imm bytes 1..3 on page 0x8000.
  r.poke(0x7FFD, {0x66, 0xB8, 0x44, 0x33, 0x22, 0x11, 0xF4});
  r.start(0, 0x7FFD);
  CHECK(r.run() == StopReason::HaltedNoInterrupts);
  CHECK(r.reg32(RAX) == 0x11223344);
  CHECK(r.cpu().rip == 0x8004);
  // Rewrite a byte on the second page only: the block must go.
  r.m->bus().write_uint(0x8000, 0x55, 1);
  r.start(0, 0x7FFD);
  CHECK(r.run() == StopReason::HaltedNoInterrupts);
  CHECK(r.reg32(RAX) == 0x11225544);
  // And the guest itself, through the second page.
  r.poke(0x7C00, {0xC6, 0x06, 0x01, 0x80, 0x66,  // mov byte [0x8001], 0x66
                  0xE9, 0xF5, 0x03});             // jmp 0x7ffd
  r.start(0, 0x7C00);
  CHECK(r.run() == StopReason::HaltedNoInterrupts);
  CHECK(r.reg32(RAX) == 0x11665544);
}

TEST_CASE("interp: #DE delivered through the IVT") {
  Rig r;
  r.vector(0, 0x0000, 0x9000);
  r.poke(0x9000, {0xBB, 0xAD, 0xDE, 0xF4});  // handler: mov bx, 0xdead; hlt
  r.poke(0x7C00, {
      0x31, 0xD2,          // xor dx, dx
      0xB8, 0x05, 0x00,    // mov ax, 5
      0x31, 0xC9,          // xor cx, cx
      0xF7, 0xF1,          // div cx      (at 0x7c07)
      0xF4,
  });
  CHECK(r.run() == StopReason::HaltedNoInterrupts);
  CHECK(r.reg16(RBX) == 0xDEAD);
  CHECK(r.cpu().seg[CS].selector == 0);
  CHECK(r.cpu().rip == 0x9004);
  CHECK(r.reg16(RAX) == 5);                  // DIV faulted: nothing written
  CHECK(r.reg16(RSP) == 0x7000 - 6);         // FLAGS, CS, IP; no error code in real mode
  CHECK(r.peek(0x6FFA, 2) == 0x7C07);        // IP of the DIV itself (a fault)
  CHECK(r.peek(0x6FFC, 2) == 0x0000);        // CS
  CHECK((r.peek(0x6FFE, 2) & 0x0002) != 0);  // FLAGS, bit 1 always set
  CHECK((r.peek(0x6FFE, 2) & kCF) == 0);     // as after XOR
  CHECK((r.flags() & (kIF | kTF)) == 0);
}

TEST_CASE("interp: INT3 pushes the address after it; IRET returns") {
  Rig r;
  r.vector(3, 0x0800, 0x0010);               // handler at 0800:0010 = 0x8010
  r.poke(0x8010, {0x43, 0xCF});              // inc bx; iret
  r.poke(0x7C00, {
      0xF9,                // stc
      0xCC,                // int3
      0xCD, 0x03,          // int 3
      0xF4,
  });
  CHECK(r.run() == StopReason::HaltedNoInterrupts);
  CHECK(r.reg16(RBX) == 2);
  CHECK(r.cpu().rip == 0x7C05);
  CHECK(r.peek(0x6FFA, 2) == 0x7C04);        // the last INT's return address
  CHECK(r.peek(0x6FFC, 2) == 0x0000);
  CHECK((r.flags() & kCF) != 0);             // restored by IRET
  CHECK(r.reg16(RSP) == 0x7000);
}

TEST_CASE("interp: #GP on a word at offset 0xFFFF (segment limit)") {
  Rig r;
  r.vector(13, 0, 0x9000);
  r.poke(0x9000, {0xF4});
  r.poke(0x7C00, {0xA1, 0xFF, 0xFF, 0xF4});  // mov ax, [0xffff]
  CHECK(r.run() == StopReason::HaltedNoInterrupts);
  CHECK(r.cpu().rip == 0x9001);
  CHECK(r.peek(0x6FFA, 2) == 0x7C00);
}

TEST_CASE("interp: A20 off wraps at 1 MiB") {
  Rig r;
  r.m->bus().set_a20(false);
  r.cpu().a20_enabled = 0;
  machine::tlb_flush(r.cpu());
  r.poke(0x7C00, {
      0xB8, 0xFF, 0xFF,                    // mov ax, 0xffff
      0x8E, 0xC0,                          // mov es, ax
      0x26, 0xC6, 0x06, 0x10, 0x05, 0xAB,  // mov byte [es:0x0510], 0xab -> linear 0x100500
      0xF4,
  });
  CHECK(r.run() == StopReason::HaltedNoInterrupts);
  CHECK(r.peek(0x000500, 1) == 0xAB);
  CHECK(r.peek(0x100500, 1) == 0x00);
}

TEST_CASE("interp: A20 on reaches the HMA") {
  Rig r;
  r.poke(0x7C00, {
      0xB8, 0xFF, 0xFF,
      0x8E, 0xC0,
      0x26, 0xC6, 0x06, 0x10, 0x05, 0xAB,
      0xF4,
  });
  CHECK(r.run() == StopReason::HaltedNoInterrupts);
  CHECK(r.peek(0x100500, 1) == 0xAB);
  CHECK(r.peek(0x000500, 1) == 0x00);
}

TEST_CASE("interp: a fault while delivering a fault, then another: shutdown stops the run") {
  Rig r;
  // PUSH with SP = 1 writes SS:FFFF..10000: #SS; delivering it pushes at SP = 1 again:
  // #SS -> #DF -> #SS again: triple fault (SDM Vol. 3 §6.15, interrupt 8).
  r.poke(0x7C00, {0xBC, 0x01, 0x00, 0x50, 0xF4});  // mov sp, 1; push ax; hlt
  CHECK(r.run() == StopReason::Stopped);
  CHECK(r.m->stop_requested());
  CHECK(r.m->exit_status() != 0);
}
