#include "machine/loaders/file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <fmt/format.h>

namespace kestrel::machine {

std::string format_size(uint64_t bytes) {
  static const char* kUnits[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  unsigned u = 0;
  uint64_t v = bytes;
  while (u < 4 && v >= 1024 && v % 1024 == 0) {
    v /= 1024;
    ++u;
  }
  return fmt::format("{} {}", v, kUnits[u]);
}

bool read_host_file(const std::string& path, uint64_t max_bytes, const char* limit_what, std::vector<uint8_t>& out,
                    std::string& error, bool* too_large) {
  if (too_large) *too_large = false;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) {
    error = fmt::format("cannot open '{}': {}", path, std::strerror(errno));
    return false;
  }
  struct stat st;
  if (fstat(fileno(f.get()), &st) != 0) {
    error = fmt::format("cannot read '{}': {}", path, std::strerror(errno));
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    error = fmt::format("'{}' is not a regular file", path);
    return false;
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > max_bytes) {
    if (too_large) *too_large = true;
    error = fmt::format("'{}' is {} bytes, larger than {} ({})", path, size, limit_what, format_size(max_bytes));
    return false;
  }
  out.resize(size);
  if (size && std::fread(out.data(), 1, size, f.get()) != size) {
    error = fmt::format("cannot read '{}': {}", path, std::ferror(f.get()) ? std::strerror(errno) : "file shrank");
    return false;
  }
  return true;
}

}  // namespace kestrel::machine
