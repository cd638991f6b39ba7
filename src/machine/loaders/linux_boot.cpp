// Linux boot protocol loader (Documentation/arch/x86/boot.rst). See linux_boot.h
// for the layout and the entry states; the PVH path is in pvh.cpp.
#include "machine/loaders/linux_boot.h"

#include <elf.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "machine/cpu_model.h"
#include "machine/cpu_state.h"
#include "machine/loaders/file.h"
#include "machine/loaders/flat_binary.h"
#include "machine/loaders/multiboot.h"
#include "machine/loaders/pvh.h"
#include "machine/machine.h"
#include "machine/memory.h"
#include "machine/msr.h"
#include "machine/phys_bus.h"
#include "machine/segments.h"

namespace kestrel::machine {

namespace {

constexpr uint64_t kMaxKernelFile = 1ull << 30;
constexpr uint64_t kPage = 4096;
constexpr uint64_t kOneMiB = 1ull << 20;
constexpr uint64_t k4G = 1ull << 32;

// Setup header fields: offsets in the file and in boot_params (boot.rst, "The
// real-mode kernel header", and arch/x86/include/uapi/asm/bootparam.h).
constexpr size_t kHdrStart = 0x1F1;
constexpr size_t kOffSetupSects = 0x1F1, kOffBootFlag = 0x1FE, kOffJump = 0x200, kOffMagic = 0x202,
                 kOffVersion = 0x206, kOffTypeOfLoader = 0x210, kOffLoadflags = 0x211, kOffCode32Start = 0x214,
                 kOffRamdiskImage = 0x218, kOffRamdiskSize = 0x21C, kOffHeapEndPtr = 0x224, kOffCmdLinePtr = 0x228,
                 kOffInitrdAddrMax = 0x22C, kOffKernelAlignment = 0x230, kOffRelocatable = 0x234,
                 kOffXloadflags = 0x236, kOffCmdlineSize = 0x238, kOffPrefAddress = 0x258, kOffInitSize = 0x260;
// boot_params outside the setup header.
constexpr size_t kBpAcpiRsdp = 0x070, kBpExtRamdiskImage = 0x0C0, kBpExtRamdiskSize = 0x0C4, kBpExtCmdLine = 0x0C8,
                 kBpAltMemK = 0x1E0, kBpE820Entries = 0x1E8, kBpSentinel = 0x1EF, kBpE820Table = 0x2D0;
constexpr size_t kBootParamsSize = 4096;
constexpr unsigned kE820Max = 128;  // E820_MAX_ENTRIES_ZEROPAGE

constexpr uint32_t kHdrMagic = 0x53726448;  // "HdrS"
constexpr uint8_t kLoadedHigh = 0x01, kCanUseHeap = 0x80;
constexpr uint16_t kXlfKernel64 = 0x01;
constexpr uint16_t kMinProtocol = 0x206;

// Memory-map landmarks.
constexpr uint64_t kEbdaStart = 0x9FC00, kVgaStart = 0xA0000, kBiosAreaStart = 0xE0000;
constexpr uint64_t kIoApicBase = 0xFEC00000, kLapicBase = 0xFEE00000;

// Flat descriptors with the accessed bit set (so reloading them writes nothing).
constexpr uint64_t kGdtCode64 = 0x00AF9B000000FFFFull;  // L = 1, D = 0
constexpr uint64_t kGdtCode32 = 0x00CF9B000000FFFFull;
constexpr uint64_t kGdtData = 0x00CF93000000FFFFull;

uint16_t rd16(const std::vector<uint8_t>& f, size_t off) {
  uint16_t v;
  std::memcpy(&v, f.data() + off, 2);
  return v;
}
uint32_t rd32(const std::vector<uint8_t>& f, size_t off) {
  uint32_t v;
  std::memcpy(&v, f.data() + off, 4);
  return v;
}
uint64_t rd64(const std::vector<uint8_t>& f, size_t off) {
  uint64_t v;
  std::memcpy(&v, f.data() + off, 8);
  return v;
}
template <class T>
void wr(std::vector<uint8_t>& b, size_t off, T v) {
  std::memcpy(b.data() + off, &v, sizeof v);
}

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

bool overlaps(uint64_t first, uint64_t end, const std::vector<UsedRange>& used) {
  for (const UsedRange& r : used)
    if (first < r.end && r.first < end) return true;
  return false;
}

bool is_bzimage(const std::vector<uint8_t>& f) { return f.size() >= 0x210 && rd32(f, kOffMagic) == kHdrMagic; }

// ---- bzImage ------------------------------------------------------------------------------

bool load_bzimage(Machine& m, const LinuxBootSpec& spec, const std::vector<uint8_t>& f, LinuxBootImage& out,
                  std::string& error) {
  const std::string& path = spec.kernel_path;
  const uint16_t version = rd16(f, kOffVersion);
  if (version < kMinProtocol) {
    error = fmt::format("'{}' uses Linux boot protocol {}.{:02}; Kestrel needs 2.06 or later (kernels since 2.6.22)",
                        path, version >> 8, version & 0xFF);
    return false;
  }
  if (rd16(f, kOffBootFlag) != 0xAA55) {
    error = fmt::format("'{}': the setup header's boot_flag at 0x1FE is 0x{:04x}, not 0xAA55; the file is damaged",
                        path, rd16(f, kOffBootFlag));
    return false;
  }
  unsigned setup_sects = f[kOffSetupSects];
  if (setup_sects == 0) setup_sects = 4;  // boot.rst: "if this field is 0, the real value is 4"
  const size_t pm_offset = (size_t{setup_sects} + 1) * 512;
  const size_t hdr_end = kOffJump + 2 + f[kOffJump + 1];  // 0x202 + the jump's displacement
  if (f.size() <= pm_offset || hdr_end > f.size() || hdr_end > kBootParamsSize) {
    error = fmt::format("'{}': truncated bzImage ({} bytes; the {} setup sectors alone need {})", path, f.size(),
                        setup_sects, pm_offset);
    return false;
  }
  const uint8_t loadflags = f[kOffLoadflags];
  if (!(loadflags & kLoadedHigh)) {
    error = fmt::format("'{}' is a zImage (loaded low, at 0x10000); only bzImage kernels are supported", path);
    return false;
  }
  const uint64_t pm_size = f.size() - pm_offset;
  const bool relocatable = f[kOffRelocatable] != 0;
  const uint64_t kernel_alignment = rd32(f, kOffKernelAlignment);
  const uint16_t xloadflags = version >= 0x20C ? rd16(f, kOffXloadflags) : 0;
  const uint64_t pref_address = version >= 0x20A ? rd64(f, kOffPrefAddress) : kOneMiB;
  // init_size (2.10+): the memory the kernel needs from its load address while it
  // decompresses and starts; older kernels do not say, so assume the usual 4x.
  const uint64_t init_size = version >= 0x20A ? rd32(f, kOffInitSize) : pm_size * 4;
  const uint32_t initrd_addr_max = rd32(f, kOffInitrdAddrMax);
  const uint32_t cmdline_size = rd32(f, kOffCmdlineSize);

  // A relocatable kernel goes where it prefers (it would move itself there anyway);
  // a fixed one where its 32-bit code expects it.
  uint64_t load = kOneMiB;
  if (relocatable && pref_address >= kOneMiB) {
    load = pref_address;
    if (kernel_alignment && (kernel_alignment & (kernel_alignment - 1)) == 0) load = align_up(load, kernel_alignment);
  }
  const uint64_t need = std::max(init_size, pm_size);
  const uint64_t low_end = std::min(m.bus().low_ram_size(), k4G);
  if (load + need > low_end) {
    error = fmt::format("'{}' needs RAM up to 0x{:x} (loaded at 0x{:x}, init_size {}) but guest RAM below 4 GiB "
                        "ends at 0x{:x}; give more memory with -m (at least {} MiB)",
                        path, load + need, load, format_size(need), low_end, (load + need + (8 << 20)) >> 20);
    return false;
  }
  std::vector<UsedRange> used = initial_used_ranges(spec);
  if (overlaps(load, load + need, used)) {
    error = fmt::format("'{}': the kernel's memory 0x{:x}-0x{:x} overlaps a --load image or firmware tables", path,
                        load, load + need);
    return false;
  }
  std::string why;
  if (!check_ram_range(m.bus(), load, need, why)) {
    error = fmt::format("'{}': the kernel: {}", path, why);
    return false;
  }

  // The zero page: the setup header as the file has it, then what a loader fills in.
  std::vector<uint8_t> bp(kBootParamsSize, 0);
  std::memcpy(bp.data() + kHdrStart, f.data() + kHdrStart, hdr_end - kHdrStart);
  bp[kOffTypeOfLoader] = 0xFF;  // "undefined" loader: no assigned id
  bp[kOffLoadflags] = static_cast<uint8_t>((loadflags | kLoadedHigh) & ~kCanUseHeap);
  wr<uint16_t>(bp, kOffHeapEndPtr, 0);
  wr<uint32_t>(bp, kOffCode32Start, static_cast<uint32_t>(load));
  bp[kBpSentinel] = 0;

  out = LinuxBootImage{};
  out.protocol = version;
  out.kernel_start = load;
  out.kernel_end = load + need;
  used.push_back({load, load + need});

  if (!write_cmdline(m, path, spec.cmdline, cmdline_size ? cmdline_size : 255, out, error)) return false;
  wr<uint32_t>(bp, kOffCmdLinePtr, static_cast<uint32_t>(out.cmdline_addr));
  wr<uint32_t>(bp, kBpExtCmdLine, 0);

  if (!spec.initrd_path.empty()) {
    const uint64_t limit = std::min<uint64_t>(uint64_t{initrd_addr_max} + 1, low_end);
    if (!load_initrd(m, spec.initrd_path, limit, used, out, error)) return false;
    wr<uint32_t>(bp, kOffRamdiskImage, static_cast<uint32_t>(out.initrd_start));
    wr<uint32_t>(bp, kOffRamdiskSize, static_cast<uint32_t>(out.initrd_size));
    wr<uint32_t>(bp, kBpExtRamdiskImage, static_cast<uint32_t>(out.initrd_start >> 32));
    wr<uint32_t>(bp, kBpExtRamdiskSize, static_cast<uint32_t>(out.initrd_size >> 32));
  }

  const std::vector<E820Entry> map = build_e820(m.bus(), spec.firmware);
  const size_t n = std::min<size_t>(map.size(), kE820Max);
  for (size_t i = 0; i < n; ++i) {
    wr<uint64_t>(bp, kBpE820Table + 20 * i, map[i].addr);
    wr<uint64_t>(bp, kBpE820Table + 20 * i + 8, map[i].size);
    wr<uint32_t>(bp, kBpE820Table + 20 * i + 16, map[i].type);
  }
  bp[kBpE820Entries] = static_cast<uint8_t>(n);
  // alt_mem_k: KiB above 1 MiB (the pre-e820 BIOS call's answer), for completeness.
  wr<uint32_t>(bp, kBpAltMemK, static_cast<uint32_t>(std::min<uint64_t>((low_end - kOneMiB) >> 10, 0xFFFFFFFF)));
  if (spec.rsdp_addr) wr<uint64_t>(bp, kBpAcpiRsdp, spec.rsdp_addr);

  m.bus().write(load, f.data() + pm_offset, pm_size);
  m.bus().write(kLinuxInfoAddr, bp.data(), bp.size());
  out.info_addr = kLinuxInfoAddr;
  const bool long_mode = (xloadflags & kXlfKernel64) && m.cpu_model().has(Feature::Lm);
  out.entry = long_mode ? LinuxEntry::Long64 : LinuxEntry::Protected32;
  out.entry_point = long_mode ? load + 0x200 : load;
  return true;
}

}  // namespace

// ---- shared helpers -----------------------------------------------------------------------

KernelFormat detect_kernel_format(const std::vector<uint8_t>& f) {
  if (is_bzimage(f)) return KernelFormat::BzImage;
  if (find_multiboot_header(f) >= 0) return KernelFormat::Multiboot;
  uint64_t entry;
  std::string why;
  if (find_pvh_entry(f, entry, why)) return KernelFormat::PvhElf;
  return KernelFormat::Unknown;
}

bool read_kernel_format(const std::string& path, KernelFormat& out, std::string& error) {
  std::vector<uint8_t> f;
  if (!read_host_file(path, kMaxKernelFile, "the largest kernel file", f, error)) return false;
  out = detect_kernel_format(f);
  return true;
}

const char* kernel_format_name(KernelFormat f) {
  switch (f) {
    case KernelFormat::BzImage: return "Linux bzImage";
    case KernelFormat::Multiboot: return "multiboot kernel";
    case KernelFormat::PvhElf: return "ELF kernel with a PVH entry";
    default: return "unknown";
  }
}

std::vector<E820Entry> build_e820(const PhysBus& bus, const std::vector<FirmwareRegion>& firmware) {
  const uint64_t low = bus.low_ram_size();
  std::vector<E820Entry> map;
  map.push_back({0, std::min(low, kEbdaStart), kE820Ram});
  if (low > kEbdaStart) map.push_back({kEbdaStart, kVgaStart - kEbdaStart, kE820Reserved});
  map.push_back({kBiosAreaStart, kOneMiB - kBiosAreaStart, kE820Reserved});
  if (low > kOneMiB) {
    // RAM from 1 MiB, with the firmware regions cut out of it.
    std::vector<FirmwareRegion> fw;
    for (const FirmwareRegion& r : firmware)
      if (r.end > r.start && r.start >= kOneMiB && r.start < low) fw.push_back({r.start, std::min(r.end, low), r.type});
    std::sort(fw.begin(), fw.end(), [](const FirmwareRegion& a, const FirmwareRegion& b) { return a.start < b.start; });
    uint64_t at = kOneMiB;
    for (const FirmwareRegion& r : fw) {
      const uint64_t start = std::max(r.start, at);
      if (r.end <= start) continue;
      if (start > at) map.push_back({at, start - at, kE820Ram});
      map.push_back({start, r.end - start, r.type});
      at = r.end;
    }
    if (low > at) map.push_back({at, low - at, kE820Ram});
  }
  // The IOAPIC and local APIC pages: not RAM, but firmware reports them so the OS
  // places nothing (PCI BARs) there.
  map.push_back({kIoApicBase, kPage, kE820Reserved});
  map.push_back({kLapicBase, kPage, kE820Reserved});
  if (bus.ram_size() > low) map.push_back({PhysBus::kHighRamBase, bus.ram_size() - low, kE820Ram});
  return map;
}

std::vector<UsedRange> initial_used_ranges(const LinuxBootSpec& spec) {
  std::vector<UsedRange> used;
  used.push_back({0, kOneMiB});  // boot data, the EBDA and BIOS area
  for (const auto& [first, end] : spec.reserved) used.push_back({first, end});
  for (const FirmwareRegion& r : spec.firmware) used.push_back({r.start, r.end});
  return used;
}

bool write_cmdline(Machine& m, const std::string& path, const std::string& cmdline, uint64_t max_len,
                   LinuxBootImage& out, std::string& error) {
  const uint64_t limit = std::min<uint64_t>(max_len, kLinuxCmdlineMax - 1);
  if (cmdline.size() > limit) {
    error = fmt::format("'{}': the command line (--append) is {} bytes; this kernel takes at most {}", path,
                        cmdline.size(), limit);
    return false;
  }
  std::vector<uint8_t> b(cmdline.begin(), cmdline.end());
  b.push_back(0);
  m.bus().write(kLinuxCmdlineAddr, b.data(), b.size());
  out.cmdline_addr = kLinuxCmdlineAddr;
  return true;
}

bool load_initrd(Machine& m, const std::string& path, uint64_t limit, std::vector<UsedRange>& used,
                 LinuxBootImage& out, std::string& error) {
  std::vector<uint8_t> data;
  bool too_large = false;
  if (!read_host_file(path, m.bus().ram_size(), "guest RAM", data, error, &too_large)) {
    error = "--initrd: " + error;
    if (too_large) error += "; give more memory with -m";
    return false;
  }
  const uint64_t size = data.size();
  const uint64_t span = std::max<uint64_t>(align_up(size, kPage), kPage);
  limit = std::min(limit, std::min(m.bus().low_ram_size(), k4G)) & ~(kPage - 1);
  // From the top down: below the limit, then below whatever is in the way.
  uint64_t cand = limit >= span ? limit - span : ~0ull;
  for (bool moved = true; moved && cand != ~0ull;) {
    moved = false;
    for (const UsedRange& r : used) {
      if (cand < r.end && r.first < cand + span) {
        cand = r.first >= span ? (r.first - span) & ~(kPage - 1) : ~0ull;
        moved = true;
        break;
      }
    }
  }
  if (cand == ~0ull || cand < kOneMiB) {
    error = fmt::format("--initrd: '{}' ({}) does not fit in RAM below 0x{:x} next to the kernel; give more memory "
                        "with -m",
                        path, format_size(size), limit);
    return false;
  }
  std::string why;
  if (!check_ram_range(m.bus(), cand, span, why)) {
    error = fmt::format("--initrd: '{}': {}", path, why);
    return false;
  }
  m.bus().write(cand, data.data(), data.size());
  used.push_back({cand, cand + span});
  out.initrd_start = cand;
  out.initrd_size = size;
  return true;
}

bool load_linux(Machine& m, const LinuxBootSpec& spec, LinuxBootImage& out, std::string& error) {
  std::vector<uint8_t> f;
  if (!read_host_file(spec.kernel_path, kMaxKernelFile, "the largest kernel file", f, error)) return false;
  if (is_bzimage(f)) return load_bzimage(m, spec, f, out, error);
  uint64_t entry;
  std::string why;
  if (find_pvh_entry(f, entry, why)) return load_pvh(m, spec, f, out, error);
  if (f.size() >= SELFMAG && std::memcmp(f.data(), ELFMAG, SELFMAG) == 0)
    error = fmt::format("'{}' is an ELF file but not bootable as Linux: {}", spec.kernel_path, why);
  else
    error = fmt::format("'{}' is not a Linux kernel: no bzImage setup header (\"HdrS\" at offset 0x202) and not an "
                        "ELF file with a PVH entry note",
                        spec.kernel_path);
  return false;
}

void enter_linux(Machine& m, const LinuxBootImage& img) {
  CpuState& c = m.cpu();
  const bool long_mode = img.entry == LinuxEntry::Long64;
  // GDT: null, null, 0x10 code, 0x18 data (the boot protocol's __BOOT_CS/__BOOT_DS).
  const uint64_t code = long_mode ? kGdtCode64 : kGdtCode32;
  const uint64_t gdt[4] = {0, 0, code, kGdtData};
  m.bus().write(kLinuxGdtAddr, gdt, sizeof gdt);
  if (long_mode) {
    // Identity map of the first 4 GiB: PML4[0] -> PDPT, PDPT[0..3] -> 4 PDs of 2 MiB pages.
    std::vector<uint64_t> t(6 * 512, 0);
    t[0] = (kLinuxPml4Addr + kPage) | 0x3;  // present, writable
    for (unsigned i = 0; i < 4; ++i) t[512 + i] = (kLinuxPml4Addr + (2 + i) * kPage) | 0x3;
    for (unsigned i = 0; i < 4 * 512; ++i) t[1024 + i] = (uint64_t{i} << 21) | 0x83;  // present, writable, 2 MiB
    m.bus().write(kLinuxPml4Addr, t.data(), t.size() * 8);
  }

  m.bus().set_a20(true);
  c.a20_enabled = 1;
  for (auto& r : c.gpr) r = 0;
  c.gpr[RSP] = kLinuxStackTop;
  if (img.entry == LinuxEntry::Pvh) c.gpr[RBX] = img.info_addr;
  else c.gpr[RSI] = img.info_addr;
  c.rip = img.entry_point;
  c.rflags = kFlagsFixed1;  // IF = 0
  c.lf_kind = 0;
  c.cr0 = kCr0PE | kCr0ET | (long_mode ? kCr0PG : 0);
  c.cr3 = long_mode ? kLinuxPml4Addr : 0;
  c.cr4 = long_mode ? 0x20 : 0;  // PAE
  c.efer = long_mode ? (kEferLme | kEferLma) : 0;
  c.gdtr = {kLinuxGdtAddr, sizeof gdt - 1};
  c.idtr = {0, 0};
  c.cpl = 0;
  c.halted = 0;
  for (unsigned s = 0; s < kSegCount; ++s) {
    if (s == CS) load_descriptor(c.seg[s], kLinuxBootCs, code);
    else load_descriptor(c.seg[s], kLinuxBootDs, kGdtData);
  }
  if (img.entry == LinuxEntry::Pvh) {
    // PVH asks for an active 32-bit TSS with base 0 and limit 0x67 in TR.
    c.tr.selector = 0;
    c.tr.base = 0;
    c.tr.limit = 0x67;
    c.tr.attr = 0x8B;  // present, 32-bit busy TSS
  }
  update_cpu_mode(c);
  refresh_all_segments(c);
  tlb_flush(c);
}

}  // namespace kestrel::machine
