// Flat binaries: a file copied byte for byte into guest RAM (boot sectors, test
// programs, raw kernels). No format, no entry point: the caller decides where to start.
#pragma once

#include <cstdint>
#include <string>

namespace kestrel::machine {

class Machine;
class PhysBus;

// Checks that [addr, addr + size) lies entirely in one RAM run and under no ROM or
// MMIO overlay; fails with a message describing the RAM layout otherwise.
bool check_ram_range(PhysBus& bus, uint64_t addr, uint64_t size, std::string& error);

// Loads the file at guest physical address addr; size_out receives its length.
bool load_flat_binary(Machine& m, const std::string& path, uint64_t addr, uint64_t& size_out, std::string& error);

}  // namespace kestrel::machine
