// PVH loader: see pvh.h. ELF parsing follows the System V gABI (program headers,
// note entries with 4-byte aligned name and descriptor).
#include "machine/loaders/pvh.h"

#include <elf.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "machine/loaders/file.h"
#include "machine/loaders/flat_binary.h"
#include "machine/loaders/linux_boot.h"
#include "machine/machine.h"
#include "machine/phys_bus.h"

namespace kestrel::machine {

namespace {

constexpr uint64_t k4G = 1ull << 32;
constexpr uint64_t kOneMiB = 1ull << 20;

// struct hvm_start_info (version 1) and its arrays.
constexpr size_t kSiMagic = 0x00, kSiVersion = 0x04, kSiFlags = 0x08, kSiNrModules = 0x0C, kSiModlist = 0x10,
                 kSiCmdline = 0x18, kSiRsdp = 0x20, kSiMemmap = 0x28, kSiMemmapEntries = 0x30, kSiSize = 0x38;
constexpr size_t kModlistOff = 0x40, kModEntrySize = 32, kMemmapOff = 0x80, kMemmapEntrySize = 24;

// A program header, whatever the ELF class.
struct Phdr {
  uint32_t type;
  uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

template <class T>
T get(const std::vector<uint8_t>& f, size_t off) {
  T v;
  std::memcpy(&v, f.data() + off, sizeof v);
  return v;
}
template <class T>
void put(std::vector<uint8_t>& b, size_t off, T v) {
  std::memcpy(b.data() + off, &v, sizeof v);
}

bool read_phdrs(const std::vector<uint8_t>& f, std::vector<Phdr>& out, std::string& why) {
  if (f.size() < EI_NIDENT || std::memcmp(f.data(), ELFMAG, SELFMAG) != 0) {
    why = "not an ELF file";
    return false;
  }
  if (f[EI_DATA] != ELFDATA2LSB) {
    why = "not a little-endian ELF file";
    return false;
  }
  const bool is64 = f[EI_CLASS] == ELFCLASS64;
  if (!is64 && f[EI_CLASS] != ELFCLASS32) {
    why = "unknown ELF class";
    return false;
  }
  uint64_t phoff;
  unsigned phnum, phentsize;
  if (is64) {
    if (f.size() < sizeof(Elf64_Ehdr)) { why = "truncated ELF header"; return false; }
    const auto eh = get<Elf64_Ehdr>(f, 0);
    if (eh.e_machine != EM_X86_64) { why = fmt::format("ELF machine {} is not x86-64", eh.e_machine); return false; }
    phoff = eh.e_phoff; phnum = eh.e_phnum; phentsize = eh.e_phentsize;
    if (phentsize < sizeof(Elf64_Phdr)) { why = "bad program header size"; return false; }
  } else {
    if (f.size() < sizeof(Elf32_Ehdr)) { why = "truncated ELF header"; return false; }
    const auto eh = get<Elf32_Ehdr>(f, 0);
    if (eh.e_machine != EM_386) { why = fmt::format("ELF machine {} is not i386", eh.e_machine); return false; }
    phoff = eh.e_phoff; phnum = eh.e_phnum; phentsize = eh.e_phentsize;
    if (phentsize < sizeof(Elf32_Phdr)) { why = "bad program header size"; return false; }
  }
  if (phnum == 0) { why = "no program headers"; return false; }
  if (phoff > f.size() || uint64_t{phnum} * phentsize > f.size() - phoff) {
    why = "truncated ELF file: the program headers end past the file";
    return false;
  }
  out.clear();
  for (unsigned i = 0; i < phnum; ++i) {
    const size_t o = phoff + size_t{i} * phentsize;
    Phdr p;
    if (is64) {
      const auto ph = get<Elf64_Phdr>(f, o);
      p = {ph.p_type, ph.p_offset, ph.p_vaddr, ph.p_paddr, ph.p_filesz, ph.p_memsz, ph.p_align};
    } else {
      const auto ph = get<Elf32_Phdr>(f, o);
      p = {ph.p_type, ph.p_offset, ph.p_vaddr, ph.p_paddr, ph.p_filesz, ph.p_memsz, ph.p_align};
    }
    out.push_back(p);
  }
  return true;
}

// Walks the notes in [off, off + size); true with the entry when the PVH note is there.
bool scan_notes(const std::vector<uint8_t>& f, uint64_t off, uint64_t size, uint64_t align, uint64_t& entry) {
  if (off > f.size() || size > f.size() - off) return false;
  const uint64_t a = align == 8 ? 8 : 4;
  auto up = [a](uint64_t v) { return (v + a - 1) & ~(a - 1); };
  uint64_t p = off;
  const uint64_t end = off + size;
  while (p + 12 <= end) {
    const uint32_t namesz = get<uint32_t>(f, p), descsz = get<uint32_t>(f, p + 4), type = get<uint32_t>(f, p + 8);
    const uint64_t name_at = p + 12, desc_at = name_at + up(namesz);
    if (desc_at > end || descsz > end - desc_at) return false;
    if (type == kXenElfnotePhys32Entry && namesz == 4 && std::memcmp(f.data() + name_at, "Xen", 4) == 0) {
      if (descsz == 4) entry = get<uint32_t>(f, desc_at);
      else if (descsz == 8) entry = get<uint64_t>(f, desc_at);
      else return false;
      return true;
    }
    p = desc_at + up(descsz);
  }
  return false;
}

bool find_note_in_sections(const std::vector<uint8_t>& f, uint64_t& entry) {
  const bool is64 = f[EI_CLASS] == ELFCLASS64;
  uint64_t shoff;
  unsigned shnum, shentsize;
  if (is64) {
    const auto eh = get<Elf64_Ehdr>(f, 0);
    shoff = eh.e_shoff; shnum = eh.e_shnum; shentsize = eh.e_shentsize;
    if (shentsize < sizeof(Elf64_Shdr)) return false;
  } else {
    const auto eh = get<Elf32_Ehdr>(f, 0);
    shoff = eh.e_shoff; shnum = eh.e_shnum; shentsize = eh.e_shentsize;
    if (shentsize < sizeof(Elf32_Shdr)) return false;
  }
  if (shoff == 0 || shoff > f.size() || uint64_t{shnum} * shentsize > f.size() - shoff) return false;
  for (unsigned i = 0; i < shnum; ++i) {
    const size_t o = shoff + size_t{i} * shentsize;
    uint32_t type;
    uint64_t off, size, align;
    if (is64) {
      const auto sh = get<Elf64_Shdr>(f, o);
      type = sh.sh_type; off = sh.sh_offset; size = sh.sh_size; align = sh.sh_addralign;
    } else {
      const auto sh = get<Elf32_Shdr>(f, o);
      type = sh.sh_type; off = sh.sh_offset; size = sh.sh_size; align = sh.sh_addralign;
    }
    if (type == SHT_NOTE && scan_notes(f, off, size, align, entry)) return true;
  }
  return false;
}

}  // namespace

bool find_pvh_entry(const std::vector<uint8_t>& f, uint64_t& entry, std::string& why) {
  std::vector<Phdr> ph;
  if (!read_phdrs(f, ph, why)) return false;
  for (const Phdr& p : ph)
    if (p.type == PT_NOTE && scan_notes(f, p.offset, p.filesz, p.align, entry)) return true;
  if (find_note_in_sections(f, entry)) return true;
  why = "it has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY; build Linux with CONFIG_PVH)";
  return false;
}

bool load_pvh(Machine& m, const LinuxBootSpec& spec, const std::vector<uint8_t>& f, LinuxBootImage& out,
              std::string& error) {
  const std::string& path = spec.kernel_path;
  uint64_t entry = 0;
  std::string why;
  std::vector<Phdr> ph;
  if (!find_pvh_entry(f, entry, why) || !read_phdrs(f, ph, why)) {
    error = fmt::format("'{}': {}", path, why);
    return false;
  }
  if (entry >= k4G) {
    error = fmt::format("'{}': the PVH entry point 0x{:x} is not a 32-bit physical address", path, entry);
    return false;
  }
  std::vector<UsedRange> used = initial_used_ranges(spec);
  const size_t fixed = used.size();
  uint64_t lo = ~0ull, hi = 0;
  // Check every segment before writing any.
  std::vector<const Phdr*> loads;
  for (const Phdr& p : ph) {
    if (p.type != PT_LOAD || p.memsz == 0) continue;
    const std::string what = fmt::format("ELF segment at p_paddr 0x{:x} (p_memsz 0x{:x})", p.paddr, p.memsz);
    if (p.filesz > p.memsz || p.offset > f.size() || p.filesz > f.size() - p.offset) {
      error = fmt::format("'{}': truncated or malformed ELF file: {} reaches past the file", path, what);
      return false;
    }
    if (p.paddr >= k4G || p.memsz > k4G - p.paddr) {
      error = fmt::format("'{}': {} is not below 4 GiB, where a PVH kernel starts", path, what);
      return false;
    }
    std::string rwhy;
    if (!check_ram_range(m.bus(), p.paddr, p.memsz, rwhy)) {
      error = fmt::format("'{}': {}: {}", path, what, rwhy);
      return false;
    }
    for (size_t i = 0; i < fixed; ++i) {
      if (p.paddr < used[i].end && used[i].first < p.paddr + p.memsz) {
        error = fmt::format("'{}': {} overlaps {} (0x{:x}-0x{:x})", path, what,
                            i == 0 ? "the boot data below 1 MiB" : "a --load image or firmware tables",
                            used[i].first, used[i].end);
        return false;
      }
    }
    loads.push_back(&p);
    lo = std::min(lo, p.paddr);
    hi = std::max(hi, p.paddr + p.memsz);
  }
  if (loads.empty()) {
    error = fmt::format("'{}': the ELF file has no loadable (PT_LOAD) segment", path);
    return false;
  }
  out = LinuxBootImage{};
  out.entry = LinuxEntry::Pvh;
  out.entry_point = entry;
  out.kernel_start = lo;
  out.kernel_end = hi;
  used.push_back({lo, hi});

  if (!write_cmdline(m, path, spec.cmdline, kLinuxCmdlineMax - 1, out, error)) return false;
  if (!spec.initrd_path.empty() &&
      !load_initrd(m, spec.initrd_path, std::min(m.bus().low_ram_size(), k4G), used, out, error))
    return false;

  for (const Phdr* p : loads) {
    m.bus().write(p->paddr, f.data() + p->offset, p->filesz);
    static const uint8_t kZeros[4096] = {};
    for (uint64_t z = p->filesz; z < p->memsz;) {
      const uint64_t n = std::min<uint64_t>(p->memsz - z, sizeof kZeros);
      m.bus().write(p->paddr + z, kZeros, n);
      z += n;
    }
  }

  const std::vector<E820Entry> map = build_e820(m.bus(), spec.firmware);
  std::vector<uint8_t> si(kMemmapOff + kMemmapEntrySize * map.size(), 0);
  const uint64_t base = kLinuxInfoAddr;
  put<uint32_t>(si, kSiMagic, kHvmStartMagic);
  put<uint32_t>(si, kSiVersion, 1);
  put<uint32_t>(si, kSiFlags, 0);
  put<uint64_t>(si, kSiCmdline, out.cmdline_addr);
  put<uint64_t>(si, kSiRsdp, spec.rsdp_addr);
  if (out.initrd_size) {
    put<uint32_t>(si, kSiNrModules, 1);
    put<uint64_t>(si, kSiModlist, base + kModlistOff);
    put<uint64_t>(si, kModlistOff + 0, out.initrd_start);  // paddr
    put<uint64_t>(si, kModlistOff + 8, out.initrd_size);   // size
    put<uint64_t>(si, kModlistOff + 16, 0);                // cmdline_paddr: none
  }
  put<uint64_t>(si, kSiMemmap, base + kMemmapOff);
  put<uint32_t>(si, kSiMemmapEntries, static_cast<uint32_t>(map.size()));
  for (size_t i = 0; i < map.size(); ++i) {
    const size_t o = kMemmapOff + kMemmapEntrySize * i;
    put<uint64_t>(si, o, map[i].addr);
    put<uint64_t>(si, o + 8, map[i].size);
    put<uint32_t>(si, o + 16, map[i].type);
  }
  static_assert(kSiSize <= kModlistOff && kModlistOff + kModEntrySize <= kMemmapOff);
  m.bus().write(base, si.data(), si.size());
  out.info_addr = base;
  return true;
}

}  // namespace kestrel::machine
