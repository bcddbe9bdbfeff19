// Exponential backoff for spin loops: a few relax instructions doubling each step, then
// sched_yield once the spin is long enough that the partner is probably not running.
// Every spin loop in weft goes through this type so the budget lives in one place.
#pragma once

#include <chrono>
#include <cstdint>
#include <weft/detail/platform.hpp>

namespace weft::detail {

class backoff {
 public:
  /// Steps 0..spin_limit spin 2^step relax instructions; later steps yield the CPU.
  static constexpr std::uint32_t spin_limit = 6;
  /// After this many steps a waiter should stop spinning and park.
  static constexpr std::uint32_t yield_limit = 10;

  /// Spin a little (for CAS retry loops: contention, not waiting for another thread).
  void spin() noexcept {
    const std::uint32_t n = 1u << (step_ < spin_limit ? step_ : spin_limit);
    for (std::uint32_t i = 0; i < n; ++i) cpu_relax();
    if (step_ <= spin_limit) ++step_;
  }
  /// Spin, then yield the CPU (for waiting on another thread's progress).
  void snooze() noexcept;
  /// True when the caller has waited long enough that parking is cheaper than spinning.
  bool is_completed() const noexcept { return step_ > yield_limit; }
  void reset() noexcept { step_ = 0; }

 private:
  std::uint32_t step_ = 0;
};

/// Waiting for a partner that is probably running right now (a hand-off about to arrive): poll
/// after every relax instruction, so the wake-up is seen within one relax (10-30 ns) instead of
/// within a doubling backoff chunk (up to 64 relaxes, ~1.8 us on AMD Zen, whose pause takes ~28
/// ns: that lag made adaptive W4 2.6x slower than spin mode). Polls for `window` of wall time,
/// then yields the CPU a few times (a partner that is runnable but not running gets the core),
/// then tells the caller to park.
class spin_poll {
 public:
  static constexpr std::chrono::nanoseconds window{4000};
  static constexpr std::uint32_t yields = 4;

  /// One step of waiting between two polls; false once the budget is spent.
  bool next() noexcept {
    if (yielded_ == 0) {
      cpu_relax();
      if ((++polls_ & 15) != 0) return true;  // read the clock every 16 polls only
      const auto now = std::chrono::steady_clock::now();
      if (polls_ == 16) {
        until_ = now + window;
        return true;
      }
      if (now < until_) return true;
    }
    if (yielded_ == yields) return false;
    ++yielded_;
    yield_cpu();
    return true;
  }

 private:
  static void yield_cpu() noexcept;  // sched_yield (core/src/parker.cpp)
  std::uint32_t polls_ = 0;
  std::uint32_t yielded_ = 0;
  std::chrono::steady_clock::time_point until_{};
};

}  // namespace weft::detail
