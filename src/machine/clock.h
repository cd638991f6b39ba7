// The one virtual clock. Devices and the TSC read time only from here, never
// from the host, so every timer agrees and a deterministic run is possible.
//
// Two sources: Host follows the host's monotonic clock (real-time guests);
// Icount derives time from retired guest instructions (deterministic runs).
#pragma once

#include <chrono>
#include <cstdint>

namespace kestrel::machine {

class Clock {
 public:
  enum class Source { Host, Icount };

  explicit Clock(Source s = Source::Icount) : source_(s) { start_ = host_ns(); }

  Source source() const { return source_; }
  void set_source(Source s) { source_ = s; start_ = host_ns(); }

  // Nanoseconds of guest time since reset. `icount` is the CPU's retired-instruction count.
  uint64_t now_ns(uint64_t icount) const {
    if (source_ == Source::Icount) return icount * kIcountNsPerInsnNum / kIcountNsPerInsnDen + idle_ns_;
    return host_ns() - start_;
  }

  // A halted CPU lets time pass: counting instructions, time jumps to `target`;
  // following the host, the caller sleeps instead.
  void idle_until(uint64_t target_ns, uint64_t icount) {
    uint64_t now = now_ns(icount);
    if (source_ == Source::Icount && target_ns > now) idle_ns_ += target_ns - now;
  }

  // Guest time to instruction count (Icount mode): the icount at which `ns` is reached.
  uint64_t icount_at(uint64_t ns) const {
    if (ns <= idle_ns_) return 0;
    return (ns - idle_ns_) * kIcountNsPerInsnDen / kIcountNsPerInsnNum;
  }

  void reset() {
    idle_ns_ = 0;
    start_ = host_ns();
  }

  // TSC rate reported to the guest (CPUID 0x15/0x16 later).
  static constexpr uint64_t kTscHz = 1'000'000'000;

  uint64_t tsc(uint64_t icount) const { return now_ns(icount); }  // 1 GHz TSC: 1 tick per ns

 private:
  // Icount mode models a 1 GIPS CPU: one instruction per nanosecond.
  static constexpr uint64_t kIcountNsPerInsnNum = 1, kIcountNsPerInsnDen = 1;

  static uint64_t host_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  Source source_;
  uint64_t start_;
  uint64_t idle_ns_ = 0;
};

}  // namespace kestrel::machine
