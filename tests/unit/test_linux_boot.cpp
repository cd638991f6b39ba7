// machine/loaders/linux_boot and pvh: kernel format detection, the zero page a
// bzImage gets (setup header copy, loader fields, command line, initrd, e820), the
// 64-bit and 32-bit entry states (run through the interpreter: the identity map
// and the GDT must really work), the PVH start info, and the loaders' errors.
#include <doctest/doctest.h>

#include <elf.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "interp/interpreter.h"
#include "machine/board.h"
#include "machine/loaders/linux_boot.h"
#include "machine/loaders/pvh.h"
#include "machine/machine.h"
#include "test_machine.h"

using namespace kestrel;
using namespace kestrel::machine;

namespace {

using Bytes = std::vector<uint8_t>;

template <class T>
void put(Bytes& b, size_t off, T v) {
  if (b.size() < off + sizeof v) b.resize(off + sizeof v);
  std::memcpy(b.data() + off, &v, sizeof v);
}

void append(Bytes& b, const Bytes& more) {
  const size_t at = b.size();
  b.resize(at + more.size());
  if (!more.empty()) std::memcpy(b.data() + at, more.data(), more.size());
}

// A temporary file that removes itself.
struct TempFile {
  std::string path;
  explicit TempFile(const Bytes& data) {
    static int n = 0;
    path = (std::filesystem::temp_directory_path() /
            ("kestrel-test-linux-" + std::to_string(getpid()) + "-" + std::to_string(n++)))
               .string();
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  }
  ~TempFile() { std::filesystem::remove(path); }
};

// A minimal bzImage: one setup sector after the boot sector, the setup header of
// protocol `version`, then `code` as the protected-mode kernel at file offset 0x400
// (the 64-bit entry is code offset 0x200).
Bytes make_bzimage(const Bytes& code, uint16_t version = 0x20F, uint16_t xloadflags = 0x1,
                   uint32_t init_size = 0x100000) {
  Bytes f(0x400, 0);
  f[0x1F1] = 1;  // setup_sects
  put<uint16_t>(f, 0x1FE, 0xAA55);
  f[0x200] = 0xEB;
  f[0x201] = 0x6A;  // header ends at 0x26C
  std::memcpy(f.data() + 0x202, "HdrS", 4);
  put<uint16_t>(f, 0x206, version);
  f[0x211] = 0x81;  // LOADED_HIGH | CAN_USE_HEAP
  put<uint32_t>(f, 0x214, 0x100000);
  put<uint16_t>(f, 0x224, 0xDE00);
  put<uint32_t>(f, 0x22C, 0x7FFFFFFF);
  put<uint32_t>(f, 0x230, 0x200000);
  f[0x234] = 1;  // relocatable
  put<uint16_t>(f, 0x236, xloadflags);
  put<uint32_t>(f, 0x238, 0x7FF);
  put<uint64_t>(f, 0x258, 0x1000000);
  put<uint32_t>(f, 0x260, init_size);
  append(f, code);
  return f;
}

// A minimal ELF64 with one PT_LOAD of `code` at physical `paddr` and a PT_NOTE
// holding the PVH entry `entry`.
Bytes make_pvh_elf(const Bytes& code, uint64_t paddr, uint64_t entry, bool with_note = true) {
  Bytes f(0x200, 0);
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_EXEC;
  eh.e_machine = EM_X86_64;
  eh.e_version = EV_CURRENT;
  eh.e_entry = 0xffffffff81000000ull;
  eh.e_phoff = sizeof eh;
  eh.e_ehsize = sizeof eh;
  eh.e_phentsize = sizeof(Elf64_Phdr);
  eh.e_phnum = 2;
  put(f, 0, eh);
  // The note at 0x100: "Xen\0", type 18, an 8-byte entry.
  put<uint32_t>(f, 0x100, 4);
  put<uint32_t>(f, 0x104, 8);
  put<uint32_t>(f, 0x108, with_note ? kXenElfnotePhys32Entry : 17);
  std::memcpy(f.data() + 0x10C, "Xen", 4);
  put<uint64_t>(f, 0x110, entry);
  Elf64_Phdr note{};
  note.p_type = PT_NOTE;
  note.p_offset = 0x100;
  note.p_filesz = note.p_memsz = 0x18;
  note.p_align = 4;
  put(f, sizeof eh, note);
  Elf64_Phdr load{};
  load.p_type = PT_LOAD;
  load.p_offset = 0x200;
  load.p_vaddr = 0xffffffff81000000ull;
  load.p_paddr = paddr;
  load.p_filesz = code.size();
  load.p_memsz = code.size() + 0x1000;  // some bss
  load.p_align = 0x1000;
  put(f, sizeof eh + sizeof(Elf64_Phdr), load);
  append(f, code);
  return f;
}

struct Rig {
  std::unique_ptr<Machine> m;
  std::unique_ptr<interp::Interpreter> it;
  explicit Rig(uint64_t ram = 256ull << 20) {
    m = test::new_machine(ram);
    build_basic_board(*m);
    it = std::make_unique<interp::Interpreter>(*m);
  }
  uint64_t peek(uint64_t addr, unsigned size) { return m->bus().read_uint(addr, size); }
};

// 64-bit: mov eax, [rsi+0x228] (cmd_line_ptr); mov rbx, [rax]; hlt
const Bytes kCode64 = {0x8B, 0x86, 0x28, 0x02, 0x00, 0x00, 0x48, 0x8B, 0x18, 0xF4};
// 32-bit: mov eax, [esi+0x228]; mov ebx, [eax]; hlt
const Bytes kCode32 = {0x8B, 0x86, 0x28, 0x02, 0x00, 0x00, 0x8B, 0x18, 0xF4};

}  // namespace

TEST_CASE("linux: kernel formats") {
  CHECK(detect_kernel_format(make_bzimage({})) == KernelFormat::BzImage);
  CHECK(detect_kernel_format(make_pvh_elf(kCode32, 0x1000000, 0x1000000)) == KernelFormat::PvhElf);
  CHECK(detect_kernel_format(make_pvh_elf(kCode32, 0x1000000, 0x1000000, false)) == KernelFormat::Unknown);
  Bytes mb(64, 0);
  put<uint32_t>(mb, 16, 0x1BADB002);
  put<uint32_t>(mb, 20, 0);
  put<uint32_t>(mb, 24, 0u - 0x1BADB002);
  CHECK(detect_kernel_format(mb) == KernelFormat::Multiboot);
  CHECK(detect_kernel_format(Bytes(100, 0x90)) == KernelFormat::Unknown);
}

TEST_CASE("linux: e820 map") {
  Rig r;
  SUBCASE("256 MiB") {
    auto map = build_e820(r.m->bus(), {});
    REQUIRE(map.size() == 6);
    CHECK((map[0].addr == 0 && map[0].size == 0x9FC00 && map[0].type == kE820Ram));
    CHECK((map[1].addr == 0x9FC00 && map[1].size == 0x400 && map[1].type == kE820Reserved));
    CHECK((map[2].addr == 0xE0000 && map[2].size == 0x20000 && map[2].type == kE820Reserved));
    CHECK((map[3].addr == 0x100000 && map[3].size == (256ull << 20) - 0x100000 && map[3].type == kE820Ram));
    CHECK((map[4].addr == 0xFEC00000 && map[4].type == kE820Reserved));
    CHECK((map[5].addr == 0xFEE00000 && map[5].type == kE820Reserved));
  }
  SUBCASE("firmware tables cut out of RAM") {
    auto map = build_e820(r.m->bus(), {{0x8000000, 0x8010000, kE820Acpi}});
    REQUIRE(map.size() == 8);
    CHECK((map[3].addr == 0x100000 && map[3].size == 0x8000000 - 0x100000 && map[3].type == kE820Ram));
    CHECK((map[4].addr == 0x8000000 && map[4].size == 0x10000 && map[4].type == kE820Acpi));
    CHECK((map[5].addr == 0x8010000 && map[5].size == (256ull << 20) - 0x8010000 && map[5].type == kE820Ram));
  }
}

TEST_CASE("linux: RAM above 4 GiB in the e820 map") {
  Rig r(4ull << 30);
  auto map = build_e820(r.m->bus(), {});
  CHECK((map.back().addr == 0x100000000ull && map.back().size == (4ull << 30) - 0xE0000000ull &&
         map.back().type == kE820Ram));
}

TEST_CASE("linux: bzImage zero page and the 64-bit entry") {
  Rig r;
  Bytes code(0x200, 0x90);
  append(code, kCode64);
  TempFile kernel64(make_bzimage(code));
  TempFile initrd(Bytes(10000, 0xAB));
  LinuxBootSpec spec;
  spec.kernel_path = kernel64.path;
  spec.initrd_path = initrd.path;
  spec.cmdline = "console=ttyS0 quiet";
  spec.rsdp_addr = 0xF0000;
  LinuxBootImage img;
  std::string err;
  REQUIRE_MESSAGE(load_linux(*r.m, spec, img, err), err);
  CHECK(img.entry == LinuxEntry::Long64);
  CHECK(img.entry_point == 0x1000200);
  CHECK(img.info_addr == kLinuxInfoAddr);
  const uint64_t bp = img.info_addr;
  CHECK(r.peek(bp + 0x202, 4) == 0x53726448);   // setup header copied
  CHECK(r.peek(bp + 0x1F1, 1) == 1);
  CHECK(r.peek(bp + 0x26C, 4) == 0);            // nothing past the header
  CHECK(r.peek(bp + 0x210, 1) == 0xFF);         // type_of_loader
  CHECK(r.peek(bp + 0x211, 1) == 0x01);         // LOADED_HIGH, no heap
  CHECK(r.peek(bp + 0x214, 4) == 0x1000000);    // code32_start = load address
  CHECK(r.peek(bp + 0x228, 4) == kLinuxCmdlineAddr);
  CHECK(r.peek(bp + 0x070, 8) == 0xF0000);      // acpi_rsdp_addr
  const uint64_t rd_start = r.peek(bp + 0x218, 4), rd_size = r.peek(bp + 0x21C, 4);
  CHECK(rd_size == 10000);
  CHECK(rd_start % 4096 == 0);
  CHECK(rd_start + rd_size <= (256ull << 20));
  CHECK(rd_start >= 0x1000000 + 0x100000);      // above the kernel's init_size
  CHECK(rd_start + 4096 * 3 == (256ull << 20));  // as high as possible
  CHECK(r.peek(rd_start, 1) == 0xAB);
  CHECK(r.peek(bp + 0x1E8, 1) == 6);            // e820 entries
  CHECK(r.peek(bp + 0x2D0 + 3 * 20, 8) == 0x100000);
  CHECK(r.peek(bp + 0x2D0 + 3 * 20 + 16, 4) == kE820Ram);

  enter_linux(*r.m, img);
  CpuState& c = r.m->cpu();
  CHECK(c.mode == CpuMode::Long64);
  CHECK(c.seg[CS].selector == 0x10);
  CHECK(c.seg[DS].selector == 0x18);
  CHECK((c.rflags & kIF) == 0);
  CHECK(c.gpr[RSI] == bp);
  r.it->run(100);
  CHECK_MESSAGE(c.halted, interp::Interpreter::format_state(c));
  uint64_t want;
  std::memcpy(&want, "console=", 8);
  CHECK(c.gpr[RBX] == want);  // read through the identity map
}

TEST_CASE("linux: the 32-bit entry without XLF_KERNEL_64") {
  Rig r;
  TempFile kernel(make_bzimage(kCode32, 0x20F, 0));
  LinuxBootSpec spec;
  spec.kernel_path = kernel.path;
  spec.cmdline = "abcd";
  LinuxBootImage img;
  std::string err;
  REQUIRE_MESSAGE(load_linux(*r.m, spec, img, err), err);
  CHECK(img.entry == LinuxEntry::Protected32);
  CHECK(img.entry_point == 0x1000000);
  CHECK(r.peek(img.info_addr + 0x218, 4) == 0);  // no initrd
  enter_linux(*r.m, img);
  CpuState& c = r.m->cpu();
  CHECK(c.mode == CpuMode::Protected32);
  CHECK((c.cr0 & kCr0PG) == 0);
  CHECK(c.gpr[RBP] == 0);
  CHECK(c.gpr[RDI] == 0);
  r.it->run(100);
  CHECK(c.halted);
  CHECK(static_cast<uint32_t>(c.gpr[RBX]) == 0x64636261);
}

TEST_CASE("linux: bzImage errors") {
  Rig r;
  LinuxBootImage img;
  std::string err;
  LinuxBootSpec spec;
  SUBCASE("old protocol") {
    TempFile k(make_bzimage(kCode32, 0x205));
    spec.kernel_path = k.path;
    CHECK_FALSE(load_linux(*r.m, spec, img, err));
    CHECK(err.find("boot protocol 2.05") != std::string::npos);
  }
  SUBCASE("not enough RAM for init_size") {
    TempFile k(make_bzimage(kCode32, 0x20F, 1, 0x20000000));
    spec.kernel_path = k.path;
    CHECK_FALSE(load_linux(*r.m, spec, img, err));
    CHECK(err.find("give more memory with -m") != std::string::npos);
  }
  SUBCASE("initrd does not fit") {
    Rig small(20ull << 20);
    TempFile k(make_bzimage(kCode32));
    TempFile rd(Bytes(16 << 20, 1));
    spec.kernel_path = k.path;
    spec.initrd_path = rd.path;
    CHECK_FALSE(load_linux(*small.m, spec, img, err));
    CHECK(err.find("--initrd") != std::string::npos);
  }
  SUBCASE("command line too long") {
    TempFile k(make_bzimage(kCode32));
    spec.kernel_path = k.path;
    spec.cmdline = std::string(3000, 'x');
    CHECK_FALSE(load_linux(*r.m, spec, img, err));
    CHECK(err.find("at most 2047") != std::string::npos);
  }
  SUBCASE("not a kernel") {
    TempFile k(Bytes(5000, 0));
    spec.kernel_path = k.path;
    CHECK_FALSE(load_linux(*r.m, spec, img, err));
    CHECK(err.find("not a Linux kernel") != std::string::npos);
  }
  SUBCASE("truncated") {
    Bytes b = make_bzimage(kCode32);
    b.resize(0x300);
    TempFile k(b);
    spec.kernel_path = k.path;
    CHECK_FALSE(load_linux(*r.m, spec, img, err));
    CHECK(err.find("truncated") != std::string::npos);
  }
}

TEST_CASE("pvh: ELF loading, start info and entry state") {
  Rig r;
  // mov eax, [ebx+0x18] (cmdline_paddr); mov ebx, [eax]; hlt  -- at 0x1000000
  const Bytes code = {0x8B, 0x43, 0x18, 0x8B, 0x18, 0xF4};
  TempFile kernel(make_pvh_elf(code, 0x1000000, 0x1000000));
  TempFile initrd(Bytes(5000, 0xCD));
  r.m->bus().write_uint(0x1000000 + code.size() + 16, 0x1122334455667788ull, 8);  // bss must be zeroed
  LinuxBootSpec spec;
  spec.kernel_path = kernel.path;
  spec.initrd_path = initrd.path;
  spec.cmdline = "wxyz";
  LinuxBootImage img;
  std::string err;
  REQUIRE_MESSAGE(load_linux(*r.m, spec, img, err), err);
  CHECK(img.entry == LinuxEntry::Pvh);
  const uint64_t si = img.info_addr;
  CHECK(r.peek(si + 0x00, 4) == kHvmStartMagic);
  CHECK(r.peek(si + 0x04, 4) == 1);
  CHECK(r.peek(si + 0x0C, 4) == 1);  // nr_modules
  const uint64_t mod = r.peek(si + 0x10, 8);
  CHECK(r.peek(mod + 8, 8) == 5000);
  CHECK(r.peek(r.peek(mod, 8), 1) == 0xCD);
  CHECK(r.peek(si + 0x18, 8) == kLinuxCmdlineAddr);
  const uint64_t memmap = r.peek(si + 0x28, 8);
  CHECK(r.peek(si + 0x30, 4) == 6);
  CHECK(r.peek(memmap + 3 * 24, 8) == 0x100000);
  CHECK(r.peek(memmap + 3 * 24 + 16, 4) == kE820Ram);
  CHECK(r.peek(0x1000000 + code.size() + 16, 8) == 0);
  enter_linux(*r.m, img);
  CpuState& c = r.m->cpu();
  CHECK(c.mode == CpuMode::Protected32);
  CHECK(c.gpr[RBX] == si);
  CHECK(c.tr.limit == 0x67);
  r.it->run(100);
  CHECK(c.halted);
  CHECK(static_cast<uint32_t>(c.gpr[RBX]) == 0x7A797877);
}

TEST_CASE("pvh: an ELF segment over the boot data is refused") {
  Rig r;
  TempFile kernel(make_pvh_elf({0xF4}, 0x10000, 0x10000));
  LinuxBootSpec spec;
  spec.kernel_path = kernel.path;
  LinuxBootImage img;
  std::string err;
  CHECK_FALSE(load_linux(*r.m, spec, img, err));
  CHECK(err.find("boot data below 1 MiB") != std::string::npos);
}
