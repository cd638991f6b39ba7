// Flag liveness for a block (issue 6): which arithmetic flags each instruction's
// successors may still read, so native flag setters whose results nobody reads
// skip the lazy-flags record (and the work behind it).
#pragma once

#include <cstdint>
#include <vector>

#include "jit/emit.h"

namespace kestrel::jit {

// The arithmetic flags (frontend::F_* bits) `d` reads: a condition's own flags for
// the cc forms, the table's flags_read otherwise.
uint32_t flags_read(const DecodedInsn& d);
// The arithmetic flags `d` always overwrites when it completes (a shift or rotate
// by CL may leave every flag alone, so it overwrites none).
uint32_t flags_must_write(const DecodedInsn& d);

// live_out[i]: the flags some reader after instruction i may see from it. Every
// flag is live at the block's end and before any instruction that runs its
// handler or may fault (handlers, exception delivery and later blocks read the
// lazy record). `cx` gives the block's mode; which instructions are native is
// found by emitting them once into a scratch buffer, so this cannot disagree with
// emit_fast. `usage`, when given, receives the guest-register accesses of the
// native forms (RegCache::uses and high_byte).
std::vector<uint32_t> flag_liveness(const std::vector<DecodedInsn>& insns, const Ctx& cx, RegCache* usage = nullptr);

}  // namespace kestrel::jit
