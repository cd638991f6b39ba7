// The Zydis wrapper: guest bytes to DecodedInsn through the instruction table,
// and Intel-syntax disassembly for traces. Zydis is included nowhere else.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "frontend-x86/insn.h"
#include "machine/cpu_state.h"

namespace kestrel::frontend {

enum class DecodeStatus : uint8_t {
  Ok,        // out holds the instruction (its id may be Invalid or Unimplemented)
  NeedMore,  // the bytes end inside the instruction: fetch more and retry
  TooLong,   // longer than 15 bytes: #GP(0) (SDM Vol. 2A §2.1)
};

class Decoder {
 public:
  Decoder();
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  DecodeStatus decode(machine::CpuMode mode, const machine::CpuModel& model, const uint8_t* bytes, size_t n,
                      DecodedInsn& out) const;

  // "mnemonic operands" in Intel syntax, or "(bad)".
  std::string disassemble(machine::CpuMode mode, const uint8_t* bytes, size_t n, uint64_t rip) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kestrel::frontend
