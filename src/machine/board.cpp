#include "machine/board.h"

#include "machine/devices/debug_console.h"
#include "machine/devices/debug_exit.h"
#include "machine/devices/pic8259.h"
#include "machine/devices/pit8254.h"
#include "machine/devices/uart16550.h"
#include "machine/machine.h"

namespace kestrel::machine {

BoardDevices build_basic_board(Machine& m, const BoardOptions& opt) {
  BoardDevices b;
  b.debug_console = m.add_device<DebugConsole>(m);
  b.debug_console->attach(m.ports());
  b.pic = m.add_device<Pic8259Pair>(m);
  b.pic->attach(m.ports());
  for (unsigned i = 0; i < 16; ++i) m.isa_irq(i).connect(b.pic, i);
  m.set_interrupt_controller(b.pic);
  b.pit = m.add_device<Pit8254>(m, &m.isa_irq(0));
  b.pit->attach(m.ports());
  b.com1 = m.add_device<Uart16550>(m, Uart16550::kCom1);
  b.com1->attach(m.ports());
  b.com1->set_irq_hook([&m](bool level) { m.isa_irq(4).set(level); });
  if (opt.debug_exit) {
    b.debug_exit = m.add_device<DebugExit>(m, opt.debug_exit_port, opt.debug_exit_size);
    b.debug_exit->attach(m.ports());
  }
  return b;
}

const char* basic_board_port_owner(uint16_t port) {
  if (port == DebugConsole::kBochsPort || port == DebugConsole::kSeaBiosPort) return "the debug console";
  if (port >= Uart16550::kCom1 && port < Uart16550::kCom1 + 8) return "COM1";
  return nullptr;
}

}  // namespace kestrel::machine
