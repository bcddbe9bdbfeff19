// Exponential backoff for spin loops: a few relax instructions doubling each step, then
// sched_yield once the spin is long enough that the partner is probably not running.
// Every spin loop in weft goes through this type so the budget lives in one place.
#pragma once

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

}  // namespace weft::detail
