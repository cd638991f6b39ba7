#include "machine/loaders/flat_binary.h"

#include <vector>

#include <fmt/format.h>

#include "machine/loaders/file.h"
#include "machine/machine.h"
#include "machine/phys_bus.h"

namespace kestrel::machine {

namespace {

std::string describe_ram(const PhysBus& bus) {
  std::string s = fmt::format("0x0-0x{:x}", bus.low_ram_size() - 1);
  if (bus.ram_size() > PhysBus::kLowRamLimit)
    s += fmt::format(" and 0x{:x}-0x{:x}", PhysBus::kHighRamBase,
                     PhysBus::kHighRamBase + (bus.ram_size() - PhysBus::kLowRamLimit) - 1);
  return s;
}

}  // namespace

bool check_ram_range(PhysBus& bus, uint64_t addr, uint64_t size, std::string& error) {
  const uint64_t span = size ? size : 1;
  const uint64_t last = addr + span - 1;
  const uint64_t first_off = bus.ram_offset(addr), last_off = bus.ram_offset(last);
  // RAM is two contiguous runs (below the PCI hole and above 4 GiB): both ends in RAM
  // and the offsets as far apart as the addresses means one run holds it all.
  if (last < addr || first_off == ~0ull || last_off == ~0ull || last_off - first_off != span - 1) {
    error = fmt::format("{} at 0x{:x} does not fit in guest RAM ({}); load it lower or give more memory with -m",
                        format_size(size), addr, describe_ram(bus));
    return false;
  }
  for (uint64_t page = addr & ~0xFFFull; page <= last; page += 0x1000) {
    if (!bus.page_for_write(page)) {
      error = fmt::format("{} at 0x{:x} overlaps ROM or device memory at 0x{:x}; load it elsewhere",
                          format_size(size), addr, page);
      return false;
    }
  }
  return true;
}

bool load_flat_binary(Machine& m, const std::string& path, uint64_t addr, uint64_t& size_out, std::string& error) {
  std::vector<uint8_t> data;
  bool too_large = false;
  if (!read_host_file(path, m.bus().ram_size(), "guest RAM", data, error, &too_large)) {
    if (too_large) error += "; give more memory with -m";
    return false;
  }
  std::string why;
  if (!check_ram_range(m.bus(), addr, data.size(), why)) {
    error = fmt::format("'{}': {}", path, why);
    return false;
  }
  // Through the bus, so pages already holding decoded code are invalidated.
  m.bus().write(addr, data.data(), data.size());
  size_out = data.size();
  return true;
}

}  // namespace kestrel::machine
