#include "machine/acpi/dsdt.h"

#include <string>

#include "machine/acpi/acpi_tables.h"
#include "machine/acpi/aml.h"

namespace kestrel::machine {

namespace {

using aml::Bytes;

// Interrupt (ResourceConsumer, Level, ActiveHigh, Shared) {irqs}: the PCI links' form.
Bytes pci_irq(std::initializer_list<uint32_t> irqs) { return aml::res::interrupt(true, false, true, irqs); }
constexpr unsigned kIrqValueOffset = 5;  // the first interrupt number in that descriptor

// One PIRQ link: `route` is the path of its PIIX3 route register field.
Bytes pirq_link(const char* link, unsigned uid, const std::string& route) {
  using namespace aml;
  const Bytes reg = name_string(route);
  return device(link, cat({
      name("_HID", eisa_id("PNP0C0F")),
      name("_UID", integer(uid)),
      name("_PRS", res::resource_template({pci_irq({5, 10, 11})})),
      // Enabled (bit 7 clear): present, enabled, functioning (0x0B); else not enabled.
      method("_STA", 0, cat({if_(and_(reg, integer(0x80)), ret(integer(0x09))), ret(integer(0x0B))})),
      method("_DIS", 0, or_(reg, integer(0x80), reg)),
      method("_CRS", 0, cat({
          name("RTPL", res::resource_template({pci_irq({0})})),
          create_dword_field(name_string("RTPL"), integer(kIrqValueOffset), "IRQV"),
          if_(lless(reg, integer(0x80)), store(reg, name_string("IRQV"))),
          ret(name_string("RTPL")),
      })),
      method("_SRS", 1, cat({
          create_dword_field(arg(0), integer(kIrqValueOffset), "IRQV"),
          store(name_string("IRQV"), reg),
      })),
  }));
}

Bytes pci_root(const AcpiConfig& cfg) {
  using namespace aml;
  const Bytes crs = res::resource_template({
      res::word_bus_number(0, 0xFF),
      res::io16(0xCF8, 0xCF8, 1, 8),
      res::word_io(0x0000, 0x0CF7),
      res::word_io(0x0D00, 0xFFFF),
      res::dword_memory(0x000A0000, 0x000BFFFF, true),
      res::dword_memory(cfg.pci_mem_start, cfg.pci_mem_end, false),
  });
  static const char* const kLinks[] = {"LNKA", "LNKB", "LNKC", "LNKD"};
  std::vector<Bytes> prt;
  for (unsigned slot = 1; slot < 32; ++slot) {
    for (unsigned pin = 0; pin < 4; ++pin) {
      const char* link = slot == 1 && pin == 0 ? "LNKS" : kLinks[(slot + pin - 1) & 3];
      // {address (device in the high word, any function), pin, source, source index}
      prt.push_back(package({dword((slot << 16) | 0xFFFF), integer(pin), name_string(link), integer(0)}));
    }
  }
  const Bytes isa = device("ISA", cat({
      name("_ADR", dword(0x00010000)),
      operation_region("PIRQ", RegionSpace::PciConfig, 0x60, 4),
      field("PIRQ", FieldAccess::Byte, {{"PRQA", 8}, {"PRQB", 8}, {"PRQC", 8}, {"PRQD", 8}}),
  }));
  return device("PCI0", cat({
      name("_HID", eisa_id("PNP0A03")),
      name("_ADR", integer(0)),
      name("_UID", integer(0)),
      name("_BBN", integer(0)),
      name("_CRS", crs),
      name("_PRT", package(prt)),
      isa,
  }));
}

}  // namespace

std::vector<uint8_t> build_dsdt_body(const AcpiConfig& cfg) {
  using namespace aml;
  const uint8_t s5 = cfg.s5_sleep_type;
  Bytes body = name("_S5", package({integer(s5), integer(s5), integer(0), integer(0)}));
  if (!cfg.pci) return body;
  const std::string regs = "\\_SB.PCI0.ISA.PRQ";
  Bytes sb = pci_root(cfg);
  const char* const links[] = {"LNKA", "LNKB", "LNKC", "LNKD"};
  for (unsigned i = 0; i < 4; ++i) {
    const Bytes link = pirq_link(links[i], i + 1, regs + static_cast<char>('A' + i));
    sb.insert(sb.end(), link.begin(), link.end());
  }
  const Bytes sci_irq = res::resource_template({pci_irq({cfg.sci_irq})});
  const Bytes lnks = device("LNKS", cat({
      name("_HID", eisa_id("PNP0C0F")),
      name("_UID", integer(5)),
      name("_STA", integer(0x0B)),
      name("_PRS", sci_irq),
      name("_CRS", sci_irq),
      method("_SRS", 1, {}),  // hard-wired: nothing to change
  }));
  sb.insert(sb.end(), lnks.begin(), lnks.end());
  const Bytes sb_scope = scope("\\_SB", sb);
  body.insert(body.end(), sb_scope.begin(), sb_scope.end());
  return body;
}

}  // namespace kestrel::machine
