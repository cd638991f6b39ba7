#include "machine/board.h"

#include "machine/devices/debug_console.h"
#include "machine/devices/uart16550.h"
#include "machine/machine.h"

namespace kestrel::machine {

BoardDevices build_basic_board(Machine& m) {
  BoardDevices b;
  b.debug_console = m.add_device<DebugConsole>(m);
  b.debug_console->attach(m.ports());
  b.com1 = m.add_device<Uart16550>(m, Uart16550::kCom1);
  b.com1->attach(m.ports());
  return b;
}

}  // namespace kestrel::machine
