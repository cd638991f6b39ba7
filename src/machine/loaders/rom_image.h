// System firmware (BIOS) images, mapped the way a PC's flash appears.
#pragma once

#include <cstdint>
#include <string>

namespace kestrel::machine {

class Machine;

inline constexpr uint64_t kBiosMaxBytes = 16ull << 20;
inline constexpr uint64_t kBiosGranule = 64ull << 10;
inline constexpr uint64_t kIsaBiosWindow = 128ull << 10;  // 0xE0000-0xFFFFF

// Maps the image read-only at the top of 4 GiB and its last 128 KiB (all of it when
// smaller) again just below 1 MiB, as a PC chipset decodes the BIOS flash at reset.
// The CPU's reset vector F000:FFF0 (CS base 0xFFFF0000) then lands in its last 16 bytes.
// The size must be a non-zero multiple of 64 KiB, at most 16 MiB.
bool load_bios_image(Machine& m, const std::string& path, std::string& error);

}  // namespace kestrel::machine
