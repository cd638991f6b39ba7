// Reading host files for loaders, with the checks and messages every loader needs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kestrel::machine {

// Reads a whole regular file. Fails with a message naming the file when it cannot
// be opened or read, is not a regular file, or is larger than max_bytes; `limit_what`
// names that limit in the message ("guest RAM"); *too_large tells that case apart.
bool read_host_file(const std::string& path, uint64_t max_bytes, const char* limit_what, std::vector<uint8_t>& out,
                    std::string& error, bool* too_large = nullptr);

// "512 KiB", "3 MiB", or plain bytes when not a whole unit: for messages.
std::string format_size(uint64_t bytes);

}  // namespace kestrel::machine
