// A test rig that runs single instructions through their handlers: a 16 MiB
// machine, a CPU model with the given extra features, and a decoder for one mode.
// Each case decodes real instruction bytes, so the decode table's mapping is
// checked along with the handler. Shared by the SIMD and SSE handler tests.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "frontend-x86/decoder.h"
#include "interp/handlers.h"
#include "machine/cpu_model.h"
#include "machine/cpu_state.h"
#include "machine/flags.h"
#include "machine/machine.h"
#include "test_machine.h"

namespace kestrel::test {

struct HandlerRig {
  std::unique_ptr<machine::Machine> m;
  machine::CpuModel model;
  frontend::Decoder dec;
  machine::CpuMode mode;

  HandlerRig(machine::CpuMode md, std::initializer_list<machine::Feature> features) : mode(md) {
    m = new_machine(16ull << 20);
    model = *machine::find_cpu_model("default");
    for (auto f : features) model.features.push_back(f);
    model.finalize();
  }
  machine::CpuState& cpu() { return m->cpu(); }

  frontend::DecodedInsn decode(std::initializer_list<uint8_t> bytes) {
    std::vector<uint8_t> b(bytes);
    frontend::DecodedInsn d;
    REQUIRE(dec.decode(mode, model, b.data(), b.size(), d) == frontend::DecodeStatus::Ok);
    REQUIRE(d.len == b.size());
    return d;
  }
  // Decodes `bytes`, checks the form's table name, runs it.
  machine::ExecStatus run(std::initializer_list<uint8_t> bytes, const char* name) {
    frontend::DecodedInsn d = decode(bytes);
    CHECK(std::string(frontend::insn_info(d.id).name) == name);
    cpu().exc = {};
    return interp::handler_for(d.id)(cpu(), d);
  }
  // The table id the bytes decode to (name) for `with` (default: the rig's model),
  // for decode-only checks.
  std::string name_of(std::initializer_list<uint8_t> bytes, const machine::CpuModel* with = nullptr) {
    std::vector<uint8_t> b(bytes);
    frontend::DecodedInsn d;
    if (dec.decode(mode, with ? *with : model, b.data(), b.size(), d) != frontend::DecodeStatus::Ok) return "(status)";
    return frontend::insn_info(d.id).name;
  }

  void set_xmm(unsigned i, uint64_t lo, uint64_t hi) { cpu().xmm[i].q[0] = lo, cpu().xmm[i].q[1] = hi; }
  uint64_t lo(unsigned i) { return cpu().xmm[i].q[0]; }
  uint64_t hi(unsigned i) { return cpu().xmm[i].q[1]; }
  void poke(uint64_t addr, std::initializer_list<uint8_t> bytes) {
    std::vector<uint8_t> b(bytes);
    m->bus().write(addr, b.data(), b.size());
  }
  void poke16(uint64_t addr, uint16_t v) { m->bus().write_uint(addr, v, 2); }
  void poke32(uint64_t addr, uint32_t v) { m->bus().write_uint(addr, v, 4); }
  void poke64(uint64_t addr, uint64_t v) { m->bus().write_uint(addr, v, 8); }
  uint64_t peek(uint64_t addr, unsigned size) { return m->bus().read_uint(addr, size); }
  uint64_t flags() { return machine::materialize_flags(cpu()) & machine::kArithFlags; }
  uint8_t vector() { return cpu().exc.vector; }
};

}  // namespace kestrel::test
