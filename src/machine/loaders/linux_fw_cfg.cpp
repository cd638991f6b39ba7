#include "machine/loaders/linux_fw_cfg.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "linuxboot_rom.h"
#include "machine/devices/fw_cfg.h"
#include "machine/loaders/file.h"
#include "machine/loaders/linux_boot.h"
#include "machine/machine.h"

namespace kestrel::machine {

namespace {

constexpr uint64_t kMaxKernelFile = 1ull << 30;
constexpr uint32_t kSetupAddr = 0x10000, kCmdlineAddr = 0x20000, kProtAddr = 0x100000;
constexpr uint64_t kBiosHighReserve = 1ull << 20;  // kept free below the top of low RAM
// Setup header offsets (boot.rst, "The Real-Mode Kernel Header").
constexpr size_t kOffSetupSects = 0x1F1, kOffMagic = 0x202, kOffVersion = 0x206, kOffTypeOfLoader = 0x210,
                 kOffLoadflags = 0x211, kOffRamdiskImage = 0x218, kOffRamdiskSize = 0x21C,
                 kOffHeapEndPtr = 0x224, kOffCmdLinePtr = 0x228, kOffInitrdAddrMax = 0x22C,
                 kOffCmdlineSize = 0x238;
constexpr uint8_t kLoadedHigh = 0x01, kCanUseHeap = 0x80;

uint32_t le32(const std::vector<uint8_t>& b, size_t off) {
  return b[off] | b[off + 1] << 8 | b[off + 2] << 16 | static_cast<uint32_t>(b[off + 3]) << 24;
}
void put32(std::vector<uint8_t>& b, size_t off, uint32_t v) {
  for (unsigned i = 0; i < 4; ++i) b[off + i] = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace

std::vector<uint8_t> linuxboot_rom_image() {
  std::vector<uint8_t> rom(kLinuxbootRom, kLinuxbootRom + sizeof kLinuxbootRom);
  rom.resize((rom.size() + 511) / 512 * 512, 0);
  rom[2] = static_cast<uint8_t>(rom.size() / 512);
  // PnP expansion header checksum: its length (in 16-byte units, byte 5) sums to 0.
  const size_t pnp = rom[0x1A] | rom[0x1B] << 8;
  if (pnp + 32 <= rom.size() && std::memcmp(&rom[pnp], "$PnP", 4) == 0) {
    const size_t len = rom[pnp + 5] * 16u;
    rom[pnp + 9] = 0;
    uint8_t sum = 0;
    for (size_t i = 0; i < len; ++i) sum = static_cast<uint8_t>(sum + rom[pnp + i]);
    rom[pnp + 9] = static_cast<uint8_t>(-sum);
  }
  // The whole ROM sums to 0 (the last byte is the checksum byte).
  rom.back() = 0;
  uint8_t sum = 0;
  for (uint8_t b : rom) sum = static_cast<uint8_t>(sum + b);
  rom.back() = static_cast<uint8_t>(-sum);
  return rom;
}

bool stage_linux_in_fw_cfg(Machine& m, FwCfg& fw, const LinuxBootSpec& spec, std::string& error) {
  std::vector<uint8_t> f;
  if (!read_host_file(spec.kernel_path, kMaxKernelFile, "the largest kernel file", f, error)) return false;
  if (f.size() < 0x1000 || std::memcmp(&f[kOffMagic], "HdrS", 4) != 0) {
    error = fmt::format("'{}' is not a Linux bzImage (no \"HdrS\" setup header); with --bios only bzImage "
                        "kernels boot through the BIOS", spec.kernel_path);
    return false;
  }
  const unsigned version = f[kOffVersion] | f[kOffVersion + 1] << 8;
  if (version < 0x202 || !(f[kOffLoadflags] & kLoadedHigh)) {
    error = fmt::format("'{}' uses Linux boot protocol {}.{:02}{}; the BIOS path needs a bzImage with "
                        "protocol 2.02 or later", spec.kernel_path, version >> 8, version & 0xFF,
                        (f[kOffLoadflags] & kLoadedHigh) ? "" : " and is not loaded high (a zImage)");
    return false;
  }
  unsigned setup_sects = f[kOffSetupSects];
  if (setup_sects == 0) setup_sects = 4;  // boot.rst: "if this field is 0, the real value is 4"
  const size_t setup_size = (size_t{setup_sects} + 1) * 512;
  if (setup_size >= f.size() || setup_size > kCmdlineAddr - kSetupAddr - 0x200) {
    error = fmt::format("'{}': setup code of {} sectors does not fit the file or the real-mode area",
                        spec.kernel_path, setup_sects);
    return false;
  }
  std::vector<uint8_t> setup(f.begin(), f.begin() + static_cast<std::ptrdiff_t>(setup_size));
  std::vector<uint8_t> kernel(f.begin() + static_cast<std::ptrdiff_t>(setup_size), f.end());

  // The command line (with its NUL), within the kernel's limit.
  const uint64_t cmdline_max = version >= 0x206 ? le32(f, kOffCmdlineSize) : 255;
  if (spec.cmdline.size() > cmdline_max || spec.cmdline.size() >= 0x10000) {
    error = fmt::format("--append: the command line is {} bytes; '{}' takes at most {}", spec.cmdline.size(),
                        spec.kernel_path, std::min<uint64_t>(cmdline_max, 0xFFFF));
    return false;
  }
  std::vector<uint8_t> cmdline(spec.cmdline.begin(), spec.cmdline.end());
  cmdline.push_back(0);

  // The initrd, as high as the kernel and RAM allow.
  std::vector<uint8_t> initrd;
  uint32_t initrd_addr = 0;
  if (!spec.initrd_path.empty()) {
    bool too_large = false;
    if (!read_host_file(spec.initrd_path, m.bus().ram_size(), "guest RAM", initrd, error, &too_large)) {
      if (!error.empty() && error.find("--initrd") == std::string::npos) error = "--initrd: " + error;
      return false;
    }
    const uint64_t addr_max = version >= 0x203 ? le32(f, kOffInitrdAddrMax) : 0x37FFFFFF;
    const uint64_t low = m.bus().low_ram_size();
    const uint64_t top = std::min<uint64_t>(addr_max + 1, low > kBiosHighReserve ? low - kBiosHighReserve : 0);
    const uint64_t kernel_end = kProtAddr + kernel.size();
    if (top < initrd.size() || ((top - initrd.size()) & ~0xFFFull) < kernel_end) {
      error = fmt::format("--initrd: '{}' ({}) does not fit in guest RAM below {:#x} above the kernel; give "
                          "more memory with -m", spec.initrd_path, format_size(initrd.size()), top);
      return false;
    }
    initrd_addr = static_cast<uint32_t>((top - initrd.size()) & ~0xFFFull);
  }

  // The header as a boot loader fills it in (boot.rst, "Details of header fields").
  setup[kOffTypeOfLoader] = 0xFF;
  setup[kOffLoadflags] = static_cast<uint8_t>(setup[kOffLoadflags] | kCanUseHeap);
  setup[kOffHeapEndPtr] = static_cast<uint8_t>((kCmdlineAddr - kSetupAddr - 0x200) & 0xFF);
  setup[kOffHeapEndPtr + 1] = static_cast<uint8_t>((kCmdlineAddr - kSetupAddr - 0x200) >> 8);
  put32(setup, kOffCmdLinePtr, kCmdlineAddr);
  put32(setup, kOffRamdiskImage, initrd_addr);
  put32(setup, kOffRamdiskSize, static_cast<uint32_t>(initrd.size()));

  fw.set_u32(FwCfg::kSetupAddr, kSetupAddr);
  fw.set_u32(FwCfg::kSetupSize, static_cast<uint32_t>(setup.size()));
  fw.set_item(FwCfg::kSetupData, std::move(setup));
  fw.set_u32(FwCfg::kKernelAddr, kProtAddr);
  fw.set_u32(FwCfg::kKernelSize, static_cast<uint32_t>(kernel.size()));
  fw.set_item(FwCfg::kKernelData, std::move(kernel));
  fw.set_u32(FwCfg::kInitrdAddr, initrd_addr);
  fw.set_u32(FwCfg::kInitrdSize, static_cast<uint32_t>(initrd.size()));
  fw.set_item(FwCfg::kInitrdData, std::move(initrd));
  fw.set_u32(FwCfg::kKernelCmdline, kCmdlineAddr);
  fw.set_u32(FwCfg::kCmdlineAddr, kCmdlineAddr);
  fw.set_u32(FwCfg::kCmdlineSize, static_cast<uint32_t>(cmdline.size()));
  fw.set_item(FwCfg::kCmdlineData, std::move(cmdline));
  fw.set_file(kLinuxbootRomFile, linuxboot_rom_image());
  const std::string order = fmt::format("/rom@{}\n", kLinuxbootRomFile);
  fw.set_file("bootorder", std::vector<uint8_t>(order.begin(), order.end()));
  return true;
}

}  // namespace kestrel::machine
