#include "machine/loaders/rom_image.h"

#include <vector>

#include <fmt/format.h>

#include "machine/loaders/file.h"
#include "machine/machine.h"

namespace kestrel::machine {

bool load_bios_image(Machine& m, const std::string& path, std::string& error) {
  std::vector<uint8_t> data;
  if (!read_host_file(path, kBiosMaxBytes, "the largest BIOS image", data, error)) {
    if (path == "/usr/share/seabios/bios.bin") error += " (Debian's SeaBIOS: apt-get install seabios)";
    return false;
  }
  if (data.empty() || data.size() % kBiosGranule) {
    error = fmt::format("BIOS image '{}' is {} bytes; it must be a non-zero multiple of 64 KiB (at most 16 MiB)",
                        path, data.size());
    return false;
  }
  const uint64_t size = data.size();
  const uint64_t tail = size < kIsaBiosWindow ? size : kIsaBiosWindow;
  std::vector<uint8_t> low(data.end() - static_cast<std::ptrdiff_t>(tail), data.end());
  m.bus().map_rom(0x100000000ull - size, data, "bios");
  m.bus().map_rom(0x100000ull - tail, low, "bios (ISA window)");
  return true;
}

}  // namespace kestrel::machine
