// Timers on the machine's one virtual clock. Devices create a timer once and arm
// it with an absolute deadline in guest nanoseconds; the run loop fires expired
// timers between blocks, and a halted CPU sleeps (or, counting instructions,
// skips) to the next deadline.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace kestrel::machine {

class TimerQueue {
 public:
  using Callback = std::function<void(uint64_t now_ns)>;
  static constexpr uint64_t kNever = ~0ull;

  int create(Callback cb) {
    timers_.push_back(Timer{std::move(cb), kNever});
    return static_cast<int>(timers_.size() - 1);
  }
  void arm(int id, uint64_t deadline_ns) {
    timers_[id].deadline = deadline_ns;
    if (deadline_ns < next_) {
      next_ = deadline_ns;
      // Translated code runs until an instruction limit derived from the next
      // deadline: an earlier deadline clears it, so the run loop looks again.
      if (limit_) *limit_ = 0;
      if (budget_) *budget_ = 0;
    }
  }
  // The CPU's icount limit and budget for chained translated code
  // (CpuState::icount_limit, icount_budget).
  void set_deadline_watch(uint64_t* limit, uint64_t* budget) {
    limit_ = limit;
    budget_ = budget;
  }
  void disarm(int id) {
    timers_[id].deadline = kNever;
    recompute();
  }
  bool armed(int id) const { return timers_[id].deadline != kNever; }
  uint64_t deadline(int id) const { return timers_[id].deadline; }
  uint64_t next_deadline() const { return next_; }

  // Fires every timer whose deadline is at or before now (a callback may re-arm).
  void run_expired(uint64_t now_ns) {
    if (now_ns < next_) return;
    for (size_t i = 0; i < timers_.size(); ++i) {
      if (timers_[i].deadline <= now_ns) {
        timers_[i].deadline = kNever;
        timers_[i].cb(now_ns);
      }
    }
    recompute();
  }

  void reset() {
    for (auto& t : timers_) t.deadline = kNever;
    next_ = kNever;
  }

 private:
  struct Timer {
    Callback cb;
    uint64_t deadline;
  };
  void recompute() {
    next_ = kNever;
    for (const auto& t : timers_)
      if (t.deadline < next_) next_ = t.deadline;
  }
  std::vector<Timer> timers_;
  uint64_t next_ = kNever;
  uint64_t* limit_ = nullptr;
  uint64_t* budget_ = nullptr;
};

}  // namespace kestrel::machine
