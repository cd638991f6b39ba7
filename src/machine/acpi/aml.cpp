#include "machine/acpi/aml.h"

#include <cassert>

namespace kestrel::machine::aml {

namespace {

// AML opcodes (ACPI 6.4 §20.3).
constexpr uint8_t kZeroOp = 0x00, kOneOp = 0x01, kNameOp = 0x08, kBytePrefix = 0x0A, kWordPrefix = 0x0B,
                  kDWordPrefix = 0x0C, kStringPrefix = 0x0D, kQWordPrefix = 0x0E, kScopeOp = 0x10,
                  kBufferOp = 0x11, kPackageOp = 0x12, kMethodOp = 0x14, kDualNamePrefix = 0x2E,
                  kMultiNamePrefix = 0x2F, kExtOpPrefix = 0x5B, kRootChar = 0x5C, kParentPrefix = 0x5E,
                  kLocal0Op = 0x60, kArg0Op = 0x68, kStoreOp = 0x70, kAndOp = 0x7B, kOrOp = 0x7D,
                  kCreateDWordFieldOp = 0x8A, kLEqualOp = 0x93, kLLessOp = 0x95, kIfOp = 0xA0, kElseOp = 0xA1,
                  kReturnOp = 0xA4;
constexpr uint8_t kOpRegionOp = 0x80, kFieldOp = 0x81, kDeviceOp = 0x82;  // after kExtOpPrefix

void append(Bytes& out, const Bytes& b) { out.insert(out.end(), b.begin(), b.end()); }

void le(Bytes& out, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// The PkgLength encoding of `v` itself (§20.2.4): one byte for 0-63; else bits 7:6 of
// the lead byte count the bytes that follow, its bits 3:0 are v's low nibble and the
// following bytes v's next bits, 8 at a time.
Bytes encode_length(size_t v) {
  if (v < 0x40) return {static_cast<uint8_t>(v)};
  const unsigned extra = v < (1u << 12) ? 1 : v < (1u << 20) ? 2 : 3;
  assert(v < (1u << 28));
  Bytes out{static_cast<uint8_t>((extra << 6) | (v & 0x0F))};
  for (unsigned i = 0; i < extra; ++i) out.push_back(static_cast<uint8_t>(v >> (4 + 8 * i)));
  return out;
}

void name_seg(Bytes& out, std::string_view seg) {
  assert(!seg.empty() && seg.size() <= 4);
  for (size_t i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(i < seg.size() ? seg[i] : '_'));
}

}  // namespace

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) append(out, p);
  return out;
}

Bytes pkg_length(size_t body_len) {
  // The encoded value counts the PkgLength bytes too, so the size is found by trying.
  for (size_t n = 1; n <= 4; ++n) {
    Bytes enc = encode_length(body_len + n);
    if (enc.size() == n) return enc;
  }
  assert(false && "AML package too long");
  return {};
}

Bytes with_pkg_length(Bytes lead, const Bytes& body) {
  append(lead, pkg_length(body.size()));
  append(lead, body);
  return lead;
}

Bytes name_string(std::string_view path) {
  Bytes out;
  size_t i = 0;
  for (; i < path.size() && (path[i] == '\\' || path[i] == '^'); ++i)
    out.push_back(path[i] == '\\' ? kRootChar : kParentPrefix);
  std::vector<std::string_view> segs;
  while (i < path.size()) {
    const size_t dot = path.find('.', i);
    const size_t end = dot == std::string_view::npos ? path.size() : dot;
    segs.push_back(path.substr(i, end - i));
    i = end == path.size() ? end : end + 1;
  }
  if (segs.empty()) {
    out.push_back(0x00);  // NullName
  } else if (segs.size() == 2) {
    out.push_back(kDualNamePrefix);
  } else if (segs.size() > 2) {
    out.push_back(kMultiNamePrefix);
    out.push_back(static_cast<uint8_t>(segs.size()));
  }
  for (std::string_view s : segs) name_seg(out, s);
  return out;
}

Bytes integer(uint64_t v) {
  if (v == 0) return {kZeroOp};
  if (v == 1) return {kOneOp};
  Bytes out;
  if (v <= 0xFF) {
    out.push_back(kBytePrefix);
    le(out, v, 1);
  } else if (v <= 0xFFFF) {
    out.push_back(kWordPrefix);
    le(out, v, 2);
  } else if (v <= 0xFFFFFFFFu) {
    out.push_back(kDWordPrefix);
    le(out, v, 4);
  } else {
    out.push_back(kQWordPrefix);
    le(out, v, 8);
  }
  return out;
}

Bytes dword(uint32_t v) {
  Bytes out{kDWordPrefix};
  le(out, v, 4);
  return out;
}

Bytes string(std::string_view s) {
  Bytes out;
  out.reserve(s.size() + 2);
  out.push_back(kStringPrefix);
  for (char c : s) out.push_back(static_cast<uint8_t>(c));
  out.push_back(0);
  return out;
}

Bytes buffer(const Bytes& bytes) { return with_pkg_length({kBufferOp}, cat({integer(bytes.size()), bytes})); }

Bytes package(const std::vector<Bytes>& elements) {
  assert(elements.size() <= 255);
  Bytes body{static_cast<uint8_t>(elements.size())};
  for (const Bytes& e : elements) append(body, e);
  return with_pkg_length({kPackageOp}, body);
}

Bytes package(std::initializer_list<Bytes> elements) { return package(std::vector<Bytes>(elements)); }

uint32_t eisa_id_value(std::string_view id) {
  assert(id.size() == 7);
  const auto letter = [&](size_t i) { return static_cast<uint32_t>(id[i] - 0x40) & 0x1F; };
  const auto hex = [&](size_t i) {
    const char c = id[i];
    return static_cast<uint32_t>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
  };
  const uint32_t vendor = letter(0) << 10 | letter(1) << 5 | letter(2);
  const uint32_t product = hex(3) << 12 | hex(4) << 8 | hex(5) << 4 | hex(6);
  const uint32_t big_endian = vendor << 16 | product;
  // Stored as the bytes of big_endian in order, read back as a little-endian DWord.
  return (big_endian >> 24) | ((big_endian >> 8) & 0xFF00) | ((big_endian << 8) & 0xFF0000) | (big_endian << 24);
}

Bytes eisa_id(std::string_view id) { return dword(eisa_id_value(id)); }

Bytes name(std::string_view n, const Bytes& object) { return cat({{kNameOp}, name_string(n), object}); }

Bytes scope(std::string_view n, const Bytes& body) { return with_pkg_length({kScopeOp}, cat({name_string(n), body})); }

Bytes device(std::string_view n, const Bytes& body) {
  return with_pkg_length({kExtOpPrefix, kDeviceOp}, cat({name_string(n), body}));
}

Bytes method(std::string_view n, unsigned args, const Bytes& body, bool serialized) {
  assert(args <= 7);
  const uint8_t flags = static_cast<uint8_t>(args | (serialized ? 0x08 : 0));
  return with_pkg_length({kMethodOp}, cat({name_string(n), {flags}, body}));
}

Bytes operation_region(std::string_view n, RegionSpace space, uint64_t offset, uint64_t length) {
  return cat({{kExtOpPrefix, kOpRegionOp}, name_string(n), {static_cast<uint8_t>(space)}, integer(offset),
              integer(length)});
}

Bytes field(std::string_view region, FieldAccess access,
            const std::vector<std::pair<std::string_view, unsigned>>& units) {
  // FieldFlags: AccessType in bits 3:0, LockRule bit 4 (NoLock = 0), UpdateRule bits 6:5 (Preserve = 0).
  Bytes body = cat({name_string(region), {static_cast<uint8_t>(access)}});
  for (const auto& [unit_name, bits] : units) {
    if (unit_name.empty()) body.push_back(0x00);  // ReservedField
    else name_seg(body, unit_name);
    append(body, encode_length(bits));  // a field's width: the PkgLength encoding of the bit count itself
  }
  return with_pkg_length({kExtOpPrefix, kFieldOp}, body);
}

Bytes create_dword_field(const Bytes& source, const Bytes& byte_index, std::string_view n) {
  return cat({{kCreateDWordFieldOp}, source, byte_index, name_string(n)});
}

Bytes local(unsigned i) {
  assert(i < 8);
  return {static_cast<uint8_t>(kLocal0Op + i)};
}

Bytes arg(unsigned i) {
  assert(i < 7);
  return {static_cast<uint8_t>(kArg0Op + i)};
}

Bytes ret(const Bytes& value) { return cat({{kReturnOp}, value}); }
Bytes store(const Bytes& value, const Bytes& target) { return cat({{kStoreOp}, value, target}); }

Bytes and_(const Bytes& a, const Bytes& b, const Bytes& target) {
  return cat({{kAndOp}, a, b, target.empty() ? Bytes{0x00} : target});
}

Bytes or_(const Bytes& a, const Bytes& b, const Bytes& target) {
  return cat({{kOrOp}, a, b, target.empty() ? Bytes{0x00} : target});
}

Bytes lequal(const Bytes& a, const Bytes& b) { return cat({{kLEqualOp}, a, b}); }
Bytes lless(const Bytes& a, const Bytes& b) { return cat({{kLLessOp}, a, b}); }
Bytes if_(const Bytes& predicate, const Bytes& body) { return with_pkg_length({kIfOp}, cat({predicate, body})); }
Bytes else_(const Bytes& body) { return with_pkg_length({kElseOp}, body); }

namespace res {

namespace {
// Large-descriptor tags (§6.4.3) and address-space fields (§6.4.3.5).
constexpr uint8_t kDWordAddress = 0x87, kWordAddress = 0x88, kExtendedIrq = 0x89;
constexpr uint8_t kTypeMemory = 0, kTypeIo = 1, kTypeBus = 2;
constexpr uint8_t kProducerFixed = 0x0C;  // _MAF and _MIF set, positive decode, producer

Bytes word_address(uint8_t type, uint8_t type_flags, uint16_t min, uint16_t max) {
  Bytes out{kWordAddress};
  le(out, 13, 2);
  out.push_back(type);
  out.push_back(kProducerFixed);
  out.push_back(type_flags);
  le(out, 0, 2);                // granularity
  le(out, min, 2);
  le(out, max, 2);
  le(out, 0, 2);                // translation offset
  le(out, max - min + 1u, 2);   // length
  return out;
}
}  // namespace

Bytes io16(uint16_t min, uint16_t max, uint8_t align, uint8_t length) {
  Bytes out{0x47, 0x01};  // I/O port descriptor (§6.4.2.5), 16-bit decode
  le(out, min, 2);
  le(out, max, 2);
  out.push_back(align);
  out.push_back(length);
  return out;
}

Bytes word_bus_number(uint16_t min, uint16_t max) { return word_address(kTypeBus, 0, min, max); }
Bytes word_io(uint16_t min, uint16_t max) { return word_address(kTypeIo, 0x03 /* entire range */, min, max); }

Bytes dword_memory(uint32_t min, uint32_t max, bool cacheable) {
  Bytes out{kDWordAddress};
  le(out, 23, 2);
  out.push_back(kTypeMemory);
  out.push_back(kProducerFixed);
  out.push_back(static_cast<uint8_t>(0x01 | (cacheable ? 0x02 : 0)));  // _RW; _MEM 1 = cacheable
  le(out, 0, 4);  // granularity
  le(out, min, 4);
  le(out, max, 4);
  le(out, 0, 4);  // translation offset
  le(out, static_cast<uint64_t>(max) - min + 1, 4);
  return out;
}

Bytes interrupt(bool level, bool active_low, bool shared, std::initializer_list<uint32_t> irqs) {
  Bytes out{kExtendedIrq};
  le(out, 2 + 4 * irqs.size(), 2);
  // Bit 0 consumer, bit 1 edge (_HE), bit 2 active low (_LL), bit 3 shared (_SHR).
  out.push_back(static_cast<uint8_t>(0x01 | (level ? 0 : 0x02) | (active_low ? 0x04 : 0) | (shared ? 0x08 : 0)));
  out.push_back(static_cast<uint8_t>(irqs.size()));
  for (uint32_t irq : irqs) le(out, irq, 4);
  return out;
}

Bytes end_tag() { return {0x79, 0x00}; }  // checksum 0: "the buffer sums correctly" (§6.4.2.9)

Bytes resource_template(std::initializer_list<Bytes> descriptors) {
  Bytes body;
  for (const Bytes& d : descriptors) append(body, d);
  append(body, end_tag());
  return buffer(body);
}

}  // namespace res

}  // namespace kestrel::machine::aml
