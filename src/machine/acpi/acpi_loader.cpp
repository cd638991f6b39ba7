#include "machine/acpi/acpi_loader.h"

#include <cstring>
#include <string>

#include "machine/devices/fw_cfg.h"

namespace kestrel::machine {

namespace {

constexpr const char* kRsdpFile = "etc/acpi/rsdp";
constexpr const char* kTablesFile = "etc/acpi/tables";
constexpr uint32_t kAllocate = 1, kAddPointer = 2, kAddChecksum = 3;
constexpr uint8_t kZoneHigh = 1, kZoneFseg = 2;
constexpr unsigned kRsdpSize = 36;

struct Command {
  uint8_t bytes[128] = {};
  void u32(unsigned off, uint32_t v) {
    for (unsigned i = 0; i < 4; ++i) bytes[off + i] = static_cast<uint8_t>(v >> (8 * i));
  }
  void name(unsigned off, const char* s) { std::strncpy(reinterpret_cast<char*>(bytes + off), s, 55); }
};

uint32_t le32(const std::vector<uint8_t>& b, size_t off) {
  return b[off] | b[off + 1] << 8 | b[off + 2] << 16 | static_cast<uint32_t>(b[off + 3]) << 24;
}

}  // namespace

AcpiLoaderFiles build_acpi_loader_files(const AcpiConfig& cfg) {
  const AcpiBlob blob = build_acpi_tables(cfg, 0);
  AcpiLoaderFiles f;
  f.rsdp.assign(blob.bytes.begin() + static_cast<std::ptrdiff_t>(blob.rsdp),
                blob.bytes.begin() + static_cast<std::ptrdiff_t>(blob.rsdp + kRsdpSize));
  f.tables = blob.bytes;
  // The RSDP lives in its own file: no second, unpatched copy in the tables.
  std::memset(f.tables.data() + blob.rsdp, 0, kRsdpSize);

  std::vector<Command> cmds;
  auto allocate = [&](const char* file, uint32_t align, uint8_t zone) {
    Command c;
    c.u32(0, kAllocate);
    c.name(4, file);
    c.u32(60, align);
    c.bytes[64] = zone;
    cmds.push_back(c);
  };
  auto pointer = [&](const char* dest, uint32_t offset, uint8_t size) {
    Command c;
    c.u32(0, kAddPointer);
    c.name(4, dest);
    c.name(60, kTablesFile);
    c.u32(116, offset);
    c.bytes[120] = size;
    cmds.push_back(c);
  };
  auto checksum = [&](const char* file, uint32_t offset, uint32_t start, uint32_t length) {
    Command c;
    c.u32(0, kAddChecksum);
    c.name(4, file);
    c.u32(60, offset);
    c.u32(64, start);
    c.u32(68, length);
    cmds.push_back(c);
  };

  allocate(kRsdpFile, 16, kZoneFseg);
  allocate(kTablesFile, 64, kZoneHigh);
  pointer(kRsdpFile, 16, 4);  // RsdtAddress
  pointer(kRsdpFile, 24, 8);  // XsdtAddress
  const auto rsdt = static_cast<uint32_t>(blob.rsdt), xsdt = static_cast<uint32_t>(blob.xsdt),
             fadt = static_cast<uint32_t>(blob.fadt);
  for (uint32_t off = rsdt + 36; off < rsdt + le32(f.tables, rsdt + 4); off += 4) pointer(kTablesFile, off, 4);
  for (uint32_t off = xsdt + 36; off < xsdt + le32(f.tables, xsdt + 4); off += 8) pointer(kTablesFile, off, 8);
  // FADT (ACPI 6.4 Table 5.9): FIRMWARE_CTRL at 36, DSDT at 40, X_FIRMWARE_CTRL at 132, X_DSDT at 140.
  for (uint32_t field : {36u, 40u})
    if (le32(f.tables, fadt + field)) pointer(kTablesFile, fadt + field, 4);
  if (le32(f.tables, fadt + 4) >= 148)
    for (uint32_t field : {132u, 140u})
      if (le32(f.tables, fadt + field) || le32(f.tables, fadt + field + 4)) pointer(kTablesFile, fadt + field, 8);
  for (uint32_t t : {fadt, rsdt, xsdt}) checksum(kTablesFile, t + 9, t, le32(f.tables, t + 4));
  checksum(kRsdpFile, 8, 0, 20);           // the ACPI 1.0 checksum first:
  checksum(kRsdpFile, 32, 0, kRsdpSize);   // the extended one covers it
  for (const Command& c : cmds) f.loader.insert(f.loader.end(), c.bytes, c.bytes + sizeof c.bytes);
  return f;
}

void add_acpi_tables_to_fw_cfg(FwCfg& fw, const AcpiConfig& cfg) {
  AcpiLoaderFiles f = build_acpi_loader_files(cfg);
  fw.set_file(kRsdpFile, std::move(f.rsdp));
  fw.set_file(kTablesFile, std::move(f.tables));
  fw.set_file("etc/table-loader", std::move(f.loader));
}

}  // namespace kestrel::machine
