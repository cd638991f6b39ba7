// DiskImage: a raw disk image file behind an emulated drive (hard disk, CD-ROM,
// floppy). Reads and writes go straight to the file with pread/pwrite, so what the
// guest writes is in the image when Kestrel exits (there is no overlay mode yet).
//
// open() checks what a drive needs before the machine starts: the file exists, is a
// regular file, can be opened (read-write unless the kind is read-only media) and
// has a size the drive can present (whole sectors; for floppies one of the known
// formats, so a truncated floppy image is refused instead of being half-read). Any
// failure is one message naming the file and what to do.
//
// Every read or write is range-checked against the image size here: a device model
// with a bad LBA gets false and reports an error to the guest, it never reaches
// past the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace kestrel::machine {

enum class DiskKind {
  HardDisk,  // 512-byte sectors, read-write
  Cdrom,     // 2048-byte sectors, read-only
  Floppy,    // 512-byte sectors, read-write, one of the floppy formats
};

// Floppy geometries a DiskKind::Floppy image may have, by size.
struct FloppyFormat {
  uint64_t bytes;
  uint8_t tracks;             // cylinders
  uint8_t heads;
  uint8_t sectors_per_track;
  uint8_t cmos_type;          // the CMOS 0x10 drive type code (4 = 1.44 MB, 3 = 720 KB, 5 = 2.88 MB)
  uint8_t data_rate;          // the CCR/DSR data-rate code the BIOS programs: 0 = 500 kb/s, 1 = 300 kb/s, 2 = 250 kb/s, 3 = 1 Mb/s
  const char* name;
};
// The format of an image of `bytes`, or nullptr.
const FloppyFormat* floppy_format_for_size(uint64_t bytes);

class DiskImage {
 public:
  DiskImage() = default;
  ~DiskImage();
  DiskImage(const DiskImage&) = delete;
  DiskImage& operator=(const DiskImage&) = delete;

  // Opens and checks the image; `what` names the option in messages ("--hda").
  // False with a message on failure.
  bool open(const std::string& path, DiskKind kind, const char* what, std::string& error);
  void close();
  bool is_open() const { return fd_ >= 0; }

  const std::string& path() const { return path_; }
  DiskKind kind() const { return kind_; }
  bool read_only() const { return read_only_; }
  uint64_t size_bytes() const { return size_; }
  unsigned sector_size() const { return kind_ == DiskKind::Cdrom ? 2048 : 512; }
  uint64_t sectors() const { return size_ / sector_size(); }
  const FloppyFormat* floppy_format() const { return floppy_; }

  // Byte-range access; false (nothing done) when the range is outside the image or
  // the host I/O fails (the message is in last_error()).
  bool read(uint64_t offset, void* out, size_t bytes);
  bool write(uint64_t offset, const void* in, size_t bytes);
  // Whole sectors of sector_size().
  bool read_sectors(uint64_t lba, uint64_t count, void* out) {
    return count <= sectors() && lba <= sectors() - count && read(lba * sector_size(), out, count * sector_size());
  }
  bool write_sectors(uint64_t lba, uint64_t count, const void* in) {
    return count <= sectors() && lba <= sectors() - count && write(lba * sector_size(), in, count * sector_size());
  }
  // Makes written data durable (FLUSH CACHE).
  bool flush();
  const std::string& last_error() const { return last_error_; }

 private:
  int fd_ = -1;
  std::string path_;
  DiskKind kind_ = DiskKind::HardDisk;
  bool read_only_ = false;
  uint64_t size_ = 0;
  const FloppyFormat* floppy_ = nullptr;
  std::string last_error_;
};

}  // namespace kestrel::machine
