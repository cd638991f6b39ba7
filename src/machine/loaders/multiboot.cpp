// Multiboot v1 loader (Multiboot Specification 0.6.96, §3.1 header, §3.2 machine
// state, §3.3 boot information). See multiboot.h for the choices made where the
// spec leaves room.
#include "machine/loaders/multiboot.h"

#include <elf.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "machine/cpu_state.h"
#include "machine/loaders/file.h"
#include "machine/loaders/flat_binary.h"
#include "machine/machine.h"
#include "machine/memory.h"
#include "machine/phys_bus.h"
#include "machine/segments.h"

namespace kestrel::machine {

namespace {

constexpr uint64_t kMaxKernelFile = 1ull << 30;
constexpr uint64_t k4G = 1ull << 32;
constexpr uint64_t kPage = 4096;

// Multiboot header flags (§3.1.2): bits 0-15 are requirements the loader must meet.
constexpr uint32_t kHdrPageAlignModules = 1u << 0;
constexpr uint32_t kHdrMemoryInfo = 1u << 1;
constexpr uint32_t kHdrVideoMode = 1u << 2;
constexpr uint32_t kHdrAoutKludge = 1u << 16;
constexpr uint32_t kHdrKnownRequired = kHdrPageAlignModules | kHdrMemoryInfo | kHdrVideoMode;

// Information structure flags (§3.3).
constexpr uint32_t kInfoMemory = 1u << 0;
constexpr uint32_t kInfoCmdline = 1u << 2;
constexpr uint32_t kInfoMods = 1u << 3;
constexpr uint32_t kInfoMmap = 1u << 6;
constexpr uint32_t kInfoLoaderName = 1u << 9;

// Information structure field offsets (§3.3; 116 bytes up to the framebuffer fields).
constexpr size_t kInfoSize = 116;
constexpr size_t kOffFlags = 0, kOffMemLower = 4, kOffMemUpper = 8, kOffCmdline = 16, kOffModsCount = 20,
                 kOffModsAddr = 24, kOffMmapLength = 44, kOffMmapAddr = 48, kOffLoaderName = 64;

// Flat 4 GiB descriptors, accessed bit already set so reloading them writes nothing.
constexpr uint64_t kGdtCode = 0x00CF9B000000FFFFull;  // base 0, limit 4G, 32-bit, execute/read, DPL 0
constexpr uint64_t kGdtData = 0x00CF93000000FFFFull;  // base 0, limit 4G, 32-bit, read/write, DPL 0

// The PC memory map below 1 MiB that a BIOS would report (as QEMU's e820 does).
constexpr uint64_t kEbdaStart = 0x9FC00;
constexpr uint64_t kBiosAreaStart = 0xF0000;
constexpr uint64_t kOneMiB = 0x100000;

struct Range {
  uint64_t first, end;  // [first, end)
};

uint32_t rd32(const std::vector<uint8_t>& f, size_t off) {
  uint32_t v;
  std::memcpy(&v, f.data() + off, 4);
  return v;
}

void wr32(std::vector<uint8_t>& b, size_t off, uint32_t v) { std::memcpy(b.data() + off, &v, 4); }
void wr64(std::vector<uint8_t>& b, size_t off, uint64_t v) { std::memcpy(b.data() + off, &v, 8); }

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

// The first `align`ed address at or above `lo` where `size` bytes avoid every used
// range and end by `hi`; ~0 when there is none.
uint64_t find_gap(uint64_t size, uint64_t align, uint64_t lo, uint64_t hi, const std::vector<Range>& used) {
  const uint64_t span = std::max<uint64_t>(size, 1);
  uint64_t cand = align_up(lo, align);
  for (bool moved = true; moved;) {
    moved = false;
    for (const Range& r : used) {
      if (cand < r.end && r.first < cand + span) {
        cand = align_up(r.end, align);
        moved = true;
      }
    }
  }
  return cand + span <= hi ? cand : ~0ull;
}

void zero_fill(Machine& m, uint64_t addr, uint64_t size) {
  static const uint8_t kZeros[4096] = {};
  while (size) {
    const uint64_t n = std::min<uint64_t>(size, sizeof kZeros);
    m.bus().write(addr, kZeros, n);
    addr += n;
    size -= n;
  }
}

// Checks [addr, addr + size) is 32-bit addressable plain RAM; `what` names it.
bool check_load_range(Machine& m, const std::string& path, const std::string& what, uint64_t addr, uint64_t size,
                      std::string& error) {
  if (addr + size > k4G) {
    error = fmt::format("'{}': {} at 0x{:x} ({} bytes) reaches above 4 GiB, which a multiboot kernel cannot use",
                        path, what, addr, size);
    return false;
  }
  std::string why;
  if (!check_ram_range(m.bus(), addr, size, why)) {
    error = fmt::format("'{}': {}: {}", path, what, why);
    return false;
  }
  return true;
}

bool load_elf32(Machine& m, const std::string& path, const std::vector<uint8_t>& f, MultibootImage& out,
                std::vector<Range>& loaded, std::string& error) {
  Elf32_Ehdr eh;
  if (f.size() < sizeof eh) {
    error = fmt::format("'{}': truncated ELF file ({} bytes, shorter than the ELF header)", path, f.size());
    return false;
  }
  std::memcpy(&eh, f.data(), sizeof eh);
  if (eh.e_ident[EI_DATA] != ELFDATA2LSB) {
    error = fmt::format("'{}': not a little-endian ELF file; x86 kernels are little-endian", path);
    return false;
  }
  if (eh.e_machine != EM_386) {
    error = fmt::format("'{}': ELF file for machine {}, not i386 (EM_386); build the kernel for 32-bit x86", path,
                        eh.e_machine);
    return false;
  }
  if (eh.e_type != ET_EXEC) {
    error = fmt::format("'{}': ELF type {} is not an executable (ET_EXEC); link the kernel statically at fixed "
                        "addresses",
                        path, eh.e_type);
    return false;
  }
  if (eh.e_phnum == 0 || eh.e_phentsize < sizeof(Elf32_Phdr)) {
    error = fmt::format("'{}': ELF file without usable program headers", path);
    return false;
  }
  if (uint64_t{eh.e_phoff} + uint64_t{eh.e_phnum} * eh.e_phentsize > f.size()) {
    error = fmt::format("'{}': truncated ELF file: the program headers end past its {} bytes", path, f.size());
    return false;
  }
  // Check every segment before writing any, so a bad file leaves RAM as it was.
  std::vector<Elf32_Phdr> segs;
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    Elf32_Phdr ph;
    std::memcpy(&ph, f.data() + eh.e_phoff + size_t{i} * eh.e_phentsize, sizeof ph);
    if (ph.p_type != PT_LOAD || ph.p_memsz == 0) continue;
    const std::string what = fmt::format("ELF segment {} (p_paddr 0x{:x}, p_memsz 0x{:x})", i, ph.p_paddr, ph.p_memsz);
    if (ph.p_filesz > ph.p_memsz) {
      error = fmt::format("'{}': {} has p_filesz 0x{:x} larger than p_memsz", path, what, ph.p_filesz);
      return false;
    }
    if (uint64_t{ph.p_offset} + ph.p_filesz > f.size()) {
      error = fmt::format("'{}': truncated ELF file: {} needs file bytes up to 0x{:x}, the file has {}", path, what,
                          uint64_t{ph.p_offset} + ph.p_filesz, f.size());
      return false;
    }
    if (!check_load_range(m, path, what, ph.p_paddr, ph.p_memsz, error)) return false;
    segs.push_back(ph);
  }
  if (segs.empty()) {
    error = fmt::format("'{}': the ELF file has no loadable (PT_LOAD) segment", path);
    return false;
  }
  out.entry = eh.e_entry;
  for (const Elf32_Phdr& ph : segs) {
    m.bus().write(ph.p_paddr, f.data() + ph.p_offset, ph.p_filesz);
    zero_fill(m, uint64_t{ph.p_paddr} + ph.p_filesz, ph.p_memsz - ph.p_filesz);
    loaded.push_back({ph.p_paddr, uint64_t{ph.p_paddr} + ph.p_memsz});
    // A higher-half kernel links its entry at a virtual address: paging is off at
    // entry, so jump to where that code was loaded (QEMU and GRUB 2 do the same).
    if (ph.p_vaddr != ph.p_paddr && eh.e_entry >= ph.p_vaddr && eh.e_entry - ph.p_vaddr < ph.p_memsz)
      out.entry = eh.e_entry - ph.p_vaddr + ph.p_paddr;
  }
  out.elf = true;
  return true;
}

bool load_aout_kludge(Machine& m, const std::string& path, const std::vector<uint8_t>& f, size_t hdr,
                      MultibootImage& out, std::vector<Range>& loaded, std::string& error) {
  if (hdr + 32 > f.size()) {
    error = fmt::format("'{}': the multiboot header sets flag bit 16 (a.out kludge) but the file ends before its "
                        "address fields",
                        path);
    return false;
  }
  const uint32_t header_addr = rd32(f, hdr + 12), load_addr = rd32(f, hdr + 16), load_end_addr = rd32(f, hdr + 20),
                 bss_end_addr = rd32(f, hdr + 24), entry_addr = rd32(f, hdr + 28);
  if (load_addr > header_addr) {
    error = fmt::format("'{}': multiboot header: load_addr 0x{:x} is above header_addr 0x{:x}", path, load_addr,
                        header_addr);
    return false;
  }
  const uint64_t lead = header_addr - load_addr;  // bytes loaded before the header
  if (lead > hdr) {
    error = fmt::format("'{}': multiboot header: header_addr - load_addr = 0x{:x}, but the header is at file offset "
                        "0x{:x}, so loading would start before the file",
                        path, lead, hdr);
    return false;
  }
  const uint64_t load_off = hdr - lead;
  uint64_t load_size;
  if (load_end_addr == 0) {
    load_size = f.size() - load_off;  // 0: the rest of the file (§3.1.3)
  } else {
    if (load_end_addr < load_addr) {
      error = fmt::format("'{}': multiboot header: load_end_addr 0x{:x} is below load_addr 0x{:x}", path,
                          load_end_addr, load_addr);
      return false;
    }
    load_size = load_end_addr - load_addr;
    if (load_off + load_size > f.size()) {
      error = fmt::format("'{}': truncated file: load_end_addr 0x{:x} needs {} bytes from file offset 0x{:x}, the "
                          "file has {} bytes",
                          path, load_end_addr, load_size, load_off, f.size());
      return false;
    }
  }
  const uint64_t load_end = uint64_t{load_addr} + load_size;
  uint64_t bss_end = load_end;
  if (bss_end_addr != 0) {
    if (bss_end_addr < load_end) {
      error = fmt::format("'{}': multiboot header: bss_end_addr 0x{:x} is below the end of the loaded image 0x{:x}",
                          path, bss_end_addr, load_end);
      return false;
    }
    bss_end = bss_end_addr;
  }
  if (!check_load_range(m, path, "the a.out-kludge image", load_addr, bss_end - load_addr, error)) return false;
  m.bus().write(load_addr, f.data() + load_off, load_size);
  zero_fill(m, load_end, bss_end - load_end);
  loaded.push_back({load_addr, std::max<uint64_t>(bss_end, uint64_t{load_addr} + 1)});
  out.entry = entry_addr;
  out.elf = false;
  return true;
}

struct MmapEntry {
  uint64_t base, length;
  uint32_t type;  // 1 available, 2 reserved
};

std::vector<MmapEntry> memory_map(const PhysBus& bus) {
  const uint64_t low = bus.low_ram_size();
  std::vector<MmapEntry> map;
  map.push_back({0, std::min(low, kEbdaStart), 1});
  map.push_back({kEbdaStart, 0xA0000 - kEbdaStart, 2});
  map.push_back({kBiosAreaStart, kOneMiB - kBiosAreaStart, 2});
  if (low > kOneMiB) map.push_back({kOneMiB, low - kOneMiB, 1});
  if (bus.ram_size() > PhysBus::kLowRamLimit)
    map.push_back({PhysBus::kHighRamBase, bus.ram_size() - PhysBus::kLowRamLimit, 1});
  return map;
}

struct LoadedModule {
  uint32_t start, end;
  std::string cmdline;
};

// The GDT, information structure, memory map, module list and strings, laid out
// for physical address `base`.
std::vector<uint8_t> build_info_blob(const PhysBus& bus, uint32_t base, const std::string& cmdline,
                                     const std::vector<LoadedModule>& mods) {
  const std::vector<MmapEntry> mmap = memory_map(bus);
  const size_t gdt_off = 0, info_off = 32, mmap_off = align_up(info_off + kInfoSize, 8);
  const size_t mods_off = mmap_off + 24 * mmap.size();
  size_t str_off = mods_off + 16 * mods.size();
  std::vector<uint8_t> b(str_off);
  auto add_string = [&](const std::string& s) {
    const uint32_t addr = base + static_cast<uint32_t>(b.size());
    b.insert(b.end(), s.begin(), s.end());
    b.push_back(0);
    return addr;
  };

  wr64(b, gdt_off + 8, kGdtCode);
  wr64(b, gdt_off + 16, kGdtData);

  const uint64_t low = bus.low_ram_size();
  wr32(b, info_off + kOffFlags, kInfoMemory | kInfoCmdline | kInfoMods | kInfoMmap | kInfoLoaderName);
  wr32(b, info_off + kOffMemLower, static_cast<uint32_t>(std::min(low, kEbdaStart) / 1024));
  wr32(b, info_off + kOffMemUpper, static_cast<uint32_t>(low > kOneMiB ? (low - kOneMiB) / 1024 : 0));
  wr32(b, info_off + kOffCmdline, add_string(cmdline));
  wr32(b, info_off + kOffModsCount, static_cast<uint32_t>(mods.size()));
  wr32(b, info_off + kOffModsAddr, base + static_cast<uint32_t>(mods_off));
  wr32(b, info_off + kOffMmapLength, static_cast<uint32_t>(24 * mmap.size()));
  wr32(b, info_off + kOffMmapAddr, base + static_cast<uint32_t>(mmap_off));
  wr32(b, info_off + kOffLoaderName, add_string("kestrel"));

  for (size_t i = 0; i < mmap.size(); ++i) {
    const size_t o = mmap_off + 24 * i;
    wr32(b, o, 20);  // size of the entry after this field
    wr64(b, o + 4, mmap[i].base);
    wr64(b, o + 12, mmap[i].length);
    wr32(b, o + 20, mmap[i].type);
  }
  for (size_t i = 0; i < mods.size(); ++i) {
    const size_t o = mods_off + 16 * i;
    wr32(b, o, mods[i].start);
    wr32(b, o + 4, mods[i].end);
    wr32(b, o + 8, add_string(mods[i].cmdline));
    wr32(b, o + 12, 0);
  }
  return b;
}

}  // namespace

long find_multiboot_header(const std::vector<uint8_t>& file, bool* bad_checksum) {
  if (bad_checksum) *bad_checksum = false;
  const size_t limit = std::min<size_t>(file.size(), kMultibootSearchBytes);
  for (size_t off = 0; off + 12 <= limit; off += 4) {
    if (rd32(file, off) != kMultibootHeaderMagic) continue;
    if (rd32(file, off) + rd32(file, off + 4) + rd32(file, off + 8) == 0) return static_cast<long>(off);
    if (bad_checksum) *bad_checksum = true;
  }
  return -1;
}

bool load_multiboot(Machine& m, const MultibootSpec& spec, MultibootImage& out, std::string& error) {
  const std::string& path = spec.kernel_path;
  std::vector<uint8_t> f;
  if (!read_host_file(path, kMaxKernelFile, "the largest kernel file", f, error)) return false;

  bool bad_checksum = false;
  const long hdr_pos = find_multiboot_header(f, &bad_checksum);
  const bool is_elf = f.size() >= 4 && std::memcmp(f.data(), ELFMAG, SELFMAG) == 0;
  if (hdr_pos < 0) {
    if (bad_checksum)
      error = fmt::format("'{}': multiboot header has a bad checksum (magic + flags + checksum must be 0 mod 2^32)",
                          path);
    else
      error = fmt::format("'{}' is not a multiboot kernel: no multiboot header (magic 0x1BADB002, 4-byte aligned) "
                          "in its first 8192 bytes",
                          path);
    return false;
  }
  const size_t hdr = static_cast<size_t>(hdr_pos);
  const uint32_t flags = rd32(f, hdr + 4);
  if (flags & 0xFFFF & ~kHdrKnownRequired) {
    error = fmt::format("'{}': the multiboot header requires features this loader does not know (flags 0x{:08x}; "
                        "only bits 0-2 and 16 are understood)",
                        path, flags);
    return false;
  }

  if (flags & kHdrVideoMode)
    m.report_once("multiboot-video", fmt::format("note: '{}' asks for a video mode (multiboot header flag bit 2); "
                                                 "there is no display yet, so it gets no video information",
                                                 path));

  out = MultibootImage{};
  std::vector<Range> loaded;
  if (flags & kHdrAoutKludge) {
    if (!load_aout_kludge(m, path, f, hdr, out, loaded, error)) return false;
  } else if (is_elf) {
    if (f.size() > EI_CLASS && f[EI_CLASS] == ELFCLASS64) {
      // QEMU refuses these too: multiboot v1 enters in 32-bit mode and knows only
      // 32-bit ELF. With the a.out kludge (above) the file is loaded as raw bytes.
      error = fmt::format("'{}' is a 64-bit ELF file; multiboot v1 loads only 32-bit ELF kernels (link it as "
                          "elf32-i386, or set header flag bit 16 and use the a.out-kludge addresses with a 32-bit "
                          "entry stub)",
                          path);
      return false;
    }
    if (f.size() <= EI_CLASS || f[EI_CLASS] != ELFCLASS32) {
      error = fmt::format("'{}': unknown ELF class; expected a 32-bit ELF file", path);
      return false;
    }
    if (!load_elf32(m, path, f, out, loaded, error)) return false;
  } else {
    error = fmt::format("'{}': the multiboot header has no load addresses (flag bit 16) and the file is not ELF, so "
                        "there is no way to know where to load it",
                        path);
    return false;
  }
  out.kernel_start = static_cast<uint32_t>(loaded.front().first);
  uint64_t kernel_end = 0;
  for (const Range& r : loaded) {
    out.kernel_start = static_cast<uint32_t>(std::min<uint64_t>(out.kernel_start, r.first));
    kernel_end = std::max(kernel_end, r.end);
  }
  out.kernel_end = static_cast<uint32_t>(kernel_end);

  std::vector<Range> used = loaded;
  for (const auto& [first, end] : spec.reserved) used.push_back({first, end});
  const uint64_t low_end = std::min<uint64_t>(m.bus().low_ram_size(), k4G);

  // Modules: page-aligned (the header's bit 0 asks for it; GRUB always does it) after the kernel.
  std::vector<LoadedModule> mods;
  uint64_t next = kernel_end;
  for (const MultibootModuleSpec& ms : spec.modules) {
    std::vector<uint8_t> data;
    bool too_large = false;
    if (!read_host_file(ms.path, m.bus().ram_size(), "guest RAM", data, error, &too_large)) {
      error = "boot module: " + error;
      if (too_large) error += "; give more memory with -m";
      return false;
    }
    const uint64_t at = find_gap(data.size(), kPage, next, low_end, used);
    if (at == ~0ull) {
      error = fmt::format("module '{}' ({}) does not fit in RAM below 0x{:x} after the kernel; give more memory "
                          "with -m",
                          ms.path, format_size(data.size()), low_end);
      return false;
    }
    if (!check_load_range(m, ms.path, "module", at, data.size(), error)) return false;
    m.bus().write(at, data.data(), data.size());
    used.push_back({at, at + std::max<uint64_t>(data.size(), 1)});
    mods.push_back({static_cast<uint32_t>(at), static_cast<uint32_t>(at + data.size()), ms.cmdline});
    next = at + data.size();
  }

  // The command line as GRUB and QEMU pass it: the kernel's path, then the arguments.
  const std::string cmdline = spec.append.empty() ? path : path + " " + spec.append;
  const uint64_t blob_size = align_up(build_info_blob(m.bus(), 0, cmdline, mods).size(), kPage);
  uint64_t base = find_gap(blob_size, kPage, kMultibootLowInfoBase, kMultibootLowInfoEnd, used);
  if (base == ~0ull) {
    uint64_t after = kOneMiB;
    for (const Range& r : used) after = std::max(after, r.end);
    base = find_gap(blob_size, kPage, after, low_end, used);
  }
  if (base == ~0ull) {
    error = fmt::format("'{}': no room left in RAM for the multiboot information ({}); give more memory with -m",
                        path, format_size(blob_size));
    return false;
  }
  if (!check_load_range(m, path, "the multiboot information", base, blob_size, error)) return false;
  std::vector<uint8_t> blob = build_info_blob(m.bus(), static_cast<uint32_t>(base), cmdline, mods);
  blob.resize(blob_size);
  m.bus().write(base, blob.data(), blob.size());
  out.gdt_addr = static_cast<uint32_t>(base);
  out.info_addr = static_cast<uint32_t>(base + 32);
  return true;
}

void enter_multiboot(Machine& m, const MultibootImage& img) {
  CpuState& c = m.cpu();
  m.bus().set_a20(true);
  c.a20_enabled = 1;
  for (auto& r : c.gpr) r = 0;
  c.gpr[RAX] = kMultibootBootloaderMagic;
  c.gpr[RBX] = img.info_addr;
  c.gpr[RSP] = kMultibootEntryStack;
  c.rip = img.entry;
  c.rflags = kFlagsFixed1;  // IF = VM = 0 (§3.2); the arithmetic flags are clear too
  c.lf_kind = 0;
  c.cr0 = kCr0PE | kCr0ET;  // paging off; caches on, as a loader leaves them
  c.cr4 = 0;
  c.efer = 0;
  c.gdtr = {img.gdt_addr, 3 * 8 - 1};
  c.idtr = {0, 0};
  c.cpl = 0;
  c.halted = 0;
  for (unsigned s = 0; s < kSegCount; ++s) {
    if (s == CS) load_descriptor(c.seg[s], kMultibootCodeSelector, kGdtCode);
    else load_descriptor(c.seg[s], kMultibootDataSelector, kGdtData);
  }
  update_cpu_mode(c);
  refresh_all_segments(c);
  tlb_flush(c);
}

}  // namespace kestrel::machine
