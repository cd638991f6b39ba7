#include "machine/pci/pci.h"

#include <algorithm>
#include <cassert>

#include "machine/machine.h"

namespace kestrel::machine {

using namespace pci_cfg;

// ---------------------------------------------------------------- PciDevice

PciDevice::PciDevice(uint16_t vendor, uint16_t device, uint32_t class_code, uint8_t revision) {
  init_config16(kVendorId, vendor);
  init_config16(kDeviceId, device);
  init_config8(kRevision, revision);
  init_config8(kClassProg, static_cast<uint8_t>(class_code));
  init_config16(kClassProg + 1, static_cast<uint16_t>(class_code >> 8));
  // QEMU's machines give every function this subsystem ID, and SeaBIOS's qemu_detect()
  // looks for it on the host bridge (Red Hat, "QEMU virtual machine").
  init_config16(kSubsystemVendor, 0x1AF4);
  init_config16(kSubsystemId, 0x1100);
  set_writable(kCommand, 2, kCmdIo | kCmdMemory | kCmdBusMaster | kCmdIntxDisable);
  set_writable(kInterruptLine, 1, 0xFF);
  for (unsigned i = 0; i < bars_.size(); ++i) {
    bars_[i].window.dev = this;
    bars_[i].window.index = i;
  }
}

PciDevice::~PciDevice() = default;

void PciDevice::init_config8(unsigned off, uint8_t v) { config_[off & 0xFF] = reset_[off & 0xFF] = v; }
void PciDevice::init_config16(unsigned off, uint16_t v) {
  init_config8(off, static_cast<uint8_t>(v));
  init_config8(off + 1, static_cast<uint8_t>(v >> 8));
}
void PciDevice::init_config32(unsigned off, uint32_t v) {
  init_config16(off, static_cast<uint16_t>(v));
  init_config16(off + 2, static_cast<uint16_t>(v >> 16));
}
void PciDevice::set_config16(unsigned off, uint16_t v) {
  set_config8(off, static_cast<uint8_t>(v));
  set_config8(off + 1, static_cast<uint8_t>(v >> 8));
}
void PciDevice::set_config32(unsigned off, uint32_t v) {
  set_config16(off, static_cast<uint16_t>(v));
  set_config16(off + 2, static_cast<uint16_t>(v >> 16));
}

void PciDevice::set_writable(unsigned off, unsigned size, uint32_t mask) {
  for (unsigned i = 0; i < size; ++i) wmask_[(off + i) & 0xFF] = static_cast<uint8_t>(mask >> (8 * i));
}

void PciDevice::set_write1_clear(unsigned off, unsigned size, uint32_t mask) {
  for (unsigned i = 0; i < size; ++i) w1c_[(off + i) & 0xFF] = static_cast<uint8_t>(mask >> (8 * i));
}

void PciDevice::declare_bar(unsigned n, PciBar::Kind kind, uint64_t size) {
  assert(n < 6 && kind != PciBar::None && size && !(size & (size - 1)));
  assert(kind == PciBar::Io ? size >= 4 && size <= 256 : size >= 16);
  assert(kind != PciBar::Mem64 || n < 5);
  Bar& b = bars_[n];
  b.kind = kind;
  b.size = size;
  const unsigned off = kBar0 + 4 * n;
  // The low bits say what the BAR is (PCI 3.0 §6.2.5.1): I/O bit 0; memory type in
  // bits 2:1 (2 = 64-bit) and prefetchable in bit 3.
  const uint32_t type = kind == PciBar::Io ? 1u : kind == PciBar::Mem64 ? 4u : kind == PciBar::Mem32Prefetch ? 8u : 0u;
  init_config32(off, type);
  const uint64_t addr_mask = ~(size - 1) & (kind == PciBar::Io ? ~3ull : ~0xFull);
  set_writable(off, 4, static_cast<uint32_t>(addr_mask));
  if (kind == PciBar::Mem64) {
    init_config32(off + 4, 0);
    set_writable(off + 4, 4, static_cast<uint32_t>(addr_mask >> 32));
  }
}

void PciDevice::declare_rom(std::vector<uint8_t> image) {
  uint64_t size = 2048;
  while (size < image.size()) size <<= 1;
  image.resize(size, 0xFF);
  rom_ = std::move(image);
  Bar& b = bars_[kRomBarIndex];
  b.kind = PciBar::Mem32;
  b.size = size;
  init_config32(kRomBar, 0);
  // Address bits above the size, and bit 0 (ROM address decode enable), PCI 3.0 §6.2.5.2.
  set_writable(kRomBar, 4, (static_cast<uint32_t>(~(size - 1)) & 0xFFFFF800u) | 1u);
}

void PciDevice::set_interrupt_pin(uint8_t pin) { init_config8(kInterruptPin, pin); }

uint32_t PciDevice::config_read(unsigned offset, unsigned size) {
  uint32_t v = 0;
  for (unsigned i = 0; i < size; ++i) v |= static_cast<uint32_t>(config_[(offset + i) & 0xFF]) << (8 * i);
  return v;
}

void PciDevice::write_byte(unsigned off, uint8_t v) {
  off &= 0xFF;
  uint8_t cur = config_[off];
  cur = static_cast<uint8_t>((cur & ~wmask_[off]) | (v & wmask_[off]));
  cur = static_cast<uint8_t>(cur & ~(v & w1c_[off]));
  config_[off] = cur;
}

void PciDevice::config_write(unsigned offset, uint32_t value, unsigned size) {
  const bool intx_disable_before = command() & kCmdIntxDisable;
  for (unsigned i = 0; i < size; ++i) write_byte(offset + i, static_cast<uint8_t>(value >> (8 * i)));
  // Decoding depends on the command register, the BARs and the ROM BAR.
  const unsigned end = offset + size;
  const bool touches_decode = (offset < kCommand + 2 && end > kCommand) ||
                              (offset < kBar0 + 24 && end > kBar0) || (offset < kRomBar + 4 && end > kRomBar);
  if (touches_decode) update_mappings();
  if (bool(command() & kCmdIntxDisable) != intx_disable_before && bus_) bus_->intx_changed(this);
  config_written(offset, size);
}

uint64_t PciDevice::bar_decode_address(unsigned n) const {
  const Bar& b = bars_[n];
  if (b.kind == PciBar::None) return kUnmapped;
  if (n == kRomBarIndex) {
    const uint32_t v = cfg32(kRomBar);
    if (!(command() & kCmdMemory) || !(v & 1)) return kUnmapped;
    const uint64_t a = v & ~(b.size - 1) & 0xFFFFF800u;
    return a == 0 ? kUnmapped : a;
  }
  const unsigned off = kBar0 + 4 * n;
  if (b.kind == PciBar::Io) {
    if (!(command() & kCmdIo)) return kUnmapped;
    const uint64_t a = cfg32(off) & ~3u & 0xFFFFu;
    // Port 0 or a window past 64 KiB (a BAR being sized) decodes nothing.
    if (a == 0 || a + b.size > 0x10000 || (cfg32(off) >> 16)) return kUnmapped;
    return a;
  }
  if (!(command() & kCmdMemory)) return kUnmapped;
  uint64_t a = cfg32(off) & ~0xFu;
  if (b.kind == PciBar::Mem64) a |= static_cast<uint64_t>(cfg32(off + 4)) << 32;
  // Address 0 or the sizing pattern decodes nothing; stay below the 52-bit physical limit.
  if (a == 0 || a + b.size > (1ull << 52) || a + b.size < a) return kUnmapped;
  if (b.kind != PciBar::Mem64 && (cfg32(off) | 0xFu | static_cast<uint32_t>(b.size - 1)) == ~0u) return kUnmapped;
  if (b.kind != PciBar::Mem64 && a + b.size > (1ull << 32)) return kUnmapped;
  return a;
}

void PciDevice::update_mappings() {
  for (unsigned n = 0; n < bars_.size(); ++n) {
    Bar& b = bars_[n];
    if (b.kind == PciBar::None) continue;
    const uint64_t want = bus_ ? bar_decode_address(n) : kUnmapped;
    if (want == b.mapped) continue;
    if (b.mapped != kUnmapped) bus_->unmap_window(b);
    if (want != kUnmapped) bus_->map_window(b, want);
    bar_moved(n, want);
  }
}

void PciDevice::set_irq(bool level) {
  if (level == irq_level_) return;
  irq_level_ = level;
  // Status bit 3: the function's interrupt status, whatever the disable bit says.
  set_config8(kStatus, static_cast<uint8_t>(level ? cfg8(kStatus) | kStatusIntx : cfg8(kStatus) & ~kStatusIntx));
  if (bus_) bus_->intx_changed(this);
}

void PciDevice::reset_config() {
  config_ = reset_;
  irq_level_ = false;
  update_mappings();
  if (bus_) bus_->intx_changed(this);
}

void PciDevice::save_config(StateWriter& w) const {
  w.put_bytes(config_.data(), config_.size());
  w.put(irq_level_);
}

void PciDevice::load_config(StateReader& r) {
  r.get_bytes(config_.data(), config_.size());
  r.get(irq_level_);
  update_mappings();
  if (bus_) bus_->intx_changed(this);
}

uint32_t PciDevice::io_read(unsigned, uint32_t, unsigned size) { return size >= 4 ? ~0u : (1u << (8 * size)) - 1; }
void PciDevice::io_write(unsigned, uint32_t, uint32_t, unsigned) {}

uint64_t PciDevice::mmio_read(unsigned bar, uint64_t offset, unsigned size) {
  if (bar == kRomBarIndex) {
    uint64_t v = 0;
    for (unsigned i = 0; i < size; ++i)
      if (offset + i < rom_.size()) v |= static_cast<uint64_t>(rom_[offset + i]) << (8 * i);
    return v;
  }
  return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}
void PciDevice::mmio_write(unsigned, uint64_t, uint64_t, unsigned) {}

uint32_t PciDevice::Window::port_in(uint16_t port, unsigned size) {
  return dev->io_read(index, static_cast<uint32_t>(port - base), size);
}
void PciDevice::Window::port_out(uint16_t port, uint32_t value, unsigned size) {
  dev->io_write(index, static_cast<uint32_t>(port - base), value, size);
}
uint64_t PciDevice::Window::mmio_read(uint64_t offset, unsigned size) {
  // Expansion ROMs are read-only; anything reaches the ROM image through the base class.
  return index == kRomBarIndex ? dev->PciDevice::mmio_read(index, offset, size) : dev->mmio_read(index, offset, size);
}
void PciDevice::Window::mmio_write(uint64_t offset, uint64_t value, unsigned size) {
  if (index != kRomBarIndex) dev->mmio_write(index, offset, value, size);
}

// ---------------------------------------------------------------- PciBus

PciBus::PciBus(Machine& m) : m_(m) {}

void PciBus::attach(PortBus& ports) {
  // 0xCF8 and 0xCFA-0xCFB: a dword at 0xCF8 spans them and reaches CONFIG_ADDRESS, while
  // 0xCF9 keeps its owner (the reset control register), so a byte there never lands here.
  ports.map(kConfigAddress, 1, this);
  ports.map(kConfigAddress + 2, 2, this);
  ports.map(kConfigData, 4, this);
}

void PciBus::add(PciDevice* dev, unsigned slot, unsigned function) {
  const unsigned devfn = (slot & 31) * 8 + (function & 7);
  assert(!devs_[devfn] && "two PCI functions at one address");
  devs_[devfn] = dev;
  dev->bus_ = this;
  dev->devfn_ = static_cast<uint8_t>(devfn);
}

uint32_t PciBus::config_read(unsigned devfn, unsigned offset, unsigned size) {
  PciDevice* d = devs_[devfn & 0xFF];
  if (!d) return size >= 4 ? ~0u : (1u << (8 * size)) - 1;
  uint32_t v = d->config_read(offset, size);
  // Header type bit 7 (multi-function) on function 0 when the slot has other functions:
  // enumeration (SeaBIOS's pci_next, Linux) probes functions 1-7 only then.
  if ((devfn & 7) == 0 && offset <= kHeaderType && offset + size > kHeaderType) {
    bool multi = false;
    for (unsigned f = 1; f < 8; ++f) multi |= devs_[(devfn & ~7u) + f] != nullptr;
    if (multi) v |= 0x80u << (8 * (kHeaderType - offset));
  }
  return v;
}

void PciBus::config_write(unsigned devfn, unsigned offset, uint32_t value, unsigned size) {
  if (PciDevice* d = devs_[devfn & 0xFF]) d->config_write(offset, value, size);
}

uint32_t PciBus::port_in(uint16_t port, unsigned size) {
  if (port >= kConfigData) {
    const unsigned bus = (address_ >> 16) & 0xFF;
    if (!(address_ & 0x80000000u) || bus != 0) return size >= 4 ? ~0u : (1u << (8 * size)) - 1;
    return config_read((address_ >> 8) & 0xFF, (address_ & 0xFC) + (port & 3), size);
  }
  if (port == kConfigAddress && size == 4) return address_;
  return size >= 4 ? ~0u : (1u << (8 * size)) - 1;  // byte/word at 0xCF8-0xCFB: nothing
}

void PciBus::port_out(uint16_t port, uint32_t value, unsigned size) {
  if (port >= kConfigData) {
    const unsigned bus = (address_ >> 16) & 0xFF;
    if (!(address_ & 0x80000000u) || bus != 0) return;
    config_write((address_ >> 8) & 0xFF, (address_ & 0xFC) + (port & 3), value, size);
    return;
  }
  // Bits 1:0 are reserved and read back as 0 (82441FX §3.1.1); bits 30:24 too.
  if (port == kConfigAddress && size == 4) address_ = value & 0x80FFFFFCu;
}

void PciBus::map_window(PciDevice::Bar& bar, uint64_t addr) {
  bar.window.base = addr;
  bar.mapped = addr;
  if (bar.kind == PciBar::Io) {
    m_.ports().map(static_cast<uint16_t>(addr), static_cast<uint16_t>(bar.size), &bar.window);
  } else {
    m_.bus().map_mmio(addr, bar.size, &bar.window, "pci bar");
    m_.memory_map_changed(addr, bar.size);
  }
}

void PciBus::unmap_window(PciDevice::Bar& bar) {
  const uint64_t addr = bar.mapped;
  bar.mapped = PciDevice::kUnmapped;
  if (bar.kind == PciBar::Io) {
    // Only the ports still ours: a legacy device mapped over them keeps its own.
    for (uint64_t p = addr; p < addr + bar.size; ++p)
      if (m_.ports().owner(static_cast<uint16_t>(p)) == &bar.window) m_.ports().unmap(static_cast<uint16_t>(p), 1);
  } else {
    m_.bus().unmap_mmio(&bar.window);
    m_.memory_map_changed(addr, bar.size);
  }
}

void PciBus::intx_changed(PciDevice*) {
  bool level[4] = {};
  for (PciDevice* d : devs_) {
    if (!d || !d->irq_level_ || (d->command() & kCmdIntxDisable)) continue;
    const unsigned pin = d->cfg8(kInterruptPin);
    if (pin < 1 || pin > 4) continue;
    level[pirq_of(d->slot(), pin)] = true;
  }
  for (unsigned i = 0; i < 4; ++i) {
    if (level[i] == pirq_[i]) continue;
    pirq_[i] = level[i];
    if (router_) router_->set_pirq(i, level[i]);
  }
}

bool PciBus::pirq_level(unsigned pirq) const { return pirq_[pirq & 3]; }

void PciBus::reset() {
  address_ = 0;
  for (PciDevice* d : devs_)
    if (d) d->reset_config();
}

void PciBus::save(StateWriter& w) const {
  w.begin(name());
  w.put(address_);
  for (PciDevice* d : devs_)
    if (d) d->save_config(w);
}

void PciBus::load(StateReader& r) {
  r.begin(name());
  r.get(address_);
  for (PciDevice* d : devs_)
    if (d) d->load_config(r);
}

}  // namespace kestrel::machine
