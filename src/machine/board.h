// Board assembly: which chips a machine gets and where they sit. The CLI and the
// tests build machines through these functions so every front end sees the same PC.
#pragma once

namespace kestrel::machine {

class Machine;
class DebugConsole;
class Uart16550;

// The devices of a board, for wiring and for front ends (serial input, summaries).
struct BoardDevices {
  DebugConsole* debug_console = nullptr;
  Uart16550* com1 = nullptr;
};

// The minimal board of issue 2: the debug console on ports 0xE9/0x402 and a 16550
// UART as COM1 at 0x3F8. No PIC or timers yet, so nothing raises interrupts.
BoardDevices build_basic_board(Machine& m);

}  // namespace kestrel::machine
