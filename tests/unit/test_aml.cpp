// machine/acpi/aml and acpi/dsdt: the AML writer's encodings checked byte for byte
// against the ACPI 6.4 grammar (§20.2) and resource descriptors (§6.4); the DSDT
// walked back by a small reader here: the PCI root bridge's identity and windows, the
// PIIX3 route registers, the interrupt links' methods, and a _PRT that routes every
// slot's pins as the board's PCI bus does (PciBus::pirq_of).
#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "machine/acpi/acpi_tables.h"
#include "machine/acpi/aml.h"
#include "machine/acpi/dsdt.h"
#include "machine/pci/pci.h"

using namespace kestrel::machine;
using aml::Bytes;

TEST_CASE("aml: PkgLength takes 1 to 3 bytes and counts itself") {
  CHECK(aml::pkg_length(0) == Bytes{0x01});
  CHECK(aml::pkg_length(62) == Bytes{0x3F});
  CHECK(aml::pkg_length(63) == Bytes{0x41, 0x04});          // 65 = 0x041
  CHECK(aml::pkg_length(4093) == Bytes{0x4F, 0xFF});        // 4095, the largest 2-byte length
  CHECK(aml::pkg_length(4094) == Bytes{0x81, 0x00, 0x01});  // 4097 = 0x01001
}

TEST_CASE("aml: integers, strings, names and EISA IDs") {
  CHECK(aml::integer(0) == Bytes{0x00});
  CHECK(aml::integer(1) == Bytes{0x01});
  CHECK(aml::integer(0x80) == Bytes{0x0A, 0x80});
  CHECK(aml::integer(0x1234) == Bytes{0x0B, 0x34, 0x12});
  CHECK(aml::integer(0x0001FFFF) == Bytes{0x0C, 0xFF, 0xFF, 0x01, 0x00});
  CHECK(aml::integer(0x100000000ull) == Bytes{0x0E, 0, 0, 0, 0, 1, 0, 0, 0});
  CHECK(aml::string("AB") == Bytes{0x0D, 'A', 'B', 0x00});
  CHECK(aml::name_string("ISA") == Bytes{'I', 'S', 'A', '_'});
  CHECK(aml::name_string("\\_SB.PCI0") == Bytes{0x5C, 0x2E, '_', 'S', 'B', '_', 'P', 'C', 'I', '0'});
  CHECK(aml::name_string("^LNKA") == Bytes{0x5E, 'L', 'N', 'K', 'A'});
  const Bytes multi = aml::name_string("\\_SB.PCI0.ISA.PRQA");
  CHECK(multi == Bytes{0x5C, 0x2F, 0x04, '_', 'S', 'B', '_', 'P', 'C', 'I', '0', 'I', 'S', 'A', '_', 'P', 'R', 'Q', 'A'});
  CHECK(aml::name_string("\\") == Bytes{0x5C, 0x00});
  CHECK(aml::eisa_id_value("PNP0A03") == 0x030AD041u);  // as iasl's EisaId ("PNP0A03")
  CHECK(aml::eisa_id_value("PNP0C0F") == 0x0F0CD041u);
}

TEST_CASE("aml: named objects, methods and statements") {
  // Name (_S5, Package (4) {5, 5, 0, 0})
  CHECK(aml::name("_S5", aml::package({aml::integer(5), aml::integer(5), aml::integer(0), aml::integer(0)})) ==
        Bytes{0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0A, 0x05, 0x0A, 0x05, 0x00, 0x00});
  // Method (_STA, 0, NotSerialized) { Return (0x0B) }
  CHECK(aml::method("_STA", 0, aml::ret(aml::integer(0x0B))) ==
        Bytes{0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xA4, 0x0A, 0x0B});
  // Device (ISA) { Name (_ADR, 0x00010000) }
  CHECK(aml::device("ISA", aml::name("_ADR", aml::dword(0x00010000))) ==
        Bytes{0x5B, 0x82, 0x0F, 'I', 'S', 'A', '_', 0x08, '_', 'A', 'D', 'R', 0x0C, 0x00, 0x00, 0x01, 0x00});
  // OperationRegion (PIRQ, PCI_Config, 0x60, 4); Field (PIRQ, ByteAcc, NoLock, Preserve) {PRQA, 8, , 8}
  CHECK(aml::operation_region("PIRQ", aml::RegionSpace::PciConfig, 0x60, 4) ==
        Bytes{0x5B, 0x80, 'P', 'I', 'R', 'Q', 0x02, 0x0A, 0x60, 0x0A, 0x04});
  CHECK(aml::field("PIRQ", aml::FieldAccess::Byte, {{"PRQA", 8}, {"", 8}}) ==
        Bytes{0x5B, 0x81, 0x0D, 'P', 'I', 'R', 'Q', 0x01, 'P', 'R', 'Q', 'A', 0x08, 0x00, 0x08});
  // If (And (Local0, 0x80)) { Or (Arg0, 0x80, Local1) } Else { Store (One, Local2) }
  CHECK(aml::if_(aml::and_(aml::local(0), aml::integer(0x80)), aml::or_(aml::arg(0), aml::integer(0x80), aml::local(1))) ==
        Bytes{0xA0, 0x0B, 0x7B, 0x60, 0x0A, 0x80, 0x00, 0x7D, 0x68, 0x0A, 0x80, 0x61});
  CHECK(aml::else_(aml::store(aml::integer(1), aml::local(2))) == Bytes{0xA1, 0x04, 0x70, 0x01, 0x62});
  // CreateDWordField (Arg0, 5, IRQV); LLess (Local0, 0x80); LEqual (Local0, Zero)
  CHECK(aml::create_dword_field(aml::arg(0), aml::integer(5), "IRQV") ==
        Bytes{0x8A, 0x68, 0x0A, 0x05, 'I', 'R', 'Q', 'V'});
  CHECK(aml::lless(aml::local(0), aml::integer(0x80)) == Bytes{0x95, 0x60, 0x0A, 0x80});
  CHECK(aml::lequal(aml::local(0), aml::integer(0)) == Bytes{0x93, 0x60, 0x00});
  // A serialized method with two arguments: MethodFlags 0x0A.
  CHECK(aml::method("M", 2, {}, true) == Bytes{0x14, 0x06, 'M', '_', '_', '_', 0x0A});
}

TEST_CASE("aml: resource descriptors and ResourceTemplate") {
  // Interrupt (ResourceConsumer, Level, ActiveHigh, Shared) {5, 10, 11}
  CHECK(aml::res::resource_template({aml::res::interrupt(true, false, true, {5, 10, 11})}) ==
        Bytes{0x11, 0x16, 0x0A, 0x13, 0x89, 0x0E, 0x00, 0x09, 0x03, 5, 0, 0, 0, 10, 0, 0, 0, 11, 0, 0, 0, 0x79, 0x00});
  // Interrupt (ResourceConsumer, Edge, ActiveLow, Exclusive) {1}: flags 0x07.
  CHECK(aml::res::interrupt(false, true, false, {1}) == Bytes{0x89, 0x06, 0x00, 0x07, 0x01, 1, 0, 0, 0});
  // IO (Decode16, 0x0CF8, 0x0CF8, 0x01, 0x08)
  CHECK(aml::res::io16(0xCF8, 0xCF8, 1, 8) == Bytes{0x47, 0x01, 0xF8, 0x0C, 0xF8, 0x0C, 0x01, 0x08});
  // WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, 0, 0xFF, 0, 0x100)
  CHECK(aml::res::word_bus_number(0, 0xFF) ==
        Bytes{0x88, 0x0D, 0x00, 0x02, 0x0C, 0x00, 0, 0, 0x00, 0x00, 0xFF, 0x00, 0, 0, 0x00, 0x01});
  // WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0, 0x0D00, 0xFFFF, 0, 0xF300)
  CHECK(aml::res::word_io(0x0D00, 0xFFFF) ==
        Bytes{0x88, 0x0D, 0x00, 0x01, 0x0C, 0x03, 0, 0, 0x00, 0x0D, 0xFF, 0xFF, 0, 0, 0x00, 0xF3});
  // DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable, ReadWrite, 0, 0xA0000, 0xBFFFF, 0, 0x20000)
  CHECK(aml::res::dword_memory(0xA0000, 0xBFFFF, true) ==
        Bytes{0x87, 0x17, 0x00, 0x00, 0x0C, 0x03, 0, 0, 0, 0, 0x00, 0x00, 0x0A, 0x00, 0xFF, 0xFF, 0x0B, 0x00,
              0, 0, 0, 0, 0x00, 0x00, 0x02, 0x00});
}

namespace {

// Reads back the definition blocks we write: the namespace objects (Scope, Device,
// Name, Method, OperationRegion, Field units) by absolute path, with where their
// bytes are. Data objects are skipped by their encodings; method bodies by PkgLength.
struct AmlReader {
  const Bytes& b;
  struct Object {
    uint8_t kind;  // the opcode (0x5B-prefixed ones as 0x80+, field units as 'F')
    size_t data;   // a Name's data object, a Method's flags byte, a region's space byte
    size_t end;
  };
  std::map<std::string, Object> objects;

  size_t pkg(size_t& p) const {
    const size_t start = p;
    const uint8_t lead = b.at(p++);
    const unsigned extra = lead >> 6;
    size_t v = extra ? lead & 0x0F : lead & 0x3F;
    for (unsigned i = 0; i < extra; ++i) v |= static_cast<size_t>(b.at(p++)) << (4 + 8 * i);
    return start + v;  // the end of the package
  }
  std::string name(size_t& p, const std::string& scope) const {
    std::string prefix = scope;
    if (b.at(p) == 0x5C) {
      prefix = "";
      ++p;
    }
    while (b.at(p) == 0x5E) {
      prefix = prefix.substr(0, prefix.rfind('.'));
      ++p;
    }
    unsigned n = 1;
    if (b.at(p) == 0x2E) { n = 2; ++p; }
    else if (b.at(p) == 0x2F) { n = b.at(p + 1); p += 2; }
    else if (b.at(p) == 0x00) { ++p; return prefix; }
    std::string out = prefix;
    for (unsigned i = 0; i < n; ++i, p += 4) {
      out.push_back('.');
      out.append(reinterpret_cast<const char*>(b.data() + p), 4);
    }
    return out;
  }
  size_t skip_data(size_t p) const {
    switch (b.at(p)) {
      case 0x00: case 0x01: case 0xFF: return p + 1;
      case 0x0A: return p + 2;
      case 0x0B: return p + 3;
      case 0x0C: return p + 5;
      case 0x0E: return p + 9;
      case 0x0D: while (b.at(++p) != 0) {} return p + 1;
      case 0x11: case 0x12: { ++p; return pkg(p); }
      default: {  // a name reference (in a package)
        std::string ignored;
        name(p, ignored);
        return p;
      }
    }
  }
  void terms(size_t p, size_t end, const std::string& scope) {
    while (p < end) {
      const uint8_t op = b.at(p++);
      if (op == 0x08) {  // Name
        const std::string n = name(p, scope);
        const size_t data = p;
        p = skip_data(p);
        objects[n] = {op, data, p};
      } else if (op == 0x10 || op == 0x14) {  // Scope, Method
        const size_t e = pkg(p);
        const std::string n = name(p, scope);
        objects[n] = {op, p, e};
        if (op == 0x10) terms(p, e, n);
        p = e;
      } else if (op == 0x5B) {
        const uint8_t ext = b.at(p++);
        if (ext == 0x82) {  // Device
          const size_t e = pkg(p);
          const std::string n = name(p, scope);
          objects[n] = {0x82, p, e};
          terms(p, e, n);
          p = e;
        } else if (ext == 0x80) {  // OperationRegion
          const std::string n = name(p, scope);
          const size_t data = p;
          p = skip_data(skip_data(p + 1));
          objects[n] = {0x80, data, p};
        } else if (ext == 0x81) {  // Field
          const size_t e = pkg(p);
          name(p, scope);
          ++p;  // flags
          while (p < e) {
            std::string unit;
            if (b.at(p) == 0x00) ++p;
            else { unit = scope + "." + std::string(b.begin() + p, b.begin() + p + 4); p += 4; }
            const size_t bits_at = p;
            const size_t bits = pkg(p) - bits_at;  // the width: PkgLength's value itself
            if (!unit.empty()) objects[unit] = {'F', bits_at, bits};
          }
          p = e;
        } else {
          FAIL("unexpected extended opcode ", int(ext));
          return;
        }
      } else {
        FAIL("unexpected opcode ", int(op), " at ", p - 1);
        return;
      }
    }
  }
  const Object& at(const std::string& path) const {
    const auto it = objects.find(path);
    REQUIRE_MESSAGE(it != objects.end(), path);
    return it->second;
  }
  uint32_t le32(size_t p) const { return b.at(p) | b.at(p + 1) << 8 | b.at(p + 2) << 16 | uint32_t(b.at(p + 3)) << 24; }
};

}  // namespace

TEST_CASE("dsdt: without PCI only \\_S5; with PCI the root bridge, its windows and the route registers") {
  AcpiConfig cfg;
  CHECK(build_dsdt_body(cfg) ==
        Bytes{0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0A, 0x05, 0x0A, 0x05, 0x00, 0x00});

  cfg.pci = true;
  cfg.pci_mem_start = 0x10000000;
  const Bytes dsdt = build_dsdt_body(cfg);
  AmlReader r{dsdt};
  r.terms(0, dsdt.size(), "");
  CHECK(r.at("._SB_.PCI0").kind == 0x82);
  // _HID EisaId ("PNP0A03"), _BBN 0.
  const size_t hid = r.at("._SB_.PCI0._HID").data;
  CHECK(dsdt.at(hid) == 0x0C);
  CHECK(r.le32(hid + 1) == 0x030AD041u);
  CHECK(dsdt.at(r.at("._SB_.PCI0._BBN").data) == 0x00);
  // _CRS: walk the descriptors of the buffer: the bus range, the two I/O windows around
  // the configuration ports, the video window and the PCI hole.
  size_t p = r.at("._SB_.PCI0._CRS").data;
  REQUIRE(dsdt.at(p++) == 0x11);
  const size_t end = r.pkg(p);
  p = r.skip_data(p);  // BufferSize
  std::vector<std::pair<uint32_t, uint32_t>> mem, io, bus;
  bool config_ports = false, end_tag = false;
  while (p < end && !end_tag) {
    const uint8_t tag = dsdt.at(p);
    if (tag == 0x47) {
      config_ports = dsdt.at(p + 2) == 0xF8 && dsdt.at(p + 3) == 0x0C && dsdt.at(p + 7) == 8;
      p += 8;
    } else if (tag == 0x79) {
      end_tag = true;
    } else if (tag == 0x88) {
      const uint8_t type = dsdt.at(p + 3);
      const uint32_t min = dsdt.at(p + 8) | dsdt.at(p + 9) << 8, max = dsdt.at(p + 10) | dsdt.at(p + 11) << 8;
      (type == 2 ? bus : io).push_back({min, max});
      p += 16;
    } else if (tag == 0x87) {
      mem.push_back({r.le32(p + 10), r.le32(p + 14)});
      CHECK(r.le32(p + 22) == r.le32(p + 14) - r.le32(p + 10) + 1);  // length
      p += 26;
    } else {
      FAIL("unexpected descriptor ", int(tag));
      break;
    }
  }
  CHECK(end_tag);
  CHECK(config_ports);
  CHECK(bus == std::vector<std::pair<uint32_t, uint32_t>>{{0, 0xFF}});
  CHECK(io == std::vector<std::pair<uint32_t, uint32_t>>{{0, 0xCF7}, {0xD00, 0xFFFF}});
  CHECK(mem == std::vector<std::pair<uint32_t, uint32_t>>{{0xA0000, 0xBFFFF}, {0x10000000, 0xFEBFFFFF}});
  // The PIIX3 at 00:01.0 with its route registers 0x60-0x63 as byte fields.
  CHECK(r.le32(r.at("._SB_.PCI0.ISA_._ADR").data + 1) == 0x00010000);
  const size_t region = r.at("._SB_.PCI0.ISA_.PIRQ").data;
  CHECK(dsdt.at(region) == 0x02);  // PCI_Config
  CHECK(Bytes(dsdt.begin() + region + 1, dsdt.begin() + region + 5) == Bytes{0x0A, 0x60, 0x0A, 0x04});
  for (const char* f : {"PRQA", "PRQB", "PRQC", "PRQD"}) CHECK(r.at(std::string("._SB_.PCI0.ISA_.") + f).end == 8);
  // The links: PNP0C0F, each with its methods; _SRS takes one argument.
  for (const char* link : {"LNKA", "LNKB", "LNKC", "LNKD", "LNKS"}) {
    const std::string l = std::string("._SB_.") + link;
    CHECK(r.le32(r.at(l + "._HID").data + 1) == 0x0F0CD041u);
    CHECK(r.at(l + "._PRS").kind == 0x08);
    CHECK(r.at(l + "._SRS").kind == 0x14);
    CHECK((dsdt.at(r.at(l + "._SRS").data) & 7) == 1);
    if (std::string(link) != "LNKS") {
      for (const char* m : {"._STA", "._CRS", "._DIS"}) CHECK(r.at(l + m).kind == 0x14);
    }
  }
}

TEST_CASE("dsdt: the _PRT routes every slot's INTA#-INTD# to the link of the PIRQ the board drives") {
  AcpiConfig cfg;
  cfg.pci = true;
  const Bytes dsdt = build_dsdt_body(cfg);
  AmlReader r{dsdt};
  r.terms(0, dsdt.size(), "");
  size_t p = r.at("._SB_.PCI0._PRT").data;
  REQUIRE(dsdt.at(p++) == 0x12);
  r.pkg(p);
  const unsigned count = dsdt.at(p++);
  CHECK(count == 31 * 4);
  unsigned checked = 0;
  for (unsigned i = 0; i < count; ++i) {
    REQUIRE(dsdt.at(p++) == 0x12);
    const size_t end = r.pkg(p);
    REQUIRE(dsdt.at(p++) == 4);
    REQUIRE(dsdt.at(p) == 0x0C);
    const uint32_t address = r.le32(p + 1);
    p += 5;
    const size_t pin_at = p;
    p = r.skip_data(p);
    const unsigned pin = dsdt.at(pin_at) == 0x0A ? dsdt.at(pin_at + 1) : dsdt.at(pin_at);
    const std::string link(dsdt.begin() + p, dsdt.begin() + p + 4);
    p += 4;
    CHECK(dsdt.at(p++) == 0x00);  // source index
    CHECK(p == end);
    const unsigned slot = address >> 16;
    CHECK((address & 0xFFFF) == 0xFFFF);
    CHECK(slot == 1 + i / 4);
    CHECK(pin == i % 4);
    if (slot == 1 && pin == 0) {
      CHECK(link == "LNKS");  // the PIIX4 PM function's SCI
    } else {
      const std::string want = std::string("LNK") + static_cast<char>('A' + PciBus::pirq_of(slot, pin + 1));
      CHECK(link == want);
    }
    ++checked;
  }
  CHECK(checked == 124);
}

TEST_CASE("acpi: the tables with the PCI DSDT fit the reserved area and keep valid checksums") {
  AcpiConfig cfg;
  cfg.pci = true;
  const AcpiBlob blob = build_acpi_tables(cfg, kAcpiTablesBase);
  CHECK(blob.bytes.size() <= kAcpiTablesMaxSize);
  const uint8_t* dsdt = blob.bytes.data() + (blob.dsdt - blob.base);
  uint32_t len = dsdt[4] | dsdt[5] << 8 | dsdt[6] << 16 | uint32_t(dsdt[7]) << 24;
  CHECK(len > 36 + 1000);
  CHECK(acpi_checksum(dsdt, len) == 0);
}
