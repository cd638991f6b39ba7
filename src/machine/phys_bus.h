// PhysBus: the guest physical address space (RAM, ROM, MMIO) and the A20 gate.
//
// RAM is one anonymous mmap, so a large guest costs nothing until it touches
// its memory. RAM sits below kLowRamLimit and the rest above 4 GiB, as on a PC.
// ROM and MMIO regions overlay RAM. Every access is bounds-checked here: a guest
// address that maps nothing reads as all-ones and ignores writes, and no guest
// action reaches host memory outside RAM.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kestrel::machine {

// A device mapped into physical memory. Offsets are relative to the region base.
class MmioDevice {
 public:
  virtual ~MmioDevice() = default;
  virtual uint64_t mmio_read(uint64_t offset, unsigned size) = 0;
  virtual void mmio_write(uint64_t offset, uint64_t value, unsigned size) = 0;
};

// Told when a physical page that holds decoded or translated code is written.
class CodeWriteListener {
 public:
  virtual ~CodeWriteListener() = default;
  virtual void code_page_written(uint64_t page_addr) = 0;
};

// --jit verify: every RAM byte written (host pointer and old value) and whether a
// device was touched, so a block's effects can be undone and compared.
struct WriteJournal {
  std::vector<std::pair<uint8_t*, uint8_t>> bytes;
  bool side_effects = false;
};

class PhysBus {
 public:
  static constexpr uint64_t kLowRamLimit = 0xE0000000ull;  // PCI hole above, as QEMU's pc
  static constexpr uint64_t kHighRamBase = 0x100000000ull;

  PhysBus() = default;
  ~PhysBus();
  PhysBus(const PhysBus&) = delete;
  PhysBus& operator=(const PhysBus&) = delete;

  // Reserves guest RAM; returns false with a message on failure.
  bool init_ram(uint64_t bytes, std::string& error);
  uint64_t ram_size() const { return ram_size_; }
  uint64_t low_ram_size() const { return ram_size_ < kLowRamLimit ? ram_size_ : kLowRamLimit; }

  // Maps a read-only image; writes to it are ignored. Later maps win over earlier ones.
  void map_rom(uint64_t base, const std::vector<uint8_t>& data, std::string name);
  void map_mmio(uint64_t base, uint64_t size, MmioDevice* device, std::string name);
  // Removes every MMIO region of `device` (a relocatable window such as the local APIC's).
  void unmap_mmio(MmioDevice* device);

  // Host pointer to a whole RAM page for reading / writing, or nullptr when the
  // page is not plain RAM (ROM reads do return a pointer; ROM writes do not).
  uint8_t* page_for_read(uint64_t page_addr);
  uint8_t* page_for_write(uint64_t page_addr);

  // Byte-granular access for slow paths and devices; crosses region borders.
  void read(uint64_t addr, void* out, size_t size);
  void write(uint64_t addr, const void* in, size_t size);      // a CPU write
  void dma_write(uint64_t addr, const void* in, size_t size) { write(addr, in, size); }
  uint64_t read_uint(uint64_t addr, unsigned size);
  void write_uint(uint64_t addr, uint64_t value, unsigned size);

  // RAM offset of a physical address, or ~0 when it is not RAM.
  uint64_t ram_offset(uint64_t addr) const;
  uint8_t* ram() { return ram_; }

  // Code tracking: pages (by physical page number) that hold decoded code.
  void set_code_listener(CodeWriteListener* l) { code_listener_ = l; }
  void mark_code_page(uint64_t page_addr);
  void clear_code_page(uint64_t page_addr);
  bool is_code_page(uint64_t page_addr) const;

  // While set, RAM writes through the bus are journaled (see WriteJournal).
  void set_journal(WriteJournal* j) { journal_ = j; }
  WriteJournal* journal() const { return journal_; }

  // Shadow RAM under the BIOS area (the i440FX's PAM registers, 82441FX data sheet
  // §3.2.18). Off by default: ROM and MMIO regions overlay RAM as everywhere else.
  // Once a range has been set, each 4 KiB page of [kShadowBase, kShadowEnd) reads from
  // RAM when `read_ram`, else from what is mapped over it (the BIOS ROM; nothing reads
  // all-ones, as the PCI bus floats), and writes go to RAM when `write_ram`, else
  // nowhere. Returns true when a page changed; the caller then tells the machine
  // (Machine::memory_map_changed) so cached translations and decoded code go.
  static constexpr uint64_t kShadowBase = 0xC0000, kShadowEnd = 0x100000;
  bool set_shadow(uint64_t base, uint64_t size, bool read_ram, bool write_ram);
  // Calls the code listener for every code page in [base, base + size) (its contents changed
  // without a write: a mapping moved).
  void notify_code_pages(uint64_t base, uint64_t size);

  // A20 gate (port 0x92, i8042): when off, physical address bit 20 is forced to 0.
  bool a20() const { return a20_; }
  void set_a20(bool on) { a20_ = on; }
  uint64_t a20_mask() const { return a20_ ? ~0ull : ~(1ull << 20); }

 private:
  struct Region {
    uint64_t base;
    uint64_t size;
    const uint8_t* rom;   // non-null for ROM
    MmioDevice* device;   // non-null for MMIO
    std::string name;
  };
  const Region* find_region(uint64_t addr) const;
  // Shadow state of `addr`'s page: kShadowNone outside an enabled shadow range.
  static constexpr uint8_t kShadowNone = 0, kShadowOn = 1, kShadowRead = 2, kShadowWrite = 4;
  uint8_t shadow_of(uint64_t addr) const {
    return addr - kShadowBase < kShadowEnd - kShadowBase ? shadow_[(addr - kShadowBase) >> 12] : kShadowNone;
  }
  // Marks the RAM pages a ROM or MMIO region covers (they take the region path).
  void rebuild_overlay();
  // Host pointer for a plain RAM access within one page below kLowRamLimit, or null.
  uint8_t* plain_ram(uint64_t addr, size_t size) const {
    const uint64_t low = low_ram_size(), page = addr >> 12;
    if (addr >= low || size > low - addr || size == 0 || ((addr + size - 1) >> 12) != page || overlay_pages_[page])
      return nullptr;
    return ram_ + addr;
  }
  void write_ram_byte_range(uint64_t off, const uint8_t* in, size_t n, uint64_t addr);

  uint8_t* ram_ = nullptr;
  uint64_t ram_size_ = 0;
  uint64_t map_size_ = 0;
  std::vector<Region> regions_;
  std::vector<std::vector<uint8_t>> rom_images_;
  std::vector<uint8_t> code_pages_;  // one byte per RAM page
  std::vector<uint8_t> overlay_pages_;  // one byte per low RAM page: a region covers part of it
  CodeWriteListener* code_listener_ = nullptr;
  WriteJournal* journal_ = nullptr;
  bool a20_ = true;
  uint8_t shadow_[(kShadowEnd - kShadowBase) >> 12] = {};
};

}  // namespace kestrel::machine
