#include "machine/storage/disk_image.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace kestrel::machine {

namespace {

// The PC floppy formats (IBM PC/AT and PS/2 Technical References). The CMOS type
// code names the drive that reads the format natively, the data rate is the one a
// BIOS programs for that drive type (a 360 KB disk in its drive type 1 at 300 kb/s,
// as SeaBIOS's table has it).
constexpr FloppyFormat kFloppyFormats[] = {
    {368'640, 40, 2, 9, 1, 1, "360 KB 5.25\""},
    {737'280, 80, 2, 9, 3, 2, "720 KB 3.5\""},
    {1'228'800, 80, 2, 15, 2, 0, "1.2 MB 5.25\""},
    {1'474'560, 80, 2, 18, 4, 0, "1.44 MB 3.5\""},
    {2'949'120, 80, 2, 36, 5, 3, "2.88 MB 3.5\""},
};

std::string list_floppy_sizes() {
  std::string s;
  for (const auto& f : kFloppyFormats) s += fmt::format("{}{} ({} bytes)", s.empty() ? "" : ", ", f.name, f.bytes);
  return s;
}

}  // namespace

const FloppyFormat* floppy_format_for_size(uint64_t bytes) {
  for (const auto& f : kFloppyFormats)
    if (f.bytes == bytes) return &f;
  return nullptr;
}

DiskImage::~DiskImage() { close(); }

void DiskImage::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool DiskImage::open(const std::string& path, DiskKind kind, const char* what, std::string& error) {
  close();
  kind_ = kind;
  path_ = path;
  read_only_ = kind == DiskKind::Cdrom;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    error = fmt::format("{}: cannot open '{}': {}", what, path, std::strerror(errno));
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    error = fmt::format("{}: '{}' is not a regular file (give a raw disk image file)", what, path);
    return false;
  }
  const int fd = ::open(path.c_str(), (read_only_ ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    if (!read_only_ && (e == EACCES || e == EROFS || e == EPERM))
      error = fmt::format("{}: '{}' cannot be opened for writing ({}); guest writes go to the image, so it must "
                          "be writable (make a writable copy)",
                          what, path, std::strerror(e));
    else
      error = fmt::format("{}: cannot open '{}': {}", what, path, std::strerror(e));
    return false;
  }
  fd_ = fd;
  size_ = static_cast<uint64_t>(st.st_size);
  // A file we cannot read is refused now rather than at the guest's first access.
  uint8_t probe[1];
  if (size_ > 0 && ::pread(fd_, probe, 1, 0) != 1) {
    error = fmt::format("{}: cannot read '{}': {}", what, path, std::strerror(errno));
    close();
    return false;
  }
  const unsigned ss = sector_size();
  if (size_ == 0) {
    error = fmt::format("{}: '{}' is empty; a disk image holds at least one {}-byte sector", what, path, ss);
    close();
    return false;
  }
  if (kind == DiskKind::Floppy) {
    floppy_ = floppy_format_for_size(size_);
    if (!floppy_) {
      error = fmt::format("{}: '{}' has {} bytes, which is no floppy format; a floppy image is one of: {}", what,
                          path, size_, list_floppy_sizes());
      close();
      return false;
    }
    return true;
  }
  if (size_ % ss) {
    error = fmt::format("{}: '{}' has {} bytes, not a whole number of {}-byte sectors (truncated or not a {} "
                        "image?)",
                        what, path, size_, ss, kind == DiskKind::Cdrom ? "CD-ROM (ISO 9660)" : "raw disk");
    close();
    return false;
  }
  // An ISO 9660 image holds its volume descriptors from sector 16 on.
  if (kind == DiskKind::Cdrom && size_ < 17ull * ss) {
    error = fmt::format("{}: '{}' has only {} bytes: too short for an ISO 9660 image (truncated?)", what, path,
                        size_);
    close();
    return false;
  }
  return true;
}

bool DiskImage::read(uint64_t offset, void* out, size_t bytes) {
  if (fd_ < 0 || offset > size_ || bytes > size_ - offset) {
    last_error_ = "read outside the image";
    return false;
  }
  auto* p = static_cast<uint8_t*>(out);
  while (bytes) {
    const ssize_t n = ::pread(fd_, p, bytes, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      last_error_ = n < 0 ? std::strerror(errno) : "the image shrank";
      return false;
    }
    p += n;
    offset += static_cast<uint64_t>(n);
    bytes -= static_cast<size_t>(n);
  }
  return true;
}

bool DiskImage::write(uint64_t offset, const void* in, size_t bytes) {
  if (fd_ < 0 || read_only_ || offset > size_ || bytes > size_ - offset) {
    last_error_ = read_only_ ? "the medium is read-only" : "write outside the image";
    return false;
  }
  const auto* p = static_cast<const uint8_t*>(in);
  while (bytes) {
    const ssize_t n = ::pwrite(fd_, p, bytes, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      last_error_ = n < 0 ? std::strerror(errno) : "short write";
      return false;
    }
    p += n;
    offset += static_cast<uint64_t>(n);
    bytes -= static_cast<size_t>(n);
  }
  return true;
}

bool DiskImage::flush() {
  if (fd_ < 0) return false;
  if (read_only_) return true;
  if (::fdatasync(fd_) != 0) {
    last_error_ = std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace kestrel::machine
