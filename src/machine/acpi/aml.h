// A small AML (ACPI Machine Language) writer: the byte encodings of the few terms
// our DSDT uses, each a function returning the encoded bytes, composed by nesting.
//
//   Bytes b = aml::device("PCI0", aml::cat({aml::name("_HID", aml::eisa_id("PNP0A03")),
//                                            aml::name("_BBN", aml::integer(0))}));
//
// Encodings follow ACPI 6.4 §20.2 (AML grammar): PkgLength §20.2.4, names §20.2.2,
// data objects §20.2.3, named objects §20.2.5.2, statements §20.2.5.3, expressions
// §20.2.5.4; resource descriptors (for _CRS/_PRS buffers) §6.4.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <utility>
#include <vector>

namespace kestrel::machine::aml {

using Bytes = std::vector<uint8_t>;

Bytes cat(std::initializer_list<Bytes> parts);

// PkgLength for a body of `body_len` bytes: the encoded length counts itself
// (one byte up to 63, else 2-4 bytes with the byte count in bits 7:6 of the first).
Bytes pkg_length(size_t body_len);
// `lead` (the opcode bytes), PkgLength, then `body`.
Bytes with_pkg_length(Bytes lead, const Bytes& body);

// A NameString: "\" for the root, "^" for each parent, then dot-separated segments of
// at most 4 characters (padded with '_'); "_SB.PCI0.LNKA", "\\_SB.PCI0", "LNKA".
Bytes name_string(std::string_view path);
// The smallest integer encoding: ZeroOp, OneOp, BytePrefix..QWordPrefix.
Bytes integer(uint64_t v);
Bytes dword(uint32_t v);  // always DWordPrefix (fields some OSes patch, EISA IDs)
Bytes string(std::string_view s);
Bytes buffer(const Bytes& bytes);
Bytes package(std::initializer_list<Bytes> elements);
Bytes package(const std::vector<Bytes>& elements);
// A compressed EISA ID ("PNP0A03"): three letters of 5 bits and four hex digits,
// stored big-endian, as a DWord integer.
uint32_t eisa_id_value(std::string_view id);
Bytes eisa_id(std::string_view id);

// Named objects and namespace modifiers.
Bytes name(std::string_view n, const Bytes& object);
Bytes scope(std::string_view n, const Bytes& body);
Bytes device(std::string_view n, const Bytes& body);
Bytes method(std::string_view n, unsigned args, const Bytes& body, bool serialized = false);
enum class RegionSpace : uint8_t { SystemMemory = 0, SystemIo = 1, PciConfig = 2 };
Bytes operation_region(std::string_view n, RegionSpace space, uint64_t offset, uint64_t length);
enum class FieldAccess : uint8_t { Any = 0, Byte = 1, Word = 2, DWord = 3 };
// Field (region, access, NoLock, Preserve) { name, bits; ... } (an empty name: reserved bits).
Bytes field(std::string_view region, FieldAccess access, const std::vector<std::pair<std::string_view, unsigned>>& units);
Bytes create_dword_field(const Bytes& source, const Bytes& byte_index, std::string_view n);

// Statements and expressions. A `target` of {} is NullName (result not stored).
Bytes local(unsigned i);  // Local0-7
Bytes arg(unsigned i);    // Arg0-6
Bytes ret(const Bytes& value);
Bytes store(const Bytes& value, const Bytes& target);
Bytes and_(const Bytes& a, const Bytes& b, const Bytes& target = {});
Bytes or_(const Bytes& a, const Bytes& b, const Bytes& target = {});
Bytes lequal(const Bytes& a, const Bytes& b);
Bytes lless(const Bytes& a, const Bytes& b);
Bytes if_(const Bytes& predicate, const Bytes& body);
Bytes else_(const Bytes& body);

// Resource descriptors (§6.4) and ResourceTemplate (their bytes and an End Tag with
// checksum 0, as a Buffer).
namespace res {
Bytes io16(uint16_t min, uint16_t max, uint8_t align, uint8_t length);  // I/O port, 16-bit decode
// Word/DWord address-space descriptors as a bridge produces them (MinFixed, MaxFixed,
// positive decode): bus numbers, I/O (entire range), memory (read-write; cacheable or not).
Bytes word_bus_number(uint16_t min, uint16_t max);
Bytes word_io(uint16_t min, uint16_t max);
Bytes dword_memory(uint32_t min, uint32_t max, bool cacheable);
// Extended interrupt descriptor, consumed: level/edge, active high/low, shared.
Bytes interrupt(bool level, bool active_low, bool shared, std::initializer_list<uint32_t> irqs);
Bytes end_tag();
Bytes resource_template(std::initializer_list<Bytes> descriptors);
}  // namespace res

}  // namespace kestrel::machine::aml
