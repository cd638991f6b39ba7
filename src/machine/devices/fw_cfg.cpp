#include "machine/devices/fw_cfg.h"

#include <algorithm>
#include <cassert>

#include "machine/machine.h"

namespace kestrel::machine {

namespace {
void put_be(std::vector<uint8_t>& out, uint64_t v, unsigned bytes) {
  for (unsigned i = bytes; i-- > 0;) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
uint32_t bswap32(uint32_t v) { return __builtin_bswap32(v); }
}  // namespace

FwCfg::FwCfg(Machine& m) : m_(m) {
  set_item(kSignature, {'Q', 'E', 'M', 'U'});
  set_u32(kId, kIdTraditional | kIdDma);
  rebuild_directory();
}

void FwCfg::attach(PortBus& ports) {
  ports.map(kSelectorPort, 2, this);
  ports.map(kDmaPort, 8, this);
}

void FwCfg::set_item(uint16_t key, std::vector<uint8_t> data) { items_[key] = std::move(data); }

void FwCfg::set_u16(uint16_t key, uint16_t v) { set_item(key, {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8)}); }

void FwCfg::set_u32(uint16_t key, uint32_t v) {
  std::vector<uint8_t> d(4);
  for (unsigned i = 0; i < 4; ++i) d[i] = static_cast<uint8_t>(v >> (8 * i));
  set_item(key, std::move(d));
}

void FwCfg::set_u64(uint16_t key, uint64_t v) {
  std::vector<uint8_t> d(8);
  for (unsigned i = 0; i < 8; ++i) d[i] = static_cast<uint8_t>(v >> (8 * i));
  set_item(key, std::move(d));
}

uint16_t FwCfg::set_file(const std::string& name, std::vector<uint8_t> data) {
  assert(!name.empty() && name.size() <= kMaxFileName);
  auto it = files_.find(name);
  uint16_t key;
  if (it != files_.end()) {
    key = it->second;
  } else {
    key = next_file_key_++;
    files_[name] = key;
  }
  set_item(key, std::move(data));
  rebuild_directory();
  return key;
}

const std::vector<uint8_t>* FwCfg::item(uint16_t key) const {
  auto it = items_.find(key);
  return it == items_.end() ? nullptr : &it->second;
}

const std::vector<uint8_t>* FwCfg::file(const std::string& name) const {
  auto it = files_.find(name);
  return it == files_.end() ? nullptr : item(it->second);
}

void FwCfg::rebuild_directory() {
  std::vector<uint8_t> dir;
  put_be(dir, files_.size(), 4);
  for (const auto& [name, key] : files_) {  // std::map: sorted by name
    put_be(dir, items_[key].size(), 4);
    put_be(dir, key, 2);
    put_be(dir, 0, 2);
    std::string padded = name;
    padded.resize(56, '\0');
    dir.insert(dir.end(), padded.begin(), padded.end());
  }
  items_[kFileDir] = std::move(dir);
}

void FwCfg::select(uint16_t key) {
  selector_ = key;
  offset_ = 0;
}

uint8_t FwCfg::next_byte() {
  const std::vector<uint8_t>* d = item(selector_);
  if (!d || offset_ >= d->size()) return 0;
  return (*d)[offset_++];
}

uint32_t FwCfg::port_in(uint16_t port, unsigned size) {
  if (port == kDataPort) {
    uint32_t v = 0;
    for (unsigned i = 0; i < size; ++i) v |= static_cast<uint32_t>(next_byte()) << (8 * i);
    return v;
  }
  if (port >= kDmaPort && port < kDmaPort + 8) {
    // "QEMU CFG" as a big-endian 64-bit register: byte i of the port range is byte i of it.
    static constexpr char kSig[8] = {'Q', 'E', 'M', 'U', ' ', 'C', 'F', 'G'};
    uint32_t v = 0;
    for (unsigned i = 0; i < size && port - kDmaPort + i < 8; ++i)
      v |= static_cast<uint32_t>(static_cast<uint8_t>(kSig[port - kDmaPort + i])) << (8 * i);
    return v;
  }
  return 0;  // the selector is write-only
}

void FwCfg::port_out(uint16_t port, uint32_t value, unsigned size) {
  if (port == kSelectorPort) {
    select(static_cast<uint16_t>(size >= 2 ? value : (selector_ & 0xFF00) | (value & 0xFF)));
    return;
  }
  if (port == kDataPort) return;  // no writable items
  if (port == kDmaPort && size == 4) {
    dma_high_ = bswap32(value);
    return;
  }
  if (port == kDmaLowPort && size == 4) {
    const uint64_t desc = static_cast<uint64_t>(dma_high_) << 32 | bswap32(value);
    dma_high_ = 0;
    run_dma(desc);
  }
}

void FwCfg::run_dma(uint64_t desc) {
  PhysBus& bus = m_.bus();
  uint8_t raw[16];
  bus.read(desc, raw, sizeof raw);
  auto be = [&](unsigned off, unsigned n) {
    uint64_t v = 0;
    for (unsigned i = 0; i < n; ++i) v = v << 8 | raw[off + i];
    return v;
  };
  const uint32_t control = static_cast<uint32_t>(be(0, 4));
  uint32_t length = static_cast<uint32_t>(be(4, 4));
  uint64_t address = be(8, 8);
  bool error = false;
  if (control & kDmaSelect) select(static_cast<uint16_t>(control >> 16));
  if (control & kDmaWrite) {
    error = true;  // nothing here is writable
  } else if (control & kDmaRead) {
    // Copy in chunks so a large item (a kernel) costs one bus write per chunk.
    const std::vector<uint8_t>* d = item(selector_);
    uint8_t buf[4096];
    while (length) {
      const uint32_t n = std::min<uint32_t>(length, sizeof buf);
      for (uint32_t i = 0; i < n; ++i) {
        if (d && offset_ < d->size()) buf[i] = (*d)[offset_++];
        else buf[i] = 0;
      }
      bus.dma_write(address, buf, n);
      address += n;
      length -= n;
    }
  } else if (control & kDmaSkip) {
    const std::vector<uint8_t>* d = item(selector_);
    const uint64_t end = static_cast<uint64_t>(offset_) + length;
    offset_ = static_cast<uint32_t>(std::min<uint64_t>(end, d ? d->size() : 0));
  }
  const uint32_t status = error ? kDmaError : 0;
  const uint8_t out[4] = {static_cast<uint8_t>(status >> 24), static_cast<uint8_t>(status >> 16),
                          static_cast<uint8_t>(status >> 8), static_cast<uint8_t>(status)};
  bus.dma_write(desc, out, 4);
}

void FwCfg::reset() {
  selector_ = 0;
  offset_ = 0;
  dma_high_ = 0;
}

void FwCfg::save(StateWriter& w) const {
  w.begin(name());
  w.put(selector_);
  w.put(offset_);
  w.put(dma_high_);
}

void FwCfg::load(StateReader& r) {
  r.begin(name());
  r.get(selector_);
  r.get(offset_);
  r.get(dma_high_);
}

}  // namespace kestrel::machine
