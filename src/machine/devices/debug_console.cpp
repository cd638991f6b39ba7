#include "machine/devices/debug_console.h"

#include <cstdio>

#include "machine/machine.h"

namespace kestrel::machine {

DebugConsole::DebugConsole(Machine& m) : m_(m) { reset(); }

void DebugConsole::attach(PortBus& ports) {
  ports.map(kBochsPort, 1, this);
  ports.map(kSeaBiosPort, 1, this);
}

void DebugConsole::reset() { bytes_written_ = 0; }

void DebugConsole::save(StateWriter& w) const {
  w.begin(name());
  w.put(bytes_written_);
}

void DebugConsole::load(StateReader& r) {
  r.begin(name());
  r.get(bytes_written_);
}

uint32_t DebugConsole::port_in(uint16_t, unsigned size) {
  // The bus only hands us wider accesses if both ports are ours, which they are not
  // (0xE9 and 0x402 are single ports), so size is 1; stay defined for any size.
  return size == 1 ? kSignature : 0xFFFFFF00u | kSignature;
}

void DebugConsole::port_out(uint16_t, uint32_t value, unsigned) {
  // Bochs logs only the low byte of a wider write.
  std::FILE* out = m_.console();
  const int ch = static_cast<uint8_t>(value);
  std::fputc(ch, out);
  // Flush per line: a guest that dies mid-run still leaves its last message behind.
  if (ch == '\n') std::fflush(out);
  ++bytes_written_;
}

}  // namespace kestrel::machine
