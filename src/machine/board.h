// Board assembly: which chips a machine gets and where they sit. The CLI and the
// tests build machines through these functions so every front end sees the same PC.
#pragma once

#include <cstdint>

namespace kestrel::machine {

class Machine;
class DebugConsole;
class DebugExit;
class Uart16550;
class Pic8259Pair;
class Pit8254;

// Optional devices a front end may ask for.
struct BoardOptions {
  // QEMU's isa-debug-exit (see devices/debug_exit.h), off unless asked for.
  bool debug_exit = false;
  uint16_t debug_exit_port = 0xF4;
  uint16_t debug_exit_size = 4;
};

// The devices of a board, for wiring and for front ends (serial input, summaries).
struct BoardDevices {
  DebugConsole* debug_console = nullptr;
  Uart16550* com1 = nullptr;
  DebugExit* debug_exit = nullptr;  // null unless BoardOptions::debug_exit
  Pic8259Pair* pic = nullptr;
  Pit8254* pit = nullptr;
};

// The basic board: the debug console on ports 0xE9/0x402, a 16550 UART as COM1
// at 0x3F8 on IRQ 4, the 8259 PIC pair as the CPU's interrupt controller and the
// 8254 PIT on IRQ 0 (with port 0x61); plus the optional devices.
BoardDevices build_basic_board(Machine& m, const BoardOptions& opt = {});

// The name of the basic board's device on `port`, or nullptr when the port is free
// (front ends use it to refuse an optional device on a port already taken).
const char* basic_board_port_owner(uint16_t port);

}  // namespace kestrel::machine
