#include "machine/devices/vga/vga.h"

#include <algorithm>
#include <cstring>

#include "machine/machine.h"

namespace kestrel::machine {

using namespace vga;

// The linear framebuffer: all of video memory, bounds-checked.
class Vga::Lfb final : public MmioDevice {
 public:
  explicit Lfb(Vga& v) : v_(v) {}
  uint64_t mmio_read(uint64_t offset, unsigned size) override { return v_.lfb_read(offset, size); }
  void mmio_write(uint64_t offset, uint64_t value, unsigned size) override { v_.lfb_write(offset, value, size); }

 private:
  Vga& v_;
};

Vga::Vga(Machine& m, uint32_t vram_bytes)
    : m_(m), mem_(regs_, std::max<uint32_t>(vram_bytes, 4 * VgaMemory::kPlaneSize)), dispi_(vram_size()) {
  lfb_ = std::make_unique<Lfb>(*this);
  reset();
}

Vga::~Vga() = default;

void Vga::attach(PortBus& ports, PhysBus& bus, uint64_t lfb_base) {
  bus_ = &bus;
  ports.map(0x3B0, 0x30, this);
  // 0x1D0 is a second data port (Bochs); it also lets a 16-bit access at 0x1CF
  // reach this device whole.
  ports.map(VbeDispi::kIndexPort, 3, this);
  bus.map_mmio(kWindowBase, kWindowSize, this, "vga window");
  set_lfb_base(lfb_base);
}

void Vga::set_lfb_base(uint64_t base) {
  if (!bus_) return;
  if (lfb_base_) bus_->unmap_mmio(lfb_.get());
  lfb_base_ = base;
  if (base) bus_->map_mmio(base, vram_size(), lfb_.get(), "vga lfb");
}

uint64_t Vga::lfb_read(uint64_t offset, unsigned size) const {
  const auto& vram = mem_.vram();
  if (size > 8 || offset >= vram.size() || size > vram.size() - offset) return ~0ull;
  uint64_t value = 0;
  std::memcpy(&value, vram.data() + offset, size);
  return value;
}

void Vga::lfb_write(uint64_t offset, uint64_t value, unsigned size) {
  auto& vram = mem_.vram();
  if (size > 8 || offset >= vram.size() || size > vram.size() - offset) return;
  std::memcpy(vram.data() + offset, &value, size);
  ++generation_;
}

uint16_t Vga::dispi_read(uint16_t index) {
  const uint16_t saved = dispi_.index();
  dispi_.set_index(index);
  const uint16_t v = dispi_.read_data();
  dispi_.set_index(saved);
  return v;
}

void Vga::dispi_write(uint16_t index, uint16_t value) {
  const uint16_t saved = dispi_.index();
  dispi_.set_index(index);
  port_out(VbeDispi::kDataPort, value, 2);
  dispi_.set_index(saved);
}

void Vga::reset() {
  // Power-on: the registers are cleared and the BIOS programs a mode; video
  // memory keeps its contents.
  regs_ = VgaRegisters{};
  mem_.reset();
  dac_.reset();
  dispi_.reset();
  ++generation_;
}

void Vga::save(StateWriter& w) const {
  w.begin(name());
  w.put(regs_);
  w.put_bytes(mem_.latches(), 4);
  w.put_bytes(mem_.vram().data(), mem_.vram().size());
  dac_.save(w);
  dispi_.save(w);
}

void Vga::load(StateReader& r) {
  r.begin(name());
  r.get(regs_);
  r.get_bytes(mem_.latches(), 4);
  r.get_bytes(mem_.vram().data(), mem_.vram().size());
  dac_.load(r);
  dispi_.load(r);
  dac_.set_eight_bit(dispi_.eight_bit_dac());
  ++generation_;
}

uint8_t Vga::retrace_bits(uint64_t now_ns) {
  // 70 Hz: 449 lines of 31,778 ns (25.175 MHz / 800 dots), 400 shown.
  constexpr uint64_t kLineNs = 31'778, kLines = 449, kShown = 400, kRetraceFirst = 412, kRetraceLines = 2;
  const uint64_t line_time = now_ns % (kLineNs * kLines);
  const uint64_t line = line_time / kLineNs, in_line = line_time % kLineNs;
  uint8_t v = 0;
  // Display disabled: horizontal blanking (the last fifth of each line) or vertical blanking.
  if (line >= kShown || in_line >= kLineNs * 4 / 5) v |= 0x01;
  if (line >= kRetraceFirst && line < kRetraceFirst + kRetraceLines) v |= 0x08;
  return v;
}

uint32_t Vga::port_in(uint16_t port, unsigned size) {
  if (port == VbeDispi::kIndexPort) return dispi_.index();
  if (port == VbeDispi::kDataPort || port == VbeDispi::kDataPort + 1) return dispi_.read_data();
  uint32_t v = 0;
  for (unsigned i = 0; i < size; ++i) v |= static_cast<uint32_t>(read_byte(static_cast<uint16_t>(port + i))) << (8 * i);
  return v;
}

void Vga::port_out(uint16_t port, uint32_t value, unsigned size) {
  if (port == VbeDispi::kIndexPort) {
    // A 16-bit write covers the index; a byte write to 0x1CE sets the low byte.
    dispi_.set_index(static_cast<uint16_t>(size == 1 ? (dispi_.index() & 0xFF00) | (value & 0xFF) : value));
    return;
  }
  if (port == VbeDispi::kDataPort || port == VbeDispi::kDataPort + 1) {
    const bool clear = dispi_.write_data(static_cast<uint16_t>(value));
    if (dispi_.index() == VbeDispi::kEnable) dac_.set_eight_bit(dispi_.eight_bit_dac());
    if (clear) std::fill(mem_.vram().begin(), mem_.vram().end(), 0);
    ++generation_;
    return;
  }
  // Wide writes to an index port set the index and then the data register
  // (outw 0x3C4, 0x0F02 is the usual way to program the sequencer).
  for (unsigned i = 0; i < size; ++i) write_byte(static_cast<uint16_t>(port + i), static_cast<uint8_t>(value >> (8 * i)));
}

uint8_t Vga::read_byte(uint16_t port) {
  // The CRTC and input status 1 answer only at the address misc output selects.
  const bool mono_port = port == 0x3B4 || port == 0x3B5 || port == 0x3BA;
  const bool color_port = port == 0x3D4 || port == 0x3D5 || port == 0x3DA;
  if ((mono_port && regs_.color_io()) || (color_port && !regs_.color_io())) return 0xFF;
  switch (port) {
    case 0x3C0: return static_cast<uint8_t>(regs_.ac_index);
    case 0x3C1: {
      const unsigned i = regs_.ac_index & 0x1F;
      return i < ac::kCount ? regs_.ac[i] : 0;
    }
    case 0x3C2: return 0x00;  // input status 0: no CRT interrupt, switch sense 0
    case 0x3C3: return regs_.vga_enable;
    case 0x3C4: return regs_.seq_index;
    case 0x3C5: return regs_.seq_index < seq::kCount ? regs_.seq[regs_.seq_index] : 0;
    case 0x3C6: case 0x3C7: case 0x3C8: case 0x3C9: return dac_.read_port(port);
    case 0x3CA: return regs_.feature;
    case 0x3CC: return regs_.misc;
    case 0x3CE: return regs_.gc_index;
    case 0x3CF: return regs_.gc_index < gc::kCount ? regs_.gc[regs_.gc_index] : 0;
    case 0x3B4: case 0x3D4: return regs_.crtc_index;
    case 0x3B5: case 0x3D5: return regs_.crtc_index < crtc::kCount ? regs_.crtc[regs_.crtc_index] : 0;
    case 0x3BA: case 0x3DA:
      // Reading input status 1 also makes the next 0x3C0 write an index.
      regs_.ac_flipflop = false;
      return retrace_bits(m_.now_ns());
    default: return 0xFF;
  }
}

void Vga::write_byte(uint16_t port, uint8_t v) {
  const bool mono_port = port == 0x3B4 || port == 0x3B5 || port == 0x3BA;
  const bool color_port = port == 0x3D4 || port == 0x3D5 || port == 0x3DA;
  if ((mono_port && regs_.color_io()) || (color_port && !regs_.color_io())) return;
  ++generation_;
  switch (port) {
    case 0x3C0:
      if (!regs_.ac_flipflop) {
        regs_.ac_index = v & 0x3F;
      } else {
        const unsigned i = regs_.ac_index & 0x1F;
        if (i < 0x10) regs_.ac[i] = v & 0x3F;  // palette registers are 6 bits
        else if (i < ac::kCount) regs_.ac[i] = v;
      }
      regs_.ac_flipflop = !regs_.ac_flipflop;
      break;
    case 0x3C2: regs_.misc = v; break;
    case 0x3C3: regs_.vga_enable = v & 1; break;
    case 0x3C4: regs_.seq_index = v & 0x07; break;
    case 0x3C5: regs_.seq[regs_.seq_index] = v; break;
    case 0x3C6: case 0x3C7: case 0x3C8: case 0x3C9: dac_.write_port(port, v); break;
    case 0x3CE: regs_.gc_index = v & 0x0F; break;
    case 0x3CF:
      if (regs_.gc_index < gc::kCount) regs_.gc[regs_.gc_index] = v;
      break;
    case 0x3B4: case 0x3D4: regs_.crtc_index = v & 0x3F; break;
    case 0x3B5: case 0x3D5: {
      const unsigned i = regs_.crtc_index;
      if (i >= crtc::kCount) break;
      // CRTC 0x11 bit 7 write-protects registers 0-7, except the line compare
      // bit (bit 4) of the overflow register.
      if ((regs_.crtc[crtc::kVertRetraceEnd] & 0x80) && i <= 7) {
        if (i == crtc::kOverflow) regs_.crtc[i] = static_cast<uint8_t>((regs_.crtc[i] & ~0x10) | (v & 0x10));
        break;
      }
      regs_.crtc[i] = v;
      break;
    }
    case 0x3BA: case 0x3DA: regs_.feature = v; break;
    default: break;
  }
}

int64_t Vga::window_offset(uint64_t offset) const {
  switch (regs_.memory_map()) {
    case 0: return static_cast<int64_t>(offset);                              // A0000-BFFFF
    case 1: return offset < 0x10000 ? static_cast<int64_t>(offset) : -1;      // A0000-AFFFF
    case 2: return offset >= 0x10000 && offset < 0x18000 ? static_cast<int64_t>(offset - 0x10000) : -1;
    default: return offset >= 0x18000 ? static_cast<int64_t>(offset - 0x18000) : -1;  // B8000-BFFFF
  }
}

uint8_t Vga::window_read(uint64_t offset) {
  if (vbe_linear()) {
    // A VBE mode: the 64 KiB at 0xA0000 is a bank of the linear video memory.
    if (offset >= 0x10000) return 0xFF;
    const uint64_t a = dispi_.bank_offset() + offset;
    return a < mem_.vram().size() ? mem_.vram()[a] : 0xFF;
  }
  if (!regs_.ram_enabled()) return 0xFF;
  const int64_t o = window_offset(offset);
  return o < 0 ? 0xFF : mem_.cpu_read(static_cast<uint32_t>(o));
}

void Vga::window_write(uint64_t offset, uint8_t v) {
  if (vbe_linear()) {
    if (offset >= 0x10000) return;
    const uint64_t a = dispi_.bank_offset() + offset;
    if (a < mem_.vram().size()) mem_.vram()[a] = v;
    ++generation_;
    return;
  }
  if (!regs_.ram_enabled()) return;
  const int64_t o = window_offset(offset);
  if (o < 0) return;
  mem_.cpu_write(static_cast<uint32_t>(o), v);
  ++generation_;
}

uint64_t Vga::mmio_read(uint64_t offset, unsigned size) {
  uint64_t v = 0;
  for (unsigned i = 0; i < size; ++i) v |= static_cast<uint64_t>(window_read(offset + i)) << (8 * i);
  return v;
}

void Vga::mmio_write(uint64_t offset, uint64_t value, unsigned size) {
  for (unsigned i = 0; i < size; ++i) window_write(offset + i, static_cast<uint8_t>(value >> (8 * i)));
}

}  // namespace kestrel::machine
