// QEMU's firmware configuration device (fw_cfg), the way SeaBIOS and Linux find the
// machine's description: the selector at port 0x510 (16-bit write), the data port
// 0x511 (reads stream the selected item from its start, one byte per access, or up
// to 4 with wider accesses), and the DMA interface at 0x514-0x51B.
//
// Items are byte strings under 16-bit keys: the fixed keys below (little-endian
// integers, as QEMU stores them) and named files from key 0x20 on, listed by the
// directory at key 0x19 (a big-endian u32 count, then 64-byte entries {be32 size,
// be16 key, u16 reserved, char name[56]}), kept sorted by name as QEMU does. Keys
// 0x8000 and up are the x86 "arch-local" items. A key with no item reads zeros.
//
// DMA (QEMU docs/specs/fw_cfg.rst): the guest writes the physical address of a
// big-endian descriptor {u32 control, u32 length, u64 address} to 0x514 (high half)
// and 0x518 (low half, which starts the transfer; each half big-endian, written as a
// 32-bit port value). control bits: ERROR 0x01, READ 0x02 (copy `length` bytes of
// the item to `address`; past the item's end, zeros), SKIP 0x04 (advance), SELECT
// 0x08 (select the key in bits 31:16 first), WRITE 0x10 (rejected: items are
// read-only here, as on QEMU since 2.4 for the guest-visible ones we offer). When
// done the device writes control back as 0, or ERROR on failure. Reading 0x514
// returns the signature "QEMU CFG" (big-endian 64 bits).
//
// Adding a file from another device or a loader: `fw_cfg->set_file("bootorder", bytes)`
// (names up to 55 characters; a second call replaces the contents, keeping the key).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "machine/device.h"
#include "machine/port_bus.h"

namespace kestrel::machine {

class Machine;

class FwCfg final : public Device, public PortDevice {
 public:
  static constexpr uint16_t kSelectorPort = 0x510, kDataPort = 0x511, kDmaPort = 0x514, kDmaLowPort = 0x518;
  enum Key : uint16_t {
    kSignature = 0x00, kId = 0x01, kUuid = 0x02, kRamSize = 0x03, kNoGraphic = 0x04, kNbCpus = 0x05,
    kMachineId = 0x06, kKernelAddr = 0x07, kKernelSize = 0x08, kKernelCmdline = 0x09, kInitrdAddr = 0x0A,
    kInitrdSize = 0x0B, kBootDevice = 0x0C, kNuma = 0x0D, kBootMenu = 0x0E, kMaxCpus = 0x0F,
    kKernelEntry = 0x10, kKernelData = 0x11, kInitrdData = 0x12, kCmdlineAddr = 0x13, kCmdlineSize = 0x14,
    kCmdlineData = 0x15, kSetupAddr = 0x16, kSetupSize = 0x17, kSetupData = 0x18, kFileDir = 0x19,
    kFileFirst = 0x20,
    kArchLocal = 0x8000, kAcpiTables = 0x8000, kSmbiosEntries = 0x8001, kIrq0Override = 0x8002,
    kE820Table = 0x8003, kHpet = 0x8004,
  };
  static constexpr uint32_t kIdTraditional = 1, kIdDma = 2;
  static constexpr uint32_t kDmaError = 0x01, kDmaRead = 0x02, kDmaSkip = 0x04, kDmaSelect = 0x08,
                            kDmaWrite = 0x10;
  static constexpr size_t kMaxFileName = 55;

  explicit FwCfg(Machine& m);
  void attach(PortBus& ports);

  void set_item(uint16_t key, std::vector<uint8_t> data);
  void set_u16(uint16_t key, uint16_t v);
  void set_u32(uint16_t key, uint32_t v);
  void set_u64(uint16_t key, uint64_t v);
  // Adds or replaces a named file; returns its key.
  uint16_t set_file(const std::string& name, std::vector<uint8_t> data);
  // nullptr when absent.
  const std::vector<uint8_t>* item(uint16_t key) const;
  const std::vector<uint8_t>* file(const std::string& name) const;
  uint16_t selected() const { return selector_; }

  const char* name() const override { return "fw-cfg"; }
  // Items stay (they describe the machine); the selection and offset go back to 0.
  void reset() override;
  void save(StateWriter& w) const override;
  void load(StateReader& r) override;

  uint32_t port_in(uint16_t port, unsigned size) override;
  void port_out(uint16_t port, uint32_t value, unsigned size) override;

 private:
  void select(uint16_t key);
  uint8_t next_byte();
  void rebuild_directory();
  void run_dma(uint64_t descriptor);

  Machine& m_;
  std::map<uint16_t, std::vector<uint8_t>> items_;
  std::map<std::string, uint16_t> files_;
  uint16_t next_file_key_ = kFileFirst;
  uint16_t selector_ = 0;
  uint32_t offset_ = 0;
  uint32_t dma_high_ = 0;
};

}  // namespace kestrel::machine
