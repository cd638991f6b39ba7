// The PCI bus (bus 0 only) with configuration mechanism #1, and PciDevice, the base
// class of every PCI function.
//
// Configuration mechanism #1 (PCI Local Bus Specification 3.0 §3.2.2.3.2; 82441FX
// data sheet §3.1): a dword write to 0xCF8 (CONFIG_ADDRESS) selects enable bit 31,
// bus 23:16, device 15:11, function 10:8 and the register 7:2; 0xCFC-0xCFF
// (CONFIG_DATA) then reach that dword of the function's configuration space with
// byte, word or dword accesses at any of the four offsets. Only dword accesses hit
// CONFIG_ADDRESS: a byte at 0xCF9 is the PIIX's reset control register, which keeps
// its own device. A function that does not exist reads all-ones.
//
// How to add a PCI device (IDE, VGA, ...):
//
//   class MyDevice final : public Device, public PciDevice {
//    public:
//     MyDevice(Machine& m) : PciDevice(0x8086, 0x7010, kClassIde | 0x80, /*rev*/ 0) {
//       declare_bar(4, PciBar::Io, 16);          // BAR4: 16 I/O ports
//       declare_rom(image);                      // optional: expansion ROM (offset 0x30)
//       set_interrupt_pin(1);                    // INTA#
//       init_config8(0x40, 0x00);               // device-specific registers and
//       set_writable(0x40, 2, 0xFFFF);           //   which of their bits the guest may write
//     }
//     uint32_t io_read(unsigned bar, uint32_t offset, unsigned size) override;   // BAR accesses,
//     void io_write(unsigned bar, uint32_t offset, uint32_t value, unsigned size) override;  // offsets
//     // mmio_read / mmio_write for memory BARs         // relative to the BAR's base
//     void reset() override;  // the device's own state; the bus resets configuration space
//     ...
//   };
//   auto* d = m.add_device<MyDevice>(m);
//   board.pci->add(d, /*slot*/ 1, /*function*/ 1);
//
// The bus owns the decoding: when the guest enables I/O or memory decoding in the
// command register and programs a BAR, the bus maps the BAR's ports / physical range
// to the device (and unmaps it when decoding stops or the BAR moves), flushing the
// CPU's cached translations; the device only sees offsets. bar_moved() tells a device
// that wants to know where its BAR is now. Size probing (writing all-ones and reading
// the mask back) works through the write masks that declare_bar() sets.
//
// Interrupts: set_irq(level) drives the function's INTx# pin; the bus swizzles it to a
// PIRQ line as the i440FX board wires its slots (PIRQ = (pin - 1 + slot - 1) mod 4,
// which SeaBIOS's pciinit.c and QEMU's piix agree on) and the interrupt router (the
// PIIX3, PCI config 0x60-0x63) sends each PIRQ to an ISA IRQ. Command bit 10
// (Interrupt Disable) masks the pin.
//
// Reset: PciBus::reset() restores every function's configuration space to its
// power-on values (BARs unmapped, decoding off); devices reset their own state.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "machine/device.h"
#include "machine/phys_bus.h"
#include "machine/port_bus.h"

namespace kestrel::machine {

class Machine;
class PciBus;

// Standard configuration-space offsets (type 0 header, PCI 3.0 §6.1).
namespace pci_cfg {
inline constexpr unsigned kVendorId = 0x00, kDeviceId = 0x02, kCommand = 0x04, kStatus = 0x06,
                          kRevision = 0x08, kClassProg = 0x09, kHeaderType = 0x0E, kBar0 = 0x10,
                          kSubsystemVendor = 0x2C, kSubsystemId = 0x2E, kRomBar = 0x30,
                          kInterruptLine = 0x3C, kInterruptPin = 0x3D;
inline constexpr uint16_t kCmdIo = 1u << 0, kCmdMemory = 1u << 1, kCmdBusMaster = 1u << 2,
                          kCmdIntxDisable = 1u << 10;
inline constexpr uint16_t kStatusIntx = 1u << 3;
}  // namespace pci_cfg

struct PciBar {
  enum Kind : uint8_t { None, Io, Mem32, Mem64, Mem32Prefetch };
};

class PciDevice {
 public:
  static constexpr uint64_t kUnmapped = ~0ull;
  static constexpr unsigned kRomBarIndex = 6;  // bar_address(kRomBarIndex): the expansion ROM

  // class_code: base class << 16 | subclass << 8 | programming interface.
  PciDevice(uint16_t vendor, uint16_t device, uint32_t class_code, uint8_t revision = 0);
  virtual ~PciDevice();
  PciDevice(const PciDevice&) = delete;
  PciDevice& operator=(const PciDevice&) = delete;

  // ---- Configuration space as the guest sees it (through the bus). Defaults apply the
  // write masks and keep BAR decoding up to date; override to add side effects (call the
  // base first), or override config_written() to react after a write landed.
  virtual uint32_t config_read(unsigned offset, unsigned size);
  virtual void config_write(unsigned offset, uint32_t value, unsigned size);
  virtual void config_written(unsigned offset, unsigned size) { (void)offset, (void)size; }

  // ---- BAR accesses (offsets relative to the BAR's base). Defaults float high / ignore.
  virtual uint32_t io_read(unsigned bar, uint32_t offset, unsigned size);
  virtual void io_write(unsigned bar, uint32_t offset, uint32_t value, unsigned size);
  virtual uint64_t mmio_read(unsigned bar, uint64_t offset, unsigned size);
  virtual void mmio_write(unsigned bar, uint64_t offset, uint64_t value, unsigned size);
  // A BAR started decoding at `addr`, or stopped (kUnmapped). Called after the bus remapped it.
  virtual void bar_moved(unsigned bar, uint64_t addr) { (void)bar, (void)addr; }

  // Where BAR `bar` (0-5, or kRomBarIndex) decodes now, or kUnmapped.
  uint64_t bar_address(unsigned bar) const { return bars_[bar].mapped; }
  uint16_t command() const { return static_cast<uint16_t>(cfg8(4) | cfg8(5) << 8); }
  bool bus_master() const { return command() & pci_cfg::kCmdBusMaster; }

  // Drives INTx# (the pin set_interrupt_pin() chose).
  void set_irq(bool level);
  bool irq_level() const { return irq_level_; }

  // Raw configuration bytes (no side effects): tests, and devices reading their registers.
  uint8_t cfg8(unsigned off) const { return config_[off & 0xFF]; }
  uint16_t cfg16(unsigned off) const { return static_cast<uint16_t>(cfg8(off) | cfg8(off + 1) << 8); }
  uint32_t cfg32(unsigned off) const { return cfg16(off) | static_cast<uint32_t>(cfg16(off + 2)) << 16; }

  PciBus* bus() const { return bus_; }
  uint8_t devfn() const { return devfn_; }
  unsigned slot() const { return devfn_ >> 3; }
  unsigned function() const { return devfn_ & 7; }

  // Restores the power-on configuration (the bus calls it at reset; BARs end unmapped).
  void reset_config();
  void save_config(StateWriter& w) const;
  void load_config(StateReader& r);

 protected:
  // ---- Set-up, from the constructor. init_config* set a power-on value.
  void init_config8(unsigned off, uint8_t v);
  void init_config16(unsigned off, uint16_t v);
  void init_config32(unsigned off, uint32_t v);
  // Bits of [off, off + size) the guest may change (ANDed per byte, little-endian).
  void set_writable(unsigned off, unsigned size, uint32_t mask);
  // Bits that a guest write of 1 clears (status-style registers).
  void set_write1_clear(unsigned off, unsigned size, uint32_t mask);
  // BAR n: an I/O BAR of `size` ports (a power of two, >= 4) or a memory BAR of `size`
  // bytes (a power of two, >= 16; Mem64 also takes BAR n+1).
  void declare_bar(unsigned n, PciBar::Kind kind, uint64_t size);
  // The expansion ROM (offset 0x30): the image, padded to a power of two >= 2 KiB.
  void declare_rom(std::vector<uint8_t> image);
  // 1 = INTA# ... 4 = INTD#; 0: none.
  void set_interrupt_pin(uint8_t pin);

  // Writes bypassing the masks (device-side updates of read-only registers).
  void set_config8(unsigned off, uint8_t v) { config_[off & 0xFF] = v; }
  void set_config16(unsigned off, uint16_t v);
  void set_config32(unsigned off, uint32_t v);

 private:
  friend class PciBus;
  struct Bar;
  // One decoding window: a BAR's ports or physical range, forwarding with offsets.
  struct Window final : PortDevice, MmioDevice {
    PciDevice* dev = nullptr;
    unsigned index = 0;
    uint64_t base = 0;
    uint32_t port_in(uint16_t port, unsigned size) override;
    void port_out(uint16_t port, uint32_t value, unsigned size) override;
    uint64_t mmio_read(uint64_t offset, unsigned size) override;
    void mmio_write(uint64_t offset, uint64_t value, unsigned size) override;
  };
  struct Bar {
    PciBar::Kind kind = PciBar::None;
    uint64_t size = 0;
    uint64_t mapped = kUnmapped;
    Window window;
  };
  uint64_t bar_decode_address(unsigned n) const;  // what BAR n asks for now, or kUnmapped
  void update_mappings();
  void write_byte(unsigned off, uint8_t v);

  std::array<uint8_t, 256> config_{};
  std::array<uint8_t, 256> reset_{};
  std::array<uint8_t, 256> wmask_{};
  std::array<uint8_t, 256> w1c_{};
  std::array<Bar, 7> bars_;
  std::vector<uint8_t> rom_;
  PciBus* bus_ = nullptr;
  uint8_t devfn_ = 0;
  bool irq_level_ = false;
};

// Where the PIRQ lines go (the PIIX3's PIRQ route control registers).
class PciIrqRouter {
 public:
  virtual ~PciIrqRouter() = default;
  virtual void set_pirq(unsigned pirq, bool level) = 0;
};

class PciBus final : public Device, public PortDevice {
 public:
  static constexpr uint16_t kConfigAddress = 0xCF8, kConfigData = 0xCFC;

  explicit PciBus(Machine& m);
  void attach(PortBus& ports);
  // Puts `dev` at slot:function of bus 0. The device must outlive the bus's use (both
  // belong to the machine).
  void add(PciDevice* dev, unsigned slot, unsigned function);
  PciDevice* device(unsigned slot, unsigned function) const { return devs_[(slot & 31) * 8 + (function & 7)]; }
  void set_irq_router(PciIrqRouter* r) { router_ = r; }
  Machine& machine() const { return m_; }

  // A configuration access by device/function number (what 0xCF8/0xCFC reach).
  uint32_t config_read(unsigned devfn, unsigned offset, unsigned size);
  void config_write(unsigned devfn, unsigned offset, uint32_t value, unsigned size);

  // The PIRQ line (0-3 = PIRQA#-PIRQD#) a function's INTx# pin reaches.
  static unsigned pirq_of(unsigned slot, unsigned pin) { return (pin - 1 + slot + 3) & 3; }
  bool pirq_level(unsigned pirq) const;

  const char* name() const override { return "pci-bus"; }
  void reset() override;
  void save(StateWriter& w) const override;
  void load(StateReader& r) override;
  uint32_t port_in(uint16_t port, unsigned size) override;
  void port_out(uint16_t port, uint32_t value, unsigned size) override;

 private:
  friend class PciDevice;
  void intx_changed(PciDevice* dev);
  void map_window(PciDevice::Bar& bar, uint64_t addr);
  void unmap_window(PciDevice::Bar& bar);

  Machine& m_;
  std::array<PciDevice*, 256> devs_{};
  PciIrqRouter* router_ = nullptr;
  uint32_t address_ = 0;
  bool pirq_[4] = {};
};

}  // namespace kestrel::machine
